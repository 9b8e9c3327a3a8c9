/* test_error: gotrue_error_decode on every body shape both server generations send (bodies as
 * recorded from v2.69.3 and current servers, as sent: one compact line),
 * the x-sb-error-code header, and hostile input: garbage, truncated or deeply nested JSON, wrong
 * types, huge strings, bodies without a NUL terminator. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "tap.h"
#include "gotrue_error.h"
#include "gotrue_json.h"

/* Decode @body (its strlen) and check kind/status/code/message. */
static void check(long status, const char *header, const char *body, const char *want_code,
		  const char *want_msg, const char *what)
{
	struct gotrue_error err = {0};

	gotrue_error_decode(&err, status, header, body, body ? strlen(body) : 0);
	is_int(err.kind, GOTRUE_ERR_HTTP, "%s: kind http", what);
	is_int(err.http_status, status, "%s: status", what);
	is_str(err.code, want_code, "%s: code", what);
	if (want_msg)
		is_str(err.message, want_msg, "%s: message", what);
	gotrue_error_clear(&err);
}

static void test_v269_oauth_shape(void)
{
	/* transcript 12, 16, 30, 33, 136, 34, 26, 89 */
	check(400, NULL,
	      "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid login credentials\"}",
	      "invalid_credentials", "Invalid login credentials", "v2.69 wrong password");
	check(400, NULL,
	      "{\"error\":\"invalid_grant\",\"error_description\":\"Email not confirmed\"}",
	      "email_not_confirmed", "Email not confirmed", "v2.69 unconfirmed");
	check(400, NULL,
	      "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid Refresh Token: Already "
	      "Used\"}",
	      "refresh_token_already_used", "Invalid Refresh Token: Already Used", "v2.69 reuse");
	check(400, NULL,
	      "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid Refresh Token: Refresh "
	      "Token Not Found\"}",
	      "refresh_token_not_found", NULL, "v2.69 refresh not found");
	check(400, NULL,
	      "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid Refresh Token: User "
	      "Banned\"}",
	      "user_banned", NULL, "v2.69 refresh banned");
	check(400, NULL,
	      "{\"error\":\"invalid_request\",\"error_description\":\"refresh_token required\"}",
	      "invalid_request", "refresh_token required", "v2.69 unknown description keeps error");
	check(400, NULL, "{\"error\":\"invalid_grant\",\"error_description\":\"Something new\"}",
	      "invalid_grant", "Something new", "v2.69 unmapped invalid_grant");
	check(400, NULL, "{\"error\":\"unsupported_grant_type\"}", "unsupported_grant_type", "",
	      "v2.69 error alone");
	check(400, NULL, "{\"error\":\"unsupported_otp_type\"}", "unsupported_otp_type", "",
	      "v2.69 otp type");
}

