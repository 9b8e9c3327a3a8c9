/* account_overlay: a login's per-user overlay (account_overlay.h): where the files live, and
 * writing, reading and removing them. The identity checks are the caller's
 * (gotrue_sync_one_user, sync_write.c), under the sync lock. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account_overlay.h"
#include "accounts.h"
#include "log.h"
#include "overlay.h"
#include "secure.h"

#define PRIVATE_DIR "overlay"

/* @file's directory, then "/@sub" (NULL on ENOMEM or a path without a directory). */
static char *beside(const char *file, const char *sub)
{
	const char *slash = strrchr(file, '/');
	char *p = NULL;

	if (slash == NULL || asprintf(&p, "%.*s/%s", (int)(slash - file), file, sub) < 0)
		return NULL;
	return p;
}

int gotrue_account_overlay_find(pam_handle_t *pamh, const char *acct_path, const char *name,
				struct gotrue_account *out)
{
	char *dir = beside(acct_path, PRIVATE_DIR), *path = NULL;
	int rc = -1;

	if (dir == NULL || asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		goto cleanup;
	}
	rc = gotrue_accounts_read_record(pamh, path, name, out);
	if (rc == -2) {
		gotrue_log(pamh, LOG_WARNING,
			   "ignoring a torn account overlay; the index answers; path=%s user=%s",
			   path, name);
		rc = 1;
	}
cleanup:
	free(path);
	free(dir);
	return rc;
}

/* Files of @dir, through @each with @dir's descriptor (the temporary files of an unfinished
 * replacement, starting with '.', are skipped). 0, 1 no directory, -1 or @each's value. */
static int each_file(const char *dir, int (*each)(void *ctx, int dfd, const char *name), void *ctx)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 1 : -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			rc = each(ctx, dirfd(d), e->d_name);
	}
	closedir(d);
	return rc;
}

struct each_ctx {
	pam_handle_t *pamh;
	const char *dir;
	int (*each)(void *ctx, struct gotrue_account *a);
	void *ctx;
};

static int each_overlay(void *ctx, int dfd, const char *name)
{
	struct each_ctx *c = ctx;
	struct gotrue_account a;
	char *path = NULL;
	int rc = 0, r;

	(void)dfd;
	if (asprintf(&path, "%s/%s", c->dir, name) < 0)
		return -1;
	r = gotrue_accounts_read_record(c->pamh, path, name, &a);
	if (r == -2)
		gotrue_log(c->pamh, LOG_WARNING, "ignoring a torn account overlay; path=%s", path);
	if (r == -1)
		rc = -1;
	if (r == 0)
		rc = c->each(c->ctx, &a);
	gotrue_account_clear(&a);
	free(path);
	return rc;
}

int gotrue_account_overlay_each(pam_handle_t *pamh, const char *acct_path,
				int (*each)(void *ctx, struct gotrue_account *a), void *ctx)
{
	struct each_ctx c = {pamh, beside(acct_path, PRIVATE_DIR), each, ctx};
	int rc = -1;

	if (c.dir == NULL)
		goto cleanup;
	rc = each_file(c.dir, each_overlay, &c);
	if (rc == 1)
		rc = 0;
	if (rc < 0)
		gotrue_log(pamh, LOG_ERR, "cannot read the account overlays; path=%s", c.dir);
cleanup:
	free((char *)c.dir);
	return rc;
}

static int count_one(void *ctx, int dfd, const char *name)
{
	(void)dfd;
	(void)name;
	(*(size_t *)ctx)++;
	return 0;
}

/* "name:uid:gid:gecos:home:shell:gid,gid\n" (lib/cache/reader/overlay.h), or NULL when a field
 * holds ':' or a newline (a template the format cannot carry) or on ENOMEM. */
