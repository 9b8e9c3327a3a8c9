/* test_throttle: the failure throttle's core (lib/store/throttle.h) with the clock in the test's
 * hands: pam_faillock's arithmetic per bucket, host keys, the eviction rule on a small in-memory
 * table, damaged slots, and the table file itself (creation, modes, a link, a damaged or oversized
 * file, concurrent writers keeping an exact count, concurrent first failures agreeing on one
 * table). The PAM side is tests/pam/test_pam_throttle. */
#include <config.h>

#include <sys/wait.h>

#include "tap.h"
#include "core_util.h"
#include "config_check.h"
#include "gotrue_config.h"
#include "log.h"
#include "throttle.h"

#define T0 1700000000L

static struct gotrue_config *cfg;

/* A user's or host's bucket as `each` sees it: its failures, or -1 when it has none. */
struct find {
	enum gotrue_throttle_kind kind;
	const char *label;
	int failures;
	bool locked;
	long wait;
	int buckets;
};

static int find_each(void *ctx, const struct gotrue_throttle_entry *e)
{
	struct find *f = ctx;

	f->buckets++;
	if (e->kind == f->kind && strcmp(e->label, f->label) == 0) {
		f->failures = (int)e->failures;
		f->locked = e->locked;
		f->wait = e->wait;
	}
	return 0;
}

static struct find find(struct gotrue_throttle *t, enum gotrue_throttle_kind kind,
			const char *label, time_t now)
{
	struct find f = {kind, label, -1, false, 0, 0};

	gotrue_throttle_each(t, cfg, now, find_each, &f);
	return f;
}

static bool locked(struct gotrue_throttle *t, const char *user, const char *host, time_t now,
		   long *wait)
{
	struct gotrue_throttle_verdict v;

	if (gotrue_throttle_table_check(t, cfg, user, host, now, &v) != 0)
		return false;
	if (wait != NULL)
		*wait = v.wait;
	return v.locked;
}

static void fail(struct gotrue_throttle *t, const char *user, const char *host, time_t now)
{
	struct gotrue_throttle_verdict v;

	if (gotrue_throttle_table_fail(t, cfg, user, host, now, &v) != 0)
		diag("fail(%s, %s) failed", user, host);
}

static void note(void *ctx, bool warning, const char *problem)
{
	if (warning && strstr(problem, "throttle_user_failures and throttle_host_failures are 0"))
		*(int *)ctx += 1;
}

/* The four keys: ranges, 0 turning a limit off, and config check's warning with both off. */
static void test_config(void)
{
	struct gotrue_config *c = gotrue_config_new();
	int warned = 0;

	if (!ok(c != NULL, "a config"))
		return;
	tu_capture_begin();
	is_int(gotrue_config_set(NULL, c, "throttle_user_failures", "0"), 0, "user limit 0: off");
	is_int(gotrue_config_set(NULL, c, "throttle_host_failures", "100"), 0, "host limit 100");
	is_int(gotrue_config_set(NULL, c, "throttle_host_failures", "101"), -1, "101: refused");
	is_int(gotrue_config_set(NULL, c, "throttle_interval", "0"), -1, "interval 0: refused");
	is_int(gotrue_config_set(NULL, c, "throttle_unlock_time", "0"), -1,
	       "unlock time 0 (never): refused");
	is_int(gotrue_config_set(NULL, c, "throttle_unlock_time", "86400"), 0, "unlock time 1 day");
	tu_capture_end();
	is_int(c->throttle_host_failures, 100, "a refused value leaves the last good one");
	gotrue_config_check(NULL, c, note, &warned);
	is_int(warned, 0, "one limit on: no warning");
	gotrue_config_set(NULL, c, "throttle_host_failures", "0");
	gotrue_config_check(NULL, c, note, &warned);
	is_int(warned, 1, "both limits 0: config check warns");
	gotrue_config_free(c);
}

