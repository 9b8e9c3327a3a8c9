/* secure: the one place secrets are wiped, trusted files are opened and checked, and files are
 * replaced atomically. Config and key files are opened the way pam_faillock opens its config:
 * O_NOFOLLOW|O_CLOEXEC|O_NOCTTY, then fstat(2) on the descriptor (never stat on the name, which
 * could be swapped in between), owner and mode checks, and a size cap. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "secure.h"

void gotrue_wipe_free(void *p, size_t len)
{
	if (p != NULL) {
		explicit_bzero(p, len);
		free(p);
	}
}

void gotrue_wipe_free_str(char *s)
{
	if (s != NULL)
		gotrue_wipe_free(s, strlen(s));
}

char *gotrue_secret_strdup(const char *s)
{
	char *copy = NULL;
	size_t len;

	if (s != NULL) {
		len = strlen(s);
		copy = malloc(len + 1);
		if (copy != NULL)
			memcpy(copy, s, len + 1);
	}
	return copy;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

int gotrue_check_file_stat(pam_handle_t *pamh, const char *path, enum gotrue_file_kind kind,
			   const struct stat *st)
{
	/* CONFIG: nobody but the owner may change it. SECRET: nobody but the owner may see it. */
	mode_t forbidden = kind == GOTRUE_FILE_SECRET ? 077 : 022;
	int rc = 0;

	if (S_ISDIR(st->st_mode)) {
		gotrue_log(pamh, LOG_ERR, "refusing a directory where a file is expected; path=%s",
			   path);
		rc = -EISDIR;
	} else if (!S_ISREG(st->st_mode)) {
		gotrue_log(pamh, LOG_ERR, "refusing a file that is not a regular file; path=%s",
			   path);
		rc = -EINVAL;
	} else if (st->st_uid != 0 && st->st_uid != geteuid()) {
		gotrue_log(pamh, LOG_ERR,
			   "refusing a file not owned by root; path=%s owner=%lu mode=%04o", path,
			   (unsigned long)st->st_uid, (unsigned int)(st->st_mode & 07777));
		rc = -EPERM;
	} else if ((st->st_mode & forbidden) != 0) {
		gotrue_log(
			pamh, LOG_ERR, "refusing a file that %s; path=%s owner=%lu mode=%04o",
			kind == GOTRUE_FILE_SECRET
				? "group or others can access (a secret must be mode 0600 or 0400)"
				: "group or others can write (chmod go-w)",
			path, (unsigned long)st->st_uid, (unsigned int)(st->st_mode & 07777));
		rc = -EPERM;
	}
	return rc;
}

int gotrue_open_checked(pam_handle_t *pamh, const char *path, enum gotrue_file_kind kind,
			size_t max_size, size_t *size)
{
	struct stat st;
	int fd, rc;

	/* O_NONBLOCK: opening a FIFO planted at @path must not hang a login; fstat refuses it. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	rc = fd < 0 ? -errno : 0;
	if (rc == -ELOOP)
		gotrue_log(pamh, LOG_ERR, "refusing a symbolic link; path=%s", path);
	else if (rc != 0 && rc != -ENOENT) /* callers decide whether a missing file is an error */
		gotrue_log(pamh, LOG_ERR, "cannot open file; path=%s error=%s", path,
			   strerror(-rc));
	if (rc != 0)
		goto cleanup;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		gotrue_log(pamh, LOG_ERR, "cannot stat file; path=%s error=%s", path,
			   strerror(-rc));
		goto cleanup;
	}
	rc = gotrue_check_file_stat(pamh, path, kind, &st);
	if (rc == 0 && (st.st_size < 0 || (unsigned long long)st.st_size > max_size)) {
		gotrue_log(pamh, LOG_ERR,
			   "refusing a file larger than %zu bytes; path=%s size=%lld", max_size,
			   path, (long long)st.st_size);
		rc = -EFBIG;
	}
	if (rc == 0)
		*size = (size_t)st.st_size;
cleanup:
	if (rc != 0)
		close_fd(&fd);
	return rc == 0 ? fd : rc;
}

/* Read the whole of @fd, which fstat said is @cap bytes, into @buf: *@len bytes, fewer when the
 * file shrank meanwhile. A file that grew is refused (-EAGAIN) rather than used truncated, a key
 * or a config cut short. 0 or -errno after logging. */
static int read_whole(pam_handle_t *pamh, const char *path, int fd, char *buf, size_t cap,
		      size_t *len)
{
	ssize_t n = 1;
	char extra;
	int rc = 0;

	*len = 0;
	while (*len < cap && n != 0 && rc == 0) {
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			*len += (size_t)n;
	}
	if (rc != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot read file; path=%s error=%s", path,
			   strerror(-rc));
		goto cleanup;
	}
	do
		n = read(fd, &extra, 1);
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		rc = n > 0 ? -EAGAIN : -errno; /* before logging can change errno */
		gotrue_log(pamh, LOG_ERR, "file changed while it was read; path=%s", path);
	}
