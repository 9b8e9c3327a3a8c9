/* store_record: the token store's record as JSON (json-c): formatting, bounded and type-checked
 * parsing, and clearing (tokens wiped). The file around it is lib/store/store_file.c's. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "proc.h"
#include "secure.h"
#include "session.h"
#include "store.h"
#include "store_file.h"

#define STORE_FORMAT_VERSION 1
#define STORE_STR_MAX	     1024 /* any field that is not a token */

static const char *const state_names[] = {
	[GOTRUE_STORE_PENDING] = "pending",
	[GOTRUE_STORE_ACTIVE] = "active",
	[GOTRUE_STORE_CLOSING] = "closing",
	[GOTRUE_STORE_REVOKED] = "revoked",
};

const char *gotrue_store_state_name(enum gotrue_store_state state)
{
	if ((size_t)state < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[state];
	return "unknown";
}

void gotrue_store_record_clear(struct gotrue_store_record *rec)
{
	size_t i;

	if (rec == NULL)
		return;
	gotrue_wipe_free_str(rec->access_token);
	gotrue_wipe_free_str(rec->refresh_token);
	free(rec->user_id);
	free(rec->login);
	free(rec->session_id);
	free(rec->service);
	free(rec->tty);
	free(rec->rhost);
	free(rec->xdg_session_id);
	free(rec->boot_id);
	for (i = 0; rec->groups != NULL && rec->groups[i] != NULL; i++)
		free(rec->groups[i]);
	free(rec->groups);
	memset(rec, 0, sizeof(*rec));
}

/* json-c frees string buffers without wiping them: wipe a token's copy inside an object first. */
static void wipe_json_string(json_object *obj, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v),
			       (size_t)json_object_get_string_len(v));
}

static int add_str(json_object *obj, const char *key, const char *value)
{
	json_object *v;

	if (value == NULL)
		return 0;
	v = json_object_new_string(value);
	if (v == NULL)
		return -1;
	return json_object_object_add(obj, key, v);
}

static int add_int(json_object *obj, const char *key, long long value)
{
	json_object *v = json_object_new_int64(value);

	if (v == NULL)
		return -1;
	return json_object_object_add(obj, key, v);
}

int gotrue_store_record_format(const struct gotrue_store_record *rec, char **out, size_t *out_len)
{
	json_object *obj = NULL, *groups = NULL, *g;
	const char *text;
	size_t len = 0, i;
	int rc = -ENOMEM;
	int bad = 0;

	*out = NULL;
	*out_len = 0;
	obj = json_object_new_object();
	if (obj == NULL)
		goto cleanup;
	bad |= add_int(obj, "version", STORE_FORMAT_VERSION);
	bad |= add_str(obj, "id", rec->id);
	bad |= add_str(obj, "state", gotrue_store_state_name(rec->state));
	bad |= add_str(obj, "user_id", rec->user_id);
	bad |= add_str(obj, "login", rec->login);
	bad |= add_str(obj, "session_id", rec->session_id);
	bad |= add_str(obj, "access_token", rec->access_token);
	bad |= add_str(obj, "refresh_token", rec->refresh_token);
	bad |= add_int(obj, "expires_at", (long long)rec->expires_at);
	bad |= add_int(obj, "banned_until", (long long)rec->banned_until);
	if (rec->groups != NULL) {
		groups = json_object_new_array();
		if (groups == NULL)
			goto cleanup;
		for (i = 0; rec->groups[i] != NULL; i++) {
			g = json_object_new_string(rec->groups[i]);
			if (g == NULL || json_object_array_add(groups, g) != 0) {
				json_object_put(g);
				goto cleanup;
			}
		}
		bad |= json_object_object_add(obj, "groups", groups);
		groups = NULL;
	}
	bad |= add_str(obj, "service", rec->service);
	bad |= add_str(obj, "tty", rec->tty);
	bad |= add_str(obj, "rhost", rec->rhost);
	bad |= add_str(obj, "xdg_session_id", rec->xdg_session_id);
	bad |= add_int(obj, "pid", (long long)rec->pid);
	bad |= add_int(obj, "pid_start", (long long)rec->pid_start);
	if (rec->audit_session != 0) {
		bad |= add_int(obj, "audit_session", (long long)rec->audit_session);
		bad |= add_str(obj, "boot_id", rec->boot_id);
	}
	bad |= add_int(obj, "created", (long long)rec->created);
	bad |= add_int(obj, "updated", (long long)rec->updated);
	if (rec->refreshing)
		bad |= json_object_object_add(obj, "refreshing", json_object_new_boolean(1));
	if (rec->resent)
		bad |= json_object_object_add(obj, "resent", json_object_new_boolean(1));
	if (rec->server_ended)
		bad |= json_object_object_add(obj, "server_ended", json_object_new_boolean(1));
	if (rec->offline)
		bad |= json_object_object_add(obj, "offline", json_object_new_boolean(1));
	if (bad)
		goto cleanup;
	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
	if (text == NULL)
		goto cleanup;
	*out = malloc(len + 1);
	if (*out != NULL) {
		memcpy(*out, text, len + 1);
		*out_len = len;
		rc = 0;
	}
	explicit_bzero((char *)text, len); /* the object's own print buffer */
cleanup:
	if (obj != NULL) {
		wipe_json_string(obj, "access_token");
		wipe_json_string(obj, "refresh_token");
		json_object_put(obj);
	}
	json_object_put(groups);
	return rc;
}

