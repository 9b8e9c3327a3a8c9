/* fuzz_jwks: JWKS documents into PEM keys (lib/client/jwks.c). */
#include <config.h>

#include <stdint.h>

#include "jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_jwk *keys = NULL;
	int n;

	n = gotrue_jwks_parse((const char *)data, size, &keys);
	if (n >= 0)
		gotrue_jwks_free(keys, n);
	return 0;
}
