/* lifecycle: the refresh pass (`gotruectl refresh`, run by gotrue-refresh.timer) and the revoke
 * and gc helpers of `gotruectl sessions`. DESIGN.md "Lifetime"; GoTrue's behaviour as recorded
 * from v2.69 and v2.185 servers (tests/emulator/README.md).
 *
 * Rotation. A refresh token is spent the moment /token receives it. So before a refresh token is
 * sent, the record is written with `refreshing` set, and made durable; the rotated pair then
 * replaces it with the marker cleared (lib/store/store.h: each write goes into the record file's
 * other slot, so a crash leaves one of the two versions, never neither). A pass killed in between
 * leaves the marker on disk, and the next pass knows that the stored refresh token may be spent:
 * the server may have rotated it and the answer been lost. What a second send does depends on
 * the server:
 *   - a current server answers the reuse of the immediate parent of the active refresh token
 *     with the active session, at any time. The stored token is the active one or that parent,
 *     so the pass sends it once more (`resent`, made durable first, as the marker is) and stores
 *     what comes back: the session goes on. A server that does not say its version is not
 *     trusted with this;
 *   - v2.69 revokes the whole session family on any reuse: the token is never sent again.
 * A record that is not recovered so is resolved by revocation:
 *   - it revokes the GoTrue session with POST /logout?scope=local and the stored access token,
 *     which stays a valid JWT until its exp even after the refresh; the refresh margin keeps that
 *     exp well ahead of the pass, so the next pass normally still has it;
 *   - an active record whose owner still runs is then kept as revoked (its Linux session is NOT
 *     ended: our own crash is no reason to end it; the user signs in again for a new GoTrue
 *     session); any other record is removed.
 * If the access token has expired by then too, nothing can revoke that GoTrue session: its newest
 * refresh token existed only in the killed process's memory, so it is unusable by anyone and the
 * server ends it when its lifetime runs out (or the user's next global logout does).
 * The one case where the stored refresh token is known to be unspent is a request that never left
 * (connection refused, TLS failure) or an answer that says it was not processed (429, 500, 503):
 * then the marker is cleared and the record kept as it was.
 *
 * Refusals. Only the server's word that it no longer knows the session ends it here without a
 * /logout: session_not_found, refresh_token_not_found (also a logged-out or deleted session),
 * user_not_found (a deleted user's sessions go with the user: its refresh token then gets
 * refresh_token_not_found, on both generations). A ban ends no GoTrue session: the refresh is
 * refused while it lasts, /logout still works, and after an unban the same refresh token works
 * again. So a ban (banned_until in GET /user, or a refresh refused with user_banned) ends the
 * Linux session as revoked_session says, and the GoTrue session is revoked as close_session
 * would: with the access token while it is valid; else the record stays in the outbox (closing,
 * with its refresh token), and each pass tries again until the unban lets a refresh through, and
 * its fresh access token revokes. A refresh token refused for good while the session stays (its
 * family revoked for a reuse, or the session expired) is handled alike, without the refresh
 * token. On v2.69 with old_server_logout = forget no /logout is ever sent: there these sessions
 * are only forgotten.
 *
 * Concurrency: every record is handled under its flock(2) and re-read after the lock is won, so a
 * second pass (timer and manual run) waiting for the same record finds the rotated tokens, with an
 * expiry outside the margin, and leaves it alone. Both take the locks in one order, the sorted
 * ids.
 *
 * Speed: the pass runs on one thread. Its requests go out several at once on libcurl's multi
 * interface (lib/client/http.h), and it works in the store while they are in flight. The due
 * records go through in batches, each record through the same states as refresh_record() takes
 * it one at a time: read (then synced: the store's write rule wants a version known durable
 * before the other slot is written), marked (then synced, before its token is sent), sent, its
 * answer written (then synced, before its lock goes). One gotrue_store_sync() per round makes
 * one batch's reads, the next one's markers and a third one's answers durable at once, so a
 * crash anywhere leaves what a crash of the one-by-one form leaves.
 *
 * Server down: the pass starts with GET /health; when that fails it changes nothing. A server
 * that goes away mid-pass stops the pass at the first request that could not be sent. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/resource.h>
#include <time.h>
#include <json-c/json.h>

#include "api.h"
#include "api_multi.h"
#include "gotrue_error.h"
#include "http.h"
#include "lifecycle.h"
#include "log.h"
#include "secure.h"
#include "session.h"
#include "session_end.h"
#include "store.h"
#include "terminate.h"

#define TERMINATE_GRACE_MS 2000
#define SLOTS		   4   /* requests in flight at once, each on a connection of its own */
#define BATCH_MAX	   512 /* records refreshed with one set of syncs */
/* The batches before the server's pace is known: their reads and markers are store work that
 * no request overlaps, but every batch costs a round, and a round a disk sync. */
#define BATCH_FIRST 128
/* s: how long a batch's requests may take, as the server answered the last batch: a batch's
 * locks are held for about three rounds, and a close_session may be waiting for one. */
#define SEND_SLICE_S   0.5
#define WAIT_MS	       100 /* the longest wait for an answer before the pass looks again */
#define LOCK_POLL_MS   10  /* how often a busy record's lock is tried while requests are out */
#define GC_TEMP_AGE    60  /* s: a temp file older than this belongs to a killed writer */
#define REASON_REVOKED "your session was revoked by the identity server; logging out."

/* What revoking a session on the server came to. */
enum revoke_result {
	REVOKE_DONE,	  /* /logout accepted */
	REVOKE_GONE,	  /* the server no longer knows it */
	REVOKE_SPENT,	  /* nothing left that could revoke it: the access token is refused
			     (expired) and the refresh token unusable */
	REVOKE_DEFERRED,  /* v2.69: another local session of the user revokes later */
	REVOKE_FORGOTTEN, /* v2.69, old_server_logout = forget: no /logout sent */
	REVOKE_WAITING,	  /* the user is banned and the access token expired: kept until an
			     unban lets a refresh through */
	REVOKE_FAILED,	  /* try again next pass; the record is kept */
};

/* How revoke_on_server() goes about it. */
#define RV_POLICY  1u /* v2.69, global: the user's last local session revokes */
#define RV_REFUSED 2u /* a refresh of the record was just refused: not asked again */

/* What one refresh came to. */
enum refresh_result {
	REFRESH_OK,	 /* rotated pair stored */
	REFRESH_GONE,	 /* the server ended the session */
	REFRESH_BANNED,	 /* refused while the user is banned: the token is unspent, the
			    session stays on the server */
	REFRESH_DEAD,	 /* refused for good while the session stays (family revoked for a
			    reuse, session expired): the refresh token is dropped */
	REFRESH_RETRY,	 /* not processed by the server: the old token is still good */
	REFRESH_UNKNOWN, /* maybe processed: the marker stays, the next pass resolves it */
	REFRESH_STORE,	 /* the marker could not be written: nothing was sent */
};

/* A record the pass holds, locked and read, from handle_record() to its release. */
struct held {
	struct gotrue_store_record rec;
	int lock;
	size_t idx; /* in the pass's id list */
	/* A due record's way through its batch. */
	enum refresh_result res;
	bool want; /* to be written (then: was written) */
	bool sent; /* its refresh token went to /token */
};

/* A connection of the pass's, and the request it carries: a due record's refresh, or the check
 * of a live record (held by the slot itself). */
struct slot {
	struct gotrue_client *client;
	struct held *h; /* NULL: idle */
	bool live;
	struct held check;
};

/* A batch of due records, held from its fill to its finish (see gotrue_refresh_pass). */
struct batch {
	struct held *d;
	size_t n;
	size_t next;  /* the next to send */
	size_t nsent; /* sent, and in how long (from the round's start to the last answer) */
	double t0, send_s;
	bool synced; /* the sync after its answers succeeded */
};

