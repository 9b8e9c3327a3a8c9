/* owner: which account source answers for a login name. A name that the system's NSS (files,
 * LDAP, SSSD, systemd...) resolves to an account other than this module's own cache entry is
 * not a GoTrue user of this host, whatever the account index or the server say: PAM never sends
 * its password to GoTrue, and sync leaves it out (DESIGN.md "Admission"). */
#ifndef GOTRUE_OWNER_H
#define GOTRUE_OWNER_H

#include <stdbool.h>

#include "cache.h"

enum gotrue_owner {
	GOTRUE_OWNER_NONE,  /* no account source knows the name */
	GOTRUE_OWNER_OURS,  /* NSS answers with this module's cache entry, field for field */
	GOTRUE_OWNER_OTHER, /* another source's account, or one not provably ours */
	GOTRUE_OWNER_ERROR, /* NSS failed: nobody can tell (callers treat it as OTHER) */
};

/* Ask NSS once (getpwnam_r) who @name is, and compare its answer with @cache's own entry for the
 * name: name, uid, gid, home and shell. @cache is the cache the NSS module reads (in production
 * GOTRUE_NSS_CACHE_PATH); a cache that is missing or unreadable proves nothing ours, so any
 * answer is then OTHER. Thread-safe. *@nss_errno (may be NULL) gets getpwnam_r's error for
 * GOTRUE_OWNER_ERROR. */
enum gotrue_owner gotrue_owner_of(struct gotrue_cache *cache, const char *name, int *nss_errno);

/* The same with a cache mapped for this one call, at the NSS module's own path. */
enum gotrue_owner gotrue_owner_of_name(const char *name, int *nss_errno);

/* The same question for many names. With @list, and only sources in nsswitch.conf that
 * enumerate what they resolve (owner.c says which and why), NSS is enumerated once here and each
 * name is then a lookup in that list, answering OTHER or NONE (for NONE and OURS alike); else
 * each gotrue_owners_of() is a gotrue_owner_of(). @list enumerates the process's NSS: not in a
 * PAM caller. @nsswitch_path: NULL for /etc/nsswitch.conf. NULL on ENOMEM. */
struct gotrue_owners;
struct gotrue_owners *gotrue_owners_new(const char *cache_path, const char *nsswitch_path,
					bool list);
enum gotrue_owner gotrue_owners_of(struct gotrue_owners *o, const char *name);
void gotrue_owners_free(struct gotrue_owners *o);

#endif
