/* api_ctl: the user-facing endpoints only gotruectl calls, one function each: GET /settings,
 * sign-up, magic links, recovery, invitations, a one-time code for the PKCE flow, and the
 * service-role key the admin calls send. A login never makes these calls, so the PAM module
 * does not carry them. Paths and bodies follow supabase/auth's router (internal/api/api.go);
 * "step N" is the recorded exchange that tests/emulator/conformance.tsv replays. */
#include <config.h>

#include <string.h>

#include "api_ctl.h"
#include "api_internal.h"

const char *gotrue_client_admin_bearer(struct gotrue_client *c, struct gotrue_error *err)
{
	const char *bearer = NULL;

	if (!c->cfg->service_role_key &&
	    gotrue_config_load_secret(c->pamh, c->cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0)
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "cannot read service_role_key_file");
	else if (!c->cfg->service_role_key || !*c->cfg->service_role_key)
		gotrue_error_set(err, GOTRUE_ERR_CONFIG,
				 "admin call needs service_role_key_file, which is not set");
	else
		bearer = c->cfg->service_role_key;
	return bearer;
}

/* GET /settings: providers, mailer_autoconfirm, disable_signup (step 2). */
int gotrue_settings(struct gotrue_client *c, json_object **out, struct gotrue_error *err)
{
	return gotrue_api_get_object(c, "/settings", out, err);
}

/* Caller-supplied JSON text @data_json, which must be an object, as the "data" member of @body
 * (what /signup and /invite make the user's user_metadata). Nothing for NULL. */
static int add_data(json_object *body, const char *data_json, struct gotrue_error *err)
{
	json_object *data = NULL;
	int rc = -1;

	if (!data_json) {
		rc = 0;
		goto cleanup;
	}
	data = json_tokener_parse(data_json);
	if (!data || !json_object_is_type(data, json_type_object)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "data is not a JSON object");
		goto cleanup;
	}
	if (json_object_object_add(body, "data", data) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	data = NULL; /* @body holds it now */
	rc = 0;
cleanup:
	json_object_put(data);
	return rc;
}

/* POST /signup {email|phone, password, data} (steps 4-5). */
int gotrue_signup(struct gotrue_client *c, const struct gotrue_credentials *cred,
		  const char *data_json, struct gotrue_session *out, struct gotrue_error *err)
{
	json_object *body = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!cred || !cred->password) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "signup needs a password");
		goto cleanup;
	}
	body = gotrue_api_new_body(err);
	if (!body || gotrue_api_add_identity(body, cred->email, cred->phone, err) != 0 ||
	    gotrue_json_add_str(body, "password", cred->password, err) != 0 ||
	    add_data(body, data_json, err) != 0)
		goto cleanup;
	rc = gotrue_api_session(c, "POST", "/signup", NULL, body, out, err);
cleanup:
	gotrue_json_put_wiped(body);
	return rc;
}

int gotrue_otp_pkce(struct gotrue_client *c, const char *email, bool create_user,
		    const char *code_challenge, struct gotrue_error *err)
{
	int rc = -1;

	if (!code_challenge)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "PKCE needs a code challenge");
	else
		rc = gotrue_api_otp(c, email, NULL, create_user, code_challenge, err);
	return rc;
}

/* POST {"email"[, code_challenge, code_challenge_method]} to /magiclink or /recover: 200 {}
 * (step 92 for /magiclink). */
static int post_email(struct gotrue_client *c, const char *path, const char *email,
		      const char *code_challenge, struct gotrue_error *err)
{
	json_object *body = NULL;
	int rc = -1;

	if (!email || !*email) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "%s needs an email", path);
		goto cleanup;
	}
	body = gotrue_api_new_body(err);
	if (!body || gotrue_json_add_str(body, "email", email, err) != 0 ||
	    gotrue_api_add_challenge(body, code_challenge, err) != 0)
		goto cleanup;
	rc = gotrue_api_call(c, "POST", path, NULL, body, err);
cleanup:
	json_object_put(body);
	return rc;
}

int gotrue_magiclink(struct gotrue_client *c, const char *email, struct gotrue_error *err)
{
	return post_email(c, "/magiclink", email, NULL, err);
}

int gotrue_magiclink_pkce(struct gotrue_client *c, const char *email, const char *code_challenge,
			  struct gotrue_error *err)
{
	int rc = -1;

	if (!code_challenge)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "PKCE needs a code challenge");
	else
		rc = post_email(c, "/magiclink", email, code_challenge, err);
	return rc;
}

int gotrue_recover(struct gotrue_client *c, const char *email, struct gotrue_error *err)
{
	return post_email(c, "/recover", email, NULL, err);
}

/* POST /invite {email, data} with the service-role key -> the invited user (step 97). */
int gotrue_invite(struct gotrue_client *c, const char *email, const char *data_json,
		  struct gotrue_user *out, struct gotrue_error *err)
{
	json_object *body = NULL;
	const char *bearer;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!email || !*email) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "invite needs an email");
		goto cleanup;
	}
	bearer = gotrue_client_admin_bearer(c, err);
	if (!bearer)
		goto cleanup;
	body = gotrue_api_new_body(err);
	if (!body || gotrue_json_add_str(body, "email", email, err) != 0 ||
	    add_data(body, data_json, err) != 0)
		goto cleanup;
	rc = gotrue_api_user(c, "POST", "/invite", bearer, body, out, err);
cleanup:
	json_object_put(body);
	return rc;
}
