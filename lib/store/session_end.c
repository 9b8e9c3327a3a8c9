/* session_end: whether GoTrue has already ended a session or refuses it for a ban, and the v2.69
 * rule that only the user's last active session on this host revokes (session_end.h). In
 * lib/store so that the PAM module has them without the refresh pass of lib/sync. */
#include <config.h>

#include "gotrue_error.h"
#include "session_end.h"

bool gotrue_lifecycle_session_gone(const struct gotrue_error *err)
{
	return gotrue_error_is(err, "session_not_found") ||
	       gotrue_error_is(err, "refresh_token_not_found") ||
	       gotrue_error_is(err, "user_not_found");
}

bool gotrue_lifecycle_user_banned(const struct gotrue_error *err)
{
	return gotrue_error_is(err, "user_banned");
}

int gotrue_lifecycle_other_sessions(struct gotrue_store *st, const struct gotrue_store_record *rec,
				    int timeout_ms, int *ulock)
{
	int rc;

	*ulock = gotrue_store_lock_user(st, rec->user_id, timeout_ms);
	if (*ulock < 0) {
		rc = *ulock;
		*ulock = -1;
		goto cleanup;
	}
	rc = gotrue_store_count_user(st, rec->user_id, GOTRUE_STORE_ACTIVE, rec->id);
cleanup:
	return rc;
}
