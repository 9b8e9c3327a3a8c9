/* api_admin: GoTrue's admin endpoints (/admin/users, service-role key as bearer): one page of
 * users; every user, page by page (the next page fetched while the current one is used, on a
 * fetch thread of its own; a page over max_response fetched again in smaller ones, and a user
 * over it on its own reported and left out: see "Every user" below); and get / create / update /
 * ban / delete of one user. Transcript steps 107-157; README point 7. */
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "listing.h"
#include "thread.h"

#define WHY_MAX 160
/* A guard for each_user: a server whose Link never ends cannot keep us forever. At 1000 users a
 * page that is a billion users. */
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

/* --- Every user, one page fetched ahead ----------------------------------------------------
 * A GoTrue renders each page when it is asked for it (a Postgres query, then encoding/json), and
 * a client that only asks for page k+1 once it has mapped page k spends the server's time and
 * its own one after the other. So a fetch thread gets page k+1 while the caller's thread parses
 * and maps page k. Pages pass through a queue of at most PREFETCH_PAGES, each body capped by
 * max_response in http.c: with the page being used and the one waiting for room, at most
 * PREFETCH_PAGES + 2 bodies whatever the listing's size. The caller's callbacks run on the
 * caller's thread only, in listing order; a failed page is queued as its error, so it is
 * reported after the pages before it, exactly as a sequential walk would.
 *
 * Pages are addressed by their numbers (page=N&per_page=M, 1-based, newest first: page N holds
 * the users at positions [(N-1)M, NM)), not by following Link, which only says where the listing
 * ends (no rel="next": the page reaches the last user; step 114). So a page over max_response (a
 * user may write megabytes into user_metadata) is fetched again as the q pages of M/q users that
 * tile exactly its positions, q the smallest prime factor of M, down to pages of one user: one
 * user over the cap on its own is read only as far as max_response (http.c's get_head), reported
 * with its position and, from those first bytes, its id, and left out; everyone else is listed.
 *
 * A user created during the walk moves everyone after it one place on: a page then repeats the
 * last user of the one before, and users are handed over once each, by id. A user deleted moves
 * them back: a page could then skip the first user of the next, so every answer's X-Total-Count
 * is checked against the one before, and a fall ends the walk (gotrue_user_walk.shrank). Between
 * two answers whose count did not fall, at least as many users were created (in front of every
 * position) as were deleted, so no user moved back across a page boundary. */

#define PREFETCH_PAGES 2

struct fetched {
	struct gotrue_http_response resp; /* a 2xx page, its body not parsed yet */
	long long first;		  /* the position of its first user */
	bool last;			  /* no rel="next": the walk ends with this page */
	bool failed;			  /* the request failed: @err says why */
	bool cut; /* a page of one user over max_response: @resp holds its beginning */
	struct gotrue_error err;
};

/* A page still to fetch: its number at @per users a page. */
struct wanted {
	long long page, per;
};

struct prefetch {
	struct gotrue_client *c;
	const char *bearer; /* borrowed from the config; never logged */
	/* The fetch thread's own: the pages that tile a page that was too large, the next one last,
	 * and the next page of the listing itself. */
	struct wanted *todo;
	size_t n_todo;
	long long next_page, per_page;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fetched q[PREFETCH_PAGES];
	size_t head, n; /* under @mu */
	bool stop;	/* under @mu: the caller wants no more pages */
};

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

static long long smallest_factor(long long n)
{
	long long q;

	for (q = 2; q * q <= n; q++)
		if (n % q == 0)
			return q;
	return n;
}

/* Replace @w, which was too large, by the pages of per/q users that tile its positions. The
 * stack holds at most per_page + the number of prime factors of per_page entries: each split
 * adds q - 1 and divides the page by q. */
static void split(struct prefetch *p, const struct wanted *w)
{
	long long q = smallest_factor(w->per), i;

	for (i = q; i >= 1; i--) {
		p->todo[p->n_todo].page = (w->page - 1) * q + i;
		p->todo[p->n_todo].per = w->per / q;
		p->n_todo++;
	}
}

