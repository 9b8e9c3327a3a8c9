/* fuzz_store: token-store records (lib/store.c), which hold secrets and are read by PAM and
 * gotruectl refresh; a file on disk is input like any other. */
#include <config.h>

#include <stdint.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_store_record rec;

	if (gotrue_store_record_parse((const char *)data, size, &rec) == 0)
		gotrue_store_record_clear(&rec);
	return 0;
}
