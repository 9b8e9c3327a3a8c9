/* wrap: -Wl,--wrap=NAME replacements for the calls the PAM flow makes (the pattern of pam-u2f's
 * fuzz/wrap.c, but deterministic: the Nth call of one function fails, not a random one).
 *
 * --wrap rewrites only the references of the objects linked into the test program: the pam/
 * sources, the objects of the core's libraries (lib/), the test itself. Calls made inside shared
 * libraries (libpam, libcurl, json-c, libjwt, OpenSSL, and glibc's own fopen -> open) are neither
 * counted nor failed nor tracked; that is the boundary of what this test proves. The list of names
 * is the one `nm -u` shows for those objects: openat and renameat are not called, mkostemp, fopen,
 * strndup, asprintf and unlink are.
 *
 * Everything here runs only while inj.armed, i.e. inside one pam_sm_* call; outside it each
 * wrapper is a plain call of the real function. The allocation table is a fixed array (this file
 * must not allocate through the functions it wraps). */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include <curl/curl.h>
#include <security/pam_modules.h>

#include "pam_gotrue.h"
#include "store.h"
#include "sync.h"
#include "wrap.h"

struct inj_state inj = {.phase = INJ_PHASE_NONE, .fail_index = -1};

static const char *const kind_names[INJ_KINDS] = {
	[INJ_MALLOC] = "malloc",     [INJ_CALLOC] = "calloc",
	[INJ_REALLOC] = "realloc",   [INJ_STRDUP] = "strdup",
	[INJ_STRNDUP] = "strndup",   [INJ_ASPRINTF] = "asprintf",
	[INJ_OPEN] = "open",	     [INJ_FOPEN] = "fopen",
	[INJ_MKOSTEMP] = "mkostemp", [INJ_WRITE] = "write(v)",
	[INJ_FSYNC] = "fsync",	     [INJ_RENAME] = "rename",
	[INJ_UNLINK] = "unlink",     [INJ_CURL] = "curl_easy_perform",
};

const char *inj_kind_name(enum inj_kind k)
{
	return k >= 0 && k < INJ_KINDS ? kind_names[k] : "?";
}

/* --- live allocations: open addressing on the pointer, tombstones on free ------------------- */

#define TABLE_SIZE (1 << 16)
#define TOMBSTONE  ((void *)1)

static struct {
	void *p;
	size_t size;
	void *caller;
} table[TABLE_SIZE];

static size_t slot_of(const void *p)
{
	return (size_t)(((uintptr_t)p >> 4) * 2654435761u) & (TABLE_SIZE - 1);
}

static void track(void *p, size_t size, void *caller)
{
	size_t i, n;

	if (p == NULL || !inj.armed)
		return;
	for (i = slot_of(p), n = 0; n < TABLE_SIZE; i = (i + 1) & (TABLE_SIZE - 1), n++) {
		if (table[i].p == NULL || table[i].p == TOMBSTONE) {
			table[i].p = p;
			table[i].size = size;
			table[i].caller = caller;
			inj.live++;
			inj.live_bytes += size;
			return;
		}
	}
	inj.table_full = true;
}

/* Frees are untracked whether armed or not: pam_end() runs the module's cleanups unarmed. */
static void untrack(void *p)
{
	size_t i, n;

	if (p == NULL)
		return;
	for (i = slot_of(p), n = 0; n < TABLE_SIZE && table[i].p != NULL;
	     i = (i + 1) & (TABLE_SIZE - 1), n++) {
		if (table[i].p == p) {
			table[i].p = TOMBSTONE;
			inj.live--;
			inj.live_bytes -= table[i].size;
			return;
		}
	}
	/* Not ours: allocated unarmed or inside a library (vasprintf's own, json-c's, libjwt's). */
}

