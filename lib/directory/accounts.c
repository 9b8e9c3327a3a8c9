/* accounts: the private account index (see accounts.h for the layout). Written with
 * gotrue_replace_file_iov (0600); mapped read-only after the owner, mode and no-symlink checks of
 * gotrue_read_file (gotrue_open_checked), so it obeys the same rules as the token store. A lookup
 * checks the header and the sections' bounds, binary-searches the table and parses the one
 * record it finds: it touches a few pages whatever the number of accounts, and copies nothing. */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <json-c/json.h>

#include "account_overlay.h"
#include "accounts.h"
#include "array.h"
#include "log.h"
#include "secure.h"

/* Not '{': the first byte tells this format from the old one, JSON lines only. */
#define ACCT_MAGIC   "GTACIDX\n"
#define ACCT_VERSION 1u

/* The file: this header, the table (h.n slots sorted by name, memcmp order), then the records
 * (one JSON line per account, in the order sync wrote them). Host byte order: the file is
 * written and read on one host. */
struct acct_header {
	char magic[8];	      /* ACCT_MAGIC */
	uint32_t version;     /* ACCT_VERSION */
	uint32_t slot_size;   /* sizeof(struct acct_slot) */
	uint64_t n;	      /* accounts */
	uint64_t table_off;   /* sizeof(struct acct_header) */
	uint64_t records_off; /* table_off + n * slot_size */
	uint64_t records_len;
	uint64_t file_size; /* records_off + records_len */
	uint64_t reserved;
};

struct acct_slot {
	char name[32]; /* the login name, NUL-padded (a valid name is at most 32 bytes) */
	uint64_t at;   /* its record, from records_off */
	uint32_t len;  /* the record's length, its newline included */
	uint32_t reserved;
};

/* The largest one record a login's overlay holds (accounts.h: its groups make it grow). */
#define ACCT_MAX_RECORD (64u * 1024)

/* The largest file a reader maps: the records' cap and a full table. */
#define ACCT_MAX_FILE                                                                              \
	(sizeof(struct acct_header) +                                                              \
	 (size_t)GOTRUE_ACCOUNTS_MAX_RECORDS * sizeof(struct acct_slot) +                          \
	 GOTRUE_ACCOUNTS_MAX_SIZE)

/* The serialised index, in memory from mmap(2) rather than malloc: munmap'd pages (emails,
 * phones) are gone for good without a wipe. The mapping grows by doubling with mremap(2), which
 * moves page tables, not bytes, and its pages are populated a step ahead of the lines
 * (gotrue_prefault_ahead: page faults one at a time were what filling this buffer mostly cost). */
struct lines {
	char *p;
	size_t len, cap;
	struct gotrue_prefault_mark pf;
};

/* The first mapping of a whole sync's lines (gotrue_accounts_lines_new). */
#define LINES_FIRST (1024u * 1024)

/* What the lines will take, near enough that the buffer is allocated once: growing a 25 MB
 * buffer by doubling copied and faulted in twice that again. JSON escapes can make it longer. */
static size_t lines_estimate(const struct gotrue_account *accts, size_t n)
{
	/* Keys, quotes, separators, four integers of up to 10 digits and "mfa": 162 bytes. */
	size_t total = 4096, i, k;

	for (i = 0; i < n; i++) {
		const struct gotrue_account *a = &accts[i];

		total += 162 + strlen(a->name) + strlen(a->user_id) +
			 (a->gecos ? strlen(a->gecos) : 0) + (a->home ? strlen(a->home) : 0) +
			 (a->shell ? strlen(a->shell) : 0) +
			 (a->email ? 12 + strlen(a->email) : 0) +
			 (a->phone ? 12 + strlen(a->phone) : 0);
		for (k = 0; k < a->n_groups; k++)
			total += 3 + strlen(a->groups[k]);
	}
	return total + total / 16;
}

