/* listing: a validating scanner for one GET /admin/users page (transcript step 112:
 * {"users":[{...},...],"aud":...}) that builds, per user, a small json-c object holding only the
 * members the caller keeps, and builds nothing for the rest.
 *
 * Why hand-written, against the house rule "prefer json-c": json-c has no streaming (SAX) API; its
 * tokener builds a node for every value it reads, so a page is always a whole DOM. A sync of
 * 100k users spent ~0.65 s of its ~1.1 s streaming CPU in json-c parsing the pages and ~0.12 s
 * freeing the DOMs, and about half of the bytes are each user's "identities" array and
 * "user_metadata", which the sync never reads (lib/directory/idmap.c reads app_metadata only); with
 * the identities removed json-c's parse time halved. Issue 4 (sync <= 1.3x curl) needs that CPU
 * back, and the emulator shares the two cores with us.
 *
 * What is hand-written is only a grammar check (RFC 8259 sections 2-7) and the skipping: the kept
 * values are still parsed by json-c (gotrue_json_parse, the same strict tokener), all of a page's
 * in one call on a copy of their bytes laid out as one array, and a key with escapes is decoded by
 * json-c too. With this the prerendered-page sync of bench-nss went from ~1.5 s to ~0.9 s (same
 * load, alternating runs). The check must never accept what gotrue_json_parse
 * refuses; it refuses some inputs json-c 0.16 in strict mode takes, all of which GoTrue (Go's
 * encoding/json) never writes (fail closed: the sync fails and the old cache stays):
 *   - control characters (< 0x20) unescaped inside a string (RFC 8259 section 7 forbids them;
 *     Go escapes them);
 *   - NaN, Infinity, -Infinity, "1.", "1.e5" and "-01" (json-c takes them inside containers; Go
 *     cannot encode NaN or Inf, writes a digit after the point and no leading zero);
 *   - a page that is a bare number, true or false (json-c takes it when whitespace follows;
 *     a page is an object);
 *   - nesting of 32 containers (json-c refuses 32 containers only when a value is inside the
 *     innermost; we refuse the 32nd container always);
 *   - an object key that decodes to text with U+0000 in it (json-c keeps such a key cut at the
 *     NUL, so it would silently stand for another key), and a second top-level "users" (json-c
 *     would take the later one; a server that sends two is not one we trust with the cache).
 * Bytes >= 0x80 are not checked for UTF-8, as json-c (without JSON_TOKENER_VALIDATE_UTF8) does
 * not. tests/fuzz/fuzz_listing.c checks all this differentially against json-c. */
#include <config.h>

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_error.h"
#include "gotrue_json.h"
#include "listing.h"
#include "user.h"

/* json-c 0.16 with JSON_TOKENER_DEFAULT_DEPTH (32, lib/client/gotrue_json.c) refuses 32 nested
 * containers with a value in the innermost and 33 always; 31 it always takes. */
#define LISTING_DEPTH_MAX 31
struct scan {
	const unsigned char *p, *end;
	json_tokener *tok;
	bool refused; /* valid JSON that we refuse (see the top); the page is still scanned whole */
	char *why;
	size_t why_len;
};

/* What the scan keeps of a page, turned into json-c objects only once the whole page is known to
 * be valid. The kept values' bytes are copied into one JSON array, "[v0,v1,...]", parsed by
 * json-c in one call: json_tokener_parse_ex costs a newlocale()/uselocale() pair per call (seen
 * at ~10% of the sync in perf when called per value), so one call per page, as before. */
struct kept {
	char *vals; /* "[" value "," value ... */
	size_t len, cap;
	struct kept_value {
		size_t user; /* entry of "users" */
		int key;     /* index in @keep */
	} * v;
	size_t n, vcap;
	size_t n_users; /* entries of "users" */
	size_t bad;	/* index of the first entry that is not an object */
	bool have_bad;
};

