/* cache_writer: builds an NSS cache image in memory (cache_format.h), replaces the file
 * atomically with gotrue_replace_file() and marks the replaced file stale for the readers that
 * still have it mapped. Used by sync (gotruectl) and the PAM login refresh; a library of its own
 * (libgotrue-cache-writer), so that the NSS module carries only the reader. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "cache_writer.h"
#include "secure.h"

struct sbuf {
	unsigned char *p;
	size_t len, cap;
	struct gotrue_prefault_mark pf; /* the string table grows to megabytes in a sync */
};

static int sbuf_put(struct sbuf *s, const void *data, size_t len)
{
	if (gotrue_grow((void **)&s->p, &s->cap, s->len + len, 1) != 0)
		return -1;
	memcpy(s->p + s->len, data, len);
	s->len += len;
	gotrue_prefault_ahead(&s->pf, s->p, s->len, s->cap);
	return 0;
}

/* The file's string table, built as entries are added: each distinct string is stored once
 * (shells, empty GECOS, and every member name, which is also a user's name), and an entry holds
 * offsets into it. The builder used to strdup every field and build the table again at finish:
 * at 100k users that was half a million small allocations and the same hashing twice. Open
 * addressing, linear probing, at most half full. */
struct strtab {
	struct sbuf data; /* "" at offset 0, then NUL-terminated strings */
	uint32_t *slots;  /* offset + 1, 0 = empty */
	size_t n_slots, used;
};

static int strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	t->n_slots = 1024;
	t->slots = calloc(t->n_slots, sizeof(uint32_t));
	if (t->slots == NULL)
		return -1;
	return sbuf_put(&t->data, "", 1); /* offset 0 is "" */
}