struct pass {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg;
	struct gotrue_refresh_opts opts;
	struct gotrue_store *st;
	/* Every request of the pass runs on the multi: the slots' several at once, and the own
	 * client's one at a time (revocations, single refreshes), which returns when its answer
	 * is in while the slots' go on. */
	struct gotrue_http_multi *multi;
	struct gotrue_client *own;
	struct slot slots[SLOTS];
	size_t busy; /* slots with a request out */
	/* How many may be out: one until the server has answered one, then one more for each
	 * answer, and back to one after a failure, so that a server that stalls or refuses
	 * meets one request at a time (one refresh left in doubt, not one per slot). */
	size_t window;
	struct batch *sending; /* whose refreshes the idle slots take */
	bool checking;	       /* the live checks have begun: idle slots take them */
	bool gone;	       /* a request could not be sent: the server went away */
	bool backoff;	       /* the server asked for fewer requests: no more live checks */
	double health_s;       /* how long GET /health took at the start */
	struct gotrue_refresh_summary *sum;
	/* A current server: /logout?scope=local ends only one session, and the reuse of the last
	 * refresh token is answered with the live session (not v2.69). */
	bool current;
	/* Revocations leave the Linux session running (revoked_session = log, for a user a
	 * fleet bundle no longer admits); an administrator's revocation ends it. */
	bool keep_linux;
	/* Linux sessions to end once no record is locked (end_sessions): what they need of their
	 * records, copied, tokens excluded. */
	struct gotrue_store_record *ends;
	size_t nends, ends_cap;
	/* Live sessions not due for refresh, checked with the server after the refreshes
	 * (check_live_records): indices into the id list. */
	char (*ids)[GOTRUE_STORE_ID_LEN + 1];
	size_t *live;
	size_t nlive, live_cap, live_next;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gotrue_refresh_opts_init(struct gotrue_refresh_opts *opts)
{
	opts->margin = GOTRUE_REFRESH_MARGIN_DEFAULT;
	opts->stale_pending = GOTRUE_REFRESH_STALE_PENDING_DEFAULT;
	opts->lock_timeout_ms = -1;
}

static bool has_code(const struct gotrue_error *err, const char *code)
{
	return err->kind == GOTRUE_ERR_HTTP && strcmp(err->code, code) == 0;
}

/* The server will never take this refresh token again, but keeps the session: its family was
 * revoked for a reuse (current servers leave the session and its access token alive), or the
 * session outlived its configured lifetime. */
static bool refresh_token_dead(const struct gotrue_error *err)
{
	return has_code(err, "refresh_token_already_used") || has_code(err, "session_expired");
}

/* The access token was refused as a JWT (expired, or a key the server no longer has). */
static bool access_token_refused(const struct gotrue_error *err)
{
	return has_code(err, "bad_jwt");
}

/* The request never reached the server: the refresh token it carried is not spent. curl says so
 * only in its message (lib/client/http.c keeps curl_easy_strerror()'s text first). */
static bool not_sent(const struct gotrue_error *err)
{
	if (err->kind == GOTRUE_ERR_TLS || err->kind == GOTRUE_ERR_CONFIG ||
	    err->kind == GOTRUE_ERR_NOMEM)
		return true;
	return err->kind == GOTRUE_ERR_TRANSPORT &&
	       (strncmp(err->message, "Couldn't connect", 16) == 0 ||
		strncmp(err->message, "Couldn't resolve", 16) == 0);
}

/* The server answered that it did not process the request: GoTrue refreshes inside one database
 * transaction, so its own 500 rolled back; 429 and 503 refuse before. A gateway's 502/504 may
 * come after GoTrue rotated: unknown. */
static bool answered_unprocessed(const struct gotrue_error *err)
{
	return err->kind == GOTRUE_ERR_HTTP &&
	       (err->http_status == 429 || err->http_status == 500 || err->http_status == 503);
}

static int lock_timeout(const struct pass *p)
{
	return p->opts.lock_timeout_ms >= 0 ? p->opts.lock_timeout_ms : (int)p->cfg->timeout * 1000;
}

static void forget_tokens(struct gotrue_store_record *rec)
{
	gotrue_wipe_free_str(rec->access_token);
	gotrue_wipe_free_str(rec->refresh_token);
	rec->access_token = rec->refresh_token = NULL;
}

/* The server did not take the token (never sent, not processed, refused for a ban): the record
 * is as it was before the request, the doubt an interrupted refresh left included. */
static void undo_mark(struct gotrue_store_record *rec)
{
	if (rec->resent)
		rec->resent = false;
	else
		rec->refreshing = false;
}

/* Whether @rec's refresh token may be sent: always, unless an interrupted refresh may have spent
 * it; then once more on a current server, never on v2.69 (see the top of this file). */
static bool may_send(const struct pass *p, const struct gotrue_store_record *rec)
{
	return rec->refresh_token != NULL && (!rec->refreshing || (p->current && !rec->resent));
}

/* What a refused refresh says, logged; updates @rec in memory as send_refresh() says. */
static enum refresh_result refused(struct pass *p, struct gotrue_store_record *rec,
				   const struct gotrue_error *err)
{
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];

	gotrue_error_str(err, why, sizeof(why));
	if (gotrue_lifecycle_session_gone(err)) {
		gotrue_log(p->pamh, LOG_NOTICE, "GoTrue ended the session (%s); user=%s", why,
			   rec->login);
		return REFRESH_GONE;
	}
	if (gotrue_lifecycle_user_banned(err)) {
		/* Refused before the token is used: the same token works again after an unban. */
		undo_mark(rec);
		gotrue_log(p->pamh, LOG_NOTICE, "refresh refused: the user is banned (%s); user=%s",
			   why, rec->login);
		return REFRESH_BANNED;
	}
	if (refresh_token_dead(err)) {
		gotrue_log(p->pamh, LOG_NOTICE,
			   "GoTrue refuses the session's refresh token for good (%s); user=%s", why,
			   rec->login);
		gotrue_wipe_free_str(rec->refresh_token);
		rec->refresh_token = NULL;
		rec->refreshing = rec->resent = false;
		return REFRESH_DEAD;
	}
	if (not_sent(err) || answered_unprocessed(err)) {
		if (not_sent(err))
			p->gone = true;
		undo_mark(rec);
		gotrue_log(p->pamh, LOG_WARNING, "refresh failed, will retry (%s); user=%s", why,
			   rec->login);
		return REFRESH_RETRY;
	}
	/* Timeout, reset, unusable answer: the server may have rotated. */
	gotrue_log(p->pamh, LOG_ERR,
		   "refresh outcome unknown (%s); the next pass resolves it; user=%s", why,
		   rec->login);
	return REFRESH_UNKNOWN;
}

/* What the answer to a refresh of @rec (@rc, and @ns or @err, from gotrue_refresh or
 * gotrue_refresh_end) says; the caller has locked @rec and its marker is on disk. Updates @rec in
 * memory only: the rotated pair with the markers cleared (REFRESH_OK), the marker undone
 * (REFRESH_RETRY, REFRESH_BANNED), the refresh token dropped (REFRESH_DEAD), or the markers left
 * set (REFRESH_UNKNOWN, REFRESH_GONE). */
static enum refresh_result refresh_answer(struct pass *p, struct gotrue_store_record *rec, int rc,
					  struct gotrue_session *ns, const struct gotrue_error *err)
{
	enum refresh_result res = REFRESH_OK;

	if (rc != 0 || ns->access_token == NULL || ns->refresh_token == NULL) {
		res = refused(p, rec, err);
	} else {
		forget_tokens(rec);
		rec->access_token = ns->access_token;
		rec->refresh_token = ns->refresh_token;
		ns->access_token = ns->refresh_token = NULL;
		rec->expires_at = ns->expires_at;
		rec->refreshing = rec->resent = false;
	}
	return res;
}

/* POST /token?grant_type=refresh_token for @rec on the pass's own client (refresh_answer). */
static enum refresh_result send_refresh(struct pass *p, struct gotrue_store_record *rec)
{
	struct gotrue_session ns = {0};
	struct gotrue_error err = {0};
	enum refresh_result res;

	res = refresh_answer(p, rec, gotrue_refresh(p->own, rec->refresh_token, &ns, &err), &ns,
			     &err);
	gotrue_session_clear(&ns);
	gotrue_error_clear(&err);
	return res;
}

