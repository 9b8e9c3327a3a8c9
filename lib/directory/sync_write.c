/* sync_write: replacing the private account index and the NSS cache from a resolved set
 * (idmap.h) under state_dir/.sync.lock, for a whole sync (lib/sync/sync.c) and for the PAM
 * module's update of one user's entry at login (gotrue_sync_one_user, here), which the module
 * thus links without the listing and the admin API. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "log.h"
#include "secure.h"
#include "sync_write.h"

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

char *gotrue_sync_path(const struct gotrue_config *cfg, const char *given, const char *name)
{
	const char *dir = cfg->state_dir ? cfg->state_dir : GOTRUE_STATEDIR;
	char *p = NULL;

	if (given != NULL)
		return strdup(given);
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int gotrue_sync_lock(pam_handle_t *pamh, const struct gotrue_config *cfg, int timeout_ms,
		     int *fd_out)
{
	char *path = gotrue_sync_path(cfg, NULL, ".sync.lock");
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

void gotrue_sync_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

void gotrue_sync_take_left_out(struct gotrue_idmap *m, struct gotrue_sync_summary *sum)
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

int gotrue_sync_resolve(pam_handle_t *pamh, struct gotrue_idmap *m)
{
	if (gotrue_idmap_resolve(m) == 0)
		return 0;
	gotrue_log(pamh, LOG_ERR,
		   "cannot map users (local passwd/group or the last account index unreadable?)");
	return -1;
}

static void count_written(const struct gotrue_idmap *m, struct gotrue_sync_summary *sum)
{
	size_t i;

	if (sum == NULL)
		return;
	sum->users = m->n_accounts;
	sum->groups = m->n_accounts; /* each user's private group */
	for (i = 0; i < m->n_groups; i++) {
		if (m->groups[i].gid == (uint32_t)-1)
			continue;
		if (m->groups[i].local)
			sum->local_groups++;
		else
			sum->groups++;
	}
}

/* The NSS cache image of the resolved *@mp. The set is freed as soon as the builder holds what
 * it needs (*@mp = NULL, its left-out list moved to @sum), so that the set and the image are
 * never whole at once. 0, or -1 (logged). */
static int build_image(pam_handle_t *pamh, struct gotrue_idmap **mp,
		       struct gotrue_sync_summary *sum, void **image, size_t *image_len)
{
	struct gotrue_idmap *m = *mp;
	struct gotrue_cache_builder *b = gotrue_idmap_take_builder(m);
	size_t n_accounts = m->n_accounts;
	int rc = -1;

	if (b == NULL || gotrue_idmap_to_cache(m, b) != 0)
		goto cleanup;
	count_written(m, sum);
	gotrue_sync_take_left_out(m, sum);
	gotrue_idmap_free(m);
	*mp = NULL;
	if (gotrue_cache_builder_finish(b, (uint64_t)time(NULL), image, image_len) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	/* The builder fails only for memory or for one of the cache's caps (cache_format.h): both
	 * named, with the figures, since the builder does not say which. */
	if (rc != 0)
		gotrue_log(pamh, LOG_ERR,
			   "cannot build the NSS cache of %zu users: out of memory, or over its "
			   "size cap of %u bytes or %u entries",
			   n_accounts, GOTRUE_CACHE_MAX_SIZE, GOTRUE_CACHE_MAX_RECORDS);
	gotrue_cache_builder_free(b);
	return rc;
}

int gotrue_sync_write(pam_handle_t *pamh, const struct gotrue_config *cfg,
		      const struct gotrue_sync_options *opt, struct gotrue_idmap **mp,
		      struct gotrue_accounts_lines **lp, struct gotrue_sync_summary *sum)
{
	const struct gotrue_idmap *m = *mp;
	char *cache_path = gotrue_sync_path(cfg, opt ? opt->cache_path : NULL, "nss.cache");
	char *acct_path = gotrue_sync_path(cfg, opt ? opt->accounts_path : NULL, "accounts");
	void *image = NULL;
	size_t image_len = 0;
	int rc = -1, r;

	if (cache_path == NULL || acct_path == NULL)
		goto cleanup;
	r = lp != NULL && *lp != NULL
		    ? gotrue_accounts_write_lines(acct_path, *lp, m->accounts, m->n_accounts)
		    : gotrue_accounts_write(acct_path, m->accounts, m->n_accounts);
	if (lp != NULL) {
		gotrue_accounts_lines_free(*lp);
		*lp = NULL;
	}
	if (r == -EFBIG) {
		gotrue_log(pamh, LOG_ERR,
			   "cannot write the account index of %zu accounts: over its cap of %u "
			   "accounts or %u bytes; path=%s",
			   m->n_accounts, GOTRUE_ACCOUNTS_MAX_RECORDS, GOTRUE_ACCOUNTS_MAX_SIZE,
			   acct_path);
		goto cleanup;
	}
	if (r != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot write the account index: %s; path=%s",
			   strerror(-r), acct_path);
		goto cleanup;
	}
	if (build_image(pamh, mp, sum, &image, &image_len) != 0)
		goto cleanup;
	r = gotrue_cache_replace(cache_path, image, image_len);
	if (r != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot write the NSS cache: %s; path=%s", strerror(-r),
			   cache_path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(image);
	free(cache_path);
	free(acct_path);
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
	o->own.mfa = a->mfa;
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
		/* A login may mark a second factor (it used one), never unmark it: the token's
		 * user carries no factors, and the next sync decides. */
		a->mfa = a->mfa || o->own.mfa;
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
	acct_path = gotrue_sync_path(cfg, opt ? opt->accounts_path : NULL, "accounts");
	o.m = gotrue_idmap_new(cfg, opt ? opt->passwd_path : NULL, opt ? opt->group_path : NULL);
	o.user_id = u->id;
	if (acct_path == NULL || o.m == NULL ||
	    gotrue_idmap_check_owners(o.m, GOTRUE_NSS_CACHE_PATH, false) != 0)
		goto cleanup;
	if (gotrue_sync_lock(pamh, cfg, (int)cfg->timeout * 1000, &lock_fd) != 0)
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
	if (r == 0 && gotrue_sync_resolve(pamh, o.m) != 0)
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
	rc = gotrue_sync_write(pamh, cfg, opt, &o.m, NULL, NULL);
cleanup:
	gotrue_sync_unlock(lock_fd);
	gotrue_idmap_free(o.m);
	free(acct_path);
	return rc;
}
