/* api_admin: GoTrue's admin endpoints (/admin/users, service-role key as bearer): one page of
 * users, every user by following Link rel="next" (the next page fetched while the current one
 * is used, on a fetch thread of its own), and get / create / update /
 * ban / delete of one user. Transcript steps 107-157; README point 7. */
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "listing.h"
#include "thread.h"

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

/* The "users" array of a parsed /admin/users page (step 112), or NULL with @err. */
static json_object *page_users(json_object *obj, struct gotrue_error *err)
{
	json_object *users;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "users", &users) ||
	    !json_object_is_type(users, json_type_array)) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list has no users array");
		return NULL;
	}
	return users;
}

/* Entry @i of @users into @u; 0, or -1 with @err naming the entry. */
static int page_user(json_object *users, size_t i, struct gotrue_user *u, struct gotrue_error *err)
{
	char why[WHY_MAX] = "";

	if (gotrue_user_from_json(json_object_array_get_idx(users, i), u, why, sizeof(why)) == 0)
		return 0;
	gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list entry %zu: %s", i, why);
	return -1;
}

/* GET @path (an /admin/users listing) into @out: {"users":[...], "aud"} with X-Total-Count and
 * Link (step 112). */
static int list_page(struct gotrue_client *c, const char *path, struct gotrue_user_page *out,
		     struct gotrue_error *err)
{
	struct gotrue_http_response resp;
	json_object *obj = NULL, *users;
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
	users = page_users(obj, err);
	if (!users)
		goto cleanup;
	n = json_object_array_length(users);
	if (n > 0) {
		out->users = calloc(n, sizeof(*out->users));
		if (!out->users) {
			gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
	}
	for (i = 0; i < n; i++) {
		if (page_user(users, i, &out->users[i], err) != 0)
			goto cleanup;
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

/* --- Every user, one page fetched ahead ----------------------------------------------------
 * A GoTrue renders each page when it is asked for it (a Postgres query, then encoding/json), and
 * a client that only asks for page k+1 once it has mapped page k spends the server's time and
 * its own one after the other. So a fetch thread gets page k+1 while the caller's thread parses
 * and maps page k: the Link rel="next" of page k is in its headers, known before its body is
 * parsed. Pages pass through a queue of at most PREFETCH_PAGES, each body capped by
 * max_response in http.c: with the page being used and the one waiting for room, at most
 * PREFETCH_PAGES + 2 bodies whatever the listing's size. The caller's
 * callbacks (@each, @progress) run on the caller's thread only, in listing order; a failed page
 * is queued as its error, so it is reported after the pages before it, exactly as a sequential
 * walk would. The one difference: an empty page that still has a rel="next" (step 114) ends the
 * walk as before, but its next page may already have been asked for (one wasted GET). */

#define PREFETCH_PAGES 2

struct fetched {
	struct gotrue_http_response resp; /* a 2xx page, its body not parsed yet */
	long long total;		  /* X-Total-Count, or -1 */
	bool last;			  /* no rel="next": the walk ends with this page */
	bool failed;			  /* the request failed: @err says why */
	bool bad_next; /* rel="next" unusable or looping: an error unless this page is empty */
	struct gotrue_error err;
};

struct prefetch {
	struct gotrue_client *c;
	const char *bearer; /* borrowed from the config; never logged */
	char *path;	    /* the next page to fetch; the fetch thread's */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fetched q[PREFETCH_PAGES];
	size_t head, n; /* under @mu */
	bool stop;	/* under @mu: the caller wants no more pages */
};

/* The next page's path from @resp's Link; 0 with *@out NULL on the last page, -1 when the link
 * is unusable or points back at @path. */
static int next_of(const struct gotrue_http_response *resp, const char *path, char **out)
{
	char *target = resp->link ? gotrue_link_next(resp->link) : NULL;
	int rc = 0;

	*out = NULL;
	/* No rel="next" is the last page. */
	if (!target)
		goto cleanup;
	*out = next_path(target);
	if (!*out || strcmp(*out, path) == 0) {
		free(*out);
		*out = NULL;
		rc = -1;
	}
cleanup:
	free(target);
	return rc;
}

static void fetched_clear(struct fetched *f)
{
	gotrue_http_response_clear(&f->resp);
	gotrue_error_clear(&f->err);
	memset(f, 0, sizeof(*f));
}

/* Wait for room in the queue and append @f (moved in). false when the caller stopped the walk
 * (@f is then cleared here). */
static bool prefetch_push(struct prefetch *p, struct fetched *f)
{
	bool pushed = false;

	pthread_mutex_lock(&p->mu);
	while (p->n == PREFETCH_PAGES && !p->stop)
		pthread_cond_wait(&p->cv, &p->mu);
	if (!p->stop) {
		p->q[(p->head + p->n) % PREFETCH_PAGES] = *f;
		memset(f, 0, sizeof(*f));
		p->n++;
		pushed = true;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	if (!pushed)
		fetched_clear(f);
	return pushed;
}

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;
	struct fetched f;
	char *next = NULL;
	long pages;

	for (pages = 0;; pages++) {
		memset(&f, 0, sizeof(f));
		f.total = -1;
		if (pages == ADMIN_PAGES_MAX) {
			gotrue_error_set(&f.err, GOTRUE_ERR_PROTOCOL, "more than %d pages of users",
					 ADMIN_PAGES_MAX);
			f.failed = true;
		} else if (gotrue_http_request(p->c->http, "GET", p->path, p->bearer, NULL, &f.resp,
					       &f.err) != 0 ||
			   gotrue_http_check_status(&f.resp, &f.err) != 0) {
			f.failed = true;
		} else {
			f.total = f.resp.total_count;
			f.bad_next = next_of(&f.resp, p->path, &next) != 0;
			f.last = !f.bad_next && !next;
		}
		if (!prefetch_push(p, &f) || f.failed || f.last || f.bad_next)
			break;
		free(p->path);
		p->path = next;
		next = NULL;
	}
	free(next);
	return NULL;
}

/* The next page, in order (moved out to @f). Blocks until the fetch thread has queued it. */
static void prefetch_pop(struct prefetch *p, struct fetched *f)
{
	pthread_mutex_lock(&p->mu);
	while (p->n == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	*f = p->q[p->head];
	memset(&p->q[p->head], 0, sizeof(p->q[p->head]));
	p->head = (p->head + 1) % PREFETCH_PAGES;
	p->n--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Tell the fetch thread to stop, wait for it (at most the request in flight, which http.c's
 * timeout bounds) and drop what it queued. */
static void prefetch_finish(struct prefetch *p, pthread_t th)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(th, NULL);
	for (i = 0; i < PREFETCH_PAGES; i++)
		fetched_clear(&p->q[i]);
}

/* The members of a listed user that are built (enum gotrue_user_members). Not building the
 * others is the point of lib/listing.c (issue 4): identities and user_metadata, never read, are
 * about half of each page's bytes, and the sync's smaller list halves again what json-c builds
 * and frees per user (the timestamps and factors only gotruectl admin list shows). */
static const char *const listed_keep[] = {"id",
					  "aud",
					  "role",
					  "email",
					  "phone",
					  "email_confirmed_at",
					  "phone_confirmed_at",
					  "confirmed_at",
					  "banned_until",
					  "created_at",
					  "updated_at",
					  "last_sign_in_at",
					  "app_metadata",
					  "factors",
					  NULL};
/* lib/idmap.c and lib/accounts.c read these (and nothing of user_metadata, which never grants);
 * the confirmation times say whether an email may name an account. */
static const char *const account_keep[] = {
	"id",		"email",	"phone",      "email_confirmed_at", "phone_confirmed_at",
	"confirmed_at", "banned_until", "created_at", "app_metadata",	    NULL,
};

struct page_each_ctx {
	int (*each)(void *ctx, const struct gotrue_user *u);
	void *ctx;
	size_t *seen;
	struct gotrue_error *err;
};

/* One scanned user (only the kept members) to the caller's @each. */
static int page_each_user(void *ctx, size_t i, json_object *obj)
{
	struct page_each_ctx *pc = ctx;
	struct gotrue_user u;
	char why[WHY_MAX] = "";
	int rc = -1;

	if (gotrue_user_from_json(obj, &u, why, sizeof(why)) != 0) {
		gotrue_error_set(pc->err, GOTRUE_ERR_PROTOCOL, "admin user list entry %zu: %s", i,
				 why);
		goto cleanup;
	}
	if (pc->each(pc->ctx, &u) != 0) {
		gotrue_error_set(pc->err, GOTRUE_ERR_INTERNAL,
				 "stopped by the caller after %zu users", *pc->seen);
		goto cleanup;
	}
	(*pc->seen)++;
	rc = 0;
cleanup:
	gotrue_user_clear(&u);
	return rc;
}

/* Hand every user of the page @body (@len bytes, HTTP @status) to @each, scanned by
 * gotrue_listing_each rather than parsed whole; 0, or -1 with @err as the whole-page parse gave
 * ("response is not JSON", "no users array", "entry N: ..."). *@n_users is the page's length. */
static int page_each(const char *body, size_t len, long status, const char *const *keep,
		     int (*each)(void *ctx, const struct gotrue_user *u), void *ctx, size_t *seen,
		     size_t *n_users, struct gotrue_error *err)
{
	struct page_each_ctx pc = {each, ctx, seen, err};
	char why[WHY_MAX] = "";
	int rc = -1;

	*n_users = 0;
	/* As gotrue_http_json(): a 2xx body must be JSON; an empty one has no users array. */
	if (len == 0) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list has no users array");
		goto cleanup;
	}
	switch (gotrue_listing_each(body, len, keep, page_each_user, &pc, n_users, why,
				    sizeof(why))) {
	case GOTRUE_LISTING_OK:
		rc = 0;
		break;
	case GOTRUE_LISTING_NOT_JSON:
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "response is not JSON (HTTP %ld)",
				 status);
		err->http_status = status;
		break;
	case GOTRUE_LISTING_NO_USERS:
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list has no users array");
		break;
	case GOTRUE_LISTING_BAD_USER:
	case GOTRUE_LISTING_REFUSED:
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list %s", why);
		break;
	case GOTRUE_LISTING_NOMEM:
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		break;
	default: /* STOPPED: page_each_user has set @err */
		break;
	}
cleanup:
	return rc;
}

int gotrue_admin_each_user(struct gotrue_client *c, int per_page, enum gotrue_user_members members,
			   int (*each)(void *ctx, const struct gotrue_user *u),
			   void (*progress)(void *ctx, size_t seen, long long total), void *ctx,
			   struct gotrue_error *err)
{
	struct prefetch p;
	struct fetched f;
	pthread_t th;
	bool started = false;
	const char *const *keep =
		members == GOTRUE_USER_MEMBERS_ACCOUNT ? account_keep : listed_keep;
	size_t seen = 0, n_users;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.c = c;
	if (!each || per_page < 1) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL,
				 "each_user needs a callback and per_page");
		goto cleanup;
	}
	/* The key is loaded here, on the caller's thread, before the fetch thread exists. */
	p.bearer = gotrue_client_admin_bearer(c, err);
	if (!p.bearer)
		goto cleanup;
	if (asprintf(&p.path, "/admin/users?page=1&per_page=%d", per_page) < 0) {
		p.path = NULL;
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (gotrue_thread_start(&th, prefetch_main, &p) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "cannot start the fetch thread");
		goto cleanup;
	}
	started = true;
	for (;;) {
		prefetch_pop(&p, &f);
		if (f.failed) {
			/* Moved, weak_password_reasons and all. */
			gotrue_error_clear(err);
			*err = f.err;
			memset(&f.err, 0, sizeof(f.err));
			goto cleanup;
		}
		/* Scanned here, not on the fetch thread, so that a page's objects are allocated and
		 * freed by one thread in one malloc arena: parsing there and freeing here sent
		 * every node of 100k users through another arena's lock (a fifth of the sync). */
		if (page_each(f.resp.body, f.resp.body_len, f.resp.status, keep, each, ctx, &seen,
			      &n_users, err) != 0)
			goto cleanup;
		if (progress)
			progress(ctx, seen, f.total);
		/* An empty page ends the walk even if Link still says "next" (step 114). */
		if (n_users == 0 || f.last)
			break;
		if (f.bad_next) {
			gotrue_error_set(err, GOTRUE_ERR_PROTOCOL,
					 "unusable or looping Link rel=\"next\"");
			goto cleanup;
		}
		fetched_clear(&f);
	}
	rc = 0;
cleanup:
	fetched_clear(&f);
	if (started)
		prefetch_finish(&p, th);
	free(p.path);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
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
