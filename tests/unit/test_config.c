/* test_config: the option grammar (every key, good and bad values), the config file parser, the
 * override order of gotrue_config_load, secret loading, gotrue_config_check, and wiping. */
#include <config.h>

#include "tap.h"
#include "core_util.h"
#include "config_check.h"
#include "log.h"
#include "secure.h"
/* By path: <config.h> and "config.h" both name autoconf's header from here. */
#include "gotrue_config.h"

static struct gotrue_config *fresh(void)
{
	struct gotrue_config *cfg = gotrue_config_new();

	if (cfg == NULL) {
		printf("Bail out! gotrue_config_new failed\n");
		exit(99);
	}
	return cfg;
}

static int set(struct gotrue_config *cfg, const char *key, const char *value)
{
	return gotrue_config_set(NULL, cfg, key, value);
}

static void test_defaults(void)
{
	struct gotrue_config *cfg = fresh();

	ok(cfg->url == NULL, "default: no url");
	is_int(cfg->timeout, 10, "default timeout 10");
	is_int(cfg->connect_timeout, 5, "default connect_timeout 5");
	is_int(cfg->max_response, 1024 * 1024, "default max_response 1 MiB");
	is_str(cfg->jwt_aud, "authenticated", "default jwt_aud");
	ok(cfg->jwt_iss == NULL, "default: no jwt_iss");
	ok(cfg->jwt_algs == NULL, "default jwt_algs NULL (follows the key type)");
	is_int(cfg->jwt_leeway, 30, "default jwt_leeway 30");
	ok(cfg->email_domains != NULL && cfg->email_domains[0] == NULL,
	   "default email_domains empty");
	is_int(cfg->uid_min, 0x70000000UL, "default uid_min");
	is_int(cfg->uid_max, 0x7fff0000UL, "default uid_max");
	is_str(cfg->home, "/home/%u", "default home");
	is_str(cfg->shell, "/bin/bash", "default shell");
	ok(cfg->allow_groups != NULL && cfg->allow_groups[0] == NULL, "default allow_groups empty");
	ok(cfg->local_groups != NULL && cfg->local_groups[0] == NULL, "default local_groups empty");
	is_int(cfg->revoked_session, GOTRUE_REVOKED_LOG, "default revoked_session log");
	is_int(cfg->old_server_logout, GOTRUE_OLD_LOGOUT_FORGET,
	       "default old_server_logout forget");
	is_int(cfg->mfa, GOTRUE_MFA_ENROLLED, "default mfa enrolled");
	is_int(cfg->login, GOTRUE_LOGIN_PASSWORD, "default login password");
	is_str(cfg->state_dir, GOTRUE_STATEDIR, "default state_dir");
	ok(!cfg->debug, "default debug off");
	ok(cfg->api_key == NULL && cfg->jwt_secret == NULL && cfg->service_role_key == NULL,
	   "no secret loaded by default");
	gotrue_config_free(cfg);
	gotrue_config_free(NULL);
}

struct case_ {
	const char *key, *value;
	int rc;
};

