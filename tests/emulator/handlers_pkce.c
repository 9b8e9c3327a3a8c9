/* handlers_pkce.c: the PKCE flow of mailed links (RFC 7636; supabase/auth internal/api/pkce.go,
 * models/flow_state.go, the pkce grant in token.go). Both recorded generations have it: v2.69.3
 * already takes code_challenge on /otp, /magiclink and /recover. No transcript records it, so
 * the sources of v2.69.3 and v2.185.0 decided every status and message here.
 *
 * The flow: a mail request with code_challenge (+ method) stores a flow state (a fresh UUID auth
 * code bound to the challenge) and mails a link whose token carries the prefix "pkce_"; opening
 * the link confirms the user as the implicit flow does, but instead of a session in the URL
 * fragment it redirects to redirect_to?code=AUTH_CODE; POST /token?grant_type=pkce
 * {auth_code, code_verifier} then trades the code for a session, once. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "emulator.h"

#define CHALLENGE_MIN	 43
#define CHALLENGE_MAX	 128
#define FLOW_STATE_LIFE	 300 /* GOTRUE_EXTERNAL_FLOW_STATE_EXPIRY_DURATION's default and floor */
#define PKCE_PARAMS_MSG	 "PKCE flow requires code_challenge_method and code_challenge"
#define BAD_VERIFIER_MSG "code challenge does not match previously saved code verifier"

struct flow_state {
	char auth_code[EMU_ID_LEN];
	char user_id[EMU_ID_LEN];
	char auth_method[16]; /* "magiclink" or "recovery" (models.AuthenticationMethod) */
	char challenge[CHALLENGE_MAX + 1];
	bool s256;	/* else "plain" */
	time_t created; /* created_at */
	time_t issued;	/* auth_code_issued_at (current servers), 0 before the link is opened */
	struct flow_state *next; /* newer first */
};

/* Guarded by the store lock, which every handler holds. */
static struct flow_state *flow_states;

