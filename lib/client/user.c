/* user: turns GoTrue's user object (GET /user, GET /admin/users, the "user" inside a session;
 * steps 11, 134 and 166 of tests/emulator/conformance.tsv) into struct gotrue_user.
 * Every field is checked for type and size against the limits in user.h; a malformed object is
 * refused with a reason, never half-filled. Also owns the RFC 3339 timestamp parser and the UUID
 * shape check that guards ids before they go into a URL path. */
#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_error.h"
#include "gotrue_json.h"
#include "user.h"

bool gotrue_uuid_valid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (s[i] == '\0')
			return false;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[36] == '\0';
}

/* Read exactly @n decimal digits. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return false;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return true;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to @y-@m-@d in the proleptic Gregorian calendar, the arithmetic timegm(3)
 * does (the era method of H. Hinnant's "chrono-Compatible Low-Level Date Algorithms"). By hand
 * because timegm goes through glibc's mktime normalisation and time zone code, a cost a sync
 * pays seven times per user. test_user checks it against timegm day by day over four
 * centuries. */
static long long days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 3339 §5.6 date-time, as Go's time.RFC3339Nano writes it ("2026-11-23T02:30:18.923527Z",
 * "...+02:00"). Hand-written rather than strptime(3): strptime skips blanks, takes one-digit
 * fields and has no fractional seconds, so it would accept text GoTrue never sends and still need
 * hand code for the rest. Every field is fixed-width and range-checked; days_from_civil does the
 * calendar arithmetic. */
int gotrue_parse_time(const char *s, time_t *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0, nfrac = 0, dim;
	time_t t;

	if (!s || !out)
		return -1;
	if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &mon) || *p++ != '-' ||
	    !digits(&p, 2, &day))
		return -1;
	if (*p != 'T' && *p != 't')
		return -1;
	p++;
	if (!digits(&p, 2, &hour) || *p++ != ':' || !digits(&p, 2, &min) || *p++ != ':' ||
	    !digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		/* Go prints up to 9 digits (nanoseconds); the fraction is dropped (whole seconds).
		 */
		while (isdigit((unsigned char)*p) && nfrac < 12) {
			p++;
			nfrac++;
		}
		if (nfrac == 0 || isdigit((unsigned char)*p))
			return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;

	if (mon < 1 || mon > 12)
		return -1;
	dim = mdays[mon - 1] + (mon == 2 && leap_year(year));
	/* sec 60: RFC 3339 allows a leap second; it folds into the next minute, as in timegm(3). */
	if (day < 1 || day > dim || hour > 23 || min > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;

	t = (time_t)(days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec);
	*out = t - (time_t)sign * (oh * 3600 + om * 60);
	return 0;
}

/* A string field: absent or null -> *out stays NULL; "" -> NULL when @empty_is_null. */
static int get_str(json_object *obj, const char *key, size_t max, bool empty_is_null, char **out,
		   char *why, size_t why_len)
{
	json_object *v;
	int len;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		gotrue_why_set(why, why_len, "field %s is not a string", key);
		return -1;
	}
	len = json_object_get_string_len(v);
	if (len < 0 || (size_t)len > max) {
		gotrue_why_set(why, why_len, "field %s is longer than %zu bytes", key, max);
		return -1;
	}
	if ((size_t)len != strlen(json_object_get_string(v))) {
		gotrue_why_set(why, why_len, "field %s contains a NUL byte", key);
		return -1;
	}
	if (len == 0 && empty_is_null)
		return 0;
	*out = strdup(json_object_get_string(v));
	if (!*out) {
		gotrue_why_set(why, why_len, "out of memory");
		return -1;
	}
	return 0;
}

/* A timestamp field: absent or null -> 0. */
static int get_time(json_object *obj, const char *key, time_t *out, char *why, size_t why_len)
{
	json_object *v;
	const char *s;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) > GOTRUE_USER_STR_MAX) {
		gotrue_why_set(why, why_len, "field %s is not a timestamp string", key);
		return -1;
	}
	s = json_object_get_string(v);
	if (gotrue_parse_time(s, out) != 0) {
		gotrue_why_set(why, why_len, "field %s is not an RFC 3339 timestamp", key);
		return -1;
	}
	/* Go's zero time (year 1) and anything before the epoch mean "not set" to us. */
	if (*out < 0)
		*out = 0;
	return 0;
}

