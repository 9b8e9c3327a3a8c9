/* lifecycle: the refresh pass (`gotruectl refresh`, run by gotrue-refresh.timer) and the revoke
 * and gc helpers of `gotruectl sessions`. DESIGN.md "Lifetime"; GoTrue's behaviour from
 * ../shared/gotrue-api/README.md points 1-3.
 *
 * Rotation (point 1). A refresh token is spent the moment /token receives it, and sending a spent
 * one again makes GoTrue revoke the whole session. So before a refresh token is sent, the record
 * is written with `refreshing` set, and made durable; the rotated pair then replaces it with the
 * marker cleared (lib/store.h: each write goes into the record file's other slot, so a crash
 * leaves one of the two versions, never neither). A pass killed in between leaves the marker on
 * disk, and the next pass knows that the stored refresh token may be spent. It never sends it
 * again; it resolves the record instead:
 *   - it revokes the GoTrue session with POST /logout?scope=local and the stored access token,
 *     which stays a valid JWT until its exp even after the refresh (point 3); the refresh margin
 *     keeps that exp well ahead of the pass, so the next pass normally still has it;
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
#include "error.h"
#include "lifecycle.h"
#include "log.h"
#include "secure.h"
#include "session.h"
#include "store.h"
#include "terminate.h"

#define TERMINATE_GRACE_MS 2000
#define BATCH_MAX	   512 /* records refreshed with one set of syncs */
#define BATCH_HOLD_S	   2.0 /* s: how long a batch keeps sending while it holds its locks */
#define GC_TEMP_AGE	   60  /* s: a temp file older than this belongs to a killed writer */
#define REASON_REVOKED	   "your session was revoked by the identity server; logging out."

struct pass {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg;
	struct gotrue_refresh_opts opts;
	struct gotrue_store *st;
	struct gotrue_client *client;
	struct gotrue_refresh_summary *sum;
	bool honours_scope; /* /logout?scope=local ends only one session (not v2.69) */
	bool stop;	    /* the server went away mid-pass */
};

/* What revoking a session on the server came to. */
enum revoke_result {
	REVOKE_DONE,	 /* /logout accepted */
	REVOKE_GONE,	 /* the server no longer knows it */
	REVOKE_DEFERRED, /* v2.69: another local session of the user revokes later */
	REVOKE_FAILED,	 /* try again next pass; the record is kept */
};

/* What one refresh came to. */
enum refresh_result {
	REFRESH_OK,	 /* rotated pair stored */
	REFRESH_GONE,	 /* the server ended the session */
	REFRESH_RETRY,	 /* not processed by the server: the old token is still good */
	REFRESH_UNKNOWN, /* maybe processed: the marker stays, the next pass resolves it */
	REFRESH_STORE,	 /* the marker could not be written: nothing was sent */
};

/* A record due for refresh, held (locked, read) by the current batch. */
struct due {
	struct gotrue_store_record rec;
	int lock;
	size_t idx; /* in the pass's id list */
	bool want;  /* to be written (then: was written) */
	bool sent;  /* its refresh token went to /token */
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

bool gotrue_lifecycle_session_gone(const struct gotrue_error *err)
{
	static const char *const gone[] = {"refresh_token_not_found",
					   "refresh_token_already_used",
					   "session_not_found",
					   "session_expired",
					   "user_banned",
					   "user_not_found"};
	size_t i;

	if (err->kind != GOTRUE_ERR_HTTP)
		return false;
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		if (strcmp(err->code, gone[i]) == 0)
			return true;
	}
	/* Any other refusal of the request itself (401 expired JWT, 403, 404) also means there
	 * is nothing left that this record could revoke; 429 only means later. */
	return err->http_status >= 400 && err->http_status < 500 && err->http_status != 429;
}

/* The request never reached the server: the refresh token it carried is not spent. curl says so
 * only in its message (lib/http.c keeps curl_easy_strerror()'s text first). */
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

