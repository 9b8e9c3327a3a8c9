/* test_store: the token store's contract (lib/store/store.h): modes and ownership, planted
 * links refused, ids that cannot become paths, the record format's bounds, the two-slot record
 * file (lib/store/store.h: a torn newer slot falls back to the older version, both torn is
 * -EBADMSG, sequence order across a wrap, updates in place, the grow fallback, removal wipes),
 * stale temp files, and atomicity: a writer killed with SIGKILL at random instants 200 times
 * (synced writes, and unsynced ones the store must sync itself) always leaves the old record or the
 * new one. */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
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

static void record_file(const char *id, char *path, size_t len)
{
	snprintf(path, len, "%s/sessions/%s", dir, id);
}

/* Read the stored access token of @id into @tok (empty on failure); returns the read's result. */
static int read_token(struct gotrue_store *st, const char *id, char *tok, size_t len)
{
	struct gotrue_store_record got;
	int rc = gotrue_store_read(st, id, &got);

	snprintf(tok, len, "%s", rc == 0 && got.access_token ? got.access_token : "");
	gotrue_store_record_clear(&got);
	return rc;
}

/* Flip one byte of the file at @off. */
static void flip(const char *path, off_t off)
{
	unsigned char c = 0;
	int fd = open(path, O_RDWR);

	if (fd >= 0 && pread(fd, &c, 1, off) == 1) {
		c ^= 0x5a;
		if (pwrite(fd, &c, 1, off) != 1)
			diag("cannot flip a byte of %s", path);
	}
	if (fd >= 0)
		close(fd);
}

static off_t file_size(const char *path, ino_t *ino)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return -1;
	if (ino != NULL)
		*ino = sb.st_ino;
	return sb.st_size;
}

/* Write a two-slot file by hand: slot 0 version @seq0 with access token @tok0, slot 1 @seq1 with
 * @tok1 (NULL: zeros). */
static int plant(const char *id, uint64_t seq0, const char *tok0, uint64_t seq1, const char *tok1)
{
	struct gotrue_store_record rec;
	unsigned char *buf = calloc(2, 4096);
	char path[512], *text = NULL;
	size_t len = 0;
	int fd, rc = -1;

	record_file(id, path, sizeof(path));
	fill(&rec, id, tok0);
	if (buf == NULL || gotrue_store_record_format(&rec, &text, &len) != 0 ||
	    gotrue_store_slot_encode(buf, 4096, seq0, text, len) != 0)
		goto cleanup;
	gotrue_wipe_free(text, len);
	text = NULL;
	if (tok1 != NULL) {
		fill(&rec, id, tok1);
		if (gotrue_store_record_format(&rec, &text, &len) != 0 ||
		    gotrue_store_slot_encode(buf + 4096, 4096, seq1, text, len) != 0)
			goto cleanup;
	}
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		rc = write(fd, buf, 2 * 4096) == 2 * 4096 ? 0 : -1;
		close(fd);
	}
cleanup:
	if (text != NULL)
		gotrue_wipe_free(text, len);
	free(buf);
	return rc;
}

/* Put an intact slot 1 of sequence @seq around @payload, which need not be a record, into the
 * two-slot file of @id. */
static int plant_slot1(const char *id, uint64_t seq, const char *payload)
{
	unsigned char slot[4096];
	char path[512];
	int fd, rc = -1;

	record_file(id, path, sizeof(path));
	if (gotrue_store_slot_encode(slot, sizeof(slot), seq, payload, strlen(payload)) != 0)
		return -1;
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		rc = pwrite(fd, slot, sizeof(slot), 4096) == (ssize_t)sizeof(slot) ? 0 : -1;
		close(fd);
	}
	return rc;
}

