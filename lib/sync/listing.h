/* listing: one GET /admin/users page ({"users":[{...},...], ...}) scanned without building the
 * json-c tree of the whole page. The page is validated whole, then each user is handed over as a
 * small json-c object that holds only the members the caller asked for. (Added by H-scan for
 * issue 4: the sync path.) */
#ifndef GOTRUE_LISTING_H
#define GOTRUE_LISTING_H

#include <stddef.h>
#include <json-c/json.h>

enum gotrue_listing_rc {
	GOTRUE_LISTING_OK = 0,
	GOTRUE_LISTING_NOT_JSON =
		-1, /* not one strict JSON value (what gotrue_json_parse refuses) */
	GOTRUE_LISTING_NO_USERS = -2, /* JSON, but no "users" array in a top-level object */
	GOTRUE_LISTING_BAD_USER = -3, /* a "users" entry is not an object; @why names it */
	GOTRUE_LISTING_REFUSED = -4,  /* JSON we do not take: a second "users", a key with \u0000 */
	GOTRUE_LISTING_STOPPED = -5,  /* @each returned non-zero */
	GOTRUE_LISTING_NOMEM = -6,
};

/* Scan the page @buf (@len bytes, no NUL terminator needed). The whole document is checked
 * against RFC 8259 first; nothing it accepts is refused by gotrue_json_parse(). Then, in order,
 * @each(@ctx, i, user) is called for entry i of "users", where @user is a new object with only the
 * members whose keys are in the NULL-terminated list @keep (a repeated key: the later one, as in
 * json-c). @user belongs to the scanner and is released after @each returns (take a reference
 * with json_object_get to keep any of it). @n_users, if not NULL, gets the number of entries.
 * Returns GOTRUE_LISTING_OK or one of the codes above, with a reason in @why (may be NULL). */
int gotrue_listing_each(const char *buf, size_t len, const char *const *keep,
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
