/* test_store: the token store's contract (DESIGN.md "Token store"): modes and ownership, planted
 * links refused, ids that cannot become paths, the record format's bounds, and atomicity: a writer
 * killed with SIGKILL at random instants 200 times always leaves the old record or the new one. */
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

#include "secure.h"
#include "store.h"
#include "tap.h"

#define KILLS 200

static char dir[256];

static void fill(struct gotrue_store_record *rec, const char *id, const char *token)
{
	static char staff[] = "staff", ops[] = "ops",
		    uid[] = "6d2f3a5e-8a0e-4c1a-9d5e-0b8b6f4e2a11", login[] = "alice",
		    sid[] = "0c8f5a52-9d6e-4d7b-8a1f-3e2d1c0b9a87", refresh[] = "r3fr3sh",
		    service[] = "sshd", tty[] = "ssh", rhost[] = "192.0.2.1";
	static char *groups[] = {staff, ops, NULL};

	memset(rec, 0, sizeof(*rec));
	memcpy(rec->id, id, sizeof(rec->id));
	rec->state = GOTRUE_STORE_ACTIVE;
	rec->user_id = uid;
	rec->login = login;
	rec->session_id = sid;
	rec->access_token = (char *)token;
	rec->refresh_token = refresh;
	rec->expires_at = 1900000000;
	rec->groups = groups;
	rec->service = service;
	rec->tty = tty;
	rec->rhost = rhost;
	rec->pid = 4242;
}

static void test_basics(struct gotrue_store *st)
{
	struct gotrue_store_record rec, got;
	char id[33], path[512], *text = NULL;
	struct stat sb;
	size_t len = 0;

	ok(gotrue_store_new_id(id) == 0 && gotrue_store_id_valid(id), "random id is valid");
	ok(!gotrue_store_id_valid("../../../../etc/shadow"), "a path is not an id");
	ok(!gotrue_store_id_valid("0123456789ABCDEF0123456789abcdef"), "upper case is not an id");
	ok(!gotrue_store_id_valid("0123456789abcdef0123456789abcde"), "31 digits is not an id");
	fill(&rec, id, "eyJhbGciOiJIUzI1NiJ9.e30.sig");
	is_int(gotrue_store_write(st, &rec), 0, "write");
	snprintf(path, sizeof(path), "%s/sessions", dir);
	if (stat(path, &sb) != 0)
		memset(&sb, 0, sizeof(sb));
	ok((sb.st_mode & 07777) == 0700 && sb.st_uid == geteuid(),
	   "sessions directory is 0700, owned by us (%04o)", (unsigned)(sb.st_mode & 07777));
	snprintf(path, sizeof(path), "%s/sessions/%s", dir, id);
	if (stat(path, &sb) != 0)
		memset(&sb, 0, sizeof(sb));
	ok(S_ISREG(sb.st_mode) && (sb.st_mode & 07777) == 0600 && sb.st_uid == geteuid(),
	   "record is 0600 (%04o)", (unsigned)(sb.st_mode & 07777));
	is_int(gotrue_store_read(st, id, &got), 0, "read back");
	is_str(got.access_token, rec.access_token, "access token round-trips");
	is_str(got.login, "alice", "login round-trips");
	ok(got.groups && got.groups[1] && strcmp(got.groups[1], "ops") == 0, "groups round-trip");
	is_int(got.state, GOTRUE_STORE_ACTIVE, "state round-trips");
	ok(got.created > 0 && got.updated >= got.created, "times set");
	gotrue_store_record_clear(&got);
	is_int(gotrue_store_count_user(st, rec.user_id, GOTRUE_STORE_ACTIVE, NULL), 1,
	       "count user");
	is_int(gotrue_store_count_user(st, rec.user_id, GOTRUE_STORE_ACTIVE, id), 0,
	       "count user, except this one");

	/* Group or world access is refused. */
	chmod(path, 0644);
	ok(gotrue_store_read(st, id, &got) == -EPERM, "a 0644 record is refused");
	chmod(path, 0600);
	is_int(gotrue_store_remove(st, id), 0, "remove");
	is_int(gotrue_store_read(st, id, &got), -ENOENT, "gone after remove");

	/* Bounded parsing. */
	ok(gotrue_store_record_format(&rec, &text, &len) == 0, "format");
	is_int(gotrue_store_record_parse(text, len, &got), 0, "parse formatted");
	gotrue_store_record_clear(&got);
	ok(gotrue_store_record_parse(text, len / 2, &got) != 0, "truncated record refused");
	ok(gotrue_store_record_parse("{\"version\":1,\"id\":\"../x\",\"state\":\"active\"}", 42,
				     &got) != 0,
	   "record with a bad id refused");
	ok(gotrue_store_record_parse("[1,2,3]", 7, &got) != 0, "non-object refused");
	gotrue_wipe_free(text, len);
}

