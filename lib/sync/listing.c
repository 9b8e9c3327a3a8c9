/* listing: one GET /admin/users page (transcript step 112: {"users":[{...},...],"aud":...})
 * parsed by json-c's strict tokener (gotrue_json_parse), then walked user by user, each user
 * trimmed to the members the caller reads; and the first user's id of a page cut at
 * max_response, which no JSON parser can read since the page is not whole. */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_error.h"
#include "gotrue_json.h"
#include "listing.h"
#include "user.h"

/* Drop the members of @user named in @skip: what the caller never reads is neither checked nor
 * copied (gotrue_user_from_json reads whatever is there). */
static void trim(json_object *user, const char *const *skip)
{
	for (; *skip != NULL; skip++)
		json_object_object_del(user, *skip);
}

int gotrue_listing_each(const char *buf, size_t len, const char *const *skip,
			int (*each)(void *ctx, size_t i, json_object *user), void *ctx,
			size_t *n_users, char *why, size_t why_len)
{
	json_object *page = NULL, *users, *u;
	size_t i, n = 0;
	int rc = GOTRUE_LISTING_NOT_JSON;

	if (n_users)
		*n_users = 0;
	page = gotrue_json_parse(buf, len);
	if (page == NULL) {
		gotrue_why_set(why, why_len, "page is not JSON");
		goto cleanup;
	}
	rc = GOTRUE_LISTING_NO_USERS;
	if (!json_object_is_type(page, json_type_object) ||
	    !json_object_object_get_ex(page, "users", &users) ||
	    !json_object_is_type(users, json_type_array)) {
		gotrue_why_set(why, why_len, "page has no users array");
		goto cleanup;
	}
	n = json_object_array_length(users);
	/* Every entry is checked before any is handed over, as a whole-page parse would. */
	rc = GOTRUE_LISTING_BAD_USER;
	for (i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(users, i), json_type_object)) {
			gotrue_why_set(why, why_len, "entry %zu: user is not a JSON object", i);
			goto cleanup;
		}
	}
	if (n_users)
		*n_users = n;
	rc = GOTRUE_LISTING_OK;
	for (i = 0; i < n; i++) {
		u = json_object_array_get_idx(users, i);
		trim(u, skip);
		if (each(ctx, i, u) != 0) {
			rc = GOTRUE_LISTING_STOPPED;
			break;
		}
	}
cleanup:
	json_object_put(page);
	return rc;
}

/* --- The first user of a cut page ---------------------------------------------------------- */

/* The bytes of a cut page, read forward. */
struct scan {
	const unsigned char *p, *end;
};

/* RFC 8259 section 2: the four whitespace characters. */
static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Whitespace, then @lit; false when the bytes differ or run out. */
static bool head_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	skip_ws(s);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	return true;
}

int gotrue_listing_first_id(const char *buf, size_t len, char id[GOTRUE_LISTING_ID_LEN + 1])
{
	struct scan s;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	id[0] = '\0';
	if (buf == NULL)
		goto cleanup;
	s.p = (const unsigned char *)buf;
	s.end = s.p + len;
	if (!head_lit(&s, "{") || !head_lit(&s, "\"users\"") || !head_lit(&s, ":") ||
	    !head_lit(&s, "[") || !head_lit(&s, "{"))
		goto cleanup;
	rc = 0;
	if (!head_lit(&s, "\"id\"") || !head_lit(&s, ":") || !head_lit(&s, "\"") ||
	    s.end - s.p < GOTRUE_LISTING_ID_LEN + 1 || s.p[GOTRUE_LISTING_ID_LEN] != '"')
		goto cleanup;
	memcpy(id, s.p, GOTRUE_LISTING_ID_LEN);
	id[GOTRUE_LISTING_ID_LEN] = '\0';
	if (gotrue_uuid_valid(id))
		rc = 1;
	else
		id[0] = '\0';
cleanup:
	return rc;
}
