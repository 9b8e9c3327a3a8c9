/* test_mfa_replay: the used-code file (lib/mfa_replay.c): its parser, and reserve/release in a
 * scratch state directory: a code goes through once per factor, a refused one again, a link, a
 * file of another owner or a malformed one fail closed, a full file refuses, and two logins
 * racing with one code see exactly one success. */
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

static struct gotrue_mfa_replay set;
static char dir[] = "/tmp/test-mfa-replay-XXXXXX";
static char file[128];

static int parse(const char *text, time_t now)
{
	return gotrue_mfa_replay_parse(text, strlen(text), now, &set);
}

static void t_parse(void)
{
	char two[400], hex[65];

	memset(hex, 'a', 64);
	hex[64] = '\0';
	snprintf(two, sizeof(two), "%s100 %s\n200 %s\n", GOTRUE_MFA_REPLAY_HEADER, hex, hex);
	is_int(parse(two, 150), 0, "parse: two entries");
	is_int((int)set.n, 1, "parse: the expired one is dropped");
	is_int(parse(GOTRUE_MFA_REPLAY_HEADER, 0), 0, "parse: a header alone is an empty set");
	is_int(parse("", 0), -1, "parse: no header: malformed");
	is_int(parse("gotrue-mfa-used 2\n", 0), -1, "parse: another version: malformed");
	snprintf(two, sizeof(two), "%s100 %s", GOTRUE_MFA_REPLAY_HEADER, hex);
	is_int(parse(two, 0), -1, "parse: a line without its newline: malformed");
	hex[3] = 'A';
	snprintf(two, sizeof(two), "%s100 %s\n", GOTRUE_MFA_REPLAY_HEADER, hex);
	is_int(parse(two, 0), -1, "parse: upper-case hex: malformed");
	hex[3] = 'a';
	hex[63] = '\0';
	snprintf(two, sizeof(two), "%s100 %s\n", GOTRUE_MFA_REPLAY_HEADER, hex);
	is_int(parse(two, 0), -1, "parse: a short digest: malformed");
	hex[63] = 'a';
	snprintf(two, sizeof(two), "%s12345678901234567890 %s\n", GOTRUE_MFA_REPLAY_HEADER, hex);
	is_int(parse(two, 0), -1, "parse: a time of 20 digits: malformed");
	snprintf(two, sizeof(two), "%s-1 %s\n", GOTRUE_MFA_REPLAY_HEADER, hex);
	is_int(parse(two, 0), -1, "parse: a negative time: malformed");
	is_int((int)set.n, 0, "parse: a malformed file leaves no entry");
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
	FILE *f;
	int i;

	/* Malformed: every login fails closed until an administrator removes it. */
	f = fopen(file, "w");
	if (f != NULL) {
		fputs("not a used-code file\n", f);
		fclose(f);
	}
	is_int(reserve(F1, "111111"), -1, "refused: a malformed file");
	unlink(file);
	snprintf(link_target, sizeof(link_target), "%s/elsewhere", dir);
	f = fopen(link_target, "w");
	if (f != NULL) {
		fputs(GOTRUE_MFA_REPLAY_HEADER, f);
		fclose(f);
	}
	chmod(link_target, 0600);
	ok(symlink(link_target, file) == 0, "a link where the file belongs");
	is_int(reserve(F1, "111111"), -1, "refused: a link (O_NOFOLLOW)");
	unlink(file);
	if (geteuid() == 0) {
		f = fopen(file, "w");
		if (f != NULL) {
			fputs(GOTRUE_MFA_REPLAY_HEADER, f);
			fclose(f);
		}
		chmod(file, 0600);
		ok(chown(file, 65534, 65534) == 0, "a file owned by nobody");
		is_int(reserve(F1, "111111"), -1, "refused: a file of another owner");
		unlink(file);
	}
	/* Full: GOTRUE_MFA_REPLAY_MAX live codes (written here: reserving them one by one
	 * would fsync a thousand times) refuse the next one. */
	f = fopen(file, "w");
	if (f != NULL) {
		fputs(GOTRUE_MFA_REPLAY_HEADER, f);
		for (i = 0; i < GOTRUE_MFA_REPLAY_MAX; i++)
			fprintf(f, "%lld %064x\n", (long long)time(NULL) + 60, i);
		fclose(f);
	}
	chmod(file, 0600);
	is_int(reserve(F2, "999999"), -1, "full: %d live codes refuse the next one",
	       GOTRUE_MFA_REPLAY_MAX);
	unlink(file);
	f = fopen(file, "w");
	if (f != NULL) {
		fputs(GOTRUE_MFA_REPLAY_HEADER, f);
		for (i = 0; i < GOTRUE_MFA_REPLAY_MAX; i++)
			fprintf(f, "%lld %064x\n", (long long)time(NULL) - 1, i);
		fclose(f);
	}
	chmod(file, 0600);
	is_int(reserve(F2, "999999"), 0, "full of expired codes: room again");
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
