/* terminate: ends the Linux session of a store record whose GoTrue session was revoked. The user
 * is told why on the record's tty; then systemd-logind ends the session (loginctl
 * terminate-session, which also reaps the session's other processes), or, without logind or an
 * XDG_SESSION_ID, the recorded session leader gets SIGHUP (what a hung-up terminal sends, so
 * shells and sshd close down cleanly) and then SIGKILL. A pid is only ever signalled while its
 * /proc start time is the one recorded at open_session, so a recycled pid is never hit. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

/* Signal the leader only while it is still the process the record names. */
static int signal_leader(const struct gotrue_store_record *rec, int sig)
{
	if (rec->pid <= 1 || rec->pid_start == 0 || !gotrue_store_owner_alive(rec))
		return -ESRCH;
	return kill(rec->pid, sig) == 0 ? 0 : -errno;
}

static bool wait_gone(const struct gotrue_store_record *rec, int ms)
{
	int waited = 0;

	while (gotrue_store_owner_alive(rec) && waited < ms) {
		sleep_ms(20);
		waited += 20;
	}
	return !gotrue_store_owner_alive(rec);
}

int gotrue_terminate_session(pam_handle_t *pamh, const struct gotrue_store_record *rec,
			     const char *reason, int grace_ms)
{
	int rc = 0;

	if (!gotrue_store_owner_alive(rec))
		goto cleanup; /* already over */
	gotrue_terminate_tell(pamh, rec, reason);
	if (xdg_id_valid(rec->xdg_session_id) && run_loginctl(pamh, rec->xdg_session_id) == 0 &&
	    wait_gone(rec, grace_ms))
		goto cleanup;
	/* Without a start time the pid may have been recycled: never signal it. */
	if (rec->pid_start == 0) {
		rc = -ESRCH;
		gotrue_log(pamh, LOG_ERR,
			   "cannot end the session: its leader's start time is unknown; user=%s",
			   rec->login);
		goto cleanup;
	}
	rc = signal_leader(rec, SIGHUP);
	if (rc == -ESRCH || (rc == 0 && wait_gone(rec, grace_ms))) {
		rc = 0;
		goto cleanup;
	}
	rc = signal_leader(rec, SIGKILL);
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
