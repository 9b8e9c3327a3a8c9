/* test_crash: SIGKILL the refresh pass at random instants, across its store writes and HTTP calls
 * (issue 5, "Crash safety"). Each run stores an active session due for refresh and a closing one
 * due for revocation, starts a pass in a child, kills it after a random delay, then checks:
 *   - every record parses;
 *   - the active record either holds the newest refresh token (proved by the next pass using it
 *     while the emulator's refresh_reuse counter stays 0), or carries the `refreshing` marker and
 *     the next pass resolves it (revoked: its access token is refused with 403 afterwards);
 *   - no revocation is lost: after the next pass the closing record is gone and its session is
 *     ended on the server (403 session_not_found), never gone with the session still alive.
 * LIFECYCLE_KILL_RUNS sets the number of runs: 200 by default (about 10 s);
 * `LIFECYCLE_KILL_RUNS=1000 make check TESTS=tests/lifecycle/test_crash` runs the 1000. */
#include <config.h>

#include "lifetest.h"
#include "tap.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_pass_child(struct world *w, const struct gotrue_refresh_opts *o)
{
	struct gotrue_refresh_summary s;

	/* The child's own stderr stays quiet: thousands of runs. */
	if (freopen("/dev/null", "w", stderr) == NULL)
		_exit(2);
	_exit(gotrue_refresh_pass(NULL, w->cfg, o, &s) == 0 ? 0 : 1);
}

