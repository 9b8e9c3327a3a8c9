/* throttle: the module's side of the local failure throttle (lib/store/throttle.h): who and from
 * where an attempt comes (PAM_USER, PAM_RHOST), what the user is told and what is logged. Any step
 * that learns that a secret was wrong (a password, a second-factor code, an offline attempt) calls
 * pg_throttle_fail(); authenticate checks before the first request and clears the user's count
 * after a success. */
#include <config.h>

#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <security/pam_ext.h>

#include "log.h"
#include "pam_gotrue.h"
#include "throttle.h"

static const char *rhost(struct pg_ctx *ctx)
{
	const void *item = NULL;

	if (pam_get_item(ctx->pamh, PAM_RHOST, &item) != PAM_SUCCESS)
		item = NULL;
	return item;
}

static const char *rhost_shown(const char *rh)
{
	return rh != NULL && *rh != '\0' ? rh : "(local)";
}

enum pg_outcome pg_throttle_check(struct pg_ctx *ctx)
{
	struct gotrue_throttle_verdict v;
	const char *rh = rhost(ctx);
	char msg[96];
	long minutes;
	enum pg_outcome out = PG_INTERNAL;

	if (gotrue_throttle_check(ctx->pamh, ctx->cfg, ctx->user, rh, time(NULL), &v) != 0) {
		/* Fail closed: a throttle that cannot be read could not stop a guesser either. */
		gotrue_log(ctx->pamh, LOG_ERR,
			   "cannot read the failure throttle, login refused; user=%s rhost=%s",
			   ctx->user, rhost_shown(rh));
		goto cleanup;
	}
	out = PG_OK;
	if (!v.locked)
		goto cleanup;
	/* pam_faillock's answer to a locked account: PAM_AUTH_ERR, with the time left. Not
	 * PAM_MAXTRIES, which tells the application to stop asking at all. */
	minutes = (v.wait + 59) / 60;
	snprintf(msg, sizeof(msg), "Too many failed attempts, try again in %ld minute%s.", minutes,
		 minutes == 1 ? "" : "s");
	pg_tell(ctx, PAM_ERROR_MSG, msg);
	gotrue_log(ctx->pamh, LOG_NOTICE,
		   "refused without asking the server: too many failed attempts for this %s "
		   "(%u), %ld s left; user=%s rhost=%s",
		   v.by == GOTRUE_THROTTLE_USER ? "user" : "host", v.failures, v.wait, ctx->user,
		   rhost_shown(rh));
	out = PG_AUTH_FAILED;
cleanup:
	return out;
}

void pg_throttle_fail(struct pg_ctx *ctx)
{
	if (gotrue_throttle_fail(ctx->pamh, ctx->cfg, ctx->user, rhost(ctx), time(NULL), NULL) != 0)
		gotrue_log(ctx->pamh, LOG_ERR, "cannot count a failed attempt; user=%s", ctx->user);
}

void pg_throttle_success(struct pg_ctx *ctx)
{
	/* Housekeeping after the decision, as step_refresh_entry: the login stands. */
	if (gotrue_throttle_success(ctx->pamh, ctx->cfg, ctx->user) != 0)
		gotrue_log(ctx->pamh, LOG_WARNING,
			   "cannot clear the failed attempts after a success; user=%s", ctx->user);
}