/* An upper bound of @v's size as json-c serialises it plainly (every string character escaped
 * as \u00XX at worst, a number as long as any it prints), stopping once past @max. A sync maps
 * every user's app_metadata, and serialising each just to measure it would cost the sync more
 * than the check is worth; only an object whose bound is over the limit is serialised to measure
 * it exactly. */
static size_t meta_bound(json_object *v, size_t max)
{
	enum json_type type = json_object_get_type(v);
	size_t n = 2, i, len;

	if (type == json_type_string)
		return 2 + 6 * (size_t)json_object_get_string_len(v);
	if (type == json_type_array) {
		len = json_object_array_length(v);
		for (i = 0; i < len && n <= max; i++)
			n += 1 + meta_bound(json_object_array_get_idx(v, i), max);
		return n;
	}
	if (type != json_type_object) /* null, a boolean, or a number: "%.17g" and int64 fit */
		return 32;
	json_object_object_foreach(v, key, val)
	{
		if (n > max)
			break;
		n += 6 * strlen(key) + 4 + meta_bound(val, max);
	}
	return n;
}

/* A metadata object: absent or null -> a new empty object; anything else must be an object whose
 * serialised size is within GOTRUE_USER_META_MAX. *out gets an owned reference. */
static int get_meta(json_object *obj, const char *key, json_object **out, char *why, size_t why_len)
{
	json_object *v;
	size_t len = 0;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		*out = json_object_new_object();
		if (!*out) {
			gotrue_why_set(why, why_len, "out of memory");
			return -1;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_object)) {
		gotrue_why_set(why, why_len, "field %s is not an object", key);
		return -1;
	}
	if (meta_bound(v, GOTRUE_USER_META_MAX) > GOTRUE_USER_META_MAX &&
	    (!json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len) ||
	     len > GOTRUE_USER_META_MAX)) {
		gotrue_why_set(why, why_len, "field %s is larger than %d bytes", key,
			       GOTRUE_USER_META_MAX);
		return -1;
	}
	*out = json_object_get(v);
	return 0;
}

void gotrue_factor_clear(struct gotrue_factor *f)
{
	free(f->id);
	free(f->type);
	free(f->status);
	free(f->friendly_name);
	memset(f, 0, sizeof(*f));
}

