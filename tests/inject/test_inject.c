/* test_inject: fault injection into the whole PAM flow, to walk every cleanup path. The pam/
 * sources are compiled into this program with the core, and wrap.c replaces, through
 * -Wl,--wrap, every allocation, open, write, fsync, rename, unlink and curl_easy_perform that
 * those objects make. A real libpam handle (pam_start_confdir, service file in a temporary
 * directory) drives pam_authenticate, pam_acct_mgmt, pam_open_session and pam_close_session,
 * against the emulator; the service names tests/inject/shim.c, a module that hands each call
 * back to this program's pam_sm_* (libpam allows pam_set_data, pam_get_data and PAM_AUTHTOK
 * only inside a module call, so calling pam_sm_* straight from here would not be the real flow).
 *
 * The emulator is a v2.69 server: the whole matrix runs with old_server_logout = global (the
 * close revokes) and again with forget (the close only forgets the session).
 * First a counting run records how many calls of each function one cycle makes. Then, for each
 * call index of each function, a forked child runs the cycle with that one call failing, and the
 * parent asserts:
 *  - the child finished (no crash, no hang);
 *  - the phase in which the call failed did not return PAM_SUCCESS (the cycle stops there), and a
 *    failed authenticate left no pending record with live tokens behind;
 *  - a failure inside close_session gave PAM_SESSION_ERR and kept the record for
 *    `gotruectl refresh` to retry, or else the close did its whole job anyway through a fallback
 *    (PAM_SUCCESS only with the server's 2xx to POST /logout seen by wrap.c, or with
 *    old_server_logout = forget, where there is no /logout to send, and the record gone: e.g. an
 *    unreadable *other* record while counting the user's sessions);
 *  - every block the project's code allocated during the cycle was freed by its end (pam_end
 *    included).
 * These places are housekeeping, where a failure may leave the phase successful:
 *  - inside gotrue_sync_one_user() called by authenticate's last step: the decision was made
 *    from the verified token before it, and pam/auth.c documents that step as non-fatal;
 *  - inside pg_throttle_success(), which clears the user's failure count after the decision
 *    (pam/throttle.c): a count left behind can only make a later login wait, never let one in;
 *  - in close_session after POST /logout answered 2xx: the GoTrue session no longer exists, so
 *    what remains (removing the record) cannot un-revoke anything. PAM_SUCCESS or
 *    PAM_SESSION_ERR are both accepted there, and a record left behind is one the refresh pass
 *    removes when the server says the session is gone.
 * And one place where success is allowed but bounded: the open inside gotrue_store_pid_start()
 * (open_session reading /proc/PID/stat for the leader's start time). open_session may still
 * succeed there, or a host without a readable /proc would lock everyone out; but the record then
 * says "start time unknown", and the child proves that lib/sync/terminate.c refuses to signal such
 * a leader (a recycled pid must never be killed): gotrue_terminate_session() on the record fails,
 * no SIGHUP arrives, and a log line says why.
 * Besides the per-call matrix, lib/sync/terminate.c is driven directly against a forked leader: it
 * is signalled when its start time matches, and not when the start time differs, was never
 * recorded, or cannot be read because every open of /proc fails. And a store read with each of its
 * allocations failing in turn gives the record's newest version or -ENOMEM, never the older slot's
 * (a spent refresh token).
 * What this cannot see: calls inside shared libraries (libpam, libcurl, json-c, libjwt, OpenSSL,
 * glibc's internal opens), and blocks those libraries allocate; see wrap.c. When the build has
 * sanitizers, each child also exits through LeakSanitizer, which sees those too.
 *
 * Run time: one cycle makes about 380 such calls, and trying every one takes about 40 s on two
 * busy cores, so `make check` tries them all. GOTRUE_INJECT_SAMPLE=N tries at most N indices
 * per function instead (the first five, the last five and an even spread between). */
#include <config.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include "emu.h"
#include "log.h"
#include "store.h"
#include "tap.h"
#include "terminate.h"
#include "wrap.h"

#define PASSWORD      "Correct-Horse-9"
#define CHILD_TIMEOUT 30

static const char *const phase_names[INJ_PHASES] = {"auth", "account", "open_session",
						    "close_session"};