cleanup:
	return rc;
}

int gotrue_read_file(pam_handle_t *pamh, const char *path, enum gotrue_file_kind kind,
		     size_t max_size, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int fd, rc;

	*out = NULL;
	*out_len = 0;
	fd = rc = gotrue_open_checked(pamh, path, kind, max_size, &cap);
	if (rc < 0)
		goto cleanup;
	/* calloc: whatever part a shrinking file leaves unread is zero, not heap garbage. */
	buf = calloc(1, cap + 1);
	rc = buf != NULL ? read_whole(pamh, path, fd, buf, cap, &len) : -ENOMEM;
	if (rc != 0)
		goto cleanup;
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	gotrue_wipe_free(buf, cap + 1);
	close_fd(&fd);
	return rc;
}

/* writev(2) until every piece of @iov is out, at most IOV_MAX pieces a call; @iov is used up
 * (advanced past what was written). 0 or -errno. */
static int write_iov(int fd, struct iovec *iov, size_t n)
{
	ssize_t w;
	int rc = 0;

	for (;;) {
		/* Empty pieces are skipped, so that a write of 0 bytes means a stuck file. */
		while (n > 0 && iov->iov_len == 0) {
			iov++;
			n--;
		}
		if (n == 0)
			break;
		w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : (int)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			break;
		}
		if (w == 0) {
			rc = -EIO;
			break;
		}
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
			w -= (ssize_t)iov->iov_len;
		if (w > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return rc;
}

/* Create @path's temp file (".<base>.XXXXXX" in its directory) with @mode: *@tmp gets its name
 * and *@fd its descriptor. On failure nothing is left behind. */
static int open_temp(const char *path, mode_t mode, char **tmp, int *fd)
{
	char *dir = NULL, *name = NULL;
	const char *slash, *base;
	size_t dirlen;
	int rc = -ENOMEM;

	*tmp = NULL;
	*fd = -1;
	slash = strrchr(path, '/');
	if (slash == NULL) {
		dir = strdup(".");
		base = path;
	} else {
		dirlen = slash == path ? 1 : (size_t)(slash - path);
		dir = strndup(path, dirlen);
		base = slash + 1;
	}
	if (dir == NULL)
		goto cleanup;
	if (*base == '\0') {
		rc = -EISDIR;
		goto cleanup;
	}
	/* The temp file must live in the target's directory: rename(2) is atomic only within one
	 * file system. A leading dot keeps it out of globs; mkostemp(3) creates it O_EXCL, 0600. */
	if (asprintf(&name, "%s/.%s.XXXXXX", dir, base) < 0) {
		name = NULL;
		goto cleanup;
	}
	*fd = mkostemp(name, O_CLOEXEC);
	rc = *fd < 0 ? -errno : 0;
	if (rc == 0 && fchmod(*fd, mode) != 0) {
		rc = -errno;
		close_fd(fd);
		unlink(name);
	}
	if (rc == 0) {
		*tmp = name;
		name = NULL;
	}
cleanup:
	free(name);
	free(dir);
	return rc;
}

/* fsync and close the temp file @fd (always closed). */
static int finish_temp(int fd)
{
	int rc = fsync(fd) != 0 ? -errno : 0;

	/* close(2) can report a deferred write error (NFS): check it before renaming. */
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Create @path's temp file, write @iov, fsync, close. *@tmp gets its name; on failure nothing is
 * left behind. */
static int write_temp(const char *path, struct iovec *iov, size_t n, mode_t mode, char **tmp)
{
	char *name = NULL;
	int fd = -1, rc;

	rc = open_temp(path, mode, &name, &fd);
	if (rc != 0)
		goto cleanup;
	rc = write_iov(fd, iov, n);
	if (rc != 0)
		close_fd(&fd);
	else
		rc = finish_temp(fd);
	if (rc != 0) {
		unlink(name);
		goto cleanup;
	}
	*tmp = name;
	name = NULL;
cleanup:
	free(name);
	return rc;
}

int gotrue_replace_file(const char *path, const void *data, size_t len, mode_t mode)
{
	struct iovec iov = {(void *)(uintptr_t)data, len};

	return gotrue_replace_file_iov(path, &iov, 1, mode);
}

static void replacement_free(struct gotrue_replacement *r)
{
	close_fd(&r->dirfd);
	free(r->tmp);
	r->tmp = NULL;
}

/* @r for @path, with its directory open. */
static int replacement_begin(const char *path, struct gotrue_replacement *r)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int rc = -ENOMEM;

	r->path = path;
	r->tmp = NULL;
	r->dirfd = -1;
	dir = slash == NULL ? strdup(".")
			    : strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL)
		goto cleanup;
	/* Opened before anything changes so that a missing directory fails while the old file is
	 * still the only one. */
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = r->dirfd < 0 ? -errno : 0;
cleanup:
	free(dir);
	return rc;
}

static int prepare_iov(const char *path, struct iovec *iov, size_t n, mode_t mode,
		       struct gotrue_replacement *r)
{
	int rc = replacement_begin(path, r);

