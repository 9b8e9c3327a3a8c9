/* cmd_mfa: `mfa enroll | verify | list | unenroll`, the TOTP factors of a signed-in user
 * (lib/client/ctl/enrol.c). The user is named by an access token, read as every secret of gotruectl
 * is (prompt.c: the terminal, or stdin with --token-stdin; a `gotruectl --json signin` document
 * works too). enroll prints the otpauth:// URI and its secret, which are the point of the
 * command, and draws the URI as a QR code (qr.c); nothing else ever shows the secret.
 * verify prints the aal2 session as signin does. GoTrue's rules (v2.185 steps 159-169 and
 * 207-212 of tests/emulator/conformance-current.tsv): a verified factor needs an aal2 session
 * to add another factor (current servers) or to remove it. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "enrol.h"
#include "gotrue_json.h"
#include "secure.h"

#include "gotruectl.h"

enum {
	OPT_TOKEN_STDIN = CTL_OPT_LOCAL,
	OPT_CODE_STDIN,
	OPT_FRIENDLY_NAME,
	OPT_ISSUER,
	OPT_FACTOR,
	OPT_QR,
};

struct mfa_opts {
	const char *friendly_name;
	const char *issuer;
	const char *factor;
	enum ctl_qr_style qr;
	bool token_stdin;
	bool code_stdin;
	int npos;
	char **pos;
};

static int qr_style(const struct ctl *ctl, const char *name, enum ctl_qr_style *style)
{
	int rc = CTL_CONTINUE;

	if (strcmp(name, "utf8") == 0)
		*style = CTL_QR_UTF8;
	else if (strcmp(name, "ascii") == 0)
		*style = CTL_QR_ASCII;
	else if (strcmp(name, "none") == 0)
		*style = CTL_QR_NONE;
	else
		rc = ctl_usage_error(ctl, "--qr is utf8, ascii or none");
	return rc;
}

static int mfa_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	struct mfa_opts *o = ctx;
	int rc = CTL_CONTINUE;

	switch (opt) {
	case OPT_TOKEN_STDIN:
		o->token_stdin = true;
		break;
	case OPT_CODE_STDIN:
		o->code_stdin = true;
		break;
	case OPT_FRIENDLY_NAME:
		o->friendly_name = arg;
		break;
	case OPT_ISSUER:
		o->issuer = arg;
		break;
	case OPT_FACTOR:
		o->factor = arg;
		break;
	case OPT_QR:
		rc = qr_style(ctl, arg, &o->qr);
		break;
	default:
		rc = CTL_EXIT_INTERNAL; /* an option in a table but not here: a bug */
		break;
	}
	return rc;
}

/* Options and exactly @npos positional arguments (named by @what in the message). CTL_CONTINUE,
 * or the exit code to stop with (CTL_EXIT_OK after --help). */
static int mfa_options(struct ctl *ctl, int argc, char **argv, const struct option *opts, int npos,
		       const char *what, struct mfa_opts *o)
{
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, mfa_option, o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	o->npos = argc - optind;
	o->pos = argv + optind;
	if (o->npos != npos)
		rc = npos ? ctl_usage_error(ctl, "name the %s", what)
			  : ctl_usage_error(ctl, "unexpected argument '%s'", o->pos[0]);
	else if (npos && !gotrue_uuid_valid(o->pos[0]))
		rc = ctl_usage_error(ctl, "the %s is a UUID (gotruectl mfa list)", what);
	else if (o->factor && !gotrue_uuid_valid(o->factor))
		rc = ctl_usage_error(ctl, "--factor is a UUID (gotruectl mfa list)");
cleanup:
	return rc;
}

/* Every mfa command's start: its options (mfa_options), then the client and the access token.
 * CTL_CONTINUE with *@token set, or the exit code to stop with. */
