/* cache_reader: maps the NSS cache and answers lookups from its indexes, checking what each
 * lookup reads as it reads it. libc only: this code runs inside every process that resolves a
 * user name.
 *
 * Lazy validation. Mapping a file checks its header (header_check, magic, version, sizes, the
 * stale word) and that every section lies inside the file: O(1). A lookup then checks what it
 * touches before using it: every index entry it stops at names a record in range whose key is
 * that entry's, every record it reads has its offsets and slices inside their sections and its
 * own check right (cache_format.h), and a group answer's member names their check. The
 * strings section ends in a NUL, so an offset inside it is a terminated string. A lookup that
 * meets corrupt data is UNAVAIL, never a crash and never an answer built from it; corruption
 * elsewhere in the file does not stop the lookups that do not read it (nss_gotrue(8) says so),
 * and `gotruectl cache verify` (gotrue_cache_verify) checks the whole file. So one lookup in a
 * fresh process (what `id` or `ls -l` does) costs the same whatever the number of users.
 *
 * Why that suffices for the indexes, whose entries carry no check of their own: an answer is
 * only given from an entry whose record is sound and carries the key and name sought, so it is
 * right whatever else is damaged. A miss is where a corrupt key could mislead: a binary search's
 * last step left of the key sought and its last step right of it are the two entries around
 * where it ends (lower_bound). An entry whose key is corrupt either misleads the search, and then
 * it is one of those two, or the search passes it by, and then it did no harm. So a miss checks
 * those two against their records, and a corrupt key on the way to an answer is UNAVAIL, not a
 * wrong NOTFOUND (several corrupt entries together can still give NOTFOUND, which grants
 * nothing; verify finds them).
 *
 * The writer replaces the file by rename only, so a mapped file is never changed under us except
 * for its stale word, which is outside every check (a root user truncating it in place could
 * still raise SIGBUS, as with every mmap-based NSS cache).
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
#include <syslog.h>
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

/* Why the header of a file of @len bytes at @buf is unusable, or NULL: magic, version, its
 * check, sizes, limits and the stale word. */