static char *public_line(const struct gotrue_account *a, const uint32_t *gids, size_t n_gids)
{
	const char *f[] = {a->name, a->gecos, a->home, a->shell};
	char *line = NULL, *next;
	size_t i;

	for (i = 0; i < 4; i++) {
		if (f[i] == NULL || strpbrk(f[i], ":\n") != NULL)
			return NULL;
	}
	if (n_gids > GOTRUE_OVERLAY_MAX_GIDS ||
	    asprintf(&line, "%s:%u:%u:%s:%s:%s:", a->name, a->uid, a->gid, a->gecos, a->home,
		     a->shell) < 0)
		return NULL;
	for (i = 0; line != NULL && i <= n_gids; i++) {
		if (asprintf(&next, i < n_gids ? "%s%s%u" : "%s\n", line, i > 0 ? "," : "",
			     i < n_gids ? gids[i] : 0) < 0)
			next = NULL;
		free(line);
		line = next;
	}
	if (line != NULL && strlen(line) > GOTRUE_OVERLAY_MAX_SIZE) {
		free(line);
		line = NULL;
	}
	return line;
}

/* @dir's file @name (NULL, logged where it is not, on ENOMEM or a directory refused), @dir
 * created with @mode where missing. */
static char *overlay_path(pam_handle_t *pamh, const char *dir, mode_t mode, const char *name)
{
	char *path = NULL;
	int fd = gotrue_open_dir(pamh, dir, mode, true);

	if (fd < 0)
		return NULL;
	close(fd);
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		path = NULL;
	return path;
}

/* 0, or -1 after logging the write's error @r. */
static int written(pam_handle_t *pamh, const char *path, int r)
{
	if (r != 0)
		gotrue_log(pamh, LOG_ERR, "cannot write an account overlay: %s; path=%s",
			   strerror(-r), path);
	return r != 0 ? -1 : 0;
}

/* @dir's file @name replaced with @data, 0644 in a 0755 directory. 0 or -1 (logged). */
static int put_file(pam_handle_t *pamh, const char *dir, const char *name, const char *data,
		    size_t len)
{
	char *path = overlay_path(pamh, dir, 0755, name);
	int rc =
		path != NULL ? written(pamh, path, gotrue_replace_file(path, data, len, 0644)) : -1;

	free(path);
	return rc;
}

/* The private overlay. Over the cap only when it would be a new file: the count is a listing
 * of at most GOTRUE_ACCOUNT_OVERLAY_MAX names, on a login's write only, never on a lookup. */
static int put_private(pam_handle_t *pamh, const char *dir, const struct gotrue_account *a)
{
	char *path = overlay_path(pamh, dir, 0700, a->name);
	size_t n = 0;
	int rc = -1;

	if (path == NULL)
		goto cleanup;
	if (access(path, F_OK) != 0 && errno == ENOENT &&
	    (each_file(dir, count_one, &n) < 0 || n >= GOTRUE_ACCOUNT_OVERLAY_MAX)) {
		gotrue_log(pamh, LOG_WARNING,
			   "account entry not updated at login: %zu overlays already, the cap is "
			   "%d; the next sync writes it (gotruectl sync); user=%s",
			   n, GOTRUE_ACCOUNT_OVERLAY_MAX, a->name);
		rc = 1;
		goto cleanup;
	}
	rc = written(pamh, path, gotrue_accounts_write_record(path, a));
cleanup:
	free(path);
	return rc;
}

int gotrue_account_overlay_write(pam_handle_t *pamh, const char *acct_path, const char *cache_path,
				 const struct gotrue_account *a, const uint32_t *gids,
				 size_t n_gids)
{
	char *priv = beside(acct_path, PRIVATE_DIR), *pub = beside(cache_path, GOTRUE_OVERLAY_DIR);
	char *line = public_line(a, gids, n_gids), *uid_dir = NULL, uid_name[16];
	int rc = -1;

	if (priv == NULL || pub == NULL || asprintf(&uid_dir, "%s/uid", pub) < 0) {
		uid_dir = NULL;
		goto cleanup;
	}
	if (line == NULL) {
		gotrue_log(pamh, LOG_WARNING,
			   "account entry not updated at login: a field holds ':' or a newline, or "
			   "more than %d groups; the next sync writes it; user=%s",
			   GOTRUE_OVERLAY_MAX_GIDS, a->name);
		rc = 1;
		goto cleanup;
	}
	snprintf(uid_name, sizeof(uid_name), "%u", a->uid);
	/* The private record first: PAM then knows the account before NSS shows it. */
	rc = put_private(pamh, priv, a);
	if (rc != 0)
		goto cleanup;
	rc = -1;
	if (put_file(pamh, pub, a->name, line, strlen(line)) != 0 ||
	    put_file(pamh, uid_dir, uid_name, line, strlen(line)) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(line);
	free(uid_dir);
	free(pub);
	free(priv);
	return rc;
}

static int unlink_one(void *ctx, int dfd, const char *name)
{
	int *failed = ctx;

	if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT && errno != EISDIR)
		(*failed)++;
	return 0;
}

