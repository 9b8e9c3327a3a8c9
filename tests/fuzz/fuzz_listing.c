/* fuzz_listing: the /admin/users page scanner (lib/sync/listing.c), differentially: whatever it
 * accepts, gotrue_json_parse (json-c) must accept too, and each member it keeps must equal
 * json-c's member of the same user (tests/fuzz/listing_diff.h); otherwise abort(). Refusing what
 * json-c takes is allowed (see the top of lib/sync/listing.c). The first-user reader of a cut page
 * (gotrue_listing_first_id) is held to listing_first_id_ok() on the same input. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "listing_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[200];
	int rc;

	if (listing_diff((const char *)data, size, &rc, msg, sizeof(msg)) == LISTING_DIFF_WRONG) {
		fprintf(stderr, "fuzz_listing: scanner rc %d: %s\n", rc, msg);
		abort();
	}
	if (!listing_first_id_ok((const char *)data, size, msg, sizeof(msg))) {
		fprintf(stderr, "fuzz_listing: %s\n", msg);
		abort();
	}
	return 0;
}
