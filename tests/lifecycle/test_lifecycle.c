/* test_lifecycle: the refresh pass against the emulator: 5-second tokens kept alive by
 * repeated passes with rotation and no reuse; the outbox (a closing record survives a down server
 * and is revoked exactly once when it returns); what counts as a session gone; a ban: the Linux
 * session ended as revoked_session says and the GoTrue session revoked, at once or, with an
 * expired access token, from the outbox after the unban; a refresh whose answer was lost (sent
 * once more on a current server, never on v2.69);
 * orphaned and stale pending records; on v2.69, old_server_logout (forget: no /logout, global:
 * the last local session revokes), for the pass and for `sessions revoke`; two
 * concurrent passes over 200 sessions; `sessions gc` removing revoked records and the stale temp
 * files of killed writers. LIFECYCLE_ROTATE_SECONDS (default 24) sets how long the
 * rotation part runs; the 60 s: LIFECYCLE_ROTATE_SECONDS=60. */
#include <config.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "lifetest.h"
#include "tap.h"

#define NSESS 3

static struct gotrue_refresh_summary pass(struct world *w, int *rc)
{
	struct gotrue_refresh_summary sum;

	*rc = gotrue_refresh_pass(NULL, w->cfg, NULL, &sum);
	return sum;
}

static int state_of(struct world *w, const char *id)
{
	struct gotrue_store_record rec;
	int rc = gotrue_store_read(w->st, id, &rec);

	if (rc == 0)
		rc = (int)rec.state;
	gotrue_store_record_clear(&rec);
	return rc; /* -ENOENT when removed */
}

static void test_rotation(void)
{
	static const char *const args[] = {"--mode", "current", "--jwt-exp", "5", NULL};
	struct world w;
	struct gotrue_refresh_summary s;
	char ids[NSESS][GOTRUE_STORE_ID_LEN + 1];
	long seconds = env_long("LIFECYCLE_ROTATE_SECONDS", 24), passes = 0, valid = 0, rotated = 0;
	double end;
	int i, rc, all_ok = 1;

	if (world_start(&w, args, NULL) != 0) {
		ok(0, "rotation: world starts");
		return;
	}
	for (i = 0; i < NSESS; i++)
		world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), ids[i]);
	emu_reset_counts(w.emu);
	end = (double)time(NULL) + (double)seconds;
	while ((double)time(NULL) < end) {
		/* Every stored access token is still good before each pass... */
		for (i = 0; i < NSESS; i++) {
			char *tok = world_access_token(&w, ids[i]);

			if (tok != NULL && world_user_status(&w, tok) == 200)
				valid++;
			else
				all_ok = 0;
			free(tok);
		}
		s = pass(&w, &rc);
		passes++;
		rotated += s.refreshed;
		if (rc != 0 || s.failed != 0 || s.refreshed != NSESS)
			all_ok = 0;
		sleep_ms(2000);
	}
	diag("%ld passes over %ld s with 5 s tokens", passes, seconds);
	ok(all_ok, "rotation: every pass refreshed every session and every token stayed valid");
	is_int(valid, passes * NSESS, "rotation: access tokens valid before each pass");
	is_int(emu_count(w.emu, "POST /token?grant_type=refresh_token"), rotated,
	       "rotation: one refresh call per rotation");
	is_int(emu_count(w.emu, "refresh_reuse"), 0, "rotation: the emulator saw no reuse");
	ok(seconds < 30 || passes >= seconds / 3, "rotation: passes ran throughout");
	world_stop(&w);
}

