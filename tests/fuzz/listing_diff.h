/* listing_diff: the differential check of lib/sync/listing.c against json-c, shared by the fuzz
 * target (tests/fuzz/fuzz_listing.c) and the unit test (tests/sync/test_listing.c) so that both
 * judge the scanner by the same rule: whatever it accepts, gotrue_json_parse must accept, and every
 * member it keeps must equal json-c's member of the same user. */
#ifndef GOTRUE_LISTING_DIFF_H
#define GOTRUE_LISTING_DIFF_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_json.h"
#include "listing.h"
#include "user.h"

/* The members the sync keeps (lib/sync/api_admin.c sync_keep) plus one that is often an object. */
static const char *const listing_diff_keep[] = {"id",
						"aud",
						"role",
						"email",
						"phone",
						"created_at",
						"updated_at",
						"banned_until",
						"email_confirmed_at",
						"app_metadata",
						"factors",
						"confirmed_at",
						"phone_confirmed_at",
						"last_sign_in_at",
						NULL};

struct listing_diff_users {
	json_object *v[4096];
	size_t n;
};

static int listing_diff_collect(void *ctx, size_t i, json_object *user)
{
	struct listing_diff_users *u = ctx;

	if (i != u->n || u->n >= sizeof(u->v) / sizeof(u->v[0]))
		return -1;
	u->v[u->n++] = json_object_get(user);
	return 0;
}

enum listing_diff_result {
	LISTING_DIFF_SAME = 0, /* both accept with equal members, or both refuse */
	LISTING_DIFF_STRICTER =
		1, /* the scanner refuses what json-c takes (allowed, see listing.c) */
	LISTING_DIFF_WRONG = -1, /* the scanner accepts what json-c refuses, or keeps other data */
};

/* Compare the scanner with json-c on @buf; *@rc gets the scanner's answer; @msg says what
 * differed. */
static int listing_diff(const char *buf, size_t len, int *rc, char *msg, size_t msg_len)
{
	struct listing_diff_users got;
	json_object *ref = NULL, *users = NULL, *want, *mine;
	char why[160] = "";
	size_t n = 0, i, j, nref = 0;
	int res = LISTING_DIFF_WRONG;
	bool has_users, bad_entry = false;

	memset(&got, 0, sizeof(got));
	msg[0] = '\0';
	*rc = gotrue_listing_each(buf, len, listing_diff_keep, listing_diff_collect, &got, &n, why,
				  sizeof(why));
	ref = gotrue_json_parse(buf, len);
	has_users = json_object_is_type(ref, json_type_object) &&
		    json_object_object_get_ex(ref, "users", &users) &&
		    json_object_is_type(users, json_type_array);
	if (has_users) {
		nref = json_object_array_length(users);
		for (i = 0; i < nref; i++)
			if (!json_object_is_type(json_object_array_get_idx(users, i),
						 json_type_object))
				bad_entry = true;
	}
	switch (*rc) {
	case GOTRUE_LISTING_NOT_JSON:
		res = ref ? LISTING_DIFF_STRICTER : LISTING_DIFF_SAME;
		if (ref)
			snprintf(msg, msg_len, "json-c takes what the scanner refuses");
		goto cleanup;
	case GOTRUE_LISTING_NO_USERS:
		if (!ref || has_users) {
			snprintf(msg, msg_len, "no users, but json-c: %s",
				 ref ? "has users" : "not JSON");
			goto cleanup;
		}
		res = LISTING_DIFF_SAME;
		goto cleanup;
	case GOTRUE_LISTING_BAD_USER:
	case GOTRUE_LISTING_REFUSED:
		if (!ref || (*rc == GOTRUE_LISTING_BAD_USER && !bad_entry)) {
			snprintf(msg, msg_len, "rc %d (%s) but json-c: %s", *rc, why,
				 ref ? "all entries objects" : "not JSON");
			goto cleanup;
		}
		res = *rc == GOTRUE_LISTING_REFUSED ? LISTING_DIFF_STRICTER : LISTING_DIFF_SAME;
		goto cleanup;
	case GOTRUE_LISTING_OK:
		break;
	default:
		snprintf(msg, msg_len, "unexpected rc %d (%s)", *rc, why);
		goto cleanup;
	}
	if (!ref || !has_users || bad_entry || nref != n || got.n != n) {
		snprintf(msg, msg_len, "accepted %zu users, json-c: %s, %zu users%s", n,
			 ref ? "JSON" : "not JSON", nref, bad_entry ? ", a non-object" : "");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(users, i);
		size_t kept = 0;

		for (j = 0; listing_diff_keep[j]; j++) {
			bool in_ref = json_object_object_get_ex(u, listing_diff_keep[j], &want);
			bool in_mine =
				json_object_object_get_ex(got.v[i], listing_diff_keep[j], &mine);

			if (in_ref != in_mine || (in_ref && !json_object_equal(want, mine))) {
				snprintf(msg, msg_len, "user %zu member %s differs", i,
					 listing_diff_keep[j]);
				goto cleanup;
			}
			kept += in_mine;
		}
		if ((size_t)json_object_object_length(got.v[i]) != kept) {
			snprintf(msg, msg_len, "user %zu has members not asked for", i);
			goto cleanup;
		}
	}
	res = LISTING_DIFF_SAME;
cleanup:
	for (i = 0; i < got.n; i++)
		json_object_put(got.v[i]);
	json_object_put(ref);
	return res;
}

static int listing_diff_none(void *ctx, size_t i, json_object *user)
{
	(void)ctx, (void)i, (void)user;
	return 0;
}

/* gotrue_listing_first_id on @buf: an id it finds is a UUID; a page it says begins with a user
 * does, for json-c, when the whole is a page the scanner takes (one "users", every entry an
 * object), and that user has an "id" member when an id was found; and the first half of @buf
 * never finds an id the whole does not find too. false with @msg on a wrong answer. */
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
	if (r >= 0 && gotrue_listing_each(buf, len, NULL, listing_diff_none, NULL, NULL, NULL, 0) ==
			      GOTRUE_LISTING_OK)
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
