/* terminate: ends the Linux session of a store record whose GoTrue session is over
 * (revoked_session=terminate, `gotruectl sessions revoke`): all of it, not only its leader.
 *
 * Which processes are the session's, the first way that applies:
 *   - audit: the kernel's audit session id recorded at open_session. pam_loginuid gives each
 *     login a new one, every process of the login inherits it, and no process can take another
 *     login's: the processes with the id are the session, a command run without a pty and a
 *     daemon it left behind included. Used only when open_session found it to be the login's own
 *     (lib/store/proc.h), on the same boot (the kernel counts again from 1 at each boot), and never
 * the unset id, which every process that no login started shares.
 *   - cgroup: the systemd-logind scope the leader sits in (.../user-UID.slice/session-ID.scope),
 *     which holds exactly that session's processes.
 *   - leader: the recorded session leader alone; what it started may outlive it (logged).
 * How, in order:
 *   1. the one-line notice, on each terminal the session's processes hold now (sshd opens the PAM
 *      session before it makes the pty, so the recorded PAM_TTY says "ssh"), and a short pause
 *      so that sshd can forward it before it is signalled;
 *   2. where the leader sits in a logind scope, `loginctl terminate-session ID`;
 *   3. for what is left: SIGHUP (what a hung-up terminal sends: shells and sshd close down
 *      cleanly) and SIGCONT, SIGTERM after a quarter of the grace period, SIGKILL after all of
 *      it, and again until nothing is left.
 * Nothing is signalled unless the recorded leader runs with its recorded /proc start time, or is
 * gone and the audit id alone names the session: where that cannot be known, failing closed
 * leaves a session running, failing open could kill someone else's processes. Each signal goes
 * to one process found by a scan of /proc, pinned with a pidfd and checked again (start time and
 * membership) after that, so a pid freed and reused meanwhile is never hit. (Kernels before 5.3
 * have no pidfd: there kill(2) follows the check, which leaves a window of microseconds against a
 * full turn of the pid space.) */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "terminate.h"

#define LOGINCTL_WAIT_MS 10000
#define NOTICE_PAUSE_MS	 300 /* for sshd to read the pty and send the notice on */
#define POLL_MS		 20
#define KILL_ROUNDS	 50 /* SIGKILL rounds for what a fork races in, 20 ms apart */
#define TTYS_MAX	 8

static const char *const loginctl_paths[] = {"/usr/bin/loginctl", "/bin/loginctl"};

enum how {
	BY_LEADER,
	BY_CGROUP,
	BY_AUDIT,
};

static const char *const how_names[] = {"leader only", "logind scope", "audit session"};

struct member {
	pid_t pid;
	unsigned long long start;
	unsigned int tty;
};

/* One session being ended: how its processes are told from the others, and the last scan. */
struct session {
	pam_handle_t *pamh;
	const struct gotrue_store_record *rec;
	enum how how;
	char cgroup[GOTRUE_CGROUP_MAX];
	char logind[65]; /* the logind session id of the leader's scope, "" when none */
	struct member *m;
	size_t n, cap;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* What /proc says of the recorded session leader now. */
enum leader_state {
	LEADER_GONE,	/* no such pid, a zombie, or another process (another start time) */
	LEADER_RUNS,	/* the pid runs with the recorded start time */
	LEADER_UNKNOWN, /* a process has the pid, but whether it is the leader cannot be told */
};

static enum leader_state leader_state(const struct gotrue_store_record *rec)
{
	if (rec->pid <= 1)
		return LEADER_GONE; /* no leader recorded; never pid 1 */
	if (rec->pid_start != 0 && gotrue_store_owner_alive(rec))
		return LEADER_RUNS;
	if (gotrue_store_pid_start(rec->pid) != 0)
		/* Readable: with no start time recorded a live pid proves nothing; with one,
		 * owner_alive said zombie or another start time. */
		return rec->pid_start == 0 ? LEADER_UNKNOWN : LEADER_GONE;
	/* /proc/PID/stat unreadable (no /proc, hidepid, an error): only a free pid is certain. */
	return kill(rec->pid, 0) != 0 && errno == ESRCH ? LEADER_GONE : LEADER_UNKNOWN;
}

/* Whether @pid is one of the session's processes now, by the session's own test (and not this
 * process, nor a zombie); its stat goes to @st. */
static bool is_member(const struct session *s, pid_t pid, struct gotrue_proc_stat *st)
{
	char cg[GOTRUE_CGROUP_MAX];
	bool in;

	if (pid <= 1 || pid == getpid())
		return false;
	switch (s->how) {
	case BY_AUDIT:
		/* Valid (checked by choose_how): never the unset id every daemon shares. */
		in = gotrue_proc_audit_session(pid) == s->rec->audit_session;
		break;
	case BY_CGROUP:
		in = gotrue_proc_cgroup(pid, cg, sizeof(cg)) == 0 && strcmp(cg, s->cgroup) == 0;
		break;
	default:
		in = pid == s->rec->pid;
		break;
	}
	if (!in || gotrue_proc_stat(pid, st) != 0 || st->start == 0 || st->state == 'Z' ||
	    st->state == 'X' || st->state == 'x')
		return false;
	return s->how != BY_LEADER || st->start == s->rec->pid_start;
}

static int add_member(struct session *s, pid_t pid, const struct gotrue_proc_stat *st)
{
	struct member *grown;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap > 0 ? s->cap * 2 : 16;
		grown = realloc(s->m, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		s->m = grown;
		s->cap = cap;
	}
	s->m[s->n++] = (struct member){pid, st->start, st->tty_nr};
	return 0;
}

/* A /proc entry's pid, or 0 for anything that is not a number. */
static pid_t pid_of(const char *name)
{
	long v = 0;
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] < '0' || name[i] > '9' || i >= 9)
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	return (pid_t)v;
}