static void log_unstored(struct pass *p, const struct gotrue_store_record *rec)
{
	gotrue_log(p->pamh, LOG_CRIT,
		   "cannot store refreshed tokens; the session will be revoked by the next pass; "
		   "user=%s",
		   rec->login);
}

/* Refresh one record, which the caller has locked and whose token may_send() allows: marker,
 * request, result, each write synced. The batched form of the same steps (batch_mark(),
 * refresh_start(), refresh_answered(), batch_finish()) serves records without the marker. */
static enum refresh_result refresh_record(struct pass *p, struct gotrue_store_record *rec)
{
	enum refresh_result res;
	bool resend = rec->refreshing;

	if (rec->refresh_token == NULL)
		return REFRESH_GONE;
	if (!may_send(p, rec))
		return REFRESH_STORE; /* nothing sent; not reached, callers ask first */
	if (resend)
		gotrue_log(p->pamh, LOG_NOTICE,
			   "a refresh of this session was interrupted; sending its refresh token "
			   "once more (this server answers with the live session); user=%s",
			   rec->login);
	rec->resent = resend;
	rec->refreshing = true;
	if (gotrue_store_write(p->st, rec) != 0) {
		undo_mark(rec);
		return REFRESH_STORE;
	}
	res = send_refresh(p, rec);
	if (res == REFRESH_OK && resend)
		gotrue_log(p->pamh, LOG_NOTICE, "interrupted refresh recovered; user=%s",
			   rec->login);
	/* After REFRESH_UNKNOWN (and REFRESH_GONE) the markers stay on disk with the old pair:
	 * resolved next pass. */
	if (res != REFRESH_UNKNOWN && res != REFRESH_GONE && gotrue_store_write(p->st, rec) != 0 &&
	    res == REFRESH_OK) {
		log_unstored(p, rec);
		res = REFRESH_UNKNOWN;
	}
	return res;
}

/* An expired access token cannot call /logout: a refresh gives a fresh one, where may_send()
 * allows, and unless a refresh of @rec was just refused for a ban (RV_REFUSED in @flags). False,
 * with *@res, when the revocation ends here. */
static bool refresh_to_revoke(struct pass *p, struct gotrue_store_record *rec, unsigned int flags,
			      enum revoke_result *res)
{
	enum refresh_result r;

	if (rec->expires_at > time(NULL) + 5 || !may_send(p, rec))
		return true;
	r = (flags & RV_REFUSED) != 0 ? REFRESH_BANNED : refresh_record(p, rec);
	switch (r) {
	case REFRESH_OK:
	case REFRESH_DEAD: /* the access token is all that is left */
		return true;
	case REFRESH_GONE:
		*res = REVOKE_GONE;
		break;
	case REFRESH_BANNED:
		gotrue_log(p->pamh, LOG_INFO,
			   "the user is banned: the revocation waits until a refresh goes through "
			   "again; user=%s",
			   rec->login);
		*res = REVOKE_WAITING;
		break;
	default:
		*res = REVOKE_FAILED;
		break;
	}
	return false;
}

/* POST /logout?scope=local with @rec's access token: ends only the session named by the JWT's
 * session_id (v2.69 ignores the scope and ends every session of the user). */
static enum revoke_result send_logout(struct pass *p, struct gotrue_store_record *rec)
{
	struct gotrue_error err = {0};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum revoke_result res = REVOKE_FAILED;

	if (rec->access_token == NULL) {
		res = REVOKE_SPENT;
	} else if (gotrue_signout(p->own, rec->access_token, GOTRUE_LOGOUT_LOCAL, &err) == 0) {
		res = REVOKE_DONE;
	} else if (gotrue_lifecycle_session_gone(&err)) {
		res = REVOKE_GONE;
	} else if (access_token_refused(&err) && !may_send(p, rec)) {
		res = REVOKE_SPENT;
	} else {
		if (not_sent(&err))
			p->gone = true;
		gotrue_log(p->pamh, LOG_WARNING, "revocation failed, will retry (%s); user=%s",
			   gotrue_error_str(&err, why, sizeof(why)), rec->login);
	}
	if (res == REVOKE_SPENT)
		gotrue_log(
			p->pamh, LOG_NOTICE,
			"the session cannot be revoked: its access token is refused or gone, and "
			"its refresh token may be spent or is gone; GoTrue ends it when its "
			"lifetime runs out; user=%s",
			rec->login);
	gotrue_error_clear(&err);
	return res;
}

/* Revoke @rec's GoTrue session (locked by the caller). On an old server whose /logout ends every
 * session of the user, old_server_logout = forget sends none (the caller removes the record or
 * keeps it without tokens, as after a revocation); with global and RV_POLICY in @flags, the "last
 * local session revokes" rule applies. */
static enum revoke_result revoke_on_server(struct pass *p, struct gotrue_store_record *rec,
					   unsigned int flags)
{
	enum revoke_result res = REVOKE_FAILED;
	int ulock = -1, others;

	if (!p->current && p->cfg->old_server_logout == GOTRUE_OLD_LOGOUT_FORGET) {
		gotrue_log(p->pamh, LOG_INFO,
			   "old server: session forgotten without /logout (old_server_logout = "
			   "forget); user=%s",
			   rec->login);
		p->sum->forgotten++;
		res = REVOKE_FORGOTTEN;
		goto cleanup;
	}
	if ((flags & RV_POLICY) != 0 && !p->current) {
		others = gotrue_lifecycle_other_sessions(p->st, rec, lock_timeout(p), &ulock);
		if (others < 0)
			goto cleanup;
		if (others > 0) {
			gotrue_log(p->pamh, LOG_INFO,
				   "old server: %d other session(s) of the user remain on this "
				   "host, the last one revokes; user=%s",
				   others, rec->login);
			res = REVOKE_DEFERRED;
			goto cleanup;
		}
	}
	if (refresh_to_revoke(p, rec, flags, &res))
		res = send_logout(p, rec);
cleanup:
	gotrue_store_unlock(ulock);
	return res;
}

static void remove_record(struct pass *p, const struct gotrue_store_record *rec, const char *what)
{
	if (gotrue_store_remove(p->st, rec->id) == 0) {
		p->sum->removed++;
		gotrue_log(p->pamh, LOG_INFO, "session record removed (%s); user=%s", what,
			   rec->login);
	} else {
		gotrue_log(p->pamh, LOG_ERR, "cannot remove session record; user=%s", rec->login);
	}
}

/* Keep @rec as revoked: its Linux session still runs. Tokens are of no further use. */
static int mark_revoked(struct pass *p, struct gotrue_store_record *rec)
{
	rec->state = GOTRUE_STORE_REVOKED;
	rec->refreshing = rec->resent = false;
	forget_tokens(rec);
	return gotrue_store_write(p->st, rec);
}

/* Note @rec's Linux session to be ended by end_sessions(), once the pass holds no record lock:
 * ending it makes its leader close the PAM session, and close_session takes the record's lock.
 * A copy that cannot be made is logged; the record, revoked, is queued again next pass. */
static void queue_end(struct pass *p, const struct gotrue_store_record *rec)
{
	struct gotrue_store_record *grown, *e;
	size_t cap;

	if (p->nends == p->ends_cap) {
		cap = p->ends_cap > 0 ? p->ends_cap * 2 : 8;
		grown = realloc(p->ends, cap * sizeof(*grown));
		if (grown == NULL)
			goto fail;
		p->ends = grown;
		p->ends_cap = cap;
	}
	e = &p->ends[p->nends];
	memset(e, 0, sizeof(*e));
	memcpy(e->id, rec->id, sizeof(e->id));
	e->state = rec->state;
	e->pid = rec->pid;
	e->pid_start = rec->pid_start;
	e->audit_session = rec->audit_session;
	e->login = strdup(rec->login);
	e->user_id = strdup(rec->user_id);
	e->boot_id = rec->boot_id != NULL ? strdup(rec->boot_id) : NULL;
	e->xdg_session_id = rec->xdg_session_id != NULL ? strdup(rec->xdg_session_id) : NULL;
	if (e->login == NULL || e->user_id == NULL || (rec->boot_id != NULL && !e->boot_id) ||
	    (rec->xdg_session_id != NULL && e->xdg_session_id == NULL)) {
		gotrue_store_record_clear(e);
		goto fail;
	}
	p->nends++;
	return;
fail:
	p->sum->failed++;
	gotrue_log(p->pamh, LOG_ERR, "out of memory: the Linux session is ended next pass; user=%s",
		   rec->login);
}

