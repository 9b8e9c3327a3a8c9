/* jwks: JSON Web Key Sets (RFC 7517) into PEM public keys, with OpenSSL's EVP API, so that
 * libjwt 1.10 (which takes PEM only) can verify RS256/ES256 tokens from GET /.well-known/jwks.json.
 * A fuzz target. */
#ifndef GOTRUE_JWKS_H
#define GOTRUE_JWKS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

struct gotrue_jwk {
	char *kid; /* may be NULL */
	char *alg; /* "RS256", "ES256", ... from the JWK or inferred from kty/crv */
	char *pem; /* SubjectPublicKeyInfo PEM */
};

/* Parse @json into keys. Symmetric ("oct") and unusable keys are skipped. Returns the number of
 * keys in *@out (free with gotrue_jwks_free), or -1 for a malformed document. */
int gotrue_jwks_parse(const char *json, size_t len, struct gotrue_jwk **out);
void gotrue_jwks_free(struct gotrue_jwk *keys, int n);

/* Shared with gotrue_jwt.c. Unpadded base64url (RFC 7515 §2): any character outside
 * the url alphabet, or output over @max_out bytes, is an error. *@out is NUL-terminated, free().
 * 0 or -1. */
int gotrue_base64url_decode(const char *in, size_t len, size_t max_out, unsigned char **out,
			    size_t *out_len);

#endif
