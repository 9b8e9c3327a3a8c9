/* cache_writer: builds an NSS cache image in memory (cache_format.h), replaces the file
 * atomically with gotrue_replace_file() and marks the replaced file stale for the readers that
 * still have it mapped. Used by sync (gotruectl) and the PAM login refresh; lives in libgotrue so
 * that the NSS module carries only the reader. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "cache.h"
#include "secure.h"

struct sbuf {
	unsigned char *p;
	size_t len, cap;
};

struct b_user {
	char *name, *gecos, *dir, *shell;
	uint32_t uid, gid;
	uint32_t *gids;
	size_t n_gids;
};

struct b_group {
	char *name;
	uint32_t gid;
	char **members;
	size_t n_members;
};

struct gotrue_cache_builder {
	struct b_user *users;
	size_t n_users, cap_users;
	struct b_group *groups;
	size_t n_groups, cap_groups;
};

struct gotrue_cache_builder *gotrue_cache_builder_new(void)
{
	return calloc(1, sizeof(struct gotrue_cache_builder));
}

void gotrue_cache_builder_free(struct gotrue_cache_builder *b)
{
	size_t i, m;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_users; i++) {
		free(b->users[i].name);
		free(b->users[i].gecos);
		free(b->users[i].dir);
		free(b->users[i].shell);
		free(b->users[i].gids);
	}
	for (i = 0; i < b->n_groups; i++) {
		free(b->groups[i].name);
		for (m = 0; m < b->groups[i].n_members; m++)
			free(b->groups[i].members[m]);
		free(b->groups[i].members);
	}
	free(b->users);
	free(b->groups);
	free(b);
}

int gotrue_cache_builder_add_user(struct gotrue_cache_builder *b, const char *name, uint32_t uid,
				  uint32_t gid, const char *gecos, const char *dir,
				  const char *shell, const uint32_t *gids, size_t n_gids)
{
	struct b_user u = {0};
	int rc = -1;

	if (name == NULL || *name == '\0' || b->n_users >= GOTRUE_CACHE_MAX_RECORDS)
		goto cleanup;
	if (gotrue_grow((void **)&b->users, &b->cap_users, b->n_users + 1, sizeof(*b->users)) != 0)
		goto cleanup;
	u.name = strdup(name);
	u.gecos = strdup(gecos ? gecos : "");
	u.dir = strdup(dir ? dir : "/");
	u.shell = strdup(shell ? shell : "");
	u.gids = malloc((n_gids ? n_gids : 1) * sizeof(uint32_t));
	if (!u.name || !u.gecos || !u.dir || !u.shell || !u.gids)
		goto cleanup;
	if (n_gids)
		memcpy(u.gids, gids, n_gids * sizeof(uint32_t));
	u.n_gids = n_gids;
	u.uid = uid;
	u.gid = gid;
	b->users[b->n_users++] = u;
	memset(&u, 0, sizeof(u));
	rc = 0;
cleanup:
	free(u.name);
	free(u.gecos);
	free(u.dir);
	free(u.shell);
	free(u.gids);
	return rc;
}

int gotrue_cache_builder_add_group(struct gotrue_cache_builder *b, const char *name, uint32_t gid,
				   const char *const *members, size_t n_members)
{
	struct b_group g = {0};
	int rc = -1;
	size_t i;

	if (name == NULL || *name == '\0' || b->n_groups >= GOTRUE_CACHE_MAX_RECORDS)
		goto cleanup;
	if (gotrue_grow((void **)&b->groups, &b->cap_groups, b->n_groups + 1, sizeof(*b->groups)) !=
	    0)
		goto cleanup;
	g.name = strdup(name);
	g.members = calloc(n_members ? n_members : 1, sizeof(char *));
	if (g.name == NULL || g.members == NULL)
		goto cleanup;
	for (g.n_members = 0; g.n_members < n_members; g.n_members++) {
		g.members[g.n_members] = strdup(members[g.n_members]);
		if (g.members[g.n_members] == NULL)
			goto cleanup;
	}
	g.gid = gid;
	b->groups[b->n_groups++] = g;
	memset(&g, 0, sizeof(g));
	rc = 0;
cleanup:
	free(g.name);
	for (i = 0; i < g.n_members; i++)
		free(g.members[i]);
	free(g.members);
	return rc;
}

/* --- Serialisation ------------------------------------------------------------------------- */

