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
 * expiry outside the margin, and leaves it alone.
 *
 * Server down: the pass starts with GET /health; when that fails it changes nothing. A server
 * that goes away mid-pass stops the pass at the first request that could not be sent. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/resource.h>
#include <time.h>
#include <json-c/json.h>

#include "api.h"
#include "gotrue_error.h"
#include "lifecycle.h"
#include "log.h"
#include "secure.h"
#include "session.h"
#include "session_end.h"
#include "store.h"
#include "terminate.h"
#include "thread.h"

#define TERMINATE_GRACE_MS 2000
#define BATCH_MAX	   512 /* records refreshed with one set of syncs */
#define BATCH_MIN	   16  /* the first batch, and the smallest */
/* s: how long a batch keeps sending. A batch is held for four rounds (filled, resting, marked,
 * sent), each about as long as the send in it: up to about four times this. */
#define SEND_SLICE_S 0.5
/* s: how long records handed back by a batch stay unlocked before the pass takes them again, so
 * that a close_session waiting for one (gotrue_flock_wait polls every 10 ms) gets its turn. */
#define HANDBACK_GAP_S 0.05
#define GC_TEMP_AGE    60 /* s: a temp file older than this belongs to a killed writer */
#define SENDERS	       2  /* threads sending a batch's requests, each on its own connection */
#define REASON_REVOKED "your session was revoked by the identity server; logging out."

/* A connection to GoTrue. A libcurl handle belongs to one thread at a time, so the pass has one
 * of its own (revocations and single refreshes, on the caller's thread) and one per sender (the
 * batches' refreshes, on the sender threads; see gotrue_refresh_pass). */
struct conn {
	struct gotrue_client *client;
	bool gone; /* a request could not be sent: the server went away */
};

struct pass {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg;
	struct gotrue_refresh_opts opts;
	struct gotrue_store *st;
	struct conn own;
	/* Only sender k touches bulk[k] while a batch is being sent. Two requests in flight: with
	 * one, the client waited on the server and the server on the client, and a quarter of two
	 * cores stayed idle through a 10k pass (perf -a, bench-refresh; 18% with two). It shortens
	 * the pass's start and end most, where no store work overlaps the requests (1k pass vs bare
	 * 1.58 and 1.44 with one sender, 1.43 and 1.37 with two, alternating builds). GoTrue serves
	 * each connection on a goroutine of its own. */
	struct conn bulk[SENDERS];
	struct gotrue_refresh_summary *sum;
	/* A current server: /logout?scope=local ends only one session, and the reuse of the last
	 * refresh token is answered with the live session (not v2.69). */
	bool current;
	bool stop; /* a bulk[k].gone, as the caller's thread last saw it */
	/* Linux sessions to end once no record is locked (end_sessions): what they need of their
	 * records, copied, tokens excluded. */
	struct gotrue_store_record *ends;
	size_t nends, ends_cap;
	/* Live sessions not due for refresh, checked with the server after the refreshes
	 * (check_live_records): indices into the pass's id list. */
	size_t *live;
	size_t nlive, live_cap;
};

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

