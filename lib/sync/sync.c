/* sync: GoTrue's user list -> NSS cache + private account index (see sync.h). The listing comes
 * from GET /admin/users (paged, X-Total-Count and Link rel="next"; supabase/auth
 * internal/api/admin.go adminUsers; the walk is lib/sync/api_admin.c's). Nothing is replaced unless
 * every page arrived: a half listing would silently delete accounts. A user over max_response on
 * its own is the one exception: it is left out and reported, so that one user's metadata cannot
 * stop every other change from arriving. */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "array.h"
#include "api.h"
#include "log.h"
#include "offline_sweep.h"
#include "sync.h"

#define SYNC_DEFAULT_PER_PAGE 500
/* Listings tried when users are deleted while one runs (a deletion may make a page skip a user,
 * lib/sync/api_admin.c); a user list that keeps shrinking fails the sync, which keeps the old
 * files. */
#define SYNC_ATTEMPTS 3

/* The last account index, read only when a resolve meets a contested name or uid (idmap.h). */
struct holders_src {
	pam_handle_t *pamh;
	char *path;
};

static int hold_account(void *ctx, struct gotrue_account *a)
{
	return gotrue_idmap_add_holder(ctx, a->name, a->uid, a->user_id) != 0 ? -1 : 0;
}

static int load_holders(void *ctx, struct gotrue_idmap *m)
{
	const struct holders_src *h = ctx;

	/* No index yet (1): nobody holds anything, the first sync goes by age. */
	if (gotrue_accounts_each(h->pamh, h->path, hold_account, m) >= 0)
		return 0;
	gotrue_log(h->pamh, LOG_ERR,
		   "cannot read the last account index, which says who keeps a contested name or "
		   "uid; path=%s",
		   h->path);
	return -1;
}

struct run_ctx {
	struct gotrue_idmap *m;
	struct gotrue_accounts_lines *lines;
	const struct gotrue_sync_options *opt;
	pam_handle_t *pamh;
	struct gotrue_error *err; /* the walk's: what a callback sets is the sync's error */
	const struct gotrue_user_walk *walk;
	size_t users;	  /* handed over by the walk */
	size_t index_cap; /* bytes: the account index's size cap */
	/* Users whose entry alone is over max_response: left out, for the summary. */
	struct gotrue_left_out *big;
	size_t n_big, cap_big;
};

static int run_each(void *ctx, const struct gotrue_user *u)
{
	struct run_ctx *r = ctx;
	size_t n = r->m->n_accounts;
	int rc = 0;

	r->users++;
	if (gotrue_idmap_add_user(r->m, u) != 0) {
		gotrue_error_set(r->err, GOTRUE_ERR_NOMEM, "out of memory at user %zu", r->users);
		return -1;
	}
	/* Kept (for now): its index line is written while the next page is on its way. */
	if (r->m->n_accounts > n)
		rc = gotrue_accounts_lines_add(r->lines, &r->m->accounts[r->m->n_accounts - 1]);
	if (rc == -EFBIG)
		/* What PAM's reader takes (accounts.h): an index over it could not be read. */
		gotrue_error_set(r->err, GOTRUE_ERR_TOO_LARGE,
				 "the account index would pass its size cap of %zu bytes at user "
				 "%zu of %lld listed",
				 r->index_cap, r->users, r->walk->total);
	else if (rc != 0)
		gotrue_error_set(r->err, GOTRUE_ERR_NOMEM, "out of memory at user %zu", r->users);
	return rc != 0 ? -1 : 0;
}

static void run_progress(void *ctx, size_t seen, long long total)
{
	const struct run_ctx *r = ctx;

	if (r->opt != NULL && r->opt->progress != NULL)
		r->opt->progress(r->opt->ctx, seen, total);
}

/* A user the listing cannot carry (its entry alone is over max_response; lib/sync/api_admin.c):
 * left out of this sync, as a user that cannot be mapped is, and said so. */
static int run_too_large(void *ctx, const struct gotrue_user_too_large *t)
{
	struct run_ctx *r = ctx;
	struct gotrue_left_out *l;
	int rc = -1;

	if (gotrue_grow((void **)&r->big, &r->cap_big, r->n_big + 1, sizeof(*r->big)) != 0)
		goto cleanup;
	l = &r->big[r->n_big];
	memset(l, 0, sizeof(*l));
	r->n_big++;
	l->what = strdup("user");
	l->id = t->id != NULL ? strdup(t->id) : NULL;
	if (t->id == NULL && asprintf(&l->id, "at listing position %lld", t->position) < 0)
		l->id = NULL;
	if (asprintf(&l->reason,
		     "its entry alone is over max_response (%zu bytes; listing position %lld of "
		     "%lld)",
		     t->limit, t->position, t->total) < 0)
		l->reason = NULL;
	if (l->what == NULL || l->id == NULL || l->reason == NULL)
		goto cleanup;
	gotrue_log(r->pamh, LOG_WARNING,
		   "user left out of the sync: its entry alone is over max_response (%zu bytes; "
		   "listing position %lld of %lld); id=%s",
		   t->limit, t->position, t->total, t->id != NULL ? t->id : "unknown");
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_error_set(r->err, GOTRUE_ERR_NOMEM, "out of memory");
	return rc;
}

