/* test_pam_throttle: the local failure throttle through the real libpam and the emulator. Over its
 * limit a user or a host is refused with a message and WITHOUT a POST /token (the emulator counts
 * them), even with the right password; the lock ends after throttle_unlock_time (2 s here); the
 * host limit spans users, another host is unaffected, a success clears the user's count but not
 * the host's; concurrent attempts are counted exactly, the first ones too (they agree on one new
 * table, and none is PAM_SYSTEM_ERR); server outages are not failures; a damaged,
 * oversized or linked table is replaced and logged, a refused directory refuses the login; and
 * `gotruectl throttle reset` unlocks. The core's arithmetic is tests/store/test_throttle. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "emu.h"
#include "pamtest.h"
#include "tap.h"
#include "throttle.h"

#define PASSWORD "Correct-Horse-9"
#define WRONG	 "wrong-password-1"
#define LOCKED	 "Too many failed attempts, try again in 1 minute."

static struct emu *e;
static char state_dir[512], table[600];
static char *conf;

static long logins(void)
{
	return emu_count(e, "POST /token?grant_type=password");
}

static void svc(const char *name, const char *extra)
{
	char args[2048];

	snprintf(args, sizeof(args), "conf=%s %s", conf, extra ? extra : "");
	if (pt_service(name, args) != 0)
		diag("cannot write service %s", name);
}

static bool user(const char *name)
{
	char email[128];
	char *id;

	snprintf(email, sizeof(email), "%s@example.com", name);
	id = emu_create_user(e, email, PASSWORD, "{\"email_confirm\":true}");
	free(id);
	return id != NULL;
}

struct find {
	enum gotrue_throttle_kind kind;
	const char *label;
	int failures;
};

static int find_each(void *ctx, const struct gotrue_throttle_entry *en)
{
	struct find *f = ctx;

	if (en->kind == f->kind && strcmp(en->label, f->label) == 0)
		f->failures = (int)en->failures;
	return 0;
}

/* The failures the table of state directory @dir holds for @label, through the core (-1: no
 * bucket). */
static int failures_in(const char *dir, enum gotrue_throttle_kind kind, const char *label)
{
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_throttle *t = NULL;
	struct find f = {kind, label, -1};

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    gotrue_throttle_open(NULL, dir, GOTRUE_THROTTLE_READ, 2000, &t) == 0)
		gotrue_throttle_each(t, cfg, time(NULL), find_each, &f);
	gotrue_throttle_close(t);
	gotrue_config_free(cfg);
	return f.failures;
}

static int failures(enum gotrue_throttle_kind kind, const char *label)
{
	return failures_in(state_dir, kind, label);
}

static void test_user_limit(void)
{
	struct pt_conv c;
	long before;
	size_t mark;
	int i;

	before = logins();
	for (i = 0; i < 3; i++)
		is_int(pt_auth_from("plain", "alice", WRONG, "192.0.2.1", NULL), PAM_AUTH_ERR,
		       "alice: wrong password %d of 3", i + 1);
	is_int(logins() - before, 3, "3 wrong passwords: 3 requests");
	mark = pt_log_len();
	is_int(pt_auth_from("plain", "alice", PASSWORD, "192.0.2.1", &c), PAM_AUTH_ERR,
	       "4th attempt, right password: PAM_AUTH_ERR");
	is_int(logins() - before, 3, "4th attempt: no request sent");
	ok(strstr(c.told, LOCKED) != NULL, "4th attempt: told \"%s\" (%s)", LOCKED, c.told);
	ok(strstr(pt_log() + mark, "refused without asking the server") != NULL &&
		   strstr(pt_log() + mark, "user=alice rhost=192.0.2.1") != NULL,
	   "4th attempt: logged with user and rhost");
	is_int(pt_auth_from("plain", "alice", PASSWORD, "198.51.100.7", NULL), PAM_AUTH_ERR,
	       "from another host too: a user's lock follows the user");
	is_int(logins() - before, 3, "... still no request");
	is_int(pt_auth_from("plain", "bob", PASSWORD, "192.0.2.1", NULL), PAM_SUCCESS,
	       "another user from the same host (3 of 5 host failures) logs in");
	nanosleep(&(struct timespec){2, 200 * 1000 * 1000}, NULL);
	is_int(pt_auth_from("plain", "alice", PASSWORD, "192.0.2.1", NULL), PAM_SUCCESS,
	       "after throttle_unlock_time (2 s): the right password works");
	is_int(failures(GOTRUE_THROTTLE_USER, "alice"), -1, "the success cleared alice's count");
	is_int(failures(GOTRUE_THROTTLE_HOST, "192.0.2.1"), 3, "... but not the host's");

	/* a success resets: 2 + success + 2 never reaches 3 */
	for (i = 0; i < 2; i++)
		pt_auth_from("plain", "carol", WRONG, "192.0.2.2", NULL);
	is_int(pt_auth_from("plain", "carol", PASSWORD, "192.0.2.2", NULL), PAM_SUCCESS,
	       "carol: 2 failures, then a success");
	for (i = 0; i < 2; i++)
		pt_auth_from("plain", "carol", WRONG, "192.0.2.3", NULL);
	before = logins();
	is_int(pt_auth_from("plain", "carol", PASSWORD, "192.0.2.3", NULL), PAM_SUCCESS,
	       "carol: 2 more failures after the success are not 4: she logs in");
	is_int(logins() - before, 1, "... with a request");
}

