/* terminate: ending a Linux session whose GoTrue session was revoked (revoked_session=terminate,
 * `gotruectl sessions revoke`). */
#ifndef GOTRUE_TERMINATE_H
#define GOTRUE_TERMINATE_H

#include <security/pam_ext.h>

#include "store.h"

/* Tell the user on the record's tty (when it is a real terminal device) the one-line @reason
 * (a fixed text of ours, never a server message), then end the session: `loginctl
 * terminate-session XDG_SESSION_ID` where the id is known and loginctl exists, else SIGHUP and,
 * after @grace_ms, SIGKILL to the recorded session leader, each only while its /proc start time
 * still matches the record. 0 when the session is over (or was already), -errno otherwise. */
int gotrue_terminate_session(pam_handle_t *pamh, const struct gotrue_store_record *rec,
			     const char *reason, int grace_ms);

/* Only the message part: write "\r\npam_gotrue: @reason\r\n" to rec->tty. 0 or -errno (-ENOTTY
 * when the tty is unknown or not a character device). */
int gotrue_terminate_tell(pam_handle_t *pamh, const struct gotrue_store_record *rec,
			  const char *reason);

#endif
