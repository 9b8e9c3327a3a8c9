/* cache: reading the NSS cache (libgotrue-cache, libc only) and, for the programs that link
 * libgotrue, building and writing it. The format is in cache_format.h.
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

struct gotrue_replacement; /* secure.h */

/* The cache libnss_gotrue.so.2 reads, fixed at build time (configure --with-statedir): no
 * process that loads the module, setuid ones included, can point it elsewhere. PAM and sync
 * compare NSS's answers with this file (owner.h). */
#define GOTRUE_NSS_CACHE_PATH GOTRUE_STATEDIR "/nss.cache"

enum gotrue_cache_status {
	GOTRUE_CACHE_OK = 0,
	GOTRUE_CACHE_NOTFOUND,
	GOTRUE_CACHE_UNAVAIL, /* missing, unreadable, corrupt, truncated or foreign */
};

/* A validated, read-only view of one cache file: every offset, length and count inside it has
 * been checked by gotrue_cache_parse(), so lookups on it never read outside @base. */
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

/* Check a whole file image (alignment, header, checksum, every section, record, string offset,
 * slice and index) and fill @view. GOTRUE_CACHE_OK or GOTRUE_CACHE_UNAVAIL. @buf must be 8-byte
 * aligned (mmap'd or malloc'd). The fuzz target. */
enum gotrue_cache_status gotrue_cache_parse(const void *buf, size_t len,
					    struct gotrue_cache_view *view);

enum gotrue_cache_status gotrue_cache_getpwnam(const struct gotrue_cache_view *v, const char *name,
					       struct gotrue_cache_pw *out);
enum gotrue_cache_status gotrue_cache_getpwuid(const struct gotrue_cache_view *v, uint32_t uid,
					       struct gotrue_cache_pw *out);
/* Record @rec in file order (enumeration); NOTFOUND past the end. */
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

/* --- Writer (libgotrue only: lib/cache_writer.c) ------------------------------------------- */
struct gotrue_cache_builder;

struct gotrue_cache_builder *gotrue_cache_builder_new(void);
void gotrue_cache_builder_free(struct gotrue_cache_builder *b);
/* Strings are copied. @gids: supplementary gids (not the primary one). 0 or -1 (ENOMEM, or a
 * duplicate name/uid, which the mapping must have ruled out already). */
int gotrue_cache_builder_add_user(struct gotrue_cache_builder *b, const char *name, uint32_t uid,
				  uint32_t gid, const char *gecos, const char *dir,
				  const char *shell, const uint32_t *gids, size_t n_gids);
int gotrue_cache_builder_add_group(struct gotrue_cache_builder *b, const char *name, uint32_t gid,
				   const char *const *members, size_t n_members);
/* Strings ahead of the entries: a sync interns each user's strings as the listing arrives, and
 * adds the entries by offset once the set is settled. *@off is @s's offset in the string table
 * (0 or -1). A string interned ahead that no entry references in the end (a user left out) is
 * zeroed by finish, so that the file keeps nothing of it. */
int gotrue_cache_builder_intern(struct gotrue_cache_builder *b, const char *s, uint32_t *off);
/* Room for @n_users users with @n_gids supplementary gids in all, and @n_groups groups with
 * @n_members members in all, made at once rather than by doubling as entries come. 0 or -1. */
int gotrue_cache_builder_reserve(struct gotrue_cache_builder *b, size_t n_users, size_t n_gids,
				 size_t n_groups, size_t n_members);
/* As add_user / add_group, with string offsets from gotrue_cache_builder_intern(). */
int gotrue_cache_builder_add_user_at(struct gotrue_cache_builder *b, uint32_t name, uint32_t uid,
				     uint32_t gid, uint32_t gecos, uint32_t dir, uint32_t shell,
				     const uint32_t *gids, size_t n_gids);
int gotrue_cache_builder_add_group_at(struct gotrue_cache_builder *b, uint32_t name, uint32_t gid,
				      const uint32_t *members, size_t n_members);
/* Serialise into a malloc'd image (free()). 0 or -1. The builder's parts are released as they
 * are copied, so that the image and the builder are never whole at once: after finish, whatever
 * it returned, the builder takes no more entries (only gotrue_cache_builder_free()). */
int gotrue_cache_builder_finish(struct gotrue_cache_builder *b, uint64_t generated_at, void **out,
				size_t *out_len);
/* Serialise and replace @path with gotrue_cache_replace(). 0 or -errno. */
int gotrue_cache_builder_write(struct gotrue_cache_builder *b, const char *path);
/* Replace @path atomically with the image @data (gotrue_replace_file, mode 0644), then mark the
 * file it replaced stale so that every process that has it mapped maps the new one at its next
 * lookup. @data is written as given (the tests install corrupt images this way). Marking is best
 * effort: an old file that is not a cache of this version, or not ours, is left alone (readers
 * then notice by stat() within GOTRUE_CACHE_RECHECK_MS). 0 or -errno of the replacement. */
int gotrue_cache_replace(const char *path, const void *data, size_t len);
/* Its second half, for an image already written to a temp file with gotrue_replace_prepare()
 * (mode 0644): renames it in and marks the old file. Releases @r. 0 or -errno. */
int gotrue_cache_replace_commit(struct gotrue_replacement *r);

#endif
