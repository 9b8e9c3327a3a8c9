/* session_end: what ending a stored session takes, shared by close_session (pam/session.c) and
 * the refresh pass (lib/sync/lifecycle.c), so that the PAM module links it without the pass:
 * whether the server has already ended a session, and the v2.69 rule of revoking only with the
 * user's last active session on this host. */
#ifndef GOTRUE_SESSION_END_H
#define GOTRUE_SESSION_END_H

#include <stdbool.h>

#include "store.h"

/* The v2.69 policy of pam/session.c with old_server_logout = global, written once: on a server
 * that ignores /logout?scope (v2.69 ends every session of the user), a session is revoked only
 * by the last of its user's active sessions on this host. Takes the per-user lock (*@ulock,
 * released by the caller with gotrue_store_unlock once its /logout is done) and returns how many
 * other active records of rec->user_id exist, or -errno. */
int gotrue_lifecycle_other_sessions(struct gotrue_store *st, const struct gotrue_store_record *rec,
				    int timeout_ms, int *ulock);

/* True when @err says the server no longer knows the session: refresh_token_not_found,
 * refresh_token_already_used, session_not_found, user_banned, user_not_found
 * (lib/client/gotrue_error.c maps the old servers' messages to these codes), or any other 4xx
 * but 429. */
struct gotrue_error;
bool gotrue_lifecycle_session_gone(const struct gotrue_error *err);

#endif