static void test_outbox(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct world w;
	struct gotrue_refresh_summary s;
	char ids[NSESS][GOTRUE_STORE_ID_LEN + 1], *tok[NSESS];
	int i, rc, all_closing = 1, all_gone = 1;

	if (world_start(&w, args, NULL) != 0) {
		ok(0, "outbox: world starts");
		return;
	}
	for (i = 0; i < NSESS; i++) {
		/* close_session could not reach the server: keep_closing() left the record. */
		world_session(&w, GOTRUE_STORE_CLOSING, getpid(), ids[i]);
		tok[i] = world_access_token(&w, ids[i]);
	}
	emu_reset_counts(w.emu);
	emu_fault(w.emu, "{\"path\":\"*\",\"kind\":\"drop\",\"count\":-1}");
	s = pass(&w, &rc);
	is_int(rc, -EHOSTUNREACH, "outbox: server down, the pass says so");
	ok(s.server_down && s.retried == 0 && s.failed == 0, "outbox: server down changes nothing");
	for (i = 0; i < NSESS; i++)
		all_closing &= state_of(&w, ids[i]) == GOTRUE_STORE_CLOSING;
	ok(all_closing, "outbox: records still closing");
	is_int(emu_count(w.emu, "POST /logout"), 0, "outbox: no logout reached the server");
	emu_clear_faults(w.emu);
	s = pass(&w, &rc);
	is_int(rc, 0, "outbox: server back, the pass runs");
	is_int(s.retried, NSESS, "outbox: every closing record retried");
	is_int(emu_count(w.emu, "POST /logout"), NSESS, "outbox: exactly one logout per session");
	for (i = 0; i < NSESS; i++) {
		all_gone &= state_of(&w, ids[i]) == -ENOENT;
		all_gone &= world_user_status(&w, tok[i]) == 403;
		free(tok[i]);
	}
	ok(all_gone, "outbox: records removed and sessions ended on the server (403)");
	s = pass(&w, &rc);
	is_int(emu_count(w.emu, "POST /logout"), NSESS, "outbox: no second logout");
	world_stop(&w);
}

/* Only the server's own word that it no longer knows the session counts as the session gone: a
 * ban, an expired JWT, a reused refresh token or any other refusal leave it on the server, where
 * it is still to be revoked. */
static void test_gone_codes(void)
{
	static const struct {
		long status;
		const char *code;
		bool gone;
	} cases[] = {
		{403, "session_not_found", true},
		{400, "refresh_token_not_found", true},
		{403, "user_not_found", true},
		{404, "user_not_found", true}, /* v2.69 */
		{400, "user_banned", false},
		{403, "bad_jwt", false},
		{401, "bad_jwt", false}, /* v2.69 */
		{400, "refresh_token_already_used", false},
		{400, "session_expired", false},
		{404, "", false},
		{403, "not_admin", false},
		{422, "validation_failed", false},
	};
	struct gotrue_error err;
	size_t i;
	int wrong = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		err.kind = GOTRUE_ERR_HTTP;
		err.http_status = cases[i].status;
		snprintf(err.code, sizeof(err.code), "%s", cases[i].code);
		if (gotrue_lifecycle_session_gone(&err) != cases[i].gone) {
			diag("%ld %s: gone is %d", cases[i].status, cases[i].code, !cases[i].gone);
			wrong++;
		}
		if (gotrue_lifecycle_user_banned(&err) !=
		    (strcmp(cases[i].code, "user_banned") == 0))
			wrong++;
	}
	is_int(wrong, 0,
	       "gone: only session_not_found, refresh_token_not_found and user_not_found");
}

/* A ban ends the Linux session as revoked_session says; since it ends no GoTrue session, the pass
 * revokes that too, with the still valid access token (a live session, not due for refresh: the
 * pass's GET /user sees the ban). After an unban the session's refresh token is refused. On
 * v2.69 with old_server_logout = forget nothing is sent: the session is only forgotten here, and
 * after an unban its refresh token works again. */