/* A record due for refresh, held (locked, read) by the current batch. */
struct due {
	struct gotrue_store_record rec;
	int lock;
	size_t idx;    /* in the pass's id list */
	bool want;     /* to be written (then: was written) */
	bool sent;     /* its refresh token went to /token */
	bool handback; /* not sent for lack of time in its batch: the pass takes it again */
	enum refresh_result res;
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
static enum refresh_result refused(struct pass *p, struct conn *c, struct gotrue_store_record *rec,
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
			c->gone = true;
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

/* POST /token?grant_type=refresh_token for @rec, which the caller has locked and whose marker is
 * on disk. Updates @rec in memory only: the rotated pair with the markers cleared (REFRESH_OK),
 * the marker undone (REFRESH_RETRY, REFRESH_BANNED), the refresh token dropped (REFRESH_DEAD), or
 * the markers left set (REFRESH_UNKNOWN, REFRESH_GONE). */
static enum refresh_result send_refresh(struct pass *p, struct conn *c,
					struct gotrue_store_record *rec)
{
	struct gotrue_session ns = {0};
	struct gotrue_error err = {0};
	enum refresh_result res;

	if (gotrue_refresh(c->client, rec->refresh_token, &ns, &err) == 0 &&
	    ns.access_token != NULL && ns.refresh_token != NULL) {
		forget_tokens(rec);
		rec->access_token = ns.access_token;
		rec->refresh_token = ns.refresh_token;
		ns.access_token = ns.refresh_token = NULL;
		rec->expires_at = ns.expires_at;
		rec->refreshing = rec->resent = false;
		res = REFRESH_OK;
	} else {
		res = refused(p, c, rec, &err);
	}
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
 * request, result, each write synced. The batched form of the same steps is batch_mark(),
 * batch_send() and batch_finish(), for records without the marker. */
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
	res = send_refresh(p, &p->own, rec);
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
	} else if (gotrue_signout(p->own.client, rec->access_token, GOTRUE_LOGOUT_LOCAL, &err) ==
		   0) {
		res = REVOKE_DONE;
	} else if (gotrue_lifecycle_session_gone(&err)) {
		res = REVOKE_GONE;
	} else if (access_token_refused(&err) && !may_send(p, rec)) {
		res = REVOKE_SPENT;
	} else {
		if (not_sent(&err))
			p->own.gone = true;
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

/* Handle record @idx under its lock. A plain due refresh is not done here but handed to the
 * batch in @due (lock and record moved there, true returned), and a live session that is not due
 * goes to p->live; everything else is done now. */
static bool handle_record(struct pass *p, const char *id, size_t idx, struct due *due)
{
	struct gotrue_store_record rec = {0};
	bool batched = false;
	time_t now;
	int lock, rc;

	lock = gotrue_store_lock(p->st, id, lock_timeout(p));
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

/* A batch of due records, held (locked, read) from its fill to its finish. */
struct batch {
	struct due *d;
	size_t n;
	size_t nsent; /* requests sent, and how long they took (batch_send, all senders) */
	double send_s;
	bool stop; /* the server was already gone when the batch's turn came */
};

/* The pass's walk over the sorted ids, and the ids a batch handed back unsent. */
struct cursor {
	char (*ids)[GOTRUE_STORE_ID_LEN + 1];
	size_t n, next;
	size_t *redo; /* handled before next: they were due but out of time in their batch */
	size_t nredo, redo_next, redo_cap;
	double redo_at; /* when the last were handed back */
	double req_s;	/* how long a request took in the last batch sent, 0: not known yet */
	size_t bmax;	/* the largest batch the descriptor limit allows */
	size_t size;	/* the size of the batch being filled */
};

/* Write, in place and unsynced, every entry of @b with @want set (the pass then makes them
 * durable with one sync: store.h, before the locks go and before any request relies on a
 * marker). Clears @want where the record could not be written. Returns how many were written. */
static size_t write_unsynced(struct pass *p, struct batch *b)
{
	size_t i, written = 0;

	for (i = 0; i < b->n; i++) {
		if (b->d[i].want && gotrue_store_write_unsynced(p->st, &b->d[i].rec) != 0)
			b->d[i].want = false;
		written += b->d[i].want;
	}
	return written;
}

/* Whether the caller's thread knows the server to be gone. */
static bool halted(const struct pass *p)
{
	return p->stop || p->own.gone;
}

/* The next batch's size: growing from BATCH_MIN by a quarter each round, and at most half of
 * what is left, so that the batches are small at both ends of the pass (the first batches'
 * marking and the last one's finishing are the only store work that no request overlaps); and no
 * more than the server answers within SEND_SLICE_S, so that a slow or distant server does not
 * make batches hand most of their records back. Slow growth, because the batch being filled is
 * three rounds ahead of the one being sent: doubling made it eight times larger, and the rounds
 * of the ramp waited on the store instead of the server. */
static size_t batch_size(const struct cursor *c)
{
	size_t left = c->n - c->next + c->nredo - c->redo_next, fit;
	size_t size = c->size > 0 ? c->size + c->size / 4 + 1 : BATCH_MIN;

	if (size > left / 2)
		size = left / 2;
	if (size < BATCH_MIN)
		size = BATCH_MIN;
	if (c->req_s > 0) {
		fit = (size_t)(SEND_SLICE_S / c->req_s);
		if (size > fit)
			size = fit > 0 ? fit : 1;
	}
	return size < c->bmax ? size : c->bmax;
}

/* Take due records into @b, by handle_record (which does everything that is not a plain due
 * refresh on the spot), until it holds the next batch size or the ids run out. */
static void batch_fill(struct pass *p, struct cursor *c, struct batch *b)
{
	double gap;
	size_t idx;

	b->n = 0;
	b->nsent = 0;
	b->send_s = 0;
	c->size = batch_size(c);
	while (b->n < c->size && !halted(p)) {
		gap = c->redo_at + HANDBACK_GAP_S - now_s();
		if (c->redo_next < c->nredo && gap <= 0) {
			idx = c->redo[c->redo_next++];
		} else if (c->next < c->n) {
			idx = c->next++;
		} else if (c->redo_next < c->nredo) {
			nanosleep(&(struct timespec){0, (long)(gap * 1e9)}, NULL);
			continue;
		} else {
			break;
		}
		b->d[b->n].lock = -1;
		if (handle_record(p, c->ids[idx], idx, &b->d[b->n])) {
			b->d[b->n].idx = idx;
			b->n++;
		}
	}
}

/* Step 1 of a refresh: every marker of @b written (unsynced: the pass's sync follows). */
static size_t batch_mark(struct pass *p, struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		b->d[i].rec.refreshing = true;
		b->d[i].want = true;
		b->d[i].res = REFRESH_STORE;
	}
	return write_unsynced(p, b);
}

/* After the sync of step 1: a record whose marker is not known durable is not sent. When the
 * sync failed, the markers may be visible without being durable: the records are put back as
 * they were, one by one (a failure here leaves the marker: safe). */
static void batch_marked(struct pass *p, struct batch *b, bool synced)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (!synced && b->d[i].want) {
			b->d[i].rec.refreshing = false;
			gotrue_store_write(p->st, &b->d[i].rec);
			b->d[i].want = false;
		}
		if (!b->d[i].want)
			b->d[i].rec.refreshing = false; /* nothing sent: failed, still safe */
	}
}

/* What sender @k is given: its share of batch @b (every SENDERS-th record from the @k-th), sent
 * on bulk[@k]; what it sent, and for how long, are its own until the caller joins it. */
struct send_job {
	struct pass *p;
	struct batch *b;
	size_t k;
	size_t nsent;
	double send_s;
};

/* Step 2: the requests of sender @j's share, one after the other on its connection. Touches only
 * those records (in memory) and its connection, so that it runs beside the other senders and
 * the caller's thread, which works in the store. After its first request, it stops when it has
 * sent for SEND_SLICE_S: a close_session may be waiting for one of the batch's locks. Unsent
 * records get their marker cleared and are handed back. */
static void send_share(struct send_job *j)
{
	struct batch *b = j->b;
	struct conn *c = &j->p->bulk[j->k];
	bool sent_any = false, out_of_time = false;
	double t0 = now_s();
	size_t i;

	for (i = j->k; i < b->n; i += SENDERS) {
		if (!b->d[i].want)
			continue;
		if (!b->stop && !c->gone && !out_of_time && sent_any && now_s() - t0 > SEND_SLICE_S)
			out_of_time = true;
		if (b->stop || c->gone || out_of_time) {
			b->d[i].rec.refreshing = false;
			b->d[i].res = REFRESH_RETRY;
			b->d[i].handback = out_of_time;
			continue;
		}
		b->d[i].sent = sent_any = true;
		b->d[i].res = send_refresh(j->p, c, &b->d[i].rec);
		/* Written unless the markers stay (see send_refresh()). */
		b->d[i].want = b->d[i].res != REFRESH_UNKNOWN && b->d[i].res != REFRESH_GONE;
		j->nsent++;
	}
	j->send_s = now_s() - t0;
}

static void *sender_main(void *arg)
{
	send_share(arg);
	return NULL;
}

/* Step 2 for the whole batch: SENDERS shares at once, each on a thread of its own (a share whose
 * thread cannot start, or that has nothing to send, is done on this one, after the others have
 * started). batch_sent() joins the threads. */
struct sending {
	struct send_job job[SENDERS];
	pthread_t th[SENDERS];
	bool threaded[SENDERS];
};

static void batch_send(struct pass *p, struct batch *b, struct sending *s)
{
	size_t k;

	for (k = 0; k < SENDERS; k++) {
		s->job[k] = (struct send_job){.p = p, .b = b, .k = k};
		s->threaded[k] = b->n > k && !b->stop &&
				 gotrue_thread_start(&s->th[k], sender_main, &s->job[k]) == 0;
	}
	for (k = 0; k < SENDERS; k++) {
		if (!s->threaded[k])
			send_share(&s->job[k]);
	}
}

/* Join batch_send's threads and sum up what they sent; true when a connection found the server
 * gone. */
static bool batch_sent(struct pass *p, struct batch *b, struct sending *s)
{
	bool gone = false;
	size_t k;

	for (k = 0; k < SENDERS; k++) {
		if (s->threaded[k])
			pthread_join(s->th[k], NULL);
		b->nsent += s->job[k].nsent;
		if (s->job[k].send_s > b->send_s)
			b->send_s = s->job[k].send_s;
		gone = gone || p->bulk[k].gone;
	}
	return gone;
}

static void *syncer_main(void *arg)
{
	gotrue_store_sync_run(arg);
	return NULL;
}

/* Step 3, after the results (and cleared markers) were written and the pass's sync returned
 * (@synced): the counts, and the locks released. A failed sync leaves each record's marked
 * version intact in its other slot: the worst case is a recovery. Records the batch had no time
 * to send go to @c's redo list. */
static void batch_finish(struct pass *p, struct cursor *c, struct batch *b, bool synced)
{
	bool handed_back = false;
	size_t i;

	if (!synced && b->n > 0)
		gotrue_log(p->pamh, LOG_ERR, "refreshed tokens may not be durable");
	/* Those not taken yet move to the front, the new ones go after them. */
	memmove(c->redo, c->redo + c->redo_next, (c->nredo - c->redo_next) * sizeof(*c->redo));
	c->nredo -= c->redo_next;
	c->redo_next = 0;
	for (i = 0; i < b->n; i++) {
		if (b->d[i].res == REFRESH_OK && !b->d[i].want) {
			log_unstored(p, &b->d[i].rec);
			b->d[i].res = REFRESH_UNKNOWN;
		}
		handed_back = handed_back || b->d[i].handback;
		if (b->d[i].handback && !halted(p) && c->nredo < c->redo_cap) {
			c->redo[c->nredo++] = b->d[i].idx; /* counted when handled again */
			continue;
		}
		if (!b->d[i].sent && b->d[i].res == REFRESH_RETRY) {
			p->sum->unchanged++; /* the server went away before its turn */
			continue;
		}
		refresh_done(p, &b->d[i].rec, b->d[i].res);
	}
	for (i = 0; i < b->n; i++) {
		gotrue_store_release(p->st, b->d[i].rec.id);
		gotrue_store_record_clear(&b->d[i].rec);
		gotrue_store_unlock(b->d[i].lock);
		memset(&b->d[i], 0, sizeof(b->d[i]));
		b->d[i].lock = -1;
	}
	if (handed_back)
		c->redo_at = now_s();
	b->n = 0;
}

/* What GET /user says of a live session. */
enum live_result {
	LIVE_OK,      /* the session and its user are still good */
	LIVE_GONE,    /* the server no longer knows the session, or the user */
	LIVE_BANNED,  /* the user is banned */
	LIVE_UNKNOWN, /* no answer to act on: asked again next pass */
	LIVE_BACKOFF, /* the server asks for fewer requests (429, 503): the rest waits a pass */
};

/* Ask the server about @rec's session with its access token. Current servers refuse a session
 * they ended (403 session_not_found); v2.69 answers 200 until the token's exp, so there only a
 * deleted user (404 user_not_found, 403 on current servers) shows. A ban ends no GoTrue session
 * (the top of this file): the token still reads /user, with banned_until ahead. That body is
 * unsigned, and trusted only to end a session, never to grant anything. Any other refusal (an
 * expired JWT, a 5xx) proves nothing. */
static enum live_result ask_server(struct pass *p, const struct gotrue_store_record *rec)
{
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum live_result res = LIVE_UNKNOWN;

