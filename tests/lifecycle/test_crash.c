/* test_crash: SIGKILL the refresh pass at random instants, across its store writes and HTTP
 * calls, against a current server and against v2.69. Each run stores an
 * active session due for refresh and a closing one due for revocation (on v2.69 of two users, so
 * that the closing one's /logout, which ends every session of its user there, leaves the active
 * one alone; with old_server_logout = global, so that revocations are sent), starts a pass in a
 * child, kills it after a random delay, then checks:
 *   - every record parses;
 *   - the next pass resolves the active record. Without the `refreshing` marker it holds the
 *     newest refresh token (the server takes it without counting a reuse). With the marker:
 *     on a current server the pass sends that token once more and the session goes on with the
 *     tokens that come back (newest, again); on v2.69 it is never sent again (refresh_reuse
 *     stays 0), the session is revoked and the record kept as revoked;
 *   - no reuse ever revoked a family (refresh_reuse_revoked stays 0);
 *   - no revocation is lost: after the next pass the closing record is gone and its session is
 *     ended on the server (its refresh token refused), never gone with the session alive.
 * LIFECYCLE_KILL_RUNS sets the number of runs per server: 200 by default (about 10 s each);
 * `LIFECYCLE_KILL_RUNS=1000 make check TESTS=tests/lifecycle/test_crash` runs the 1000. */
#include <config.h>

#include "lifetest.h"
#include "tap.h"

struct tally {
	long parse_bad, lost, stale, unresolved;
	long marked, rotated, untouched, closed_by_kill, parent_resent;
};

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

/* Store the closing record @clo, of the second user on v2.69. */
static void closing_session(struct world *w, bool current, char clo[GOTRUE_STORE_ID_LEN + 1])
{
	const char *email = w->email;

	if (!current)
		w->email = "other@example.com";
	world_session(w, GOTRUE_STORE_CLOSING, getpid(), clo);
	w->email = email;
}

/* Whether GoTrue takes @rt as the live refresh token of its session: a refresh with it works and
 * is not a reuse. */
static bool takes_as_newest(struct world *w, const char *rt)
{
	long reuse = emu_count(w->emu, "refresh_reuse");

	return world_refresh_works(w, rt) && emu_count(w->emu, "refresh_reuse") == reuse;
}

/* Whether the session of @rt is over on the server: a refresh with it fails, and not as a reuse
 * (a token the server still keeps, spent, would count one). */
static bool session_over(struct world *w, const char *rt)
{
	long reuse = emu_count(w->emu, "refresh_reuse");

	return rt != NULL && !world_refresh_works(w, rt) &&
	       emu_count(w->emu, "refresh_reuse") == reuse;
}

/* Step 1 and the kill: a pass killed after up to @window s (1.5 times that on every fourth run,
 * whose /token or /logout answers are held back, so that more kills land between a request and
 * its store write). */
static void killed_pass(struct world *w, const struct gotrue_refresh_opts *o, long i, double window)
{
	bool slow = (i % 4) == 3;
	double d;
	struct timespec ts;
	pid_t kid;

	if (slow)
		emu_fault(w->emu, (i % 8) == 3
					  ? "{\"path\":\"/token\",\"kind\":\"delay\",\"ms\":15}"
					  : "{\"path\":\"/logout\",\"kind\":\"delay\",\"ms\":15}");
	kid = fork();
	if (kid == 0)
		run_pass_child(w, o);
	d = window * (slow ? 1.5 : 1.0) * ((double)rand() / RAND_MAX);
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	/* The next pass comes a timer period later, when the server has long answered what the
	 * killed pass had in flight (a held request is still processed). Were the token sent once
	 * more while the first send is still held, the test's own refresh right after could make
	 * that first send the reuse of an older token than the last, which no timer-driven pass
	 * does. */
	if (emu_wait_idle(w->emu, 10000) != 0)
		diag("the emulator did not finish the killed pass's requests within 10 s");
	emu_clear_faults(w->emu);
}

/* Every record parses (and nothing but records is left). */
static long unparsable(struct world *w)
{
	char(*ids)[GOTRUE_STORE_ID_LEN + 1];
	struct gotrue_store_record rec;
	size_t n, k;
	long bad = 0;

	if (gotrue_store_list_ids(w->st, &ids, &n) != 0)
		return 1;
	for (k = 0; k < n; k++) {
		if (gotrue_store_read(w->st, ids[k], &rec) != 0)
			bad++;
		gotrue_store_record_clear(&rec);
	}
	free(ids);
	return bad;
}

