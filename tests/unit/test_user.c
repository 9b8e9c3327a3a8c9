/* test_user: the GoTrue user and session parsers (lib/client/user.c, lib/client/session.c) on real
 * objects recorded from GoTrue v2.69.3, on every kind of
 * malformed input, and the small pure helpers of the api: timestamps, versions, PKCE, the
 * provider URL. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "gotrue_config.h"
#include "oauth.h"
#include "session.h"
#include "tap.h"
#include "user.h"

/* transcript step 11: alice, the user inside a password-grant answer */
static const char ALICE[] =
	"{\"id\":\"47b1390c-d030-4512-abda-60f9276809fd\",\"aud\":\"authenticated\",\"role\":"
	"\"authe"
	"nticated\",\"email\":\"alice@example.com\",\"email_confirmed_at\":\"2026-11-23T02:30:18."
	"923527Z\",\"phone\":\"\",\"confirmed_at\":\"2026-11-23T02:30:18.923527Z\",\"last_sign_in_a"
	"t\":\"2026-11-23T02:30:19.210389836Z\",\"app_metadata\":{\"provider\":\"email\",\"provider"
	"s\":[\"email\"]},\"user_metadata\":{},\"identities\":[{\"id\":\"47b1390c-d030-4512-abda-60"
	"f9276809fd\",\"user_id\":\"47b1390c-d030-4512-abda-60f9276809fd\",\"identity_data\":{\"e"
	"mail\":\"alice@example.com\",\"sub\":\"47b1390c-d030-4512-abda-60f9276809fd\"},\"provide"
	"r\":\"email\",\"last_sign_in_at\":\"2026-11-23T02:30:18.920218Z\",\"created_at\":\"2026-11"
	"-23T02:30:18.920262Z\",\"updated_at\":\"2026-11-23T02:30:18.920262Z\"}],\"created_at\":"
	"\"2026-11-23T02:30:18.913295Z\",\"updated_at\":\"2026-11-23T02:30:19.212204Z\"}";

/* transcript step 134: bob, banned for 24h */
static const char BOB_BANNED[] =
	"{\"id\":\"4b2a65ee-03c2-4dd2-8fa7-61d27618d004\",\"aud\":\"authenticated\",\"role\":"
	"\"authe"
	"nticated\",\"email\":\"bob@example.com\",\"email_confirmed_at\":\"2026-11-23T02:30:19.02"
	"2615Z\",\"phone\":\"\",\"confirmed_at\":\"2026-11-23T02:30:19.022615Z\",\"recovery_sent_at"
	"\":\"2026-11-23T02:30:21.76103Z\",\"last_sign_in_at\":\"2026-11-23T02:30:24.649155Z\",\""
	"app_metadata\":{\"provider\":\"email\",\"providers\":[\"email\"],\"team\":\"ops\"},\"user_"
	"meta"
	"data\":{\"full_name\":\"Bob "
	"Builder\",\"shell\":\"/bin/zsh\",\"unix_uid_hint\":5002},\"ident"
	"ities\":[{\"id\":\"4b2a65ee-03c2-4dd2-8fa7-61d27618d004\",\"user_id\":\"4b2a65ee-03c2-4d"
	"d2-8fa7-61d27618d004\",\"identity_data\":{\"email\":\"bob@example.com\",\"sub\":\"4b2a65ee"
	"-03c2-4dd2-8fa7-61d27618d004\"},\"provider\":\"email\",\"last_sign_in_at\":\"2026-11-23T"
	"02:30:19.021102Z\",\"created_at\":\"2026-11-23T02:30:19.021123Z\",\"updated_at\":\"2026-"
	"11-23T02:30:19.021123Z\"}],\"created_at\":\"2026-11-23T02:30:19.017755Z\",\"updated_at"
	"\":\"2026-11-23T02:30:24.983515Z\",\"banned_until\":\"2026-11-24T02:30:24.983390265Z\"}";

/* transcript step 166: carol, with a verified TOTP factor */
static const char CAROL_FACTORS[] =
	"{\"id\":\"48845bba-964b-48a3-97ca-e40ba336c9dd\",\"aud\":\"authenticated\",\"role\":"
	"\"authe"
	"nticated\",\"email\":\"carol@example.com\",\"email_confirmed_at\":\"2026-11-23T02:30:24."
	"846806Z\",\"phone\":\"\",\"confirmed_at\":\"2026-11-23T02:30:24.846806Z\",\"last_sign_in_a"
	"t\":\"2026-11-23T02:30:26.372159Z\",\"app_metadata\":{\"provider\":\"email\","
	"\"providers\":"
	"[\"email\"]},\"user_metadata\":{\"full_name\":\"Carol\"},\"factors\":[{\"id\":\"6b308797-"
	"327a"
	"-4e14-8e17-087b33180a0e\",\"created_at\":\"2026-11-23T02:30:26.159288Z\",\"updated_at\""
	":\"2026-11-23T02:30:26.283587Z\",\"status\":\"verified\",\"friendly_name\":\"carol-phone\""
	",\"factor_type\":\"totp\"}],\"identities\":[{\"id\":\"48845bba-964b-48a3-97ca-e40ba336c9d"
	"d\",\"user_id\":\"48845bba-964b-48a3-97ca-e40ba336c9dd\",\"identity_data\":{\"email\":\"ca"
	"rol@example.com\",\"sub\":\"48845bba-964b-48a3-97ca-e40ba336c9dd\"},\"provider\":\"email"
	"\",\"last_sign_in_at\":\"2026-11-23T02:30:19.488946Z\",\"created_at\":\"2026-11-23T02:30"
	":19.488971Z\",\"updated_at\":\"2026-11-23T02:30:19.488971Z\"}],\"created_at\":\"2026-11-"
	"23T02:30:19.487233Z\",\"updated_at\":\"2026-11-23T02:30:26.374541Z\"}";

