/* api_admin: GoTrue's admin endpoints (/admin/users, service-role key as bearer): one page of
 * users, every user a page at a time by following Link rel="next", and get / create / update /
 * ban / delete of one user. Transcript steps 107-157; README point 7. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define WHY_MAX 160
/* A cycle guard for each_user: a server whose Link never ends cannot keep us forever. At 1000
 * users a page that is a billion users. */
#define ADMIN_PAGES_MAX 1000000

void gotrue_user_page_clear(struct gotrue_user_page *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_users; i++)
		gotrue_user_clear(&p->users[i]);
	free(p->users);
	free(p->next);
	memset(p, 0, sizeof(*p));
	p->total = -1;
}

/* GET @path (an /admin/users listing) into @out: {"users":[...], "aud"} with X-Total-Count and
 * Link (step 112). */
static int list_page(struct gotrue_client *c, const char *path, struct gotrue_user_page *out,
		     struct gotrue_error *err)
{
	struct gotrue_http_response resp;
	json_object *obj = NULL, *users;
	char why[WHY_MAX] = "";
	const char *bearer;
	size_t i, n;
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	memset(out, 0, sizeof(*out));
	out->total = -1;
	bearer = gotrue_client_admin_bearer(c, err);
	if (!bearer)
		goto cleanup;
	if (gotrue_http_json(c->http, "GET", path, bearer, NULL, &obj, &resp, err) != 0)
		goto cleanup;
	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "users", &users) ||
	    !json_object_is_type(users, json_type_array)) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list has no users array");
		goto cleanup;
	}
	n = json_object_array_length(users);
	if (n > 0) {
		out->users = calloc(n, sizeof(*out->users));
		if (!out->users) {
			gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
	}
	for (i = 0; i < n; i++) {
		if (gotrue_user_from_json(json_object_array_get_idx(users, i), &out->users[i], why,
					  sizeof(why)) != 0) {
			gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list entry %zu: %s",
					 i, why);
			goto cleanup;
		}
		out->n_users = i + 1;
	}
	out->total = resp.total_count;
	if (resp.link) {
		out->next = gotrue_link_next(resp.link);
		/* Not finding rel="next" is the last page; only a failed copy is an error. */
	}
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_user_page_clear(out);
	json_object_put(obj);
	gotrue_http_response_clear(&resp);
	return rc;
}

int gotrue_admin_list_users(struct gotrue_client *c, int page, int per_page,
			    struct gotrue_user_page *out, struct gotrue_error *err)
{
	char path[96];

	memset(out, 0, sizeof(*out));
	out->total = -1;
	if (page < 1 || per_page < 1) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "page and per_page start at 1");
		return -1;
	}
	snprintf(path, sizeof(path), "/admin/users?page=%d&per_page=%d", page, per_page);
	return list_page(c, path, out, err);
}

/* The next page's path. GoTrue's Link targets are relative to its own root
 * ("</admin/users?page=2&per_page=2>; rel=\"next\"", step 112); only their query is taken, put
 * back under /admin/users, so that the service-role bearer never goes to any other endpoint
 * whatever the header says. NULL when there is no usable next link. */
static char *next_path(const char *next)
{
	const char *q;
	char *path = NULL;

	if (!next)
		return NULL;
	q = strchr(next, '?');
	if (!q || strchr(q, '#') || strlen(q) > 512)
		return NULL;
	if (asprintf(&path, "/admin/users%s", q) < 0)
		return NULL;
	return path;
}

int gotrue_admin_each_user(struct gotrue_client *c, int per_page,
			   int (*each)(void *ctx, const struct gotrue_user *u),
			   void (*progress)(void *ctx, size_t seen, long long total), void *ctx,
			   struct gotrue_error *err)
{
	struct gotrue_user_page page;
	char *path = NULL, *next = NULL;
	size_t seen = 0, i;
	long pages;
	int rc = -1;

