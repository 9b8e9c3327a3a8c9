/* router.c: the libmicrohttpd access handler. It collects the request body, serves the control
 * API, counts the call, applies any injected fault, dispatches to the endpoint handler and queues
 * the answer. Routing mirrors GoTrue's chi router: unknown path 404 text/plain "404 page not
 * found", known path with another method 405 and an empty body (transcript steps 3 and 28),
 * which current servers' router gives an Allow header (transcript-v2.185 step 28). */
#include <config.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emulator.h"

#define MAX_BODY (1u << 20)

struct conn_state {
	char *body;
	size_t len;
	bool too_big;
};

struct route {
	const char *method;
	const char *pattern; /* '*' matches one path segment */
	emu_handler handler;
	bool locked; /* run under the store lock */
};

static const struct route routes[] = {
	{"GET", "/health", emu_h_health, false},
	{"GET", "/settings", emu_h_settings, false},
	{"GET", "/.well-known/jwks.json", emu_h_jwks, false},
	{"GET", "/.well-known/openid-configuration", emu_h_openid, false},
	{"POST", "/signup", emu_h_signup, true},
	{"POST", "/token", emu_h_token, true},
	{"POST", "/logout", emu_h_logout, true},
	{"GET", "/user", emu_h_user_get, true},
	{"PUT", "/user", emu_h_user_put, true},
	{"POST", "/otp", emu_h_otp, true},
	{"POST", "/magiclink", emu_h_magiclink, true},
	{"POST", "/recover", emu_h_recover, true},
	{"POST", "/verify", emu_h_verify_post, true},
	{"GET", "/verify", emu_h_verify_get, true},
	{"POST", "/invite", emu_h_invite, true},
	{"GET", "/admin/users", emu_h_admin_list, true},
	{"POST", "/admin/users", emu_h_admin_create, true},
	{"GET", "/admin/users/*", emu_h_admin_get, true},
	{"PUT", "/admin/users/*", emu_h_admin_put, true},
	{"DELETE", "/admin/users/*", emu_h_admin_delete, true},
	{"GET", "/admin/users/*/factors", emu_h_admin_factors, true},
	{"DELETE", "/admin/users/*/factors/*", emu_h_admin_factor_delete, true},
	{"POST", "/factors", emu_h_factor_enroll, true},
	{"POST", "/factors/*/challenge", emu_h_factor_challenge, true},
	{"POST", "/factors/*/verify", emu_h_factor_verify, true},
	{"DELETE", "/factors/*", emu_h_factor_delete, true},
};

static atomic_long serial;
/* GoTrue requests accepted and not yet answered: a test that killed a client waits for the
 * server to finish what it had in flight (GET /__emulator/counts, "in_flight"). */
static atomic_long in_flight;

