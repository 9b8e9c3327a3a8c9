/* test_pam_session: the session life cycle through the real libpam and the emulator:
 * auth -> account -> setcred -> open -> close revokes exactly once and leaves the store empty, also
 * when authenticate runs in a forked child that hands back only its PAM environment (as sshd does);
 * close after the access token expired refreshes first; 50 parallel sessions; the old-server policy
 * (v2.69 ends every session on logout); and chauthtok. */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "api.h"
#include "emu.h"
#include "pamtest.h"
#include "secure.h"
#include "store.h"
#include "tap.h"

#define PASSWORD "Correct-Horse-9"
#define PARALLEL 50

struct env {
	struct emu *e;
	char state_dir[512];
	char *conf;
	char service[64];
};

static int setup(struct env *v, const char *name, const char *const *emu_args,
		 const char *extra_conf)
{
	char extra[1024], args[1024], *id = NULL;

	memset(v, 0, sizeof(*v));
	v->e = emu_start(emu_args);
	if (v->e == NULL)
		return -1;
	snprintf(v->state_dir, sizeof(v->state_dir), "%s/%s.store", pt_confdir(), name);
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nstate_dir = %s\ntimeout = 3\n%s", v->state_dir,
		 extra_conf ? extra_conf : "");
	v->conf = emu_write_config(v->e, extra);
	snprintf(v->service, sizeof(v->service), "%s", name);
	snprintf(args, sizeof(args), "conf=%s", v->conf);
	snprintf(extra, sizeof(extra), "%s-permit", name);
	if (v->conf == NULL || pt_service(name, args) != 0 ||
	    pt_service_then(extra, args, "pam_permit.so") != 0 ||
	    (id = emu_create_user(v->e, "alice@example.com", PASSWORD,
				  "{\"email_confirm\":true}")) == NULL)
		return -1;
	free(id);
	return 0;
}

static void teardown(struct env *v)
{
	emu_stop(v->e);
	free(v->conf);
}

static pam_handle_t *start(struct env *v, struct pt_conv *c, const char *password)
{
	memset(c, 0, sizeof(*c));
	c->answers[0] = password;
	return pt_start(v->service, "alice", c);
}

/* auth + acct + setcred + open; PAM_SUCCESS or the first failure. */
static int login(pam_handle_t *pamh)
{
	int rc = pam_authenticate(pamh, 0);

	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (rc == PAM_SUCCESS)
		rc = pam_open_session(pamh, 0);
	return rc;
}

static void test_cycle(struct env *v)
{
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc;

	emu_reset_counts(v->e);
	pamh = start(v, &c, PASSWORD);
	pam_set_item(pamh, PAM_TTY, "pts/7");
	pam_set_item(pamh, PAM_RHOST, "192.0.2.1");
	is_int(login(pamh), PAM_SUCCESS, "same process: auth, account, setcred, open");
	is_int(pt_store_count(v->state_dir), 1, "one record while the session is open");
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "same process: close_session");
	pam_end(pamh, rc);
	is_int(emu_count(v->e, "POST /logout"), 1, "exactly one logout");
	is_int(pt_store_count(v->state_dir), 0, "store empty after close");
}

/* sshd: the child authenticates and sends back pam_getenvlist(); the parent's handle never ran
 * authenticate and gets only the environment. */