static void test_host_key(void)
{
	static const char *const cases[][2] = {
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::9", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::/64", "2001:db8:1:2::/64"},
		{"Host.Example.ORG", "host.example.org"},
		{"bad\nname", "bad?name"},
		{"", ""},
	};
	char out[GOTRUE_THROTTLE_HOST_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gotrue_throttle_host_key(cases[i][0], out, sizeof(out));
		is_str(out, cases[i][1], "host key of \"%s\"", cases[i][0]);
	}
	gotrue_throttle_host_key(NULL, out, sizeof(out));
	is_str(out, "", "no PAM_RHOST: the local bucket");
}

static void test_arithmetic(struct gotrue_throttle *t)
{
	struct gotrue_throttle_verdict v;
	long wait = 0;

	fail(t, "alice", "192.0.2.1", T0);
	fail(t, "alice", "192.0.2.1", T0 + 1);
	ok(!locked(t, "alice", "192.0.2.1", T0 + 1, NULL), "2 failures of 3: not locked");
	is_int(gotrue_throttle_table_fail(t, cfg, "alice", "192.0.2.1", T0 + 2, &v), 0,
	       "3rd failure recorded");
	ok(v.locked && v.by == GOTRUE_THROTTLE_USER && v.failures == 3 && v.wait == 30,
	   "3rd failure locks the user for the unlock time (by %d, %u failures, %ld s)", v.by,
	   v.failures, v.wait);
	ok(locked(t, "alice", "198.51.100.1", T0 + 31, &wait) && wait == 1,
	   "locked from any host until the unlock time (%ld s left)", wait);
	ok(!locked(t, "alice", "192.0.2.1", T0 + 32, NULL), "unlocked at last failure + 30 s");
	ok(locked(t, "alice", "192.0.2.1", T0 - 1000, &wait) && wait == 30,
	   "clock set back: still locked, but for the unlock time at most (%ld s)", wait);
	fail(t, "alice", "192.0.2.1", T0 + 40);
	is_int(find(t, GOTRUE_THROTTLE_USER, "alice", T0 + 40).failures, 1,
	       "the first failure after a lock starts the count over");
	fail(t, "alice", "192.0.2.1", T0 + 101);
	fail(t, "alice", "192.0.2.1", T0 + 162);
	is_int(find(t, GOTRUE_THROTTLE_USER, "alice", T0 + 162).failures, 1,
	       "failures more than throttle_interval apart never add up");
	is_int(find(t, GOTRUE_THROTTLE_HOST, "192.0.2.1", T0 + 162).failures, 1,
	       "... in the host's bucket either");

	/* the host's limit, across users; a success clears the user only */
	fail(t, "bob", "203.0.113.5", T0 + 200);
	fail(t, "carol", "203.0.113.5", T0 + 201);
	fail(t, "dave", "203.0.113.5", T0 + 202);
	fail(t, "erin", "203.0.113.5", T0 + 203);
	is_int(gotrue_throttle_forget(t, GOTRUE_THROTTLE_USER, "erin"), 0, "success: erin cleared");
	is_int(find(t, GOTRUE_THROTTLE_USER, "erin", T0 + 203).failures, -1,
	       "success: erin's bucket is gone");
	is_int(find(t, GOTRUE_THROTTLE_HOST, "203.0.113.5", T0 + 203).failures, 4,
	       "success: the host keeps its 4 failures");
	fail(t, "frank", "203.0.113.5", T0 + 204);
	ok(locked(t, "gina", "203.0.113.5", T0 + 205, NULL),
	   "5 failures of 5 users from one host: the host is locked for anyone");
	ok(!locked(t, "gina", "203.0.113.6", T0 + 205, NULL), "another host is not");
	is_int(gotrue_throttle_forget(t, GOTRUE_THROTTLE_HOST, "203.0.113.5"), 0,
	       "an administrator's reset of the host");
	ok(!locked(t, "gina", "203.0.113.5", T0 + 205, NULL), "... unlocks it");
	is_int(gotrue_throttle_forget(t, GOTRUE_THROTTLE_HOST, "203.0.113.5"), -ENOENT,
	       "forgetting an unknown bucket: -ENOENT");

	/* a limit of 0 */
	cfg->throttle_user_failures = 0;
	fail(t, "henry", "192.0.2.99", T0 + 300);
	is_int(find(t, GOTRUE_THROTTLE_USER, "henry", T0 + 300).failures, -1,
	       "throttle_user_failures = 0: no user bucket is kept");
	is_int(find(t, GOTRUE_THROTTLE_HOST, "192.0.2.99", T0 + 300).failures, 1,
	       "... the host's still is");
	cfg->throttle_user_failures = 3;
}

