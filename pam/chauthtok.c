/* chauthtok: pam_sm_chauthtok. The old password is confirmed by a fresh sign-in (POST /token), the
 * second factor asked where the user has one (mfa.c), the new password set with PUT /user
 * {"password"} on that session, which is then signed out with
 * scope=local (on an old server, whose /logout ends every session of the user, only forgotten
 * unless old_server_logout = global; the user is told beforehand). libpam asks for the new
 * password twice; the server judges its strength and its weak_password reasons are shown to the
 * user. */
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
#include "session.h"

/* Sign in with the old password (*@old, libpam's); on success @client and @s hold a live
 * session. */
static enum pg_outcome confirm_old(struct pg_ctx *ctx, struct gotrue_client *client,
				   const struct pg_mapped *m, struct gotrue_session *s,
				   const char **old)
{
	struct gotrue_credentials cred = {.email = m->email, .phone = m->phone};
	enum pg_outcome out;

	*old = NULL;
	if (pam_get_authtok(ctx->pamh, PAM_OLDAUTHTOK, old, NULL) != PAM_SUCCESS || *old == NULL ||
	    **old == '\0')
		return PG_AUTH_FAILED;
	cred.password = *old;
	if (gotrue_signin_password(client, &cred, s, &ctx->err) != 0) {
		out = pg_classify_error(&ctx->err);
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"password change: old password refused");
		if (out == PG_UNAVAILABLE || out == PG_RATE_LIMITED)
			pg_tell(ctx, PAM_ERROR_MSG,
				"Authentication service unavailable, try again later.");
		return out;
	}
	return s->access_token != NULL ? PG_OK : PG_UNAVAILABLE;
}

/* The server's sentence (both generations send one: "Password should be at least 6
 * characters"), then current servers' weak_password reasons; neither holds a secret. */
static void tell_weak(struct pg_ctx *ctx)
{
	const char *text = ctx->err.message, *reasons = ctx->err.weak_password_reasons;
	char msg[GOTRUE_ERROR_MSG_MAX + 128];
	int n = (int)strlen(text);

	while (n > 0 && text[n - 1] == '.')
		n--;
	if (n > 0 && reasons != NULL)
		snprintf(msg, sizeof(msg), "Password too weak: %.*s (%.64s).", n, text, reasons);
	else if (n > 0)
		snprintf(msg, sizeof(msg), "Password too weak: %.*s.", n, text);
	else
		snprintf(msg, sizeof(msg), "Password too weak: %.64s.",
			 reasons != NULL ? reasons : "refused by the server");
	pg_tell(ctx, PAM_ERROR_MSG, msg);
}

static enum pg_outcome set_new(struct pg_ctx *ctx, struct gotrue_client *client,
			       const struct gotrue_session *s)
{
	json_object *update = NULL, *pw;
	struct gotrue_user u = {0};
	const char *newtok = NULL;
	enum pg_outcome out = PG_AUTH_FAILED;

	if (pam_get_authtok(ctx->pamh, PAM_AUTHTOK, &newtok, NULL) != PAM_SUCCESS ||
	    newtok == NULL || *newtok == '\0')
		goto cleanup;
	out = PG_INTERNAL;
	update = json_object_new_object();
	pw = json_object_new_string(newtok);
	if (update == NULL || pw == NULL || json_object_object_add(update, "password", pw) != 0) {
		json_object_put(pw);
		goto cleanup;
	}
	if (gotrue_user_update(client, s->access_token, update, &u, &ctx->err) != 0) {
		out = pg_classify_error(&ctx->err);
		if (out == PG_WEAK_PASSWORD) {
			tell_weak(ctx);
		} else if (gotrue_error_is(&ctx->err, "same_password")) {
			pg_tell(ctx, PAM_ERROR_MSG,
				"The new password must differ from the old one.");
			out = PG_WEAK_PASSWORD;
		}
		gotrue_log(ctx->pamh, LOG_NOTICE, "password change refused (%s); user=%s",
			   ctx->err.code, ctx->user);
		goto cleanup;
	}
	gotrue_log(ctx->pamh, LOG_INFO, "password changed; user=%s", ctx->user);
	out = PG_OK;
cleanup:
	if (update != NULL) {
		/* json-c frees without wiping: clear the password's copy first. */
		if (json_object_object_get_ex(update, "password", &pw))
			explicit_bzero((char *)json_object_get_string(pw),
				       (size_t)json_object_get_string_len(pw));
		json_object_put(update);
	}
	gotrue_user_clear(&u);
	return out;
}

