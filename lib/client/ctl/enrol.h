/* enrol: enrolling and removing a user's TOTP factor (enrol.c). Each returns 0 on success, or -1
 * with @err filled, as those of api.h. */
#ifndef GOTRUE_ENROL_H
#define GOTRUE_ENROL_H

#include <json-c/json.h>

#include "api.h"

/* POST /factors {factor_type:"totp", friendly_name, issuer}: a new, unverified factor. Either
 * string may be NULL (the server's default: no name, and its SITE_URL's host as the issuer that
 * authenticator apps show). @out gets the whole answer (id, totp.secret, totp.uri): it holds the
 * TOTP secret, so release it with gotrue_json_put_wiped. */
int gotrue_factor_enroll(struct gotrue_client *c, const char *access_token,
			 const char *friendly_name, const char *issuer, json_object **out,
			 struct gotrue_error *err);
/* Challenge, then verify @code at once -> the aal2 session: the same session id (current servers
 * and v2.69 alike), with new tokens. A factor's first verification makes it "verified". */
int gotrue_factor_challenge_verify(struct gotrue_client *c, const char *access_token,
				   const char *factor_id, const char *code,
				   struct gotrue_session *out, struct gotrue_error *err);
/* DELETE /factors/{id}. A verified factor needs an aal2 session (insufficient_aal otherwise). */
int gotrue_factor_unenroll(struct gotrue_client *c, const char *access_token, const char *factor_id,
			   struct gotrue_error *err);

#endif
