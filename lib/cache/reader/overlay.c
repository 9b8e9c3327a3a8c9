/* overlay: reading a login's public per-user overlay beside the NSS cache (overlay.h). libc
 * only: this runs inside every process that resolves a user name. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "overlay.h"

int gotrue_overlay_dir(const char *cache_path, char *out, size_t len)
{
	const char *slash = strrchr(cache_path, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - cache_path) : 0;
	int n;

	if (slash == NULL)
		return -1;
	n = snprintf(out, len, "%.*s/%s", (int)dlen, cache_path, GOTRUE_OVERLAY_DIR);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A decimal uint32, the whole of [s, end). */
static int parse_u32(const char *s, const char *end, uint32_t *out)
{
	uint64_t v = 0;

	if (s == end || end - s > 10)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_gids(const char *s, const char *end, struct gotrue_overlay_pw *ov)
{
	const char *comma;

	ov->pw.n_gids = 0;
	while (s < end) {
		comma = memchr(s, ',', (size_t)(end - s));
		if (comma == NULL)
			comma = end;
		if (ov->pw.n_gids == GOTRUE_OVERLAY_MAX_GIDS ||
		    parse_u32(s, comma, &ov->gids[ov->pw.n_gids]) != 0)
			return -1;
		ov->pw.n_gids++;
		s = comma < end ? comma + 1 : end;
	}
	ov->pw.gids = ov->gids;
	return 0;
}

int gotrue_overlay_parse(char *buf, size_t len, struct gotrue_overlay_pw *ov)
{
	char *f[7], *end;
	size_t i;

	memset(&ov->pw, 0, sizeof(ov->pw));
	/* One whole line: a file cut short has no final newline. */
	if (len == 0 || len > GOTRUE_OVERLAY_MAX_SIZE || buf[len - 1] != '\n' ||
	    memchr(buf, '\n', len - 1) != NULL || memchr(buf, '\0', len) != NULL)
		return -1;
	buf[len - 1] = '\0';
	f[0] = buf;
	for (i = 1; i < 7; i++) {
		f[i] = strchr(f[i - 1], ':');
		if (f[i] == NULL)
			return -1;
		*f[i]++ = '\0';
	}
	end = buf + len - 1;
	if (strchr(f[6], ':') != NULL || f[0][0] == '\0' || strlen(f[0]) > 32 ||
	    strchr(f[0], '/') != NULL || f[0][0] == '.' ||
	    parse_u32(f[1], f[2] - 1, &ov->pw.uid) != 0 ||
	    parse_u32(f[2], f[3] - 1, &ov->pw.gid) != 0 || parse_gids(f[6], end, ov) != 0)
		return -1;
	ov->pw.name = f[0];
	ov->pw.gecos = f[3];
	ov->pw.dir = f[4];
	ov->pw.shell = f[5];
	return 0;
}

/* The file's bytes: a regular file, root's (or the caller's, for tests run as a user), not
 * writable by group or others, as the cache itself must be. 0, 1 none, -1 refused. */
static int read_small(const char *path, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 1 : -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 0022) != 0 ||
	    st.st_size <= 0 || (size_t)st.st_size > cap)
		goto cleanup;
	while (*len < (size_t)st.st_size) {
		n = read(fd, buf + *len, (size_t)st.st_size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto cleanup;
		*len += (size_t)n;
	}
	rc = 0;
cleanup:
	close(fd);
	return rc;
}

int gotrue_overlay_load(const char *dir, const char *rel, struct gotrue_overlay_pw *ov)
{
	char path[4096];
	size_t len;
	int n, rc;

	n = snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	rc = read_small(path, ov->buf, GOTRUE_OVERLAY_MAX_SIZE, &len);
	if (rc == 0)
		rc = gotrue_overlay_parse(ov->buf, len, ov);
	return rc;
}

/* A name that can only be a file in @dir: a valid login name is, this guards the path. */
static bool file_name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strlen(name) <= 32 && strchr(name, '/') == NULL;
}

bool gotrue_overlay_no_cache(const char *cache_path)
{
	struct stat st;

	return lstat(cache_path, &st) != 0 && errno == ENOENT;
}

