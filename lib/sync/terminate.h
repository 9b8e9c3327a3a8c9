/* terminate: ending a Linux session whose GoTrue session is over (revoked_session=terminate,
 * `gotruectl sessions revoke`). */
#ifndef GOTRUE_TERMINATE_H
#define GOTRUE_TERMINATE_H

#include <security/pam_ext.h>

#include "store.h"

/* End every process of @rec's Linux session: tell the user the one-line @reason (a fixed text of
 * ours, never a server message) on each terminal the session's processes hold; then `loginctl
 * terminate-session` where the leader sits in a logind scope; then SIGHUP, SIGTERM and, after
 * @grace_ms, SIGKILL to each process of the session (by its audit session id, else its logind
 * scope, else the recorded leader alone), each only while it is provably the process found.
 * Nothing is signalled while the recorded leader's start time cannot be checked. Runs for up to
 * about twice @grace_ms (and loginctl's own time); the caller holds no lock the session's close
 * needs. 0 when the session is over (or was already), -errno otherwise (-ENODATA: refused,
 * logged). */
int gotrue_terminate_session(pam_handle_t *pamh, const struct gotrue_store_record *rec,
			     const char *reason, int grace_ms);

#endif
