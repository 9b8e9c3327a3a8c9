/* cmd_client: the subcommands of an ordinary GoTrue client: settings, health, signup, signin,
 * refresh, signout, user get/update, otp, magic-link, verify, invite, recover, provider-url.
 * Each parses its options, reads any secret through prompt.c, calls one lib/client/api.h function
 * and prints through output.c. Endpoints: supabase/auth internal/api/api.go. */
#include <config.h> /* autoconf */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_ctl.h"
#include "gotrue_json.h"
#include "oauth.h"
#include "secure.h"

#include "gotruectl.h"

enum {
	OPT_EMAIL = CTL_OPT_LOCAL,
	OPT_PHONE,
	OPT_DATA,
	OPT_PASSWORD_STDIN,
	OPT_TOKEN_STDIN,
	OPT_SCOPE,
	OPT_NO_CREATE,
	OPT_TYPE,
	OPT_REDIRECT_TO,
	OPT_SCOPES,
	OPT_PKCE,
	OPT_PKCE_CODE,
	OPT_CODE_VERIFIER_STDIN,
};

/* Options shared by the commands below; each command accepts only those it lists. */
struct client_opts {
	const char *email;
	const char *phone;
	const char *data;
	const char *scope;
	const char *type;
	const char *redirect_to;
	const char *scopes;
	const char *pkce_code;
	bool code_verifier_stdin;
	bool password_stdin;
	bool token_stdin;
	bool no_create;
	bool pkce;
	int npos;
	char **pos;
};

static int client_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	struct client_opts *o = ctx;
	int rc = CTL_CONTINUE;

	(void)ctl;
	switch (opt) {
	case OPT_EMAIL:
		o->email = arg;
		break;
	case OPT_PHONE:
		o->phone = arg;
		break;
	case OPT_DATA:
		o->data = arg;
		break;
	case OPT_PASSWORD_STDIN:
		o->password_stdin = true;
		break;
	case OPT_TOKEN_STDIN:
		o->token_stdin = true;
		break;
	case OPT_SCOPE:
		o->scope = arg;
		break;
	case OPT_NO_CREATE:
		o->no_create = true;
		break;
	case OPT_TYPE:
		o->type = arg;
		break;
	case OPT_REDIRECT_TO:
		o->redirect_to = arg;
		break;
	case OPT_SCOPES:
		o->scopes = arg;
		break;
	case OPT_PKCE:
		o->pkce = true;
		break;
	case OPT_PKCE_CODE:
		o->pkce_code = arg;
		break;
	case OPT_CODE_VERIFIER_STDIN:
		o->code_verifier_stdin = true;
		break;
	default:
		rc = CTL_EXIT_INTERNAL; /* an option in a table but not here: a bug */
		break;
	}
	return rc;
}

/* Parse @argv with @opts (which ends with CTL_COMMON_LONGOPTS); at most @max_pos positional
 * arguments. Returns CTL_CONTINUE, or the exit code to stop with. */
static int parse(struct ctl *ctl, int argc, char **argv, const struct option *opts, int max_pos,
		 struct client_opts *o)
{
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, client_option, o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	o->npos = argc - optind;
	o->pos = argv + optind;
	if (o->npos > max_pos)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", o->pos[max_pos]);
cleanup:
	return rc;
}

/* Exactly one of --email and --phone. */
static int need_identity(const struct ctl *ctl, const struct client_opts *o)
{
	if (!!o->email == !!o->phone)
		return ctl_usage_error(ctl, "give exactly one of --email and --phone");
	return CTL_CONTINUE;
}

static int need_email(const struct ctl *ctl, const struct client_opts *o)
{
	if (!o->email || !*o->email)
		return ctl_usage_error(ctl, "--email is required");
	return CTL_CONTINUE;
}

/* --data must be a JSON object: checked here so a typo is a usage error, not a server 400. */
static int check_json_object(const struct ctl *ctl, const char *what, const char *text)
{
	json_object *o;
	int rc = CTL_CONTINUE;

	if (!text)
		goto cleanup;
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object))
		rc = ctl_usage_error(ctl, "%s must be a JSON object", what);
	json_object_put(o);