static void test_v269_code_msg_shape(void)
{
	check(401, NULL, "{\"code\":401,\"msg\":\"This endpoint requires a Bearer token\"}",
	      "no_authorization", "This endpoint requires a Bearer token", "no bearer");
	check(401, NULL,
	      "{\"code\":401,\"msg\":\"invalid JWT: unable to parse or verify signature, token is "
	      "expired by 1m0s\"}",
	      "bad_jwt",
	      "invalid JWT: unable to parse or verify signature, token is expired by 1m0s",
	      "expired jwt");
	check(401, NULL, "{\"code\":401,\"msg\":\"invalid claim: missing sub claim\"}", "bad_jwt",
	      NULL, "missing sub");
	check(404, NULL, "{\"code\":404,\"msg\":\"User not found\"}", "user_not_found",
	      "User not found", "user not found");
	check(401, NULL, "{\"code\":401,\"msg\":\"User not allowed\"}", "not_admin", NULL,
	      "not admin");
	check(429, NULL, "{\"code\":429,\"msg\":\"Rate limit exceeded\"}",
	      "over_request_rate_limit", "Rate limit exceeded", "rate limit");
	check(401, NULL, "{\"code\":401,\"msg\":\"Token has expired or is invalid\"}",
	      "otp_expired", NULL, "otp expired");
	check(422, NULL, "{\"code\":422,\"msg\":\"Password should be at least 6 characters\"}",
	      "weak_password", "Password should be at least 6 characters", "short password");
	check(422, NULL,
	      "{\"code\":422,\"msg\":\"A user with this email address has already been "
	      "registered\"}",
	      "email_exists", NULL, "admin duplicate email");
	check(400, NULL, "{\"code\":400,\"msg\":\"User already registered\"}",
	      "user_already_exists", NULL, "signup duplicate");
	check(400, NULL, "{\"code\":400,\"msg\":\"Invalid TOTP code entered\"}",
	      "mfa_verification_failed", NULL, "totp");
	check(422, NULL,
	      "{\"code\":422,\"msg\":\"Unable to validate email address: invalid format\"}", "",
	      "Unable to validate email address: invalid format", "unmapped message: no code");
	check(500, NULL,
	      "{\"code\":500,\"msg\":\"Internal server error\",\"error_id\":\"0f9b9d3c-1111\"}", "",
	      "Internal server error", "v2.69 5xx with error_id");
	/* transcript 78: a 429 whose message we know */
	check(429, NULL,
	      "{\"code\":429,\"msg\":\"For security purposes, you can only request this once every "
	      "60 "
	      "seconds\"}",
	      "over_email_send_rate_limit", NULL, "email frequency limit");
	check(429, NULL, "{\"code\":429,\"msg\":\"slow down\"}", "over_request_rate_limit",
	      "slow down", "any 429 without a code");
	check(429, NULL, "", "over_request_rate_limit", "", "429 empty body");
}

static void test_current_shapes(void)
{
	check(400, NULL,
	      "{\"code\":400,\"error_code\":\"invalid_credentials\",\"msg\":\"Invalid login "
	      "credentials\"}",
	      "invalid_credentials", "Invalid login credentials", "current error_code shape");
	check(500, NULL,
	      "{\"code\":500,\"error_code\":\"unexpected_failure\",\"msg\":\"Unexpected failure, "
	      "please check server logs for more information\",\"error_id\":\"abc-123\"}",
	      "unexpected_failure", NULL, "current 5xx with error_id");
	check(403, NULL,
	      "{\"code\":\"session_not_found\",\"message\":\"Session from session_id claim in JWT "
	      "does not exist\"}",
	      "session_not_found", "Session from session_id claim in JWT does not exist",
	      "2024-01-01 shape");
	/* the body code wins over a message mapping */
	check(400, NULL, "{\"code\":\"user_banned\",\"message\":\"Invalid login credentials\"}",
	      "user_banned", NULL, "2024-01-01 code wins over message");
	check(400, NULL, "{\"code\":\"400\",\"message\":\"User not found\"}", "user_not_found",
	      NULL, "quoted status is not a code");
}

static void test_header(void)
{
	check(400, "user_banned",
	      "{\"code\":400,\"error_code\":\"invalid_credentials\",\"msg\":\"Invalid login "
	      "credentials\"}",
	      "user_banned", "Invalid login credentials", "header wins over body error_code");
	check(400, "email_not_confirmed",
	      "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid login credentials\"}",
	      "email_not_confirmed", NULL, "header wins over old shape");
	check(403, "session_not_found", "", "session_not_found", "", "header with empty body");
	check(403, "session_not_found", "not json at all", "session_not_found", "not json at all",
	      "header with text body");
	check(400, "bad code\r\nInjected: 1",
	      "{\"code\":400,\"error_code\":\"invalid_credentials\",\"msg\":\"x\"}",
	      "invalid_credentials", NULL, "garbage header ignored");
	check(400, "", "{\"code\":400,\"error_code\":\"invalid_credentials\",\"msg\":\"x\"}",
	      "invalid_credentials", NULL, "empty header ignored");
}