/* transcript step 11: the whole password-grant answer (access token shortened) */
static const char ALICE_SESSION[] =
	"{\"access_token\":\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJhdXRoZW50aWN\",\""
	"token_type\":\"bearer\",\"expires_in\":3600,\"refresh_token\":\"Inmmg3fmr7g-fEQHo8dreQ\","
	"\"user\":{\"id\":\"47b1390c-d030-4512-abda-60f9276809fd\",\"aud\":\"authenticated\","
	"\"role\""
	":\"authenticated\",\"email\":\"alice@example.com\",\"email_confirmed_at\":\"2026-11-23T02"
	":30:18.923527Z\",\"phone\":\"\",\"confirmed_at\":\"2026-11-23T02:30:18.923527Z\",\"last_si"
	"gn_in_at\":\"2026-11-23T02:30:19.210389836Z\",\"app_metadata\":{\"provider\":\"email\",\"p"
	"roviders\":[\"email\"]},\"user_metadata\":{},\"identities\":[{\"id\":\"47b1390c-d030-4512-"
	"abda-60f9276809fd\",\"user_id\":\"47b1390c-d030-4512-abda-60f9276809fd\",\"identity_da"
	"ta\":{\"email\":\"alice@example.com\",\"sub\":\"47b1390c-d030-4512-abda-60f9276809fd\"},\""
	"provider\":\"email\",\"last_sign_in_at\":\"2026-11-23T02:30:18.920218Z\",\"created_at\":\""
	"2026-11-23T02:30:18.920262Z\",\"updated_at\":\"2026-11-23T02:30:18.920262Z\"}],\"creat"
	"ed_at\":\"2026-11-23T02:30:18.913295Z\",\"updated_at\":\"2026-11-23T02:30:19.212204Z\"}"
	"}";

/* Parse @text with one top-level field replaced by @value_json ("" removes it). */
static int parse_with(const char *text, const char *key, const char *value_json,
		      struct gotrue_user *u)
{
	json_object *obj = json_tokener_parse(text);
	char why[160] = "";
	int rc;

	if (!obj)
		return -2;
	if (*value_json) {
		json_object *v = json_tokener_parse(value_json);

		if (!v && strcmp(value_json, "null") != 0) {
			json_object_put(obj);
			return -2;
		}
		json_object_object_add(obj, key, v);
	} else {
		json_object_object_del(obj, key);
	}
	rc = gotrue_user_from_json(obj, u, why, sizeof(why));
	if (rc != 0 && why[0] == '\0')
		rc = -3; /* a failure must say why */
	json_object_put(obj);
	return rc;
}

static void test_real_users(void)
{
	struct gotrue_user u;
	char why[160] = "";
	json_object *v;

	is_int(gotrue_user_parse(ALICE, strlen(ALICE), &u, why, sizeof(why)), 0, "alice parses");
	is_str(u.id, "47b1390c-d030-4512-abda-60f9276809fd", "alice: id");
	is_str(u.email, "alice@example.com", "alice: email");
	ok(u.phone == NULL, "alice: empty phone is NULL");
	is_str(u.aud, "authenticated", "alice: aud");
	is_str(u.role, "authenticated", "alice: role");
	is_int(u.email_confirmed_at, 1795401018, "alice: email_confirmed_at");
	is_int(u.confirmed_at, 1795401018, "alice: confirmed_at");
	is_int(u.last_sign_in_at, 1795401019, "alice: last_sign_in_at (nanoseconds)");
	is_int(u.created_at, 1795401018, "alice: created_at");
	is_int(u.updated_at, 1795401019, "alice: updated_at");
	is_int(u.banned_until, 0, "alice: absent banned_until is 0");
	is_int(u.phone_confirmed_at, 0, "alice: absent phone_confirmed_at is 0");
	ok(json_object_object_get_ex(u.app_metadata, "provider", &v) &&
		   strcmp(json_object_get_string(v), "email") == 0,
	   "alice: app_metadata.provider");
	ok(json_object_is_type(u.user_metadata, json_type_object) &&
		   json_object_object_length(u.user_metadata) == 0,
	   "alice: user_metadata is an empty object");
	is_int(u.n_factors, 0, "alice: no factors");
	ok(!u.factors_known && !gotrue_user_has_verified_factor(&u),
	   "alice: no factors member, so nothing known of them");
	ok(!gotrue_user_is_banned(&u, 1795401018), "alice: not banned");
	gotrue_user_clear(&u);
	ok(u.id == NULL && u.app_metadata == NULL, "clear empties the struct");
	gotrue_user_clear(&u); /* twice is fine */

	is_int(gotrue_user_parse(BOB_BANNED, strlen(BOB_BANNED), &u, why, sizeof(why)), 0,
	       "banned bob parses");
	is_int(u.banned_until, 1795487424, "bob: banned_until (9 fractional digits)");
	ok(gotrue_user_is_banned(&u, 1795401025), "bob: banned the moment after the ban");
	ok(gotrue_user_is_banned(&u, 1795487423), "bob: banned one second before the end");
	ok(!gotrue_user_is_banned(&u, 1795487424), "bob: not banned at banned_until");
	ok(!gotrue_user_is_banned(NULL, 0), "NULL user is not 'banned' (callers check NULL)");
	ok(json_object_object_get_ex(u.app_metadata, "team", &v) &&
		   strcmp(json_object_get_string(v), "ops") == 0,
	   "bob: app_metadata.team");
	ok(json_object_object_get_ex(u.user_metadata, "unix_uid_hint", &v) &&
		   json_object_get_int(v) == 5002,
	   "bob: user_metadata kept for display");
	gotrue_user_clear(&u);

	is_int(gotrue_user_parse(CAROL_FACTORS, strlen(CAROL_FACTORS), &u, why, sizeof(why)), 0,
	       "carol with a factor parses");
	is_int(u.n_factors, 1, "carol: one factor");
	if (u.n_factors == 1) {
		is_str(u.factors[0].id, "6b308797-327a-4e14-8e17-087b33180a0e", "factor id");
		is_str(u.factors[0].type, "totp", "factor type from factor_type");
		is_str(u.factors[0].status, "verified", "factor status");
		is_str(u.factors[0].friendly_name, "carol-phone", "factor friendly_name");
	}
	ok(u.factors_known && gotrue_user_has_verified_factor(&u),
	   "carol: a verified factor, from a factors member");
	gotrue_user_clear(&u);
}

