/* test_offline_pass: what the refresh pass (lib/sync/lifecycle.c) does with the record of an
 * offline login (pam/offline.c), which holds no token: while its owner runs, nothing (no
 * request, no refresh, no revocation, the Linux session not ended, even with revoked_session =
 * terminate and a margin of a year); once its owner is gone, the record is removed without a
 * /logout. With a live session of the same user beside it, which the pass refreshes as usual. */
#include <config.h>

#include <sys/prctl.h>

#include "lifetest.h"
#include "tap.h"

/* A live process to own the offline session. */
static pid_t owner(void)
{
	pid_t kid = fork();

	if (kid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	return kid;
}

/* The record pam_gotrue's authenticate and open_session leave for an offline login. */
static int offline_record(struct world *w, pid_t pid, char id[GOTRUE_STORE_ID_LEN + 1])
{
	struct gotrue_store_record rec = {0};
	int rc = -1;

	if (gotrue_store_new_id(rec.id) != 0)
		goto cleanup;
	rec.state = GOTRUE_STORE_ACTIVE;
	rec.offline = true;
	rec.user_id = strdup(w->user_id);
	rec.login = strdup("life");
	rec.expires_at = GOTRUE_STORE_OFFLINE_EXPIRES;
	rec.service = strdup("sshd");
	rec.pid = pid;
	rec.pid_start = gotrue_store_pid_start(pid);
	if (gotrue_store_write(w->st, &rec) != 0)
		goto cleanup;
	memcpy(id, rec.id, GOTRUE_STORE_ID_LEN + 1);
	rc = 0;
cleanup:
	gotrue_store_record_clear(&rec);
	return rc;
}

static long requests(struct world *w)
{
	return emu_count(w->emu, "GET /user") + emu_count(w->emu, "POST /logout") +
	       emu_count(w->emu, "POST /token?grant_type=refresh_token");
}

int main(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct gotrue_refresh_summary sum = {0};
	struct gotrue_refresh_opts opts;
	struct gotrue_store_record rec = {0};
	struct world w;
	char id[GOTRUE_STORE_ID_LEN + 1], live[GOTRUE_STORE_ID_LEN + 1];
	pid_t kid;
	int status;

	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all("GOTRUE_EMULATOR not set (run through make check)");
	if (world_start(&w, args, "revoked_session = terminate\n") != 0) {
		printf("Bail out! world\n");
		return 99;
	}
	kid = owner();
	if (!ok(kid > 0 && offline_record(&w, kid, id) == 0 &&
			world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), live) == 0,
		"an offline session (its owner runs) and a live one of the same user"))
		goto cleanup;
	gotrue_refresh_opts_init(&opts);
	opts.margin = 366L * 86400; /* every token is due: the live one is refreshed */
	emu_reset_counts(w.emu);
	is_int(gotrue_refresh_pass(NULL, w.cfg, &opts, &sum), 0, "a pass, margin a year");
	is_int(sum.refreshed, 1, "... refreshes the live session");
	ok(sum.revoked == 0 && sum.terminated == 0 && sum.removed == 0 && sum.failed == 0,
	   "... revokes, removes, ends nothing");
	is_int(requests(&w), 1,
	       "... one request: the live session's refresh, none for the offline");
	ok(gotrue_store_read(w.st, id, &rec) == 0 && rec.state == GOTRUE_STORE_ACTIVE &&
		   rec.offline && !rec.server_ended && rec.access_token == NULL,
	   "... the offline record is as it was: active, offline, no token");
	gotrue_store_record_clear(&rec);
	ok(kill(kid, 0) == 0, "... and its session still runs");
	kill(kid, SIGKILL);
	waitpid(kid, &status, 0);
	emu_reset_counts(w.emu);
	memset(&sum, 0, sizeof(sum));
	is_int(gotrue_refresh_pass(NULL, w.cfg, &opts, &sum), 0, "its owner gone, a pass");
	is_int(gotrue_store_read(w.st, id, &rec), -ENOENT, "... removes the offline record");
	is_int(emu_count(w.emu, "POST /logout"), 0, "... without a /logout: it has no session");
	gotrue_store_record_clear(&rec);
cleanup:
	world_stop(&w);
	return done_testing();
}
