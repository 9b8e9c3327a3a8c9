/* error: the typed result of a failed GoTrue call, and the one decoder that turns a response
 * (status, x-sb-error-code header, body) into it. Every body shape of both server generations is
 * understood (gotrue_error.h lists them), and old-server messages are normalised into the current
 * error codes (supabase/auth internal/api/apierrors), so that callers compare one vocabulary.
 * Bodies come from the network: nothing here trusts their length, termination, types or encoding.
 * Also the length-bounded JSON parser shared by the core.
 */
#include <config.h>

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "gotrue_error.h"
#include "gotrue_json.h"

/* Error bodies are small; anything bigger is not worth parsing as JSON (and json-c takes an int).
 */
#define ERROR_BODY_PARSE_MAX (256 * 1024)
#define WEAK_REASONS_MAX     256

/* Old servers (v2.69) send only a message; current servers send the code as well. The messages
 * below are the v2.69 texts (transcript) and the current texts for the same condition, mapped to
 * the code a current server sends with them. Matched as case-insensitive prefixes. */
static const struct {
	const char *prefix;
	const char *code;
} message_codes[] = {
	{"Invalid login credentials", "invalid_credentials"},
	{"Email not confirmed", "email_not_confirmed"},
	{"Phone not confirmed", "phone_not_confirmed"},
	{"Invalid Refresh Token: Already Used", "refresh_token_already_used"},
	{"Invalid Refresh Token: Refresh Token Not Found", "refresh_token_not_found"},
	{"Invalid Refresh Token: User Banned", "user_banned"},
	{"User is banned", "user_banned"},
	{"User not found", "user_not_found"},
	{"User not allowed", "not_admin"},
	{"This endpoint requires a Bearer token", "no_authorization"},
	{"invalid JWT:", "bad_jwt"},
	{"invalid claim:", "bad_jwt"},
	{"Session from session_id claim in JWT does not exist", "session_not_found"},
	{"Rate limit exceeded", "over_request_rate_limit"},
	{"For security purposes, you can only request this", "over_email_send_rate_limit"},
	{"Token has expired or is invalid", "otp_expired"},
	{"Signups not allowed for otp", "otp_disabled"},
	{"Password should be at least", "weak_password"},
	{"Password should contain", "weak_password"},
	{"A user with this email address has already been registered", "email_exists"},
	{"User already registered", "user_already_exists"},
	{"Invalid TOTP code entered", "mfa_verification_failed"},
	{"Factor not found", "mfa_factor_not_found"},
	{"AAL2 required", "insufficient_aal"},
	{"Enrolled factors exceed allowed limit", "too_many_enrolled_mfa_factors"},
	{"Maximum number of enrolled factors reached", "too_many_enrolled_mfa_factors"},
	{"invalid flow state, no valid flow state found", "flow_state_not_found"},
	{"invalid flow state, flow state has expired", "flow_state_expired"},
	{"code challenge does not match previously saved code verifier", "bad_code_verifier"},
};

void gotrue_error_clear(struct gotrue_error *err)
{
	if (!err)
		return;
	free(err->weak_password_reasons);
	memset(err, 0, sizeof(*err));
}

/* Copy at most @len bytes of @src into @dst (size @size), always terminated. Control characters
 * become spaces (the text ends up in syslog lines, so no line breaks or escapes from a server), and
 * a cut never splits a UTF-8 sequence. */
