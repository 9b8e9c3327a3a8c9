/* error: one typed result for every way a GoTrue call can fail, and the decoder that turns a
 * response (status, x-sb-error-code header, body) into it. It understands every body shape the
 * servers of both generations (v2.69.3 and current) send:
 *   {"error": "...", "error_description": "..."}    v2.69 /token (OAuth style)
 *   {"code": 400, "msg": "..."}                      v2.69 everything else
 *   {"code": 400, "error_code": "...", "msg": "..."}  current, no API-version header
 *   {"code": "...", "message": "..."}                current, X-Supabase-Api-Version: 2024-01-01
 * and the `x-sb-error-code` header. Old-server messages are normalised to the current codes, so
 * callers compare one vocabulary ("invalid_credentials", "refresh_token_already_used", ...). */
#ifndef GOTRUE_ERROR_H
#define GOTRUE_ERROR_H

#include <stdbool.h>
#include <stddef.h>

enum gotrue_error_kind {
	GOTRUE_OK = 0,
	GOTRUE_ERR_TRANSPORT, /* connection refused, DNS, reset, redirect refused ... */
	GOTRUE_ERR_TIMEOUT,   /* connect or total timeout */
	GOTRUE_ERR_TLS,	      /* certificate or handshake failure */
	GOTRUE_ERR_TOO_LARGE, /* response over max_response */
	GOTRUE_ERR_HTTP,      /* the server answered with an error status */
	GOTRUE_ERR_PROTOCOL,  /* a 2xx answer we cannot use: garbage, wrong types, missing fields */
	GOTRUE_ERR_CONFIG,    /* missing url, key, refused plain-http host ... */
	GOTRUE_ERR_NOMEM,
	GOTRUE_ERR_INTERNAL,
};

#define GOTRUE_ERROR_CODE_MAX 64
#define GOTRUE_ERROR_MSG_MAX  256

struct gotrue_error {
	enum gotrue_error_kind kind;
	long http_status;		    /* 0 when no response */
	char code[GOTRUE_ERROR_CODE_MAX];   /* normalised GoTrue code, "" if none */
	char message[GOTRUE_ERROR_MSG_MAX]; /* server's text or our own; never a secret */
	char *weak_password_reasons;	    /* "length, characters" for weak_password, else NULL */
};

/* A struct gotrue_error starts zeroed (= {0}); clear, set and decode free what it held before. */
void gotrue_error_clear(struct gotrue_error *err);
/* printf-style setter for errors we raise ourselves. */
void gotrue_error_set(struct gotrue_error *err, enum gotrue_error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* printf-style setter for the "why" buffer of the parsers that fill a struct from JSON (user.c,
 * session.c): a reason that names the field, never its value. @why may be NULL or @why_len 0. */
void gotrue_why_set(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Decode an error response. @header_code may be NULL; @body need not be NUL-terminated or JSON.
 * Always fills @err with kind GOTRUE_ERR_HTTP (never crashes on any input). */
void gotrue_error_decode(struct gotrue_error *err, long status, const char *header_code,
			 const char *body, size_t body_len);

/* True when @err is the server's refusal with the (normalised) code @code: kind GOTRUE_ERR_HTTP
 * and err->code equal to @code. */
bool gotrue_error_is(const struct gotrue_error *err, const char *code);

/* Stable names for messages and --json output: "transport", "timeout", "tls", ... */
const char *gotrue_error_kind_name(enum gotrue_error_kind kind);
/* One line for a human: "invalid_credentials: Invalid login credentials (HTTP 400)". */
const char *gotrue_error_str(const struct gotrue_error *err, char *buf, size_t len);

#endif