cleanup:
	return rc;
}

/* Print a server document (health, settings) as it came. */
static void output_doc(const struct ctl *ctl, json_object *doc)
{
	if (ctl->json)
		ctl_print_json(json_object_get(doc));
	else
		printf("%s\n",
		       json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int server_doc(struct ctl *ctl, int argc, char **argv,
		      int (*get)(struct gotrue_client *, json_object **, struct gotrue_error *))
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	json_object *doc = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (get(ctl->client, &doc, &err) != 0) {
		rc = ctl_fail(ctl, &err);
		goto cleanup;
	}
	output_doc(ctl, doc);
cleanup:
	json_object_put(doc);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_settings(struct ctl *ctl, int argc, char **argv)
{
	return server_doc(ctl, argc, argv, gotrue_settings);
}

int cmd_health(struct ctl *ctl, int argc, char **argv)
{
	return server_doc(ctl, argc, argv, gotrue_health);
}

int cmd_signup(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"email", required_argument, NULL, OPT_EMAIL},
		{"phone", required_argument, NULL, OPT_PHONE},
		{"data", required_argument, NULL, OPT_DATA},
		{"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
		CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_session s = {0};
	char *password = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = need_identity(ctl, &o);
	if (rc == CTL_CONTINUE)
		rc = check_json_object(ctl, "--data", o.data);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	password = ctl_read_secret(ctl, o.password_stdin, "new password", NULL, &rc);
	if (!password)
		goto cleanup;
	rc = ctl_result_session(ctl,
				gotrue_signup(ctl->client,
					      &(struct gotrue_credentials){.email = o.email,
									   .phone = o.phone,
									   .password = password},
					      o.data, &s, &err),
				&err, &s);
cleanup:
	gotrue_wipe_free_str(password);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return rc;
}

/* signin --pkce-code: the code that a PKCE link's redirect carried (or the URL itself) and the
 * verifier that `magic-link --pkce` or `otp --pkce` printed, for the session. The code is no
 * secret without the verifier, which comes from the terminal or stdin only. */
static int signin_pkce(struct ctl *ctl, const struct client_opts *o)
{
	struct gotrue_error err = {0};
	struct gotrue_session s = {0};
	char code[GOTRUE_AUTH_CODE_MAX + 1], challenge[44], *verifier = NULL;
	int rc;

	if (o->email || o->phone || o->password_stdin) {
		rc = ctl_usage_error(ctl,
				     "--pkce-code takes no --email, --phone or --password-stdin");
		goto cleanup;
	}
	if (gotrue_pkce_code_parse(o->pkce_code, code, sizeof(code)) != 0) {
		rc = ctl_usage_error(ctl, "--pkce-code is the code, or the URL the link's redirect "
					  "landed on (with ?code=...)");
		goto cleanup;
	}
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	verifier =
		ctl_read_secret(ctl, o->code_verifier_stdin, "code verifier", "code_verifier", &rc);
	if (!verifier)
		goto cleanup;
	/* RFC 7636 4.1's shape, checked here so that a mistyped one is a usage error */
	if (gotrue_pkce_challenge(verifier, challenge, sizeof(challenge)) != 0) {
		rc = ctl_usage_error(ctl, "a code verifier is 43 to 128 letters, digits, '-', '.', "
					  "'_' or '~'");
		goto cleanup;
	}
	rc = ctl_result_session(ctl, gotrue_exchange_code(ctl->client, code, verifier, &s, &err),
				&err, &s);
cleanup:
	gotrue_wipe_free_str(verifier);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_signin(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"email", required_argument, NULL, OPT_EMAIL},
		{"phone", required_argument, NULL, OPT_PHONE},
		{"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
		{"pkce-code", required_argument, NULL, OPT_PKCE_CODE},
		{"code-verifier-stdin", no_argument, NULL, OPT_CODE_VERIFIER_STDIN},
		CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_session s = {0};
	char *password = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE && o.pkce_code) {
		rc = signin_pkce(ctl, &o);
		goto cleanup;
	}
	if (rc == CTL_CONTINUE && o.code_verifier_stdin)
		rc = ctl_usage_error(ctl, "--code-verifier-stdin goes with --pkce-code");
	if (rc == CTL_CONTINUE)
		rc = need_identity(ctl, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	password = ctl_read_secret(ctl, o.password_stdin, "password", NULL, &rc);
	if (!password)
		goto cleanup;
	rc = ctl_result_session(
		ctl,
		gotrue_signin_password(ctl->client,
				       &(struct gotrue_credentials){.email = o.email,
								    .phone = o.phone,
								    .password = password},
				       &s, &err),
		&err, &s);
cleanup:
	gotrue_wipe_free_str(password);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_refresh(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
					     CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_session s = {0};
	char *token = NULL;
	int rc, i;

	/* `refresh` is two commands: the administrator's pass over the token store (`gotruectl
	 * refresh`, what the timer runs), and the client API's trade of one refresh
	 * token, which always reads that token from stdin. */
	for (i = 1; i < argc && strcmp(argv[i], "--token-stdin") != 0; i++)
		;
	if (i == argc)
		return cmd_refresh_pass(ctl, argc, argv);

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	token = ctl_read_secret(ctl, o.token_stdin, "refresh token", "refresh_token", &rc);
	if (!token)
		goto cleanup;
	/* Never retried: the old refresh token is spent once sent (rotation). */
	rc = ctl_result_session(ctl, gotrue_refresh(ctl->client, token, &s, &err), &err, &s);
cleanup:
	gotrue_wipe_free_str(token);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_signout(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"scope", required_argument, NULL, OPT_SCOPE},
					     {"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
					     CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	enum gotrue_logout_scope scope = GOTRUE_LOGOUT_GLOBAL;
	char *token = NULL, what[64];
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (!o.scope || strcmp(o.scope, "global") == 0) {
		o.scope = "global";
		scope = GOTRUE_LOGOUT_GLOBAL;
	} else if (strcmp(o.scope, "local") == 0) {
		scope = GOTRUE_LOGOUT_LOCAL;
	} else if (strcmp(o.scope, "others") == 0) {
		scope = GOTRUE_LOGOUT_OTHERS;
	} else {
		rc = ctl_usage_error(ctl, "--scope is local, global or others");
		goto cleanup;
	}
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	token = ctl_read_secret(ctl, o.token_stdin, "access token", "access_token", &rc);
	if (!token)
		goto cleanup;
	snprintf(what, sizeof(what), "signed out (scope %s)", o.scope);
	rc = ctl_result_done(ctl, gotrue_signout(ctl->client, token, scope, &err), &err, what);
cleanup:
	gotrue_wipe_free_str(token);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_user_get(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
					     CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	char *token = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	token = ctl_read_secret(ctl, o.token_stdin, "access token", "access_token", &rc);
	if (!token)
		goto cleanup;
	rc = ctl_result_user(ctl, gotrue_user_get(ctl->client, token, &u, &err), &err, &u);
cleanup:
	gotrue_wipe_free_str(token);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_user_update(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{"email", required_argument, NULL, OPT_EMAIL},
		{"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
		{"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
		CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	json_object *update = NULL;
	char *token = NULL, *password = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = check_json_object(ctl, "--data", o.data);
	if (rc == CTL_CONTINUE && !o.data && !o.email && !o.password_stdin)
		rc = ctl_usage_error(ctl, "nothing to change: --data, --email or --password-stdin");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	/* With both on stdin, the token is the first line and the new password the second. */
	token = ctl_read_secret(ctl, o.token_stdin, "access token", "access_token", &rc);
	if (!token)
		goto cleanup;
	rc = CTL_EXIT_INTERNAL;
	update = json_object_new_object();
	if (!update)
		goto cleanup;
	if (o.password_stdin) {
		password = ctl_read_secret(ctl, true, "new password", NULL, &rc);
		if (!password)
			goto cleanup;
		json_object_object_add(update, "password", json_object_new_string(password));
	}
	if (o.email)
		json_object_object_add(update, "email", json_object_new_string(o.email));
	if (o.data)
		json_object_object_add(update, "data", json_tokener_parse(o.data));
	rc = ctl_result_user(ctl, gotrue_user_update(ctl->client, token, update, &u, &err), &err,
			     &u);
cleanup:
	/* json-c frees its strings unwiped: the new password in @update is wiped in place. */
	gotrue_json_put_wiped(update);
	gotrue_wipe_free_str(password);
	gotrue_wipe_free_str(token);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

/* What a PKCE request prints: --json @doc with the verifier added; else @line, then the verifier
 * and what it is for. @doc is consumed; the verifier is wiped from it. */
static void output_verifier(const struct ctl *ctl, json_object *doc, const char *line,
			    const char *verifier)
{
	if (ctl->json) {
		json_object_object_add(doc, "code_verifier", json_object_new_string(verifier));
		ctl_print_json_wiped(doc);
		return;
	}
	json_object_put(doc);
	printf("%s\ncode_verifier: %s\n(keep it: `gotruectl signin --pkce-code CODE "
	       "--code-verifier-stdin` trades it, with the code the redirect carries, for the "
	       "session)\n",
	       line, verifier);
}

/* otp and magic-link --pkce (RFC 7636): the verifier stays here; only its S256 hash goes out.
 * The mailed link then redirects with ?code=..., which is worth nothing without the verifier. */
static int mail_pkce(struct ctl *ctl, const struct client_opts *o, bool otp, const char *done)
{
	struct gotrue_error err = {0};
	char verifier[129], challenge[44];
	json_object *doc;
	int rc = CTL_EXIT_INTERNAL, call;

	if (gotrue_pkce_pair(verifier, sizeof(verifier), challenge, sizeof(challenge)) != 0) {
		ctl_errorf(ctl, "cannot make a PKCE pair");
		goto cleanup;
	}
	call = otp ? gotrue_otp_pkce(ctl->client, o->email, !o->no_create, challenge, &err)
		   : gotrue_magiclink_pkce(ctl->client, o->email, challenge, &err);
	if (call != 0) {
		rc = ctl_fail(ctl, &err);
		goto cleanup;
	}
	doc = json_object_new_object();
	json_object_object_add(doc, "ok", json_object_new_boolean(1));
	json_object_object_add(doc, "result", json_object_new_string(done));
	output_verifier(ctl, doc, done, verifier);
	rc = CTL_EXIT_OK;
cleanup:
	explicit_bzero(verifier, sizeof(verifier));
	gotrue_error_clear(&err);
	return rc;
}

int cmd_otp(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"email", required_argument, NULL, OPT_EMAIL},
					     {"phone", required_argument, NULL, OPT_PHONE},
					     {"no-create", no_argument, NULL, OPT_NO_CREATE},
					     {"pkce", no_argument, NULL, OPT_PKCE},
					     CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = need_identity(ctl, &o);
	if (rc == CTL_CONTINUE && o.pkce && !o.email)
		rc = ctl_usage_error(ctl, "--pkce goes with --email: only a mail carries a link");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (o.pkce)
		rc = mail_pkce(ctl, &o, true, "one-time code sent");
	else
		rc = ctl_result_done(ctl,
				     gotrue_otp(ctl->client, o.email, o.phone, !o.no_create, &err),
				     &err, "one-time code sent");
cleanup:
	gotrue_error_clear(&err);
	return rc;
}

/* magic-link and recover: one email in, nothing out (magic-link --pkce: the verifier). */
static int email_only(struct ctl *ctl, int argc, char **argv,
		      int (*call)(struct gotrue_client *, const char *, struct gotrue_error *),
		      const char *done, bool can_pkce)
{
	static const struct option opts[] = {{"email", required_argument, NULL, OPT_EMAIL},
					     {"pkce", no_argument, NULL, OPT_PKCE},
					     CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = need_email(ctl, &o);
	if (rc == CTL_CONTINUE && o.pkce && !can_pkce)
		rc = ctl_usage_error(ctl, "unknown option --pkce");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (o.pkce)
		rc = mail_pkce(ctl, &o, false, done);
	else
		rc = ctl_result_done(ctl, call(ctl->client, o.email, &err), &err, done);
cleanup:
	gotrue_error_clear(&err);
	return rc;
}

int cmd_magic_link(struct ctl *ctl, int argc, char **argv)
{
	return email_only(ctl, argc, argv, gotrue_magiclink, "magic link sent", true);
}

int cmd_recover(struct ctl *ctl, int argc, char **argv)
{
	return email_only(ctl, argc, argv, gotrue_recover, "recovery mail sent", false);
}

int cmd_verify(struct ctl *ctl, int argc, char **argv)
{
	static const char *const types[] = {"email",	"magiclink", "signup", "invite",
					    "recovery", "sms",	     NULL};
	static const struct option opts[] = {{"type", required_argument, NULL, OPT_TYPE},
					     {"email", required_argument, NULL, OPT_EMAIL},
					     {"phone", required_argument, NULL, OPT_PHONE},
					     {"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
					     CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_session s = {0};
	char *code = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = need_identity(ctl, &o);
	if (rc == CTL_CONTINUE && (!o.type || !gotrue_strv_contains((char *const *)types, o.type)))
		rc = ctl_usage_error(ctl,
				     "--type is email, magiclink, signup, invite, recovery or sms");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	code = ctl_read_secret(ctl, o.token_stdin, "one-time code", NULL, &rc);
	if (!code)
		goto cleanup;
	rc = ctl_result_session(
		ctl, gotrue_verify(ctl->client, o.type, o.email, o.phone, code, &s, &err), &err,
		&s);
cleanup:
	gotrue_wipe_free_str(code);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_invite(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"email", required_argument, NULL, OPT_EMAIL},
					     {"data", required_argument, NULL, OPT_DATA},
					     CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = need_email(ctl, &o);
	if (rc == CTL_CONTINUE)
		rc = check_json_object(ctl, "--data", o.data);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = ctl_result_user(ctl, gotrue_invite(ctl->client, o.email, o.data, &u, &err), &err, &u);
cleanup:
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_provider_url(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"redirect-to", required_argument, NULL, OPT_REDIRECT_TO},
		{"scopes", required_argument, NULL, OPT_SCOPES},
		{"pkce", no_argument, NULL, OPT_PKCE},
		CTL_COMMON_LONGOPTS};
	struct client_opts o = {0};
	char verifier[129], challenge[44];
	json_object *doc;
	char *url = NULL;
	int rc;

	verifier[0] = challenge[0] = '\0';
	rc = parse(ctl, argc, argv, opts, 1, &o);
	if (rc == CTL_CONTINUE && o.npos != 1)
		rc = ctl_usage_error(ctl, "name the provider (github, google, ...)");
	if (rc == CTL_CONTINUE && !o.redirect_to)
		rc = ctl_usage_error(ctl, "--redirect-to is required");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = CTL_EXIT_CONFIG;
	if (!ctl->cfg->url) {
		ctl_errorf(ctl, "no server: set url in the config or use --url");
		goto cleanup;
	}
	rc = CTL_EXIT_INTERNAL;
	/* PKCE (RFC 7636): the verifier stays with the caller; only its S256 hash is sent. */
	if (o.pkce &&
	    gotrue_pkce_pair(verifier, sizeof(verifier), challenge, sizeof(challenge)) != 0) {
		ctl_errorf(ctl, "cannot make a PKCE pair");
		goto cleanup;
	}
	url = gotrue_provider_url(ctl->cfg, o.pos[0], o.redirect_to, o.scopes,
				  o.pkce ? challenge : NULL);
	if (!url) {
		ctl_errorf(ctl, "out of memory");
		goto cleanup;
	}
	doc = json_object_new_object();
	json_object_object_add(doc, "url", json_object_new_string(url));
	if (o.pkce)
		output_verifier(ctl, doc, url, verifier);
	else if (ctl->json)
		ctl_print_json(doc);
	else {
		json_object_put(doc);
		printf("%s\n", url);
	}
	rc = CTL_EXIT_OK;
cleanup:
	explicit_bzero(verifier, sizeof(verifier));
	free(url);
	return rc;
}
