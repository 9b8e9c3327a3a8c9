/* handlers_auth.c: the user-facing GoTrue endpoints (/health, /settings, /signup, /token,
 * /logout, /user, /otp, /magiclink, /recover, /verify, /.well-known/jwks.json) and the bearer-token
 * checks every authenticated endpoint shares. Status codes and messages follow
 * ../shared/gotrue-api/transcript-v2.69.md (step numbers cited) and current-server.md. */
#include <config.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "emulator.h"

#define VERIFICATION_PARAMS "Could not read verification params"

static bool current(void)
{
	return emu_cfg.mode == EMU_MODE_CURRENT;
}

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
				"This endpoint requires a Bearer token");
		return NULL;
	}
	claims = emu_verify(h + 7, err, sizeof(err));
	if (!claims)
		emu_reply_error(r, q, current() ? 403 : 401, "bad_jwt", err);
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
		emu_reply_error(r, q, current() ? 403 : 401, "bad_jwt",
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
			emu_reply_error(r, q, 400, "bad_jwt",
					"Token audience doesn't match request audience");
			goto cleanup;
		}
	}
	/* Current servers load the JWT's session and refuse once it is gone; v2.69 does not
	 * (current-server.md "Sessions and access tokens", transcript steps 66-68). */
	if (current() && emu_str_field(claims, "session_id") &&
	    !emu_session_by_id(emu_str_field(claims, "session_id"))) {
		emu_reply_error(r, q, 403, "session_not_found",
				"Session from session_id claim in JWT does not exist");
		goto cleanup;
	}
	u = emu_user_by_id(sub);
	if (!u)
		emu_reply_error(r, q, 404, "user_not_found", "User not found");
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
		emu_reply_error(r, q, current() ? 403 : 401, "not_admin", "User not allowed");
	json_object_put(claims);
	return ok;
}

/* ---- mail ---- */

void emu_send_mail(const struct emu_user *cu, const char *type)
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
	snprintf(link, sizeof(link), "%s/verify?token=%s&type=%s&redirect_to=http://localhost:3000",
		 emu_cfg.url, u->link_token, type);
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

/* ---- endpoints ---- */

void emu_h_health(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *o = json_object_new_object();

	(void)q, (void)id, (void)sub;
	json_object_object_add(
		o, "version",
		json_object_new_string(current() ? "v2.190.0" : "v2.69.3-2-g26f19659"));
	json_object_object_add(o, "name", json_object_new_string("GoTrue"));
	json_object_object_add(
		o, "description",
		json_object_new_string("GoTrue is a user registration and authentication API"));
	emu_reply_json(r, 200, o);
}