static void test_ban(const char *mode, const char *policy, const char *action)
{
	const char *const args[] = {"--mode", mode, NULL};
	struct world w;
	struct gotrue_refresh_summary s;
	struct gotrue_store_record rec;
	char id[GOTRUE_STORE_ID_LEN + 1], extra[128], what[96], *rt = NULL;
	bool terminate = strcmp(action, "terminate") == 0;
	bool forget = strcmp(mode, "v2.69") == 0 && strcmp(policy, "forget") == 0;
	pid_t leader;
	int rc, status = 0;

	snprintf(what, sizeof(what), "ban (%s, %s, %s)", mode, policy, action);
	snprintf(extra, sizeof(extra), "revoked_session = %s\nold_server_logout = %s", action,
		 policy);
	if (world_start(&w, args, extra) != 0) {
		ok(0, "%s: world starts", what);
		return;
	}
	leader = spawn_leader();
	world_session(&w, GOTRUE_STORE_ACTIVE, leader, id);
	rt = world_refresh_token(&w, id);
	ok(world_ban(&w, "24h") == 0, "%s: admin bans the user", what);
	emu_reset_counts(w.emu);
	s = pass(&w, &rc);
	ok(rc == 0 && s.revoked == 1 && s.failed == 0 && s.waiting == 0,
	   "%s: the pass revokes the session (revoked %u, failed %u, waiting %u)", what, s.revoked,
	   s.failed, s.waiting);
	is_int(emu_count(w.emu, "POST /logout"), forget ? 0 : 1, "%s: %s", what,
	       forget ? "no /logout: only forgotten" : "one /logout, with the access token");
	is_int(s.forgotten, forget ? 1 : 0, "%s: %s", what,
	       forget ? "counted as only forgotten" : "not counted as forgotten");
	rc = gotrue_store_read(w.st, id, &rec);
	ok(rc == 0 && rec.state == GOTRUE_STORE_REVOKED && rec.access_token == NULL &&
		   rec.refresh_token == NULL,
	   "%s: record kept as revoked, without tokens, while its session runs", what);
	gotrue_store_record_clear(&rec);
	if (terminate)
		rc = wait_exit(leader, &status);
	else {
		sleep_ms(100);
		rc = waitpid(leader, &status, WNOHANG);
	}
	if (terminate) {
		ok(rc == leader && WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP,
		   "%s: the session leader got SIGHUP", what);
		is_int(s.terminated, 1, "%s: counted", what);
	} else {
		ok(rc == 0, "%s: the session leader still runs", what);
		is_int(s.terminated, 0, "%s: nothing terminated", what);
	}
	s = pass(&w, &rc);
	if (terminate)
		is_int(state_of(&w, id), -ENOENT, "%s: next pass removes it", what);
	else
		ok(s.revoked == 0 && s.unchanged == 1 && state_of(&w, id) == GOTRUE_STORE_REVOKED,
		   "%s: next pass leaves the revoked record alone (logged once)", what);
	ok(world_ban(&w, "none") == 0, "%s: admin lifts the ban", what);
	is_int(world_refresh_works(&w, rt), forget, "%s: after the unban its refresh token is %s",
	       what, forget ? "taken again (the session lives on the server)" : "refused");
	if (!terminate) {
		kill(leader, SIGKILL);
		waitpid(leader, &status, 0);
	}
	free(rt);
	world_stop(&w);
}

/* A ban seen once the access token has expired: until the ban ends, nothing can revoke the
 * session (the refresh is refused, /logout needs a valid JWT). The Linux session ends at once;
 * the record waits in the outbox, closing, with its refresh token, counted as waiting (not
 * failed), and each pass tries again; the pass after the unban refreshes and revokes. */
