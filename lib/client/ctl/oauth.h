/* oauth: the PKCE flow (RFC 7636) of a sign-in that ends in a browser (oauth.c). */
#ifndef GOTRUE_OAUTH_H
#define GOTRUE_OAUTH_H

#include <stddef.h>

#include "api.h"

/* GET /authorize?provider=...&redirect_to=...[&scopes=...][&code_challenge=...
 * &code_challenge_method=s256]: the URL a browser is sent to. No network. NULL on ENOMEM. */
char *gotrue_provider_url(const struct gotrue_config *cfg, const char *provider,
			  const char *redirect_to, const char *scopes, const char *code_challenge);
/* PKCE (RFC 7636): a random verifier (43..128 chars) and its S256 challenge. Buffers of at
 * least 129 and 44 bytes. 0 or -1. */
int gotrue_pkce_pair(char *verifier, size_t verifier_len, char *challenge, size_t challenge_len);
/* The S256 challenge of @verifier (RFC 7636 4.2): base64url(SHA-256(verifier)), no padding,
 * 43 chars. @verifier must be 43..128 unreserved characters (4.1). 0 or -1. */
int gotrue_pkce_challenge(const char *verifier, char *challenge, size_t challenge_len);
/* POST /token?grant_type=pkce {auth_code, code_verifier} -> the session. The code is single use
 * (a replay: flow_state_not_found); a wrong verifier is refused (bad_code_verifier) and leaves
 * the code usable. The verifier is a secret. */
int gotrue_exchange_code(struct gotrue_client *c, const char *auth_code, const char *code_verifier,
			 struct gotrue_session *out, struct gotrue_error *err);
/* The auth code in @text: either the code itself, or the URL the PKCE redirect landed on
 * ("https://app.example/cb?code=..."; its first `code` query parameter). At most
 * GOTRUE_AUTH_CODE_MAX unreserved characters (RFC 3986 2.3; GoTrue's codes are UUIDs), copied
 * into @out (@out_len bytes). 0, or -1 when there is none or it is malformed. */
#define GOTRUE_AUTH_CODE_MAX 128
int gotrue_pkce_code_parse(const char *text, char *out, size_t out_len);

#endif
