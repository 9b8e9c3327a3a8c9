/* api: the GoTrue client and the endpoints a login uses, one function each, over gotrue_http_json
 * (the endpoints only gotruectl calls are lib/client/ctl's). Paths and bodies follow
 * supabase/auth's router (internal/api/api.go); "step N" is the recorded exchange of that number
 * that tests/emulator/conformance.tsv replays. Passwords and one-time codes enter only the request
 * body object, whose json-c copies are wiped before it is released (gotrue_json_put_wiped); the
 * serialised body is wiped by http.c. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "log.h"
#include "secure.h"

/* Protocol errors carry the parser's reason, which never contains a field's value. */
#define WHY_MAX 160

/* --- Client ------------------------------------------------------------------------------- */

struct gotrue_client *gotrue_client_new(pam_handle_t *pamh, const struct gotrue_config *cfg)
{
	struct gotrue_client *c = NULL, *ret = NULL;

	if (!cfg)
		goto cleanup;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto cleanup;
	c->pamh = pamh;
	/* The config caches loaded secrets (config.h: "NULL until gotrue_config_load_secret()");
	 * loading one is the only change the client makes to it. */
	c->cfg = (struct gotrue_config *)cfg;
	/* Fail closed: an api_key_file that is configured but unreadable is an error, not an
	 * anonymous request. No file configured is fine (loads nothing, returns 0). */
	if (gotrue_config_load_secret(pamh, c->cfg, GOTRUE_SECRET_API_KEY) != 0)
		goto cleanup;
	c->http = gotrue_http_new(pamh, cfg);
	if (!c->http)
		goto cleanup;
	ret = c;
	c = NULL;
cleanup:
	gotrue_client_free(c);
	return ret;
}

void gotrue_client_free(struct gotrue_client *c)
{
	if (c) {
		gotrue_client_cancel(c);
		gotrue_http_free(c->http);
		free(c);
	}
}

/* What a *_start call holds until its *_end: the body, its serialisation (in the object's own
 * print buffer, which the transfer reads) and the response, wiped, since they carry tokens. */
static void started_clear(struct gotrue_client *c)
{
	if (c->text != NULL)
		explicit_bzero(c->text, c->text_len);
	gotrue_json_put_wiped(c->body);
	gotrue_http_response_clear(&c->resp);
	c->body = NULL;
	c->text = NULL;
	c->text_len = 0;
	c->path = NULL;
}

void gotrue_client_cancel(struct gotrue_client *c)
{
	if (c != NULL && c->path != NULL) {
		gotrue_http_cancel(c->multi, c->http);
		started_clear(c);
	}
}

struct gotrue_http *gotrue_client_http(struct gotrue_client *c)
{
	return c ? c->http : NULL;
}

/* --- Request helpers ---------------------------------------------------------------------------
 */

int gotrue_api_json(struct gotrue_client *c, const char *method, const char *path,
		    const char *bearer, json_object *body, json_object **out,
		    struct gotrue_error *err)
{
	struct gotrue_http_response resp;
	int rc;

	memset(&resp, 0, sizeof(resp));
	if (out)
		*out = NULL;
	rc = gotrue_http_json(c->http, method, path, bearer, body, out, &resp, err);
	gotrue_http_response_clear(&resp);
	return rc;
}

int gotrue_api_call(struct gotrue_client *c, const char *method, const char *path,
		    const char *bearer, json_object *body, struct gotrue_error *err)
{
	return gotrue_api_json(c, method, path, bearer, body, NULL, err);
}

/* A 2xx answer @obj (consumed) that must be a session, from @path. */
int gotrue_api_session_answer(json_object *obj, const char *path, struct gotrue_session *out,
			      struct gotrue_error *err)
{
	char why[WHY_MAX] = "";
	int rc = -1;

	if (gotrue_session_from_json(obj, out, why, sizeof(why)) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "unusable session from %s: %s", path,
				 why);
		goto cleanup;
	}
	rc = 0;