static int sbuf_put(struct sbuf *s, const void *data, size_t len)
{
	if (gotrue_grow((void **)&s->p, &s->cap, s->len + len, 1) != 0)
		return -1;
	memcpy(s->p + s->len, data, len);
	s->len += len;
	return 0;
}

/* A string table that stores each distinct string once (shells and most GECOS repeat). Kept
 * simple: an open-addressing table of offsets keyed by the string. */
struct strtab {
	struct sbuf data;
	uint32_t *slots; /* offset + 1, 0 = empty */
	size_t n_slots, used;
};

static int strtab_init(struct strtab *t, size_t expect)
{
	memset(t, 0, sizeof(*t));
	t->n_slots = 64;
	while (t->n_slots < expect * 2)
		t->n_slots *= 2;
	t->slots = calloc(t->n_slots, sizeof(uint32_t));
	if (t->slots == NULL)
		return -1;
	return sbuf_put(&t->data, "", 1); /* offset 0 is "" */
}

static int strtab_add(struct strtab *t, const char *s, uint32_t *off)
{
	size_t len = strlen(s), i;

	if (*s == '\0') {
		*off = 0;
		return 0;
	}
	i = gotrue_cache_name_hash(s) & (t->n_slots - 1);
	while (t->slots[i] != 0) {
		if (strcmp((const char *)t->data.p + t->slots[i] - 1, s) == 0) {
			*off = t->slots[i] - 1;
			return 0;
		}
		i = (i + 1) & (t->n_slots - 1);
	}
	if (t->used * 2 >= t->n_slots || t->data.len + len + 1 > GOTRUE_CACHE_MAX_SIZE)
		return -1; /* sized for the worst case up front; cannot happen */
	*off = (uint32_t)t->data.len;
	if (sbuf_put(&t->data, s, len + 1) != 0)
		return -1;
	t->slots[i] = *off + 1;
	t->used++;
	return 0;
}

static int idx_cmp(const void *a, const void *b)
{
	const struct gotrue_cache_idx *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->rec > y->rec) - (x->rec < y->rec);
}

static int put_section(struct sbuf *out, struct gotrue_cache_header *h, int sec, const void *data,
		       size_t len)
{
	static const unsigned char pad[8];

	if (out->len % 8 != 0 && sbuf_put(out, pad, 8 - out->len % 8) != 0)
		return -1;
	if (out->len > GOTRUE_CACHE_MAX_SIZE || len > GOTRUE_CACHE_MAX_SIZE)
		return -1;
	h->sections[sec].offset = (uint32_t)out->len;
	h->sections[sec].length = (uint32_t)len;
	return len ? sbuf_put(out, data, len) : 0;
}

