/* sync: GoTrue's user list -> NSS cache + private account index (see sync.h), and the cache
 * show/lookup views behind `gotruectl cache`. The listing comes from GET /admin/users (paged,
 * X-Total-Count and Link rel="next"; supabase/auth internal/api/admin.go adminUsers; the walk is
 * lib/api_admin.c's). Nothing is replaced unless every page arrived: a half listing would
 * silently delete accounts. A user over max_response on its own is the one exception: it is left
 * out and reported, so that one user's metadata cannot stop every other change from arriving. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "array.h"
#include "api.h"
#include "log.h"
#include "secure.h"
#include "sync.h"
#include "thread.h"

#define SYNC_DEFAULT_PER_PAGE 500
/* Listings tried when users are deleted while one runs (a deletion may make a page skip a user,
 * lib/api_admin.c); a user list that keeps shrinking fails the sync, which keeps the old files. */
#define SYNC_ATTEMPTS 3

void gotrue_sync_summary_clear(struct gotrue_sync_summary *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_left_out; i++) {
		free(s->left_out[i].what);
		free(s->left_out[i].id);
		free(s->left_out[i].name);
		free(s->left_out[i].reason);
	}
	free(s->left_out);
	memset(s, 0, sizeof(*s));
}

static char *state_path(const struct gotrue_config *cfg, const char *given, const char *name)
{
	const char *dir = cfg->state_dir ? cfg->state_dir : GOTRUE_STATEDIR;
	char *p = NULL;

	if (given != NULL)
		return strdup(given);
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* One writer at a time: sync and PAM login refreshes serialise on state_dir/.sync.lock. A full
 * sync waits as long as it takes (@timeout_ms -1); a login's one-entry update waits at most the
 * configured request timeout, so a login never hangs behind a long sync (which writes the
 * entry anyway). */
static int lock_state(pam_handle_t *pamh, const struct gotrue_config *cfg, int timeout_ms,
		      int *fd_out)
{
	char *path = state_path(cfg, NULL, ".sync.lock");
	int fd = -1, rc = -1, r;

	*fd_out = -1;
	if (path == NULL)
		goto cleanup;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	r = fd < 0 ? -errno : gotrue_flock_wait(fd, timeout_ms);
	if (r == -EWOULDBLOCK) {
		gotrue_log(pamh, LOG_NOTICE,
			   "a sync holds the sync lock for more than %d ms; leaving this update "
			   "to it; path=%s",
			   timeout_ms, path);
		goto cleanup;
	}
	if (r != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot lock the sync lock: %s; path=%s", strerror(-r),
			   path);
		goto cleanup;
	}
	*fd_out = fd;
	fd = -1;
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static void unlock_state(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* Hand the left-out list over to the summary (moved, not copied). */
static void take_left_out(struct gotrue_idmap *m, struct gotrue_sync_summary *sum)
{
	if (sum == NULL)
		return;
	sum->users_seen = m->n_seen;
	sum->not_admitted = m->n_not_admitted;
	sum->left_out = m->left_out;
	sum->n_left_out = m->n_left_out;
	m->left_out = NULL;
	m->n_left_out = m->cap_left_out = 0;
}

/* The builder fails only for memory or for one of the cache's caps (cache_format.h): both named,
 * with the figures, since the builder does not say which. */
static void log_cache_failed(pam_handle_t *pamh, size_t n_accounts)
{
	gotrue_log(pamh, LOG_ERR,
		   "cannot build the NSS cache of %zu users: out of memory, or over its size cap "
		   "of %u bytes or %u entries",
		   n_accounts, GOTRUE_CACHE_MAX_SIZE, GOTRUE_CACHE_MAX_RECORDS);
}

/* The account index, written on a thread of its own while the cache image is built (both only
 * read the resolved set), from the lines serialised as the users arrived when there are. */
struct acct_job {
	const char *path;
	const struct gotrue_idmap *m;
	const struct gotrue_accounts_lines *lines;
	int rc;
};

static void *acct_job_main(void *arg)
{
	struct acct_job *j = arg;

	j->rc = j->lines != NULL ? gotrue_accounts_write_lines(j->path, j->lines, j->m->accounts,
							       j->m->n_accounts)
				 : gotrue_accounts_write(j->path, j->m->accounts, j->m->n_accounts);
	return NULL;
}

/* Resolve *@m, logged when it fails. */
static int resolve(pam_handle_t *pamh, struct gotrue_idmap *m)
{
	if (gotrue_idmap_resolve(m) == 0)
		return 0;
	gotrue_log(pamh, LOG_ERR,
		   "cannot map users (local passwd/group or the last account index unreadable?)");
	return -1;
}

/* Replace both files from the resolved *@mp. The index is renamed into place first: if the cache
 * write then fails, PAM sees an index that is at most one sync newer than NSS, never the
 * reverse. With @parallel (a whole sync, not a PAM login's refresh: no thread is started inside
 * a PAM caller's process), the index is serialised and written on a second thread while this
 * one builds the cache image, which only replaces the cache once the index is in place. Once
 * both hold what they need, the set is freed (*@mp = NULL, its left-out list moved to @sum)
 * before the image is written out; the image is finished before that only when the index
 * thread is still at work, so that this thread does not sit idle meanwhile. *@lp (a whole
 * sync: the index lines serialised as the users arrived, or NULL) is freed, *@lp = NULL, as soon
 * as the index is written. */
static int settle_and_write(pam_handle_t *pamh, const struct gotrue_config *cfg,
			    const struct gotrue_sync_options *opt, struct gotrue_idmap **mp,
			    struct gotrue_accounts_lines **lp, struct gotrue_sync_summary *sum,
			    bool parallel)
{
	struct gotrue_idmap *m = *mp;
	struct gotrue_cache_builder *b = NULL;
	char *cache_path = state_path(cfg, opt ? opt->cache_path : NULL, "nss.cache");
	char *acct_path = state_path(cfg, opt ? opt->accounts_path : NULL, "accounts");
	struct acct_job job = {0};
	struct gotrue_replacement repl = {.dirfd = -1};
	pthread_t th;
	bool started = false, built, prepared = false;
	void *image = NULL;
	size_t i, image_len = 0, n_accounts;
	int rc = -1, r, prepare_rc = 0;

	if (cache_path == NULL || acct_path == NULL)
		goto cleanup;
	job.path = acct_path;
	job.m = m;
	job.lines = lp ? *lp : NULL;
	if (parallel)
		started = gotrue_thread_start(&th, acct_job_main, &job) == 0;
	if (!started)
		acct_job_main(&job);
	b = gotrue_idmap_take_builder(m);
	built = b != NULL && gotrue_idmap_to_cache(m, b) == 0;
	/* The index thread still at work: finish the image and write its temp file meanwhile (the
	 * set it reads stays alive until it is done; only the rename waits for the index). That
	 * takes the cache's write and fsync (~20 ms with 100k users, strace) off the sync's tail.
	 * Done already: the set goes first, for a lower peak. */
	if (started && pthread_tryjoin_np(th, NULL) == 0)
		started = false;
	if (started && built) {
		r = gotrue_cache_builder_finish(b, (uint64_t)time(NULL), &image, &image_len);
		gotrue_cache_builder_free(b);
		b = NULL;
		built = r == 0;
		if (built) {
			prepare_rc =
				gotrue_replace_prepare(cache_path, image, image_len, 0644, &repl);
			prepared = prepare_rc == 0;
			free(image);
			image = NULL;
		}
	}
	if (started)
		pthread_join(th, NULL);
	started = false;
	if (lp != NULL) {
		gotrue_accounts_lines_free(*lp);
		*lp = NULL;
	}
	if (job.rc != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot write the account index: %s; path=%s",
			   strerror(-job.rc), acct_path);
		goto cleanup;
	}
	if (!built) {
		log_cache_failed(pamh, m->n_accounts);
		goto cleanup;
	}
	if (sum != NULL) {
		sum->users = m->n_accounts;
		sum->groups = m->n_accounts;
		for (i = 0; i < m->n_groups; i++) {
			if (m->groups[i].gid == (uint32_t)-1)
				continue;
			if (m->groups[i].local)
				sum->local_groups++;
			else
				sum->groups++;
		}
	}
	n_accounts = m->n_accounts;
	take_left_out(m, sum);
	gotrue_idmap_free(m);
	*mp = NULL;
	if (b != NULL) {
		r = gotrue_cache_builder_finish(b, (uint64_t)time(NULL), &image, &image_len);
		gotrue_cache_builder_free(b);
		b = NULL;
		if (r != 0) {
			log_cache_failed(pamh, n_accounts);
			goto cleanup;
		}
	}
	if (prepared) {
		prepared = false;
		r = gotrue_cache_replace_commit(&repl);
	} else if (prepare_rc != 0) {
		r = prepare_rc; /* its image is gone already */
	} else {
		r = gotrue_cache_replace(cache_path, image, image_len);
	}
	if (r != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot write the NSS cache: %s; path=%s", strerror(-r),
			   cache_path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (prepared)
		gotrue_replace_abort(&repl);
	free(image);
	gotrue_cache_builder_free(b);
	free(cache_path);
	free(acct_path);
	return rc;
}

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

/* A user the listing cannot carry (its entry alone is over max_response; lib/api_admin.c): left
 * out of this sync, as a user that cannot be mapped is, and said so. */
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

/* One listing and, when it is whole, both files replaced. *@shrank: it failed because users
 * were deleted while it ran (lib/api_admin.c), and a new listing may succeed. */
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
	holders.path = state_path(cfg, opt ? opt->accounts_path : NULL, "accounts");
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
	if (lock_state(pamh, cfg, -1, &lock_fd) != 0 || resolve(pamh, r.m) != 0 ||
	    settle_and_write(pamh, cfg, opt, &r.m, &r.lines, sum, true) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "cannot write the cache (see the log)");
		goto cleanup;
	}
	rc = 0;
cleanup:
	unlock_state(lock_fd);
	if (r.m != NULL)
		take_left_out(r.m, sum);
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

/* The index, less @user_id's own entry, whose uid, gid and created_at are kept aside. */
struct one_ctx {
	struct gotrue_idmap *m;
	const char *user_id;
	struct gotrue_account own;
	bool found;
};

static int keep_account(void *ctx, struct gotrue_account *a)
{
	struct one_ctx *o = ctx;

	if (strcmp(a->user_id, o->user_id) != 0)
		return gotrue_idmap_add_account(o->m, a) != 0 ? -1 : 0;
	o->own.uid = a->uid;
	o->own.gid = a->gid;
	o->own.created_at = a->created_at;
	o->found = true;
	return 0;
}

/* The first user the set left out, or NULL. */
static const struct gotrue_left_out *first_user_left_out(const struct gotrue_idmap *m)
{
	size_t i;

	for (i = 0; i < m->n_left_out; i++) {
		if (strcmp(m->left_out[i].what, "user") == 0)
			return &m->left_out[i];
	}
	return NULL;
}

/* Add @u, with what it had in the index: a login never renumbers a user or changes its age
 * (app_metadata.uid changed by the administrator is the next sync's). 0 kept, 1 not kept (the
 * mapping leaves it out), -1 ENOMEM. */
static int add_fresh(pam_handle_t *pamh, struct one_ctx *o, const struct gotrue_user *u)
{
	struct gotrue_idmap *m = o->m;
	size_t n = m->n_accounts;
	struct gotrue_account *a;

	if (gotrue_idmap_add_user(m, u) != 0)
		return -1;
	if (m->n_accounts == n)
		return 1;
	a = &m->accounts[n];
	if (o->found && a->uid != o->own.uid)
		gotrue_log(pamh, LOG_NOTICE,
			   "app_metadata.uid %u differs from the indexed uid %u; a login keeps the "
			   "uid, the next sync applies it; user=%s",
			   a->uid, o->own.uid, a->name);
	if (o->found) {
		a->uid = o->own.uid;
		a->gid = o->own.gid;
		a->created_at = o->own.created_at;
	}
	return 0;
}

int gotrue_sync_one_user(pam_handle_t *pamh, const struct gotrue_config *cfg,
			 const struct gotrue_user *u, const struct gotrue_sync_options *opt)
{
	struct one_ctx o = {0};
	const struct gotrue_left_out *l = NULL;
	char *acct_path = NULL;
	size_t before;
	int lock_fd = -1, rc = -1, r;

	if (u == NULL || u->id == NULL)
		goto cleanup;
	acct_path = state_path(cfg, opt ? opt->accounts_path : NULL, "accounts");
	o.m = gotrue_idmap_new(cfg, opt ? opt->passwd_path : NULL, opt ? opt->group_path : NULL);
	o.user_id = u->id;
	if (acct_path == NULL || o.m == NULL ||
	    gotrue_idmap_check_owners(o.m, GOTRUE_NSS_CACHE_PATH, false) != 0)
		goto cleanup;
	if (lock_state(pamh, cfg, (int)cfg->timeout * 1000, &lock_fd) != 0)
		goto cleanup;
	/* The index holds every mapped account with what the set rules need (created_at, groups),
	 * so the whole set is rebuilt from it plus the fresh copy of this one user. */
	r = gotrue_accounts_each(pamh, acct_path, keep_account, &o);
	if (r < 0)
		goto cleanup;
	r = add_fresh(pamh, &o, u);
	if (r < 0)
		goto cleanup;
	before = o.m->n_accounts;
	if (r == 0 && resolve(pamh, o.m) != 0)
		goto cleanup;
	/* Only this user's own entry may change: every other account keeps its name and uid,
	 * whatever this user's entry now says, and the next sync settles any contest. */
	if (r == 1 || o.m->n_accounts != before) {
		l = first_user_left_out(o.m);
		gotrue_log(pamh, LOG_NOTICE,
			   "account entry not updated at login (%s: %s); the next sync decides; "
			   "id=%s",
			   l != NULL ? l->id : u->id, l != NULL ? l->reason : "not admitted",
			   u->id);
		rc = 1;
		goto cleanup;
	}
	rc = settle_and_write(pamh, cfg, opt, &o.m, NULL, NULL, false);
cleanup:
	unlock_state(lock_fd);
	gotrue_idmap_free(o.m);
	free(acct_path);
	return rc;
}

/* --- What NSS sees ------------------------------------------------------------------------- */

static void print_pw(FILE *out, const struct gotrue_cache_pw *p)
{
	fprintf(out, "%s:*:%u:%u:%s:%s:%s\n", p->name, p->uid, p->gid, p->gecos, p->dir, p->shell);
}

static void print_gr(FILE *out, const struct gotrue_cache_view *v, const struct gotrue_cache_gr *g)
{
	uint32_t i;

	fprintf(out, "%s:x:%u:", g->name, g->gid);
	for (i = 0; i < g->n_members; i++)
		fprintf(out, "%s%s", i ? "," : "", gotrue_cache_member(v, g, i));
	fputc('\n', out);
}

static int with_view(const struct gotrue_config *cfg, const char *cache_path,
		     int (*fn)(const struct gotrue_cache_view *v, const char *key, FILE *out),
		     const char *key, FILE *out)
{
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	char *path = state_path(cfg, cache_path, "nss.cache");
	int rc = -1;

	if (path == NULL)
		return -1;
	gotrue_cache_init(&c, path);
	if (gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK) {
		rc = fn(v, key, out);
		gotrue_cache_release(&c);
	}
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	free(path);
	return rc;
}

static int show(const struct gotrue_cache_view *v, const char *key, FILE *out)
{
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	uint32_t i;

	fprintf(out, "# users %u, groups %u, generated_at %llu\n", v->hdr->n_users,
		v->hdr->n_groups, (unsigned long long)v->hdr->generated_at);
	for (i = 0; gotrue_cache_getpwent(v, i, &p) == GOTRUE_CACHE_OK; i++)
		print_pw(out, &p);
	for (i = 0; gotrue_cache_getgrent(v, i, &g) == GOTRUE_CACHE_OK; i++)
		print_gr(out, v, &g);
	return 0;
}

static int lookup(const struct gotrue_cache_view *v, const char *key, FILE *out)
{
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	char *end;
	unsigned long id;
	bool numeric, found = false;
	uint32_t i;

	errno = 0;
	id = strtoul(key, &end, 10);
	numeric = *key != '\0' && *end == '\0' && errno == 0 && id <= UINT32_MAX;
	if ((numeric ? gotrue_cache_getpwuid(v, (uint32_t)id, &p)
		     : gotrue_cache_getpwnam(v, key, &p)) == GOTRUE_CACHE_OK) {
		print_pw(out, &p);
		fprintf(out, "initgroups:");
		for (i = 0; i < p.n_gids; i++)
			fprintf(out, " %u", p.gids[i]);
		fputc('\n', out);
		found = true;
	}
	if ((numeric ? gotrue_cache_getgrgid(v, (uint32_t)id, &g)
		     : gotrue_cache_getgrnam(v, key, &g)) == GOTRUE_CACHE_OK) {
		print_gr(out, v, &g);
		found = true;
	}
	return found ? 0 : 1;
}

int gotrue_cache_show(const struct gotrue_config *cfg, const char *cache_path, FILE *out)
{
	return with_view(cfg, cache_path, show, NULL, out);
}

int gotrue_cache_lookup(const struct gotrue_config *cfg, const char *cache_path, const char *key,
			FILE *out)
{
	return with_view(cfg, cache_path, lookup, key, out);
}
