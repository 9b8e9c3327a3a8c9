/* test_pam_session: the session life cycle through the real libpam and the emulator:
 * auth -> account -> setcred -> open -> close revokes exactly once and leaves the store empty, also
 * when authenticate runs in a forked child that hands back only its PAM environment (as sshd does);
 * close after the access token expired refreshes first; 50 parallel sessions; the old-server policy
 * (v2.69 ends every session on logout: old_server_logout = forget sends none, global lets the last
 * local session revoke), across two hosts and for chauthtok; sudo, whose PAM_USER is the target
 * user by open_session; closing a session the refresh pass found revoked; a login refreshing the
 * user's account entry (index and NSS cache) only when it changed; chauthtok; and closing a
 * banned user's session, with a valid and with an expired access token. */
#include <config.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "accounts.h"
#include "api.h"
#include "emu.h"
#include "lifecycle.h"
#include "pamtest.h"
#include "secure.h"
#include "store.h"
#include "sync.h"
#include "tap.h"

#define PASSWORD "Correct-Horse-9"
#define PARALLEL 50
/* The module's `timeout` (seconds per request) in this test's configs. 3 s is ample for one
 * request to the emulator on loopback, but not for 50 sessions closing at once under valgrind's
 * 20-50x slowdown, where the requests queue for the CPU: there the timeout, and the bounds that
 * follow from it, are scaled by pt_slowdown() instead of being dropped. */
#define TIMEOUT_S (3 * pt_slowdown())

struct env {
	struct emu *e;
	char state_dir[512];
	char *conf;
	char service[64];
	char *alice_id;
};

static int setup(struct env *v, const char *name, const char *const *emu_args,
		 const char *extra_conf)
{
	char extra[1024], args[1024];

	memset(v, 0, sizeof(*v));
	v->e = emu_start(emu_args);
	if (v->e == NULL)
		return -1;
	snprintf(v->state_dir, sizeof(v->state_dir), "%s/%s.store", pt_confdir(), name);
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nemail_fallback = yes\nstate_dir = %s\ntimeout = "
		 "%d\n%s",
		 v->state_dir, TIMEOUT_S, extra_conf ? extra_conf : "");
	v->conf = emu_write_config(v->e, extra);
	snprintf(v->service, sizeof(v->service), "%s", name);
	snprintf(args, sizeof(args), "conf=%s", v->conf);
	snprintf(extra, sizeof(extra), "%s-permit", name);
	if (v->conf == NULL || pt_service(name, args) != 0 ||
	    pt_service_then(extra, args, "pam_permit.so") != 0 ||
	    (v->alice_id = emu_create_user(v->e, "alice@example.com", PASSWORD,
					   "{\"email_confirm\":true}")) == NULL)
		return -1;
	return 0;
}

static void teardown(struct env *v)
{
	emu_stop(v->e);
	free(v->conf);
	free(v->alice_id);
}

static pam_handle_t *start(struct env *v, struct pt_conv *c, const char *password)
{
	memset(c, 0, sizeof(*c));
	c->answers[0] = password;
	return pt_start(v->service, "alice", c);
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
	is_int(pt_login(pamh), PAM_SUCCESS, "same process: auth, account, setcred, open");
	is_int(pt_store_count(v->state_dir), 1, "one record while the session is open");
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "same process: close_session");
	pam_end(pamh, rc);
	is_int(emu_count(v->e, "POST /logout"), 1, "exactly one logout");
	is_int(pt_store_count(v->state_dir), 0, "store empty after close");
}

static void free_envlist(char **envl)
{
	size_t i;

	for (i = 0; envl != NULL && envl[i] != NULL; i++)
		free(envl[i]);
	free(envl);
}

/* End a forked child that authenticated for its parent: 0 when @rc is PAM_SUCCESS, 2 when the
 * environment could not be sent (-2), else 1. sshd's child just exits; this one first ends its
 * copies of the handles with PAM_DATA_SILENT, which pam_end(3) prescribes for a forked child (the
 * module's data destructors then only wipe and free, acting for nobody), so that under valgrind
 * every block is freed and the parent's later steps prove the child's cleanup took nothing away
 * from it. */
