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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay.h"
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

static bool same_entry(const struct gotrue_cache_pw *r, const struct passwd *pw)
{
	return strcmp(r->name, pw->pw_name) == 0 && r->uid == (uint32_t)pw->pw_uid &&
	       r->gid == (uint32_t)pw->pw_gid &&
	       strcmp(r->dir, pw->pw_dir ? pw->pw_dir : "") == 0 &&
	       strcmp(r->shell, pw->pw_shell ? pw->pw_shell : "") == 0;
}

/* The entry the NSS module serves for pw->pw_name, compared with what NSS answered: the cache's,
 * or where that differs (or is missing), the cache's with a login's overlay applied (overlay.h).
 * The cache first, so that a sync's enumeration opens no overlay file for an unchanged entry. */
static enum gotrue_owner compare(struct gotrue_cache *cache, const struct passwd *pw)
{
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw r;
	struct gotrue_overlay_pw ov;
	char dir[4096];
	enum gotrue_owner own = GOTRUE_OWNER_OTHER;

	if (cache == NULL || gotrue_overlay_acquire(cache, &v) != GOTRUE_CACHE_OK)
		return own;
	if ((v != NULL && gotrue_cache_getpwnam(v, pw->pw_name, &r) == GOTRUE_CACHE_OK &&
	     same_entry(&r, pw)) ||
	    (gotrue_overlay_dir(cache->path, dir, sizeof(dir)) == 0 &&
	     gotrue_overlay_getpwnam(v, dir, pw->pw_name, &r, &ov) == GOTRUE_CACHE_OK &&
	     same_entry(&r, pw)))
		own = GOTRUE_OWNER_OURS;
	gotrue_overlay_release(cache, v);
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

/* --- A whole sync ---------------------------------------------------------------------------
 * One getpwnam_r per name is what NSS semantics require in general: a source such as LDAP or
 * SSSD need not enumerate what it resolves, so only asking it proves a name is not its. But it
 * costs what the slowest source costs, for every name: nss_systemd alone looks for userdb
 * drop-in files on each call, which over 100k names costs many times the rest of a sync. Sources
 * that list everything they resolve need no such questions: /etc/passwd
 * ("files"), systemd's userdb and dynamic users ("systemd", whose getpwent lists both), and this
 * module ("gotrue"). When /etc/nsswitch.conf's passwd line names no other source, one
 * enumeration through glibc (setpwent/getpwent_r) collects every name whose entry is not this
 * module's own cache entry, and each name is then looked up in that sorted list. Any other
 * source, a line that cannot be read, or an enumeration that fails: one getpwnam_r per name.
 * Either way a name is ours only when no other source's entry carries it; with the list, a name
 * that an earlier source shadows is refused even where nsswitch.conf would put gotrue first,
 * which only errs towards the local account. */
struct gotrue_owners {
	struct gotrue_cache cache;
	char **foreign; /* sorted; NULL: ask getpwnam_r per name */
	size_t n_foreign, cap_foreign;
	bool listed;
};

static bool enumerable_source(const char *s, size_t n)
{
	return (n == 5 && memcmp(s, "files", 5) == 0) || (n == 7 && memcmp(s, "systemd", 7) == 0) ||
	       (n == 6 && memcmp(s, "gotrue", 6) == 0);
}

/* Whether nsswitch.conf's passwd line names only sources that enumerate what they resolve. */
static bool only_enumerable(const char *path)
{
	char line[1024], *p, *q;
	FILE *f = fopen(path, "re");
	bool found = false, only = true;
	size_t n;

	while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "passwd:", 7) != 0)
			continue;
		found = true;
		for (p += 7; only && *p != '\0' && *p != '#' && *p != '\n'; p = q) {
			p += strspn(p, " \t");
			if (*p == '[') { /* an action, [NOTFOUND=return] */
				q = strchr(p, ']');
				q = q != NULL ? q + 1 : p + strlen(p);
				continue;
			}
			n = strcspn(p, " \t\n#[");
			q = p + n;
			if (n > 0 && !enumerable_source(p, n))
				only = false;
		}
	}
	if (f != NULL)
		fclose(f);
	return found && only;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void foreign_free(struct gotrue_owners *o)
{
	size_t i;

	for (i = 0; i < o->n_foreign; i++)
		free(o->foreign[i]);
	free(o->foreign);
	o->foreign = NULL;
	o->n_foreign = o->cap_foreign = 0;
}

static int foreign_add(struct gotrue_owners *o, const char *name)
{
	char **grown;

	if (o->n_foreign == o->cap_foreign) {
		o->cap_foreign = o->cap_foreign ? o->cap_foreign * 2 : 64;
		grown = realloc(o->foreign, o->cap_foreign * sizeof(*grown));
		if (grown == NULL)
			return -1;
		o->foreign = grown;
	}
	o->foreign[o->n_foreign] = strdup(name);
	return o->foreign[o->n_foreign++] == NULL ? -1 : 0;
}

/* Every entry NSS enumerates that is not this module's cache entry. 0, or -1 (then the caller
 * asks per name). */
static int list_foreign(struct gotrue_owners *o)
{
	const size_t len = 64 * 1024;
	char *buf = malloc(len);
	struct passwd pwbuf, *pw;
	int e = ENOMEM, rc = -1;

	setpwent();
	while (buf != NULL && (e = getpwent_r(&pwbuf, buf, len, &pw)) == 0) {
		if (compare(&o->cache, pw) != GOTRUE_OWNER_OURS && foreign_add(o, pw->pw_name) != 0)
			goto cleanup;
	}
	/* ENOENT: the end. Anything else (ERANGE on a huge entry included) leaves it unproven. */
	if (e != ENOENT)
		goto cleanup;
	if (o->n_foreign > 0)
		qsort(o->foreign, o->n_foreign, sizeof(*o->foreign), by_name);
	rc = 0;
cleanup:
	endpwent();
	free(buf);
	if (rc != 0)
		foreign_free(o);
	return rc;
}

struct gotrue_owners *gotrue_owners_new(const char *cache_path, const char *nsswitch_path,
					bool list)
{
	struct gotrue_owners *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	gotrue_cache_init(&o->cache, cache_path);
	o->listed = list && only_enumerable(nsswitch_path ? nsswitch_path : "/etc/nsswitch.conf") &&
		    list_foreign(o) == 0;
	return o;
}

enum gotrue_owner gotrue_owners_of(struct gotrue_owners *o, const char *name)
{
	if (!o->listed)
		return gotrue_owner_of(&o->cache, name, NULL);
	if (o->n_foreign > 0 &&
	    bsearch(&name, o->foreign, o->n_foreign, sizeof(*o->foreign), by_name) != NULL)
		return GOTRUE_OWNER_OTHER;
	return GOTRUE_OWNER_NONE; /* no source but ours: NONE or OURS, which callers treat alike */
}

void gotrue_owners_free(struct gotrue_owners *o)
{
	if (o == NULL)
		return;
	foreign_free(o);
	gotrue_cache_destroy(&o->cache);
	free(o);
}
