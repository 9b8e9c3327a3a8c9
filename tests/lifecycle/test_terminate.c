/* test_terminate: ending a Linux session ends all of it (lib/sync/terminate.c), and the refresh
 * pass ends it within one pass after a ban or a revocation on the server (lib/sync/lifecycle.c),
 * by asking GET /user about every live session, not only those due for refresh; after a ban it
 * revokes the GoTrue session too (a ban ends none).
 *
 * Fake sessions stand in for sshd's. Their leader takes a new kernel audit session id the way
 * pam_loginuid does (it writes /proc/self/loginuid), and starts a sleep, a sleep that ignores
 * SIGHUP and SIGTERM, a daemon that left with setsid(2), and a sleep whose controlling terminal
 * is a pty this test reads. Beside them run processes that are not the session's: one with the
 * unset id 4294967295 (what every daemon has), one of another audit session, and one holding a
 * recycled leader pid. They must all survive. Needs root (a loginuid can only be set with
 * CAP_AUDIT_CONTROL) and a kernel with audit support; skipped otherwise. */
#include <config.h>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "lifetest.h"
#include "proc.h"
#include "secure.h"
#include "tap.h"
#include "terminate.h"

#define GRACE_MS      1000
#define PASS_GRACE_MS 2000 /* lib/sync/lifecycle.c TERMINATE_GRACE_MS */
#define NOTICE	      "test: your session was revoked"

enum kind {
	K_LEADER,
	K_SLEEP,
	K_STUBBORN, /* ignores SIGHUP and SIGTERM: only SIGKILL ends it */
	K_DAEMON,   /* setsid(2) and a double fork: no child of the session any more */
	K_TTY,	    /* controlling terminal: the pty this test reads */
	K_MAX
};

static const char *const kind_names[] = {"leader", "sleep", "process ignoring SIGHUP and SIGTERM",
					 "setsid daemon", "process on a pty"};

