/* api_mfa: the second factor of a login: POST /factors/{id}/challenge and
 * /factors/{id}/verify (steps 159-169, 207-212). GoTrue does not enforce the second factor at
 * sign-in, so these are the calls a client uses to reach an aal2 session itself. A user lists
 * their factors through GET /user (gotrue_user_get); enrolling and removing one is gotruectl's
 * (lib/client/ctl/enrol.c). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

/* "/factors/ID" and, with @action, "/factors/ID/ACTION". The id goes into a path: it must be a
 * UUID, never "../admin". */
int gotrue_api_factor_path(const char *factor_id, const char *action, char *path, size_t len,
			   struct gotrue_error *err)
{
	int rc = -1;

	if (!gotrue_uuid_valid(factor_id)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "factor id is not a UUID");
	} else {
		snprintf(path, len, "/factors/%s%s%s", factor_id, action ? "/" : "",
			 action ? action : "");
		rc = 0;
	}
	return rc;
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
	if (gotrue_api_factor_path(factor_id, "challenge", path, sizeof(path), err) != 0)
		goto cleanup;
	if (gotrue_api_json(c, "POST", path, access_token, NULL, &obj, err) != 0)
		goto cleanup;
	if (!json_object_is_type(obj, json_type_object) ||
	    !gotrue_uuid_valid(gotrue_json_get_str(obj, "id"))) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "challenge answer lacks an id");
		goto cleanup;
	}
	*challenge_id = strdup(gotrue_json_get_str(obj, "id"));
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
	if (gotrue_api_factor_path(factor_id, "verify", path, sizeof(path), err) != 0)
		goto cleanup;
	if (!gotrue_uuid_valid(challenge_id)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "challenge id is not a UUID");
		goto cleanup;
	}
	body = gotrue_api_new_body(err);
	if (!body || gotrue_json_add_str(body, "challenge_id", challenge_id, err) != 0 ||
	    gotrue_json_add_str(body, "code", code, err) != 0)
		goto cleanup;
	rc = gotrue_api_session(c, "POST", path, access_token, body, out, err);
cleanup:
	gotrue_json_put_wiped(body);
	return rc;
}