/* Every key with good and bad values; each bad value must also leave the old value alone. */
static const struct case_ cases[] = {
	{"url", "https://abc.supabase.co/auth/v1/", 0},
	{"url", "http://127.0.0.1:9999", 0},
	{"url", "HTTPS://example.org", 0},
	{"url", "ftp://example.org", -1},
	{"url", "example.org", -1},
	{"url", "https://", -1},
	{"url", "https://user:pw@example.org", -1},
	{"url", "https://example.org/?x=1", -1},
	{"url", "https://exa mple.org", -1},
	{"url", "", -1},
	{"url", NULL, -1},
	{"api_key_file", "/etc/gotrue/api_key", 0},
	{"api_key_file", "api_key", -1},
	{"service_role_key_file", "/etc/gotrue/service_role.key", 0},
	{"service_role_key_file", "", -1},
	{"ca_file", "/etc/ssl/ca.pem", 0},
	{"ca_file", "ca.pem", -1},
	{"timeout", "1", 0},
	{"timeout", "120", 0},
	{"timeout", "0", -1},
	{"timeout", "121", -1},
	{"timeout", "-5", -1},
	{"timeout", "10s", -1},
	{"timeout", " 10", -1},
	{"timeout", "", -1},
	{"timeout", "99999999999999999999999", -1},
	{"connect_timeout", "1", 0},
	{"connect_timeout", "0", -1},
	{"connect_timeout", "121", -1},
	{"max_response", "1024", 0},
	{"max_response", "1K", 0},
	{"max_response", "64M", 0},
	{"max_response", "67108864", 0},
	{"max_response", "1023", -1},
	{"max_response", "67108865", -1},
	{"max_response", "65M", -1},
	{"max_response", "1G", -1},
	{"max_response", "K", -1},
	{"jwt_secret_file", "/etc/gotrue/jwt_secret", 0},
	{"jwt_secret_file", "jwt_secret", -1},
	{"jwt_public_key", "/etc/gotrue/jwt.pem", 0},
	{"jwt_public_key", "jwt.pem", -1},
	{"jwks_url", "/.well-known/jwks.json", 0},
	{"jwks_url", "https://example.org/auth/v1/.well-known/jwks.json", 0},
	{"jwks_url", "jwks.json", -1},
	{"jwt_aud", "authenticated", 0},
	{"jwt_aud", "", -1},
	{"jwt_iss", "https://abc.supabase.co/auth/v1", 0},
	{"jwt_iss", "", -1},
	{"jwt_algs", "HS256", 0},
	{"jwt_algs", "HS256,HS384,HS512,RS256,RS384,RS512,ES256,ES384,ES512", 0},
	{"jwt_algs", "RS256, ES256", 0},
	{"jwt_algs", "none", -1},
	{"jwt_algs", "NONE", -1},
	{"jwt_algs", "HS256,none", -1},
	{"jwt_algs", "hs256", -1},
	{"jwt_algs", "PS256", -1},
	{"jwt_algs", "", -1},
	{"jwt_algs", ",", -1},
	{"jwt_leeway", "0", 0},
	{"jwt_leeway", "300", 0},
	{"jwt_leeway", "301", -1},
	{"jwt_leeway", "-1", -1},
	{"email_domains", "example.org", 0},
	{"email_domains", "", 0},
	{"email_domains", "exa_mple.org", -1},
	{"email_domains", "example..org", -1},
	{"email_domains", ".example.org", -1},
	{"uid_min", "1000", 0},
	{"uid_min", "0x70000000", 0},
	{"uid_min", "999", -1},
	{"uid_min", "0", -1},
	{"uid_min", "4294967295", -1},
	{"uid_min", "0xzz", -1},
	{"uid_max", "4294967294", 0},
	{"uid_max", "500", -1},
	{"home", "/home/%u", 0},
	{"home", "/srv/home/%u", 0},
	{"home", "home/%u", -1},
	{"home", "/home:%u", -1},
	{"home", "/home/\n%u", -1},
	{"shell", "/bin/sh", 0},
	{"shell", "bash", -1},
	{"shell", "/bin/sh:x", -1},
	{"allow_groups", "admins,ops", 0},
	{"allow_groups", "", 0},
	{"allow_groups", "ad:mins", -1},
	{"local_groups", "users video", 0},
	{"local_groups", "a:b", -1},
	{"revoked_session", "log", 0},
	{"revoked_session", "terminate", 0},
	{"revoked_session", "kill", -1},
	{"revoked_session", "", -1},
	{"old_server_logout", "forget", 0},
	{"old_server_logout", "global", 0},
	{"old_server_logout", "local", -1},
	{"old_server_logout", "", -1},
	{"mfa", "enrolled", 0},
	{"mfa", "required", 0},
	/* No value skips a verified factor. */
	{"mfa", "off", -1},
	{"mfa", "optional", -1},
	{"mfa", "", -1},
	{"login", "password", 0},
	{"login", "email_code", 0},
	{"login", "password_or_email_code", 0},
	{"login", "magic_link", -1},
	{"login", "", -1},
	{"state_dir", "/var/lib/gotrue", 0},
	{"state_dir", "var/lib/gotrue", -1},
	{"debug", NULL, 0},
	{"debug", "yes", 0},
	{"debug", "no", 0},
	{"debug", "true", 0},
	{"debug", "false", 0},
	{"debug", "1", 0},
	{"debug", "0", 0},
	{"debug", "maybe", -1},
	{"conf", "/etc/gotrue/other.conf", -1},
};