int gotrue_lifecycle_other_sessions(struct gotrue_store *st, const struct gotrue_store_record *rec,
				    int timeout_ms, int *ulock)
{
	int rc;

	*ulock = gotrue_store_lock_user(st, rec->user_id, timeout_ms);
	if (*ulock < 0) {
		rc = *ulock;
		*ulock = -1;
		goto cleanup;
	}
	rc = gotrue_store_count_user(st, rec->user_id, GOTRUE_STORE_ACTIVE, rec->id);
cleanup:
	return rc;
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

/* POST /token?grant_type=refresh_token for @rec, which the caller has locked and whose marker is
 * on disk. Updates @rec in memory only: the rotated pair with the marker cleared (REFRESH_OK),
 * the marker cleared (REFRESH_RETRY), or left set (REFRESH_UNKNOWN, REFRESH_GONE). */
static enum refresh_result send_refresh(struct pass *p, struct gotrue_store_record *rec)
{
	struct gotrue_session ns = {0};
	struct gotrue_error err = {0};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum refresh_result res;

	if (gotrue_refresh(p->client, rec->refresh_token, &ns, &err) == 0 &&
	    ns.access_token != NULL && ns.refresh_token != NULL) {
		forget_tokens(rec);
		rec->access_token = ns.access_token;
		rec->refresh_token = ns.refresh_token;
		ns.access_token = ns.refresh_token = NULL;
		rec->expires_at = ns.expires_at;
		rec->refreshing = false;
		res = REFRESH_OK;
		goto cleanup;
	}
	gotrue_error_str(&err, why, sizeof(why));
	if (gotrue_lifecycle_session_gone(&err)) {
		gotrue_log(p->pamh, LOG_NOTICE, "GoTrue ended the session (%s); user=%s", why,
			   rec->login);
		res = REFRESH_GONE;
	} else if (not_sent(&err) || answered_unprocessed(&err)) {
		if (not_sent(&err))
			p->stop = true;
		rec->refreshing = false;
		gotrue_log(p->pamh, LOG_WARNING, "refresh failed, will retry (%s); user=%s", why,
			   rec->login);
		res = REFRESH_RETRY;
	} else {
		/* Timeout, reset, unusable answer: the server may have rotated. */
		gotrue_log(p->pamh, LOG_ERR,
			   "refresh outcome unknown (%s); the next pass resolves it; user=%s", why,
			   rec->login);
		res = REFRESH_UNKNOWN;
	}
cleanup:
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

/* Refresh one record, which the caller has locked: marker, request, result, each write synced.
 * The batched form of the same steps is refresh_batch(). */
static enum refresh_result refresh_record(struct pass *p, struct gotrue_store_record *rec)
{
	enum refresh_result res;

	if (rec->refresh_token == NULL)
		return REFRESH_GONE;
	rec->refreshing = true;
	if (gotrue_store_write(p->st, rec) != 0) {
		rec->refreshing = false;
		return REFRESH_STORE;
	}
	res = send_refresh(p, rec);
	/* On failure the marker stays on disk with the old pair: resolved next pass (after
	 * REFRESH_RETRY that is merely a lost chance, the token was not spent). */
	if ((res == REFRESH_OK || res == REFRESH_RETRY) && gotrue_store_write(p->st, rec) != 0 &&
	    res == REFRESH_OK) {
		log_unstored(p, rec);
		res = REFRESH_UNKNOWN;
	}
	return res;
}

/* Revoke @rec's GoTrue session (locked by the caller). With @policy, the v2.69 "last local
 * session revokes" rule applies. */
static enum revoke_result revoke_on_server(struct pass *p, struct gotrue_store_record *rec,
					   bool policy)
{
	struct gotrue_error err = {0};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum revoke_result res = REVOKE_FAILED;
	int ulock = -1, others;

	if (policy && !p->honours_scope) {
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
	/* An expired access token cannot call /logout: refresh first, unless the record's refresh
	 * token may be spent (then the expired JWT is all there is, and /logout says so). */
	if (!rec->refreshing && rec->refresh_token != NULL && rec->expires_at <= time(NULL) + 5) {
		switch (refresh_record(p, rec)) {
		case REFRESH_OK:
			break;
		case REFRESH_GONE:
			res = REVOKE_GONE;
			goto cleanup;
		default:
			goto cleanup;
		}
	}
	if (rec->access_token == NULL) {
		res = REVOKE_GONE;
		goto cleanup;
	}
	/* POST /logout?scope=local: ends only the session named by the JWT's session_id. */
	if (gotrue_signout(p->client, rec->access_token, GOTRUE_LOGOUT_LOCAL, &err) == 0) {
		res = REVOKE_DONE;
	} else if (gotrue_lifecycle_session_gone(&err)) {
		res = REVOKE_GONE;
	} else {
		if (not_sent(&err))
			p->stop = true;
		gotrue_log(p->pamh, LOG_WARNING, "revocation failed, will retry (%s); user=%s",
			   gotrue_error_str(&err, why, sizeof(why)), rec->login);
	}
cleanup:
	gotrue_store_unlock(ulock);
	gotrue_error_clear(&err);
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
	rec->refreshing = false;
	forget_tokens(rec);
	return gotrue_store_write(p->st, rec);
}

/* The server says the session is gone: log (done by the caller), mark, act on revoked_session. */
static void session_gone(struct pass *p, struct gotrue_store_record *rec)
{
	if (!gotrue_store_owner_alive(rec)) {
		remove_record(p, rec, "ended by the server, owner gone");
	} else if (mark_revoked(p, rec) != 0) {
		p->sum->failed++;
		return;
	} else if (p->cfg->revoked_session == GOTRUE_REVOKED_TERMINATE) {
		if (gotrue_terminate_session(p->pamh, rec, REASON_REVOKED, TERMINATE_GRACE_MS) == 0)
			p->sum->terminated++;
	}
	p->sum->revoked++;
}

/* A record left with the marker by an interrupted refresh (see the top of this file). */
static void recover(struct pass *p, struct gotrue_store_record *rec)
{
	enum revoke_result r;

	gotrue_log(p->pamh, LOG_WARNING,
		   "a refresh of this session was interrupted; its refresh token may be spent "
		   "and is not sent again; revoking the session; user=%s state=%s",
		   rec->login, gotrue_store_state_name(rec->state));
	r = revoke_on_server(p, rec, true);
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

/* Revoke then remove (closing, orphaned, stale pending). */
static void revoke_and_remove(struct pass *p, struct gotrue_store_record *rec, const char *what,
			      unsigned int *count)
{
	switch (revoke_on_server(p, rec, true)) {
	case REVOKE_DONE:
		remove_record(p, rec, what);
		break;
	case REVOKE_GONE:
		remove_record(p, rec, "already ended on the server");
		break;
	case REVOKE_DEFERRED:
		remove_record(p, rec, "revocation deferred to the user's last session");
		break;
	case REVOKE_FAILED:
		p->sum->failed++;
		return;
	}
	(*count)++;
}

/* Handle record @id under its lock. A plain due refresh is not done here but handed to the batch
 * in @due (lock and record moved there, true returned); everything else is done now. */
static bool handle_record(struct pass *p, const char *id, struct due *due)
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
	if (rec.refreshing) {
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
		p->sum->unchanged++;
		break;
	case GOTRUE_STORE_ACTIVE:
		if (!gotrue_store_owner_alive(&rec)) {
			gotrue_log(p->pamh, LOG_NOTICE,
				   "session owner is gone, revoking; user=%s pid=%ld", rec.login,
				   (long)rec.pid);
			revoke_and_remove(p, &rec, "orphan revoked", &p->sum->revoked);
		} else if (rec.expires_at - now <= p->opts.margin && rec.refresh_token != NULL) {
			due->rec = rec;
			due->lock = lock;
			memset(&rec, 0, sizeof(rec));
			lock = -1;
			batched = true;
		} else if (rec.expires_at - now <= p->opts.margin) {
			switch (refresh_record(p, &rec)) {
			case REFRESH_OK:
				p->sum->refreshed++;
				break;
			case REFRESH_GONE:
				session_gone(p, &rec);
				break;
			default:
				p->sum->failed++;
				break;
			}
		} else {
			p->sum->unchanged++;
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

/* Phase 1 and 3 of refresh_batch: write, in place and unsynced, every entry with @want set, then
 * make them all durable with one sync (store.h: before the locks go, and before any request
 * relies on a marker). The store's write rule syncs first whatever it cannot prove durable: in a
 * batch that is one syncfs before the first write. Clears @want where the record could not be
 * written. Returns the sync's result: non-zero means no write of this call is known durable. */
static int write_batch(struct pass *p, struct due *b, size_t n)
{
	size_t i, written = 0;

	for (i = 0; i < n; i++) {
		if (b[i].want && gotrue_store_write_unsynced(p->st, &b[i].rec) != 0)
			b[i].want = false;
		written += b[i].want;
	}
	return written > 0 ? gotrue_store_sync(p->st) : 0;
}

/* Refresh the due records of @b (locked, read) with durability batched: 1. every marker written,
 * then synced together; 2. the requests, one after the other on the pass's connection; 3. every
 * result written, synced together. Each record goes through exactly the states of
 * refresh_record() (old pair; old pair + marker; new pair), so a crash anywhere leaves what a
 * crash of the one-by-one pass leaves. Locks are held from 1 to 3, so no other pass sees a
 * marker that is still being acted on. Returns the index in @b of the first record that was not
 * sent because the batch held its locks long enough (to be handled by the next batch), or @n. */
static size_t refresh_batch(struct pass *p, struct due *b, size_t n)
{
	size_t i, requeue = n;
	bool sent_any = false;
	double t0;

	/* 1. Markers. A record whose marker could not be made durable is not sent. */
	for (i = 0; i < n; i++) {
		b[i].rec.refreshing = true;
		b[i].want = true;
		b[i].res = REFRESH_STORE;
	}
	if (write_batch(p, b, n) != 0) {
		/* Not synced: the markers may be visible without being durable. Put the records
		 * back as they were, one by one (a failure here leaves the marker: safe). */
		for (i = 0; i < n; i++) {
			b[i].rec.refreshing = false;
			if (b[i].want)
				gotrue_store_write(p->st, &b[i].rec);
			b[i].want = false;
		}
	}
	for (i = 0; i < n; i++) {
		if (!b[i].want)
			b[i].rec.refreshing = false; /* nothing sent: failed, still safe */
	}
	/* 2. Requests. After the first, stop when the batch has held its locks long enough: a
	 * close_session waits for one of them. Unsent records get their marker cleared. */
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (!b[i].want)
			continue;
		if (!p->stop && requeue == n && sent_any && now_s() - t0 > BATCH_HOLD_S)
			requeue = i;
		if (p->stop || requeue != n) {
			b[i].rec.refreshing = false;
			b[i].res = REFRESH_RETRY;
			continue;
		}
		b[i].sent = sent_any = true;
		b[i].res = send_refresh(p, &b[i].rec);
		b[i].want = b[i].res == REFRESH_OK || b[i].res == REFRESH_RETRY;
	}
	/* 3. Results (and cleared markers), durable before the locks go. A failed sync leaves
	 * each record's marked version intact in its other slot: the worst case is a recovery. */
	if (write_batch(p, b, n) != 0)
		gotrue_log(p->pamh, LOG_ERR, "refreshed tokens may not be durable");
	for (i = 0; i < n; i++) {
		if (b[i].res == REFRESH_OK && !b[i].want) {
			log_unstored(p, &b[i].rec);
			b[i].res = REFRESH_UNKNOWN;
		}
		if (i >= requeue)
			continue; /* counted when the next batch handles it */
		if (!b[i].sent && b[i].res == REFRESH_RETRY) {
			p->sum->unchanged++; /* the server went away before its turn */
			continue;
		}
		switch (b[i].res) {
		case REFRESH_OK:
			p->sum->refreshed++;
			break;
		case REFRESH_GONE:
			session_gone(p, &b[i].rec);
			break;
		default:
			p->sum->failed++;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		gotrue_store_release(p->st, b[i].rec.id);
		gotrue_store_record_clear(&b[i].rec);
		gotrue_store_unlock(b[i].lock);
		memset(&b[i], 0, sizeof(b[i]));
		b[i].lock = -1;
	}
	return requeue;
}

/* How many records a batch holds locked: two descriptors each (the lock, the record held open by
 * gotrue_store_read_held), well inside RLIMIT_NOFILE. */
static size_t batch_max(void)
{
	struct rlimit rl;
	size_t max = BATCH_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rl.rlim_cur - 64) / 2 < max)
		max = rl.rlim_cur > 66 ? (size_t)(rl.rlim_cur - 64) / 2 : 1;
	return max;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Open the store and a client, and ask /health whether the server is there and which
 * generation it is. -EHOSTUNREACH when it is not there. */
static int pass_begin(struct pass *p, pam_handle_t *pamh, const struct gotrue_config *cfg,
		      struct gotrue_refresh_summary *sum)
{
	struct gotrue_error err = {0};
	json_object *health = NULL, *v;
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
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
	p->client = gotrue_client_new(pamh, cfg);
	if (p->client == NULL)
		goto cleanup;
	if (gotrue_health(p->client, &health, &err) != 0) {
		gotrue_log(pamh, LOG_WARNING, "server unreachable, nothing changed (%s)",
			   gotrue_error_str(&err, why, sizeof(why)));
		sum->server_down = true;
		rc = -EHOSTUNREACH;
		goto cleanup;
	}
	if (cfg->server == GOTRUE_SERVER_AUTO)
		/* A server that does not say its version is treated as old: the cautious choice. */
		p->honours_scope = json_object_object_get_ex(health, "version", &v) &&
				   json_object_is_type(v, json_type_string) &&
				   gotrue_version_honours_logout_scope(json_object_get_string(v));
	else
		p->honours_scope = cfg->server == GOTRUE_SERVER_CURRENT;
	rc = 0;
cleanup:
	json_object_put(health);
	gotrue_error_clear(&err);
	return rc;
}

static void pass_end(struct pass *p)
{
	gotrue_client_free(p->client);
	gotrue_store_close(p->st);
	p->client = NULL;
	p->st = NULL;
}

int gotrue_refresh_pass(pam_handle_t *pamh, const struct gotrue_config *cfg,
			const struct gotrue_refresh_opts *opts, struct gotrue_refresh_summary *sum)
{
	struct pass p = {0};
	char(*ids)[GOTRUE_STORE_ID_LEN + 1] = NULL;
	struct due *batch = NULL;
	size_t n = 0, i, nb, bmax, k;
	int rc;

	if (opts != NULL)
		p.opts = *opts;
	else
		gotrue_refresh_opts_init(&p.opts);
	rc = pass_begin(&p, pamh, cfg, sum);
	if (rc != 0)
		goto cleanup;
	rc = gotrue_store_list_ids(p.st, &ids, &n);
	if (rc != 0)
		goto cleanup;
	/* One order for every pass: two passes lock a batch each without waiting on each other
	 * in a cycle. */
	if (n > 0) /* qsort's array may not be NULL, even for no elements (UBSan) */
		qsort(ids, n, sizeof(*ids), cmp_id);
	bmax = batch_max();
	batch = calloc(bmax, sizeof(*batch));
	if (batch == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	i = 0;
	while (i < n && !p.stop) {
		nb = 0;
		for (; i < n && nb < bmax && !p.stop; i++) {
			batch[nb].lock = -1;
			if (handle_record(&p, ids[i], &batch[nb])) {
				batch[nb].idx = i;
				nb++;
			}
		}
		if (nb > 0) {
			k = refresh_batch(&p, batch, nb);
			if (k < nb)
				i = batch[k].idx; /* 0 < k: each batch sends at least one */
		}
	}
	if (p.stop)
		sum->unchanged += (unsigned int)(n - i);
	if (p.stop) {
		gotrue_log(pamh, LOG_WARNING,
			   "server became unreachable during the pass; the rest is left for the "
			   "next pass");
		sum->server_down = true;
		rc = -EHOSTUNREACH;
	}
cleanup:
	free(batch);
	free(ids);
	pass_end(&p);
	return rc;
}

/* --- gotruectl sessions revoke | gc ------------------------------------------------------- */

static void revoke_one(struct pass *p, struct gotrue_store_record *rec)
{
	enum revoke_result r = REVOKE_GONE;

	if (rec->state != GOTRUE_STORE_REVOKED) {
		if (!p->honours_scope)
			gotrue_log(p->pamh, LOG_NOTICE,
				   "old server: this revocation ends every session of the user; "
				   "user=%s",
				   rec->login);
		/* A record that may hold a spent refresh token is revoked with its access token
		 * only (revoke_on_server never refreshes it). */
		r = revoke_on_server(p, rec, false);
		if (r == REVOKE_FAILED) {
			p->sum->failed++;
			return;
		}
	}
	if (rec->state == GOTRUE_STORE_ACTIVE || rec->state == GOTRUE_STORE_REVOKED) {
		if (gotrue_store_owner_alive(rec) &&
		    gotrue_terminate_session(p->pamh, rec, REASON_REVOKED, TERMINATE_GRACE_MS) == 0)
			p->sum->terminated++;
	}
	if (gotrue_store_owner_alive(rec)) {
		if (mark_revoked(p, rec) != 0) {
			p->sum->failed++;
			return;
		}
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
	for (i = 0; i < n && !p.stop; i++) {
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
	if (p.stop) {
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