static void child_exit(pam_handle_t *own, pam_handle_t *parents, int rc)
{
	pam_end(own, (rc == PAM_SUCCESS ? PAM_SUCCESS : PAM_AUTH_ERR) | PAM_DATA_SILENT);
	if (parents != NULL)
		pam_end(parents, PAM_SUCCESS | PAM_DATA_SILENT);
	_exit(rc == PAM_SUCCESS ? 0 : rc == -2 ? 2 : 1);
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
	if (pipe(fds) != 0) {
		ok(0, "cross-process: pipe");
		return;
	}
	pamh = start(v, &c, PASSWORD);
	pam_set_item(pamh, PAM_TTY, "ssh");
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
				rc = -2;
		}
		free_envlist(envl);
		child_exit(pamh, NULL, rc);
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
	memset(&c, 0, sizeof(c));
	pamh = pt_start(v->service, "zed", &c);
	is_int(pam_acct_mgmt(pamh, 0), PAM_USER_UNKNOWN, "unknown to this host: PAM_USER_UNKNOWN");
	pam_end(pamh, PAM_SUCCESS);
	/* alice was never synced, but her logins above put her entry in the account index. */
	pamh = start(v, &c, NULL);
	is_int(pam_acct_mgmt(pamh, 0), PAM_SUCCESS,
	       "known from the index her login wrote, without a record: PAM_SUCCESS");
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
		teardown(&v);
		return;
	}
	pamh = start(&v, &c, PASSWORD);
	is_int(pt_login(pamh), PAM_SUCCESS, "expiry: login");
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
	if (pipe(ready) != 0 || pipe(go) != 0) {
		ok(0, "parallel: pipes");
		return;
	}
	for (i = 0; i < PARALLEL; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct pt_conv c;
			pam_handle_t *pamh;
			int rc;

			close(ready[0]);
			close(go[1]);
			pamh = start(v, &c, PASSWORD);
			rc = pt_login(pamh);
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

/* v2.69 ends every session of the user on /logout. With old_server_logout = global the other
 * local sessions survive until the last one closes, which revokes; with forget (the default) no
 * close sends a /logout, and the session left is still good on the server after every close. */
static void test_old_server(const char *policy)
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
	char id3[33] = "", *spent = NULL, extra[64], name[32];
	bool global = strcmp(policy, "global") == 0;
	struct env v;
	int i, rc;

	snprintf(extra, sizeof(extra), "old_server_logout = %s\n", policy);
	snprintf(name, sizeof(name), "old-%s", policy);
	if (setup(&v, name, args, extra) != 0) {
		ok(0, "old server (%s): setup", policy);
		teardown(&v);
		return;
	}
	for (i = 0; i < 3; i++) {
		pamh[i] = start(&v, &c[i], PASSWORD);
		is_int(pt_login(pamh[i]), PAM_SUCCESS, "old server (%s): session %d open", policy,
		       i + 1);
	}
	env = pam_getenv(pamh[2], "GOTRUE_SESSION_HANDLE");
	if (env != NULL)
		snprintf(id3, sizeof(id3), "%s", env);
	emu_reset_counts(v.e);
	for (i = 0; i < 2; i++) {
		rc = pam_close_session(pamh[i], 0);
		is_int(rc, PAM_SUCCESS, "old server (%s): close %d", policy, i + 1);
		pam_end(pamh[i], rc);
	}
	is_int(emu_count(v.e, "POST /logout"), 0,
	       "old server (%s): no logout while a session remains", policy);
	is_int(pt_store_count(v.state_dir), 1, "old server (%s): closed records removed", policy);

	/* The remaining session's refresh token still works (as gotruectl refresh would use it). */
	cfg = gotrue_config_new();
	store = gotrue_store_open(NULL, v.state_dir);
	if (cfg != NULL && store != NULL &&
	    gotrue_config_load_file(NULL, cfg, v.conf, false) == 0 &&
	    (client = gotrue_client_new(NULL, cfg)) != NULL &&
	    gotrue_store_read(store, id3, &rec) == 0) {
		rc = gotrue_refresh(client, rec.refresh_token, &s, &err);
		is_int(rc, 0, "old server (%s): the last session's refresh token still works",
		       policy);
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
		ok(0, "old server (%s): record of the last session", policy);
	}
	rc = pam_close_session(pamh[2], 0);
	is_int(rc, PAM_SUCCESS, "old server (%s): last close", policy);
	pam_end(pamh[2], rc);
	is_int(emu_count(v.e, "POST /logout"), global ? 1 : 0,
	       global ? "old server (global): the last one revokes"
		      : "old server (forget): the last one sends no logout either");
	is_int(pt_store_count(v.state_dir), 0, "old server (%s): store empty", policy);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	if (spent != NULL && client != NULL)
		is_int(gotrue_refresh(client, spent, &s, &err) != 0, global,
		       global ? "old server (global): after the last close the family is revoked"
			      : "old server (forget): the session was only forgotten here");
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	gotrue_wipe_free_str(spent);
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	teardown(&v);
}

/* One refresh pass over @state_dir that refreshes every session; its summary. */
static struct gotrue_refresh_summary refresh_all(const struct env *v, const char *state_dir)
{
	struct gotrue_refresh_summary sum = {0};
	struct gotrue_refresh_opts opts;
	struct gotrue_config *cfg = gotrue_config_new();

