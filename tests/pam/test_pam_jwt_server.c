/* test_pam_jwt_server: jwt_verify = server through the real libpam against a v2.69 emulator
 * (HS256 only, no JWKS) on a host that holds no JWT secret: GET /user confirms the access token,
 * and its claims count only then, and only for the user GET /user names. A token GET /user
 * refuses, a forged token inside a genuine-looking answer, and another user's GET /user answer are
 * each refused as an attack; a GET /user that cannot be had is an outage. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jwt.h>
#include <security/pam_appl.h>

#include "emu.h"
#include "pamtest.h"
#include "tap.h"

#define PASSWORD "Correct-Horse-9"
#define GET_USER "GET /user"

static struct emu *e;
static char *alice_id;
static char state_dir[512], conf[600];

static int login(const char *service)
{
	return pt_auth(service, "alice", PASSWORD, NULL);
}

/* A token with every claim a genuine one has, for alice, signed HS256 under a secret the server
 * does not know. */
static char *forged_token(void)
{
	char *out = NULL;
	jwt_t *jwt = NULL;
	static const unsigned char secret[] = "not-the-servers-secret-0123456789";
	char grants[1024];

	snprintf(grants, sizeof(grants),
		 "{\"sub\":\"%s\",\"aud\":\"authenticated\",\"exp\":%lld,"
		 "\"email\":\"alice@example.com\",\"role\":\"authenticated\",\"aal\":\"aal1\","
		 "\"session_id\":\"00000000-0000-4000-8000-00000000abcd\","
		 "\"app_metadata\":{\"provider\":\"email\",\"providers\":[\"email\"],"
		 "\"groups\":[\"admins\"]},\"user_metadata\":{}}",
		 alice_id, (long long)time(NULL) + 3600);
	if (jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, grants) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256, secret, sizeof(secret) - 1) == 0)
		out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}

static void test_confirmed(void)
{
	long n = emu_count(e, GET_USER);
	size_t mark = pt_log_len();

	is_int(login("local"), PAM_SERVICE_ERR,
	       "control: no secret and jwt_verify = local: PAM_SERVICE_ERR (no key)");
	is_int(emu_count(e, GET_USER), n, "control: no GET /user");
	ok(strstr(pt_log() + mark, "no usable token verification key") != NULL,
	   "control: logged as a missing key");
	is_int(login("server"), PAM_SUCCESS,
	       "jwt_verify = server (module argument), no secret: PAM_SUCCESS");
	is_int(emu_count(e, GET_USER), n + 1, "after exactly one GET /user");
	is_int(login("conf"), PAM_SUCCESS, "jwt_verify = server in the file: PAM_SUCCESS");
}

static void test_refused(void)
{
	char fault[4096], *forged = forged_token();
	int alerts;

	alerts = pt_log_alerts();
	emu_fault(e, "{\"path\":\"/user\",\"method\":\"GET\",\"kind\":\"status\",\"status\":401}");
	is_int(login("server"), PAM_AUTH_ERR, "GET /user refuses the token: PAM_AUTH_ERR");
	ok(pt_log_alerts() > alerts && strstr(pt_log(), "not confirmed by the server") != NULL,
	   "logged as a possible attack");

	ok(forged != NULL, "a forged token for alice with app_metadata.groups admins");
	snprintf(fault, sizeof(fault), "{\"path\":\"/token\",\"kind\":\"token\",\"token\":\"%s\"}",
		 forged ? forged : "");
	emu_fault(e, fault);
	alerts = pt_log_alerts();
	is_int(login("server"), PAM_AUTH_ERR,
	       "a forged token in a genuine answer: PAM_AUTH_ERR (GET /user refuses it)");
	ok(pt_log_alerts() > alerts, "logged as a possible attack");

	snprintf(fault, sizeof(fault),
		 "{\"path\":\"/user\",\"method\":\"GET\",\"kind\":\"status\",\"status\":200,"
		 "\"body\":\"{\\\"id\\\":\\\"00000000-0000-4000-8000-000000000077\\\","
		 "\\\"aud\\\":\\\"authenticated\\\",\\\"role\\\":\\\"authenticated\\\","
		 "\\\"email\\\":\\\"mallory@example.com\\\",\\\"app_metadata\\\":{},"
		 "\\\"user_metadata\\\":{}}\"}");
	emu_fault(e, fault);
	alerts = pt_log_alerts();
	is_int(login("server"), PAM_AUTH_ERR, "GET /user names another user: PAM_AUTH_ERR");
	ok(pt_log_alerts() > alerts && strstr(pt_log(), "another user than sub") != NULL,
	   "logged as a possible attack, saying why");

	emu_fault(e, "{\"path\":\"/user\",\"method\":\"GET\",\"kind\":\"status\",\"status\":503}");
	is_int(login("server"), PAM_AUTHINFO_UNAVAIL, "GET /user answers 503: AUTHINFO_UNAVAIL");
	emu_fault(e, "{\"path\":\"/user\",\"method\":\"GET\",\"kind\":\"drop\",\"count\":-1}");
	is_int(login("server"), PAM_AUTHINFO_UNAVAIL, "GET /user dropped: AUTHINFO_UNAVAIL");
	emu_clear_faults(e);
	is_int(login("server"), PAM_SUCCESS, "and with the server healthy again: PAM_SUCCESS");
	free(forged);
}

/* No jwt_secret_file, no service-role key: what a host of a fleet holds; plus @extra. */
static int write_conf(const char *path, const char *extra)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fprintf(f,
		"url = %s\nemail_domains = example.com\nemail_fallback = yes\n"
		"insecure_http_for_testing = yes\nallow_all_users = yes\nstate_dir = %s\n"
		"timeout = 5\nserver = v2.69\n%s",
		emu_url(e), state_dir, extra);
	return fclose(f) == 0 && chmod(path, 0644) == 0 ? 0 : -1;
}

static int setup(void)
{
	char args[800], conf2[700];

	e = emu_start(NULL); /* v2.69: HS256 only, no kid, no JWKS endpoint */
	if (e == NULL)
		return -1;
	alice_id = emu_create_user(e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}");
	snprintf(state_dir, sizeof(state_dir), "%s/state", pt_confdir());
	snprintf(conf, sizeof(conf), "%s/gotrue.conf", pt_confdir());
	snprintf(conf2, sizeof(conf2), "%s/gotrue-server.conf", pt_confdir());
	if (alice_id == NULL || mkdir(state_dir, 0700) != 0 || write_conf(conf, "") != 0 ||
	    write_conf(conf2, "jwt_verify = server\n") != 0)
		return -1;
	snprintf(args, sizeof(args), "conf=%s", conf);
	pt_service("local", args);
	snprintf(args, sizeof(args), "conf=%s jwt_verify=server", conf);
	pt_service("server", args);
	snprintf(args, sizeof(args), "conf=%s", conf2);
	pt_service("conf", args);
	return 0;
}

int main(void)
{
#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	if (!ok(setup() == 0, "a v2.69 emulator, alice, configs without a JWT secret"))
		goto cleanup;

	test_confirmed();
	test_refused();
	ok(strstr(pt_log(), PASSWORD) == NULL, "no password in %zu bytes of log", pt_log_len());
	if (getenv("TEST_VERBOSE"))
		fputs(pt_log(), stdout);
cleanup:
	free(alice_id);
	emu_stop(e);
	pt_cleanup();
	return done_testing();
}
