/* auth: pam_sm_authenticate as a sequence of steps over one state (DESIGN.md "Logging in").
 * A second factor or a one-time code is one more entry in auth_steps[]. The tokens end in the store
 * as a pending record whose id goes into the PAM environment, because sshd authenticates in a
 * forked child and only the environment comes back (DESIGN.md "Trap"). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "api.h"
#include "jwt.h"
#include "log.h"
#include "pam_gotrue.h"
#include "secure.h"
#include "session.h"
#include "store.h"
#include "sync.h"

struct auth_state {
	struct pg_ctx *ctx;
	struct pg_mapped mapped;
	const char *password; /* owned by libpam (PAM_AUTHTOK) */
	struct gotrue_client *client;
	struct gotrue_session session;
	struct gotrue_claims claims;
	struct gotrue_user user;       /* the signed-in user as the verified token states it */
	struct gotrue_account account; /* that user, mapped as sync would */
	char **groups;
	char handle[GOTRUE_STORE_ID_LEN + 1];
};

typedef enum pg_outcome (*auth_step)(struct auth_state *st);

static void tell_outcome(struct pg_ctx *ctx, enum pg_outcome out)
{
	switch (out) {
	case PG_BANNED:
		pg_tell(ctx, PAM_ERROR_MSG, "Your account is locked.");
		break;
	case PG_NOT_ALLOWED:
		pg_tell(ctx, PAM_ERROR_MSG, "You are not allowed to log in to this host.");
		break;
	case PG_UNCONFIRMED:
		pg_tell(ctx, PAM_ERROR_MSG, "Email address not confirmed.");
		break;
	case PG_UNAVAILABLE:
		pg_tell(ctx, PAM_ERROR_MSG, "Authentication service unavailable, try again later.");
		break;
	case PG_RATE_LIMITED:
		pg_tell(ctx, PAM_ERROR_MSG, "Too many login attempts, try again later.");
		break;
	default:
		break; /* a wrong password gets no hint, as with pam_unix */
	}
}

static enum pg_outcome step_map_user(struct auth_state *st)
{
	return pg_map_user(st->ctx, &st->mapped);
}

static enum pg_outcome step_get_password(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	const void *item = NULL;
	const char *tok = NULL;
	int rc;

	/* use_first_pass: only a password an earlier module got; try_first_pass: that one if
	 * present, else ask. pam_get_authtok(3) alone would ask in both cases. */
	if (ctx->args.use_first_pass || ctx->args.try_first_pass) {
		if (pam_get_item(ctx->pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL)
			tok = item;
		else if (ctx->args.use_first_pass)
			return PG_AUTH_FAILED;
	}
	if (tok == NULL) {
		rc = pam_get_authtok(ctx->pamh, PAM_AUTHTOK, &tok, NULL);
		if (rc != PAM_SUCCESS || tok == NULL)
			return PG_AUTH_FAILED;
	}
	if (*tok == '\0') {
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user, "empty password refused");
		return PG_AUTH_FAILED;
	}
	st->password = tok;
	return PG_OK;
}

/* POST /token?grant_type=password */
static enum pg_outcome step_sign_in(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	struct gotrue_credentials cred = {
		.email = st->mapped.email, .phone = st->mapped.phone, .password = st->password};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum pg_outcome out;

	if (gotrue_config_load_secret(ctx->pamh, ctx->cfg, GOTRUE_SECRET_API_KEY) != 0)
		return PG_CONFIG;
	st->client = gotrue_client_new(ctx->pamh, ctx->cfg);
	if (st->client == NULL)
		return PG_CONFIG;
	if (gotrue_signin_password(st->client, &cred, &st->session, &ctx->err) == 0) {
		if (st->session.access_token == NULL || !st->session.has_user ||
		    st->session.user.id == NULL) {
			gotrue_error_set(&ctx->err, GOTRUE_ERR_PROTOCOL,
					 "sign-in without a session");
			return PG_API_ERROR;
		}
		return PG_OK;
	}
	out = pg_classify_error(&ctx->err);
	gotrue_log_auth(ctx->pamh, out == PG_AUTH_FAILED ? LOG_NOTICE : LOG_ERR, ctx->user,
			"sign-in failed (%s)", gotrue_error_str(&ctx->err, why, sizeof(why)));
	return out;
}