static void test_host_limit(void)
{
	static const char *const names[] = {"dave", "erin", "frank", "gina"};
	struct pt_conv c;
	long before;
	size_t i;

	for (i = 0; i < 4; i++)
		pt_auth_from("plain", names[i], WRONG, "203.0.113.5", NULL);
	is_int(pt_auth_from("plain", "henry", PASSWORD, "203.0.113.5", NULL), PAM_SUCCESS,
	       "4 users failed once from one host: a 5th user still logs in from it");
	pt_auth_from("plain", "ivan", WRONG, "203.0.113.5", NULL);
	before = logins();
	is_int(pt_auth_from("plain", "henry", PASSWORD, "203.0.113.5", &c), PAM_AUTH_ERR,
	       "5 failures of 5 users from one host (a success between): the host is locked");
	is_int(logins(), before, "... no request sent");
	ok(strstr(c.told, LOCKED) != NULL, "... told (%s)", c.told);
	is_int(pt_auth_from("plain", "henry", PASSWORD, "203.0.113.6", NULL), PAM_SUCCESS,
	       "another host is unaffected");
	is_int(pt_auth_from("plain", "henry", PASSWORD, "2001:db8:1:2::5", NULL), PAM_SUCCESS,
	       "an IPv6 host logs in");
	for (i = 0; i < 4; i++)
		pt_auth_from("plain", names[i], WRONG,
			     i % 2 ? "2001:db8:1:2::a" : "2001:db8:1:2:ffff::1", NULL);
	pt_auth_from("plain", "ivan", WRONG, "2001:db8:1:2::b", NULL);
	before = logins();
	is_int(pt_auth_from("plain", "henry", PASSWORD, "2001:db8:1:2::5", NULL), PAM_AUTH_ERR,
	       "5 failures from 3 addresses of one IPv6 /64: the /64 is locked");
	is_int(logins(), before, "... no request sent");
	is_int(pt_auth_from("plain", "henry", PASSWORD, "2001:db8:1:3::5", NULL), PAM_SUCCESS,
	       "the next /64 is another host");
}

/* @kids processes at once, each one wrong attempt of @who from @rhost on @service. */
static int concurrent(const char *service, const char *who, const char *rhost, int kids)
{
	pid_t pids[32];
	int i, status, refused = 0;

	for (i = 0; i < kids && i < 32; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(pt_auth_from(service, who, WRONG, rhost, NULL) == PAM_AUTH_ERR ? 0
											     : 1);
	}
	/* Each child by its pid: the emulator is a child of this process too. */
	for (i = 0; i < kids && i < 32; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i])
			refused += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return refused;
}

static void test_concurrency(void)
{
	long before;
	int n;

	svc("wide", "throttle_user_failures=100 throttle_host_failures=100");
	before = logins();
	n = concurrent("wide", "judy", "192.0.2.50", 12);
	is_int(n, 12, "12 concurrent wrong attempts: all PAM_AUTH_ERR");
	is_int(logins() - before, 12, "... 12 requests");
	is_int(failures(GOTRUE_THROTTLE_USER, "judy"), 12, "... exactly 12 counted for the user");
	is_int(failures(GOTRUE_THROTTLE_HOST, "192.0.2.50"), 12, "... and for the host");

	before = logins();
	n = concurrent("plain", "karl", "192.0.2.51", 8);
	is_int(n, 8, "8 concurrent wrong attempts under a limit of 3: all PAM_AUTH_ERR");
	n = failures(GOTRUE_THROTTLE_USER, "karl");
	ok(n >= 3 && n == logins() - before,
	   "... every request that was sent is counted (%d counted, %ld sent)", n,
	   logins() - before);
	before = logins();
	is_int(pt_auth_from("plain", "karl", PASSWORD, "192.0.2.51", NULL), PAM_AUTH_ERR,
	       "... and then karl is locked");
	is_int(logins(), before, "... without a request");
}