/* RFC 8259 section 2: the four whitespace characters, nothing else (json-c agrees: no \f, \v). */
static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string (section 7) starting at the opening quote; s->p ends past the closing one. *@escaped
 * says whether it has a backslash (then its text differs from its bytes). */
static int scan_string(struct scan *s, bool *escaped)
{
	const unsigned char *p = s->p + 1, *end = s->end;

	*escaped = false;
	while (p < end) {
		unsigned char c = *p;

		if (c == '"') {
			s->p = p + 1;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			p++;
			continue;
		}
		*escaped = true;
		if (end - p < 2)
			return -1;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			p += 2;
			break;
		case 'u':
			/* Any four hex digits; lone surrogates are grammatical and json-c takes
			 * them (it substitutes U+FFFD). */
			if (end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) ||
			    !is_hex(p[5]))
				return -1;
			p += 6;
			break;
		default:
			return -1;
		}
	}
	return -1;
}

static bool digit_at(const struct scan *s, const unsigned char *p)
{
	return p < s->end && *p >= '0' && *p <= '9';
}

/* A number (section 6): -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int scan_number(struct scan *s)
{
	const unsigned char *p = s->p;

	if (p < s->end && *p == '-')
		p++;
	if (!digit_at(s, p))
		return -1;
	if (*p++ != '0')
		while (digit_at(s, p))
			p++;
	if (p < s->end && *p == '.') {
		p++;
		if (!digit_at(s, p))
			return -1;
		while (digit_at(s, p))
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (!digit_at(s, p))
			return -1;
		while (digit_at(s, p))
			p++;
	}
	s->p = p;
	return 0;
}

static int scan_literal(struct scan *s, const char *lit, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* After a member or an element: whitespace, then @close ends the container (1) or a comma goes on
 * to the next (0, whitespace after it skipped); anything else, or the end of the page, is not
 * JSON (-1). */
static int next_or_close(struct scan *s, unsigned char close)
{
	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == close) {
		s->p++;
		return 1;
	}
	if (*s->p++ != ',')
		return -1;
	skip_ws(s);
	return 0;
}

static int scan_value(struct scan *s, int depth);

/* An object or array starting at its bracket; @depth counts the containers around it. */
static int scan_container(struct scan *s, int depth)
{
	bool object = *s->p == '{', escaped;
	unsigned char close = object ? '}' : ']';

	if (depth + 1 > LISTING_DEPTH_MAX)
		return -1;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (object) {
			if (s->p >= s->end || *s->p != '"' || scan_string(s, &escaped) != 0)
				return -1;
			skip_ws(s);
			if (s->p >= s->end || *s->p++ != ':')
				return -1;
			skip_ws(s);
		}
		if (scan_value(s, depth + 1) != 0)
			return -1;
		switch (next_or_close(s, close)) {
		case 1:
			return 0;
		case -1:
			return -1;
		}
	}
}

/* Any value (section 3) at s->p (whitespace already skipped). */
static int scan_value(struct scan *s, int depth)
{
	bool escaped;

	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
	case '[':
		return scan_container(s, depth);
	case '"':
		return scan_string(s, &escaped);
	case 't':
		return scan_literal(s, "true", 4);
	case 'f':
		return scan_literal(s, "false", 5);
	case 'n':
		return scan_literal(s, "null", 4);
	default:
		return scan_number(s);
	}
}

/* Which of @names (NULL-terminated) the key string [@k, @e) (quotes included) is: its index, or
 * -1 for none; -2 when json-c cannot decode it or it decodes to text with a NUL (see the top). */