static void test_keys(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gotrue_config *cfg = fresh();
		char shown[128];
		int rc;

		tu_capture_begin();
		rc = set(cfg, cases[i].key, cases[i].value);
		tu_capture_end();
		/* Control characters would break the TAP line: show them as '?'. */
		snprintf(shown, sizeof(shown), "%s", cases[i].value ? cases[i].value : "(bare)");
		for (char *c = shown; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20)
				*c = '?';
		is_int(rc, cases[i].rc, "%s=%s %s", cases[i].key, shown,
		       cases[i].rc == 0 ? "accepted" : "refused");
		if (rc != 0 && strcmp(cases[i].key, "conf") != 0)
			ok(tu_captured[0] != '\0' && strstr(tu_captured, cases[i].key) != NULL,
			   "refusal is logged naming option=%s", cases[i].key);
		gotrue_config_free(cfg);
	}
}

static void test_values(void)
{
	struct gotrue_config *cfg = fresh();

	set(cfg, "url", "https://abc.supabase.co/auth/v1//");
	is_str(cfg->url, "https://abc.supabase.co/auth/v1", "url trailing slashes stripped");
	tu_capture_begin();
	set(cfg, "url", "ftp://x");
	tu_capture_end();
	is_str(cfg->url, "https://abc.supabase.co/auth/v1", "bad url keeps the old one");

	set(cfg, "timeout", "3");
	is_int(cfg->connect_timeout, 3, "timeout=3 lowers the default connect_timeout to 3");
	set(cfg, "timeout", "20");
	is_int(cfg->connect_timeout, 5, "timeout=20 gives the default connect_timeout 5");
	set(cfg, "connect_timeout", "7");
	set(cfg, "timeout", "30");
	is_int(cfg->connect_timeout, 7, "an explicit connect_timeout survives a later timeout");
	tu_capture_begin();
	set(cfg, "timeout", "0");
	tu_capture_end();
	is_int(cfg->timeout, 30, "bad timeout keeps the old one");

	set(cfg, "max_response", "2K");
	is_int(cfg->max_response, 2048, "max_response=2K is 2048");
	set(cfg, "max_response", "64m");
	is_int(cfg->max_response, 64 * 1024 * 1024, "max_response=64m is 64 MiB");

	set(cfg, "jwt_algs", "RS256, ES256");
	ok(cfg->jwt_algs && !strcmp(cfg->jwt_algs[0], "RS256") &&
		   !strcmp(cfg->jwt_algs[1], "ES256") && cfg->jwt_algs[2] == NULL,
	   "jwt_algs split into a strv");
	tu_capture_begin();
	set(cfg, "jwt_algs", "HS256,none");
	tu_capture_end();
	ok(strstr(tu_captured, "\"none\"") != NULL, "alg none refused loudly");
	ok(cfg->jwt_algs && !strcmp(cfg->jwt_algs[0], "RS256") && cfg->jwt_algs[2] == NULL,
	   "refused jwt_algs keeps the old list");

	set(cfg, "email_domains", "example.org, @Example.COM\tother.net,,");
	ok(cfg->email_domains && !strcmp(cfg->email_domains[0], "example.org") &&
		   !strcmp(cfg->email_domains[1], "example.com") &&
		   !strcmp(cfg->email_domains[2], "other.net") && cfg->email_domains[3] == NULL,
	   "email_domains: comma/space list, '@' dropped, lower-cased");
	ok(gotrue_strv_contains(cfg->email_domains, "other.net"), "strv_contains finds an item");
	ok(!gotrue_strv_contains(cfg->email_domains, "other"), "strv_contains is exact");
	ok(!gotrue_strv_contains(NULL, "x"), "strv_contains(NULL) is false");
	set(cfg, "email_domains", "");
	ok(cfg->email_domains && cfg->email_domains[0] == NULL, "email_domains= empties the list");

	set(cfg, "allow_groups", "admins ops");
	ok(cfg->allow_groups && !strcmp(cfg->allow_groups[1], "ops") && !cfg->allow_groups[2],
	   "allow_groups list");
	set(cfg, "local_groups", "users,video");
	ok(cfg->local_groups && !strcmp(cfg->local_groups[0], "users") && !cfg->local_groups[2],
	   "local_groups list");
	set(cfg, "uid_min", "0x10000");
	is_int(cfg->uid_min, 65536, "uid_min accepts hex");
	set(cfg, "uid_max", "200000");
	is_int(cfg->uid_max, 200000, "uid_max decimal");
	set(cfg, "revoked_session", "terminate");
	is_int(cfg->revoked_session, GOTRUE_REVOKED_TERMINATE, "revoked_session=terminate");
	set(cfg, "old_server_logout", "global");
	is_int(cfg->old_server_logout, GOTRUE_OLD_LOGOUT_GLOBAL, "old_server_logout=global");
	set(cfg, "debug", NULL);
	ok(cfg->debug, "bare debug sets the flag");
	set(cfg, "debug", "no");
	ok(!cfg->debug, "debug=no clears it");
	set(cfg, "jwt_leeway", "0");
	is_int(cfg->jwt_leeway, 0, "jwt_leeway=0");
	set(cfg, "home", "/srv/%u");
	is_str(cfg->home, "/srv/%u", "home set");
	gotrue_config_free(cfg);
}