static int mfa_begin(struct ctl *ctl, int argc, char **argv, const struct option *opts, int npos,
		     const char *what, struct mfa_opts *o, char **token)
{
	int rc;

	*token = NULL;
	rc = mfa_options(ctl, argc, argv, opts, npos, what, o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	*token = ctl_read_secret(ctl, o->token_stdin, "access token", "access_token", &rc);
	if (*token)
		rc = CTL_CONTINUE;
cleanup:
	return rc;
}

/* Report a failed call; where the server wants a stronger session, say how to get one. */
static int mfa_fail(const struct ctl *ctl, const struct gotrue_error *err)
{
	int rc = ctl_fail(ctl, err);

	if (gotrue_error_is(err, "insufficient_aal"))
		ctl_errorf(ctl,
			   "this needs an aal2 session: `gotruectl mfa verify` with a code of a "
			   "verified factor gives one");
	return rc;
}

/* The user's factor named @name (not blank), or NULL. */
static const struct gotrue_factor *factor_named(const struct gotrue_user *u, const char *name)
{
	size_t i;

	if (!name || !name[strspn(name, " ")])
		return NULL;
	for (i = 0; i < u->n_factors; i++)
		if (u->factors[i].friendly_name && strcmp(u->factors[i].friendly_name, name) == 0)
			return &u->factors[i];
	return NULL;
}

/* A friendly name already taken: GoTrue v2.69 answers 500 to that (its database refuses the
 * row), current servers mfa_factor_name_conflict. Asking first gives one clear message for both.
 * CTL_CONTINUE, or the exit code to stop with. */
static int check_name_free(struct ctl *ctl, const char *token, const char *name)
{
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	const struct gotrue_factor *f;
	int rc = CTL_CONTINUE;

	if (!name || !name[strspn(name, " ")])
		goto cleanup;
	if (gotrue_user_get(ctl->client, token, &u, &err) != 0) {
		rc = ctl_fail(ctl, &err);
		goto cleanup;
	}
	f = factor_named(&u, name);
	if (f) {
		ctl_errorf(ctl,
			   "the user already has a factor named '%s' (%s, %s): choose another "
			   "--friendly-name, or remove it with `gotruectl mfa unenroll %s`",
			   name, f->id ? f->id : "-", f->status ? f->status : "-",
			   f->id ? f->id : "ID");
		rc = CTL_EXIT_REFUSED;
	}
cleanup:
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

/* The new factor as text, the QR code, and what to do next. */
static void print_enrolled(const struct ctl *ctl, const char *id, const char *name, const char *uri,
			   const char *secret, enum ctl_qr_style qr)
{
	printf("%-15s %s (totp, unverified)\n", "factor:", id);
	printf("%-15s %s\n", "friendly_name:", name ? name : "-");
	printf("%-15s %s\n", "uri:", uri);
	printf("%-15s %s\n", "secret:", secret);
	fflush(stdout);
	if (ctl_qr_print(stdout, uri, qr, isatty(STDOUT_FILENO)) != 0)
		ctl_errorf(ctl,
			   "no QR code: %s; add the uri or the secret to the authenticator "
			   "app by hand",
			   errno == ENOTSUP ? "this gotruectl was built without libqrencode"
					    : "the uri cannot be encoded");
	printf("Scan the code (or type the secret) into an authenticator app, then confirm the\n"
	       "factor with a code from the app:  gotruectl mfa verify --factor %s\n",
	       id);
}

/* The new factor: --json one document with the URI and the secret; else print_enrolled. */
static void output_enrolled(struct ctl *ctl, json_object *ans, const char *name,
			    enum ctl_qr_style qr)
{
	json_object *totp = NULL, *doc;
	const char *id = gotrue_json_get_str(ans, "id"), *uri, *secret;

	json_object_object_get_ex(ans, "totp", &totp);
	uri = gotrue_json_get_str(totp, "uri");
	secret = gotrue_json_get_str(totp, "secret");
	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "id", json_object_new_string(id));
		json_object_object_add(doc, "type", json_object_new_string("totp"));
		json_object_object_add(doc, "friendly_name",
				       name ? json_object_new_string(name) : NULL);
		json_object_object_add(doc, "status", json_object_new_string("unverified"));
		json_object_object_add(doc, "uri", json_object_new_string(uri));
		json_object_object_add(doc, "secret", json_object_new_string(secret));
		ctl_print_json_wiped(doc);
	} else {
		print_enrolled(ctl, id, name, uri, secret, qr);
	}
}

int cmd_mfa_enroll(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"friendly-name", required_argument, NULL, OPT_FRIENDLY_NAME},
		{"issuer", required_argument, NULL, OPT_ISSUER},
		{"qr", required_argument, NULL, OPT_QR},
		{"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
		CTL_COMMON_LONGOPTS};
	struct mfa_opts o = {0};
	struct gotrue_error err = {0};
	json_object *ans = NULL;
	char *token = NULL;
	int rc;

	rc = mfa_begin(ctl, argc, argv, opts, 0, NULL, &o, &token);
	if (rc == CTL_CONTINUE)
		rc = check_name_free(ctl, token, o.friendly_name);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (gotrue_factor_enroll(ctl->client, token, o.friendly_name, o.issuer, &ans, &err) != 0) {
		rc = mfa_fail(ctl, &err);
		goto cleanup;
	}
	output_enrolled(ctl, ans, o.friendly_name, o.qr);
	rc = CTL_EXIT_OK;
cleanup:
	gotrue_json_put_wiped(ans); /* it holds the TOTP secret */
	gotrue_wipe_free_str(token);
	gotrue_error_clear(&err);
	return rc;
}

/* Without --factor: the user's only TOTP factor. CTL_CONTINUE with *@id set (free it), or the
 * exit code to stop with. */