struct fake {
	pid_t pid[K_MAX];
	unsigned long long start[K_MAX];
	unsigned int audit; /* their audit session id */
	int master;	    /* the pty's master side, or -1 */
	int slave;	    /* kept open here, so that the pty never hangs up under the test */
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set_loginuid(unsigned int uid)
{
	char buf[16];
	int fd, n, rc = -1;

	fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
	n = snprintf(buf, sizeof(buf), "%u", uid);
	if (fd >= 0 && write(fd, buf, (size_t)n) == n)
		rc = 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

static bool runs(pid_t pid, unsigned long long start)
{
	struct gotrue_proc_stat st;

	return pid > 0 && gotrue_proc_stat(pid, &st) == 0 && st.start == start && st.state != 'Z';
}

/* A member of a fake session: reports its pid on @wfd (closed by the exec) and sleeps. */
static void member(int wfd, enum kind kind, const char *tty, const char *cg_procs)
{
	pid_t me;
	int fd;

	alarm(120);
	if (cg_procs != NULL && kind == K_LEADER) {
		/* Into the test's logind-like scope, before anything is started. */
		fd = open(cg_procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(4);
		close(fd);
	}
	if (kind == K_STUBBORN) {
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
	}
	if (kind == K_DAEMON || kind == K_TTY)
		setsid();
	if (kind == K_DAEMON && fork() != 0)
		_exit(0);
	/* A session leader without a terminal that opens one without O_NOCTTY gets it. */
	if (kind == K_TTY && open(tty, O_RDWR) < 0)
		_exit(3);
	me = getpid();
	if (write(wfd, &me, sizeof(me)) != (ssize_t)sizeof(me))
		_exit(5);
	if (kind == K_LEADER)
		return;
	execlp("sleep", "sleep", "300", (char *)NULL);
	_exit(127);
}

static void fake_leader(int wfd, unsigned int loginuid, const char *tty, const char *cg_procs)
{
	int k;

	if (loginuid != 0 && set_loginuid(loginuid) != 0)
		_exit(2);
	member(wfd, K_LEADER, NULL, cg_procs);
	for (k = K_SLEEP; k < K_MAX; k++) {
		if (k == K_TTY && tty == NULL)
			break;
		if (fork() == 0)
			member(wfd, (enum kind)k, tty, NULL);
	}
	close(wfd);
	for (;;)
		pause(); /* SIGHUP's default action ends it */
}

/* Start a fake session. @loginuid 0: none set (the leader keeps this process's audit id);
 * @with_pty: one member on a pty; @cg_procs: a cgroup.procs file the leader moves into first.
 * 0 or -1. */
static int fake_start(struct fake *f, unsigned int loginuid, bool with_pty, const char *cg_procs)
{
	char tty[64] = "";
	pid_t pid;
	int fds[2], k = 0;

	memset(f, 0, sizeof(*f));
	f->master = f->slave = -1;
	if (with_pty) {
		f->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (f->master < 0 || grantpt(f->master) != 0 || unlockpt(f->master) != 0 ||
		    ptsname_r(f->master, tty, sizeof(tty)) != 0)
			return -1;
		f->slave = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
		fcntl(f->master, F_SETFL, O_NONBLOCK);
	}
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		fake_leader(fds[1], loginuid, with_pty ? tty : NULL, cg_procs);
	}
	close(fds[1]);
	while (k < K_MAX && read(fds[0], &f->pid[k], sizeof(pid)) == (ssize_t)sizeof(pid))
		k++;
	close(fds[0]);
	if (k < (with_pty ? K_MAX : K_TTY))
		return -1;
	for (k = 0; k < K_MAX; k++)
		f->start[k] = f->pid[k] > 0 ? gotrue_store_pid_start(f->pid[k]) : 0;
	f->audit = gotrue_proc_audit_session(f->pid[K_LEADER]);
	return 0;
}

/* Whether every member is gone; the survivors are named. */
static bool fake_gone(const struct fake *f, const char *what)
{
	bool gone = true;
	int k;

	for (k = 0; k < K_MAX; k++) {
		if (runs(f->pid[k], f->start[k])) {
			diag("%s: the %s (pid %ld) still runs", what, kind_names[k],
			     (long)f->pid[k]);
			gone = false;
		}
	}
	return gone;
}

static bool fake_all_run(const struct fake *f)
{
	int k;

	for (k = 0; k < K_MAX; k++) {
		if (f->pid[k] > 0 && !runs(f->pid[k], f->start[k]))
			return false;
	}
	return true;
}

/* Kill what is left (only these exact processes) and reap everything reparented to us. */
static void fake_stop(struct fake *f)
{
	int k;

	for (k = 0; k < K_MAX; k++) {
		if (runs(f->pid[k], f->start[k]))
			kill(f->pid[k], SIGKILL);
	}
	sleep_ms(50);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (f->master >= 0)
		close(f->master);
	if (f->slave >= 0)
		close(f->slave);
	memset(f, 0, sizeof(*f));
	f->master = f->slave = -1;
}

/* A process that is no session's, or of another audit session (@loginuid != 0). */
static pid_t bystander(unsigned int loginuid, unsigned long long *start)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(120);
		if (loginuid != 0 && set_loginuid(loginuid) != 0)
			_exit(2);
		execlp("sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	sleep_ms(30);
	*start = gotrue_store_pid_start(pid);
	return pid;
}

static void stop_pid(pid_t pid, unsigned long long start)
{
	if (runs(pid, start))
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void fill_record(struct gotrue_store_record *rec, pid_t leader, unsigned long long start,
			unsigned int audit, const char *boot)
{
	memset(rec, 0, sizeof(*rec));
	rec->login = strdup("life");
	rec->user_id = strdup("00000000-0000-4000-8000-000000000000");
	rec->pid = leader;
	rec->pid_start = start;
	rec->audit_session = audit;
	rec->boot_id = boot != NULL ? strdup(boot) : NULL;
}

static bool pty_saw(struct fake *f, const char *text)
{
	char buf[4096];
	ssize_t n, got = 0;

	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(f->master, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got > 0 ? got : 0] = '\0';
	return strstr(buf, text) != NULL;
}

/* The whole session, found by its audit id, ends; nothing else does. */
static void test_audit(const char *boot)
{
	struct gotrue_store_record rec;
	struct fake f;
	unsigned long long s_unset, s_other;
	pid_t unset, other;
	double t0, took;
	int rc;

	unset = bystander(0, &s_unset);
	other = bystander(4343, &s_other);
	if (fake_start(&f, 4242, true, NULL) != 0) {
		ok(0, "audit: a fake session starts");
		fake_stop(&f);
		return;
	}
	ok(gotrue_audit_session_valid(f.audit) &&
		   gotrue_proc_audit_session(f.pid[K_DAEMON]) == f.audit &&
		   gotrue_proc_audit_session(other) != f.audit,
	   "audit: the session's processes share audit id %u, the other session has %u", f.audit,
	   gotrue_proc_audit_session(other));
	diag("this process's audit id: %u", gotrue_proc_audit_session(getpid()));
	fill_record(&rec, f.pid[K_LEADER], f.start[K_LEADER], f.audit, boot);
	t0 = mono_s();
	rc = gotrue_terminate_session(NULL, &rec, NOTICE, GRACE_MS);
	took = mono_s() - t0;
	is_int(rc, 0, "audit: terminate says the session is over");
	ok(fake_gone(&f, "audit"),
	   "audit: leader, sleep, SIGHUP/SIGTERM-immune process, setsid daemon and pty process "
	   "all gone");
	ok(took < 2.0 * GRACE_MS / 1000 + 1.5,
	   "audit: within the grace period and a SIGKILL (%.2f s)", took);
	ok(pty_saw(&f, "pam_gotrue: " NOTICE), "audit: the notice reached the session's pty");
	ok(runs(unset, s_unset), "audit: a process with the unset audit id is untouched");
	ok(runs(other, s_other), "audit: a process of another audit session is untouched");
	gotrue_store_record_clear(&rec);
	fake_stop(&f);
	stop_pid(unset, s_unset);
	stop_pid(other, s_other);
}

/* Records whose audit id must not be believed: the leader alone is ended. */
static void test_not_believed(const char *boot)
{
	struct gotrue_store_record rec;
	struct fake f;
	unsigned long long s_leader, s_unset, s_other;
	pid_t leader, unset, other;
	static const struct {
		const char *what;
		int audit; /* 0: unset, 1: zero, 2: the other session's, 3: f's with another boot */
	} cases[] = {
		{"the unset id 4294967295", 0},
		{"id 0", 1},
		{"another session's id, not the leader's", 2},
		{"the session's id from another boot", 3},
	};
	unsigned int audit;
	size_t i;
	int rc;

	unset = bystander(0, &s_unset);
	other = bystander(4343, &s_other);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (fake_start(&f, 4242, false, NULL) != 0) {
			ok(0, "not believed: a fake session starts");
			fake_stop(&f);
			break;
		}
		leader = cases[i].audit == 3 ? f.pid[K_LEADER] : bystander(0, &s_leader);
		if (cases[i].audit == 3)
			s_leader = f.start[K_LEADER];
		audit = cases[i].audit == 0   ? GOTRUE_AUDIT_SESSION_UNSET
			: cases[i].audit == 1 ? 0
			: cases[i].audit == 2 ? gotrue_proc_audit_session(other)
					      : f.audit;
		fill_record(&rec, leader, s_leader, audit,
			    cases[i].audit == 3 ? "00000000-0000-4000-8000-000000000000" : boot);
		rc = gotrue_terminate_session(NULL, &rec, NOTICE, GRACE_MS);
		ok(rc == 0 && !runs(leader, s_leader), "%s: the recorded leader is ended",
		   cases[i].what);
		ok(runs(unset, s_unset) && runs(other, s_other),
		   "%s: the unset-id process and the other session are untouched", cases[i].what);
		if (cases[i].audit == 3)
			ok(runs(f.pid[K_SLEEP], f.start[K_SLEEP]),
			   "%s: nothing but the leader is signalled", cases[i].what);
		else
			ok(fake_all_run(&f), "%s: the fake session is untouched", cases[i].what);
		gotrue_store_record_clear(&rec);
		if (cases[i].audit != 3)
			stop_pid(leader, s_leader);
		fake_stop(&f);
	}
	stop_pid(unset, s_unset);
	stop_pid(other, s_other);
}

/* The recorded leader's pid now belongs to another process: that one is never signalled. */
static void test_recycled(const char *boot)
{
	struct gotrue_store_record rec;
	struct fake f;
	unsigned long long s_holder;
	pid_t holder;
	int rc;

	holder = bystander(0, &s_holder);
	fill_record(&rec, holder, s_holder + 1, 0, NULL);
	rc = gotrue_terminate_session(NULL, &rec, NOTICE, GRACE_MS);
	ok(rc == 0 && runs(holder, s_holder),
	   "recycled pid, no audit id: the session is over, the pid's new holder untouched");
	gotrue_store_record_clear(&rec);
	if (fake_start(&f, 4242, false, NULL) == 0) {
		fill_record(&rec, holder, s_holder + 1, f.audit, boot);
		rc = gotrue_terminate_session(NULL, &rec, NOTICE, GRACE_MS);
		ok(runs(holder, s_holder),
		   "recycled pid with an audit id: the pid's new holder is untouched");
		/* The leader of the record is gone; the audit id still names its processes. */
		ok(rc == 0 && fake_gone(&f, "recycled"),
		   "recycled pid with an audit id: the session's own processes end");
		gotrue_store_record_clear(&rec);
	} else {
		ok(0, "recycled: a fake session starts");
	}
	fake_stop(&f);
	stop_pid(holder, s_holder);
}

/* Where the cgroup v2 hierarchy is mounted and writable, and no systemd manages it. */
static bool cgroup_root(char *root, size_t len)
{
	static const char *const roots[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	char comm[32] = "", probe[600];
	size_t i;
	FILE *fp = fopen("/proc/1/comm", "r");

	if (fp != NULL) {
		if (fgets(comm, sizeof(comm), fp) == NULL)
			comm[0] = '\0';
		fclose(fp);
	}
	if (strncmp(comm, "systemd", 7) == 0)
		return false; /* not ours to add cgroups to */
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(probe, sizeof(probe), "%s/cgroup.controllers", roots[i]);
		if (access(probe, F_OK) == 0 && access(roots[i], W_OK) == 0) {
			snprintf(root, len, "%s", roots[i]);
			return true;
		}
	}
	return false;
}

/* No audit id of its own (no pam_loginuid): the logind scope the leader sits in says which
 * processes are the session's. loginctl is tried with the scope's id, and fails (no logind
 * here; the id "gt<pid>" is no real logind id anywhere), and the signals do the work. */
static void test_cgroup(void)
{
	struct gotrue_store_record rec;
	struct fake f;
	char root[64], top[128], slice[192], scope[256], procs[300];
	unsigned long long s_unset;
	pid_t unset;
	int rc;

	if (!cgroup_root(root, sizeof(root))) {
		ok(1, "# SKIP cgroup: no writable cgroup v2 hierarchy outside systemd");
		return;
	}
	snprintf(top, sizeof(top), "%s/gotrue-test-%ld", root, (long)getpid());
	snprintf(slice, sizeof(slice), "%s/user-4242.slice", top);
	snprintf(scope, sizeof(scope), "%s/session-gt%ld.scope", slice, (long)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", scope);
	if (mkdir(top, 0755) != 0 || mkdir(slice, 0755) != 0 || mkdir(scope, 0755) != 0) {
		ok(1, "# SKIP cgroup: cannot make a scope (%s)", strerror(errno));
		goto cleanup;
	}
	unset = bystander(0, &s_unset);
	if (fake_start(&f, 0, false, procs) != 0) {
		ok(0, "cgroup: a fake session starts in its scope");
		fake_stop(&f);
		stop_pid(unset, s_unset);
		goto cleanup;
	}
	ok(!gotrue_audit_session_valid(f.audit) || f.audit == gotrue_proc_audit_session(unset),
	   "cgroup: the fake session has no audit id of its own");
	fill_record(&rec, f.pid[K_LEADER], f.start[K_LEADER], 0, NULL);
	rc = gotrue_terminate_session(NULL, &rec, NOTICE, GRACE_MS);
	ok(rc == 0 && fake_gone(&f, "cgroup"), "cgroup: every process of the scope is gone");
	ok(runs(unset, s_unset), "cgroup: a process outside the scope, same audit id, untouched");
	gotrue_store_record_clear(&rec);
	fake_stop(&f);
	stop_pid(unset, s_unset);
cleanup:
	sleep_ms(100);
	rmdir(scope);
	rmdir(slice);
	rmdir(top);
}

/* open_session's rule (lib/store/proc.h): the id is the login's own only when this process got it
 * itself, for the user's uid. */
static void test_login_audit_session(void)
{
	char boot[GOTRUE_BOOT_ID_LEN + 1];
	int fds[2];
	pid_t pid;
	unsigned int got[3] = {1, 1, 1};

	if (pipe(fds) != 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Inherited from this test: not the login's own. */
		got[0] = gotrue_proc_login_audit_session(4242, boot);
		if (set_loginuid(4242) != 0)
			_exit(2);
		got[1] = gotrue_proc_login_audit_session(4242, boot);
		got[2] = gotrue_proc_login_audit_session(4343, boot); /* another user's */
		if (write(fds[1], got, sizeof(got)) != (ssize_t)sizeof(got))
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], got, sizeof(got)) != (ssize_t)sizeof(got))
		got[0] = got[1] = got[2] = 0;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	ok(got[0] == GOTRUE_AUDIT_SESSION_UNSET,
	   "open_session: an id inherited from the parent is not recorded");
	ok(gotrue_audit_session_valid(got[1]),
	   "open_session: a new id taken for the user's uid is recorded (%u)", got[1]);
	ok(got[2] == GOTRUE_AUDIT_SESSION_UNSET,
	   "open_session: not when the loginuid is another user's");
}

/* --- the refresh pass ----------------------------------------------------------------- */

static struct gotrue_refresh_summary pass(struct world *w, int *rc)
{
	struct gotrue_refresh_summary sum;