/* The session's processes now, into s->m. 0 or -errno (then s->n is not to be trusted: a scan
 * that could not look is never "nothing left"). */
static int scan(struct session *s)
{
	struct gotrue_proc_stat st;
	struct dirent *e;
	DIR *d = NULL;
	pid_t pid;
	int rc = 0;

	s->n = 0;
	if (s->how == BY_LEADER) {
		if (is_member(s, s->rec->pid, &st))
			rc = add_member(s, s->rec->pid, &st);
		else if (leader_state(s->rec) != LEADER_GONE)
			rc = -EIO;
		goto cleanup;
	}
	d = opendir("/proc");
	if (d == NULL) {
		rc = -errno;
		goto cleanup;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		pid = pid_of(e->d_name);
		if (pid > 0 && is_member(s, pid, &st))
			rc = add_member(s, pid, &st);
	}
cleanup:
	if (d != NULL)
		closedir(d);
	return rc;
}

/* pidfd_open(2) and pidfd_send_signal(2) through syscall(2): glibc wraps them only from 2.36. */
static int pidfd_open_pid(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int pidfd_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	(void)pidfd;
	(void)sig;
	errno = ENOSYS;
	return -1;
#endif
}

/* Send @sig to member @m, only while it is provably the process the scan found: pinned first,
 * then its start time and membership read again. 0 sent, -ESRCH gone or another process. */