static void test_weak_password(void)
{
	struct gotrue_error err = {0};
	char buf[512];
	const char *v1 = "{\"code\":422,\"error_code\":\"weak_password\",\"msg\":\"Password should "
			 "contain at least one character of each: abc\",\"weak_password\":{"
			 "\"reasons\":[\"length\",\"characters\"]}}";
	const char *v2 =
		"{\"code\":\"weak_password\",\"message\":\"Password is known to be weak and "
		"easy to guess, please choose a different one.\",\"weak_password\":{"
		"\"reasons\":[\"pwned\"]}}";
	const char *odd = "{\"code\":422,\"msg\":\"no code here\",\"weak_password\":{\"reasons\":"
			  "[1,null,\"length\",{\"a\":1},\"characters\"]}}";

	gotrue_error_decode(&err, 422, "weak_password", v1, strlen(v1));
	is_str(err.code, "weak_password", "weak: code");
	is_str(err.weak_password_reasons, "length, characters", "weak: reasons joined");
	gotrue_error_str(&err, buf, sizeof(buf));
	ok(strstr(buf, "reasons: length, characters") != NULL, "weak: reasons in the string: %s",
	   buf);
	gotrue_error_decode(&err, 422, NULL, v2, strlen(v2));
	is_str(err.code, "weak_password", "weak v2: code");
	is_str(err.weak_password_reasons, "pwned", "weak v2: reasons (re-decode freed the old)");
	gotrue_error_decode(&err, 422, NULL, odd, strlen(odd));
	is_str(err.weak_password_reasons, "length, characters", "weak: non-strings skipped");
	is_str(err.code, "weak_password", "weak: code implied by the reasons");
	gotrue_error_decode(&err, 422, NULL,
			    "{\"code\":422,\"msg\":\"x\",\"weak_password\":\"no\"}", 44);
	ok(err.weak_password_reasons == NULL, "weak: wrong type gives no reasons");
	gotrue_error_set(&err, GOTRUE_ERR_TIMEOUT, "after %d s", 2);
	ok(err.weak_password_reasons == NULL, "set clears the reasons");
	gotrue_error_clear(&err);
}

static void test_not_json(void)
{
	struct gotrue_error err = {0};
	static const char garbage[] = "\x00\xff\xfe{{{\x01\x02";
	char *nested;
	size_t i, n = 20000;

	/* transcript 3 and 28 */
	check(404, NULL, "404 page not found\n", "", "404 page not found", "text/plain 404");
	check(405, NULL, "", "", "", "empty 405");
	check(405, NULL, NULL, "", "", "NULL body");
	check(502, NULL, "<html><body>Bad Gateway</body></html>", "",
	      "<html><body>Bad Gateway</body></html>", "proxy html page");
	check(400, NULL, "{\"error\":\"invalid_grant\",\"error_desc", "", NULL, "truncated JSON");
	check(400, NULL, "{\"code\":400,\"msg\":\"x\"} trailing", "",
	      "{\"code\":400,\"msg\":\"x\"} trailing", "JSON with trailing garbage is not JSON");
	check(400, NULL, "line1\nline2\ttab\x1b[31m", "", "line1 line2 tab [31m",
	      "control characters removed");

	gotrue_error_decode(&err, 500, NULL, garbage, sizeof(garbage) - 1);
	is_int(err.kind, GOTRUE_ERR_HTTP, "binary garbage: kind");
	is_str(err.code, "", "binary garbage: no code");

	/* 20000 levels of nesting: json-c's depth limit, not the stack */
	nested = malloc(2 * n + 1);
	for (i = 0; i < n; i++) {
		nested[i] = '[';
		nested[2 * n - 1 - i] = ']';
	}
	nested[2 * n] = '\0';
	gotrue_error_decode(&err, 400, NULL, nested, 2 * n);
	is_str(err.code, "", "deep nesting: no code");
	is_int(strlen(err.message), GOTRUE_ERROR_MSG_MAX - 1, "deep nesting: message truncated");
	free(nested);

	/* wrong JSON types everywhere */
	check(400, NULL,
	      "{\"code\":true,\"error_code\":7,\"msg\":123,\"message\":[\"x\"],\"error\":{},"
	      "\"error_description\":null}",
	      "", "", "wrong types");
	check(400, NULL, "[\"Invalid login credentials\"]", "", "", "array body");
	check(400, NULL, "\"Invalid login credentials\"", "", "", "string body");
	check(400, NULL, "null", "", "null", "JSON null is shown as text");
	/* a code that is not a token */
	check(400, NULL, "{\"code\":400,\"error_code\":\"has space\",\"msg\":\"User not found\"}",
	      "user_not_found", NULL, "invalid error_code falls back to the message");
	gotrue_error_clear(&err);
}

