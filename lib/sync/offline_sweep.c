/* offline_sweep: after a sync, the offline verifiers of users who are no longer this host's, or
 * are banned, are erased (lib/sync/offline_sweep.h). An offline login asks the account index
 * again anyway (pam/offline.c); erasing makes the verifier end with what made it usable: a user
 * unbanned or listed again later logs in online first, never with a password from before. */
#include <config.h>

#include <string.h>
#include <syslog.h>
#include <time.h>

#include "accounts.h"
#include "log.h"
#include "offline.h"
#include "offline_sweep.h"

struct sweep {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg;
	const char *index;
	time_t now;
	int erased;
};

/* Why the index no longer backs @v, or NULL when it does. */
static const char *unbacked(struct sweep *w, const struct gotrue_offline_verifier *v)
{
	struct gotrue_account a = {0};
	const char *why = NULL;
	int r = gotrue_accounts_lookup(w->pamh, w->index, v->login, &a);

	/* An index that cannot be read backs nothing: forgetting is the safe direction, and the
	 * server was just reachable, so the user can log in online. */
	if (r != 0)
		why = r > 0 ? "no longer in the account index" : "the account index cannot be read";
	else if (a.user_id == NULL || strcmp(a.user_id, v->user_id) != 0)
		why = "the name now belongs to another GoTrue account";
	else if (a.banned_until > w->now)
		why = "banned";
	gotrue_account_clear(&a);
	return why;
}

static int sweep_one(void *ctx, const char *name, const struct gotrue_offline_verifier *v)
{
	struct sweep *w = ctx;
	const char *why = v != NULL ? unbacked(w, v) : "not a verifier";

	if (why != NULL && gotrue_offline_forget(w->pamh, w->cfg->state_dir, name) == 0) {
		gotrue_log(w->pamh, LOG_NOTICE, "offline verifier erased (%s); user=%s", why,
			   v != NULL ? v->login : name);
		w->erased++;
	}
	return 0;
}

int gotrue_sync_offline_sweep(pam_handle_t *pamh, const struct gotrue_config *cfg,
			      const char *index_path)
{
	struct sweep w = {.pamh = pamh, .cfg = cfg, .index = index_path, .now = time(NULL)};
	int rc = gotrue_offline_each(pamh, cfg->state_dir, sweep_one, &w);

	if (rc != 0)
		gotrue_log(
			pamh, LOG_ERR,
			"cannot read the offline verifiers to erase those of users gone or banned; "
			"path=%s/%s",
			cfg->state_dir, GOTRUE_OFFLINE_DIR);
	return rc != 0 ? -1 : w.erased;
}
