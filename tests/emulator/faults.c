/* faults.c: the control API's fault table and the per-endpoint call counters
 * (POST/DELETE /__emulator/fault, GET /__emulator/counts, POST /__emulator/reset). */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulator.h"

struct fault_rule {
	char *path;   /* "*" = any */
	char *method; /* NULL = any */
	long count;   /* -1 = until cleared */
	struct emu_fault f;
	struct fault_rule *next;
};

static pthread_mutex_t fault_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct fault_rule *rules, **rules_tail = &rules;
static json_object *counts; /* {"METHOD /path": n} */

static const struct {
	const char *name;
	enum emu_fault_kind kind;
} kinds[] = {
	{"delay", EMU_FAULT_DELAY},
	{"status", EMU_FAULT_STATUS},
	{"garbage", EMU_FAULT_GARBAGE},
	{"oversize", EMU_FAULT_OVERSIZE},
	{"drop", EMU_FAULT_DROP},
	{"stall", EMU_FAULT_STALL},
	{"truncate", EMU_FAULT_TRUNCATE},
	{"redirect", EMU_FAULT_REDIRECT},
	{"wrong_types", EMU_FAULT_WRONG_TYPES},
	{"token", EMU_FAULT_TOKEN},
	/* Rewrites a real answer after the handler ran, as "token" does, and shares its place in
	 * the router: its object travels in the fault's body (emu_fault_apply_token). */
	{"user", EMU_FAULT_TOKEN},
};

static void rule_free(struct fault_rule *r)
{
	free(r->path);
	free(r->method);
	emu_fault_release(&r->f);
	free(r);
}

void emu_fault_release(struct emu_fault *f)
{
	free(f->body);
	free(f->location);
	free(f->token);
	f->body = NULL;
	f->location = NULL;
	f->token = NULL;
}

/* The attack tests need the module to receive a token of their making from a server it trusts:
 * the real handler runs (the password is checked, a session is made), then only access_token is
 * swapped, so everything else in the answer stays consistent. Kind "user" is the other half of
 * such a man in the middle: the genuine token stays, and the members of the fault's object
 * (f->body) are merged into the answer's unsigned "user", as the admin API merges metadata. */
void emu_fault_apply_token(const struct emu_fault *f, struct emu_reply *r)
{
	json_object *o, *user, *patch = f->body ? json_tokener_parse(f->body) : NULL;

	if (r->status != 200 || r->body == NULL || (f->token == NULL && patch == NULL)) {
		json_object_put(patch);
		return;
	}
	o = json_tokener_parse(r->body);
	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "access_token", NULL)) {
		if (f->token != NULL)
			json_object_object_add(o, "access_token", json_object_new_string(f->token));
		if (patch != NULL && json_object_object_get_ex(o, "user", &user) &&
		    json_object_is_type(user, json_type_object))
			emu_json_merge(user, patch);
		emu_reply_json(r, r->status, o); /* takes o */
		o = NULL;
	}
	json_object_put(o);
	json_object_put(patch);
}

static const char *str_field(json_object *o, const char *key)
{
	json_object *v = json_object_object_get(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int emu_fault_add(json_object *spec, char *err, size_t err_len)
{
	struct fault_rule *r;
	const char *kind = str_field(spec, "kind"), *path = str_field(spec, "path");
	json_object *v;
	enum emu_fault_kind k = EMU_FAULT_NONE;

	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i].name) == 0)
			k = kinds[i].kind;
	if (k == EMU_FAULT_NONE) {
		snprintf(err, err_len, "unknown or missing fault kind");
		return -1;
	}
	if (strcmp(kind, "token") == 0 && !str_field(spec, "token")) {
		snprintf(err, err_len, "fault kind token needs a \"token\" string");
		return -1;
	}
	if (strcmp(kind, "user") == 0 &&
	    !json_object_is_type(json_object_object_get(spec, "user"), json_type_object)) {
		snprintf(err, err_len, "fault kind user needs a \"user\" object");
		return -1;
	}
	r = calloc(1, sizeof(*r));
	r->path = strdup(path ? path : "*");
	r->method = str_field(spec, "method") ? strdup(str_field(spec, "method")) : NULL;
	r->count = json_object_object_get_ex(spec, "count", &v) ? json_object_get_int64(v) : 1;
	r->f.kind = k;
	r->f.ms = json_object_object_get_ex(spec, "ms", &v) ? json_object_get_int64(v) : 1000;
	r->f.status = json_object_object_get_ex(spec, "status", &v)
			      ? (unsigned)json_object_get_int(v)
			      : 500;
	r->f.bytes = json_object_object_get_ex(spec, "bytes", &v) ? (size_t)json_object_get_int64(v)
								  : (size_t)10 << 20;
	if (strcmp(kind, "user") == 0)
		r->f.body = strdup(json_object_to_json_string_ext(
			json_object_object_get(spec, "user"), JSON_C_TO_STRING_PLAIN));
	else if (k != EMU_FAULT_TOKEN && str_field(spec, "body"))
		r->f.body = strdup(str_field(spec, "body"));
	if (str_field(spec, "location"))
		r->f.location = strdup(str_field(spec, "location"));
	if (str_field(spec, "token"))
		r->f.token = strdup(str_field(spec, "token"));
	pthread_mutex_lock(&fault_mutex);
	*rules_tail = r;
	rules_tail = &r->next;
	pthread_mutex_unlock(&fault_mutex);
	return 0;
}

