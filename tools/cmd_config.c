/* cmd_config: `config check`. Every problem gotrue_config_check() finds in the config (and
 * gotrue_fleet_check() in its fleet part, with the age of the bundle in force), then the
 * server itself: GET /health (reachable, its version, its generation: does /logout honour scope?
 * and whether TLS verified), GET /settings (open sign-ups) and the key set at jwks_url (there, and
 * fit for jwt_algs). Exit 0 only when there is no problem at all: 3 for config problems, 4 when
 * the config is fine but the server is not. */
#include <config.h> /* autoconf */

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_ctl.h"
#include "config_check.h"
#include "fleet.h"
#include "gotrue_jwt.h"
#include "jwks.h"
#include "jwks_cache.h"
#include "secure.h"

#include "gotruectl.h"

struct check_ctx {
	const struct ctl *ctl;
	json_object *problems, *warnings;
	int count;
};

static void report(void *ctx, bool warning, const char *problem)
{
	struct check_ctx *cc = ctx;

	if (!warning)
		cc->count++;
	json_object_array_add(warning ? cc->warnings : cc->problems,
			      json_object_new_string(problem));
	if (!cc->ctl->json)
		printf("%s: %s\n", warning ? "warning" : "problem", problem);
}

/* GET /settings: open sign-ups mean anyone can make a GoTrue account. Only allow_groups keeps
 * such accounts off this host; with allow_all_users they would log in. */
static void check_signups(struct check_ctx *cc, struct gotrue_client *client,
			  const struct gotrue_config *cfg)
{
	struct gotrue_error err = {0};
	json_object *settings = NULL, *v;

	if (gotrue_settings(client, &settings, &err) != 0) {
		report(cc, true, "cannot read /settings to see whether sign-ups are open");
	} else if (json_object_object_get_ex(settings, "disable_signup", &v) &&
		   !json_object_get_boolean(v)) {
		if (cfg->allow_all_users &&
		    (cfg->allow_groups == NULL || cfg->allow_groups[0] == NULL))
			report(cc, false,
			       "sign-ups are open on the server and allow_all_users = yes: anyone "
			       "who signs up can log in to this host");
		else
			report(cc, true,
			       "sign-ups are open on the server: anyone can create a GoTrue "
			       "account (only allow_groups keeps it off this host)");
	}
	json_object_put(settings);
	gotrue_error_clear(&err);
}

/* GET jwks_url, as the PAM module does before it checks a token: a URL that answers no key set,
 * or keys that jwt_algs would refuse, fail every login. A set without keys is what a server that
 * signs HS256 only publishes (its secret is never published). Adds "jwks_keys" to @server. */
static void check_jwks(struct check_ctx *cc, struct gotrue_client *client,
		       const struct gotrue_config *cfg, json_object *server)
{
	struct gotrue_error err = {0};
	struct gotrue_jwk *keys = NULL;
	char why[GOTRUE_ERROR_CODE_MAX + GOTRUE_ERROR_MSG_MAX + 160], err_text[sizeof(why)];
	char fit[256];
	json_object *list = json_object_new_array();
	int n;

	n = gotrue_jwks_fetch(cfg, client, &keys, &err);
	if (n < 0) {
		snprintf(why, sizeof(why), "jwks_url %s: %s: no token can be verified with it",
			 cfg->jwks_url, gotrue_error_str(&err, err_text, sizeof(err_text)));
		report(cc, false, why);
	} else if (gotrue_jwks_fit_algs(keys, n, cfg->jwt_algs, cfg->jwt_public_key == NULL, fit,
					sizeof(fit)) != 0) {
		snprintf(why, sizeof(why), "jwks_url %s: %s", cfg->jwks_url, fit);
		report(cc, false, why);
	} else if (n == 0) {
		snprintf(why, sizeof(why),
			 "jwks_url %s publishes no usable key (an HS256-only server's set is "
			 "empty)%s",
			 cfg->jwks_url,
			 cfg->jwt_secret_file || cfg->jwt_public_key
				 ? ""
				 : ": with no other key configured, no token can be verified");
		report(cc, cfg->jwt_secret_file || cfg->jwt_public_key, why);
	} else if (cfg->jwt_secret_file && cfg->jwt_verify == GOTRUE_JWT_VERIFY_LOCAL) {
		/* A server that publishes keys signs its tokens with them. */
		snprintf(why, sizeof(why),
			 "jwt_secret_file: jwks_url %s publishes the server's signing keys, so the "
			 "JWT secret verifies only tokens signed before the server changed keys, "
			 "and root here can mint a token for any user with it: remove it from "
			 "this host",
			 cfg->jwks_url);
		report(cc, true, why);
	}
	for (int i = 0; i < n; i++) {
		json_object *k = json_object_new_object();

		json_object_object_add(k, "alg",
				       keys[i].alg ? json_object_new_string(keys[i].alg) : NULL);
		json_object_object_add(k, "kid",
				       keys[i].kid ? json_object_new_string(keys[i].kid) : NULL);
		json_object_array_add(list, k);
	}
	json_object_object_add(server, "jwks_keys", list);
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	gotrue_error_clear(&err);
}