	*rc = gotrue_refresh_pass(NULL, w->cfg, NULL, &sum);
	return sum;
}

/* Store a live session of @f's leader (not due for refresh: 3600 s tokens, 600 s margin), with
 * the audit id open_session would have recorded. */
static int live_session(struct world *w, const struct fake *f, const char *boot,
			char id[GOTRUE_STORE_ID_LEN + 1])
{
	struct gotrue_store_record rec;
	int rc;

	rc = world_session(w, GOTRUE_STORE_ACTIVE, f->pid[K_LEADER], id);
	if (rc == 0 && gotrue_store_read(w->st, id, &rec) == 0) {
		rec.audit_session = f->audit;
		rec.boot_id = strdup(boot);
		rc = gotrue_store_write(w->st, &rec);
		gotrue_store_record_clear(&rec);
	}
	return rc;
}

enum server_event {
	EV_BAN,	   /* PUT /admin/users/{id} ban_duration */
	EV_LOGOUT, /* the session revoked on the server */
	EV_DELETE, /* DELETE /admin/users/{id} */
};

static const char *const event_names[] = {"ban", "server-side logout", "deleted user"};

static void server_event(struct world *w, const char *id, enum server_event ev)
{
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	char *tok;

	if (ev == EV_BAN) {
		gotrue_admin_ban_user(w->client, w->user_id, "24h", &u, &err);
	} else if (ev == EV_DELETE) {
		gotrue_admin_delete_user(w->client, w->user_id, &err);
	} else {
		tok = world_access_token(w, id);
		gotrue_signout(w->client, tok, GOTRUE_LOGOUT_LOCAL, &err);
		free(tok);
	}
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
}

/* A live session, not due for refresh; @ev happens on the server; one pass ends it (@ends) or
 * cannot see it (v2.69 after a logout). */
static void test_pass(const char *mode, const char *policy, enum server_event ev, bool ends,
		      const char *boot)
{
	const char *const args[] = {"--mode", mode, NULL};
	char extra[64], id[GOTRUE_STORE_ID_LEN + 1], what[96], *rt = NULL;
	struct gotrue_refresh_summary s;
	struct world w;
	struct fake f;
	unsigned long long s_other;
	/* v2.69 with the default old_server_logout = forget: no /logout, the session forgotten */
	bool forget = strcmp(mode, "v2.69") == 0;
	pid_t other;
	double t0;
	int rc;

	snprintf(what, sizeof(what), "pass (%s, %s, %s)", mode, policy, event_names[ev]);
	snprintf(extra, sizeof(extra), "revoked_session = %s", policy);
	if (world_start(&w, args, extra) != 0 || fake_start(&f, 4242, true, NULL) != 0 ||
	    live_session(&w, &f, boot, id) != 0) {
		ok(0, "%s: world, fake session and record", what);
		fake_stop(&f);
		world_stop(&w);
		return;
	}
	other = bystander(4343, &s_other);
	emu_reset_counts(w.emu);
	s = pass(&w, &rc);
	ok(rc == 0 && s.checked == 1 && s.refreshed == 0 && s.revoked == 0 &&
		   emu_count(w.emu, "GET /user") == 1 && fake_all_run(&f),
	   "%s: a healthy pass asks GET /user once about the live session, not due for "
	   "refresh, and leaves it alone",
	   what);
	rt = world_refresh_token(&w, id);
	server_event(&w, id, ev);
	t0 = mono_s();
	s = pass(&w, &rc);
	if (!ends) {
		ok(rc == 0 && s.checked == 1 && s.revoked == 0 && fake_all_run(&f),
		   "%s: not visible on this server: the session goes on", what);
	} else if (strcmp(policy, "terminate") == 0) {
		ok(rc == 0 && s.revoked == 1 && s.terminated == 1,
		   "%s: the next pass sees it and terminates the session (revoked %u, terminated "
		   "%u)",
		   what, s.revoked, s.terminated);
		ok(fake_gone(&f, what), "%s: every process of the session is gone", what);
		ok(mono_s() - t0 <= 2.0 * PASS_GRACE_MS / 1000 + 2,
		   "%s: the pass ended it within its grace period (%.2f s)", what, mono_s() - t0);
		ok(pty_saw(&f, "pam_gotrue: your session was revoked"),
		   "%s: the session's pty got the notice", what);
		s = pass(&w, &rc);
		ok(rc == 0 && s.removed == 1, "%s: the pass after that removes the record", what);
	} else {
		ok(rc == 0 && s.revoked == 1 && s.terminated == 0 && fake_all_run(&f),
		   "%s: revoked and logged, the session goes on", what);
		s = pass(&w, &rc);
		ok(rc == 0 && s.revoked == 0 && fake_all_run(&f), "%s: logged once, not again",
		   what);
	}
	if (ev == EV_BAN) {
		/* A ban ends no GoTrue session: the pass revoked it with the access token. */
		is_int(emu_count(w.emu, "POST /logout"), forget ? 0 : 1, "%s: %s", what,
		       forget ? "no /logout (old_server_logout = forget)"
			      : "the GoTrue session revoked with one /logout");
		ok(world_ban(&w, "none") == 0 && world_refresh_works(&w, rt) == forget,
		   "%s: after an unban the session's refresh token is %s", what,
		   forget ? "taken again (only forgotten here)" : "refused");
	}
	ok(runs(other, s_other), "%s: another audit session's process untouched", what);
	stop_pid(other, s_other);
	free(rt);
	fake_stop(&f);
	world_stop(&w);
}

/* GET /user failing: nothing is decided, nothing ended. A 500 is one session's failure; a 429
 * and a server that does not answer within `timeout` stop the checks for this pass, so that a
 * stalled server does not hold the pass for `timeout` per session. */
static void test_pass_fault(const char *boot)
{
	static const char *const args[] = {"--mode", "current", NULL};
	static const struct {
		const char *fault, *what;
		unsigned int failed, unchanged;
		int rc;
	} cases[] = {
		{"\"kind\":\"status\",\"status\":500", "500: each counted failed", 2, 0, 0},
		{"\"kind\":\"status\",\"status\":429", "429: the other waits a pass", 1, 1, 0},
		{"\"kind\":\"delay\",\"ms\":3000", "no answer within timeout: the pass stops", 1, 1,
		 -EHOSTUNREACH},
	};
	struct gotrue_refresh_summary s;
	char id[2][GOTRUE_STORE_ID_LEN + 1], fault[160];
	struct world w;
	struct fake f[2];
	size_t i;
	double t0;
	int rc;

	memset(f, 0, sizeof(f));
	f[0].master = f[0].slave = f[1].master = f[1].slave = -1;
	if (world_start(&w, args, "revoked_session = terminate\ntimeout = 1") != 0 ||
	    fake_start(&f[0], 4242, false, NULL) != 0 ||
	    live_session(&w, &f[0], boot, id[0]) != 0 ||
	    fake_start(&f[1], 4242, false, NULL) != 0 ||
	    live_session(&w, &f[1], boot, id[1]) != 0) {
		ok(0, "fault: setup");
		goto cleanup;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(fault, sizeof(fault), "{\"path\":\"/user\",%s,\"count\":-1}",
			 cases[i].fault);
		emu_fault(w.emu, fault);
		t0 = mono_s();
		s = pass(&w, &rc);
		ok(rc == cases[i].rc && s.failed == cases[i].failed &&
			   s.unchanged == cases[i].unchanged && s.revoked == 0 &&
			   fake_all_run(&f[0]) && fake_all_run(&f[1]) && mono_s() - t0 < 2.5,
		   "fault: GET /user %s; nothing ended (rc %d, failed %u, unchanged %u, %.1f s)",
		   cases[i].what, rc, s.failed, s.unchanged, mono_s() - t0);
		emu_clear_faults(w.emu);
	}
cleanup:
	fake_stop(&f[0]);
	fake_stop(&f[1]);
	world_stop(&w);
}

/* A record revoked by the server whose session still runs, left by a pass that died before it
 * ended it: the next pass ends it. One the pass revoked after its own interrupted refresh
 * (not the server's doing) is not ended. One the server refused (a ban) still waiting in the
 * outbox (closing, tokens kept) is ended too, and revoked. */
static void test_pass_resume(const char *boot)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct gotrue_store_record rec;
	struct gotrue_refresh_summary s;
	char id[GOTRUE_STORE_ID_LEN + 1];
	struct world w;
	struct fake f;
	int rc, i;