/* {"k0000":1,"k0001":1,...}: @n members of 10 bytes each (11 with the comma), malloc'd. */
static char *many_members(int n)
{
	char *buf = malloc((size_t)n * 11 + 2);
	size_t at = 0;
	int i;

	if (buf == NULL)
		abort();
	buf[at++] = '{';
	for (i = 0; i < n; i++)
		at += (size_t)sprintf(buf + at, "%s\"k%04x\":1", i ? "," : "", i);
	strcpy(buf + at, "}");
	return buf;
}

static void test_field_types(void)
{
	static const char *const str_fields[] = {"id", "aud", "role", "email", "phone", NULL};
	static const char *const time_fields[] = {
		"email_confirmed_at", "phone_confirmed_at", "confirmed_at",    "banned_until",
		"created_at",	      "updated_at",	    "last_sign_in_at", NULL};
	static const char *const wrong[] = {"5", "true", "[\"x\"]", "{\"a\":1}", "1.5", NULL};
	struct gotrue_user u;
	size_t i, j;
	char big[GOTRUE_USER_META_MAX + 64], *many;

	for (i = 0; str_fields[i]; i++)
		for (j = 0; wrong[j]; j++)
			is_int(parse_with(ALICE, str_fields[i], wrong[j], &u), -1,
			       "%s = %s is refused", str_fields[i], wrong[j]);
	for (i = 0; time_fields[i]; i++) {
		for (j = 0; wrong[j]; j++)
			is_int(parse_with(ALICE, time_fields[i], wrong[j], &u), -1,
			       "%s = %s is refused", time_fields[i], wrong[j]);
		is_int(parse_with(ALICE, time_fields[i], "\"yesterday\"", &u), -1,
		       "%s = \"yesterday\" is refused", time_fields[i]);
		is_int(parse_with(ALICE, time_fields[i], "null", &u), 0, "%s = null is accepted",
		       time_fields[i]);
		gotrue_user_clear(&u);
	}
	is_int(parse_with(ALICE, "banned_until", "null", &u), 0, "banned_until null");
	is_int(u.banned_until, 0, "null timestamp is 0");
	gotrue_user_clear(&u);
	is_int(parse_with(ALICE, "banned_until", "\"0001-01-01T00:00:00Z\"", &u), 0,
	       "Go zero time parses");
	is_int(u.banned_until, 0, "Go zero time is 0 (not set)");
	gotrue_user_clear(&u);

	is_int(parse_with(ALICE, "id", "", &u), -1, "missing id is refused");
	is_int(parse_with(ALICE, "id", "null", &u), -1, "null id is refused");
	is_int(parse_with(ALICE, "id", "\"\"", &u), -1, "empty id is refused");
	is_int(parse_with(ALICE, "id", "\"47b1390c-d030-4512-abda-60f9276809f\"", &u), -1,
	       "35-char id is refused");
	is_int(parse_with(ALICE, "id", "\"47b1390c-d030-4512-abda-60f9276809fdd\"", &u), -1,
	       "37-char id is refused");
	is_int(parse_with(ALICE, "id", "\"47b1390c-d030-4512-abda-60f9276809fg\"", &u), -1,
	       "non-hex id is refused");
	is_int(parse_with(ALICE, "id", "\"47b1390c/d030-4512-abda-60f9276809fd\"", &u), -1,
	       "id with a slash is refused");
	is_int(parse_with(ALICE, "id", "\"../../admin/users/x-abda-60f9276809fd\"", &u), -1,
	       "path-like id is refused");

	is_int(parse_with(ALICE, "email", "\"\"", &u), 0, "empty email accepted");
	ok(u.email == NULL, "empty email is NULL");
	gotrue_user_clear(&u);
	is_int(parse_with(ALICE, "email", "", &u), 0, "absent email accepted");
	gotrue_user_clear(&u);
	is_int(parse_with(ALICE, "email", "\"a\\u0000b@example.com\"", &u), -1,
	       "email with NUL is refused");

	/* Size limits, at and just over. */
	memset(big, 'a', sizeof(big));
	big[0] = '"';
	strcpy(big + 1 + GOTRUE_USER_EMAIL_MAX, "\"");
	is_int(parse_with(ALICE, "email", big, &u), 0, "email of %d bytes accepted",
	       GOTRUE_USER_EMAIL_MAX);
	gotrue_user_clear(&u);
	big[1 + GOTRUE_USER_EMAIL_MAX] = 'a';
	strcpy(big + 2 + GOTRUE_USER_EMAIL_MAX, "\"");
	is_int(parse_with(ALICE, "email", big, &u), -1, "email over %d bytes refused",
	       GOTRUE_USER_EMAIL_MAX);
	memset(big, '1', sizeof(big));
	big[0] = '"';
	strcpy(big + 2 + GOTRUE_USER_PHONE_MAX, "\"");
	is_int(parse_with(ALICE, "phone", big, &u), -1, "phone over %d bytes refused",
	       GOTRUE_USER_PHONE_MAX);
	memset(big, 'r', sizeof(big));
	big[0] = '"';
	strcpy(big + 2 + GOTRUE_USER_STR_MAX, "\"");
	is_int(parse_with(ALICE, "role", big, &u), -1, "role over %d bytes refused",
	       GOTRUE_USER_STR_MAX);

	/* Metadata. */
	for (i = 0; i < 2; i++) {
		const char *key = i == 0 ? "app_metadata" : "user_metadata";

		is_int(parse_with(ALICE, key, "\"x\"", &u), -1, "%s string refused", key);
		is_int(parse_with(ALICE, key, "[1,2]", &u), -1, "%s array refused", key);
		is_int(parse_with(ALICE, key, "7", &u), -1, "%s number refused", key);
		is_int(parse_with(ALICE, key, "null", &u), 0, "%s null accepted", key);
		ok(json_object_is_type(i == 0 ? u.app_metadata : u.user_metadata, json_type_object),
		   "%s null becomes an empty object", key);
		gotrue_user_clear(&u);
		is_int(parse_with(ALICE, key, "", &u), 0, "%s absent accepted", key);
		ok(json_object_is_type(i == 0 ? u.app_metadata : u.user_metadata, json_type_object),
		   "%s absent becomes an empty object", key);
		gotrue_user_clear(&u);
		/* {"k":"aaaa..."} of just over the limit */
		memset(big, 'a', sizeof(big));
		memcpy(big, "{\"k\":\"", 6);
		strcpy(big + GOTRUE_USER_META_MAX, "\"}");
		is_int(parse_with(ALICE, key, big, &u), -1, "%s over %d bytes refused", key,
		       GOTRUE_USER_META_MAX);
		strcpy(big + GOTRUE_USER_META_MAX - 16, "\"}");
		is_int(parse_with(ALICE, key, big, &u), 0, "%s just under the limit accepted", key);
		gotrue_user_clear(&u);
		/* Over the limit in many small members rather than one long string. */
		many = many_members(GOTRUE_USER_META_MAX / 8);
		is_int(parse_with(ALICE, key, many, &u), -1, "%s of %d members refused", key,
		       GOTRUE_USER_META_MAX / 8);
		free(many);
		many = many_members(GOTRUE_USER_META_MAX / 16);
		is_int(parse_with(ALICE, key, many, &u), 0, "%s of %d members accepted", key,
		       GOTRUE_USER_META_MAX / 16);
		free(many);
		gotrue_user_clear(&u);
	}

	/* Factors. */
	is_int(parse_with(CAROL_FACTORS, "factors", "{}", &u), -1, "factors object refused");
	is_int(parse_with(CAROL_FACTORS, "factors", "[5]", &u), -1, "factor number refused");
	is_int(parse_with(CAROL_FACTORS, "factors", "[{\"status\":\"verified\"}]", &u), -1,
	       "factor without id refused");
	is_int(parse_with(
		       CAROL_FACTORS, "factors",
		       "[{\"id\":\"6b308797-327a-4e14-8e17-087b33180a0e\",\"status\":\"verified\","
		       "\"factor_type\":\"totp\"},{\"id\":7}]",
		       &u),
	       -1, "second factor with numeric id refused (first freed)");
	is_int(parse_with(CAROL_FACTORS, "factors", "[]", &u), 0, "empty factors accepted");
	ok(u.factors_known && !gotrue_user_has_verified_factor(&u),
	   "empty factors: known, none verified");
	gotrue_user_clear(&u);
	is_int(parse_with(CAROL_FACTORS, "factors",
			  "[{\"id\":\"6b308797-327a-4e14-8e17-087b33180a0e\",\"status\":"
			  "\"unverified\",\"factor_type\":\"totp\"}]",
			  &u),
	       0, "an unverified factor parses");
	ok(!gotrue_user_has_verified_factor(&u), "an unverified factor is not a verified one");
	gotrue_user_clear(&u);
	is_int(parse_with(CAROL_FACTORS, "factors", "null", &u), 0, "null factors accepted");
	gotrue_user_clear(&u);
	{
		char arr[128 * (GOTRUE_USER_FACTORS_MAX + 2)];
		size_t off = 0;
		int k;

		arr[off++] = '[';
		for (k = 0; k < GOTRUE_USER_FACTORS_MAX + 1; k++)
			off += (size_t)snprintf(
				arr + off, sizeof(arr) - off,
				"%s{\"id\":\"6b308797-327a-4e14-8e17-087b33180a%02d\","
				"\"status\":\"v\",\"type\":\"totp\"}",
				k ? "," : "", k);
		snprintf(arr + off, sizeof(arr) - off, "]");
		is_int(parse_with(CAROL_FACTORS, "factors", arr, &u), -1, "%d factors refused",
		       GOTRUE_USER_FACTORS_MAX + 1);
	}
}

