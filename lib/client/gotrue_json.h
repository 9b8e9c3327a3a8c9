/* json: the one bounded, strict JSON entry point and the json-c helpers the core shares. Every
 * parser of network or token data goes through gotrue_json_parse(); secrets that json-c copied
 * into its objects are wiped with gotrue_json_put_wiped() / gotrue_json_wipe_member(). */
#ifndef GOTRUE_JSON_H
#define GOTRUE_JSON_H

#include <stddef.h>
#include <json-c/json.h>

#include "gotrue_error.h"

/* Parse exactly @len bytes of @buf as one JSON value (strict RFC 8259, json_tokener with a length:
 * no NUL terminator needed; json-c's depth limit; trailing whitespace allowed, anything else after
 * the value is not; an embedded NUL is refused). NULL when it is not JSON (or is the literal
 * null). Free with json_object_put(). */
json_object *gotrue_json_parse(const char *buf, size_t len);
/* The same with a tokener kept by the caller across many documents (a sync's pages: one tokener
 * instead of one per page). gotrue_json_tokener_new() makes one with these rules; free it with
 * json_tokener_free(). */
json_tokener *gotrue_json_tokener_new(void);
json_object *gotrue_json_parse_with(json_tokener *tok, const char *buf, size_t len);
/* The same, but only a JSON object of at most @max_len bytes. */
json_object *gotrue_json_parse_object(const char *buf, size_t len, size_t max_len);

/* Add @key: @value (a string) to @obj. 0, or -1 with GOTRUE_ERR_NOMEM in @err. A secret may be
 * added: json-c copies it, so the object must be released with gotrue_json_put_wiped. */
int gotrue_json_add_str(json_object *obj, const char *key, const char *value,
			struct gotrue_error *err);
/* The string member @key of the object @obj, or NULL when there is none, it is not a string, or
 * it holds a NUL (a "\u0000" escape). It belongs to @obj. */
const char *gotrue_json_get_str(json_object *obj, const char *key);
/* Overwrite in place every string inside @obj (json-c's own copies of passwords, one-time
 * codes and tokens), then drop the reference. NULL is fine. Only for trees nobody else holds a
 * reference into. */
void gotrue_json_put_wiped(json_object *obj);
/* Overwrite in place the string member @key of the object @obj, if there is one; for trees whose
 * other members are shared. NULL is fine. */
void gotrue_json_wipe_member(json_object *obj, const char *key);

#endif