static void test_not_terminated(void)
{
	struct gotrue_error err = {0};
	const char *json = "{\"code\":401,\"msg\":\"User not allowed\"}";
	size_t len = strlen(json);
	/* exactly sized heap copy without a NUL: ASan would see any read past it */
	char *exact = malloc(len);
	char longer[128];

	memcpy(exact, json, len);
	gotrue_error_decode(&err, 401, NULL, exact, len);
	is_str(err.code, "not_admin", "unterminated body decoded");
	is_str(err.message, "User not allowed", "unterminated body message");
	free(exact);

	/* only the first @len bytes count */
	snprintf(longer, sizeof(longer), "%sGARBAGE", json);
	gotrue_error_decode(&err, 401, NULL, longer, len);
	is_str(err.code, "not_admin", "bytes after len ignored");

	exact = malloc(11);
	memcpy(exact, "plain error", 11);
	gotrue_error_decode(&err, 500, NULL, exact, 11);
	is_str(err.message, "plain error", "unterminated text body");
	free(exact);
	gotrue_error_clear(&err);
}

static void test_huge(void)
{
	struct gotrue_error err = {0};
	size_t n = 100000, len, i;
	char *body = malloc(n + 100), *p;

	/* huge message */
	p = body + sprintf(body, "{\"code\":400,\"msg\":\"");
	memset(p, 'A', n);
	strcpy(p + n, "\"}");
	gotrue_error_decode(&err, 400, NULL, body, strlen(body));
	is_int(strlen(err.message), GOTRUE_ERROR_MSG_MAX - 1, "huge msg truncated to the buffer");
	ok(err.message[0] == 'A', "huge msg starts right");

	/* huge error_code: not a code, ignored */
	p = body + sprintf(body, "{\"code\":400,\"error_code\":\"");
	memset(p, 'b', 5000);
	strcpy(p + 5000, "\",\"msg\":\"x\"}");
	gotrue_error_decode(&err, 400, NULL, body, strlen(body));
	is_str(err.code, "", "huge error_code ignored");
	gotrue_error_decode(&err, 400, body + 26, NULL, 0);
	is_str(err.code, "", "huge header code ignored");

	/* multi-byte UTF-8 is never cut in the middle */
	p = body + sprintf(body, "{\"code\":400,\"msg\":\"A");
	for (i = 0; i < 200; i++)
		p += sprintf(p, "\xc3\xa9"); /* é */
	strcpy(p, "\"}");
	gotrue_error_decode(&err, 400, NULL, body, strlen(body));
	len = strlen(err.message);
	ok(len < GOTRUE_ERROR_MSG_MAX && len % 2 == 1, "utf-8 cut at a character boundary (%zu)",
	   len);
	ok(((unsigned char)err.message[len - 1] & 0xc0) == 0x80, "last byte ends a character");

	/* huge weak_password reasons list */
	p = body + sprintf(body, "{\"code\":422,\"weak_password\":{\"reasons\":[");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "%s\"reason%zu\"", i ? "," : "", i);
	strcpy(p, "]}}");
	gotrue_error_decode(&err, 422, NULL, body, strlen(body));
	ok(err.weak_password_reasons && strlen(err.weak_password_reasons) < 300,
	   "huge reasons list bounded");
	ok(err.weak_password_reasons &&
		   strncmp(err.weak_password_reasons, "reason0, reason1", 16) == 0,
	   "huge reasons list starts right");
	free(body);
	gotrue_error_clear(&err);
}

