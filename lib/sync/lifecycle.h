/* lifecycle: what happens to a stored session between open_session and close_session: the
 * refresh pass run by `gotruectl refresh` from a timer, and the revoke and gc helpers behind
 * `gotruectl sessions revoke|gc`. Every change to a record is made under its flock(2), on a copy
 * re-read after the lock was taken. */
#ifndef GOTRUE_LIFECYCLE_H
#define GOTRUE_LIFECYCLE_H

#include <stdbool.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"
#include "session_end.h"
#include "store.h"

#define GOTRUE_REFRESH_MARGIN_DEFAULT	     600 /* s: well over the timer's 3 min period */
#define GOTRUE_REFRESH_STALE_PENDING_DEFAULT 300 /* s: a login that never opened a session */

struct gotrue_refresh_opts {
	long margin;	     /* refresh an access token that expires within this many seconds */
	long stale_pending;  /* revoke a pending record older than this many seconds */
	int lock_timeout_ms; /* wait this long for a record's lock; -1: the config's timeout */
};

struct gotrue_refresh_summary {
	unsigned int refreshed;	 /* tokens rotated and stored */
	unsigned int retried;	 /* closing records whose revocation went through (outbox) */
	unsigned int revoked;	 /* sessions revoked: orphans, stale pending, gone on the server,
				    interrupted refreshes */
	unsigned int checked;	 /* live sessions the server confirmed (GET /user) */
	unsigned int unchanged;	 /* nothing to do (or the record was busy) */
	unsigned int failed;	 /* could not be handled now; kept for the next pass */
	unsigned int removed;	 /* records removed (included in the counts above) */
	unsigned int terminated; /* Linux sessions ended (revoked_session=terminate, revoke) */
	unsigned int forgotten;	 /* of those revoked or retried: only forgotten, no /logout sent
				    (old server, old_server_logout = forget) */
	unsigned int waiting;	 /* kept in the outbox, not failed: the user is banned and the
				    revocation waits until a refresh goes through again */
	bool server_down;	 /* the server could not be reached: the pass changed nothing */
};

void gotrue_refresh_opts_init(struct gotrue_refresh_opts *opts);

/* One pass over the store in cfg->state_dir. Returns 0 when the pass ran (failures are counted
 * in @sum), -EHOSTUNREACH when the server could not be reached (nothing was changed,
 * sum->server_down), or another -errno (the store could not be opened or listed; logged). */
int gotrue_refresh_pass(pam_handle_t *pamh, const struct gotrue_config *cfg,
			const struct gotrue_refresh_opts *opts, struct gotrue_refresh_summary *sum);

/* `gotruectl sessions revoke`: revoke record @id, or every record of login @login, in GoTrue
 * (POST /logout?scope=local; on an old server with old_server_logout = forget no /logout is sent
 * and the session is only forgotten here, counted in sum->forgotten), then end the Linux session
 * as revoked_session=terminate does.
 * Records whose owner is gone are removed; the others are kept as revoked. Counts go to @sum
 * (revoked, failed, terminated, removed). 0, -ENOENT when nothing matched, -EHOSTUNREACH, or
 * another -errno. */
int gotrue_sessions_revoke(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *id,
			   const char *login, struct gotrue_refresh_summary *sum);

/* The same for @login's sessions, ending their Linux sessions only with revoked_session =
 * terminate (with log, each is revoked in GoTrue and its record kept as revoked while the
 * Linux session runs on): for a user a new fleet bundle no longer admits. */
int gotrue_sessions_revoke_as_configured(pam_handle_t *pamh, const struct gotrue_config *cfg,
					 const char *login, struct gotrue_refresh_summary *sum);

/* `gotruectl sessions gc`: remove revoked records, and the temp files of record writers killed
 * before their rename that are older than a minute. *@removed gets the count of both. 0 or
 * -errno. */
int gotrue_sessions_gc(pam_handle_t *pamh, const struct gotrue_config *cfg, unsigned int *removed);

#endif
