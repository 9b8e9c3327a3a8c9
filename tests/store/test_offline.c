/* test_offline: the offline verifiers of lib/store/offline.c. The file's parser takes exactly
 * what the formatter writes and refuses everything else; a verifier is yescrypt at cost 5 with a
 * fresh salt; an attempt matches, counts a failure, erases at the limit, refuses an expired,
 * future-dated, misfit or damaged verifier (erasing it) and a user with a second factor (keeping
 * it); a file of the wrong mode or a link is refused and left alone; forgetting and listing; and
 * a writer killed at each point of its replacement (before the temp file is synced, before and
 * after the rename, before the directory is synced; linked with -Wl,--wrap=fsync,--wrap=rename)
 * and at random instants leaves the old verifier or the new one, whole, never anything else. */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core_util.h"
#include "offline.h"
#include "tap.h"

#define ID  "0b9f3f0e-4a7c-4d2e-9a51-3f6c1d2e8b70"
#define PW1 "Correct-Horse-9"
#define PW2 "Battery-Staple-7"

static char state[4200], dir[4300];

/* --- kill points: the wrapped calls of gotrue_replace_file ---------------------------------- */
enum kill_point {
	KILL_NONE,
	KILL_BEFORE_TEMP_SYNC, /* the temp file written, not synced */
	KILL_BEFORE_RENAME,    /* synced, not renamed */
	KILL_AFTER_RENAME,     /* renamed, the directory not synced */
	KILL_BEFORE_DIR_SYNC,  /* the same, inside the second fsync */
};
static enum kill_point kill_at = KILL_NONE;
static int n_fsync;

int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);

int __wrap_fsync(int fd)
{
	n_fsync++;
	if ((kill_at == KILL_BEFORE_TEMP_SYNC && n_fsync == 1) ||
	    (kill_at == KILL_BEFORE_DIR_SYNC && n_fsync == 2))
		raise(SIGKILL);
	return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to)
{
	int rc;

	if (kill_at == KILL_BEFORE_RENAME)
		raise(SIGKILL);
	rc = __real_rename(from, to);
	if (kill_at == KILL_AFTER_RENAME)
		raise(SIGKILL);
	return rc;
}

/* --- helpers -------------------------------------------------------------------------------- */

static void make(const char *password, time_t at, bool aal2, struct gotrue_offline_verifier *v)
{
	if (gotrue_offline_make(ID, "alice", password, aal2, at, v) != 0)
		diag("gotrue_offline_make failed");
}

static int store(const struct gotrue_offline_verifier *v)
{
	return gotrue_offline_store(NULL, state, v);
}

static struct gotrue_offline_try try_of(const char *password)
{
	struct gotrue_offline_try t = {.user_id = ID,
				       .login = "alice",
				       .password = password,
				       .now = time(NULL),
				       .max_age = 3 * 86400,
				       .max_failures = 3};
	return t;
}

static enum gotrue_offline_verdict attempt(const struct gotrue_offline_try *t, unsigned *failures)
{
	struct gotrue_offline_verifier seen;
	enum gotrue_offline_verdict v = (enum gotrue_offline_verdict) - 1;

	if (gotrue_offline_try(NULL, state, t, &v, &seen) != 0)
		return (enum gotrue_offline_verdict) - 1;
	if (failures != NULL)
		*failures = seen.failures;
	return v;
}

static bool present(void)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", dir, ID);
	return access(path, F_OK) == 0;
}

/* --- the file format ----------------------------------------------------------------------- */

