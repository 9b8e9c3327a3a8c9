/* sync: fill the NSS cache and the private account index from GoTrue. gotrue_sync_run() pages
 * through GET /admin/users with the service-role key, maps every user (idmap), and replaces both
 * files atomically only when the whole listing succeeded. gotrue_sync_one_user() updates one
 * user's entry after a PAM login (GET /user data). Both hold state_dir/.sync.lock. Local files
 * are read directly; NSS is asked only getpwnam_r of each admitted user fresh from the server
 * (lib/owner.h), which libnss_gotrue answers from its mapped cache without any lock that sync
 * holds, so a sync cannot wait on itself. A name or uid that several users want stays with its
 * holder in the previous account index (idmap.h), and a login's update never takes one from
 * another account. */
#ifndef GOTRUE_SYNC_H
#define GOTRUE_SYNC_H

#include <stddef.h>
#include <stdio.h>
#include <security/pam_ext.h>

#include "cache.h"
#include "config.h"
#include "error.h"
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
	struct gotrue_left_out *left_out; /* users and groups left out, with reasons */
	size_t n_left_out;
};
void gotrue_sync_summary_clear(struct gotrue_sync_summary *s);

/* The whole sync. 0 when both files were replaced; -1 with @err (transport/HTTP failure, a size
 * cap reached, named with its figure: the old files stay) or a logged local error. @sum is filled
 * either way as far as it got. A user whose entry alone is over max_response is left out (in
 * @sum's left-out list, by id when it can be read, else by listing position) and the others are
 * synced. A listing that users deleted meanwhile may have made skip one is done again, up to
 * three times, then the sync fails. */
int gotrue_sync_run(pam_handle_t *pamh, const struct gotrue_config *cfg,
		    const struct gotrue_sync_options *opt, struct gotrue_sync_summary *sum,
		    struct gotrue_error *err);

/* Replace @u's entry (matched by user id) in the index and the cache, re-applying the set rules.
 * Only that entry changes, and not its uid, gid or created_at when the index has it: when the
 * rules would leave any account out (a name or uid another account holds, or @u itself), nothing
 * is written. @opt may be NULL. 0 written, 1 not written (logged; the next sync decides), or -1
 * (logged; the old files stay). */
int gotrue_sync_one_user(pam_handle_t *pamh, const struct gotrue_config *cfg,
			 const struct gotrue_user *u, const struct gotrue_sync_options *opt);

/* For `gotruectl cache show` / `cache lookup NAME|UID`: print what NSS sees, passwd(5)/group(5)
 * style, to @out. show: a header line (users, groups, generated_at) then every entry. lookup: the
 * passwd line and initgroups list of a name or uid, and the group line of a group name or gid.
 * 0 when printed, 1 when not found, -1 when the cache is unavailable. @cache_path NULL: default. */
int gotrue_cache_show(const struct gotrue_config *cfg, const char *cache_path, FILE *out);
int gotrue_cache_lookup(const struct gotrue_config *cfg, const char *cache_path, const char *key,
			FILE *out);

#endif