/* The users over max_response join the summary's left-out list (moved). */
static void take_big(struct run_ctx *r, struct gotrue_sync_summary *sum)
{
	struct gotrue_left_out *all;
	size_t i;

	all = sum != NULL && r->n_big > 0
		      ? realloc(sum->left_out, (sum->n_left_out + r->n_big) * sizeof(*all))
		      : NULL;
	if (all != NULL) {
		memcpy(all + sum->n_left_out, r->big, r->n_big * sizeof(*all));
		sum->left_out = all;
		sum->n_left_out += r->n_big;
		sum->users_seen += r->n_big;
		r->n_big = 0;
	}
	for (i = 0; i < r->n_big; i++) {
		free(r->big[i].what);
		free(r->big[i].id);
		free(r->big[i].reason);
	}
	free(r->big);
	r->big = NULL;
	r->n_big = r->cap_big = 0;
}

/* --- Second factors the listing does not show --------------------------------------------------
 * GoTrue's admin listing loads no factors (supabase/auth FindUsersInAudience, v2.69 and v2.185
 * alike), so for most servers a listed user says nothing about them. A user the last index marks
 * as having a verified factor (a login used one, or a listing that carried factors showed one)
 * keeps the mark only if GET /admin/users/{id}/factors still lists one: one request per such
 * user and sync. When that cannot be asked, the mark stays: a factor is never dropped on a
 * guess. */
struct marked {
	char **ids; /* sorted */
	size_t n, cap;
};

