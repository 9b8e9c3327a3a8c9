/* fuzz_listing: the /admin/users page reader (lib/sync/listing.c). gotrue_listing_each (json-c,
 * then the walk over the users) must not crash on any input, and the reader of a cut page's first
 * user (gotrue_listing_first_id, hand-written) is held to listing_first_id_ok()
 * (tests/fuzz/listing_diff.h); otherwise abort(). */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "listing_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const skip[] = {"identities", "user_metadata", NULL};
	char msg[200];

	gotrue_listing_each((const char *)data, size, skip, listing_diff_none, NULL, NULL, msg,
			    sizeof(msg));
	if (!listing_first_id_ok((const char *)data, size, msg, sizeof(msg))) {
		fprintf(stderr, "fuzz_listing: %s\n", msg);
		abort();
	}
	return 0;
}