static void test_cross_process(struct env *v)
{
	struct gotrue_store *store;
	struct gotrue_store_record rec = {0};
	struct pt_conv c;
	pam_handle_t *pamh;
	char buf[4096] = "", *line, *save = NULL;
	int fds[2], status = -1, rc;
	ssize_t n, got = 0;
	pid_t pid;

	emu_reset_counts(v->e);
	pamh = start(v, &c, PASSWORD);
	pam_set_item(pamh, PAM_TTY, "ssh");
	if (pipe(fds) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		char **envl;
		size_t i;

		close(fds[0]);
		rc = pam_authenticate(pamh, 0);
		envl = pam_getenvlist(pamh);
		for (i = 0; rc == PAM_SUCCESS && envl != NULL && envl[i] != NULL; i++) {
			if (write(fds[1], envl[i], strlen(envl[i])) < 0 ||
			    write(fds[1], "\n", 1) < 0)
				_exit(2);
		}
		_exit(rc == PAM_SUCCESS ? 0 : 1); /* no pam_end: sshd's child just exits */
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "child: authenticated");
	ok(strstr(buf, "GOTRUE_SESSION_HANDLE=") != NULL, "child: handle in the PAM environment");
	ok(strstr(buf, "eyJ") == NULL, "child: no token in the PAM environment");
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		pam_putenv(pamh, line);
	is_int(pam_acct_mgmt(pamh, 0), PAM_SUCCESS, "parent: account");
	is_int(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS, "parent: setcred");
	is_int(pam_open_session(pamh, 0), PAM_SUCCESS, "parent: open_session by handle");
	store = gotrue_store_open(NULL, v->state_dir);
	if (store != NULL && pt_store_first(v->state_dir) != NULL &&
	    gotrue_store_read(store, pt_store_first(v->state_dir), &rec) == 0) {
		is_int(rec.state, GOTRUE_STORE_ACTIVE, "record active");
		is_int(rec.pid, getpid(), "record names the opening process");
		is_str(rec.tty, "ssh", "record has the tty");
		is_str(rec.service, v->service, "record has the service");
		ok(rec.pid_start > 0, "record has the pid start time");
		ok(rec.session_id != NULL, "record has the GoTrue session id");
	} else {
		ok(0, "record readable");
	}
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "parent: close_session");
	pam_end(pamh, rc);
	is_int(emu_count(v->e, "POST /logout"), 1, "cross-process: exactly one logout");
	is_int(pt_store_count(v->state_dir), 0, "cross-process: store empty");
}

static void test_foreign_handle(struct env *v)
{
	char service[128];
	struct pt_conv c;
	pam_handle_t *pamh;

	pamh = start(v, &c, NULL);
	pam_putenv(pamh, "GOTRUE_SESSION_HANDLE=../../etc/passwd");
	ok(pam_open_session(pamh, 0) != PAM_SUCCESS, "malformed handle: no session");
	pam_putenv(pamh, "GOTRUE_SESSION_HANDLE=0123456789abcdef0123456789abcdef");
	is_int(pam_open_session(pamh, 0), PAM_SESSION_ERR, "unknown handle: PAM_SESSION_ERR");
	pam_end(pamh, PAM_SUCCESS);
	pamh = start(v, &c, NULL);
	is_int(pam_acct_mgmt(pamh, 0), PAM_USER_UNKNOWN, "unknown to this host: PAM_USER_UNKNOWN");
	pam_end(pamh, PAM_SUCCESS);
	/* PAM_IGNORE shows as the next module's (pam_permit's) result; an error would not. */
	snprintf(service, sizeof(service), "%s-permit", v->service);
	memset(&c, 0, sizeof(c));
	pamh = pt_start(service, "alice", &c);
	is_int(pam_open_session(pamh, 0), PAM_SUCCESS, "no handle (ssh key login): PAM_IGNORE");
	is_int(pam_close_session(pamh, 0), PAM_SUCCESS, "no handle: close is PAM_IGNORE too");
	is_int(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS,
	       "setcred for a user without record or handle: PAM_IGNORE");
	pam_end(pamh, PAM_SUCCESS);
}

static void test_expired(void)
{
	static const char *const args[] = {"--mode", "current", "--jwt-exp", "2", NULL};
	struct env v;
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc;

	if (setup(&v, "expiry", args, NULL) != 0) {
		ok(0, "expiry: setup");
		return;
	}
	pamh = start(&v, &c, PASSWORD);
	is_int(login(pamh), PAM_SUCCESS, "expiry: login");
	sleep(3);
	emu_reset_counts(v.e);
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "expiry: close_session");
	pam_end(pamh, rc);
	is_int(emu_count(v.e, "POST /token?grant_type=refresh_token"), 1, "expiry: one refresh");
	is_int(emu_count(v.e, "POST /logout"), 1, "expiry: then one logout");
	is_int(emu_count(v.e, "refresh_reuse"), 0, "expiry: no refresh token reused");
	is_int(pt_store_count(v.state_dir), 0, "expiry: store empty");
	teardown(&v);
}

