/* sync_write: what a whole sync (lib/sync/sync.c) and the PAM module's login-time update of one
 * user's entry share: the options and summary of a sync, state_dir/.sync.lock, and replacing the
 * private account index and the NSS cache from a resolved set (idmap.h), which removes logins'
 * overlays. The one-user update (an overlay) is here too, so that the module links it without
 * the listing and the admin API of lib/sync. */
#ifndef GOTRUE_SYNC_WRITE_H
#define GOTRUE_SYNC_WRITE_H

#include <stddef.h>
#include <security/pam_ext.h>

#include "accounts.h"
#include "gotrue_config.h"
#include "idmap.h"
#include "user.h"

struct gotrue_sync_options {
	const char *cache_path;	   /* NULL: state_dir/nss.cache */
	const char *accounts_path; /* NULL: state_dir/accounts */
	const char *passwd_path;   /* NULL: /etc/passwd */
	const char *group_path;	   /* NULL: /etc/group */
	int per_page;		   /* 0: 500 */
	/* 0: GOTRUE_ACCOUNTS_MAX_SIZE; a smaller cap on the account index, for tests. */
	size_t accounts_max_size;
	/* Called after each page (may be NULL): users seen so far, X-Total-Count or -1. */
	void (*progress)(void *ctx, size_t seen, long long total);
	void *ctx;
};

struct gotrue_sync_summary {
	size_t users_seen;		  /* listed by the server */
	size_t users;			  /* written to the cache */
	size_t groups;			  /* group entries written (private groups included) */
	size_t local_groups;		  /* local_groups names mapped to a local gid */
	size_t not_admitted;		  /* listed, but in no allow_groups group */
	size_t uids_assigned;		  /* uids written to app_metadata (assign_uids) */
	struct gotrue_left_out *left_out; /* users and groups left out, with reasons */
	size_t n_left_out;
};
void gotrue_sync_summary_clear(struct gotrue_sync_summary *s);

/* A login's update of @u's entry: its overlay (account_overlay.h), not a rewrite of the index
 * and the cache. O(log n) in the accounts: one index lookup and a few cache lookups, under the
 * sync lock. The entry keeps the uid, gid and created_at the index gives its name; when the
 * rules would leave it out (a name or uid another account holds in the index, the cache, an
 * overlay or another account source, or @u itself not admitted), nothing is written. @opt may
 * be NULL. 0 written, 1 not written (logged; the next sync decides), or -1 (logged). */
int gotrue_sync_one_user(pam_handle_t *pamh, const struct gotrue_config *cfg,
			 const struct gotrue_user *u, const struct gotrue_sync_options *opt);

/* The state file @name (NULL on ENOMEM): @given when set, else state_dir/@name. */
char *gotrue_sync_path(const struct gotrue_config *cfg, const char *given, const char *name);

/* One writer at a time: sync and PAM login refreshes serialise on state_dir/.sync.lock. A full
 * sync waits as long as it takes (@timeout_ms -1); a login's one-entry update waits at most the
 * configured request timeout, so a login never hangs behind a long sync (which writes the
 * entry anyway). 0 with the lock's descriptor in *@fd_out, or -1 (logged). */
int gotrue_sync_lock(pam_handle_t *pamh, const struct gotrue_config *cfg, int timeout_ms,
		     int *fd_out);
/* Release it (a descriptor of -1 is fine). */
void gotrue_sync_unlock(int fd);

/* Resolve *@m, logged when it fails. 0 or -1. */
int gotrue_sync_resolve(pam_handle_t *pamh, struct gotrue_idmap *m);

/* Hand the left-out list over to the summary (moved, not copied). @sum may be NULL. */
void gotrue_sync_take_left_out(struct gotrue_idmap *m, struct gotrue_sync_summary *sum);

/* Replace both files from the resolved *@mp: the index first, renamed into place before the
 * cache is, so that if the cache write then fails PAM sees an index at most one sync newer than
 * NSS, never the reverse. *@lp (a whole sync: the index lines serialised as the users arrived,
 * or NULL) is freed once the index is written (*@lp = NULL), and the set once the cache image
 * holds what it needs (*@mp = NULL, its left-out list moved to @sum). 0, or -1 (logged; the old
 * files stay, or only the index is new). */
int gotrue_sync_write(pam_handle_t *pamh, const struct gotrue_config *cfg,
		      const struct gotrue_sync_options *opt, struct gotrue_idmap **mp,
		      struct gotrue_accounts_lines **lp, struct gotrue_sync_summary *sum);

#endif