/* One run: the two records, a killed pass, the checks, the records removed. */
static void one_run(struct world *w, const struct gotrue_refresh_opts *o, bool current, long i,
		    double window, struct tally *t)
{
	struct gotrue_refresh_summary s;
	struct gotrue_store_record rec;
	char act[GOTRUE_STORE_ID_LEN + 1], clo[GOTRUE_STORE_ID_LEN + 1];
	char *act_rt, *clo_rt, *now_rt = NULL;
	bool marked = false;

	world_session(w, GOTRUE_STORE_ACTIVE, getpid(), act);
	closing_session(w, current, clo);
	act_rt = world_refresh_token(w, act);
	clo_rt = world_refresh_token(w, clo);
	emu_reset_counts(w->emu);
	killed_pass(w, o, i, window);

	t->parse_bad += unparsable(w);
	/* The active record: newest token, or marked. */
	if (gotrue_store_read(w->st, act, &rec) == 0) {
		marked = rec.refreshing;
		now_rt = rec.refresh_token ? strdup(rec.refresh_token) : NULL;
		if (marked)
			t->marked++;
		else if (act_rt && now_rt && strcmp(act_rt, now_rt) != 0)
			t->rotated++;
		else
			t->untouched++;
	} else {
		t->parse_bad++;
	}
	gotrue_store_record_clear(&rec);
	if (gotrue_store_read(w->st, clo, &rec) == -ENOENT)
		t->closed_by_kill++;
	gotrue_store_record_clear(&rec);

	/* The next pass resolves everything; no reuse ever revokes a family, and v2.69 never sees
	 * one at all. */
	if (gotrue_refresh_pass(NULL, w->cfg, o, &s) != 0 || s.failed != 0) {
		diag("run %ld: the next pass failed %u (marked %d)", i, s.failed, marked);
		t->unresolved++;
	}
	if (emu_count(w->emu, "refresh_reuse_revoked") != 0 ||
	    (!current && emu_count(w->emu, "refresh_reuse") != 0))
		t->stale++;
	if (current && marked && emu_count(w->emu, "refresh_reuse") > 0)
		t->parent_resent++;
	if (gotrue_store_read(w->st, act, &rec) != 0) {
		diag("run %ld: the active record is gone", i);
		t->unresolved++;
	} else if (marked && !current) {
		/* Resolved by revocation: kept as revoked (owner alive), its session over. */
		if (rec.state != GOTRUE_STORE_REVOKED || !session_over(w, now_rt)) {
			diag("run %ld: marked, state %s", i, gotrue_store_state_name(rec.state));
			t->unresolved++;
		}
	} else if (rec.state != GOTRUE_STORE_ACTIVE || rec.refreshing || rec.resent ||
		   rec.refresh_token == NULL || !takes_as_newest(w, rec.refresh_token)) {
		/* Not going on with the newest refresh token (recovered, on a current server). */
		diag("run %ld: marked %d, state %s, refreshing %d, resent %d, reuse %ld", i, marked,
		     gotrue_store_state_name(rec.state), rec.refreshing, rec.resent,
		     emu_count(w->emu, "refresh_reuse"));
		t->unresolved++;
	}
	gotrue_store_record_clear(&rec);
	/* No revocation lost: the closing record is gone only with its session. */
	if (gotrue_store_read(w->st, clo, &rec) != -ENOENT || !session_over(w, clo_rt))
		t->lost++;
	gotrue_store_record_clear(&rec);
	gotrue_store_remove(w->st, act);
	gotrue_store_remove(w->st, clo);
	free(act_rt);
	free(clo_rt);
	free(now_rt);
}

static void crash_runs(const char *mode)
{
	const char *const args[] = {"--mode", mode, NULL};
	bool current = strcmp(mode, "current") == 0;
	struct world w;
	struct gotrue_refresh_opts o;
	struct tally t = {0};
	char act[GOTRUE_STORE_ID_LEN + 1], clo[GOTRUE_STORE_ID_LEN + 1], *other;
	long runs = env_long("LIFECYCLE_KILL_RUNS", 200), i;
	double t0, window;
	pid_t kid;

	if (world_start(&w, args, "old_server_logout = global") != 0) {
		ok(0, "%s: world starts", mode);
		world_stop(&w);
		return;
	}
	other = emu_create_user(w.emu, "other@example.com", w.password, "{}");
	gotrue_refresh_opts_init(&o);
	o.margin = 7200; /* every active session is due: each pass refreshes */

	/* How long an unkilled pass takes, from fork to exit: the kill window. */
	world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), act);
	closing_session(&w, current, clo);
	t0 = now_s();
	kid = fork();
	if (kid == 0)
		run_pass_child(&w, &o);
	waitpid(kid, NULL, 0);
	window = (now_s() - t0) * 1.3;
	diag("%s: a pass over 2 records takes %.1f ms; kill window %.1f ms", mode,
	     (now_s() - t0) * 1e3, window * 1e3);
	gotrue_store_remove(w.st, act);

	for (i = 0; i < runs && other != NULL; i++) {
		one_run(&w, &o, current, i, window, &t);
		if (t.parse_bad + t.lost + t.stale + t.unresolved > 0 && i > 0 && (i % 50) == 0)
			diag("%s: after %ld runs: %ld bad %ld lost %ld stale %ld unresolved", mode,
			     i, t.parse_bad, t.lost, t.stale, t.unresolved);
	}
	diag("%s: %ld runs: active record marked for recovery %ld (its token resent after the "
	     "server rotated it: %ld), rotated %ld, untouched %ld; closing record revoked before "
	     "the kill %ld",
	     mode, runs, t.marked, t.parent_resent, t.rotated, t.untouched, t.closed_by_kill);
	ok(other != NULL, "%s: a second user", mode);
	is_int(t.parse_bad, 0, "%s: every record parses after every kill", mode);
	is_int(t.stale, 0, "%s: %s", mode,
	       current ? "no resent refresh token revoked a family (refresh_reuse_revoked stays 0)"
		       : "no refresh token ever sent twice (refresh_reuse stays 0)");
	is_int(t.unresolved, 0, "%s: the next pass resolves every record (%s)", mode,
	       current ? "a marked one recovered, its session going on" : "a marked one revoked");
	is_int(t.lost, 0, "%s: no revocation is lost", mode);
	ok(t.marked > 0 || runs < 50, "%s: some kills landed inside a refresh (recovery exercised)",
	   mode);
	ok(t.rotated > 0 || runs < 50, "%s: some passes completed the rotation before the kill",
	   mode);
	free(other);
	world_stop(&w);
}

int main(void)
{
	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all("GOTRUE_EMULATOR not set (run under make check)");
	srand((unsigned int)getpid());
	crash_runs("current");
	crash_runs("v2.69");
	return done_testing();
}