/* GET page @w into @f. true when it was too large and has been split instead. */
static bool fetch(struct prefetch *p, const struct wanted *w, struct fetched *f)
{
	char path[96], *next;
	int rc;

	snprintf(path, sizeof(path), "/admin/users?page=%lld&per_page=%lld", w->page, w->per);
	f->first = (w->page - 1) * w->per;
	/* One user a page: a body over the cap is kept in part, to learn who it is. */
	rc = w->per == 1
		     ? gotrue_http_get_head(p->c->http, path, p->bearer, &f->resp, &f->cut, &f->err)
		     : gotrue_http_request(p->c->http, "GET", path, p->bearer, NULL, &f->resp,
					   &f->err);
	if (rc != 0 && f->err.kind == GOTRUE_ERR_TOO_LARGE && w->per > 1) {
		gotrue_error_clear(&f->err);
		split(p, w);
		return true;
	}
	if (rc != 0 || gotrue_http_check_status(&f->resp, &f->err) != 0) {
		f->failed = true;
		return false;
	}
	next = f->resp.link ? gotrue_link_next(f->resp.link) : NULL;
	f->last = next == NULL;
	free(next);
	return false;
}

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;
	struct fetched f;
	struct wanted w;
	bool end;
	long requests;

	for (requests = 0;; requests++) {
		memset(&f, 0, sizeof(f));
		if (p->n_todo > 0) {
			w = p->todo[--p->n_todo];
		} else {
			w.page = p->next_page++;
			w.per = p->per_page;
		}
		if (requests == ADMIN_PAGES_MAX) {
			gotrue_error_set(&f.err, GOTRUE_ERR_PROTOCOL,
					 "more than %d requests for the user list",
					 ADMIN_PAGES_MAX);
			f.failed = true;
		} else if (fetch(p, &w, &f)) {
			continue;
		}
		end = f.failed || f.last; /* read before the page is moved away */
		if (!prefetch_push(p, &f) || end)
			break;
	}
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

/* --- The ids handed over: an open-addressing set of 16-byte UUIDs ----------------------------- */

struct id_slot {
	unsigned char id[16];
	bool used;
};

struct id_set {
	struct id_slot *s;
	size_t cap, n; /* cap: a power of two, at most half full */
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* @id, a UUID already checked by gotrue_uuid_valid, as its 16 bytes. */
static void id_bytes(const char *id, unsigned char out[16])
{
	size_t i, k = 0;

	for (i = 0; id[i] != '\0' && k < 16; i++) {
		if (id[i] == '-')
			continue;
		out[k++] = (unsigned char)(hexval(id[i]) << 4 | hexval(id[i + 1]));
		i++;
	}
}

static size_t id_hash(const unsigned char id[16])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ id[i]) * 0x100000001b3ULL;
	return (size_t)h;
}

static bool id_set_grow(struct id_set *set)
{
	struct id_slot *old = set->s;
	size_t old_cap = set->cap, cap = set->cap ? set->cap * 2 : 1024, i, j;

	set->s = calloc(cap, sizeof(*set->s));
	if (set->s == NULL) {
		set->s = old;
		return false;
	}
	set->cap = cap;
	for (i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		for (j = id_hash(old[i].id) & (cap - 1); set->s[j].used; j = (j + 1) & (cap - 1))
			;
		set->s[j] = old[i];
	}
	free(old);
	return true;
}

/* Add @id: 1 when added, 0 when it was there already, -1 out of memory. */
static int id_set_add(struct id_set *set, const char *id)
{
	unsigned char b[16];
	size_t j;

	if ((set->n + 1) * 2 > set->cap && !id_set_grow(set))
		return -1;
	id_bytes(id, b);
	for (j = id_hash(b) & (set->cap - 1); set->s[j].used; j = (j + 1) & (set->cap - 1))
		if (memcmp(set->s[j].id, b, 16) == 0)
			return 0;
	memcpy(set->s[j].id, b, 16);
	set->s[j].used = true;
	set->n++;
	return 1;
}

/* --- Handing the users over ----------------------------------------------------------------- */

/* The members of a listed user that are built (enum gotrue_user_members). Not building the
 * others is the point of lib/sync/listing.c: identities and user_metadata, never read, are about
 * half of each page's bytes, and the sync's smaller list halves again what json-c builds and frees
 * per user (the timestamps and factors only gotruectl admin list shows). */
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
/* lib/directory/idmap.c and lib/directory/accounts.c read these (and nothing of user_metadata,
 * which never grants); the confirmation times say whether an email may name an account, the
 * factors whether the user has a verified second factor (where the listing carries them). */
static const char *const account_keep[] = {
	"id",		"email",	"phone",      "email_confirmed_at", "phone_confirmed_at",
	"confirmed_at", "banned_until", "created_at", "app_metadata",	    "factors",
	NULL,
};

/* The caller's thread's side of a walk. */
struct walk_state {
	struct gotrue_user_walk *w;
	struct id_set ids;
	size_t seen;	     /* users handed over */
	long long total;     /* X-Total-Count of the last answer, -1 before the first */
	size_t max_response; /* for the report of a user over it */
	struct gotrue_error *err;
};