/* The first failures on a host, all at once: each finds no table and the module creates one. They
 * must agree on one table, and none may fail the login with PAM_SYSTEM_ERR on the way. */
static void test_first_failures(void)
{
	char dir[600], args[800];
	int n;

	snprintf(dir, sizeof(dir), "%s/first-store", pt_confdir());
	snprintf(args, sizeof(args),
		 "state_dir=%s throttle_user_failures=100 throttle_host_failures=100", dir);
	svc("fresh", args);
	n = concurrent("fresh", "olga", "192.0.2.90", 24);
	is_int(n, 24, "24 concurrent first failures, no table yet: all PAM_AUTH_ERR");
	is_int(failures_in(dir, GOTRUE_THROTTLE_USER, "olga"), 24,
	       "... one table, with all 24 counted for the user");
	is_int(failures_in(dir, GOTRUE_THROTTLE_HOST, "192.0.2.90"), 24, "... and for the host");
}

static void test_not_failures(void)
{
	long before;
	int i;

	emu_fault(e, "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"status\",\"status\":500,"
		     "\"count\":-1}");
	for (i = 0; i < 4; i++)
		is_int(pt_auth_from("plain", "lena", WRONG, "192.0.2.60", NULL),
		       PAM_AUTHINFO_UNAVAIL,
		       "a wrong password while the server fails (%d): PAM_AUTHINFO_UNAVAIL", i + 1);
	emu_clear_faults(e);
	is_int(failures(GOTRUE_THROTTLE_USER, "lena"), -1, "server errors are not failures");
	is_int(pt_auth_from("plain", "lena", PASSWORD, "192.0.2.60", NULL), PAM_SUCCESS,
	       "... lena logs in once the server is back");
	before = logins();
	is_int(pt_auth("plain", "Not-Valid", PASSWORD, NULL), PAM_USER_UNKNOWN,
	       "an invalid name: PAM_USER_UNKNOWN");
	is_int(failures(GOTRUE_THROTTLE_USER, "Not-Valid"), -1,
	       "... sends nothing, counts nothing");
	is_int(pt_auth_from("plain", "lena", "", "192.0.2.60", NULL), PAM_AUTH_ERR,
	       "an empty password");
	is_int(logins(), before, "... is refused without a request");
	is_int(failures(GOTRUE_THROTTLE_USER, "lena"), -1, "... and is not counted");

	svc("off", "throttle_user_failures=0 throttle_host_failures=0");
	before = logins();
	for (i = 0; i < 6; i++)
		pt_auth_from("off", "mike", WRONG, "192.0.2.61", NULL);
	is_int(pt_auth_from("off", "mike", PASSWORD, "192.0.2.61", NULL), PAM_SUCCESS,
	       "both limits 0: no throttle (6 failures, then a success)");
	is_int(logins() - before, 7, "... every attempt reached the server");
}

static void lock_nina(const char *rhost)
{
	int i;

	for (i = 0; i < 3; i++)
		pt_auth_from("plain", "nina", WRONG, rhost, NULL);
}