/* Room for @need bytes. The first reservation maps exactly @need (in whole pages). */
static int lines_reserve(struct lines *b, size_t need)
{
	size_t ncap;
	char *np;

	if (need > SIZE_MAX - 4096)
		return -1;
	if (need > b->cap) {
		ncap = b->cap ? b->cap : (need + 4095) & ~(size_t)4095;
		while (ncap < need) {
			if (ncap > SIZE_MAX / 2)
				return -1;
			ncap *= 2;
		}
		np = b->p ? mremap(b->p, b->cap, ncap, MREMAP_MAYMOVE)
			  : mmap(NULL, ncap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		if (np == MAP_FAILED)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	gotrue_prefault_ahead(&b->pf, b->p, b->len, b->cap);
	return 0;
}

static void lines_free(struct lines *b)
{
	if (b->p != NULL)
		munmap(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

/* The lines are written here rather than through json-c: refilling a json-c object per account
 * and serialising it costs twice what this does, on the sync's critical path, for the same file
 * (but for \b and \f, written as \u0008 and \u000c). The shape is fixed and flat: string values
 * escaped as RFC 8259 section 7 requires ('"', '\\' and control characters; other bytes, UTF-8
 * included, as they are), integers in decimal, keys in a fixed order with "name" first (lookups
 * match the line prefix {"name":"LOGIN", before parsing). Reading stays with json-c (from_line);
 * tests/nss read every field back, escapes and every byte 1..255 included. */
static int put_raw(struct lines *b, const char *s, size_t l)
{
	if (lines_reserve(b, b->len + l) != 0)
		return -1;
	memcpy(b->p + b->len, s, l);
	b->len += l;
	return 0;
}

static int put_str(struct lines *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(s), i, run;
	char *o;

	/* At most 6 bytes (\u00XX) per input byte, and the quotes. */
	if (len > SIZE_MAX / 8 || lines_reserve(b, b->len + 6 * len + 2) != 0)
		return -1;
	o = b->p + b->len;
	*o++ = '"';
	for (i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];

		for (run = i; run < len; run++) {
			c = (unsigned char)s[run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
		}
		memcpy(o, s + i, run - i);
		o += run - i;
		if (run == len)
			break;
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = (char)c;
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
		i = run + 1;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
	return 0;
}

/* Decimal by hand: snprintf parses its format at every call, for every line. */
static int put_int(struct lines *b, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return put_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* "key": with the comma that precedes every key but the first. */
#define KEY(b, k) put_raw((b), "," k ":", sizeof(k) + 1)

/* -1 also for an account without a name or an id: its line would not be one a lookup finds. */
static int put_line(struct lines *b, const struct gotrue_account *a)
{
	size_t i;

	if (a->name == NULL || a->user_id == NULL)
		return -1;
	if (put_raw(b, "{\"name\":", 8) != 0 || put_str(b, a->name) != 0 || KEY(b, "\"id\"") != 0 ||
	    put_str(b, a->user_id) != 0 || KEY(b, "\"uid\"") != 0 || put_int(b, a->uid) != 0 ||
	    KEY(b, "\"gid\"") != 0 || put_int(b, a->gid) != 0 || KEY(b, "\"gecos\"") != 0 ||
	    put_str(b, a->gecos ? a->gecos : "") != 0 || KEY(b, "\"home\"") != 0 ||
	    put_str(b, a->home ? a->home : "") != 0 || KEY(b, "\"shell\"") != 0 ||
	    put_str(b, a->shell ? a->shell : "") != 0)
		return -1;
	if (a->email != NULL && (KEY(b, "\"email\"") != 0 || put_str(b, a->email) != 0))
		return -1;
	if (a->phone != NULL && (KEY(b, "\"phone\"") != 0 || put_str(b, a->phone) != 0))
		return -1;
	/* Only when set: an index written before the key existed reads the same. */
	if (a->mfa && put_raw(b, ",\"mfa\":true", 11) != 0)
		return -1;
	if (KEY(b, "\"banned_until\"") != 0 || put_int(b, (long long)a->banned_until) != 0 ||
	    KEY(b, "\"created_at\"") != 0 || put_int(b, (long long)a->created_at) != 0 ||
	    KEY(b, "\"groups\"") != 0 || put_raw(b, "[", 1) != 0)
		return -1;
	for (i = 0; i < a->n_groups; i++) {
		if ((i > 0 && put_raw(b, ",", 1) != 0) || put_str(b, a->groups[i]) != 0)
			return -1;
	}
	return put_raw(b, "]}\n", 3);
}

/* Each account's place in the file: the table that makes a lookup a binary search. A name is
 * at most 32 bytes (gotrue_idmap_valid_name), NUL-padded here, so the search compares fixed
 * fields and reads no record but the one it finds. */
static int slot_set(struct acct_slot *s, const struct gotrue_account *a, size_t at, size_t len)
{
	size_t nlen = a->name != NULL ? strlen(a->name) : 0;

	if (nlen == 0 || nlen > sizeof(s->name) || len > UINT32_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	memcpy(s->name, a->name, nlen);
	s->at = at;
	s->len = (uint32_t)len;
	return 0;
}

static int slot_cmp(const void *x, const void *y)
{
	return memcmp(((const struct acct_slot *)x)->name, ((const struct acct_slot *)y)->name,
		      sizeof(((const struct acct_slot *)x)->name));
}

/* Replace @path with the header, the table sorted by name and the @n records, which are pieces
 * of @base at slots[i].at (in record order; rewritten to their offsets in the file's records).
 * Records that follow each other in @base go out as one piece. 0 or -errno (-EFBIG over
 * GOTRUE_ACCOUNTS_MAX_RECORDS, -EINVAL for a name twice). */
static int write_index(const char *path, const char *base, struct acct_slot *slots, size_t n)
{
	struct acct_header h = {0};
	struct iovec *iov = NULL;
	uint64_t at = 0;
	size_t i, k = 2;
	int rc = -EFBIG;

	if (n > GOTRUE_ACCOUNTS_MAX_RECORDS)
		goto cleanup;
	rc = -ENOMEM;
	iov = malloc((n + 2) * sizeof(*iov));
	if (iov == NULL)
		goto cleanup;
	for (i = 0; i < n; i++) {
		char *p = (char *)base + slots[i].at;

		if (k > 2 && (char *)iov[k - 1].iov_base + iov[k - 1].iov_len == p) {
			iov[k - 1].iov_len += slots[i].len;
		} else {
			iov[k].iov_base = p;
			iov[k].iov_len = slots[i].len;
			k++;
		}
		slots[i].at = at;
		at += slots[i].len;
	}
	qsort(slots, n, sizeof(*slots), slot_cmp);
	rc = -EINVAL; /* the set never maps two accounts to one name; a lookup would find either */
	for (i = 1; i < n; i++) {
		if (slot_cmp(&slots[i - 1], &slots[i]) == 0)
			goto cleanup;
	}
	memcpy(h.magic, ACCT_MAGIC, sizeof(h.magic));
	h.version = ACCT_VERSION;
	h.slot_size = sizeof(struct acct_slot);
	h.n = n;
	h.table_off = sizeof(h);
	h.records_off = h.table_off + n * sizeof(struct acct_slot);
	h.records_len = at;
	h.file_size = h.records_off + at;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = slots;
	iov[1].iov_len = n * sizeof(struct acct_slot);
	rc = gotrue_replace_file_iov(path, iov, k, 0600);
cleanup:
	free(iov);
	return rc;
}

int gotrue_accounts_write(const char *path, const struct gotrue_account *accts, size_t n)
{
	struct lines buf = {0};
	struct acct_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	size_t i, at;
	int rc = -ENOMEM;

	if (slots == NULL || (n > 0 && lines_reserve(&buf, lines_estimate(accts, n)) != 0))
		goto cleanup;
	for (i = 0; i < n; i++) {
		at = buf.len;
		rc = put_line(&buf, &accts[i]) != 0
			     ? -ENOMEM
			     : slot_set(&slots[i], &accts[i], at, buf.len - at);
		if (rc != 0)
			goto cleanup;
	}
	rc = write_index(path, buf.p, slots, n);
cleanup:
	free(slots);
	lines_free(&buf);
	return rc;
}

int gotrue_accounts_write_record(const char *path, const struct gotrue_account *a)
{
	struct lines buf = {0};
	int rc = -ENOMEM;

	if (put_line(&buf, a) == 0)
		rc = gotrue_replace_file(path, buf.p, buf.len, 0600);
	lines_free(&buf);
	return rc;
}

struct gotrue_accounts_lines {
	struct lines b;
	size_t max; /* bytes: GOTRUE_ACCOUNTS_MAX_SIZE unless a test set less */
	/* By key: where each line is in @b and its length; 0 bytes for a key without one. */
	struct line_pos {
		uint32_t at, len;
	} * pos;
	size_t n_pos, cap_pos;
};

struct gotrue_accounts_lines *gotrue_accounts_lines_new(void)
{
	struct gotrue_accounts_lines *l = calloc(1, sizeof(*l));

	/* A mapping up front: the first lines then need no mremap. */
	if (l != NULL && lines_reserve(&l->b, LINES_FIRST) != 0) {
		free(l);
		l = NULL;
	}
	if (l != NULL)
		l->max = GOTRUE_ACCOUNTS_MAX_SIZE;
	return l;
}

void gotrue_accounts_lines_cap(struct gotrue_accounts_lines *l, size_t max)
{
	l->max = max > 0 && max < GOTRUE_ACCOUNTS_MAX_SIZE ? max : GOTRUE_ACCOUNTS_MAX_SIZE;
}

void gotrue_accounts_lines_free(struct gotrue_accounts_lines *l)
{
	if (l == NULL)
		return;
	lines_free(&l->b);
	free(l->pos);
	free(l);
}

int gotrue_accounts_lines_add(struct gotrue_accounts_lines *l, uint32_t key,
			      const struct gotrue_account *a)
{
	size_t at = l->b.len;
	int rc;

	if (gotrue_grow((void **)&l->pos, &l->cap_pos, (size_t)key + 1, sizeof(*l->pos)) != 0)
		return -ENOMEM;
	if (key >= l->n_pos) {
		memset(&l->pos[l->n_pos], 0, ((size_t)key + 1 - l->n_pos) * sizeof(*l->pos));
		l->n_pos = (size_t)key + 1;
	}
	l->pos[key].len = 0;
	rc = put_line(&l->b, a) != 0 ? -ENOMEM : l->b.len > l->max ? -EFBIG : 0;
	if (rc != 0) {
		l->b.len = at;
		return rc;
	}
	l->pos[key].at = (uint32_t)at;
	l->pos[key].len = (uint32_t)(l->b.len - at);
	return 0;
}

int gotrue_accounts_write_lines(const char *path, const struct gotrue_accounts_lines *l,
				const struct gotrue_account *accts, const uint32_t *keys, size_t n)
{
	struct acct_slot *slots = NULL;
	size_t i;
	int rc = -ENOMEM;

	for (i = 0; i < n; i++) {
		if (keys[i] >= l->n_pos || l->pos[keys[i]].len == 0)
			return gotrue_accounts_write(path, accts, n);
	}
	slots = calloc(n ? n : 1, sizeof(*slots));
	if (slots == NULL)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const struct line_pos *lp = &l->pos[keys[i]];

		rc = slot_set(&slots[i], &accts[i], lp->at, lp->len);
		if (rc != 0)
			goto cleanup;
	}
	rc = write_index(path, l->b.p, slots, n);
cleanup:
	free(slots);
	return rc;
}

/* *@out: a copy of string member @key, or NULL when there is none. -1 only when the copy fails:
 * an optional field (email, phone) lost to memory must not read as "absent" (tests/inject). */
static int get_str(json_object *o, const char *key, char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	*out = strdup(json_object_get_string(v));
	return *out == NULL ? -1 : 0;
}

static long long get_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* One line -> account. 0 or -1 (a line we did not write). */
static int from_line(const char *line, size_t len, struct gotrue_account *a)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = NULL, *g;
	long long uid, gid;
	size_t i, n;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (tok == NULL)
		goto cleanup;
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || !json_object_is_type(o, json_type_object))
		goto cleanup;
	if (get_str(o, "name", &a->name) != 0 || get_str(o, "id", &a->user_id) != 0 ||
	    get_str(o, "gecos", &a->gecos) != 0 || get_str(o, "home", &a->home) != 0 ||
	    get_str(o, "shell", &a->shell) != 0 || get_str(o, "email", &a->email) != 0 ||
	    get_str(o, "phone", &a->phone) != 0)
		goto cleanup;
	uid = get_int(o, "uid");
	gid = get_int(o, "gid");
	a->banned_until = (time_t)get_int(o, "banned_until");
	a->created_at = (time_t)get_int(o, "created_at");
	a->mfa = json_object_object_get_ex(o, "mfa", &g) &&
		 json_object_is_type(g, json_type_boolean) && json_object_get_boolean(g);
	if (!gotrue_idmap_valid_name(a->name) || a->user_id == NULL || !a->gecos || !a->home ||
	    !a->shell || uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		goto cleanup;
	if (a->banned_until < 0)
		a->banned_until = 0;
	a->uid = (uint32_t)uid;
	a->gid = (uint32_t)gid;
	if (json_object_object_get_ex(o, "groups", &g) && json_object_is_type(g, json_type_array)) {
		n = json_object_array_length(g);
		a->groups = calloc(n + 1, sizeof(char *));
		if (a->groups == NULL)
			goto cleanup;
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(g, i);

			if (!json_object_is_type(e, json_type_string))
				goto cleanup;
			a->groups[a->n_groups] = strdup(json_object_get_string(e));
			if (a->groups[a->n_groups] == NULL)
				goto cleanup;
			a->n_groups++;
		}
	}
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_account_clear(a);
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/* A mapped index, checked: its records, and for the current format its header and table. */
struct view {
	const char *base; /* the mapping (NULL for an empty file) */
	size_t size;
	struct acct_header h; /* copied out: the mapping need not be aligned for it */
	const char *records;
	size_t records_len;
	bool legacy; /* one JSON line per account, no header or table */
};

/* Check @base (@size bytes) as an index and fill *@v: the header and the sections' bounds only,
 * whatever the size; a lookup checks the slot and the record it touches. 0, or -1 (logged). */
static int view_check(pam_handle_t *pamh, const char *path, const char *base, size_t size,
		      struct view *v)
{
	struct acct_header *h = &v->h;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	v->base = base;
	v->size = size;
	if (size == 0 || base[0] == '{') {
		/* What sync wrote before the table: still right, read by a scan (no copy), until
		 * the next sync rewrites it. */
		gotrue_log(pamh, LOG_NOTICE,
			   "account index has no lookup table (an older format); it is scanned "
			   "until the next sync rewrites it; path=%s",
			   path);
		v->legacy = true;
		v->records = base;
		v->records_len = size;
		rc = 0;
		goto cleanup;
	}
	if (size < sizeof(*h) || memcmp(base, ACCT_MAGIC, sizeof(h->magic)) != 0) {
		gotrue_log(pamh, LOG_ERR, "account index is not in a known format; path=%s", path);
		goto cleanup;
	}
	memcpy(h, base, sizeof(*h));
	if (h->version != ACCT_VERSION) {
		gotrue_log(pamh, LOG_ERR,
			   "account index has version %u, this module reads %u; path=%s",
			   h->version, ACCT_VERSION, path);
		goto cleanup;
	}
	/* Each bound below keeps the sums and products after it far from overflowing. */
	if (h->slot_size != sizeof(struct acct_slot) || h->n > GOTRUE_ACCOUNTS_MAX_RECORDS ||
	    h->table_off != sizeof(*h) ||
	    h->records_off != h->table_off + h->n * sizeof(struct acct_slot) ||
	    h->records_len > GOTRUE_ACCOUNTS_MAX_SIZE || h->file_size != size ||
	    h->records_off + h->records_len != size) {
		gotrue_log(pamh, LOG_ERR, "account index has a corrupt header; path=%s", path);
		goto cleanup;
	}
	v->records = base + h->records_off;
	v->records_len = (size_t)h->records_len;
	rc = 0;
cleanup:
	return rc;
}

/* Walk the lines of @buf; @want (may be NULL) limits parsing to the line of that login name,
 * @needle (may be NULL) to the lines that hold it. */
static int walk(pam_handle_t *pamh, const char *path, const char *buf, size_t len, const char *want,
		const char *needle, int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	char prefix[64];
	size_t plen = 0;
	const char *p, *end, *nl;
	struct gotrue_account a;
	int rc = 0, r;

	if (want != NULL)
		plen = (size_t)snprintf(prefix, sizeof(prefix), "{\"name\":\"%s\",", want);
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl == p)
			continue;
		if (want != NULL && ((size_t)(nl - p) < plen || memcmp(p, prefix, plen) != 0))
			continue;
		if (needle != NULL && memmem(p, (size_t)(nl - p), needle, strlen(needle)) == NULL)
			continue;
		if (from_line(p, (size_t)(nl - p), &a) != 0) {
			gotrue_log(pamh, LOG_ERR, "account index has a corrupt line; path=%s",
				   path);
			rc = -1;
			goto cleanup;
		}
		r = each(ctx, &a);
		gotrue_account_clear(&a);
		if (r != 0) {
			rc = r;
			goto cleanup;
		}
	}
cleanup:
	return rc;
}

/* The record of slot @s: bounds-checked, parsed, and its name checked against @name. */
static int read_slot(pam_handle_t *pamh, const char *path, const struct view *v,
		     const struct acct_slot *s, const char *name, struct gotrue_account *out)
{
	const char *p;
	int rc = -1;

	if (s->len < 2 || s->at > v->records_len || s->len > v->records_len - s->at)
		goto cleanup;
	p = v->records + s->at;
	if (p[s->len - 1] != '\n' || from_line(p, s->len - 1, out) != 0)
		goto cleanup;
	if (strcmp(out->name, name) != 0) {
		gotrue_account_clear(out);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_log(pamh, LOG_ERR, "account index has a corrupt entry; path=%s user=%s",
			   path, name);
	return rc;
}

static int take_first(void *ctx, struct gotrue_account *a)
{
	struct gotrue_account *out = ctx;

	*out = *a;
	memset(a, 0, sizeof(*a));
	return 2; /* found: stop */
}

/* Binary search of the table (O(log n) slots, then one record), or for an old-format index the
 * scan. 0 found, 1 not there, -1 corrupt (logged). */
static int view_find(pam_handle_t *pamh, const char *path, const struct view *v, const char *name,
		     struct gotrue_account *out)
{
	struct acct_slot s;
	char key[sizeof(s.name)] = {0};
	size_t lo = 0, hi, mid;
	int c, rc;

	if (v->legacy) {
		rc = walk(pamh, path, v->records, v->records_len, name, NULL, take_first, out);
		return rc == 2 ? 0 : rc == 0 ? 1 : rc;
	}
	memcpy(key, name, strlen(name)); /* a valid name fits */
	hi = (size_t)v->h.n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		memcpy(&s, v->base + v->h.table_off + mid * sizeof(s), sizeof(s));
		c = memcmp(key, s.name, sizeof(key));
		if (c == 0)
			return read_slot(pamh, path, v, &s, name, out);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 1;
}

int gotrue_accounts_lookup_mem(pam_handle_t *pamh, const char *path, const void *data, size_t size,
			       const char *name, struct gotrue_account *out)
{
	struct view v;

	memset(out, 0, sizeof(*out));
	if (!gotrue_idmap_valid_name(name))
		return 1; /* not a name sync could have written */
	if (view_check(pamh, path, data, size, &v) != 0)
		return -1;
	return view_find(pamh, path, &v, name, out);
}

/* Map @path read-only (the owner, mode and no-link rules of gotrue_read_file). 0 with *@base
 * and *@size (NULL and 0 for an empty file), 1 when there is no index, -1 (logged). */
static int map_index(pam_handle_t *pamh, const char *path, void **base, size_t *size)
{
	int fd, rc = -1;

	*base = NULL;
	*size = 0;
	fd = gotrue_open_checked(pamh, path, GOTRUE_FILE_SECRET, ACCT_MAX_FILE, size);
	if (fd == -ENOENT)
		rc = 1;
	if (fd < 0)
		goto cleanup;
	if (*size > 0) {
		*base = mmap(NULL, *size, PROT_READ, MAP_SHARED, fd, 0);
		if (*base == MAP_FAILED) {
			*base = NULL;
			gotrue_log(pamh, LOG_ERR, "cannot map the account index: %s; path=%s",
				   strerror(errno), path);
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}

static void unmap_index(void *base, size_t size)
{
	if (base != NULL)
		munmap(base, size);
}

int gotrue_accounts_read_record(pam_handle_t *pamh, const char *path, const char *name,
				struct gotrue_account *out)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = gotrue_read_file(pamh, path, GOTRUE_FILE_SECRET, ACCT_MAX_RECORD, &buf, &len);
	if (rc == -ENOENT) {
		rc = 1;
		goto cleanup;
	}
	if (rc != 0) {
		rc = -1;
		goto cleanup;
	}
	/* One whole line: a file cut short has no final newline. */
	if (len < 2 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1) != NULL) {
		rc = -2;
		goto cleanup;
	}
	/* A whole line that does not parse, or names another account, was not written by us. */
	if (from_line(buf, len - 1, out) != 0 || strcmp(out->name, name) != 0) {
		gotrue_log(pamh, LOG_ERR, "account record is corrupt; path=%s user=%s", path, name);
		gotrue_account_clear(out);
		rc = -1;
	}
cleanup:
	if (buf != NULL)
		gotrue_wipe_free(buf, len + 1);
	return rc;
}

int gotrue_accounts_lookup(pam_handle_t *pamh, const char *path, const char *name,
			   struct gotrue_account *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!gotrue_idmap_valid_name(name))
		return 1; /* not a name sync could have written */
	rc = gotrue_account_overlay_find(pamh, path, name, out);
	if (rc <= 0)
		return rc;
	return gotrue_accounts_lookup_index(pamh, path, name, out);
}

int gotrue_accounts_lookup_index(pam_handle_t *pamh, const char *path, const char *name,
				 struct gotrue_account *out)
{
	void *base = NULL;
	size_t size = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = map_index(pamh, path, &base, &size);
	if (rc == 0)
		rc = gotrue_accounts_lookup_mem(pamh, path, base, size, name, out);
	unmap_index(base, size);
	return rc;
}

/* Every record of @path's index, through @each, limited to lines holding @needle if not NULL. */
static int each_record(pam_handle_t *pamh, const char *path, const char *needle,
		       int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	void *base = NULL;
	size_t size = 0;
	struct view v;
	int rc;

	rc = map_index(pamh, path, &base, &size);
	if (rc == 0)
		rc = view_check(pamh, path, base, size, &v) != 0
			     ? -1
			     : walk(pamh, path, v.records, v.records_len, NULL, needle, each, ctx);
	unmap_index(base, size);
	return rc;
}

int gotrue_accounts_each(pam_handle_t *pamh, const char *path,
			 int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	return each_record(pamh, path, NULL, each, ctx);
}

struct mfa_ctx {
	int (*each)(void *ctx, struct gotrue_account *a);
	void *ctx;
};

static int only_mfa(void *ctx, struct gotrue_account *a)
{
	struct mfa_ctx *m = ctx;

	return a->mfa ? m->each(m->ctx, a) : 0;
}

int gotrue_accounts_each_mfa(pam_handle_t *pamh, const char *path,
			     int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	struct mfa_ctx m = {each, ctx};
	int rc;

	/* put_line writes the key only when it is true: the other lines are not parsed. A login's
	 * overlay may mark one too (it used a factor): the sync that folds it in keeps the mark. */
	rc = each_record(pamh, path, ",\"mfa\":true,", each, ctx);
	if (rc == 0 || rc == 1)
		rc = gotrue_account_overlay_each(pamh, path, only_mfa, &m) < 0 ? -1 : rc;
	return rc;
}