static int signal_member(const struct session *s, const struct member *m, int sig)
{
	struct gotrue_proc_stat st;
	int pidfd, rc = -ESRCH;

	pidfd = pidfd_open_pid(m->pid);
	if (pidfd < 0 && errno != ENOSYS)
		goto cleanup; /* gone */
	if (!is_member(s, m->pid, &st) || st.start != m->start)
		goto cleanup;
	if (pidfd >= 0)
		rc = pidfd_signal(pidfd, sig) == 0 ? 0 : -errno;
	else
		rc = kill(m->pid, sig) == 0 ? 0 : -errno;
cleanup:
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

/* Scan, then send @sig (and SIGCONT after it, so that a stopped process acts on it) to every
 * process of the session. 0 or the scan's -errno. */
static int signal_all(struct session *s, int sig)
{
	size_t i;
	int rc;

	rc = scan(s);
	for (i = 0; rc == 0 && i < s->n; i++) {
		if (signal_member(s, &s->m[i], sig) == 0 && sig != SIGKILL)
			signal_member(s, &s->m[i], SIGCONT);
	}
	return rc;
}

/* Whether nothing of the session is left within @ms. A failed scan is not "nothing left". */
static bool wait_empty(struct session *s, int ms)
{
	int waited = 0;

	for (;;) {
		if (scan(s) == 0 && s->n == 0)
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(POLL_MS);
		waited += POLL_MS;
	}
}

/* The device path of a controlling terminal (/proc/PID/stat field 7): Unix98 pty slaves and the
 * console's virtual and serial terminals; anything else is not written to. */
static int tty_path(unsigned int tty_nr, char *buf, size_t len)
{
	unsigned int maj = major(tty_nr), min = minor(tty_nr);
	int n;

	if (maj >= 136 && maj <= 143)
		n = snprintf(buf, len, "/dev/pts/%u", (maj - 136) * 256 + min);
	else if (maj == 4 && min >= 1 && min < 64)
		n = snprintf(buf, len, "/dev/tty%u", min);
	else if (maj == 4 && min >= 64 && min < 256)
		n = snprintf(buf, len, "/dev/ttyS%u", min - 64);
	else
		return -ENOTTY;
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/* Write @line to the terminal @tty_nr names, never blocking and never becoming its controlling
 * process. 0 or -errno. */
static int tell_tty(unsigned int tty_nr, const char *line, size_t len)
{
	char path[64];
	struct stat sb;
	int fd = -1, rc;

	rc = tty_path(tty_nr, path, sizeof(path));
	if (rc != 0)
		goto cleanup;
	/* O_NOFOLLOW: /dev/pts entries are devices, a link there is planted; O_NONBLOCK: a stopped
	 * or full terminal does not hold the pass. */
	fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto cleanup;
	}
	/* The device the process holds, and a terminal: not whatever got the name since. */
	if (fstat(fd, &sb) != 0 || !S_ISCHR(sb.st_mode) ||
	    sb.st_rdev != makedev(major(tty_nr), minor(tty_nr)) || !isatty(fd)) {
		rc = -ENOTTY;
		goto cleanup;
	}
	rc = write(fd, line, len) == (ssize_t)len ? 0 : -EIO;
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Step 1: the notice on every terminal the session's processes hold (s->m, just scanned).
 * Whether one was written. */
static bool tell(struct session *s, const char *reason)
{
	unsigned int ttys[TTYS_MAX];
	char line[512];
	size_t i, j, nt = 0;
	bool told = false;
	int n, rc;

	n = snprintf(line, sizeof(line), "\r\npam_gotrue: %s\r\n", reason);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	for (i = 0; i < s->n && nt < TTYS_MAX; i++) {
		for (j = 0; j < nt && ttys[j] != s->m[i].tty; j++)
			;
		if (s->m[i].tty != 0 && j == nt)
			ttys[nt++] = s->m[i].tty;
	}
	for (i = 0; i < nt; i++) {
		rc = tell_tty(ttys[i], line, (size_t)n);
		if (rc == 0)
			told = true;
		else if (rc != -ENOTTY && rc != -ENOENT)
			gotrue_log(s->pamh, LOG_NOTICE,
				   "cannot tell the user on the terminal; user=%s error=%s",
				   s->rec->login, strerror(-rc));
	}
	return told;
}

/* `loginctl terminate-session ID`: a fixed argv and a clean environment, no shell. 0 when
 * loginctl exited 0, -ENOENT without loginctl, else -errno. */
static int run_loginctl(pam_handle_t *pamh, const char *logind_id)
{
	/* Writable copies: posix_spawn takes char *const[], and -Wwrite-strings types literals
	 * as const. */
	static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin", env_lc[] = "LC_ALL=C";
	static char arg0[] = "loginctl", arg1[] = "terminate-session";
	char *const envp[] = {env_path, env_lc, NULL};
	posix_spawn_file_actions_t fa;
	const char *prog = NULL;
	char *argv[4];
	pid_t pid = -1, w;
	size_t i;
	int status = 0, rc = -ENOENT, err;
	long waited = 0;
	bool fa_init = false;

	for (i = 0; i < sizeof(loginctl_paths) / sizeof(loginctl_paths[0]); i++) {
		if (access(loginctl_paths[i], X_OK) == 0) {
			prog = loginctl_paths[i];
			break;
		}
	}
	if (prog == NULL)
		goto cleanup;
	argv[0] = arg0;
	argv[1] = arg1;
	argv[2] = (char *)logind_id; /* checked by gotrue_logind_session_id_valid() */
	argv[3] = NULL;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		rc = -ENOMEM;
		goto cleanup;
	}
	fa_init = true;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(&pid, prog, &fa, NULL, argv, envp);
	if (err != 0) {
		rc = -err;
		pid = -1;
		goto cleanup;
	}
	/* loginctl talks to logind over D-Bus; a hung bus must not hold the pass forever. */
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && waited < LOGINCTL_WAIT_MS) {
		sleep_ms(50);
		waited += 50;
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		rc = -ETIMEDOUT;
	} else if (w < 0) {
		rc = -errno;
	} else {
		rc = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : -ECHILD;
	}
	pid = -1;
cleanup:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (rc != 0 && rc != -ENOENT)
		gotrue_log(pamh, LOG_WARNING,
			   "loginctl terminate-session failed; session=%s error=%s", logind_id,
			   strerror(-rc));
	return rc;
}

/* Whether the record's audit session id may name the session's processes (see the top). */
static bool audit_usable(const struct gotrue_store_record *rec, bool leader_runs)
{
	char boot[GOTRUE_BOOT_ID_LEN + 1];

	if (!gotrue_audit_session_valid(rec->audit_session) || rec->boot_id == NULL ||
	    gotrue_proc_boot_id(boot) != 0 || strcmp(boot, rec->boot_id) != 0)
		return false;
	/* The leader itself must still have it: a record that says otherwise is not believed. */
	return !leader_runs || gotrue_proc_audit_session(rec->pid) == rec->audit_session;
}