/* A table of 4 + 4 slots whose windows are the whole half: the eviction rule at work. */
static void test_eviction(void)
{
	struct gotrue_throttle *t = NULL;
	unsigned char *img;
	char name[32];
	size_t len;
	int i;

	img = gotrue_throttle_image_new(4, 4, 4, &len);
	if (!ok(img != NULL && gotrue_throttle_open_image(img, len, &t) == 0, "a 4+4 table"))
		goto cleanup;
	for (i = 0; i < 3; i++)
		fail(t, "victim", "192.0.2.1", T0 + i);
	tu_capture_begin();
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "spray%d", i);
		fail(t, name, "192.0.2.2", T0 + 3);
	}
	tu_capture_end();
	ok(locked(t, "victim", "192.0.2.3", T0 + 4, NULL),
	   "40 sprayed names in a full table: the locked bucket stays");
	is_int(find(t, GOTRUE_THROTTLE_USER, "victim", T0 + 4).buckets, 6,
	       "the table never holds more than its slots (4 users, 2 hosts)");
	fail(t, "second", "192.0.2.2", T0 + 5);
	fail(t, "second", "192.0.2.2", T0 + 5);
	tu_capture_begin();
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "more%d", i);
		fail(t, name, "192.0.2.2", T0 + 6);
	}
	tu_capture_end();
	is_int(find(t, GOTRUE_THROTTLE_USER, "second", T0 + 6).failures, 2,
	       "a bucket with 2 failures outlives a spray of 1-failure buckets");
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "10.0.0.%d", i);
		fail(t, NULL, name, T0 + 7);
	}
	ok(locked(t, "victim", "192.0.2.3", T0 + 8, NULL),
	   "40 sprayed hosts: users and hosts never compete for slots");
	/* Lock every user slot, older first: a new name then takes the lock that ran longest. */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "lock%d", i);
		fail(t, name, "192.0.2.4", T0 + 10 + i);
		fail(t, name, "192.0.2.4", T0 + 10 + i);
		fail(t, name, "192.0.2.4", T0 + 10 + i);
	}
	tu_capture_begin();
	fail(t, "newcomer", "192.0.2.4", T0 + 20);
	ok(strstr(tu_capture_end(), "forgetting a bucket; user=victim failures=3") != NULL,
	   "all locked: the oldest lock goes, and that is logged");
	ok(!locked(t, "victim", "192.0.2.3", T0 + 20, NULL) &&
		   locked(t, "lock0", "192.0.2.3", T0 + 20, NULL),
	   "... the others stay locked");
	ok(!locked(t, "lock0", NULL, T0 + 1000, NULL), "locks end after the unlock time");
cleanup:
	gotrue_throttle_close(t);
	free(img);
}

/* Flip one byte of every used slot of @img: each reads as empty, and says so. */
static void damage_slots(unsigned char *img, size_t len)
{
	size_t off;

	for (off = 512; off + 512 <= len; off += 512)
		if (img[off] != 0)
			img[off + 40] ^= 0x55;
}

static void test_image_checks(void)
{
	struct gotrue_throttle *t = NULL, *t2 = NULL;
	unsigned char *img;
	const char *log;
	size_t len;

	img = gotrue_throttle_image_new(8, 8, 4, &len);
	if (!ok(img != NULL && gotrue_throttle_open_image(img, len, &t) == 0, "an 8+8 table"))
		goto cleanup;
	is_int(gotrue_throttle_open_image(img, len - 1, &t2), -EBADMSG, "short image refused");
	ok(t2 == NULL, "... and no handle");
	fail(t, "alice", "192.0.2.1", T0);
	fail(t, "alice", "192.0.2.1", T0);
	fail(t, "alice", "192.0.2.1", T0);
	ok(locked(t, "alice", NULL, T0, NULL), "alice locked");
	damage_slots(img, len);
	tu_capture_begin();
	ok(!locked(t, "alice", NULL, T0, NULL), "a damaged slot reads as empty");
	log = tu_capture_end();
	ok(strstr(log, "damaged throttle slot taken as empty") != NULL, "... and is logged");
	img[0] ^= 1;
	is_int(gotrue_throttle_open_image(img, len, &t2), -EBADMSG, "a bad magic is refused");
	ok(gotrue_throttle_image_new(4, 4, 5, &len) == NULL, "a window wider than a half: refused");
cleanup:
	gotrue_throttle_close(t);
	free(img);
}

