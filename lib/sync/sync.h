/* sync: fill the NSS cache and the private account index from GoTrue. gotrue_sync_run() pages
 * through GET /admin/users with the service-role key, maps every user (idmap), and replaces both
 * files atomically only when the whole listing succeeded. gotrue_sync_one_user() updates one
 * user's entry after a PAM login (GET /user data; lib/directory/sync_write.c). Both hold
 * state_dir/.sync.lock. Local files are read directly; NSS is asked only getpwnam_r of each
 * admitted user fresh from the server (lib/directory/owner.h), which libnss_gotrue answers from its
 * mapped cache without any lock that sync holds, so a sync cannot wait on itself. A name or uid
 * that several users want stays with its holder in the previous account index (idmap.h), and a
 * login's update never takes one from another account. */
#ifndef GOTRUE_SYNC_H
#define GOTRUE_SYNC_H

#include <stddef.h>
#include <stdio.h>
#include <security/pam_ext.h>

#include "cache.h"
#include "gotrue_config.h"
#include "gotrue_error.h"
#include "idmap.h"
#include "sync_write.h"
#include "user.h"

/* The whole sync. 0 when both files were replaced; -1 with @err (transport/HTTP failure, a size
 * cap reached, named with its figure: the old files stay) or a logged local error. @sum is filled
 * either way as far as it got. A user whose entry alone is over max_response is left out (in
 * @sum's left-out list, by id when it can be read, else by listing position) and the others are
 * synced. A listing that users deleted meanwhile may have made skip one is done again, up to
 * three times, then the sync fails. */
int gotrue_sync_run(pam_handle_t *pamh, const struct gotrue_config *cfg,
		    const struct gotrue_sync_options *opt, struct gotrue_sync_summary *sum,
		    struct gotrue_error *err);

#endif