	memset(&page, 0, sizeof(page));
	if (!each || per_page < 1) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL,
				 "each_user needs a callback and per_page");
		goto cleanup;
	}
	if (asprintf(&path, "/admin/users?page=1&per_page=%d", per_page) < 0) {
		path = NULL;
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	/* One page in memory at a time: a large user base is streamed to @each. */
	for (pages = 0; pages < ADMIN_PAGES_MAX; pages++) {
		if (list_page(c, path, &page, err) != 0)
			goto cleanup;
		for (i = 0; i < page.n_users; i++) {
			if (each(ctx, &page.users[i]) != 0) {
				gotrue_error_set(err, GOTRUE_ERR_INTERNAL,
						 "stopped by the caller after %zu users", seen);
				goto cleanup;
			}
			seen++;
		}
		if (progress)
			progress(ctx, seen, page.total);
		/* An empty page ends the walk even if Link still says "next" (step 114). */
		if (page.n_users == 0 || !page.next)
			break;
		next = next_path(page.next);
		if (!next) {
			gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "unusable Link rel=\"next\"");
			goto cleanup;
		}
		if (strcmp(next, path) == 0) {
			gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "Link rel=\"next\" loops");
			goto cleanup;
		}
		free(path);
		path = next;
		next = NULL;
		gotrue_user_page_clear(&page);
	}
	if (pages == ADMIN_PAGES_MAX) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "more than %d pages of users",
				 ADMIN_PAGES_MAX);
		goto cleanup;
	}
	rc = 0;
cleanup:
	gotrue_user_page_clear(&page);
	free(path);
	free(next);
	return rc;
}

/* /admin/users/{id}, with the id checked first: it goes into a URL path (step 122). */
static int user_path(const char *id, char *path, size_t len, struct gotrue_error *err)
{
	if (!gotrue_uuid_valid(id)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "user id is not a UUID");
		return -1;
	}
	snprintf(path, len, "/admin/users/%s", id);
	return 0;
}

int gotrue_admin_get_user(struct gotrue_client *c, const char *id, struct gotrue_user *out,
			  struct gotrue_error *err)
{
	char path[64];
	const char *bearer;

	memset(out, 0, sizeof(*out));
	if (user_path(id, path, sizeof(path), err) != 0)
		return -1;
	bearer = gotrue_client_admin_bearer(c, err);
	if (!bearer)
		return -1;
	return gotrue_api_user(c, "GET", path, bearer, NULL, out, err);
}

/* POST /admin/users (step 107). @attrs belongs to the caller (it may hold a password). */
int gotrue_admin_create_user(struct gotrue_client *c, json_object *attrs, struct gotrue_user *out,
			     struct gotrue_error *err)
{
	const char *bearer;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(attrs, json_type_object)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "create user needs an attribute object");
		return -1;
	}
	bearer = gotrue_client_admin_bearer(c, err);
	if (!bearer)
		return -1;
	return gotrue_api_user(c, "POST", "/admin/users", bearer, attrs, out, err);
}

/* PUT /admin/users/{id} (steps 124-127: app_metadata merge is shallow, null deletes a key). */
int gotrue_admin_update_user(struct gotrue_client *c, const char *id, json_object *attrs,
			     struct gotrue_user *out, struct gotrue_error *err)
{
	char path[64];
	const char *bearer;

	memset(out, 0, sizeof(*out));
	if (user_path(id, path, sizeof(path), err) != 0)
		return -1;
	if (!json_object_is_type(attrs, json_type_object)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "update user needs an attribute object");
		return -1;
	}
	bearer = gotrue_client_admin_bearer(c, err);
	if (!bearer)
		return -1;
	return gotrue_api_user(c, "PUT", path, bearer, attrs, out, err);
}

/* PUT /admin/users/{id} {"ban_duration"}: a Go duration ("24h"; "1d" is refused, step 139) or
 * "none" to lift the ban (step 140). */
int gotrue_admin_ban_user(struct gotrue_client *c, const char *id, const char *duration,
			  struct gotrue_user *out, struct gotrue_error *err)
{
	json_object *body = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!duration || !*duration || strlen(duration) > 64) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "ban needs a duration");
		goto cleanup;
	}
	body = json_object_new_object();
	if (!body) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (gotrue_json_add_str(body, "ban_duration", duration, err) != 0)
		goto cleanup;
	rc = gotrue_admin_update_user(c, id, body, out, err);
cleanup:
	json_object_put(body);
	return rc;
}

/* DELETE /admin/users/{id}: 200 {} (step 151). */
int gotrue_admin_delete_user(struct gotrue_client *c, const char *id, struct gotrue_error *err)
{
	char path[64];
	const char *bearer;

	if (user_path(id, path, sizeof(path), err) != 0)
		return -1;
	bearer = gotrue_client_admin_bearer(c, err);
	if (!bearer)
		return -1;
	return gotrue_api_call(c, "DELETE", path, bearer, NULL, err);
}
