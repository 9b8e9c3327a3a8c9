/* sync_write: replacing the private account index and the NSS cache from a resolved set
 * (idmap.h) under state_dir/.sync.lock, for a whole sync (lib/sync/sync.c); and the PAM
 * module's update of one user's entry at login (gotrue_sync_one_user, here), which checks the
 * identity rules against the index, the cache and NSS, and writes that user's overlay
 * (account_overlay.h) rather than the whole files. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account_overlay.h"
#include "accounts.h"
#include "log.h"
#include "overlay.h"
#include "owner.h"
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
		    ? gotrue_accounts_write_lines(acct_path, *lp, m->accounts, m->ordinals,
						  m->n_accounts)
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
	/* Both files now hold what logins' overlays held, from the server's listing (the mfa
	 * marks were read back through gotrue_accounts_each_mfa). One left behind would only
	 * repeat what the files say, or what the server said since: a failure is logged. */
	gotrue_account_overlay_clear(pamh, acct_path, cache_path);
	rc = 0;
cleanup:
	free(image);
	free(cache_path);
	free(acct_path);
	return rc;
}

/* A login's one-user update, checked before its overlay is written. */
struct one {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg;
	char *acct_path, *cache_path;
	struct gotrue_account a; /* the fresh mapping, then with what the index keeps */
	uint32_t gids[GOTRUE_OVERLAY_MAX_GIDS];
	size_t n_gids;
};

/* Not written: why, logged once the same way for every rule. Returns 1. */
static int refuse(const struct one *o, const char *why, const char *holder)
{
	gotrue_log(o->pamh, LOG_NOTICE,
		   "account entry not updated at login (%s%s%s); the next sync decides; user=%s",
		   why, holder ? ": " : "", holder ? holder : "", o->a.name);
	return 1;
}

/* The index (with any earlier overlay): a name held by another account is refused; the
 * account's own entry keeps its uid, gid and created_at (a login never renumbers a user or
 * changes its age; app_metadata.uid changed by the administrator is the next sync's). */
static int check_index(struct one *o)
{
	struct gotrue_account held;
	int r = gotrue_accounts_lookup(o->pamh, o->acct_path, o->a.name, &held),
	    rc = r < 0 ? -1 : 0;

	if (r == 0 && strcmp(held.user_id, o->a.user_id) != 0) {
		rc = refuse(o, "the name is another account's", held.user_id);
	} else if (r == 0) {
		if (held.uid != o->a.uid)
			gotrue_log(o->pamh, LOG_NOTICE,
				   "app_metadata.uid %u differs from the indexed uid %u; a login "
				   "keeps the uid, the next sync applies it; user=%s",
				   o->a.uid, held.uid, o->a.name);
		o->a.uid = held.uid;
		o->a.gid = held.gid;
		o->a.created_at = held.created_at;
		/* A login may mark a second factor (it used one), never unmark it: the token's
		 * user carries no factors, and the next sync decides. */
		o->a.mfa = o->a.mfa || held.mfa;
	}
	gotrue_account_clear(&held);
	return rc;
}

/* The NSS cache and the public overlays: the uid is nobody else's there and the name keeps its
 * uid; the supplementary groups the cache knows become gids (local_groups: check_local), the
 * others wait for the next sync. A missing cache (no sync yet) holds nobody; one that cannot be
 * read proves nothing, and nothing is written. */
static int check_cache(struct one *o)
{
	struct gotrue_cache c;
	const struct gotrue_cache_view *v = NULL;
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	struct gotrue_overlay_pw ov;
	char dir[4096], held[32];
	size_t i;
	int rc = -1;

	gotrue_cache_init(&c, o->cache_path);
	if (gotrue_overlay_dir(o->cache_path, dir, sizeof(dir)) != 0)
		goto cleanup;
	if (gotrue_overlay_acquire(&c, &v) != GOTRUE_CACHE_OK) {
		gotrue_log(o->pamh, LOG_ERR, "the NSS cache cannot be read; path=%s",
			   o->cache_path);
		goto cleanup;
	}
	rc = 0;
	if (gotrue_overlay_getpwuid(v, dir, o->a.uid, &p, &ov) == GOTRUE_CACHE_OK &&
	    strcmp(p.name, o->a.name) != 0) {
		rc = refuse(o, "the uid is another account's", p.name);
	} else if (gotrue_overlay_getpwnam(v, dir, o->a.name, &p, &ov) == GOTRUE_CACHE_OK &&
		   p.uid != o->a.uid) {
		snprintf(held, sizeof(held), "%u, not %u", p.uid, o->a.uid);
		rc = refuse(o, "the name has another uid in the NSS cache", held);
	}
	for (i = 0;
	     v != NULL && rc == 0 && i < o->a.n_groups && o->n_gids < GOTRUE_OVERLAY_MAX_GIDS;
	     i++) {
		if (gotrue_cache_getgrnam(v, o->a.groups[i], &g) == GOTRUE_CACHE_OK)
			o->gids[o->n_gids++] = g.gid;
	}
	gotrue_overlay_release(&c, v);
cleanup:
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	return rc;
}

