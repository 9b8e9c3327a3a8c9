/* mfa: the second factor (pam_gotrue(8), SECOND FACTOR). GoTrue's password grant gives an aal1
 * session even to a user with a verified factor; enforcing the factor is the client's job
 * (POST /factors/{id}/challenge, POST /factors/{id}/verify, which answers an aal2 session of the
 * same session id: transcript steps 161-165). A user needs it when the account index says so
 * (sync, or an earlier login) or the answer lists one: the answer is unsigned, so stripping its
 * factors must not be enough to skip them. Only the aal2 session leaves this file, and only once
 * its token is verified to say aal2, to name the factor in amr, and to be the same session. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "api.h"
#include "log.h"
#include "mfa_replay.h"
#include "pam_gotrue.h"
#include "secure.h"

#define NAME_SHOWN 32 /* characters of a factor's name in the menu */

/* What a factor type is called, and the amr method a verified session then carries
 * (supabase/auth models.AuthenticationMethod: "totp", "mfa/phone"). */
struct factor_kind {
	const char *type, *shown, *amr, *prompt;
	bool challenge_first; /* the code exists only once the challenge sent it (SMS) */
};

static const struct factor_kind kinds[] = {
	{"totp", "authenticator app", "totp", "Verification code: ", false},
	{"phone", "SMS", "mfa/phone", "Code sent by SMS: ", true},
};

static const struct factor_kind *kind_of(const struct gotrue_factor *f)
{
	size_t i;

	for (i = 0; f->type != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(f->type, kinds[i].type) == 0)
			return &kinds[i];
	}
	return NULL;
}

/* One factor's state through the steps below. */
struct factor_try {
	const struct gotrue_factor *f;
	const struct factor_kind *k;
	char *challenge_id;
	char code[11];
	bool reserved;
	struct pg_signin next; /* the aal2 session, once verified */
};

/* The user-chosen name, for a terminal: printable ASCII only (no escape sequence or 8-bit
 * control byte reaches the user's terminal through it), cut to NAME_SHOWN characters. */
static void shown_name(const struct gotrue_factor *f, char out[NAME_SHOWN + 1])
{
	const char *n =
		f->friendly_name != NULL && *f->friendly_name ? f->friendly_name : "unnamed";
	size_t i;

	for (i = 0; n[i] != '\0' && i < NAME_SHOWN; i++)
		out[i] = n[i] >= 0x20 && n[i] < 0x7f ? n[i] : '?';
	out[i] = '\0';
}

/* Several usable factors: a numbered menu through one PAM_PROMPT_ECHO_ON prompt; Enter takes
 * the first TOTP factor. *@pick: the index in @u->factors. */
static enum pg_outcome choose(struct pg_ctx *ctx, const struct gotrue_user *u, size_t *usable,
			      size_t n, size_t *pick)
{
	char menu[64 + GOTRUE_USER_FACTORS_MAX * (NAME_SHOWN + 40)], name[NAME_SHOWN + 1];
	char *answer = NULL, *end;
	size_t i, len = 0, def = 0;
	long v;
	enum pg_outcome out = PG_AUTH_FAILED;

	for (i = n; i-- > 0;)
		if (strcmp(u->factors[usable[i]].type, "totp") == 0)
			def = i;
	len += (size_t)snprintf(menu, sizeof(menu), "Second factors:\n");
	for (i = 0; i < n; i++) {
		shown_name(&u->factors[usable[i]], name);
		len += (size_t)snprintf(menu + len, sizeof(menu) - len, "  %zu) %s (%s)\n", i + 1,
					name, kind_of(&u->factors[usable[i]])->shown);
	}
	snprintf(menu + len, sizeof(menu) - len, "Choose one [%zu]: ", def + 1);
	if (pam_prompt(ctx->pamh, PAM_PROMPT_ECHO_ON, &answer, "%s", menu) != PAM_SUCCESS ||
	    answer == NULL) {
		gotrue_log(
			ctx->pamh, LOG_ERR,
			"cannot ask which second factor to use: the application cannot show a "
			"prompt (sshd with PasswordAuthentication only answers the password; use "
			"KbdInteractiveAuthentication); user=%s",
			ctx->user);
		goto cleanup;
	}
	v = answer[0] == '\0' ? (long)def + 1 : strtol(answer, &end, 10);
	if (answer[0] != '\0' && (*end != '\0' || v < 1 || v > (long)n)) {
		pg_tell(ctx, PAM_ERROR_MSG, "No such second factor.");
		goto cleanup;
	}
	*pick = usable[v - 1];
	out = PG_OK;
cleanup:
	free(answer);
	return out;
}

/* The factors of @u that can be asked for here: verified, TOTP or SMS. Unverified ones are
 * never asked for; a verified one of another kind (WebAuthn) cannot be, and refuses. */