static void test_inline_and_unknown(void)
{
	static const char *const inline_keys[] = {"api_key", "jwt_secret", "service_role_key"};
	struct gotrue_config *cfg = fresh();
	size_t i;

	for (i = 0; i < 3; i++) {
		tu_capture_begin();
		is_int(set(cfg, inline_keys[i], "eyJhbGciOiJIUzI1NiJ9.SECRETVALUE"), -1,
		       "inline %s refused", inline_keys[i]);
		tu_capture_end();
		ok(strstr(tu_captured, "_file") != NULL, "message points at the *_file key");
		ok(strstr(tu_captured, "SECRETVALUE") == NULL, "message does not show the secret");
	}
	ok(cfg->api_key == NULL && cfg->jwt_secret == NULL && cfg->service_role_key == NULL,
	   "no inline secret stored");

	tu_capture_begin();
	is_int(set(cfg, "frobnicate", "1"), -1, "unknown key refused");
	tu_capture_end();
	ok(strstr(tu_captured, "unknown option; option=frobnicate") != NULL,
	   "unknown key logged as 'unknown option; option=frobnicate'");
	gotrue_config_free(cfg);
}

static void test_parse(void)
{
	struct gotrue_config *cfg = fresh();
	const char *text = "# a comment\n"
			   "\n"
			   "   \t\n"
			   "url = https://gotrue.example.org/\n" /* 4 */
			   "  timeout=20  \r\n"			 /* 5 */
			   "    # indented comment\n"
			   "bogus_key = 1\n"			      /* 7 */
			   "this is not a line\n"		      /* 8 */
			   "email_domains = example.org  other.org\n" /* 9 */
			   "= value\n"				      /* 10 */
			   "timeout = 500\n"			      /* 11 */
			   "debug\n"				      /* 12 */
			   "jwt_secret = hunter2\n"		      /* 13 */
			   "jwt_aud = my-aud";			      /* 14, no newline */
	int n;

	tu_capture_begin();
	n = gotrue_config_parse(NULL, cfg, text, "test.conf");
	tu_capture_end();
	is_int(n, 5, "5 bad lines counted");
	is_int(cfg->load_problems, 5, "load_problems records them");
	is_str(cfg->url, "https://gotrue.example.org", "url parsed, slash stripped");
	is_int(cfg->timeout, 20, "blanks and CRLF trimmed, bad later timeout ignored");
	ok(cfg->email_domains && cfg->email_domains[1] &&
		   !strcmp(cfg->email_domains[1], "other.org"),
	   "list value with inner blanks");
	ok(cfg->debug, "bare flag line");
	is_str(cfg->jwt_aud, "my-aud", "last line without newline");
	ok(cfg->jwt_secret == NULL, "inline jwt_secret line not stored");
	ok(strstr(tu_captured, "unknown option; option=bogus_key file=test.conf line=7") != NULL,
	   "unknown key logged with file and line 7");
	ok(strstr(tu_captured, "line=8") != NULL, "malformed line 8 logged");
	ok(strstr(tu_captured, "line=10") != NULL, "line 10 without key logged");
	ok(strstr(tu_captured, "option=timeout") && strstr(tu_captured, "line=11"),
	   "bad timeout logged at line 11");
	ok(strstr(tu_captured, "line=13") != NULL && strstr(tu_captured, "hunter2") == NULL,
	   "inline secret logged at line 13 without its value");
	gotrue_config_free(cfg);

	cfg = fresh();
	is_int(gotrue_config_parse(NULL, cfg, "", "empty"), 0, "empty text is clean");
	is_int(gotrue_config_parse(NULL, cfg, "# only\n\n", "c"), 0, "comments only is clean");
	gotrue_config_free(cfg);
}