static int get_factor(json_object *v, size_t idx, struct gotrue_factor *f, char *why,
		      size_t why_len)
{
	int rc = -1;

	if (!json_object_is_type(v, json_type_object)) {
		gotrue_why_set(why, why_len, "factors[%zu] is not an object", idx);
		goto cleanup;
	}
	if (get_str(v, "id", GOTRUE_USER_ID_MAX, true, &f->id, why, why_len) != 0)
		goto cleanup;
	if (!gotrue_uuid_valid(f->id)) {
		gotrue_why_set(why, why_len, "factors[%zu].id is missing or not a UUID", idx);
		goto cleanup;
	}
	/* The user object says "factor_type" (step 166); the enroll answer says "type" (159). */
	if (get_str(v, "factor_type", GOTRUE_USER_STR_MAX, true, &f->type, why, why_len) != 0)
		goto cleanup;
	if (!f->type && get_str(v, "type", GOTRUE_USER_STR_MAX, true, &f->type, why, why_len) != 0)
		goto cleanup;
	if (get_str(v, "status", GOTRUE_USER_STR_MAX, true, &f->status, why, why_len) != 0 ||
	    get_str(v, "friendly_name", GOTRUE_USER_STR_MAX, true, &f->friendly_name, why,
		    why_len) != 0)
		goto cleanup;
	if (!f->type || !f->status) {
		gotrue_why_set(why, why_len, "factors[%zu] lacks a type or status", idx);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_factor_clear(f);
	return rc;
}

static int get_factors(json_object *obj, struct gotrue_user *u, char *why, size_t why_len)
{
	json_object *arr;

	if (!json_object_object_get_ex(obj, "factors", &arr) ||
	    json_object_is_type(arr, json_type_null))
		return 0;
	return gotrue_factors_from_json(arr, u, why, why_len);
}

int gotrue_factors_from_json(json_object *arr, struct gotrue_user *u, char *why, size_t why_len)
{
	size_t i, n;

	if (!json_object_is_type(arr, json_type_array)) {
		gotrue_why_set(why, why_len, "field factors is not an array");
		return -1;
	}
	u->factors_known = true;
	n = json_object_array_length(arr);
	if (n > GOTRUE_USER_FACTORS_MAX) {
		gotrue_why_set(why, why_len, "more than %d factors", GOTRUE_USER_FACTORS_MAX);
		return -1;
	}
	if (n == 0)
		return 0;
	u->factors = calloc(n, sizeof(*u->factors));
	if (!u->factors) {
		gotrue_why_set(why, why_len, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (get_factor(json_object_array_get_idx(arr, i), i, &u->factors[i], why,
			       why_len) != 0)
			return -1; /* the caller clears u, freeing the factors parsed so far */
		u->n_factors = i + 1;
	}
	return 0;
}

int gotrue_user_from_json(json_object *obj, struct gotrue_user *out, char *why, size_t why_len)
{
	int rc = -1;

	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		gotrue_why_set(why, why_len, "user is not a JSON object");
		goto cleanup;
	}
	if (get_str(obj, "id", GOTRUE_USER_ID_MAX, true, &out->id, why, why_len) != 0)
		goto cleanup;
	if (!out->id) {
		gotrue_why_set(why, why_len, "user has no id");
		goto cleanup;
	}
	if (!gotrue_uuid_valid(out->id)) {
		gotrue_why_set(why, why_len, "user id is not a UUID");
		goto cleanup;
	}
	if (get_str(obj, "aud", GOTRUE_USER_STR_MAX, false, &out->aud, why, why_len) != 0 ||
	    get_str(obj, "role", GOTRUE_USER_STR_MAX, false, &out->role, why, why_len) != 0 ||
	    get_str(obj, "email", GOTRUE_USER_EMAIL_MAX, true, &out->email, why, why_len) != 0 ||
	    get_str(obj, "phone", GOTRUE_USER_PHONE_MAX, true, &out->phone, why, why_len) != 0)
		goto cleanup;
	if (get_time(obj, "email_confirmed_at", &out->email_confirmed_at, why, why_len) != 0 ||
	    get_time(obj, "phone_confirmed_at", &out->phone_confirmed_at, why, why_len) != 0 ||
	    get_time(obj, "confirmed_at", &out->confirmed_at, why, why_len) != 0 ||
	    get_time(obj, "banned_until", &out->banned_until, why, why_len) != 0 ||
	    get_time(obj, "created_at", &out->created_at, why, why_len) != 0 ||
	    get_time(obj, "updated_at", &out->updated_at, why, why_len) != 0 ||
	    get_time(obj, "last_sign_in_at", &out->last_sign_in_at, why, why_len) != 0)
		goto cleanup;
	if (get_meta(obj, "app_metadata", &out->app_metadata, why, why_len) != 0 ||
	    get_meta(obj, "user_metadata", &out->user_metadata, why, why_len) != 0)
		goto cleanup;
	if (get_factors(obj, out, why, why_len) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_user_clear(out);
	return rc;
}

int gotrue_user_parse(const char *buf, size_t len, struct gotrue_user *out, char *why,
		      size_t why_len)
{
	json_object *obj = NULL;
	int rc = -1;

	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!buf || len == 0 || len > INT_MAX) {
		gotrue_why_set(why, why_len, "empty or oversized input");
		goto cleanup;
	}
	/* The same strict parser as the network path: "{...}garbage" is not a user. */
	obj = gotrue_json_parse(buf, len);
	if (!obj) {
		gotrue_why_set(why, why_len, "not one valid JSON value");
		goto cleanup;
	}
	rc = gotrue_user_from_json(obj, out, why, why_len);
cleanup:
	json_object_put(obj);
	return rc;
}

void gotrue_user_clear(struct gotrue_user *u)
{
	size_t i;

	if (!u)
		return;
	free(u->id);
	free(u->aud);
	free(u->role);
	free(u->email);
	free(u->phone);
	json_object_put(u->app_metadata);
	json_object_put(u->user_metadata);
	for (i = 0; i < u->n_factors; i++)
		gotrue_factor_clear(&u->factors[i]);
	free(u->factors);
	memset(u, 0, sizeof(*u));
}

bool gotrue_factor_verified(const struct gotrue_factor *f)
{
	return f != NULL && f->status != NULL && strcmp(f->status, "verified") == 0;
}

bool gotrue_user_has_verified_factor(const struct gotrue_user *u)
{
	size_t i;

	for (i = 0; u != NULL && i < u->n_factors; i++) {
		if (gotrue_factor_verified(&u->factors[i]))
			return true;
	}
	return false;
}

bool gotrue_user_is_banned(const struct gotrue_user *u, time_t now)
{
	return u && u->banned_until > now;
}

bool gotrue_user_email_confirmed(const struct gotrue_user *u)
{
	return u->email_confirmed_at > 0 || (u->confirmed_at > 0 && u->phone_confirmed_at <= 0);
}

/* Absent and "" are the same (get_str with empty_is_null). */
static bool same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Which signed field @body states otherwise than @tok does, or NULL. */
static const char *disagreement(const struct gotrue_user *tok, const struct gotrue_user *body)
{
	if (!same_str(tok->id, body->id))
		return "user id";
	if (!same_str(tok->email, body->email))
		return "email";
	if (!same_str(tok->phone, body->phone))
		return "phone";
	if (!json_object_equal(tok->app_metadata, body->app_metadata))
		return "app_metadata";
	return NULL;
}

int gotrue_user_from_claims(json_object *claims, const struct gotrue_user *body,
			    struct gotrue_user *out, char *why, size_t why_len)
{
	struct gotrue_user u = {0};
	const char *field;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (claims == NULL || !json_object_is_type(claims, json_type_object) || body == NULL) {
		gotrue_why_set(why, why_len, "no claims or no user");
		goto cleanup;
	}
	/* The same checks as a user object's, under the claims' names. */
	if (get_str(claims, "sub", GOTRUE_USER_ID_MAX, true, &u.id, why, why_len) != 0 ||
	    get_str(claims, "email", GOTRUE_USER_EMAIL_MAX, true, &u.email, why, why_len) != 0 ||
	    get_str(claims, "phone", GOTRUE_USER_PHONE_MAX, true, &u.phone, why, why_len) != 0 ||
	    get_meta(claims, "app_metadata", &u.app_metadata, why, why_len) != 0 ||
	    get_meta(claims, "user_metadata", &u.user_metadata, why, why_len) != 0)
		goto cleanup;
	if (!gotrue_uuid_valid(u.id)) {
		gotrue_why_set(why, why_len, "claim sub is missing or not a UUID");
		goto cleanup;
	}
	field = disagreement(&u, body);
	if (field != NULL) {
		gotrue_why_set(why, why_len, "the answer's %s differs from the token's", field);
		goto cleanup;
	}
	if ((body->aud != NULL && (u.aud = strdup(body->aud)) == NULL) ||
	    (body->role != NULL && (u.role = strdup(body->role)) == NULL)) {
		gotrue_why_set(why, why_len, "out of memory");
		goto cleanup;
	}
	/* Unsigned. A ban or a missing confirmation can only refuse; a confirmation the body
	 * claims grants nothing unless the caller corroborates it (pam/auth.c: the sign-in was
	 * with that very address); created_at decides nothing at login (lib/sync/sync.c keeps an
	 * indexed user's own). */
	u.email_confirmed_at = body->email_confirmed_at;
	u.phone_confirmed_at = body->phone_confirmed_at;
	u.confirmed_at = body->confirmed_at;
	u.banned_until = body->banned_until;
	u.created_at = body->created_at;
	u.updated_at = body->updated_at;
	u.last_sign_in_at = body->last_sign_in_at;
	*out = u;
	memset(&u, 0, sizeof(u));
	rc = 0;
cleanup:
	gotrue_user_clear(&u);
	return rc;
}