cleanup:
	/* The parsed answer holds json-c copies of both tokens. Only those are wiped: the user's
	 * metadata objects are shared with @out (gotrue_user_from_json takes references). */
	gotrue_json_wipe_member(obj, "access_token");
	gotrue_json_wipe_member(obj, "refresh_token");
	json_object_put(obj);
	return rc;
}

/* A 2xx answer @obj (consumed) that must be a user, from @path. */
int gotrue_api_user_answer(json_object *obj, const char *path, struct gotrue_user *out,
			   struct gotrue_error *err)
{
	char why[WHY_MAX] = "";
	int rc = 0;

	if (gotrue_user_from_json(obj, out, why, sizeof(why)) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "unusable user from %s: %s", path, why);
		rc = -1;
	}
	json_object_put(obj);
	return rc;
}

int gotrue_api_session(struct gotrue_client *c, const char *method, const char *path,
		       const char *bearer, json_object *body, struct gotrue_session *out,
		       struct gotrue_error *err)
{
	json_object *obj = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (gotrue_api_json(c, method, path, bearer, body, &obj, err) == 0)
		rc = gotrue_api_session_answer(obj, path, out, err);
	return rc;
}

int gotrue_api_user(struct gotrue_client *c, const char *method, const char *path,
		    const char *bearer, json_object *body, struct gotrue_user *out,
		    struct gotrue_error *err)
{
	json_object *obj = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (gotrue_api_json(c, method, path, bearer, body, &obj, err) == 0)
		rc = gotrue_api_user_answer(obj, path, out, err);
	return rc;
}

int gotrue_api_get_object(struct gotrue_client *c, const char *path, json_object **out,
			  struct gotrue_error *err)
{
	json_object *obj = NULL;
	int rc = -1;

	*out = NULL;
	if (gotrue_api_json(c, "GET", path, NULL, NULL, &obj, err) != 0)
		goto cleanup;
	if (!json_object_is_type(obj, json_type_object)) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "%s did not answer a JSON object", path);
		goto cleanup;
	}
	*out = obj;
	obj = NULL;
	rc = 0;
cleanup:
	json_object_put(obj);
	return rc;
}

/* "email" or "phone", exactly one (the server refuses both: transcript step 20). */
int gotrue_api_add_identity(json_object *body, const char *email, const char *phone,
			    struct gotrue_error *err)
{
	bool has_email = email && *email, has_phone = phone && *phone;
	int rc = -1;

	if (has_email == has_phone)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "need exactly one of email or phone");
	else
		rc = has_email ? gotrue_json_add_str(body, "email", email, err)
			       : gotrue_json_add_str(body, "phone", phone, err);
	return rc;
}

json_object *gotrue_api_new_body(struct gotrue_error *err)
{
	json_object *body = json_object_new_object();

	if (!body)
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
	return body;
}

/* --- Server -------------------------------------------------------------------------------- */

/* GET /health: {"version", "name", "description"} (step 1). */
int gotrue_health(struct gotrue_client *c, json_object **out, struct gotrue_error *err)
{
	return gotrue_api_get_object(c, "/health", out, err);
}

/* At most 9 digits, so the value fits an int. */
static bool version_number(const char **p, int *out)
{
	long v = 0;
	int n = 0;

	while (isdigit((unsigned char)**p) && n < 9) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*out = (int)v;
	return n > 0 && !isdigit((unsigned char)**p);
}

/* "v2.69.3-2-g26f19659" (git describe, as /health reports it: step 1), "2.190.0", "v2.69.3". */
int gotrue_version_parse(const char *version, int *major, int *minor, int *patch)
{
	const char *p = version;
	int ma, mi, pa, rc = -1;

	if (!p)
		goto cleanup;
	if (*p == 'v' || *p == 'V')
		p++;
	if (!version_number(&p, &ma) || *p++ != '.' || !version_number(&p, &mi) || *p++ != '.' ||
	    !version_number(&p, &pa))
		goto cleanup;
	/* A pre-release or describe suffix may follow; nothing else may. */
	if (*p != '\0' && *p != '-' && *p != '+')
		goto cleanup;
	if (major)
		*major = ma;
	if (minor)
		*minor = mi;
	if (patch)
		*patch = pa;
	rc = 0;
cleanup:
	return rc;
}

