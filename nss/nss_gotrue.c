/* nss_gotrue: the glibc NSS entry points for passwd, group and initgroups, answered from the
 * cache that `gotruectl sync` writes (lib/cache/reader/cache_reader.c), passwd and initgroups
 * with the per-user overlays logins write beside it until the next sync (overlay.h). No network, no
 * config parsing, no call back into NSS: this module runs inside every process that resolves a user
 * name. Status/errno pairs follow the glibc manual ("NSS Modules Interface"): found SUCCESS; not
 * found NOTFOUND/ENOENT; buffer too small TRYAGAIN/ERANGE; cache missing or corrupt UNAVAIL/ENOENT.
 */
#include <config.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cache.h"
#include "overlay.h"
#include "pack.h"

/* The declarations glibc expects; repeated here so -Wmissing-prototypes holds. */
enum nss_status _nss_gotrue_getpwnam_r(const char *, struct passwd *, char *, size_t, int *);
enum nss_status _nss_gotrue_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
enum nss_status _nss_gotrue_setpwent(int);
enum nss_status _nss_gotrue_getpwent_r(struct passwd *, char *, size_t, int *);
enum nss_status _nss_gotrue_endpwent(void);
enum nss_status _nss_gotrue_getgrnam_r(const char *, struct group *, char *, size_t, int *);
enum nss_status _nss_gotrue_getgrgid_r(gid_t, struct group *, char *, size_t, int *);
enum nss_status _nss_gotrue_setgrent(int);
enum nss_status _nss_gotrue_getgrent_r(struct group *, char *, size_t, int *);
enum nss_status _nss_gotrue_endgrent(void);
enum nss_status _nss_gotrue_initgroups_dyn(const char *, gid_t, long int *, long int *, gid_t **,
					   long int, int *);

static char cache_path[PATH_MAX] = GOTRUE_NSS_CACHE_PATH;
static pthread_once_t path_once = PTHREAD_ONCE_INIT;
static struct gotrue_cache cache = GOTRUE_CACHE_INIT(cache_path);
/* A login's per-user overlay beside the cache (overlay.h); empty: none. */
static char overlay_dir[PATH_MAX];

/* Enumeration positions, behind one mutex. */
static pthread_mutex_t ent_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t pw_pos, gr_pos;

/* Only the test suite's own copy of the module (tests/nss/local.mk builds it with
 * GOTRUE_NSS_TEST_BUILD) can be pointed at a fixture cache. The installed module has no such
 * code: the cache it reads is a fact of the build, not of any process's environment, so neither
 * a daemon started with a stray variable nor a user of a setuid program can swap it, and PAM's
 * "is this name ours" (lib/directory/owner.c) asks about the very file NSS answers from. */
static void path_init(void)
{
#ifdef GOTRUE_NSS_TEST_BUILD
	const char *p = secure_getenv("NSS_GOTRUE_CACHE");

	if (p != NULL && p[0] == '/' && strlen(p) < sizeof(cache_path))
		strcpy(cache_path, p);
#endif
	if (gotrue_overlay_dir(cache_path, overlay_dir, sizeof(overlay_dir)) != 0)
		overlay_dir[0] = '\0';
}

/* The one place a cache status and a pack result become an NSS status and errno. */
static enum nss_status finish(enum gotrue_cache_status st, int pack_rc, int *errnop)
{
	switch (st) {
	case GOTRUE_CACHE_OK:
		if (pack_rc == ERANGE) {
			*errnop = ERANGE;
			return NSS_STATUS_TRYAGAIN;
		}
		return NSS_STATUS_SUCCESS;
	case GOTRUE_CACHE_NOTFOUND:
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	default:
		*errnop = ENOENT;
		return NSS_STATUS_UNAVAIL;
	}
}

/* Look up with @lookup under a fresh view and pack the answer; @key is a name or an id. */
enum kind { BY_NAME, BY_ID, BY_POS };

static enum nss_status get_pw(enum kind k, const char *name, uint32_t id, struct passwd *pw,
			      char *buf, size_t len, int *errnop)
{
	const struct gotrue_cache_view *v;
	const char *od;
	struct gotrue_cache_pw r;
	struct gotrue_overlay_pw ov;
	enum gotrue_cache_status st;
	int prc = 0;

	pthread_once(&path_once, path_init);
	od = overlay_dir[0] != '\0' ? overlay_dir : NULL;
	st = gotrue_overlay_acquire(&cache, &v);
	if (st != GOTRUE_CACHE_OK)
		return finish(st, 0, errnop);
	st = k == BY_NAME ? gotrue_overlay_getpwnam(v, od, name, &r, &ov)
	     : k == BY_ID ? gotrue_overlay_getpwuid(v, od, id, &r, &ov)
	     : v != NULL  ? gotrue_cache_getpwent(v, id, &r)
			  : GOTRUE_CACHE_NOTFOUND;
	if (st == GOTRUE_CACHE_OK)
		prc = gotrue_pack_passwd(&r, pw, buf, len);
	gotrue_overlay_release(&cache, v);
	return finish(st, prc, errnop);
}

