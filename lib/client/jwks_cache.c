/* jwks_cache: fetching the key set at jwks_url, and keeping it on disk between logins
 * (jwks_cache.h says when it is used, fetched again, or used stale). The file is written by the
 * atomic writer of secure.c, 0600 in the root-owned state directory, and read under
 * gotrue_read_file's rules: a file with another owner, a mode that lets group or others in, or a
 * link is not used (logged) and the set is fetched again. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>

#include "api.h"
#include "gotrue_json.h"
#include "http.h"
#include "jwks_cache.h"
#include "log.h"
#include "secure.h"

/* The set, and the two members this file adds, with room for their names and values. */
#define CACHE_MAX_SIZE (GOTRUE_JWKS_MAX_SIZE + 1024)
/* Where the last request was made while a cached set was in hand: only its mtime counts. */
#define ATTEMPT_FILE "jwks.attempt"

/* --- Cache-Control ------------------------------------------------------------------------- */

/* RFC 9110 §5.6.3: optional whitespace. */
static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* delta-seconds (RFC 9111 §1.2.2), quoted or not (§5.2: recipients accept both forms): digits
 * only, and a value too large to hold means "as long as can be", which the cap then bounds. */
static long delta_seconds(const char *p, size_t len)
{
	long long v = 0;
	size_t i;

	if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
		p++;
		len -= 2;
	}
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		if (v <= GOTRUE_JWKS_MAX_AGE_CAP)
			v = v * 10 + (p[i] - '0');
	}
	return v > GOTRUE_JWKS_MAX_AGE_CAP ? GOTRUE_JWKS_MAX_AGE_CAP : (long)v;
}