void inj_dump_live(int max)
{
	size_t i;
	int shown = 0;

	for (i = 0; i < TABLE_SIZE && shown < max; i++) {
		if (table[i].p != NULL && table[i].p != TOMBSTONE) {
			Dl_info info;
			void *at = table[i].caller;

			if (dladdr(at, &info) != 0 && info.dli_fbase != NULL)
				at = (void *)((char *)at - (char *)info.dli_fbase);
			printf("#   live block of %zu bytes allocated from %p\n", table[i].size,
			       at);
			shown++;
		}
	}
}

/* Whether this call is the one to fail; counts it either way. */
static bool should_fail(enum inj_kind k, void *caller)
{
	bool fail;

	if (!inj.armed)
		return false;
	fail = inj.fail_index >= 0 && k == inj.fail_kind && inj.count[k] == inj.fail_index;
	inj.count[k]++;
	if (fail) {
		inj.fired = true;
		inj.fired_phase = inj.phase;
		inj.fired_housekeeping = inj.housekeeping > 0 || inj.revoked;
		inj.fired_pid_start = inj.pid_start > 0;
		inj.fired_caller = caller;
	}
	return fail;
}

#define CALLER __builtin_extract_return_addr(__builtin_return_address(0))

/* --- memory -------------------------------------------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void __real_free(void *p);

void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size)
{
	void *p;

	if (should_fail(INJ_MALLOC, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_malloc(size);
	track(p, size, CALLER);
	return p;
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	void *p;

	if (should_fail(INJ_CALLOC, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_calloc(n, size);
	track(p, n * size, CALLER);
	return p;
}

void *__wrap_realloc(void *old, size_t size);
void *__wrap_realloc(void *old, size_t size)
{
	void *p;

	if (should_fail(INJ_REALLOC, CALLER)) {
		errno = ENOMEM;
		return NULL; /* the old block stays valid, as realloc(3) says */
	}
	p = __real_realloc(old, size);
	if (p != NULL || size == 0) {
		untrack(old);
		track(p, size, CALLER);
	}
	return p;
}

char *__wrap_strdup(const char *s);
char *__wrap_strdup(const char *s)
{
	char *p;

	if (should_fail(INJ_STRDUP, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_strdup(s);
	track(p, p ? strlen(p) + 1 : 0, CALLER);
	return p;
}

char *__wrap_strndup(const char *s, size_t n);
char *__wrap_strndup(const char *s, size_t n)
{
	char *p;

	if (should_fail(INJ_STRNDUP, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_strndup(s, n);
	track(p, p ? strlen(p) + 1 : 0, CALLER);
	return p;
}

int __wrap_asprintf(char **strp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int __wrap_asprintf(char **strp, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (should_fail(INJ_ASPRINTF, CALLER)) {
		/* asprintf(3) leaves *strp undefined on failure: a caller must not free it. */
		*strp = (char *)0xdeadbeef;
		errno = ENOMEM;
		return -1;
	}
	va_start(ap, fmt);
	r = vasprintf(strp, fmt, ap);
	va_end(ap);
	if (r >= 0)
		track(*strp, (size_t)r + 1, CALLER);
	return r;
}

void __wrap_free(void *p);
void __wrap_free(void *p)
{
	untrack(p);
	__real_free(p);
}

/* --- files --------------------------------------------------------------------------------- */

static bool path_fails(const char *path)
{
	return inj.fail_prefix != NULL && path != NULL &&
	       strncmp(path, inj.fail_prefix, strlen(inj.fail_prefix)) == 0;
}

int __real_open(const char *path, int flags, ...);
FILE *__real_fopen(const char *path, const char *mode);
int __real_mkostemp(char *tmpl, int flags);
ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __real_writev(int fd, const struct iovec *iov, int n);
int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __real_unlink(const char *path);

int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;

	if (should_fail(INJ_OPEN, CALLER) || path_fails(path)) {
		errno = EACCES;
		return -1;
	}
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return __real_open(path, flags, mode);
}

FILE *__wrap_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode)
{
	if (should_fail(INJ_FOPEN, CALLER) || path_fails(path)) {
		errno = EACCES;
		return NULL;
	}
	return __real_fopen(path, mode);
}

int __wrap_mkostemp(char *tmpl, int flags);
int __wrap_mkostemp(char *tmpl, int flags)
{
	if (should_fail(INJ_MKOSTEMP, CALLER)) {
		errno = EACCES;
		return -1;
	}
	return __real_mkostemp(tmpl, flags);
}

ssize_t __wrap_write(int fd, const void *buf, size_t len);
ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	if (should_fail(INJ_WRITE, CALLER)) {
		errno = EIO;
		return -1;
	}
	return __real_write(fd, buf, len);
}

/* The same kind as write(2): gotrue_replace_file writes with writev(2) (lib/client/secure.c). */
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n)
{
	if (should_fail(INJ_WRITE, CALLER)) {
		errno = EIO;
		return -1;
	}
	return __real_writev(fd, iov, n);
}

int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
	if (should_fail(INJ_FSYNC, CALLER)) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to)
{
	if (should_fail(INJ_RENAME, CALLER)) {
		errno = EIO;
		return -1;
	}
	return __real_rename(from, to);
}

