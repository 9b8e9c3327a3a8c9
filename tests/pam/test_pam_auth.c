/* test_pam_auth: every row of pam_gotrue(8)'s RESULTS table through the real libpam and the
 * emulator, plus the module's syslog output checked for secrets. The log is captured by
 * tests/pam/pamtest.c (this program is linked with -export-dynamic for it), so it holds exactly
 * what the module would send to /dev/log, nothing less. */
#include <config.h>

#include <regex.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "accounts.h"
#include "api.h"
#include "emu.h"
#include "pamtest.h"
#include "secure.h"
#include "store.h"
#include "tap.h"

/* ---- helpers ----------------------------------------------------------------------------- */
#define PASSWORD "Correct-Horse-9"
#define WRONG	 "wrong-password-1"

static struct emu *e;
static char state_dir[512];
static char *conf;

static int acct_mgmt(const char *service, const char *user, struct pt_conv *c)
{
	pam_handle_t *pamh;
	int rc;

	memset(c, 0, sizeof(*c));
	pamh = pt_start(service, user, c);
	if (pamh == NULL)
		return -1;
	rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

/* The private account index as `gotruectl sync` writes it (lib/directory/accounts.h). */
static int write_index(const char *erin_id)
{
	static char n_erin[] = "erin", n_frank[] = "frank", n_gina[] = "gina", ops[] = "ops",
		    other[] = "other", e_erin[] = "erin.smith@other.org",
		    e_frank[] = "frank@example.com", e_gina[] = "gina@example.com",
		    id_x[] = "00000000-0000-4000-8000-000000000001",
		    id_y[] = "00000000-0000-4000-8000-000000000002";
	static char *g_ops[] = {ops, NULL}, *g_other[] = {other, NULL};
	struct gotrue_account a[3];
	char path[600];

	memset(a, 0, sizeof(a));
	a[0].name = n_erin;
	a[0].uid = a[0].gid = 0x70000010;
	a[0].user_id = (char *)erin_id;
	a[0].email = e_erin;
	a[0].groups = g_ops;
	a[0].n_groups = 1;
	a[1].name = n_frank;
	a[1].uid = a[1].gid = 0x70000011;
	a[1].user_id = id_x;
	a[1].email = e_frank;
	a[1].banned_until = time(NULL) + 3600;
	a[2].name = n_gina;
	a[2].uid = a[2].gid = 0x70000012;
	a[2].user_id = id_y;
	a[2].email = e_gina;
	a[2].groups = g_other;
	a[2].n_groups = 1;
	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	return gotrue_accounts_write(path, a, 3);
}

static long logins(void)
{
	return emu_count(e, "POST /token?grant_type=password");
}

static void svc_then(const char *name, const char *extra, const char *then)
{
	char args[2048];

	snprintf(args, sizeof(args), "conf=%s %s", conf, extra ? extra : "");
	if (pt_service_then(name, args, then) != 0)
		diag("cannot write service %s", name);
}

static void svc(const char *name, const char *extra)
{
	svc_then(name, extra, NULL);
}

#define LINE_SIZE 1024

/* One PAM step (pam_authenticate or pam_acct_mgmt) of @user from @rhost (NULL: none set), as
 * sshd makes it, through the "plain" service; its result. The first line it logged that
 * contains @what is left in @line ("" when none). */
static int from_host(int (*step)(pam_handle_t *, int), const char *user, const char *password,
		     const char *rhost, const char *what, char line[LINE_SIZE])
{
	size_t mark = pt_log_len();
	const char *at, *start, *end;
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.answers[0] = password;
	pamh = pt_start("plain", user, &c);
	if (pamh != NULL) {
		if (rhost != NULL)
			pam_set_item(pamh, PAM_RHOST, rhost);
		rc = step(pamh, 0);
		pam_end(pamh, rc);
	}
	line[0] = '\0';
	at = strstr(pt_log() + mark, what);
	if (at != NULL) {
		for (start = at; start > pt_log() + mark && start[-1] != '\n'; start--)
			;
		end = strchr(at, '\n');
		snprintf(line, LINE_SIZE, "%.*s",
			 (int)(end != NULL ? end - start : (long)strlen(start)), start);
	}
	return rc;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Authentication outcomes end in "; rhost=HOST user=NAME", as pam_unix's lines do, so that a
 * fail2ban filter finds the host in pam_gotrue's own line. */
static void test_rhost(void)
{
	/* What a fail2ban failregex for pam_gotrue matches (man/pam_gotrue.8, DIAGNOSTICS). */
	static const char filter[] =
		"^pam_gotrue\\([^)]*\\): sign-in failed \\(.*\\); rhost=([^ ]+) user=[^ ]*$";
	char line[LINE_SIZE], host[64] = "";
	regmatch_t m[2];
	regex_t re;

	is_int(from_host(pam_authenticate, "alice", WRONG, "192.0.2.7", "sign-in failed", line),
	       PAM_AUTH_ERR, "rhost: a wrong password from 192.0.2.7 refused");
	ok(ends_with(line, "; rhost=192.0.2.7 user=alice"),
	   "rhost: the failure line ends in rhost=192.0.2.7 user=alice (%s)", line);
	if (regcomp(&re, filter, REG_EXTENDED) == 0) {
		if (regexec(&re, line, 2, m, 0) == 0)
			snprintf(host, sizeof(host), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
				 line + m[1].rm_so);
		regfree(&re);
	}
	is_str(host, "192.0.2.7", "rhost: a fail2ban-style filter takes the host from it");
	is_int(from_host(pam_authenticate, "alice", PASSWORD, "192.0.2.7", "authenticated", line),
	       PAM_SUCCESS, "rhost: the right password from 192.0.2.7");
	is_str(line, "pam_gotrue(plain:auth): authenticated; rhost=192.0.2.7 user=alice",
	       "rhost: the success line names the host too");
	from_host(pam_authenticate, "alice", PASSWORD, NULL, "authenticated", line);
	ok(ends_with(line, "; rhost= user=alice"),
	   "rhost: none set: an empty rhost=, as pam_unix logs it (%s)", line);
	from_host(pam_authenticate, "alice", WRONG, "203.0.113.9 user=root\n", "sign-in failed",
		  line);
	ok(ends_with(line, "; rhost=203.0.113.9?user=root? user=alice"),
	   "rhost: blanks and control characters in it cannot forge a field (%s)", line);
	is_int(from_host(pam_acct_mgmt, "frank", NULL, "192.0.2.8", "banned", line),
	       PAM_ACCT_EXPIRED, "rhost: account step of a banned user from 192.0.2.8");
	is_str(line,
	       "pam_gotrue(plain:account): account denied: banned; rhost=192.0.2.8 user=frank",
	       "rhost: the account step's refusal names the host");
}

/* True when a user was created; the id is not needed. */
static bool created(char *id)
{
	bool ok = id != NULL;

	free(id);
	return ok;
}

static void ban(const char *id)
{
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_client *c = NULL;
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};

	if (gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) == 0 &&
	    (c = gotrue_client_new(NULL, cfg)) != NULL &&
	    gotrue_admin_ban_user(c, id, "24h", &u, &err) == 0)
		diag("banned %s", id);
	else
		diag("cannot ban %s: %s", id, err.message);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	gotrue_client_free(c);
	gotrue_config_free(cfg);
}