/* End the Linux sessions queue_end() noted. Runs with no record locked. */
static void end_sessions(struct pass *p)
{
	size_t i;

	for (i = 0; i < p->nends; i++) {
		if (gotrue_terminate_session(p->pamh, &p->ends[i], REASON_REVOKED,
					     TERMINATE_GRACE_MS) == 0)
			p->sum->terminated++;
		gotrue_store_record_clear(&p->ends[i]);
	}
	free(p->ends);
	p->ends = NULL;
	p->nends = p->ends_cap = 0;
}

/* What revoked_session says of a Linux session whose GoTrue session the server ended. Apart
 * from what becomes of the record's tokens: a record revoked so (server_ended) whose session
 * still runs comes here again on each pass (handle_record), so a pass killed before it ended
 * the session does not lose that. */
static void end_linux_session(struct pass *p, const struct gotrue_store_record *rec)
{
	if (p->cfg->revoked_session == GOTRUE_REVOKED_TERMINATE)
		queue_end(p, rec);
}

/* @rec is done with on the server (revoked, gone, forgotten, deferred, beyond revoking): its
 * record goes, or stays as revoked, without tokens, while its Linux session runs, and a session
 * the server ended (server_ended) is ended as revoked_session says. @what: why a removal is
 * logged. 0 or -errno. */
static int settle(struct pass *p, struct gotrue_store_record *rec, const char *what)
{
	int rc = 0;

	if (!gotrue_store_owner_alive(rec))
		remove_record(p, rec, what);
	else if ((rc = mark_revoked(p, rec)) == 0 && rec->server_ended)
		end_linux_session(p, rec);
	return rc;
}

/* The server says the session is gone: log (done by the caller), mark, act on revoked_session. */
static void session_gone(struct pass *p, struct gotrue_store_record *rec)
{
	rec->server_ended = true;
	if (settle(p, rec, "ended by the server, owner gone") != 0) {
		p->sum->failed++;
		return;
	}
	p->sum->revoked++;
}

/* Keep @rec in the outbox with what it needs to revoke (its refresh token): closing, retried by
 * each pass (@r: REVOKE_WAITING, or REVOKE_FAILED). Its Linux session ends now as
 * revoked_session says, written or not (the next pass finds the record again if not), and again
 * on each pass while it runs. */
static void to_outbox(struct pass *p, struct gotrue_store_record *rec, enum revoke_result r)
{
	rec->state = GOTRUE_STORE_CLOSING;
	if (gotrue_store_write(p->st, rec) != 0)
		r = REVOKE_FAILED;
	if (gotrue_store_owner_alive(rec))
		end_linux_session(p, rec);
	if (r == REVOKE_WAITING)
		p->sum->waiting++;
	else
		p->sum->failed++;
}

/* GoTrue refuses the session but keeps it: the user is banned (RV_REFUSED in @flags when a
 * refresh was just refused for it), or the refresh token is refused for good (see the top of
 * this file). The Linux session ends as revoked_session says, and the GoTrue session is revoked
 * now or waits in the outbox. */
static void server_refused(struct pass *p, struct gotrue_store_record *rec, unsigned int flags)
{
	enum revoke_result r;

	rec->server_ended = true;
	r = revoke_on_server(p, rec, RV_POLICY | flags);
	if (r == REVOKE_WAITING || r == REVOKE_FAILED) {
		to_outbox(p, rec, r);
		return;
	}
	if (r == REVOKE_DONE)
		gotrue_log(p->pamh, LOG_NOTICE, "session revoked: GoTrue refuses it; user=%s",
			   rec->login);
	if (settle(p, rec, "refused by the server, owner gone") != 0) {
		p->sum->failed++;
		return;
	}
	p->sum->revoked++;
}

/* Act on what a refresh of active record @rec came to. */
static void refresh_done(struct pass *p, struct gotrue_store_record *rec, enum refresh_result res)
{
	switch (res) {
	case REFRESH_OK:
		p->sum->refreshed++;
		break;
	case REFRESH_GONE:
		session_gone(p, rec);
		break;
	case REFRESH_BANNED:
		server_refused(p, rec, RV_REFUSED);
		break;
	case REFRESH_DEAD:
		server_refused(p, rec, 0);
		break;
	default:
		p->sum->failed++;
		break;
	}
}

/* A record left with the marker by an interrupted refresh whose token may not be sent again
 * (see the top of this file). */
static void recover(struct pass *p, struct gotrue_store_record *rec)
{
	enum revoke_result r;

	gotrue_log(p->pamh, LOG_WARNING,
		   "a refresh of this session was interrupted; its refresh token may be spent "
		   "and is not sent again (%s); revoking the session; user=%s state=%s",
		   p->current ? "it was sent once more already"
			      : "this server revokes the session on any reuse",
		   rec->login, gotrue_store_state_name(rec->state));
	r = revoke_on_server(p, rec, RV_POLICY);
	if (r == REVOKE_FAILED) {
		p->sum->failed++;
		return;
	}
	if (rec->state == GOTRUE_STORE_ACTIVE && gotrue_store_owner_alive(rec)) {
		if (mark_revoked(p, rec) != 0) {
			p->sum->failed++;
			return;
		}
		gotrue_log(p->pamh, LOG_WARNING,
			   "session kept as revoked; the user must sign in again for GoTrue "
			   "access; user=%s",
			   rec->login);
		p->sum->revoked++;
		return;
	}
	remove_record(p, rec, "interrupted refresh resolved");
	if (rec->state == GOTRUE_STORE_CLOSING)
		p->sum->retried++;
	else
		p->sum->revoked++;
}

/* Revoke then remove (closing, orphaned, stale pending). A closing record of a session GoTrue
 * refused (server_ended) whose Linux session still runs is kept as revoked until it ends. */
static void revoke_and_remove(struct pass *p, struct gotrue_store_record *rec, const char *what,
			      unsigned int *count)
{
	enum revoke_result r = revoke_on_server(p, rec, RV_POLICY);

	switch (r) {
	case REVOKE_DONE:
	case REVOKE_WAITING:
	case REVOKE_FAILED:
		break;
	case REVOKE_GONE:
		what = "already ended on the server";
		break;
	case REVOKE_SPENT:
		what = "beyond revoking: its tokens are spent";
		break;
	case REVOKE_DEFERRED:
		what = "revocation deferred to the user's last session";
		break;
	case REVOKE_FORGOTTEN:
		what = "forgotten without /logout: old server";
		break;
	}
	if (r == REVOKE_WAITING || r == REVOKE_FAILED) {
		if (r == REVOKE_WAITING)
			p->sum->waiting++;
		else
			p->sum->failed++;
		/* Still in the outbox: a Linux session GoTrue refused ends all the same. */
		if (rec->server_ended && gotrue_store_owner_alive(rec))
			end_linux_session(p, rec);
		return;
	}
	if (!rec->server_ended)
		remove_record(p, rec, what);
	else if (settle(p, rec, what) != 0) {
		p->sum->failed++;
		return;
	}
	(*count)++;
}

/* Keep live session @idx for check_live_records(), which counts it. */
static void note_live(struct pass *p, size_t idx)
{
	if (p->nlive < p->live_cap)
		p->live[p->nlive++] = idx;
	else
		p->sum->unchanged++; /* not reached: each id is listed once */
}

/* Active record @rec, locked, of list index @idx. True when it is a plain due refresh, for the
 * batch; a live session that is not due goes to p->live; everything else is done now. */