int __wrap_unlink(const char *path);
int __wrap_unlink(const char *path)
{
	if (should_fail(INJ_UNLINK, CALLER)) {
		errno = EIO;
		return -1;
	}
	return __real_unlink(path);
}

/* --- network ------------------------------------------------------------------------------- */

CURLcode __real_curl_easy_perform(CURL *h);
CURLcode __wrap_curl_easy_perform(CURL *h);
CURLcode __wrap_curl_easy_perform(CURL *h)
{
	CURLcode cc;
	char *url = NULL;
	long status = 0;

	if (should_fail(INJ_CURL, CALLER))
		return CURLE_COULDNT_CONNECT;
	cc = __real_curl_easy_perform(h);
	/* The revocation is done once the server said so: what follows it in close_session is
	 * the housekeeping of a session that no longer exists on the server. */
	if (inj.armed && inj.phase == INJ_PHASE_CLOSE && cc == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url != NULL &&
	    strstr(url, "/logout") != NULL &&
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 200 &&
	    status < 300)
		inj.revoked = true;
	return cc;
}

/* --- the post-decision account entry refresh (pam/auth.c step_refresh_entry) ---------------- */

int __real_gotrue_sync_one_user(pam_handle_t *pamh, const struct gotrue_config *cfg,
				const struct gotrue_user *u, const struct gotrue_sync_options *opt);
int __wrap_gotrue_sync_one_user(pam_handle_t *pamh, const struct gotrue_config *cfg,
				const struct gotrue_user *u, const struct gotrue_sync_options *opt);
int __wrap_gotrue_sync_one_user(pam_handle_t *pamh, const struct gotrue_config *cfg,
				const struct gotrue_user *u, const struct gotrue_sync_options *opt)
{
	int rc;

	inj.housekeeping++;
	rc = __real_gotrue_sync_one_user(pamh, cfg, u, opt);
	inj.housekeeping--;
	return rc;
}

/* --- clearing the failure count after a success (pam/throttle.c pg_throttle_success) -------- */

void __real_pg_throttle_success(struct pg_ctx *ctx);
void __wrap_pg_throttle_success(struct pg_ctx *ctx);
void __wrap_pg_throttle_success(struct pg_ctx *ctx)
{
	inj.housekeeping++;
	__real_pg_throttle_success(ctx);
	inj.housekeeping--;
}

/* --- regions the judge treats apart (test_inject.c says why) ------------------------------- */

unsigned long long __real_gotrue_store_pid_start(pid_t pid);
unsigned long long __wrap_gotrue_store_pid_start(pid_t pid);
unsigned long long __wrap_gotrue_store_pid_start(pid_t pid)
{
	unsigned long long start;

	inj.pid_start++;
	start = __real_gotrue_store_pid_start(pid);
	inj.pid_start--;
	return start;
}
