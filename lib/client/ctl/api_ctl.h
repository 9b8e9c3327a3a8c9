/* api_ctl: the endpoints only gotruectl calls (api_ctl.c). Each returns 0 on success, or -1 with
 * @err filled, as those of api.h. */
#ifndef GOTRUE_API_CTL_H
#define GOTRUE_API_CTL_H

#include <stdbool.h>
#include <json-c/json.h>

#include "api.h"

/* GET /settings: the server's public settings (providers, autoconfirm, signup). */
int gotrue_settings(struct gotrue_client *c, json_object **out, struct gotrue_error *err);
/* POST /signup. @data_json (may be NULL) becomes user_metadata. With autoconfirm the result is a
 * session; otherwise only out->user is set (out->access_token == NULL). */
int gotrue_signup(struct gotrue_client *c, const struct gotrue_credentials *cred,
		  const char *data_json, struct gotrue_session *out, struct gotrue_error *err);
/* POST /magiclink */
int gotrue_magiclink(struct gotrue_client *c, const char *email, struct gotrue_error *err);
/* gotrue_otp by email, and the magic link, for the PKCE flow (RFC 7636): @code_challenge
 * (gotrue_pkce_pair) is sent with code_challenge_method=s256. The mailed code still works with
 * gotrue_verify; the mailed link, once opened, redirects to redirect_to?code=AUTH_CODE instead of
 * carrying a session, and only the holder of the verifier can trade that code
 * (gotrue_exchange_code). Both server generations (v2.69.3 and current) have it. */
int gotrue_otp_pkce(struct gotrue_client *c, const char *email, bool create_user,
		    const char *code_challenge, struct gotrue_error *err);
int gotrue_magiclink_pkce(struct gotrue_client *c, const char *email, const char *code_challenge,
			  struct gotrue_error *err);
/* POST /recover */
int gotrue_recover(struct gotrue_client *c, const char *email, struct gotrue_error *err);
/* POST /invite (service role). */
int gotrue_invite(struct gotrue_client *c, const char *email, const char *data_json,
		  struct gotrue_user *out, struct gotrue_error *err);

#endif
