/* api_mfa: TOTP factors (POST /factors, /factors/{id}/challenge, /factors/{id}/verify,
 * DELETE /factors/{id}; transcript steps 159-169, 207-212). GoTrue does not enforce the second
 * factor at sign-in (README point 9), so these are the calls a client uses to reach an aal2
 * session itself. A user lists their factors through GET /user (gotrue_user_get). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

/* A string member @key of @obj, or NULL. */
static const char *str_member(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* POST /factors {factor_type:"totp", friendly_name, issuer} -> {id, type, totp:{qr_code, secret,
 * uri}}. The answer carries the TOTP secret: the caller owns it and wipes it
 * (gotrue_json_put_wiped) when done. */
int gotrue_factor_enroll(struct gotrue_client *c, const char *access_token,
			 const char *friendly_name, const char *issuer, json_object **out,
			 struct gotrue_error *err)
{
	json_object *body = NULL, *obj = NULL, *totp;
	int rc = -1;

	*out = NULL;
	if (!access_token || !*access_token) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "enroll needs an access token");
		goto cleanup;
	}
	body = json_object_new_object();
	if (!body) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (gotrue_json_add_str(body, "factor_type", "totp", err) != 0 ||
	    (friendly_name &&
	     gotrue_json_add_str(body, "friendly_name", friendly_name, err) != 0) ||
	    (issuer && gotrue_json_add_str(body, "issuer", issuer, err) != 0))
		goto cleanup;
	if (gotrue_api_json(c, "POST", "/factors", access_token, body, &obj, err) != 0)
		goto cleanup;
	if (!json_object_is_type(obj, json_type_object) ||
	    !gotrue_uuid_valid(str_member(obj, "id")) ||
	    !json_object_object_get_ex(obj, "totp", &totp) || !str_member(totp, "secret") ||
	    !str_member(totp, "uri")) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL,
				 "enroll answer lacks id, totp.secret or totp.uri");
		goto cleanup;
	}
	*out = obj;
	obj = NULL;
	rc = 0;
cleanup:
	gotrue_json_put_wiped(obj);
	json_object_put(body);
	return rc;
}

/* "/factors/ID" and, with @action, "/factors/ID/ACTION". The id goes into a path: it must be a
 * UUID, never "../admin". */
static int factor_path(const char *factor_id, const char *action, char *path, size_t len,
		       struct gotrue_error *err)
{
	if (!gotrue_uuid_valid(factor_id)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "factor id is not a UUID");
		return -1;
	}
	snprintf(path, len, "/factors/%s%s%s", factor_id, action ? "/" : "", action ? action : "");
	return 0;
}

/* POST /factors/{id}/challenge -> {"id", "expires_at"} (step 161). */
int gotrue_factor_challenge(struct gotrue_client *c, const char *access_token,
			    const char *factor_id, char **challenge_id, struct gotrue_error *err)
{
	json_object *obj = NULL;
	char path[80];
	int rc = -1;

	*challenge_id = NULL;
	if (!access_token || !*access_token) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "challenge needs an access token");
		goto cleanup;
	}
	if (factor_path(factor_id, "challenge", path, sizeof(path), err) != 0)
		goto cleanup;
	if (gotrue_api_json(c, "POST", path, access_token, NULL, &obj, err) != 0)
		goto cleanup;
	if (!json_object_is_type(obj, json_type_object) ||
	    !gotrue_uuid_valid(str_member(obj, "id"))) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "challenge answer lacks an id");
		goto cleanup;
	}
	*challenge_id = strdup(str_member(obj, "id"));
	if (!*challenge_id) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	rc = 0;
cleanup:
	json_object_put(obj);
	return rc;
}

/* POST /factors/{id}/verify {challenge_id, code} -> an aal2 session (step 164). The code is a
 * secret for its 30-second life. */
int gotrue_factor_verify(struct gotrue_client *c, const char *access_token, const char *factor_id,
			 const char *challenge_id, const char *code, struct gotrue_session *out,
			 struct gotrue_error *err)
{
	json_object *body = NULL;
	char path[80];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!access_token || !*access_token || !code || !*code) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL,
				 "verify needs an access token and a code");
		goto cleanup;
	}
	if (factor_path(factor_id, "verify", path, sizeof(path), err) != 0)
		goto cleanup;
	if (!gotrue_uuid_valid(challenge_id)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "challenge id is not a UUID");
		goto cleanup;
	}
	body = json_object_new_object();
	if (!body) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (gotrue_json_add_str(body, "challenge_id", challenge_id, err) != 0 ||
	    gotrue_json_add_str(body, "code", code, err) != 0)
		goto cleanup;
	rc = gotrue_api_session(c, "POST", path, access_token, body, out, err);
cleanup:
	gotrue_json_put_wiped(body);
	return rc;
}

/* Both steps at once, for a code already in hand: the challenge's life (five minutes) then never
 * includes the time a person takes to type the code. */
int gotrue_factor_challenge_verify(struct gotrue_client *c, const char *access_token,
				   const char *factor_id, const char *code,
				   struct gotrue_session *out, struct gotrue_error *err)
{
	char *challenge_id = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (gotrue_factor_challenge(c, access_token, factor_id, &challenge_id, err) != 0)
		goto cleanup;
	rc = gotrue_factor_verify(c, access_token, factor_id, challenge_id, code, out, err);
cleanup:
	free(challenge_id);
	return rc;
}

/* DELETE /factors/{id} -> {"id"} (v2.185 step 210). Current servers refuse to remove a verified
 * factor from an aal1 session (insufficient_aal, step 167), and then turn the sessions it stepped
 * up back to aal1 (step 211). */
int gotrue_factor_unenroll(struct gotrue_client *c, const char *access_token, const char *factor_id,
			   struct gotrue_error *err)
{
	char path[80];
	int rc = -1;

	if (!access_token || !*access_token) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "unenroll needs an access token");
		goto cleanup;
	}
	if (factor_path(factor_id, NULL, path, sizeof(path), err) != 0)
		goto cleanup;
	rc = gotrue_api_call(c, "DELETE", path, access_token, NULL, err);
cleanup:
	return rc;
}