long gotrue_cache_control_max_age(const char *value)
{
	const char *p = value, *end, *eq;
	size_t dlen, vlen;
	long age = -1;

	/* Directives are a comma list (RFC 9111 §5.2); the first max-age counts (§4.2.1). */
	while (p != NULL && *p != '\0' && age < 0) {
		p = skip_ows(p);
		end = strchr(p, ',');
		dlen = end != NULL ? (size_t)(end - p) : strlen(p);
		while (dlen > 0 && (p[dlen - 1] == ' ' || p[dlen - 1] == '\t'))
			dlen--;
		eq = memchr(p, '=', dlen);
		if (eq != NULL && eq - p == 7 && strncasecmp(p, "max-age", 7) == 0) {
			vlen = dlen - 8;
			age = delta_seconds(eq + 1, vlen);
			if (age < 0)
				break; /* a malformed max-age: no lifetime at all, not a later one
					*/
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return age;
}

/* --- the cache file ------------------------------------------------------------------------ */

int gotrue_jwks_cache_parse(const char *text, size_t len, time_t *fetched_at, long *max_age,
			    struct gotrue_jwk **keys)
{
	json_object *doc = gotrue_json_parse_object(text, len, CACHE_MAX_SIZE);
	long long at = 0, age = -1;
	int n = -1;

	*keys = NULL;
	*fetched_at = 0;
	*max_age = -1;
	/* 9999-12-31 bounds fetched_at, as it bounds a token's exp. */
	if (!doc || gotrue_json_get_count(doc, "fetched_at", 253402300799LL, &at) < 0 ||
	    gotrue_json_get_count(doc, "max_age", INT32_MAX, &age) < 0)
		goto cleanup;
	n = gotrue_jwks_from_object(doc, keys);
	*fetched_at = (time_t)at;
	*max_age = age < 0 ? -1 : (age > GOTRUE_JWKS_MAX_AGE_CAP ? GOTRUE_JWKS_MAX_AGE_CAP : age);
cleanup:
	json_object_put(doc);
	return n;
}

/* A cached set as read: n < 0 when there is none that may be used. */
struct cached {
	struct gotrue_jwk *keys;
	int n;
	long age, max_age;
};

static void cached_clear(struct cached *c)
{
	gotrue_jwks_free(c->keys, c->n < 0 ? 0 : c->n);
	c->keys = NULL;
	c->n = -1;
}

/* <state_dir>/@name, where the state directory exists and is safe to keep keys in (root-owned,
 * no one else may write); NULL otherwise (a missing one is not logged: a first login before any
 * sync). */
static char *state_path(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *name)
{
	char *path = NULL;
	int fd = cfg->state_dir != NULL ? gotrue_open_dir(pamh, cfg->state_dir, 0700, false) : -1;

	if (fd >= 0 && asprintf(&path, "%s/%s", cfg->state_dir, name) < 0)
		path = NULL;
	if (fd >= 0)
		close(fd);
	return path;
}

static void read_cache(pam_handle_t *pamh, const char *path, time_t now, struct cached *c)
{
	char *text = NULL;
	size_t len = 0;
	time_t at = 0;
	struct stat st;
	int rc;

	c->n = -1;
	rc = gotrue_read_file(pamh, path, GOTRUE_FILE_SECRET, CACHE_MAX_SIZE, &text, &len);
	if (rc != 0 && rc != -ENOENT)
		gotrue_log(pamh, LOG_WARNING, "not using the cached key set; path=%s", path);
	if (rc != 0)
		goto cleanup;
	c->n = gotrue_jwks_cache_parse(text, len, &at, &c->max_age, &c->keys);
	if (c->n < 0) {
		gotrue_log(pamh, LOG_WARNING, "the cached key set is malformed; path=%s", path);
		goto cleanup;
	}
	/* A plain set put there by another tool: its age is the file's. */
	if (at == 0 && stat(path, &st) == 0)
		at = st.st_mtime;
	if (c->max_age < 0)
		c->max_age = GOTRUE_JWKS_DEFAULT_MAX_AGE;
	c->age = now >= at ? (long)(now - at) : 0;
	/* Fetched "in the future": the clock went back since. Its true age is unknown, so it is
	 * stale, usable only while the server cannot be had. */
	if (at > now + GOTRUE_JWKS_REFETCH_EVERY)
		c->age = c->max_age + 1;
	if (c->age > c->max_age + GOTRUE_JWKS_STALE_FOR)
		cached_clear(c);
cleanup:
	gotrue_wipe_free(text, len + 1);
}

/* Whether a request was made less than GOTRUE_JWKS_REFETCH_EVERY ago. The mark only holds
 * requests back, never grants anything; one owned by another user is ignored. */
static bool tried_lately(const char *path, time_t now)
{
	struct stat st;

	return path != NULL && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (st.st_uid == 0 || st.st_uid == geteuid()) && st.st_mtime <= now &&
	       now - st.st_mtime < GOTRUE_JWKS_REFETCH_EVERY;
}

static void mark_tried(const char *path)
{
	const int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int fd = -1;

	if (path != NULL)
		fd = open(path, flags, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

/* --- fetching ------------------------------------------------------------------------------ */

/* What GET jwks_url gave: the document (for the cache), its keys and its lifetime. */
struct fetched {
	json_object *doc;
	struct gotrue_jwk *keys;
	int n;
	long max_age;
};

static void fetched_clear(struct fetched *f)
{
	json_object_put(f->doc);
	gotrue_jwks_free(f->keys, f->n < 0 ? 0 : f->n);
	memset(f, 0, sizeof(*f));
	f->n = -1;
}

static int fetch_set(const struct gotrue_config *cfg, struct gotrue_client *c, struct fetched *f,
		     struct gotrue_error *err)
{
	struct gotrue_http_response resp = {0};
	struct gotrue_http *h = gotrue_client_http(c);

	memset(f, 0, sizeof(*f));
	f->n = -1;
	if (!h || !cfg->jwks_url) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "no jwks_url or no http handle for it");
		goto cleanup;
	}
	if (gotrue_http_request(h, "GET", cfg->jwks_url, NULL, NULL, &resp, err) != 0)
		goto cleanup;
	/* A server that fails, or asks for fewer requests, is an outage; any other answer than a
	 * key set means jwks_url names something else than the server's GET
	 * /.well-known/jwks.json. */
	if (resp.status >= 500 || resp.status == 429) {
		gotrue_error_decode(err, resp.status, resp.error_code, resp.body, resp.body_len);
		goto cleanup;
	}
	if (resp.status < 200 || resp.status > 299) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "jwks_url answers HTTP %ld, not a key set",
				 resp.status);
		goto cleanup;
	}
	f->doc = gotrue_json_parse_object(resp.body, resp.body_len, GOTRUE_JWKS_MAX_SIZE);
	f->n = f->doc ? gotrue_jwks_from_object(f->doc, &f->keys) : -1;
	if (f->n < 0)
		gotrue_error_set(err, GOTRUE_ERR_CONFIG,
				 "jwks_url answers something else than a JWK set");
	f->max_age = resp.cache_control ? gotrue_cache_control_max_age(resp.cache_control) : -1;
	if (f->max_age < 0)
		f->max_age = GOTRUE_JWKS_DEFAULT_MAX_AGE;
cleanup:
	gotrue_http_response_clear(&resp);
	return f->n;
}

/* The fetched set into the cache file, with when and for how long; a failure costs the next
 * login a request, nothing more. */
