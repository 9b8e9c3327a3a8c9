/* accounts: the private account index, one JSON object per line (see accounts.h). Written with
 * gotrue_replace_file (0600) and read with gotrue_read_file(GOTRUE_FILE_SECRET), so it obeys the
 * same owner, mode and no-symlink rules as the token store. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "accounts.h"
#include "log.h"
#include "secure.h"

static json_object *to_json(const struct gotrue_account *a)
{
	json_object *o = json_object_new_object(), *g = json_object_new_array();
	size_t i;

	if (o == NULL || g == NULL) {
		json_object_put(o);
		json_object_put(g);
		return NULL;
	}
	/* "name" first: lookups match the line prefix {"name":"LOGIN", before parsing. */
	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "id", json_object_new_string(a->user_id));
	json_object_object_add(o, "uid", json_object_new_int64(a->uid));
	json_object_object_add(o, "gid", json_object_new_int64(a->gid));
	json_object_object_add(o, "gecos", json_object_new_string(a->gecos ? a->gecos : ""));
	json_object_object_add(o, "home", json_object_new_string(a->home ? a->home : ""));
	json_object_object_add(o, "shell", json_object_new_string(a->shell ? a->shell : ""));
	if (a->email != NULL)
		json_object_object_add(o, "email", json_object_new_string(a->email));
	if (a->phone != NULL)
		json_object_object_add(o, "phone", json_object_new_string(a->phone));
	json_object_object_add(o, "banned_until", json_object_new_int64(a->banned_until));
	json_object_object_add(o, "created_at", json_object_new_int64(a->created_at));
	for (i = 0; i < a->n_groups; i++)
		json_object_array_add(g, json_object_new_string(a->groups[i]));
	json_object_object_add(o, "groups", g);
	return o;
}

int gotrue_accounts_write(const char *path, const struct gotrue_account *accts, size_t n)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, i, l;
	json_object *o = NULL;
	const char *s;
	int rc = -ENOMEM;

	for (i = 0; i < n; i++) {
		o = to_json(&accts[i]);
		if (o == NULL)
			goto cleanup;
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		l = strlen(s);
		if (len + l + 2 > cap) {
			cap = (len + l + 2) * 2;
			nb = realloc(buf, cap);
			if (nb == NULL)
				goto cleanup;
			buf = nb;
		}
		memcpy(buf + len, s, l);
		len += l;
		buf[len++] = '\n';
		json_object_put(o);
		o = NULL;
	}
	rc = gotrue_replace_file(path, buf ? buf : "", len, 0600);
cleanup:
	json_object_put(o);
	gotrue_wipe_free(buf, cap); /* emails and phones: private data */
	return rc;
}

static char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
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
	a->name = get_str(o, "name");
	a->user_id = get_str(o, "id");
	a->gecos = get_str(o, "gecos");
	a->home = get_str(o, "home");
	a->shell = get_str(o, "shell");
	a->email = get_str(o, "email");
	a->phone = get_str(o, "phone");
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