/* What a child reports back through its pipe. */
struct result {
	int rc[INJ_PHASES]; /* -1: not run */
	long count[INJ_KINDS];
	bool fired;
	int fired_phase;
	bool fired_housekeeping;
	bool revoked; /* close_session's POST /logout answered 2xx */
	bool fired_pid_start;
	void *fired_caller;
	long live;
	size_t live_bytes;
	bool table_full;
	int records_after_auth; /* session records right after authenticate */
	int records_end;	/* and at the end of the cycle */
	/* When open_session succeeded without the pid start time: lib/sync/terminate.c on its
	 * record. */
	bool term_tried;
	unsigned long long term_pid_start; /* what the record says */
	int term_rc;			   /* gotrue_terminate_session() */
	int term_hups;			   /* SIGHUPs this process got from it */
	bool term_logged;		   /* a log line said why it did not signal */
};

/* The module's log lines (libpam's pam_syslog lands here: -export-dynamic) are shown with
 * GOTRUE_INJECT_VERBOSE=1, to see why a phase failed; lines saying why a leader was not
 * signalled are counted. */
static bool verbose;
static int not_signalled_logs;

void vsyslog(int pri, const char *fmt, va_list ap)
{
	char line[512];

	/* syslog(3) and vsyslog(3) are declared by <syslog.h> through log.h. */
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strstr(line, "not signalling the session leader") != NULL)
		not_signalled_logs++;
	if (verbose)
		printf("# log: %s\n", line);
}

void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	vsyslog(pri, fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}

static char tmpdir[] = "/tmp/test_inject.XXXXXX";
static char conf_arg[600];
static int iteration;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r;
	bool armed = inj.armed;
	int i, rc = PAM_CONV_ERR;

	/* The application's allocations are not the module's: neither counted nor failed. */
	inj.armed = false;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		goto cleanup;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(PASSWORD);
	}
	*resp = r;
	rc = PAM_SUCCESS;
cleanup:
	inj.armed = armed;
	return rc;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

static volatile sig_atomic_t hups;

static void on_hup(int sig)
{
	hups++;
}

static int count_records(const char *state_dir)
{
	char path[600];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/sessions", state_dir);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strlen(de->d_name) == 32 && strspn(de->d_name, "0123456789abcdef") == 32)
			n++;
	closedir(d);
	return n;
}

static char state_arg[700];
/* The emulator is a v2.69 server, whose /logout ends every session of the user: the matrix runs
 * once with old_server_logout = global (close_session revokes) and once with forget (close only
 * forgets the session, no request but GET /health). */
static char policy_arg[64];
static bool forget_run;
static int module_rc[INJ_PHASES];

/* What the shim module forwards to (tests/inject/shim.c): one phase of the flow, armed. The
 * arguments are this test's, so that each iteration gets its own state directory. */
static int phase(enum inj_phase p, pam_handle_t *pamh, int flags)
{
	const char *argv[3] = {conf_arg, state_arg, policy_arg};
	int rc;

	inj.phase = p;
	inj.armed = true;
	switch (p) {
	case INJ_PHASE_AUTH:
		rc = pam_sm_authenticate(pamh, flags, 3, argv);
		break;
	case INJ_PHASE_ACCOUNT:
		rc = pam_sm_acct_mgmt(pamh, flags, 3, argv);
		break;
	case INJ_PHASE_OPEN:
		rc = pam_sm_open_session(pamh, flags, 3, argv);
		break;
	default:
		rc = pam_sm_close_session(pamh, flags, 3, argv);
		break;
	}
	inj.armed = false;
	inj.phase = INJ_PHASE_NONE;
	module_rc[p] = rc;
	return rc;
}

#define FORWARD(name, p)                                                                           \
	int inject_sm_##name(pam_handle_t *pamh, int flags, int argc, const char **argv);          \
	int inject_sm_##name(pam_handle_t *pamh, int flags, int argc, const char **argv)           \
	{                                                                                          \
		return phase(p, pamh, flags);                                                      \
	}
FORWARD(authenticate, INJ_PHASE_AUTH)
FORWARD(acct_mgmt, INJ_PHASE_ACCOUNT)
FORWARD(open_session, INJ_PHASE_OPEN)
FORWARD(close_session, INJ_PHASE_CLOSE)

