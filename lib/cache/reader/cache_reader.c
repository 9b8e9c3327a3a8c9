/* cache_reader: maps the NSS cache, validates it completely once per file, and answers lookups
 * from its indexes. libc only: this code runs inside every process that resolves a user name.
 *
 * Validation happens once, when a new file is mapped (gotrue_cache_parse), and covers every
 * offset, length, count, string and index entry; lookups then index only what was checked. A file
 * that fails any check is UNAVAIL, never a crash. The writer replaces the file by rename only, so
 * a mapped file is never changed under us except for its stale word, which is outside the checksum
 * (a root user truncating it in place could still raise SIGBUS, as with every mmap-based NSS
 * cache).
 *
 * Freshness. A stat() of the path on every lookup would be most of the cost of a lookup, more
 * than nss_files spends on a short /etc/passwd. So, as SSSD's memcache does, the writer marks the
 * file it replaces as stale and a lookup only loads that word from the mapping it holds: a sync or
 * login refresh is seen by the very next call. A file replaced by something else (an admin's cp, a
 * backup restore) carries no mark, so as a safety net the path is still stat()ed, but at most once
 * per GOTRUE_CACHE_RECHECK_MS per process, timed with CLOCK_MONOTONIC_COARSE (a vDSO read, no
 * system call). The price: such a foreign replacement may go unseen for up to one second. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"

static bool section_ok(const struct gotrue_cache_header *h, size_t len, enum gotrue_cache_section s,
		       size_t elem)
{
	const struct gotrue_cache_section_ref *r = &h->sections[s];

	return r->offset % 8 == 0 && r->offset >= h->header_size && (size_t)r->offset <= len &&
	       (size_t)r->length <= len - r->offset && r->length % elem == 0;
}

static bool string_ok(const struct gotrue_cache_view *v, uint32_t off)
{
	return off < v->strings_len;
}

/* The key entry @e of an index of @kind must carry, or false when its record is out of range. */
static bool index_key(const struct gotrue_cache_view *v, const struct gotrue_cache_idx *e, int kind,
		      uint32_t *key)
{
	bool users = kind == GOTRUE_CACHE_SEC_PW_NAME || kind == GOTRUE_CACHE_SEC_PW_UID;
	bool ok = e->rec < (users ? v->hdr->n_users : v->hdr->n_groups);

	if (!ok)
		*key = 0;
	else if (kind == GOTRUE_CACHE_SEC_PW_NAME)
		*key = gotrue_cache_name_hash(v->strings + v->pw[e->rec].name);
	else if (kind == GOTRUE_CACHE_SEC_PW_UID)
		*key = v->pw[e->rec].uid;
	else if (kind == GOTRUE_CACHE_SEC_GR_NAME)
		*key = gotrue_cache_name_hash(v->strings + v->gr[e->rec].name);
	else
		*key = v->gr[e->rec].gid;
	return ok;
}

/* An index must be a permutation-free list of valid records, sorted by (key, rec), and each key
 * must match its record, so that binary search cannot be led astray. */
static bool index_ok(const struct gotrue_cache_view *v, const struct gotrue_cache_idx *idx,
		     uint32_t n, int kind)
{
	uint32_t i, key;
	bool ok = true;

	for (i = 0; i < n && ok; i++) {
		ok = (i == 0 || idx[i - 1].key < idx[i].key ||
		      (idx[i - 1].key == idx[i].key && idx[i - 1].rec < idx[i].rec)) &&
		     index_key(v, &idx[i], kind, &key) && key == idx[i].key;
	}
	return ok;
}

/* The header of a file of @len bytes at @buf: magic, version, sizes, limits, the checksum and
 * the stale word. */