	if (gotrue_user_get(p->own.client, rec->access_token, &u, &err) == 0) {
		if (u.id == NULL || strcmp(u.id, rec->user_id) != 0)
			gotrue_log(p->pamh, LOG_ERR,
				   "GET /user answered for another user, ignored; user=%s",
				   rec->login);
		else if (gotrue_user_is_banned(&u, time(NULL)))
			res = LIVE_BANNED;
		else
			res = LIVE_OK;
		goto cleanup;
	}
	gotrue_error_str(&err, why, sizeof(why));
	if (gotrue_lifecycle_user_banned(&err)) {
		res = LIVE_BANNED;
	} else if (gotrue_lifecycle_session_gone(&err)) {
		gotrue_log(p->pamh, LOG_NOTICE, "GoTrue ended the session (%s); user=%s", why,
			   rec->login);
		res = LIVE_GONE;
	} else {
		/* No answer at all (refused, reset, timed out): asking about the next session would
		 * cost as much, so the pass stops; the checks are only checks, nothing is lost. */
		if (not_sent(&err) || err.kind == GOTRUE_ERR_TRANSPORT ||
		    err.kind == GOTRUE_ERR_TIMEOUT)
			p->own.gone = true;
		if (err.kind == GOTRUE_ERR_HTTP &&
		    (err.http_status == 429 || err.http_status == 503))
			res = LIVE_BACKOFF;
		gotrue_log(p->pamh, LOG_WARNING,
			   "cannot check the session with the server, will retry (%s); user=%s",
			   why, rec->login);
	}
cleanup:
	if (res == LIVE_BANNED)
		gotrue_log(p->pamh, LOG_NOTICE, "the user is banned in GoTrue; user=%s",
			   rec->login);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return res;
}

/* Check live session @id with the server, under its lock, read again: what changed since
 * handle_record() (closed, refreshed, due now) is the next pass's. False when the server asked
 * for fewer requests. */
static bool check_live_record(struct pass *p, const char *id)
{
	struct gotrue_store_record rec = {0};
	bool go_on = true;
	int lock;

	lock = gotrue_store_lock(p->st, id, lock_timeout(p));
	if (lock < 0 || gotrue_store_read(p->st, id, &rec) != 0 ||
	    rec.state != GOTRUE_STORE_ACTIVE || rec.refreshing || rec.access_token == NULL ||
	    rec.expires_at - time(NULL) <= p->opts.margin || !gotrue_store_owner_alive(&rec)) {
		p->sum->unchanged++;
		goto cleanup;
	}
	switch (ask_server(p, &rec)) {
	case LIVE_OK:
		p->sum->checked++;
		break;
	case LIVE_BANNED: /* the GoTrue session outlives the ban: revoked here */
		server_refused(p, &rec, 0);
		break;
	case LIVE_GONE:
		session_gone(p, &rec);
		break;
	case LIVE_BACKOFF:
		go_on = false;
		p->sum->failed++;
		break;
	default:
		p->sum->failed++;
		break;
	}
cleanup:
	gotrue_store_record_clear(&rec);
	gotrue_store_unlock(lock);
	return go_on;
}

/* After the refreshes: every live session that was not due is checked with the server, one
 * request each, so that a ban or a revocation on the server ends it within one timer period
 * rather than at its next refresh (up to an hour later). */
static void check_live_records(struct pass *p, char (*ids)[GOTRUE_STORE_ID_LEN + 1])
{
	size_t i;
	bool go_on = true;

	for (i = 0; i < p->nlive && go_on && !halted(p); i++)
		go_on = check_live_record(p, ids[p->live[i]]);
	/* Left for the next pass: the server went away or asked for fewer requests. */
	p->sum->unchanged += (unsigned int)(p->nlive - i);
}

/* How many records a batch holds locked. Five batches are held at once (see gotrue_refresh_pass),
 * two descriptors per record (the lock, the record held open by
 * gotrue_store_read_held): well inside RLIMIT_NOFILE. */
static size_t batch_max(void)
{
	struct rlimit rl;
	size_t max = BATCH_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rl.rlim_cur - 64) / 10 < max)
		max = rl.rlim_cur > 74 ? (size_t)(rl.rlim_cur - 64) / 10 : 1;
	return max;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Open the store and the two clients, and ask /health whether the server is there and which
 * generation it is. -EHOSTUNREACH when it is not there. */
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
	p->own.client = gotrue_client_new(pamh, cfg);
	if (p->own.client == NULL)
		goto cleanup;
	for (k = 0; k < SENDERS; k++) {
		p->bulk[k].client = gotrue_client_new(pamh, cfg);
		if (p->bulk[k].client == NULL)
			goto cleanup;
	}
	if (gotrue_health(p->own.client, &health, &err) != 0) {
		gotrue_log(pamh, LOG_WARNING, "server unreachable, nothing changed (%s)",
			   gotrue_error_str(&err, why, sizeof(why)));
		sum->server_down = true;
		rc = -EHOSTUNREACH;
		goto cleanup;
	}
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
	for (k = 0; k < SENDERS; k++) {
		gotrue_client_free(p->bulk[k].client);
		p->bulk[k].client = NULL;
	}
	gotrue_client_free(p->own.client);
	gotrue_store_close(p->st);
	p->own.client = NULL;
	p->st = NULL;
}

