/* handlers_auth.c: the user-facing GoTrue endpoints (/health, /settings, /signup, /token,
 * /logout, /user, /otp, /magiclink, /recover, /verify, /.well-known/jwks.json) and the bearer-token
 * checks every authenticated endpoint shares. Status codes and messages follow the recorded
 * transcripts: transcript-v2.69.md for --mode v2.69 and transcript-v2.185.md for --mode current
 * (step numbers cited, "v2.185 step N" for the latter). */
#include <config.h>

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "emulator.h"

#define VERIFICATION_PARAMS "Could not read verification params"

static bool valid_email(const char *e)
{
	const char *at = strchr(e, '@');

	if (!at || at == e || strchr(at + 1, '@') || !strchr(at + 1, '.'))
		return false;
	for (const char *p = e; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return at[1] != '.' && e[strlen(e) - 1] != '.';
}

/* ---- authentication shared by all endpoints that need a token ---- */

json_object *emu_auth_bearer(struct emu_req *q, struct emu_reply *r)
{
	const char *h = emu_req_header(q, "Authorization");
	char err[256];
	json_object *claims;

	/* GoTrue accepts the scheme case-insensitively (step 39) and nothing else (step 42). */
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		emu_reply_error(r, q, 401, "no_authorization",
				emu_current() ? "This endpoint requires a valid Bearer token"
					      : "This endpoint requires a Bearer token");
		return NULL;
	}
	claims = emu_verify(h + 7, err, sizeof(err));
	if (!claims)
		emu_reply_error(r, q, emu_current() ? 403 : 401, "bad_jwt", err);
	return claims;
}

struct emu_user *emu_auth_user(struct emu_req *q, struct emu_reply *r, json_object **out)
{
	json_object *claims = emu_auth_bearer(q, r);
	struct emu_user *u = NULL;
	const char *sub, *aud_hdr;

	if (!claims)
		goto cleanup;
	sub = emu_str_field(claims, "sub");
	if (!sub || !*sub) {
		emu_reply_error(r, q, emu_current() ? 403 : 401, "bad_jwt",
				"invalid claim: missing sub claim");
		goto cleanup;
	}
	if (!emu_is_uuid(sub)) {
		emu_reply_error(r, q, 400, "bad_jwt", "invalid claim: sub claim must be a UUID");
		goto cleanup;
	}
	aud_hdr = emu_req_header(q, "X-JWT-AUD");
	if (aud_hdr && *aud_hdr) {
		const char *aud = emu_str_field(claims, "aud");

		if (!aud || strcmp(aud, aud_hdr) != 0) {
			emu_reply_error(r, q, 400, emu_current() ? "validation_failed" : "bad_jwt",
					"Token audience doesn't match request audience");
			goto cleanup;
		}
	}
	u = emu_user_by_id(sub);
	if (!u) {
		if (emu_current())
			emu_reply_error(r, q, 403, "user_not_found",
					"User from sub claim in JWT does not exist");
		else
			emu_reply_error(r, q, 404, "user_not_found", "User not found");
		goto cleanup;
	}
	/* Current servers load the JWT's session and refuse once it is gone; v2.69 does not
	 * (v2.185 steps 66-69, 73b; v2.69 steps 66-68). */
	if (emu_current() && emu_str_field(claims, "session_id") &&
	    !emu_session_by_id(emu_str_field(claims, "session_id"))) {
		emu_reply_error(r, q, 403, "session_not_found",
				"Session from session_id claim in JWT does not exist");
		u = NULL;
	}
cleanup:
	if (u && out)
		*out = claims;
	else
		json_object_put(claims);
	return u;
}

bool emu_auth_admin(struct emu_req *q, struct emu_reply *r)
{
	json_object *claims = emu_auth_bearer(q, r);
	const char *role;
	bool ok = false;

	if (!claims)
		return false;
	role = emu_str_field(claims, "role");
	if (role && strcmp(role, "service_role") == 0)
		ok = true;
	else
		emu_reply_error(r, q, emu_current() ? 403 : 401, "not_admin", "User not allowed");
	json_object_put(claims);
	return ok;
}

/* ---- mail ---- */

static void send_mail(const struct emu_user *cu, const char *type, bool pkce)
{
	struct emu_user *u = (struct emu_user *)cu;
	unsigned char rnd[28];
	char path[4096], link[512];
	json_object *m = json_object_new_object();
	const char *line;
	int fd;
	uint32_t code;

	RAND_bytes(rnd, sizeof(rnd));
	code = ((uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 | (uint32_t)rnd[2] << 8 | rnd[3]) %
	       1000000u;
	snprintf(u->otp, sizeof(u->otp), "%06u", code);
	for (int i = 0; i < 28; i++)
		snprintf(u->link_token + 2 * i, 3, "%02x", rnd[i]);
	u->otp_sent = time(NULL);
	u->link_pkce = pkce;
	snprintf(link, sizeof(link),
		 "%s/verify?token=%s%s&type=%s&redirect_to=http://localhost:3000", emu_cfg.url,
		 pkce ? "pkce_" : "", u->link_token, type);
	json_object_object_add(m, "to", json_object_new_string(u->email));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "token", json_object_new_string(u->otp));
	json_object_object_add(m, "link", json_object_new_string(link));
	line = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(path, sizeof(path), "%s/outbox", emu_cfg.state_dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		/* one write per line, so a reader never sees half a mail */
		char *buf;

		if (asprintf(&buf, "%s\n", line) > 0) {
			if (write(fd, buf, strlen(buf)) < 0)
				perror("gotrue-emulator: outbox");
			free(buf);
		}
		close(fd);
	}
	json_object_put(m);
}

