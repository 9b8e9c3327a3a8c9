/* gotruectl: what the tool's files share: the run-time context (options, config, client), the
 * documented exit codes, and the helpers of output.c and prompt.c. Not a library header: nothing
 * outside tools/ includes it. */
#ifndef GOTRUE_GOTRUECTL_H
#define GOTRUE_GOTRUECTL_H

#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "api.h" /* and lib/client/gotrue_config.h */
#include "gotrue_error.h"
#include "session.h"
#include "user.h"

/* Exit codes, documented in --help and gotruectl(8). Scripts depend on them: never renumber. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REFUSED = 1,	  /* the server answered with a GoTrue error */
	CTL_EXIT_USAGE = 2,	  /* bad command line */
	CTL_EXIT_CONFIG = 3,	  /* the configuration is missing or wrong */
	CTL_EXIT_UNREACHABLE = 4, /* unreachable, timeout, TLS, 5xx, unusable answer */
	CTL_EXIT_VERIFY = 5,	  /* a token failed verification */
	CTL_EXIT_INTERNAL = 6,	  /* out of memory, a bug */
};

struct ctl {
	const char *prog;  /* "gotruectl" */
	const char *cmd;   /* the subcommand's full name, for messages ("admin users list") */
	const char *usage; /* its synopsis, for usage errors and --help */
	const char *conf;  /* --conf, NULL = the default file (which may be absent) */
	const char *url;   /* --url, overrides the file */
	bool json;	   /* --json: one machine document on stdout */
	bool debug;	   /* --debug */
	bool show_tokens;  /* --show-tokens: print tokens in human output */
	struct gotrue_config *cfg;
	struct gotrue_client *client;
	bool admin_loaded; /* the service-role key has been loaded */
};

/* The options every subcommand accepts as well (they may come after the subcommand). Add
 * CTL_COMMON_LONGOPTS at the end of each subcommand's option table and parse it with
 * ctl_parse_options(). */
enum {
	CTL_OPT_CONF = 0x1000,
	CTL_OPT_URL,
	CTL_OPT_JSON,
	CTL_OPT_DEBUG,
	CTL_OPT_SHOW_TOKENS,
	CTL_OPT_HELP,
	CTL_OPT_SECRET_ARGV,   /* --password/--token on argv: refused */
	CTL_OPT_LOCAL = 0x1100 /* first value free for a subcommand's own options */
};
#define CTL_COMMON_LONGOPTS                                                                        \
	{"conf", required_argument, NULL, CTL_OPT_CONF},                                           \
		{"url", required_argument, NULL, CTL_OPT_URL},                                     \
		{"json", no_argument, NULL, CTL_OPT_JSON},                                         \
		{"debug", no_argument, NULL, CTL_OPT_DEBUG},                                       \
		{"show-tokens", no_argument, NULL, CTL_OPT_SHOW_TOKENS},                           \
		{"help", no_argument, NULL, CTL_OPT_HELP},                                         \
		{"password", required_argument, NULL, CTL_OPT_SECRET_ARGV},                        \
		{"token", required_argument, NULL, CTL_OPT_SECRET_ARGV},                           \
		{"refresh-token", required_argument, NULL, CTL_OPT_SECRET_ARGV},                   \
		{"access-token", required_argument, NULL, CTL_OPT_SECRET_ARGV},                    \
	{                                                                                          \
		NULL, 0, NULL, 0                                                                   \
	}

/* Option parsing goes on. */
#define CTL_CONTINUE (-1)
/* A subcommand's own options (values from CTL_OPT_LOCAL up), into its own struct @o. */
typedef int (*ctl_local_option)(const struct ctl *ctl, int opt, const char *arg, void *o);
/* The getopt loop of every subcommand: resets getopt, hands its own options to @local (may be
 * NULL when it has none) and the rest, the common ones, to gotruectl.c. Returns CTL_CONTINUE with
 * the positional arguments at argv[optind..], or the exit code to stop with (CTL_EXIT_OK after
 * --help, CTL_EXIT_USAGE after printing why). */
int ctl_parse_options(struct ctl *ctl, int argc, char **argv, const struct option *opts,
		      ctl_local_option local, void *o);

/* The config, loaded on first use (--conf, then --url over it). CTL_EXIT_OK or an exit code
 * after printing why. */
int ctl_config(struct ctl *ctl);
/* The client, with the api key (and with @admin the service-role key) loaded. */
int ctl_client(struct ctl *ctl, bool admin);