/* The reachable server, for people; "jwks: 1 key: ES256 (kid ...)" from what check_jwks found. */
static void print_server(const char *url, const char *version, const char *generation,
			 const char *tls, json_object *server)
{
	json_object *list, *k;
	size_t i, n;

	printf("server: %s: reachable\n", url);
	printf("version: %s\n", version ? version : "unknown");
	printf("generation: %s\n", !generation ? "unknown (version not parsable)"
				   : strcmp(generation, "old") == 0
					   ? "old (/logout ends every session of the user, "
					     "whatever the scope)"
					   : "current (/logout honours scope)");
	printf("tls: %s\n", tls);
	if (!json_object_object_get_ex(server, "jwks_keys", &list))
		list = NULL;
	n = list ? json_object_array_length(list) : 0;
	if (list)
		printf("jwks: %zu key%s%s", n, n == 1 ? "" : "s", n ? ":" : "");
	for (i = 0; i < n; i++) {
		const char *alg, *kid;

		k = json_object_array_get_idx(list, i);
		alg = json_object_get_string(json_object_object_get(k, "alg"));
		kid = json_object_get_string(json_object_object_get(k, "kid"));
		printf(" %s", alg ? alg : "?");
		if (kid)
			printf(" (kid %s)", kid);
	}
	if (list)
		printf("\n");
}

/* What GET /health said of the server. */
struct probe {
	bool reachable;
	const char *version;	/* as /health reports it, or NULL */
	const char *generation; /* "current", "old", or NULL when the version does not parse */
	const char *tls;	/* "verified", "failed", "unknown" or "not used" */
	json_object *health;
	struct gotrue_error err;
};

/* GET /health, and when it answers, the checks that need the server (sign-ups, the key set). */
static void probe_server(struct ctl *ctl, struct check_ctx *cc, json_object *server,
			 struct probe *pr)
{
	bool https = ctl->cfg->url && strncmp(ctl->cfg->url, "https://", 8) == 0;
	json_object *v;

	pr->tls = https ? "unknown" : "not used";
	if (!ctl->cfg->url) {
		/* nothing to try */
	} else if (ctl_client(ctl, false) != CTL_EXIT_OK) {
		report(cc, false, "cannot set up a client for the server (see above)");
	} else if (gotrue_health(ctl->client, &pr->health, &pr->err) != 0) {
		if (pr->err.kind == GOTRUE_ERR_TLS)
			pr->tls = "failed";
	} else {
		pr->reachable = true;
		if (https)
			pr->tls = "verified";
		if (json_object_object_get_ex(pr->health, "version", &v) &&
		    json_object_is_type(v, json_type_string))
			pr->version = json_object_get_string(v);
		if (pr->version &&
		    gotrue_version_parse(pr->version, &(int){0}, &(int){0}, &(int){0}) == 0)
			pr->generation = gotrue_version_honours_logout_scope(pr->version)
						 ? "current"
						 : "old";
		check_signups(cc, ctl->client, ctl->cfg);
		if (ctl->cfg->jwks_url)
			check_jwks(cc, ctl->client, ctl->cfg, server);
	}
}