	if (world_start(&w, args, "revoked_session = terminate") != 0) {
		ok(0, "resume: world");
		return;
	}
	for (i = 0; i < 3; i++) {
		if (fake_start(&f, 4242, false, NULL) != 0 || live_session(&w, &f, boot, id) != 0 ||
		    gotrue_store_read(w.st, id, &rec) != 0) {
			ok(0, "resume: setup");
			break;
		}
		rec.state = i < 2 ? GOTRUE_STORE_REVOKED : GOTRUE_STORE_CLOSING;
		rec.server_ended = i != 1;
		if (i < 2) {
			gotrue_wipe_free_str(rec.access_token);
			gotrue_wipe_free_str(rec.refresh_token);
			rec.access_token = rec.refresh_token = NULL;
		}
		gotrue_store_write(w.st, &rec);
		gotrue_store_record_clear(&rec);
		emu_reset_counts(w.emu);
		s = pass(&w, &rc);
		if (i == 0)
			ok(rc == 0 && s.terminated == 1 && fake_gone(&f, "resume"),
			   "resume: a session the server ended is ended by the next pass");
		else if (i == 1)
			ok(rc == 0 && s.terminated == 0 && fake_all_run(&f),
			   "resume: one revoked after our own interrupted refresh is not");
		else
			ok(rc == 0 && s.terminated == 1 && s.retried == 1 &&
				   emu_count(w.emu, "POST /logout") == 1 && fake_gone(&f, "resume"),
			   "resume: one the server refused, in the outbox, is revoked and ended");
		fake_stop(&f);
	}
	world_stop(&w);
}

