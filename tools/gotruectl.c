/* gotruectl: main. It owns the global options, the table of subcommands and the lazily built
 * config and client; each subcommand lives in a cmd_*.c file and does its work through lib/. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "secure.h"

#include "gotruectl.h"

struct ctl_command {
	const char *name; /* one to three words: "admin users list" */
	ctl_handler fn;
	const char *usage;
	const char *summary;
};

static const struct ctl_command commands[] = {
	{"settings", cmd_settings, "settings", "the server's public settings"},
	{"health", cmd_health, "health", "the server's name and version"},
	{"signup", cmd_signup, "signup --email E | --phone P [--data JSON] [--password-stdin]",
	 "create an account"},
	{"signin", cmd_signin,
	 "signin --email E | --phone P [--password-stdin] | signin --pkce-code CODE|URL "
	 "[--code-verifier-stdin]",
	 "sign in with a password, or trade a PKCE code and its verifier, and print the session"},
	{"refresh", cmd_refresh, "refresh [--margin S] [--stale-pending S] | refresh --token-stdin",
	 "one refresh pass over the token store; with --token-stdin, trade one refresh token"},
	{"signout", cmd_signout, "signout [--scope local|global|others] [--token-stdin]",
	 "revoke the session of an access token"},
	{"user get", cmd_user_get, "user get [--token-stdin]", "the user of an access token"},
	{"user update", cmd_user_update,
	 "user update [--data JSON] [--email E] [--password-stdin] [--token-stdin]",
	 "change the user of an access token"},
	{"otp", cmd_otp, "otp --email E [--pkce] | --phone P [--no-create]",
	 "send a one-time code (and link)"},
	{"magic-link", cmd_magic_link, "magic-link --email E [--pkce]",
	 "send a magic link; with --pkce its redirect carries a code for signin --pkce-code"},
	{"verify", cmd_verify, "verify --type T --email E | --phone P [--token-stdin]",
	 "trade a one-time code for a session"},
	{"invite", cmd_invite, "invite --email E [--data JSON]", "invite a user (service role)"},
	{"recover", cmd_recover, "recover --email E", "send a password-recovery mail"},
	{"provider-url", cmd_provider_url,
	 "provider-url PROVIDER --redirect-to URL [--scopes S] [--pkce]",
	 "the URL that starts an OAuth sign-in"},
	{"mfa enroll", cmd_mfa_enroll,
	 "mfa enroll [--friendly-name NAME] [--issuer NAME] [--qr utf8|ascii|none] [--token-stdin]",
	 "add a TOTP factor: print its otpauth:// URI and secret, and draw the URI as a QR code"},
	{"mfa verify", cmd_mfa_verify, "mfa verify [--factor ID] [--token-stdin] [--code-stdin]",
	 "challenge a factor with a code from the app and print the aal2 session"},
	{"mfa list", cmd_mfa_list, "mfa list [--token-stdin]",
	 "the factors of the token's user (id, type, status, friendly name)"},
	{"mfa unenroll", cmd_mfa_unenroll, "mfa unenroll ID [--token-stdin]",
	 "remove a factor (a verified one needs an aal2 session)"},
	{"token verify", cmd_token_verify,
	 "token verify [--aud A] [--iss I] [--sub S] [--claim K=V]...",
	 "verify the token read from stdin and print its claims"},
	{"token peek", cmd_token_peek, "token peek",
	 "decode the token read from stdin WITHOUT verifying it"},
	{"admin users list", cmd_admin_list, "admin users list [--page N] [--per-page M] [--all]",
	 "list users"},
	{"admin users get", cmd_admin_get, "admin users get ID", "one user"},
	{"admin users create", cmd_admin_create,
	 "admin users create --email E [--password-stdin] [--confirm] [--app-metadata JSON] "
	 "[--user-metadata JSON]",
	 "create a user"},
	{"admin users update", cmd_admin_update,
	 "admin users update ID [--app-metadata JSON] [--user-metadata JSON] [--email E]",
	 "change a user"},
	{"admin users delete", cmd_admin_delete, "admin users delete ID", "delete a user"},
	{"admin users ban", cmd_admin_ban, "admin users ban ID DURATION",
	 "ban a user for a Go duration (24h, 876000h)"},
	{"admin users unban", cmd_admin_unban, "admin users unban ID", "lift a ban"},
	{"config check", cmd_config_check, "config check",
	 "report every problem in the config and try the server"},
	{"sync", cmd_sync, "sync [--per-page N]",
	 "fill the NSS cache from GoTrue (service role) and report who was left out"},
	{"cache show", cmd_cache_show, "cache show [--cache FILE]",
	 "every user and group in the NSS cache, passwd(5)/group(5) style"},
	{"cache lookup", cmd_cache_lookup, "cache lookup NAME|ID [--cache FILE]",
	 "one user (with its groups) or group from the NSS cache"},
	{"cache verify", cmd_cache_verify, "cache verify [PATH] [--cache FILE]",
	 "check the whole NSS cache (checksum, every record and index); 1 if corrupt"},
	{"sessions list", cmd_sessions_list, "sessions list [--user NAME]",
	 "the PAM sessions in the token store (never their tokens)"},
	{"sessions revoke", cmd_sessions_revoke, "sessions revoke ID | --user NAME",
	 "revoke sessions in GoTrue, then end their Linux sessions"},
	{"sessions gc", cmd_sessions_gc, "sessions gc", "remove revoked records from the store"},
	{"offline list", cmd_offline_list, "offline list [USER]",
	 "the offline verifiers: whose, how old, failed offline attempts (never a hash)"},
	{"offline forget", cmd_offline_forget, "offline forget USER | --all",
	 "erase a user's offline verifier, or all: the next login must reach the server"},
	{"fleet keygen", cmd_fleet_keygen, "fleet keygen [DIR]",
	 "make the fleet's signing key pair and fleet key (default DIR " SYSCONFDIR "/gotrue)"},
	{"fleet rotate", cmd_fleet_rotate, "fleet rotate [DIR] [--finish]",
	 "make the next keys beside the current ones; --finish puts them in place"},
	{"publish", cmd_publish, "publish [DIR] [--no-sync]",
	 "sync, then write the signed bundle into DIR (default publish_dir) for hosts to fetch"},
	{"fetch", cmd_fetch, "fetch",
	 "take the publisher's bundle from fleet_url: check, install, end refused users' sessions"},
	{"throttle show", cmd_throttle_show, "throttle show [USER]",
	 "users and hosts with recent failed logins, and which are locked"},
	{"throttle reset", cmd_throttle_reset,
	 "throttle reset USER | --host HOST | --local | --all",
	 "clear the failed logins of a user, a host, local attempts, or all"},
};

