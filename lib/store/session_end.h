/* session_end: what ending a stored session takes, shared by close_session (pam/session.c) and
 * the refresh pass (lib/sync/lifecycle.c), so that the PAM module links it without the pass:
 * whether the server has already ended a session or refuses it for a ban, and the v2.69 rule of
 * revoking only with the user's last active session on this host. */
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

/* True when @err is the server's word that it no longer knows the session: session_not_found,
 * refresh_token_not_found, or user_not_found (a deleted user's sessions go with the user);
 * lib/client/gotrue_error.c maps the old servers' messages to these codes. Nothing else is: a
 * ban, an expired access token or any other refusal leaves the session on the server, to be
 * revoked. */
struct gotrue_error;
bool gotrue_lifecycle_session_gone(const struct gotrue_error *err);
/* True when @err refuses the request because the user is banned (user_banned): the session stays
 * on the server, and its refresh token works again after an unban. */
bool gotrue_lifecycle_user_banned(const struct gotrue_error *err);

#endif
