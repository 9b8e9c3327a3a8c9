/* account: pam_sm_acct_mgmt and pam_sm_setcred. acct_mgmt must work when authentication came from
 * elsewhere (an SSH key), so it never needs this module's authenticate; it holds no service key and
 * makes no request. Its account data comes from one function, lookup_account(), the seam for the
 * private account index. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "accounts.h"
#include "log.h"
#include "pam_gotrue.h"
#include "store.h"

struct account {
	bool found;
	time_t banned_until;
	time_t seen; /* when the data was captured, to prefer the newest */
	char **groups;
};

struct find_ctx {
	const char *login;
	struct account *acct;
};

static int take_newest(void *vctx, const struct gotrue_store_record *rec)
{
	struct find_ctx *f = vctx;
	struct account *a = f->acct;
	size_t n = 0, i;

	if (strcmp(rec->login, f->login) != 0 || rec->state == GOTRUE_STORE_REVOKED)
		return 0;
	if (a->found && rec->updated <= a->seen)
		return 0;
	pg_strv_free(a->groups);
	a->groups = NULL;
	while (rec->groups != NULL && rec->groups[n] != NULL)
		n++;
	if (rec->groups != NULL) {
		a->groups = calloc(n + 1, sizeof(*a->groups));
		if (a->groups == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			a->groups[i] = strdup(rec->groups[i]);
			if (a->groups[i] == NULL)
				return -1;
		}
	}
	a->found = true;
	a->banned_until = rec->banned_until;
	a->seen = rec->updated;
	return 0;
}

/* The private account index, written by `gotruectl sync`. 0 found, 1 not there, -1 error. */
static int lookup_index(struct pg_ctx *ctx, struct account *out)
{
	struct gotrue_account acct = {0};
	char *path = pg_state_path(ctx->cfg, "accounts");
	size_t i;
	int rc = -1;

	if (path == NULL)
		goto cleanup;
	rc = gotrue_accounts_lookup(ctx->pamh, path, ctx->user, &acct);
	if (rc != 0)
		goto cleanup;
	out->groups = calloc(acct.n_groups + 1, sizeof(*out->groups));
	for (i = 0; out->groups != NULL && i < acct.n_groups; i++) {
		out->groups[i] = strdup(acct.groups[i]);
		if (out->groups[i] == NULL)
			break;
	}
	if (out->groups == NULL || i < acct.n_groups) {
		rc = -1;
		goto cleanup;
	}
	out->found = true;
	out->banned_until = acct.banned_until;
cleanup:
	gotrue_account_clear(&acct);
	free(path);
	return rc;
}

/* Where acct_mgmt learns about a user: the account index first; for a user not synced yet, the
 * record of a login on this host with the data GoTrue returned then. Neither: unknown, which
 * fails closed. 0, or -1 on a local error. */
static int lookup_account(struct pg_ctx *ctx, struct account *out)
{
	struct gotrue_store *store = NULL;
	struct find_ctx f = {ctx->user, out};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = lookup_index(ctx, out);
	if (rc <= 0)
		goto cleanup;
	rc = -1;
	store = gotrue_store_open(ctx->pamh, ctx->cfg->state_dir);
	if (store == NULL)
		goto cleanup;
	if (gotrue_store_each(store, take_newest, &f) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	gotrue_store_close(store);
	return rc;
}

enum pg_outcome pg_account(struct pg_ctx *ctx)
{
	struct account a;
	enum pg_outcome out = PG_INTERNAL;

	if (lookup_account(ctx, &a) != 0)
		goto cleanup;
	if (!a.found) {
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"account unknown to GoTrue on this host");
		out = PG_USER_UNKNOWN;
	} else if (a.banned_until > time(NULL)) {
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user, "account denied: banned");
		pg_tell(ctx, PAM_ERROR_MSG, "Your account is locked.");
		out = PG_BANNED;
	} else if (!pg_groups_allowed(ctx, a.groups)) {
		pg_tell(ctx, PAM_ERROR_MSG, "You are not allowed to log in to this host.");
		out = PG_NOT_ALLOWED;
	} else {
		out = PG_OK;
	}
cleanup:
	pg_strv_free(a.groups);
	return out;
}

/* No credentials to establish (Kerberos-style tickets have no GoTrue equivalent): success for a
 * GoTrue user so that `required` stacks pass, PAM_IGNORE for everyone else. */
enum pg_outcome pg_setcred(struct pg_ctx *ctx)
{
	struct account a;
	enum pg_outcome out = PG_INTERNAL;

	if (pg_session_handle(ctx, NULL) != NULL) {
		out = PG_OK;
		goto cleanup;
	}
	if (lookup_account(ctx, &a) != 0)
		goto cleanup;
	out = a.found ? PG_OK : PG_NOT_OURS;
	pg_strv_free(a.groups);
cleanup:
	return out;
}
