/* api_admin: GoTrue's admin endpoints (/admin/users, service-role key as bearer): one page of
 * users; every user, page by page (the next page asked for while the current one is used; a page
 * over max_response fetched again in smaller ones, and a user over it on its own reported and
 * left out: see "Every user" below); and get / create / update / ban / delete of one user.
 * Transcript steps 107-157; README point 7. */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "listing.h"

#define WHY_MAX 160
/* A guard for each_user: a server whose Link never ends cannot keep us forever. At 1000 users a
 * page that is a billion users. */
#define ADMIN_PAGES_MAX 1000000
/* Users read between two turns of the next page's transfer. */
#define POKE_EVERY 64

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

/* --- Every user, one page asked for ahead -----------------------------------------------------
 * A GoTrue renders each page when it is asked for it (a Postgres query, then encoding/json), and
 * a client that only asks for page k+1 once it has mapped page k spends the server's time and its
 * own one after the other. So page k+1 is requested (libcurl's multi interface, one thread)
 * before page k is parsed and mapped, and read once that is done. Two requests at most are open,
 * each body capped by max_response in http.c.
 *
 * Pages are addressed by their numbers (page=N&per_page=M, 1-based, newest first: page N holds
 * the users at positions [(N-1)M, NM)), not by following Link, which only says where the listing
 * ends (no rel="next": the page reaches the last user; step 114). So a page over max_response (a
 * user may write megabytes into user_metadata) is fetched again as the q pages of M/q users that
 * tile exactly its positions, q the smallest prime factor of M, down to pages of one user: one
 * user over the cap on its own is read only as far as max_response (http.c's get_head), reported
 * with its position and, from those first bytes, its id, and left out; everyone else is listed.
 * The next page is asked for only once the current one is known not to be too large, so that the
 * pages that tile it come first.
 *
 * A user created during the walk moves everyone after it one place on: a page then repeats the
 * last user of the one before, and users are handed over once each, by id. A user deleted moves
 * them back: a page could then skip the first user of the next, so every answer's X-Total-Count
 * is checked against the one before, and a fall ends the walk (gotrue_user_walk.shrank). Between
 * two answers whose count did not fall, at least as many users were created (in front of every
 * position) as were deleted, so no user moved back across a page boundary. */

struct fetched {
	struct gotrue_http_response resp; /* a 2xx page, its body not parsed yet */
	long long first;		  /* the position of its first user */
	bool last;			  /* no rel="next": the walk ends with this page */
	bool failed;			  /* the request failed: @err says why */
	bool cut; /* a page of one user over max_response: @resp holds its beginning */
	struct gotrue_error err;
};

/* A page to ask for: its number at @per users a page. */
struct wanted {
	long long page, per;
};

/* One of the two requests: the page being read, or the next one on its way. */
struct slot {
	struct gotrue_http *http;
	struct wanted w;
	char path[96];
	bool started; /* in flight in the multi handle */
	struct fetched f;
};

struct pager {
	struct gotrue_http_multi *multi;
	const char *bearer; /* borrowed from the config; never logged */
	struct slot slot[2];
	/* The pages that tile a page that was too large, the next one last, before the next page
	 * of the listing itself. */
	struct wanted *todo;
	size_t n_todo;
	long long next_page, per_page;
	long requests;
};

