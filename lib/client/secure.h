/* secure: wiping secrets, opening files safely, replacing files atomically. */
#ifndef GOTRUE_SECURE_H
#define GOTRUE_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <security/pam_ext.h>

/* explicit_bzero() then free(); NULL is fine. The one helper every secret goes through. */
void gotrue_wipe_free(void *p, size_t len);
/* Same, for a NUL-terminated string of unknown length. */
void gotrue_wipe_free_str(char *s);
/* strdup() that the caller must release with gotrue_wipe_free_str(). */
char *gotrue_secret_strdup(const char *s);

/* What a file must satisfy to be trusted. */
enum gotrue_file_kind {
	GOTRUE_FILE_CONFIG, /* root (or the caller's euid) owned, not group/other-writable */
	GOTRUE_FILE_SECRET, /* as CONFIG, and not readable by group or others either */
};

/* Open @path with O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_NOCTTY, check it is a regular file, its owner
 * (root, or geteuid()), its mode for @kind, and read at most @max_size bytes into a NUL-terminated
 * buffer. Too large is an error. Returns 0, or -errno (ENOENT for a missing file, EPERM for a
 * refused owner or mode, EFBIG, ELOOP for a link...) and logs why, naming the path.
 * The buffer is released with gotrue_wipe_free(*out, *out_len + 1). */
int gotrue_read_file(pam_handle_t *pamh, const char *path, enum gotrue_file_kind kind,
		     size_t max_size, char **out, size_t *out_len);

/* The opening half of gotrue_read_file(), for a caller that maps the file instead of copying it:
 * the same flags and checks, and a file over @max_size refused. A descriptor, with the file's size
 * in *@size, or -errno after logging (a missing file, -ENOENT, is not logged). */
int gotrue_open_checked(pam_handle_t *pamh, const char *path, enum gotrue_file_kind kind,
			size_t max_size, size_t *size);

/* The owner and mode rules of gotrue_read_file() for a file already open (its fstat @st): a
 * regular file, owned by root (or geteuid()), not writable (CONFIG) or not accessible (SECRET) by
 * group or others. 0, or -errno after logging. */
struct stat;
int gotrue_check_file_stat(pam_handle_t *pamh, const char *path, enum gotrue_file_kind kind,
			   const struct stat *st);
/* Atomically replace @path with @data: temp file in the same directory (O_EXCL, @mode), write,
 * fsync, rename over @path, fsync the directory. On any failure the old file is left untouched
 * and the temp file removed. Returns 0 or -errno. */
int gotrue_replace_file(const char *path, const void *data, size_t len, mode_t mode);
/* The same for data in @n pieces, written with writev(2): a file made of many pieces (the
 * account index, one line per account) needs no copy of them in one buffer first. @iov is used
 * up (advanced past what was written). */
int gotrue_replace_file_iov(const char *path, struct iovec *iov, size_t n, mode_t mode);
/* Put @path in place with @data only where nothing is there yet: the temp file of
 * gotrue_replace_file, linked (link(2)) to @path instead of renamed over it, so that concurrent
 * creators agree on one file, which no reader ever sees half written. 0, -EEXIST when @path
 * exists (the file already there is kept), or another -errno. */
int gotrue_create_file(const char *path, const void *data, size_t len, mode_t mode);
/* gotrue_replace_file in two steps, for a caller that must put another file in place between
 * writing this one and renaming it (the sync: the account index goes first) and wants the writing
 * done meanwhile. prepare writes and fsyncs the temp file; then exactly one of commit (rename
 * over @path, fsync the directory) or abort (unlink the temp file) releases @r. @path is not
 * copied: it must stay valid until then. Each 0 or -errno; a failed prepare leaves nothing to
 * release. */
struct gotrue_replacement {
	const char *path;
	char *tmp;
	int dirfd;
};
int gotrue_replace_prepare(const char *path, const void *data, size_t len, mode_t mode,
			   struct gotrue_replacement *r);
int gotrue_replace_commit(struct gotrue_replacement *r);
void gotrue_replace_abort(struct gotrue_replacement *r);
/* The same for data the caller writes itself as it arrives (a download): open creates the temp
 * file with @mode and gives its descriptor in *@fd; the caller writes; written fsyncs and
 * closes it (on failure it also aborts @r); then commit or abort as above. Each 0 or -errno; a
 * failed open leaves nothing to release. */
int gotrue_replace_open(const char *path, mode_t mode, struct gotrue_replacement *r, int *fd);
int gotrue_replace_written(struct gotrue_replacement *r, int fd);

/* syncfs(2) on the file system holding directory @dir, then fsync(2) of @dir: many in-place
 * record writes made durable together (the refresh pass, lib/store/store.c). 0 or -errno. */
int gotrue_sync_dir(const char *dir);

/* A directory to keep state in: created with @mode where missing (mkdir(2) never follows a planted
 * link), then opened with O_DIRECTORY|O_NOFOLLOW and checked on the descriptor: owned by root (or
 * geteuid(), for tests run as a user), and not writable by group or others; with a @mode that
 * gives group and others nothing (0700), not accessible to them at all. @create false: a missing
 * directory is -ENOENT, unlogged. Returns the descriptor (O_RDONLY|O_CLOEXEC), or -errno after
 * logging why, naming the path. */
int gotrue_open_dir(pam_handle_t *pamh, const char *path, mode_t mode, bool create);

/* flock(@fd, LOCK_EX), waiting at most @timeout_ms (-1: as long as it takes). flock(2) has no
 * timeout of its own and a signal-based one is not ours to use inside a PAM caller, so this
 * polls LOCK_NB every 10 ms. 0, -EWOULDBLOCK when the time ran out, or another -errno. */
int gotrue_flock_wait(int fd, int timeout_ms);

#endif
