/* enrol: a user's own TOTP factors, as only gotruectl manages them: POST /factors (enrol),
 * DELETE /factors/{id} (remove), and the challenge and verify of a code already in hand that
 * confirms a new factor (steps 159-169, 207-212). A login only challenges and verifies
 * (lib/client/api_mfa.c). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "enrol.h"

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
	body = gotrue_api_new_body(err);
	if (!body || gotrue_json_add_str(body, "factor_type", "totp", err) != 0 ||
	    (friendly_name &&
	     gotrue_json_add_str(body, "friendly_name", friendly_name, err) != 0) ||
	    (issuer && gotrue_json_add_str(body, "issuer", issuer, err) != 0))
		goto cleanup;
	if (gotrue_api_json(c, "POST", "/factors", access_token, body, &obj, err) != 0)
		goto cleanup;
	if (!json_object_is_type(obj, json_type_object) ||
	    !gotrue_uuid_valid(gotrue_json_get_str(obj, "id")) ||
	    !json_object_object_get_ex(obj, "totp", &totp) ||
	    !gotrue_json_get_str(totp, "secret") || !gotrue_json_get_str(totp, "uri")) {
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
	if (gotrue_api_factor_path(factor_id, NULL, path, sizeof(path), err) != 0)
		goto cleanup;
	rc = gotrue_api_call(c, "DELETE", path, access_token, NULL, err);
cleanup:
	return rc;
}