static void test_load(void)
{
	const char *conf = tu_write("gotrue.conf",
				    "url = https://file.example.org\n"
				    "timeout = 20\n"
				    "shell = /bin/zsh\n",
				    0644);
	char confarg[4300];
	struct gotrue_config *cfg;
	static const char *const own[] = {"use_first_pass", "try_first_pass", "prompt", NULL};

	snprintf(confarg, sizeof(confarg), "conf=%s", conf);

	cfg = fresh();
	is_int(gotrue_config_load_file(NULL, cfg, tu_path("absent.conf"), true), 0,
	       "absent file allowed when may_be_absent");
	tu_capture_begin();
	is_int(gotrue_config_load_file(NULL, cfg, tu_path("absent.conf"), false), -1,
	       "absent file refused otherwise");
	tu_capture_end();
	ok(strstr(tu_captured, "absent.conf") != NULL, "missing file logged with its path");
	gotrue_config_free(cfg);

	cfg = fresh();
	{
		const char *argv[] = {"timeout=30",	 confarg,	"use_first_pass",
				      "prompt=Password", "debug",	"nosuchopt=1",
				      "shell=/bin/sh",	 "jwt_secret=x"};

		tu_capture_begin();
		is_int(gotrue_config_load(NULL, cfg, 8, argv, own), 0,
		       "load with conf= and arguments");
		tu_capture_end();
	}
	is_str(cfg->url, "https://file.example.org", "conf= file was read");
	is_int(cfg->timeout, 30, "argument overrides the file (even when given before conf=)");
	is_str(cfg->shell, "/bin/sh", "argument overrides the file's shell");
	ok(cfg->debug, "bare flag argument");
	ok(strstr(tu_captured, "use_first_pass") == NULL && strstr(tu_captured, "prompt") == NULL,
	   "own flags skipped silently");
	ok(strstr(tu_captured, "unknown option; option=nosuchopt") != NULL,
	   "unknown argument logged");
	is_int(cfg->load_problems, 2, "unknown argument and inline secret counted");
	gotrue_config_free(cfg);

	cfg = fresh();
	{
		const char *argv[] = {"conf=/nonexistent/gotrue.conf", "debug"};

		tu_capture_begin();
		is_int(gotrue_config_load(NULL, cfg, 2, argv, NULL), -1,
		       "a named conf= that is missing fails");
		tu_capture_end();
	}
	gotrue_config_free(cfg);

	cfg = fresh();
	{
		const char *argv[] = {"conf=relative.conf"};

		tu_capture_begin();
		is_int(gotrue_config_load(NULL, cfg, 1, argv, NULL), -1, "relative conf= refused");
		tu_capture_end();
	}
	gotrue_config_free(cfg);

	if (access(GOTRUE_DEFAULT_CONF, F_OK) != 0 && errno == ENOENT) {
		const char *argv[] = {"url=http://127.0.0.1:1"};

		cfg = fresh();
		is_int(gotrue_config_load(NULL, cfg, 1, argv, NULL), 0,
		       "default config path may be absent");
		is_str(cfg->url, "http://127.0.0.1:1", "arguments apply without a file");
		gotrue_config_free(cfg);
	} else {
		diag("%s exists on this host: absent-default case not tested", GOTRUE_DEFAULT_CONF);
	}

	/* A group-writable config is not trusted. */
	conf = tu_write("gw.conf", "url = https://evil.example.org\n", 0664);
	snprintf(confarg, sizeof(confarg), "conf=%s", conf);
	cfg = fresh();
	{
		const char *argv[] = {confarg};

		tu_capture_begin();
		is_int(gotrue_config_load(NULL, cfg, 1, argv, NULL), -1,
		       "group-writable config refused");
		tu_capture_end();
	}
	ok(cfg->url == NULL, "nothing from the refused file applied");
	gotrue_config_free(cfg);

	/* Cross-key rules once every source is applied. */
	cfg = fresh();
	{
		const char *argv[] = {confarg, "uid_min=5000", "uid_max=5000"};

		tu_write("gw.conf", "timeout = 4\nconnect_timeout = 9\n", 0644);
		tu_capture_begin();
		is_int(gotrue_config_load(NULL, cfg, 3, argv, NULL), -1,
		       "uid_min == uid_max fails");
		tu_capture_end();
	}
	is_int(cfg->connect_timeout, 4, "connect_timeout above timeout is clamped to timeout");
	gotrue_config_free(cfg);
}