/* Match @path against @pattern; the first two '*' segments are copied to @id and @sub. */
static bool match(const char *pattern, const char *path, char *id, char *sub, size_t cap)
{
	int stars = 0;

	while (*pattern && *path) {
		if (*pattern == '*') {
			const char *end = strchr(path, '/');
			size_t n = end ? (size_t)(end - path) : strlen(path);
			char *dst = stars++ == 0 ? id : sub;

			if (n == 0 || n >= cap)
				return false;
			memcpy(dst, path, n);
			dst[n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

static bool sleep_interruptible(long ms)
{
	while (ms > 0 && !emu_stopping) {
		long step = ms > 50 ? 50 : ms;

		usleep((useconds_t)step * 1000);
		ms -= step;
	}
	return !emu_stopping;
}

/* stall: a first piece of the body, then nothing until the client or the emulator gives up. */
static ssize_t stall_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	static const char head[] = "{\"access_token\":\"";
	long *waited = cls;

	if (pos == 0 && max >= sizeof(head) - 1) {
		memcpy(buf, head, sizeof(head) - 1);
		return (ssize_t)(sizeof(head) - 1);
	}
	if (emu_stopping || *waited > 120000)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	usleep(100 * 1000);
	*waited += 100;
	return 0;
}

struct fixed_body {
	char *data;
	size_t len;
};

/* truncate: serve the real body, then end the connection short of the advertised length. */
static ssize_t truncate_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct fixed_body *b = cls;
	size_t n;

	if (pos >= b->len)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = b->len - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(buf, b->data + pos, n);
	return (ssize_t)n;
}

static void fixed_body_free(void *cls)
{
	struct fixed_body *b = cls;

	free(b->data);
	free(b);
}

/* oversize: a long JSON string, produced lazily so 10 MiB costs no memory. */
static ssize_t oversize_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	size_t total = *(size_t *)cls;
	size_t n = 0;

	if (pos >= total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	while (n < max && pos + n < total) {
		uint64_t p = pos + n;

		buf[n++] = p == 0 ? '"' : (p == total - 1 ? '"' : 'x');
	}
	return (ssize_t)n;
}

/* wrong_types: keep the keys, change every top-level value's JSON type. */
static void wrong_types(struct emu_reply *r)
{
	json_object *o = r->body ? json_tokener_parse(r->body) : NULL;
	json_object *w = json_object_new_object();

	if (o && json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			json_object *nv;

			switch (json_object_get_type(val)) {
			case json_type_string:
				nv = json_object_new_int(12345);
				break;
			case json_type_int:
			case json_type_double:
				nv = json_object_new_string("12345");
				break;
			case json_type_object:
				nv = json_object_new_array();
				break;
			case json_type_array:
				nv = json_object_new_boolean(1);
				break;
			default:
				nv = json_object_new_object();
				break;
			}
			json_object_object_add(w, key, nv);
		}
	} else {
		json_object_object_add(w, "access_token", json_object_new_int(1));
		json_object_object_add(w, "user", json_object_new_string("x"));
	}
	json_object_put(o);
	emu_reply_json(r, r->status ? r->status : 200, w);
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct emu_reply *r,
			     const struct emu_fault *f)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (f && f->kind == EMU_FAULT_STALL) {
		long *waited = calloc(1, sizeof(*waited));

		resp = MHD_create_response_from_callback(4096, 1024, stall_reader, waited, free);
		r->content_type = "application/json";
		r->status = 200;
	} else if (f && f->kind == EMU_FAULT_TRUNCATE) {
		struct fixed_body *b = calloc(1, sizeof(*b));

		b->data = r->body;
		b->len = r->body_len;
		r->body = NULL;
		resp = MHD_create_response_from_callback(b->len + 1024, 4096, truncate_reader, b,
							 fixed_body_free);
	} else if (f && f->kind == EMU_FAULT_OVERSIZE) {
		size_t *total = malloc(sizeof(*total));

		*total = f->bytes < 2 ? 2 : f->bytes;
		resp = MHD_create_response_from_callback(*total, 65536, oversize_reader, total,
							 free);
		r->status = 200;
		r->content_type = "application/json";
	} else {
		resp = MHD_create_response_from_buffer(r->body_len, r->body ? r->body : (char *)"",
						       MHD_RESPMEM_MUST_COPY);
	}
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	for (int i = 0; i < r->n_headers; i++)
		MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void control(struct emu_req *q, struct emu_reply *r)
{
	char why[256];
	json_object *spec;

	if (strcmp(q->path, "/__emulator/fault") == 0 && strcmp(q->method, "POST") == 0) {
		spec = emu_parse_body(q, why, sizeof(why));
		if (!spec || emu_fault_add(spec, why, sizeof(why)) != 0) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "error", json_object_new_string(why));
			emu_reply_json(r, 400, e);
		} else {
			emu_reply_json(r, 200, json_object_new_object());
		}
		json_object_put(spec);
	} else if (strcmp(q->path, "/__emulator/fault") == 0 && strcmp(q->method, "DELETE") == 0) {
		emu_faults_clear();
		emu_reply_json(r, 200, json_object_new_object());
	} else if (strcmp(q->path, "/__emulator/counts") == 0 && strcmp(q->method, "GET") == 0) {
		json_object *counts = emu_counts_json();

		json_object_object_add(counts, "in_flight",
				       json_object_new_int64(atomic_load(&in_flight)));
		emu_reply_json(r, 200, counts);
	} else if (strcmp(q->path, "/__emulator/users/bulk") == 0 &&
		   strcmp(q->method, "POST") == 0) {
		emu_store_lock();
		emu_c_users_bulk(q, r);
		emu_store_unlock();
	} else if (strcmp(q->path, "/__emulator/reset") == 0 && strcmp(q->method, "POST") == 0) {
		emu_faults_clear();
		emu_counts_reset();
		emu_reply_json(r, 200, json_object_new_object());
	} else {
		emu_reply_text(r, 404, "text/plain; charset=utf-8", "404 page not found\n");
	}
}

