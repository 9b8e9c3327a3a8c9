/* session: pam_sm_open_session and pam_sm_close_session.
 * open_session turns the pending record named by the handle into an active one; close_session
 * refreshes if needed (storing the rotated tokens first), revokes with POST /logout?scope=local and
 * removes the record. A revocation that cannot reach the server is kept as a closing record for
 * `gotruectl refresh`; it is never lost.
 *
 * Old servers (v2.69; scope arrived in v2.78.0) ignore scope and end every session of the user, on
 * every host and in the web application (steps 72-73 of tests/emulator/conformance.tsv). Policy
 * (old_server_logout):
 *   - forget (the default): a close on an old server sends no /logout; it removes the record,
 *     whose removal wipes its tokens. The GoTrue session ends when its lifetime runs out.
 *   - global: while another active session of the same GoTrue user exists on this host, a close
 *     removes its record without calling /logout; the last one to close revokes. The decision is
 *     serialised by a per-user lock so that two last closes cannot both skip the revocation.
 *     The rule is lib/store/session_end.c's gotrue_lifecycle_other_sessions(), shared with the
 *     refresh pass, and so is what counts as "the server no longer knows the session".
 *
 * Which record a transaction may use: see record_is_ours(). */
#include <config.h>

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "api.h"
#include "log.h"
#include "pam_gotrue.h"
#include "proc.h"
#include "secure.h"
#include "session_end.h"
#include "store.h"

/* Refresh a token that expires within this margin, so that it cannot expire in flight. */
#define REFRESH_MARGIN 10

/* *@out: a copy of the item, NULL when unset. -1 only when the copy fails: a tty lost to memory
 * must not read as "no tty" in the record (tests/inject). */
static int item_dup(pam_handle_t *pamh, int type, char **out)
{
	const void *v = NULL;

	*out = NULL;
	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || v == NULL || *(const char *)v == '\0')
		return 0;
	*out = strdup(v);
	return *out == NULL ? -1 : 0;
}

static int ms_until(time_t deadline)
{
	time_t left = deadline - time(NULL);

	return left > 0 ? (int)left * 1000 : 0;
}

/* Whether @rec, named by the handle, may be used by this transaction. A handle from the PAM
 * environment alone (sshd's forked authentication, but also anything pam_env put there) must
 * name a record of PAM_USER. A handle that this transaction's own authenticate left with
 * pam_set_data cannot be planted, and its record may also be PAM_RUSER's: sudo authenticates the
 * invoking user, then sets PAM_USER to the target user (root) before open_session and keeps the
 * invoking user in PAM_RUSER. Without this, every sudo left a pending record with live tokens. */
static bool record_is_ours(struct pg_ctx *ctx, const struct gotrue_store_record *rec, bool own)
{
	const void *ruser = NULL;

	if (strcmp(rec->login, ctx->user) == 0)
		return true;
	return own && pam_get_item(ctx->pamh, PAM_RUSER, &ruser) == PAM_SUCCESS && ruser != NULL &&
	       strcmp(rec->login, (const char *)ruser) == 0;
}

/* The kernel's audit session id of this login, by which lib/sync/terminate.c finds every process of
 * the session when it has to end it (a command run without a pty is no child of any terminal).
 * Kept only when pam_loginuid, earlier in the stack, gave this process an id of its own for this
 * user (lib/store/proc.h says why): an inherited one names another session. -1 only when the copy
 * fails. */
