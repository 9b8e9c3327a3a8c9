/* fuzz_jwt: the JWT path before and after the signature: header split and decode, claims parsing
 * (lib/client/gotrue_jwt.c), and the unverified peek. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gotrue_verifier *v;
	struct gotrue_jwt_expect expect = {
		.aud = "authenticated", .leeway = 30, .require_exp = true};
	struct gotrue_claims cl = {0};
	struct gotrue_error err = {0};
	json_object *header = NULL, *claims = NULL;
	char *token;

	if (!v) {
		static const char *const algs[] = {"HS256", NULL};

		v = gotrue_verifier_new();
		if (!v || gotrue_verifier_add_hmac(v, "fuzz-secret", 11) != 0 ||
		    gotrue_verifier_allow(v, algs) != 0)
			abort();
	}
	if (gotrue_claims_parse((const char *)data, size, &cl) == 0)
		gotrue_claims_clear(&cl);

	token = malloc(size + 1);
	if (!token)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	if (gotrue_jwt_verify(v, token, &expect, &cl, &err) == 0)
		gotrue_claims_clear(&cl);
	gotrue_error_clear(&err);
	if (gotrue_jwt_peek_unverified(token, &header, &claims) == 0) {
		json_object_put(header);
		json_object_put(claims);
	}
	free(token);
	return 0;
}