static int only_factor(struct ctl *ctl, const char *token, char **id)
{
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	size_t i, n = 0;
	int rc = CTL_CONTINUE;

	*id = NULL;
	if (gotrue_user_get(ctl->client, token, &u, &err) != 0) {
		rc = ctl_fail(ctl, &err);
		goto cleanup;
	}
	for (i = 0; i < u.n_factors; i++) {
		if (!u.factors[i].type || strcmp(u.factors[i].type, "totp") != 0)
			continue;
		if (n++ == 0)
			*id = strdup(u.factors[i].id ? u.factors[i].id : "");
	}
	if (n == 0) {
		ctl_errorf(ctl, "the user has no TOTP factor: add one with `gotruectl mfa enroll`");
		rc = CTL_EXIT_REFUSED;
	} else if (n > 1) {
		rc = ctl_usage_error(ctl,
				     "the user has %zu TOTP factors: name one with --factor "
				     "(gotruectl mfa list)",
				     n);
	} else if (!*id) {
		rc = CTL_EXIT_INTERNAL;
	}
cleanup:
	if (rc != CTL_CONTINUE) {
		free(*id);
		*id = NULL;
	}
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

/* Authenticator apps show "123 456": the spaces are not part of the code. */
static void drop_spaces(char *s)
{
	char *o = s;

	for (; *s; s++)
		if (*s != ' ')
			*o++ = *s;
	explicit_bzero(o, (size_t)(s - o));
	*o = '\0';
}

int cmd_mfa_verify(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"factor", required_argument, NULL, OPT_FACTOR},
					     {"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
					     {"code-stdin", no_argument, NULL, OPT_CODE_STDIN},
					     CTL_COMMON_LONGOPTS};
	struct mfa_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_session s = {0};
	char *token = NULL, *code = NULL, *factor = NULL;
	int rc;

	rc = mfa_begin(ctl, argc, argv, opts, 0, NULL, &o, &token);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (o.factor && !(factor = strdup(o.factor)))
		rc = CTL_EXIT_INTERNAL;
	else if (!o.factor)
		rc = only_factor(ctl, token, &factor);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	/* With both on stdin, the token is the first line and the code the second. */
	code = ctl_read_secret(ctl, o.code_stdin, "TOTP code", NULL, &rc);
	if (!code)
		goto cleanup;
	drop_spaces(code);
	/* The code is read first: the challenge then lives only for the two calls. */
	if (gotrue_factor_challenge_verify(ctl->client, token, factor, code, &s, &err) != 0) {
		rc = mfa_fail(ctl, &err);
		goto cleanup;
	}
	ctl_output_session(ctl, &s);
	rc = CTL_EXIT_OK;
cleanup:
	free(factor);
	gotrue_wipe_free_str(code);
	gotrue_wipe_free_str(token);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return rc;
}

static void output_factors(const struct ctl *ctl, const struct gotrue_user *u)
{
	json_object *user, *doc, *factors = NULL;
	const struct gotrue_factor *f;
	size_t i;

	if (ctl->json) {
		/* the member output.c writes for a user, as it writes it there */
		user = ctl_user_json(u);
		json_object_object_get_ex(user, "factors", &factors);
		doc = json_object_new_object();
		json_object_object_add(doc, "factors", json_object_get(factors));
		json_object_put(user);
		ctl_print_json(doc);
	} else {
		printf("%-36s  %-8s  %-10s  %s\n", "ID", "TYPE", "STATUS", "FRIENDLY_NAME");
	}
	for (i = 0; !ctl->json && i < u->n_factors; i++) {
		f = &u->factors[i];
		printf("%-36s  %-8s  %-10s  %s\n", f->id ? f->id : "-", f->type ? f->type : "-",
		       f->status ? f->status : "-",
		       f->friendly_name && *f->friendly_name ? f->friendly_name : "-");
	}
}

int cmd_mfa_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
					     CTL_COMMON_LONGOPTS};
	struct mfa_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	char *token = NULL;
	int rc;

	rc = mfa_begin(ctl, argc, argv, opts, 0, NULL, &o, &token);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	/* GET /user lists the factors (a user without any has no "factors" member at all) */
	if (gotrue_user_get(ctl->client, token, &u, &err) != 0) {
		rc = ctl_fail(ctl, &err);
		goto cleanup;
	}
	output_factors(ctl, &u);
	rc = CTL_EXIT_OK;
cleanup:
	gotrue_wipe_free_str(token);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_mfa_unenroll(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"token-stdin", no_argument, NULL, OPT_TOKEN_STDIN},
					     CTL_COMMON_LONGOPTS};
	struct mfa_opts o = {0};
	struct gotrue_error err = {0};
	char *token = NULL, what[80];
	int rc;

	rc = mfa_begin(ctl, argc, argv, opts, 1, "factor id", &o, &token);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (gotrue_factor_unenroll(ctl->client, token, o.pos[0], &err) != 0) {
		rc = mfa_fail(ctl, &err);
		goto cleanup;
	}
	snprintf(what, sizeof(what), "factor %s removed", o.pos[0]);
	ctl_output_done(ctl, what);
	rc = CTL_EXIT_OK;
cleanup:
	gotrue_wipe_free_str(token);
	gotrue_error_clear(&err);
	return rc;
}