static enum nss_status get_gr(enum kind k, const char *name, uint32_t id, struct group *gr,
			      char *buf, size_t len, int *errnop)
{
	const struct gotrue_cache_view *v;
	struct gotrue_cache_gr r;
	enum gotrue_cache_status st;
	int prc = 0;

	pthread_once(&path_once, path_init);
	st = gotrue_cache_acquire(&cache, &v);
	if (st != GOTRUE_CACHE_OK)
		return finish(st, 0, errnop);
	st = k == BY_NAME ? gotrue_cache_getgrnam(v, name, &r)
	     : k == BY_ID ? gotrue_cache_getgrgid(v, id, &r)
			  : gotrue_cache_getgrent(v, id, &r);
	if (st == GOTRUE_CACHE_OK)
		prc = gotrue_pack_group(v, &r, gr, buf, len);
	gotrue_cache_release(&cache);
	return finish(st, prc, errnop);
}

enum nss_status _nss_gotrue_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
				       int *errnop)
{
	return get_pw(BY_NAME, name, 0, pw, buf, len, errnop);
}

enum nss_status _nss_gotrue_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
				       int *errnop)
{
	return get_pw(BY_ID, NULL, (uint32_t)uid, pw, buf, len, errnop);
}

enum nss_status _nss_gotrue_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
				       int *errnop)
{
	return get_gr(BY_NAME, name, 0, gr, buf, len, errnop);
}

enum nss_status _nss_gotrue_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
				       int *errnop)
{
	return get_gr(BY_ID, NULL, (uint32_t)gid, gr, buf, len, errnop);
}

/* --- Enumeration: the position advances only on SUCCESS, so ERANGE retries the same entry. --- */

enum nss_status _nss_gotrue_setpwent(int stayopen)
{
	pthread_mutex_lock(&ent_lock);
	pw_pos = 0;
	pthread_mutex_unlock(&ent_lock);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_gotrue_endpwent(void)
{
	return _nss_gotrue_setpwent(0);
}

enum nss_status _nss_gotrue_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop)
{
	enum nss_status rc;

	pthread_mutex_lock(&ent_lock);
	rc = get_pw(BY_POS, NULL, pw_pos, pw, buf, len, errnop);
	if (rc == NSS_STATUS_SUCCESS)
		pw_pos++;
	pthread_mutex_unlock(&ent_lock);
	return rc;
}

enum nss_status _nss_gotrue_setgrent(int stayopen)
{
	pthread_mutex_lock(&ent_lock);
	gr_pos = 0;
	pthread_mutex_unlock(&ent_lock);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_gotrue_endgrent(void)
{
	return _nss_gotrue_setgrent(0);
}

enum nss_status _nss_gotrue_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop)
{
	enum nss_status rc;

	pthread_mutex_lock(&ent_lock);
	rc = get_gr(BY_POS, NULL, gr_pos, gr, buf, len, errnop);
	if (rc == NSS_STATUS_SUCCESS)
		gr_pos++;
	pthread_mutex_unlock(&ent_lock);
	return rc;
}

/* --- initgroups: append the user's supplementary gids to glibc's growing array. --- */

static int add_gid(gid_t gid, gid_t skip, long int *start, long int *size, gid_t **groupsp,
		   long int limit)
{
	long int i, nsize;
	gid_t *ng;

	if (gid == skip)
		return 0;
	for (i = 0; i < *start; i++) {
		if ((*groupsp)[i] == gid)
			return 0;
	}
	if (limit > 0 && *start >= limit)
		return 0; /* glibc's limit: silently stop, as nss_files does */
	if (*start == *size) {
		nsize = *size ? 2 * *size : 16;
		if (limit > 0 && nsize > limit)
			nsize = limit;
		ng = realloc(*groupsp, (size_t)nsize * sizeof(gid_t));
		if (ng == NULL)
			return ENOMEM;
		*groupsp = ng;
		*size = nsize;
	}
	(*groupsp)[(*start)++] = gid;
	return 0;
}

enum nss_status _nss_gotrue_initgroups_dyn(const char *user, gid_t group, long int *start,
					   long int *size, gid_t **groupsp, long int limit,
					   int *errnop)
{
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw r;
	struct gotrue_overlay_pw ov;
	enum gotrue_cache_status st;
	enum nss_status rc;
	uint32_t i;
	int err = 0;

	pthread_once(&path_once, path_init);
	st = gotrue_overlay_acquire(&cache, &v);
	if (st != GOTRUE_CACHE_OK)
		return finish(st, 0, errnop);
	st = gotrue_overlay_getpwnam(v, overlay_dir[0] != '\0' ? overlay_dir : NULL, user, &r, &ov);
	for (i = 0; st == GOTRUE_CACHE_OK && err == 0 && i < r.n_gids; i++)
		err = add_gid(r.gids[i], group, start, size, groupsp, limit);
	gotrue_overlay_release(&cache, v);
	if (err != 0) {
		*errnop = err;
		rc = NSS_STATUS_TRYAGAIN;
	} else {
		rc = finish(st, 0, errnop);
	}
	return rc;
}