static void test_strings(void)
{
	struct gotrue_error err = {0};
	char buf[256], small[8];
	const char *b = "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid login "
			"credentials\"}";

	gotrue_error_decode(&err, 400, NULL, b, strlen(b));
	is_str(gotrue_error_str(&err, buf, sizeof(buf)),
	       "invalid_credentials: Invalid login credentials (HTTP 400)", "error_str http");
	gotrue_error_decode(&err, 405, NULL, "", 0);
	is_str(gotrue_error_str(&err, buf, sizeof(buf)), "(HTTP 405)", "error_str bare status");
	gotrue_error_decode(&err, 404, NULL, "404 page not found", 18);
	is_str(gotrue_error_str(&err, buf, sizeof(buf)), "404 page not found (HTTP 404)",
	       "error_str message only");
	gotrue_error_set(&err, GOTRUE_ERR_TIMEOUT, "no answer after %d s", 2);
	is_int(err.kind, GOTRUE_ERR_TIMEOUT, "set: kind");
	is_int(err.http_status, 0, "set: status cleared");
	is_str(gotrue_error_str(&err, buf, sizeof(buf)), "timeout: no answer after 2 s",
	       "error_str own error");
	gotrue_error_str(&err, small, sizeof(small));
	is_int(strlen(small), sizeof(small) - 1, "error_str truncates");
	is_str(gotrue_error_kind_name(GOTRUE_ERR_TRANSPORT), "transport", "kind transport");
	is_str(gotrue_error_kind_name(GOTRUE_ERR_TLS), "tls", "kind tls");
	is_str(gotrue_error_kind_name(GOTRUE_ERR_TOO_LARGE), "too_large", "kind too_large");
	is_str(gotrue_error_kind_name(GOTRUE_ERR_CONFIG), "config", "kind config");
	is_str(gotrue_error_kind_name(GOTRUE_OK), "ok", "kind ok");
	is_str(gotrue_error_kind_name((enum gotrue_error_kind)99), "unknown", "kind out of range");
	gotrue_error_clear(&err);
	is_int(err.kind, GOTRUE_OK, "clear resets");
}

static void test_json_parse(void)
{
	json_object *o;
	char unterminated[2] = {'{', '}'};

	o = gotrue_json_parse(unterminated, 2);
	ok(o && json_object_is_type(o, json_type_object), "json_parse: unterminated {}");
	json_object_put(o);
	o = gotrue_json_parse("{\"a\":1} \r\n\t", 11);
	ok(o != NULL, "json_parse: trailing whitespace");
	json_object_put(o);
	ok(gotrue_json_parse("{} {}", 5) == NULL, "json_parse: two values refused");
	ok(gotrue_json_parse("", 0) == NULL, "json_parse: empty refused");
	ok(gotrue_json_parse("[1,]", 4) == NULL, "json_parse: trailing comma refused (strict)");
	ok(gotrue_json_parse("{\"a\":\"x\0y\"}", 11) == NULL, "json_parse: raw NUL refused");
	ok(gotrue_json_parse("null", 4) == NULL, "json_parse: null is no object");
	ok(gotrue_json_parse("{\"a\":1", 6) == NULL, "json_parse: truncated refused");
}

/* gotrue_error_is: the server's refusal with that code, and nothing else. */
static void test_is(void)
{
	struct gotrue_error err = {0};
	const char *body = "{\"code\":\"user_banned\",\"message\":\"User is banned\"}";

	gotrue_error_decode(&err, 400, NULL, body, strlen(body));
	ok(gotrue_error_is(&err, "user_banned"), "is: the decoded code");
	ok(!gotrue_error_is(&err, "user_banned_"), "is: not a longer code");
	ok(!gotrue_error_is(&err, "user"), "is: not a prefix");
	gotrue_error_set(&err, GOTRUE_ERR_TRANSPORT, "no route");
	snprintf(err.code, sizeof(err.code), "user_banned");
	ok(!gotrue_error_is(&err, "user_banned"), "is: only for an answer of the server");
	gotrue_error_clear(&err);
	ok(!gotrue_error_is(&err, ""), "is: a cleared error has no code");
}

int main(void)
{
	test_v269_oauth_shape();
	test_v269_code_msg_shape();
	test_current_shapes();
	test_header();
	test_weak_password();
	test_not_json();
	test_not_terminated();
	test_huge();
	test_strings();
	test_json_parse();
	test_is();
	return done_testing();
}