int main(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct world w;
	struct gotrue_refresh_opts o;
	struct gotrue_refresh_summary s;
	struct gotrue_store_record rec;
	char act[GOTRUE_STORE_ID_LEN + 1], clo[GOTRUE_STORE_ID_LEN + 1];
	char(*ids)[GOTRUE_STORE_ID_LEN + 1];
	char *act_tok = NULL, *clo_tok = NULL, *act_rt = NULL;
	long runs = env_long("LIFECYCLE_KILL_RUNS", 200), i;
	long parse_bad = 0, lost = 0, stale = 0, unresolved = 0;
	long n_marked = 0, n_rotated = 0, n_untouched = 0, n_closed_by_kill = 0;
	double t0, window;
	size_t n, k;
	pid_t kid;
	int status;

	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all("GOTRUE_EMULATOR not set (run under make check)");
	if (world_start(&w, args, NULL) != 0)
		skip_all("emulator did not start"); /* reported as SKIP, not silently passed */
	gotrue_refresh_opts_init(&o);
	o.margin = 7200; /* every active session is due: each pass refreshes */
	srand((unsigned int)getpid());

	/* How long an unkilled pass takes, from fork to exit: the kill window. */
	world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), act);
	world_session(&w, GOTRUE_STORE_CLOSING, getpid(), clo);
	t0 = now_s();
	kid = fork();
	if (kid == 0)
		run_pass_child(&w, &o);
	waitpid(kid, &status, 0);
	window = (now_s() - t0) * 1.3;
	diag("a pass over 2 records takes %.1f ms; kill window %.1f ms", (now_s() - t0) * 1e3,
	     window * 1e3);
	gotrue_store_remove(w.st, act);

	for (i = 0; i < runs; i++) {
		bool marked = false, slow = (i % 4) == 3;

		world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), act);
		world_session(&w, GOTRUE_STORE_CLOSING, getpid(), clo);
		free(act_rt);
		act_rt = NULL;
		if (gotrue_store_read(w.st, act, &rec) == 0)
			act_rt = strdup(rec.refresh_token);
		gotrue_store_record_clear(&rec);
		free(clo_tok);
		clo_tok = NULL;
		if (gotrue_store_read(w.st, clo, &rec) == 0)
			clo_tok = strdup(rec.access_token);
		gotrue_store_record_clear(&rec);
		/* Every fourth run holds /token or /logout in flight for a while, so that more
		 * kills land between the request and the store write. */
		if (slow)
			emu_fault(w.emu,
				  (i % 8) == 3
					  ? "{\"path\":\"/token\",\"kind\":\"delay\",\"ms\":15}"
					  : "{\"path\":\"/logout\",\"kind\":\"delay\",\"ms\":15}");
		kid = fork();
		if (kid == 0)
			run_pass_child(&w, &o);
		sleep_ms(0);
		{
			double d = window * (slow ? 1.5 : 1.0) * ((double)rand() / RAND_MAX);
			struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};

			nanosleep(&ts, NULL);
		}
		kill(kid, SIGKILL);
		waitpid(kid, &status, 0);
		emu_clear_faults(w.emu);

		/* 1. Every record parses (and nothing but records is left). */
		if (gotrue_store_list_ids(w.st, &ids, &n) == 0) {
			for (k = 0; k < n; k++) {
				if (gotrue_store_read(w.st, ids[k], &rec) != 0)
					parse_bad++;
				gotrue_store_record_clear(&rec);
			}
			free(ids);
		}
		/* 2. The active record: newest token, or marked. */
		free(act_tok);
		act_tok = NULL;
		if (gotrue_store_read(w.st, act, &rec) == 0) {
			marked = rec.refreshing;
			act_tok = rec.access_token ? strdup(rec.access_token) : NULL;
			if (marked)
				n_marked++;
			else if (act_rt && rec.refresh_token &&
				 strcmp(act_rt, rec.refresh_token) != 0)
				n_rotated++;
			else
				n_untouched++;
		} else {
			parse_bad++;
		}
		gotrue_store_record_clear(&rec);
		if (gotrue_store_read(w.st, clo, &rec) == -ENOENT)
			n_closed_by_kill++;
		gotrue_store_record_clear(&rec);

		/* 3. The next pass resolves everything, and never reuses a token. */
		if (gotrue_refresh_pass(NULL, w.cfg, &o, &s) != 0 || s.failed != 0)
			unresolved++;
		if (emu_count(w.emu, "refresh_reuse") != 0)
			stale++;
		if (gotrue_store_read(w.st, act, &rec) == 0) {
			if (marked)
				/* Resolved by revocation: kept as revoked (owner alive), and the
				 * session is over on the server. */
				unresolved += rec.state != GOTRUE_STORE_REVOKED ||
					      (act_tok && world_user_status(&w, act_tok) != 403);
			else
				unresolved += rec.state != GOTRUE_STORE_ACTIVE || rec.refreshing ||
					      world_user_status(&w, rec.access_token) != 200;
		} else {
			unresolved++;
		}
		gotrue_store_record_clear(&rec);
		/* 4. No revocation lost: the closing record is gone only with its session. */
		if (gotrue_store_read(w.st, clo, &rec) != -ENOENT ||
		    world_user_status(&w, clo_tok) != 403)
			lost++;
		gotrue_store_record_clear(&rec);
		gotrue_store_remove(w.st, act);
		gotrue_store_remove(w.st, clo);
		if (parse_bad + lost + stale + unresolved > 0 && i > 0 && (i % 50) == 0)
			diag("after %ld runs: %ld bad %ld lost %ld stale %ld unresolved", i,
			     parse_bad, lost, stale, unresolved);
	}
	diag("%ld runs: active record marked for recovery %ld, rotated %ld, untouched %ld; "
	     "closing record revoked before the kill %ld",
	     runs, n_marked, n_rotated, n_untouched, n_closed_by_kill);
	is_int(parse_bad, 0, "every record parses after every kill");
	is_int(stale, 0, "no stored refresh token was ever stale (refresh_reuse stays 0)");
	is_int(unresolved, 0, "the next pass resolves every record");
	is_int(lost, 0, "no revocation is lost");
	ok(n_marked > 0 || runs < 50, "some kills landed inside a refresh (recovery exercised)");
	ok(n_rotated > 0 || runs < 50, "some passes completed the rotation before the kill");
	free(act_tok);
	free(clo_tok);
	free(act_rt);
	world_stop(&w);
	return done_testing();
}