static int note_audit_session(struct pg_ctx *ctx, struct gotrue_store_record *rec)
{
	char buf[4096], boot[GOTRUE_BOOT_ID_LEN + 1];
	struct passwd pw, *found = NULL;
	unsigned int id;

	rec->audit_session = 0;
	if (getpwnam_r(ctx->user, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
		return 0;
	id = gotrue_proc_login_audit_session(pw.pw_uid, boot);
	if (!gotrue_audit_session_valid(id)) {
		gotrue_debug(ctx->pamh, ctx->cfg->debug,
			     "no audit session of this login's own (pam_loginuid not before "
			     "pam_gotrue?); user=%s",
			     ctx->user);
		return 0;
	}
	rec->boot_id = strdup(boot);
	if (rec->boot_id == NULL)
		return -1;
	rec->audit_session = id;
	return 0;
}

enum pg_outcome pg_open_session(struct pg_ctx *ctx)
{
	struct gotrue_store *store = NULL;
	struct gotrue_store_record rec = {0};
	const char *id, *xdg;
	enum pg_outcome out = PG_INTERNAL;
	bool own = false;
	int lock = -1;

	id = pg_session_handle(ctx, &own);
	if (id == NULL) {
		/* Authenticated by another module (an SSH key): no tokens to manage. */
		gotrue_debug(ctx->pamh, ctx->cfg->debug, "no session handle; user=%s", ctx->user);
		out = PG_NOT_OURS;
		goto cleanup;
	}
	store = gotrue_store_open(ctx->pamh, ctx->cfg->state_dir);
	if (store == NULL)
		goto cleanup;
	lock = gotrue_store_lock(store, id, (int)ctx->cfg->timeout * 1000);
	if (lock < 0 || gotrue_store_read(store, id, &rec) != 0) {
		gotrue_log(ctx->pamh, LOG_ERR, "no pending session record for the handle; user=%s",
			   ctx->user);
		goto cleanup;
	}
	/* The handle may come from the PAM environment: it must name this user's pending record. */
	if (!record_is_ours(ctx, &rec, own) || rec.state != GOTRUE_STORE_PENDING) {
		gotrue_log(
			ctx->pamh, LOG_WARNING,
			"session handle names a record of another user or state; user=%s state=%s",
			ctx->user, gotrue_store_state_name(rec.state));
		goto cleanup;
	}
	rec.state = GOTRUE_STORE_ACTIVE;
	xdg = pam_getenv(ctx->pamh, "XDG_SESSION_ID");
	rec.xdg_session_id = xdg != NULL ? strdup(xdg) : NULL;
	if (item_dup(ctx->pamh, PAM_SERVICE, &rec.service) != 0 ||
	    item_dup(ctx->pamh, PAM_TTY, &rec.tty) != 0 ||
	    item_dup(ctx->pamh, PAM_RHOST, &rec.rhost) != 0 ||
	    (xdg != NULL && rec.xdg_session_id == NULL))
		goto cleanup;
	rec.pid = getpid();
	rec.pid_start = gotrue_store_pid_start(rec.pid);
	if (note_audit_session(ctx, &rec) != 0 || gotrue_store_write(store, &rec) != 0)
		goto cleanup;
	gotrue_log(ctx->pamh, LOG_INFO, "session opened; user=%s login=%s", ctx->user, rec.login);
	out = PG_OK;
cleanup:
	gotrue_store_unlock(lock);
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
	return out;
}

struct closing {
	struct pg_ctx *ctx;
	struct gotrue_store *store;
	struct gotrue_store_record rec;
	time_t deadline;
	enum { GEN_UNKNOWN, GEN_OLD, GEN_CURRENT } generation; /* of the server, once asked */
};

/* Keep the record for `gotruectl refresh` to retry. */
static enum pg_outcome keep_closing(struct closing *c, const char *why)
{
	c->rec.state = GOTRUE_STORE_CLOSING;
	if (gotrue_store_write(c->store, &c->rec) != 0)
		gotrue_log(c->ctx->pamh, LOG_CRIT,
			   "cannot mark session closing; the revocation may be lost; user=%s",
			   c->ctx->user);
	gotrue_log(c->ctx->pamh, LOG_ERR, "session not revoked (%s), kept for retry; user=%s", why,
		   c->ctx->user);
	return PG_SESSION_KEPT;
}

static enum pg_outcome forget(struct closing *c, const char *what)
{
	enum pg_outcome out = PG_OK;

	if (gotrue_store_remove(c->store, c->rec.id) != 0) {
		gotrue_log(c->ctx->pamh, LOG_ERR, "cannot remove session record; user=%s",
			   c->ctx->user);
		out = PG_INTERNAL;
	} else {
		gotrue_log(c->ctx->pamh, LOG_INFO, "session closed (%s); user=%s", what,
			   c->ctx->user);
	}
	return out;
}

/* Refresh tokens rotate, and a spent one is refused: the new pair is stored before anything else
 * uses it. PG_OK, or the outcome that ends the close. */
static enum pg_outcome refresh_first(struct closing *c, bool *gone)
{
	struct pg_ctx *ctx = c->ctx;
	struct gotrue_config tmp;
	struct gotrue_client *client = NULL;
	struct gotrue_session ns = {0};
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum pg_outcome out = PG_OK;

	*gone = false;
	/* A record marked `refreshing` (a refresh pass killed mid-request, lib/sync/lifecycle.c)
	 * may hold a spent refresh token, which must never be sent again: /logout with the access
	 * token is all that is left to try. */
	if (c->rec.expires_at > time(NULL) + REFRESH_MARGIN || c->rec.refreshing ||
	    c->rec.refresh_token == NULL)
		goto cleanup;
	client = pg_client_until(ctx, &tmp, c->deadline);
	if (client == NULL) {
		out = keep_closing(c, "out of time");
		goto cleanup;
	}
	/* No `refreshing` marker of our own: this refresh only serves the /logout right after it.
	 * Should its outcome be lost, the record is closing or orphaned and the pass sends the
	 * token again: a current server answers with the live session, which the pass then
	 * revokes; v2.69 revokes the family, which is what the close wanted. A marker would
	 * instead stop the pass from refreshing a token that was never sent (connection refused),
	 * leaving it no way to revoke once the access token expired. */
	if (gotrue_refresh(client, c->rec.refresh_token, &ns, &ctx->err) != 0 ||
	    ns.access_token == NULL || ns.refresh_token == NULL) {
		gotrue_error_str(&ctx->err, why, sizeof(why));
		if (gotrue_lifecycle_session_gone(&ctx->err)) {
			gotrue_log(ctx->pamh, LOG_NOTICE,
				   "session already ended on the server (%s); user=%s", why,
				   ctx->user);
			*gone = true;
		} else if (gotrue_lifecycle_user_banned(&ctx->err)) {
			/* A ban ends no GoTrue session: the refresh pass revokes it once a
			 * refresh goes through again. */
			out = keep_closing(c, "the user is banned, the revocation waits for the "
					      "ban to end");
		} else {
			out = keep_closing(c, why);
		}
		goto cleanup;
	}
	gotrue_wipe_free_str(c->rec.access_token);
	gotrue_wipe_free_str(c->rec.refresh_token);
	c->rec.access_token = ns.access_token;
	c->rec.refresh_token = ns.refresh_token;
	ns.access_token = ns.refresh_token = NULL;
	c->rec.expires_at = ns.expires_at;
	if (gotrue_store_write(c->store, &c->rec) != 0)
		gotrue_log(ctx->pamh, LOG_ERR, "cannot store refreshed tokens; user=%s", ctx->user);
cleanup:
	gotrue_session_clear(&ns);
	gotrue_client_free(client);
	return out;
}

/* Whether this server's /logout ends every session of the user (old generation), asked of
 * /health at most once per close and only when the config does not say. */
static int server_is_old(struct closing *c, bool *old)
{
	struct pg_ctx *ctx = c->ctx;
	struct gotrue_config tmp;
	struct gotrue_client *client = NULL;
	bool honours = false;
	int rc = 0;

	if (c->generation == GEN_UNKNOWN) {
		client = ctx->cfg->server == GOTRUE_SERVER_AUTO
				 ? pg_client_until(ctx, &tmp, c->deadline)
				 : NULL;
		if (ctx->cfg->server == GOTRUE_SERVER_AUTO && client == NULL)
			rc = -1;
		else
			rc = gotrue_server_honours_logout_scope(client, ctx->cfg->server, &honours,
								&ctx->err);
		if (rc == 0)
			c->generation = honours ? GEN_CURRENT : GEN_OLD;
	}
	*old = c->generation == GEN_OLD;
	gotrue_client_free(client);
	return rc;
}

/* old_server_logout = global on an old server: while another active session of the same user
 * exists on this host, the close only removes its record; the last one revokes. *@done when the
 * close ended here, with the outcome returned; else the /logout is to be sent. */
static enum pg_outcome last_local_revokes(struct closing *c, bool *done)
{
	struct pg_ctx *ctx = c->ctx;
	enum pg_outcome out = PG_OK;
	bool old = false;
	int others, ulock = -1;

	*done = true;
	others = gotrue_lifecycle_other_sessions(c->store, &c->rec, ms_until(c->deadline), &ulock);
	if (others < 0) {
		out = keep_closing(c, ulock < 0 ? "user lock busy" : "cannot read the store");
	} else if (others > 0 && server_is_old(c, &old) != 0) {
		out = keep_closing(c, "server version unknown");
	} else if (others > 0 && old) {
		gotrue_log(ctx->pamh, LOG_INFO,
			   "old server: %d other session(s) of the user remain on this host, the "
			   "last one revokes; user=%s",
			   others, ctx->user);
		out = forget(c, "revocation deferred to the user's last session");
	} else {
		*done = false;
	}
	/* Revoking: the lock has served its purpose. A close that takes it now still sees this
	 * record active and defers to us, which on an old server is right (our logout ends its
	 * session too; if ours fails, the closing record is retried). */
	gotrue_store_unlock(ulock);
	return out;
}

static enum pg_outcome revoke_session(struct closing *c)
{
	struct pg_ctx *ctx = c->ctx;
	struct gotrue_config tmp;
	struct gotrue_client *client = NULL;
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum pg_outcome out;
	bool gone = false, old = false, done = false;

	/* old_server_logout = forget: an old server's /logout would end every session of the
	 * user, here, on other hosts and in the web application; the session is forgotten
	 * instead, its tokens wiped with its record. */
	if (ctx->cfg->old_server_logout == GOTRUE_OLD_LOGOUT_FORGET) {
		if (server_is_old(c, &old) != 0) {
			out = keep_closing(c, "server version unknown");
			goto cleanup;
		}
		if (old) {
			out = forget(c, "forgotten without /logout: old server, "
					"old_server_logout = forget");
			goto cleanup;
		}
	}
	out = refresh_first(c, &gone);
	if (out != PG_OK || gone) {
		if (gone)
			out = forget(c, "already ended");
		goto cleanup;
	}
	if (ctx->cfg->server != GOTRUE_SERVER_CURRENT) {
		out = last_local_revokes(c, &done);
		if (done)
			goto cleanup;
	}
	client = pg_client_until(ctx, &tmp, c->deadline);
	if (client == NULL) {
		out = keep_closing(c, "out of time");
		goto cleanup;
	}
	/* POST /logout?scope=local: ends only the session named by the JWT's session_id. */
	if (gotrue_signout(client, c->rec.access_token, GOTRUE_LOGOUT_LOCAL, &ctx->err) == 0) {
		out = forget(c, "revoked");
	} else if (gotrue_lifecycle_session_gone(&ctx->err)) {
		out = forget(c, "already ended");
	} else {
		out = keep_closing(c, gotrue_error_str(&ctx->err, why, sizeof(why)));
	}
cleanup:
	gotrue_client_free(client);
	return out;
}

enum pg_outcome pg_close_session(struct pg_ctx *ctx)
{
	struct closing c = {.ctx = ctx};
	const char *id;
	enum pg_outcome out = PG_INTERNAL;
	bool own = false;
	int lock = -1, rc;

	/* close_session never waits longer than `timeout`, all requests and locks included. */
	c.deadline = time(NULL) + ctx->cfg->timeout;
	id = pg_session_handle(ctx, &own);
	if (id == NULL) {
		out = PG_NOT_OURS;
		goto cleanup;
	}
	c.store = gotrue_store_open(ctx->pamh, ctx->cfg->state_dir);
	if (c.store == NULL)
		goto cleanup;
	lock = gotrue_store_lock(c.store, id, ms_until(c.deadline));
	if (lock < 0) {
		gotrue_log(ctx->pamh, LOG_ERR, "session record busy; user=%s", ctx->user);
		goto cleanup;
	}
	rc = gotrue_store_read(c.store, id, &c.rec);
	if (rc == -ENOENT) {
		gotrue_log(ctx->pamh, LOG_NOTICE, "session record already gone; user=%s",
			   ctx->user);
		out = PG_NOT_OURS;
		goto cleanup;
	}
	if (rc != 0)
		goto cleanup;
	if (!record_is_ours(ctx, &c.rec, own)) {
		gotrue_log(ctx->pamh, LOG_WARNING,
			   "session handle names a record of another user; user=%s", ctx->user);
		goto cleanup;
	}
	if (c.rec.offline && c.rec.access_token == NULL && c.rec.refresh_token == NULL) {
		/* An offline login (offline.c) opened no GoTrue session: nothing to revoke. */
		out = forget(&c, "offline login, nothing to revoke");
	} else if (c.rec.state == GOTRUE_STORE_REVOKED && c.rec.access_token == NULL &&
		   c.rec.refresh_token == NULL) {
		/* The refresh pass (or `gotruectl sessions revoke`) found the GoTrue session ended
		 * and kept the record, without its tokens, only because this Linux session still
		 * ran. Nothing is left to revoke, so the close has done its whole job by removing
		 * the record: PAM_SUCCESS. This is not an authentication decision (a successful
		 * close grants nothing to anyone), so failing closed does not mean failing here;
		 * an error would only leave a dead record behind and make the application report
		 * a failure that did not happen. A revoked record that still holds a token is
		 * not what the pass writes: it is not trusted to be over and goes through the
		 * ordinary revocation below. */
		out = forget(&c, "already revoked");
	} else if (gotrue_config_load_secret(ctx->pamh, ctx->cfg, GOTRUE_SECRET_API_KEY) != 0) {
		out = keep_closing(&c, "configuration");
	} else {
		out = revoke_session(&c);
	}
	if (out == PG_OK) {
		/* Same-process callers must not find the handle of a closed session again. */
		pam_set_data(ctx->pamh, PG_DATA_HANDLE, NULL, NULL);
		pam_putenv(ctx->pamh, PG_ENV_HANDLE);
	}
cleanup:
	gotrue_store_unlock(lock);
	gotrue_store_record_clear(&c.rec);
	gotrue_store_close(c.store);
	return out;
}
