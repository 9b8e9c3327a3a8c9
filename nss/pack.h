/* pack: copy a neutral cache result into the caller's buffer for struct passwd / struct group,
 * with one bump allocator, so that every entry point handles a short buffer the same way. */
#ifndef GOTRUE_NSS_PACK_H
#define GOTRUE_NSS_PACK_H

#include <grp.h>
#include <pwd.h>
#include <stddef.h>

#include "cache.h"

/* 0, or ERANGE when @buflen is too small (the caller retries with a larger buffer). */
int gotrue_pack_passwd(const struct gotrue_cache_pw *in, struct passwd *out, char *buf,
		       size_t buflen);
int gotrue_pack_group(const struct gotrue_cache_view *v, const struct gotrue_cache_gr *in,
		      struct group *out, char *buf, size_t buflen);

#endif