int gotrue_cache_builder_finish(struct gotrue_cache_builder *b, uint64_t generated_at,
				void **out_data, size_t *out_len)
{
	struct gotrue_cache_header h;
	struct strtab st;
	struct sbuf out = {0};
	struct gotrue_cache_pw_rec *pw = NULL;
	struct gotrue_cache_gr_rec *gr = NULL;
	struct gotrue_cache_idx *pw_name = NULL, *pw_uid = NULL, *gr_name = NULL, *gr_gid = NULL;
	uint32_t *members = NULL, *ugids = NULL;
	size_t n_members = 0, n_ugids = 0, i, m, n_strings;
	int rc = -1;

	*out_data = NULL;
	*out_len = 0;
	memset(&h, 0, sizeof(h));
	n_strings = 4 * b->n_users + b->n_groups + 1;
	for (i = 0; i < b->n_groups; i++)
		n_strings += b->groups[i].n_members;
	for (i = 0; i < b->n_users; i++)
		n_ugids += b->users[i].n_gids;
	if (strtab_init(&st, n_strings) != 0)
		goto cleanup;
	pw = calloc(b->n_users + 1, sizeof(*pw));
	gr = calloc(b->n_groups + 1, sizeof(*gr));
	pw_name = calloc(b->n_users + 1, sizeof(*pw_name));
	pw_uid = calloc(b->n_users + 1, sizeof(*pw_uid));
	gr_name = calloc(b->n_groups + 1, sizeof(*gr_name));
	gr_gid = calloc(b->n_groups + 1, sizeof(*gr_gid));
	members = calloc(n_strings, sizeof(uint32_t));
	ugids = calloc(n_ugids + 1, sizeof(uint32_t));
	if (!pw || !gr || !pw_name || !pw_uid || !gr_name || !gr_gid || !members || !ugids)
		goto cleanup;
	n_ugids = 0;
	for (i = 0; i < b->n_users; i++) {
		const struct b_user *u = &b->users[i];

		if (strtab_add(&st, u->name, &pw[i].name) ||
		    strtab_add(&st, u->gecos, &pw[i].gecos) ||
		    strtab_add(&st, u->dir, &pw[i].dir) || strtab_add(&st, u->shell, &pw[i].shell))
			goto cleanup;
		pw[i].uid = u->uid;
		pw[i].gid = u->gid;
		pw[i].gids_start = (uint32_t)n_ugids;
		pw[i].gids_count = (uint32_t)u->n_gids;
		memcpy(ugids + n_ugids, u->gids, u->n_gids * sizeof(uint32_t));
		n_ugids += u->n_gids;
		pw_name[i].key = gotrue_cache_name_hash(u->name);
		pw_name[i].rec = (uint32_t)i;
		pw_uid[i].key = u->uid;
		pw_uid[i].rec = (uint32_t)i;
	}
	for (i = 0; i < b->n_groups; i++) {
		const struct b_group *g = &b->groups[i];

		if (strtab_add(&st, g->name, &gr[i].name) != 0)
			goto cleanup;
		gr[i].gid = g->gid;
		gr[i].members_start = (uint32_t)n_members;
		gr[i].members_count = (uint32_t)g->n_members;
		for (m = 0; m < g->n_members; m++) {
			if (strtab_add(&st, g->members[m], &members[n_members++]) != 0)
				goto cleanup;
		}
		gr_name[i].key = gotrue_cache_name_hash(g->name);
		gr_name[i].rec = (uint32_t)i;
		gr_gid[i].key = g->gid;
		gr_gid[i].rec = (uint32_t)i;
	}
	qsort(pw_name, b->n_users, sizeof(*pw_name), idx_cmp);
	qsort(pw_uid, b->n_users, sizeof(*pw_uid), idx_cmp);
	qsort(gr_name, b->n_groups, sizeof(*gr_name), idx_cmp);
	qsort(gr_gid, b->n_groups, sizeof(*gr_gid), idx_cmp);
	/* Duplicate uids or gids would make lookups ambiguous: the mapping rules them out. */
	for (i = 1; i < b->n_users; i++) {
		if (pw_uid[i].key == pw_uid[i - 1].key)
			goto cleanup;
	}
	for (i = 1; i < b->n_groups; i++) {
		if (gr_gid[i].key == gr_gid[i - 1].key)
			goto cleanup;
	}

	memcpy(h.magic, GOTRUE_CACHE_MAGIC, 8);
	h.version = GOTRUE_CACHE_VERSION;
	h.header_size = sizeof(h);
	h.generated_at = generated_at;
	h.n_users = (uint32_t)b->n_users;
	h.n_groups = (uint32_t)b->n_groups;
	if (sbuf_put(&out, &h, sizeof(h)) != 0 ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_STRINGS, st.data.p, st.data.len) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_PASSWD, pw, b->n_users * sizeof(*pw)) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_GROUP, gr, b->n_groups * sizeof(*gr)) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_MEMBERS, members,
			n_members * sizeof(uint32_t)) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_USER_GIDS, ugids, n_ugids * sizeof(uint32_t)) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_PW_NAME, pw_name,
			b->n_users * sizeof(*pw_name)) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_PW_UID, pw_uid, b->n_users * sizeof(*pw_uid)) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_GR_NAME, gr_name,
			b->n_groups * sizeof(*gr_name)) ||
	    put_section(&out, &h, GOTRUE_CACHE_SEC_GR_GID, gr_gid, b->n_groups * sizeof(*gr_gid)))
		goto cleanup;
	if (out.len > GOTRUE_CACHE_MAX_SIZE)
		goto cleanup;
	h.file_size = (uint32_t)out.len;
	memcpy(out.p, &h, sizeof(h));
	h.checksum = gotrue_cache_checksum(out.p, out.len);
	memcpy(out.p, &h, sizeof(h));
	*out_data = out.p;
	*out_len = out.len;
	out.p = NULL;
	rc = 0;