static void test_secrets(void)
{
	struct gotrue_config *cfg = fresh();
	const char *good = tu_write("api.key", "sb_publishable_abc123\n\n", 0600);
	const char *open_ = tu_write("open.key", "sb_secret_leak\n", 0644);
	const char *empty = tu_write("empty.key", " \n\t\n", 0600);
	const char *twoline = tu_write("two.key", "line1\nline2\n", 0600);
	char *kept;

	is_int(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_API_KEY), 0,
	       "no file configured: nothing to load, no error");
	ok(cfg->api_key == NULL, "still no api_key");

	set(cfg, "api_key_file", good);
	is_int(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_API_KEY), 0, "0600 key loads");
	is_str(cfg->api_key, "sb_publishable_abc123", "trailing newlines stripped");
	kept = cfg->api_key;
	is_int(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_API_KEY), 0, "second load ok");
	ok(cfg->api_key == kept, "second load keeps the loaded secret");

	set(cfg, "jwt_secret_file", open_);
	tu_capture_begin();
	is_int(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_JWT_SECRET), -1,
	       "0644 secret file refused");
	tu_capture_end();
	ok(cfg->jwt_secret == NULL, "refused secret not stored");
	ok(strstr(tu_captured, "sb_secret_leak") == NULL, "refusal does not show the secret");

	set(cfg, "service_role_key_file", empty);
	tu_capture_begin();
	is_int(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY), -1,
	       "whitespace-only secret refused");
	tu_capture_end();
	ok(strstr(tu_captured, "empty") != NULL, "empty secret logged as empty");

	set(cfg, "service_role_key_file", twoline);
	tu_capture_begin();
	is_int(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY), -1,
	       "two-line secret refused");
	tu_capture_end();

	set(cfg, "service_role_key_file", tu_path("nope.key"));
	tu_capture_begin();
	is_int(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY), -1,
	       "missing secret file is an error");
	tu_capture_end();

#if TU_HAVE_FREE_SPY
	/* Changing the path drops (and wipes) the secret loaded from the old one. */
	tu_spy_watch(cfg->api_key, strlen(cfg->api_key));
	set(cfg, "api_key_file", tu_path("other.key"));
	ok(cfg->api_key == NULL, "new api_key_file drops the loaded key");
	ok(tu_spy_saw_zeroes(), "dropped key was wiped before free");

	set(cfg, "jwt_secret_file", good);
	gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_JWT_SECRET);
	ok(cfg->jwt_secret != NULL, "jwt secret loaded");
	tu_spy_watch(cfg->jwt_secret, strlen(cfg->jwt_secret));
	gotrue_config_free(cfg);
	ok(tu_spy_saw_zeroes(), "gotrue_config_free wipes a loaded secret before freeing it");
#else
	diag("built with a sanitizer that owns free(): wipe-before-free checks skipped");
	gotrue_config_free(cfg);
#endif
}

struct reports {
	char text[8192];
	int n, warnings;
};

static void collect(void *ctx, bool warning, const char *problem)
{
	struct reports *r = ctx;
	size_t used = strlen(r->text);

	snprintf(r->text + used, sizeof(r->text) - used, "%s%s\n", warning ? "warning: " : "",
		 problem);
	if (warning)
		r->warnings++;
	else
		r->n++;
	printf("#   %s: %s\n", warning ? "warning" : "problem", problem);
}

static int check(struct gotrue_config *cfg, struct reports *r)
{
	int n;

	memset(r, 0, sizeof(*r));
	tu_capture_begin();
	n = gotrue_config_check(NULL, cfg, collect, r);
	tu_capture_end();
	return n;
}

