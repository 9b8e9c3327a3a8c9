/* offline: logging in while GoTrue cannot be reached (pam_gotrue(8), OFFLINE LOGIN), with the
 * verifier of the password that a recent online login left (lib/store/offline.h). Off unless
 * offline_login = yes. authenticate comes here only when the server gave no answer it could
 * use (PG_UNAVAILABLE: unreachable, timed out, 5xx, a broken answer); never after a refusal (a
 * wrong password, a ban, an unconfirmed address) nor a rate limit, which keep their answers. The
 * account index of the last sync must still admit the user, and a user with a second factor is
 * refused unless offline_mfa = allow, since the factor cannot be checked without the server. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <security/pam_ext.h>

#include "log.h"
#include "offline.h"
#include "pam_gotrue.h"
#include "store.h"

void pg_offline_remember(struct pg_ctx *ctx, const char *user_id, const char *password,
			 const char *aal)
{
	struct gotrue_offline_verifier v;
	int rc;

	if (!ctx->cfg->offline_login || user_id == NULL || password == NULL)
		return;
	rc = gotrue_offline_make(user_id, ctx->user, password,
				 aal != NULL && strcmp(aal, "aal2") == 0, time(NULL), &v);
	if (rc == 0)
		rc = gotrue_offline_store(ctx->pamh, ctx->cfg->state_dir, &v);
	else
		gotrue_log(ctx->pamh, LOG_ERR, "cannot make the offline verifier (%s); user=%s",
			   rc == -ENOSYS ? "libcrypt has no yescrypt"
					 : "not a user id or login it can keep",
			   ctx->user);
	/* After the decision, as the entry refresh: the login stands; the next one tries again. */
	if (rc != 0)
		gotrue_log(ctx->pamh, LOG_WARNING,
			   "offline verifier not kept: no offline login until the next online one "
			   "succeeds; user=%s",
			   ctx->user);
	else
		gotrue_debug(ctx->pamh, ctx->cfg->debug, "offline verifier kept; user=%s",
			     ctx->user);
	gotrue_offline_clear(&v);
}

void pg_offline_forget(struct pg_ctx *ctx, const char *user_id, const char *why)
{
	if (user_id == NULL || !gotrue_offline_id_valid(user_id))
		return;
	if (gotrue_offline_forget(ctx->pamh, ctx->cfg->state_dir, user_id) == 0)
		gotrue_log(ctx->pamh, LOG_INFO, "offline verifier erased (%s); user=%s", why,
			   ctx->user);
}

/* The account index's word, the one source there is offline: listed under this name (never the
 * name@domain guess), not banned, admitted. *@groups gets its groups for the session record. */
static enum pg_outcome index_admits(struct pg_ctx *ctx, const struct pg_mapped *m, char ***groups)
{
	size_t i, n = m->entry.n_groups;
	enum pg_outcome out = PG_UNAVAILABLE;

	if (!m->indexed || m->user_id == NULL) {
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"no offline login: not in the account index");
		goto cleanup;
	}
	out = PG_BANNED;
	if (m->entry.banned_until > time(NULL)) {
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"offline login refused: banned (account index)");
		goto cleanup;
	}
	/* Filled in place: the caller frees what there is, whatever comes back. */
	out = PG_INTERNAL;
	*groups = calloc(n + 1, sizeof(**groups));
	for (i = 0; *groups != NULL && i < n; i++)
		if (((*groups)[i] = strdup(m->entry.groups[i])) == NULL)
			goto cleanup;
	if (*groups != NULL)
		out = pg_groups_allowed(ctx, *groups) ? PG_OK : PG_NOT_ALLOWED;
cleanup:
	return out;
}

/* What a verdict other than a match comes to, logged and told. */
static enum pg_outcome refused(struct pg_ctx *ctx, enum gotrue_offline_verdict verdict,
			       const struct gotrue_offline_verifier *seen)
{
	const struct gotrue_config *cfg = ctx->cfg;
	enum pg_outcome out = PG_UNAVAILABLE;
	const char *why = NULL;

	switch (verdict) {
	case GOTRUE_OFFLINE_MISMATCH:
		ctx->secret_refused = true; /* a guess: the throttle counts it too */
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"offline login: wrong password (%u of %ld attempts before the "
				"verifier is erased)",
				seen->failures, cfg->offline_attempts);
		out = PG_AUTH_FAILED;
		break;
	case GOTRUE_OFFLINE_EXHAUSTED:
		ctx->secret_refused = true;
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"offline login: wrong password, %ld attempts: verifier erased, the "
				"next login must reach the server",
				cfg->offline_attempts);
		out = PG_AUTH_FAILED;
		break;
	case GOTRUE_OFFLINE_NEEDS_FACTOR:
		pg_tell(ctx, PAM_ERROR_MSG,
			"Offline login is not possible for an account with a second factor.");
		why = cfg->offline_mfa == GOTRUE_OFFLINE_MFA_REFUSE
			      ? "the user has a second factor (offline_mfa = refuse)"
			      : "mfa = required, and the last online login had no second factor";
		break;
	case GOTRUE_OFFLINE_EXPIRED:
		why = "the last online login is older than offline_days; verifier erased";
		break;
	case GOTRUE_OFFLINE_MISFIT:
		why = "the verifier was made for another login name or was damaged; erased";
		break;
	case GOTRUE_OFFLINE_NONE:
	default:
		why = "no verifier (no online login on this host with offline_login on)";
		break;
	}
	if (why != NULL)
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user, "no offline login: %s", why);
	return out;
}

enum pg_outcome pg_offline_login(struct pg_ctx *ctx, const struct pg_mapped *m,
				 const char *password, struct pg_signin *s, char ***groups)
{
	const struct gotrue_config *cfg = ctx->cfg;
	struct gotrue_offline_verifier seen = {0};
	struct gotrue_offline_try t = {
		.user_id = m->user_id,
		.login = ctx->user,
		.password = password,
		.now = time(NULL),
		.max_age = cfg->offline_days * 86400L,
		.max_failures = (unsigned int)cfg->offline_attempts,
		.has_factor = m->indexed && m->entry.mfa,
		.factor_allowed = cfg->offline_mfa == GOTRUE_OFFLINE_MFA_ALLOW,
		.factor_required = cfg->mfa == GOTRUE_MFA_REQUIRED,
	};
	enum gotrue_offline_verdict verdict;
	enum pg_outcome out = PG_UNAVAILABLE;

	if (!cfg->offline_login)
		goto cleanup;
	/* Whatever an online step got before the server failed (an aal1 session whose keys could
	 * not be fetched) is not this login's: wiped, never stored. */
	pg_signin_clear(s);
	out = index_admits(ctx, m, groups);
	if (out != PG_OK)
		goto cleanup;
	if (gotrue_offline_try(ctx->pamh, cfg->state_dir, &t, &verdict, &seen) != 0) {
		out = PG_UNAVAILABLE; /* logged; fail closed */
		goto cleanup;
	}
	if (verdict != GOTRUE_OFFLINE_MATCH) {
		out = refused(ctx, verdict, &seen);
		goto cleanup;
	}
	out = PG_INTERNAL;
	s->user.id = strdup(m->user_id);
	if (s->user.id == NULL)
		goto cleanup;
	s->session.expires_at = GOTRUE_STORE_OFFLINE_EXPIRES;
	pg_tell(ctx, PAM_TEXT_INFO,
		"Logged in offline: the authentication service cannot be reached.");
	out = PG_OK;
cleanup:
	gotrue_offline_clear(&seen);
	return out;
}