static int open_rc(const char *state_dir, bool create)
{
	struct gotrue_throttle *t = NULL;
	int rc = gotrue_throttle_open(
		NULL, state_dir, create ? GOTRUE_THROTTLE_CREATE : GOTRUE_THROTTLE_READ, 1000, &t);

	gotrue_throttle_close(t);
	return rc;
}

static int kids_fail(const char *state_dir, int kids, int each)
{
	int i, j, status, bad = 0;
	pid_t pid;

	for (i = 0; i < kids; i++) {
		pid = fork();
		if (pid == 0) {
			struct gotrue_throttle *t = NULL;
			struct gotrue_throttle_verdict v;
			int rc = 0;

			for (j = 0; j < each && rc == 0; j++) {
				rc = gotrue_throttle_open(NULL, state_dir, GOTRUE_THROTTLE_CREATE,
							  5000, &t);
				if (rc == 0)
					rc = gotrue_throttle_table_fail(t, cfg, "zoe", "192.0.2.9",
									T0, &v);
				gotrue_throttle_close(t);
				t = NULL;
			}
			_exit(rc == 0 ? 0 : 1);
		}
		if (pid < 0)
			bad++;
	}
	while (wait(&status) > 0)
		bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	return bad;
}

/* @kids processes at once, each one failed login with no table yet (gotrue_throttle_fail, as
 * the module calls it: its error would be PAM_SYSTEM_ERR). They wait on a pipe that the parent
 * then closes, so that they all find the table missing together. The number that failed. */
static int kids_first_fail(int kids)
{
	pid_t pids[64];
	int gate[2], i, status, bad = 0;
	char c;

	if (pipe(gate) != 0)
		return kids;
	for (i = 0; i < kids && i < 64; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(gotrue_throttle_fail(NULL, cfg, "uma", "192.0.2.77", T0, NULL) == 0
				      ? 0
				      : 1);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < kids && i < 64; i++)
		bad += pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] ||
		       !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	return bad;
}

/* Concurrent first failures agree on one table: none fails, and none of their counts is lost to
 * a table another one made a moment later. */
static void test_first_failures(void)
{
	struct gotrue_throttle *t = NULL;
	char state[4200];
	int round;

	for (round = 1; round <= 3; round++) {
		snprintf(state, sizeof(state), "%s/first%d", tu_path("state"), round);
		if (gotrue_config_set(NULL, cfg, "state_dir", state) != 0)
			diag("cannot set state_dir");
		is_int(kids_first_fail(32), 0,
		       "round %d: 32 first failures at once, no table yet: none is an error",
		       round);
		if (!ok(gotrue_throttle_open(NULL, state, GOTRUE_THROTTLE_READ, 1000, &t) == 0,
			"... one table made"))
			continue;
		is_int(find(t, GOTRUE_THROTTLE_USER, "uma", T0).failures, 32,
		       "... holding all 32 of the user's failures");
		is_int(find(t, GOTRUE_THROTTLE_HOST, "192.0.2.77", T0).failures, 32,
		       "... and all 32 of the host's");
		gotrue_throttle_close(t);
		t = NULL;
	}
}

