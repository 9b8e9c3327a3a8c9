/* util: small pieces the flows share: user messages through the conversation, whether a name is
 * this module's at all (local accounts first), the login name <-> GoTrue account mapping (the seam
 * for the private account index), allow_groups, the session handle, and clients bounded by a
 * deadline. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <security/pam_ext.h>

#include "accounts.h"
#include "api.h"
#include "idmap.h"
#include "log.h"
#include "owner.h"
#include "pam_gotrue.h"
#include "secure.h"
#include "store.h"
#include "user.h"

void pg_tell(struct pg_ctx *ctx, int style, const char *msg)
{
	/* Short, fixed texts only: never a token, never the server's free text. */
	if (!(ctx->flags & PAM_SILENT))
		pam_prompt(ctx->pamh, style, NULL, "%s", msg);
}

/* The codes a user types: digits only once blanks are dropped, 6 to 10 of them (GoTrue's TOTP
 * codes are 6, its email and SMS codes 6 to 10). Normalised into @out (11 bytes). */
static bool code_valid(const char *typed, char out[11])
{
	size_t n = 0;
	bool ok = typed != NULL;

	for (; ok && *typed != '\0'; typed++) {
		if (*typed == ' ' || *typed == '\t' || *typed == '-')
			continue;
		ok = isdigit((unsigned char)*typed) && n < 10;
		if (ok)
			out[n++] = *typed;
	}
	out[n] = '\0';
	ok = ok && n >= 6;
	if (!ok)
		explicit_bzero(out, 11);
	return ok;
}

enum pg_outcome pg_api_failed(struct pg_ctx *ctx, const char *what)
{
	char why[GOTRUE_ERROR_MSG_MAX + GOTRUE_ERROR_CODE_MAX + 32];
	enum pg_outcome out = pg_classify_error(&ctx->err);

	if (out == PG_AUTH_FAILED)
		ctx->secret_refused = true;
	gotrue_log_auth(ctx->pamh, out == PG_AUTH_FAILED ? LOG_NOTICE : LOG_ERR, ctx->user,
			"%s failed (%s)", what, gotrue_error_str(&ctx->err, why, sizeof(why)));
	return out;
}

enum pg_outcome pg_ask_code(struct pg_ctx *ctx, const char *prompt, const char *what,
			    const char *password, char code[11])
{
	char *answer = NULL;
	enum pg_outcome out = PG_AUTH_FAILED;

	if (pam_prompt(ctx->pamh, PAM_PROMPT_ECHO_OFF, &answer, "%s", prompt) != PAM_SUCCESS ||
	    answer == NULL) {
		gotrue_log(ctx->pamh, LOG_ERR,
			   "cannot ask for the %s: the application's conversation refused the "
			   "prompt; user=%s",
			   what, ctx->user);
		goto cleanup;
	}
	/* OpenSSH's PasswordAuthentication answers every echo-off prompt with the password
	 * (auth-pam.c, sshpam_passwd_conv): such a conversation cannot ask for a code, and the
	 * password is never sent as one. */
	if (password != NULL && *password != '\0' && strcmp(answer, password) == 0) {
		gotrue_log(
			ctx->pamh, LOG_ERR,
			"the %s prompt was answered with the password: this login cannot ask for "
			"a code (sshd with PasswordAuthentication only; enable "
			"KbdInteractiveAuthentication); refused; user=%s",
			what, ctx->user);
		goto cleanup;
	}
	if (!code_valid(answer, code)) {
		gotrue_log(ctx->pamh, LOG_NOTICE,
			   "the answer to the %s prompt is not a code (sshd with "
			   "PasswordAuthentication only answers the password); user=%s",
			   what, ctx->user);
		goto cleanup;
	}
	out = PG_OK;
cleanup:
	gotrue_wipe_free_str(answer);
	return out;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

char *pg_state_path(const struct gotrue_config *cfg, const char *name)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", cfg->state_dir, name) < 0)
		path = NULL;
	return path;
}

void pg_mapped_clear(struct pg_mapped *m)
{
	free(m->email);
	free(m->phone);
	free(m->user_id);
	gotrue_account_clear(&m->entry);
	memset(m, 0, sizeof(*m));
}

enum pg_outcome pg_local_first(struct pg_ctx *ctx, enum pg_phase phase)
{
	const void *own_handle = NULL;
	enum gotrue_owner owner;
	enum pg_outcome out = PG_OK;
	int e = 0;