static void t_format(void)
{
	static const char *const bad[] = {
		"",
		"{}",
		"[]",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0}",
		"{\"version\":2,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal3\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\"}",
		"{\"version\":1,\"user_id\":\"../"
		"etc\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"Alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":0,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":-1,\"hash\":\"$y$j9T$a$b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$6$rounds=5000$a$b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":\"5\",\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\",\"password\":\"x\"}",
		"{\"version\":1,\"user_id\":\"" ID
		"\",\"login\":\"alice\",\"at\":5,\"aal\":\"aal1\","
		"\"failures\":0,\"hash\":\"$y$j9T$a$b\"} trailing",
	};
	struct gotrue_offline_verifier v, back;
	char buf[GOTRUE_OFFLINE_FILE_MAX];
	size_t len, i, refused = 0;

	make(PW1, 1700000000, true, &v);
	ok(strncmp(v.hash, "$y$j9T$", 7) == 0 && strstr(v.hash, PW1) == NULL,
	   "a verifier is yescrypt, cost 5 ($y$j9T$)");
	len = gotrue_offline_format(&v, buf);
	ok(len > 0 && gotrue_offline_parse(buf, len, &back) == 0 &&
		   memcmp(&v, &back, sizeof(v)) == 0,
	   "format, then parse: the same verifier");
	ok(strstr(buf, "\"aal\":\"aal2\"") != NULL, "... aal2 kept");
	make(PW1, 1700000000, true, &back);
	ok(strcmp(v.hash, back.hash) != 0, "the same password twice: two salts, two hashes");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused += gotrue_offline_parse(bad[i], strlen(bad[i]), &v) == -EBADMSG &&
			   v.user_id[0] == '\0';
	is_int(refused, sizeof(bad) / sizeof(bad[0]),
	       "every malformed file is refused, and leaves nothing behind");
	ok(gotrue_offline_make("NOT-AN-ID", "alice", PW1, false, 5, &v) == -EINVAL &&
		   gotrue_offline_make(ID, "a/b", PW1, false, 5, &v) == -EINVAL &&
		   gotrue_offline_make(ID, "alice", "", false, 5, &v) == -EINVAL,
	   "no verifier for a bad id, a bad login or an empty password");
	ok(gotrue_offline_id_valid(ID) && !gotrue_offline_id_valid("") &&
		   !gotrue_offline_id_valid("..") && !gotrue_offline_id_valid("a/b"),
	   "ids that can name a file, and only those");
}

/* --- attempts ------------------------------------------------------------------------------- */

static void t_attempts(void)
{
	struct gotrue_offline_verifier v;
	struct gotrue_offline_try t = try_of(PW1);
	unsigned failures = 99;
	struct stat st;

	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_NONE, "no verifier: NONE");
	make(PW1, time(NULL) - 60, false, &v);
	is_int(store(&v), 0, "a verifier stored");
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700, "... its directory is 0700");
	is_int(attempt(&t, &failures), GOTRUE_OFFLINE_MATCH, "the right password: MATCH");
	is_int(failures, 0, "... nothing counted");
	t.password = PW2;
	is_int(attempt(&t, &failures), GOTRUE_OFFLINE_MISMATCH, "a wrong one: MISMATCH");
	is_int(failures, 1, "... counted, 1");
	is_int(attempt(&t, &failures), GOTRUE_OFFLINE_MISMATCH, "again: 2");
	is_int(attempt(&t, &failures), GOTRUE_OFFLINE_EXHAUSTED, "the third, of 3: EXHAUSTED");
	ok(!present(), "... and erased");
	t.password = PW1;
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_NONE, "then even the right one: NONE");

	store(&v);
	t.max_age = 30;
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_EXPIRED, "older than max_age: EXPIRED");
	ok(!present(), "... and erased");
	make(PW1, time(NULL) + 3600, false, &v);
	store(&v);
	t.max_age = 3 * 86400;
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_EXPIRED, "dated an hour ahead: EXPIRED, erased");
	make(PW1, time(NULL), false, &v);
	store(&v);
	t.login = "bob";
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_MISFIT, "made for another login: MISFIT");
	ok(!present(), "... and erased");
	t.login = "alice";
	store(&v);
	t.max_failures = 1;
	v.failures = 1;
	store(&v);
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_EXHAUSTED,
	       "a limit lowered below the failures counted: EXHAUSTED, erased");
	ok(!present(), "... gone");
}