static enum pg_outcome pick_factor(struct pg_ctx *ctx, const struct gotrue_user *u,
				   const struct gotrue_factor **f)
{
	size_t usable[GOTRUE_USER_FACTORS_MAX], n = 0, i, pick = 0;
	enum pg_outcome out;

	for (i = 0; i < u->n_factors && n < GOTRUE_USER_FACTORS_MAX; i++) {
		if (gotrue_factor_verified(&u->factors[i]) && kind_of(&u->factors[i]) != NULL)
			usable[n++] = i;
	}
	if (n == 0) {
		gotrue_log(
			ctx->pamh, LOG_NOTICE,
			"the user's second factors are all of a kind this module cannot ask for; "
			"user=%s",
			ctx->user);
		pg_tell(ctx, PAM_ERROR_MSG,
			"Your second factor cannot be used here (an authenticator app or SMS "
			"can).");
		return PG_AUTH_FAILED;
	}
	out = n == 1 ? PG_OK : choose(ctx, u, usable, n, &pick);
	if (n == 1)
		pick = usable[0];
	*f = &u->factors[pick];
	return out;
}

static bool refused_by_server(const struct gotrue_error *err)
{
	return err->kind == GOTRUE_ERR_HTTP && err->http_status >= 400 && err->http_status < 500 &&
	       err->http_status != 429;
}

static enum pg_outcome challenge(struct pg_ctx *ctx, struct pg_signin *s, struct factor_try *t)
{
	if (gotrue_factor_challenge(s->client, s->session.access_token, t->f->id, &t->challenge_id,
				    &ctx->err) != 0)
		return pg_api_failed(ctx, "second factor: challenge");
	return PG_OK;
}

/* Reserve the code (mfa_replay.h), then POST /factors/{id}/verify. A code the server refused is
 * released; one whose fate is unknown stays reserved. */
static enum pg_outcome verify(struct pg_ctx *ctx, struct pg_signin *s, struct factor_try *t)
{
	int r;
	int wait_ms = (int)ctx->cfg->timeout * 1000;

	r = gotrue_mfa_code_reserve(ctx->pamh, ctx->cfg->state_dir, t->f->id, t->code, wait_ms);
	if (r < 0)
		return PG_INTERNAL;
	if (r == 1) {
		gotrue_log(ctx->pamh, LOG_NOTICE,
			   "second-factor code already used on this host; refused; user=%s",
			   ctx->user);
		pg_tell(ctx, PAM_ERROR_MSG, "That code was used already: wait for the next one.");
		return PG_AUTH_FAILED;
	}
	t->reserved = true;
	t->next.client = s->client;
	if (gotrue_factor_verify(s->client, s->session.access_token, t->f->id, t->challenge_id,
				 t->code, &t->next.session, &ctx->err) == 0)
		return PG_OK;
	if (refused_by_server(&ctx->err))
		gotrue_mfa_code_release(ctx->pamh, ctx->cfg->state_dir, t->f->id, t->code, wait_ms);
	return pg_api_failed(ctx, "second factor: verify");
}

static bool amr_has(json_object *claims, const char *method)
{
	json_object *amr, *e, *m;
	size_t i, n;

	if (!json_object_object_get_ex(claims, "amr", &amr) ||
	    !json_object_is_type(amr, json_type_array))
		return false;
	n = json_object_array_length(amr);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(amr, i);
		if (json_object_is_type(e, json_type_object) &&
		    json_object_object_get_ex(e, "method", &m) &&
		    json_object_is_type(m, json_type_string) &&
		    strcmp(json_object_get_string(m), method) == 0)
			return true;
	}
	return false;
}

