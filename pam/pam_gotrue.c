/* pam_gotrue: the six PAM entry points (pam_sm_*(3)). Each one parses its options, runs one flow
 * (auth.c, account.c, session.c, chauthtok.c), maps the outcome with pg_result() and cleans up. No
 * business logic lives here. */
#include <config.h>

#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "log.h"
#include "pam_gotrue.h"

/* Arguments handled by the module itself; every other one is a config key (gotrue_config_set). */
static const char *const own_flags[] = {
	"use_first_pass", "try_first_pass", "ignore_unknown_user", "ignore_authinfo_unavail", NULL,
};

static void parse_own_flags(struct pg_args *args, int argc, const char **argv)
{
	int i;

	memset(args, 0, sizeof(*args));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "use_first_pass") == 0)
			args->use_first_pass = true;
		else if (strcmp(argv[i], "try_first_pass") == 0)
			args->try_first_pass = true;
		else if (strcmp(argv[i], "ignore_unknown_user") == 0)
			args->ignore_unknown_user = true;
		else if (strcmp(argv[i], "ignore_authinfo_unavail") == 0)
			args->ignore_authinfo_unavail = true;
		/* Also a config key (left to gotrue_config_load): read here as well, for what is
		 * logged before the config is. */
		else if (strcmp(argv[i], "debug") == 0 || strcmp(argv[i], "debug=yes") == 0 ||
			 strcmp(argv[i], "debug=true") == 0 || strcmp(argv[i], "debug=1") == 0)
			args->debug = true;
	}
}

/* The user name, whether it is this module's at all, then the options. Returns PG_OK or the
 * outcome to report. A name that belongs to another account source is answered before
 * gotrue.conf is read: a config or account index that cannot be used must never stand between
 * root (or any local account) and pam_unix. */
static enum pg_outcome ctx_init(struct pg_ctx *ctx, pam_handle_t *pamh, int argc, const char **argv,
				enum pg_phase phase)
{
	const void *item = NULL;
	enum pg_outcome out = PG_INTERNAL;

	memset(ctx, 0, sizeof(*ctx));
	ctx->pamh = pamh;
	parse_own_flags(&ctx->args, argc, argv);
	if (phase == PG_PHASE_AUTH || phase == PG_PHASE_PASSWORD) {
		if (pam_get_user(pamh, &ctx->user, NULL) != PAM_SUCCESS)
			ctx->user = NULL;
	} else if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS) {
		ctx->user = item;
	}
	if (ctx->user == NULL || *ctx->user == '\0') {
		gotrue_log(pamh, LOG_ERR, "no user name");
		out = PG_USER_UNKNOWN;
		goto cleanup;
	}
	out = pg_local_first(ctx, phase);
	if (out != PG_OK)
		goto cleanup;
	out = PG_INTERNAL;
	ctx->cfg = gotrue_config_new();
	if (ctx->cfg == NULL)
		goto cleanup;
	if (gotrue_config_load(pamh, ctx->cfg, argc, argv, own_flags) != 0) {
		out = PG_CONFIG;
		goto cleanup;
	}
	out = PG_OK;
cleanup:
	return out;
}

static void ctx_clear(struct pg_ctx *ctx)
{
	gotrue_config_free(ctx->cfg);
	gotrue_error_clear(&ctx->err);
	memset(ctx, 0, sizeof(*ctx));
}

/* The shape of every entry point: init, flow, map, clean up. */
static int run(pam_handle_t *pamh, int flags, int argc, const char **argv, enum pg_phase phase,
	       bool close_session)
{
	struct pg_ctx ctx;
	enum pg_outcome out;
	int rc;

	out = ctx_init(&ctx, pamh, argc, argv, phase);
	ctx.flags = flags;
	if (out == PG_OK) {
		switch (phase) {
		case PG_PHASE_AUTH:
			out = pg_authenticate(&ctx);
			break;
		case PG_PHASE_ACCOUNT:
			out = pg_account(&ctx);
			break;
		case PG_PHASE_CRED:
			out = pg_setcred(&ctx);
			break;
		case PG_PHASE_SESSION:
			out = close_session ? pg_close_session(&ctx) : pg_open_session(&ctx);
			break;
		case PG_PHASE_PASSWORD:
			out = pg_chauthtok(&ctx, flags);
			break;
		}
	}
	rc = pg_apply_ignore(&ctx.args, pg_result(&ctx, phase, out));
	gotrue_debug(pamh, ctx.args.debug || (ctx.cfg != NULL && ctx.cfg->debug),
		     "result %s; user=%s", pam_strerror(pamh, rc), ctx.user ? ctx.user : "?");
	ctx_clear(&ctx);
	return rc;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, PG_PHASE_AUTH, false);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, PG_PHASE_CRED, false);
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, PG_PHASE_ACCOUNT, false);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, PG_PHASE_SESSION, false);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, PG_PHASE_SESSION, true);
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, PG_PHASE_PASSWORD, false);
}
