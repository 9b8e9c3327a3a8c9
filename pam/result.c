/* result: the module's one mapping from a flow's outcome (and, for API failures, the decoded
 * GoTrue error) to a PAM code, the table of pam_gotrue(8) RESULTS, and the one place where
 * ignore_unknown_user and ignore_authinfo_unavail apply (as nss-pam-ldapd's remap_pam_rc).
 * No path here returns PAM_SUCCESS except PG_OK. */
#include <config.h>

#include <string.h>
#include <syslog.h>
#include <security/pam_modules.h>

#include "log.h"
#include "pam_gotrue.h"

/* GoTrue error -> outcome. Codes are the normalised vocabulary of lib/client/gotrue_error.h;
 * v2.69's "Invalid login credentials" arrives as invalid_credentials/invalid_grant. */
enum pg_outcome pg_classify_error(const struct gotrue_error *err)
{
	enum pg_outcome out = PG_INTERNAL;

	switch (err->kind) {
	case GOTRUE_OK:
		out = PG_INTERNAL; /* an error path with no error: never success */
		break;
	case GOTRUE_ERR_TRANSPORT:
	case GOTRUE_ERR_TIMEOUT:
	case GOTRUE_ERR_TLS:
	case GOTRUE_ERR_TOO_LARGE:
	case GOTRUE_ERR_PROTOCOL: /* garbage or wrong types in a 2xx: the server is broken */
		out = PG_UNAVAILABLE;
		break;
	case GOTRUE_ERR_HTTP:
		if (err->http_status == 429 || strcmp(err->code, "over_request_rate_limit") == 0)
			out = PG_RATE_LIMITED;
		else if (err->http_status >= 500 || err->http_status < 400)
			out = PG_UNAVAILABLE;
		else if (strcmp(err->code, "invalid_credentials") == 0 ||
			 strcmp(err->code, "invalid_grant") == 0)
			out = PG_AUTH_FAILED;
		else if (strcmp(err->code, "user_banned") == 0)
			out = PG_BANNED;
		else if (strcmp(err->code, "email_not_confirmed") == 0 ||
			 strcmp(err->code, "phone_not_confirmed") == 0)
			out = PG_UNCONFIRMED;
		else if (strcmp(err->code, "user_not_found") == 0)
			out = PG_USER_UNKNOWN;
		else if (strcmp(err->code, "weak_password") == 0)
			out = PG_WEAK_PASSWORD;
		else
			out = PG_AUTH_FAILED; /* any other 4xx: refused, fail closed */
		break;
	case GOTRUE_ERR_CONFIG:
		out = PG_CONFIG;
		break;
	case GOTRUE_ERR_NOMEM:
	case GOTRUE_ERR_INTERNAL:
		out = PG_INTERNAL;
		break;
	}
	return out;
}

int pg_result(struct pg_ctx *ctx, enum pg_phase phase, enum pg_outcome outcome)
{
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	int rc = PAM_SYSTEM_ERR;

	if (outcome == PG_API_ERROR)
		outcome = pg_classify_error(&ctx->err);
	switch (outcome) {
	case PG_OK:
		rc = PAM_SUCCESS;
		break;
	case PG_AUTH_FAILED:
	case PG_UNCONFIRMED:
	case PG_BAD_TOKEN:
	case PG_NEEDS_FACTOR:
		rc = phase == PG_PHASE_ACCOUNT ? PAM_PERM_DENIED : PAM_AUTH_ERR;
		break;
	case PG_USER_UNKNOWN:
		rc = PAM_USER_UNKNOWN;
		break;
	case PG_BANNED:
		rc = phase == PG_PHASE_ACCOUNT ? PAM_ACCT_EXPIRED : PAM_PERM_DENIED;
		break;
	case PG_NOT_ALLOWED:
		rc = PAM_PERM_DENIED;
		break;
	case PG_UNAVAILABLE:
	case PG_RATE_LIMITED:
		rc = phase == PG_PHASE_SESSION ? PAM_SESSION_ERR : PAM_AUTHINFO_UNAVAIL;
		break;
	case PG_WEAK_PASSWORD:
		rc = PAM_AUTHTOK_ERR;
		break;
	case PG_NOT_OURS:
		rc = PAM_IGNORE;
		break;
	case PG_SESSION_KEPT:
		rc = PAM_SESSION_ERR;
		break;
	case PG_CONFIG:
		/* pam_sm_open_session(3) and pam_sm_close_session(3) know only PAM_SESSION_ERR. */
		rc = phase == PG_PHASE_SESSION ? PAM_SESSION_ERR : PAM_SERVICE_ERR;
		break;
	case PG_INTERNAL:
		rc = phase == PG_PHASE_SESSION ? PAM_SESSION_ERR : PAM_SYSTEM_ERR;
		break;
	case PG_API_ERROR: /* classified above; listed so the compiler checks coverage */
	default:
		gotrue_log(ctx->pamh, LOG_ERR, "unexpected outcome %d (%s); user=%s", (int)outcome,
			   gotrue_error_str(&ctx->err, why, sizeof(why)),
			   ctx->user ? ctx->user : "?");
		rc = phase == PG_PHASE_AUTH ? PAM_AUTH_ERR : PAM_SYSTEM_ERR;
		break;
	}
	return rc;
}

int pg_apply_ignore(const struct pg_args *args, int pam_rc)
{
	if (pam_rc == PAM_USER_UNKNOWN && args->ignore_unknown_user)
		return PAM_IGNORE;
	if (pam_rc == PAM_AUTHINFO_UNAVAIL && args->ignore_authinfo_unavail)
		return PAM_IGNORE;
	return pam_rc;
}
