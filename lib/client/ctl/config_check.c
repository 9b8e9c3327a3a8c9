/* config_check: `gotruectl config check`'s judgement of a loaded config (config_check.h): what
 * would fail a login, leak a secret or admit more users than meant, and what is a deliberate but
 * risky choice (a warning). The grammar itself, and the refusal of bad values, is
 * lib/client/gotrue_config.c's; this file only reads a config that loaded. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_check.h"
#include "http.h"
#include "secure.h"

/* The PEM of jwt_public_key: one public key, a few KiB at most. */
#define PUBLIC_KEY_MAX_SIZE (64 * 1024)

struct check {
	void (*report)(void *ctx, bool warning, const char *problem);
	void *ctx;
	int count;
};

static void vsay(struct check *c, bool warning, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vsay(struct check *c, bool warning, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!warning)
		c->count++;
	if (c->report != NULL)
		c->report(c->ctx, warning, msg);
}

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, false, fmt, ap);
	va_end(ap);
}

static void warning(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warning(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, true, fmt, ap);
	va_end(ap);
}

static void check_url(struct check *c, const struct gotrue_config *cfg, const char *option,
		      const char *url)
{
	char why[256];

	/* A jwks_url that is a path lives under url, which is checked itself. */
	if (url != NULL && url[0] != '/' && gotrue_http_url_check(cfg, url, why, sizeof(why)) != 0)
		problem(c, "%s %s: %s", option, url, why);
}

static void check_secret_file(pam_handle_t *pamh, struct check *c, const char *option,
			      const char *path)
{
	char *secret = NULL;

	/* Loaded and wiped at once: only whether it loads is reported, never what it holds. */
	if (path != NULL && gotrue_config_read_secret(pamh, option, path, &secret) != 0)
		problem(c,
			"%s: %s cannot be used (missing, empty, or wrong owner or mode; it must "
			"be a root-owned regular file with mode 0600 or 0400)",
			option, path);
	gotrue_wipe_free_str(secret);
}

static void check_public_file(pam_handle_t *pamh, struct check *c, const char *option,
			      const char *path, size_t max, const char *marker)
{
	char *text = NULL;
	size_t len = 0;

	if (path == NULL) {
		/* nothing configured */
	} else if (gotrue_read_file(pamh, path, GOTRUE_FILE_CONFIG, max, &text, &len) != 0) {
		problem(c,
			"%s: %s cannot be used (missing, too large, or not a root-owned regular "
			"file that only its owner can write)",
			option, path);
	} else if (marker != NULL && strstr(text, marker) == NULL) {
		problem(c, "%s: %s holds no PEM data (no \"%s\")", option, path, marker);
	}
	gotrue_wipe_free(text, len + 1);
}

/* Whether @algs allows an algorithm of @family: 'H' (HS*), 'R' (RS*) or 'E' (ES*). */
static bool algs_need(char *const *algs, char family)
{
	bool found = false;

	for (; algs != NULL && *algs != NULL && !found; algs++)
		found = (*algs)[0] == family;
	return found;
}

/* The server and the transport to it. */
static void check_server(pam_handle_t *pamh, struct check *c, const struct gotrue_config *cfg)
{
	if (cfg->url == NULL)
		problem(c, "url is not set");
	check_url(c, cfg, "url", cfg->url);
	check_url(c, cfg, "jwks_url", cfg->jwks_url);
	if (cfg->insecure_http_for_testing)
		warning(c,
			"insecure_http_for_testing = yes: passwords may go to whoever listens on "
			"a loopback port; never use it in production");
	if (cfg->timeout < 1 || cfg->timeout > 120)
		problem(c, "timeout %ld is outside 1..120 seconds", cfg->timeout);
	if (cfg->connect_timeout < 1 || cfg->connect_timeout > cfg->timeout)
		problem(c, "connect_timeout %ld must be between 1 and timeout (%ld)",
			cfg->connect_timeout, cfg->timeout);
	if (cfg->max_response < 1024 || cfg->max_response > 64 * 1024 * 1024)
		problem(c, "max_response %zu is outside 1024..67108864 bytes", cfg->max_response);
	check_secret_file(pamh, c, "api_key_file", cfg->api_key_file);
	check_secret_file(pamh, c, "service_role_key_file", cfg->service_role_key_file);
	check_public_file(pamh, c, "ca_file", cfg->ca_file, GOTRUE_CA_FILE_MAX_SIZE, "-----BEGIN ");
}

