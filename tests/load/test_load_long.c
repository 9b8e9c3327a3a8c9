/* test_load_long: one long-lived process (load_pam_worker, which links libpam alone) runs N whole
 * PAM transactions against the emulator: N = $LOAD_TRANSACTIONS, 1000 by default (the size make
 * check runs in CI, about half a minute); the full run is LOAD_TRANSACTIONS=10000. Every
 * transaction must succeed; the worker's open descriptors must be the same after as after its
 * warm-up; its resident set must not grow by more than LOAD_RSS_SLACK_KB; and the emulator must
 * have seen exactly N password grants and N logouts, leaving the store empty.
 *
 * The RSS bound. A leak of even 64 bytes a transaction is 640 KiB over 10,000, so the bound has
 * to sit below that to mean anything, yet above what glibc's malloc does on its own: the top of
 * the heap is trimmed only beyond M_TRIM_THRESHOLD (128 KiB) and libcurl, OpenSSL and libpam keep
 * a few small caches that fill during the warm-up. 512 KiB allows four trim thresholds of noise,
 * and is half of what a 100-byte leak over 10,000 transactions would add. Measured on the
 * development machine: 10,000 transactions, descriptors 5 and 5, VmRSS 11160 kB then 11200 kB
 * (+40 kB); 1000 transactions, +32 kB. Under ASan (GOTRUE_SANITIZED=yes) the quarantine
 * holds freed memory by design, so RSS is only printed there; leaks are LeakSanitizer's job. */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu.h"
#include "load.h"
#include "pamtest.h"
#include "tap.h"

#define WARMUP		  50
#define DEFAULT_N	  1000
#define LOAD_RSS_SLACK_KB 512

struct figures {
	long fds_before, rss_before, fds_after, rss_after, failures;
	int first_step, first_rc;
	double seconds;
};

/* Run the worker and read its figures; the worker's exit status, or -1. */
static int run_worker(const char *conf, long n, struct figures *f)
{
	const char *top = getenv("top_builddir");
	char bin[4096], ns[32], ws[32], line[256];
	int fds[2], status = -1;
	FILE *out;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/tests/load/load_pam_worker", top ? top : ".");
	snprintf(ns, sizeof(ns), "%ld", n);
	snprintf(ws, sizeof(ws), "%d", WARMUP);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, conf, ns, ws, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	while (out != NULL && fgets(line, sizeof(line), out) != NULL) {
		sscanf(line, "fds_before %ld", &f->fds_before);
		sscanf(line, "rss_before_kb %ld", &f->rss_before);
		sscanf(line, "fds_after %ld", &f->fds_after);
		sscanf(line, "rss_after_kb %ld", &f->rss_after);
		sscanf(line, "failures %ld", &f->failures);
		sscanf(line, "first_failure %d %d", &f->first_step, &f->first_rc);
		sscanf(line, "seconds %lf", &f->seconds);
	}
	if (out != NULL)
		fclose(out);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	const char *env_n = getenv("LOAD_TRANSACTIONS");
	const char *san = getenv("GOTRUE_SANITIZED");
	long n = env_n && atol(env_n) > WARMUP ? atol(env_n) : DEFAULT_N;
	struct figures f = {-1, -1, -1, -1, -1, 0, 0, 0};
	char extra[1024], state_dir[512];
	struct emu *e;
	char *conf = NULL, *id = NULL;
	static const char *const mode[] = {"--mode", "current", NULL};

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	/* A current server: each close asks /health for the generation (server = auto) and then
	 * revokes with scope=local; on v2.69 the default old_server_logout = forget sends none. */
	e = emu_start(mode);
	if (e == NULL)
		skip_all("cannot start the emulator");
	snprintf(state_dir, sizeof(state_dir), "%s/long.store", pt_confdir());
	snprintf(
		extra, sizeof(extra),
		"email_domains = example.com\nemail_fallback = yes\nstate_dir = %s\ntimeout = 10\n",
		state_dir);
	conf = emu_write_config(e, extra);
	id = emu_create_user(e, "alice@example.com", LOAD_PASSWORD, "{\"email_confirm\":true}");
	if (!ok(conf != NULL && id != NULL, "emulator, config and user"))
		goto cleanup;
	emu_reset_counts(e);

	is_int(run_worker(conf, n, &f), 0, "worker ran %ld transactions to the end", n);
	diag("%ld transactions in %.1f s (%.1f ms each)", n, f.seconds,
	     f.seconds * 1000.0 / (double)n);
	diag("after %d warm-up: fds %ld, VmRSS %ld kB; after %ld: fds %ld, VmRSS %ld kB (%+ld kB)",
	     WARMUP, f.fds_before, f.rss_before, n, f.fds_after, f.rss_after,
	     f.rss_after - f.rss_before);
	if (!ok(f.failures == 0, "every transaction succeeded (%ld failed)", f.failures))
		diag("first failure: step %d (1 auth, 2 acct, 3 setcred, 4 open, 5 close, "
		     "6 delcred), PAM code %d",
		     f.first_step, f.first_rc);
	ok(f.fds_before > 0 && f.fds_after == f.fds_before, "open descriptors unchanged (%ld, %ld)",
	   f.fds_before, f.fds_after);
	if (san != NULL && strcmp(san, "yes") == 0) {
		ok(f.rss_before > 0 && f.rss_after > 0, "RSS read (not bounded under ASan)");
	} else {
		ok(f.rss_before > 0 && f.rss_after - f.rss_before <= LOAD_RSS_SLACK_KB,
		   "RSS grew by %ld kB over %ld transactions (bound %d kB)",
		   f.rss_after - f.rss_before, n - WARMUP, LOAD_RSS_SLACK_KB);
	}
	is_int(emu_count(e, "POST /token?grant_type=password"), n,
	       "the emulator saw exactly %ld password grants", n);
	is_int(emu_count(e, "POST /logout"), n, "the emulator saw exactly %ld logouts", n);
	is_int(pt_store_count(state_dir), 0, "the store is empty");
cleanup:
	emu_stop(e);
	free(conf);
	free(id);
	pt_cleanup();
	return done_testing();
}
