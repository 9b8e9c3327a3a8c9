/* test_listing: the /admin/users page reader (lib/sync/listing.c) on pages shaped like GoTrue's
 * (transcript step 112), on escapes, duplicates and nesting, on every malformed input we could
 * think of (each prefix of a valid page, bad escapes and numbers, trailing bytes, a depth bomb);
 * and the reader of a cut page's first user, judged by the same rule as the fuzz target
 * (tests/fuzz/listing_diff.h). */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/listing_diff.h" /* listing_first_id_ok */
#include "gotrue_json.h"
#include "listing.h"
#include "tap.h"
#include "user.h"

/* Step 112, two users, as GoTrue v2.69.3 sent them (whitespace squeezed), plus identities and
 * user_metadata with something in them and a factor. */
static const char PAGE[] =
	"{\"users\":[{\"id\":\"da408f30-44a6-4629-ba65-1e5305356957\",\"aud\":\"authenticated\","
	"\"role\":\"authenticated\",\"email\":\"ivan@example.com\",\"email_confirmed_at\":"
	"\"2026-11-23T02:30:24.279641Z\",\"phone\":\"\",\"confirmed_at\":\"2026-11-23T02:30:24."
	"279641Z\",\"app_metadata\":{\"provider\":\"email\",\"providers\":[\"email\"]},"
	"\"user_metadata\":{\"nick\":\"iv\\\"an\",\"deep\":[[{\"x\":[1,-2.5e3,true,null]}]]},"
	"\"identities\":[{\"identity_id\":\"0bab63bb-e32d-47ea-ab30-23a6e8b28351\",\"identity_"
	"data\":"
	"{\"email\":\"ivan@example.com\",\"email_verified\":false}}],\"created_at\":"
	"\"2026-11-23T02:30:24.276609Z\",\"updated_at\":\"2026-11-23T02:30:24.279747Z\"},"
	"{\"id\":\"0bab63bb-e32d-47ea-ab30-23a6e8b28351\",\"aud\":\"authenticated\",\"role\":"
	"\"authenticated\",\"email\":\"dave@example.com\",\"phone\":\"\",\"app_metadata\":{"
	"\"provider\":\"email\",\"providers\":[\"email\"],\"unix\":{\"groups\":[\"wheel\"],"
	"\"uid\":5001}},\"user_metadata\":{},\"identities\":null,\"factors\":[{\"id\":"
	"\"0bab63bb-e32d-47ea-ab30-23a6e8b28351\",\"friendly_name\":\"phone\",\"factor_type\":"
	"\"totp\",\"status\":\"verified\"}],\"banned_until\":null,\"created_at\":\"2026-11-23T02:"
	"30:24.146316Z\",\"updated_at\":\"2026-11-23T02:30:24.149445Z\"}],\"aud\":"
	"\"authenticated\"}";

/* What a walk drops: all but id, app_metadata and email of the users above. */
static const char *const SKIP[] = {"aud",	 "role",	 "email_confirmed_at",
				   "phone",	 "confirmed_at", "user_metadata",
				   "identities", "created_at",	 "updated_at",
				   "factors",	 "banned_until", NULL};

struct seen {
	json_object *v[8];
	size_t n;
	int stop_at;
};

static int collect(void *ctx, size_t i, json_object *user)
{
	struct seen *s = ctx;

	if ((int)i == s->stop_at || s->n >= 8)
		return -1;
	s->v[s->n++] = json_object_get(user);
	return 0;
}

static void seen_clear(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		json_object_put(s->v[i]);
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
}

static int scan(const char *doc, struct seen *s, size_t *n)
{
	char why[160];

	seen_clear(s);
	return gotrue_listing_each(doc, strlen(doc), SKIP, collect, s, n, why, sizeof(why));
}

static int rc_of(const char *doc, size_t len)
{
	struct seen s = {.stop_at = -1};
	char why[160];
	int rc = gotrue_listing_each(doc, len, SKIP, collect, &s, NULL, why, sizeof(why));

	seen_clear(&s);
	return rc;
}

static void same(const char *doc, int want_rc, const char *name)
{
	int rc = rc_of(doc, strlen(doc));

	ok(rc == want_rc, "%s: rc %d (want %d)", name, rc, want_rc);
}