static const char *header_problem(const void *buf, size_t len)
{
	const struct gotrue_cache_header *h = buf;
	const char *why = NULL;
	uint32_t stale;

	if (buf == NULL || (uintptr_t)buf % 8 != 0)
		why = "the image is not 8-byte aligned";
	else if (len < sizeof(*h))
		why = "shorter than its header (truncated)";
	else if (len > GOTRUE_CACHE_MAX_SIZE)
		why = "larger than the size limit";
	else if (memcmp(h->magic, GOTRUE_CACHE_MAGIC, 8) != 0)
		why = "not an NSS cache of this byte order (bad magic)";
	else if (h->version != GOTRUE_CACHE_VERSION)
		why = "another format version (run gotruectl sync to rewrite it)";
	else if (gotrue_cache_header_check(h) != h->header_check)
		why = "the header's check does not match (corrupt header)";
	else if (h->header_size != sizeof(*h) || h->flags != 0 || h->header_pad != 0)
		why = "unknown header size or flags";
	else if (h->file_size != len)
		why = "its size differs from the header's (truncated or extended)";
	else if (h->n_users > GOTRUE_CACHE_MAX_RECORDS || h->n_groups > GOTRUE_CACHE_MAX_RECORDS)
		why = "more records than the limit";
	if (why == NULL) {
		/* Outside every check, so checked here: 0 or the one stale value, nothing else.
		 * The atomic load because the writer may be setting it in this very file right
		 * now. */
		stale = __atomic_load_n(&h->stale, __ATOMIC_RELAXED);
		if ((stale != 0 && stale != GOTRUE_CACHE_STALE) || h->stale_pad != 0)
			why = "a corrupt stale word";
	}
	return why;
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

enum gotrue_cache_status gotrue_cache_parse_why(const void *buf, size_t len,
						struct gotrue_cache_view *view, const char **why)
{
	struct gotrue_cache_view v;
	enum gotrue_cache_status rc = GOTRUE_CACHE_UNAVAIL;
	const char *problem;

	memset(view, 0, sizeof(*view));
	problem = header_problem(buf, len);
	if (problem == NULL && !sections_ok(buf, len))
		problem = "a section lies outside the file";
	if (problem != NULL)
		goto cleanup;
	view_map(buf, len, &v);
	if (!sizes_ok(&v)) {
		problem = "section sizes disagree with the header's counts";
		goto cleanup;
	}
	*view = v;
	rc = GOTRUE_CACHE_OK;
cleanup:
	if (why != NULL)
		*why = problem;
	return rc;
}

enum gotrue_cache_status gotrue_cache_parse(const void *buf, size_t len,
					    struct gotrue_cache_view *view)
{
	return gotrue_cache_parse_why(buf, len, view, NULL);
}

/* --- What a lookup checks as it reads ------------------------------------------------------ */

static bool string_ok(const struct gotrue_cache_view *v, uint32_t off)
{
	return off < v->strings_len;
}

/* User record @rec: in range, its strings and its gid slice inside their sections, a name, and
 * its check right. */
static bool user_ok(const struct gotrue_cache_view *v, uint32_t rec)
{
	const struct gotrue_cache_pw_rec *r;

	if (rec >= v->hdr->n_users)
		return false;
	r = &v->pw[rec];
	return string_ok(v, r->name) && string_ok(v, r->gecos) && string_ok(v, r->dir) &&
	       string_ok(v, r->shell) && v->strings[r->name] != '\0' &&
	       r->gids_start <= v->n_user_gids && r->gids_count <= v->n_user_gids - r->gids_start &&
	       gotrue_cache_user_check(v->strings, r, v->user_gids) == r->check;
}

/* Group record @rec: in range, its name and its member slice inside their sections, and its
 * check right. With @members, also every member offset and the member names' check: only for
 * the group that is the answer (the one whose names get read). */
static bool group_ok(const struct gotrue_cache_view *v, uint32_t rec, bool members)
{
	const struct gotrue_cache_gr_rec *r;
	bool ok;
	uint32_t m;

	if (rec >= v->hdr->n_groups)
		return false;
	r = &v->gr[rec];
	ok = string_ok(v, r->name) && v->strings[r->name] != '\0' &&
	     r->members_start <= v->n_members &&
	     r->members_count <= v->n_members - r->members_start &&
	     gotrue_cache_group_check(v->strings, r, v->members) == r->check;
	for (m = 0; members && m < r->members_count && ok; m++)
		ok = string_ok(v, v->members[r->members_start + m]);
	if (ok && members)
		ok = gotrue_cache_members_check(v->strings, r, v->members) == r->members_check;
	return ok;
}

/* One of the four indexes. */
struct index_kind {
	bool users;   /* pw_name, pw_uid; else gr_name, gr_gid */
	bool by_name; /* keyed by the name's hash; else by uid or gid */
};
static const struct index_kind PW_NAME = {true, true}, PW_UID = {true, false};
static const struct index_kind GR_NAME = {false, true}, GR_GID = {false, false};

static const struct gotrue_cache_idx *index_of(const struct gotrue_cache_view *v,
					       const struct index_kind *k, uint32_t *n)
{
	const struct gotrue_cache_idx *idx;

	*n = k->users ? v->hdr->n_users : v->hdr->n_groups;
	if (k->users)
		idx = k->by_name ? v->pw_name : v->pw_uid;
	else
		idx = k->by_name ? v->gr_name : v->gr_gid;
	return idx;
}

/* The name of a record that entry_ok() has checked. */
static const char *rec_name(const struct gotrue_cache_view *v, const struct index_kind *k,
			    uint32_t rec)
{
	return v->strings + (k->users ? v->pw[rec].name : v->gr[rec].name);
}

/* Index entry @e names a sound record whose key is the entry's. */
static bool entry_ok(const struct gotrue_cache_view *v, const struct index_kind *k,
		     const struct gotrue_cache_idx *e)
{
	bool ok = k->users ? user_ok(v, e->rec) : group_ok(v, e->rec, false);
	uint32_t key = 0;

	if (ok && k->by_name)
		key = gotrue_cache_name_hash(rec_name(v, k, e->rec));
	else if (ok)
		key = k->users ? v->pw[e->rec].uid : v->gr[e->rec].gid;
	return ok && key == e->key;
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

/* The record with @key (and, for a name index, @name) in index @k: OK with *@rec set, NOTFOUND,
 * or UNAVAIL when an entry the search stops at is corrupt (see the top of this file). An answer
 * needs only its own entry and record checked; a miss also checks the entries on either side of
 * where the search ended, since a corrupt key there may be what hid the answer. */
static enum gotrue_cache_status find(const struct gotrue_cache_view *v, const struct index_kind *k,
				     uint32_t key, const char *name, uint32_t *rec)
{
	enum gotrue_cache_status rc = GOTRUE_CACHE_NOTFOUND;
	uint32_t n, lo, i;
	const struct gotrue_cache_idx *idx = index_of(v, k, &n);

	lo = lower_bound(idx, n, key);
	for (i = lo; i < n && idx[i].key == key && rc == GOTRUE_CACHE_NOTFOUND; i++) {
		if (!entry_ok(v, k, &idx[i])) {
			rc = GOTRUE_CACHE_UNAVAIL;
		} else if (name == NULL || strcmp(rec_name(v, k, idx[i].rec), name) == 0) {
			*rec = idx[i].rec;
			rc = GOTRUE_CACHE_OK;
		}
	}
	if (rc == GOTRUE_CACHE_NOTFOUND &&
	    ((lo > 0 && !entry_ok(v, k, &idx[lo - 1])) || (i < n && !entry_ok(v, k, &idx[i]))))
		rc = GOTRUE_CACHE_UNAVAIL;
	return rc;
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

/* Group @rec as the answer: with its member names checked. */
static enum gotrue_cache_status fill_gr(const struct gotrue_cache_view *v, uint32_t rec,
					struct gotrue_cache_gr *out)
{
	const struct gotrue_cache_gr_rec *r;
	enum gotrue_cache_status rc = GOTRUE_CACHE_UNAVAIL;

	if (group_ok(v, rec, true)) {
		r = &v->gr[rec];
		out->name = v->strings + r->name;
		out->gid = r->gid;
		out->members = v->members + r->members_start;
		out->n_members = r->members_count;
		out->rec = rec;
		rc = GOTRUE_CACHE_OK;
	}
	return rc;
}

enum gotrue_cache_status gotrue_cache_getpwnam(const struct gotrue_cache_view *v, const char *name,
					       struct gotrue_cache_pw *out)
{
	uint32_t rec = 0;
	enum gotrue_cache_status rc = find(v, &PW_NAME, gotrue_cache_name_hash(name), name, &rec);

	if (rc == GOTRUE_CACHE_OK)
		fill_pw(v, rec, out);
	return rc;
}

enum gotrue_cache_status gotrue_cache_getpwuid(const struct gotrue_cache_view *v, uint32_t uid,
					       struct gotrue_cache_pw *out)
{
	uint32_t rec = 0;
	enum gotrue_cache_status rc = find(v, &PW_UID, uid, NULL, &rec);

	if (rc == GOTRUE_CACHE_OK)
		fill_pw(v, rec, out);
	return rc;
}

enum gotrue_cache_status gotrue_cache_getpwent(const struct gotrue_cache_view *v, uint32_t rec,
					       struct gotrue_cache_pw *out)
{
	enum gotrue_cache_status rc = GOTRUE_CACHE_NOTFOUND;

	if (rec < v->hdr->n_users)
		rc = user_ok(v, rec) ? GOTRUE_CACHE_OK : GOTRUE_CACHE_UNAVAIL;
	if (rc == GOTRUE_CACHE_OK)
		fill_pw(v, rec, out);
	return rc;
}

enum gotrue_cache_status gotrue_cache_getgrnam(const struct gotrue_cache_view *v, const char *name,
					       struct gotrue_cache_gr *out)
{
	uint32_t rec = 0;
	enum gotrue_cache_status rc = find(v, &GR_NAME, gotrue_cache_name_hash(name), name, &rec);

	return rc == GOTRUE_CACHE_OK ? fill_gr(v, rec, out) : rc;
}

enum gotrue_cache_status gotrue_cache_getgrgid(const struct gotrue_cache_view *v, uint32_t gid,
					       struct gotrue_cache_gr *out)
{
	uint32_t rec = 0;
	enum gotrue_cache_status rc = find(v, &GR_GID, gid, NULL, &rec);

	return rc == GOTRUE_CACHE_OK ? fill_gr(v, rec, out) : rc;
}

enum gotrue_cache_status gotrue_cache_getgrent(const struct gotrue_cache_view *v, uint32_t rec,
					       struct gotrue_cache_gr *out)
{
	return rec < v->hdr->n_groups ? fill_gr(v, rec, out) : GOTRUE_CACHE_NOTFOUND;
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

/* A cache of another format version (one written before an upgrade) is UNAVAIL until the next
 * sync rewrites it; say so in syslog, once per process, since every lookup meets it. */
static void report_version(const char *path, const void *map, size_t len)
{
	static int reported;
	const struct gotrue_cache_header *h = map;

	if (len < offsetof(struct gotrue_cache_header, header_size) ||
	    memcmp(h->magic, GOTRUE_CACHE_MAGIC, 8) != 0 || h->version == GOTRUE_CACHE_VERSION ||
	    __atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED) != 0)
		return;
	syslog(LOG_AUTHPRIV | LOG_WARNING,
	       "nss cache has format version %u, this reader reads %u: no GoTrue users until "
	       "gotruectl sync rewrites it; path=%s",
	       h->version, GOTRUE_CACHE_VERSION, path);
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
	if (gotrue_cache_parse(map, (size_t)st.st_size, &v) != GOTRUE_CACHE_OK) {
		report_version(c->path, map, (size_t)st.st_size);
		goto cleanup;
	}
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