enum gotrue_cache_status gotrue_overlay_acquire(struct gotrue_cache *c,
						const struct gotrue_cache_view **v)
{
	enum gotrue_cache_status st = gotrue_cache_acquire(c, v);

	if (st != GOTRUE_CACHE_OK && gotrue_overlay_no_cache(c->path)) {
		*v = NULL;
		st = GOTRUE_CACHE_OK;
	}
	return st;
}

void gotrue_overlay_release(struct gotrue_cache *c, const struct gotrue_cache_view *v)
{
	if (v != NULL)
		gotrue_cache_release(c);
}

/* The cache's answers, or NOTFOUND from no cache at all (@v NULL). */
static enum gotrue_cache_status cache_pwnam(const struct gotrue_cache_view *v, const char *name,
					    struct gotrue_cache_pw *r)
{
	return v != NULL ? gotrue_cache_getpwnam(v, name, r) : GOTRUE_CACHE_NOTFOUND;
}

static enum gotrue_cache_status cache_pwuid(const struct gotrue_cache_view *v, uint32_t uid,
					    struct gotrue_cache_pw *r)
{
	return v != NULL ? gotrue_cache_getpwuid(v, uid, r) : GOTRUE_CACHE_NOTFOUND;
}

static enum gotrue_cache_status pwnam(const struct gotrue_cache_view *v, const char *dir,
				      const char *name, struct gotrue_cache_pw *r,
				      struct gotrue_overlay_pw *ov)
{
	struct gotrue_cache_pw other;
	enum gotrue_cache_status st = cache_pwnam(v, name, r);

	if (st == GOTRUE_CACHE_UNAVAIL || dir == NULL || !file_name_ok(name) ||
	    gotrue_overlay_load(dir, name, ov) != 0 || strcmp(ov->pw.name, name) != 0)
		return st;
	if (st == GOTRUE_CACHE_OK ? ov->pw.uid != r->uid || ov->pw.gid != r->gid
				  : cache_pwuid(v, ov->pw.uid, &other) != GOTRUE_CACHE_NOTFOUND)
		return st; /* never renumbers a name, never takes another's uid */
	*r = ov->pw;
	return GOTRUE_CACHE_OK;
}

static enum gotrue_cache_status pwuid(const struct gotrue_cache_view *v, const char *dir,
				      uint32_t uid, struct gotrue_cache_pw *r,
				      struct gotrue_overlay_pw *ov)
{
	struct gotrue_cache_pw other;
	enum gotrue_cache_status st = cache_pwuid(v, uid, r);
	char rel[32];

	if (st == GOTRUE_CACHE_UNAVAIL || dir == NULL)
		return st;
	if (st == GOTRUE_CACHE_OK) {
		if (!file_name_ok(r->name) || gotrue_overlay_load(dir, r->name, ov) != 0 ||
		    strcmp(ov->pw.name, r->name) != 0 || ov->pw.uid != r->uid ||
		    ov->pw.gid != r->gid)
			return st;
	} else {
		snprintf(rel, sizeof(rel), "uid/%u", uid);
		if (gotrue_overlay_load(dir, rel, ov) != 0 || ov->pw.uid != uid ||
		    cache_pwnam(v, ov->pw.name, &other) != GOTRUE_CACHE_NOTFOUND)
			return st;
	}
	*r = ov->pw;
	return GOTRUE_CACHE_OK;
}

/* Without a cache file, what no overlay answers is UNAVAIL, as a missing cache always was (the
 * glibc manual's pair for "cannot tell"): NOTFOUND would claim a negative the host cannot make. */
static enum gotrue_cache_status unavail_without_cache(const struct gotrue_cache_view *v,
						      enum gotrue_cache_status st)
{
	return v == NULL && st == GOTRUE_CACHE_NOTFOUND ? GOTRUE_CACHE_UNAVAIL : st;
}

enum gotrue_cache_status gotrue_overlay_getpwnam(const struct gotrue_cache_view *v, const char *dir,
						 const char *name, struct gotrue_cache_pw *r,
						 struct gotrue_overlay_pw *ov)
{
	return unavail_without_cache(v, pwnam(v, dir, name, r, ov));
}

enum gotrue_cache_status gotrue_overlay_getpwuid(const struct gotrue_cache_view *v, const char *dir,
						 uint32_t uid, struct gotrue_cache_pw *r,
						 struct gotrue_overlay_pw *ov)
{
	return unavail_without_cache(v, pwuid(v, dir, uid, r, ov));
}