	owner = gotrue_owner_of_name(ctx->user, &e);
	if (owner == GOTRUE_OWNER_NONE || owner == GOTRUE_OWNER_OURS)
		goto cleanup;
	/* sudo authenticates the invoking user, then sets PAM_USER to the target (root) for
	 * setcred and the session: a handle from pam_set_data was left by this transaction's own
	 * authenticate of a GoTrue user, and session.c lets it name only that user's record. It
	 * cannot be planted, unlike one in the PAM environment. */
	if ((phase == PG_PHASE_CRED || phase == PG_PHASE_SESSION) &&
	    pam_get_data(ctx->pamh, PG_DATA_HANDLE, &own_handle) == PAM_SUCCESS &&
	    own_handle != NULL)
		goto cleanup;
	if (owner == GOTRUE_OWNER_ERROR)
		gotrue_log(ctx->pamh, LOG_NOTICE,
			   "cannot tell whether another account source holds the name (%s); "
			   "not a GoTrue user; user=%s",
			   strerror(e), ctx->user);
	else
		gotrue_debug(ctx->pamh, ctx->args.debug,
			     "an account of another source (files, LDAP, SSSD...), not a GoTrue "
			     "user; user=%s",
			     ctx->user);
	out = phase == PG_PHASE_CRED || phase == PG_PHASE_SESSION ? PG_NOT_OURS : PG_USER_UNKNOWN;
cleanup:
	return out;
}

enum pg_outcome pg_map_user(struct pg_ctx *ctx, struct pg_mapped *m)
{
	const struct gotrue_config *cfg = ctx->cfg;
	struct gotrue_account acct = {0};
	char *index = NULL;
	enum pg_outcome out = PG_USER_UNKNOWN;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!gotrue_idmap_valid_name(ctx->user)) {
		gotrue_debug(ctx->pamh, cfg->debug, "not a valid GoTrue login name; user=%s",
			     ctx->user);
		goto cleanup;
	}
	/* The private account index written by `gotruectl sync` answers first. */
	index = pg_state_path(cfg, "accounts");
	if (index == NULL) {
		out = PG_INTERNAL;
		goto cleanup;
	}
	rc = gotrue_accounts_lookup(ctx->pamh, index, ctx->user, &acct);
	if (rc < 0) {
		out = PG_INTERNAL; /* an index we cannot trust: fail closed (logged) */
		goto cleanup;
	}
	if (rc == 0) {
		if (acct.user_id == NULL || (acct.email == NULL && acct.phone == NULL))
			goto cleanup;
		m->user_id = strdup(acct.user_id);
		if (acct.email != NULL)
			m->email = strdup(acct.email);
		else
			m->phone = strdup(acct.phone);
		if (m->user_id == NULL || (m->email == NULL && m->phone == NULL)) {
			out = PG_INTERNAL;
			goto cleanup;
		}
		/* Kept whole: a successful login compares it with what GoTrue returns. */
		m->entry = acct;
		memset(&acct, 0, sizeof(acct));
		m->indexed = true;
		out = PG_OK;
		goto cleanup;
	}
	/* Not synced yet. A name of another account source never gets here (pg_local_first).
	 * Then name@domain (email_fallback), only when the administrator enabled it
	 * and exactly one domain is configured; pg_user_matches() then checks that the user GoTrue
	 * returns maps back to this name. Otherwise no request is sent for a name sync never saw.
	 */
	if (!cfg->email_fallback) {
		gotrue_debug(ctx->pamh, cfg->debug,
			     "not in the account index and email_fallback is off; user=%s",
			     ctx->user);
		goto cleanup;
	}
	if (strv_len(cfg->email_domains) != 1) {
		gotrue_debug(ctx->pamh, cfg->debug,
			     "not in the account index and no single email_domains; user=%s",
			     ctx->user);
		goto cleanup;
	}
	if (asprintf(&m->email, "%s@%s", ctx->user, cfg->email_domains[0]) < 0) {
		m->email = NULL;
		out = PG_INTERNAL;
		goto cleanup;
	}
	out = PG_OK;
cleanup:
	gotrue_account_clear(&acct);
	free(index);
	return out;
}

bool pg_user_matches(struct pg_ctx *ctx, const struct pg_mapped *m, const struct gotrue_user *u,
		     struct gotrue_account *mapped)
{
	struct gotrue_account acct = {0};
	char why[256] = "";
	bool match = false;

