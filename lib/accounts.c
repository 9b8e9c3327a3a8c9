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
#include <json-c/json.h>

#include "accounts.h"
#include "log.h"
#include "secure.h"

/* One line's object, built once and refilled for each account: json-c still does the escaping,
 * but 100k accounts no longer cost 100k trees of a dozen objects each. There is one per
 * combination of the optional keys, so that every line keeps the key order a fresh object
 * would have ("name" first: lookups match the line prefix {"name":"LOGIN", before parsing). */
enum {
	F_NAME,
	F_ID,
	F_UID,
	F_GID,
	F_GECOS,
	F_HOME,
	F_SHELL,
	F_EMAIL,
	F_PHONE,
	F_BANNED,
	F_CREATED,
	F_GROUPS,
	F_MAX
};

struct line_tmpl {
	json_object *o;
	json_object *f[F_MAX];
};

static const char *const keys[F_MAX] = {"name",	 "id",		 "uid",	       "gid",
					"gecos", "home",	 "shell",      "email",
					"phone", "banned_until", "created_at", "groups"};

static int tmpl_init(struct line_tmpl *t, bool email, bool phone)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->o = json_object_new_object();
	if (t->o == NULL)
		return -1;
	for (i = 0; i < F_MAX; i++) {
		if ((i == F_EMAIL && !email) || (i == F_PHONE && !phone))
			continue;
		if (i == F_GROUPS)
			t->f[i] = json_object_new_array();
		else if (i == F_UID || i == F_GID || i == F_BANNED || i == F_CREATED)
			t->f[i] = json_object_new_int64(0);
		else
			t->f[i] = json_object_new_string("");
		/* The object holds the only reference; t->f[] borrows it. */
		if (t->f[i] == NULL || json_object_object_add(t->o, keys[i], t->f[i]) != 0) {
			json_object_put(t->f[i]);
			return -1;
		}
	}
	return 0;
}

/* json-c 0.16 loses a string's heap buffer when the string is set to "": the new length 0 reads
 * as "stored inline", so the buffer leaks and json_object_get_string() returns the bytes of the
 * lost pointer. An empty value therefore replaces the object (same key, same position in the
 * line) instead of being set into it. 0 or -1. */
static int tmpl_set_str(struct line_tmpl *t, size_t i, const char *s)
{
	json_object *n;

	if (*s != '\0' || json_object_get_string_len(t->f[i]) == 0)
		return json_object_set_string(t->f[i], s) ? 0 : -1;
	n = json_object_new_string("");
	if (n == NULL || json_object_object_add(t->o, keys[i], n) != 0) {
		json_object_put(n);
		return -1;
	}
	t->f[i] = n;
	return 0;
}

static int tmpl_fill(struct line_tmpl *t, const struct gotrue_account *a)
{
	json_object **f = t->f;
	size_t i;

	if (tmpl_set_str(t, F_NAME, a->name) != 0 || tmpl_set_str(t, F_ID, a->user_id) != 0 ||
	    !json_object_set_int64(f[F_UID], a->uid) || !json_object_set_int64(f[F_GID], a->gid) ||
	    tmpl_set_str(t, F_GECOS, a->gecos ? a->gecos : "") != 0 ||
	    tmpl_set_str(t, F_HOME, a->home ? a->home : "") != 0 ||
	    tmpl_set_str(t, F_SHELL, a->shell ? a->shell : "") != 0 ||
	    (a->email && tmpl_set_str(t, F_EMAIL, a->email) != 0) ||
	    (a->phone && tmpl_set_str(t, F_PHONE, a->phone) != 0) ||
	    !json_object_set_int64(f[F_BANNED], a->banned_until) ||
	    !json_object_set_int64(f[F_CREATED], a->created_at))
		return -1;
	if (json_object_array_length(f[F_GROUPS]) > 0 &&
	    json_object_array_del_idx(f[F_GROUPS], 0, json_object_array_length(f[F_GROUPS])) != 0)
		return -1;
	for (i = 0; i < a->n_groups; i++) {
		json_object *g = json_object_new_string(a->groups[i]);

		if (g == NULL || json_object_array_add(f[F_GROUPS], g) != 0) {
			json_object_put(g);
			return -1;
		}
	}
	return 0;
}

/* json-c has no wipe, and setting "" would leak the buffer instead (see tmpl_set_str): the
 * string's bytes are the object's own writable memory, so they are zeroed in place. */