static bool handle_active(struct pass *p, struct gotrue_store_record *rec, size_t idx)
{
	bool due = rec->expires_at - time(NULL) <= p->opts.margin;

	if (!gotrue_store_owner_alive(rec)) {
		gotrue_log(p->pamh, LOG_NOTICE, "session owner is gone, revoking; user=%s pid=%ld",
			   rec->login, (long)rec->pid);
		revoke_and_remove(p, rec, "orphan revoked", &p->sum->revoked);
	} else if (due && !rec->refreshing && rec->refresh_token != NULL) {
		return true;
	} else if (due || rec->refreshing) {
		/* With the marker: an interrupted refresh, sent once more (handle_record() let it
		 * through may_send()). Without a refresh token: gone. */
		refresh_done(p, rec, refresh_record(p, rec));
	} else {
		note_live(p, idx);
	}
	return false;
}

/* --- The requests in flight --------------------------------------------------------------- */

/* The outcome of due record @d's refresh is known (d->res, d->rec as refresh_answer() left it):
 * written, unsynced (the round's sync follows, before the lock goes), unless the markers stay
 * on disk for the next pass (REFRESH_UNKNOWN, REFRESH_GONE). */
static void refresh_written(struct pass *p, struct held *d)
{
	d->want = d->res != REFRESH_UNKNOWN && d->res != REFRESH_GONE;
	if (d->want && gotrue_store_write_unsynced(p->st, &d->rec) != 0)
		d->want = false;
}

/* Send due record @d's refresh token on slot @s: its marker is durable. */
static void refresh_start(struct pass *p, struct slot *s, struct held *d)
{
	struct gotrue_error err = {0};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];

	d->sent = true;
	if (gotrue_refresh_start(s->client, d->rec.refresh_token, &err) == 0) {
		s->h = d;
		s->live = false;
		p->busy++;
	} else {
		/* Nothing went out: the token is unspent. What failed (memory, the config) would
		 * fail the next request too. */
		undo_mark(&d->rec);
		p->gone = true;
		gotrue_log(p->pamh, LOG_WARNING, "refresh failed, will retry (%s); user=%s",
			   gotrue_error_str(&err, why, sizeof(why)), d->rec.login);
		d->res = REFRESH_RETRY;
		refresh_written(p, d);
	}
	gotrue_error_clear(&err);
}

/* True when GoTrue answered the request (pump's window). */
static bool refresh_answered(struct pass *p, struct slot *s)
{
	struct held *d = s->h;
	struct gotrue_session ns = {0};
	struct gotrue_error err = {0};

	d->res = refresh_answer(p, &d->rec, gotrue_refresh_end(s->client, &ns, &err), &ns, &err);
	refresh_written(p, d);
	gotrue_session_clear(&ns);
	gotrue_error_clear(&err);
	return d->res != REFRESH_RETRY && d->res != REFRESH_UNKNOWN;
}

/* What GET /user says of a live session. */
enum live_result {
	LIVE_OK,      /* the session and its user are still good */
	LIVE_GONE,    /* the server no longer knows the session, or the user */
	LIVE_BANNED,  /* the user is banned */
	LIVE_UNKNOWN, /* no answer to act on: asked again next pass */
	LIVE_BACKOFF, /* the server asks for fewer requests (429, 503): the rest waits a pass */
};

/* What the answer to GET /user with @rec's access token says (@rc, and @u or @err, from
 * gotrue_user_get_end, or the error of a request that could not start). Current servers refuse
 * a session they ended (403 session_not_found); v2.69 answers 200 until the token's exp, so
 * there only a deleted user (404 user_not_found, 403 on current servers) shows. A ban ends no
 * GoTrue session (the top of this file): the token still reads /user, with banned_until ahead.
 * That body is unsigned, and trusted only to end a session, never to grant anything. Any other
 * refusal (an expired JWT, a 5xx) proves nothing. */
static enum live_result live_answer(struct pass *p, const struct gotrue_store_record *rec, int rc,
				    const struct gotrue_user *u, const struct gotrue_error *err)
{
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum live_result res = LIVE_UNKNOWN;

	if (rc == 0) {
		if (u->id == NULL || strcmp(u->id, rec->user_id) != 0)
			gotrue_log(p->pamh, LOG_ERR,
				   "GET /user answered for another user, ignored; user=%s",
				   rec->login);
		else
			res = gotrue_user_is_banned(u, time(NULL)) ? LIVE_BANNED : LIVE_OK;
		goto cleanup;
	}
	gotrue_error_str(err, why, sizeof(why));
	if (gotrue_lifecycle_user_banned(err)) {
		res = LIVE_BANNED;
	} else if (gotrue_lifecycle_session_gone(err)) {
		gotrue_log(p->pamh, LOG_NOTICE, "GoTrue ended the session (%s); user=%s", why,
			   rec->login);
		res = LIVE_GONE;
	} else {
		/* No answer at all (refused, reset, timed out): asking about the next session would
		 * cost as much, so the pass stops; the checks are only checks, nothing is lost. */
		if (not_sent(err) || err->kind == GOTRUE_ERR_TRANSPORT ||
		    err->kind == GOTRUE_ERR_TIMEOUT)
			p->gone = true;
		if (err->kind == GOTRUE_ERR_HTTP &&
		    (err->http_status == 429 || err->http_status == 503))
			res = LIVE_BACKOFF;
		gotrue_log(p->pamh, LOG_WARNING,
			   "cannot check the session with the server, will retry (%s); user=%s",
			   why, rec->login);
	}
cleanup:
	if (res == LIVE_BANNED)
		gotrue_log(p->pamh, LOG_NOTICE, "the user is banned in GoTrue; user=%s",
			   rec->login);
	return res;
}

/* Act on what the check of live record @h came to, then let it go. */
static void live_done(struct pass *p, struct held *h, enum live_result res)
{
	switch (res) {
	case LIVE_OK:
		p->sum->checked++;
		break;
	case LIVE_BANNED: /* the GoTrue session outlives the ban: revoked here */
		server_refused(p, &h->rec, 0);
		break;
	case LIVE_GONE:
		session_gone(p, &h->rec);
		break;
	case LIVE_BACKOFF:
		p->backoff = true;
		p->sum->failed++;
		break;
	default:
		p->sum->failed++;
		break;
	}
	gotrue_store_record_clear(&h->rec);
	gotrue_store_unlock(h->lock);
	h->lock = -1;
}

/* True when GoTrue answered the request (pump's window). */
static bool live_answered(struct pass *p, struct slot *s)
{
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	int rc = gotrue_user_get_end(s->client, &u, &err);
	enum live_result res = live_answer(p, &s->h->rec, rc, &u, &err);

	live_done(p, s->h, res);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return res != LIVE_UNKNOWN && res != LIVE_BACKOFF;
}

/* Whether a slot's answer is in, to be taken by pump(). */
static bool any_ended(const struct pass *p)
{
	bool ended = false;
	size_t k;

	for (k = 0; k < SLOTS && !ended; k++)
		ended = p->slots[k].h != NULL && gotrue_client_ended(p->slots[k].client);
	return ended;
}

/* Take in every answer that has arrived, waiting up to @wait_ms for one when none has. No
 * request is started here (feed() does that): an answer may come in while the pass is inside
 * another record's step, and it only finishes its own record. A multi that fails ends every
 * request out, each with an error. */
static void pump(struct pass *p, int wait_ms)
{
	struct slot *s;
	bool broken = false, answered;
	size_t k;

	if (p->busy > 0 && !any_ended(p))
		broken = gotrue_http_multi_wait(p->multi, wait_ms) != 0;
	for (k = 0; k < SLOTS && p->busy > 0; k++) {
		s = &p->slots[k];
		if (s->h == NULL || (!broken && !gotrue_client_ended(s->client)))
			continue;
		p->busy--;
		answered = s->live ? live_answered(p, s) : refresh_answered(p, s);
		if (!answered)
			p->window = 1;
		else if (p->window < SLOTS)
			p->window++;
		s->h = NULL;
	}
}

/* Record @id's lock, waited for up to lock_timeout() (a close_session or another pass holds it
 * for about a request's time), while the answers to the requests out go on coming in: a
 * request waiting on the pass would run into its own timeout. */