static void fetched_clear(struct fetched *f)
{
	gotrue_http_response_clear(&f->resp);
	gotrue_error_clear(&f->err);
	memset(f, 0, sizeof(*f));
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
static void split(struct pager *p, const struct wanted *w)
{
	long long q = smallest_factor(w->per), i;

	for (i = q; i >= 1; i--) {
		p->todo[p->n_todo].page = (w->page - 1) * q + i;
		p->todo[p->n_todo].per = w->per / q;
		p->n_todo++;
	}
}

/* Ask for the next page on slot @s. A request that cannot start leaves the slot failed. */
static void pager_start(struct pager *p, struct slot *s)
{
	struct fetched *f = &s->f;
	int rc;

	memset(f, 0, sizeof(*f));
	if (p->n_todo > 0) {
		s->w = p->todo[--p->n_todo];
	} else {
		s->w.page = p->next_page++;
		s->w.per = p->per_page;
	}
	f->first = (s->w.page - 1) * s->w.per;
	if (p->requests++ == ADMIN_PAGES_MAX) {
		gotrue_error_set(&f->err, GOTRUE_ERR_PROTOCOL,
				 "more than %d requests for the user list", ADMIN_PAGES_MAX);
		f->failed = true;
		return;
	}
	snprintf(s->path, sizeof(s->path), "/admin/users?page=%lld&per_page=%lld", s->w.page,
		 s->w.per);
	/* One user a page: a body over the cap is kept in part, to learn who it is. */
	rc = gotrue_http_start(p->multi, s->http, "GET", s->path, p->bearer, NULL, s->w.per == 1,
			       &f->resp, &f->err);
	s->started = rc == 0;
	f->failed = rc != 0;
}

/* Wait for slot @s's page. true when it was too large and has been split instead. */
static bool pager_finish(struct pager *p, struct slot *s)
{
	struct fetched *f = &s->f;
	char *next;
	int rc;

	if (!s->started)
		return false; /* failed to start: f->err says why */
	s->started = false;
	rc = gotrue_http_finish(p->multi, s->http, "GET", s->path, &f->cut, &f->err);
	if (rc != 0 && f->err.kind == GOTRUE_ERR_TOO_LARGE && s->w.per > 1) {
		fetched_clear(f);
		split(p, &s->w);
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

/* The next page in listing order, in slot *@cur; the one after it is asked for meanwhile, unless
 * this one ends the walk. */
static struct fetched *pager_next(struct pager *p, int *cur)
{
	struct slot *s = &p->slot[*cur];

	while (pager_finish(p, s))
		pager_start(p, s);
	if (!s->f.failed && !s->f.last)
		pager_start(p, &p->slot[1 - *cur]);
	return &s->f;
}

static void pager_free(struct pager *p)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		gotrue_http_cancel(p->multi, p->slot[i].http);
		fetched_clear(&p->slot[i].f);
		gotrue_http_free(p->slot[i].http);
	}
	gotrue_http_multi_free(p->multi);
	free(p->todo);
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

/* The members of a listed user that gotrue_user_from_json would read but a walk does not want
 * (enum gotrue_user_members): they are dropped first, so that what a caller never reads
 * (user_metadata, which the user writes) is neither checked nor copied and cannot fail the walk.
 * gotruectl admin list shows all but user_metadata. */
static const char *const listed_skip[] = {"user_metadata", NULL};
/* lib/directory/idmap.c and lib/directory/accounts.c read the id, the email and phone with their
 * confirmation times (whether an email may name an account), created_at, banned_until,
 * app_metadata, and the factors where a listing carries them (GoTrue's does not,
 * lib/sync/sync.c); never user_metadata, which grants nothing. */
static const char *const account_skip[] = {"aud",	    "role", "updated_at", "last_sign_in_at",
					   "user_metadata", NULL};

/* What a walk has handed over so far. */
struct walk_state {
	struct gotrue_user_walk *w;
	struct id_set ids;
	size_t seen;	     /* users handed over */
	long long total;     /* X-Total-Count of the last answer, -1 before the first */
	size_t max_response; /* for the report of a user over it */
	struct gotrue_error *err;
	struct gotrue_http_multi
		*multi; /* the next page's request, moved on while users are read */
};

/* Stopped by the caller's callback: its own error if it set one, else this. */
static void stopped(struct walk_state *ws)
{
	if (ws->err->kind == GOTRUE_OK)
		gotrue_error_set(ws->err, GOTRUE_ERR_INTERNAL,
				 "stopped by the caller after %zu users", ws->seen);
}

/* One listed user (only the kept members) to the caller's @each, unless it was handed over
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
	/* The next page's answer is read as it arrives, not left waiting in the socket. */
	if (i % POKE_EVERY == POKE_EVERY - 1)
		gotrue_http_multi_poke(ws->multi);
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

/* Hand every user of the page in @f to @each (gotrue_listing_each); 0, or -1 with @err as
 * gotrue_http_json and list_page word it ("response is not JSON", "no users array", "entry N:
 * ..."). *@n_users is the page's length. */
static int page_each(struct walk_state *ws, const struct fetched *f, size_t *n_users)
{
	const char *const *skip =
		ws->w->members == GOTRUE_USER_MEMBERS_ACCOUNT ? account_skip : listed_skip;
	struct gotrue_error *err = ws->err;
	char why[WHY_MAX] = "";
	int rc = -1;

	*n_users = 0;
	/* As gotrue_http_json(): a 2xx body must be JSON; an empty one has no users array. */
	if (f->resp.body_len == 0) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list has no users array");
		goto cleanup;
	}
	switch (gotrue_listing_each(f->resp.body, f->resp.body_len, skip, page_each_user, ws,
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
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "admin user list %s", why);
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
	if (f->cut ? one_too_large(ws, f, head == 1 ? id : NULL) != 0
		   : page_each(ws, f, &n_users) != 0)
		return -1;
	if (ws->w->progress)
		ws->w->progress(ws->w->ctx, ws->seen, ws->total);
	/* An empty page ends the walk even if Link still says "next" (step 114). */
	*end = n_users == 0 || f->last;
	return 0;
}

/* The pager for @w; -1 with @err. */
static int pager_init(struct pager *p, struct gotrue_client *c, struct gotrue_user_walk *w,
		      struct gotrue_error *err)
{
	p->next_page = 1;
	p->per_page = w->per_page;
	if (!w->each || w->per_page < 1) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL,
				 "each_user needs a callback and per_page");
		return -1;
	}
	p->bearer = gotrue_client_admin_bearer(c, err);
	if (!p->bearer)
		return -1;
	p->todo = calloc((size_t)w->per_page + 64, sizeof(*p->todo));
	p->multi = gotrue_http_multi_new();
	p->slot[0].http = gotrue_http_new(c->pamh, c->cfg);
	p->slot[1].http = gotrue_http_new(c->pamh, c->cfg);
	if (!p->todo || !p->multi || !p->slot[0].http || !p->slot[1].http) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

int gotrue_admin_each_user(struct gotrue_client *c, struct gotrue_user_walk *w,
			   struct gotrue_error *err)
{
	struct pager p;
	struct walk_state ws = {.w = w, .total = -1, .err = err};
	struct fetched *f;
	bool end = false;
	int cur = 0, rc = -1;

	memset(&p, 0, sizeof(p));
	gotrue_error_clear(err);
	w->shrank = false;
	w->total = -1;
	ws.max_response = c->cfg->max_response;
	if (pager_init(&p, c, w, err) != 0)
		goto cleanup;
	ws.multi = p.multi;
	pager_start(&p, &p.slot[cur]);
	while (!end) {
		f = pager_next(&p, &cur);
		if (take_page(&ws, f, &end) != 0)
			goto cleanup;
		fetched_clear(f);
		cur = 1 - cur;
	}
	rc = 0;
cleanup:
	pager_free(&p);
	free(ws.ids.s);
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