void emu_send_mail(const struct emu_user *u, const char *type)
{
	send_mail(u, type, false);
}

void emu_send_mail_pkce(const struct emu_user *u, const char *type)
{
	send_mail(u, type, true);
}

/* ---- endpoints ---- */

void emu_h_health(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *o = json_object_new_object();

	(void)q, (void)id, (void)sub;
	json_object_object_add(
		o, "version",
		json_object_new_string(emu_current() ? "v2.185.0" : "v2.69.3-2-g26f19659"));
	json_object_object_add(o, "name", json_object_new_string("GoTrue"));
	json_object_object_add(
		o, "description",
		json_object_new_string("GoTrue is a user registration and authentication API"));
	emu_reply_json(r, 200, o);
}

/* The providers /settings lists under "external", in the servers' order (step 2). */
static const char *const providers_v269[] = {
	"apple",  "azure",  "bitbucket", "discord",  "github", "gitlab",  "keycloak",
	"google", "kakao",  "linkedin",	 "facebook", "notion", "spotify", "slack",
	"workos", "twitch", "twitter",	 "email",    "phone",  "zoom",	  NULL};
static const char *const providers_current[] = {
	"anonymous_users", "apple",	 "azure",    "bitbucket",     "discord", "facebook",
	"snapchat",	   "figma",	 "fly",	     "github",	      "gitlab",	 "google",
	"keycloak",	   "kakao",	 "linkedin", "linkedin_oidc", "notion",	 "spotify",
	"slack",	   "slack_oidc", "workos",   "twitch",	      "twitter", "email",
	"phone",	   "zoom",	 NULL};

void emu_h_settings(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	const char *const *p = emu_current() ? providers_current : providers_v269;
	json_object *o = json_object_new_object(), *ext = json_object_new_object();

	(void)q, (void)id, (void)sub;
	for (; *p; p++)
		json_object_object_add(ext, *p, json_object_new_boolean(strcmp(*p, "email") == 0));
	json_object_object_add(o, "external", ext);
	json_object_object_add(o, "disable_signup", json_object_new_boolean(0));
	json_object_object_add(o, "mailer_autoconfirm", json_object_new_boolean(1));
	json_object_object_add(o, "phone_autoconfirm", json_object_new_boolean(0));
	json_object_object_add(o, "sms_provider", json_object_new_string(""));
	/* v2.69 still reported mfa_enabled; v2.185's Settings has no such field (v2.185 step 2) */
	if (!emu_current())
		json_object_object_add(o, "mfa_enabled", json_object_new_boolean(0));
	json_object_object_add(o, "saml_enabled", json_object_new_boolean(0));
	emu_reply_json(r, 200, o);
}

void emu_h_jwks(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	char *s = emu_jwks_json();

	(void)q, (void)id, (void)sub;
	emu_reply_text(r, 200, "application/json", s);
	emu_reply_header(r, "Cache-Control", "public, max-age=600");
	free(s);
}

/* GET /.well-known/openid-configuration, current servers only: with no issuer configured the
 * URLs are relative and "issuer" is "" (v2.185 step 215, internal/api/jwks.go). */
void emu_h_openid(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	static const struct {
		const char *key, *values;
	} lists[] = {
		{"scopes_supported", "openid profile email phone"},
		{"response_types_supported", "code"},
		{"response_modes_supported", "query"},
		{"grant_types_supported", "authorization_code refresh_token"},
		{"subject_types_supported", "public"},
		{"id_token_signing_alg_values_supported", "RS256 HS256 ES256"},
		{"token_endpoint_auth_methods_supported",
		 "client_secret_basic client_secret_post none"},
		{"claims_supported", "sub aud iss exp iat auth_time nonce email email_verified "
				     "phone_number phone_number_verified name picture "
				     "preferred_username updated_at"},
		{"code_challenge_methods_supported", "S256 plain"},
	};
	const char *iss = emu_cfg.jwt_issuer ? emu_cfg.jwt_issuer : "";
	size_t ilen = strlen(iss);
	json_object *o;
	char url[512];

	(void)id, (void)sub;
	if (!emu_current()) {
		emu_reply_text(r, 404, "text/plain; charset=utf-8", "404 page not found\n");
		return;
	}
	while (ilen && iss[ilen - 1] == '/')
		ilen--;
	o = json_object_new_object();
	json_object_object_add(o, "issuer", json_object_new_string(iss));
	static const char *const endpoints[][2] = {{"authorization_endpoint", "/oauth/authorize"},
						   {"token_endpoint", "/oauth/token"},
						   {"jwks_uri", "/.well-known/jwks.json"},
						   {"userinfo_endpoint", "/oauth/userinfo"}};
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		snprintf(url, sizeof(url), "%.*s%s", (int)ilen, iss, endpoints[i][1]);
		json_object_object_add(o, endpoints[i][0], json_object_new_string(url));
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		json_object *a = json_object_new_array();
		char buf[256], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", lists[i].values);
		for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
			json_object_array_add(a, json_object_new_string(w));
		json_object_object_add(o, lists[i].key, a);
	}
	(void)q;
	emu_reply_json(r, 200, o);
	emu_reply_header(r, "Cache-Control", "public, max-age=600");
}

