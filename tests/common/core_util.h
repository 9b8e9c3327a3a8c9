/* core_util: helpers for the config and secure unit tests: a private temp dir, files with a given
 * mode, capturing what the log wrapper writes to stderr, and a free() spy that lets a test see
 * the bytes of a block at the moment it is freed (to prove secrets are wiped, not just freed). */
#ifndef GOTRUE_TEST_CORE_UTIL_H
#define GOTRUE_TEST_CORE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tu_dir[4096];

static inline const char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tu_dir, sizeof(tu_dir), "%s/gotrue-test.XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(tu_dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(99);
	}
	return tu_dir;
}

static inline void tu_cleanup(void)
{
	char cmd[8400];

	/* The dir holds only what the test made (files, a fifo, a symlink, a subdir). */
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", tu_dir, tu_dir);
	if (tu_dir[0] != '\0' && system(cmd) != 0)
		printf("# cleanup of %s failed\n", tu_dir);
}

/* A path inside the temp dir, from a ring of 32 static buffers: callers that keep one across
 * many calls copy it. */
static inline const char *tu_path(const char *name)
{
	static char bufs[32][4200];
	static int i;
	char *b = bufs[i++ % 32];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tu_dir, name);
	return b;
}

static inline const char *tu_write(const char *name, const char *content, mode_t mode)
{
	const char *path = tu_path(name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
	    fchmod(fd, mode) != 0 || close(fd) != 0) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(99);
	}
	return path;
}

/* Capture stderr (where gotrue_log writes with pamh == NULL) between begin and end. */
static int tu_saved_stderr = -1;
static char tu_captured[16384];
static char tu_capture_path[4200];

static inline void tu_capture_begin(void)
{
	int fd;

	snprintf(tu_capture_path, sizeof(tu_capture_path), "%s/stderr.capture", tu_dir);
	fd = open(tu_capture_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	fflush(stderr);
	tu_saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static inline const char *tu_capture_end(void)
{
	FILE *f;
	size_t n = 0;

	fflush(stderr);
	dup2(tu_saved_stderr, 2);
	close(tu_saved_stderr);
	f = fopen(tu_capture_path, "r");
	if (f != NULL) {
		n = fread(tu_captured, 1, sizeof(tu_captured) - 1, f);
		fclose(f);
	}
	tu_captured[n] = '\0';
	unlink(tu_capture_path);
	/* Echo it as TAP comments so a failure is easy to read. */
	for (char *line = tu_captured, *nl; *line != '\0'; line = nl + 1) {
		nl = strchrnul(line, '\n');
		printf("#   log: %.*s\n", (int)(nl - line), line);
		if (*nl == '\0')
			break;
	}
	return tu_captured;
}

/* The free() spy. The core library is linked statically into the test, so its calls to free()
 * bind to this definition, which records the watched block's bytes and hands every block to
 * glibc's allocator. Sanitizer runtimes own malloc/free themselves: there the spy is off. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_HAVE_FREE_SPY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_HAVE_FREE_SPY 0
#endif
#endif
#ifndef TU_HAVE_FREE_SPY
#define TU_HAVE_FREE_SPY 1
#endif

#if TU_HAVE_FREE_SPY
static const void *tu_spy_ptr;
static size_t tu_spy_len;
static unsigned char tu_spy_seen[256];
static int tu_spy_hits;

extern void __libc_free(void *p);

void free(void *p)
{
	if (p != NULL && p == tu_spy_ptr) {
		memcpy(tu_spy_seen, p,
		       tu_spy_len < sizeof(tu_spy_seen) ? tu_spy_len : sizeof(tu_spy_seen));
		tu_spy_hits++;
		tu_spy_ptr = NULL;
	}
	__libc_free(p);
}

static inline void tu_spy_watch(const void *p, size_t len)
{
	tu_spy_ptr = p;
	tu_spy_len = len < sizeof(tu_spy_seen) ? len : sizeof(tu_spy_seen);
	tu_spy_hits = 0;
	memset(tu_spy_seen, 0xa5, sizeof(tu_spy_seen));
}

/* True when the watched block was freed and every byte of it was zero at that moment. */
static inline int tu_spy_saw_zeroes(void)
{
	size_t i;

	if (tu_spy_hits != 1)
		return 0;
	for (i = 0; i < tu_spy_len; i++)
		if (tu_spy_seen[i] != 0)
			return 0;
	return 1;
}
#endif

#endif