/* --- output.c ------------------------------------------------------------------------------- */
/* "gotruectl: CMD: MESSAGE" on stderr. */
void ctl_errorf(const struct ctl *ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a library error (stderr line, plus {"error":...} on stdout with --json) and return the
 * exit code its kind maps to. */
int ctl_fail(const struct ctl *ctl, const struct gotrue_error *err);
/* Print a usage error and return CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print @doc (consumed) on stdout as the one JSON document of this run. */
void ctl_print_json(json_object *doc);
/* The same for a document that holds a secret the user asked for (a TOTP secret, a PKCE
 * verifier): its strings are wiped as it is released. */
void ctl_print_json_wiped(json_object *doc);
json_object *ctl_user_json(const struct gotrue_user *u);
/* Either mode: the session. */
void ctl_output_session(const struct ctl *ctl, const struct gotrue_session *s);
/* Either mode: a one-line confirmation ("sent", "deleted"), {"ok":true,...} with --json. */
void ctl_output_done(const struct ctl *ctl, const char *what);
/* The end of a subcommand that made one library call which returned @call_rc: on failure report
 * @err (ctl_fail) and return its exit code, else print the user, the session or @what and return
 * CTL_EXIT_OK. */
int ctl_result_user(const struct ctl *ctl, int call_rc, const struct gotrue_error *err,
		    const struct gotrue_user *u);
int ctl_result_session(const struct ctl *ctl, int call_rc, const struct gotrue_error *err,
		       const struct gotrue_session *s);
int ctl_result_done(const struct ctl *ctl, int call_rc, const struct gotrue_error *err,
		    const char *what);
/* A progress bar on stderr ("[####    ] 120/500 users"; @total -1 when unknown), redrawn in place.
 * Callers draw it only when stderr is a terminal, and end it with ctl_progress_end(). */
void ctl_progress_bar(size_t seen, long long total, const char *what);
void ctl_progress_end(void);
/* RFC 3339 UTC, "-" for 0. */
const char *ctl_time_str(time_t t, char *buf, size_t len);

/* --- prompt.c ------------------------------------------------------------------------------- */
/* A secret from stdin (@from_stdin: one line, one trailing newline stripped) or else from the
 * terminal without echo. Never from argv or the environment. When @json_field is set and the input
 * is a JSON object (gotruectl --json output piped in), that field is taken instead. Returns a
 * string to release with gotrue_wipe_free_str(), or NULL after printing why (*@rc set). */
char *ctl_read_secret(const struct ctl *ctl, bool from_stdin, const char *prompt,
		      const char *json_field, int *rc);

/* --- qr.c ----------------------------------------------------------------------------------- */
enum ctl_qr_style {
	CTL_QR_UTF8,  /* half blocks: one text cell, two modules */
	CTL_QR_ASCII, /* "##" per light module */
	CTL_QR_NONE,
};
/* Draw @text as a QR code on @f, light modules as ink, with a 4-module quiet zone; @ansi frames
 * it in white on black (for a terminal). 0, or -1 with errno (ENOTSUP: built without
 * libqrencode). */
int ctl_qr_print(FILE *f, const char *text, enum ctl_qr_style style, bool ansi);

/* --- the subcommands ------------------------------------------------------------------------ */
typedef int (*ctl_handler)(struct ctl *ctl, int argc, char **argv);

int cmd_settings(struct ctl *ctl, int argc, char **argv);
int cmd_health(struct ctl *ctl, int argc, char **argv);
int cmd_signup(struct ctl *ctl, int argc, char **argv);
int cmd_signin(struct ctl *ctl, int argc, char **argv);
int cmd_refresh(struct ctl *ctl, int argc, char **argv);
int cmd_signout(struct ctl *ctl, int argc, char **argv);
int cmd_user_get(struct ctl *ctl, int argc, char **argv);
int cmd_user_update(struct ctl *ctl, int argc, char **argv);
int cmd_otp(struct ctl *ctl, int argc, char **argv);
int cmd_magic_link(struct ctl *ctl, int argc, char **argv);
int cmd_verify(struct ctl *ctl, int argc, char **argv);
int cmd_invite(struct ctl *ctl, int argc, char **argv);
int cmd_recover(struct ctl *ctl, int argc, char **argv);
int cmd_provider_url(struct ctl *ctl, int argc, char **argv);

int cmd_mfa_enroll(struct ctl *ctl, int argc, char **argv);
int cmd_mfa_verify(struct ctl *ctl, int argc, char **argv);
int cmd_mfa_list(struct ctl *ctl, int argc, char **argv);
int cmd_mfa_unenroll(struct ctl *ctl, int argc, char **argv);

int cmd_token_verify(struct ctl *ctl, int argc, char **argv);
int cmd_token_peek(struct ctl *ctl, int argc, char **argv);

int cmd_admin_list(struct ctl *ctl, int argc, char **argv);
int cmd_admin_get(struct ctl *ctl, int argc, char **argv);
int cmd_admin_create(struct ctl *ctl, int argc, char **argv);
int cmd_admin_update(struct ctl *ctl, int argc, char **argv);
int cmd_admin_delete(struct ctl *ctl, int argc, char **argv);
int cmd_admin_ban(struct ctl *ctl, int argc, char **argv);
int cmd_admin_unban(struct ctl *ctl, int argc, char **argv);

int cmd_config_check(struct ctl *ctl, int argc, char **argv);

int cmd_sync(struct ctl *ctl, int argc, char **argv);
int cmd_cache_show(struct ctl *ctl, int argc, char **argv);
int cmd_cache_lookup(struct ctl *ctl, int argc, char **argv);
int cmd_cache_verify(struct ctl *ctl, int argc, char **argv);
int cmd_sessions_list(struct ctl *ctl, int argc, char **argv);
int cmd_refresh_pass(struct ctl *ctl, int argc, char **argv);
int cmd_sessions_revoke(struct ctl *ctl, int argc, char **argv);
int cmd_sessions_gc(struct ctl *ctl, int argc, char **argv);
int cmd_throttle_show(struct ctl *ctl, int argc, char **argv);
int cmd_offline_list(struct ctl *ctl, int argc, char **argv);
int cmd_offline_forget(struct ctl *ctl, int argc, char **argv);
/* cmd_offline.c: for `config check`: offline_login and the verifiers (how many, expired, their
 * ages), printed unless --json; the same as a JSON object. */
json_object *ctl_offline_state(const struct ctl *ctl);
int cmd_throttle_reset(struct ctl *ctl, int argc, char **argv);

int cmd_fleet_keygen(struct ctl *ctl, int argc, char **argv);
int cmd_fleet_rotate(struct ctl *ctl, int argc, char **argv);
int cmd_publish(struct ctl *ctl, int argc, char **argv);
int cmd_fetch(struct ctl *ctl, int argc, char **argv);
/* On a publisher (publish_dir set): sync and publish again at once, after a change to a user
 * (cmd_admin.c). CTL_EXIT_OK also where there is nothing to do, else the exit code after saying
 * why. */
int ctl_republish(struct ctl *ctl);

#endif