/* Cheap deterministic generator: the garbage is the same on every run. */
static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void test_garbage(void)
{
	struct gotrue_user u;
	char why[160];
	char buf[512];
	size_t len, i, n, fails = 0, accepted = 0;

	/* Every proper prefix of a valid body is truncated JSON: -1, never a crash. */
	len = strlen(ALICE);
	for (n = 0; n < len; n++) {
		why[0] = '\0';
		if (gotrue_user_parse(ALICE, n, &u, why, sizeof(why)) != -1 || why[0] == '\0')
			fails++;
		if (u.id != NULL)
			fails++;
	}
	is_int(fails, 0, "all %zu truncations of alice refused with a reason", len);
	is_int(gotrue_user_parse(ALICE, len, &u, why, sizeof(why)), 0, "the full body parses");
	gotrue_user_clear(&u);

	fails = 0;
	for (i = 0; i < 2000; i++) {
		n = rnd() % sizeof(buf);
		for (len = 0; len < n; len++)
			buf[len] = (char)rnd();
		if (gotrue_user_parse(buf, n, &u, why, sizeof(why)) != -1)
			fails++;
	}
	is_int(fails, 0, "2000 random byte strings refused");

	/* Mutations of a valid body: flip one byte; must not crash, and either parse fully or
	 * fail cleanly. */
	fails = 0;
	len = strlen(ALICE);
	for (i = 0; i < 2000; i++) {
		char *copy = strdup(ALICE);

		copy[rnd() % len] = (char)rnd();
		n = gotrue_user_parse(copy, len, &u, why, sizeof(why)) == 0;
		if (n) {
			accepted++;
			if (!u.id || !u.app_metadata || !u.user_metadata)
				fails++;
		} else if (u.id || u.app_metadata) {
			fails++;
		}
		gotrue_user_clear(&u);
		free(copy);
	}
	is_int(fails, 0, "2000 one-byte mutations: all-or-nothing (%zu accepted)", accepted);

	is_int(gotrue_user_parse(NULL, 0, &u, why, sizeof(why)), -1, "NULL buffer refused");
	is_int(gotrue_user_parse("", 0, &u, why, sizeof(why)), -1, "empty buffer refused");
	is_int(gotrue_user_parse("[]", 2, &u, why, sizeof(why)), -1, "array refused");
	is_int(gotrue_user_parse("null", 4, &u, why, sizeof(why)), -1, "null refused");
	is_int(gotrue_user_parse("\"x\"", 3, &u, NULL, 0), -1, "string refused (no why buffer)");
	{
		char two[sizeof(ALICE) * 2];

		snprintf(two, sizeof(two), "%s%s", ALICE, ALICE);
		is_int(gotrue_user_parse(two, strlen(two), &u, why, sizeof(why)), -1,
		       "two objects back to back refused");
		snprintf(two, sizeof(two), "%s \n", ALICE);
		is_int(gotrue_user_parse(two, strlen(two), &u, why, sizeof(why)), 0,
		       "trailing whitespace accepted");
		gotrue_user_clear(&u);
	}
	{
		/* Nesting deeper than json-c's limit in metadata. */
		char deep[2048];
		size_t k, off;

		off = (size_t)snprintf(deep, sizeof(deep),
				       "{\"id\":\"47b1390c-d030-4512-abda-60f9276809fd\","
				       "\"user_metadata\":");
		for (k = 0; k < 200; k++)
			deep[off++] = '[';
		for (k = 0; k < 200; k++)
			deep[off++] = ']';
		deep[off++] = '}';
		deep[off] = '\0';
		is_int(gotrue_user_parse(deep, off, &u, why, sizeof(why)), -1,
		       "200-deep nesting refused");
	}
}