static bool header_ok(const void *buf, size_t len)
{
	const struct gotrue_cache_header *h = buf;
	bool ok = buf != NULL && (uintptr_t)buf % 8 == 0 && len >= sizeof(*h) &&
		  len <= GOTRUE_CACHE_MAX_SIZE;
	uint32_t stale;

	ok = ok && memcmp(h->magic, GOTRUE_CACHE_MAGIC, 8) == 0 &&
	     h->version == GOTRUE_CACHE_VERSION && h->header_size == sizeof(*h) &&
	     h->file_size == len && h->flags == 0 && h->n_users <= GOTRUE_CACHE_MAX_RECORDS &&
	     h->n_groups <= GOTRUE_CACHE_MAX_RECORDS &&
	     gotrue_cache_checksum(buf, len) == h->checksum;
	if (ok) {
		/* Outside the checksum, so checked here: 0 or the one stale value, nothing else.
		 * The atomic load because the writer may be setting it in this very file right
		 * now. */
		stale = __atomic_load_n(&h->stale, __ATOMIC_RELAXED);
		ok = (stale == 0 || stale == GOTRUE_CACHE_STALE) && h->stale_pad == 0;
	}
	return ok;
}

/* Every section inside the file, aligned and a whole number of its elements. */
static bool sections_ok(const struct gotrue_cache_header *h, size_t len)
{
	static const size_t elem[GOTRUE_CACHE_N_SECTIONS] = {
		[GOTRUE_CACHE_SEC_STRINGS] = 1,
		[GOTRUE_CACHE_SEC_PASSWD] = sizeof(struct gotrue_cache_pw_rec),
		[GOTRUE_CACHE_SEC_GROUP] = sizeof(struct gotrue_cache_gr_rec),
		[GOTRUE_CACHE_SEC_MEMBERS] = sizeof(uint32_t),
		[GOTRUE_CACHE_SEC_USER_GIDS] = sizeof(uint32_t),
		[GOTRUE_CACHE_SEC_PW_NAME] = sizeof(struct gotrue_cache_idx),
		[GOTRUE_CACHE_SEC_PW_UID] = sizeof(struct gotrue_cache_idx),
		[GOTRUE_CACHE_SEC_GR_NAME] = sizeof(struct gotrue_cache_idx),
		[GOTRUE_CACHE_SEC_GR_GID] = sizeof(struct gotrue_cache_idx),
	};
	bool ok = true;
	int s;

	for (s = 0; s < GOTRUE_CACHE_N_SECTIONS && ok; s++)
		ok = section_ok(h, len, s, elem[s]);
	return ok;
}

/* The view of a file whose header and sections are checked. */
static void view_map(const unsigned char *p, size_t len, struct gotrue_cache_view *v)
{
	const struct gotrue_cache_header *h = (const void *)p;

#define SEC(s)	  (p + h->sections[s].offset)
#define SECLEN(s) (h->sections[s].length)
	memset(v, 0, sizeof(*v));
	v->base = p;
	v->len = len;
	v->hdr = h;
	v->strings = (const char *)SEC(GOTRUE_CACHE_SEC_STRINGS);
	v->strings_len = SECLEN(GOTRUE_CACHE_SEC_STRINGS);
	v->pw = (const void *)SEC(GOTRUE_CACHE_SEC_PASSWD);
	v->gr = (const void *)SEC(GOTRUE_CACHE_SEC_GROUP);
	v->members = (const void *)SEC(GOTRUE_CACHE_SEC_MEMBERS);
	v->n_members = SECLEN(GOTRUE_CACHE_SEC_MEMBERS) / sizeof(uint32_t);
	v->user_gids = (const void *)SEC(GOTRUE_CACHE_SEC_USER_GIDS);
	v->n_user_gids = SECLEN(GOTRUE_CACHE_SEC_USER_GIDS) / sizeof(uint32_t);
	v->pw_name = (const void *)SEC(GOTRUE_CACHE_SEC_PW_NAME);
	v->pw_uid = (const void *)SEC(GOTRUE_CACHE_SEC_PW_UID);
	v->gr_name = (const void *)SEC(GOTRUE_CACHE_SEC_GR_NAME);
	v->gr_gid = (const void *)SEC(GOTRUE_CACHE_SEC_GR_GID);
#undef SEC
#undef SECLEN
}

/* The strings section ends in a NUL, so that every string offset inside it is a terminated
 * string; each table holds the counts the header says. */