static int add_marked(void *ctx, struct gotrue_account *a)
{
	struct marked *mk = ctx;

	if (gotrue_grow((void **)&mk->ids, &mk->cap, mk->n + 1, sizeof(*mk->ids)) != 0)
		return -1;
	mk->ids[mk->n] = strdup(a->user_id);
	return mk->ids[mk->n++] == NULL ? -1 : 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void marked_free(struct marked *mk)
{
	size_t i;

	for (i = 0; i < mk->n; i++)
		free(mk->ids[i]);
	free(mk->ids);
	memset(mk, 0, sizeof(*mk));
}

/* Whether GoTrue still lists a verified factor for account @a; true when it cannot be asked. */
static bool still_has_factor(pam_handle_t *pamh, struct gotrue_client *c,
			     const struct gotrue_account *a)
{
	struct gotrue_user f = {0};
	struct gotrue_error err = {0};
	bool has = true;

	if (gotrue_admin_user_factors(c, a->user_id, &f, &err) == 0)
		has = gotrue_user_has_verified_factor(&f);
	else
		gotrue_log(pamh, LOG_WARNING,
			   "cannot ask whether the user still has a second factor (%s); keeping "
			   "the mark; user=%s",
			   err.message, a->name);
	if (!has)
		gotrue_log(pamh, LOG_INFO, "second factor gone; mark removed; user=%s", a->name);
	gotrue_user_clear(&f);
	gotrue_error_clear(&err);
	return has;
}

/* The marks of the last index onto the listed accounts whose listing did not show factors; an
 * account whose mark now differs from its serialised line gets a new line. -1: the index could
 * not be read (the old marks would be lost) or memory. */
static int keep_marks(pam_handle_t *pamh, struct gotrue_client *c, struct run_ctx *r,
		      const char *index_path)
{
	struct marked mk = {0};
	struct gotrue_account *a;
	size_t i;
	int rc = -1;

	if (gotrue_accounts_each_mfa(pamh, index_path, add_marked, &mk) < 0) {
		gotrue_error_set(r->err, GOTRUE_ERR_INTERNAL,
				 "cannot read the second-factor marks of the last account index");
		goto cleanup;
	}
	/* No mark: nothing to ask (and qsort wants an array). */
	if (mk.n > 0)
		qsort(mk.ids, mk.n, sizeof(*mk.ids), cmp_id);
	for (i = 0; mk.n > 0 && i < r->m->n_accounts; i++) {
		a = &r->m->accounts[i];
		if (a->mfa_known || a->mfa ||
		    bsearch(&a->user_id, mk.ids, mk.n, sizeof(*mk.ids), cmp_id) == NULL)
			continue;
		a->mfa = still_has_factor(pamh, c, a);
		if (a->mfa && gotrue_accounts_lines_add(r->lines, a) != 0) {
			gotrue_error_set(r->err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	marked_free(&mk);
	return rc;
}

/* One listing and, when it is whole, both files replaced. *@shrank: it failed because users
 * were deleted while it ran (lib/sync/api_admin.c), and a new listing may succeed. */
static int sync_once(pam_handle_t *pamh, const struct gotrue_config *cfg,
		     const struct gotrue_sync_options *opt, struct gotrue_sync_summary *sum,
		     struct gotrue_error *err, bool *shrank)
{
	struct run_ctx r = {.opt = opt, .pamh = pamh, .err = err};
	struct gotrue_user_walk walk = {.members = GOTRUE_USER_MEMBERS_ACCOUNT,
					.each = run_each,
					.progress = run_progress,
					.too_large = run_too_large,
					.ctx = &r};
	struct gotrue_client *c = NULL;
	struct holders_src holders = {.pamh = pamh};
	int lock_fd = -1, rc = -1;

	c = gotrue_client_new(pamh, cfg);
	r.m = gotrue_idmap_new(cfg, opt ? opt->passwd_path : NULL, opt ? opt->group_path : NULL);
	holders.path = gotrue_sync_path(cfg, opt ? opt->accounts_path : NULL, "accounts");
	if (c == NULL || r.m == NULL || holders.path == NULL ||
	    gotrue_idmap_check_owners(r.m, GOTRUE_NSS_CACHE_PATH, true) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	/* Read under the lock, with the set's resolve: no login rewrites it meanwhile. */
	gotrue_idmap_holders_from(r.m, load_holders, &holders);
	/* Each user's public strings go into the cache's string table, and its account index
	 * line is serialised, as the pages arrive, while the server renders the next one, not
	 * all 100k after the last page (idmap.h, accounts.h). */
	r.lines = gotrue_accounts_lines_new();
	if (c == NULL || r.m == NULL || r.lines == NULL || gotrue_idmap_cache_ahead(r.m) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	gotrue_accounts_lines_cap(r.lines, opt ? opt->accounts_max_size : 0);
	r.index_cap = opt && opt->accounts_max_size > 0 &&
				      opt->accounts_max_size < GOTRUE_ACCOUNTS_MAX_SIZE
			      ? opt->accounts_max_size
			      : GOTRUE_ACCOUNTS_MAX_SIZE;
	walk.per_page = opt && opt->per_page > 0 ? opt->per_page : SYNC_DEFAULT_PER_PAGE;
	r.walk = &walk;
	if (gotrue_admin_each_user(c, &walk, err) != 0) {
		/* Partway failure: keep the old files. */
		*shrank = walk.shrank;
		if (err->kind == GOTRUE_OK)
			gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "listing users failed");
		goto cleanup;
	}
	if (keep_marks(pamh, c, &r, holders.path) != 0)
		goto cleanup;
	if (gotrue_sync_lock(pamh, cfg, -1, &lock_fd) != 0 || gotrue_sync_resolve(pamh, r.m) != 0 ||
	    gotrue_sync_write(pamh, cfg, opt, &r.m, &r.lines, sum) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "cannot write the cache (see the log)");
		goto cleanup;
	}
	gotrue_sync_offline_sweep(pamh, cfg, holders.path);
	rc = 0;
cleanup:
	gotrue_sync_unlock(lock_fd);
	if (r.m != NULL)
		gotrue_sync_take_left_out(r.m, sum);
	take_big(&r, sum);
	gotrue_idmap_free(r.m);
	gotrue_accounts_lines_free(r.lines);
	gotrue_client_free(c);
	free(holders.path);
	return rc;
}

int gotrue_sync_run(pam_handle_t *pamh, const struct gotrue_config *cfg,
		    const struct gotrue_sync_options *opt, struct gotrue_sync_summary *sum,
		    struct gotrue_error *err)
{
	char first[GOTRUE_ERROR_MSG_MAX] = "";
	bool shrank = false;
	int attempt, rc = -1;

	if (sum != NULL)
		memset(sum, 0, sizeof(*sum));
	gotrue_error_clear(err);
	if (cfg->service_role_key == NULL) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "sync needs the service-role key");
		return -1;
	}
	for (attempt = 1; attempt <= SYNC_ATTEMPTS; attempt++) {
		if (attempt > 1)
			gotrue_sync_summary_clear(sum);
		gotrue_error_clear(err);
		shrank = false;
		rc = sync_once(pamh, cfg, opt, sum, err, &shrank);
		if (rc == 0 || !shrank)
			break;
		if (attempt == 1)
			snprintf(first, sizeof(first), "%s", err->message);
		if (attempt < SYNC_ATTEMPTS)
			gotrue_log(pamh, LOG_NOTICE, "listing again (%d of %d attempts): %s",
				   attempt + 1, SYNC_ATTEMPTS, err->message);
	}
	/* A listing that keeps losing users to deletions fails closed: the old files stay. */
	if (rc != 0 && shrank)
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL,
				 "the user list kept changing under %d listings (first: %s)",
				 SYNC_ATTEMPTS, first);
	return rc;
}