static void test_parse_time(void)
{
	static const struct {
		const char *s;
		long long want;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2026-11-23T02:30:18.923527Z", 1795401018},
		{"2026-11-23T02:30:18Z", 1795401018},
		{"2026-11-24T02:30:24.983390265Z", 1795487424},
		{"2026-11-23T04:30:18+02:00", 1795401018},
		{"2026-11-22T21:00:18.5-05:30", 1795401018},
		{"2026-11-23t02:30:18z", 1795401018},
		{"2026-11-23T02:30:18.1+00:00", 1795401018},
		{"2024-02-29T00:00:00Z", 1709164800},
		{"2026-11-23T02:30:18-00:00", 1795401018},
	};
	static const char *const bad[] = {
		"",
		"2026-11-23",
		"2026-11-23T02:30:18",
		"2026-11-23 02:30:18Z",
		"2026-11-23T02:30Z",
		"2026-1-23T02:30:18Z",
		" 2026-11-23T02:30:18Z",
		"2026-11-23T02:30:18Z ",
		"2026-11-23T02:30:18ZZ",
		"2026-11-23T02:30:18.Z",
		"2026-11-23T02:30:18.1234567890123Z",
		"2026-11-23T02:30:18+0200",
		"2026-11-23T02:30:18+02",
		"2026-11-23T02:30:18+24:00",
		"2026-11-23T02:30:18+02:60",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-31T00:00:00Z",
		"2023-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-11-23T24:00:00Z",
		"2026-11-23T23:60:00Z",
		"2026-11-23T23:59:61Z",
		"yesterday",
		"20261123T023018Z",
		"2026-11-23T02:30:18\xff",
		"+2026-11-23T02:30:18Z",
	};
	size_t i;
	time_t t;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = -1;
		is_int(gotrue_parse_time(good[i].s, &t), 0, "parse_time accepts %s", good[i].s);
		is_int(t, good[i].want, "parse_time value of %s", good[i].s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(gotrue_parse_time(bad[i], &t), -1, "parse_time refuses '%s'", bad[i]);
	is_int(gotrue_parse_time(NULL, &t), -1, "parse_time refuses NULL");
	is_int(gotrue_parse_time("2000-02-29T00:00:00Z", &t), 0, "2000 is a leap year");
	is_int(gotrue_parse_time("2026-12-31T23:59:60Z", &t), 0, "leap second accepted");
}

/* The calendar arithmetic against timegm(3), which it replaced: every day of four centuries (one
 * whole 400-year cycle, both sides of the epoch), a leap second at each year's end, and Go's zero
 * time. */
static void test_parse_time_vs_timegm(void)
{
	char s[40];
	struct tm tm;
	time_t t, got, want;
	long day, bad = 0;

	for (day = -146097 / 2; day < 146097 / 2; day++) {
		t = (time_t)day * 86400 + (day % 86400 + 86400) % 86400;
		gmtime_r(&t, &tm);
		strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (gotrue_parse_time(s, &got) != 0 || got != t)
			bad++;
		if (tm.tm_mon == 11 && tm.tm_mday == 31) {
			tm.tm_hour = 23, tm.tm_min = 59, tm.tm_sec = 60;
			strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
			want = timegm(&tm);
			if (gotrue_parse_time(s, &got) != 0 || got != want)
				bad++;
		}
	}
	is_int(bad, 0, "parse_time equals timegm on 146097 days and their leap seconds");
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 1 - 1900, tm.tm_mday = 1;
	want = timegm(&tm);
	got = 0;
	is_int(gotrue_parse_time("0001-01-01T00:00:00Z", &got), 0, "Go's zero time parses");
	is_int(got, want, "Go's zero time as timegm has it");
}

static void test_session(void)
{
	struct gotrue_session s;
	json_object *obj;
	char why[160] = "";
	time_t before = time(NULL);

	obj = json_tokener_parse(ALICE_SESSION);
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), 0, "step 11 session parses");
	ok(s.access_token && strncmp(s.access_token, "eyJhbGciOiJIUzI1NiIs", 20) == 0,
	   "access token");
	is_str(s.refresh_token, "Inmmg3fmr7g-fEQHo8dreQ", "refresh token");
	is_str(s.token_type, "bearer", "token type");
	is_int(s.expires_in, 3600, "expires_in");
	ok(s.expires_at >= before + 3600 && s.expires_at <= time(NULL) + 3600,
	   "no expires_at: now + expires_in");
	ok(s.has_user, "has the user");
	is_str(s.user.id, "47b1390c-d030-4512-abda-60f9276809fd", "user id");
	gotrue_session_clear(&s);
	ok(s.access_token == NULL && s.refresh_token == NULL && !s.has_user, "clear");

	json_object_object_add(obj, "expires_at", json_object_new_int64(1795404619));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), 0, "with expires_at");
	is_int(s.expires_at, 1795404619, "expires_at from the body wins");
	gotrue_session_clear(&s);

	json_object_object_add(obj, "expires_at", json_object_new_string("soon"));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "string expires_at");
	json_object_object_add(obj, "expires_at", json_object_new_int64(-5));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "negative expires_at");
	json_object_object_del(obj, "expires_at");
	json_object_object_add(obj, "expires_in", json_object_new_string("3600"));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "string expires_in");
	json_object_object_add(obj, "expires_in", json_object_new_int(-1));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "negative expires_in");
	json_object_object_add(obj, "expires_in", json_object_new_int(3600));

	json_object_object_add(obj, "refresh_token", json_object_new_int(5));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "numeric refresh_token");
	json_object_object_del(obj, "refresh_token");
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1,
	       "access token without refresh token refused");
	ok(s.access_token == NULL, "nothing left behind on failure");
	json_object_object_add(obj, "refresh_token", json_object_new_string(""));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "empty refresh token");
	json_object_object_add(obj, "refresh_token", json_object_new_string("rt"));
	{
		char *huge = malloc(GOTRUE_TOKEN_MAX + 2);

		memset(huge, 'x', GOTRUE_TOKEN_MAX + 1);
		huge[GOTRUE_TOKEN_MAX + 1] = '\0';
		json_object_object_add(obj, "access_token", json_object_new_string(huge));
		is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1,
		       "access token over GOTRUE_TOKEN_MAX refused");
		huge[GOTRUE_TOKEN_MAX] = '\0';
		json_object_object_add(obj, "access_token", json_object_new_string(huge));
		is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), 0,
		       "access token of GOTRUE_TOKEN_MAX accepted");
		gotrue_session_clear(&s);
		free(huge);
	}
	json_object_object_add(obj, "user", json_object_new_string("alice"));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "user as a string");
	json_object_object_del(obj, "user");
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), 0, "tokens without user");
	ok(!s.has_user, "has_user false");
	gotrue_session_clear(&s);
	json_object_put(obj);

	/* /signup without autoconfirm answers the bare user. */
	obj = json_tokener_parse(ALICE);
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), 0, "bare user accepted");
	ok(s.access_token == NULL && s.refresh_token == NULL, "no tokens");
	ok(s.has_user && s.user.id && strcmp(s.user.email, "alice@example.com") == 0,
	   "the user is filled");
	gotrue_session_clear(&s);
	json_object_object_add(obj, "refresh_token", json_object_new_string("rt"));
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1,
	       "refresh token without access token refused");
	json_object_put(obj);

	obj = json_tokener_parse("{\"msg\":\"ok\"}");
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1,
	       "neither a session nor a user");
	json_object_put(obj);
	is_int(gotrue_session_from_json(NULL, &s, why, sizeof(why)), -1, "NULL refused");
	obj = json_object_new_array();
	is_int(gotrue_session_from_json(obj, &s, why, sizeof(why)), -1, "array refused");
	json_object_put(obj);
	gotrue_session_clear(NULL);
}

