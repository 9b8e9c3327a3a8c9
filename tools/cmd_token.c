/* cmd_token: `token verify` (signature, alg allow-list and claims checked by
 * lib/client/gotrue_jwt.c with the keys of the config) and `token peek` (decoded WITHOUT any check,
 * for looking only). The token is read from stdin, or from the terminal without echo: never from
 * argv. A `gotruectl --json` session document on stdin works too; its access_token is taken. */
#include <config.h> /* autoconf */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gotrue_jwt.h"
#include "secure.h"

#include "gotruectl.h"

enum {
	OPT_AUD = CTL_OPT_LOCAL,
	OPT_ISS,
	OPT_SUB,
	OPT_CLAIM,
};

/* --claim K=V: V is taken as JSON when it parses as a JSON scalar (false, 2, null), else as a
 * string, so that `--claim aal=aal2` and `--claim is_anonymous=false` both mean what they say. */
static int add_claim(const struct ctl *ctl, json_object *literal, const char *kv)
{
	const char *eq = strchr(kv, '=');
	json_object *val;
	char *key = NULL;
	int rc = CTL_CONTINUE;

	if (!eq || eq == kv) {
		rc = ctl_usage_error(ctl, "--claim takes KEY=VALUE, not '%s'", kv);
		goto cleanup;
	}
	key = strndup(kv, (size_t)(eq - kv));
	if (!key) {
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	val = json_tokener_parse(eq + 1);
	if (val && (json_object_is_type(val, json_type_object) ||
		    json_object_is_type(val, json_type_array))) {
		json_object_put(val);
		val = NULL;
	}
	if (!val && strcmp(eq + 1, "null") != 0)
		val = json_object_new_string(eq + 1);
	json_object_object_add(literal, key, val);
cleanup:
	free(key);
	return rc;
}

static char *read_token(const struct ctl *ctl, int *rc)
{
	/* A pipe or file is read as is; a terminal gets a prompt without echo. */
	return ctl_read_secret(ctl, !isatty(STDIN_FILENO), "token", "access_token", rc);
}

static void print_claims_human(const struct gotrue_claims *cl)
{
	char buf[32];
	size_t i;

	printf("%-12s %s\n", "sub:", cl->sub ? cl->sub : "-");
	printf("%-12s %s\n", "email:", cl->email ? cl->email : "-");
	printf("%-12s %s\n", "role:", cl->role ? cl->role : "-");
	printf("%-12s", "aud:");
	for (i = 0; cl->aud && cl->aud[i]; i++)
		printf(" %s", cl->aud[i]);
	printf("%s\n", cl->aud && cl->aud[0] ? "" : " -");
	printf("%-12s %s\n", "iss:", cl->iss ? cl->iss : "-");
	printf("%-12s %s\n", "session_id:", cl->session_id ? cl->session_id : "-");
	printf("%-12s %s\n", "aal:", cl->aal ? cl->aal : "-");
	printf("%-12s %s\n", "iat:", ctl_time_str(cl->iat, buf, sizeof(buf)));
	printf("%-12s %s (in %ld s)\n", "exp:", ctl_time_str(cl->exp, buf, sizeof(buf)),
	       (long)(cl->exp - time(NULL)));
	printf("%-12s %s\n", "claims:",
	       json_object_to_json_string_ext(cl->all, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* What `token verify` expects beyond the config: --aud, --iss, --sub and every --claim. */
struct verify_opts {
	const char *aud, *iss, *sub;
	json_object *literal;
};

static int verify_option(const struct ctl *ctl, int opt, const char *arg, void *o)
{
	struct verify_opts *vo = o;
	int rc = CTL_CONTINUE;

	if (opt == OPT_AUD)
		vo->aud = arg;
	else if (opt == OPT_ISS)
		vo->iss = arg;
	else if (opt == OPT_SUB)
		vo->sub = arg;
	else if (opt == OPT_CLAIM)
		rc = add_claim(ctl, vo->literal, arg);
	return rc;
}

/* The verifier of the config's keys: its JWT secret, public key or key set (fetched, the only
 * use of the client here). CTL_EXIT_OK or the exit code after printing why. */
static int config_verifier(struct ctl *ctl, struct gotrue_verifier **v, struct gotrue_error *err)
{
	int rc = CTL_EXIT_CONFIG;

	*v = NULL;
	if (gotrue_config_load_secret(NULL, ctl->cfg, GOTRUE_SECRET_JWT_SECRET) != 0) {
		ctl_errorf(ctl, "cannot load the JWT secret %s", ctl->cfg->jwt_secret_file);
		goto cleanup;
	}
	if (ctl->cfg->jwks_url) {
		rc = ctl_client(ctl, false);
		if (rc != CTL_EXIT_OK)
			goto cleanup;
	}
	*v = gotrue_verifier_from_config(NULL, ctl->cfg, ctl->client, err);
	rc = *v ? CTL_EXIT_OK : ctl_fail(ctl, err);
cleanup:
	return rc;
}

static void print_verified(const struct ctl *ctl, const struct gotrue_claims *cl)
{
	json_object *doc;

	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "verified", json_object_new_boolean(1));
		json_object_object_add(doc, "claims", json_object_get(cl->all));
		ctl_print_json(doc);
	} else {
		printf("%-12s %s\n", "token:", "VALID (signature, alg and claims checked)");
		print_claims_human(cl);
	}
}

int cmd_token_verify(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"aud", required_argument, NULL, OPT_AUD},
					     {"iss", required_argument, NULL, OPT_ISS},
					     {"sub", required_argument, NULL, OPT_SUB},
					     {"claim", required_argument, NULL, OPT_CLAIM},
					     CTL_COMMON_LONGOPTS};
	struct gotrue_jwt_expect expect = {.require_exp = true};
	struct verify_opts o = {0};
	struct gotrue_verifier *v = NULL;
	struct gotrue_claims cl = {0};
	struct gotrue_error err = {0};
	char *token = NULL;
	int rc = CTL_EXIT_INTERNAL;

	o.literal = json_object_new_object();
	if (!o.literal)
		goto cleanup;
	rc = ctl_parse_options(ctl, argc, argv, opts, verify_option, &o);
	if (rc == CTL_CONTINUE && optind < argc)
		rc = ctl_usage_error(ctl,
				     "the token is read from stdin, not from the command line");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_config(ctl);
	if (rc == CTL_EXIT_OK)
		rc = config_verifier(ctl, &v, &err);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	token = read_token(ctl, &rc);
	if (!token)
		goto cleanup;
	expect.aud = o.aud ? o.aud : ctl->cfg->jwt_aud;
	expect.iss = o.iss ? o.iss : ctl->cfg->jwt_iss;
	expect.sub = o.sub;
	expect.literal = json_object_object_length(o.literal) ? o.literal : NULL;
	expect.leeway = ctl->cfg->jwt_leeway;
	if (gotrue_jwt_verify(v, token, &expect, &cl, &err) != 0) {
		ctl_fail(ctl, &err);
		rc = CTL_EXIT_VERIFY;
		goto cleanup;
	}
	print_verified(ctl, &cl);
	rc = CTL_EXIT_OK;
cleanup:
	gotrue_wipe_free_str(token);
	gotrue_claims_clear(&cl);
	gotrue_verifier_free(v);
	json_object_put(o.literal);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_token_peek(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	json_object *header = NULL, *claims = NULL, *doc;
	char *token = NULL;
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, NULL, NULL);
	if (rc == CTL_CONTINUE && optind < argc)
		rc = ctl_usage_error(ctl,
				     "the token is read from stdin, not from the command line");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	token = read_token(ctl, &rc);
	if (!token)
		goto cleanup;
	if (gotrue_jwt_peek_unverified(token, &header, &claims) != 0) {
		ctl_errorf(ctl, "not a JWT (three base64url parts with JSON header and payload)");
		rc = CTL_EXIT_VERIFY;
		goto cleanup;
	}
	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "verified", json_object_new_boolean(0));
		json_object_object_add(doc, "header", json_object_get(header));
		json_object_object_add(doc, "claims", json_object_get(claims));
		ctl_print_json(doc);
	} else {
		/* Loud on both streams: a peeked token proves nothing about who sent it. */
		fprintf(stderr, "gotruectl: token peek: WARNING: UNVERIFIED token; nothing was "
				"checked\n");
		printf("*** UNVERIFIED: signature and claims were NOT checked. Do not trust this. "
		       "***\n");
		printf("header: %s\n",
		       json_object_to_json_string_ext(
			       header, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		printf("claims: %s\n",
		       json_object_to_json_string_ext(
			       claims, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	rc = CTL_EXIT_OK;
cleanup:
	json_object_put(header);
	json_object_put(claims);
	gotrue_wipe_free_str(token);
	return rc;
}