static void test_ban_expired(const char *mode)
{
	const char *const args[] = {"--mode", mode, "--jwt-exp", "2", NULL};
	struct world w;
	struct gotrue_refresh_summary s;
	struct gotrue_store_record rec;
	char id[GOTRUE_STORE_ID_LEN + 1], what[64], *rt = NULL;
	pid_t leader;
	int rc, i, status = 0;

	snprintf(what, sizeof(what), "ban, token expired (%s)", mode);
	if (world_start(&w, args, "revoked_session = terminate\nold_server_logout = global") != 0) {
		ok(0, "%s: world starts", what);
		return;
	}
	leader = spawn_leader();
	world_session(&w, GOTRUE_STORE_ACTIVE, leader, id);
	rt = world_refresh_token(&w, id);
	sleep_ms(3000); /* the access token expires, on the server too */
	ok(world_ban(&w, "24h") == 0, "%s: admin bans the user", what);
	emu_reset_counts(w.emu);
	for (i = 1; i <= 2; i++) {
		s = pass(&w, &rc);
		ok(rc == 0 && s.waiting == 1 && s.failed == 0 && s.revoked == 0 && s.retried == 0,
		   "%s: pass %d: the revocation waits (waiting %u, failed %u)", what, i, s.waiting,
		   s.failed);
		ok(emu_count(w.emu, "POST /token?grant_type=refresh_token") == i &&
			   emu_count(w.emu, "POST /logout") == 0,
		   "%s: pass %d: one refresh tried, refused; no /logout", what, i);
		rc = gotrue_store_read(w.st, id, &rec);
		ok(rc == 0 && rec.state == GOTRUE_STORE_CLOSING && !rec.refreshing && rt != NULL &&
			   rec.refresh_token != NULL && strcmp(rec.refresh_token, rt) == 0,
		   "%s: pass %d: kept closing, with its refresh token", what, i);
		gotrue_store_record_clear(&rec);
		if (i == 1)
			ok(s.terminated == 1 && waitpid(leader, &status, 0) == leader &&
				   WIFSIGNALED(status),
			   "%s: the Linux session ended at once", what);
	}
	ok(world_ban(&w, "none") == 0, "%s: admin lifts the ban", what);
	s = pass(&w, &rc);
	ok(rc == 0 && s.retried == 1 && s.waiting == 0 && s.failed == 0,
	   "%s: the pass after the unban revokes it (retried %u)", what, s.retried);
	is_int(emu_count(w.emu, "POST /logout"), 1, "%s: with a fresh access token", what);
	is_int(state_of(&w, id), -ENOENT, "%s: and removes the record", what);
	ok(!world_refresh_works(&w, rt), "%s: the session is over on the server", what);
	is_int(emu_count(w.emu, "refresh_reuse"), 0, "%s: no refresh token reused", what);
	free(rt);
	world_stop(&w);
}

/* The answer to a refresh is lost after the server rotated (the emulator's truncate fault: the
 * handler runs, the answer is cut), so the record keeps the `refreshing` marker and a spent
 * token. On a current server the next pass sends it once more: the server answers the reuse of
 * the last token with the live session, and the session goes on with the newest tokens; no
 * family is revoked. Should that answer be lost too, the token is not sent a third time: the
 * session is revoked with its access token. On v2.69 the token is never sent again: the session
 * is revoked (old_server_logout = global here, so that a /logout is sent). */
static void test_lost_answer(const char *mode, int lost)
{
	const char *const args[] = {"--mode", mode, NULL};
	bool current = strcmp(mode, "current") == 0;
	bool recovers = current && lost == 1;
	struct world w;
	struct gotrue_refresh_summary s;
	struct gotrue_store_record rec;
	char id[GOTRUE_STORE_ID_LEN + 1], what[64], fault[128];
	int rc, i;

	snprintf(what, sizeof(what), "lost answer (%s, %d lost)", mode, lost);
	if (world_start(&w, args, "old_server_logout = global") != 0) {
		ok(0, "%s: world starts", what);
		return;
	}
	world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), id);
	world_patch(&w, id, time(NULL) + 5, 0); /* due for refresh */
	snprintf(fault, sizeof(fault), "{\"path\":\"/token\",\"kind\":\"truncate\",\"count\":%d}",
		 lost);
	emu_reset_counts(w.emu); /* before the fault: a reset clears faults too */
	emu_fault(w.emu, fault);
	for (i = 0; i < lost; i++) {
		s = pass(&w, &rc);
		if (gotrue_store_read(w.st, id, &rec) != 0)
			rc = -1;
		ok(rc == 0 && s.failed == 1 && rec.refreshing && rec.resent == (i == 1),
		   "%s: pass %d: outcome unknown, the record marked%s (failed %u)", what, i + 1,
		   i == 1 ? " as sent once more" : "", s.failed);
		gotrue_store_record_clear(&rec);
	}
	s = pass(&w, &rc);
	if (recovers)
		ok(rc == 0 && s.refreshed == 1 && s.revoked == 0 && s.failed == 0,
		   "%s: the next pass recovers the session", what);
	else
		ok(rc == 0 && s.revoked == 1 && s.refreshed == 0 && s.failed == 0,
		   "%s: the next pass revokes the session", what);
	is_int(emu_count(w.emu, "POST /token?grant_type=refresh_token"), lost + (recovers ? 1 : 0),
	       "%s: %s", what,
	       current ? "the token sent once more, never twice" : "the token never sent again");
	is_int(emu_count(w.emu, "refresh_reuse"), current ? 1 : 0, "%s: %s", what,
	       current ? "one reuse, of the last token" : "no reuse");
	is_int(emu_count(w.emu, "refresh_reuse_revoked"), 0, "%s: no family revoked", what);
	rc = gotrue_store_read(w.st, id, &rec);
	if (recovers)
		ok(rc == 0 && rec.state == GOTRUE_STORE_ACTIVE && !rec.refreshing && !rec.resent &&
			   world_user_status(&w, rec.access_token) == 200 &&
			   world_refresh_works(&w, rec.refresh_token) &&
			   emu_count(w.emu, "refresh_reuse") == 1,
		   "%s: active, its tokens the newest (a refresh with them is no reuse)", what);
	else
		ok(rc == 0 && rec.state == GOTRUE_STORE_REVOKED && rec.refresh_token == NULL &&
			   emu_count(w.emu, "POST /logout") == 1,
		   "%s: revoked with one /logout, kept as revoked (owner alive)", what);
	gotrue_store_record_clear(&rec);
	world_stop(&w);
}

