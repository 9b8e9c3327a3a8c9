/* terminate: ends the Linux session of a store record whose GoTrue session was revoked. The user
 * is told why on the record's tty; then systemd-logind ends the session (loginctl
 * terminate-session, which also reaps the session's other processes), or, without logind or an
 * XDG_SESSION_ID, the recorded session leader gets SIGHUP (what a hung-up terminal sends, so
 * shells and sshd close down cleanly) and then SIGKILL. A pid is only ever signalled while its
 * /proc start time is the one recorded at open_session, so a recycled pid is never hit; where
 * that cannot be known (no start time recorded, /proc/PID/stat unreadable) nothing is signalled:
 * failing closed leaves a session running, failing open could kill someone else's process. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "terminate.h"

#define LOGINCTL_WAIT_MS 10000

static const char *const loginctl_paths[] = {"/usr/bin/loginctl", "/bin/loginctl"};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* logind session ids are short alphanumeric strings ("3", "c2"); anything else is not passed on. */
static bool xdg_id_valid(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0' || strlen(id) > 64)
		return false;
	for (i = 0; id[i] != '\0'; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '_' || id[i] == '-'))
			return false;
	}
	return true;
}

/* PAM_TTY is "pts/3", "tty1", "/dev/pts/3" or something that is not a device at all (":0",
 * "ssh"). Only names under /dev without "..". */
static int tty_path(const char *tty, char *buf, size_t len)
{
	int n;

	if (tty == NULL || tty[0] == '\0' || strstr(tty, "..") != NULL)
		return -ENOTTY;
	if (strncmp(tty, "/dev/", 5) == 0)
		n = snprintf(buf, len, "%s", tty);
	else if (tty[0] != '/')
		n = snprintf(buf, len, "/dev/%s", tty);
	else
		return -ENOTTY;
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int gotrue_terminate_tell(pam_handle_t *pamh, const struct gotrue_store_record *rec,
			  const char *reason)
{
	char path[256], line[512];
	struct stat sb;
	int fd = -1, rc, n;

	rc = tty_path(rec->tty, path, sizeof(path));
	if (rc != 0)
		goto cleanup;
	/* O_NOCTTY: never become its controlling terminal; O_NONBLOCK: a stopped terminal does not
	 * hold the pass; O_NOFOLLOW: /dev/pts entries are devices, a link there is planted. */
	fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* PAM_TTY names a service, not a device, where there is no terminal (sshd sets
		 * "ssh" for a session without a pty): nothing to tell, nothing to log. */
		rc = errno == ENOENT ? -ENOTTY : -errno;
		goto cleanup;
	}
	if (fstat(fd, &sb) != 0 || !S_ISCHR(sb.st_mode)) {
		rc = -ENOTTY;
		goto cleanup;
	}
	n = snprintf(line, sizeof(line), "\r\npam_gotrue: %s\r\n", reason);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	rc = write(fd, line, (size_t)n) == (ssize_t)n ? 0 : -EIO;
cleanup:
	if (rc != 0 && rc != -ENOTTY)
		gotrue_log(pamh, LOG_NOTICE, "cannot tell the user on the tty; user=%s error=%s",
			   rec->login, strerror(-rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* `loginctl terminate-session ID`: a fixed argv and a clean environment, no shell. 0 when
 * loginctl exited 0, -ENOENT without loginctl, else -errno. */
static int run_loginctl(pam_handle_t *pamh, const char *xdg_id)
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
	argv[2] = (char *)xdg_id; /* validated by xdg_id_valid(); posix_spawn does not write it */
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
			   "loginctl terminate-session failed; session=%s error=%s", xdg_id,
			   strerror(-rc));
	return rc;
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

/* pidfd_open(2) and pidfd_send_signal(2) through syscall(2): glibc wraps them only from 2.36. */
static int pidfd_open_leader(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int pidfd_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* Signal the recorded leader, only while it is provably the process the record names. The
 * process is pinned with a pidfd first and its start time checked after that: a pidfd keeps
 * naming the process it was opened for, so a pid freed and reused between the check and the
 * signal cannot redirect it. (Kernels before 5.3 have no pidfd: there the check is followed by
 * kill(2), which leaves that window open, microseconds against a full turn of the pid space.)
 * 0 signalled; -ESRCH the leader is gone; -ENODATA its start time is unknown, nothing sent. */
static int signal_leader(pam_handle_t *pamh, const struct gotrue_store_record *rec, int sig)
{
	enum leader_state state;
	int pidfd, rc;

	pidfd = rec->pid > 1 ? pidfd_open_leader(rec->pid) : -1;
	if (pidfd < 0 && rec->pid > 1 && errno == ESRCH) {
		rc = -ESRCH;
		goto cleanup;
	}
	state = leader_state(rec);
	if (state == LEADER_GONE) {
		rc = -ESRCH;
		goto cleanup;
	}
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
	if (pidfd >= 0)
		rc = pidfd_signal(pidfd, sig) == 0 ? 0 : -errno;
	else
		rc = kill(rec->pid, sig) == 0 ? 0 : -errno;
cleanup:
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

/* Whether the leader is gone within @ms. Unknown is not gone. */
static bool wait_gone(const struct gotrue_store_record *rec, int ms)
{
	int waited = 0;

	while (leader_state(rec) != LEADER_GONE && waited < ms) {
		sleep_ms(20);
		waited += 20;
	}
	return leader_state(rec) == LEADER_GONE;
}

int gotrue_terminate_session(pam_handle_t *pamh, const struct gotrue_store_record *rec,
			     const char *reason, int grace_ms)
{
	int rc = 0;

	if (leader_state(rec) == LEADER_GONE)
		goto cleanup; /* already over */
	gotrue_terminate_tell(pamh, rec, reason);
	/* logind names the session by its id, not by a pid: safe whatever /proc says. */
	if (xdg_id_valid(rec->xdg_session_id) && run_loginctl(pamh, rec->xdg_session_id) == 0 &&
	    wait_gone(rec, grace_ms))
		goto cleanup;
	rc = signal_leader(pamh, rec, SIGHUP);
	if (rc == -ESRCH || (rc == 0 && wait_gone(rec, grace_ms))) {
		rc = 0;
		goto cleanup;
	}
	if (rc != 0)
		goto cleanup; /* unknown start time or kill(2) refused: never escalate */
	rc = signal_leader(pamh, rec, SIGKILL);
	if (rc == -ESRCH || (rc == 0 && wait_gone(rec, grace_ms)))
		rc = 0;
	else if (rc == 0)
		rc = -ETIMEDOUT;
cleanup:
	if (rc == 0)
		gotrue_log(pamh, LOG_NOTICE, "Linux session ended; user=%s pid=%ld", rec->login,
			   (long)rec->pid);
	else
		gotrue_log(pamh, LOG_ERR, "cannot end the Linux session; user=%s pid=%ld error=%s",
			   rec->login, (long)rec->pid, strerror(-rc));
	return rc;
}