	if (m->user_id != NULL && strcmp(m->user_id, u->id) != 0) {
		snprintf(why, sizeof(why), "user id differs from the account index");
	} else if (gotrue_idmap_user(ctx->cfg, u, &acct, why, sizeof(why)) != 0) {
		/* why says it */
	} else if (acct.name == NULL || strcmp(acct.name, ctx->user) != 0) {
		snprintf(why, sizeof(why), "the account maps to another login name");
	} else {
		match = true;
	}
	if (!match)
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"GoTrue account is not this login (%s)", why);
	if (match && mapped != NULL) {
		*mapped = acct;
		memset(&acct, 0, sizeof(acct));
	}
	gotrue_account_clear(&acct);
	return match;
}

/* The index writes a missing string as "" (lib/directory/accounts.c): the two are the same entry.
 */
static bool same_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

bool pg_account_equal(const struct gotrue_account *a, const struct gotrue_account *b)
{
	size_t i;

	if (a->uid != b->uid || a->gid != b->gid || a->banned_until != b->banned_until ||
	    a->mfa != b->mfa || a->created_at != b->created_at || a->n_groups != b->n_groups ||
	    !same_str(a->name, b->name) || !same_str(a->gecos, b->gecos) ||
	    !same_str(a->home, b->home) || !same_str(a->shell, b->shell) ||
	    !same_str(a->user_id, b->user_id) || !same_str(a->email, b->email) ||
	    !same_str(a->phone, b->phone))
		return false;
	/* In order: the cache lists supplementary groups as app_metadata.groups gives them. */
	for (i = 0; i < a->n_groups; i++) {
		if (!same_str(a->groups[i], b->groups[i]))
			return false;
	}
	return true;
}

bool pg_groups_allowed(struct pg_ctx *ctx, char *const *groups)
{
	bool admitted = gotrue_idmap_admitted(ctx->cfg, groups, strv_len(groups));

	if (!admitted && strv_len(ctx->cfg->allow_groups) == 0)
		gotrue_log_auth(ctx->pamh, LOG_WARNING, ctx->user,
				"no GoTrue user is admitted: allow_groups is empty and "
				"allow_all_users is not set");
	else if (!admitted)
		gotrue_log_auth(ctx->pamh, LOG_NOTICE, ctx->user,
				"not admitted: in no allow_groups group");
	return admitted;
}

void pg_strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

char **pg_app_groups(const struct gotrue_user *u)
{
	json_object *arr, *g;
	char **out = NULL;
	size_t n, i, k = 0;

	if (u->app_metadata == NULL ||
	    !json_object_object_get_ex(u->app_metadata, "groups", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	n = json_object_array_length(arr);
	if (n > GOTRUE_STORE_GROUPS_MAX)
		n = GOTRUE_STORE_GROUPS_MAX;
	out = calloc(n + 1, sizeof(*out));
	for (i = 0; out != NULL && i < n; i++) {
		g = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(g, json_type_string))
			continue; /* not a group name: grants nothing */
		out[k] = strdup(json_object_get_string(g));
		if (out[k] == NULL) {
			pg_strv_free(out);
			out = NULL;
			break;
		}
		k++;
	}
	return out;
}

const char *pg_session_handle(struct pg_ctx *ctx, bool *own)
{
	const void *data = NULL;
	const char *id = NULL;
	bool mine = false;

	/* pam_set_data first: it was set by this very process and cannot be injected. The PAM
	 * environment carries it across sshd's fork; a value planted there (pam_env user files)
	 * can at most name another pending record, and open_session checks that it belongs to
	 * PAM_USER and is still pending. */
	if (pam_get_data(ctx->pamh, PG_DATA_HANDLE, &data) == PAM_SUCCESS && data != NULL) {
		id = data;
		mine = true;
	} else {
		id = pam_getenv(ctx->pamh, PG_ENV_HANDLE);
	}
	if (id != NULL && !gotrue_store_id_valid(id)) {
		gotrue_log(ctx->pamh, LOG_WARNING, "ignoring a malformed %s; user=%s",
			   PG_ENV_HANDLE, ctx->user);
		id = NULL;
		mine = false;
	}
	if (own != NULL)
		*own = mine;
	return id;
}

struct gotrue_client *pg_client_until(struct pg_ctx *ctx, struct gotrue_config *tmp,
				      time_t deadline)
{
	long left = (long)(deadline - time(NULL));

	if (left < 1)
		return NULL;
	/* A shallow copy with a shorter timeout: the pointers stay owned by ctx->cfg. */
	*tmp = *ctx->cfg;
	if (tmp->timeout > left)
		tmp->timeout = left;
	if (tmp->connect_timeout > tmp->timeout)
		tmp->connect_timeout = tmp->timeout;
	return gotrue_client_new(ctx->pamh, tmp);
}
