/* fuzz_pkce_code: the parser that finds a PKCE auth code in a pasted redirect URL
 * (gotrue_pkce_code_parse, lib/client/ctl/oauth.c). Whatever it accepts must be a code it could
 * send. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), code[GOTRUE_AUTH_CODE_MAX + 1];
	size_t n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (gotrue_pkce_code_parse(text, code, sizeof(code)) == 0) {
		n = strlen(code);
		if (n == 0 || n > GOTRUE_AUTH_CODE_MAX ||
		    strspn(code,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~") !=
			    n)
			abort();
	}
	/* a short buffer must never be overrun */
	(void)gotrue_pkce_code_parse(text, code, 8);
	free(text);
	return 0;
}