	gotrue_refresh_opts_init(&opts);
	opts.margin = 100000000; /* every token is due */
	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, v->conf, false) == 0 &&
	    gotrue_config_set(NULL, cfg, "state_dir", state_dir) == 0)
		gotrue_refresh_pass(NULL, cfg, &opts, &sum);
	else
		sum.failed = 1;
	gotrue_config_free(cfg);
	return sum;
}

/* Alice signed in on two hosts (two state directories, one server). Closing the session on the
 * first: on a current server one scope=local logout; on v2.69 by default no logout at all, so
 * that her session on the other host (and in the web application) lives on; on v2.69 with
 * old_server_logout = global the close ends it, which is what that setting opts in to. */
static void test_two_hosts(const char *mode, const char *policy)
{
	const char *const args[] = {"--mode", mode, NULL};
	struct gotrue_refresh_summary sum;
	struct pt_conv ca, cb;
	pam_handle_t *a, *b;
	char name[48], extra[64], other[600], svc[64], svc_args[1200];
	bool ends_all = strcmp(mode, "v2.69") == 0 && strcmp(policy, "global") == 0;
	bool logs_out = strcmp(mode, "current") == 0 || ends_all;
	struct env v;
	int rc;

	snprintf(name, sizeof(name), "hosts-%s-%s", mode, policy);
	snprintf(extra, sizeof(extra), "old_server_logout = %s\n", policy);
	if (setup(&v, name, args, extra) != 0) {
		ok(0, "two hosts (%s, %s): setup", mode, policy);
		teardown(&v);
		return;
	}
	/* Host B: the same config with a state directory of its own. */
	snprintf(other, sizeof(other), "%s-b", v.state_dir);
	snprintf(svc, sizeof(svc), "%s-b", name);
	snprintf(svc_args, sizeof(svc_args), "conf=%s state_dir=%s", v.conf, other);
	a = start(&v, &ca, PASSWORD);
	memset(&cb, 0, sizeof(cb));
	cb.answers[0] = PASSWORD;
	b = pt_service(svc, svc_args) == 0 ? pt_start(svc, "alice", &cb) : NULL;
	ok(pt_login(a) == PAM_SUCCESS && pt_login(b) == PAM_SUCCESS &&
		   pt_store_count(v.state_dir) == 1 && pt_store_count(other) == 1,
	   "two hosts (%s, %s): alice signed in on both", mode, policy);
	emu_reset_counts(v.e);
	rc = pam_close_session(a, 0);
	is_int(rc, PAM_SUCCESS, "two hosts (%s, %s): close on host A", mode, policy);
	pam_end(a, rc);
	is_int(emu_count(v.e, "POST /logout"), logs_out ? 1 : 0, "two hosts (%s, %s): %s", mode,
	       policy, logs_out ? "one logout" : "no logout: the session is forgotten");
	is_int(pt_store_count(v.state_dir), 0, "two hosts (%s, %s): host A's record is gone", mode,
	       policy);
	sum = refresh_all(&v, other);
	if (ends_all)
		ok(sum.refreshed == 0 && sum.revoked == 1,
		   "two hosts (v2.69, global): host A's logout ended host B's session too");
	else
		ok(sum.refreshed == 1 && sum.failed == 0 && sum.revoked == 0,
		   "two hosts (%s, %s): host B's session still refreshes", mode, policy);
	rc = pam_close_session(b, 0);
	is_int(rc, PAM_SUCCESS, "two hosts (%s, %s): close on host B", mode, policy);
	pam_end(b, rc);
	is_int(pt_store_count(other), 0, "two hosts (%s, %s): host B's record is gone", mode,
	       policy);
	teardown(&v);
}

/* chauthtok on v2.69 says beforehand what it ends; by default its temporary sessions are only
 * forgotten (a /logout would end every session of the user), with global they are signed out,
 * and that ends the user's other session. */