static void t_factor(void)
{
	struct gotrue_offline_verifier v;
	struct gotrue_offline_try t = try_of(PW2);
	unsigned failures = 99;

	make(PW1, time(NULL), false, &v);
	store(&v);
	t.has_factor = true;
	is_int(attempt(&t, &failures), GOTRUE_OFFLINE_NEEDS_FACTOR,
	       "the index marks a factor: NEEDS_FACTOR, whatever the password");
	is_int(failures, 0, "... nothing tried, nothing counted");
	ok(present(), "... and the verifier kept");
	t.factor_allowed = true;
	t.password = PW1;
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_MATCH, "factor allowed offline: MATCH");
	make(PW1, time(NULL), true, &v);
	store(&v);
	t.has_factor = false;
	t.factor_allowed = false;
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_NEEDS_FACTOR,
	       "an aal2 verifier, the index not marked yet: NEEDS_FACTOR");
	t.factor_allowed = true;
	t.factor_required = true;
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_MATCH, "aal2, required and allowed: MATCH");
	make(PW1, time(NULL), false, &v);
	store(&v);
	is_int(attempt(&t, NULL), GOTRUE_OFFLINE_NEEDS_FACTOR,
	       "aal1 where mfa = required: NEEDS_FACTOR");
	gotrue_offline_forget(NULL, state, ID);
}

static void t_refused_files(void)
{
	struct gotrue_offline_verifier v;
	struct gotrue_offline_try t = try_of(PW1);
	enum gotrue_offline_verdict verdict;
	char path[4400], target[4400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, ID);
	make(PW1, time(NULL), false, &v);
	store(&v);
	chmod(path, 0644);
	ok(gotrue_offline_try(NULL, state, &t, &verdict, NULL) < 0,
	   "a verifier others can read: refused (an error, the login fails)");
	ok(present(), "... and left for the administrator to see");
	unlink(path);
	snprintf(target, sizeof(target), "%s/elsewhere", state);
	f = fopen(target, "w");
	if (f != NULL)
		fclose(f);
	chmod(target, 0600);
	if (symlink(target, path) != 0)
		diag("symlink failed");
	ok(gotrue_offline_try(NULL, state, &t, &verdict, NULL) < 0, "a link: refused");
	unlink(path);
	f = fopen(path, "w");
	if (f != NULL) {
		fputs("{\"version\":1}", f);
		fclose(f);
	}
	chmod(path, 0600);
	ok(gotrue_offline_try(NULL, state, &t, &verdict, NULL) == 0 &&
		   verdict == GOTRUE_OFFLINE_MISFIT && !present(),
	   "a damaged verifier: MISFIT, erased");
	chmod(dir, 0755);
	ok(gotrue_offline_try(NULL, state, &t, &verdict, NULL) < 0,
	   "a directory others can enter: refused");
	chmod(dir, 0700);
}

static int count_each(void *ctx, const char *name, const struct gotrue_offline_verifier *v)
{
	int *n = ctx;

	n[v != NULL ? 0 : 1]++;
	(void)name;
	return 0;
}

static void t_listing(void)
{
	struct gotrue_offline_verifier v;
	struct timespec old[2] = {{time(NULL) - 120, 0}, {time(NULL) - 120, 0}};
	char path[4400];
	int n[2] = {0, 0};
	FILE *f;

	make(PW1, time(NULL), false, &v);
	store(&v);
	snprintf(path, sizeof(path), "%s/junk", dir);
	f = fopen(path, "w");
	if (f != NULL)
		fclose(f);
	chmod(path, 0600);
	snprintf(path, sizeof(path), "%s/." ID ".stale", dir);
	f = fopen(path, "w");
	if (f != NULL)
		fclose(f);
	utimensat(AT_FDCWD, path, old, 0);
	snprintf(path, sizeof(path), "%s/." ID ".fresh", dir);
	f = fopen(path, "w");
	if (f != NULL)
		fclose(f);
	is_int(gotrue_offline_each(NULL, state, count_each, n), 0, "listing");
	ok(n[0] == 1 && n[1] == 1, "... one verifier, one file that is none (%d, %d)", n[0], n[1]);
	snprintf(path, sizeof(path), "%s/." ID ".stale", dir);
	ok(access(path, F_OK) != 0, "... a writer's temp file two minutes old is removed");
	snprintf(path, sizeof(path), "%s/." ID ".fresh", dir);
	ok(access(path, F_OK) == 0, "... a fresh one is not (its writer may be at work)");
	unlink(path);
	is_int(gotrue_offline_forget(NULL, state, "junk"), 0, "forget a file that is none");
	is_int(gotrue_offline_forget(NULL, state, ID), 0, "forget a verifier");
	is_int(gotrue_offline_forget(NULL, state, ID), -ENOENT, "... twice: -ENOENT");
	is_int(gotrue_offline_forget(NULL, state, ".."), -EINVAL, "\"..\" is no name to forget");
	is_int(gotrue_offline_each(NULL, "/nonexistent-state", count_each, n), 0,
	       "no directory: no verifier, no error");
}