static int key_index(struct scan *s, const unsigned char *k, const unsigned char *e, bool escaped,
		     const char *const *names)
{
	const char *text = (const char *)k + 1;
	size_t len = (size_t)(e - k) - 2;
	json_object *dec = NULL;
	int i, rc = -1;

	if (escaped) {
		dec = gotrue_json_parse_with(s->tok, (const char *)k, (size_t)(e - k));
		if (!dec || !json_object_is_type(dec, json_type_string)) {
			rc = -2;
			goto cleanup;
		}
		text = json_object_get_string(dec);
		len = (size_t)json_object_get_string_len(dec);
		if (strlen(text) != len) {
			rc = -2;
			goto cleanup;
		}
	}
	for (i = 0; names && names[i]; i++) {
		/* @text has no NUL (scan_string refuses a raw one, the check above an escaped
		 * one), so this is "equal bytes, equal length", mostly decided by the first. */
		if (names[i][0] == (len ? text[0] : '\0') && strncmp(names[i], text, len) == 0 &&
		    names[i][len] == '\0') {
			rc = i;
			break;
		}
	}
cleanup:
	json_object_put(dec);
	return rc;
}

/* Note the value [@v, @e) as member @key of user @user. 0, or -1 when out of memory. */
static int kept_add(struct kept *k, size_t user, int key, const unsigned char *v,
		    const unsigned char *e)
{
	size_t len = (size_t)(e - v), cap;
	struct kept_value *nv;
	char *nb;

	if (k->len + len + 2 > k->cap) {
		cap = k->cap ? k->cap : 4096;
		while (cap < k->len + len + 2)
			cap *= 2;
		nb = realloc(k->vals, cap);
		if (!nb)
			return -1;
		k->vals = nb;
		k->cap = cap;
	}
	if (k->n == k->vcap) {
		cap = k->vcap ? k->vcap * 2 : 256;
		nv = realloc(k->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		k->v = nv;
		k->vcap = cap;
	}
	k->vals[k->len++] = k->n ? ',' : '[';
	memcpy(k->vals + k->len, v, len);
	k->len += len;
	k->v[k->n].user = user;
	k->v[k->n].key = key;
	k->n++;
	return 0;
}

/* The user object at s->p, entry @user of "users" (depth 3: page, users, user): its members
 * whose keys are in @keep are noted in @k, the rest only checked. */
static int scan_user(struct scan *s, const char *const *keep, size_t user, struct kept *k)
{
	const unsigned char *key, *v;
	bool escaped;
	int idx;

	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return GOTRUE_LISTING_OK;
	}
	for (;;) {
		key = s->p;
		if (s->p >= s->end || *s->p != '"' || scan_string(s, &escaped) != 0)
			return GOTRUE_LISTING_NOT_JSON;
		idx = key_index(s, key, s->p, escaped, keep);
		if (idx == -2) {
			/* Scanned on: a grammar error later in the page must win. */
			if (!s->refused)
				gotrue_why_set(s->why, s->why_len,
					       "a user has a key json-c cannot keep");
			s->refused = true;
		}
		skip_ws(s);
		if (s->p >= s->end || *s->p++ != ':')
			return GOTRUE_LISTING_NOT_JSON;
		skip_ws(s);
		v = s->p;
		if (scan_value(s, 3) != 0)
			return GOTRUE_LISTING_NOT_JSON;
		if (idx >= 0 && !s->refused && kept_add(k, user, idx, v, s->p) != 0)
			return GOTRUE_LISTING_NOMEM;
		switch (next_or_close(s, '}')) {
		case 1:
			return GOTRUE_LISTING_OK;
		case -1:
			return GOTRUE_LISTING_NOT_JSON;
		}
	}
}

/* The "users" array at s->p (depth 2). A non-object entry is remembered and skipped, so that a
 * grammar error later in the page still wins, as it did when the whole page went to json-c. */
static int scan_users(struct scan *s, const char *const *keep, struct kept *u)
{
	size_t i = 0;
	int rc;

	if (*s->p != '[')
		return scan_value(s, 1) == 0 ? GOTRUE_LISTING_NO_USERS : GOTRUE_LISTING_NOT_JSON;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return GOTRUE_LISTING_OK;
	}
	for (;; i++) {
		u->n_users = i + 1;
		if (s->p < s->end && *s->p == '{') {
			rc = scan_user(s, keep, i, u);
			if (rc != GOTRUE_LISTING_OK)
				return rc;
		} else {
			if (scan_value(s, 2) != 0)
				return GOTRUE_LISTING_NOT_JSON;
			if (!u->have_bad) {
				u->have_bad = true;
				u->bad = i;
			}
		}
		switch (next_or_close(s, ']')) {
		case 1:
			return GOTRUE_LISTING_OK;
		case -1:
			return GOTRUE_LISTING_NOT_JSON;
		}
	}
}