/* open_session succeeded although the leader's start time could not be read: end that session as
 * a ban would (lib/sync/terminate.c), with this process as its recorded leader, and note what
 * happened. Unarmed: this is the judge's probe, not the module's flow. */
static void try_terminate(pam_handle_t *pamh, const char *state_dir, struct result *res)
{
	struct gotrue_store_record rec = {0};
	struct gotrue_store *store = NULL;
	const char *id = pam_getenv(pamh, "GOTRUE_SESSION_HANDLE");
	struct sigaction sa = {0}, old;
	int logs = not_signalled_logs;

	store = gotrue_store_open(NULL, state_dir);
	if (id == NULL || store == NULL || gotrue_store_read(store, id, &rec) != 0)
		goto cleanup;
	/* Not the test's pts/9, which may be a real terminal on this machine. */
	free(rec.tty);
	rec.tty = NULL;
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, &old);
	hups = 0;
	res->term_tried = true;
	res->term_pid_start = rec.pid_start;
	res->term_rc = gotrue_terminate_session(pamh, &rec, "test: session revoked", 200);
	res->term_hups = hups;
	res->term_logged = not_signalled_logs > logs;
	sigaction(SIGHUP, &old, NULL);
cleanup:
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
}

/* One auth -> account -> open -> close cycle through the real libpam, with its own state
 * directory; stops at the first phase that fails, as an application would. */
static void cycle(struct result *res)
{
	struct pam_conv pc = {conv, NULL};
	pam_handle_t *pamh = NULL;
	char state_dir[600];
	int p, last = PAM_SUCCESS;

	memset(res, 0, sizeof(*res));
	for (p = 0; p < INJ_PHASES; p++)
		module_rc[p] = -1;
	snprintf(state_dir, sizeof(state_dir), "%s/state.%d", tmpdir, iteration);
	snprintf(state_arg, sizeof(state_arg), "state_dir=%s", state_dir);
	if (pam_start_confdir("inject", "alice", &pc, tmpdir, &pamh) != PAM_SUCCESS)
		return;
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	pam_set_item(pamh, PAM_TTY, "pts/9");
	last = pam_authenticate(pamh, 0);
	res->records_after_auth = count_records(state_dir);
	if (last == PAM_SUCCESS)
		last = pam_acct_mgmt(pamh, 0);
	if (last == PAM_SUCCESS)
		last = pam_open_session(pamh, 0);
	if (last == PAM_SUCCESS && inj.fired && inj.fired_pid_start)
		try_terminate(pamh, state_dir, res);
	if (last == PAM_SUCCESS)
		last = pam_close_session(pamh, 0);
	pam_end(pamh, last);
	memcpy(res->rc, module_rc, sizeof(res->rc));
	res->records_end = count_records(state_dir);
	memcpy(res->count, inj.count, sizeof(res->count));
	res->fired = inj.fired;
	res->fired_phase = inj.fired_phase;
	res->fired_housekeeping = inj.fired_housekeeping;
	res->fired_caller = inj.fired_caller;
	res->revoked = inj.revoked;
	res->fired_pid_start = inj.fired_pid_start;
	res->live = inj.live;
	res->live_bytes = inj.live_bytes;
	res->table_full = inj.table_full;
}

/* Run one cycle in a child with call @index of @kind failing (-1: none). 0, or -1 when the child
 * crashed, hung or said nothing; *@how says which. */