static void test_symlink(struct gotrue_store *st)
{
	struct gotrue_store_record rec;
	char id[33], path[512], target[512], lock[512];
	FILE *f;
	int fd;

	gotrue_store_new_id(id);
	snprintf(target, sizeof(target), "%s/victim", dir);
	f = fopen(target, "w");
	if (f != NULL) {
		fputs("{}", f);
		fclose(f);
	}
	chmod(target, 0600);
	snprintf(path, sizeof(path), "%s/sessions/%s", dir, id);
	ok(symlink(target, path) == 0, "plant a symlink as a record");
	is_int(gotrue_store_read(st, id, &rec), -ELOOP, "planted symlink refused on read");
	snprintf(lock, sizeof(lock), "%s/sessions/%s.lock", dir, id);
	ok(symlink(target, lock) == 0, "plant a symlink as a lock file");
	fd = gotrue_store_lock(st, id, 0);
	ok(fd < 0, "planted lock symlink refused");
	gotrue_store_unlock(fd);
	unlink(path);
	unlink(lock);

	/* A state directory that is a link is refused too. */
	snprintf(path, sizeof(path), "%s/linked", dir);
	snprintf(target, sizeof(target), "%s/realdir", dir);
	mkdir(target, 0700);
	ok(symlink(target, path) == 0, "plant a linked state directory");
	ok(gotrue_store_open(NULL, path) == NULL, "linked state directory refused");
	snprintf(path, sizeof(path), "%s/open", dir);
	mkdir(path, 0777);
	chmod(path, 0777);
	ok(gotrue_store_open(NULL, path) == NULL, "world-writable state directory refused");
}

static void test_lock(struct gotrue_store *st)
{
	char id[33];
	int a, b;

	gotrue_store_new_id(id);
	a = gotrue_store_lock(st, id, 0);
	ok(a >= 0, "lock taken");
	if (fork() == 0)
		_exit(gotrue_store_lock(st, id, 50) == -EWOULDBLOCK ? 0 : 1);
	{
		int status = -1;

		wait(&status);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "a second process waits and times out");
	}
	gotrue_store_unlock(a);
	b = gotrue_store_lock(st, id, 0);
	ok(b >= 0, "lock free again after unlock");
	gotrue_store_unlock(b);
	gotrue_store_remove(st, id);
}

/* A writer rewriting one record forever, alternating two versions. */
static void writer(struct gotrue_store *st, const char *id)
{
	struct gotrue_store_record rec;
	unsigned long i;

	for (i = 0;; i++) {
		fill(&rec, id, (i & 1) ? "token-version-B" : "token-version-A");
		gotrue_store_write(st, &rec);
	}
}

static void test_sigkill(struct gotrue_store *st)
{
	struct gotrue_store_record rec, got;
	struct timespec ts;
	char id[33];
	int i, bad = 0, status;
	pid_t pid;

	gotrue_store_new_id(id);
	fill(&rec, id, "token-version-A");
	gotrue_store_write(st, &rec);
	srand((unsigned)time(NULL));
	for (i = 0; i < KILLS; i++) {
		pid = fork();
		if (pid == 0)
			writer(st, id);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(rand() % 3000) * 1000; /* 0..3 ms */
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (gotrue_store_read(st, id, &got) != 0 ||
		    (strcmp(got.access_token, "token-version-A") != 0 &&
		     strcmp(got.access_token, "token-version-B") != 0))
			bad++;
		gotrue_store_record_clear(&got);
	}
	is_int(bad, 0, "%d SIGKILLed writers: always the old or the new record", KILLS);
}

int main(void)
{
	struct gotrue_store *st;
	char cmd[300];

	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 99;
	chmod(dir, 0755);
	st = gotrue_store_open(NULL, dir);
	ok(st != NULL, "store opened (directories created)");
	if (st == NULL)
		return done_testing();
	test_basics(st);
	test_symlink(st);
	test_lock(st);
	test_sigkill(st);
	gotrue_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