	if (rc == 0)
		rc = write_temp(path, iov, n, mode, &r->tmp);
	if (rc != 0)
		replacement_free(r);
	return rc;
}

int gotrue_replace_open(const char *path, mode_t mode, struct gotrue_replacement *r, int *fd)
{
	int rc = replacement_begin(path, r);

	*fd = -1;
	if (rc == 0)
		rc = open_temp(path, mode, &r->tmp, fd);
	if (rc != 0)
		replacement_free(r);
	return rc;
}

int gotrue_replace_written(struct gotrue_replacement *r, int fd)
{
	int rc = finish_temp(fd);

	if (rc != 0)
		gotrue_replace_abort(r);
	return rc;
}

int gotrue_replace_prepare(const char *path, const void *data, size_t len, mode_t mode,
			   struct gotrue_replacement *r)
{
	struct iovec iov = {(void *)(uintptr_t)data, len};

	return prepare_iov(path, &iov, 1, mode, r);
}

int gotrue_replace_commit(struct gotrue_replacement *r)
{
	int rc;

	if (rename(r->tmp, r->path) != 0) {
		rc = -errno;
		unlink(r->tmp);
		goto cleanup;
	}
	/* Make the rename itself durable. The new file is in place already; a failure here is
	 * reported but cannot be undone. */
	rc = fsync(r->dirfd) != 0 ? -errno : 0;
	if (rc == -EINVAL) /* a file system without directory fsync: nothing more can be done */
		rc = 0;
cleanup:
	replacement_free(r);
	return rc;
}

void gotrue_replace_abort(struct gotrue_replacement *r)
{
	if (r->tmp != NULL)
		unlink(r->tmp);
	replacement_free(r);
}

int gotrue_replace_file_iov(const char *path, struct iovec *iov, size_t n, mode_t mode)
{
	struct gotrue_replacement r;
	int rc = prepare_iov(path, iov, n, mode, &r);

	return rc != 0 ? rc : gotrue_replace_commit(&r);
}

int gotrue_create_file(const char *path, const void *data, size_t len, mode_t mode)
{
	struct iovec iov = {(void *)(uintptr_t)data, len};
	struct gotrue_replacement r;
	int rc = prepare_iov(path, &iov, 1, mode, &r);

	if (rc != 0)
		goto cleanup;
	/* link(2), unlike rename(2), never replaces: of many creators, one name wins and the others
	 * get EEXIST. The name then points at a file already written and synced in full. */
	rc = link(r.tmp, r.path) == 0 ? 0 : -errno;
	unlink(r.tmp);
	if (rc == 0 && fsync(r.dirfd) != 0 && errno != EINVAL)
		rc = -errno;
	replacement_free(&r);
cleanup:
	return rc;
}

int gotrue_sync_dir(const char *dir)
{
	int fd, rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* syncfs(2) writes back every dirty file of the file system at once: one journal commit
	 * for a whole batch instead of one per file (and per directory entry). The directory's
	 * own fsync then also covers file systems where syncfs reports nothing (before 5.8 it
	 * returned 0 even when writeback failed). */
	rc = syncfs(fd) != 0 ? -errno : 0;
	if (rc == 0 && fsync(fd) != 0 && errno != EINVAL)
		rc = -errno;
	close(fd);
	return rc;
}

int gotrue_flock_wait(int fd, int timeout_ms)
{
	const struct timespec pause = {0, 10 * 1000 * 1000};
	long waited_ms = 0;

	if (timeout_ms < 0)
		return flock(fd, LOCK_EX) == 0 ? 0 : -errno;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (waited_ms >= timeout_ms)
			return -EWOULDBLOCK;
		nanosleep(&pause, NULL);
		waited_ms += 10;
	}
}

int gotrue_open_dir(pam_handle_t *pamh, const char *path, mode_t mode, bool create)
{
	mode_t forbidden = (mode & 077) == 0 ? 077 : 022;
	struct stat st;
	int fd = -1, rc;

	if (create && mkdir(path, mode) != 0 && errno != EEXIST) {
		rc = -errno;
		gotrue_log(pamh, LOG_ERR, "cannot create directory; path=%s error=%s", path,
			   strerror(-rc));
		goto cleanup;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc != -ENOENT || create)
			gotrue_log(pamh, LOG_ERR, "cannot open directory; path=%s error=%s", path,
				   strerror(-rc));
		goto cleanup;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto cleanup;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		gotrue_log(pamh, LOG_ERR,
			   "refusing a directory not owned by root; path=%s owner=%lu", path,
			   (unsigned long)st.st_uid);
		rc = -EPERM;
	} else if ((st.st_mode & forbidden) != 0) {
		gotrue_log(pamh, LOG_ERR, "refusing a directory with mode %04o; path=%s",
			   (unsigned int)(st.st_mode & 07777), path);
		rc = -EPERM;
	} else {
		rc = fd;
		fd = -1;
	}
cleanup:
	close_fd(&fd);
	return rc;
}