/* /logout?scope= arrived with supabase/auth PR #1112 "feat: add different logout scopes"
 * (commit df075408, tagged v2.78.0, July 2023); v2.77.0 and older, v2.69.3 among them, end
 * every session of the user whatever the query says (transcript steps 72-73). An unknown or
 * unparsable version is treated as old: assuming scope works when it does not would end the
 * user's other sessions. */
bool gotrue_version_honours_logout_scope(const char *version)
{
	int ma, mi, pa;

	return gotrue_version_parse(version, &ma, &mi, &pa) == 0 &&
	       (ma > 2 || (ma == 2 && mi >= 78));
}

bool gotrue_health_honours_logout_scope(json_object *health)
{
	json_object *v;

	return json_object_object_get_ex(health, "version", &v) &&
	       json_object_is_type(v, json_type_string) &&
	       gotrue_version_honours_logout_scope(json_object_get_string(v));
}

int gotrue_server_honours_logout_scope(struct gotrue_client *c,
				       enum gotrue_server_generation server, bool *honours,
				       struct gotrue_error *err)
{
	json_object *health = NULL;
	int rc = -1;

	*honours = server == GOTRUE_SERVER_CURRENT;
	if (server != GOTRUE_SERVER_AUTO) {
		rc = 0;
		goto cleanup;
	}
	if (gotrue_health(c, &health, err) != 0)
		goto cleanup;
	*honours = gotrue_health_honours_logout_scope(health);
	rc = 0;
cleanup:
	json_object_put(health);
	return rc;
}

/* --- Users -------------------------------------------------------------------------------- */

/* POST /token?grant_type=password {email|phone, password} (step 11). The grant type must be in
 * the query string; the body must be JSON (steps 25-26). */
int gotrue_signin_password(struct gotrue_client *c, const struct gotrue_credentials *cred,
			   struct gotrue_session *out, struct gotrue_error *err)
{
	json_object *body = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!cred || !cred->password) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "sign-in needs a password");
		goto cleanup;
	}
	body = gotrue_api_new_body(err);
	if (!body || gotrue_api_add_identity(body, cred->email, cred->phone, err) != 0 ||
	    gotrue_json_add_str(body, "password", cred->password, err) != 0)
		goto cleanup;
	rc = gotrue_api_session(c, "POST", "/token?grant_type=password", NULL, body, out, err);
cleanup:
	gotrue_json_put_wiped(body);
	return rc;
}

/* POST /token?grant_type=refresh_token {refresh_token} (step 29). */
json_object *gotrue_api_refresh_body(const char *refresh_token, struct gotrue_error *err)
{
	json_object *body = NULL;

	if (!refresh_token || !*refresh_token)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "no refresh token");
	else
		body = gotrue_api_new_body(err);
	if (body && gotrue_json_add_str(body, "refresh_token", refresh_token, err) != 0) {
		gotrue_json_put_wiped(body);
		body = NULL;
	}
	return body;
}

int gotrue_refresh(struct gotrue_client *c, const char *refresh_token, struct gotrue_session *out,
		   struct gotrue_error *err)
{
	json_object *body;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	body = gotrue_api_refresh_body(refresh_token, err);
	if (body)
		rc = gotrue_api_session(c, "POST", GOTRUE_API_REFRESH_PATH, NULL, body, out, err);
	gotrue_json_put_wiped(body);
	return rc;
}

/* POST /logout[?scope=local|others]: 204 (step 63). Global is the server's default, so it is
 * sent without a scope: that is also the only form a pre-v2.78 server understands. */
int gotrue_signout(struct gotrue_client *c, const char *access_token,
		   enum gotrue_logout_scope scope, struct gotrue_error *err)
{
	const char *path = NULL;
	int rc = -1;