static void test_slots(struct gotrue_store *st)
{
	struct gotrue_store_record rec, got;
	char id[33], path[512], tok[256], big[200];
	static char *many[120];
	ino_t ino0 = 0, ino1 = 0;
	off_t size0, size1;
	uint64_t seq = 0;
	unsigned char *raw;
	size_t i;
	int fd;

	gotrue_store_new_id(id);
	record_file(id, path, sizeof(path));
	fill(&rec, id, "token-v1");
	is_int(gotrue_store_write(st, &rec), 0, "slots: new record");
	size0 = file_size(path, &ino0);
	is_int((int)size0, 8192, "slots: a small record is two 4096-byte slots");
	fill(&rec, id, "token-v2");
	is_int(gotrue_store_write(st, &rec), 0, "slots: update");
	size1 = file_size(path, &ino1);
	ok(size1 == size0 && ino1 == ino0, "slots: the update is in place (same inode, same size)");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-v2", "slots: the newer version is read");

	/* v2 is in slot 1 (sequence 2). A torn write of it: the payload, then the header. */
	flip(path, 4096 + 64 + 20);
	is_int(read_token(st, id, tok, sizeof(tok)), 0, "slots: torn newer slot, still readable");
	is_str(tok, "token-v1", "slots: torn newer slot gives the older version");
	fill(&rec, id, "token-v3");
	is_int(gotrue_store_write(st, &rec), 0, "slots: write after a torn slot");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-v3", "slots: ... goes into the torn slot, not over the intact one");
	flip(path, 4096 + 48); /* the sequence number of slot 1 (v3): checksum no longer holds */
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-v1", "slots: a torn header gives the older version");
	flip(path, 64 + 5); /* slot 0 too */
	is_int(read_token(st, id, tok, sizeof(tok)), -EBADMSG, "slots: both slots torn: -EBADMSG");
	fill(&rec, id, "token-v4");
	is_int(gotrue_store_write(st, &rec), 0,
	       "slots: a write replaces a file with no intact slot");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-v4", "slots: ... and is read back");

	/* Sequence order, across the wrap of the 64-bit counter (serial-number arithmetic). */
	ok(plant(id, 5, "token-five", 4, "token-four") == 0, "slots: plant 5 / 4");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-five", "slots: the higher sequence wins, whichever slot");
	ok(plant(id, UINT64_MAX, "token-max", 0, "token-wrapped") == 0, "slots: plant 2^64-1 / 0");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-wrapped", "slots: 0 follows 2^64-1");
	fill(&rec, id, "token-after-wrap");
	gotrue_store_write(st, &rec);
	raw = NULL;
	fd = open(path, O_RDONLY);
	raw = malloc(8192);
	if (fd >= 0 && raw != NULL && read(fd, raw, 8192) == 8192 &&
	    gotrue_store_file_parse(raw, 8192, &got, &seq) == 0) {
		is_str(got.access_token, "token-after-wrap", "slots: write after the wrap is read");
		ok(seq == 1, "slots: ... as sequence 1 (%llu)", (unsigned long long)seq);
		ok(gotrue_store_record_parse((const char *)raw, 8192, &rec) == 0 &&
			   strcmp(rec.access_token, "token-after-wrap") == 0,
		   "slots: record_parse takes a whole file too");
		gotrue_store_record_clear(&rec);
	} else {
		ok(0, "slots: write after the wrap is read");
		ok(0, "slots: ... as sequence 1");
		ok(0, "slots: record_parse takes a whole file too");
	}
	gotrue_store_record_clear(&got);
	if (fd >= 0)
		close(fd);
	free(raw);
	ok(plant(id, 7, "token-seven", 0, NULL) == 0, "slots: plant 7 / empty slot");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-seven", "slots: an empty slot 1 is ignored");
	/* The newest version is intact but cannot be parsed (a format this build does not know;
	 * in the field, a read that ran out of memory): the read fails rather than give the
	 * older version, whose refresh token may be spent. */
	ok(plant(id, 4, "token-four", 0, NULL) == 0 &&
		   plant_slot1(id, 5, "{\"version\":2,\"id\":\"x\"}") == 0,
	   "slots: plant 4 / an intact 5 that is no record");
	is_int(read_token(st, id, tok, sizeof(tok)), -EBADMSG,
	       "slots: an intact newest slot that does not parse fails the read");
	is_str(tok, "", "slots: ... and never gives the older version");

	/* The grow fallback: a payload over its slot makes a new, bigger file, atomically. */
	fill(&rec, id, "token-small");
	gotrue_store_write(st, &rec);
	size0 = file_size(path, &ino0);
	memset(big, 'g', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < sizeof(many) / sizeof(many[0]) - 1; i++)
		many[i] = big;
	many[i] = NULL;
	fill(&rec, id, "token-grown");
	rec.groups = many;
	is_int(gotrue_store_write(st, &rec), 0, "grow: a record of %zu groups written", i);
	size1 = file_size(path, &ino1);
	ok(size1 > size0 && ino1 != ino0, "grow: a new, bigger file (%lld -> %lld bytes)",
	   (long long)size0, (long long)size1);
	is_int(gotrue_store_read(st, id, &got), 0, "grow: read back");
	ok(got.groups != NULL && got.groups[i - 1] != NULL && got.groups[i] == NULL &&
		   strcmp(got.access_token, "token-grown") == 0,
	   "grow: every group and the token");
	gotrue_store_record_clear(&got);
	fill(&rec, id, "token-shrunk");
	is_int(gotrue_store_write(st, &rec), 0, "grow: a smaller update fits the big slot");
	ok(file_size(path, &ino0) == size1 && ino0 == ino1, "grow: ... in place");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "token-shrunk", "grow: ... and is read back");

	/* A planted second name: written by rename, never into the shared file. */
	{
		char other[512], before[64] = "", after[64] = "";
		int ofd;

		snprintf(other, sizeof(other), "%s/other-name", dir);
		unlink(other);
		ok(link(path, other) == 0, "hard link: planted");
		ofd = open(other, O_RDONLY);
		if (ofd >= 0 && pread(ofd, before, sizeof(before), 64) < 0)
			before[0] = '\0';
		fill(&rec, id, "token-after-link");
		is_int(gotrue_store_write(st, &rec), 0, "hard link: the record is written");
		if (ofd >= 0 && pread(ofd, after, sizeof(after), 64) < 0)
			after[0] = '\0';
		ok(ofd >= 0 && memcmp(before, after, sizeof(before)) == 0 &&
			   file_size(other, NULL) == size1,
		   "hard link: the other name's file is untouched");
		read_token(st, id, tok, sizeof(tok));
		is_str(tok, "token-after-link", "hard link: the store has its own file again");
		if (ofd >= 0)
			close(ofd);
		unlink(other);
	}

	/* Removal wipes both slots: what a descriptor still open on the file sees afterwards. */
	fd = open(path, O_RDONLY);
	size0 = file_size(path, NULL);
	is_int(gotrue_store_remove(st, id), 0, "remove");
	raw = size0 > 0 ? malloc((size_t)size0) : NULL;
	if (fd >= 0 && raw != NULL && pread(fd, raw, (size_t)size0, 0) == size0) {
		for (i = 0; i < (size_t)size0 && raw[i] == 0; i++)
			;
		ok(i == (size_t)size0, "remove: both slots overwritten with zeros");
	} else {
		ok(0, "remove: both slots overwritten with zeros");
	}
	free(raw);
	if (fd >= 0)
		close(fd);
}