static int lock_record(struct pass *p, const char *id)
{
	int timeout = lock_timeout(p), left = timeout, fd;
	double end = now_s() + timeout / 1e3;

	fd = gotrue_store_lock(p->st, id, p->busy > 0 ? 0 : timeout);
	while (fd == -EWOULDBLOCK && left > 0) {
		pump(p, LOCK_POLL_MS);
		left = (int)((end - now_s()) * 1e3);
		fd = gotrue_store_lock(p->st, id, p->busy > 0 || left <= 0 ? 0 : left);
	}
	return fd;
}

/* Still a live session to ask about, as it was when handle_record() noted it: what changed
 * since (closed, refreshed, due now) is the next pass's. */
static bool still_live(const struct pass *p, const struct gotrue_store_record *rec)
{
	return rec->state == GOTRUE_STORE_ACTIVE && !rec->refreshing && rec->access_token != NULL &&
	       rec->expires_at - time(NULL) > p->opts.margin && gotrue_store_owner_alive(rec);
}

/* Start the check of the next live session on idle slot @s: its lock taken, read again. */
static void live_start(struct pass *p, struct slot *s)
{
	struct held *h = &s->check;
	struct gotrue_error err = {0};
	const char *id;

	while (s->h == NULL && p->live_next < p->nlive && !p->gone && !p->backoff) {
		id = p->ids[p->live[p->live_next++]];
		memset(h, 0, sizeof(*h));
		h->lock = lock_record(p, id);
		if (h->lock < 0 || gotrue_store_read(p->st, id, &h->rec) != 0 ||
		    !still_live(p, &h->rec)) {
			p->sum->unchanged++;
			gotrue_store_record_clear(&h->rec);
			gotrue_store_unlock(h->lock);
		} else if (gotrue_user_get_start(s->client, h->rec.access_token, &err) == 0) {
			s->h = h;
			s->live = true;
			p->busy++;
		} else {
			live_done(p, h, live_answer(p, &h->rec, -1, NULL, &err));
			gotrue_error_clear(&err);
		}
	}
}

/* The next due record of the sending batch whose refresh may go out now. One the pass no longer
 * sends (the server went away) gets its marker cleared, written with the others. */
static struct held *next_due(struct pass *p)
{
	struct batch *b = p->sending;
	struct held *d, *found = NULL;

	while (found == NULL && b != NULL && b->next < b->n) {
		d = &b->d[b->next++];
		if (!d->want)
			continue; /* its marker is not durable: not sent */
		if (!p->gone) {
			found = d;
		} else {
			undo_mark(&d->rec);
			d->res = REFRESH_RETRY;
			refresh_written(p, d);
		}
	}
	return found;
}

/* Give each idle slot its next request: the sending batch's refreshes, then the live checks. */
static void feed(struct pass *p)
{
	struct slot *s;
	struct held *d;
	size_t k;

	for (k = 0; k < SLOTS && p->busy < p->window; k++) {
		s = &p->slots[k];
		if (s->h != NULL)
			continue;
		d = next_due(p);
		if (d != NULL)
			refresh_start(p, s, d);
		else if (p->checking)
			live_start(p, s);
	}
}

/* Handle record @idx under its lock. A plain due refresh is not done here but handed to the
 * batch in @due (lock and record moved there, true returned), and a live session that is not due
 * goes to p->live; everything else is done now. */
static bool handle_record(struct pass *p, const char *id, size_t idx, struct held *due)
{
	struct gotrue_store_record rec = {0};
	bool batched = false;
	time_t now;
	int lock, rc;

	lock = lock_record(p, id);
	if (lock < 0) {
		/* Held by a close_session or another pass for longer than a request takes. */
		if (lock == -EWOULDBLOCK)
			p->sum->unchanged++;
		else
			p->sum->failed++;
		goto cleanup;
	}
	rc = gotrue_store_read_held(p->st, id, &rec);
	if (rc != 0) {
		if (rc == -ENOENT)
			p->sum->unchanged++; /* closed meanwhile */
		else
			p->sum->failed++;
		goto cleanup;
	}
	now = time(NULL);
	if (rec.refreshing && !may_send(p, &rec)) {
		recover(p, &rec);
		goto cleanup;
	}
	switch (rec.state) {
	case GOTRUE_STORE_CLOSING:
		revoke_and_remove(p, &rec, "revoked on retry", &p->sum->retried);
		break;
	case GOTRUE_STORE_PENDING:
		if (now - rec.created >= p->opts.stale_pending)
			revoke_and_remove(p, &rec, "stale pending login revoked", &p->sum->revoked);
		else
			p->sum->unchanged++;
		break;
	case GOTRUE_STORE_REVOKED:
		if (!gotrue_store_owner_alive(&rec))
			remove_record(p, &rec, "revoked, owner gone");
		else if (rec.server_ended)
			end_linux_session(p, &rec);
		p->sum->unchanged++;
		break;
	case GOTRUE_STORE_ACTIVE:
		if (handle_active(p, &rec, idx)) {
			due->rec = rec;
			due->lock = lock;
			memset(&rec, 0, sizeof(rec));
			lock = -1;
			batched = true;
		}
		break;
	}
cleanup:
	gotrue_store_record_clear(&rec);
	if (lock >= 0)
		gotrue_store_release(p->st, id); /* before its lock goes */
	gotrue_store_unlock(lock);
	return batched;
}

/* --- The batches ---------------------------------------------------------------------------- */

/* The pass's walk over the sorted ids. */
struct cursor {
	char (*ids)[GOTRUE_STORE_ID_LEN + 1];
	size_t n, next;
	double req_s;	 /* how long a request took in the last batch sent, 0: not known yet */
	double health_s; /* how long GET /health took: the pace until req_s is known */
	size_t bmax;	 /* the largest batch the descriptor limit allows */
	size_t size;	 /* the size of the batch being filled */
};

/* The next batch's size: BATCH_FIRST until the server's pace is known (the batch being filled is
 * two rounds ahead of the one being sent), then twice the last, so that a pass over many records
 * pays few rounds; and no more than the server answers within SEND_SLICE_S (one request after
 * the other at /health's pace, until a batch has been timed), so that a slow or distant server
 * does not hold the locks for long. */
static size_t batch_size(const struct cursor *c)
{
	double pace = c->req_s > 0 ? c->req_s : c->health_s;
	size_t size = c->req_s > 0 && c->size > 0 ? 2 * c->size : BATCH_FIRST, fit;

	if (pace > 0) {
		fit = (size_t)(SEND_SLICE_S / pace);
		if (size > fit)
			size = fit > 0 ? fit : 1;
	}
	return size < c->bmax ? size : c->bmax;
}

/* Take due records into @b, by handle_record (which does everything that is not a plain due
 * refresh on the spot), until it holds the next batch size or the ids run out; the answers
 * that come in meanwhile are taken in, and the idle slots fed. */
static void batch_fill(struct pass *p, struct cursor *c, struct batch *b)
{
	size_t idx;

	memset(b->d, 0, b->n * sizeof(*b->d));
	b->n = b->next = b->nsent = 0;
	c->size = batch_size(c);
	while (b->n < c->size && c->next < c->n && !p->gone) {
		idx = c->next++;
		b->d[b->n].lock = -1;
		if (handle_record(p, c->ids[idx], idx, &b->d[b->n])) {
			b->d[b->n].idx = idx;
			b->n++;
		}
		pump(p, 0);
		feed(p);
	}
}

/* Step 1 of a refresh: every marker of @b written, unsynced (the round's sync follows); not
 * once the server has gone away. */
static void batch_mark(struct pass *p, struct batch *b)
{
	struct held *d;
	size_t i;

	for (i = 0; i < b->n; i++) {
		d = &b->d[i];
		d->res = p->gone ? REFRESH_RETRY : REFRESH_STORE;
		if (p->gone)
			continue;
		d->rec.refreshing = true;
		d->want = gotrue_store_write_unsynced(p->st, &d->rec) == 0;
		if (!d->want)
			d->rec.refreshing = false; /* nothing sent: failed, still safe */
		pump(p, 0);
		feed(p);
	}
}