/* The pass is a pipeline of five batches, one round at a time. In each round the sender threads
 * sends one batch's requests (batch_send) while this thread writes the markers of another
 * (batch_mark) and the results of the one sent in the round before (its step 3), and makes them
 * durable with one sync, which runs on a thread of its own while this one fills a new batch
 * (batch_fill: locks, reads). A filled batch rests one round, so that the next round's sync
 * covers what was read (store.h, the write rule: its markers then need no sync of their own
 * before them); it is marked in the round after, sent in the next, and finished in the last.
 * The first three batches are primed before the first round.
 * The store's work and the disk's so overlap the round trips instead of adding to them, and one
 * sync serves three batches. Each record still goes through exactly the states of
 * refresh_record() (old pair, read and then synced; old pair + marker, durable before the
 * request; new pair, durable before the unlock), so a crash anywhere leaves what a crash of the
 * one-by-one pass leaves. Locks are held from the fill to the finish, so no other pass sees a
 * marker that is still being acted on. */
int gotrue_refresh_pass(pam_handle_t *pamh, const struct gotrue_config *cfg,
			const struct gotrue_refresh_opts *opts, struct gotrue_refresh_summary *sum)
{
	struct pass p = {0};
	struct cursor c = {0};
	struct batch bufs[5] = {{0}}, *filled = &bufs[0], *resting = &bufs[1], *marked = &bufs[2],
		     *sending = &bufs[3], *done = &bufs[4], *t;
	struct sending snd;
	struct gotrue_store_sync sync;
	pthread_t syncer;
	bool need_sync, sync_threaded, synced;
	size_t k, written;
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
	c.bmax = batch_max();
	/* Handed back at most: every batch held at once. */
	c.redo_cap = 5 * c.bmax;
	c.redo = calloc(c.redo_cap, sizeof(*c.redo));
	p.live = calloc(c.n + 1, sizeof(*p.live));
	p.live_cap = p.live != NULL ? c.n : 0;
	for (k = 0; k < 5; k++) {
		bufs[k].d = calloc(c.bmax, sizeof(*bufs[k].d));
		if (bufs[k].d == NULL)
			rc = -ENOMEM;
	}
	if (c.redo == NULL || p.live == NULL || rc != 0) {
		rc = -ENOMEM;
		goto cleanup;
	}
	/* Primed: the first three batches are filled, the store's write rule syncs what was read
	 * before the first marker, and the first batch is marked and synced, so that the first
	 * round already sends. */
	batch_fill(&p, &c, sending);
	batch_fill(&p, &c, marked);
	batch_fill(&p, &c, resting);
	written = batch_mark(&p, sending);
	batch_marked(&p, sending, written == 0 || gotrue_store_sync(p.st) == 0);
	for (;;) {
		sending->stop = halted(&p);
		batch_send(&p, sending, &snd);
		written = batch_mark(&p, marked) + write_unsynced(&p, done);
		/* Writes to make durable, or reads of the resting batch to cover. */
		need_sync = written > 0 || resting->n > 0;
		sync_threaded = false;
		if (need_sync) {
			gotrue_store_sync_start(p.st, &sync);
			sync_threaded = gotrue_thread_start(&syncer, syncer_main, &sync) == 0;
			if (!sync_threaded)
				gotrue_store_sync_run(&sync);
		}
		batch_fill(&p, &c, filled); /* not covered by this round's sync: it rests */
		if (sync_threaded)
			pthread_join(syncer, NULL);
		synced = !need_sync || gotrue_store_sync_finish(p.st, &sync) == 0;
		batch_marked(&p, marked, synced);
		batch_finish(&p, &c, done, synced);
		p.stop = batch_sent(&p, sending, &snd) || p.stop;
		if (sending->nsent > 0)
			c.req_s = sending->send_s / (double)sending->nsent;
		if (filled->n == 0 && resting->n == 0 && marked->n == 0 && sending->n == 0 &&
		    (c.redo_next == c.nredo || halted(&p)))
			break;
		t = done;
		done = sending;
		sending = marked;
		marked = resting;
		resting = filled;
		filled = t;
	}
	check_live_records(&p, c.ids);
	if (halted(&p)) {
		sum->unchanged += (unsigned int)(c.n - c.next + c.nredo - c.redo_next);
		gotrue_log(pamh, LOG_WARNING,
			   "server became unreachable during the pass; the rest is left for the "
			   "next pass");
		sum->server_down = true;
		rc = -EHOSTUNREACH;
	}
cleanup:
	for (k = 0; k < 5; k++)
		free(bufs[k].d);
	free(c.redo);
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
	/* Whatever revoked_session says: an administrator's revocation ends the Linux session
	 * (after the loop, with no record locked: end_sessions). */
	live = rec->state == GOTRUE_STORE_ACTIVE || rec->state == GOTRUE_STORE_REVOKED;
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

int gotrue_sessions_revoke(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *id,
			   const char *login, struct gotrue_refresh_summary *sum)
{
	struct pass p = {0};
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
	for (i = 0; i < n && !halted(&p); i++) {
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
	if (halted(&p)) {
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