static void print_help(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: gotruectl [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
		   "\n"
		   "Global options (also accepted after COMMAND):\n"
		   "  --conf FILE     config file (default " GOTRUE_DEFAULT_CONF ")\n"
		   "  --url URL       GoTrue base URL, overriding the config\n"
		   "  --json          print one JSON document on stdout (it includes tokens)\n"
		   "  --show-tokens   print tokens in human output too\n"
		   "  --debug         debug logging on stderr\n"
		   "  -h, --help      this help;  --version  the version\n"
		   "\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n      %s\n", commands[i].usage, commands[i].summary);
	fprintf(f,
		"\n"
		"Passwords and tokens are never read from the command line or the environment:\n"
		"they come from the terminal (no echo) or, with --password-stdin/--token-stdin,\n"
		"from one line of standard input.\n"
		"\n"
		"Exit status:\n"
		"  0 success; 1 the server refused (a GoTrue error); 2 usage error;\n"
		"  3 configuration problem; 4 server unreachable, timeout, TLS failure or 5xx;\n"
		"  5 token verification failed; 6 internal error.\n"
		"  sync: non-zero (4 unreachable, 1 refused, 3 config) keeps the old cache.\n"
		"  cache lookup: 1 when nothing matches; cache verify: 1 when corrupt;\n"
		"  cache, sessions, throttle: 3 when unreadable.\n");
}

