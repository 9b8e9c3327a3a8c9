/* fuzz_error: the error-body decoder (lib/client/gotrue_error.c) on any status, header and body. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_error err = {0};
	char header[GOTRUE_ERROR_CODE_MAX * 2];
	char line[512];
	long status;
	size_t hlen;

	if (size < 2)
		return 0;
	/* First byte: the status; second: the header's length (0 = no header). */
	status = 100 + data[0] * 2;
	hlen = data[1] % sizeof(header);
	data += 2;
	size -= 2;
	if (hlen > size)
		hlen = size;
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	gotrue_error_decode(&err, status, hlen ? header : NULL, (const char *)data + hlen,
			    size - hlen);
	gotrue_error_str(&err, line, sizeof(line));
	gotrue_error_clear(&err);
	return 0;
}