static void test_parallel(struct env *v)
{
	pid_t pids[PARALLEL];
	int ready[2], go[2], i, failed = 0, status;
	char b;

	emu_reset_counts(v->e);
	if (pipe(ready) != 0 || pipe(go) != 0)
		return;
	for (i = 0; i < PARALLEL; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct pt_conv c;
			pam_handle_t *pamh;
			int rc;

			close(ready[0]);
			close(go[1]);
			pamh = start(v, &c, PASSWORD);
			rc = login(pamh);
			if (write(ready[1], rc == PAM_SUCCESS ? "y" : "n", 1) != 1)
				_exit(3);
			if (read(go[0], &b, 1) < 0) /* EOF when the parent lets go */
				_exit(3);
			if (rc == PAM_SUCCESS)
				rc = pam_close_session(pamh, 0);
			pam_end(pamh, rc);
			_exit(rc == PAM_SUCCESS ? 0 : 1);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (i = 0; i < PARALLEL; i++) {
		if (read(ready[0], &b, 1) != 1 || b != 'y')
			failed++;
	}
	is_int(failed, 0, "parallel: %d sessions opened", PARALLEL);
	is_int(pt_store_count(v->state_dir), PARALLEL, "parallel: one record each");
	close(go[1]);
	failed = 0;
	for (i = 0; i < PARALLEL; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	close(ready[0]);
	is_int(failed, 0, "parallel: all closed");
	is_int(emu_count(v->e, "POST /logout"), PARALLEL, "parallel: exactly %d logouts", PARALLEL);
	is_int(pt_store_count(v->state_dir), 0, "parallel: store empty");
}

/* v2.69 ends every session of the user on /logout: the other local sessions must survive until
 * the last one closes. */
static void test_old_server(void)
{
	static const char *const args[] = {"--mode", "v2.69", NULL};
	struct gotrue_config *cfg = NULL;
	struct gotrue_client *client = NULL;
	struct gotrue_store *store = NULL;
	struct gotrue_store_record rec = {0};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	struct pt_conv c[3];
	pam_handle_t *pamh[3];
	const char *env;
	char id3[33] = "", *spent = NULL;
	struct env v;
	int i, rc;

	if (setup(&v, "old", args, NULL) != 0) {
		ok(0, "old server: setup");
		return;
	}
	for (i = 0; i < 3; i++) {
		pamh[i] = start(&v, &c[i], PASSWORD);
		is_int(login(pamh[i]), PAM_SUCCESS, "old server: session %d open", i + 1);
	}
	env = pam_getenv(pamh[2], "GOTRUE_SESSION_HANDLE");
	if (env != NULL)
		snprintf(id3, sizeof(id3), "%s", env);
	emu_reset_counts(v.e);
	for (i = 0; i < 2; i++) {
		rc = pam_close_session(pamh[i], 0);
		is_int(rc, PAM_SUCCESS, "old server: close %d", i + 1);
		pam_end(pamh[i], rc);
	}
	is_int(emu_count(v.e, "POST /logout"), 0, "old server: no logout while a session remains");
	is_int(pt_store_count(v.state_dir), 1, "old server: closed records removed");

	/* The remaining session's refresh token still works (as gotruectl refresh would use it). */
	cfg = gotrue_config_new();
	store = gotrue_store_open(NULL, v.state_dir);
	if (cfg != NULL && store != NULL &&
	    gotrue_config_load_file(NULL, cfg, v.conf, false) == 0 &&
	    (client = gotrue_client_new(NULL, cfg)) != NULL &&
	    gotrue_store_read(store, id3, &rec) == 0) {
		rc = gotrue_refresh(client, rec.refresh_token, &s, &err);
		is_int(rc, 0, "old server: the last session's refresh token still works");
		if (rc == 0) {
			gotrue_wipe_free_str(rec.access_token);
			gotrue_wipe_free_str(rec.refresh_token);
			rec.access_token = s.access_token;
			rec.refresh_token = s.refresh_token;
			s.access_token = s.refresh_token = NULL;
			spent = gotrue_secret_strdup(rec.refresh_token);
			gotrue_store_write(store, &rec);
		}
	} else {
		ok(0, "old server: record of the last session");
	}
	rc = pam_close_session(pamh[2], 0);
	is_int(rc, PAM_SUCCESS, "old server: last close");
	pam_end(pamh[2], rc);
	is_int(emu_count(v.e, "POST /logout"), 1, "old server: the last one revokes");
	is_int(pt_store_count(v.state_dir), 0, "old server: store empty");
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	if (spent != NULL && client != NULL)
		ok(gotrue_refresh(client, spent, &s, &err) != 0,
		   "old server: after the last close the family is revoked");
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	gotrue_wipe_free_str(spent);
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	teardown(&v);
}

static void test_server_down_on_close(struct env *v)
{
	struct pt_conv c;
	pam_handle_t *pamh;
	double t0, took;
	int rc;

	pamh = start(v, &c, PASSWORD);
	is_int(login(pamh), PAM_SUCCESS, "close while down: login");
	emu_fault(v->e,
		  "{\"path\":\"/logout\",\"method\":\"POST\",\"kind\":\"status\",\"status\":503}");
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SESSION_ERR, "close while down: PAM_SESSION_ERR");
	is_int(pt_store_count(v->state_dir), 1, "close while down: record kept as closing");
	/* A server that hangs: close gives up within `timeout` (3 s) and keeps the record. */
	emu_fault(v->e,
		  "{\"path\":\"/logout\",\"method\":\"POST\",\"kind\":\"delay\",\"ms\":8000}");
	t0 = pt_now();
	rc = pam_close_session(pamh, 0);
	took = pt_now() - t0;
	is_int(rc, PAM_SESSION_ERR, "close while hanging: PAM_SESSION_ERR");
	ok(took < 4.0, "close while hanging: gave up within timeout + 1 s (%.2f s)", took);
	is_int(pt_store_count(v->state_dir), 1, "close while hanging: record kept");
	emu_clear_faults(v->e);
	emu_reset_counts(v->e);
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "close retried: PAM_SUCCESS");
	is_int(emu_count(v->e, "POST /logout"), 1, "close retried: revoked");
	pam_end(pamh, rc);
	is_int(pt_store_count(v->state_dir), 0, "close retried: store empty");
}

