/* test_mfa_replay: the used-code file (lib/store/mfa_replay.c): its two-slot parser (the newer
 * intact slot, a torn one skipped), and reserve/release in a scratch state directory: a code goes
 * through once per factor, a refused one again; a link, a file others can read or own, or a
 * damaged one fail closed; a full file refuses; and logins racing with one code see exactly one
 * success. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "mfa_replay.h"
#include "tap.h"

#define F1 "6afc69f6-8424-41fa-96a1-84ebcde5d532"
#define F2 "977852d6-8e56-410d-a205-23659454963f"

static struct gotrue_mfa_replay set, made;
static unsigned char img[GOTRUE_MFA_REPLAY_FILE_SIZE];
static char dir[] = "/tmp/test-mfa-replay-XXXXXX";
static char file[128];

/* A file image: slot @slot holds @n entries expiring at @expires, with sequence @seq; the other
 * slot is left as it was. */
static void put_slot(int slot, uint64_t seq, size_t n, time_t expires)
{
	size_t i;

	memset(&made, 0, sizeof(made));
	for (i = 0; i < n; i++) {
		made.e[i].expires = expires;
		memset(made.e[i].digest, (int)(i + 1), 32);
	}
	made.n = n;
	gotrue_mfa_replay_render(&made, seq, img + (size_t)slot * GOTRUE_MFA_REPLAY_SLOT);
}

static void t_parse(void)
{
	memset(img, 0, sizeof(img));
	is_int(gotrue_mfa_replay_parse(img, sizeof(img), 0, &set), -1,
	       "parse: no intact slot: malformed");
	put_slot(0, 1, 2, 200);
	is_int(gotrue_mfa_replay_parse(img, sizeof(img), 100, &set), 0, "parse: slot 0 alone");
	ok(set.n == 2 && set.slot == 0 && set.seq == 1, "parse: its two entries");
	put_slot(1, 2, 3, 200);
	is_int(gotrue_mfa_replay_parse(img, sizeof(img), 100, &set), 0, "parse: both slots");
	ok(set.n == 3 && set.slot == 1 && set.seq == 2, "parse: the higher sequence wins");
	is_int(gotrue_mfa_replay_parse(img, sizeof(img), 200, &set), 0, "parse: later");
	is_int((int)set.n, 0, "parse: expired entries are dropped");
	/* A torn write of slot 1 (its checksum fails): slot 0 is read, as it was before. */
	img[GOTRUE_MFA_REPLAY_SLOT + GOTRUE_MFA_REPLAY_HDR + 5] ^= 0x40;
	is_int(gotrue_mfa_replay_parse(img, sizeof(img), 100, &set), 0, "parse: a torn slot");
	ok(set.n == 2 && set.slot == 0, "parse: ... the other slot is read");
	img[3] ^= 1;
	is_int(gotrue_mfa_replay_parse(img, sizeof(img), 100, &set), -1,
	       "parse: both slots damaged: malformed");
	is_int((int)set.n, 0, "parse: a malformed file leaves no entry");
	put_slot(0, 1, 2, 200);
	is_int(gotrue_mfa_replay_parse(img, sizeof(img) - 1, 100, &set), -1,
	       "parse: another size: malformed");
	img[16] = 0xff;
	img[17] = 0xff;
	is_int(gotrue_mfa_replay_parse(img, sizeof(img), 100, &set), -1,
	       "parse: a count over the maximum: malformed");
}

/* @img as the file, root's and 0600. */
static void write_img(void)
{
	FILE *f = fopen(file, "w");

	if (f != NULL) {
		if (fwrite(img, 1, sizeof(img), f) != sizeof(img))
			diag("short write");
		fclose(f);
	}
	chmod(file, 0600);
}

static int reserve(const char *factor, const char *code)
{
	return gotrue_mfa_code_reserve(NULL, dir, factor, code, 1000);
}

