/* jwks_cache: the key set at jwks_url, kept on disk in <state_dir>/jwks.json (root, 0600) so that
 * a login does not fetch it every time, and an outage of that one endpoint does not stop logins.
 *
 * The file is a JWK set (RFC 7517 §5) with two more members, which §5 lets a set carry:
 * "fetched_at" (NumericDate: when its keys were read from the server; absent: the file's mtime)
 * and "max_age" (seconds they stay fresh from then; absent: 600). A plain JWK set put there by
 * another tool (gotruectl fetch installs the published one) is thus used as it is. */
#ifndef GOTRUE_JWKS_CACHE_H
#define GOTRUE_JWKS_CACHE_H

#include <stddef.h>
#include <time.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"
#include "gotrue_error.h"
#include "jwks.h"

#define GOTRUE_JWKS_CACHE_FILE "jwks.json"
/* GoTrue sends "Cache-Control: public, max-age=600"; the same when a server says nothing. */
#define GOTRUE_JWKS_DEFAULT_MAX_AGE 600L
/* A longer max-age counts as this: a key the server withdrew is dropped within a day. */
#define GOTRUE_JWKS_MAX_AGE_CAP (24L * 3600)
/* How long past its lifetime a set is still used while jwks_url cannot be had. */
#define GOTRUE_JWKS_STALE_FOR (24L * 3600)
/* At most one request in this many seconds while a cached set is in hand (an unknown kid, a
 * stale set whose refetch failed). */
#define GOTRUE_JWKS_REFETCH_EVERY 30L

struct gotrue_client;

/* The seconds of the max-age directive of a Cache-Control value (RFC 9111 §5.2.2.1), capped at
 * GOTRUE_JWKS_MAX_AGE_CAP; -1 when there is none or it is malformed. A fuzz target. */
long gotrue_cache_control_max_age(const char *value);

/* A cache file's bytes: the number of usable keys in *@keys (free with gotrue_jwks_free), or -1.
 * *@fetched_at is 0 and *@max_age -1 where the member is absent; a member of the wrong type or
 * out of range makes the whole file unusable. A fuzz target. */
int gotrue_jwks_cache_parse(const char *text, size_t len, time_t *fetched_at, long *max_age,
			    struct gotrue_jwk **keys);

/* GET cfg->jwks_url through @c, bypassing the cache (`gotruectl config check`). The number of
 * usable keys in *@keys, or -1 with @err: GOTRUE_ERR_CONFIG for an answer that is not a key set
 * (a 4xx, another document), the transport's or the server's error otherwise. */
int gotrue_jwks_fetch(const struct gotrue_config *cfg, struct gotrue_client *c,
		      struct gotrue_jwk **keys, struct gotrue_error *err);

/* The keys to verify a token whose header names @kid (NULL: none; read unverified, it only
 * decides whether to ask again): the cached set while it is fresh and has @kid; otherwise GET
 * jwks_url (at most once per GOTRUE_JWKS_REFETCH_EVERY while a cached set is in hand), keeping a
 * set with a usable key; and when that fails, a cached set up to GOTRUE_JWKS_STALE_FOR past its
 * lifetime (logged, with its age). Returns as gotrue_jwks_fetch. */
int gotrue_jwks_get(pam_handle_t *pamh, const struct gotrue_config *cfg, struct gotrue_client *c,
		    const char *kid, struct gotrue_jwk **keys, struct gotrue_error *err);

#endif