static void test_check(void)
{
	const char *secret = tu_write("jwt.secret", "super-secret-jwt-key\n", 0600);
	const char *leaky = tu_write("leaky.secret", "super-secret-jwt-key\n", 0640);
	const char *pem = tu_write(
		"jwt.pem", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n", 0644);
	const char *notpem = tu_write("not.pem", "hello\n", 0644);
	struct gotrue_config *cfg = fresh();
	struct reports r;
	int n;

	n = check(cfg, &r);
	is_int(n, r.n, "count matches the reports");
	ok(strstr(r.text, "url is not set") != NULL, "missing url reported");
	ok(strstr(r.text, "will not be signature-checked") != NULL, "missing JWT key reported");
	ok(strstr(r.text, "warning: email_domains is empty") != NULL,
	   "empty email_domains: a warning");
	ok(strstr(r.text, "no GoTrue user can log in") != NULL,
	   "no allow_groups and no allow_all_users reported");
	is_int(n, 3, "exactly these 3 problems for the defaults");
	is_int(r.warnings, 1, "and one warning");

	set(cfg, "url", "https://gotrue.example.org");
	set(cfg, "jwt_secret_file", secret);
	set(cfg, "email_domains", "example.org");
	set(cfg, "allow_groups", "staff");
	is_int(check(cfg, &r), 0, "a good config has no problems");
	is_int(r.warnings, 0, "and no warnings");

	/* Admission is an administrator's decision, and a config that admits everyone says so. */
	set(cfg, "allow_all_users", "yes");
	is_int(check(cfg, &r), 0, "allow_all_users beside allow_groups: no problem");
	ok(strstr(r.text, "no effect while allow_groups is set") != NULL,
	   "allow_all_users beside allow_groups: warned that it does nothing");
	set(cfg, "allow_groups", "");
	is_int(check(cfg, &r), 0, "allow_all_users alone: no problem, a deliberate choice");
	ok(strstr(r.text, "warning: allow_all_users = yes admits every GoTrue user") != NULL,
	   "allow_all_users alone: warned that everyone is admitted");
	set(cfg, "allow_all_users", "no");
	is_int(check(cfg, &r), 1, "empty allow_groups without allow_all_users: a problem");
	set(cfg, "allow_groups", "staff");
	set(cfg, "email_fallback", "yes");
	set(cfg, "email_domains", "example.org example.com");
	check(cfg, &r);
	ok(strstr(r.text, "warning: email_fallback needs exactly one domain") != NULL,
	   "email_fallback with two domains: warned");
	set(cfg, "email_domains", "example.org");
	is_int(check(cfg, &r), 0, "email_fallback with one domain: fine");
	is_int(r.warnings, 0, "email_fallback with one domain: no warning");
	set(cfg, "email_fallback", "no");
	/* Opting in to an old server's logout that ends every session is said plainly. */
	set(cfg, "old_server_logout", "global");
	is_int(check(cfg, &r), 0, "old_server_logout = global: no problem");
	ok(strstr(r.text, "warning: old_server_logout = global") != NULL &&
		   strstr(r.text, "every session") != NULL,
	   "old_server_logout = global: warned what it ends");
	set(cfg, "server", "current");
	check(cfg, &r);
	is_int(r.warnings, 0, "old_server_logout = global on a current server: no warning");
	set(cfg, "server", "auto");
	set(cfg, "old_server_logout", "forget");
	/* Codes by email: whoever reads the mail logs in, unless a factor is required. */
	set(cfg, "login", "email_code");
	is_int(check(cfg, &r), 0, "login = email_code: no problem");
	ok(strstr(r.text, "warning: login = email_code: whoever can read a user's mail") != NULL,
	   "login = email_code without mfa = required: warned");
	set(cfg, "mfa", "required");
	check(cfg, &r);
	is_int(r.warnings, 0, "login = email_code with mfa = required: no warning");
	set(cfg, "login", "password");
	set(cfg, "mfa", "enrolled");
	ok(strstr(tu_captured, "super-secret") == NULL && strstr(r.text, "super-secret") == NULL,
	   "check never shows the secret");

	/* Passwords and the service-role key go only to a listener root controls: https, or
	 * plain http to a loopback port below 1024. bad: 1 off-host, 2 a port any user can bind,
	 * which insecure_http_for_testing allows. */
	static const struct {
		const char *url;
		int bad;
	} urls[] = {
		{"http://gotrue.example.org", 1}, {"http://127.0.0.1:9999", 2},
		{"http://127.5.6.7", 0},	  {"http://128.0.0.1", 1},
		{"http://[::1]:9999/auth", 2},	  {"http://localhost:9999", 2},
		{"http://LOCALHOST", 0},	  {"http://localhost.evil.org", 1},
		{"http://10.0.0.1", 1},		  {"https://10.0.0.1", 0},
		{"http://127.0.0.1:1023", 0},	  {"http://127.0.0.1:1024", 2},
		{"http://[::1]:80/auth", 0},	  {"https://127.0.0.1:9999", 0},
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		set(cfg, "url", urls[i].url);
		check(cfg, &r);
		is_int(strstr(r.text, "plain http") != NULL, urls[i].bad != 0, "url %s %s",
		       urls[i].url, urls[i].bad ? "reported as plain http" : "accepted");
		set(cfg, "insecure_http_for_testing", "yes");
		check(cfg, &r);
		is_int(strstr(r.text, "plain http") != NULL, urls[i].bad == 1,
		       "url %s with insecure_http_for_testing %s", urls[i].url,
		       urls[i].bad == 1 ? "still reported" : "accepted");
		ok(strstr(r.text, "warning: insecure_http_for_testing = yes") != NULL,
		   "insecure_http_for_testing is always warned about");
		set(cfg, "insecure_http_for_testing", "no");
	}
	set(cfg, "url", "https://gotrue.example.org");

	set(cfg, "jwt_algs", "RS256");
	check(cfg, &r);
	ok(strstr(r.text, "RS*/ES*") != NULL, "RS256 without a public key reported");
	set(cfg, "jwt_public_key", pem);
	is_int(check(cfg, &r), 0, "RS256 with a PEM public key is fine");
	set(cfg, "jwt_public_key", notpem);
	check(cfg, &r);
	ok(strstr(r.text, "no PEM data") != NULL, "public key without PEM reported");
	set(cfg, "jwt_public_key", pem);

	set(cfg, "jwt_algs", "HS256");
	free(cfg->jwt_secret_file);
	cfg->jwt_secret_file = NULL;
	check(cfg, &r);
	ok(strstr(r.text, "HS* algorithms") != NULL, "HS256 without jwt_secret_file reported");

	set(cfg, "jwt_secret_file", leaky);
	n = check(cfg, &r);
	ok(strstr(r.text, "jwt_secret_file") != NULL, "0640 jwt_secret_file reported");
	ok(strstr(tu_captured, "super-secret") == NULL && strstr(r.text, "super-secret") == NULL,
	   "bad secret file reported without its content");
	set(cfg, "jwt_secret_file", secret);

	set(cfg, "api_key_file", tu_path("missing.key"));
	check(cfg, &r);
	ok(strstr(r.text, "api_key_file") != NULL, "missing api_key_file reported");
	set(cfg, "api_key_file", secret);
	set(cfg, "ca_file", notpem);
	check(cfg, &r);
	ok(strstr(r.text, "ca_file") != NULL, "ca_file without PEM reported");
	set(cfg, "ca_file", pem);
	is_int(check(cfg, &r), 0, "back to clean");

	set(cfg, "uid_min", "200000");
	set(cfg, "uid_max", "100000");
	set(cfg, "connect_timeout", "30");
	check(cfg, &r);
	ok(strstr(r.text, "uid_min 200000 must be below uid_max 100000") != NULL,
	   "uid range reported");
	ok(strstr(r.text, "connect_timeout 30") != NULL, "connect_timeout above timeout reported");
	cfg->load_problems = 2;
	check(cfg, &r);
	ok(strstr(r.text, "2 invalid line(s)") != NULL, "ignored lines reported");
	gotrue_config_free(cfg);
}

int main(void)
{
	gotrue_log_init("test_config", GOTRUE_LOG_STDERR, false);
	tu_mkdtemp();
	test_defaults();
	test_keys();
	test_values();
	test_inline_and_unknown();
	test_parse();
	test_load();
	test_secrets();
	test_check();
	tu_cleanup();
	return done_testing();
}