void emu_faults_clear(void)
{
	pthread_mutex_lock(&fault_mutex);
	while (rules) {
		struct fault_rule *r = rules;

		rules = r->next;
		rule_free(r);
	}
	rules_tail = &rules;
	pthread_mutex_unlock(&fault_mutex);
}

bool emu_fault_take(const char *method, const char *path, struct emu_fault *out)
{
	bool found = false;

	pthread_mutex_lock(&fault_mutex);
	for (struct fault_rule **pp = &rules; *pp; pp = &(*pp)->next) {
		struct fault_rule *r = *pp;

		if (strcmp(r->path, "*") != 0 && strcmp(r->path, path) != 0)
			continue;
		if (r->method && strcasecmp(r->method, method) != 0)
			continue;
		*out = r->f;
		out->body = r->f.body ? strdup(r->f.body) : NULL;
		out->location = r->f.location ? strdup(r->f.location) : NULL;
		out->token = r->f.token ? strdup(r->f.token) : NULL;
		found = true;
		if (r->count > 0 && --r->count == 0) {
			*pp = r->next;
			if (rules_tail == &r->next)
				rules_tail = pp;
			rule_free(r);
		}
		break;
	}
	pthread_mutex_unlock(&fault_mutex);
	return found;
}

void emu_count_key(const char *key)
{
	json_object *v;

	pthread_mutex_lock(&fault_mutex);
	if (!counts)
		counts = json_object_new_object();
	if (json_object_object_get_ex(counts, key, &v))
		json_object_set_int64(v, json_object_get_int64(v) + 1);
	else
		json_object_object_add(counts, key, json_object_new_int64(1));
	pthread_mutex_unlock(&fault_mutex);
}

/* "METHOD /path" with UUID segments replaced by {id}; /token keeps its grant_type. */
void emu_count(const char *method, const char *path, const char *grant_type)
{
	char key[512];
	size_t o = (size_t)snprintf(key, sizeof(key), "%s ", method);
	const char *p = path;

	while (*p && o < sizeof(key) - 8) {
		const char *seg = p + 1, *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		char buf[64];

		key[o++] = '/';
		if (n == 36) {
			memcpy(buf, seg, 36);
			buf[36] = '\0';
		}
		if (n == 36 && emu_is_uuid(buf)) {
			memcpy(key + o, "{id}", 4);
			o += 4;
		} else {
			if (n > sizeof(key) - o - 8)
				n = sizeof(key) - o - 8;
			memcpy(key + o, seg, n);
			o += n;
		}
		p = seg + n;
		if (!*p)
			break;
	}
	key[o] = '\0';
	if (grant_type && strcmp(path, "/token") == 0)
		snprintf(key + o, sizeof(key) - o, "?grant_type=%.64s", grant_type);
	emu_count_key(key);
}

json_object *emu_counts_json(void)
{
	json_object *out;

	pthread_mutex_lock(&fault_mutex);
	if (!counts)
		counts = json_object_new_object();
	if (!json_object_object_get_ex(counts, "refresh_reuse", NULL))
		json_object_object_add(counts, "refresh_reuse", json_object_new_int64(0));
	out = NULL;
	json_object_deep_copy(counts, &out, NULL);
	pthread_mutex_unlock(&fault_mutex);
	return out;
}

void emu_counts_reset(void)
{
	pthread_mutex_lock(&fault_mutex);
	json_object_put(counts);
	counts = NULL;
	pthread_mutex_unlock(&fault_mutex);
}
