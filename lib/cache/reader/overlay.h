/* overlay: the public half of a login's per-user overlay, read by the NSS module (libc only).
 *
 * A successful login whose account entry is new or changed does not rewrite the NSS cache (a
 * whole-file rewrite, O(n) in the users): it writes one small file per user into a directory
 * beside the cache, GOTRUE_OVERLAY_DIR, which the next sync removes once the cache holds the
 * same data. Each file is one line, "name:uid:gid:gecos:home:shell:gid,gid,...\n", root-owned
 * and not writable by group or others, at <dir>/<name> and, for getpwuid, the same content at
 * <dir>/uid/<uid>. A lookup opens the one file the key names: no directory is ever listed.
 *
 * An overlay adds a name and uid the cache does not hold, or changes the GECOS, home, shell and
 * groups of a name the cache holds with the same uid and gid; it never renumbers an account and
 * never takes a name or uid the cache gives another account. A file that is torn, foreign,
 * malformed or disagrees with its key is ignored, as if absent. */
#ifndef GOTRUE_OVERLAY_H
#define GOTRUE_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

#define GOTRUE_OVERLAY_DIR	"nss.overlay"
#define GOTRUE_OVERLAY_MAX_SIZE 2048 /* bytes in one file */
#define GOTRUE_OVERLAY_MAX_GIDS 64   /* supplementary groups in one file */

/* An overlay's entry: @pw points into @buf and @gids. */
struct gotrue_overlay_pw {
	struct gotrue_cache_pw pw;
	uint32_t gids[GOTRUE_OVERLAY_MAX_GIDS];
	char buf[GOTRUE_OVERLAY_MAX_SIZE + 1];
};

/* The overlay directory beside the cache file @cache_path, into @out (@len bytes). 0, or -1
 * when it does not fit. */
int gotrue_overlay_dir(const char *cache_path, char *out, size_t len);

/* No cache file at @cache_path at all (ENOENT): a host where logins came before any sync. The
 * overlays then answer alone (@v NULL below), and what they do not answer is UNAVAIL, as with a
 * missing cache before; a cache that is there but unreadable or corrupt fails every lookup. */
bool gotrue_overlay_no_cache(const char *cache_path);
/* gotrue_cache_acquire, but OK with *@v NULL where there is no cache file at all; release with
 * gotrue_overlay_release. */
enum gotrue_cache_status gotrue_overlay_acquire(struct gotrue_cache *c,
						const struct gotrue_cache_view **v);
void gotrue_overlay_release(struct gotrue_cache *c, const struct gotrue_cache_view *v);

/* What the NSS module answers: the cache's entry for @name (or @uid), with the overlay in @dir
 * applied as above; @v NULL: no cache file (gotrue_overlay_no_cache). The result points into @v
 * or into *@ov. */
enum gotrue_cache_status gotrue_overlay_getpwnam(const struct gotrue_cache_view *v, const char *dir,
						 const char *name, struct gotrue_cache_pw *r,
						 struct gotrue_overlay_pw *ov);
enum gotrue_cache_status gotrue_overlay_getpwuid(const struct gotrue_cache_view *v, const char *dir,
						 uint32_t uid, struct gotrue_cache_pw *r,
						 struct gotrue_overlay_pw *ov);

/* The overlay file at @dir/@rel, checked and parsed, without the cache: 0, 1 none, -1 ignored
 * (torn, malformed, foreign owner or mode). For PAM's writer and the tests. */
int gotrue_overlay_load(const char *dir, const char *rel, struct gotrue_overlay_pw *ov);

/* Parse one overlay file's bytes (@buf, @len <= GOTRUE_OVERLAY_MAX_SIZE; modified in place).
 * 0 or -1. The fuzz target. */
int gotrue_overlay_parse(char *buf, size_t len, struct gotrue_overlay_pw *ov);

#endif
