/* fuzz_store: token-store record files (lib/store/store.c), which hold secrets and are read by PAM
 * and gotruectl refresh; a file on disk is input like any other. The input is taken as a whole
 * two-slot record file (the slot reader: header bounds, checksums, sequence order, then the JSON
 * of the chosen slot) and, when it is not one, as a bare JSON payload. Seeds in
 * corpus/fuzz_store/ are valid two-slot files (both slots, one slot, wrapped sequence) and bare
 * payloads. */
#include <config.h>

#include <stdint.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_store_record rec;
	uint64_t seq;

	if (gotrue_store_file_parse(data, size, &rec, &seq) == 0)
		gotrue_store_record_clear(&rec);
	if (gotrue_store_record_parse((const char *)data, size, &rec) == 0)
		gotrue_store_record_clear(&rec);
	return 0;
}
