/* owner: whether NSS's answer for a login name is this module's own cache entry (owner.h).
 *
 * The question is asked of NSS as a whole, once per name, not of /etc/passwd: a system user that
 * a package creates, an LDAP or SSSD account, a systemd dynamic user all make a name another
 * source's, and reading one file would miss all but the first. The answer is compared with the
 * entry the NSS module itself serves, read through the libc-only cache reader, so that "ours" is
 * proved and never assumed: when the cache cannot be read, nothing is ours. */
#include <config.h>

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "owner.h"

/* getpwnam_r's buffer: most entries fit on the stack; a larger one (a long GECOS from LDAP)
 * doubles on ERANGE up to this cap, past which the lookup is an error (fail safe). */
#define OWNER_BUF_STACK 4096
#define OWNER_BUF_MAX	(1024 * 1024)

/* getpwnam(3): "0 or ENOENT or ESRCH or EBADF or EPERM or ...: the given name was not found".
 * glibc passes an NSS module's errno up when its status is UNAVAIL, as ours is without a cache. */
static bool not_found(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

/* The cache's entry for pw->pw_name, compared with what NSS answered. */
static enum gotrue_owner compare(struct gotrue_cache *cache, const struct passwd *pw)
{
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw r;
	enum gotrue_owner own = GOTRUE_OWNER_OTHER;

	if (cache == NULL || gotrue_cache_acquire(cache, &v) != GOTRUE_CACHE_OK)
		return own;
	if (gotrue_cache_getpwnam(v, pw->pw_name, &r) == GOTRUE_CACHE_OK &&
	    strcmp(r.name, pw->pw_name) == 0 && r.uid == (uint32_t)pw->pw_uid &&
	    r.gid == (uint32_t)pw->pw_gid && strcmp(r.dir, pw->pw_dir ? pw->pw_dir : "") == 0 &&
	    strcmp(r.shell, pw->pw_shell ? pw->pw_shell : "") == 0)
		own = GOTRUE_OWNER_OURS;
	gotrue_cache_release(cache);
	return own;
}

enum gotrue_owner gotrue_owner_of(struct gotrue_cache *cache, const char *name, int *nss_errno)
{
	char stack[OWNER_BUF_STACK], *heap = NULL, *buf = stack, *grown;
	size_t len = sizeof(stack);
	struct passwd pwbuf, *pw = NULL;
	enum gotrue_owner own = GOTRUE_OWNER_ERROR;
	int e;

	if (nss_errno != NULL)
		*nss_errno = 0;
	while ((e = getpwnam_r(name, &pwbuf, buf, len, &pw)) == ERANGE && len < OWNER_BUF_MAX) {
		len *= 2;
		grown = realloc(heap, len);
		if (grown == NULL) {
			e = ENOMEM;
			break;
		}
		heap = buf = grown;
	}
	if (pw != NULL && e == 0)
		own = compare(cache, pw);
	else if (not_found(e))
		own = GOTRUE_OWNER_NONE;
	else if (nss_errno != NULL)
		*nss_errno = e;
	free(heap);
	return own;
}

enum gotrue_owner gotrue_owner_of_name(const char *name, int *nss_errno)
{
	struct gotrue_cache cache;
	enum gotrue_owner own;

	gotrue_cache_init(&cache, GOTRUE_NSS_CACHE_PATH);
	own = gotrue_owner_of(&cache, name, nss_errno);
	gotrue_cache_destroy(&cache);
	return own;
}