/* After the round's sync (@synced): a record whose marker is not known durable is not sent.
 * When the sync failed, the markers may be visible without being durable: the records are put
 * back as they were, one by one (a failure here leaves the marker: safe). */
static void batch_marked(struct pass *p, struct batch *b, bool synced)
{
	size_t i;

	for (i = 0; i < b->n && !synced; i++) {
		if (b->d[i].want) {
			b->d[i].rec.refreshing = false;
			gotrue_store_write(p->st, &b->d[i].rec);
			b->d[i].want = false;
		}
	}
}

/* Step 2: the requests of @b, which feed() has begun to send, until every answer is in. */
static void batch_wait(struct pass *p, struct batch *b)
{
	size_t i;

	while (b->next < b->n || p->busy > 0) {
		feed(p);
		pump(p, WAIT_MS);
	}
	for (i = 0; i < b->n; i++)
		b->nsent += b->d[i].sent;
	b->send_s = now_s() - b->t0;
}

/* Step 3, after the round's sync made its answers durable (b->synced): the counts, and the
 * locks released. A failed sync leaves each record's marked version intact in its other slot:
 * the worst case is a recovery. */
static void batch_finish(struct pass *p, struct batch *b)
{
	struct held *d;
	size_t i;

	if (!b->synced && b->n > 0)
		gotrue_log(p->pamh, LOG_ERR, "refreshed tokens may not be durable");
	for (i = 0; i < b->n; i++) {
		d = &b->d[i];
		if (d->res == REFRESH_OK && !d->want) {
			log_unstored(p, &d->rec);
			d->res = REFRESH_UNKNOWN;
		}
		if (!d->sent && d->res == REFRESH_RETRY)
			p->sum->unchanged++; /* the server went away before its turn */
		else
			refresh_done(p, &d->rec, d->res);
	}
	for (i = 0; i < b->n; i++) {
		d = &b->d[i];
		gotrue_store_release(p->st, d->rec.id);
		gotrue_store_record_clear(&d->rec);
		gotrue_store_unlock(d->lock);
	}
	memset(b->d, 0, b->n * sizeof(*b->d));
	b->n = 0;
}

enum stage { FILL, MARK, SEND, DONE, STAGES };

/* One round (see gotrue_refresh_pass). False when the pass is over. */
static bool refresh_round(struct pass *p, struct cursor *c, struct batch *b[STAGES])
{
	struct batch *t;
	bool synced = true, more;

	p->sending = b[SEND];
	b[SEND]->t0 = now_s();
	feed(p);
	batch_finish(p, b[DONE]);
	batch_fill(p, c, b[FILL]);
	batch_mark(p, b[MARK]);
	batch_wait(p, b[SEND]);
	/* Reads to cover, or writes to make durable. */
	if (b[FILL]->n > 0 || b[MARK]->n > 0 || b[SEND]->n > 0)
		synced = gotrue_store_sync(p->st) == 0;
	batch_marked(p, b[MARK], synced);
	b[SEND]->synced = synced;
	if (b[SEND]->nsent > 0)
		c->req_s = b[SEND]->send_s / (double)b[SEND]->nsent;
	more = b[FILL]->n > 0 || b[MARK]->n > 0 || b[SEND]->n > 0 || (c->next < c->n && !p->gone);
	t = b[DONE];
	b[DONE] = b[SEND];
	b[SEND] = b[MARK];
	b[MARK] = b[FILL];
	b[FILL] = t;
	return more;
}

/* After the refreshes: every live session that was not due is checked with the server, several
 * at once, so that a ban or a revocation on the server ends it within one timer period rather
 * than at its next refresh (up to an hour later). */
static void check_live_records(struct pass *p)
{
	p->sending = NULL;
	p->checking = true;
	feed(p);
	while (p->busy > 0) {
		pump(p, WAIT_MS);
		feed(p);
	}
	/* Left for the next pass: the server went away or asked for fewer requests. */
	p->sum->unchanged += (unsigned int)(p->nlive - p->live_next);
}

/* How many records a batch holds locked. Four batches are held at once (see
 * gotrue_refresh_pass), two descriptors per record (the lock, the record held open by
 * gotrue_store_read_held), besides the connections: well inside RLIMIT_NOFILE. */
static size_t batch_max(void)
{
	struct rlimit rl;
	size_t max = BATCH_MAX, spare = 64 + SLOTS + 1;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rl.rlim_cur - spare) / (2 * STAGES) < max)
		max = rl.rlim_cur > spare + 2 * STAGES
			      ? (size_t)(rl.rlim_cur - spare) / (2 * STAGES)
			      : 1;
	return max;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* --- The pass ------------------------------------------------------------------------------ */

/* A new client whose requests run on the pass's multi. */
static struct gotrue_client *pass_client(struct pass *p)
{
	struct gotrue_client *c = gotrue_client_new(p->pamh, p->cfg);

	if (c != NULL)
		gotrue_client_attach(c, p->multi);
	return c;
}

/* Open the store, the multi and the clients, and ask /health whether the server is there and
 * which generation it is. -EHOSTUNREACH when it is not there. */
static int pass_begin(struct pass *p, pam_handle_t *pamh, const struct gotrue_config *cfg,
		      struct gotrue_refresh_summary *sum)
{
	struct gotrue_error err = {0};
	json_object *health = NULL;
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	size_t k;
	int rc = -ENOMEM;

	memset(sum, 0, sizeof(*sum));
	p->pamh = pamh;
	p->cfg = cfg;
	p->sum = sum;
	p->st = gotrue_store_open(pamh, cfg->state_dir);
	if (p->st == NULL) {
		rc = -EACCES;
		goto cleanup;
	}
	p->window = 1;
	p->multi = gotrue_http_multi_new();
	p->own = p->multi != NULL ? pass_client(p) : NULL;
	for (k = 0; k < SLOTS && p->own != NULL; k++) {
		p->slots[k].client = pass_client(p);
		if (p->slots[k].client == NULL)
			goto cleanup;
	}
	if (p->own == NULL)
		goto cleanup;
	p->health_s = now_s();
	if (gotrue_health(p->own, &health, &err) != 0) {
		gotrue_log(pamh, LOG_WARNING, "server unreachable, nothing changed (%s)",
			   gotrue_error_str(&err, why, sizeof(why)));
		sum->server_down = true;
		rc = -EHOSTUNREACH;
		goto cleanup;
	}
	p->health_s = now_s() - p->health_s;
	if (cfg->server == GOTRUE_SERVER_AUTO)
		/* A server that does not say its version is treated as old: the cautious choice. */
		p->current = gotrue_health_honours_logout_scope(health);
	else
		p->current = cfg->server == GOTRUE_SERVER_CURRENT;
	rc = 0;
cleanup:
	json_object_put(health);
	gotrue_error_clear(&err);
	return rc;
}

/* Ends the Linux sessions the pass revoked, now that it holds no record lock, and frees it. */
static void pass_end(struct pass *p)
{
	size_t k;

	end_sessions(p);
	free(p->live);
	p->live = NULL;
	/* The clients first: a multi is freed with nothing attached. */
	for (k = 0; k < SLOTS; k++) {
		gotrue_client_free(p->slots[k].client);
		p->slots[k].client = NULL;
	}
	gotrue_client_free(p->own);
	gotrue_http_multi_free(p->multi);
	gotrue_store_close(p->st);
	p->own = NULL;
	p->multi = NULL;
	p->st = NULL;
}

/* The batches of due records, and the memory the pass needs for @c's ids. 0 or -ENOMEM. */
static int pass_alloc(struct pass *p, struct cursor *c, struct batch bufs[STAGES])
{
	size_t k;
	int rc = 0;

	c->bmax = batch_max();
	p->live = calloc(c->n + 1, sizeof(*p->live));
	p->live_cap = p->live != NULL ? c->n : 0;
	for (k = 0; k < STAGES; k++) {
		bufs[k].d = calloc(c->bmax, sizeof(*bufs[k].d));
		if (bufs[k].d == NULL)
			rc = -ENOMEM;
	}
	return p->live == NULL ? -ENOMEM : rc;
}