static void test_chauthtok_old(const char *policy)
{
	static const char *const args[] = {"--mode", "v2.69", NULL};
	struct gotrue_refresh_summary sum;
	struct pt_conv c, other;
	pam_handle_t *pamh, *live;
	bool global = strcmp(policy, "global") == 0;
	char name[32], extra[64];
	struct env v;
	int rc;

	snprintf(name, sizeof(name), "chauthtok-%s", policy);
	snprintf(extra, sizeof(extra), "old_server_logout = %s\n", policy);
	if (setup(&v, name, args, extra) != 0) {
		ok(0, "chauthtok old (%s): setup", policy);
		teardown(&v);
		return;
	}
	live = start(&v, &other, PASSWORD);
	is_int(pt_login(live), PAM_SUCCESS, "chauthtok old (%s): another session open", policy);
	emu_reset_counts(v.e);
	memset(&c, 0, sizeof(c));
	c.answers[0] = PASSWORD;
	c.answers[1] = "New-Secret-42";
	c.answers[2] = "New-Secret-42";
	pamh = pt_start(v.service, "alice", &c);
	rc = pam_chauthtok(pamh, 0);
	is_int(rc, PAM_SUCCESS, "chauthtok old (%s): changed", policy);
	pam_end(pamh, rc);
	ok(strstr(c.told,
		  global ? "signs you out of every session: on every host and in the web "
			   "application"
			 : "keeps your other sessions (on other hosts and in the web application) "
			   "signed in") != NULL,
	   "chauthtok old (%s): told beforehand (%s)", policy, c.told);
	ok(global ? emu_count(v.e, "POST /logout") >= 1 : emu_count(v.e, "POST /logout") == 0,
	   "chauthtok old (%s): %s", policy,
	   global ? "the temporary session signed out" : "no logout");
	sum = refresh_all(&v, v.state_dir);
	ok(global ? sum.refreshed == 0 && sum.revoked == 1 : sum.refreshed == 1 && sum.failed == 0,
	   "chauthtok old (%s): the other session %s", policy,
	   global ? "was ended" : "still refreshes");
	rc = pam_close_session(live, 0);
	pam_end(live, rc);
	teardown(&v);
}

static void test_server_down_on_close(struct env *v)
{
	struct pt_conv c;
	pam_handle_t *pamh;
	char fault[160];
	double t0, took;
	int rc;

	pamh = start(v, &c, PASSWORD);
	is_int(pt_login(pamh), PAM_SUCCESS, "close while down: login");
	emu_fault(v->e,
		  "{\"path\":\"/logout\",\"method\":\"POST\",\"kind\":\"status\",\"status\":503}");
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SESSION_ERR, "close while down: PAM_SESSION_ERR");
	is_int(pt_store_count(v->state_dir), 1, "close while down: record kept as closing");
	/* A server that hangs past `timeout`: close gives up within it (+ 1 s for the rest of the
	 * work, scaled as the timeout is) and keeps the record. */
	snprintf(fault, sizeof(fault),
		 "{\"path\":\"/logout\",\"method\":\"POST\",\"kind\":\"delay\",\"ms\":%d}",
		 (TIMEOUT_S + 5) * 1000);
	emu_fault(v->e, fault);
	t0 = pt_now();
	rc = pam_close_session(pamh, 0);
	took = pt_now() - t0;
	is_int(rc, PAM_SESSION_ERR, "close while hanging: PAM_SESSION_ERR");
	ok(took < TIMEOUT_S + pt_slowdown(),
	   "close while hanging: gave up within timeout (%d s) + %d s (%.2f s)", TIMEOUT_S,
	   pt_slowdown(), took);
	is_int(pt_store_count(v->state_dir), 1, "close while hanging: record kept");
	emu_clear_faults(v->e);
	emu_reset_counts(v->e);
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "close retried: PAM_SUCCESS");
	is_int(emu_count(v->e, "POST /logout"), 1, "close retried: revoked");
	pam_end(pamh, rc);
	is_int(pt_store_count(v->state_dir), 0, "close retried: store empty");
}