/* The token must be GoTrue's, for this audience, about the user the answer names. */
static enum pg_outcome step_verify_token(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	struct gotrue_verifier *v = NULL;
	struct gotrue_jwt_expect expect = {0};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum pg_outcome out = PG_CONFIG;

	if (gotrue_config_load_secret(ctx->pamh, ctx->cfg, GOTRUE_SECRET_JWT_SECRET) != 0)
		goto cleanup;
	v = gotrue_verifier_from_config(ctx->pamh, ctx->cfg, st->client, &ctx->err);
	if (v == NULL) {
		gotrue_log(ctx->pamh, LOG_ERR, "no usable token verification key (%s); user=%s",
			   gotrue_error_str(&ctx->err, why, sizeof(why)), ctx->user);
		goto cleanup;
	}
	expect.aud = ctx->cfg->jwt_aud;
	expect.iss = ctx->cfg->jwt_iss;
	expect.sub = st->session.user.id;
	expect.leeway = ctx->cfg->jwt_leeway;
	expect.require_exp = true;
	if (gotrue_jwt_verify(v, st->session.access_token, &expect, &st->claims, &ctx->err) != 0) {
		gotrue_log_auth(ctx->pamh, LOG_ALERT, ctx->user,
				"access token failed verification, possible attack (%s)",
				gotrue_error_str(&ctx->err, why, sizeof(why)));
		out = PG_BAD_TOKEN;
		goto cleanup;
	}
	out = PG_OK;
cleanup:
	gotrue_verifier_free(v);
	return out;
}

/* Identity and access come from the verified claims alone (DESIGN.md "Logging in" 4). The
 * answer's user object is unsigned: where it states a signed field otherwise than the token
 * does, something between us and GoTrue rewrote it, and the login is refused as an attack. */
static enum pg_outcome step_trust_claims(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	const struct gotrue_user *body = &st->session.user;
	char why[256] = "";

	if (gotrue_user_from_claims(st->claims.all, body, &st->user, why, sizeof(why)) != 0) {
		gotrue_log_auth(ctx->pamh, LOG_ALERT, ctx->user,
				"the answer's user disagrees with the verified token, possible "
				"attack (%s)",
				why);
		return PG_BAD_TOKEN;
	}
	/* The token carries no confirmation time. GoTrue refuses the password grant for an
	 * unconfirmed address (email_not_confirmed), so a sign-in with this very address vouches
	 * for it; otherwise (a phone sign-in) the body's word alone would grant a name. */
	if (st->mapped.email == NULL || st->user.email == NULL ||
	    strcasecmp(st->mapped.email, st->user.email) != 0) {
		st->user.email_confirmed_at = 0;
		st->user.confirmed_at = 0;
	}
	return PG_OK;
}

static enum pg_outcome step_check_account(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	const struct gotrue_user *u = &st->user;
	enum pg_outcome out = PG_INTERNAL;

	if (gotrue_user_is_banned(u, time(NULL))) {
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user, "account banned");
		out = PG_BANNED;
		goto cleanup;
	}
	/* The account must be the one the index named, and map back to this very login name
	 * (the name@domain fallback is only a guess: app_metadata.username may say otherwise). */
	if (!pg_user_matches(ctx, &st->mapped, u, &st->account)) {
		out = PG_USER_UNKNOWN;
		goto cleanup;
	}
	st->groups = pg_app_groups(u);
	if (!pg_groups_allowed(ctx, st->groups)) {
		out = PG_NOT_ALLOWED;
		goto cleanup;
	}
	out = PG_OK;
cleanup:
	return out;
}

static void free_handle(pam_handle_t *pamh, void *data, int error_status)
{
	gotrue_wipe_free_str(data);
}