/* How the session's processes are told from the others (see the top). */
static void choose_how(struct session *s, bool leader_runs)
{
	const struct gotrue_store_record *rec = s->rec;

	s->how = BY_LEADER;
	if (leader_runs && gotrue_proc_cgroup(rec->pid, s->cgroup, sizeof(s->cgroup)) == 0 &&
	    gotrue_cgroup_logind_session(s->cgroup, s->logind, sizeof(s->logind)) == 0)
		s->how = BY_CGROUP;
	else
		s->cgroup[0] = s->logind[0] = '\0';
	if (rec->xdg_session_id != NULL && strcmp(rec->xdg_session_id, s->logind) != 0)
		/* pam_env can put anything there: only the leader's own scope is believed. */
		gotrue_log(s->pamh, LOG_NOTICE,
			   "the recorded XDG_SESSION_ID is not the logind scope of the session "
			   "leader, not used; user=%s session=%s",
			   rec->login, rec->xdg_session_id);
	if (audit_usable(rec, leader_runs))
		s->how = BY_AUDIT;
	if (s->how == BY_LEADER)
		gotrue_log(
			s->pamh, LOG_WARNING,
			"only the session leader can be signalled: no audit session of the login "
			"was recorded (pam_loginuid must come before pam_gotrue in the session "
			"stack) and no logind scope holds it; what the session started may keep "
			"running; user=%s pid=%ld",
			rec->login, (long)rec->pid);
}

/* Step 3: SIGHUP, SIGTERM after a quarter of @grace_ms, SIGKILL after all of it until nothing is
 * left. 0, -ETIMEDOUT (something survived), or a scan's -errno. */
static int end_by_signals(struct session *s, int grace_ms)
{
	int waited = 0, round, rc;
	bool termed = false;

	rc = signal_all(s, SIGHUP);
	while (rc == 0 && waited < grace_ms) {
		sleep_ms(POLL_MS);
		waited += POLL_MS;
		rc = scan(s);
		if (rc == 0 && s->n == 0)
			goto cleanup;
		if (rc == 0 && !termed && waited >= grace_ms / 4) {
			rc = signal_all(s, SIGTERM);
			termed = true;
		}
	}
	for (round = 0; rc == 0 && round < KILL_ROUNDS; round++) {
		rc = signal_all(s, SIGKILL);
		if (rc == 0 && s->n == 0)
			goto cleanup;
		sleep_ms(POLL_MS);
	}
	if (rc == 0)
		rc = wait_empty(s, POLL_MS) ? 0 : -ETIMEDOUT;
cleanup:
	return rc;
}

int gotrue_terminate_session(pam_handle_t *pamh, const struct gotrue_store_record *rec,
			     const char *reason, int grace_ms)
{
	struct session s = {.pamh = pamh, .rec = rec};
	enum leader_state state = leader_state(rec);
	size_t found = 0;
	int rc = 0;

	if (state == LEADER_UNKNOWN) {
		rc = -ENODATA;
		gotrue_log(pamh, LOG_ERR,
			   "not signalling the session leader: %s, so its pid may have been "
			   "recycled; user=%s pid=%ld",
			   rec->pid_start == 0 ? "no start time was recorded at open_session"
					       : "its /proc start time cannot be read",
			   rec->login, (long)rec->pid);
		goto cleanup;
	}
	if (state == LEADER_GONE && !audit_usable(rec, false))
		goto cleanup; /* already over, as far as anything can tell */
	choose_how(&s, state == LEADER_RUNS);
	rc = scan(&s);
	if (rc != 0 || s.n == 0)
		goto cleanup;
	found = s.n;
	if (tell(&s, reason))
		sleep_ms(NOTICE_PAUSE_MS);
	/* logind names the session by its id, which its scope proved; it ends the scope's
	 * processes with SIGTERM and, only much later, SIGKILL: what is left gets ours. */
	if (s.logind[0] != '\0' && run_loginctl(pamh, s.logind) == 0 && wait_empty(&s, grace_ms))
		goto cleanup;
	rc = end_by_signals(&s, grace_ms);
cleanup:
	if (rc == 0 && found > 0)
		gotrue_log(pamh, LOG_NOTICE,
			   "Linux session ended; user=%s pid=%ld processes=%zu by=%s", rec->login,
			   (long)rec->pid, found, how_names[s.how]);
	else if (rc != 0)
		gotrue_log(pamh, LOG_ERR,
			   "cannot end the Linux session; user=%s pid=%ld by=%s error=%s",
			   rec->login, (long)rec->pid, how_names[s.how], strerror(-rc));
	free(s.m);
	return rc;
}