/* A signed-up user's user_metadata: on current servers the email identity's data (email,
 * email_verified, phone_verified, sub), which @data may add to but not override (v2.185 steps 4,
 * 5, 87-88: signupNewUser, RemoveUnconfirmedIdentities); on v2.69 @data alone. */
static void signup_metadata(struct emu_user *u, json_object *data)
{
	json_object *um = u->user_metadata;

	if (emu_current()) {
		json_object_object_add(um, "email", json_object_new_string(u->email));
		json_object_object_add(um, "email_verified", json_object_new_boolean(0));
		json_object_object_add(um, "phone_verified", json_object_new_boolean(0));
		json_object_object_add(um, "sub", json_object_new_string(u->id));
	}
	if (!json_object_is_type(data, json_type_object))
		return;
	json_object_object_foreach(data, key, val)
	{
		if (!json_object_object_get_ex(um, key, NULL) || !emu_current())
			emu_json_merge_one(um, key, val);
	}
}

/* /signup's checks in each generation's order; false after answering. */
static bool signup_valid(struct emu_req *q, struct emu_reply *r, const char *email, const char *pw,
			 const char *phone)
{
	if (emu_current() && (!pw || !*pw)) { /* validateSignupParams */
		emu_reply_error(r, q, 400, "validation_failed", "Signup requires a valid password");
		return false;
	}
	if (!emu_current() && (!email || !*email)) {
		emu_reply_error(r, q, 422, "validation_failed",
				"To signup, please provide your email");
		return false;
	}
	if (!pw || strlen(pw) < 6) {
		emu_reply_weak_password(r, q);
		return false;
	}
	if (!email || !*email) { /* current: a phone signup, or an anonymous one (v2.185 step 9) */
		if (phone && *phone)
			emu_reply_error(r, q, 422, "phone_provider_disabled",
					"Phone signups are disabled");
		else
			emu_reply_error(r, q, 422, "anonymous_provider_disabled",
					"Anonymous sign-ins are disabled");
		return false;
	}
	if (!valid_email(email)) {
		emu_reply_error(r, q, emu_current() ? 400 : 422,
				emu_current() ? "validation_failed" : "email_address_invalid",
				"Unable to validate email address: invalid format");
		return false;
	}
	if (emu_user_by_email(email)) {
		emu_reply_error(r, q, emu_current() ? 422 : 400, "user_already_exists",
				"User already registered");
		return false;
	}
	return true;
}

void emu_h_signup(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *in = emu_body_or_400(q, r, "Could not read Signup params");
	const char *email, *pw;
	struct emu_user *u;
	struct emu_session *s;

	(void)id, (void)sub;
	if (!in)
		goto cleanup;
	email = emu_str_field(in, "email");
	pw = emu_str_field(in, "password");
	if (!signup_valid(q, r, email, pw, emu_str_field(in, "phone")))
		goto cleanup;
	u = emu_user_new(email);
	if (emu_user_set_password(u, pw) != 0) {
		emu_user_delete(u);
		emu_reply_error(r, q, 500, "unexpected_failure", "Error hashing the password");
		goto cleanup;
	}
	signup_metadata(u, json_object_object_get(in, "data"));
	/* MAILER_AUTOCONFIRM=true in the recorded servers: signup returns a session (step 4). */
	emu_user_confirm(u, q->serial);
	u->last_sign_in_at = u->email_confirmed_at;
	s = emu_session_new(u, "password");
	emu_reply_json(r, 200, emu_session_reply(u, s, q));
cleanup:
	json_object_put(in);
}

/* Is @pw the password of the user with @email? bcrypt runs without the store lock, as GoTrue
 * checks passwords in parallel; the user is looked up again afterwards (it may be gone). An
 * unknown email costs no bcrypt, as on GoTrue (transcript: ~20 ms against ~80 ms). */
static struct emu_user *password_user(const char *email, const char *pw)
{
	struct emu_user *u = emu_user_by_email(email);
	char id[EMU_ID_LEN], hash[EMU_HASH_LEN];
	bool ok;

	if (!u)
		return NULL;
	memcpy(id, u->id, sizeof(id));
	memcpy(hash, u->pw_hash, sizeof(hash));
	emu_store_unlock();
	ok = emu_password_matches(hash, pw);
	emu_store_lock();
	u = emu_user_by_id(id);
	/* a password changed meanwhile: the one checked was the user's when the request came */
	return ok ? u : NULL;
}

/* Current servers name the user, the session and the issued refresh token's first five
 * characters in Sb-Auth-* headers on /token answers, errors included once the token is known
 * (v2.185 steps 11, 136, 199; internal/tokens/service.go). Each may be NULL (not known yet). */
void emu_session_headers(struct emu_reply *r, const struct emu_user *u, const struct emu_session *s,
			 const char *refresh_token)
{
	char prefix[6];

	if (!emu_current())
		return;
	if (u)
		emu_reply_header(r, "Sb-Auth-User-Id", u->id);
	if (s)
		emu_reply_header(r, "Sb-Auth-Session-Id", s->id);
	if (refresh_token) {
		snprintf(prefix, sizeof(prefix), "%.5s", refresh_token);
		emu_reply_header(r, "Sb-Auth-Refresh-Token-Prefix", prefix);
	}
}

/* A new session's answer, for the password grant: current servers add "weak_password":null
 * (the password meets the policy, or it could not have been set). */