static void t_reserve(void)
{
	struct stat st;
	char *buf = NULL;
	FILE *f;

	is_int(reserve(F1, "123456"), 0, "reserve: a new code");
	ok(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == geteuid(),
	   "reserve: the file is 0600 and ours");
	is_int(reserve(F1, "123456"), 1, "reserve: the same code again: already used");
	is_int(reserve(F2, "123456"), 0, "reserve: the same digits for another factor");
	is_int(reserve(F1, "654321"), 0, "reserve: another code of the factor");
	f = fopen(file, "r");
	buf = calloc(1, 4096);
	if (f != NULL && buf != NULL && fread(buf, 1, 4095, f) > 0)
		ok(strstr(buf, "123456") == NULL && strstr(buf, "654321") == NULL,
		   "reserve: no code in the file, only digests");
	if (f != NULL)
		fclose(f);
	free(buf);
	is_int(gotrue_mfa_code_release(NULL, dir, F1, "123456", 1000), 0, "release");
	is_int(reserve(F1, "123456"), 0, "release: the code may be sent again");
}

static void t_refusals(void)
{
	char link_target[160];
	struct stat st;

	/* Damaged: every login fails closed until an administrator removes it. */
	memset(img, 0, sizeof(img));
	write_img();
	is_int(reserve(F1, "111111"), -1, "refused: a damaged file");
	unlink(file);
	put_slot(0, 1, 0, 0);
	snprintf(link_target, sizeof(link_target), "%s/elsewhere", dir);
	write_img();
	ok(rename(file, link_target) == 0 && symlink(link_target, file) == 0,
	   "a link where the file belongs");
	is_int(reserve(F1, "111111"), -1, "refused: a link (O_NOFOLLOW)");
	unlink(file);
	write_img();
	chmod(file, 0644);
	is_int(reserve(F1, "111111"), -1, "refused: a file others can read");
	if (geteuid() == 0) {
		chmod(file, 0600);
		ok(chown(file, 65534, 65534) == 0, "a file owned by nobody");
		is_int(reserve(F1, "111111"), -1, "refused: a file of another owner");
	}
	unlink(file);
	/* Full: GOTRUE_MFA_REPLAY_MAX live codes refuse the next one; expired ones make room. */
	put_slot(0, 1, GOTRUE_MFA_REPLAY_MAX, time(NULL) + 60);
	write_img();
	is_int(reserve(F2, "999999"), -1, "full: %d live codes refuse the next one",
	       GOTRUE_MFA_REPLAY_MAX);
	put_slot(0, 1, GOTRUE_MFA_REPLAY_MAX, time(NULL) - 1);
	write_img();
	is_int(reserve(F2, "999999"), 0, "full of expired codes: room again");
	ok(stat(file, &st) == 0 && st.st_size == GOTRUE_MFA_REPLAY_FILE_SIZE,
	   "the file keeps its size (updated in place)");
	unlink(file);
}

/* Two logins sending one code at the same moment: the lock lets exactly one through. */
static void t_race(void)
{
	int i, status, wins = 0, used = 0;
	pid_t pid[8];

	for (i = 0; i < 8; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(reserve(F1, "424242") + 10);
	}
	for (i = 0; i < 8; i++) {
		if (pid[i] > 0 && waitpid(pid[i], &status, 0) == pid[i] && WIFEXITED(status)) {
			wins += WEXITSTATUS(status) == 10;
			used += WEXITSTATUS(status) == 11;
		}
	}
	is_int(wins, 1, "race: 8 logins with one code: exactly one reserves it");
	is_int(used, 7, "race: the others see it used");
}

int main(void)
{
	char cmd[160];

	gotrue_log_init("test_mfa_replay", GOTRUE_LOG_STDERR, false);
	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(file, sizeof(file), "%s/%s", dir, GOTRUE_MFA_REPLAY_FILE);
	t_parse();
	t_reserve();
	t_refusals();
	t_race();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