	switch (scope) {
	case GOTRUE_LOGOUT_GLOBAL:
		path = "/logout";
		break;
	case GOTRUE_LOGOUT_LOCAL:
		path = "/logout?scope=local";
		break;
	case GOTRUE_LOGOUT_OTHERS:
		path = "/logout?scope=others";
		break;
	}
	if (!path)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "unknown logout scope %d", (int)scope);
	else if (!access_token || !*access_token)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "logout needs an access token");
	else
		rc = gotrue_api_call(c, "POST", path, access_token, NULL, err);
	return rc;
}

/* GET /user (step 38). */
int gotrue_user_get(struct gotrue_client *c, const char *access_token, struct gotrue_user *out,
		    struct gotrue_error *err)
{
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!access_token || !*access_token)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "/user needs an access token");
	else
		rc = gotrue_api_user(c, "GET", "/user", access_token, NULL, out, err);
	return rc;
}

/* PUT /user (steps 52-55). @update belongs to the caller, who wipes any password in it. */
int gotrue_user_update(struct gotrue_client *c, const char *access_token, json_object *update,
		       struct gotrue_user *out, struct gotrue_error *err)
{
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!access_token || !*access_token || !json_object_is_type(update, json_type_object))
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "PUT /user needs a token and an object");
	else
		rc = gotrue_api_user(c, "PUT", "/user", access_token, update, out, err);
	return rc;
}

/* PKCE (RFC 7636): code_challenge with code_challenge_method "s256", the spelling supabase's own
 * clients send (the server lowercases it: models.ParseCodeChallengeMethod). Nothing for NULL. */
int gotrue_api_add_challenge(json_object *body, const char *code_challenge,
			     struct gotrue_error *err)
{
	int rc = -1;

	if (!code_challenge)
		rc = 0;
	else if (!*code_challenge)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "empty code challenge");
	else if (gotrue_json_add_str(body, "code_challenge", code_challenge, err) == 0 &&
		 gotrue_json_add_str(body, "code_challenge_method", "s256", err) == 0)
		rc = 0;
	return rc;
}

/* POST /otp {email|phone, create_user[, code_challenge, code_challenge_method]}: 200 {}
 * (steps 77, 86-87). */
int gotrue_api_otp(struct gotrue_client *c, const char *email, const char *phone, bool create_user,
		   const char *code_challenge, struct gotrue_error *err)
{
	json_object *body = NULL, *flag;
	int rc = -1;

	body = gotrue_api_new_body(err);
	if (!body || gotrue_api_add_identity(body, email, phone, err) != 0 ||
	    gotrue_api_add_challenge(body, code_challenge, err) != 0)
		goto cleanup;
	flag = json_object_new_boolean(create_user);
	if (!flag || json_object_object_add(body, "create_user", flag) != 0) {
		json_object_put(flag);
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	rc = gotrue_api_call(c, "POST", "/otp", NULL, body, err);
cleanup:
	json_object_put(body);
	return rc;
}

int gotrue_otp(struct gotrue_client *c, const char *email, const char *phone, bool create_user,
	       struct gotrue_error *err)
{
	return gotrue_api_otp(c, email, phone, create_user, NULL, err);
}

/* POST /verify {type, email|phone, token} -> session (steps 80, 88, 104). The one-time code is
 * a secret until used. */
int gotrue_verify(struct gotrue_client *c, const char *type, const char *email, const char *phone,
		  const char *token, struct gotrue_session *out, struct gotrue_error *err)
{
	json_object *body = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!type || !*type || !token || !*token) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "verify needs a type and a token");
		goto cleanup;
	}
	body = gotrue_api_new_body(err);
	if (!body || gotrue_json_add_str(body, "type", type, err) != 0 ||
	    gotrue_api_add_identity(body, email, phone, err) != 0 ||
	    gotrue_json_add_str(body, "token", token, err) != 0)
		goto cleanup;
	rc = gotrue_api_session(c, "POST", "/verify", NULL, body, out, err);
cleanup:
	gotrue_json_put_wiped(body);
	return rc;
}