/* The pending record, and its id in the PAM environment for open_session. */
static enum pg_outcome step_keep_tokens(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	struct gotrue_store *store = NULL;
	struct gotrue_store_record rec = {0};
	char env[sizeof(PG_ENV_HANDLE) + GOTRUE_STORE_ID_LEN + 2];
	char *copy = NULL;
	enum pg_outcome out = PG_INTERNAL;

	store = gotrue_store_open(ctx->pamh, ctx->cfg->state_dir);
	if (store == NULL || gotrue_store_new_id(rec.id) != 0)
		goto cleanup;
	rec.state = GOTRUE_STORE_PENDING;
	rec.user_id = st->user.id;
	rec.login = (char *)ctx->user;
	rec.session_id = st->claims.session_id;
	rec.access_token = st->session.access_token;
	rec.refresh_token = st->session.refresh_token;
	rec.expires_at = st->claims.exp ? st->claims.exp : st->session.expires_at;
	rec.banned_until = st->user.banned_until;
	rec.groups = st->groups;
	if (gotrue_store_write(store, &rec) != 0) {
		/* The write may have failed after the rename (the directory fsync): a record with
		 * live tokens must not outlive a failed authentication. ENOENT is the usual case.
		 */
		gotrue_store_remove(store, rec.id);
		goto cleanup;
	}
	snprintf(env, sizeof(env), "%s=%s", PG_ENV_HANDLE, rec.id);
	copy = strdup(rec.id);
	if (copy == NULL || pam_putenv(ctx->pamh, env) != PAM_SUCCESS ||
	    pam_set_data(ctx->pamh, PG_DATA_HANDLE, copy, free_handle) != PAM_SUCCESS) {
		gotrue_store_remove(store, rec.id);
		free(copy);
		goto cleanup;
	}
	memcpy(st->handle, rec.id, sizeof(st->handle));
	out = PG_OK;
cleanup:
	gotrue_store_close(store);
	return out;
}

/* DESIGN.md "Data flow" 1: a successful login also refreshes this user's entry in the account
 * index and the NSS cache, from the verified claims (the /token answer carries the same user as
 * GET /user, so this costs no request). Only a changed entry is written (gotrue_sync_one_user
 * rewrites both files whole, and every NSS reader then maps the cache again), so an ordinary
 * login writes nothing; a login never changes its uid or created_at, which
 * gotrue_sync_one_user keeps, so a difference there alone is no change. This runs after the
 * decision and is housekeeping, not part of it: fail closed is about who gets in, and that was
 * settled from the verified token and the account checks above. So a failure here is logged and
 * the login stands; the next sync writes the entry. */
static enum pg_outcome step_refresh_entry(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	int rc;

	if (st->mapped.indexed) {
		st->account.uid = st->mapped.entry.uid;
		st->account.gid = st->mapped.entry.gid;
		st->account.created_at = st->mapped.entry.created_at;
		if (pg_account_equal(&st->mapped.entry, &st->account))
			goto cleanup;
	}
	rc = gotrue_sync_one_user(ctx->pamh, ctx->cfg, &st->user, NULL);
	if (rc < 0)
		gotrue_log(ctx->pamh, LOG_WARNING,
			   "cannot update the account entry; the next sync will; user=%s",
			   ctx->user);
	else if (rc == 0)
		gotrue_log(ctx->pamh, LOG_INFO, "account entry updated from GoTrue; user=%s",
			   ctx->user);
cleanup:
	return PG_OK;
}

static const auth_step auth_steps[] = {
	step_map_user,	   step_get_password,  step_sign_in,	 step_verify_token,
	step_trust_claims, step_check_account, step_keep_tokens, step_refresh_entry,
};

enum pg_outcome pg_authenticate(struct pg_ctx *ctx)
{
	struct auth_state st = {.ctx = ctx};
	struct gotrue_error ignored = {0};
	enum pg_outcome out = PG_OK;
	size_t i;

	/* libpam applies the longest delay asked for, and only when the stack fails. */
	pam_fail_delay(ctx->pamh, PG_FAIL_DELAY_USEC);
	for (i = 0; out == PG_OK && i < sizeof(auth_steps) / sizeof(auth_steps[0]); i++)
		out = auth_steps[i](&st);
	if (out == PG_API_ERROR)
		out = pg_classify_error(&ctx->err);
	if (out == PG_OK) {
		gotrue_log_auth(ctx->pamh, LOG_INFO, ctx->user, "authenticated");
	} else {
		tell_outcome(ctx, out);
		/* A session we got but refuse should not linger on the server. Only scope=local is
		 * safe, and only a current server honours it (v2.69 would end every session of the
		 * user, on every host), so without that knowledge it is left to expire. */
		if (st.session.access_token != NULL && out != PG_BAD_TOKEN &&
		    ctx->cfg->server == GOTRUE_SERVER_CURRENT)
			gotrue_signout(st.client, st.session.access_token, GOTRUE_LOGOUT_LOCAL,
				       &ignored);
	}
	gotrue_error_clear(&ignored);
	gotrue_client_free(st.client);
	gotrue_session_clear(&st.session);
	gotrue_claims_clear(&st.claims);
	gotrue_user_clear(&st.user);
	gotrue_account_clear(&st.account);
	pg_strv_free(st.groups);
	pg_mapped_clear(&st.mapped);
	return out;
}