/* A string member: absent or null gives NULL; a wrong type or an over-long value is an error. */
static int get_str(json_object *obj, const char *key, size_t max, bool secret, char **out)
{
	json_object *v;
	size_t len;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	len = (size_t)json_object_get_string_len(v);
	if (len > max || memchr(json_object_get_string(v), '\0', len) != NULL)
		return -1;
	*out = secret ? gotrue_secret_strdup(json_object_get_string(v))
		      : strdup(json_object_get_string(v));
	return *out == NULL ? -1 : 0;
}

static int get_int(json_object *obj, const char *key, long long min, long long max, long long *out)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return (*out < min || *out > max) ? -1 : 0;
}

static int get_bool(json_object *obj, const char *key, bool *out)
{
	json_object *v;

	*out = false;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_groups(json_object *obj, char ***out)
{
	json_object *arr, *g;
	size_t n, i;
	char **groups;

	*out = NULL;
	if (!json_object_object_get_ex(obj, "groups", &arr) ||
	    json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	if (n > GOTRUE_STORE_GROUPS_MAX)
		return -1;
	groups = calloc(n + 1, sizeof(*groups));
	if (groups == NULL)
		return -1;
	*out = groups; /* partially filled on error: the caller's clear frees it */
	for (i = 0; i < n; i++) {
		g = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(g, json_type_string) ||
		    json_object_get_string_len(g) > STORE_STR_MAX)
			return -1;
		groups[i] = strdup(json_object_get_string(g));
		if (groups[i] == NULL)
			return -1;
	}
	return 0;
}

/* The state named @name (may be NULL). 0 or -1. */
static int state_by_name(const char *name, enum gotrue_store_state *out)
{
	size_t s;

	for (s = 0; name != NULL && s < sizeof(state_names) / sizeof(state_names[0]); s++) {
		if (strcmp(name, state_names[s]) == 0) {
			*out = (enum gotrue_store_state)s;
			return 0;
		}
	}
	return -1;
}

/* The JSON payload of one slot (or a bare record). */
int gotrue_store_payload_parse(const char *buf, size_t len, struct gotrue_store_record *out)
{
	json_tokener *tok = NULL;
	json_object *obj = NULL;
	char *id = NULL, *state = NULL;
	long long version, v;
	int bad = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	/* Every allocation below (json-c's own included) leaves ENOMEM in errno when it fails: the
	 * caller must tell "no memory" from "not a record" (lib/store/store_file.c). */
	errno = 0;
	if (buf == NULL || len == 0 || len > GOTRUE_STORE_RECORD_MAX)
		goto cleanup;
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		goto cleanup;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(obj, json_type_object))
		goto cleanup;
	if (get_int(obj, "version", 1, 1, &version) != 0 || version != STORE_FORMAT_VERSION)
		goto cleanup;
	if (get_str(obj, "id", GOTRUE_STORE_ID_LEN, false, &id) != 0 || !gotrue_store_id_valid(id))
		goto cleanup;
	memcpy(out->id, id, GOTRUE_STORE_ID_LEN + 1);
	if (get_str(obj, "state", 16, false, &state) != 0 || state_by_name(state, &out->state) != 0)
		goto cleanup;
	bad |= get_str(obj, "user_id", STORE_STR_MAX, false, &out->user_id);
	bad |= get_str(obj, "login", STORE_STR_MAX, false, &out->login);
	bad |= get_str(obj, "session_id", STORE_STR_MAX, false, &out->session_id);
	bad |= get_str(obj, "access_token", GOTRUE_TOKEN_MAX, true, &out->access_token);
	bad |= get_str(obj, "refresh_token", GOTRUE_TOKEN_MAX, true, &out->refresh_token);
	bad |= get_str(obj, "service", STORE_STR_MAX, false, &out->service);
	bad |= get_str(obj, "tty", STORE_STR_MAX, false, &out->tty);
	bad |= get_str(obj, "rhost", STORE_STR_MAX, false, &out->rhost);
	bad |= get_str(obj, "xdg_session_id", STORE_STR_MAX, false, &out->xdg_session_id);
	bad |= get_groups(obj, &out->groups);
	bad |= get_int(obj, "expires_at", 0, LLONG_MAX, &v);
	out->expires_at = (time_t)v;
	bad |= get_int(obj, "banned_until", 0, LLONG_MAX, &v);
	out->banned_until = (time_t)v;
	bad |= get_int(obj, "pid", 0, INT_MAX, &v);
	out->pid = (pid_t)v;
	bad |= get_int(obj, "pid_start", 0, LLONG_MAX, &v);
	out->pid_start = (unsigned long long)v;
	/* Absent in records from before it was kept: 0, "unknown". */
	bad |= get_int(obj, "audit_session", 0, GOTRUE_AUDIT_SESSION_UNSET, &v);
	out->audit_session = (unsigned int)v;
	bad |= get_str(obj, "boot_id", GOTRUE_BOOT_ID_LEN, false, &out->boot_id);
	bad |= get_int(obj, "created", 0, LLONG_MAX, &v);
	out->created = (time_t)v;
	bad |= get_int(obj, "updated", 0, LLONG_MAX, &v);
	out->updated = (time_t)v;
	bad |= get_bool(obj, "refreshing", &out->refreshing);
	bad |= get_bool(obj, "resent", &out->resent);
	bad |= get_bool(obj, "server_ended", &out->server_ended);
	bad |= get_bool(obj, "offline", &out->offline);
	/* A record without an owner cannot be used for anything. */
	if (bad || out->user_id == NULL || out->login == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc != 0) {
		rc = errno == ENOMEM ? -ENOMEM : -EBADMSG;
		gotrue_store_record_clear(out);
	}
	if (obj != NULL) {
		wipe_json_string(obj, "access_token");
		wipe_json_string(obj, "refresh_token");
		json_object_put(obj);
	}
	if (tok != NULL)
		json_tokener_free(tok);
	free(id);
	free(state);
	return rc;
}

int gotrue_store_record_parse(const char *buf, size_t len, struct gotrue_store_record *out)
{
	/* A whole record file (what tests and tools slurp from disk) or one bare JSON payload. */
	if (buf != NULL && len >= 8 && memcmp(buf, "GTSTORE2", 8) == 0)
		return gotrue_store_file_parse((const unsigned char *)buf, len, out, NULL);
	return gotrue_store_payload_parse(buf, len, out);
}