static void copy_text(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0, i;

	if (size == 0)
		return;
	for (i = 0; i < len && src[i] != '\0' && n + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	if (i < len && src[i] != '\0') {
		/* Truncated: drop a partial UTF-8 sequence at the end. */
		size_t end = n;

		while (end > 0 && ((unsigned char)dst[end - 1] & 0xc0) == 0x80)
			end--;
		if (end > 0 && ((unsigned char)dst[end - 1] & 0xc0) == 0xc0)
			n = end - 1;
	}
	dst[n] = '\0';
}

/* An error code is a short snake_case token; anything else from the wire is not one. */
static bool valid_code(const char *s)
{
	bool letter = false;
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (i + 1 >= GOTRUE_ERROR_CODE_MAX)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letter = true;
		else if (!((c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	/* "400" as a string is a status someone quoted, not a code. */
	return letter;
}

static void set_code(struct gotrue_error *err, const char *code)
{
	copy_text(err->code, sizeof(err->code), code, strlen(code));
}

static const char *code_for_message(const char *msg)
{
	size_t i;

	if (!msg)
		return NULL;
	for (i = 0; i < sizeof(message_codes) / sizeof(message_codes[0]); i++)
		if (strncasecmp(msg, message_codes[i].prefix, strlen(message_codes[i].prefix)) == 0)
			return message_codes[i].code;
	return NULL;
}

/* "weak_password": {"reasons": ["length", "characters", ...]} -> "length, characters". */
static char *weak_reasons(json_object *obj)
{
	json_object *weak = NULL, *reasons = NULL;
	char buf[WEAK_REASONS_MAX] = "";
	size_t i, n, used = 0;

	if (!json_object_object_get_ex(obj, "weak_password", &weak) ||
	    !json_object_is_type(weak, json_type_object) ||
	    !json_object_object_get_ex(weak, "reasons", &reasons) ||
	    !json_object_is_type(reasons, json_type_array))
		return NULL;
	n = json_object_array_length(reasons);
	for (i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(reasons, i);
		char one[64];
		int w;

		if (!json_object_is_type(r, json_type_string))
			continue;
		copy_text(one, sizeof(one), json_object_get_string(r),
			  (size_t)json_object_get_string_len(r));
		w = snprintf(buf + used, sizeof(buf) - used, "%s%s", used ? ", " : "", one);
		if (w < 0 || (size_t)w >= sizeof(buf) - used)
			break; /* keep the whole reasons that fit */
		used += (size_t)w;
	}
	return strdup(buf);
}

void gotrue_error_decode(struct gotrue_error *err, long status, const char *header_code,
			 const char *body, size_t body_len)
{
	json_object *obj = NULL;
	const char *msg = NULL, *body_code = NULL, *error_code = NULL, *oauth_error = NULL;
	const char *oauth_desc = NULL, *mapped;

	gotrue_error_clear(err);
	err->kind = GOTRUE_ERR_HTTP;
	err->http_status = status;

	if (body && body_len <= ERROR_BODY_PARSE_MAX)
		obj = gotrue_json_parse(body, body_len);
	if (obj && json_object_is_type(obj, json_type_object)) {
		/* current, no version header: {"code":N,"error_code":"...","msg":"..."} */
		error_code = gotrue_json_get_str(obj, "error_code");
		/* current, 2024-01-01: {"code":"...","message":"..."}; v2.69 {"code":N} is a status
		 */
		body_code = gotrue_json_get_str(obj, "code");
		/* v2.69 /token: {"error":"invalid_grant","error_description":"..."} */
		oauth_error = gotrue_json_get_str(obj, "error");
		oauth_desc = gotrue_json_get_str(obj, "error_description");
		msg = gotrue_json_get_str(obj, "msg");
		if (!msg)
			msg = gotrue_json_get_str(obj, "message");
		if (!msg)
			msg = oauth_desc;
		err->weak_password_reasons = weak_reasons(obj);
	}

	if (msg) {
		copy_text(err->message, sizeof(err->message), msg, strlen(msg));
	} else if (body && body_len > 0 && !obj) {
		/* Not JSON: "404 page not found" (text/plain), an HTML error page from a proxy...
		 */
		copy_text(err->message, sizeof(err->message), body, body_len);
	}
	/* Trailing blanks (a text body ends with a newline, now a space). */
	for (size_t n = strlen(err->message); n > 0 && err->message[n - 1] == ' '; n--)
		err->message[n - 1] = '\0';

	/* The header is what current servers set for machines; it wins over anything in the body.
	 */
	mapped = code_for_message(msg);
	if (valid_code(header_code))
		set_code(err, header_code);
	else if (valid_code(error_code))
		set_code(err, error_code);
	else if (valid_code(body_code))
		set_code(err, body_code);
	else if (mapped)
		set_code(err, mapped);
	else if (valid_code(oauth_error))
		set_code(err, oauth_error);
	else if (err->weak_password_reasons)
		set_code(err, "weak_password");
	else if (status == 429)
		set_code(err, "over_request_rate_limit");

	json_object_put(obj);
}

void gotrue_error_set(struct gotrue_error *err, enum gotrue_error_kind kind, const char *fmt, ...)
{
	va_list ap;

	gotrue_error_clear(err);
	err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void gotrue_why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

bool gotrue_error_is(const struct gotrue_error *err, const char *code)
{
	return err->kind == GOTRUE_ERR_HTTP && strcmp(err->code, code) == 0;
}

const char *gotrue_error_kind_name(enum gotrue_error_kind kind)
{
	switch (kind) {
	case GOTRUE_OK:
		return "ok";
	case GOTRUE_ERR_TRANSPORT:
		return "transport";
	case GOTRUE_ERR_TIMEOUT:
		return "timeout";
	case GOTRUE_ERR_TLS:
		return "tls";
	case GOTRUE_ERR_TOO_LARGE:
		return "too_large";
	case GOTRUE_ERR_HTTP:
		return "http";
	case GOTRUE_ERR_PROTOCOL:
		return "protocol";
	case GOTRUE_ERR_CONFIG:
		return "config";
	case GOTRUE_ERR_NOMEM:
		return "nomem";
	case GOTRUE_ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

const char *gotrue_error_str(const struct gotrue_error *err, char *buf, size_t len)
{
	char reasons[WEAK_REASONS_MAX + 16] = "";
	const char *sep = "";

	if (!buf || len == 0)
		return "";
	if (!err) {
		snprintf(buf, len, "unknown error");
		return buf;
	}
	if (err->kind != GOTRUE_ERR_HTTP) {
		snprintf(buf, len, "%s%s%s", gotrue_error_kind_name(err->kind),
			 err->message[0] ? ": " : "", err->message);
		return buf;
	}
	if (err->weak_password_reasons && err->weak_password_reasons[0])
		snprintf(reasons, sizeof(reasons), "; reasons: %s", err->weak_password_reasons);
	if (err->code[0] && err->message[0])
		sep = ": ";
	snprintf(buf, len, "%s%s%s%s(HTTP %ld%s)", err->code, sep, err->message,
		 (err->code[0] || err->message[0]) ? " " : "", err->http_status, reasons);
	return buf;
}