int main(void)
{
	char boot[GOTRUE_BOOT_ID_LEN + 1];
	unsigned long long start;
	unsigned int audit;
	pid_t probe;

	if (geteuid() != 0)
		skip_all("needs root: a new audit session id needs CAP_AUDIT_CONTROL");
	if (gotrue_proc_boot_id(boot) != 0)
		skip_all("no /proc/sys/kernel/random/boot_id");
	/* The orphans of fake sessions come back to this process to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	gotrue_log_init("test", GOTRUE_LOG_STDERR, false);
	probe = bystander(4242, &start);
	audit = gotrue_proc_audit_session(probe);
	stop_pid(probe, start);
	if (!gotrue_audit_session_valid(audit) || audit == gotrue_proc_audit_session(getpid()))
		skip_all("cannot take a new audit session id here (kernel audit, loginuid)");
	test_login_audit_session();
	test_audit(boot);
	test_not_believed(boot);
	test_recycled(boot);
	test_cgroup();
	if (getenv("GOTRUE_EMULATOR") != NULL) {
		test_pass("current", "terminate", EV_BAN, true, boot);
		test_pass("current", "terminate", EV_LOGOUT, true, boot);
		test_pass("current", "terminate", EV_DELETE, true, boot);
		test_pass("v2.69", "terminate", EV_BAN, true, boot);
		test_pass("v2.69", "terminate", EV_DELETE, true, boot);
		test_pass("v2.69", "terminate", EV_LOGOUT, false, boot);
		test_pass("current", "log", EV_BAN, true, boot);
		test_pass_fault(boot);
		test_pass_resume(boot);
	} else {
		diag("GOTRUE_EMULATOR not set: the refresh pass parts are skipped");
	}
	return done_testing();
}
