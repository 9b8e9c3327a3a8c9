/* jwt: verifying GoTrue access tokens on libjwt 1.10.
 * libjwt 1.10 picks the algorithm from the token's own header, so the allow-list and the key type
 * are checked here *before* libjwt sees the key: that is what refuses alg:none and HS256 signed
 * with an RSA/EC public key used as an HMAC secret. Claims are checked here too, since 1.10 has no
 * validation API: exp and nbf with leeway, aud, iss where configured, sub, and literal claims
 * (like Guardian's claims_to_check). */
#ifndef GOTRUE_JWT_H
#define GOTRUE_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"
#include "gotrue_error.h"

struct gotrue_verifier; /* keys + allow-list; immutable once built, safe to share */

/* From the config: jwt_secret (HS256), jwt_public_key (PEM; RS256/ES256 by key type) and/or the
 * JWKS at jwks_url (fetched through @c when non-NULL). The alg allow-list is cfg->jwt_algs, or by
 * default the algs the configured keys can verify. The JWKS is cached on disk (jwks_cache.h).
 * NULL on error (logged, @err set). */
struct gotrue_client;
struct gotrue_verifier *gotrue_verifier_from_config(pam_handle_t *pamh,
						    const struct gotrue_config *cfg,
						    struct gotrue_client *c,
						    struct gotrue_error *err);
/* The same for verifying @token: a kid its header names that the cached key set lacks makes
 * the set be fetched again (jwks_cache.h). With jwks_url, a header that cannot be read fails
 * with "bad_jwt", as gotrue_jwt_verify would. */
struct gotrue_verifier *gotrue_verifier_for_token(pam_handle_t *pamh,
						  const struct gotrue_config *cfg,
						  struct gotrue_client *c, const char *token,
						  struct gotrue_error *err);

/* Building blocks, also used by tests. */
struct gotrue_verifier *gotrue_verifier_new(void);
void gotrue_verifier_free(struct gotrue_verifier *v);
int gotrue_verifier_add_hmac(struct gotrue_verifier *v, const char *secret, size_t len);
/* PEM public key (RSA or EC P-256/P-384/P-521); @kid may be NULL. */
int gotrue_verifier_add_pem(struct gotrue_verifier *v, const char *pem, const char *kid);
/* A JWKS document ({"keys":[...]}); keys are turned into PEM with OpenSSL's EVP API. Returns the
 * number of usable keys added, or -1 for a malformed document. */
int gotrue_verifier_add_jwks(struct gotrue_verifier *v, const char *json, size_t len);
/* Replace the allow-list ("HS256", "RS256", "ES256", ...). NULL-terminated. */
int gotrue_verifier_allow(struct gotrue_verifier *v, const char *const *algs);

struct gotrue_claims {
	char *sub;
	char *iss;
	char *session_id;
	char *role;
	char *email;
	char *aal;
	char **aud;	      /* NULL-terminated ("aud" may be a string or an array) */
	time_t exp, nbf, iat; /* 0 when absent */
	json_object *all;     /* every claim, owned */
};
void gotrue_claims_clear(struct gotrue_claims *cl);
/* Claims JSON (the decoded payload) into the struct, type-checked. A fuzz target. 0 or -1. */
int gotrue_claims_parse(const char *json, size_t len, struct gotrue_claims *out);

struct gotrue_jwt_expect {
	const char *aud;      /* required audience, NULL = don't check */
	const char *iss;      /* NULL = don't check */
	const char *sub;      /* NULL = don't check */
	json_object *literal; /* claims that must be equal, NULL = none */
	long leeway;	      /* seconds */
	time_t now;	      /* 0 = time(NULL) */
	bool require_exp;     /* GoTrue always sets exp: default true */
};

/* Verify signature, alg and claims. 0 with @out filled, or -1 with a reason in @err
 * (GOTRUE_ERR_PROTOCOL, code "bad_jwt", message saying which check failed). */
int gotrue_jwt_verify(const struct gotrue_verifier *v, const char *token,
		      const struct gotrue_jwt_expect *expect, struct gotrue_claims *out,
		      struct gotrue_error *err);

/* jwt_verify = server, for a host without the key (an HS256 server's secret): GET /user with
 * @token through @c, which the caller has just used for the sign-in, so that libcurl sends it on
 * the same connection; GoTrue answers only for a token whose signature it verified. Then, and
 * only then, the token's claims are read and checked as gotrue_jwt_verify checks them (exp, nbf,
 * aud, iss, sub, literals), and the id GET /user names must be the claims' sub. 0 with @out
 * filled; -1 with @err: "bad_jwt" (GOTRUE_ERR_PROTOCOL) when the server refused the token (any
 * 4xx but 429) or a check failed, the transport's or the server's error otherwise. */
struct gotrue_client;
int gotrue_jwt_confirm_by_server(struct gotrue_client *c, const char *token,
				 const struct gotrue_jwt_expect *expect, struct gotrue_claims *out,
				 struct gotrue_error *err);

/* UNVERIFIED: decode header and payload without checking anything. For display (`gotruectl token
 * peek`) and for choosing a key by kid; never for a decision. */
int gotrue_jwt_peek_unverified(const char *token, json_object **header, json_object **claims);

#endif