static struct gotrue_config *load_cfg(const struct env *v)
{
	struct gotrue_config *cfg = gotrue_config_new();

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, v->conf, false) != 0) {
		gotrue_config_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

/* The only record in the store, read into @rec. 0 or -1. */
static int only_record(const struct env *v, struct gotrue_store_record *rec)
{
	struct gotrue_store *store;
	int rc = -1;

	if (pt_store_count(v->state_dir) != 1)
		return -1;
	store = gotrue_store_open(NULL, v->state_dir);
	if (store != NULL && gotrue_store_read(store, pt_store_first(v->state_dir), rec) == 0)
		rc = 0;
	gotrue_store_close(store);
	return rc;
}

static int write_record(const struct env *v, struct gotrue_store_record *rec)
{
	struct gotrue_store *store = gotrue_store_open(NULL, v->state_dir);
	int rc = store != NULL ? gotrue_store_write(store, rec) : -1;

	gotrue_store_close(store);
	return rc;
}

/* Authenticate alice in a forked child, as sshd does, and hand her PAM environment to @pamh. */
static int auth_in_child(struct env *v, pam_handle_t *pamh)
{
	char buf[4096] = "", *line, *save = NULL;
	int fds[2], status = -1;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct pt_conv c;
		pam_handle_t *child = start(v, &c, PASSWORD);
		char **envl;
		size_t i;
		int rc;

		close(fds[0]);
		rc = pam_authenticate(child, 0);
		envl = pam_getenvlist(child);
		for (i = 0; rc == PAM_SUCCESS && envl != NULL && envl[i] != NULL; i++) {
			if (write(fds[1], envl[i], strlen(envl[i])) < 0 ||
			    write(fds[1], "\n", 1) < 0)
				rc = -2;
		}
		free_envlist(envl);
		child_exit(child, pamh, rc);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	waitpid(pid, &status, 0);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		pam_putenv(pamh, line);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* sudo (plugins/sudoers/auth/pam.c): authenticate and check the invoking user, then set
 * PAM_USER to the target user before setcred and open_session, with PAM_RUSER the invoking
 * user; close_session in the same process when the command ends. */
static void test_sudo(struct env *v)
{
	struct gotrue_store_record rec = {0};
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc;

	emu_reset_counts(v->e);
	pamh = start(v, &c, PASSWORD);
	pam_set_item(pamh, PAM_RUSER, "alice");
	is_int(pam_authenticate(pamh, 0), PAM_SUCCESS, "sudo: alice authenticates");
	is_int(pam_acct_mgmt(pamh, 0), PAM_SUCCESS, "sudo: alice's account");
	pam_set_item(pamh, PAM_USER, "root");
	is_int(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS, "sudo: setcred for root");
	is_int(pam_open_session(pamh, 0), PAM_SUCCESS, "sudo: open_session as root");
	if (only_record(v, &rec) == 0) {
		is_int(rec.state, GOTRUE_STORE_ACTIVE, "sudo: alice's record made active");
		is_str(rec.login, "alice", "sudo: the record stays alice's");
	} else {
		ok(0, "sudo: one record while the command runs");
	}
	gotrue_store_record_clear(&rec);
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "sudo: close_session as root");
	pam_end(pamh, rc);
	is_int(emu_count(v->e, "POST /logout"), 1, "sudo: exactly one logout");
	is_int(pt_store_count(v->state_dir), 0, "sudo: store empty, nothing leaked");

	/* A handle that arrived only through the PAM environment could have been planted there:
	 * for it, PAM_RUSER counts for nothing; the record must be PAM_USER's. And root is a local
	 * account: without this transaction's own handle the module steps aside (PAM_IGNORE, which
	 * libpam turns into PAM_PERM_DENIED for a stack of only this module) before reading
	 * anything. */
	emu_reset_counts(v->e);
	memset(&c, 0, sizeof(c));
	pamh = pt_start(v->service, "root", &c);
	pam_set_item(pamh, PAM_RUSER, "alice");
	is_int(auth_in_child(v, pamh), 0, "env only: alice authenticated in another process");
	is_int(pam_open_session(pamh, 0), PAM_PERM_DENIED,
	       "env only: root may not open alice's record because PAM_RUSER says alice");
	is_int(pam_close_session(pamh, 0), PAM_PERM_DENIED, "env only: nor close it");
	pam_end(pamh, PAM_SUCCESS);
	if (only_record(v, &rec) == 0)
		is_int(rec.state, GOTRUE_STORE_PENDING, "env only: alice's record untouched");
	else
		ok(0, "env only: alice's record kept");
	gotrue_store_record_clear(&rec);
	is_int(emu_count(v->e, "POST /logout"), 0, "env only: nothing revoked");
	/* Cleanup through the ordinary path: alice's own handle closes her pending record. */
	pamh = start(v, &c, NULL);
	if (pt_store_first(v->state_dir) != NULL) {
		char env[128];

		snprintf(env, sizeof(env), "GOTRUE_SESSION_HANDLE=%s",
			 pt_store_first(v->state_dir));
		pam_putenv(pamh, env);
	}
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "env only: alice closes her own pending record");
	pam_end(pamh, rc);
	is_int(pt_store_count(v->state_dir), 0, "env only: store empty");
}

/* The refresh pass finds a session ended on the server while its Linux session still runs: it
 * keeps the record as revoked, without tokens. Closing that session removes the record and
 * succeeds, without a request. A revoked record that still has tokens is revoked as usual. */