/* @policy: old_server_logout, which matters on v2.69 only. */
static void test_orphans(const char *mode, const char *policy)
{
	const char *const args[] = {"--mode", mode, NULL};
	struct world w;
	struct gotrue_refresh_summary s;
	char dead_id[GOTRUE_STORE_ID_LEN + 1], recycled_id[GOTRUE_STORE_ID_LEN + 1];
	char stale_id[GOTRUE_STORE_ID_LEN + 1], fresh_id[GOTRUE_STORE_ID_LEN + 1];
	char live_id[GOTRUE_STORE_ID_LEN + 1], extra[64];
	struct gotrue_store_record rec;
	pid_t dead;
	int rc, status;
	bool current = strcmp(mode, "current") == 0;
	bool forget = !current && strcmp(policy, "forget") == 0;

	snprintf(extra, sizeof(extra), "old_server_logout = %s", policy);
	if (world_start(&w, args, extra) != 0) {
		ok(0, "orphans: world starts");
		return;
	}
	dead = spawn_leader();
	world_session(&w, GOTRUE_STORE_ACTIVE, dead, dead_id);
	kill(dead, SIGKILL);
	waitpid(dead, &status, 0);
	/* A live pid whose start time is not the recorded one: recycled. */
	world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), recycled_id);
	gotrue_store_read(w.st, recycled_id, &rec);
	rec.pid_start += 1;
	gotrue_store_write(w.st, &rec);
	gotrue_store_record_clear(&rec);
	world_session(&w, GOTRUE_STORE_PENDING, 0, stale_id);
	world_patch(&w, stale_id, 0, time(NULL) - 3600);
	world_session(&w, GOTRUE_STORE_PENDING, 0, fresh_id);
	if (!current)
		/* v2.69, global: a live session of the same user defers every revocation to
		 * itself. forget: no revocation sends a /logout anyway. */
		world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), live_id);
	emu_reset_counts(w.emu);
	s = pass(&w, &rc);
	is_int(rc, 0, "orphans (%s, %s): pass runs", mode, policy);
	is_int(s.revoked, 3, "orphans (%s, %s): dead owner, recycled pid and stale pending revoked",
	       mode, policy);
	ok(state_of(&w, dead_id) == -ENOENT && state_of(&w, recycled_id) == -ENOENT &&
		   state_of(&w, stale_id) == -ENOENT,
	   "orphans (%s, %s): their records removed", mode, policy);
	is_int(state_of(&w, fresh_id), GOTRUE_STORE_PENDING,
	       "orphans (%s, %s): a fresh pending record is kept", mode, policy);
	if (current)
		is_int(emu_count(w.emu, "POST /logout"), 3,
		       "orphans (current): one logout per revoked session");
	else if (forget)
		is_int(emu_count(w.emu, "POST /logout"), 0,
		       "orphans (v2.69, forget): no logout, the sessions are forgotten");
	else
		is_int(emu_count(w.emu, "POST /logout"), 0,
		       "orphans (v2.69, global): no logout while another local session of the "
		       "user lives");
	is_int(s.forgotten, forget ? 3 : 0, "orphans (%s, %s): %s", mode, policy,
	       forget ? "all three counted as forgotten" : "none only forgotten");
	world_stop(&w);
}

