/* cache_writer: building an NSS cache image (cache_format.h) and replacing the file by rename
 * (lib/cache/writer, libgotrue-cache-writer). Linked by the PAM module and gotruectl, never by
 * the NSS module, which includes only the reader's headers (lib/cache/reader). */
#ifndef GOTRUE_CACHE_WRITER_H
#define GOTRUE_CACHE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"

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
/* Replace @path atomically with the image @data (gotrue_replace_file, mode 0644), then mark the
 * file it replaced stale so that every process that has it mapped maps the new one at its next
 * lookup. @data is written as given (the tests install corrupt images this way). Marking is best
 * effort: an old file that is not a cache of this version, or not ours, is left alone (readers
 * then notice by stat() within GOTRUE_CACHE_RECHECK_MS). 0 or -errno of the replacement. */
int gotrue_cache_replace(const char *path, const void *data, size_t len);
#endif