cleanup:
	free(out.p);
	free(st.data.p);
	free(st.slots);
	free(pw);
	free(gr);
	free(pw_name);
	free(pw_uid);
	free(gr_name);
	free(gr_gid);
	free(members);
	free(ugids);
	return rc;
}

/* --- Replacement ---------------------------------------------------------------------------- */

/* Open the file at @path for marking, if it is a cache this writer may mark: a regular file (not
 * a symlink) owned by root (or by us, for the test suite), of this format version and of the size
 * its header says. Anything else (no file yet, an older version, a stranger's file) gets -1 and is
 * left alone. O_NONBLOCK so that a FIFO planted there cannot hang the writer. */
static int open_for_mark(const char *path)
{
	struct gotrue_cache_header h;
	struct stat st;
	int fd, rc = -1;

	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		goto cleanup;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || st.st_size < (off_t)sizeof(h))
		goto cleanup;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, GOTRUE_CACHE_MAGIC, 8) != 0 || h.version != GOTRUE_CACHE_VERSION ||
	    h.header_size != sizeof(h) || h.file_size != (uint64_t)st.st_size)
		goto cleanup;
	rc = fd;
	fd = -1;
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Set the stale word of the (already replaced) file behind @fd. Through a shared mapping with
 * an atomic store rather than pwrite(2): readers load the word from their own mappings of the
 * same page, and a store is the one write they can never see half done. */
static void mark_stale(int fd)
{
	struct gotrue_cache_header *h;

	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return;
	__atomic_store_n(&h->stale, GOTRUE_CACHE_STALE, __ATOMIC_RELEASE);
	munmap(h, sizeof(*h));
}

/* True if @path no longer names the file behind @fd. */
static bool replaced(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) != 0)
		return false;
	if (stat(path, &b) != 0)
		return true;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

/* The old file is opened before the rename but marked after it, so that a reader that sees the
 * mark and opens the path finds the new file, never the old one again. It is marked only if the
 * path no longer names it: a failed replacement must leave the current file unmarked (a marked
 * current file would send every lookup back to open(2)), while one that renamed but then failed
 * its directory fsync has replaced it all the same. Callers serialise writers (sync.c's
 * state_dir/.sync.lock): two writers racing could leave the middle file unmarked, which readers
 * would then only notice at their next once-a-second stat(). */
int gotrue_cache_replace(const char *path, const void *data, size_t len)
{
	int old = open_for_mark(path);
	int rc;

	rc = gotrue_replace_file(path, data, len, 0644);
	if (old >= 0 && replaced(old, path))
		mark_stale(old);
	if (old >= 0)
		close(old);
	return rc;
}

int gotrue_cache_builder_write(struct gotrue_cache_builder *b, const char *path)
{
	void *data = NULL;
	size_t len = 0;
	int rc = -ENOMEM;

	if (gotrue_cache_builder_finish(b, (uint64_t)time(NULL), &data, &len) != 0)
		goto cleanup;
	rc = gotrue_cache_replace(path, data, len);
cleanup:
	free(data);
	return rc;
}