/* gotruectl sessions revoke: the administrator revokes a session whose Linux session runs. On a
 * current server and on v2.69 with old_server_logout = global it is revoked with a /logout (on
 * v2.69 that ends every session of the user); on v2.69 with forget, none is sent and it is only
 * forgotten here. Either way the Linux session is ended and the tokens are gone. */
static void test_revoke(const char *mode, const char *policy)
{
	const char *const args[] = {"--mode", mode, NULL};
	struct world w;
	struct gotrue_refresh_summary s;
	struct gotrue_store_record rec;
	char id[GOTRUE_STORE_ID_LEN + 1], other[GOTRUE_STORE_ID_LEN + 1], extra[64];
	bool forget = strcmp(mode, "v2.69") == 0 && strcmp(policy, "forget") == 0;
	bool ends_all = strcmp(mode, "v2.69") == 0 && !forget;
	struct gotrue_refresh_opts o;
	pid_t leader;
	int rc, status = 0;

	snprintf(extra, sizeof(extra), "old_server_logout = %s", policy);
	if (world_start(&w, args, extra) != 0) {
		ok(0, "revoke: world starts");
		return;
	}
	leader = spawn_leader();
	world_session(&w, GOTRUE_STORE_ACTIVE, leader, id);
	world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), other);
	emu_reset_counts(w.emu);
	rc = gotrue_sessions_revoke(NULL, w.cfg, id, NULL, &s);
	is_int(rc, 0, "revoke (%s, %s): done", mode, policy);
	ok(s.revoked == 1 && s.forgotten == (forget ? 1u : 0u), "revoke (%s, %s): %s", mode, policy,
	   forget ? "revoked, counted as only forgotten" : "revoked");
	is_int(emu_count(w.emu, "POST /logout"), forget ? 0 : 1, "revoke (%s, %s): %s", mode,
	       policy, forget ? "no logout" : "one logout");
	ok(waitpid(leader, &status, 0) == leader && WIFSIGNALED(status),
	   "revoke (%s, %s): the Linux session was ended", mode, policy);
	rc = gotrue_store_read(w.st, id, &rec);
	ok(rc == -ENOENT || (rc == 0 && rec.access_token == NULL && rec.refresh_token == NULL),
	   "revoke (%s, %s): no token of it is left", mode, policy);
	gotrue_store_record_clear(&rec);
	/* A pass that refreshes every session tells whether the server still knows the other. */
	gotrue_refresh_opts_init(&o);
	o.margin = 100000000;
	rc = gotrue_refresh_pass(NULL, w.cfg, &o, &s);
	ok(rc == 0 && (ends_all ? s.revoked == 1 && s.refreshed == 0
				: s.refreshed == 1 && s.revoked == 0),
	   "revoke (%s, %s): the user's other session %s", mode, policy,
	   ends_all ? "was ended with it" : "lives on");
	world_stop(&w);
}

/* A user a fleet bundle no longer admits, under revoked_session = log: each session is revoked
 * in GoTrue and kept as a revoked record, and the Linux session runs on. */
static void test_revoke_as_configured(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct world w;
	struct gotrue_refresh_summary s;
	char id[GOTRUE_STORE_ID_LEN + 1];
	pid_t leader;
	int rc, status = 0;

	if (world_start(&w, args, "revoked_session = log") != 0) {
		ok(0, "revoke as configured: world starts");
		return;
	}
	leader = spawn_leader();
	world_session(&w, GOTRUE_STORE_ACTIVE, leader, id);
	emu_reset_counts(w.emu);
	rc = gotrue_sessions_revoke_as_configured(NULL, w.cfg, "life", &s);
	ok(rc == 0 && s.revoked == 1 && s.terminated == 0,
	   "revoke as configured (log): revoked, nothing ended (rc %d, revoked %u, ended %u)", rc,
	   s.revoked, s.terminated);
	is_int(emu_count(w.emu, "POST /logout"), 1, "revoke as configured (log): one logout");
	is_int(state_of(&w, id), GOTRUE_STORE_REVOKED,
	       "revoke as configured (log): the record is kept as revoked");
	sleep_ms(100);
	ok(waitpid(leader, &status, WNOHANG) == 0,
	   "revoke as configured (log): the Linux session runs on");
	kill(leader, SIGKILL);
	waitpid(leader, &status, 0);
	world_stop(&w);
}

