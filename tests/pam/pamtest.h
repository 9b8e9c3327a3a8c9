/* pamtest: driving the built pam_gotrue.so through the real libpam (pam_start_confdir) with service
 * files written into a temporary directory, for the tests in tests/pam/ and tests/bench/. */
#ifndef GOTRUE_TEST_PAMTEST_H
#define GOTRUE_TEST_PAMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <security/pam_appl.h>

#define PT_MAX_ANSWERS 6

/* What the conversation answers and what it was told. */
struct pt_conv {
	const char *answers[PT_MAX_ANSWERS]; /* given in order to PAM_PROMPT_ECHO_OFF/ON */
	int next;
	char told[4096]; /* every PAM_ERROR_MSG / PAM_TEXT_INFO, one per line */
	/* Optional: asked first at each prompt; a non-NULL answer is given (copied) instead of
	 * the next of @answers (a code computed or read from the outbox at prompt time, a fault
	 * injected between two requests). NULL: @answers as usual. */
	const char *(*ask)(struct pt_conv *c, int style, const char *prompt);
	void *data;
	char prompts[2048]; /* every prompt's text, one per line */
	int n_prompts;
};

/* A fresh temporary directory for service files (removed by pt_cleanup). */
const char *pt_confdir(void);
/* Absolute path of the built module ($top_builddir/pam/.libs/pam_gotrue.so). */
const char *pt_module(void);
/* Write service @name: auth, account, session and password lines for pam_gotrue.so with @args. */
int pt_service(const char *name, const char *args);
/* The same, each type followed by "TYPE required @then" (e.g. "pam_permit.so"): libpam turns a
 * stack of only PAM_IGNORE into a failure, so PAM_IGNORE is seen as the next module's result. */
int pt_service_then(const char *name, const char *args, const char *then);
/* pt_service with "conf=@conf @extra"; says so in a TAP comment when it cannot. 0 or -1. */
int pt_service_conf(const char *name, const char *conf, const char *extra);
/* pam_start_confdir with the conversation @c; PAM_FAIL_DELAY is set to a no-op so that failures
 * are fast. NULL on error. */
pam_handle_t *pt_start(const char *service, const char *user, struct pt_conv *c);
void pt_cleanup(void);
/* One transaction: pt_start with @password as the only answer, pam_authenticate, pam_end. The
 * authenticate result, or -1 when libpam could not start. @c (may be NULL) keeps what was told. */
int pt_auth(const char *service, const char *user, const char *password, struct pt_conv *c);
/* The same from remote host @rhost (PAM_RHOST; NULL: none, as pt_auth). */
int pt_auth_from(const char *service, const char *user, const char *password, const char *rhost,
		 struct pt_conv *c);
/* What a login does before the user's shell: authenticate, acct_mgmt, setcred(ESTABLISH_CRED),
 * open_session. PAM_SUCCESS or the first failure (-1 for a NULL @pamh); no pam_end. */
int pt_login(pam_handle_t *pamh);

/* Number of session records (files named by 32 hex digits) in @state_dir/sessions. */
int pt_store_count(const char *state_dir);
/* The id of the only record, or of the first found; NULL when none (static buffer). */
const char *pt_store_first(const char *state_dir);

double pt_now(void); /* CLOCK_MONOTONIC seconds */

/* How much slower than native the test runs: 10 under `make valgrind` (tests/valgrind/run-valgrind
 * sets GOTRUE_UNDER_VALGRIND=yes), else 1. Timing-bound cases multiply their timeouts and bounds
 * by it rather than skip their assertions. */
int pt_slowdown(void);

/* Syslog capture. This file defines syslog(3), vsyslog(3) and their _FORTIFY_SOURCE variants, so
 * a program linking it, with -export-dynamic, receives what libpam's pam_syslog() and the module
 * log. Off by default: the lines go on to the system's syslog. Once pt_log_capture() is called,
 * every line is appended to an in-memory log instead (one line per call; truncated, never
 * overflowed, when the buffer is full), to be searched for what the module must or must not say. */
void pt_log_capture(void);
const char *pt_log(void); /* everything captured, NUL-terminated */
size_t pt_log_len(void);  /* its length: a mark for "what was logged since" */
int pt_log_alerts(void);  /* lines at LOG_ALERT or LOG_EMERG so far */
void pt_log_clear(void);  /* forget the lines (not the alert count) */

#endif