static int run_child(enum inj_kind kind, long index, struct result *res, char *how, size_t how_len)
{
	int fds[2], status = 0, rc = -1;
	ssize_t got = 0, n;
	pid_t pid;

	iteration++;
	snprintf(how, how_len, "no report");
	fflush(stdout);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		struct result r;

		close(fds[0]);
		alarm(CHILD_TIMEOUT);
		inj.fail_kind = kind;
		inj.fail_index = index;
		cycle(&r);
		if (r.live > 0)
			inj_dump_live(5);
		fflush(stdout);
		if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(3);
		/* exit(), not _exit(): with sanitizers, LeakSanitizer checks the child too. */
		exit(0);
	}
	close(fds[1]);
	while (got < (ssize_t)sizeof(*res) &&
	       (n = read(fds[0], (char *)res + got, sizeof(*res) - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		snprintf(how, how_len, "killed by signal %d%s", WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? " (hung)" : "");
	else if (WEXITSTATUS(status) != 0)
		snprintf(how, how_len, "exit status %d", WEXITSTATUS(status));
	else if (got == (ssize_t)sizeof(*res))
		rc = 0;
	return rc;
}

/* A code address as an offset into this program, for `addr2line -e test_inject OFFSET`. */
static void *code_offset(void *p)
{
	Dl_info info;

	if (p != NULL && dladdr(p, &info) != 0 && info.dli_fbase != NULL)
		return (void *)((char *)p - (char *)info.dli_fbase);
	return p;
}

/* Judge one injected cycle. */
static void judge(enum inj_kind kind, long index, const struct result *r)
{
	char what[160];
	int p, bad = 0;

	snprintf(what, sizeof(what), "%s: %s #%ld (called from %p)",
		 forget_run ? "forget" : "global", inj_kind_name(kind), index,
		 code_offset(r->fired_caller));
	if (!r->fired) {
		/* The counting run saw this call; a cycle that took another path (a retry that
		 * did not happen) may not reach it. Nothing failed, so the cycle must succeed. */
		ok(r->rc[INJ_PHASE_CLOSE] == PAM_SUCCESS && r->live == 0,
		   "%s: not reached this time; cycle clean", what);
		return;
	}
	p = r->fired_phase;
	if (p < 0 || p >= INJ_PHASES) {
		ok(0, "%s: failed outside any phase", what);
		return;
	}
	if (r->fired_pid_start && r->rc[p] == PAM_SUCCESS) {
		/* open_session may succeed without the start time (see the top of this file), but
		 * the record must say "unknown" and lib/sync/terminate.c must refuse to signal it.
		 */
		if (!r->term_tried) {
			diag("%s: the record could not be read to try terminate on it", what);
			bad++;
		} else {
			if (r->term_pid_start != 0) {
				diag("%s: record has start time %llu, not 0 (unknown)", what,
				     r->term_pid_start);
				bad++;
			}
			if (r->term_rc == 0 || r->term_hups != 0) {
				diag("%s: terminate gave %d and sent %d SIGHUP(s) to a leader of "
				     "unknown start time",
				     what, r->term_rc, r->term_hups);
				bad++;
			}
			if (!r->term_logged) {
				diag("%s: no log line said why the leader was not signalled", what);
				bad++;
			}
		}
		if (r->rc[INJ_PHASE_CLOSE] != PAM_SUCCESS || r->records_end != 0) {
			diag("%s: the session then closed with %d, %d record(s) left", what,
			     r->rc[INJ_PHASE_CLOSE], r->records_end);
			bad++;
		}
	} else if (r->fired_housekeeping) {
		if (p == INJ_PHASE_CLOSE && r->rc[p] != PAM_SUCCESS &&
		    r->rc[p] != PAM_SESSION_ERR) {
			diag("%s: after the revocation close gave %d", what, r->rc[p]);
			bad++;
		}
	} else {
		if (r->rc[p] == PAM_SUCCESS && p == INJ_PHASE_CLOSE && (r->revoked || forget_run) &&
		    r->records_end == 0) {
			/* The close did its whole job despite the failure (a fallback path): the
			 * server confirmed the revocation, or there was none to make (forget), and
			 * the record is gone. */
		} else if (r->rc[p] == PAM_SUCCESS) {
			diag("%s: %s returned PAM_SUCCESS", what, phase_names[p]);
			bad++;
		}
		if (p == INJ_PHASE_AUTH && r->records_after_auth != 0) {
			diag("%s: failed authenticate left %d pending record(s)", what,
			     r->records_after_auth);
			bad++;
		}
		if (p == INJ_PHASE_CLOSE && r->rc[p] != PAM_SESSION_ERR &&
		    !(r->rc[p] == PAM_SUCCESS && (r->revoked || forget_run) &&
		      r->records_end == 0)) {
			diag("%s: close_session gave %d, not PAM_SESSION_ERR", what, r->rc[p]);
			bad++;
		}
		if (p == INJ_PHASE_CLOSE && r->rc[p] != PAM_SUCCESS && r->records_end != 1) {
			diag("%s: close_session failed but the record is gone", what);
			bad++;
		}
	}
	if (r->live != 0 || r->table_full) {
		diag("%s: %ld block(s), %zu bytes not freed%s", what, r->live, r->live_bytes,
		     r->table_full ? " (table full)" : "");
		bad++;
	}
	ok(bad == 0, "%s fails in %s%s: rc %d, no leak", what, phase_names[p],
	   r->fired_housekeeping ? " (housekeeping)"
	   : r->fired_pid_start	 ? " (pid start time: leader never signalled)"
				 : "",
	   r->rc[p]);
}

/* A session leader for lib/sync/terminate.c to end: a child that waits for signals. */
static pid_t start_leader(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(CHILD_TIMEOUT);
		for (;;)
			pause();
	}
	return pid;
}

/* Whether @pid still runs (not yet dead of a signal); reaps it if not. */
static bool leader_runs(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

static void stop_leader(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* lib/sync/terminate.c without logind (no XDG_SESSION_ID): SIGHUP only for the recorded leader, and
 * only while its /proc start time can be read and matches the record. */
static void test_terminate(void)
{
	struct gotrue_store_record rec = {0};
	char login[] = "alice";
	int rc, logs;
	pid_t pid;

	rec.login = login;
	/* Control: the right start time is signalled, so the refusals below are about it. */
	pid = start_leader();
	rec.pid = pid;
	rec.pid_start = gotrue_store_pid_start(pid);
	rc = gotrue_terminate_session(NULL, &rec, "test: session revoked", 2000);
	is_int(rc, 0, "terminate: the leader with the recorded start time is ended");
	ok(pid > 0 && !leader_runs(pid), "terminate: it got SIGHUP and is gone");
	/* Another start time: the pid was recycled by another process, which is left alone. */
	pid = start_leader();
	rec.pid = pid;
	rec.pid_start = gotrue_store_pid_start(pid) + 1;
	rc = gotrue_terminate_session(NULL, &rec, "test: session revoked", 200);
	is_int(rc, 0, "terminate: another start time: the session's leader is already gone");
	ok(leader_runs(pid), "terminate: the process now holding the pid is not signalled");
	/* No start time recorded (open_session could not read it): fail closed. */
	rec.pid_start = 0;
	logs = not_signalled_logs;
	rc = gotrue_terminate_session(NULL, &rec, "test: session revoked", 200);
	ok(rc != 0, "terminate: no recorded start time: refused (%d)", rc);
	ok(leader_runs(pid), "terminate: no recorded start time: nothing signalled");
	ok(not_signalled_logs > logs, "terminate: no recorded start time: logged why");
	/* Recorded, but /proc/PID/stat cannot be read now: fail closed too. */
	rec.pid_start = gotrue_store_pid_start(pid);
	logs = not_signalled_logs;
	inj.fail_prefix = "/proc/";
	rc = gotrue_terminate_session(NULL, &rec, "test: session revoked", 200);
	inj.fail_prefix = NULL;
	ok(rec.pid_start != 0 && rc != 0, "terminate: /proc unreadable: refused (%d)", rc);
	ok(leader_runs(pid), "terminate: /proc unreadable: nothing signalled");
	ok(not_signalled_logs > logs, "terminate: /proc unreadable: logged why");
	stop_leader(pid);
}

/* One armed gotrue_store_read of record @id through a fresh handle on @dir, with call @index of
 * @kind failing (-1: none); the calls it made go to @count. Returns the read's result, and the
 * record's refresh token in @tok. */
static int armed_read(const char *dir, const char *id, enum inj_kind kind, long index, long *count,
		      char *tok, size_t tok_len)
{
	struct gotrue_store *st = gotrue_store_open(NULL, dir);
	struct gotrue_store_record got = {0};
	int rc = -EIO;

	tok[0] = '\0';
	if (st == NULL)
		return rc;
	memset(inj.count, 0, sizeof(inj.count));
	inj.fail_kind = kind;
	inj.fail_index = index;
	inj.armed = true;
	rc = gotrue_store_read(st, id, &got);
	inj.armed = false;
	*count = inj.count[kind];
	/* Leave nothing for the matrix's children, which start from this state. */
	inj.fail_index = -1;
	inj.fired = false;
	memset(inj.count, 0, sizeof(inj.count));
	if (rc == 0)
		snprintf(tok, tok_len, "%s", got.refresh_token ? got.refresh_token : "");
	gotrue_store_record_clear(&got);
	gotrue_store_close(st);
	return rc;
}

/* lib/store/store.c reads a record whole or not at all. A record written twice holds its newest
 * version in one slot and the one before in the other; with each allocation of the read failing in
 * turn, the read gives the newest version or -ENOMEM, never the older slot's, whose refresh token a
 * rotation has spent (GoTrue revokes the whole session when it is sent again). */
static void test_store_read_whole(void)
{
	static const enum inj_kind kinds[] = {INJ_MALLOC, INJ_CALLOC, INJ_REALLOC, INJ_STRDUP,
					      INJ_STRNDUP};
	char dir[] = "/tmp/test_inject_store.XXXXXX", tok[64], cmd[128];
	struct gotrue_store_record rec = {0};
	struct gotrue_store *st = NULL;
	long n, i, tried = 0, older = 0, other = 0, nomem = 0, unused;
	size_t k;
	int rc;

	if (mkdtemp(dir) == NULL || (st = gotrue_store_open(NULL, dir)) == NULL ||
	    gotrue_store_new_id(rec.id) != 0) {
		ok(0, "store read: setup");
		goto cleanup;
	}
	rec.state = GOTRUE_STORE_ACTIVE;
	rec.user_id = strdup("4b2a65ee-03c2-4dd2-8fa7-61d27618d004");
	rec.login = strdup("alice");
	rec.access_token = strdup("access-spent");
	rec.refresh_token = strdup("refresh-spent");
	rc = gotrue_store_write(st, &rec);
	free(rec.refresh_token);
	rec.refresh_token = strdup("refresh-newest");
	if (rc != 0 || gotrue_store_write(st, &rec) != 0 ||
	    armed_read(dir, rec.id, INJ_MALLOC, -1, &unused, tok, sizeof(tok)) != 0 ||
	    strcmp(tok, "refresh-newest") != 0) {
		ok(0, "store read: a record with two versions");
		goto cleanup;
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		armed_read(dir, rec.id, kinds[k], -1, &n, tok, sizeof(tok));
		for (i = 0; i < n; i++, tried++) {
			rc = armed_read(dir, rec.id, kinds[k], i, &unused, tok, sizeof(tok));
			if (rc == 0 && strcmp(tok, "refresh-spent") == 0)
				older++;
			else if (rc == -ENOMEM)
				nomem++;
			else if (rc != 0 || strcmp(tok, "refresh-newest") != 0)
				other++;
		}
	}
	diag("store read: %ld allocations failed in turn, %ld gave -ENOMEM", tried, nomem);
	ok(tried > 0 && nomem > 0, "store read: allocations of the read were failed");
	is_int(older, 0, "store read: never the older version");
	is_int(other, 0, "store read: the newest version or -ENOMEM, nothing else");
cleanup:
	gotrue_store_close(st);
	gotrue_store_record_clear(&rec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
}

static int write_service(void)
{
	char path[600];
	FILE *f;

	const char *b = getenv("top_builddir");
	char shim[600];

	snprintf(shim, sizeof(shim), "%s/tests/inject/.libs/pam_inject_shim.so", b ? b : ".");
	snprintf(path, sizeof(path), "%s/inject", tmpdir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "auth required %s\naccount required %s\nsession required %s\n", shim, shim,
		shim);
	return fclose(f) == 0 ? 0 : -1;
}

/* The counting run, then every call of every wrapped function failing in turn (or a sample),
 * with old_server_logout = @policy. */
static void run_matrix(const char *policy, bool exhaustive, long sample)
{
	struct result base, r;
	char how[64];
	long i, tried = 0, total = 0, step;
	int k;

	snprintf(policy_arg, sizeof(policy_arg), "old_server_logout=%s", policy);
	forget_run = strcmp(policy, "forget") == 0;
	/* The counting run: nothing fails; the whole cycle succeeds and frees everything. */
	if (run_child(INJ_KINDS, -1, &base, how, sizeof(how)) != 0) {
		ok(0, "%s: counting run (%s)", policy, how);
		return;
	}
	is_int(base.rc[INJ_PHASE_CLOSE], PAM_SUCCESS, "%s: counting run: the whole cycle succeeds",
	       policy);
	diag("%s: counting run: auth %d, account %d, open %d, close %d", policy, base.rc[0],
	     base.rc[1], base.rc[2], base.rc[3]);
	is_int(base.records_end, 0, "%s: counting run: store empty after close", policy);
	is_int(base.live, 0, "%s: counting run: every block freed", policy);
	is_int(base.revoked, !forget_run, "%s: counting run: %s", policy,
	       forget_run ? "no /logout sent" : "the close revoked");
	for (k = 0; k < INJ_KINDS; k++) {
		diag("%-18s %ld call(s) per cycle", inj_kind_name(k), base.count[k]);
		total += base.count[k];
	}
	ok(base.count[INJ_CURL] > 0 && base.count[INJ_MALLOC] + base.count[INJ_CALLOC] > 0 &&
		   base.count[INJ_OPEN] > 0 && base.count[INJ_RENAME] > 0 &&
		   base.count[INJ_FSYNC] > 0 && base.count[INJ_WRITE] > 0,
	   "%s: the wrapped functions are really called (the --wrap link works)", policy);

	for (k = 0; k < INJ_KINDS; k++) {
		/* GOTRUE_INJECT_SAMPLE: all of a small count; else the first and last five and a
		 * spread. */
		step = exhaustive || base.count[k] <= sample
			       ? 1
			       : (base.count[k] + sample - 1) / sample;
		for (i = 0; i < base.count[k]; i++) {
			if (step > 1 && i >= 5 && i < base.count[k] - 5 && i % step != 0)
				continue;
			if (run_child((enum inj_kind)k, i, &r, how, sizeof(how)) != 0) {
				ok(0, "%s: %s #%ld: the cycle ended cleanly (%s)", policy,
				   inj_kind_name(k), i, how);
				continue;
			}
			judge((enum inj_kind)k, i, &r);
			tried++;
		}
	}
	diag("%s: %ld of %ld call sites failed in turn%s", policy, tried, total,
	     exhaustive ? " (all of them)" : " (sampled: GOTRUE_INJECT_SAMPLE)");
}

int main(void)
{
	struct emu *e = NULL;
	char *conf = NULL, *id = NULL, cmd[700];
	const char *sample_env = getenv("GOTRUE_INJECT_SAMPLE");
	long sample = sample_env != NULL ? atol(sample_env) : 0;
	bool exhaustive = sample <= 0;
	time_t t0 = time(NULL);

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam < 1.4 has no pam_start_confdir");
#endif
	verbose = getenv("GOTRUE_INJECT_VERBOSE") != NULL;
	/* Lines of the core logged without a PAM handle go to syslog(3), i.e. to vsyslog above. */
	gotrue_log_init("test_inject", GOTRUE_LOG_SYSLOG, false);
	test_terminate();
	test_store_read_whole();
	if (mkdtemp(tmpdir) == NULL)
		return 99;
	e = emu_start(NULL);
	if (e == NULL)
		skip_all("cannot start the emulator");
	conf = emu_write_config(e,
				"email_domains = example.com\nemail_fallback = yes\ntimeout = 5\n");
	id = emu_create_user(e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}");
	if (conf == NULL || id == NULL || write_service() != 0) {
		ok(0, "setup");
		goto cleanup;
	}
	snprintf(conf_arg, sizeof(conf_arg), "conf=%s", conf);

	/* The tracker itself must be able to see a leak, or "no leak" below proves nothing. */
	{
		void *volatile probe; /* kept, or GCC drops the malloc/free pair */
		/* Through volatile: GCC assumes malloc changes no global and would reuse a read. */
		volatile long *live = &inj.live;
		long before = *live;

		inj.armed = true;
		probe = malloc(16);
		inj.armed = false;
		ok(probe != NULL && *live == before + 1, "tracker: an armed malloc is live");
		free(probe);
		ok(*live == before, "tracker: and gone once freed");
	}

	run_matrix("global", exhaustive, sample);
	run_matrix("forget", exhaustive, sample);
	diag("%ld s in all", (long)(time(NULL) - t0));
cleanup:
	emu_stop(e);
	free(conf);
	free(id);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cannot remove %s", tmpdir);
	return done_testing();
}