/* Resets getopt before a subcommand parses its own argv (argv[0] is the subcommand's name). */
static void getopt_reset(void)
{
	/* glibc: optind = 0 re-initialises getopt completely (permutation state included). */
	optind = 0;
	opterr = 0;
}

/* A common option (or getopt's '?'): CTL_CONTINUE when parsing goes on, else the exit code to
 * stop with (CTL_EXIT_OK after --help, CTL_EXIT_USAGE after printing why). */
static int common_option(struct ctl *ctl, int opt, const char *arg, char **argv)
{
	int rc = CTL_CONTINUE;

	switch (opt) {
	case CTL_OPT_CONF:
		ctl->conf = arg;
		break;
	case CTL_OPT_URL:
		ctl->url = arg;
		break;
	case CTL_OPT_JSON:
		ctl->json = true;
		break;
	case CTL_OPT_DEBUG:
		ctl->debug = true;
		gotrue_log_init(ctl->prog, GOTRUE_LOG_STDERR, true);
		break;
	case CTL_OPT_SHOW_TOKENS:
		ctl->show_tokens = true;
		break;
	case CTL_OPT_HELP:
		printf("Usage: gotruectl [GLOBAL OPTIONS] %s\n", ctl->usage);
		rc = CTL_EXIT_OK;
		break;
	case CTL_OPT_SECRET_ARGV:
		/* A secret on argv is visible in ps(1) and /proc to every local user. */
		rc = ctl_usage_error(ctl,
				     "secrets are not accepted on the command line; use the prompt "
				     "or --password-stdin/--token-stdin");
		break;
	case ':':
		rc = ctl_usage_error(ctl, "option %s needs a value", argv[optind - 1]);
		break;
	default:
		rc = ctl_usage_error(ctl, "unknown or ambiguous option %s", argv[optind - 1]);
		break;
	}
	return rc;
}