/* Temp files of writers killed before their rename: gc removes the old ones only. */
static void test_stale_temp(struct gotrue_store *st)
{
	char id[33], old_tmp[512], new_tmp[512], other[512];
	struct timeval tv[2] = {{0, 0}, {0, 0}};
	unsigned int removed = 99;
	int fd;

	gotrue_store_new_id(id);
	snprintf(old_tmp, sizeof(old_tmp), "%s/sessions/.%s.Ab12Cd", dir, id);
	snprintf(new_tmp, sizeof(new_tmp), "%s/sessions/.%s.Xy34Zw", dir, id);
	snprintf(other, sizeof(other), "%s/sessions/.keep-me", dir);
	fd = open(old_tmp, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0 && write(fd, "secret", 6) != 6)
		diag("short write");
	if (fd >= 0)
		close(fd);
	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - 3600;
	utimes(old_tmp, tv);
	fd = open(new_tmp, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	utimes(other, tv);
	is_int(gotrue_store_remove_stale_temp(st, 60, &removed), 0, "stale temp: gc ran");
	is_int((int)removed, 1, "stale temp: one removed");
	ok(access(old_tmp, F_OK) != 0, "stale temp: the hour-old temp file is gone");
	ok(access(new_tmp, F_OK) == 0, "stale temp: a fresh one (a live writer's) is kept");
	ok(access(other, F_OK) == 0, "stale temp: a file of another name is kept");
	unlink(new_tmp);
	unlink(other);
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

/* A writer rewriting one record forever, alternating two versions; with @unsynced through
 * gotrue_store_write_unsynced and never a sync of its own (the store's write rule syncs). */
static void writer(struct gotrue_store *st, const char *id, bool unsynced)
{
	struct gotrue_store_record rec;
	unsigned long i;

	for (i = 0;; i++) {
		fill(&rec, id, (i & 1) ? "token-version-B" : "token-version-A");
		if (unsynced)
			gotrue_store_write_unsynced(st, &rec);
		else
			gotrue_store_write(st, &rec);
	}
}

static void test_sigkill(struct gotrue_store *st, bool unsynced)
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
			writer(st, id, unsynced);
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
	is_int(bad, 0, "%d SIGKILLed %s writers: always the old or the new record", KILLS,
	       unsynced ? "unsynced" : "synced");
	gotrue_store_remove(st, id);
}

/* The lock file comes with the record, and a record is never made without it; a held record
 * (gotrue_store_read_held) is written in place, alternating slots, without being re-opened. */
static void test_lockfile_held(struct gotrue_store *st)
{
	struct gotrue_store_record rec, got;
	char id[33], path[512], lock[560], tok[64];
	struct stat sb;
	unsigned char *buf = NULL;
	uint64_t seq = 0;
	ino_t ino0 = 0, ino1 = 0;
	off_t size0, size1;
	int fd, lk;

	/* 1. Created with the record. */
	gotrue_store_new_id(id);
	fill(&rec, id, "lock-one");
	is_int(gotrue_store_write(st, &rec), 0, "lock file: new record written");
	snprintf(lock, sizeof(lock), "%s/sessions/%s.lock", dir, id);
	ok(lstat(lock, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600,
	   "lock file: made with the record, 0600");
	gotrue_store_remove(st, id);
	ok(lstat(lock, &sb) != 0, "lock file: removed with the record");

	/* 2. A lock file that cannot be made (a directory in its place): no record either. */
	gotrue_store_new_id(id);
	snprintf(lock, sizeof(lock), "%s/sessions/%s.lock", dir, id);
	record_file(id, path, sizeof(path));
	mkdir(lock, 0700);
	fill(&rec, id, "lock-two");
	ok(gotrue_store_write(st, &rec) != 0, "lock file: cannot be made, the write fails");
	ok(lstat(path, &sb) != 0, "lock file: ... and no record was made");
	rmdir(lock);

	/* 3. Held: read once under the lock, then two writes through the held descriptor. */
	gotrue_store_new_id(id);
	record_file(id, path, sizeof(path));
	fill(&rec, id, "held-1");
	gotrue_store_write(st, &rec);
	size0 = file_size(path, &ino0);
	lk = gotrue_store_lock(st, id, 0);
	ok(lk >= 0 && gotrue_store_read_held(st, id, &got) == 0 && got.access_token != NULL &&
		   strcmp(got.access_token, "held-1") == 0,
	   "held: read");
	gotrue_store_record_clear(&got);
	fill(&rec, id, "held-2");
	is_int(gotrue_store_write_unsynced(st, &rec), 0, "held: unsynced write");
	fill(&rec, id, "held-3");
	is_int(gotrue_store_write(st, &rec), 0, "held: second write (the write rule syncs first)");
	gotrue_store_release(st, id);
	gotrue_store_unlock(lk);
	size1 = file_size(path, &ino1);
	ok(ino0 == ino1 && size0 == size1, "held: in place (same inode, same size)");
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "held-3", "held: the last write is read");
	/* The file says version 3, and the older slot holds version 2: flipping a payload byte of
	 * the newest slot (slot 0: 1 -> slot 1 -> slot 0) falls back to it. */
	fd = open(path, O_RDONLY);
	buf = malloc((size_t)size1);
	if (fd >= 0 && buf != NULL && read(fd, buf, (size_t)size1) == size1 &&
	    gotrue_store_file_parse(buf, (size_t)size1, &got, &seq) == 0)
		gotrue_store_record_clear(&got);
	if (fd >= 0)
		close(fd);
	free(buf);
	is_int((int)seq, 3, "held: three versions written");
	flip(path, GOTRUE_STORE_SLOT_HEADER + 2);
	read_token(st, id, tok, sizeof(tok));
	is_str(tok, "held-2", "held: the other slot holds the version before");
	gotrue_store_remove(st, id);
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
	test_slots(st);
	test_stale_temp(st);
	test_lockfile_held(st);
	test_sigkill(st, false);
	test_sigkill(st, true);
	gotrue_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