/* Not a JSON document (gotrue_json_parse refuses it). */
static void refused(const char *doc, size_t len, const char *name)
{
	int rc = rc_of(doc, len);

	ok(rc == GOTRUE_LISTING_NOT_JSON, "%s: refused (rc %d)", name, rc);
}

static void test_real_page(void)
{
	struct seen s = {.stop_at = -1};
	struct gotrue_user u;
	json_object *v, *unix_;
	char why[160] = "";
	size_t n = 99;
	int rc;
	static const char *const skip_sync[] = {"aud", "role", "updated_at", "last_sign_in_at",
						NULL};

	is_int(scan(PAGE, &s, &n), GOTRUE_LISTING_OK, "step 112 page scans");
	is_int((int)n, 2, "two users");
	is_int((int)s.n, 2, "each called twice");
	ok(s.n == 2 && json_object_object_length(s.v[0]) == 3,
	   "user 0 holds exactly the 3 not skipped");
	ok(s.n == 2 && !json_object_object_get_ex(s.v[0], "identities", NULL) &&
		   !json_object_object_get_ex(s.v[0], "user_metadata", NULL) &&
		   !json_object_object_get_ex(s.v[0], "aud", NULL),
	   "identities, user_metadata, aud are not built");
	ok(s.n == 2 && json_object_object_get_ex(s.v[1], "app_metadata", &v) &&
		   json_object_object_get_ex(v, "unix", &unix_) &&
		   json_object_get_int(json_object_object_get(unix_, "uid")) == 5001,
	   "app_metadata.unix.uid of user 1 is 5001");
	is_str(s.n == 2 ? json_object_get_string(json_object_object_get(s.v[1], "email")) : "",
	       "dave@example.com", "email of user 1");
	seen_clear(&s);

	rc = gotrue_listing_each(PAGE, strlen(PAGE), skip_sync, collect, &s, &n, why, sizeof(why));
	is_int(rc, GOTRUE_LISTING_OK, "sync skip list: OK");
	ok(s.n == 2 && gotrue_user_from_json(s.v[1], &u, why, sizeof(why)) == 0,
	   "a kept user is a gotrue_user (%s)", why);
	ok(u.n_factors == 1 && u.app_metadata && u.user_metadata &&
		   json_object_object_length(u.user_metadata) == 0 && u.created_at > 0 &&
		   u.banned_until == 0 && u.aud == NULL,
	   "factors, app_metadata, times kept; user_metadata empty; aud skipped");
	gotrue_user_clear(&u);
	seen_clear(&s);

	/* The callback stops the walk. */
	s.stop_at = 1;
	rc = gotrue_listing_each(PAGE, strlen(PAGE), SKIP, collect, &s, &n, why, sizeof(why));
	ok(rc == GOTRUE_LISTING_STOPPED && s.n == 1, "each returning -1 stops after user 0");
	seen_clear(&s);
}

static void test_shapes(void)
{
	same("{\"users\":[]}", GOTRUE_LISTING_OK, "empty users");
	same(" \t\r\n{ \"users\" : [ ] , \"aud\" : \"x\" } \n", GOTRUE_LISTING_OK, "whitespace");
	same("{\"aud\":\"a\",\"users\":[{}]}", GOTRUE_LISTING_OK, "users after another member");
	same("{\"users\":[{},{\"id\":1}]}", GOTRUE_LISTING_OK, "empty user object");
	same("{}", GOTRUE_LISTING_NO_USERS, "no users member");
	same("{\"user\":[]}", GOTRUE_LISTING_NO_USERS, "other key");
	same("{\"users\":{}}", GOTRUE_LISTING_NO_USERS, "users is an object");
	same("{\"users\":null}", GOTRUE_LISTING_NO_USERS, "users is null");
	same("{\"users\":\"[]\"}", GOTRUE_LISTING_NO_USERS, "users is a string");
	same("[{\"users\":[]}]", GOTRUE_LISTING_NO_USERS, "top level array");
	same("\"users\"", GOTRUE_LISTING_NO_USERS, "top level string");
	same("{\"users\":[{},1]}", GOTRUE_LISTING_BAD_USER, "entry 1 is a number");
	same("{\"users\":[[]]}", GOTRUE_LISTING_BAD_USER, "entry 0 is an array");
	same("{\"users\":[null]}", GOTRUE_LISTING_BAD_USER, "entry 0 is null");
	/* A grammar error after a bad entry still makes it "not JSON", as the DOM parse did. */
	refused("{\"users\":[1,{]}", sizeof("{\"users\":[1,{]}") - 1, "bad entry then bad grammar");
}

