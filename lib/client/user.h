/* user: the GoTrue user object (GET /user, /admin/users, the "user" of a session) as a C struct.
 * Every field is checked for type and size; unknown fields are ignored; malformed input is an
 * error, never a crash. app_metadata is admin-only data and the only source of authorisation;
 * user_metadata is written by the user and is kept only for display. */
#ifndef GOTRUE_USER_H
#define GOTRUE_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#define GOTRUE_USER_ID_MAX	64 /* UUIDs are 36 */
#define GOTRUE_USER_EMAIL_MAX	320
#define GOTRUE_USER_PHONE_MAX	32
#define GOTRUE_USER_STR_MAX	1024	    /* any other string */
#define GOTRUE_USER_META_MAX	(64 * 1024) /* serialised size of a metadata object */
#define GOTRUE_USER_FACTORS_MAX 32

struct gotrue_factor {
	char *id;
	char *type;	     /* "totp", "phone" */
	char *status;	     /* "verified", "unverified" */
	char *friendly_name; /* may be NULL */
};

struct gotrue_user {
	char *id; /* required, UUID text */
	char *aud;
	char *role;
	char *email; /* NULL when absent or "" */
	char *phone; /* NULL when absent or "" */
	/* 0 when absent or null */
	time_t email_confirmed_at;
	time_t phone_confirmed_at;
	time_t confirmed_at;
	time_t banned_until;
	time_t created_at;
	time_t updated_at;
	time_t last_sign_in_at;
	json_object *app_metadata;  /* owned reference, never NULL after a successful parse */
	json_object *user_metadata; /* owned reference, never NULL after a successful parse */
	struct gotrue_factor *factors;
	size_t n_factors;
	/* The object carried a "factors" array. GoTrue leaves the member out when a user has no
	 * factor, and its admin listing never loads factors at all (supabase/auth
	 * FindUsersInAudience): an absent member says nothing. */
	bool factors_known;
};

/* Fill @out from a parsed object. 0, or -1 with a reason in @why (may be NULL). @out is cleared
 * on failure. */
int gotrue_user_from_json(json_object *obj, struct gotrue_user *out, char *why, size_t why_len);
/* Same, from raw bytes (need not be NUL-terminated). A fuzz target. */
int gotrue_user_parse(const char *buf, size_t len, struct gotrue_user *out, char *why,
		      size_t why_len);
void gotrue_user_clear(struct gotrue_user *u);

/* True when banned_until is in the future relative to @now. */
bool gotrue_user_is_banned(const struct gotrue_user *u, time_t now);

/* True when @u's email address is confirmed: email_confirmed_at is set, or, from a server that
 * has only confirmed_at (Netlify's GoTrue), confirmed_at is set and no phone confirmation can be
 * what set it (supabase/auth's confirmed_at is the earlier of the two). An address nobody proved
 * to own never names an account (lib/directory/idmap.c). */
bool gotrue_user_email_confirmed(const struct gotrue_user *u);

/* The user as a verified access token states it. GoTrue signs sub, email, phone, app_metadata
 * and user_metadata into its access tokens, but not the timestamps; so @out takes the id, email,
 * phone and both metadata objects from @claims (the token's verified payload) and only what the
 * token does not carry (created_at, banned_until and the confirmation times) from @body, the
 * unsigned user object of the same answer. Factors are not copied: the body cannot be trusted to
 * list them all. When the two disagree on any signed
 * field (id against sub, email, phone, app_metadata), the answer was altered on its way: -1 with
 * the field named in @why. 0 on success (gotrue_user_clear() @out). */
int gotrue_user_from_claims(json_object *claims, const struct gotrue_user *body,
			    struct gotrue_user *out, char *why, size_t why_len);

/* A "factors" array (a user's member, or GET /admin/users/{id}/factors) into @u->factors, which
 * must be empty; sets @u->factors_known. 0, or -1 with a reason (the caller clears @u). */
int gotrue_factors_from_json(json_object *arr, struct gotrue_user *u, char *why, size_t why_len);
void gotrue_factor_clear(struct gotrue_factor *f);
/* True when @f is a verified factor (status "verified"); unverified ones are never asked for. */
bool gotrue_factor_verified(const struct gotrue_factor *f);
/* True when @u lists a verified factor of any type. */
bool gotrue_user_has_verified_factor(const struct gotrue_user *u);

/* RFC 3339 timestamps as GoTrue writes them ("2026-11-23T02:30:18.923527Z", or with an offset).
 * 0 or -1. */
int gotrue_parse_time(const char *s, time_t *out);

/* True when @s has the 8-4-4-4-12 hex shape of a UUID (GoTrue's user and factor ids). Used
 * before an id goes into a URL path. */
bool gotrue_uuid_valid(const char *s);

#endif