static void test_version(void)
{
	int ma = -1, mi = -1, pa = -1;
	static const char *const bad[] = {
		"",  "unknown",	 "2.69",    "v2.69.x", "2.69.3 ",	"2..3",
		"v", "vv2.69.3", "2.69.3a", "-2.69.3", "1234567890.1.1"};
	size_t i;

	is_int(gotrue_version_parse("v2.69.3-2-g26f19659", &ma, &mi, &pa), 0, "git describe");
	ok(ma == 2 && mi == 69 && pa == 3, "-> 2.69.3");
	is_int(gotrue_version_parse("2.190.0", &ma, &mi, &pa), 0, "plain");
	ok(ma == 2 && mi == 190 && pa == 0, "-> 2.190.0");
	is_int(gotrue_version_parse("v2.69.3", &ma, &mi, &pa), 0, "v-prefixed");
	ok(ma == 2 && mi == 69 && pa == 3, "-> 2.69.3");
	is_int(gotrue_version_parse("2.139.2-rc.13", NULL, NULL, NULL), 0, "rc, NULL outputs");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(gotrue_version_parse(bad[i], &ma, &mi, &pa), -1, "version '%s' refused",
		       bad[i]);
	is_int(gotrue_version_parse(NULL, &ma, &mi, &pa), -1, "NULL version refused");

	ok(!gotrue_version_honours_logout_scope("v2.69.3-2-g26f19659"), "2.69.3: no scope");
	ok(!gotrue_version_honours_logout_scope("v2.77.1"), "2.77.1: no scope");
	ok(gotrue_version_honours_logout_scope("v2.78.0"), "2.78.0: scope (PR #1112)");
	ok(gotrue_version_honours_logout_scope("2.190.0"), "2.190.0: scope");
	ok(gotrue_version_honours_logout_scope("3.0.0"), "3.0.0: scope");
	ok(!gotrue_version_honours_logout_scope("1.99.0"), "1.99.0: no scope");
	ok(!gotrue_version_honours_logout_scope("unknown"), "unparsable: treated as old");
	ok(!gotrue_version_honours_logout_scope(NULL), "NULL: treated as old");
}