int gotrue_account_overlay_clear(pam_handle_t *pamh, const char *acct_path, const char *cache_path)
{
	char *dirs[3] = {beside(acct_path, PRIVATE_DIR), NULL,
			 beside(cache_path, GOTRUE_OVERLAY_DIR)};
	int failed = 0, rc = -1;
	size_t i;

	if (dirs[0] == NULL || dirs[2] == NULL || asprintf(&dirs[1], "%s/uid", dirs[2]) < 0) {
		dirs[1] = NULL;
		goto cleanup;
	}
	for (i = 0; i < 3; i++) {
		if (each_file(dirs[i], unlink_one, &failed) < 0)
			failed++;
	}
	if (failed > 0)
		gotrue_log(pamh, LOG_ERR,
			   "cannot remove %d account overlays after the sync; path=%s", failed,
			   dirs[0]);
	rc = failed > 0 ? -1 : 0;
cleanup:
	for (i = 0; i < 3; i++)
		free(dirs[i]);
	return rc;
}

struct settle_ctx {
	pam_handle_t *pamh;
	const char *acct_path, *pub_dir;
	time_t keep_after;
	int failed, removed;
};

/* Remove @name's overlays, private (in @dfd) and public. */
static void remove_overlay(struct settle_ctx *c, int dfd, const char *name, uint32_t uid,
			   bool has_uid)
{
	char *pub = NULL, *by_uid = NULL;

	if (asprintf(&pub, "%s/%s", c->pub_dir, name) < 0)
		pub = NULL;
	if (has_uid && asprintf(&by_uid, "%s/uid/%u", c->pub_dir, uid) < 0)
		by_uid = NULL;
	if ((unlinkat(dfd, name, 0) != 0 && errno != ENOENT) || pub == NULL ||
	    (unlink(pub) != 0 && errno != ENOENT) || (has_uid && by_uid == NULL) ||
	    (by_uid != NULL && unlink(by_uid) != 0 && errno != ENOENT))
		c->failed++;
	else
		c->removed++;
	free(by_uid);
	free(pub);
}

static int settle_one(void *ctx, int dfd, const char *name)
{
	struct settle_ctx *c = ctx;
	struct gotrue_account a = {0}, in_index = {0};
	struct stat st;
	bool old, named;
	int r;

	r = gotrue_account_overlay_find(c->pamh, c->acct_path, name, &a);
	old = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_mtime < c->keep_after;
	named = gotrue_accounts_lookup_index(c->pamh, c->acct_path, name, &in_index) == 0;
	if (r != 0 || old || named)
		remove_overlay(c, dfd, name, a.uid, r == 0);
	gotrue_account_clear(&in_index);
	gotrue_account_clear(&a);
	return 0;
}

int gotrue_account_overlay_settle(pam_handle_t *pamh, const char *acct_path, const char *cache_path,
				  time_t keep_after)
{
	struct settle_ctx c = {pamh,	   acct_path, beside(cache_path, GOTRUE_OVERLAY_DIR),
			       keep_after, 0,	      0};
	char *dir = beside(acct_path, PRIVATE_DIR);
	int rc = -1;

	if (c.pub_dir == NULL || dir == NULL || each_file(dir, settle_one, &c) < 0)
		c.failed++;
	if (c.failed > 0)
		gotrue_log(pamh, LOG_ERR,
			   "cannot remove %d account overlays after a new index; path=%s", c.failed,
			   dir != NULL ? dir : acct_path);
	else if (c.removed > 0)
		gotrue_log(pamh, LOG_INFO,
			   "%d account overlays removed: the new index decides; path=%s", c.removed,
			   dir);
	rc = c.failed > 0 ? -1 : 0;
	free(dir);
	free((char *)c.pub_dir);
	return rc;
}
