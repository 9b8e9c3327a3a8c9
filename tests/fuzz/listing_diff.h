/* listing_diff: gotrue_listing_first_id (lib/sync/listing.c, the one hand-written reader of a
 * listing: the beginning of a page cut at max_response) judged against json-c, shared by the
 * fuzz target (tests/fuzz/fuzz_listing.c) and the unit test (tests/sync/test_listing.c) so that
 * both hold it to the same rule. */
#ifndef GOTRUE_LISTING_DIFF_H
#define GOTRUE_LISTING_DIFF_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_json.h"
#include "listing.h"
#include "user.h"

static int listing_diff_none(void *ctx, size_t i, json_object *user)
{
	(void)ctx;
	(void)i;
	(void)user;
	return 0;
}

static const char *const listing_diff_skip[] = {NULL};

/* gotrue_listing_first_id on @buf: an id it finds is a UUID; a page it says begins with a user
 * does, for json-c, when the whole is a page gotrue_listing_each takes (every entry of
 * "users" an object), and that user has an "id" member when an id was found; and the first half of
 * @buf never finds an id the whole does not find too. false with @msg on a wrong answer. */
static bool listing_first_id_ok(const char *buf, size_t len, char *msg, size_t msg_len)
{
	char id[GOTRUE_LISTING_ID_LEN + 1], half_id[GOTRUE_LISTING_ID_LEN + 1];
	json_object *ref = NULL, *users, *first, *v;
	int r = gotrue_listing_first_id(buf, len, id), half;
	bool good = false;

	msg[0] = '\0';
	half = gotrue_listing_first_id(buf, len / 2, half_id);
	if (r == 1 && !gotrue_uuid_valid(id)) {
		snprintf(msg, msg_len, "first_id: not a UUID");
		goto cleanup;
	}
	if ((half == 1 && (r != 1 || strcmp(id, half_id) != 0)) || (half == 0 && r < 0)) {
		snprintf(msg, msg_len, "first_id: the first half says %d, the whole %d", half, r);
		goto cleanup;
	}
	if (r >= 0 && gotrue_listing_each(buf, len, listing_diff_skip, listing_diff_none, NULL,
					  NULL, NULL, 0) == GOTRUE_LISTING_OK)
		ref = gotrue_json_parse(buf, len);
	if (ref != NULL) {
		if (!json_object_object_get_ex(ref, "users", &users) ||
		    !json_object_is_type(users, json_type_array) ||
		    json_object_array_length(users) == 0 ||
		    !json_object_is_type(first = json_object_array_get_idx(users, 0),
					 json_type_object)) {
			snprintf(msg, msg_len, "first_id %d, but json-c has no first user", r);
			goto cleanup;
		}
		if (r == 1 && !json_object_object_get_ex(first, "id", &v)) {
			snprintf(msg, msg_len,
				 "first_id found an id, json-c's first user has none");
			goto cleanup;
		}
	}
	good = true;
cleanup:
	json_object_put(ref);
	return good;
}

#endif