/* What the change ends, said before the old password is asked for (PAM_PRELIM_CHECK), and
 * whether the temporary session is signed out at the end (*@logout). On an old server (GoTrue
 * before v2.78: transcript steps 55-57 and 63-65) a password change ends no session, and a
 * /logout ends every session of the user, on every host and in the web application: so by
 * default (old_server_logout = forget) the temporary session is only forgotten. A server whose
 * generation is unknown is treated as old, and then nothing is said. */
static void plan_logout(struct pg_ctx *ctx, struct gotrue_client *client, int flags, bool *logout)
{
	struct gotrue_error err = {0};
	bool honours = false, known;

	known = gotrue_server_honours_logout_scope(client, ctx->cfg->server, &honours, &err) == 0;
	gotrue_error_clear(&err);
	*logout = honours || (known && ctx->cfg->old_server_logout == GOTRUE_OLD_LOGOUT_GLOBAL);
	if (honours || !known || !(flags & PAM_PRELIM_CHECK))
		return;
	pg_tell(ctx, PAM_TEXT_INFO,
		*logout ? "Note: on this server, changing your password here signs you out of "
			  "every session: on every host and in the web application."
			: "Note: this server keeps your other sessions (on other hosts and in the "
			  "web application) signed in when your password changes.");
}

/* A user with a verified second factor changes the password from an aal2 session only: current
 * servers refuse PUT /user from an aal1 one (401 insufficient_aal, transcript step 209), and the
 * factor is never skipped. Asked in the update phase alone, so that one code is enough. */
static enum pg_outcome step_up(struct pg_ctx *ctx, const struct pg_mapped *m, struct pg_signin *si,
			       const char *old)
{
	enum pg_outcome out = pg_verify_signin(ctx, m, si);

	return out == PG_OK ? pg_second_factor(ctx, m, si, old, NULL) : out;
}

enum pg_outcome pg_chauthtok(struct pg_ctx *ctx, int flags)
{
	struct pg_signin si = {0};
	struct gotrue_session *s = &si.session;
	struct gotrue_client *client = NULL;
	struct gotrue_error ignored = {0};
	struct pg_mapped mapped = {0};
	const char *old = NULL;
	enum pg_outcome out;
	bool logout = false;

	out = pg_map_user(ctx, &mapped);
	if (out != PG_OK)
		goto cleanup;
	out = PG_CONFIG;
	if (gotrue_config_load_secret(ctx->pamh, ctx->cfg, GOTRUE_SECRET_API_KEY) != 0)
		goto cleanup;
	client = si.client = gotrue_client_new(ctx->pamh, ctx->cfg);
	if (client == NULL)
		goto cleanup;
	plan_logout(ctx, client, flags, &logout);
	out = confirm_old(ctx, client, &mapped, s, &old);
	if (out != PG_OK || !(flags & PAM_UPDATE_AUTHTOK))
		goto cleanup;
	out = step_up(ctx, &mapped, &si, old);
	if (out == PG_OK)
		out = set_new(ctx, client, s);
	/* The old password's offline verifier must not outlive it (offline.c). */
	if (out == PG_OK)
		pg_offline_forget(ctx, si.user.id != NULL ? si.user.id : mapped.user_id,
				  "password changed");
cleanup:
	/* The temporary session ends here, whatever happened: scope=local ends only this one on a
	 * current server; on an old one it is signed out only with old_server_logout = global
	 * (pam_gotrue(8), old servers), else forgotten: its tokens are wiped below. */
	if (s->access_token != NULL && logout)
		gotrue_signout(client, s->access_token, GOTRUE_LOGOUT_LOCAL, &ignored);
	else if (s->access_token != NULL)
		gotrue_log(ctx->pamh, LOG_INFO,
			   "password change: temporary session forgotten without /logout (old "
			   "server); user=%s",
			   ctx->user);
	gotrue_error_clear(&ignored);
	pg_signin_clear(&si);
	gotrue_client_free(client);
	pg_mapped_clear(&mapped);
	return out;
}