static void test_chauthtok(struct env *v)
{
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc;

	memset(&c, 0, sizeof(c));
	c.answers[0] = PASSWORD;
	c.answers[1] = "ab";
	c.answers[2] = "ab";
	pamh = pt_start(v->service, "alice", &c);
	rc = pam_chauthtok(pamh, 0);
	is_int(rc, PAM_AUTHTOK_ERR, "chauthtok: weak password refused");
	ok(strstr(c.told, "weak") != NULL && strstr(c.told, "6 characters") != NULL,
	   "chauthtok: reasons shown (%s)", c.told);
	pam_end(pamh, rc);

	memset(&c, 0, sizeof(c));
	c.answers[0] = "not-the-password";
	c.answers[1] = "New-Secret-42";
	c.answers[2] = "New-Secret-42";
	pamh = pt_start(v->service, "alice", &c);
	rc = pam_chauthtok(pamh, 0);
	is_int(rc, PAM_AUTH_ERR, "chauthtok: wrong old password refused");
	pam_end(pamh, rc);

	memset(&c, 0, sizeof(c));
	c.answers[0] = PASSWORD;
	c.answers[1] = "New-Secret-42";
	c.answers[2] = "New-Secret-42";
	pamh = pt_start(v->service, "alice", &c);
	rc = pam_chauthtok(pamh, 0);
	is_int(rc, PAM_SUCCESS, "chauthtok: changed");
	pam_end(pamh, rc);

	memset(&c, 0, sizeof(c));
	c.answers[0] = "New-Secret-42";
	pamh = pt_start(v->service, "alice", &c);
	rc = pam_authenticate(pamh, 0);
	is_int(rc, PAM_SUCCESS, "chauthtok: the new password signs in");
	pam_end(pamh, rc);
}

int main(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	signal(SIGPIPE, SIG_IGN);
	if (setup(&v, "current", args, NULL) != 0) {
		printf("Bail out! cannot set up the emulator\n");
		return 99;
	}
	test_cycle(&v);
	test_cross_process(&v);
	test_foreign_handle(&v);
	test_server_down_on_close(&v);
	test_parallel(&v);
	test_chauthtok(&v);
	teardown(&v);
	test_expired();
	test_old_server();
	pt_cleanup();
	return done_testing();
}