/* Token verification: a key for every algorithm jwt_algs allows. */
static void check_tokens(pam_handle_t *pamh, struct check *c, const struct gotrue_config *cfg)
{
	bool have_public = cfg->jwt_public_key != NULL || cfg->jwks_url != NULL;

	if (cfg->jwt_secret_file == NULL && !have_public)
		problem(c, "no token verification key configured (jwt_secret_file, jwt_public_key "
			   "or jwks_url): tokens will not be signature-checked");
	check_secret_file(pamh, c, "jwt_secret_file", cfg->jwt_secret_file);
	check_public_file(pamh, c, "jwt_public_key", cfg->jwt_public_key, PUBLIC_KEY_MAX_SIZE,
			  "-----BEGIN ");
	if (algs_need(cfg->jwt_algs, 'H') && cfg->jwt_secret_file == NULL)
		problem(c, "jwt_algs allows HS* algorithms but jwt_secret_file is not set");
	if ((algs_need(cfg->jwt_algs, 'R') || algs_need(cfg->jwt_algs, 'E')) && !have_public)
		problem(c, "jwt_algs allows RS*/ES* algorithms but neither jwt_public_key nor "
			   "jwks_url is set");
	if (cfg->jwt_algs != NULL && cfg->jwt_algs[0] == NULL)
		problem(c, "jwt_algs is empty: no token can be accepted");
	if (cfg->jwt_leeway < 0 || cfg->jwt_leeway > 300)
		problem(c, "jwt_leeway %ld is outside 0..300 seconds", cfg->jwt_leeway);
}

/* Deny by default: only an administrator's app_metadata admits a GoTrue user. */
static void check_admission(struct check *c, const struct gotrue_config *cfg)
{
	bool groups = cfg->allow_groups != NULL && cfg->allow_groups[0] != NULL;

	if (cfg->allow_all_users && groups)
		warning(c, "allow_all_users has no effect while allow_groups is set");
	else if (cfg->allow_all_users)
		warning(c,
			"allow_all_users = yes admits every GoTrue user of the project, anyone who "
			"can sign up included");
	else if (!groups)
		problem(c, "allow_groups is empty and allow_all_users is not set: no GoTrue user "
			   "can log in (name the app_metadata.groups that may)");
	if (cfg->email_fallback && (cfg->email_domains == NULL || cfg->email_domains[0] == NULL ||
				    cfg->email_domains[1] != NULL))
		warning(c, "email_fallback needs exactly one domain in email_domains; it does "
			   "nothing here");
}

/* Who becomes a Unix user, and how they log in. */
static void check_accounts(struct check *c, const struct gotrue_config *cfg)
{
	if (cfg->uid_min < 1000)
		problem(c, "uid_min %lu is below 1000, the range of system accounts", cfg->uid_min);
	if (cfg->uid_min >= cfg->uid_max)
		problem(c, "uid_min %lu must be below uid_max %lu", cfg->uid_min, cfg->uid_max);
	if (cfg->email_domains == NULL || cfg->email_domains[0] == NULL)
		warning(c, "email_domains is empty: users without app_metadata.username "
			   "cannot be mapped");
	check_admission(c, cfg);
	if (cfg->login != GOTRUE_LOGIN_PASSWORD && cfg->mfa != GOTRUE_MFA_REQUIRED)
		warning(c,
			"login = %s: whoever can read a user's mail can log in as them, "
			"unless the user has a second factor (mfa = required refuses users "
			"without one)",
			cfg->login == GOTRUE_LOGIN_EMAIL_CODE ? "email_code"
							      : "password_or_email_code");
}

