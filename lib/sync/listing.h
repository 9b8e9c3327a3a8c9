/* listing: one GET /admin/users page ({"users":[{...},...], ...}) handed over user by user, and
 * the first user's id of a page that was cut at max_response. */
#ifndef GOTRUE_LISTING_H
#define GOTRUE_LISTING_H

#include <stddef.h>
#include <json-c/json.h>

enum gotrue_listing_rc {
	GOTRUE_LISTING_OK = 0,
	GOTRUE_LISTING_NOT_JSON = -1, /* not one strict JSON value (gotrue_json_parse) */
	GOTRUE_LISTING_NO_USERS = -2, /* JSON, but no "users" array in a top-level object */
	GOTRUE_LISTING_BAD_USER = -3, /* a "users" entry is not an object; @why names it */
	GOTRUE_LISTING_STOPPED = -5,  /* @each returned non-zero */
};

/* Parse the page @buf (@len bytes) with gotrue_json_parse and check that every entry of "users"
 * is an object; then, in order, call @each(@ctx, i, user) for entry i, less the members named in
 * the NULL-terminated list @skip. @user belongs to the page and is released after the last call
 * (take a reference with json_object_get to keep any of it). @n_users, if not NULL, gets the
 * number of entries. Returns GOTRUE_LISTING_OK or one of the codes above, with a reason in @why
 * (may be NULL). */
int gotrue_listing_each(const char *buf, size_t len, const char *const *skip,
			int (*each)(void *ctx, size_t i, json_object *user), void *ctx,
			size_t *n_users, char *why, size_t why_len);

/* The beginning of a page that was cut (its whole is over max_response), @len bytes: whether it
 * begins as a page whose "users" array starts with an object, and that user's id when "id" is
 * its first member, as GoTrue writes it (Go's encoding/json keeps the struct's field order, and
 * its User starts with ID; transcript step 112). Returns 1 with @id filled (a UUID, NUL-
 * terminated), 0 when the page begins with a user whose id does not come first (or not within
 * @len), -1 when @buf does not begin as a page with a user. Keys are matched as Go writes them,
 * without escapes; nothing after the id is looked at. */
#define GOTRUE_LISTING_ID_LEN 36
int gotrue_listing_first_id(const char *buf, size_t len, char id[GOTRUE_LISTING_ID_LEN + 1]);

#endif