static bool in_groups(const struct gotrue_account *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n_groups; i++) {
		if (strcmp(a->groups[i], name) == 0)
			return true;
	}
	return false;
}

/* The local files a sync reads (/etc/passwd and /etc/group unless @opt names others): a name,
 * uid or gid of a local account or group is never this module's, and local_groups members get
 * the local gid, as a sync gives them. */
static int check_local(struct one *o, const struct gotrue_sync_options *opt)
{
	FILE *f = fopen(opt && opt->passwd_path ? opt->passwd_path : "/etc/passwd", "re");
	struct passwd *pw;
	struct group *gr;
	int rc = -1;

	if (f == NULL)
		goto cleanup;
	while (rc == -1 && (pw = fgetpwent(f)) != NULL) {
		if (strcmp(pw->pw_name, o->a.name) == 0 || pw->pw_uid == o->a.uid)
			rc = refuse(o, "a local account's name or uid", pw->pw_name);
	}
	fclose(f);
	f = fopen(opt && opt->group_path ? opt->group_path : "/etc/group", "re");
	if (rc == 1 || f == NULL)
		goto cleanup;
	while (rc == -1 && (gr = fgetgrent(f)) != NULL) {
		if ((strcmp(gr->gr_name, o->a.name) == 0 || gr->gr_gid == o->a.gid) &&
		    !gotrue_strv_contains(o->cfg->local_groups, gr->gr_name))
			rc = refuse(o, "a local group's name or gid", gr->gr_name);
		else if (gotrue_strv_contains(o->cfg->local_groups, gr->gr_name) &&
			 in_groups(&o->a, gr->gr_name) && o->n_gids < GOTRUE_OVERLAY_MAX_GIDS)
			o->gids[o->n_gids++] = (uint32_t)gr->gr_gid;
	}
	if (rc == -1)
		rc = 0;
cleanup:
	if (rc == -1)
		gotrue_log(o->pamh, LOG_ERR, "cannot read the local passwd or group file");
	if (f != NULL)
		fclose(f);
	return rc;
}

/* getpwnam(3)'s "not found" errors (owner.c has the same list). */
static bool nss_not_found(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

/* Every account source through NSS (files, LDAP, this module's cache and overlays): local
 * accounts first, and a uid or gid nobody else has. An error asking is a refusal (fail
 * closed). */
static int check_system(struct one *o)
{
	struct passwd pwb, *pw = NULL;
	struct group grb, *gr = NULL;
	char buf[4096];
	enum gotrue_owner own = gotrue_owner_of_name(o->a.name, NULL);
	int e;

	if (own != GOTRUE_OWNER_NONE && own != GOTRUE_OWNER_OURS)
		return refuse(o, "the name belongs to another account source", NULL);
	e = getpwuid_r(o->a.uid, &pwb, buf, sizeof(buf), &pw);
	if (!nss_not_found(e) || (pw != NULL && strcmp(pw->pw_name, o->a.name) != 0))
		return refuse(o, "the uid is another account's", pw ? pw->pw_name : strerror(e));
	e = getgrgid_r(o->a.gid, &grb, buf, sizeof(buf), &gr);
	if (!nss_not_found(e) || (gr != NULL && strcmp(gr->gr_name, o->a.name) != 0))
		return refuse(o, "the gid is another group's", gr ? gr->gr_name : strerror(e));
	return 0;
}

int gotrue_sync_one_user(pam_handle_t *pamh, const struct gotrue_config *cfg,
			 const struct gotrue_user *u, const struct gotrue_sync_options *opt)
{
	struct one o = {.pamh = pamh, .cfg = cfg};
	char why[128];
	int lock_fd = -1, rc = -1;

	if (u == NULL || u->id == NULL)
		goto cleanup;
	o.acct_path = gotrue_sync_path(cfg, opt ? opt->accounts_path : NULL, "accounts");
	o.cache_path = gotrue_sync_path(cfg, opt ? opt->cache_path : NULL, "nss.cache");
	if (o.acct_path == NULL || o.cache_path == NULL)
		goto cleanup;
	if (gotrue_idmap_user(cfg, u, &o.a, why, sizeof(why)) != 0) {
		gotrue_log(pamh, LOG_NOTICE,
			   "account entry not updated at login (%s); the next sync decides; id=%s",
			   why, u->id);
		rc = 1;
		goto cleanup;
	}
	if (!gotrue_idmap_admitted(cfg, o.a.groups, o.a.n_groups)) {
		rc = refuse(&o, "not admitted", NULL);
		goto cleanup;
	}
	if (gotrue_sync_lock(pamh, cfg, (int)cfg->timeout * 1000, &lock_fd) != 0)
		goto cleanup;
	rc = check_local(&o, opt);
	if (rc == 0)
		rc = check_system(&o);
	if (rc == 0)
		rc = check_index(&o);
	if (rc == 0)
		rc = check_cache(&o);
	if (rc == 0)
		rc = gotrue_account_overlay_write(pamh, o.acct_path, o.cache_path, &o.a, o.gids,
						  o.n_gids);
cleanup:
	gotrue_sync_unlock(lock_fd);
	gotrue_account_clear(&o.a);
	free(o.cache_path);
	free(o.acct_path);
	return rc;
}