static void dispatch(struct emu_req *q, struct emu_reply *r)
{
	char id[128], sub[128], allow[64] = "";
	bool path_known = false;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(routes[i].pattern, q->path, id, sub, sizeof(id)))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, q->method) != 0) {
			size_t used = strlen(allow);

			snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "",
				 routes[i].method);
			continue;
		}
		if (routes[i].locked)
			emu_store_lock();
		routes[i].handler(q, r, id, sub);
		if (routes[i].locked)
			emu_store_unlock();
		return;
	}
	if (path_known) {
		emu_reply_text(r, 405, NULL, NULL);
		if (emu_current())
			emu_reply_header(r, "Allow", allow);
	} else
		emu_reply_text(r, 404, "text/plain; charset=utf-8", "404 page not found\n");
}

static enum MHD_Result handle(struct MHD_Connection *conn, const char *url, const char *method,
			      struct conn_state *st)
{
	struct emu_req q = {.conn = conn, .method = method, .path = url};
	struct emu_reply r = {0};
	struct emu_fault f = {0};
	bool faulted = false, counted = false;
	enum MHD_Result ret = MHD_NO;
	const char *v;

	q.body = st->body;
	q.body_len = st->len;
	q.serial = atomic_fetch_add(&serial, 1) + 1;
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Supabase-Api-Version");
	q.api_2024 = v && strcmp(v, "2024-01-01") == 0;

	if (strncmp(url, "/__emulator/", 12) == 0) {
		control(&q, &r);
		ret = queue(conn, &r, NULL);
		goto cleanup;
	}
	atomic_fetch_add(&in_flight, 1);
	counted = true;
	emu_count(method, url, emu_req_arg(&q, "grant_type"));
	faulted = emu_fault_take(method, url, &f);
	if (faulted) {
		switch (f.kind) {
		case EMU_FAULT_DROP:
			ret = MHD_NO; /* libmicrohttpd closes the connection without an answer */
			goto cleanup;
		case EMU_FAULT_DELAY:
			if (!sleep_interruptible(f.ms))
				goto cleanup;
			break;
		case EMU_FAULT_STATUS:
			if (f.body)
				emu_reply_text(&r, f.status, "application/json", f.body);
			else
				emu_reply_error(&r, &q, f.status, "unexpected_failure",
						"injected fault");
			ret = queue(conn, &r, NULL);
			goto cleanup;
		case EMU_FAULT_GARBAGE:
			emu_reply_text(&r, 200, "application/json",
				       "\x01<html>garbage}{\"not json");
			ret = queue(conn, &r, NULL);
			goto cleanup;
		case EMU_FAULT_REDIRECT:
			emu_reply_text(&r, 302, NULL, NULL);
			emu_reply_header(&r, "Location",
					 f.location ? f.location : "http://127.0.0.1:1/");
			ret = queue(conn, &r, NULL);
			goto cleanup;
		case EMU_FAULT_STALL:
		case EMU_FAULT_OVERSIZE:
			ret = queue(conn, &r, &f);
			goto cleanup;
		default:
			break;
		}
	}
	if (st->too_big)
		emu_reply_error(&r, &q, 413, "request_too_large", "Request body too large");
	else
		dispatch(&q, &r);
	if (faulted && f.kind == EMU_FAULT_WRONG_TYPES)
		wrong_types(&r);
	if (faulted && f.kind == EMU_FAULT_TOKEN)
		emu_fault_apply_token(&f, &r);
	ret = queue(conn, &r, faulted && f.kind == EMU_FAULT_TRUNCATE ? &f : NULL);
cleanup:
	if (faulted)
		emu_fault_release(&f);
	emu_reply_free(&r);
	if (counted)
		atomic_fetch_sub(&in_flight, 1);
	return ret;
}

enum MHD_Result emu_access(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload_data,
			   size_t *upload_data_size, void **con_cls)
{
	struct conn_state *st = *con_cls;

	(void)cls;
	(void)version;
	if (!st) {
		*con_cls = calloc(1, sizeof(*st));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		if (st->len + *upload_data_size > MAX_BODY) {
			st->too_big = true;
		} else {
			char *nb = realloc(st->body, st->len + *upload_data_size + 1);

			if (!nb)
				return MHD_NO;
			st->body = nb;
			memcpy(st->body + st->len, upload_data, *upload_data_size);
			st->len += *upload_data_size;
			st->body[st->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return handle(conn, url, method, st);
}

void emu_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st) {
		if (st->body) {
			memset(st->body, 0, st->len); /* request bodies carry passwords */
			free(st->body);
		}
		free(st);
	}
	*con_cls = NULL;
}