/* Two passes at once over 200 due sessions: each refreshed exactly once. */
static void test_concurrent(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct world w;
	char id[GOTRUE_STORE_ID_LEN + 1];
	pid_t kids[2];
	int i, n = 200, made = 0, status, clean = 1;

	if (world_start(&w, args, NULL) != 0) {
		ok(0, "concurrent: world starts");
		return;
	}
	for (i = 0; i < n; i++) {
		if (world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), id) == 0 &&
		    world_patch(&w, id, time(NULL) + 5, 0) == 0)
			made++;
	}
	is_int(made, n, "concurrent: %d sessions stored", n);
	emu_reset_counts(w.emu);
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct gotrue_refresh_summary s;
			int rc = gotrue_refresh_pass(NULL, w.cfg, NULL, &s);

			_exit(rc == 0 && s.failed == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 2; i++) {
		waitpid(kids[i], &status, 0);
		clean &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	ok(clean, "concurrent: both passes succeeded");
	is_int(emu_count(w.emu, "POST /token?grant_type=refresh_token"), n,
	       "concurrent: exactly one refresh per session");
	is_int(emu_count(w.emu, "refresh_reuse"), 0, "concurrent: no reuse");
	world_stop(&w);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How many threads process @pid has now (its /proc status), 0 when it cannot be read. */
static int threads_of(pid_t pid)
{
	char path[64], line[128];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return n;
}

/* The most threads @pid had, sampled every 2 ms for @ms ms or until it exits (then *@status). */
static int threads_max(pid_t pid, long ms, int *status, bool *exited)
{
	double end = mono_s() + (double)ms / 1e3;
	int most = 0, n;

	while (!*exited && mono_s() < end) {
		n = threads_of(pid);
		if (n > most)
			most = n;
		*exited = waitpid(pid, status, WNOHANG) == pid;
		sleep_ms(2);
	}
	return most;
}

/* A slow server (every refresh takes 300 ms): the pass's requests go out several at once on its
 * one thread, so a close_session waiting for one of its records (here: the last in the pass's
 * order, which is sent last) gets it well before the batch's requests one after the other would
 * end, each record is refreshed exactly once, and the pass takes little more than its requests. */
static void test_slow_server(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct world w;
	char ids[12][GOTRUE_STORE_ID_LEN + 1];
	double t0, took, waited = -1;
	bool exited = false;
	pid_t kid;
	int i, n = 12, made = 0, status = 0, lock, threads;

	if (world_start(&w, args, NULL) != 0) {
		ok(0, "slow server: world starts");
		return;
	}
	for (i = 0; i < n; i++) {
		if (world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), ids[i]) == 0 &&
		    world_patch(&w, ids[i], time(NULL) + 5, 0) == 0)
			made++;
	}
	is_int(made, n, "slow server: %d sessions stored", n);
	qsort(ids, (size_t)n, sizeof(ids[0]), cmp_id);
	emu_reset_counts(w.emu);
	emu_fault(w.emu, "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"delay\","
			 "\"ms\":300,\"count\":-1}");
	t0 = mono_s();
	kid = fork();
	if (kid == 0) {
		struct gotrue_refresh_summary s;
		int rc = gotrue_refresh_pass(NULL, w.cfg, NULL, &s);

		_exit(rc == 0 && s.refreshed == (unsigned int)n && s.failed == 0 ? 0 : 1);
	}
	/* Meanwhile: the pass holds every record after 200 ms, and has requests out. */
	threads = threads_max(kid, 200, &status, &exited);
	lock = gotrue_store_lock(w.st, ids[n - 1], 10000);
	if (lock >= 0)
		waited = mono_s() - t0;
	gotrue_store_unlock(lock);
	i = threads_max(kid, 60000, &status, &exited);
	if (i > threads)
		threads = i;
	if (!exited)
		waitpid(kid, &status, 0);
	took = mono_s() - t0;
	/* Its concurrency is libcurl's multi interface, not threads of its own. */
	is_int(threads, 1, "slow server: the pass runs on one thread");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "slow server: the pass refreshed all %d",
	   n);
	/* Batches cost rounds of the pipeline, not requests: the pass stays close to the time its
	 * requests take. */
	ok(took < n * 0.3 + 2.0, "slow server: the pass took %.2f s for %.1f s of requests", took,
	   n * 0.3);
	ok(waited >= 0 && waited < 2.6,
	   "slow server: the last record's lock came free after %.2f s (batch: %.1f s)", waited,
	   n * 0.3);
	is_int(emu_count(w.emu, "POST /token?grant_type=refresh_token"), n,
	       "slow server: exactly one refresh per session");
	is_int(emu_count(w.emu, "refresh_reuse"), 0, "slow server: no reuse");
	world_stop(&w);
}