static void test_uuid(void)
{
	ok(gotrue_uuid_valid("47b1390c-d030-4512-abda-60f9276809fd"), "uuid lower");
	ok(gotrue_uuid_valid("47B1390C-D030-4512-ABDA-60F9276809FD"), "uuid upper");
	ok(!gotrue_uuid_valid("47b1390c-d030-4512-abda-60f9276809f"), "short");
	ok(!gotrue_uuid_valid("47b1390c-d030-4512-abda-60f9276809fd0"), "long");
	ok(!gotrue_uuid_valid("47b1390cd030-4512-abda-60f9276809fd0"), "dash missing");
	ok(!gotrue_uuid_valid("47b1390c-d030-4512-abda-60f9276809f?"), "query char");
	ok(!gotrue_uuid_valid(""), "empty");
	ok(!gotrue_uuid_valid(NULL), "NULL");
}

static void test_pkce(void)
{
	char v1[129], c1[44], v2[129], c2[44], c[44];
	size_t i;
	int alphabet_ok = 1;

	/* RFC 7636 Appendix B. */
	is_int(gotrue_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c, sizeof(c)),
	       0, "RFC 7636 B: challenge computed");
	is_str(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "RFC 7636 B: known answer");
	is_int(gotrue_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c, 43), -1,
	       "challenge buffer of 43 is too small");
	is_int(gotrue_pkce_challenge("tooshort", c, sizeof(c)), -1, "42-char verifier refused");
	is_int(gotrue_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", c, sizeof(c)),
	       -1, "'+' in verifier refused");
	{
		char longv[130];

		memset(longv, 'a', 129);
		longv[129] = '\0';
		is_int(gotrue_pkce_challenge(longv, c, sizeof(c)), -1, "129-char verifier refused");
		longv[128] = '\0';
		is_int(gotrue_pkce_challenge(longv, c, sizeof(c)), 0, "128-char verifier accepted");
	}

	is_int(gotrue_pkce_pair(v1, sizeof(v1), c1, sizeof(c1)), 0, "pair 1");
	is_int(gotrue_pkce_pair(v2, sizeof(v2), c2, sizeof(c2)), 0, "pair 2");
	ok(strlen(v1) >= 43 && strlen(v1) <= 128, "verifier length %zu", strlen(v1));
	is_int(strlen(c1), 43, "challenge is 43 chars, no padding");
	for (i = 0; v1[i]; i++)
		if (!(v1[i] == '-' || v1[i] == '_' || (v1[i] >= '0' && v1[i] <= '9') ||
		      (v1[i] >= 'a' && v1[i] <= 'z') || (v1[i] >= 'A' && v1[i] <= 'Z')))
			alphabet_ok = 0;
	ok(alphabet_ok, "verifier uses the base64url alphabet");
	ok(strcmp(v1, v2) != 0, "two verifiers differ");
	gotrue_pkce_challenge(v1, c, sizeof(c));
	is_str(c1, c, "pair's challenge is S256 of its verifier");
}

static void test_provider_url(void)
{
	struct gotrue_config *cfg = gotrue_config_new();
	char *url;

	if (!ok(cfg != NULL, "config"))
		return;
	free(cfg->url);
	cfg->url = strdup("https://auth.example.com");
	url = gotrue_provider_url(cfg, "github", "https://host.example/cb?a=1&b=2",
				  "read:user user:email",
				  "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	is_str(url,
	       "https://auth.example.com/authorize?provider=github"
	       "&redirect_to=https%3A%2F%2Fhost.example%2Fcb%3Fa%3D1%26b%3D2"
	       "&scopes=read%3Auser%20user%3Aemail"
	       "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	       "&code_challenge_method=s256",
	       "provider URL with every value escaped");
	free(url);
	url = gotrue_provider_url(cfg, "git&hub=x", "http://localhost:3000", NULL, NULL);
	is_str(url,
	       "https://auth.example.com/authorize?provider=git%26hub%3Dx"
	       "&redirect_to=http%3A%2F%2Flocalhost%3A3000",
	       "provider escaped; no scopes, no PKCE");
	free(url);
	ok(gotrue_provider_url(cfg, NULL, "x", NULL, NULL) == NULL, "no provider: NULL");
	ok(gotrue_provider_url(cfg, "", "x", NULL, NULL) == NULL, "empty provider: NULL");
	gotrue_config_free(cfg);
}

