/* test_offline_sweep: gotrue_sync_offline_sweep on its own, as whatever installs an account
 * index calls it (a sync, a fleet fetch): against an index written here, without a server, it
 * erases the verifiers of users the index does not list, lists as banned or lists under another
 * GoTrue user id, and files that are no verifier; it keeps those of users the index backs (an
 * expired ban included), whatever offline_login says; an index that cannot be read backs
 * nobody; and a state directory without verifiers is no error. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "core_util.h"
#include "gotrue_config.h"
#include "offline.h"
#include "offline_sweep.h"
#include "tap.h"

#define PW "Correct-Horse-9"

static struct {
	char login[8], id[40];
} users[] = {
	{"alice", "0a000000-0000-4000-8000-000000000001"}, /* listed: kept */
	{"bob", "0a000000-0000-4000-8000-000000000002"},   /* banned: erased */
	{"carol", "0a000000-0000-4000-8000-000000000003"}, /* her name is someone else's: erased */
	{"dave", "0a000000-0000-4000-8000-000000000004"},  /* a ban that ended: kept */
	{"erin", "0a000000-0000-4000-8000-000000000005"},  /* deleted, not listed: erased */
};
#define N_USERS (sizeof(users) / sizeof(users[0]))

static char state[4200], index_path[4300];

static bool has_verifier(size_t u)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s/%s", state, GOTRUE_OFFLINE_DIR, users[u].id);
	return access(path, F_OK) == 0;
}

static int keep_verifiers(void)
{
	struct gotrue_offline_verifier v;
	char junk[4400];
	FILE *f;
	size_t u;
	int bad = 0;

	for (u = 0; u < N_USERS; u++) {
		bad |= gotrue_offline_make(users[u].id, users[u].login, PW, false, time(NULL), &v);
		bad |= gotrue_offline_store(NULL, state, &v);
		gotrue_offline_clear(&v);
	}
	snprintf(junk, sizeof(junk), "%s/%s/not-a-verifier", state, GOTRUE_OFFLINE_DIR);
	f = fopen(junk, "w");
	bad |= f == NULL || fputs("{}", f) < 0 || fclose(f) != 0 || chmod(junk, 0600) != 0;
	return bad;
}

/* The index as a sync would have written it after bob's ban and erin's deletion, with carol's
 * name now held by another account. */
static int write_index(void)
{
	static char names[4][8] = {"alice", "bob", "carol", "dave"}, home[] = "/home/x",
		    shell[] = "/bin/sh", gecos[] = "",
		    other[] = "0a000000-0000-4000-8000-0000000000ff";
	struct gotrue_account a[4] = {
		{.name = names[0], .uid = 70001, .gid = 70001, .user_id = users[0].id},
		{.name = names[1],
		 .uid = 70002,
		 .gid = 70002,
		 .user_id = users[1].id,
		 .banned_until = time(NULL) + 3600},
		{.name = names[2], .uid = 70003, .gid = 70003, .user_id = other},
		{.name = names[3],
		 .uid = 70004,
		 .gid = 70004,
		 .user_id = users[3].id,
		 .banned_until = time(NULL) - 3600},
	};
	size_t i;

	for (i = 0; i < 4; i++) {
		a[i].home = home;
		a[i].shell = shell;
		a[i].gecos = gecos;
	}
	return gotrue_accounts_write(index_path, a, 4);
}

static void t_sweep(struct gotrue_config *cfg)
{
	ok(keep_verifiers() == 0 && write_index() == 0, "five verifiers, a stray file, an index");
	is_int(gotrue_sync_offline_sweep(NULL, cfg, index_path), 4,
	       "the sweep (offline_login off) erases four");
	ok(has_verifier(0), "... keeps alice's (listed)");
	ok(!has_verifier(1), "... erases bob's (banned)");
	ok(!has_verifier(2), "... erases carol's (her name is another account's now)");
	ok(has_verifier(3), "... keeps dave's (his ban has ended)");
	ok(!has_verifier(4), "... erases erin's (no longer listed)");
	is_int(gotrue_sync_offline_sweep(NULL, cfg, index_path), 0,
	       "a second sweep erases nothing");
}

static void t_no_index(struct gotrue_config *cfg)
{
	char missing[4400];

	snprintf(missing, sizeof(missing), "%s/no-such-index", state);
	is_int(gotrue_sync_offline_sweep(NULL, cfg, missing), 2,
	       "an index that cannot be read backs nobody: the two left are erased");
	ok(!has_verifier(0) && !has_verifier(3), "... alice's and dave's");
	is_int(gotrue_sync_offline_sweep(NULL, cfg, missing), 0,
	       "an empty directory: nothing to erase, no error");
}

int main(void)
{
	struct gotrue_config *cfg = gotrue_config_new();

	snprintf(state, sizeof(state), "%s/state", tu_mkdtemp());
	snprintf(index_path, sizeof(index_path), "%s/accounts", state);
	if (cfg == NULL || mkdir(state, 0755) != 0 ||
	    gotrue_config_set(NULL, cfg, "state_dir", state) != 0) {
		printf("Bail out! setup\n");
		return 1;
	}
	t_sweep(cfg);
	t_no_index(cfg);
	gotrue_config_free(cfg);
	tu_cleanup();
	return done_testing();
}