/* Stopped by the caller's callback: its own error if it set one, else this. */
static void stopped(struct walk_state *ws)
{
	if (ws->err->kind == GOTRUE_OK)
		gotrue_error_set(ws->err, GOTRUE_ERR_INTERNAL,
				 "stopped by the caller after %zu users", ws->seen);
}

/* One scanned user (only the kept members) to the caller's @each, unless it was handed over
 * already (a user created meanwhile moved it onto this page too). */
static int page_each_user(void *ctx, size_t i, json_object *obj)
{
	struct walk_state *ws = ctx;
	struct gotrue_user u;
	char why[WHY_MAX] = "";
	int rc = -1, r;

	if (gotrue_user_from_json(obj, &u, why, sizeof(why)) != 0) {
		gotrue_error_set(ws->err, GOTRUE_ERR_PROTOCOL, "admin user list entry %zu: %s", i,
				 why);
		goto cleanup;
	}
	r = id_set_add(&ws->ids, u.id);
	if (r < 0) {
		gotrue_error_set(ws->err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (r > 0) {
		if (ws->w->each(ws->w->ctx, &u) != 0) {
			stopped(ws);
			goto cleanup;
		}
		ws->seen++;
	}
	rc = 0;
cleanup:
	gotrue_user_clear(&u);
	return rc;
}

/* Hand every user of the page @body (@len bytes, HTTP @status) to @each, scanned by
 * gotrue_listing_each rather than parsed whole; 0, or -1 with @err as the whole-page parse gave
 * ("response is not JSON", "no users array", "entry N: ..."). *@n_users is the page's length. */
static int page_each(struct walk_state *ws, const struct fetched *f, size_t *n_users)
{
	const char *const *keep =
		ws->w->members == GOTRUE_USER_MEMBERS_ACCOUNT ? account_keep : listed_keep;
	struct gotrue_error *err = ws->err;
	char why[WHY_MAX] = "";
	int rc = -1;

	*n_users = 0;
	/* As gotrue_http_json(): a 2xx body must be JSON; an empty one has no users array. */
	if (f->resp.body_len == 0) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list has no users array");
		goto cleanup;
	}
	switch (gotrue_listing_each(f->resp.body, f->resp.body_len, keep, page_each_user, ws,
				    n_users, why, sizeof(why))) {
	case GOTRUE_LISTING_OK:
		rc = 0;
		break;
	case GOTRUE_LISTING_NOT_JSON:
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "response is not JSON (HTTP %ld)",
				 f->resp.status);
		err->http_status = f->resp.status;
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

/* A page of one user over max_response: report it (by position, and by @id, read from its first
 * bytes, when they say it) to the caller's too_large, or fail the walk naming it when there is
 * none. */
static int one_too_large(struct walk_state *ws, const struct fetched *f, const char *id)
{
	struct gotrue_user_too_large t = {.position = f->first,
					  .total = f->resp.total_count,
					  .id = id,
					  .limit = ws->max_response};
	int r, rc = -1;

	if (id != NULL) {
		r = id_set_add(&ws->ids, id);
		if (r < 0) {
			gotrue_error_set(ws->err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		if (r == 0) { /* handed over already, before it grew or moved */
			rc = 0;
			goto cleanup;
		}
	}
	if (ws->w->too_large == NULL) {
		gotrue_error_set(ws->err, GOTRUE_ERR_TOO_LARGE,
				 "the user at listing position %lld of %lld (id %s) is over "
				 "max_response (%zu bytes) on its own",
				 t.position, t.total, t.id ? t.id : "unknown", t.limit);
		goto cleanup;
	}
	if (ws->w->too_large(ws->w->ctx, &t) != 0) {
		stopped(ws);
		goto cleanup;
	}
	rc = 0;
cleanup:
	return rc;
}

/* Every answer says how many users there are, and the count never falls during a walk. */
static int check_total(struct walk_state *ws, const struct fetched *f)
{
	long long now = f->resp.total_count;

	if (now < 0) {
		gotrue_error_set(ws->err, GOTRUE_ERR_PROTOCOL,
				 "admin user list answer without X-Total-Count: cannot tell "
				 "whether the listing is whole");
		return -1;
	}
	if (ws->total >= 0 && now < ws->total) {
		ws->w->shrank = true;
		gotrue_error_set(ws->err, GOTRUE_ERR_PROTOCOL,
				 "users were deleted during the listing (X-Total-Count %lld, "
				 "then %lld): a user may have been skipped",
				 ws->total, now);
		return -1;
	}
	ws->total = ws->w->total = now;
	return 0;
}

/* One queued page, in order: its users, or its one user over the cap, then the progress. *@end
 * when the walk is over. */
static int take_page(struct walk_state *ws, struct fetched *f, bool *end)
{
	char id[GOTRUE_LISTING_ID_LEN + 1];
	size_t n_users = 1;
	int head = 0;

	if (f->failed) {
		/* Moved, weak_password_reasons and all. */
		gotrue_error_clear(ws->err);
		*ws->err = f->err;
		memset(&f->err, 0, sizeof(f->err));
		return -1;
	}
	/* Over the cap even for one user, and not even the start of a page: no user to leave out,
	 * just an answer too large (a proxy's, say). */
	if (f->cut)
		head = gotrue_listing_first_id(f->resp.body, f->resp.body_len, id);
	if (head < 0) {
		gotrue_error_set(ws->err, GOTRUE_ERR_TOO_LARGE,
				 "the answer for listing position %lld is over max_response (%zu "
				 "bytes) and is not a page of users",
				 f->first, ws->max_response);
		return -1;
	}
	if (check_total(ws, f) != 0)
		return -1;
	/* Scanned here, not on the fetch thread, so that a page's objects are allocated and freed
	 * by one thread in one malloc arena: parsing there and freeing here sent every node of
	 * 100k users through another arena's lock (a fifth of the sync). */
	if (f->cut ? one_too_large(ws, f, head == 1 ? id : NULL) != 0
		   : page_each(ws, f, &n_users) != 0)
		return -1;
	if (ws->w->progress)
		ws->w->progress(ws->w->ctx, ws->seen, ws->total);
	/* An empty page ends the walk even if Link still says "next" (step 114). */
	*end = n_users == 0 || f->last;
	return 0;
}

/* The fetch thread's state for @w; -1 with @err. */
static int prefetch_init(struct prefetch *p, struct gotrue_client *c, struct gotrue_user_walk *w,
			 struct gotrue_error *err)
{
	p->c = c;
	p->next_page = 1;
	p->per_page = w->per_page;
	if (!w->each || w->per_page < 1) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL,
				 "each_user needs a callback and per_page");
		return -1;
	}
	/* The key is loaded here, on the caller's thread, before the fetch thread exists. */
	p->bearer = gotrue_client_admin_bearer(c, err);
	if (!p->bearer)
		return -1;
	p->todo = calloc((size_t)w->per_page + 64, sizeof(*p->todo));
	if (!p->todo) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

int gotrue_admin_each_user(struct gotrue_client *c, struct gotrue_user_walk *w,
			   struct gotrue_error *err)
{
	struct prefetch p;
	struct walk_state ws = {.w = w, .total = -1, .err = err};
	struct fetched f;
	pthread_t th;
	bool started = false, end = false;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	gotrue_error_clear(err);
	w->shrank = false;
	w->total = -1;
	ws.max_response = c->cfg->max_response;
	if (prefetch_init(&p, c, w, err) != 0)
		goto cleanup;
	if (gotrue_thread_start(&th, prefetch_main, &p) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "cannot start the fetch thread");
		goto cleanup;
	}
	started = true;
	while (!end) {
		prefetch_pop(&p, &f);
		if (take_page(&ws, &f, &end) != 0)
			goto cleanup;
		fetched_clear(&f);
	}
	rc = 0;
cleanup:
	fetched_clear(&f);
	if (started)
		prefetch_finish(&p, th);
	free(p.todo);
	free(ws.ids.s);
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

/* GET /admin/users/{id}/factors: a bare array, [] when there is none (step 168). Unlike the
 * listing, it always says: the sync asks it about users the listing cannot show. */
int gotrue_admin_user_factors(struct gotrue_client *c, const char *id, struct gotrue_user *out,
			      struct gotrue_error *err)
{
	json_object *arr = NULL;
	char path[80], why[WHY_MAX] = "";
	const char *bearer;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (user_path(id, path, sizeof(path) - 8, err) != 0)
		goto cleanup;
	strcat(path, "/factors");
	bearer = gotrue_client_admin_bearer(c, err);
	if (!bearer || gotrue_api_json(c, "GET", path, bearer, NULL, &arr, err) != 0)
		goto cleanup;
	out->id = strdup(id);
	if (out->id == NULL) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (gotrue_factors_from_json(arr, out, why, sizeof(why)) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "unusable factor list: %s", why);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_user_clear(out);
	json_object_put(arr);
	return rc;
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