static void test_escapes_and_duplicates(void)
{
	struct seen s = {.stop_at = -1};
	size_t n;

	same("{\"users\":[{\"\\u0069d\":\"x\",\"em\\u0061il\":\"a\\u00e9\\n\\\"\\\\\\/"
	     "\\b\\f\\r\\t\"}]}",
	     GOTRUE_LISTING_OK, "escaped keys and values");
	is_int(scan("{\"users\":[{\"\\u0069d\":\"x\"}]}", &s, &n), GOTRUE_LISTING_OK,
	       "escaped key scans");
	is_str(s.n ? json_object_get_string(json_object_object_get(s.v[0], "id")) : "", "x",
	       "\\u0069d is the key id");
	same("{\"\\u0075sers\":[{\"id\":\"y\"}]}", GOTRUE_LISTING_OK, "escaped users key");
	same("{\"users\":[{\"id\":\"\\uD83D\\uDE00\\ud800\\udc00\\uDFFF\"}]}", GOTRUE_LISTING_OK,
	     "surrogates, paired and lone");
	same("{\"users\":[{\"id\":\"\\ud800\\n\\ud800\\\\\"}]}", GOTRUE_LISTING_OK,
	     "high surrogate then another escape");
	same("{\"users\":[{\"id\":\"\xc3\xa9\xff\x7f\"}]}", GOTRUE_LISTING_OK,
	     "raw bytes >= 0x7f, not UTF-8 checked (as json-c)");
	same("{\"users\":[{\"id\":\"a\",\"id\":\"b\",\"id\":\"c\"}]}", GOTRUE_LISTING_OK,
	     "repeated kept key: later wins");
	is_int(scan("{\"users\":[{\"id\":\"a\",\"email\":1,\"id\":\"b\"}]}", &s, &n),
	       GOTRUE_LISTING_OK, "repeated id scans");
	is_str(s.n ? json_object_get_string(json_object_object_get(s.v[0], "id")) : "", "b",
	       "the later id wins");
	same("{\"users\":[{\"id\":\"a\",\"\\u0069d\":\"b\"}]}", GOTRUE_LISTING_OK,
	     "repeated key, once escaped");
	same("{\"users\":[{\"idx\":1,\"i\":2,\"\":3,\"ID\":4}]}", GOTRUE_LISTING_OK,
	     "near-miss keys are skipped");
	same("{\"users\":[{\"identities\":{\"id\":\"nested\"}}]}", GOTRUE_LISTING_OK,
	     "kept key nested in a skipped value is not kept");
	same("{\"users\":[],\"users\":[1]}", GOTRUE_LISTING_BAD_USER,
	     "second users member: the later one is read, as json-c does");
	same("{\"users\":[{\"x\":\"\\u0000\"}]}", GOTRUE_LISTING_OK, "\\u0000 in a value");
	seen_clear(&s);
}

static void test_values(void)
{
	static const char *const good[] = {"0",
					   "-0",
					   "1",
					   "-1",
					   "10",
					   "0.5",
					   "-0.5",
					   "1e5",
					   "1E+5",
					   "1e-5",
					   "0e0",
					   "1.25E-2",
					   "123456789012345678901234567890",
					   "-9223372036854775809",
					   "18446744073709551616",
					   "1e999",
					   "-1e999",
					   "1e-999",
					   "true",
					   "false",
					   "null",
					   "\"\"",
					   "[]",
					   "{}",
					   "[[],{}]",
					   "{\"a\":{\"b\":[1,{\"c\":null}]}}",
					   "[ 1 , 2 ]",
					   "{ \"a\" : 1 }"};
	char doc[256], name[300];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"users\":[{\"app_metadata\":%s,\"x\":%s}]}", good[i],
			 good[i]);
		snprintf(name, sizeof(name), "value %s kept and skipped", good[i]);
		same(doc, GOTRUE_LISTING_OK, name);
	}
}

