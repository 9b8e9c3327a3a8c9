/* tap: the smallest TAP producer the C tests need (automake's tap-driver.sh reads it). */
#ifndef GOTRUE_TAP_H
#define GOTRUE_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long got_ = (long long)(got), want_ = (long long)(want);                      \
		if (!ok(got_ == want_, __VA_ARGS__))                                               \
			printf("#   got %lld, want %lld\n", got_, want_);                          \
	} while (0)
#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *got_ = (got), *want_ = (want);                                         \
		int same_ = (got_ && want_) ? strcmp(got_, want_) == 0 : got_ == want_;            \
		if (!ok(same_, __VA_ARGS__))                                                       \
			printf("#   got '%s', want '%s'\n", got_ ? got_ : "(null)",                \
			       want_ ? want_ : "(null)");                                          \
	} while (0)
#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))
/* Skip the whole test program (automake counts it as SKIP). */
#define skip_all(...)                                                                              \
	do {                                                                                       \
		printf("1..0 # SKIP ");                                                            \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		exit(0);                                                                           \
	} while (0)

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