/* gotruectl sessions gc: a revoked record and an hour-old temp file of a killed writer go; an
 * active record and a fresh temp file (a writer at work) stay. */
static void test_gc(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct world w;
	struct gotrue_store_record rec;
	char act[GOTRUE_STORE_ID_LEN + 1], rev[GOTRUE_STORE_ID_LEN + 1], old_tmp[256], new_tmp[256];
	struct timespec old[2] = {{0, 0}, {0, 0}};
	unsigned int removed = 0;
	FILE *f;

	if (world_start(&w, args, NULL) != 0 ||
	    world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), act) != 0 ||
	    world_session(&w, GOTRUE_STORE_ACTIVE, getpid(), rev) != 0) {
		ok(0, "gc: setup");
		world_stop(&w);
		return;
	}
	if (gotrue_store_read(w.st, rev, &rec) == 0) {
		rec.state = GOTRUE_STORE_REVOKED;
		gotrue_store_write(w.st, &rec);
	}
	gotrue_store_record_clear(&rec);
	snprintf(old_tmp, sizeof(old_tmp), "%s/sessions/.%s.k1LLed", w.state_dir, act);
	snprintf(new_tmp, sizeof(new_tmp), "%s/sessions/.%s.w0rk1n", w.state_dir, act);
	f = fopen(old_tmp, "w");
	if (f != NULL)
		fclose(f);
	f = fopen(new_tmp, "w");
	if (f != NULL)
		fclose(f);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 3600;
	utimensat(AT_FDCWD, old_tmp, old, 0);
	is_int(gotrue_sessions_gc(NULL, w.cfg, &removed), 0, "gc: ran");
	is_int((int)removed, 2, "gc: the revoked record and the stale temp file removed");
	ok(access(old_tmp, F_OK) != 0 && access(new_tmp, F_OK) == 0,
	   "gc: the stale temp file is gone, the fresh one kept");
	is_int(gotrue_store_read(w.st, rev, &rec), -ENOENT, "gc: revoked record gone");
	gotrue_store_record_clear(&rec);
	is_int(gotrue_store_read(w.st, act, &rec), 0, "gc: active record kept");
	gotrue_store_record_clear(&rec);
	unlink(new_tmp);
	world_stop(&w);
}

int main(void)
{
	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all("GOTRUE_EMULATOR not set (run under make check)");
	test_gc();
	test_outbox();
	test_gone_codes();
	test_ban("current", "forget", "terminate");
	test_ban("current", "forget", "log");
	test_ban("v2.69", "global", "terminate");
	test_ban("v2.69", "forget", "log");
	test_ban_expired("current");
	test_ban_expired("v2.69");
	test_lost_answer("current", 1);
	test_lost_answer("current", 2);
	test_lost_answer("v2.69", 1);
	test_orphans("current", "forget");
	test_orphans("v2.69", "forget");
	test_orphans("v2.69", "global");
	test_revoke("current", "forget");
	test_revoke("v2.69", "forget");
	test_revoke("v2.69", "global");
	test_revoke_as_configured();
	test_concurrent();
	test_slow_server();
	test_rotation();
	return done_testing();
}