static void test_malformed(void)
{
	static const char *const bad[] = {"01",		 "-",
					  "+1",		 ".5",
					  "1e",		 "1e+",
					  "0x1",	 "nan",
					  "tru",	 "True",
					  "nul",	 "fals",
					  "truex",	 "\"\\x\"",
					  "\"\\'\"",	 "\"\\u12\"",
					  "\"\\uzzzz\"", "\"\\U0041\"",
					  "\"abc",	 "[1,]",
					  "[,1]",	 "[1 2]",
					  "{\"a\" 1}",	 "{1:2}",
					  "{\"a\":1,}",	 "{\"a\":1 \"b\":2}",
					  "[",		 "{",
					  "]",		 "}",
					  "'a'",	 "\"\\\"",
					  "-infinity",	 "[01]"};
	char doc[256], name[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"users\":[{\"id\":%s}]}", bad[i]);
		snprintf(name, sizeof(name), "kept value %s", bad[i]);
		refused(doc, strlen(doc), name);
		snprintf(doc, sizeof(doc), "{\"users\":[{\"identities\":[%s]}]}", bad[i]);
		snprintf(name, sizeof(name), "skipped value %s", bad[i]);
		refused(doc, strlen(doc), name);
		snprintf(doc, sizeof(doc), "{\"users\":[],\"aud\":%s}", bad[i]);
		snprintf(name, sizeof(name), "top-level member %s", bad[i]);
		refused(doc, strlen(doc), name);
	}
	refused("{\"users\":[{\"a\\u0000\":1,}]}", sizeof("{\"users\":[{\"a\\u0000\":1,}]}") - 1,
		"refused key, then bad grammar: not JSON");
	refused("{\"users\":[],\"users\":[],}", sizeof("{\"users\":[],\"users\":[],}") - 1,
		"second users, then bad grammar: not JSON");
	refused("3", 1, "top-level number");
	same("3 ", GOTRUE_LISTING_NO_USERS, "top-level number and a blank: JSON, but no page");
	same("true\n", GOTRUE_LISTING_NO_USERS, "top-level true: JSON, but no page");
	refused("null ", 5, "top-level null");
	refused("", sizeof("") - 1, "empty");
	refused("   ", sizeof("   ") - 1, "only whitespace");
	refused("{\"users\":[]}x", sizeof("{\"users\":[]}x") - 1, "trailing garbage");
	refused("{\"users\":[]}{}", sizeof("{\"users\":[]}{}") - 1, "two documents");
	refused("{\"users\":[]}\f", sizeof("{\"users\":[]}\f") - 1, "trailing form feed");
	refused("\f{\"users\":[]}", sizeof("\f{\"users\":[]}") - 1, "leading form feed");
	refused("\xef\xbb\xbf{\"users\":[]}", sizeof("\xef\xbb\xbf{\"users\":[]}") - 1,
		"byte order mark");
	refused("{\"users\":[]}\0", sizeof("{\"users\":[]}\0") - 1, "NUL after the page");
	refused("{\"users\":[{\"id\":\"a\0b\"}]}", sizeof("{\"users\":[{\"id\":\"a\0b\"}]}") - 1,
		"NUL in a string");
	refused("{\"users\":[{\"x\":\"a\0b\"}]}", sizeof("{\"users\":[{\"x\":\"a\0b\"}]}") - 1,
		"NUL in a skipped string");
	refused("{\"users\":[{\"id\":\"\\ud800\\\"}]}",
		sizeof("{\"users\":[{\"id\":\"\\ud800\\\"}]}") - 1, "escaped quote ends nothing");
}

static void test_truncation(void)
{
	size_t len = strlen(PAGE), cut, bad = 0;
	int rc;

	for (cut = 0; cut < len; cut++) {
		rc = rc_of(PAGE, cut);
		if (rc != GOTRUE_LISTING_NOT_JSON) {
			if (bad++ < 5)
				diag("prefix of %zu bytes: rc %d", cut, rc);
		}
	}
	ok(bad == 0, "each of the %zu proper prefixes of the page is refused (%zu not)", len, bad);
}