void emu_h_settings(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	static const char *providers[] = {
		"apple",  "azure",  "bitbucket", "discord",  "github", "gitlab",  "keycloak",
		"google", "kakao",  "linkedin",	 "facebook", "notion", "spotify", "slack",
		"workos", "twitch", "twitter",	 "email",    "phone",  "zoom"};
	json_object *o = json_object_new_object(), *ext = json_object_new_object();

	(void)q, (void)id, (void)sub;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
		json_object_object_add(ext, providers[i],
				       json_object_new_boolean(strcmp(providers[i], "email") == 0));
	json_object_object_add(o, "external", ext);
	json_object_object_add(o, "disable_signup", json_object_new_boolean(0));
	json_object_object_add(o, "mailer_autoconfirm", json_object_new_boolean(1));
	json_object_object_add(o, "phone_autoconfirm", json_object_new_boolean(0));
	json_object_object_add(o, "sms_provider", json_object_new_string(""));
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

static void weak_password(struct emu_reply *r, struct emu_req *q)
{
	emu_reply_error(r, q, 422, "weak_password", "Password should be at least 6 characters");
}

void emu_h_signup(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *in = emu_body_or_400(q, r, "Could not read Signup params"), *data;
	const char *email, *pw;
	struct emu_user *u;
	struct emu_session *s;

	(void)id, (void)sub;
	if (!in)
		goto cleanup;
	email = emu_str_field(in, "email");
	pw = emu_str_field(in, "password");
	if (!email || !*email) {
		emu_reply_error(r, q, 422, "validation_failed",
				"To signup, please provide your email");
		goto cleanup;
	}
	if (!pw || strlen(pw) < 6) {
		weak_password(r, q);
		goto cleanup;
	}
	if (!valid_email(email)) {
		emu_reply_error(r, q, 422, "email_address_invalid",
				"Unable to validate email address: invalid format");
		goto cleanup;
	}
	if (emu_user_by_email(email)) {
		emu_reply_error(r, q, current() ? 422 : 400, "user_already_exists",
				"User already registered");
		goto cleanup;
	}
	u = emu_user_new(email);
	if (emu_user_set_password(u, pw) != 0) {
		emu_user_delete(u);
		emu_reply_error(r, q, 500, "unexpected_failure", "Error hashing the password");
		goto cleanup;
	}
	data = json_object_object_get(in, "data");
	if (json_object_is_type(data, json_type_object))
		emu_json_merge(u->user_metadata, data);
	/* MAILER_AUTOCONFIRM=true in the recorded server: signup returns a session (step 4). */
	u->email_confirmed_at = u->last_sign_in_at = emu_now();
	u->confirm_serial = q->serial;
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

static void grant_password(struct emu_req *q, struct emu_reply *r, json_object *in)
{
	char msg[300];
	json_object *pwv;
	const char *email, *pw;
	struct emu_user *u;
	struct emu_session *s;

	pwv = json_object_object_get(in, "password");
	if (pwv && !json_object_is_type(pwv, json_type_string)) {
		snprintf(msg, sizeof(msg),
			 "Could not read password grant params: json: cannot unmarshal %s into Go "
			 "struct field PasswordGrantParams.password of type string",
			 json_object_is_type(pwv, json_type_int) ||
					 json_object_is_type(pwv, json_type_double)
				 ? "number"
				 : json_type_to_name(json_object_get_type(pwv)));
		emu_reply_error(r, q, 400, "bad_json", msg);
		return;
	}
	email = emu_str_field(in, "email");
	pw = emu_str_field(in, "password");
	if (email && *email && emu_str_field(in, "phone") && *emu_str_field(in, "phone")) {
		emu_reply_error(
			r, q, 422, "validation_failed",
			"Only an email address or phone number should be provided on login.");
		return;
	}
	u = password_user(email, pw);
	/* v2.69 answers every failure alike (steps 12, 13, 18, 19, 23, 135); only a correct
	 * password reveals an unconfirmed email (step 16). */
	if (!u || (!current() && emu_user_banned(u))) {
		emu_reply_oauth(r, q, "invalid_grant", "Invalid login credentials",
				"invalid_credentials");
		return;
	}
	if (emu_user_banned(u)) {
		emu_reply_oauth(r, q, "invalid_grant", "User is banned", "user_banned");
		return;
	}
	if (u->email_confirmed_at <= 0) {
		emu_reply_oauth(r, q, "invalid_grant", "Email not confirmed",
				"email_not_confirmed");
		return;
	}
	u->last_sign_in_at = emu_now();
	s = emu_session_new(u, "password");
	emu_reply_json(r, 200, emu_session_reply(u, s, q));
}

static void grant_refresh(struct emu_req *q, struct emu_reply *r, json_object *in)
{
	const char *tok;
	struct emu_rtoken *t;
	struct emu_session *s = NULL;
	struct emu_user *u = NULL;

	tok = emu_str_field(in, "refresh_token");
	if (!tok || !*tok) {
		emu_reply_oauth(r, q, "invalid_request", "refresh_token required",
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
	if (emu_user_banned(u)) {
		emu_reply_oauth(r, q, "invalid_grant", "Invalid Refresh Token: User Banned",
				"user_banned");
		return;
	}
	if (t->used) {
		/* Reuse: revoke the whole family, the newest token included (steps 30-31). */
		emu_rtoken_revoke_family(s->id);
		emu_count_key("refresh_reuse");
		emu_reply_oauth(r, q, "invalid_grant", "Invalid Refresh Token: Already Used",
				"refresh_token_already_used");
		return;
	}
	t->used = true;
	emu_reply_json(r, 200, emu_session_reply(u, s, q));
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
	if (!grant || (strcmp(grant, "password") != 0 && strcmp(grant, "refresh_token") != 0)) {
		emu_reply_oauth(r, q, "unsupported_grant_type", NULL, "unsupported_grant_type");
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

void emu_h_logout(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims = emu_auth_bearer(q, r);
	const char *scope = emu_req_arg(q, "scope"), *uid, *sid;

	(void)id, (void)sub;
	if (!claims)
		return;
	uid = emu_str_field(claims, "sub");
	sid = emu_str_field(claims, "session_id");
	if (!uid || !*uid) {
		emu_reply_error(r, q, current() ? 403 : 401, "bad_jwt",
				"invalid claim: missing sub claim");
		goto cleanup;
	}
	if (!current()) {
		/* v2.69 ignores ?scope= and ends every session of the user (steps 63-65, 72-73). */
		emu_sessions_delete_user(uid, NULL);
	} else {
		if (scope && *scope && strcmp(scope, "global") && strcmp(scope, "local") &&
		    strcmp(scope, "others")) {
			emu_reply_error(r, q, 400, "validation_failed", "Unsupported logout scope");
			goto cleanup;
		}
		if (sid && !emu_session_by_id(sid)) {
			emu_reply_error(r, q, 403, "session_not_found",
					"Session from session_id claim in JWT does not exist");
			goto cleanup;
		}
		if (scope && strcmp(scope, "local") == 0)
			emu_session_delete(sid ? sid : "");
		else if (scope && strcmp(scope, "others") == 0)
			emu_sessions_delete_user(uid, sid);
		else
			emu_sessions_delete_user(uid, NULL);
	}
	emu_reply_text(r, 204, NULL, NULL);
cleanup:
	json_object_put(claims);
}

void emu_h_user_get(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = emu_auth_user(q, r, NULL);

	(void)id, (void)sub;
	if (u)
		emu_reply_json(r, 200, emu_user_json(u, q));
}

void emu_h_user_put(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = emu_auth_user(q, r, NULL);
	json_object *in = NULL, *data;
	const char *pw;

	(void)id, (void)sub;
	if (!u)
		return;
	in = emu_body_or_400(q, r, "Could not read User Update params");
	if (!in)
		goto cleanup;
	/* user_metadata is the user's; app_metadata is the admin's (step 54). */
	if (json_object_object_get_ex(in, "app_metadata", NULL)) {
		emu_reply_error(r, q, 401, "not_admin",
				"Updating app_metadata requires admin privileges");
		goto cleanup;
	}
	pw = emu_str_field(in, "password");
	if (pw && strlen(pw) < 6) {
		weak_password(r, q);
		goto cleanup;
	}
	data = json_object_object_get(in, "data");
	if (json_object_is_type(data, json_type_object))
		emu_json_merge(u->user_metadata, data);
	if (pw && emu_user_set_password(u, pw) != 0) {
		emu_reply_error(r, q, 500, "unexpected_failure", "Error hashing the password");
		goto cleanup;
	}
	u->updated_at = emu_now();
	emu_reply_json(r, 200, emu_user_json(u, q));
cleanup:
	json_object_put(in);
}

static bool rate_limited(struct emu_req *q, struct emu_reply *r, const struct emu_user *u)
{
	if (u && u->otp_sent && time(NULL) - u->otp_sent < 60) {
		emu_reply_error(r, q, 429, "over_email_send_rate_limit",
				"For security purposes, you can only request this once every 60 "
				"seconds");
		return true;
	}
	return false;
}

void emu_h_otp(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *in = emu_body_or_400(q, r, VERIFICATION_PARAMS), *cu, *data;
	const char *email;
	struct emu_user *u;

	(void)id, (void)sub;
	if (!in)
		goto cleanup;
	email = emu_str_field(in, "email");
	if (emu_str_field(in, "phone") && *emu_str_field(in, "phone")) {
		emu_reply_error(r, q, 400, "phone_provider_disabled", "Unsupported phone provider");
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
			emu_reply_error(r, q, current() ? 422 : 400, "otp_disabled",
					"Signups not allowed for otp");
			goto cleanup;
		}
		u = emu_user_new(email);
		data = json_object_object_get(in, "data");
		if (json_object_is_type(data, json_type_object))
			emu_json_merge(u->user_metadata, data);
	} else if (rate_limited(q, r, u)) {
		goto cleanup;
	}
	emu_send_mail(u, "magiclink");
	u->recovery_sent_at = emu_now();
	emu_reply_json(r, 200, json_object_new_object());
cleanup:
	json_object_put(in);
}

static void mail_flow(struct emu_req *q, struct emu_reply *r, const char *type, bool create)
{
	json_object *in;
	const char *email;
	struct emu_user *u;

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
	u = emu_user_by_email(email);
	if (!u && !create) {
		/* no user enumeration through /recover */
		emu_reply_json(r, 200, json_object_new_object());
		goto cleanup;
	}
	if (!u)
		u = emu_user_new(email);
	else if (rate_limited(q, r, u))
		goto cleanup;
	emu_send_mail(u, type);
	u->recovery_sent_at = emu_now();
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

/* A one-time code has been proven: confirm the email and open a session. */
static struct emu_session *verified(struct emu_req *q, struct emu_user *u, const char *type)
{
	u->otp[0] = '\0';
	OPENSSL_cleanse(u->link_token, sizeof(u->link_token));
	if (u->email_confirmed_at <= 0) {
		u->email_confirmed_at = emu_now();
		/* the magic-link/email path reloads the user, the invite path does not (88, 104) */
		bool reloaded =
			type && (strcmp(type, "magiclink") == 0 || strcmp(type, "email") == 0);

		u->confirm_serial = reloaded ? 0 : q->serial;
	}
	u->last_sign_in_at = emu_now();
	u->updated_at = emu_now();
	return emu_session_new(u, "otp");
}

void emu_h_verify_post(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *in = emu_body_or_400(q, r, VERIFICATION_PARAMS);
	const char *type, *token, *email;
	struct emu_user *u;

	(void)id, (void)sub;
	if (!in)
		goto cleanup;
	type = emu_str_field(in, "type");
	token = emu_str_field(in, "token");
	email = emu_str_field(in, "email");
	if (!type || !*type) {
		emu_reply_error(r, q, 400, "validation_failed",
				"Verify requires a verification type");
		goto cleanup;
	}
	if (!token || !*token) {
		emu_reply_error(r, q, 400, "validation_failed", "Verify requires a token");
		goto cleanup;
	}
	if (!email || !*email) {
		emu_reply_error(
			r, q, 400, "validation_failed",
			"Only an email address or phone number should be provided on verify");
		goto cleanup;
	}
	u = emu_user_by_email(email);
	if (!u) {
		emu_reply_error(r, q, 404, "user_not_found", "User not found");
		goto cleanup;
	}
	/* A wrong code leaves the real one usable (step 79 then 80). */
	if (!u->otp[0] || CRYPTO_memcmp(u->otp, token, 7) != 0 || strlen(token) != 6) {
		emu_reply_error(r, q, current() ? 403 : 401, "otp_expired",
				"Token has expired or is invalid");
		goto cleanup;
	}
	if (emu_user_banned(u)) {
		emu_reply_error(r, q, 401, "user_banned", "Error confirming user");
		goto cleanup;
	}
	emu_reply_json(r, 200, emu_session_reply(u, verified(q, u, type), q));
cleanup:
	json_object_put(in);
}

void emu_h_verify_get(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	const char *token = emu_req_arg(q, "token"), *type = emu_req_arg(q, "type");
	const char *redirect = emu_req_arg(q, "redirect_to");
	struct emu_user *u = NULL;
	char *loc = NULL;

	(void)id, (void)sub;
	if (!redirect || !*redirect)
		redirect = "http://localhost:3000";
	for (size_t i = 0; token && strlen(token) == 56 && (u = emu_user_nth(i)); i++)
		if (u->link_token[0] && CRYPTO_memcmp(u->link_token, token, 56) == 0)
			break;
	if (!u || emu_user_banned(u)) {
		if (asprintf(&loc,
			     "%s#error=unauthorized_client&error_code=401&error_description=Email+"
			     "link+is+invalid+or+has+expired",
			     redirect) < 0)
			loc = NULL;
	} else {
		json_object *sess = emu_session_reply(u, verified(q, u, type), q);

		if (asprintf(&loc,
			     "%s#access_token=%s&expires_in=%ld&refresh_token=%s&token_type=bearer&"
			     "type=%s",
			     redirect, emu_str_field(sess, "access_token"), emu_cfg.jwt_exp,
			     emu_str_field(sess, "refresh_token"), type ? type : "magiclink") < 0)
			loc = NULL;
		json_object_put(sess);
	}
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
