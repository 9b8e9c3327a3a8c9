/* accounts: the private account index, one JSON object per line (see accounts.h). Written with
 * gotrue_replace_file (0600) and read with gotrue_read_file(GOTRUE_FILE_SECRET), so it obeys the
 * same owner, mode and no-symlink rules as the token store. */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <json-c/json.h>

#include "accounts.h"
#include "array.h"
#include "log.h"
#include "secure.h"

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

int gotrue_accounts_write(const char *path, const struct gotrue_account *accts, size_t n)
{
	struct lines buf = {0};
	size_t i;
	int rc = -ENOMEM;

	if (n > 0 && lines_reserve(&buf, lines_estimate(accts, n)) != 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		if (put_line(&buf, &accts[i]) != 0)
			goto cleanup;
	}
	rc = gotrue_replace_file(path, buf.p ? buf.p : "", buf.len, 0600);
cleanup:
	lines_free(&buf);
	return rc;
}

struct gotrue_accounts_lines {
	struct lines b;
	size_t max; /* bytes: GOTRUE_ACCOUNTS_MAX_SIZE unless a test set less */
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
	free(l);
}

int gotrue_accounts_lines_add(struct gotrue_accounts_lines *l, struct gotrue_account *a)
{
	size_t at = l->b.len;
	int rc;

	a->line_at = a->line_len = 0;
	rc = put_line(&l->b, a) != 0 ? -ENOMEM : l->b.len > l->max ? -EFBIG : 0;
	if (rc != 0) {
		l->b.len = at;
		return rc;
	}
	a->line_at = (uint32_t)at;
	a->line_len = (uint32_t)(l->b.len - at);
	return 0;
}

int gotrue_accounts_write_lines(const char *path, const struct gotrue_accounts_lines *l,
				const struct gotrue_account *accts, size_t n)
{
	struct iovec *iov = NULL;
	size_t i, k = 0;
	int rc = -ENOMEM;

	for (i = 0; i < n; i++) {
		if (accts[i].line_len == 0)
			return gotrue_accounts_write(path, accts, n);
	}
	iov = malloc((n ? n : 1) * sizeof(*iov));
	if (iov == NULL)
		goto cleanup;
	/* Lines that follow each other in the buffer go out as one piece. */
	for (i = 0; i < n; i++) {
		char *p = l->b.p + accts[i].line_at;

		if (k > 0 && (char *)iov[k - 1].iov_base + iov[k - 1].iov_len == p) {
			iov[k - 1].iov_len += accts[i].line_len;
		} else {
			iov[k].iov_base = p;
			iov[k].iov_len = accts[i].line_len;
			k++;
		}
	}
	rc = gotrue_replace_file_iov(path, iov, k, 0600);
cleanup:
	free(iov);
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

struct lookup_ctx {
	const char *name;
	struct gotrue_account *out;
};

/* Walk the lines; @want (may be NULL) limits parsing to the line of that login name, @needle
 * (may be NULL) to the lines that hold it. */
static int walk(pam_handle_t *pamh, const char *path, const char *want, const char *needle,
		int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	char *buf = NULL, prefix[64];
	size_t len = 0, plen = 0;
	const char *p, *end, *nl;
	struct gotrue_account a;
	int rc, r;

	rc = gotrue_read_file(pamh, path, GOTRUE_FILE_SECRET, GOTRUE_ACCOUNTS_MAX_SIZE, &buf, &len);
	if (rc == -ENOENT) {
		rc = 1;
		goto cleanup;
	}
	if (rc != 0) {
		rc = -1;
		goto cleanup;
	}
	if (want != NULL)
		plen = (size_t)snprintf(prefix, sizeof(prefix), "{\"name\":\"%s\",", want);
	rc = 0;
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
	if (buf != NULL)
		gotrue_wipe_free(buf, len + 1);
	return rc;
}

static int take_first(void *ctx, struct gotrue_account *a)
{
	struct lookup_ctx *l = ctx;

	if (strcmp(a->name, l->name) != 0)
		return 0;
	*l->out = *a;
	memset(a, 0, sizeof(*a));
	return 2; /* found: stop */
}

int gotrue_accounts_lookup(pam_handle_t *pamh, const char *path, const char *name,
			   struct gotrue_account *out)
{
	struct lookup_ctx l = {name, out};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!gotrue_idmap_valid_name(name))
		return 1; /* not a name sync could have written */
	rc = walk(pamh, path, name, NULL, take_first, &l);
	if (rc == 2)
		return 0;
	return rc == 0 ? 1 : rc;
}

int gotrue_accounts_each(pam_handle_t *pamh, const char *path,
			 int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	return walk(pamh, path, NULL, NULL, each, ctx);
}

int gotrue_accounts_each_mfa(pam_handle_t *pamh, const char *path,
			     int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	/* put_line writes the key only when it is true: the other lines are not parsed. */
	return walk(pamh, path, NULL, ",\"mfa\":true,", each, ctx);
}