/* The due records go through the pass in batches, one stage a round: a batch is filled (locked
 * and read: batch_fill), marked in the next round (batch_mark), sent in the one after (its
 * requests several at once: feed, batch_wait) and finished in the last (the records released:
 * batch_finish). Each round ends with one sync, which makes durable what the stages before it
 * need (store.h, the write rule): the reads of the batch being filled, before its markers; the
 * markers, before their tokens go out; the answers, before the locks go. While a batch's
 * requests are out, this thread works on the other batches, and an answer is written as soon as
 * it comes in. Locks are held from the fill to the finish, so no other pass sees a marker that
 * is still being acted on. */
int gotrue_refresh_pass(pam_handle_t *pamh, const struct gotrue_config *cfg,
			const struct gotrue_refresh_opts *opts, struct gotrue_refresh_summary *sum)
{
	struct pass p = {0};
	struct cursor c = {0};
	struct batch bufs[STAGES] = {{0}}, *b[STAGES];
	size_t k;
	int rc;

	if (opts != NULL)
		p.opts = *opts;
	else
		gotrue_refresh_opts_init(&p.opts);
	rc = pass_begin(&p, pamh, cfg, sum);
	if (rc != 0)
		goto cleanup;
	rc = gotrue_store_list_ids(p.st, &c.ids, &c.n);
	if (rc != 0)
		goto cleanup;
	/* One order for every pass: two passes lock a batch each without waiting on each other
	 * in a cycle. */
	if (c.n > 0) /* qsort's array may not be NULL, even for no elements (UBSan) */
		qsort(c.ids, c.n, sizeof(*c.ids), cmp_id);
	p.ids = c.ids;
	c.health_s = p.health_s;
	rc = pass_alloc(&p, &c, bufs);
	if (rc != 0)
		goto cleanup;
	for (k = 0; k < STAGES; k++)
		b[k] = &bufs[k];
	while (refresh_round(&p, &c, b))
		;
	check_live_records(&p);
	if (p.gone) {
		sum->unchanged += (unsigned int)(c.n - c.next);
		gotrue_log(pamh, LOG_WARNING,
			   "server became unreachable during the pass; the rest is left for the "
			   "next pass");
		sum->server_down = true;
		rc = -EHOSTUNREACH;
	}
cleanup:
	for (k = 0; k < STAGES; k++)
		free(bufs[k].d);
	free(c.ids);
	pass_end(&p);
	return rc;
}

/* --- gotruectl sessions revoke | gc ------------------------------------------------------- */

static void revoke_one(struct pass *p, struct gotrue_store_record *rec)
{
	enum revoke_result r = REVOKE_GONE;
	bool live;

	if (rec->state != GOTRUE_STORE_REVOKED) {
		if (!p->current && p->cfg->old_server_logout == GOTRUE_OLD_LOGOUT_GLOBAL)
			gotrue_log(p->pamh, LOG_NOTICE,
				   "old server: this revocation ends every session of the user; "
				   "user=%s",
				   rec->login);
		/* A record that may hold a spent refresh token is refreshed first only where
		 * may_send() allows. */
		r = revoke_on_server(p, rec, 0);
		if (r == REVOKE_FAILED) {
			p->sum->failed++;
			return;
		}
	}
	/* An administrator's revocation ends the Linux session whatever revoked_session says
	 * (after the loop, with no record locked: end_sessions); a fleet bundle's follows it. */
	live = !p->keep_linux &&
	       (rec->state == GOTRUE_STORE_ACTIVE || rec->state == GOTRUE_STORE_REVOKED);
	if (r == REVOKE_WAITING) {
		/* Banned, the access token expired: the revocation waits in the outbox for the
		 * unban, not done (failed); the Linux session ends now all the same. */
		rec->server_ended = true;
		rec->state = GOTRUE_STORE_CLOSING;
		p->sum->failed++;
		if (gotrue_store_write(p->st, rec) == 0 && live && gotrue_store_owner_alive(rec))
			queue_end(p, rec);
		return;
	}
	if (gotrue_store_owner_alive(rec)) {
		rec->server_ended = true;
		if (mark_revoked(p, rec) != 0) {
			p->sum->failed++;
			return;
		}
		if (live)
			queue_end(p, rec);
	} else {
		remove_record(p, rec, "revoked by the administrator");
	}
	p->sum->revoked++;
}

static int revoke_sessions(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *id,
			   const char *login, bool keep_linux, struct gotrue_refresh_summary *sum)
{
	struct pass p = {.keep_linux = keep_linux};
	struct gotrue_store_record rec = {0};
	char(*ids)[GOTRUE_STORE_ID_LEN + 1] = NULL;
	size_t n = 0, i;
	unsigned int matched = 0;
	int rc, lock;

	gotrue_refresh_opts_init(&p.opts);
	if ((id == NULL) == (login == NULL) || (id != NULL && !gotrue_store_id_valid(id))) {
		memset(sum, 0, sizeof(*sum));
		rc = -EINVAL;
		goto cleanup;
	}
	rc = pass_begin(&p, pamh, cfg, sum);
	if (rc != 0)
		goto cleanup;
	rc = gotrue_store_list_ids(p.st, &ids, &n);
	if (rc != 0)
		goto cleanup;
	for (i = 0; i < n && !p.gone; i++) {
		if (id != NULL && strcmp(ids[i], id) != 0)
			continue;
		lock = gotrue_store_lock(p.st, ids[i], lock_timeout(&p));
		if (lock < 0) {
			sum->failed++;
			continue;
		}
		if (gotrue_store_read(p.st, ids[i], &rec) == 0 &&
		    (login == NULL || strcmp(rec.login, login) == 0)) {
			matched++;
			revoke_one(&p, &rec);
		}
		gotrue_store_record_clear(&rec);
		gotrue_store_unlock(lock);
	}
	if (p.gone) {
		sum->server_down = true;
		rc = -EHOSTUNREACH;
	} else if (matched == 0) {
		rc = -ENOENT;
	}
cleanup:
	free(ids);
	pass_end(&p);
	return rc;
}

int gotrue_sessions_revoke(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *id,
			   const char *login, struct gotrue_refresh_summary *sum)
{
	return revoke_sessions(pamh, cfg, id, login, false, sum);
}

int gotrue_sessions_revoke_as_configured(pam_handle_t *pamh, const struct gotrue_config *cfg,
					 const char *login, struct gotrue_refresh_summary *sum)
{
	return revoke_sessions(pamh, cfg, NULL, login,
			       cfg->revoked_session != GOTRUE_REVOKED_TERMINATE, sum);
}

int gotrue_sessions_gc(pam_handle_t *pamh, const struct gotrue_config *cfg, unsigned int *removed)
{
	struct gotrue_store *st = NULL;
	struct gotrue_store_record rec = {0};
	char(*ids)[GOTRUE_STORE_ID_LEN + 1] = NULL;
	size_t n = 0, i;
	unsigned int temps = 0;
	int rc = -EACCES, lock;

	*removed = 0;
	st = gotrue_store_open(pamh, cfg->state_dir);
	if (st == NULL)
		goto cleanup;
	rc = gotrue_store_list_ids(st, &ids, &n);
	if (rc != 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		lock = gotrue_store_lock(st, ids[i], 0);
		if (lock < 0)
			continue; /* busy: not revoked for long, or being handled */
		if (gotrue_store_read(st, ids[i], &rec) == 0 && rec.state == GOTRUE_STORE_REVOKED &&
		    gotrue_store_remove(st, ids[i]) == 0)
			(*removed)++;
		gotrue_store_record_clear(&rec);
		gotrue_store_unlock(lock);
	}
	/* Temp files of writers killed before their rename (they hold tokens); a live writer
	 * renames its own within a request's time, so a minute is ample. */
	if (gotrue_store_remove_stale_temp(st, GC_TEMP_AGE, &temps) == 0 && temps > 0) {
		gotrue_log(pamh, LOG_INFO, "removed %u stale temp file(s) of killed writers",
			   temps);
		*removed += temps;
	}
cleanup:
	free(ids);
	gotrue_store_close(st);
	return rc;
}