static void test_damaged(void)
{
	char cmd[2048], target[600];
	struct stat st;
	long before;
	size_t mark;
	FILE *f;

	/* a table that is not one: logged, read as empty (the login goes on), replaced by the next
	 * failure */
	lock_nina("192.0.2.70");
	f = fopen(table, "w");
	if (f != NULL) {
		fputs("garbage", f);
		fclose(f);
	}
	mark = pt_log_len();
	before = logins();
	is_int(pt_auth_from("plain", "nina", PASSWORD, "192.0.2.70", NULL), PAM_SUCCESS,
	       "a corrupt table: the login goes on (nina's lock was in it)");
	is_int(logins() - before, 1, "... with its request");
	ok(strstr(pt_log() + mark, "damaged throttle table (too short), left as it is") != NULL,
	   "... logged");
	ok(stat(table, &st) == 0 && st.st_size == 7, "... a success does not write the table");
	mark = pt_log_len();
	is_int(pt_auth_from("plain", "nina", WRONG, "192.0.2.70", NULL), PAM_AUTH_ERR,
	       "a failure then");
	ok(strstr(pt_log() + mark, "replacing a damaged throttle table (too short)") != NULL,
	   "... replaces the table, logged");
	ok(stat(table, &st) == 0 && st.st_size == 512 + 4096 * 512 && (st.st_mode & 0777) == 0600,
	   "... by an empty table of its size, 0600");
	is_int(failures(GOTRUE_THROTTLE_USER, "nina"), 1, "... and is counted in it");

	lock_nina("192.0.2.71");
	f = fopen(table, "a");
	if (f != NULL) {
		fputs("oversized", f);
		fclose(f);
	}
	mark = pt_log_len();
	is_int(pt_auth_from("plain", "nina", PASSWORD, "192.0.2.71", NULL), PAM_SUCCESS,
	       "an oversized table: the login goes on");
	ok(strstr(pt_log() + mark, "(wrong size)") != NULL, "... logged");
	pt_auth_from("plain", "nina", WRONG, "192.0.2.71", NULL);
	ok(stat(table, &st) == 0 && st.st_size == 512 + 4096 * 512,
	   "... the next failure replaces it");

	snprintf(target, sizeof(target), "%s/elsewhere", pt_confdir());
	f = fopen(target, "w");
	if (f != NULL) {
		fputs("not the table", f);
		fclose(f);
	}
	unlink(table);
	if (symlink(target, table) != 0)
		diag("cannot make the link");
	mark = pt_log_len();
	is_int(pt_auth_from("plain", "nina", WRONG, "192.0.2.72", NULL), PAM_AUTH_ERR,
	       "a symbolic link for a table: a failure");
	ok(strstr(pt_log() + mark, "replacing a damaged throttle table (a symbolic link)") != NULL,
	   "... replaces it, logged");
	ok(lstat(table, &st) == 0 && S_ISREG(st.st_mode) && stat(target, &st) == 0 &&
		   st.st_size == 13,
	   "... the link is gone and its target untouched");

	/* a throttle directory others can write: fail closed */
	snprintf(cmd, sizeof(cmd), "%s/throttle", state_dir);
	chmod(cmd, 0777);
	mark = pt_log_len();
	before = logins();
	ok(pt_auth_from("plain", "nina", PASSWORD, "192.0.2.73", NULL) != PAM_SUCCESS,
	   "a throttle directory mode 0777: login refused");
	is_int(logins(), before, "... before any request");
	ok(strstr(pt_log() + mark, "cannot read the failure throttle, login refused") != NULL,
	   "... and logged");
	chmod(cmd, 0700);
}

static void test_gotruectl_reset(void)
{
	char cmd[2048];
	long before;

	lock_nina("192.0.2.80");
	is_int(pt_auth_from("plain", "nina", PASSWORD, "192.0.2.80", NULL), PAM_AUTH_ERR,
	       "nina locked");
	snprintf(cmd, sizeof(cmd), "'%s' --conf '%s' throttle reset nina >/dev/null",
		 getenv("GOTRUECTL") ? getenv("GOTRUECTL") : "gotruectl", conf);
	is_int(system(cmd), 0, "gotruectl throttle reset nina");
	before = logins();
	is_int(pt_auth_from("plain", "nina", PASSWORD, "192.0.2.80", NULL), PAM_SUCCESS,
	       "... unlocks her at once");
	is_int(logins() - before, 1, "... with a request");
}

int main(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	static const char *const names[] = {"alice", "bob",  "carol", "dave", "erin",
					    "frank", "gina", "henry", "ivan", "judy",
					    "karl",  "lena", "mike",  "nina", "olga"};
	char extra[1024];
	size_t i;
	bool made = true;

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	e = emu_start(args);
	if (e == NULL) {
		printf("Bail out! cannot start the emulator\n");
		return 99;
	}
	snprintf(state_dir, sizeof(state_dir), "%s/store", pt_confdir());
	snprintf(table, sizeof(table), "%s/throttle/tally", state_dir);
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nemail_fallback = yes\nstate_dir = %s\ntimeout = 5\n"
		 "throttle_user_failures = 3\nthrottle_host_failures = 5\n"
		 "throttle_interval = 60\nthrottle_unlock_time = 2\n",
		 state_dir);
	conf = emu_write_config(e, extra);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		made = user(names[i]) && made;
	if (!ok(conf != NULL && made, "config and %zu users", i))
		goto cleanup;
	svc("plain", NULL);

	test_user_limit();
	test_host_limit();
	test_concurrency();
	test_first_failures();
	test_not_failures();
	test_damaged();
	test_gotruectl_reset();
	ok(strstr(pt_log(), PASSWORD) == NULL && strstr(pt_log(), WRONG) == NULL,
	   "no password in %zu bytes of log", pt_log_len());
	if (getenv("TEST_VERBOSE"))
		fputs(pt_log(), stdout);
cleanup:
	free(conf);
	emu_stop(e);
	pt_cleanup();
	return done_testing();
}
