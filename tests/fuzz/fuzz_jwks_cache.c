/* fuzz_jwks_cache: the key set kept on disk and the Cache-Control value its lifetime comes from
 * (lib/client/jwks_cache.c). The first byte picks the parser, the rest is its input. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwks_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_jwk *keys = NULL;
	time_t at;
	long age;
	char *text;
	int n;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		/* A header value arrives NUL-terminated from lib/client/http.c. */
		text = strndup((const char *)data + 1, size - 1);
		if (text != NULL) {
			age = gotrue_cache_control_max_age(text);
			if (age < -1 || age > GOTRUE_JWKS_MAX_AGE_CAP)
				abort();
		}
		free(text);
		return 0;
	}
	n = gotrue_jwks_cache_parse((const char *)data + 1, size - 1, &at, &age, &keys);
	if (n >= 0 && (age < -1 || age > GOTRUE_JWKS_MAX_AGE_CAP))
		abort();
	if (n >= 0)
		gotrue_jwks_free(keys, n);
	return 0;
}
