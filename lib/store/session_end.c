/* session_end: whether GoTrue has already ended a session, and the v2.69 rule that only the
 * user's last active session on this host revokes (session_end.h). In lib/store so that the PAM
 * module has them without the refresh pass of lib/sync. */
#include <config.h>

#include <string.h>

#include "gotrue_error.h"
#include "session_end.h"

bool gotrue_lifecycle_session_gone(const struct gotrue_error *err)
{
	static const char *const gone[] = {"refresh_token_not_found",
					   "refresh_token_already_used",
					   "session_not_found",
					   "session_expired",
					   "user_banned",
					   "user_not_found"};
	size_t i;

	if (err->kind != GOTRUE_ERR_HTTP)
		return false;
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		if (strcmp(err->code, gone[i]) == 0)
			return true;
	}
	/* Any other refusal of the request itself (401 expired JWT, 403, 404) also means there
	 * is nothing left that this record could revoke; 429 only means later. */
	return err->http_status >= 400 && err->http_status < 500 && err->http_status != 429;
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