/* validatePKCEParams: both or neither, and a challenge of 43..128 unreserved characters. */
bool emu_pkce_params_ok(struct emu_req *q, struct emu_reply *r, json_object *in)
{
	const char *ch = emu_str_field(in, "code_challenge");
	const char *method = emu_str_field(in, "code_challenge_method");
	bool has_ch = ch && *ch, has_method = method && *method;
	char msg[120];
	size_t n;

	if (has_ch != has_method) {
		emu_reply_error(r, q, 400, "validation_failed", PKCE_PARAMS_MSG);
		return false;
	}
	if (!has_ch)
		return true;
	n = strlen(ch);
	if (n < CHALLENGE_MIN || n > CHALLENGE_MAX) {
		snprintf(msg, sizeof(msg), "code challenge has to be between %d and %d characters",
			 CHALLENGE_MIN, CHALLENGE_MAX);
		emu_reply_error(r, q, 400, "validation_failed", msg);
		return false;
	}
	if (strspn(ch, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-") != n) {
		emu_reply_error(r, q, 400, "validation_failed",
				"code challenge can only contain alphanumeric characters, hyphens, "
				"periods, underscores and tildes");
		return false;
	}
	return true;
}

bool emu_pkce_flow_new(struct emu_req *q, struct emu_reply *r, const struct emu_user *u,
		       const char *auth_method, json_object *in, bool *pkce)
{
	const char *ch = emu_str_field(in, "code_challenge");
	const char *method = emu_str_field(in, "code_challenge_method");
	struct flow_state *f;

	*pkce = ch && *ch;
	if (!*pkce)
		return true;
	/* ParseCodeChallengeMethod's plain error is not an HTTP error: GoTrue answers 500 */
	if (strcasecmp(method, "s256") != 0 && strcasecmp(method, "plain") != 0) {
		if (emu_current())
			emu_reply_error(r, q, 500, "unexpected_failure",
					"Unexpected failure, please check server logs for more "
					"information");
		else
			emu_reply_error(r, q, 500, "unexpected_failure",
					strcmp(auth_method, "recovery") == 0
						? "Unable to process request"
						: "Error sending magic link");
		return false;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		abort(); /* see emu_user_new */
	emu_uuid(f->auth_code);
	memcpy(f->user_id, u->id, EMU_ID_LEN);
	snprintf(f->auth_method, sizeof(f->auth_method), "%s", auth_method);
	snprintf(f->challenge, sizeof(f->challenge), "%s", ch);
	f->s256 = strcasecmp(method, "s256") == 0;
	f->created = time(NULL);
	f->next = flow_states;
	flow_states = f;
	return true;
}

static bool flow_expired(const struct flow_state *f)
{
	/* current servers count a magic link's five minutes from the moment its code was issued
	 * (FlowState.IsExpired); v2.69 from the request that mailed it */
	time_t from = emu_current() && f->issued && strcmp(f->auth_method, "magiclink") == 0
			      ? f->issued
			      : f->created;

	return time(NULL) > from + FLOW_STATE_LIFE;
}

const char *emu_pkce_auth_code(const struct emu_user *u, const char *auth_method, char *msg,
			       size_t msg_len)
{
	struct flow_state *f;

	/* FindFlowStateByUserID: the newest flow state of the user for this method */
	for (f = flow_states; f; f = f->next)
		if (strcmp(f->user_id, u->id) == 0 && strcmp(f->auth_method, auth_method) == 0)
			break;
	if (!f) {
		snprintf(msg, msg_len, "No associated flow state found. %s",
			 emu_current() ? "422: No valid flow state found for user."
				       : "400: No valid flow state found for user.");
		return NULL;
	}
	if (!emu_current() && flow_expired(f)) { /* v2.69's issueAuthCode checks the age */
		snprintf(msg, msg_len,
			 "No associated flow state found. 400: Flow state is expired");
		return NULL;
	}
	f->issued = time(NULL); /* RecordAuthCodeIssuedAtTime */
	return f->auth_code;
}

/* FlowState.VerifyPKCE: S256 is base64url(SHA-256(verifier)), unpadded; compared in constant
 * time, as subtle.ConstantTimeCompare does. */
static bool verifier_matches(const struct flow_state *f, const char *verifier)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char want[CHALLENGE_MAX + 1];
	const char *got = verifier;
	size_t n = strlen(f->challenge);

	if (f->s256) {
		if (EVP_Digest(verifier, strlen(verifier), md, &md_len, EVP_sha256(), NULL) != 1)
			return false;
		emu_b64url(md, md_len, want, sizeof(want));
		got = want;
	}
	return strlen(got) == n && CRYPTO_memcmp(got, f->challenge, n) == 0;
}

static void flow_state_remove(struct flow_state *gone)
{
	struct flow_state **pp;

	for (pp = &flow_states; *pp && *pp != gone; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = gone->next;
	OPENSSL_cleanse(gone, sizeof(*gone));
	free(gone);
}

/* The pkce grant's refusals, each generation's status and code (token.go PKCE). */
static void refuse(struct emu_req *q, struct emu_reply *r, unsigned current_status,
		   const char *code, const char *msg)
{
	/* v2.69 answers 400 for missing fields and 403 for every later refusal */
	unsigned status = emu_current()				   ? current_status
			  : strcmp(code, "validation_failed") == 0 ? 400
								   : 403;

	emu_reply_error(r, q, status, code, msg);
}

void emu_grant_pkce(struct emu_req *q, struct emu_reply *r, json_object *in)
{
	const char *code = emu_str_field(in, "auth_code");
	const char *verifier = emu_str_field(in, "code_verifier");
	struct flow_state *f;
	struct emu_user *u;
	struct emu_session *s;
	json_object *o;

	if (!code || !*code || !verifier || !*verifier) {
		refuse(q, r, 400, "validation_failed",
		       "invalid request: both auth code and code verifier should be non-empty");
		return;
	}
	for (f = flow_states; f && strcmp(f->auth_code, code) != 0; f = f->next)
		;
	if (!f) {
		refuse(q, r, 404, "flow_state_not_found",
		       "invalid flow state, no valid flow state found");
		return;
	}
	if (flow_expired(f)) {
		refuse(q, r, 422, "flow_state_expired",
		       "invalid flow state, flow state has expired");
		return;
	}
	u = emu_user_by_id(f->user_id);
	if (!u) { /* FindUserByID's not-found error is no HTTP error */
		emu_reply_error(r, q, 500, "unexpected_failure", "Internal server error");
		return;
	}
	/* a wrong verifier leaves the flow state (and its code) as it was */
	if (!verifier_matches(f, verifier)) {
		refuse(q, r, 400, "bad_code_verifier", BAD_VERIFIER_MSG);
		return;
	}
	u->last_sign_in_at = emu_now();
	s = emu_session_new(u, f->auth_method);
	flow_state_remove(f); /* the code is single use: a replay finds no flow state */
	o = emu_session_reply(u, s, q);
	/* the answer of every /token grant (tokens.Service.IssueRefreshToken) */
	emu_session_headers(r, u, s, emu_str_field(o, "refresh_token"));
	emu_reply_json(r, 200, o);
}