static void password_session(struct emu_req *q, struct emu_reply *r, struct emu_user *u)
{
	struct emu_session *s;
	json_object *o;

	u->last_sign_in_at = emu_now();
	s = emu_session_new(u, "password");
	o = emu_session_reply(u, s, q);
	if (emu_current())
		json_object_object_add(o, "weak_password", NULL);
	emu_session_headers(r, u, s, emu_str_field(o, "refresh_token"));
	emu_reply_json(r, 200, o);
}

/* v2.69: every failure alike (steps 12, 13, 18, 19, 23, 135); only a correct password reveals
 * an unconfirmed email (step 16). */
static void grant_password_v269(struct emu_req *q, struct emu_reply *r, const char *email,
				const char *pw)
{
	struct emu_user *u = password_user(email, pw);

	if (!u || emu_user_banned(u))
		emu_reply_oauth(r, q, "invalid_grant", "Invalid login credentials",
				"invalid_credentials");
	else if (u->email_confirmed_at <= 0)
		emu_reply_oauth(r, q, "invalid_grant", "Email not confirmed",
				"email_not_confirmed");
	else
		password_session(q, r, u);
}

/* Current servers (ResourceOwnerPasswordGrant): a missing email is a validation error (v2.185
 * step 19) and a ban is told before the password is checked, so without bcrypt's cost and even
 * for a wrong password (steps 135, 135a). */
static void grant_password_current(struct emu_req *q, struct emu_reply *r, const char *email,
				   const char *pw, const char *phone)
{
	struct emu_user *u;

	if (!email || !*email) {
		if (phone && *phone)
			emu_reply_error(r, q, 422, "phone_provider_disabled",
					"Phone logins are disabled");
		else
			emu_reply_error(r, q, 400, "validation_failed", "missing email or phone");
		return;
	}
	u = emu_user_by_email(email);
	if (u && u->pw_hash[0] && emu_user_banned(u)) {
		emu_reply_error(r, q, 400, "user_banned", "User is banned");
		return;
	}
	u = password_user(email, pw);
	if (!u)
		emu_reply_error(r, q, 400, "invalid_credentials", "Invalid login credentials");
	else if (u->email_confirmed_at <= 0)
		emu_reply_error(r, q, 400, "email_not_confirmed", "Email not confirmed");
	else
		password_session(q, r, u);
}

static void grant_password(struct emu_req *q, struct emu_reply *r, json_object *in)
{
	char msg[300];
	json_object *pwv;
	const char *email = emu_str_field(in, "email"), *phone = emu_str_field(in, "phone");

	pwv = json_object_object_get(in, "password");
	if (pwv && !json_object_is_type(pwv, json_type_string)) {
		snprintf(msg, sizeof(msg),
			 "%s: json: cannot unmarshal %s into Go struct field "
			 "PasswordGrantParams.password of type string",
			 emu_current() ? "Could not parse request body as JSON"
				       : "Could not read password grant params",
			 json_object_is_type(pwv, json_type_int) ||
					 json_object_is_type(pwv, json_type_double)
				 ? "number"
				 : json_type_to_name(json_object_get_type(pwv)));
		emu_reply_error(r, q, 400, "bad_json", msg);
		return;
	}
	if (email && *email && phone && *phone) {
		emu_reply_error(
			r, q, emu_current() ? 400 : 422, "validation_failed",
			"Only an email address or phone number should be provided on login.");
		return;
	}
	if (emu_current())
		grant_password_current(q, r, email, emu_str_field(in, "password"), phone);
	else
		grant_password_v269(q, r, email, emu_str_field(in, "password"));
}

/* Current servers check a refresh token's form before looking it up: 12 characters of [a-z0-9]
 * (longer ones would have to be the signed "v2" format, which the recorded servers did not use):
 * anything else is 400 validation_failed (v2.185 steps 33, 34, 36, 204-206). */
