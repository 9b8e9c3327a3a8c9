/* reply.c: the emulator's response bodies and GoTrue's error shapes.
 * v2.69 (transcript "Key findings"): {"code":N,"msg":...}, and /token grant failures in the OAuth
 * form {"error","error_description"}, always 400. Current servers (transcript-v2.185 "Key
 * findings"): {"code":N,"error_code":...,"msg":...} plus the X-Sb-Error-Code header, or, when the
 * request carries X-Supabase-Api-Version: 2024-01-01, {"code","message"} with that header echoed;
 * /token failures take the same shapes. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulator.h"

const char *emu_req_header(const struct emu_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

const char *emu_req_arg(const struct emu_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

void emu_reply_free(struct emu_reply *r)
{
	free(r->body);
	r->body = NULL;
	for (int i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->n_headers = 0;
}

void emu_reply_text(struct emu_reply *r, unsigned status, const char *ctype, const char *text)
{
	free(r->body);
	r->status = status;
	r->content_type = ctype;
	r->body = text ? strdup(text) : NULL;
	r->body_len = text ? strlen(text) : 0;
}

void emu_reply_json(struct emu_reply *r, unsigned status, json_object *obj)
{
	emu_reply_text(r, status, "application/json",
		       json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

void emu_reply_header(struct emu_reply *r, const char *name, const char *value)
{
	if (r->n_headers >= (int)(sizeof(r->headers) / sizeof(r->headers[0])))
		return;
	r->headers[r->n_headers].name = strdup(name);
	r->headers[r->n_headers].value = strdup(value);
	r->n_headers++;
}

/* The error body without the headers; @extra's members (taken) are added to it. */
static json_object *error_body(const struct emu_req *q, unsigned status, const char *error_code,
			       const char *msg, json_object *extra)
{
	json_object *o = json_object_new_object();

	if (emu_current() && q->api_2024) {
		json_object_object_add(o, "code", json_object_new_string(error_code));
		json_object_object_add(o, "message", json_object_new_string(msg));
	} else {
		json_object_object_add(o, "code", json_object_new_int(status));
		if (emu_current())
			json_object_object_add(o, "error_code", json_object_new_string(error_code));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		if (status >= 500) {
			char id[EMU_ID_LEN];

			emu_uuid(id);
			json_object_object_add(o, "error_id", json_object_new_string(id));
		}
	}
	if (extra)
		emu_json_merge(o, extra);
	json_object_put(extra);
	return o;
}

void emu_reply_error(struct emu_reply *r, const struct emu_req *q, unsigned status,
		     const char *error_code, const char *msg)
{
	emu_reply_json(r, status, error_body(q, status, error_code, msg, NULL));
	if (emu_current()) {
		emu_reply_header(r, "X-Sb-Error-Code", error_code);
		if (q->api_2024)
			emu_reply_header(r, "X-Supabase-Api-Version", "2024-01-01");
	}
}

void emu_reply_weak_password(struct emu_reply *r, const struct emu_req *q)
{
	json_object *extra, *wp, *reasons;

	if (!emu_current()) {
		emu_reply_error(r, q, 422, "weak_password",
				"Password should be at least 6 characters");
		return;
	}
	extra = json_object_new_object();
	wp = json_object_new_object();
	reasons = json_object_new_array();
	json_object_array_add(reasons, json_object_new_string("length"));
	json_object_object_add(wp, "reasons", reasons);
	json_object_object_add(extra, "weak_password", wp);
	emu_reply_json(r, 422,
		       error_body(q, 422, "weak_password",
				  "Password should be at least 6 characters.", extra));
	/* GoTrue renders WeakPasswordError itself in the 2024-01-01 shape, without the
	 * X-Sb-Error-Code header every other error carries (transcript-v2.185 steps 7, 58, 58a) */
	if (q->api_2024)
		emu_reply_header(r, "X-Supabase-Api-Version", "2024-01-01");
	else
		emu_reply_header(r, "X-Sb-Error-Code", "weak_password");
}

void emu_reply_oauth(struct emu_reply *r, const struct emu_req *q, const char *error,
		     const char *desc, const char *error_code)
{
	json_object *o;

	if (emu_current()) {
		emu_reply_error(r, q, 400, error_code, desc ? desc : error);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(error));
	if (desc)
		json_object_object_add(o, "error_description", json_object_new_string(desc));
	emu_reply_json(r, 400, o);
}

json_object *emu_parse_body(const struct emu_req *q, char *why, size_t why_len)
{
	json_tokener *tok;
	json_object *o = NULL;
	enum json_tokener_error jerr;

	if (!q->body || q->body_len == 0) {
		snprintf(why, why_len, "unexpected end of JSON input");
		return NULL;
	}
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, q->body, (int)q->body_len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		snprintf(why, why_len, "unexpected end of JSON input");
		json_object_put(o);
		o = NULL;
	} else if (jerr != json_tokener_success) {
		size_t off = json_tokener_get_parse_end(tok);
		char c = off < q->body_len ? q->body[off] : '?';

		/* Go's encoding/json names the offending character; json-c stops at it too. */
		if (off > 0 && q->body[off - 1] != '{' && off < q->body_len)
			c = q->body[off];
		snprintf(why, why_len, "invalid character '%c' looking for beginning of %s", c,
			 q->body[0] == '{' ? "object key string" : "value");
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, why_len, "json: cannot unmarshal %s into Go value",
			 json_type_to_name(json_object_get_type(o)));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

json_object *emu_body_or_400(const struct emu_req *q, struct emu_reply *r, const char *what)
{
	char why[200], msg[300];
	json_object *in = emu_parse_body(q, why, sizeof(why));

	if (!in) {
		/* current servers decode every body in one place (retrieveRequestParams) */
		snprintf(msg, sizeof(msg), "%s: %s",
			 emu_current() ? "Could not parse request body as JSON" : what, why);
		emu_reply_error(r, q, 400, "bad_json", msg);
	}
	return in;
}

const char *emu_str_field(json_object *o, const char *key)
{
	json_object *v = json_object_object_get(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
