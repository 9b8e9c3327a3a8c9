/* enforce: after a bundle is installed, the sessions on this host of users the new account
 * index no longer admits (deleted, banned, out of allow_groups, or whose name now belongs to
 * another GoTrue account) end at once: with revoked_session = terminate they are revoked in
 * GoTrue and their Linux sessions ended, as `gotruectl sessions revoke` does
 * (lib/sync/lifecycle.c); with log they are revoked in GoTrue and logged, and their Linux
 * sessions run on. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "array.h"
#include "enforce.h"
#include "lifecycle.h"
#include "log.h"
#include "store.h"
#include "sync_write.h"

struct refused {
	pam_handle_t *pamh;
	const char *index;
	time_t now;
	char **logins;
	size_t n, cap;
	int rc;
};

static bool listed(const struct refused *r, const char *login)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->logins[i], login) == 0)
			return true;
	return false;
}

static int each_record(void *ctx, const struct gotrue_store_record *rec)
{
	struct refused *r = ctx;
	struct gotrue_account a = {0};
	bool out;
	int found;

	if (rec->state == GOTRUE_STORE_REVOKED || rec->login == NULL || listed(r, rec->login))
		return 0;
	found = gotrue_accounts_lookup(r->pamh, r->index, rec->login, &a);
	/* An index that cannot be read decides nothing: the refresh pass still asks GoTrue. */
	out = found == 1 ||
	      (found == 0 && (rec->user_id == NULL || strcmp(a.user_id, rec->user_id) != 0 ||
			      a.banned_until > r->now));
	gotrue_account_clear(&a);
	if (!out)
		return 0;
	if (gotrue_grow((void **)&r->logins, &r->cap, r->n + 1, sizeof(*r->logins)) != 0 ||
	    (r->logins[r->n] = strdup(rec->login)) == NULL) {
		r->rc = -1;
		return 1;
	}
	r->n++;
	return 0;
}

static void end_sessions(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *login,
			 unsigned int *ended, unsigned int *flagged)
{
	struct gotrue_refresh_summary sum = {0};
	bool terminate = cfg->revoked_session == GOTRUE_REVOKED_TERMINATE;
	int r;

	r = gotrue_sessions_revoke_as_configured(pamh, cfg, login, &sum);
	gotrue_log(pamh, r == 0 ? LOG_NOTICE : LOG_WARNING,
		   "the fleet bundle no longer admits the user: %u session(s) revoked, %u failed, "
		   "%s; user=%s",
		   sum.revoked, sum.failed,
		   terminate ? "their Linux sessions ended"
			     : "their Linux sessions run on (revoked_session = log)",
		   login);
	if (terminate)
		(*ended)++;
	else
		(*flagged)++;
}

int gotrue_fleet_enforce(pam_handle_t *pamh, const struct gotrue_config *cfg, unsigned int *ended,
			 unsigned int *flagged)
{
	struct refused r = {.pamh = pamh, .now = time(NULL)};
	struct gotrue_store *st = NULL;
	char *index = gotrue_sync_path(cfg, NULL, "accounts");
	size_t i;
	int rc = -1;

	*ended = *flagged = 0;
	r.index = index;
	st = index != NULL ? gotrue_store_open(pamh, cfg->state_dir) : NULL;
	if (st == NULL || gotrue_store_each(st, each_record, &r) < 0 || r.rc != 0)
		goto cleanup;
	/* The store is closed first: the revocation opens it again and locks each record. */
	gotrue_store_close(st);
	st = NULL;
	for (i = 0; i < r.n; i++)
		end_sessions(pamh, cfg, r.logins[i], ended, flagged);
	rc = 0;
cleanup:
	gotrue_store_close(st);
	for (i = 0; i < r.n; i++)
		free(r.logins[i]);
	free(r.logins);
	free(index);
	return rc;
}