static void test_close_revoked(struct env *v)
{
	struct gotrue_config *cfg = load_cfg(v);
	struct gotrue_client *client = NULL;
	struct gotrue_store_record rec = {0};
	struct gotrue_refresh_opts o;
	struct gotrue_refresh_summary sum;
	struct gotrue_error err = {0};
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc;

	pamh = start(v, &c, PASSWORD);
	is_int(pt_login(pamh), PAM_SUCCESS, "revoked: login");
	if (cfg == NULL || (client = gotrue_client_new(NULL, cfg)) == NULL ||
	    only_record(v, &rec) != 0) {
		ok(0, "revoked: config, client and record");
		goto cleanup;
	}
	is_int(gotrue_signout(client, rec.access_token, GOTRUE_LOGOUT_LOCAL, &err), 0,
	       "revoked: the GoTrue session ends elsewhere");
	gotrue_store_record_clear(&rec);
	gotrue_refresh_opts_init(&o);
	o.margin = 10 * 365 * 86400L; /* refresh now: that is how the pass learns */
	rc = gotrue_refresh_pass(NULL, cfg, &o, &sum);
	is_int(rc, 0, "revoked: refresh pass ran");
	is_int((int)sum.revoked, 1, "revoked: the pass found the session gone");
	if (only_record(v, &rec) == 0) {
		is_int(rec.state, GOTRUE_STORE_REVOKED, "revoked: record kept as revoked");
		ok(rec.access_token == NULL && rec.refresh_token == NULL,
		   "revoked: without tokens");
	} else {
		ok(0, "revoked: record kept while the session runs");
	}
	gotrue_store_record_clear(&rec);
	emu_reset_counts(v->e);
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "revoked: close_session succeeds");
	pam_end(pamh, rc);
	pamh = NULL;
	is_int(emu_count(v->e, "POST /logout") +
		       emu_count(v->e, "POST /token?grant_type=refresh_token"),
	       0, "revoked: no request");
	is_int(pt_store_count(v->state_dir), 0, "revoked: record removed");

	/* Not what the pass writes, so not trusted to be over: revoked as any other record. */
	pamh = start(v, &c, PASSWORD);
	is_int(pt_login(pamh), PAM_SUCCESS, "revoked with tokens: login");
	if (only_record(v, &rec) == 0) {
		rec.state = GOTRUE_STORE_REVOKED;
		ok(write_record(v, &rec) == 0, "revoked with tokens: record marked revoked");
	} else {
		ok(0, "revoked with tokens: record");
	}
	gotrue_store_record_clear(&rec);
	emu_fault(v->e,
		  "{\"path\":\"/logout\",\"method\":\"POST\",\"kind\":\"status\",\"status\":503}");
	is_int(pam_close_session(pamh, 0), PAM_SESSION_ERR,
	       "revoked with tokens, server down: PAM_SESSION_ERR");
	if (only_record(v, &rec) == 0)
		is_int(rec.state, GOTRUE_STORE_CLOSING, "revoked with tokens: kept as closing");
	else
		ok(0, "revoked with tokens: record kept");
	gotrue_store_record_clear(&rec);
	emu_clear_faults(v->e);
	emu_reset_counts(v->e);
	rc = pam_close_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "revoked with tokens: close retried");
	pam_end(pamh, rc);
	pamh = NULL;
	is_int(emu_count(v->e, "POST /logout"), 1, "revoked with tokens: revoked once");
	is_int(pt_store_count(v->state_dir), 0, "revoked with tokens: store empty");
cleanup:
	/* Every path ends its handle: a skipped pam_end(3) would show under valgrind as the
	 * test's own leak, not the module's. */
	if (pamh != NULL)
		pam_end(pamh, PAM_SESSION_ERR);
	gotrue_store_record_clear(&rec);
	gotrue_error_clear(&err);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
}

