/* api_mfa: TOTP factors (POST /factors, /factors/{id}/challenge, /factors/{id}/verify;
 * transcript steps 159-164). GoTrue does not enforce the second factor at sign-in (README point
 * 9), so these are the calls a client uses to reach an aal2 session itself. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

/* POST /factors {factor_type:"totp", friendly_name} -> {id, type, totp:{qr_code, secret, uri}}.
 * The answer carries the TOTP secret: the caller owns it and wipes it
 * (gotrue_json_put_wiped-style) when done. */
int gotrue_factor_enroll(struct gotrue_client *c, const char *access_token,
			 const char *friendly_name, json_object **out, struct gotrue_error *err)
{
	json_object *body = NULL, *obj = NULL, *v, *totp;
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
	    (friendly_name && gotrue_json_add_str(body, "friendly_name", friendly_name, err) != 0))
		goto cleanup;
	if (gotrue_api_json(c, "POST", "/factors", access_token, body, &obj, err) != 0)
		goto cleanup;
	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !gotrue_uuid_valid(json_object_get_string(v)) ||
	    !json_object_object_get_ex(obj, "totp", &totp) ||
	    !json_object_object_get_ex(totp, "secret", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "enroll answer lacks id or totp.secret");
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

static int factor_path(const char *factor_id, const char *action, char *path, size_t len,
		       struct gotrue_error *err)
{
	if (!gotrue_uuid_valid(factor_id)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "factor id is not a UUID");
		return -1;
	}
	snprintf(path, len, "/factors/%s/%s", factor_id, action);
	return 0;
}

/* POST /factors/{id}/challenge -> {"id", "expires_at"} (step 161). */
int gotrue_factor_challenge(struct gotrue_client *c, const char *access_token,
			    const char *factor_id, char **challenge_id, struct gotrue_error *err)
{
	json_object *obj = NULL, *v;
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
	    !json_object_object_get_ex(obj, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !gotrue_uuid_valid(json_object_get_string(v))) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "challenge answer lacks an id");
		goto cleanup;
	}
	*challenge_id = strdup(json_object_get_string(v));
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