/* The server's part of the result: into @server for --json, and printed for people. */
static void report_server(const struct ctl *ctl, const struct probe *pr, json_object *server)
{
	char buf[GOTRUE_ERROR_CODE_MAX + GOTRUE_ERROR_MSG_MAX + 64];
	const char *url = ctl->cfg->url;

	json_object_object_add(server, "url", url ? json_object_new_string(url) : NULL);
	json_object_object_add(server, "reachable", json_object_new_boolean(pr->reachable));
	json_object_object_add(server, "version",
			       pr->version ? json_object_new_string(pr->version) : NULL);
	json_object_object_add(server, "generation",
			       pr->generation ? json_object_new_string(pr->generation) : NULL);
	json_object_object_add(server, "tls", json_object_new_string(pr->tls));
	if (url && !pr->reachable && pr->err.kind != GOTRUE_OK) {
		json_object_object_add(
			server, "error",
			json_object_new_string(gotrue_error_str(&pr->err, buf, sizeof(buf))));
		if (!ctl->json)
			printf("server: %s: UNREACHABLE: %s\n", url, buf);
	} else if (pr->reachable && !ctl->json) {
		print_server(url, pr->version, pr->generation, pr->tls, server);
	}
}

/* The --json document: whether all is well, the problems, the warnings and (when the config
 * loaded) the server and the offline login state. */
static void print_result(const struct check_ctx *cc, bool ok, json_object *server,
			 json_object *offline)
{
	json_object *doc = json_object_new_object();

	json_object_object_add(doc, "ok", json_object_new_boolean(ok));
	json_object_object_add(doc, "problems", json_object_get(cc->problems));
	if (server) {
		json_object_object_add(doc, "warnings", json_object_get(cc->warnings));
		json_object_object_add(doc, "server", json_object_get(server));
		json_object_object_add(doc, "offline", json_object_get(offline));
	}
	ctl_print_json(doc);
}

int cmd_config_check(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct check_ctx cc = {.ctl = ctl};
	struct probe pr = {0};
	json_object *server = NULL, *offline = NULL;
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, NULL, NULL);
	if (rc == CTL_CONTINUE && optind < argc)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	cc.problems = json_object_new_array();
	cc.warnings = json_object_new_array();
	server = json_object_new_object();
	if (!cc.problems || !cc.warnings || !server) {
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	/* A file that cannot be read or parsed is the problem; the library logged the details. */
	rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK && ctl->json) {
		report(&cc, false, "the config file cannot be loaded");
		print_result(&cc, false, NULL, NULL);
	}
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	gotrue_config_check(NULL, ctl->cfg, report, &cc);
	gotrue_fleet_check(NULL, ctl->cfg, report, &cc);
	offline = ctl_offline_state(ctl);
	probe_server(ctl, &cc, server, &pr);
	report_server(ctl, &pr, server);
	if (cc.count > 0)
		rc = CTL_EXIT_CONFIG;
	else if (!pr.reachable)
		rc = CTL_EXIT_UNREACHABLE;
	if (ctl->json)
		print_result(&cc, rc == CTL_EXIT_OK, server, offline);
	else
		printf("%d problem%s\n", cc.count, cc.count == 1 ? "" : "s");
cleanup:
	json_object_put(pr.health);
	json_object_put(server);
	json_object_put(offline);
	json_object_put(cc.problems);
	json_object_put(cc.warnings);
	gotrue_error_clear(&pr.err);
	return rc;
}
