/* email_code: signing in with a one-time code sent by email (login = email_code, or
 * password_or_email_code and an empty password; pam_gotrue(8), CODES BY EMAIL). POST /otp with
 * create_user false, so that no account is ever made by a login (transcript step 86: an unknown
 * address is then refused and no mail is sent), then POST /verify {type:"email"}, which both
 * generations take for a code sent by /otp (v2.69 checks it against the confirmation and the
 * recovery token alike: step 88; current servers: step 88). Only names pg_map_user found get
 * here: no request is sent for an unknown name. The code is a secret until used: it goes only
 * into the request body, which is wiped. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "api.h"
#include "log.h"
#include "pam_gotrue.h"
#include "secure.h"

/* "alice@example.com" -> "a***@example.com": enough to tell which mailbox to look in, not
 * enough to learn the address from a login prompt. */
static void mask_email(const char *email, char *out, size_t len)
{
	const char *at = strrchr(email, '@');

	if (at == NULL || at == email)
		snprintf(out, len, "your email address");
	else
		snprintf(out, len, "%c***%s", email[0], at);
}

/* The code the user read in the mail. */
static enum pg_outcome ask(struct pg_ctx *ctx, const char *email, char code[11])
{
	char shown[GOTRUE_USER_EMAIL_MAX + 8], msg[GOTRUE_USER_EMAIL_MAX + 64];

	mask_email(email, shown, sizeof(shown));
	snprintf(msg, sizeof(msg), "A sign-in code was sent to %s.", shown);
	pg_tell(ctx, PAM_TEXT_INFO, msg);
	return pg_ask_code(ctx, "Code from the email: ", "emailed code", NULL, code);
}

enum pg_outcome pg_email_code_signin(struct pg_ctx *ctx, const struct pg_mapped *m,
				     struct pg_signin *s)
{
	char code[11] = "";
	enum pg_outcome out = PG_AUTH_FAILED;

	if (m->email == NULL) {
		gotrue_log(ctx->pamh, LOG_NOTICE,
			   "no email address to send a sign-in code to; user=%s", ctx->user);
		pg_tell(ctx, PAM_ERROR_MSG, "There is no email address to send a code to.");
		goto cleanup;
	}
	if (gotrue_otp(s->client, m->email, NULL, false, &ctx->err) != 0) {
		out = pg_api_failed(ctx, "code by email: sending the code");
		goto cleanup;
	}
	gotrue_log(ctx->pamh, LOG_INFO, "sign-in code sent by email; user=%s", ctx->user);
	out = ask(ctx, m->email, code);
	if (out != PG_OK)
		goto cleanup;
	if (gotrue_verify(s->client, "email", m->email, NULL, code, &s->session, &ctx->err) != 0) {
		out = pg_api_failed(ctx, "code by email: verifying the code");
		goto cleanup;
	}
	if (s->session.access_token == NULL || !s->session.has_user || s->session.user.id == NULL) {
		gotrue_error_set(&ctx->err, GOTRUE_ERR_PROTOCOL, "verify without a session");
		out = pg_api_failed(ctx, "code by email: verifying the code");
		goto cleanup;
	}
	out = PG_OK;
cleanup:
	explicit_bzero(code, sizeof(code));
	return out;
}