static bool refresh_token_form_ok(const char *tok)
{
	if (!tok || strlen(tok) != 12)
		return false;
	for (const char *p = tok; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* A used token sent again. Current servers answer the parent of the active token with the active
 * token itself (a client that lost the answer of its last refresh), at any time; any other reuse,
 * and on v2.69 every reuse, revokes the family, the newest token included (v2.185 steps 30,
 * 196-201; v2.69 steps 30-31). "refresh_reuse" counts every reuse, "refresh_reuse_revoked" those
 * that revoked. */
static void refresh_reuse(struct emu_req *q, struct emu_reply *r, struct emu_user *u,
			  struct emu_session *s, const struct emu_rtoken *t)
{
	struct emu_rtoken *active = emu_rtoken_active(s);

	emu_count_key("refresh_reuse");
	if (emu_current() && active && active->parent == t) {
		emu_session_headers(r, NULL, NULL, active->token);
		emu_reply_json(r, 200, emu_session_reply_rt(u, s, active, q));
		return;
	}
	emu_rtoken_revoke_family(s->id);
	emu_count_key("refresh_reuse_revoked");
	emu_reply_oauth(r, q, "invalid_grant", "Invalid Refresh Token: Already Used",
			"refresh_token_already_used");
}

static void grant_refresh(struct emu_req *q, struct emu_reply *r, json_object *in)
{
	const char *tok = emu_str_field(in, "refresh_token");
	struct emu_rtoken *t, *next;
	struct emu_session *s = NULL;
	struct emu_user *u = NULL;

	if (emu_current() ? !refresh_token_form_ok(tok) : !tok || !*tok) {
		emu_reply_oauth(r, q, "invalid_request",
				emu_current() ? "Refresh token is not valid"
					      : "refresh_token required",
				"validation_failed");
		return;
	}
	t = emu_rtoken_find(tok);
	if (t)
		s = emu_session_by_id(t->session_id);
	if (s)
		u = emu_user_by_id(s->user_id);
	if (!t || !s || !u) {
		emu_reply_oauth(r, q, "invalid_grant",
				"Invalid Refresh Token: Refresh Token Not Found",
				"refresh_token_not_found");
		return;
	}
	emu_session_headers(r, u, NULL, NULL);
	if (emu_user_banned(u)) {
		emu_reply_oauth(r, q, "invalid_grant", "Invalid Refresh Token: User Banned",
				"user_banned");
		return;
	}
	if (emu_current())
		emu_reply_header(r, "Sb-Auth-Session-Id", s->id);
	if (t->used) {
		refresh_reuse(q, r, u, s, t);
		return;
	}
	t->used = true;
	next = emu_rtoken_new(s, t);
	emu_session_headers(r, NULL, NULL, next->token);
	emu_reply_json(r, 200, emu_session_reply_rt(u, s, next, q));
}

/* POST /token?grant_type=pkce (handlers_pkce.c). v2.69 reads the body with json.Unmarshal and
 * says only that it could not. */
static void token_pkce(struct emu_req *q, struct emu_reply *r)
{
	json_object *in;
	char why[200];

	if (emu_current()) {
		in = emu_body_or_400(q, r, "");
	} else {
		in = emu_parse_body(q, why, sizeof(why));
		if (!in)
			emu_reply_error(r, q, 400, "bad_json",
					"invalid body: unable to parse JSON");
	}
	if (in)
		emu_grant_pkce(q, r, in);
	json_object_put(in);
}

void emu_h_token(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	const char *grant = emu_req_arg(q, "grant_type");
	const char *ctype = emu_req_header(q, "Content-Type");
	json_object *in = NULL;
	bool password;
	struct emu_req jq = *q;

	(void)id, (void)sub;
	/* Go's ParseForm consumes a form body, so the JSON decoder then sees nothing (step 25). */
	if (ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0) {
		const char *g = q->body ? strstr(q->body, "grant_type=") : NULL;
		static __thread char gbuf[64];

		if (!grant && g) {
			snprintf(gbuf, sizeof(gbuf), "%.*s", (int)strcspn(g + 11, "&"), g + 11);
			grant = gbuf;
		}
		jq.body = NULL;
		jq.body_len = 0;
	}
	if (grant && strcmp(grant, "pkce") == 0) {
		token_pkce(&jq, r);
		return;
	}
	if (!grant || (strcmp(grant, "password") != 0 && strcmp(grant, "refresh_token") != 0)) {
		/* current servers file it under invalid_credentials (v2.185 steps 26-27) */
		emu_reply_oauth(r, q, "unsupported_grant_type", NULL, "invalid_credentials");
		return;
	}
	password = strcmp(grant, "password") == 0;
	in = emu_body_or_400(&jq, r,
			     password ? "Could not read password grant params"
				      : "Could not read refresh token grant params");
	if (in && password)
		grant_password(q, r, in);
	else if (in)
		grant_refresh(q, r, in);
	json_object_put(in);
}

/* Current servers load the caller's user and session first (403 session_not_found once it is
 * gone, v2.185 step 69), then honour ?scope=global|local|others, global by default; any other
 * scope changes nothing (steps 63-73b, 176-193). */
static void logout_current(struct emu_req *q, struct emu_reply *r)
{
	json_object *claims = NULL;
	struct emu_user *u = emu_auth_user(q, r, &claims);
	const char *scope = emu_req_arg(q, "scope"), *sid;
	char msg[200];

	if (!u)
		return;
	sid = emu_str_field(claims, "session_id");
	if (scope && *scope && strcmp(scope, "global") != 0 && strcmp(scope, "local") != 0 &&
	    strcmp(scope, "others") != 0) {
		snprintf(msg, sizeof(msg), "Unsupported logout scope \"%.100s\"", scope);
		emu_reply_error(r, q, 400, "validation_failed", msg);
	} else {
		if (scope && strcmp(scope, "local") == 0)
			emu_session_delete(sid ? sid : "");
		else if (scope && strcmp(scope, "others") == 0)
			emu_sessions_delete_user(u->id, sid);
		else
			emu_sessions_delete_user(u->id, NULL);
		emu_reply_text(r, 204, NULL, NULL);
	}
	json_object_put(claims);
}

void emu_h_logout(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims;
	const char *uid;

	(void)id, (void)sub;
	if (emu_current()) {
		logout_current(q, r);
		return;
	}
	claims = emu_auth_bearer(q, r);
	if (!claims)
		return;
	uid = emu_str_field(claims, "sub");
	if (!uid || !*uid) {
		emu_reply_error(r, q, 401, "bad_jwt", "invalid claim: missing sub claim");
	} else {
		/* v2.69 ignores ?scope= and ends every session of the user (steps 63-65, 72-73). */
		emu_sessions_delete_user(uid, NULL);
		emu_reply_text(r, 204, NULL, NULL);
	}
	json_object_put(claims);
}

void emu_h_user_get(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = emu_auth_user(q, r, NULL);

	(void)id, (void)sub;
	if (u)
		emu_reply_json(r, 200, emu_user_json(u, q));
}

/* Current servers' rules for a new password on PUT /user (UserUpdate): with a verified factor
 * only an aal2 session may change it (v2.185 step 209), and it must differ from the old one
 * (58b). False after answering. */
static bool password_change_ok(struct emu_req *q, struct emu_reply *r, const struct emu_user *u,
			       const struct emu_session *s, const char *pw)
{
	bool mfa = false;

	if (!emu_current())
		return true;
	for (const struct emu_factor *f = u->factors; f; f = f->next)
		mfa = mfa || f->verified;
	if (mfa && (!s || strcmp(s->aal, "aal2") != 0)) {
		emu_reply_error(r, q, 401, "insufficient_aal",
				"AAL2 session is required to update email or password when MFA is "
				"enabled.");
		return false;
	}
	if (emu_password_matches(u->pw_hash, pw)) {
		emu_reply_error(r, q, 422, "same_password",
				"New password should be different from the old password.");
		return false;
	}
	return true;
}

/* models.User.UpdatePassword on current servers: the outstanding codes and their timestamps go,
 * and every other session of the user ends (v2.185 steps 57-57b); @keep_session may be NULL
 * (an admin's change ends them all). */
void emu_user_password_changed(struct emu_user *u, const char *keep_session)
{
	if (!emu_current())
		return;
	u->otp[0] = '\0';
	OPENSSL_cleanse(u->link_token, sizeof(u->link_token));
	u->recovery_sent_at = u->confirmation_sent_at = 0;
	emu_sessions_delete_user(u->id, keep_session);
}

void emu_h_user_put(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims = NULL, *in = NULL, *data;
	struct emu_user *u = emu_auth_user(q, r, &claims);
	struct emu_session *s;
	const char *pw;

	(void)id, (void)sub;
	if (!u)
		return;
	s = emu_session_by_id(emu_str_field(claims, "session_id"));
	in = emu_body_or_400(q, r, "Could not read User Update params");
	if (!in)
		goto cleanup;
	pw = emu_str_field(in, "password");
	if (pw && strlen(pw) < 6) {
		emu_reply_weak_password(r, q);
		goto cleanup;
	}
	/* user_metadata is the user's; app_metadata is the admin's (step 54). */
	if (json_object_object_get_ex(in, "app_metadata", NULL)) {
		emu_reply_error(r, q, emu_current() ? 403 : 401, "not_admin",
				"Updating app_metadata requires admin privileges");
		goto cleanup;
	}
	if (pw && !password_change_ok(q, r, u, s, pw))
		goto cleanup;
	if (pw && emu_user_set_password(u, pw) != 0) {
		emu_reply_error(r, q, 500, "unexpected_failure", "Error hashing the password");
		goto cleanup;
	}
	if (pw)
		emu_user_password_changed(u, s ? s->id : NULL);
	data = json_object_object_get(in, "data");
	if (json_object_is_type(data, json_type_object))
		emu_json_merge(u->user_metadata, data);
	u->updated_at = emu_now();
	emu_reply_json(r, 200, emu_user_json(u, q));
cleanup:
	json_object_put(in);
	json_object_put(claims);
}

/* One mail per user per 60 s, GoTrue's default SMTP_MAX_FREQUENCY. v2.69 names the interval;
 * current servers name the seconds left, truncated (v2.185 step 78; generateFrequencyLimitError-
 * Message), so 59 right after a mail. */
static bool rate_limited(struct emu_req *q, struct emu_reply *r, const struct emu_user *u)
{
	char msg[120];
	double left;

	if (!u || !u->otp_sent || time(NULL) - u->otp_sent >= 60)
		return false;
	left = (double)u->otp_sent + 60 - emu_now();
	if (emu_current())
		snprintf(msg, sizeof(msg),
			 "For security purposes, you can only request this after %ld seconds.",
			 (long)(left > 0 ? left : 0));
	else
		snprintf(msg, sizeof(msg),
			 "For security purposes, you can only request this once every 60 seconds");
	emu_reply_error(r, q, 429, "over_email_send_rate_limit", msg);
	return true;
}

/* Mail @u a code and a link of @type ("magiclink", "recovery"), bound by PKCE when @in carries a
 * code_challenge: current servers store the flow state before their send-rate check, v2.69 in the
 * transaction that sends the mail, so a refused mail leaves none there. @limit: the user existed
 * before this request. False after answering. */
static bool mail_code(struct emu_req *q, struct emu_reply *r, struct emu_user *u, const char *type,
		      json_object *in, bool limit)
{
	bool pkce = false;

	if (emu_current() && !emu_pkce_flow_new(q, r, u, type, in, &pkce))
		return false;
	if (limit && rate_limited(q, r, u))
		return false;
	if (!emu_current() && !emu_pkce_flow_new(q, r, u, type, in, &pkce))
		return false;
	if (pkce)
		emu_send_mail_pkce(u, type);
	else
		emu_send_mail(u, type);
	u->recovery_sent_at = emu_now();
	return true;
}

void emu_h_otp(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *in = emu_body_or_400(q, r, VERIFICATION_PARAMS), *cu;
	const char *email;
	struct emu_user *u;
	bool existed = true;

	(void)id, (void)sub;
	if (!in || !emu_pkce_params_ok(q, r, in))
		goto cleanup;
	email = emu_str_field(in, "email");
	if (emu_str_field(in, "phone") && *emu_str_field(in, "phone")) {
		emu_reply_error(r, q, 400, "phone_provider_disabled", "Unsupported phone provider");
		goto cleanup;
	}
	if ((!email || !*email) && emu_current()) {
		emu_reply_error(r, q, 400, "validation_failed",
				"One of email or phone must be set");
		goto cleanup;
	}
	if (!email || !*email) {
		emu_reply_oauth(r, q, "unsupported_otp_type", NULL, "validation_failed");
		goto cleanup;
	}
	u = emu_user_by_email(email);
	if (!u) {
		cu = json_object_object_get(in, "create_user");
		if (cu && !json_object_get_boolean(cu)) {
			emu_reply_error(r, q, emu_current() ? 422 : 400, "otp_disabled",
					"Signups not allowed for otp");
			goto cleanup;
		}
		/* the server signs the address up, unconfirmed, as /signup would (v2.185 87-88) */
		u = emu_user_new(email);
		signup_metadata(u, json_object_object_get(in, "data"));
		existed = false;
	}
	if (mail_code(q, r, u, "magiclink", in, existed))
		emu_reply_json(r, 200, json_object_new_object());
cleanup:
	json_object_put(in);
}

static void mail_flow(struct emu_req *q, struct emu_reply *r, const char *type, bool create)
{
	json_object *in;
	const char *email;
	struct emu_user *u;
	bool existed;

	if (!q->body || !q->body_len) {
		emu_reply_error(r, q, 400, "bad_json", VERIFICATION_PARAMS ": EOF");
		return;
	}
	in = emu_body_or_400(q, r, VERIFICATION_PARAMS);
	if (!in)
		return;
	email = emu_str_field(in, "email");
	if (!email || !*email) {
		emu_reply_error(r, q, 422, "validation_failed",
				"Password recovery requires an email");
		goto cleanup;
	}
	if (!emu_pkce_params_ok(q, r, in))
		goto cleanup;
	u = emu_user_by_email(email);
	if (!u && !create) {
		/* no user enumeration through /recover */
		emu_reply_json(r, 200, json_object_new_object());
		goto cleanup;
	}
	existed = u != NULL;
	if (!u)
		u = emu_user_new(email);
	if (mail_code(q, r, u, type, in, existed))
		emu_reply_json(r, 200, json_object_new_object());
cleanup:
	json_object_put(in);
}

void emu_h_magiclink(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	(void)id, (void)sub;
	mail_flow(q, r, "magiclink", true);
}

void emu_h_recover(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	(void)id, (void)sub;
	mail_flow(q, r, "recovery", false);
}

/* A one-time code or link has been proven: confirm the email; the code is spent. */
static void code_proven(struct emu_req *q, struct emu_user *u, const char *type)
{
	u->otp[0] = '\0';
	OPENSSL_cleanse(u->link_token, sizeof(u->link_token));
	if (u->email_confirmed_at <= 0) {
		/* v2.69's magic-link/email path reloads the user, its invite path does not (88,
		 * 104); current servers answer confirmed_at on both (v2.185 104) */
		bool reloaded =
			emu_current() ||
			(type && (strcmp(type, "magiclink") == 0 || strcmp(type, "email") == 0));

		/* current servers' signupVerify gives an invited user without a password a
		 * random one nobody knows, through UpdatePassword (v2.185 104: no
		 * confirmation_sent_at); here the user stays without any, which refuses every
		 * password alike */
		if (emu_current() && !u->pw_hash[0] && u->invited_at > 0)
			emu_user_password_changed(u, NULL);
		emu_user_confirm(u, reloaded ? 0 : q->serial);
		u->identity_verified = emu_current();
	}
	u->updated_at = emu_now();
}

/* ... and sign the user in (the implicit flow). */
static struct emu_session *verified(struct emu_req *q, struct emu_user *u, const char *type)
{
	code_proven(q, u, type);
	u->last_sign_in_at = emu_now();
	return emu_session_new(u, "otp");
}

/* POST /verify's parameters; false after answering (steps 82-84). */
static bool verify_params_ok(struct emu_req *q, struct emu_reply *r, const char *type,
			     const char *token, const char *email)
{
	if (!type || !*type) {
		emu_reply_error(r, q, 400, "validation_failed",
				"Verify requires a verification type");
		return false;
	}
	if (!token || !*token) {
		emu_reply_error(r, q, 400, "validation_failed",
				emu_current() ? "Verify requires either a token or a token hash"
					      : "Verify requires a token");
		return false;
	}
	if (!email || !*email) {
		emu_reply_error(
			r, q, 400, "validation_failed",
			"Only an email address or phone number should be provided on verify");
		return false;
	}
	return true;
}

void emu_h_verify_post(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *in = emu_body_or_400(q, r, VERIFICATION_PARAMS);
	const char *type, *token;
	struct emu_user *u;

	(void)id, (void)sub;
	if (!in)
		goto cleanup;
	type = emu_str_field(in, "type");
	token = emu_str_field(in, "token");
	if (!verify_params_ok(q, r, type, token, emu_str_field(in, "email")))
		goto cleanup;
	u = emu_user_by_email(emu_str_field(in, "email"));
	/* Current servers say of an unknown address what they say of a wrong code (v2.185 85). */
	if (!u && !emu_current()) {
		emu_reply_error(r, q, 404, "user_not_found", "User not found");
		goto cleanup;
	}
	/* A wrong code leaves the real one usable (step 79 then 80). */
	if (!u || !u->otp[0] || CRYPTO_memcmp(u->otp, token, 7) != 0 || strlen(token) != 6) {
		emu_reply_error(r, q, emu_current() ? 403 : 401, "otp_expired",
				"Token has expired or is invalid");
		goto cleanup;
	}
	if (emu_user_banned(u)) {
		if (emu_current())
			emu_reply_error(r, q, 403, "user_banned", "User is banned");
		else
			emu_reply_error(r, q, 401, "user_banned", "Error confirming user");
		goto cleanup;
	}
	emu_reply_json(r, 200, emu_session_reply(u, verified(q, u, type), q));
cleanup:
	json_object_put(in);
}

/* The Location of a link that failed: the error in the fragment, and for a PKCE link on current
 * servers in the query too (prepErrorRedirectURL). @error_desc is form-encoded already. */
static char *error_location(const char *redirect, bool pkce, const char *error_pair,
			    const char *error_desc)
{
	char *loc = NULL;
	int n;

	if (pkce && emu_current())
		n = asprintf(&loc, "%s?%s&error_description=%s#%s&error_description=%s", redirect,
			     error_pair, error_desc, error_pair, error_desc);
	else
		n = asprintf(&loc, "%s#%s&error_description=%s", redirect, error_pair, error_desc);
	return n < 0 ? NULL : loc;
}

#define LINK_INVALID "Email+link+is+invalid+or+has+expired"

static const char *link_invalid_pair(void)
{
	return emu_current() ? "error=access_denied&error_code=otp_expired"
			     : "error=unauthorized_client&error_code=401";
}

/* A PKCE link (token "pkce_..."): the auth code of the user's flow state in the query
 * (prepPKCERedirectURL), and no session; a link without a flow state stays usable, since GoTrue
 * rolls the confirmation back. malloc'd, or NULL. */
static char *pkce_location(struct emu_req *q, const char *redirect, struct emu_user *u,
			   const char *type)
{
	char msg[160], enc[3 * sizeof(msg)], *loc = NULL;
	const char *code;
	size_t o = 0;

	if (!u || emu_user_banned(u))
		return error_location(redirect, true, link_invalid_pair(), LINK_INVALID);
	code = emu_pkce_auth_code(u, type ? type : "", msg, sizeof(msg));
	if (!code) {
		/* url.Values.Encode: space as '+', unreserved as is, the rest %XX */
		for (const char *p = msg; *p && o + 4 < sizeof(enc); p++)
			if (*p == ' ')
				enc[o++] = '+';
			else if (isalnum((unsigned char)*p) || strchr("-._~", *p))
				enc[o++] = *p;
			else
				o += (size_t)snprintf(enc + o, sizeof(enc) - o, "%%%02X",
						      (unsigned char)*p);
		enc[o] = '\0';
		return error_location(
			redirect, true,
			emu_current() ? "error=invalid_request&error_code=flow_state_not_found"
				      : "error=invalid_request&error_code=400",
			enc);
	}
	code_proven(q, u, type);
	if (asprintf(&loc, "%s%scode=%s", redirect, strchr(redirect, '?') ? "&" : "?", code) < 0)
		loc = NULL;
	return loc;
}

/* The Location of a magic link's redirect: the session in the fragment, expires_at too on current
 * servers, or the error (v2.69 93-94, v2.185 93-94). malloc'd, or NULL. */
static char *verify_location(struct emu_req *q, const char *redirect, struct emu_user *u,
			     const char *type)
{
	json_object *sess;
	char *loc = NULL, expires_at[40] = "";
	int n;

	if (!u || emu_user_banned(u))
		return error_location(redirect, false, link_invalid_pair(), LINK_INVALID);
	sess = emu_session_reply(u, verified(q, u, type), q);
	if (emu_current())
		snprintf(expires_at, sizeof(expires_at), "expires_at=%" PRId64 "&",
			 json_object_get_int64(json_object_object_get(sess, "expires_at")));
	n = asprintf(
		&loc,
		"%s#access_token=%s&%sexpires_in=%ld&refresh_token=%s&token_type=bearer&type=%s",
		redirect, emu_str_field(sess, "access_token"), expires_at, emu_cfg.jwt_exp,
		emu_str_field(sess, "refresh_token"), type ? type : "magiclink");
	json_object_put(sess);
	return n < 0 ? NULL : loc;
}

void emu_h_verify_get(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	const char *token = emu_req_arg(q, "token"), *type = emu_req_arg(q, "type");
	const char *redirect = emu_req_arg(q, "redirect_to");
	struct emu_user *u = NULL;
	/* the token's prefix picks the flow (verifyGet); it is part of the stored token */
	bool pkce = token && strncmp(token, "pkce_", 5) == 0;
	char *loc;

	(void)id, (void)sub;
	if (!redirect || !*redirect)
		redirect = "http://localhost:3000";
	if (pkce)
		token += 5;
	for (size_t i = 0; token && strlen(token) == 56 && (u = emu_user_nth(i)); i++)
		if (u->link_token[0] && u->link_pkce == pkce &&
		    CRYPTO_memcmp(u->link_token, token, 56) == 0)
			break;
	loc = pkce ? pkce_location(q, redirect, u, type) : verify_location(q, redirect, u, type);
	emu_reply_text(r, 303, NULL, NULL);
	if (loc) {
		char *html = NULL;

		emu_reply_header(r, "Location", loc);
		if (asprintf(&html, "<a href=\"%s\">See Other</a>.\n\n", loc) > 0)
			emu_reply_text(r, 303, "text/html; charset=utf-8", html);
		free(html);
	}
	free(loc);
}