int ctl_parse_options(struct ctl *ctl, int argc, char **argv, const struct option *opts,
		      ctl_local_option local, void *o)
{
	int c, rc = CTL_CONTINUE;

	getopt_reset();
	/* ":" first: a missing value comes back as ':' for a message that names the option. */
	while (rc == CTL_CONTINUE && (c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (local && c >= CTL_OPT_LOCAL)
			rc = local(ctl, c, optarg, o);
		else
			rc = common_option(ctl, c, optarg, argv);
	}
	return rc;
}

int ctl_config(struct ctl *ctl)
{
	int rc = CTL_EXIT_CONFIG;

	if (ctl->cfg) {
		rc = CTL_EXIT_OK;
		goto cleanup;
	}
	ctl->cfg = gotrue_config_new();
	if (!ctl->cfg) {
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	/* Only the default file may be absent (STYLE.md rule 6); the library logs why it failed. */
	if (gotrue_config_load_file(NULL, ctl->cfg, ctl->conf ? ctl->conf : GOTRUE_DEFAULT_CONF,
				    ctl->conf == NULL) != 0) {
		ctl_errorf(ctl, "cannot load the config %s",
			   ctl->conf ? ctl->conf : GOTRUE_DEFAULT_CONF);
		goto cleanup;
	}
	if (ctl->url && gotrue_config_set(NULL, ctl->cfg, "url", ctl->url) != 0) {
		ctl_errorf(ctl, "bad --url %s", ctl->url);
		goto cleanup;
	}
	if (ctl->debug)
		ctl->cfg->debug = true;
	rc = CTL_EXIT_OK;
cleanup:
	return rc;
}

int ctl_client(struct ctl *ctl, bool admin)
{
	int rc;

	rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = CTL_EXIT_CONFIG;
	if (!ctl->cfg->url) {
		ctl_errorf(ctl, "no server: set url in the config or use --url");
		goto cleanup;
	}
	/* Secrets are loaded before the client is built, since the client reads them from cfg. */
	if (admin && !ctl->admin_loaded) {
		if (!ctl->cfg->service_role_key_file) {
			ctl_errorf(ctl, "this command needs service_role_key_file in the config");
			goto cleanup;
		}
		if (gotrue_config_load_secret(NULL, ctl->cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) !=
		    0) {
			ctl_errorf(ctl, "cannot load the service-role key %s",
				   ctl->cfg->service_role_key_file);
			goto cleanup;
		}
		ctl->admin_loaded = true;
		/* A client built without the key would not send it. */
		gotrue_client_free(ctl->client);
		ctl->client = NULL;
	}
	if (!ctl->client) {
		if (gotrue_config_load_secret(NULL, ctl->cfg, GOTRUE_SECRET_API_KEY) != 0) {
			ctl_errorf(ctl, "cannot load the api key %s", ctl->cfg->api_key_file);
			goto cleanup;
		}
		ctl->client = gotrue_client_new(NULL, ctl->cfg);
		if (!ctl->client) {
			ctl_errorf(ctl, "cannot set up the HTTP client");
			goto cleanup;
		}
	}
	rc = CTL_EXIT_OK;
cleanup:
	return rc;
}

/* How many leading words of @argv name @c, or 0 when it does not match. */
static int command_matches(const struct ctl_command *c, int argc, char **argv)
{
	const char *p = c->name;
	int words = 0;
	size_t n;

	while (*p) {
		n = strcspn(p, " ");
		if (words >= argc || strlen(argv[words]) != n || strncmp(argv[words], p, n) != 0)
			return 0;
		words++;
		p += n;
		p += strspn(p, " ");
	}
	return words;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"version", no_argument, NULL, 'V'},
					     CTL_COMMON_LONGOPTS};
	struct ctl ctl = {.prog = "gotruectl", .cmd = NULL, .usage = "COMMAND [OPTIONS]"};
	const struct ctl_command *cmd = NULL;
	int rc = CTL_EXIT_USAGE, c, words = 0;
	size_t i;

	gotrue_log_init(ctl.prog, GOTRUE_LOG_STDERR, false);
	getopt_reset();
	/* '+': stop at the subcommand; its own options are parsed by its handler. */
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		if (c == 'V') {
			printf("gotruectl %s\n", PACKAGE_VERSION);
			rc = CTL_EXIT_OK;
			goto cleanup;
		}
		if (c == 'h' || c == CTL_OPT_HELP) {
			print_help(stdout);
			rc = CTL_EXIT_OK;
			goto cleanup;
		}
		rc = common_option(&ctl, c, optarg, argv);
		if (rc != CTL_CONTINUE)
			goto cleanup;
	}
	rc = CTL_EXIT_USAGE;
	if (optind >= argc) {
		print_help(stderr);
		goto cleanup;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]) && !cmd; i++) {
		words = command_matches(&commands[i], argc - optind, argv + optind);
		if (words)
			cmd = &commands[i];
	}
	if (!cmd) {
		fprintf(stderr, "gotruectl: unknown command '%s' (see gotruectl --help)\n",
			argv[optind]);
		goto cleanup;
	}
	ctl.cmd = cmd->name;
	ctl.usage = cmd->usage;
	/* The handler sees its own argv with the last word of the command name as argv[0]. */
	rc = cmd->fn(&ctl, argc - optind - words + 1, argv + optind + words - 1);
cleanup:
	gotrue_client_free(ctl.client);
	gotrue_config_free(ctl.cfg);
	if (fflush(stdout) != 0 && rc == CTL_EXIT_OK) {
		fprintf(stderr, "gotruectl: write error: %s\n", strerror(errno));
		rc = CTL_EXIT_INTERNAL;
	}
	return rc;
}
