/* auth: pam_sm_authenticate as a sequence of steps over one state.
 * A second factor or a one-time code is one more entry in auth_steps[]. The tokens end in the store
 * as a pending record whose id goes into the PAM environment, because sshd authenticates in a
 * forked child and only the environment comes back (pam_set_data made there is lost). */
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
#include "gotrue_jwt.h"
#include "log.h"
#include "pam_gotrue.h"
#include "secure.h"
#include "session.h"
#include "store.h"
#include "sync_write.h"

struct auth_state {
	struct pg_ctx *ctx;
	struct pg_mapped mapped;
	const char *password; /* owned by libpam (PAM_AUTHTOK); NULL for an emailed code */
	bool by_email;	      /* sign in with a code sent by email (login = ...email_code) */
	struct pg_signin si;
	struct gotrue_factor used;     /* the second factor this login used, if any */
	struct gotrue_account account; /* the user, mapped as sync would */
	char **groups;
	char handle[GOTRUE_STORE_ID_LEN + 1];
	bool offline; /* authenticated by the offline verifier (offline.c): no token */
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
	case PG_NEEDS_FACTOR:
		pg_tell(ctx, PAM_ERROR_MSG,
			"This host requires a second factor: add an authenticator app to your "
			"account, then log in again.");
		break;
	default:
		break; /* a wrong password gets no hint, as with pam_unix */
	}
}

static enum pg_outcome step_map_user(struct auth_state *st)
{
	return pg_map_user(st->ctx, &st->mapped);
}

/* Before anything is asked or sent: a user or host over its failure limit gets no request
 * (lib/store/throttle.h). */
static enum pg_outcome step_throttle(struct auth_state *st)
{
	return pg_throttle_check(st->ctx);
}

/* The password, as use_first_pass, try_first_pass or a prompt gives it. *@tok NULL: none given
 * (use_first_pass without an earlier module's password). */
static enum pg_outcome read_password(struct pg_ctx *ctx, const char *prompt, const char **tok)
{
	const void *item = NULL;

	*tok = NULL;
	/* use_first_pass: only a password an earlier module got; try_first_pass: that one if
	 * present, else ask. pam_get_authtok(3) alone would ask in both cases. */
	if (ctx->args.use_first_pass || ctx->args.try_first_pass) {
		if (pam_get_item(ctx->pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL)
			*tok = item;
		else if (ctx->args.use_first_pass)
			return PG_AUTH_FAILED;
	}
	if (*tok == NULL &&
	    (pam_get_authtok(ctx->pamh, PAM_AUTHTOK, tok, prompt) != PAM_SUCCESS || *tok == NULL))
		return PG_AUTH_FAILED;
	return PG_OK;
}

/* login = password: the password. email_code: nothing asked here (email_code.c asks for the
 * code). password_or_email_code: an empty password asks for a code by email instead. */
static enum pg_outcome step_get_credential(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	enum gotrue_login_method how = ctx->cfg->login;
	const char *tok = NULL;
	enum pg_outcome out;

	if (how == GOTRUE_LOGIN_EMAIL_CODE) {
		st->by_email = true;
		return PG_OK;
	}
	out = read_password(ctx,
			    how == GOTRUE_LOGIN_PASSWORD_OR_EMAIL_CODE
				    ? "Password (or Enter for a code by email): "
				    : NULL,
			    &tok);
	if (out != PG_OK)
		return out;
	if (*tok == '\0' && how == GOTRUE_LOGIN_PASSWORD_OR_EMAIL_CODE) {
		st->by_email = true;
		return PG_OK;
	}
	if (*tok == '\0') {
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user, "empty password refused");
		return PG_AUTH_FAILED;
	}
	st->password = tok;
	return PG_OK;
}