/* The page: a top-level object whose "users" member is scanned as users, every other member
 * skipped; or any other JSON value, which has no users array. */
static int scan_page(struct scan *s, const char *const *keep, struct kept *u)
{
	static const char *const users_key[] = {"users", NULL};
	const unsigned char *k;
	bool escaped, have_users = false;
	int idx, rc, r;

	skip_ws(s);
	if (s->p >= s->end || *s->p != '{') {
		/* A bare number or literal is not JSON to gotrue_json_parse unless whitespace
		 * follows (json-c's tokener waits for more) and null never is: all "not JSON". */
		if (s->p >= s->end || (*s->p != '[' && *s->p != '"') || scan_value(s, 0) != 0)
			return GOTRUE_LISTING_NOT_JSON;
		rc = GOTRUE_LISTING_NO_USERS;
		goto tail;
	}
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		rc = GOTRUE_LISTING_NO_USERS;
		goto tail;
	}
	rc = GOTRUE_LISTING_OK;
	for (;;) {
		k = s->p;
		if (s->p >= s->end || *s->p != '"' || scan_string(s, &escaped) != 0)
			return GOTRUE_LISTING_NOT_JSON;
		idx = key_index(s, k, s->p, escaped, users_key);
		skip_ws(s);
		if (s->p >= s->end || *s->p++ != ':')
			return GOTRUE_LISTING_NOT_JSON;
		skip_ws(s);
		if (s->p >= s->end)
			return GOTRUE_LISTING_NOT_JSON;
		if (idx == -2 || (idx == 0 && have_users)) {
			/* Still scanned: a grammar error later in the page must win. */
			if (scan_value(s, 1) != 0)
				return GOTRUE_LISTING_NOT_JSON;
			if (!s->refused)
				gotrue_why_set(s->why, s->why_len, "%s",
					       idx == -2 ? "page has a key json-c cannot keep"
							 : "page has more than one users member");
			s->refused = true;
		} else if (idx == 0) {
			have_users = true;
			/* A non-array "users" is no users array, as json-c + page_users said; it
			 * was scanned whole, so the walk goes on. Anything else stops it. */
			r = scan_users(s, keep, u);
			if (r == GOTRUE_LISTING_NO_USERS) {
				if (rc == GOTRUE_LISTING_OK)
					rc = r;
			} else if (r != GOTRUE_LISTING_OK) {
				return r;
			}
		} else if (scan_value(s, 1) != 0) {
			return GOTRUE_LISTING_NOT_JSON;
		}
		r = next_or_close(s, '}');
		if (r < 0)
			return GOTRUE_LISTING_NOT_JSON;
		if (r > 0)
			break;
	}
	if (rc == GOTRUE_LISTING_OK && !have_users)
		rc = GOTRUE_LISTING_NO_USERS;
tail:
	/* One value and nothing after it but whitespace (section 2), as gotrue_json_parse. */
	skip_ws(s);
	if (s->p != s->end)
		return GOTRUE_LISTING_NOT_JSON;
	return rc;
}

/* The users of a valid page, @k->n_users new objects in *@out, each with its kept members: the
 * noted values parsed by json-c in one call. */