static bool sizes_ok(const struct gotrue_cache_view *v)
{
	const struct gotrue_cache_header *h = v->hdr;
	const struct gotrue_cache_section_ref *sec = h->sections;

	return v->strings_len != 0 && v->strings[v->strings_len - 1] == '\0' &&
	       sec[GOTRUE_CACHE_SEC_PASSWD].length / sizeof(*v->pw) == h->n_users &&
	       sec[GOTRUE_CACHE_SEC_PW_NAME].length / sizeof(*v->pw_name) == h->n_users &&
	       sec[GOTRUE_CACHE_SEC_PW_UID].length / sizeof(*v->pw_uid) == h->n_users &&
	       sec[GOTRUE_CACHE_SEC_GROUP].length / sizeof(*v->gr) == h->n_groups &&
	       sec[GOTRUE_CACHE_SEC_GR_NAME].length / sizeof(*v->gr_name) == h->n_groups &&
	       sec[GOTRUE_CACHE_SEC_GR_GID].length / sizeof(*v->gr_gid) == h->n_groups;
}

/* Each user's strings and its slice of the supplementary gids. */
static bool users_ok(const struct gotrue_cache_view *v)
{
	const struct gotrue_cache_pw_rec *r;
	bool ok = true;
	uint32_t i;

	for (i = 0; i < v->hdr->n_users && ok; i++) {
		r = &v->pw[i];
		ok = string_ok(v, r->name) && string_ok(v, r->gecos) && string_ok(v, r->dir) &&
		     string_ok(v, r->shell) && v->strings[r->name] != '\0' &&
		     r->gids_start <= v->n_user_gids &&
		     r->gids_count <= v->n_user_gids - r->gids_start;
	}
	return ok;
}

/* Each group's name and its slice of member names. */
static bool groups_ok(const struct gotrue_cache_view *v)
{
	const struct gotrue_cache_gr_rec *r;
	bool ok = true;
	uint32_t i, m;

	for (i = 0; i < v->hdr->n_groups && ok; i++) {
		r = &v->gr[i];
		ok = string_ok(v, r->name) && v->strings[r->name] != '\0' &&
		     r->members_start <= v->n_members &&
		     r->members_count <= v->n_members - r->members_start;
		for (m = 0; m < r->members_count && ok; m++)
			ok = string_ok(v, v->members[r->members_start + m]);
	}
	return ok;
}

enum gotrue_cache_status gotrue_cache_parse(const void *buf, size_t len,
					    struct gotrue_cache_view *view)
{
	struct gotrue_cache_view v;
	enum gotrue_cache_status rc = GOTRUE_CACHE_UNAVAIL;

	memset(view, 0, sizeof(*view));
	if (!header_ok(buf, len) || !sections_ok(buf, len))
		goto cleanup;
	view_map(buf, len, &v);
	if (!sizes_ok(&v) || !users_ok(&v) || !groups_ok(&v) ||
	    !index_ok(&v, v.pw_name, v.hdr->n_users, GOTRUE_CACHE_SEC_PW_NAME) ||
	    !index_ok(&v, v.pw_uid, v.hdr->n_users, GOTRUE_CACHE_SEC_PW_UID) ||
	    !index_ok(&v, v.gr_name, v.hdr->n_groups, GOTRUE_CACHE_SEC_GR_NAME) ||
	    !index_ok(&v, v.gr_gid, v.hdr->n_groups, GOTRUE_CACHE_SEC_GR_GID))
		goto cleanup;
	*view = v;
	rc = GOTRUE_CACHE_OK;
cleanup:
	return rc;
}