int main(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct pt_conv c;
	char extra[1024], *secret_path = NULL, *bob_id = NULL, *erin_id = NULL;
	const char *id;
	struct gotrue_store *store = NULL;
	struct gotrue_store_record rec = {0};
	long before;
	double t0, took;
	size_t mark;
	int rc, alerts;

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	e = emu_start(args);
	if (e == NULL) {
		printf("Bail out! cannot start the emulator\n");
		return 99;
	}
	snprintf(state_dir, sizeof(state_dir), "%s/store", pt_confdir());
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nemail_fallback = yes\nstate_dir = %s\ntimeout = 2\n",
		 state_dir);
	conf = emu_write_config(e, extra);
	ok(conf != NULL, "config written");
	ok(created(emu_create_user(e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}")),
	   "user alice");
	bob_id = emu_create_user(e, "bob@example.com", PASSWORD, "{\"email_confirm\":true}");
	ok(bob_id != NULL, "user bob");
	ok(created(emu_create_user(e, "carol@example.com", PASSWORD, "{\"email_confirm\":false}")),
	   "user carol (unconfirmed)");
	ok(created(emu_create_user(
		   e, "dave@example.com", PASSWORD,
		   "{\"email_confirm\":true,\"app_metadata\":{\"groups\":[\"staff\"]}}")),
	   "user dave (staff)");
	if (bob_id != NULL)
		ban(bob_id);

	svc("plain", NULL);
	/* PAM_IGNORE shows as pam_permit's PAM_SUCCESS; any other result of ours would fail the
	 * required line first. */
	svc_then("ignore", "ignore_unknown_user", "pam_permit.so");
	svc_then("unknown-permit", "", "pam_permit.so");
	svc("down", "url=http://127.0.0.1:9");
	svc_then("down-ignore", "url=http://127.0.0.1:9 ignore_authinfo_unavail", "pam_permit.so");
	svc("fast", "timeout=1");
	svc("staff", "allow_groups=staff");
	/* The defaults an installed host has: admission only through allow_groups, and no
	 * name@domain guess for a name sync never wrote. */
	svc("deny-default", "allow_all_users=no");
	/* A genuine token this host refuses (another audience), on a current server and on one
	 * configured as v2.69. */
	svc("bad-aud", "jwt_aud=someone-else");
	svc("bad-aud-old", "jwt_aud=someone-else server=v2.69");
	svc("no-fallback", "email_fallback=no");

	/* right and wrong password */
	is_int(pt_auth("plain", "alice", PASSWORD, &c), PAM_SUCCESS, "right password: PAM_SUCCESS");
	is_int(pt_store_count(state_dir), 1, "a pending record was kept");
	is_int(pt_auth("plain", "alice", WRONG, NULL), PAM_AUTH_ERR,
	       "wrong password: PAM_AUTH_ERR");
	before = logins();
	is_int(pt_auth("plain", "alice", "", NULL), PAM_AUTH_ERR, "empty password: PAM_AUTH_ERR");
	is_int(logins(), before, "empty password: refused without a request");

	/* unknown users */
	before = logins();
	is_int(pt_auth("plain", "root", PASSWORD, NULL), PAM_USER_UNKNOWN,
	       "local account root: PAM_USER_UNKNOWN");
	is_int(pt_auth("plain", "Not-Valid", PASSWORD, NULL), PAM_USER_UNKNOWN,
	       "invalid login name: PAM_USER_UNKNOWN");
	is_int(logins(), before, "unknown users: no password sent to the server");
	is_int(pt_auth("unknown-permit", "root", PASSWORD, NULL), PAM_USER_UNKNOWN,
	       "without ignore_unknown_user the stack fails");
	is_int(pt_auth("ignore", "root", PASSWORD, NULL), PAM_SUCCESS,
	       "ignore_unknown_user: PAM_IGNORE (the next module decides)");
	is_int(pt_auth("plain", "nobody-here", PASSWORD, NULL), PAM_AUTH_ERR,
	       "unknown GoTrue email: PAM_AUTH_ERR (the server does not tell them apart)");

	/* account state */
	is_int(pt_auth("plain", "bob", PASSWORD, &c), PAM_PERM_DENIED, "banned: PAM_PERM_DENIED");
	ok(strstr(c.told, "locked") != NULL, "banned: told why (%s)", c.told);
	is_int(pt_auth("plain", "carol", PASSWORD, &c), PAM_AUTH_ERR, "unconfirmed: PAM_AUTH_ERR");
	ok(strstr(c.told, "not confirmed") != NULL, "unconfirmed: told why (%s)", c.told);
	is_int(pt_auth("staff", "alice", PASSWORD, &c), PAM_PERM_DENIED,
	       "outside allow_groups: PAM_PERM_DENIED");
	ok(strstr(c.told, "not allowed") != NULL, "outside allow_groups: told why");
	is_int(pt_auth("staff", "dave", PASSWORD, NULL), PAM_SUCCESS,
	       "in allow_groups: PAM_SUCCESS");

	/* Deny by default: no allow_groups and no allow_all_users admits nobody, even with the
	 * right password, and says why in the log. */
	before = pt_log_len();
	is_int(pt_auth("deny-default", "dave", PASSWORD, &c), PAM_PERM_DENIED,
	       "no allow_groups, no allow_all_users: PAM_PERM_DENIED");
	ok(strstr(pt_log() + before, "allow_groups is empty and allow_all_users is not set") !=
		   NULL,
	   "no allow_groups, no allow_all_users: the log says why");
	is_int(pt_store_count(state_dir), 2, "no allow_groups: nothing stored for the refusal");
	/* The session behind a token that failed verification is signed out where scope=local
	 * ends only it, and forgotten where /logout would end every session of the user. */
	before = emu_count(e, "POST /logout");
	is_int(pt_auth("bad-aud", "dave", PASSWORD, NULL), PAM_AUTH_ERR,
	       "token for another audience: PAM_AUTH_ERR");
	is_int(emu_count(e, "POST /logout"), before + 1,
	       "token for another audience (current server): its session signed out");
	is_int(pt_auth("bad-aud-old", "dave", PASSWORD, NULL), PAM_AUTH_ERR,
	       "token for another audience (v2.69): PAM_AUTH_ERR");
	is_int(emu_count(e, "POST /logout"), before + 1,
	       "token for another audience (v2.69): forgotten, no /logout");
	/* email_fallback off: a name the account index does not hold sends nothing. */
	ok(created(emu_create_user(e, "nora@example.com", PASSWORD, "{\"email_confirm\":true}")),
	   "user nora, never synced");
	before = logins();
	is_int(pt_auth("no-fallback", "nora", PASSWORD, NULL), PAM_USER_UNKNOWN,
	       "email_fallback off: a name not in the index is PAM_USER_UNKNOWN");
	is_int(logins(), before, "email_fallback off: no request for it");

	/* the private account index: sign-in email from it, and acct_mgmt without a login (an SSH
	 * key) */
	erin_id = emu_create_user(e, "erin.smith@other.org", PASSWORD,
				  "{\"email_confirm\":true,\"app_metadata\":{\"username\":\"erin\","
				  "\"groups\":[\"ops\"]}}");
	ok(erin_id != NULL && write_index(erin_id) == 0, "account index written");
	is_int(pt_auth("plain", "erin", PASSWORD, NULL), PAM_SUCCESS,
	       "indexed user with another email domain: PAM_SUCCESS");
	is_int(acct_mgmt("plain", "erin", &c), PAM_SUCCESS, "account: indexed user allowed");
	is_int(acct_mgmt("plain", "frank", &c), PAM_ACCT_EXPIRED,
	       "account: banned: PAM_ACCT_EXPIRED");
	ok(strstr(c.told, "locked") != NULL, "account: banned: told why");
	is_int(acct_mgmt("staff", "gina", &c), PAM_PERM_DENIED,
	       "account: outside allow_groups: PAM_PERM_DENIED");
	ok(strstr(c.told, "not allowed") != NULL, "account: outside allow_groups: told why");
	is_int(acct_mgmt("plain", "henry", &c), PAM_USER_UNKNOWN,
	       "account: unknown: PAM_USER_UNKNOWN");
	is_int(acct_mgmt("ignore", "henry", &c), PAM_SUCCESS,
	       "account: unknown with ignore_unknown_user: PAM_IGNORE");
	/* A config that cannot be read: fail closed for GoTrue users, but a local account's account
	 * step is never ours, so root keeps its way in through default=bad stacks. */
	if (pt_service_then("broken", "conf=/nonexistent/gotrue.conf", NULL) != 0 ||
	    pt_service_then("broken-ignore", "conf=/nonexistent/gotrue.conf ignore_unknown_user",
			    "pam_permit.so") != 0)
		diag("cannot write the broken services");
	is_int(acct_mgmt("broken", "root", &c), PAM_USER_UNKNOWN,
	       "account: root with an unreadable config: PAM_USER_UNKNOWN, not a config error");
	is_int(acct_mgmt("broken-ignore", "root", &c), PAM_SUCCESS,
	       "account: ... and with ignore_unknown_user, PAM_IGNORE (pam_permit decides)");
	ok(acct_mgmt("broken-ignore", "erin", &c) != PAM_SUCCESS,
	   "account: a GoTrue user with an unreadable config: refused");

	/* the server */
	is_int(pt_auth("down", "alice", PASSWORD, &c), PAM_AUTHINFO_UNAVAIL,
	       "server down: PAM_AUTHINFO_UNAVAIL");
	ok(strstr(c.told, "unavailable") != NULL, "server down: told why");
	is_int(pt_auth("down-ignore", "alice", PASSWORD, NULL), PAM_SUCCESS,
	       "ignore_authinfo_unavail: PAM_IGNORE (the next module decides)");
	emu_fault(e, "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"delay\",\"ms\":4000}");
	t0 = pt_now();
	rc = pt_auth("fast", "alice", PASSWORD, NULL);
	took = pt_now() - t0;
	is_int(rc, PAM_AUTHINFO_UNAVAIL, "timeout: PAM_AUTHINFO_UNAVAIL");
	ok(took < 2.0, "timeout: answered within timeout + 1 s (%.2f s)", took);
	emu_clear_faults(e);
	emu_fault(e,
		  "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"status\",\"status\":500}");
	is_int(pt_auth("plain", "alice", PASSWORD, NULL), PAM_AUTHINFO_UNAVAIL,
	       "500: PAM_AUTHINFO_UNAVAIL");
	emu_fault(e, "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"status\",\"status\":429,"
		     "\"body\":\"{\\\"code\\\":\\\"over_request_rate_limit\\\",\\\"message\\\":"
		     "\\\"Request rate limit reached\\\"}\"}");
	is_int(pt_auth("plain", "alice", PASSWORD, &c), PAM_AUTHINFO_UNAVAIL,
	       "429: PAM_AUTHINFO_UNAVAIL");
	ok(strstr(c.told, "try again later") != NULL, "429: told why (%s)", c.told);
	emu_fault(e, "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"garbage\"}");
	is_int(pt_auth("plain", "alice", PASSWORD, NULL), PAM_AUTHINFO_UNAVAIL,
	       "garbage body: PAM_AUTHINFO_UNAVAIL");
	emu_clear_faults(e);

	/* a token signed with another key */
	if (asprintf(&secret_path, "%s/wrong_secret", pt_confdir()) > 0 &&
	    gotrue_replace_file(secret_path, "not-the-server-secret-0123456789abcdef", 38, 0600) ==
		    0) {
		snprintf(extra, sizeof(extra), "jwt_secret_file=%s", secret_path);
		svc("wrongkey", extra);
	}
	alerts = pt_log_alerts();
	mark = pt_log_len();
	before = pt_store_count(state_dir);
	is_int(pt_auth("wrongkey", "alice", PASSWORD, NULL), PAM_AUTH_ERR,
	       "token failing verification: PAM_AUTH_ERR");
	ok(pt_log_alerts() > alerts && strstr(pt_log() + mark, "possible attack") != NULL,
	   "token failing verification: logged as an attack");
	is_int(pt_store_count(state_dir), before, "token failing verification: nothing kept");

	test_rhost();

	/* secrets never reach the log: passwords, and the tokens of a kept record */
	ok(strstr(pt_log(), PASSWORD) == NULL && strstr(pt_log(), WRONG) == NULL,
	   "no password in %zu bytes of log", pt_log_len());
	id = pt_store_first(state_dir);
	store = gotrue_store_open(NULL, state_dir);
	if (id != NULL && store != NULL && gotrue_store_read(store, id, &rec) == 0) {
		ok(rec.access_token != NULL && strstr(pt_log(), rec.access_token) == NULL,
		   "no access token in the log");
		ok(rec.refresh_token != NULL && strstr(pt_log(), rec.refresh_token) == NULL,
		   "no refresh token in the log");
	} else {
		ok(0, "a record to compare the log with");
	}
	ok(strstr(pt_log(), "eyJ") == NULL, "nothing JWT-shaped in the log");
	ok(strstr(pt_log(), "pam_gotrue") != NULL, "the capture saw the module's lines");
	if (getenv("TEST_VERBOSE"))
		fputs(pt_log(), stdout);

	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
	free(secret_path);
	free(bob_id);
	free(erin_id);
	free(conf);
	emu_stop(e);
	pt_cleanup();
	return done_testing();
}