/* POST /token?grant_type=password, or the emailed code's POST /otp and POST /verify. */
static enum pg_outcome step_sign_in(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	struct gotrue_credentials cred = {
		.email = st->mapped.email, .phone = st->mapped.phone, .password = st->password};

	if (gotrue_config_load_secret(ctx->pamh, ctx->cfg, GOTRUE_SECRET_API_KEY) != 0)
		return PG_CONFIG;
	st->si.client = gotrue_client_new(ctx->pamh, ctx->cfg);
	if (st->si.client == NULL)
		return PG_CONFIG;
	if (st->by_email)
		return pg_email_code_signin(ctx, &st->mapped, &st->si);
	if (gotrue_signin_password(st->si.client, &cred, &st->si.session, &ctx->err) == 0) {
		if (st->si.session.access_token == NULL || !st->si.session.has_user ||
		    st->si.session.user.id == NULL) {
			gotrue_error_set(&ctx->err, GOTRUE_ERR_PROTOCOL,
					 "sign-in without a session");
			return PG_API_ERROR;
		}
		return PG_OK;
	}
	return pg_api_failed(ctx, "sign-in");
}

/* jwt_verify = local: the signature, with the keys this host holds. */
static enum pg_outcome verify_locally(struct pg_ctx *ctx, struct pg_signin *s,
				      const struct gotrue_jwt_expect *expect)
{
	struct gotrue_verifier *v = NULL;
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum pg_outcome out = PG_CONFIG;

	if (gotrue_config_load_secret(ctx->pamh, ctx->cfg, GOTRUE_SECRET_JWT_SECRET) != 0)
		goto cleanup;
	v = gotrue_verifier_for_token(ctx->pamh, ctx->cfg, s->client, s->session.access_token,
				      &ctx->err);
	/* A token whose header cannot even be read is refused below, as any bad token. */
	if (v == NULL && strcmp(ctx->err.code, "bad_jwt") != 0) {
		gotrue_log(ctx->pamh, LOG_ERR, "no usable token verification key (%s); user=%s",
			   gotrue_error_str(&ctx->err, why, sizeof(why)), ctx->user);
		/* A JWKS that could not be fetched (refused, timed out, 5xx) is the server being
		 * unavailable, as for any other request; one that answers without a usable key is
		 * the configuration's fault. */
		if (ctx->err.kind != GOTRUE_ERR_CONFIG)
			out = pg_classify_error(&ctx->err);
		goto cleanup;
	}
	if (v == NULL ||
	    gotrue_jwt_verify(v, s->session.access_token, expect, &s->claims, &ctx->err) != 0) {
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

/* jwt_verify = server: GoTrue itself accepts the token, over the connection the sign-in used
 * (pam_gotrue(8), TOKEN VERIFICATION). A server that cannot be asked is unavailable; one that
 * refuses the token it has just issued, or names another user, is an attack. */
static enum pg_outcome confirm_by_server(struct pg_ctx *ctx, struct pg_signin *s,
					 const struct gotrue_jwt_expect *expect)
{
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum pg_outcome out = PG_OK;

	if (gotrue_jwt_confirm_by_server(s->client, s->session.access_token, expect, &s->claims,
					 &ctx->err) == 0) {
		/* confirmed */
	} else if (strcmp(ctx->err.code, "bad_jwt") == 0) {
		gotrue_log_auth(ctx->pamh, LOG_ALERT, ctx->user,
				"access token not confirmed by the server, possible attack (%s)",
				gotrue_error_str(&ctx->err, why, sizeof(why)));
		out = PG_BAD_TOKEN;
	} else {
		out = pg_api_failed(ctx, "token confirmation");
	}
	return out;
}

/* The token must be GoTrue's, for this audience, about the user the answer names. */
static enum pg_outcome verify_token(struct pg_ctx *ctx, struct pg_signin *s)
{
	struct gotrue_jwt_expect expect = {0};

	expect.aud = ctx->cfg->jwt_aud;
	expect.iss = ctx->cfg->jwt_iss;
	expect.sub = s->session.user.id;
	expect.leeway = ctx->cfg->jwt_leeway;
	expect.require_exp = true;
	return ctx->cfg->jwt_verify == GOTRUE_JWT_VERIFY_SERVER ? confirm_by_server(ctx, s, &expect)
								: verify_locally(ctx, s, &expect);
}

/* Identity and access come from the verified claims alone (pam_gotrue(8), IDENTITY AND
 * ACCESS). The answer's user object is unsigned: where it states a signed field otherwise than
 * the token does, something between us and GoTrue rewrote it, and the login is refused as an
 * attack. */
static enum pg_outcome trust_claims(struct pg_ctx *ctx, const struct pg_mapped *m,
				    struct pg_signin *s)
{
	char why[256] = "";

	gotrue_user_clear(&s->user);
	if (gotrue_user_from_claims(s->claims.all, &s->session.user, &s->user, why, sizeof(why)) !=
	    0) {
		gotrue_log_auth(ctx->pamh, LOG_ALERT, ctx->user,
				"the answer's user disagrees with the verified token, possible "
				"attack (%s)",
				why);
		return PG_BAD_TOKEN;
	}
	/* The token carries no confirmation time. GoTrue refuses the password grant for an
	 * unconfirmed address (email_not_confirmed), and an emailed code proves the address, so
	 * a sign-in with this very address vouches for it; otherwise (a phone sign-in) the body's
	 * word alone would grant a name. */
	if (m->email == NULL || s->user.email == NULL || strcasecmp(m->email, s->user.email) != 0) {
		s->user.email_confirmed_at = 0;
		s->user.confirmed_at = 0;
	}
	return PG_OK;
}

enum pg_outcome pg_verify_signin(struct pg_ctx *ctx, const struct pg_mapped *m, struct pg_signin *s)
{
	enum pg_outcome out;

	gotrue_claims_clear(&s->claims);
	out = verify_token(ctx, s);
	return out == PG_OK ? trust_claims(ctx, m, s) : out;
}

void pg_signin_clear(struct pg_signin *s)
{
	gotrue_session_clear(&s->session);
	gotrue_claims_clear(&s->claims);
	gotrue_user_clear(&s->user);
}

static enum pg_outcome step_verify(struct auth_state *st)
{
	return pg_verify_signin(st->ctx, &st->mapped, &st->si);
}

/* A verified factor is never skipped (pam_gotrue(8), SECOND FACTOR). The factor used is added to
 * the user, so that the entry refresh marks the account index (lib/directory/idmap.h "mfa"). */
static enum pg_outcome step_second_factor(struct auth_state *st)
{
	enum pg_outcome out;
	struct gotrue_factor *f;

	out = pg_second_factor(st->ctx, &st->mapped, &st->si, st->password, &st->used);
	if (out != PG_OK || st->used.id == NULL || st->si.user.n_factors > 0)
		return out;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return PG_OK; /* only the mark is lost; the next login or sync sets it */
	*f = st->used;
	memset(&st->used, 0, sizeof(st->used));
	st->si.user.factors = f;
	st->si.user.n_factors = 1;
	return PG_OK;
}

static enum pg_outcome step_check_account(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	const struct gotrue_user *u = &st->si.user;
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
	rec.user_id = st->si.user.id;
	rec.login = (char *)ctx->user;
	rec.session_id = st->si.claims.session_id;
	rec.access_token = st->si.session.access_token;
	rec.refresh_token = st->si.session.refresh_token;
	rec.expires_at = st->si.claims.exp ? st->si.claims.exp : st->si.session.expires_at;
	rec.banned_until = st->si.user.banned_until;
	rec.groups = st->groups;
	rec.offline = st->offline;
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

/* A successful login also refreshes this user's entry, from the verified claims (the /token
 * answer carries the same user as GET /user, so this costs no request), as a per-user overlay
 * that PAM and NSS read before the index and the cache, until the next sync folds it in
 * (gotrue_sync_one_user: a few small files, whatever the number of users). Only a changed entry
 * is written, so an ordinary login writes nothing; a login never changes its uid or
 * created_at, which gotrue_sync_one_user keeps, so a difference there alone is no change. This runs
 * after the decision and is housekeeping, not part of it: fail closed is about who gets in, and
 * that was settled from the verified token and the account checks above. So a failure here is
 * logged and the login stands; the next sync writes the entry. */
static enum pg_outcome step_refresh_entry(struct auth_state *st)
{
	struct pg_ctx *ctx = st->ctx;
	int rc;

	if (st->mapped.indexed) {
		st->account.uid = st->mapped.entry.uid;
		st->account.gid = st->mapped.entry.gid;
		st->account.created_at = st->mapped.entry.created_at;
		/* A login marks a second factor, never unmarks one (lib/directory/sync_write.c
		 * add_fresh). */
		st->account.mfa = st->account.mfa || st->mapped.entry.mfa;
		if (pg_account_equal(&st->mapped.entry, &st->account))
			goto cleanup;
	}
	rc = gotrue_sync_one_user(ctx->pamh, ctx->cfg, &st->si.user, NULL);
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
	step_map_user,	    step_throttle,    step_get_credential,
	step_sign_in,	    step_verify,      step_second_factor,
	step_check_account, step_keep_tokens, step_refresh_entry,
};

/* A session the server opened but this login refuses must not linger on the server: a token that
 * failed verification included, since it may be genuine and refused only by this host's
 * settings. Only scope=local is safe, and only a server that honours it (v2.69 would end every
 * session of the user, on every host; pam_gotrue(8), LOGOUT ON OLD SERVERS): with server = auto,
 * GET /health says. Not when the server itself failed (it would cost another timeout): those are
 * left to expire, and their tokens are wiped here either way. */
static void sign_out_refused(struct auth_state *st, enum pg_outcome out)
{
	struct pg_ctx *ctx = st->ctx;
	struct gotrue_error ignored = {0};
	bool honours = false;

	if (st->si.session.access_token == NULL || out == PG_UNAVAILABLE || out == PG_RATE_LIMITED)
		return;
	if (gotrue_server_honours_logout_scope(st->si.client, ctx->cfg->server, &honours,
					       &ignored) == 0 &&
	    honours)
		gotrue_signout(st->si.client, st->si.session.access_token, GOTRUE_LOGOUT_LOCAL,
			       &ignored);
	gotrue_error_clear(&ignored);
}

enum pg_outcome pg_authenticate(struct pg_ctx *ctx)
{
	struct auth_state st = {.ctx = ctx};
	enum pg_outcome out = PG_OK;
	size_t i;

	/* libpam applies the longest delay asked for, and only when the stack fails. */
	pam_fail_delay(ctx->pamh, PG_FAIL_DELAY_USEC);
	for (i = 0; out == PG_OK && i < sizeof(auth_steps) / sizeof(auth_steps[0]); i++)
		out = auth_steps[i](&st);
	if (out == PG_API_ERROR)
		out = pg_classify_error(&ctx->err);
	/* No answer from GoTrue: a recent online login's verifier may stand in (offline.c). */
	if (out == PG_UNAVAILABLE && st.password != NULL) {
		out = pg_offline_login(ctx, &st.mapped, st.password, &st.si, &st.groups);
		st.offline = out == PG_OK;
		if (st.offline)
			out = step_keep_tokens(&st);
	}
	/* A wrong second-factor code ends as PG_AUTH_FAILED, as a wrong password does: the same
	 * delay, and the same count for any local failure throttle. */
	if (out == PG_OK) {
		pg_throttle_success(ctx);
		/* With offline_login, the password's verifier for the next outage (offline.c),
		 * after the decision; never from an offline login, whose verifier would then
		 * outlive offline_days, nor from an emailed code, which has no password. */
		if (!st.offline)
			pg_offline_remember(ctx, st.si.user.id, st.password, st.si.claims.aal);
		gotrue_log_auth(ctx->pamh, LOG_INFO, ctx->user, "authenticated%s",
				st.offline		   ? " offline: GoTrue cannot be reached"
				: st.si.user.n_factors > 0 ? " with a second factor"
							   : "");
	} else {
		/* A password or code the server refused is a guess; an outage is none. */
		if (out == PG_AUTH_FAILED && ctx->secret_refused)
			pg_throttle_fail(ctx);
		/* A ban the server or the index just showed ends offline logins now, not at the
		 * next sync (offline.c). */
		if (out == PG_BANNED)
			pg_offline_forget(ctx,
					  st.mapped.user_id ? st.mapped.user_id : st.si.user.id,
					  "banned");
		tell_outcome(ctx, out);
		sign_out_refused(&st, out);
	}
	gotrue_client_free(st.si.client);
	pg_signin_clear(&st.si);
	gotrue_factor_clear(&st.used);
	gotrue_account_clear(&st.account);
	pg_strv_free(st.groups);
	pg_mapped_clear(&st.mapped);
	return out;
}