static bool same_str(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The verify answer must be this very sign-in's session, stepped up by this factor, as its
 * verified token says: aal2, the factor's method in amr, the same user and session id. */
static enum pg_outcome check_stepped_up(struct pg_ctx *ctx, const struct pg_mapped *m,
					const struct pg_signin *s, struct factor_try *t)
{
	const char *why = NULL;
	enum pg_outcome out;

	if (t->next.session.access_token == NULL || !t->next.session.has_user) {
		gotrue_error_set(&ctx->err, GOTRUE_ERR_PROTOCOL, "verify answered no session");
		return pg_api_failed(ctx, "second factor: verify");
	}
	/* sub must be the aal1 session's user, not whoever the new answer names. */
	if (!same_str(t->next.session.user.id, s->user.id))
		why = "another user";
	else if ((out = pg_verify_signin(ctx, m, &t->next)) != PG_OK)
		return out; /* logged as an attack */
	else if (!same_str(t->next.claims.aal, "aal2"))
		why = "not aal2";
	else if (!amr_has(t->next.claims.all, t->k->amr))
		why = "amr does not name the factor";
	else if (!same_str(t->next.claims.session_id, s->claims.session_id))
		why = "another session";
	if (why == NULL)
		return PG_OK;
	gotrue_log(ctx->pamh, LOG_ALERT,
		   "second factor: the verify answer is not this sign-in stepped up (%s), possible "
		   "attack; user=%s",
		   why, ctx->user);
	return PG_BAD_TOKEN;
}

/* Ask, challenge, verify, check: in that order for TOTP (the user has the code already, and a
 * conversation that cannot ask costs no request), challenge first for SMS. */
static enum pg_outcome try_factor(struct pg_ctx *ctx, const struct pg_mapped *m,
				  struct pg_signin *s, struct factor_try *t, const char *password)
{
	enum pg_outcome out;

	if (t->k->challenge_first) {
		out = challenge(ctx, s, t);
		if (out == PG_OK)
			out = pg_ask_code(ctx, t->k->prompt, "second-factor code", password,
					  t->code);
	} else {
		out = pg_ask_code(ctx, t->k->prompt, "second-factor code", password, t->code);
		if (out == PG_OK)
			out = challenge(ctx, s, t);
	}
	if (out == PG_OK)
		out = verify(ctx, s, t);
	if (out == PG_OK)
		out = check_stepped_up(ctx, m, s, t);
	return out;
}

/* Whether @s's user must give a factor, and the user whose factors are listed: the answer's, or
 * when the index marks a factor the answer does not list, GET /user's (the answer may have been
 * stripped; a factor removed since the last sync lists none there either, and is refused). */
static enum pg_outcome factors_of(struct pg_ctx *ctx, const struct pg_mapped *m,
				  const struct pg_signin *s, struct gotrue_user *fetched,
				  const struct gotrue_user **u)
{
	*u = &s->session.user;
	if (gotrue_user_has_verified_factor(*u))
		return PG_OK;
	if (!(m->indexed && m->entry.mfa)) {
		*u = NULL;
		return PG_OK;
	}
	gotrue_log(ctx->pamh, LOG_WARNING,
		   "the account index marks a second factor the sign-in answer does not list; "
		   "asking GET /user; user=%s",
		   ctx->user);
	if (gotrue_user_get(s->client, s->session.access_token, fetched, &ctx->err) != 0)
		return pg_api_failed(ctx, "second factor: listing the factors");
	*u = fetched;
	if (gotrue_user_has_verified_factor(fetched) && same_str(fetched->id, s->user.id))
		return PG_OK;
	gotrue_log(ctx->pamh, LOG_ALERT,
		   "the account index marks a second factor, GoTrue lists none: the answers were "
		   "altered, or the factor was removed since the last sync (run gotruectl sync); "
		   "refused; user=%s",
		   ctx->user);
	pg_tell(ctx, PAM_ERROR_MSG,
		"Your account needs a second factor, but none can be found: ask your "
		"administrator.");
	return PG_AUTH_FAILED;
}

enum pg_outcome pg_second_factor(struct pg_ctx *ctx, const struct pg_mapped *m, struct pg_signin *s,
				 const char *password, struct gotrue_factor *used)
{
	struct gotrue_user fetched = {0};
	const struct gotrue_user *u = NULL;
	struct factor_try t = {0};
	enum pg_outcome out;

	if (used != NULL)
		memset(used, 0, sizeof(*used));
	out = factors_of(ctx, m, s, &fetched, &u);
	if (out != PG_OK)
		goto cleanup;
	if (u == NULL) {
		if (ctx->cfg->mfa == GOTRUE_MFA_REQUIRED) {
			gotrue_log(ctx->pamh, LOG_NOTICE,
				   "no second factor and mfa = required; refused; user=%s",
				   ctx->user);
			out = PG_NEEDS_FACTOR;
		}
		goto cleanup;
	}
	out = pick_factor(ctx, u, &t.f);
	if (out != PG_OK)
		goto cleanup;
	t.k = kind_of(t.f);
	out = try_factor(ctx, m, s, &t, password);
	if (out != PG_OK)
		goto cleanup;
	gotrue_log(ctx->pamh, LOG_INFO, "second factor verified (%s); user=%s", t.k->type,
		   ctx->user);
	if (used != NULL &&
	    ((used->id = strdup(t.f->id)) == NULL || (used->type = strdup(t.f->type)) == NULL ||
	     (used->status = strdup("verified")) == NULL))
		gotrue_factor_clear(used); /* only the index mark is lost */
	/* Only the aal2 session goes on; the aal1 one's tokens are wiped. */
	pg_signin_clear(s);
	s->session = t.next.session;
	s->claims = t.next.claims;
	s->user = t.next.user;
	memset(&t.next, 0, sizeof(t.next));
cleanup:
	explicit_bzero(t.code, sizeof(t.code));
	free(t.challenge_id);
	pg_signin_clear(&t.next);
	gotrue_user_clear(&fetched);
	return out;
}