/* transcript step 11: the claims of the access token in the same answer as ALICE */
static const char ALICE_CLAIMS[] =
	"{\"aud\":\"authenticated\",\"exp\":1795404619,\"sub\":\"47b1390c-d030-4512-abda-"
	"60f9276809fd\",\"email\":\"alice@example.com\",\"phone\":\"\",\"app_metadata\":{"
	"\"provider\":\"email\",\"providers\":[\"email\"]},\"user_metadata\":{},\"role\":"
	"\"authenticated\",\"aal\":\"aal1\",\"amr\":[{\"method\":\"password\",\"timestam"
	"p\":1795401019}],\"session_id\":\"e2bfe511-330d-496a-a7db-a099f4b06490\"}";

/* ALICE's answer with @key replaced by the JSON value @val (NULL: removed). */
static int body_with(const char *key, const char *val, struct gotrue_user *u)
{
	json_object *o = json_tokener_parse(ALICE);
	char why[128];
	int rc;

	if (val != NULL)
		json_object_object_add(o, key, json_tokener_parse(val));
	else
		json_object_object_del(o, key);
	rc = gotrue_user_from_json(o, u, why, sizeof(why));
	json_object_put(o);
	return rc;
}

/* Claims decide the signed fields; the body only what the token lacks, and a body that says
 * otherwise than the token on a signed field is refused, naming the field. */
static void test_from_claims(void)
{
	static const struct {
		const char *key, *val, *field;
	} altered[] = {
		{"id", "\"4b2a65ee-03c2-4dd2-8fa7-61d27618d004\"", "user id"},
		{"email", "\"mallory@example.com\"", "email"},
		{"email", NULL, "email"},
		{"phone", "\"+15550100\"", "phone"},
		{"app_metadata",
		 "{\"provider\":\"email\",\"providers\":[\"email\"],\"groups\":[\"admins\"]}",
		 "app_metadata"},
		{"app_metadata", "{\"provider\":\"email\",\"providers\":[\"email\"],\"uid\":0}",
		 "app_metadata"},
		{"app_metadata", "{}", "app_metadata"},
	};
	json_object *claims = json_tokener_parse(ALICE_CLAIMS), *c2;
	struct gotrue_user body = {0}, u = {0};
	char why[128] = "";
	size_t i;

	ok(gotrue_user_parse(ALICE, sizeof(ALICE) - 1, &body, why, sizeof(why)) == 0,
	   "the answer's user");
	ok(gotrue_user_from_claims(claims, &body, &u, why, sizeof(why)) == 0,
	   "a real answer and its token agree (%s)", why);
	ok(u.id && !strcmp(u.id, "47b1390c-d030-4512-abda-60f9276809fd") && u.email &&
		   !strcmp(u.email, "alice@example.com") && u.phone == NULL &&
		   json_object_equal(u.app_metadata, body.app_metadata),
	   "id, email, phone and app_metadata as the claims state them");
	ok(u.created_at == body.created_at && u.email_confirmed_at == body.email_confirmed_at &&
		   u.banned_until == 0 && u.n_factors == 0,
	   "created_at and the confirmation from the body; no factors");
	gotrue_user_clear(&u);
	/* Key order differs between a token and a body; the objects are equal all the same. */
	c2 = json_tokener_parse(ALICE_CLAIMS);
	json_object_object_add(
		c2, "app_metadata",
		json_tokener_parse("{\"providers\":[\"email\"],\"provider\":\"email\"}"));
	ok(gotrue_user_from_claims(c2, &body, &u, why, sizeof(why)) == 0,
	   "app_metadata compared as an object, whatever the key order");
	gotrue_user_clear(&u);
	json_object_put(c2);
	gotrue_user_clear(&body);
	for (i = 0; i < sizeof(altered) / sizeof(altered[0]); i++) {
		why[0] = '\0';
		ok(body_with(altered[i].key, altered[i].val, &body) == 0 &&
			   gotrue_user_from_claims(claims, &body, &u, why, sizeof(why)) != 0 &&
			   strstr(why, altered[i].field) != NULL && u.id == NULL,
		   "a body whose %s is %s: refused (%s)", altered[i].key,
		   altered[i].val ? altered[i].val : "absent", why);
		gotrue_user_clear(&body);
	}
	/* Unsigned fields the body may carry: a ban refuses later, and is kept. */
	ok(body_with("banned_until", "\"2999-01-01T00:00:00Z\"", &body) == 0 &&
		   gotrue_user_from_claims(claims, &body, &u, why, sizeof(why)) == 0 &&
		   gotrue_user_is_banned(&u, 0),
	   "a ban in the body is kept (it can only refuse)");
	gotrue_user_clear(&u);
	gotrue_user_clear(&body);
	/* Claims that are not a user's. */
	c2 = json_tokener_parse("{\"sub\":\"not-a-uuid\",\"email\":\"alice@example.com\"}");
	ok(body_with("id", "\"47b1390c-d030-4512-abda-60f9276809fd\"", &body) == 0 &&
		   gotrue_user_from_claims(c2, &body, &u, why, sizeof(why)) != 0,
	   "a sub that is not a UUID is refused");
	json_object_put(c2);
	c2 = json_tokener_parse("{\"sub\":\"47b1390c-d030-4512-abda-60f9276809fd\","
				"\"email\":\"alice@example.com\",\"app_metadata\":[1]}");
	ok(gotrue_user_from_claims(c2, &body, &u, why, sizeof(why)) != 0,
	   "app_metadata that is not an object is refused");
	json_object_put(c2);
	ok(gotrue_user_from_claims(NULL, &body, &u, why, sizeof(why)) != 0, "no claims: refused");
	gotrue_user_clear(&body);
	json_object_put(claims);
}

int main(void)
{
	test_real_users();
	test_from_claims();
	test_field_types();
	test_garbage();
	test_parse_time();
	test_parse_time_vs_timegm();
	test_session();
	test_version();
	test_uuid();
	test_pkce();
	test_provider_url();
	return done_testing();
}