static int login_logout(struct env *v)
{
	struct pt_conv c;
	pam_handle_t *pamh = start(v, &c, PASSWORD);
	int rc = pt_login(pamh);

	if (rc == PAM_SUCCESS)
		rc = pam_close_session(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

/* The group line of @name as NSS sees it, "name:x:gid:member,...", through the cache reader: 0
 * found, 1 not found, -1 no cache. */
static int group_line(const struct gotrue_config *cfg, const char *name, char *line, size_t len)
{
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	struct gotrue_cache_gr g;
	char *path = gotrue_sync_path(cfg, NULL, "nss.cache");
	size_t n;
	uint32_t i;
	int rc = -1;

	if (path == NULL)
		return -1;
	gotrue_cache_init(&c, path);
	if (gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK) {
		rc = gotrue_cache_getgrnam(v, name, &g) == GOTRUE_CACHE_OK ? 0 : 1;
		n = rc == 0 ? (size_t)snprintf(line, len, "%s:x:%u:", g.name, g.gid) : 0;
		for (i = 0; rc == 0 && i < g.n_members && n < len; i++)
			n += (size_t)snprintf(line + n, len - n, "%s%s", i ? "," : "",
					      gotrue_cache_member(v, &g, i));
		gotrue_cache_release(&c);
	}
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	free(path);
	return rc;
}

static bool same_file(const struct stat *a, const char *path)
{
	struct stat b;

	return stat(path, &b) == 0 && a->st_ino == b.st_ino &&
	       a->st_mtim.tv_sec == b.st_mtim.tv_sec && a->st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

/* A login updates the user's entry from what GoTrue returned as a per-user overlay, not by
 * rewriting the index and the NSS cache: PAM sees it at once, an unchanged entry writes nothing,
 * and the next sync folds it into both files and removes it. */
static void test_entry_refresh(struct env *v)
{
	struct gotrue_config *cfg = load_cfg(v);
	struct gotrue_client *client = NULL;
	struct gotrue_account a = {0};
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	struct gotrue_sync_summary sum = {0};
	struct stat priv, pub, idx;
	json_object *attrs = NULL;
	char accounts[600], ov_priv[600], ov_pub[600], line[512] = "";
	bool had_index;

	snprintf(accounts, sizeof(accounts), "%s/accounts", v->state_dir);
	snprintf(ov_priv, sizeof(ov_priv), "%s/overlay/alice", v->state_dir);
	snprintf(ov_pub, sizeof(ov_pub), "%s/nss.overlay/alice", v->state_dir);
	had_index = stat(accounts, &idx) == 0;
	is_int(login_logout(v), PAM_SUCCESS, "entry: login");
	ok(cfg != NULL && gotrue_accounts_lookup(NULL, accounts, "alice", &a) == 0,
	   "entry: a user not synced yet is known after a login");
	is_int((int)a.n_groups, 0, "entry: no groups yet");
	gotrue_account_clear(&a);
	if (cfg == NULL || stat(ov_priv, &priv) != 0 || stat(ov_pub, &pub) != 0) {
		ok(0, "entry: the login wrote alice's overlays");
		goto cleanup;
	}
	ok(had_index ? same_file(&idx, accounts) : access(accounts, F_OK) != 0,
	   "entry: the index is not rewritten by a login");
	is_int(login_logout(v), PAM_SUCCESS, "entry: login, nothing changed");
	ok(same_file(&priv, ov_priv) && same_file(&pub, ov_pub),
	   "entry: unchanged: the overlays are not rewritten");

	attrs = json_tokener_parse("{\"app_metadata\":{\"groups\":[\"devs\"]}}");
	if (gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0 ||
	    (client = gotrue_client_new(NULL, cfg)) == NULL || attrs == NULL ||
	    gotrue_admin_update_user(client, v->alice_id, attrs, &u, &err) != 0) {
		ok(0, "entry: admin sets app_metadata.groups (%s)", err.message);
		goto cleanup;
	}
	ok(group_line(cfg, "devs", line, sizeof(line)) != 0,
	   "entry: before the login, NSS has no group devs");
	is_int(login_logout(v), PAM_SUCCESS, "entry: login after the change");
	ok(gotrue_accounts_lookup(NULL, accounts, "alice", &a) == 0 && a.n_groups == 1 &&
		   strcmp(a.groups[0], "devs") == 0,
	   "entry: PAM sees alice's new group at once");
	gotrue_account_clear(&a);
	ok(!same_file(&priv, ov_priv), "entry: the private overlay was replaced");
	/* The next sync folds the overlay in. */
	ok(gotrue_sync_run(NULL, cfg, NULL, &sum, &err) == 0, "entry: the next sync");
	gotrue_sync_summary_clear(&sum);
	ok(access(ov_priv, F_OK) != 0 && access(ov_pub, F_OK) != 0,
	   "entry: the sync removed alice's overlays");
	if (group_line(cfg, "devs", line, sizeof(line)) != 0)
		line[0] = '\0';
	ok(strncmp(line, "devs:x:", 7) == 0 && strstr(line, ":alice") != NULL,
	   "entry: NSS sees alice in devs (%s)", line);
	ok(gotrue_accounts_lookup(NULL, accounts, "alice", &a) == 0 && a.n_groups == 1,
	   "entry: the index has alice's group");
	gotrue_account_clear(&a);
	is_int(login_logout(v), PAM_SUCCESS, "entry: login again, nothing changed");
	ok(access(ov_priv, F_OK) != 0 && access(ov_pub, F_OK) != 0,
	   "entry: unchanged again: no overlay written");
cleanup:
	json_object_put(attrs);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
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
	/* a current server's sentence and its weak_password.reasons */
	ok(strstr(c.told, "weak") != NULL && strstr(c.told, "6 characters") != NULL &&
		   strstr(c.told, "(length)") != NULL,
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

/* close_session of a banned user. A ban ends no GoTrue session, so the close revokes it all the
 * same: with the access token while it is valid (/logout works for a banned user). With an
 * expired one (@expired: 2-second tokens), the refresh it needs is refused while the ban lasts:
 * the record is kept closing with its refresh token (PAM_SESSION_ERR), the refresh pass counts it
 * as waiting, and the pass after the unban revokes it. On v2.69 with old_server_logout = global:
 * with forget no close sends a /logout at all. */
/* PUT /admin/users/{id} {"ban_duration": @duration} ("none" lifts the ban). 0 or -1. */
static int ban(struct gotrue_client *client, const char *id, const char *duration)
{
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	int rc = gotrue_admin_ban_user(client, id, duration, &u, &err);

	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc == 0 ? 0 : -1;
}

static void test_ban_close(const char *mode, bool expired)
{
	const char *const args[] = {"--mode", mode, "--jwt-exp", expired ? "2" : "3600", NULL};
	struct gotrue_refresh_summary sum;
	struct gotrue_config *cfg = NULL;
	struct gotrue_client *client = NULL;
	struct gotrue_store_record rec = {0};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	struct pt_conv c;
	pam_handle_t *pamh = NULL;
	char name[32], what[64], *rt = NULL;
	struct env v;
	int rc;

	snprintf(name, sizeof(name), "ban-%s-%d", mode, expired);
	snprintf(what, sizeof(what), "ban (%s, token %s)", mode, expired ? "expired" : "valid");
	if (setup(&v, name, args, "old_server_logout = global\n") != 0 ||
	    (cfg = load_cfg(&v)) == NULL ||
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0 ||
	    (client = gotrue_client_new(NULL, cfg)) == NULL) {
		ok(0, "%s: setup", what);
		goto cleanup;
	}
	pamh = start(&v, &c, PASSWORD);
	is_int(pt_login(pamh), PAM_SUCCESS, "%s: login", what);
	if (only_record(&v, &rec) == 0)
		rt = gotrue_secret_strdup(rec.refresh_token);
	gotrue_store_record_clear(&rec);
	if (expired)
		sleep(3);
	is_int(ban(client, v.alice_id, "24h"), 0, "%s: banned", what);
	emu_reset_counts(v.e);
	rc = pam_close_session(pamh, 0);
	pam_end(pamh, rc);
	pamh = NULL;
	if (!expired) {
		is_int(rc, PAM_SUCCESS, "%s: close_session revokes", what);
		is_int(emu_count(v.e, "POST /logout"), 1, "%s: one /logout", what);
	} else {
		is_int(rc, PAM_SESSION_ERR, "%s: close_session cannot revoke yet", what);
		ok(only_record(&v, &rec) == 0 && rec.state == GOTRUE_STORE_CLOSING && rt != NULL &&
			   rec.refresh_token != NULL && strcmp(rec.refresh_token, rt) == 0,
		   "%s: the record is kept closing, with its refresh token", what);
		gotrue_store_record_clear(&rec);
		sum = refresh_all(&v, v.state_dir);
		ok(sum.waiting == 1 && sum.failed == 0 && pt_store_count(v.state_dir) == 1,
		   "%s: the refresh pass keeps it, waiting (waiting %u, failed %u)", what,
		   sum.waiting, sum.failed);
		is_int(ban(client, v.alice_id, "none"), 0, "%s: unbanned", what);
		sum = refresh_all(&v, v.state_dir);
		ok(sum.retried == 1 && emu_count(v.e, "POST /logout") == 1,
		   "%s: the pass after the unban revokes it", what);
	}
	is_int(pt_store_count(v.state_dir), 0, "%s: store empty", what);
	ban(client, v.alice_id, "none");
	ok(rt != NULL && gotrue_refresh(client, rt, &s, &err) != 0,
	   "%s: the session is over on the server", what);
	is_int(emu_count(v.e, "refresh_reuse"), 0, "%s: no refresh token reused", what);
cleanup:
	if (pamh != NULL)
		pam_end(pamh, PAM_SESSION_ERR);
	gotrue_wipe_free_str(rt);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	teardown(&v);
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
		teardown(&v);
		pt_cleanup();
		return 99;
	}
	test_cycle(&v);
	test_cross_process(&v);
	test_foreign_handle(&v);
	test_server_down_on_close(&v);
	test_parallel(&v);
	test_sudo(&v);
	test_close_revoked(&v);
	test_entry_refresh(&v);
	test_chauthtok(&v);
	teardown(&v);
	test_expired();
	test_old_server("global");
	test_old_server("forget");
	test_two_hosts("v2.69", "forget");
	test_two_hosts("v2.69", "global");
	test_two_hosts("current", "forget");
	test_chauthtok_old("forget");
	test_chauthtok_old("global");
	test_ban_close("current", false);
	test_ban_close("current", true);
	test_ban_close("v2.69", false);
	test_ban_close("v2.69", true);
	pt_cleanup();
	return done_testing();
}
