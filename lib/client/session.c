/* session: the answer of GoTrue's token-issuing endpoints (POST /token, /verify, /signup,
 * /factors/{id}/verify; transcript steps 11, 29, 80, 164) as struct gotrue_session. Tokens are
 * secrets: they are bounded, copied with gotrue_secret_strdup and wiped on clear. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_error.h"
#include "secure.h"
#include "session.h"

/* Ten years: a longer lifetime is not a GoTrue answer but a broken or hostile one. */
#define GOTRUE_EXPIRES_IN_MAX (10L * 365 * 24 * 3600)

/* A token: absent or null -> NULL; otherwise a non-empty string of at most GOTRUE_TOKEN_MAX. */
static int get_token(json_object *obj, const char *key, char **out, char *why, size_t why_len)
{
	json_object *v;
	int len;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		gotrue_why_set(why, why_len, "field %s is not a string", key);
		return -1;
	}
	len = json_object_get_string_len(v);
	if (len <= 0 || len > GOTRUE_TOKEN_MAX ||
	    strlen(json_object_get_string(v)) != (size_t)len) {
		gotrue_why_set(why, why_len, "field %s is empty, too long or contains NUL", key);
		return -1;
	}
	*out = gotrue_secret_strdup(json_object_get_string(v));
	if (!*out) {
		gotrue_why_set(why, why_len, "out of memory");
		return -1;
	}
	return 0;
}

/* An integer field: absent or null -> @present false. */
static int get_int(json_object *obj, const char *key, long long min, long long max, long long *out,
		   bool *present, char *why, size_t why_len)
{
	json_object *v;

	*present = false;
	*out = 0;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		gotrue_why_set(why, why_len, "field %s is not an integer", key);
		return -1;
	}
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno != 0 || *out < min || *out > max) {
		gotrue_why_set(why, why_len, "field %s is out of range", key);
		return -1;
	}
	*present = true;
	return 0;
}

int gotrue_session_from_json(json_object *obj, struct gotrue_session *out, char *why,
			     size_t why_len)
{
	json_object *v, *user = NULL;
	long long expires_in = 0, expires_at = 0;
	bool has_in = false, has_at = false;
	int rc = -1;

	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		gotrue_why_set(why, why_len, "session is not a JSON object");
		goto cleanup;
	}
	if (get_token(obj, "access_token", &out->access_token, why, why_len) != 0 ||
	    get_token(obj, "refresh_token", &out->refresh_token, why, why_len) != 0)
		goto cleanup;
	if (!out->access_token) {
		/* /signup without autoconfirm answers with the bare user (no tokens at all). */
		if (out->refresh_token) {
			gotrue_why_set(why, why_len, "refresh_token without access_token");
			goto cleanup;
		}
		if (gotrue_user_from_json(obj, &out->user, why, why_len) != 0)
			goto cleanup;
		out->has_user = true;
		rc = 0;
		goto cleanup;
	}
	/* A session we could never refresh is no session for a login module. */
	if (!out->refresh_token) {
		gotrue_why_set(why, why_len, "access_token without refresh_token");
		goto cleanup;
	}
	if (json_object_object_get_ex(obj, "token_type", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > GOTRUE_USER_STR_MAX) {
			gotrue_why_set(why, why_len, "field token_type is not a short string");
			goto cleanup;
		}
		out->token_type = strdup(json_object_get_string(v));
		if (!out->token_type) {
			gotrue_why_set(why, why_len, "out of memory");
			goto cleanup;
		}
	}
	if (get_int(obj, "expires_in", 0, GOTRUE_EXPIRES_IN_MAX, &expires_in, &has_in, why,
		    why_len) != 0 ||
	    get_int(obj, "expires_at", 0, (long long)1 << 40, &expires_at, &has_at, why, why_len) !=
		    0)
		goto cleanup;
	out->expires_in = (long)expires_in;
	/* v2.69 sends only expires_in (step 11); newer servers also send expires_at. */
	if (has_at)
		out->expires_at = (time_t)expires_at;
	else if (has_in)
		out->expires_at = time(NULL) + (time_t)expires_in;
	if (json_object_object_get_ex(obj, "user", &user) &&
	    !json_object_is_type(user, json_type_null)) {
		if (gotrue_user_from_json(user, &out->user, why, why_len) != 0)
			goto cleanup;
		out->has_user = true;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_session_clear(out);
	return rc;
}

void gotrue_session_clear(struct gotrue_session *s)
{
	if (!s)
		return;
	gotrue_wipe_free_str(s->access_token);
	gotrue_wipe_free_str(s->refresh_token);
	free(s->token_type);
	gotrue_user_clear(&s->user);
	memset(s, 0, sizeof(*s));
}