static void keep_set(pam_handle_t *pamh, const char *path, struct fetched *f, time_t now)
{
	const char *text;
	int rc = -ENOMEM;

	json_object_object_add(f->doc, "fetched_at", json_object_new_int64((int64_t)now));
	json_object_object_add(f->doc, "max_age", json_object_new_int64(f->max_age));
	text = json_object_to_json_string_ext(f->doc, JSON_C_TO_STRING_PLAIN);
	if (text != NULL)
		rc = gotrue_replace_file(path, text, strlen(text), 0600);
	if (rc != 0)
		gotrue_log(pamh, LOG_WARNING, "cannot keep the key set; path=%s error=%s", path,
			   strerror(-rc));
}

/* --- the keys for a login ------------------------------------------------------------------ */

static bool has_kid(const struct cached *c, const char *kid)
{
	bool found = kid == NULL;
	int i;

	for (i = 0; i < c->n && !found; i++)
		found = c->keys[i].kid != NULL && strcmp(c->keys[i].kid, kid) == 0;
	return found;
}

/* The cached set into *@keys. */
static int take_cached(struct cached *c, struct gotrue_jwk **keys)
{
	int n = c->n;

	*keys = c->keys;
	c->keys = NULL;
	c->n = -1;
	return n;
}

/* GET jwks_url; a set with a usable key is kept in @path (may be NULL). */
static int fetch_and_keep(pam_handle_t *pamh, const struct gotrue_config *cfg,
			  struct gotrue_client *c, const char *path, time_t now,
			  struct gotrue_jwk **keys, struct gotrue_error *err)
{
	struct fetched f;
	int n = fetch_set(cfg, c, &f, err);

	if (n > 0 && path != NULL)
		keep_set(pamh, path, &f, now);
	*keys = f.keys;
	f.keys = NULL;
	f.n = -1;
	fetched_clear(&f);
	return n;
}

int gotrue_jwks_fetch(const struct gotrue_config *cfg, struct gotrue_client *c,
		      struct gotrue_jwk **keys, struct gotrue_error *err)
{
	return fetch_and_keep(NULL, cfg, c, NULL, 0, keys, err);
}

int gotrue_jwks_get(pam_handle_t *pamh, const struct gotrue_config *cfg, struct gotrue_client *c,
		    const char *kid, struct gotrue_jwk **keys, struct gotrue_error *err)
{
	struct cached cache = {.n = -1};
	char *path = state_path(pamh, cfg, GOTRUE_JWKS_CACHE_FILE);
	char *attempt = state_path(pamh, cfg, ATTEMPT_FILE);
	char why[GOTRUE_ERROR_CODE_MAX + GOTRUE_ERROR_MSG_MAX + 32];
	time_t now = time(NULL);
	int n = -1;

	*keys = NULL;
	if (path != NULL)
		read_cache(pamh, path, now, &cache);
	if (cache.n >= 0 && cache.age <= cache.max_age && has_kid(&cache, kid)) {
		n = take_cached(&cache, keys);
		goto cleanup;
	}
	if (cache.n >= 0 && tried_lately(attempt, now)) {
		/* An unknown kid gets no new request until the last one is old enough: the
		 * token is then verified against the keys in hand, and refused. */
		if (cache.age > cache.max_age)
			gotrue_log(pamh, LOG_WARNING,
				   "using a stale key set: jwks_url failed less than %lds ago; "
				   "age=%lds max_age=%lds",
				   GOTRUE_JWKS_REFETCH_EVERY, cache.age, cache.max_age);
		n = take_cached(&cache, keys);
		goto cleanup;
	}
	if (cache.n >= 0)
		mark_tried(attempt);
	n = fetch_and_keep(pamh, cfg, c, path, now, keys, err);
	/* A set without a usable key is no better than none: the kept one goes on serving. */
	if (n == 0 && cache.n >= 0) {
		gotrue_jwks_free(*keys, 0);
		*keys = NULL;
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "it answers a set without a usable key");
	}
	if (n <= 0 && cache.n >= 0) {
		gotrue_log(pamh, LOG_WARNING,
			   "using a %s key set: jwks_url cannot be had (%s); age=%lds max_age=%lds",
			   cache.age > cache.max_age ? "stale" : "cached",
			   gotrue_error_str(err, why, sizeof(why)), cache.age, cache.max_age);
		gotrue_error_clear(err);
		n = take_cached(&cache, keys);
	}
cleanup:
	cached_clear(&cache);
	free(path);
	free(attempt);
	return n;
}