/* Sessions, the store and the failure throttle. */
static void check_sessions(struct check *c, const struct gotrue_config *cfg)
{
	if (cfg->old_server_logout == GOTRUE_OLD_LOGOUT_GLOBAL &&
	    cfg->server != GOTRUE_SERVER_CURRENT)
		warning(c,
			"old_server_logout = global: on an old server the last session of a user "
			"to close on this host ends every session of theirs, on every host and in "
			"the web application");
	if (cfg->state_dir == NULL || cfg->state_dir[0] != '/')
		problem(c, "state_dir must be an absolute path");
	if (cfg->throttle_user_failures == 0 && cfg->throttle_host_failures == 0)
		warning(c, "throttle_user_failures and throttle_host_failures are 0: one guesser "
			   "can spend this host's request allowance at GoTrue and lock every user "
			   "out");
}

/* Offline login (pam_gotrue(8), OFFLINE LOGIN), when it is on: what it means here, and settings
 * under which it can never be used. */
static void check_offline(struct check *c, const struct gotrue_config *cfg)
{
	warning(c,
		"offline_login = yes: while GoTrue cannot be reached, a user who logged in here "
		"in the last %ld day(s) logs in with that password, even if it was changed or "
		"the user banned since (until the next sync sees the ban)",
		cfg->offline_days);
	if (cfg->login == GOTRUE_LOGIN_EMAIL_CODE)
		warning(c, "offline_login = yes with login = email_code: no password is typed, so "
			   "no offline login is possible");
	if (cfg->offline_mfa == GOTRUE_OFFLINE_MFA_ALLOW)
		warning(c, "offline_mfa = allow: offline, users with a second factor log in with "
			   "their password alone");
	else if (cfg->mfa == GOTRUE_MFA_REQUIRED)
		warning(c,
			"offline_login = yes with mfa = required and offline_mfa = refuse: every "
			"user has a second factor, so nobody can log in offline");
}

int gotrue_config_check(pam_handle_t *pamh, const struct gotrue_config *cfg,
			void (*report)(void *ctx, bool warning, const char *problem), void *ctx)
{
	struct check c = {report, ctx, 0};

	if (cfg->load_problems > 0)
		problem(&c,
			"%u invalid line(s) or argument(s) were ignored (see the messages above)",
			cfg->load_problems);
	check_server(pamh, &c, cfg);
	check_tokens(pamh, &c, cfg);
	check_accounts(&c, cfg);
	check_sessions(&c, cfg);
	if (cfg->offline_login)
		check_offline(&c, cfg);
	return c.count;
}

int gotrue_jwks_fit_algs(const struct gotrue_jwk *keys, int n, char *const *algs, bool need_each,
			 char *why, size_t why_len)
{
	int i, rc = -1;
	bool found;

	if (algs == NULL) {
		rc = 0;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		if (keys[i].alg == NULL || !gotrue_strv_contains(algs, keys[i].alg)) {
			snprintf(why, why_len,
				 "its key %.64s is for %.16s, which jwt_algs does not allow: the "
				 "tokens it signs are refused",
				 keys[i].kid ? keys[i].kid : "(no kid)",
				 keys[i].alg ? keys[i].alg : "?");
			goto cleanup;
		}
	}
	/* HMAC secrets are never published (RFC 7517 section 4.1: "oct" keys stay private to
	 * GoTrue). */
	for (; need_each && *algs != NULL; algs++) {
		found = (*algs)[0] == 'H';
		for (i = 0; i < n && !found; i++)
			found = keys[i].alg != NULL && strcmp(keys[i].alg, *algs) == 0;
		if (!found) {
			snprintf(why, why_len, "it has no key for %.16s, which jwt_algs allows",
				 *algs);
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	return rc;
}