/* First index entry whose key is >= @key. */
static uint32_t lower_bound(const struct gotrue_cache_idx *idx, uint32_t n, uint32_t key)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (idx[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void fill_pw(const struct gotrue_cache_view *v, uint32_t rec, struct gotrue_cache_pw *out)
{
	const struct gotrue_cache_pw_rec *r = &v->pw[rec];

	out->name = v->strings + r->name;
	out->gecos = v->strings + r->gecos;
	out->dir = v->strings + r->dir;
	out->shell = v->strings + r->shell;
	out->uid = r->uid;
	out->gid = r->gid;
	out->gids = v->user_gids + r->gids_start;
	out->n_gids = r->gids_count;
	out->rec = rec;
}

static void fill_gr(const struct gotrue_cache_view *v, uint32_t rec, struct gotrue_cache_gr *out)
{
	const struct gotrue_cache_gr_rec *r = &v->gr[rec];

	out->name = v->strings + r->name;
	out->gid = r->gid;
	out->members = v->members + r->members_start;
	out->n_members = r->members_count;
	out->rec = rec;
}

enum gotrue_cache_status gotrue_cache_getpwnam(const struct gotrue_cache_view *v, const char *name,
					       struct gotrue_cache_pw *out)
{
	uint32_t n = v->hdr->n_users, key = gotrue_cache_name_hash(name), i;

	for (i = lower_bound(v->pw_name, n, key); i < n && v->pw_name[i].key == key; i++) {
		uint32_t rec = v->pw_name[i].rec;

		if (strcmp(v->strings + v->pw[rec].name, name) == 0) {
			fill_pw(v, rec, out);
			return GOTRUE_CACHE_OK;
		}
	}
	return GOTRUE_CACHE_NOTFOUND;
}

enum gotrue_cache_status gotrue_cache_getpwuid(const struct gotrue_cache_view *v, uint32_t uid,
					       struct gotrue_cache_pw *out)
{
	uint32_t n = v->hdr->n_users, i = lower_bound(v->pw_uid, n, uid);

	if (i < n && v->pw_uid[i].key == uid) {
		fill_pw(v, v->pw_uid[i].rec, out);
		return GOTRUE_CACHE_OK;
	}
	return GOTRUE_CACHE_NOTFOUND;
}

enum gotrue_cache_status gotrue_cache_getpwent(const struct gotrue_cache_view *v, uint32_t rec,
					       struct gotrue_cache_pw *out)
{
	if (rec >= v->hdr->n_users)
		return GOTRUE_CACHE_NOTFOUND;
	fill_pw(v, rec, out);
	return GOTRUE_CACHE_OK;
}

enum gotrue_cache_status gotrue_cache_getgrnam(const struct gotrue_cache_view *v, const char *name,
					       struct gotrue_cache_gr *out)
{
	uint32_t n = v->hdr->n_groups, key = gotrue_cache_name_hash(name), i;

	for (i = lower_bound(v->gr_name, n, key); i < n && v->gr_name[i].key == key; i++) {
		uint32_t rec = v->gr_name[i].rec;

		if (strcmp(v->strings + v->gr[rec].name, name) == 0) {
			fill_gr(v, rec, out);
			return GOTRUE_CACHE_OK;
		}
	}
	return GOTRUE_CACHE_NOTFOUND;
}

enum gotrue_cache_status gotrue_cache_getgrgid(const struct gotrue_cache_view *v, uint32_t gid,
					       struct gotrue_cache_gr *out)
{
	uint32_t n = v->hdr->n_groups, i = lower_bound(v->gr_gid, n, gid);

	if (i < n && v->gr_gid[i].key == gid) {
		fill_gr(v, v->gr_gid[i].rec, out);
		return GOTRUE_CACHE_OK;
	}
	return GOTRUE_CACHE_NOTFOUND;
}

enum gotrue_cache_status gotrue_cache_getgrent(const struct gotrue_cache_view *v, uint32_t rec,
					       struct gotrue_cache_gr *out)
{
	if (rec >= v->hdr->n_groups)
		return GOTRUE_CACHE_NOTFOUND;
	fill_gr(v, rec, out);
	return GOTRUE_CACHE_OK;
}

const char *gotrue_cache_member(const struct gotrue_cache_view *v, const struct gotrue_cache_gr *gr,
				uint32_t i)
{
	return v->strings + gr->members[i];
}

/* --- The mapping kept across calls -------------------------------------------------------- */

void gotrue_cache_init(struct gotrue_cache *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	pthread_rwlock_init(&c->lock, NULL);
	c->path = path;
}

static void unmap(struct gotrue_cache *c)
{
	if (c->map != NULL)
		munmap(c->map, c->map_len);
	c->map = NULL;
	c->map_len = 0;
	c->valid = false;
	memset(&c->view, 0, sizeof(c->view));
}

void gotrue_cache_destroy(struct gotrue_cache *c)
{
	pthread_rwlock_wrlock(&c->lock);
	unmap(c);
	pthread_rwlock_unlock(&c->lock);
}

static bool same_file(const struct gotrue_cache *c, const struct stat *st)
{
	return c->valid && c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
	       c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Milliseconds on a coarse monotonic clock, wrapping at 2^32 (differences stay right across the
 * wrap). False if no clock is readable; the caller then stat()s every time. */
static bool now_ms(uint32_t *ms)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0 &&
	    clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return false;
	*ms = (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
	return true;
}

static bool mapped_stale(const struct gotrue_cache *c)
{
	return __atomic_load_n(&c->view.hdr->stale, __ATOMIC_ACQUIRE) != 0;
}

/* Called with the read or the write lock held: may the current mapping answer? Yes if it is valid,
 * not marked stale, and either checked within GOTRUE_CACHE_RECHECK_MS or found by stat() to be
 * still the file at the path. */
static bool fresh(struct gotrue_cache *c, bool have_now, uint32_t now)
{
	struct stat st;

	if (!c->valid || mapped_stale(c))
		return false;
	if (have_now &&
	    now - __atomic_load_n(&c->checked_ms, __ATOMIC_RELAXED) < GOTRUE_CACHE_RECHECK_MS)
		return true;
	if (stat(c->path, &st) != 0 || !same_file(c, &st))
		return false;
	__atomic_store_n(&c->checked_ms, now, __ATOMIC_RELAXED);
	return true;
}

/* Called with the write lock held. Maps the file at the path, or leaves nothing mapped. */
static void map_path(struct gotrue_cache *c, uint32_t now)
{
	struct gotrue_cache_view v;
	struct stat st;
	void *map = MAP_FAILED;
	int fd;

	unmap(c);
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		goto cleanup;
	/* Trust only a regular file that root wrote (or the caller itself, for the test suite). */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 0022) != 0)
		goto cleanup;
	if (st.st_size < (off_t)sizeof(struct gotrue_cache_header) ||
	    st.st_size > (off_t)GOTRUE_CACHE_MAX_SIZE)
		goto cleanup;
	/* MAP_SHARED, so that the writer's stale mark reaches this mapping. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto cleanup;
	if (gotrue_cache_parse(map, (size_t)st.st_size, &v) != GOTRUE_CACHE_OK)
		goto cleanup;
	c->map = map;
	c->map_len = (size_t)st.st_size;
	map = MAP_FAILED;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	c->view = v;
	c->valid = true;
	__atomic_store_n(&c->checked_ms, now, __ATOMIC_RELAXED);
cleanup:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
}

/* Called with the write lock held. A file found already marked stale was opened in the instant
 * between the writer's rename and its mark: the path names a newer one, so try again; after a few
 * tries keep what we have (a whole older generation is still a consistent answer, and the next
 * call tries again). */
static void remap(struct gotrue_cache *c, uint32_t now)
{
	int tries;

	for (tries = 0; tries < 3; tries++) {
		map_path(c, now);
		if (!c->valid || !mapped_stale(c))
			break;
	}
}

enum gotrue_cache_status gotrue_cache_acquire(struct gotrue_cache *c,
					      const struct gotrue_cache_view **view)
{
	enum gotrue_cache_status rc = GOTRUE_CACHE_UNAVAIL;
	uint32_t now = 0;
	bool have_now = now_ms(&now);
	int saved = errno;

	*view = NULL;
	pthread_rwlock_rdlock(&c->lock);
	if (fresh(c, have_now, now)) {
		*view = &c->view;
		rc = GOTRUE_CACHE_OK;
		goto cleanup; /* keeps the read lock for the caller */
	}
	pthread_rwlock_unlock(&c->lock);

	pthread_rwlock_wrlock(&c->lock);
	if (!fresh(c, have_now, now))
		remap(c, now);
	pthread_rwlock_unlock(&c->lock);

	/* Another thread may remap between these two locks; whatever is mapped then is at least as
	 * new as what we saw, which is all a caller can ask. */
	pthread_rwlock_rdlock(&c->lock);
	if (c->valid) {
		*view = &c->view;
		rc = GOTRUE_CACHE_OK;
	} else {
		pthread_rwlock_unlock(&c->lock);
	}
cleanup:
	errno = saved;
	return rc;
}

void gotrue_cache_release(struct gotrue_cache *c)
{
	pthread_rwlock_unlock(&c->lock);
}
