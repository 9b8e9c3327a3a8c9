/* fuzz_offline: the offline verifier file (lib/store/offline.c), which a login reads before it
 * decides whether a password opens a session while GoTrue cannot be reached. Whatever the bytes,
 * the parse ends; what it accepts is a verifier whose every field is valid, which formats back to
 * bytes that parse to the very same verifier; what it refuses leaves nothing behind. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gotrue_offline_verifier v, back, zero;
	static char buf[GOTRUE_OFFLINE_FILE_MAX];
	size_t len;

	if (gotrue_offline_parse((const char *)data, size, &v) != 0) {
		if (memcmp(&v, &zero, sizeof(v)) != 0)
			abort();
		return 0;
	}
	if (!gotrue_offline_id_valid(v.user_id) || v.at <= 0 || strncmp(v.hash, "$y$", 3) != 0)
		abort();
	len = gotrue_offline_format(&v, buf);
	if (len == 0 || gotrue_offline_parse(buf, len, &back) != 0 ||
	    memcmp(&v, &back, sizeof(v)) != 0)
		abort();
	return 0;
}
