/* cache: reading the NSS cache (libgotrue-cache-reader, libc only). The format is in
 * cache_format.h; building and replacing the file is cache_writer.h's.
 *
 * Reader: a struct gotrue_cache names a path and keeps its mapping across calls, and maps the
 * path again when the file changes:
 *   - at once when the mapped file's stale word is set (our writer sets it in the old file right
 *     after renaming the new one in: gotrue_cache_replace), seen by one load from the mapping;
 *   - otherwise within GOTRUE_CACHE_RECHECK_MS, by a stat() of the path compared with the mapped
 *     file's device, inode, size and mtime (a file put there by anything else: cp, a restore).
 * The returned view stays valid, and unchanged, until gotrue_cache_release(); several threads may
 * hold views at once. */
#ifndef GOTRUE_CACHE_H
#define GOTRUE_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cache_format.h"

/* The cache libnss_gotrue.so.2 reads, fixed at build time (configure --with-statedir): no
 * process that loads the module, setuid ones included, can point it elsewhere. PAM and sync
 * compare NSS's answers with this file (owner.h). */
#define GOTRUE_NSS_CACHE_PATH GOTRUE_STATEDIR "/nss.cache"

enum gotrue_cache_status {
	GOTRUE_CACHE_OK = 0,
	GOTRUE_CACHE_NOTFOUND,
	GOTRUE_CACHE_UNAVAIL, /* missing, unreadable, corrupt, truncated or foreign */
};

/* A read-only view of one cache file whose header and section bounds gotrue_cache_parse() has
 * checked; each lookup checks the entries and records it reads (cache_reader.c), so that no
 * lookup on it reads outside @base or answers from corrupt data. */
struct gotrue_cache_view {
	const unsigned char *base;
	size_t len;
	const struct gotrue_cache_header *hdr;
	const char *strings;
	uint32_t strings_len;
	const struct gotrue_cache_pw_rec *pw;
	const struct gotrue_cache_gr_rec *gr;
	const uint32_t *members;
	uint32_t n_members;
	const uint32_t *user_gids;
	uint32_t n_user_gids;
	const struct gotrue_cache_idx *pw_name, *pw_uid, *gr_name, *gr_gid;
};

/* Neutral results: pointers into the view, valid while it is held. */
struct gotrue_cache_pw {
	const char *name, *gecos, *dir, *shell;
	uint32_t uid, gid;
	const uint32_t *gids; /* supplementary gids, for initgroups */
	uint32_t n_gids;
	uint32_t rec;
};

struct gotrue_cache_gr {
	const char *name;
	uint32_t gid;
	const uint32_t *members; /* string offsets: gotrue_cache_member() */
	uint32_t n_members;
	uint32_t rec;
};

/* Check what a file image needs before any lookup, in O(1): alignment, the header (its check,
 * magic, version, sizes, the stale word), that every section lies inside the image, and the
 * counts; fill @view. GOTRUE_CACHE_OK or GOTRUE_CACHE_UNAVAIL. @buf must be 8-byte aligned
 * (mmap'd or malloc'd). The rest of the file is checked by the lookups as they read it, and all
 * of it by gotrue_cache_verify() (cache_verify.h). */
enum gotrue_cache_status gotrue_cache_parse(const void *buf, size_t len,
					    struct gotrue_cache_view *view);
/* The same, with *@why set to what is wrong (a static string) on UNAVAIL, NULL on OK. */
enum gotrue_cache_status gotrue_cache_parse_why(const void *buf, size_t len,
						struct gotrue_cache_view *view, const char **why);

/* Lookups: OK with @out filled, NOTFOUND, or UNAVAIL when what the lookup reads is corrupt. */
enum gotrue_cache_status gotrue_cache_getpwnam(const struct gotrue_cache_view *v, const char *name,
					       struct gotrue_cache_pw *out);
enum gotrue_cache_status gotrue_cache_getpwuid(const struct gotrue_cache_view *v, uint32_t uid,
					       struct gotrue_cache_pw *out);
/* Record @rec in file order (enumeration); NOTFOUND past the end, UNAVAIL if it is corrupt. */
enum gotrue_cache_status gotrue_cache_getpwent(const struct gotrue_cache_view *v, uint32_t rec,
					       struct gotrue_cache_pw *out);
enum gotrue_cache_status gotrue_cache_getgrnam(const struct gotrue_cache_view *v, const char *name,
					       struct gotrue_cache_gr *out);
enum gotrue_cache_status gotrue_cache_getgrgid(const struct gotrue_cache_view *v, uint32_t gid,
					       struct gotrue_cache_gr *out);
enum gotrue_cache_status gotrue_cache_getgrent(const struct gotrue_cache_view *v, uint32_t rec,
					       struct gotrue_cache_gr *out);
const char *gotrue_cache_member(const struct gotrue_cache_view *v, const struct gotrue_cache_gr *gr,
				uint32_t i);

/* The mapping kept across calls. Initialise with GOTRUE_CACHE_INIT(path) or gotrue_cache_init. */
struct gotrue_cache {
	pthread_rwlock_t lock;
	const char *path;
	void *map;
	size_t map_len;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool valid;
	struct gotrue_cache_view view;
	/* CLOCK_MONOTONIC_COARSE in ms (wrapping) when the path was last found to name the mapped
	 * file; written under the read lock by whichever thread rechecks, hence atomic. */
	uint32_t checked_ms;
};
/* How long a replacement not made by gotrue_cache_replace() may go unnoticed. */
#define GOTRUE_CACHE_RECHECK_MS 1000u
#define GOTRUE_CACHE_INIT(p)                                                                       \
	{                                                                                          \
		.lock = PTHREAD_RWLOCK_INITIALIZER, .path = (p)                                    \
	}

void gotrue_cache_init(struct gotrue_cache *c, const char *path);
/* Unmap; the struct may be used again. */
void gotrue_cache_destroy(struct gotrue_cache *c);

/* Take a read lock on a fresh view. OK with *view set (call gotrue_cache_release() after), or
 * UNAVAIL with nothing held. */
enum gotrue_cache_status gotrue_cache_acquire(struct gotrue_cache *c,
					      const struct gotrue_cache_view **view);
void gotrue_cache_release(struct gotrue_cache *c);

#endif
