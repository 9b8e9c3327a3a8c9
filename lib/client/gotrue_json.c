/* json: the one bounded, strict JSON entry point (json_tokener with a length, RFC 8259 strict
 * mode, json-c's depth limit) and the json-c helpers the core shares: adding a string member and
 * wiping the copies of secrets that json-c keeps in its objects. json-c frees strings without
 * wiping them and has no hook for it, hence the hand-written walk below. */
#include <config.h>

#include <limits.h>
#include <string.h>

#include "gotrue_json.h"

json_tokener *gotrue_json_tokener_new(void)
{
	json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);

	/* Strict: RFC 8259 JSON only, no comments or single quotes. */
	if (tok)
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return tok;
}

json_object *gotrue_json_parse_with(json_tokener *tok, const char *buf, size_t len)
{
	json_object *obj = NULL, *rc = NULL;
	size_t end;

	/* An embedded NUL is refused: json-c would stop at it and see a different document. */
	if (!tok || !buf || len == 0 || len > INT_MAX || memchr(buf, '\0', len))
		goto cleanup;
	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success)
		goto cleanup;
	/* One value and nothing after it but whitespace (RFC 8259 section 2). */
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (buf[end] != ' ' && buf[end] != '\t' && buf[end] != '\r' && buf[end] != '\n')
			goto cleanup;
	rc = obj;
	obj = NULL;
cleanup:
	json_object_put(obj);
	return rc;
}

json_object *gotrue_json_parse(const char *buf, size_t len)
{
	json_tokener *tok = gotrue_json_tokener_new();
	json_object *obj = gotrue_json_parse_with(tok, buf, len);

	if (tok)
		json_tokener_free(tok);
	return obj;
}

json_object *gotrue_json_parse_object(const char *buf, size_t len, size_t max_len)
{
	json_object *obj = NULL;

	if (len > max_len)
		goto cleanup;
	obj = gotrue_json_parse(buf, len);
	if (obj && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
cleanup:
	return obj;
}

/* json_object_get_string returns json-c's own buffer; overwrite it before json-c frees it. */
static void wipe_string(json_object *s)
{
	int len = json_object_get_string_len(s);

	if (len > 0)
		explicit_bzero((char *)json_object_get_string(s), (size_t)len);
}

/* Depth-bounded: our request bodies are shallow, and json-c's parser stops at depth 32. */
static void wipe_tree(json_object *obj, int depth)
{
	size_t i, n;

	if (!obj || depth > 64)
		return;
	switch (json_object_get_type(obj)) {
	case json_type_string:
		wipe_string(obj);
		break;
	case json_type_array:
		n = json_object_array_length(obj);
		for (i = 0; i < n; i++)
			wipe_tree(json_object_array_get_idx(obj, i), depth + 1);
		break;
	case json_type_object: {
		json_object_object_foreach(obj, key, val)
		{
			(void)key;
			wipe_tree(val, depth + 1);
		}
		break;
	}
	default:
		break;
	}
}

void gotrue_json_wipe_member(json_object *obj, const char *key)
{
	json_object *v;

	if (json_object_is_type(obj, json_type_object) && json_object_object_get_ex(obj, key, &v) &&
	    json_object_is_type(v, json_type_string))
		wipe_string(v);
}

void gotrue_json_put_wiped(json_object *obj)
{
	wipe_tree(obj, 0);
	json_object_put(obj);
}

int gotrue_json_add_str(json_object *obj, const char *key, const char *value,
			struct gotrue_error *err)
{
	json_object *s = json_object_new_string(value);
	int rc = 0;

	if (!s || json_object_object_add(obj, key, s) != 0) {
		gotrue_json_put_wiped(s);
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		rc = -1;
	}
	return rc;
}

const char *gotrue_json_get_str(json_object *obj, const char *key)
{
	json_object *v;
	const char *s = NULL;

	if (json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);
	/* "\u0000" decodes to an embedded NUL: C would see a shorter string than JSON holds. */
	if (s && strlen(s) != (size_t)json_object_get_string_len(v))
		s = NULL;
	return s;
}