/* app_metadata nested @n deep inside page, users, user: 3 + @n containers. */
static char *nested(size_t n, bool array, const char *leaf)
{
	size_t cap = 64 + n * 8 + strlen(leaf), i, k = 0;
	char *doc = malloc(cap);

	if (!doc)
		return NULL;
	k += (size_t)sprintf(doc, "{\"users\":[{\"app_metadata\":");
	for (i = 0; i < n; i++)
		k += (size_t)sprintf(doc + k, "%s", array ? "[" : "{\"a\":");
	k += (size_t)sprintf(doc + k, "%s", leaf);
	for (i = 0; i < n; i++)
		doc[k++] = array ? ']' : '}';
	sprintf(doc + k, "}]}");
	return doc;
}

static void test_depth(void)
{
	char *doc;

	/* 31 containers are taken by both (json-c's limit is 32 with a value inside). */
	doc = nested(28, false, "1");
	same(doc, GOTRUE_LISTING_OK, "31 containers, objects, a number inside: taken");
	free(doc);
	doc = nested(29, false, "1");
	refused(doc, strlen(doc), "32 containers with a value: refused");
	free(doc);
	doc = nested(100000, true, "1");
	refused(doc, strlen(doc), "depth bomb of 100000 arrays");
	free(doc);
	doc = nested(100000, true, "");
	refused(doc, strlen(doc) - 100003, "100000 unclosed arrays");
	free(doc);
}

/* The first user of a page cut at max_response (lib/sync/api_admin.c reports such a user by id). */
#define UUID1 "da408f30-44a6-4629-ba65-1e5305356957"

static int first_id(const char *doc, char *id)
{
	return gotrue_listing_first_id(doc, strlen(doc), id);
}

static void test_first_id(void)
{
	static const char cut[] = "{\"users\":[{\"id\":\"" UUID1 "\",\"aud\":\"auth";
	static const char two_users[] = "{\"users\":[{\"id\":\"" UUID1 "\"}],\"users\":[5]}";
	char id[GOTRUE_LISTING_ID_LEN + 1], msg[200];
	size_t idlen = strlen("{\"users\":[{\"id\":\"" UUID1 "\"");

	ok(first_id(cut, id) == 1 && strcmp(id, UUID1) == 0, "first_id: found");
	ok(first_id(" {\n \"users\" : [ { \"id\" : \"" UUID1 "\"", id) == 1 &&
		   strcmp(id, UUID1) == 0,
	   "first_id: found with whitespace");
	is_int(gotrue_listing_first_id(cut, idlen - 1, id), 0,
	       "first_id: a page cut inside the id is a user without one");
	ok(id[0] == '\0', "first_id: and no id is given");
	is_int(gotrue_listing_first_id(cut, idlen, id), 1, "first_id: cut right after the id");
	is_int(first_id("{\"users\":[{\"aud\":\"x\",\"id\":\"" UUID1 "\"", id), 0,
	       "first_id: an id that is not the first member is not taken");
	is_int(first_id("{\"users\":[{\"id\":\"not-a-uuid-but-36-characters-long-xx\"}", id), 0,
	       "first_id: an id that is no UUID is not taken");
	is_int(first_id("{\"users\":[{\"i\\u0064\":\"" UUID1 "\"", id), 0,
	       "first_id: an escaped key is not matched");
	is_int(first_id("\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"", id), -1,
	       "first_id: a JSON string is no page");
	is_int(first_id("{\"aud\":\"x\",\"users\":[{", id), -1,
	       "first_id: a page that does not start with users");
	is_int(first_id("{\"users\":[]}", id), -1, "first_id: a page without a user");
	is_int(first_id("", id), -1, "first_id: nothing");
	ok(listing_first_id_ok(PAGE, strlen(PAGE), msg, sizeof(msg)),
	   "first_id: agrees with json-c on a real page (%s)", msg);
	ok(listing_first_id_ok(two_users, strlen(two_users), msg, sizeof(msg)),
	   "first_id: a second users member is left to json-c (%s)", msg);
}

int main(void)
{
	test_real_page();
	test_shapes();
	test_escapes_and_duplicates();
	test_values();
	test_malformed();
	test_truncation();
	test_depth();
	test_first_id();
	return done_testing();
}