static void test_file(void)
{
	char state[4200], dir[4300], path[4400], target[4400], got[64] = "";
	struct gotrue_throttle *t = NULL;
	const char *log;
	struct stat st;
	FILE *f;

	snprintf(state, sizeof(state), "%s", tu_path("state"));
	snprintf(dir, sizeof(dir), "%s/throttle", state);
	snprintf(path, sizeof(path), "%s/tally", dir);
	is_int(open_rc(state, false), -ENOENT, "no table, read-only open: -ENOENT, nothing made");
	ok(stat(state, &st) != 0, "... not even the state directory");
	is_int(open_rc(state, true), 0, "the login path's open creates the table");
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700, "directory 0700");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 512 + 4096 * 512,
	   "table 0600, 2 MiB + 512 bytes (%lld)", (long long)st.st_size);

	is_int(kids_fail(state, 4, 20), 0, "4 processes x 20 failures, concurrently");
	if (gotrue_throttle_open(NULL, state, GOTRUE_THROTTLE_READ, 1000, &t) == 0) {
		is_int(find(t, GOTRUE_THROTTLE_USER, "zoe", T0).failures, 80,
		       "exactly 80 failures counted: the lock lost none");
		gotrue_throttle_close(t);
		t = NULL;
	}

	f = fopen(path, "a");
	if (f != NULL) {
		fputs("trailing", f);
		fclose(f);
	}
	tu_capture_begin();
	is_int(open_rc(state, false), -EBADMSG, "an oversized table, read-only: refused");
	is_int(open_rc(state, true), 0, "... the login path replaces it");
	log = tu_capture_end();
	ok(strstr(log, "replacing a damaged throttle table (wrong size)") != NULL,
	   "... and logs why");
	ok(stat(path, &st) == 0 && st.st_size == 512 + 4096 * 512, "the new table has its size");

	snprintf(target, sizeof(target), "%s", tu_write("target", "keep me", 0600));
	unlink(path);
	if (symlink(target, path) != 0)
		diag("symlink: %s", strerror(errno));
	tu_capture_begin();
	is_int(open_rc(state, true), 0, "a symbolic link is replaced, not followed");
	log = tu_capture_end();
	ok(strstr(log, "(a symbolic link)") != NULL, "... logged");
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "... the table is a file again");
	f = fopen(target, "r");
	if (f != NULL) {
		if (fgets(got, sizeof(got), f) == NULL)
			got[0] = '\0';
		fclose(f);
	}
	is_str(got, "keep me", "... its target is untouched");

	chmod(path, 0644);
	tu_capture_begin();
	is_int(open_rc(state, true), 0, "a table others can read is replaced");
	ok(strstr(tu_capture_end(), "group or others can access it") != NULL, "... logged");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "... by a 0600 one");

	chmod(dir, 0755);
	tu_capture_begin();
	is_int(open_rc(state, true), -EPERM, "a throttle directory others can list: refused");
	ok(strstr(tu_capture_end(), "refusing a directory with mode 0755") != NULL, "... logged");
	chmod(dir, 0700);
	is_int(gotrue_throttle_clear(NULL, state), 0, "clear: a new empty table");
	is_int(open_rc(state, false), 0, "... which reads");
}

int main(void)
{
	struct gotrue_throttle *t = NULL;
	unsigned char *img;
	size_t len;

	tu_mkdtemp();
	cfg = gotrue_config_new();
	if (cfg == NULL)
		return 99;
	is_int(cfg->throttle_user_failures, 5, "default throttle_user_failures");
	is_int(cfg->throttle_host_failures, 20, "default throttle_host_failures");
	is_int(cfg->throttle_interval, 900, "default throttle_interval");
	is_int(cfg->throttle_unlock_time, 600, "default throttle_unlock_time");
	cfg->throttle_user_failures = 3;
	cfg->throttle_host_failures = 5;
	cfg->throttle_interval = 60;
	cfg->throttle_unlock_time = 30;

	test_config();
	test_host_key();
	img = gotrue_throttle_image_new(64, 64, 16, &len);
	if (ok(img != NULL && gotrue_throttle_open_image(img, len, &t) == 0, "a 64+64 table"))
		test_arithmetic(t);
	gotrue_throttle_close(t);
	free(img);
	test_eviction();
	test_image_checks();
	test_file();
	test_first_failures();

	gotrue_config_free(cfg);
	tu_cleanup();
	return done_testing();
}
