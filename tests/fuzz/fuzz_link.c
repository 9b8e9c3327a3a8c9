/* fuzz_link: the RFC 8288 Link header parser (lib/sync/link.c). */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header = malloc(size + 1);

	if (!header)
		return 0;
	memcpy(header, data, size);
	header[size] = '\0';
	free(gotrue_link_next(header));
	free(header);
	return 0;
}