static int build_users(struct scan *s, const char *const *keep, struct kept *k, json_object ***out)
{
	json_object **users = NULL, *vals = NULL, *v;
	size_t i;
	int rc = GOTRUE_LISTING_NOMEM;

	users = calloc(k->n_users ? k->n_users : 1, sizeof(*users));
	if (!users)
		goto cleanup;
	for (i = 0; i < k->n_users; i++) {
		users[i] = json_object_new_object();
		if (!users[i])
			goto cleanup;
	}
	if (k->n > 0) {
		k->vals[k->len++] = ']'; /* kept_add left room for it */
		vals = gotrue_json_parse_with(s->tok, k->vals, k->len);
		/* Cannot fail if the grammar above is right; fail closed if it does. */
		if (!json_object_is_type(vals, json_type_array) ||
		    json_object_array_length(vals) != k->n) {
			rc = GOTRUE_LISTING_NOT_JSON;
			goto cleanup;
		}
	}
	for (i = 0; i < k->n; i++) {
		v = json_object_get(json_object_array_get_idx(vals, i));
		/* Replaces an earlier member of the same key: the later wins, as in json-c's
		 * own parse. */
		if (json_object_object_add(users[k->v[i].user], keep[k->v[i].key], v) != 0) {
			json_object_put(v);
			goto cleanup;
		}
	}
	*out = users;
	users = NULL;
	rc = GOTRUE_LISTING_OK;
cleanup:
	json_object_put(vals);
	for (i = 0; users && i < k->n_users; i++)
		json_object_put(users[i]);
	free(users);
	return rc;
}

int gotrue_listing_each(const char *buf, size_t len, const char *const *keep,
			int (*each)(void *ctx, size_t i, json_object *user), void *ctx,
			size_t *n_users, char *why, size_t why_len)
{
	struct scan s;
	struct kept k;
	json_object **users = NULL;
	size_t i;
	int rc = GOTRUE_LISTING_NOT_JSON;

	memset(&s, 0, sizeof(s));
	memset(&k, 0, sizeof(k));
	if (n_users)
		*n_users = 0;
	s.why = why;
	s.why_len = why_len;
	if (!buf || len == 0 || len > INT_MAX || !each) {
		gotrue_why_set(why, why_len, "empty or oversized page");
		goto cleanup;
	}
	s.p = (const unsigned char *)buf;
	s.end = s.p + len;
	/* One tokener for the page's keys with escapes and its kept values. */
	s.tok = gotrue_json_tokener_new();
	if (!s.tok) {
		rc = GOTRUE_LISTING_NOMEM;
		goto cleanup;
	}
	rc = scan_page(&s, keep, &k);
	if (s.refused && rc != GOTRUE_LISTING_NOT_JSON && rc != GOTRUE_LISTING_NOMEM)
		rc = GOTRUE_LISTING_REFUSED;
	if (rc == GOTRUE_LISTING_OK && k.have_bad) {
		rc = GOTRUE_LISTING_BAD_USER;
		gotrue_why_set(why, why_len, "entry %zu: user is not a JSON object", k.bad);
	}
	if (rc == GOTRUE_LISTING_OK)
		rc = build_users(&s, keep, &k, &users);
	switch (rc) {
	case GOTRUE_LISTING_OK:
		break;
	case GOTRUE_LISTING_NOT_JSON:
		gotrue_why_set(why, why_len, "page is not JSON");
		goto cleanup;
	case GOTRUE_LISTING_NO_USERS:
		gotrue_why_set(why, why_len, "page has no users array");
		goto cleanup;
	case GOTRUE_LISTING_NOMEM:
		gotrue_why_set(why, why_len, "out of memory");
		goto cleanup;
	default: /* REFUSED, BAD_USER: the reason is set where it was found */
		goto cleanup;
	}
	if (n_users)
		*n_users = k.n_users;
	for (i = 0; i < k.n_users; i++) {
		if (each(ctx, i, users[i]) != 0) {
			rc = GOTRUE_LISTING_STOPPED;
			break;
		}
	}
cleanup:
	for (i = 0; users && i < k.n_users; i++)
		json_object_put(users[i]);
	free(users);
	free(k.vals);
	free(k.v);
	if (s.tok)
		json_tokener_free(s.tok);
	return rc;
}

/* --- The first user of a cut page ---------------------------------------------------------- */

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