static int strtab_grow(struct strtab *t)
{
	size_t n = t->n_slots * 2, i, j;
	uint32_t *slots = calloc(n, sizeof(uint32_t));

	if (slots == NULL)
		return -1;
	gotrue_prefault(slots, n * sizeof(uint32_t)); /* the rehash writes all over it */
	for (i = 0; i < t->n_slots; i++) {
		if (t->slots[i] == 0)
			continue;
		j = gotrue_cache_name_hash((const char *)t->data.p + t->slots[i] - 1) & (n - 1);
		while (slots[j] != 0)
			j = (j + 1) & (n - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n;
	return 0;
}

static int strtab_add(struct strtab *t, const char *s, uint32_t *off)
{
	size_t len, i;

	if (t->slots == NULL) /* the builder was finished */
		return -1;
	if (*s == '\0') {
		*off = 0;
		return 0;
	}
	if (t->used * 2 >= t->n_slots && strtab_grow(t) != 0)
		return -1;
	i = gotrue_cache_name_hash(s) & (t->n_slots - 1);
	while (t->slots[i] != 0) {
		if (strcmp((const char *)t->data.p + t->slots[i] - 1, s) == 0) {
			*off = t->slots[i] - 1;
			return 0;
		}
		i = (i + 1) & (t->n_slots - 1);
	}
	len = strlen(s);
	if (t->data.len + len + 1 > GOTRUE_CACHE_MAX_SIZE)
		return -1;
	*off = (uint32_t)t->data.len;
	if (sbuf_put(&t->data, s, len + 1) != 0)
		return -1;
	t->slots[i] = *off + 1;
	t->used++;
	return 0;
}

struct gotrue_cache_builder {
	struct strtab st;
	struct gotrue_cache_pw_rec *users; /* string fields are strtab offsets */
	size_t n_users, cap_users;
	struct gotrue_cache_gr_rec *groups;
	size_t n_groups, cap_groups;
	struct sbuf ugids;   /* uint32_t: every user's supplementary gids, in user order */
	struct sbuf members; /* uint32_t: strtab offsets of every group's members */
	/* The last user's name and its offset: a user's private group, added next with the same
	 * name, takes the offset without a second lookup. */
	const char *last_name;
	uint32_t last_name_off;
	bool ahead;    /* strings were interned ahead: finish zeroes those no entry references */
	bool finished; /* finish has taken the parts: nothing more can be added */
};

struct gotrue_cache_builder *gotrue_cache_builder_new(void)
{
	struct gotrue_cache_builder *b = calloc(1, sizeof(struct gotrue_cache_builder));

	if (b != NULL && strtab_init(&b->st) != 0) {
		free(b->st.slots);
		free(b);
		b = NULL;
	}
	return b;
}

void gotrue_cache_builder_free(struct gotrue_cache_builder *b)
{
	if (b == NULL)
		return;
	free(b->st.data.p);
	free(b->st.slots);
	free(b->users);
	free(b->groups);
	free(b->ugids.p);
	free(b->members.p);
	free(b);
}

int gotrue_cache_builder_intern(struct gotrue_cache_builder *b, const char *s, uint32_t *off)
{
	if (s == NULL)
		return -1;
	b->ahead = true;
	return strtab_add(&b->st, s, off);
}

int gotrue_cache_builder_reserve(struct gotrue_cache_builder *b, size_t n_users, size_t n_gids,
				 size_t n_groups, size_t n_members)
{
	if (n_users > GOTRUE_CACHE_MAX_RECORDS || n_groups > GOTRUE_CACHE_MAX_RECORDS ||
	    n_gids > UINT32_MAX || n_members > UINT32_MAX)
		return -1;
	if (gotrue_grow((void **)&b->users, &b->cap_users, b->n_users + n_users,
			sizeof(*b->users)) != 0 ||
	    gotrue_grow((void **)&b->groups, &b->cap_groups, b->n_groups + n_groups,
			sizeof(*b->groups)) != 0 ||
	    gotrue_grow((void **)&b->ugids.p, &b->ugids.cap,
			b->ugids.len + n_gids * sizeof(uint32_t), 1) != 0 ||
	    gotrue_grow((void **)&b->members.p, &b->members.cap,
			b->members.len + n_members * sizeof(uint32_t), 1) != 0)
		return -1;
	/* What was reserved is about to be filled. */
	gotrue_prefault(b->users + b->n_users, n_users * sizeof(*b->users));
	gotrue_prefault(b->groups + b->n_groups, n_groups * sizeof(*b->groups));
	gotrue_prefault(b->ugids.p + b->ugids.len, n_gids * sizeof(uint32_t));
	gotrue_prefault(b->members.p + b->members.len, n_members * sizeof(uint32_t));
	return 0;
}

/* @off is the start of a string in the table (offset 0 is ""). */
static bool string_at(const struct gotrue_cache_builder *b, uint32_t off)
{
	return off < b->st.data.len && (off == 0 || b->st.data.p[off - 1] == '\0');
}

int gotrue_cache_builder_add_user_at(struct gotrue_cache_builder *b, uint32_t name, uint32_t uid,
				     uint32_t gid, uint32_t gecos, uint32_t dir, uint32_t shell,
				     const uint32_t *gids, size_t n_gids)
{
	struct gotrue_cache_pw_rec u;

	memset(&u, 0, sizeof(u));
	/* Offset 0 is "": a user needs a name. */
	if (b->finished || name == 0 || !string_at(b, name) || !string_at(b, gecos) ||
	    !string_at(b, dir) || !string_at(b, shell) || b->n_users >= GOTRUE_CACHE_MAX_RECORDS ||
	    n_gids > GOTRUE_CACHE_MAX_RECORDS ||
	    b->ugids.len / sizeof(uint32_t) + n_gids > UINT32_MAX)
		return -1;
	if (gotrue_grow((void **)&b->users, &b->cap_users, b->n_users + 1, sizeof(*b->users)) != 0)
		return -1;
	u.name = name;
	u.gecos = gecos;
	u.dir = dir;
	u.shell = shell;
	u.uid = uid;
	u.gid = gid;
	u.gids_start = (uint32_t)(b->ugids.len / sizeof(uint32_t));
	u.gids_count = (uint32_t)n_gids;
	if (n_gids && sbuf_put(&b->ugids, gids, n_gids * sizeof(uint32_t)) != 0)
		return -1;
	b->users[b->n_users++] = u;
	return 0;
}

int gotrue_cache_builder_add_user(struct gotrue_cache_builder *b, const char *name, uint32_t uid,
				  uint32_t gid, const char *gecos, const char *dir,
				  const char *shell, const uint32_t *gids, size_t n_gids)
{
	uint32_t o_name, o_gecos, o_dir, o_shell;

	if (name == NULL || *name == '\0')
		return -1;
	/* A failure below leaves at most unreferenced strings in the table: harmless. */
	if (strtab_add(&b->st, name, &o_name) != 0 ||
	    strtab_add(&b->st, gecos ? gecos : "", &o_gecos) != 0 ||
	    strtab_add(&b->st, dir ? dir : "/", &o_dir) != 0 ||
	    strtab_add(&b->st, shell ? shell : "", &o_shell) != 0)
		return -1;
	b->last_name = name;
	b->last_name_off = o_name;
	return gotrue_cache_builder_add_user_at(b, o_name, uid, gid, o_gecos, o_dir, o_shell, gids,
						n_gids);
}

/* The group record for members already appended at [@start, end) of the members section. On
 * failure they are dropped again. */
static int add_group_rec(struct gotrue_cache_builder *b, uint32_t name, uint32_t gid, size_t start)
{
	struct gotrue_cache_gr_rec g;
	size_t n = (b->members.len - start) / sizeof(uint32_t);

	memset(&g, 0, sizeof(g));
	if (b->n_groups >= GOTRUE_CACHE_MAX_RECORDS || n > GOTRUE_CACHE_MAX_RECORDS ||
	    b->members.len / sizeof(uint32_t) > UINT32_MAX ||
	    gotrue_grow((void **)&b->groups, &b->cap_groups, b->n_groups + 1, sizeof(*b->groups)) !=
		    0) {
		b->members.len = start;
		return -1;
	}
	g.name = name;
	g.gid = gid;
	g.members_start = (uint32_t)(start / sizeof(uint32_t));
	g.members_count = (uint32_t)n;
	b->groups[b->n_groups++] = g;
	return 0;
}

int gotrue_cache_builder_add_group_at(struct gotrue_cache_builder *b, uint32_t name, uint32_t gid,
				      const uint32_t *members, size_t n_members)
{
	size_t start = b->members.len, i;

	if (b->finished || name == 0 || !string_at(b, name) || n_members > GOTRUE_CACHE_MAX_RECORDS)
		return -1;
	for (i = 0; i < n_members; i++) {
		if (!string_at(b, members[i]))
			return -1;
	}
	if (n_members && sbuf_put(&b->members, members, n_members * sizeof(uint32_t)) != 0)
		return -1;
	return add_group_rec(b, name, gid, start);
}

int gotrue_cache_builder_add_group(struct gotrue_cache_builder *b, const char *name, uint32_t gid,
				   const char *const *members, size_t n_members)
{
	size_t start = b->members.len, i;
	uint32_t o_name, off;

	if (b->finished || name == NULL || *name == '\0' || n_members > GOTRUE_CACHE_MAX_RECORDS)
		return -1;
	/* The same pointer and still the same text (a caller may reuse its buffer). */
	if (name == b->last_name &&
	    strcmp(name, (const char *)b->st.data.p + b->last_name_off) == 0)
		o_name = b->last_name_off;
	else if (strtab_add(&b->st, name, &o_name) != 0)
		return -1;
	for (i = 0; i < n_members; i++) {
		if (strtab_add(&b->st, members[i], &off) != 0 ||
		    sbuf_put(&b->members, &off, sizeof(off)) != 0) {
			b->members.len = start; /* this group's members so far are dropped */
			return -1;
		}
	}
	return add_group_rec(b, o_name, gid, start);
}

/* For a builder whose strings were interned ahead: zero every string that no entry references
 * (those of users left out in the end), so that the public file keeps nothing of them. One bit
 * per byte of the table marks where referenced strings start. 0 or -1. */
static int zero_unreferenced(struct gotrue_cache_builder *b)
{
	unsigned char *p = b->st.data.p, *mark;
	const uint32_t *mem = (const uint32_t *)b->members.p;
	size_t len = b->st.data.len, i, o, l;

#define MARK(off) (mark[(off) / 8] |= (unsigned char)(1u << ((off) % 8)))
	mark = calloc(len / 8 + 1, 1);
	if (mark == NULL)
		return -1;
	gotrue_prefault(mark, len / 8 + 1);
	for (i = 0; i < b->n_users; i++) {
		MARK(b->users[i].name);
		MARK(b->users[i].gecos);
		MARK(b->users[i].dir);
		MARK(b->users[i].shell);
	}
	for (i = 0; i < b->n_groups; i++)
		MARK(b->groups[i].name);
	for (i = 0; i < b->members.len / sizeof(uint32_t); i++)
		MARK(mem[i]);
#undef MARK
	/* Offset 0 is "", then one NUL-terminated string after another. */
	for (o = 1; o < len; o += l + 1) {
		l = strlen((const char *)p + o);
		if (!(mark[o / 8] & (1u << (o % 8))))
			memset(p + o, 0, l);
	}
	free(mark);
	return 0;
}

/* --- Serialisation ------------------------------------------------------------------------- */

/* Sort an index by (key, rec). Hand-written rather than qsort(3): an LSD radix sort on the
 * 32-bit key, two 16-bit passes, is linear, and stable, so that entries filled in record order
 * keep rec order among equal keys. */
static int idx_sort(struct gotrue_cache_idx *v, size_t n)
{
	struct gotrue_cache_idx *tmp, *src = v, *dst;
	size_t *count, i, pass, sum, c;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	count = malloc(65536 * sizeof(*count));
	if (tmp == NULL || count == NULL) {
		free(tmp);
		free(count);
		return -1;
	}
	gotrue_prefault(tmp, n * sizeof(*tmp));
	dst = tmp;
	for (pass = 0; pass < 2; pass++) {
		unsigned shift = 16 * (unsigned)pass;

		memset(count, 0, 65536 * sizeof(*count));
		for (i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xffff]++;
		for (i = 0, sum = 0; i < 65536; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xffff]++] = src[i];
		src = dst;
		dst = dst == tmp ? v : tmp;
	}
	/* After an even number of passes the result is back in @v. */
	free(tmp);
	free(count);
	return 0;
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

/* The four lookup indexes of a finished builder, sorted by key: 0, or -1 (memory, or a uid or
 * gid twice, which would make lookups ambiguous: the mapping rules that out). */
struct indexes {
	struct gotrue_cache_idx *pw_name, *pw_uid, *gr_name, *gr_gid;
};

static void indexes_free(struct indexes *x)
{
	free(x->pw_name);
	free(x->pw_uid);
	free(x->gr_name);
	free(x->gr_gid);
}

static bool unique_keys(const struct gotrue_cache_idx *v, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (v[i].key == v[i - 1].key)
			return false;
	return true;
}

static int build_indexes(const struct gotrue_cache_builder *b, struct indexes *x)
{
	const char *strings = (const char *)b->st.data.p;
	size_t i;

	x->pw_name = calloc(b->n_users + 1, sizeof(*x->pw_name));
	x->pw_uid = calloc(b->n_users + 1, sizeof(*x->pw_uid));
	x->gr_name = calloc(b->n_groups + 1, sizeof(*x->gr_name));
	x->gr_gid = calloc(b->n_groups + 1, sizeof(*x->gr_gid));
	if (!x->pw_name || !x->pw_uid || !x->gr_name || !x->gr_gid)
		return -1;
	for (i = 0; i < b->n_users; i++) {
		x->pw_name[i].key = gotrue_cache_name_hash(strings + b->users[i].name);
		x->pw_uid[i].key = b->users[i].uid;
		x->pw_name[i].rec = x->pw_uid[i].rec = (uint32_t)i;
	}
	for (i = 0; i < b->n_groups; i++) {
		x->gr_name[i].key = gotrue_cache_name_hash(strings + b->groups[i].name);
		x->gr_gid[i].key = b->groups[i].gid;
		x->gr_name[i].rec = x->gr_gid[i].rec = (uint32_t)i;
	}
	if (idx_sort(x->pw_name, b->n_users) || idx_sort(x->pw_uid, b->n_users) ||
	    idx_sort(x->gr_name, b->n_groups) || idx_sort(x->gr_gid, b->n_groups))
		return -1;
	return unique_keys(x->pw_uid, b->n_users) && unique_keys(x->gr_gid, b->n_groups) ? 0 : -1;
}

/* Append @len bytes of a builder part at @p as section @sec, then release the part (*@p =
 * NULL): the image grows as the builder shrinks, instead of both being whole at once. */
static int move_section(struct sbuf *out, struct gotrue_cache_header *h, int sec, void **p,
			size_t len)
{
	int rc = put_section(out, h, sec, *p, len);

	free(*p);
	*p = NULL;
	return rc;
}

/* The sections of @b and @x after the header, in file order. */
static int put_sections(struct gotrue_cache_builder *b, const struct indexes *x, struct sbuf *out,
			struct gotrue_cache_header *h)
{
	if (move_section(out, h, GOTRUE_CACHE_SEC_STRINGS, (void **)&b->st.data.p,
			 b->st.data.len) ||
	    move_section(out, h, GOTRUE_CACHE_SEC_PASSWD, (void **)&b->users,
			 b->n_users * sizeof(*b->users)) ||
	    move_section(out, h, GOTRUE_CACHE_SEC_GROUP, (void **)&b->groups,
			 b->n_groups * sizeof(*b->groups)) ||
	    move_section(out, h, GOTRUE_CACHE_SEC_MEMBERS, (void **)&b->members.p,
			 b->members.len) ||
	    move_section(out, h, GOTRUE_CACHE_SEC_USER_GIDS, (void **)&b->ugids.p, b->ugids.len))
		return -1;
	if (put_section(out, h, GOTRUE_CACHE_SEC_PW_NAME, x->pw_name,
			b->n_users * sizeof(*x->pw_name)) ||
	    put_section(out, h, GOTRUE_CACHE_SEC_PW_UID, x->pw_uid,
			b->n_users * sizeof(*x->pw_uid)) ||
	    put_section(out, h, GOTRUE_CACHE_SEC_GR_NAME, x->gr_name,
			b->n_groups * sizeof(*x->gr_name)) ||
	    put_section(out, h, GOTRUE_CACHE_SEC_GR_GID, x->gr_gid,
			b->n_groups * sizeof(*x->gr_gid)))
		return -1;
	return out->len > GOTRUE_CACHE_MAX_SIZE ? -1 : 0;
}

int gotrue_cache_builder_finish(struct gotrue_cache_builder *b, uint64_t generated_at,
				void **out_data, size_t *out_len)
{
	struct gotrue_cache_header h;
	struct sbuf out = {0};
	struct indexes x = {0};
	size_t total;
	int rc = -1;

	*out_data = NULL;
	*out_len = 0;
	memset(&h, 0, sizeof(h));
	if (b->finished)
		goto cleanup;
	b->finished = true;
	/* No string is added from here on: the lookup table can go first. */
	free(b->st.slots);
	b->st.slots = NULL;
	if ((b->ahead && zero_unreferenced(b) != 0) || build_indexes(b, &x) != 0)
		goto cleanup;
	memcpy(h.magic, GOTRUE_CACHE_MAGIC, 8);
	h.version = GOTRUE_CACHE_VERSION;
	h.header_size = sizeof(h);
	h.generated_at = generated_at;
	h.n_users = (uint32_t)b->n_users;
	h.n_groups = (uint32_t)b->n_groups;
	/* One allocation of the final size (each section padded to 8): no regrowing copies. */
	total = sizeof(h) + b->st.data.len + (b->n_users + b->n_groups) * 2 * sizeof(*x.pw_name) +
		b->n_users * sizeof(*b->users) + b->n_groups * sizeof(*b->groups) + b->ugids.len +
		b->members.len + 9 * 8;
	if (total > GOTRUE_CACHE_MAX_SIZE + (size_t)9 * 8)
		goto cleanup;
	out.p = malloc(total);
	if (out.p == NULL)
		goto cleanup;
	out.cap = total;
	gotrue_prefault(out.p, total);
	if (sbuf_put(&out, &h, sizeof(h)) != 0 || put_sections(b, &x, &out, &h) != 0)
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
	indexes_free(&x);
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
static int replace_commit(struct gotrue_replacement *r)
{
	const char *path = r->path;
	int old = open_for_mark(path);
	int rc;

	rc = gotrue_replace_commit(r);
	if (old >= 0 && replaced(old, path))
		mark_stale(old);
	if (old >= 0)
		close(old);
	return rc;
}

int gotrue_cache_replace(const char *path, const void *data, size_t len)
{
	struct gotrue_replacement r;
	int rc = gotrue_replace_prepare(path, data, len, 0644, &r);

	return rc != 0 ? rc : replace_commit(&r);
}