/* --- crash safety -------------------------------------------------------------------------- */

/* Which of the two passwords the verifier on disk is made of: 1, 2, 0 neither, -1 unreadable. */
static int which(void)
{
	struct gotrue_offline_try t = try_of(PW1);
	struct gotrue_offline_verifier v;
	char path[4400], buf[GOTRUE_OFFLINE_FILE_MAX + 1];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, ID);
	f = fopen(path, "r");
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	}
	if (f == NULL || gotrue_offline_parse(buf, n, &v) != 0)
		return -1;
	t.max_failures = 1000;
	if (attempt(&t, NULL) == GOTRUE_OFFLINE_MATCH)
		return 1;
	t.password = PW2;
	return attempt(&t, NULL) == GOTRUE_OFFLINE_MATCH ? 2 : 0;
}

/* A child stores @v, killed at @point: it must have died there. */
static bool killed_store(const struct gotrue_offline_verifier *v, enum kill_point point)
{
	int status = 0;
	pid_t kid = fork();

	if (kid == 0) {
		kill_at = point;
		n_fsync = 0;
		_exit(store(v) == 0 ? 0 : 1);
	}
	return kid > 0 && waitpid(kid, &status, 0) == kid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL;
}

static void t_crash_points(void)
{
	static const struct {
		enum kill_point point;
		const char *name;
		int want;
	} points[] = {
		{KILL_BEFORE_TEMP_SYNC, "before the temp file is synced", 1},
		{KILL_BEFORE_RENAME, "before the rename", 1},
		{KILL_AFTER_RENAME, "right after the rename", 2},
		{KILL_BEFORE_DIR_SYNC, "before the directory is synced", 2},
	};
	struct gotrue_offline_verifier v1, v2;
	size_t i;

	make(PW1, time(NULL), false, &v1);
	make(PW2, time(NULL), false, &v2);
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		store(&v1);
		ok(killed_store(&v2, points[i].point), "a writer killed %s", points[i].name);
		is_int(which(), points[i].want, "... leaves the %s verifier, whole",
		       points[i].want == 1 ? "old" : "new");
	}
}

static void t_crash_random(int runs)
{
	struct gotrue_offline_verifier v1, v2;
	int i, fd[2], bad = 0, olds = 0, news = 0, w, status;
	struct timespec ts;
	char byte;
	pid_t kid;

	make(PW1, time(NULL), false, &v1);
	make(PW2, time(NULL), false, &v2);
	store(&v1);
	for (i = 0; i < runs; i++) {
		if (pipe(fd) != 0)
			break;
		kid = fork();
		if (kid == 0) {
			struct gotrue_offline_verifier v;

			close(fd[0]);
			/* The hash, then the signal, then the write: the kill lands in the write.
			 */
			gotrue_offline_make(ID, "alice", i % 2 ? PW1 : PW2, false, time(NULL), &v);
			if (write(fd[1], "x", 1) != 1)
				_exit(1);
			_exit(store(&v) == 0 ? 0 : 1);
		}
		close(fd[1]);
		if (read(fd[0], &byte, 1) != 1)
			diag("the writer died early");
		close(fd[0]);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(rand() % 4000) * 1000; /* 0..4 ms */
		nanosleep(&ts, NULL);
		kill(kid, SIGKILL);
		waitpid(kid, &status, 0);
		w = which();
		bad += w <= 0;
		olds += w == (i % 2 ? 2 : 1);
		news += w == (i % 2 ? 1 : 2);
	}
	is_int(bad, 0, "%d writers killed at random instants: always a whole verifier", runs);
	diag("the old one %d times, the new one %d times", olds, news);
	ok(olds > 0 && news > 0, "... sometimes the old, sometimes the new");
}

int main(void)
{
	srand((unsigned)time(NULL));
	snprintf(state, sizeof(state), "%s/state", tu_mkdtemp());
	snprintf(dir, sizeof(dir), "%s/%s", state, GOTRUE_OFFLINE_DIR);
	t_format();
	t_attempts();
	t_factor();
	t_refused_files();
	t_listing();
	t_crash_points();
	t_crash_random(100);
	tu_cleanup();
	return done_testing();
}