static void wipe_str(json_object *s)
{
	if (s != NULL)
		explicit_bzero((char *)json_object_get_string(s),
			       (size_t)json_object_get_string_len(s));
}

/* Wiped, not just freed: the private strings in the template (emails, phones) and in the
 * buffer must not linger in freed memory. */
static void tmpl_clear(struct line_tmpl *t)
{
	wipe_str(t->f[F_EMAIL]);
	wipe_str(t->f[F_PHONE]);
	json_object_put(t->o);
	memset(t, 0, sizeof(*t));
}

/* The serialised index, in memory from mmap(2) rather than malloc: munmap'd pages (emails,
 * phones) are gone for good without a wipe, and MAP_POPULATE maps the ~250 bytes per account in
 * one call instead of a page fault per 4 KiB, which is what filling this buffer mostly cost. */
struct lines {
	char *p;
	size_t len, cap;
};

/* What the lines will take, near enough that the buffer is allocated once: growing a 25 MB
 * buffer by doubling copied and faulted in twice that again. JSON escapes can make it longer. */
static size_t lines_estimate(const struct gotrue_account *accts, size_t n)
{
	/* Keys, quotes, separators and four integers of up to 10 digits: 150 bytes. */
	size_t total = 4096, i, k;

	for (i = 0; i < n; i++) {
		const struct gotrue_account *a = &accts[i];

		total += 150 + strlen(a->name) + strlen(a->user_id) +
			 (a->gecos ? strlen(a->gecos) : 0) + (a->home ? strlen(a->home) : 0) +
			 (a->shell ? strlen(a->shell) : 0) +
			 (a->email ? 12 + strlen(a->email) : 0) +
			 (a->phone ? 12 + strlen(a->phone) : 0);
		for (k = 0; k < a->n_groups; k++)
			total += 3 + strlen(a->groups[k]);
	}
	return total + total / 16;
}

static int lines_reserve(struct lines *b, size_t need)
{
	size_t ncap = b->cap ? b->cap : 4096;
	char *np;

	if (need <= b->cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	np = mmap(NULL, ncap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		  -1, 0);
	if (np == MAP_FAILED)
		return -1;
	if (b->len > 0)
		memcpy(np, b->p, b->len);
	if (b->p != NULL)
		munmap(b->p, b->cap);
	b->p = np;
	b->cap = ncap;
	return 0;
}

static int lines_put(struct lines *b, const char *s, size_t l)
{
	if (lines_reserve(b, b->len + l + 1) != 0)
		return -1;
	memcpy(b->p + b->len, s, l);
	b->len += l;
	b->p[b->len++] = '\n';
	return 0;
}

int gotrue_accounts_write(const char *path, const struct gotrue_account *accts, size_t n)
{
	struct line_tmpl t[4];
	struct lines buf = {0};
	size_t i, l, k;
	const char *s;
	int rc = -ENOMEM;

	memset(t, 0, sizeof(t));
	if (n > 0 && lines_reserve(&buf, lines_estimate(accts, n)) != 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		k = (accts[i].email != NULL) * 2 + (accts[i].phone != NULL);
		if (t[k].o == NULL &&
		    tmpl_init(&t[k], accts[i].email != NULL, accts[i].phone != NULL) != 0)
			goto cleanup;
		if (tmpl_fill(&t[k], &accts[i]) != 0)
			goto cleanup;
		s = json_object_to_json_string_length(
			t[k].o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
		if (s == NULL || lines_put(&buf, s, l) != 0)
			goto cleanup;
	}
	rc = gotrue_replace_file(path, buf.p ? buf.p : "", buf.len, 0600);
cleanup:
	for (k = 0; k < 4; k++) {
		if (t[k].o != NULL)
			tmpl_clear(&t[k]);
	}
	if (buf.p != NULL)
		munmap(buf.p, buf.cap);
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

/* Walk the lines; @want (may be NULL) limits parsing to the line of that login name. */
static int walk(pam_handle_t *pamh, const char *path, const char *want,
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
	rc = walk(pamh, path, name, take_first, &l);
	if (rc == 2)
		return 0;
	return rc == 0 ? 1 : rc;
}

int gotrue_accounts_each(pam_handle_t *pamh, const char *path,
			 int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	return walk(pamh, path, NULL, each, ctx);
}
