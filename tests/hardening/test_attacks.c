/* test_attacks: attacks on a login, end to end through the real libpam, the built pam_gotrue.so
 * and the emulator, for what the unit, NSS and store tests do not already prove:
 * - JWTs the server hands the module (the emulator's "token" fault swaps access_token in a real
 *   200 /token answer): alg none, HS256 keyed with the RSA public key, a key nobody configured,
 *   expired, not yet valid, wrong aud and iss, another user's token, a JWKS without the kid; each
 *   must end in PAM_AUTH_ERR, a LOG_ALERT line and nothing stored. A control token signed with
 *   the right key proves the swap itself is accepted, so each refusal is about its one defect.
 * - A session revoked elsewhere (current server): replaying its token gets session_not_found,
 *   and close_session then forgets the record and succeeds.
 * - Identity escalation: user_metadata naming root/uid 0/sudo, and GoTrue emails whose local part
 *   is a system account, never log in as those accounts.
 * - Files: a hard link planted in the store; a store directory others can write or another user
 *   owns (root only).
 * - Environment: HOME and TMPDIR are never touched (inotify).
 * - Secrets: after login, refresh pass and logout, no password or token in the log, the PAM
 *   environment, or any file of the state dir others can read; no freed heap block still holds
 *   the password (a free() of our own, which the module binds to through -export-dynamic).
 * - Brute force: pam_fail_delay is asked for on every attempt, and libpam's own timer then
 *   delays failures only.
 * Already proven elsewhere (referenced, not repeated): the same JWT defects against the verifier
 * (tests/unit/test_jwt.c), names with ':', '/', '..', NUL, 300 characters and GECOS control
 * characters, user_metadata in the mapping, a crafted cache (tests/directory/test_idmap.c,
 * tests/sync/test_sync.c, tests/nss/test_nss_direct.c), symlinks in the store
 * (tests/store/test_store.c), config and secret file owner/mode (tests/unit/test_config.c,
 * test_secure.c), 429 -> AUTHINFO_UNAVAIL with a message and "no secret in syslog" for a plain
 * login (tests/pam/test_pam_auth.c), the refresh pass finding a revoked session
 * (tests/pam/test_pam_session.c). */
#define _GNU_SOURCE
#include <config.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <security/pam_appl.h>
#include <sys/wait.h>

#include "accounts.h"
#include "api.h"
#include "emu.h"
#include "lifecycle.h"
#include "pamtest.h"
#include "secure.h"
#include "store.h"
#include "http.h"
#include "tap.h"

/* "ok N # SKIP why", @n times: the plan stays the same with or without root/inotify/spy. */
static void skip(int n, const char *why)
{
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_n, why);
}

#define PASSWORD "Hardening-Pass-7f3Q"
#define MALLORY	 "Mallory-Pass-9zK2"
#define ROOTPW	 "Root-Lookalike-4xW"
#define WRONG	 "wrong-password-1"
/* pam/pam_gotrue.h PG_FAIL_DELAY_USEC */
#define FAIL_DELAY_USEC 2000000u

/* ---- pam_fail_delay interposed: what the module asks for, before libpam randomises it ------- */
static unsigned int delay_asked;
static int delay_calls;

int pam_fail_delay(pam_handle_t *pamh, unsigned int usec)
{
	int (*real)(pam_handle_t *, unsigned int) =
		(int (*)(pam_handle_t *, unsigned int))dlsym(RTLD_NEXT, "pam_fail_delay");

	delay_calls++;
	if (usec > delay_asked)
		delay_asked = usec;
	return real != NULL ? real(pamh, usec) : PAM_SYSTEM_ERR;
}

/* ---- free() spy: any block freed while it still holds the password ------------------------
 * The module and every library it uses (libcurl, json-c, libpam) bind free() to this definition
 * (-export-dynamic). Each freed block is searched, whole (malloc_usable_size), for the password;
 * the caller's address tells whose block it was. Sanitizer runtimes own the allocator: off. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HAVE_FREE_SPY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HAVE_FREE_SPY 0
#endif
#endif
#ifndef HAVE_FREE_SPY
#define HAVE_FREE_SPY 1
#endif

#if HAVE_FREE_SPY
extern void __libc_free(void *p);
static const char *spy_secret;
static size_t spy_secret_len;
static int spy_hits, spy_blocks;
static void *spy_callers[8];

void free(void *p)
{
	if (p != NULL && spy_secret != NULL) {
		size_t n = malloc_usable_size(p);

		spy_blocks++;
		if (n >= spy_secret_len && memmem(p, n, spy_secret, spy_secret_len) != NULL) {
			if (spy_hits < 8)
				spy_callers[spy_hits] = __builtin_return_address(0);
			spy_hits++;
		}
	}
	__libc_free(p);
}
#endif

/* ---- helpers ----------------------------------------------------------------------------- */
static char state_dir[512];

struct env {
	struct emu *e;
	char *conf;
	char *alice_id;
};

static void svc_then(const char *name, const char *conf, const char *extra, const char *then)
{
	char args[2048];

	snprintf(args, sizeof(args), "conf=%s %s", conf, extra ? extra : "");
	if (pt_service_then(name, args, then) != 0)
		diag("cannot write service %s", name);
}

static int acct_mgmt(const char *service, const char *user)
{
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc;

	memset(&c, 0, sizeof(c));
	pamh = pt_start(service, user, &c);
	if (pamh == NULL)
		return -1;
	rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = calloc(1, (size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (len != NULL) {
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static char *sign(jwt_alg_t alg, const unsigned char *key, size_t key_len, const char *kid,
		  const char *claims)
{
	jwt_t *jwt = NULL;
	char *tok = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grants_json(jwt, claims) == 0 &&
	    jwt_set_alg(jwt, alg, key, (int)key_len) == 0 &&
	    (kid == NULL || jwt_add_header(jwt, "kid", kid) == 0))
		tok = jwt_encode_str(jwt);
	jwt_free(jwt);
	return tok;
}

/* An alg:none token: libjwt 1.10 writes it as header.payload. with an empty signature. */
static char *sign_none(const char *claims)
{
	return sign(JWT_ALG_NONE, NULL, 0, NULL, claims);
}

/* The issuer the test servers are configured with (the emulator's --jwt-issuer, GoTrue's
 * GOTRUE_JWT_ISSUER), and the hosts with jwt_iss: a current server signs iss only then. */
#define ISSUER "https://auth.example.test/auth/v1"

/* GoTrue's access-token claims (current server), @over spliced in as extra claims. */
static char *claims_full(const struct env *v, const char *sub, long exp_in, const char *aud,
			 const char *iss, const char *over)
{
	static char buf[2048];
	long now = (long)time(NULL);

	snprintf(buf, sizeof(buf),
		 "{\"aud\":\"%s\",\"exp\":%ld,\"iat\":%ld,\"iss\":\"%s\","
		 "\"sub\":\"%s\",\"email\":\"alice@example.com\",\"phone\":\"\","
		 "\"app_metadata\":{\"provider\":\"email\",\"providers\":[\"email\"]},"
		 "\"user_metadata\":{},\"role\":\"authenticated\",\"aal\":\"aal1\","
		 "\"amr\":[{\"method\":\"password\",\"timestamp\":%ld}],"
		 "\"session_id\":\"6f1c0a52-7a3e-4a59-9d5e-3c2b8f0e1a77\","
		 "\"is_anonymous\":false%s%s}",
		 aud, now + exp_in, now, iss ? iss : ISSUER, sub, now, over ? "," : "",
		 over ? over : "");
	return buf;
}

static char *claims_for(const struct env *v, const char *sub, long exp_in, const char *over)
{
	return claims_full(v, sub, exp_in, "authenticated", NULL, over);
}

static void token_fault(struct emu *e, const char *token)
{
	char spec[8192];

	snprintf(spec, sizeof(spec),
		 "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"token\",\"token\":\"%s\"}",
		 token);
	if (emu_fault(e, spec) != 0)
		diag("cannot add the token fault");
}

/* One attack: the token arrives in a genuine sign-in answer; the module must refuse it. */
static void attack(struct env *v, const char *service, const char *what, char *token)
{
	int before_alerts = pt_log_alerts(), before_records = pt_store_count(state_dir), rc;
	size_t mark = pt_log_len();

	if (token == NULL) {
		ok(0, "%s: token made", what);
		ok(0, "%s: logged", what);
		ok(0, "%s: nothing kept", what);
		return;
	}
	token_fault(v->e, token);
	rc = pt_auth(service, "alice", PASSWORD, NULL);
	is_int(rc, PAM_AUTH_ERR, "%s: PAM_AUTH_ERR", what);
	ok(pt_log_alerts() > before_alerts && strstr(pt_log() + mark, "possible attack") != NULL,
	   "%s: logged at LOG_ALERT as a possible attack", what);
	is_int(pt_store_count(state_dir), before_records, "%s: nothing kept", what);
	emu_clear_faults(v->e);
	free(token);
}

static int setup(struct env *v, const char *const *args, const char *extra_conf)
{
	const char *with_iss[16];
	char extra[2048];
	size_t n = 0;

	memset(v, 0, sizeof(*v));
	while (args[n] != NULL && n < 12) {
		with_iss[n] = args[n];
		n++;
	}
	with_iss[n++] = "--jwt-issuer";
	with_iss[n++] = ISSUER;
	with_iss[n] = NULL;
	v->e = emu_start(with_iss);
	if (v->e == NULL)
		return -1;
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nemail_fallback = yes\nstate_dir = %s\ntimeout = "
		 "3\njwt_iss = %s\n%s",
		 state_dir, ISSUER, extra_conf ? extra_conf : "");
	v->conf = emu_write_config(v->e, extra);
	v->alice_id =
		emu_create_user(v->e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}");
	return v->conf != NULL && v->alice_id != NULL ? 0 : -1;
}

static void teardown(struct env *v)
{
	emu_stop(v->e);
	free(v->conf);
	free(v->alice_id);
	memset(v, 0, sizeof(*v));
}

static struct gotrue_config *load_cfg(const char *conf)
{
	struct gotrue_config *cfg = gotrue_config_new();

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, conf, false) != 0) {
		gotrue_config_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

/* A real access token of @email, from a real sign-in (malloc'd). */
static char *real_token(const char *conf, const char *email, const char *password)
{
	struct gotrue_config *cfg = load_cfg(conf);
	struct gotrue_client *c = NULL;
	struct gotrue_credentials cred = {.email = email, .password = password};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	char *tok = NULL;

	if (cfg != NULL && gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_API_KEY) == 0 &&
	    (c = gotrue_client_new(NULL, cfg)) != NULL &&
	    gotrue_signin_password(c, &cred, &s, &err) == 0 && s.access_token != NULL)
		tok = strdup(s.access_token);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	gotrue_client_free(c);
	gotrue_config_free(cfg);
	return tok;
}

static void remove_store(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", state_dir);
}

/* ---- JWTs, HS256 server ------------------------------------------------------------------ */
static void test_jwt_hs(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;
	char *secret_path, *secret = NULL, *bob_id = NULL, *bob_token = NULL, *control;
	char other_secret[] = "not-the-server-secret-but-32-bytes-long!";
	size_t secret_len = 0;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "HS256 emulator, config, alice");
		teardown(&v);
		return;
	}
	svc_then("hs", v.conf, NULL, NULL);
	secret_path = emu_path(v.e, "jwt_secret");
	secret = secret_path ? slurp(secret_path, &secret_len) : NULL;
	ok(secret != NULL && secret_len > 0, "the server's HS256 secret");
	bob_id = emu_create_user(v.e, "bob@example.com", PASSWORD, "{\"email_confirm\":true}");
	bob_token = real_token(v.conf, "bob@example.com", PASSWORD);
	ok(bob_id != NULL && bob_token != NULL, "bob and one of his real tokens");

	/* Control: the swap works, and a hand-made token with the right key and claims passes. */
	control = sign(JWT_ALG_HS256, (unsigned char *)secret, secret_len, NULL,
		       claims_for(&v, v.alice_id, 600, NULL));
	token_fault(v.e, control);
	free(control);
	is_int(pt_auth("hs", "alice", PASSWORD, NULL), PAM_SUCCESS,
	       "control: a well-made token through the token fault: PAM_SUCCESS");
	is_int(emu_count(v.e, "POST /token?grant_type=password"), 2,
	       "control: the fault answered a real sign-in");
	emu_clear_faults(v.e);
	remove_store();

	attack(&v, "hs", "alg none", sign_none(claims_for(&v, v.alice_id, 600, NULL)));
	attack(&v, "hs", "valid signature, unconfigured key",
	       sign(JWT_ALG_HS256, (unsigned char *)other_secret, strlen(other_secret), NULL,
		    claims_for(&v, v.alice_id, 600, NULL)));
	attack(&v, "hs", "expired (an hour ago)",
	       sign(JWT_ALG_HS256, (unsigned char *)secret, secret_len, NULL,
		    claims_for(&v, v.alice_id, -3600, NULL)));
	{
		char nbf[64];

		snprintf(nbf, sizeof(nbf), "\"nbf\":%ld", (long)time(NULL) + 3600);
		attack(&v, "hs", "not yet valid (nbf in an hour)",
		       sign(JWT_ALG_HS256, (unsigned char *)secret, secret_len, NULL,
			    claims_for(&v, v.alice_id, 7200, nbf)));
	}
	attack(&v, "hs", "wrong aud",
	       sign(JWT_ALG_HS256, (unsigned char *)secret, secret_len, NULL,
		    claims_full(&v, v.alice_id, 600, "service_role", NULL, NULL)));
	attack(&v, "hs", "wrong iss (jwt_iss set)",
	       sign(JWT_ALG_HS256, (unsigned char *)secret, secret_len, NULL,
		    claims_full(&v, v.alice_id, 600, "authenticated", "https://evil.example",
				NULL)));
	attack(&v, "hs", "sub of another user (hand-made)",
	       sign(JWT_ALG_HS256, (unsigned char *)secret, secret_len, NULL,
		    claims_for(&v, bob_id ? bob_id : "x", 600, NULL)));
	attack(&v, "hs", "another user's real token", bob_token ? strdup(bob_token) : NULL);
	attack(&v, "hs", "not a JWT at all", strdup("abc.def"));

	if (secret != NULL)
		explicit_bzero(secret, secret_len);
	free(secret);
	free(secret_path);
	free(bob_id);
	free(bob_token);
	teardown(&v);
}

/* ---- JWTs, RS256 server: public key, then JWKS -------------------------------------------- */
static char *pem_private(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long n;

	if (b != NULL && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0)
		out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static char *jwks_kid(struct emu *e)
{
	char *path = emu_path(e, "jwks.json"), *text = path ? slurp(path, NULL) : NULL;
	char *kid = NULL, *p = text ? strstr(text, "\"kid\"") : NULL, *q;

	if (p != NULL && (p = strchr(p + 5, '"')) != NULL && (q = strchr(p + 1, '"')) != NULL)
		kid = strndup(p + 1, (size_t)(q - p - 1));
	free(text);
	free(path);
	return kid;
}

static void test_jwt_rs(void)
{
	static const char *const args[] = {"--mode", "current", "--alg", "RS256", NULL};
	struct env v;
	EVP_PKEY *mine = NULL;
	char *pub_path = NULL, *pub = NULL, *priv = NULL, *kid = NULL, *conf2 = NULL;
	size_t pub_len = 0;
	FILE *f;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "RS256 emulator, config, alice");
		teardown(&v);
		return;
	}
	svc_then("rs", v.conf, NULL, NULL);
	pub_path = emu_path(v.e, "jwt_public.pem");
	pub = pub_path ? slurp(pub_path, &pub_len) : NULL;
	kid = jwks_kid(v.e);
	mine = EVP_RSA_gen(2048);
	priv = mine ? pem_private(mine) : NULL;
	ok(pub != NULL && kid != NULL && priv != NULL,
	   "the server's public key and kid, and a key of our own");
	is_int(pt_auth("rs", "alice", PASSWORD, NULL), PAM_SUCCESS,
	       "control: RS256 with jwt_public_key: PAM_SUCCESS");
	remove_store();

	attack(&v, "rs", "HS256 keyed with the RSA public key (confusion)",
	       pub ? sign(JWT_ALG_HS256, (unsigned char *)pub, pub_len, kid,
			  claims_for(&v, v.alice_id, 600, NULL))
		   : NULL);
	attack(&v, "rs", "RS256 from an unconfigured key, the server's kid",
	       priv ? sign(JWT_ALG_RS256, (unsigned char *)priv, strlen(priv), kid,
			   claims_for(&v, v.alice_id, 600, NULL))
		    : NULL);
	attack(&v, "rs", "alg none with the server's kid",
	       sign_none(claims_for(&v, v.alice_id, 600, NULL)));

	/* The same server through its JWKS (jwks_url), no jwt_public_key. */
	if (asprintf(&conf2, "%s/jwks.conf", pt_confdir()) > 0 && (f = fopen(conf2, "w")) != NULL) {
		fprintf(f,
			"url = %s\nservice_role_key_file = %s/service_role.key\n"
			"jwks_url = %s/.well-known/jwks.json\nemail_domains = example.com\n"
			"insecure_http_for_testing = yes\nallow_all_users = yes\nemail_fallback = "
			"yes\n"
			"state_dir = %s\ntimeout = 3\njwt_iss = %s\n",
			emu_url(v.e), emu_state_dir(v.e), emu_url(v.e), state_dir, ISSUER);
		fclose(f);
		chmod(conf2, 0644);
	}
	svc_then("jwks", conf2 ? conf2 : "/nonexistent", NULL, NULL);
	is_int(pt_auth("jwks", "alice", PASSWORD, NULL), PAM_SUCCESS,
	       "control: RS256 through jwks_url: PAM_SUCCESS");
	remove_store();
	attack(&v, "jwks", "JWKS: a kid the set does not have",
	       priv ? sign(JWT_ALG_RS256, (unsigned char *)priv, strlen(priv), "attacker-kid",
			   claims_for(&v, v.alice_id, 600, NULL))
		    : NULL);
	attack(&v, "jwks", "JWKS: the set's kid on another key's signature",
	       priv ? sign(JWT_ALG_RS256, (unsigned char *)priv, strlen(priv), kid,
			   claims_for(&v, v.alice_id, 600, NULL))
		    : NULL);
	attack(&v, "jwks", "JWKS: HS256 keyed with the PEM, the set's kid",
	       pub ? sign(JWT_ALG_HS256, (unsigned char *)pub, pub_len, kid,
			  claims_for(&v, v.alice_id, 600, NULL))
		   : NULL);

	EVP_PKEY_free(mine);
	if (priv != NULL)
		explicit_bzero(priv, strlen(priv));
	free(priv);
	free(pub);
	free(pub_path);
	free(kid);
	free(conf2);
	teardown(&v);
}

/* ---- a session revoked elsewhere (current server) ------------------------------------------ */
static void test_revoked(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;
	struct gotrue_config *cfg = NULL;
	struct gotrue_client *client = NULL;
	struct gotrue_store *store = NULL;
	struct gotrue_store_record rec = {0};
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	struct pt_conv c;
	pam_handle_t *pamh = NULL;
	const char *id;
	size_t mark;
	int rc;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "revoked: emulator");
		goto cleanup;
	}
	svc_then("rev", v.conf, NULL, NULL);
	memset(&c, 0, sizeof(c));
	c.answers[0] = PASSWORD;
	pamh = pt_start("rev", "alice", &c);
	rc = pamh ? pam_authenticate(pamh, 0) : -1;
	if (rc == PAM_SUCCESS)
		rc = pam_open_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "revoked: login and open_session");
	cfg = load_cfg(v.conf);
	id = pt_store_first(state_dir);
	store = gotrue_store_open(NULL, state_dir);
	if (cfg == NULL || gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_API_KEY) != 0 ||
	    (client = gotrue_client_new(NULL, cfg)) == NULL || id == NULL || store == NULL ||
	    gotrue_store_read(store, id, &rec) != 0 || rec.access_token == NULL) {
		ok(0, "revoked: the session's record");
		goto cleanup;
	}
	is_int(gotrue_signout(client, rec.access_token, GOTRUE_LOGOUT_LOCAL, &err), 0,
	       "revoked: the session is ended elsewhere (POST /logout?scope=local)");
	gotrue_error_clear(&err);
	/* Replay of the revoked token: the server no longer knows its session_id. */
	rc = gotrue_user_get(client, rec.access_token, &u, &err);
	ok(rc != 0 && err.http_status == 403 && strcmp(err.code, "session_not_found") == 0,
	   "revoked: replaying the token gets 403 session_not_found (%ld %s)", err.http_status,
	   err.code);
	ok(gotrue_lifecycle_session_gone(&err), "revoked: which counts as the session gone");
	emu_reset_counts(v.e);
	mark = pt_log_len();
	rc = pam_close_session(pamh, 0);
	/* Defined outcome: nothing is left to revoke, so close succeeds and forgets the record. */
	is_int(rc, PAM_SUCCESS, "revoked: close_session succeeds");
	is_int(emu_count(v.e, "POST /logout"), 1, "revoked: close tried one /logout");
	is_int(pt_store_count(state_dir), 0, "revoked: record removed");
	ok(strstr(pt_log() + mark, "already ended") != NULL, "revoked: logged as already ended");
cleanup:
	if (pamh != NULL)
		pam_end(pamh, PAM_SUCCESS);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	teardown(&v);
	remove_store();
}

/* ---- identity escalation ------------------------------------------------------------------ */
static void test_escalation(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;
	struct gotrue_account a = {0};
	char *index = NULL, *id;
	long before;
	size_t i;
	bool sudo = false;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "escalation: emulator");
		teardown(&v);
		return;
	}
	svc_then("esc", v.conf, NULL, NULL);
	svc_then("esc-permit", v.conf, "ignore_unknown_user", "pam_permit.so");
	id = emu_create_user(v.e, "mallory@example.com", MALLORY,
			     "{\"email_confirm\":true,\"user_metadata\":{\"username\":\"root\","
			     "\"uid\":0,\"gid\":0,\"groups\":[\"sudo\",\"root\"],\"role\":"
			     "\"service_role\",\"home\":\"/root\",\"shell\":\"/bin/sh\"}}");
	ok(id != NULL, "mallory, whose user_metadata says root, uid 0, sudo");
	free(id);
	id = emu_create_user(v.e, "root@example.com", ROOTPW, "{\"email_confirm\":true}");
	ok(id != NULL, "a GoTrue user root@example.com");
	free(id);
	id = emu_create_user(v.e, "daemon@example.com", ROOTPW, "{\"email_confirm\":true}");
	ok(id != NULL, "a GoTrue user daemon@example.com");
	free(id);

	before = emu_count(v.e, "POST /token?grant_type=password");
	ok(pt_auth("esc", "root", MALLORY, NULL) != PAM_SUCCESS,
	   "login root with mallory's password: refused");
	ok(pt_auth("esc", "root", ROOTPW, NULL) != PAM_SUCCESS,
	   "login root with root@example.com's password: refused");
	ok(pt_auth("esc", "daemon", ROOTPW, NULL) != PAM_SUCCESS,
	   "login daemon with daemon@example.com's password: refused");
	is_int(emu_count(v.e, "POST /token?grant_type=password"), before,
	       "no password for a local account was sent to the server");
	is_int(acct_mgmt("esc", "root"), PAM_USER_UNKNOWN,
	       "acct_mgmt root: PAM_USER_UNKNOWN, root is a local account");
	is_int(acct_mgmt("esc-permit", "root"), PAM_SUCCESS,
	       "acct_mgmt root with ignore_unknown_user: PAM_IGNORE (pam_permit decides)");

	/* mallory logs in as herself; what the login writes to the index grants nothing. */
	is_int(pt_auth("esc", "mallory", MALLORY, NULL), PAM_SUCCESS,
	       "mallory as mallory: allowed");
	if (asprintf(&index, "%s/accounts", state_dir) > 0 &&
	    gotrue_accounts_lookup(NULL, index, "mallory", &a) == 0) {
		ok(a.uid != 0 && a.gid != 0, "mallory's uid/gid are not 0 (%lu/%lu)",
		   (unsigned long)a.uid, (unsigned long)a.gid);
		for (i = 0; i < a.n_groups; i++)
			sudo = sudo || strcmp(a.groups[i], "sudo") == 0 ||
			       strcmp(a.groups[i], "root") == 0;
		ok(!sudo, "mallory's groups hold neither sudo nor root");
		ok(a.home == NULL || strcmp(a.home, "/root") != 0, "mallory's home is not /root");
	} else {
		ok(0, "mallory in the account index");
	}
	gotrue_account_clear(&a);
	is_int(gotrue_accounts_lookup(NULL, index ? index : "", "root", &a), 1,
	       "no root in the account index");
	gotrue_account_clear(&a);
	free(index);
	teardown(&v);
	remove_store();
}

/* ---- files ------------------------------------------------------------------------------- */
static void test_files(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;
	struct gotrue_store *store = NULL;
	struct gotrue_store_record rec = {0};
	struct pt_conv c;
	struct stat sb;
	pam_handle_t *pamh = NULL;
	char rec_path[700], outside[600], *before = NULL, *after = NULL;
	const char *id;
	int rc;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "files: emulator");
		teardown(&v);
		return;
	}
	svc_then("files", v.conf, NULL, NULL);

	/* A hard link in the store: the record has a second name the store does not control. */
	memset(&c, 0, sizeof(c));
	c.answers[0] = PASSWORD;
	pamh = pt_start("files", "alice", &c);
	rc = pamh ? pam_authenticate(pamh, 0) : -1;
	is_int(rc, PAM_SUCCESS, "hard link: alice authenticated (a pending record)");
	id = pt_store_first(state_dir);
	snprintf(rec_path, sizeof(rec_path), "%s/sessions/%s", state_dir, id ? id : "none");
	snprintf(outside, sizeof(outside), "%s/outside-record", pt_confdir());
	rc = id != NULL ? link(rec_path, outside) : -1;
	ok(rc == 0, "hard link: planted (%s)", rc == 0 ? "a second name" : strerror(errno));
	before = slurp(outside, NULL);
	store = gotrue_store_open(NULL, state_dir);
	ok(store != NULL && gotrue_store_read(store, id ? id : "", &rec) != 0,
	   "hard link: the store refuses to read a record with two names");
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
	if (pamh != NULL) {
		rc = pam_open_session(pamh, 0);
		ok(rc != PAM_SUCCESS, "hard link: open_session refuses the record (%d)", rc);
		pam_end(pamh, rc);
	}
	after = slurp(outside, NULL);
	ok(before != NULL && after != NULL && strcmp(before, after) == 0 &&
		   stat(outside, &sb) == 0 && S_ISREG(sb.st_mode),
	   "hard link: the other name is untouched");
	free(before);
	free(after);
	unlink(outside);
	remove_store();

	/* A store directory others can write: nothing may be kept there. */
	if (mkdir(state_dir, 0700) == 0 && chmod(state_dir, 0777) == 0) {
		ok(pt_auth("files", "alice", PASSWORD, NULL) != PAM_SUCCESS,
		   "store directory mode 0777: login refused");
		is_int(pt_store_count(state_dir), 0, "store directory mode 0777: nothing kept");
		chmod(state_dir, 0770);
		ok(pt_auth("files", "alice", PASSWORD, NULL) != PAM_SUCCESS,
		   "store directory mode 0770: login refused");
		is_int(pt_store_count(state_dir), 0, "store directory mode 0770: nothing kept");
	} else {
		ok(0, "store directory made");
	}
	remove_store();
	if (geteuid() == 0) {
		if (mkdir(state_dir, 0700) == 0 && chown(state_dir, 65534, 65534) == 0) {
			ok(pt_auth("files", "alice", PASSWORD, NULL) != PAM_SUCCESS,
			   "store directory owned by another user: login refused");
			is_int(pt_store_count(state_dir), 0,
			       "store directory owned by another user: nothing kept");
		} else {
			ok(0, "store directory chowned");
		}
		remove_store();
	} else {
		skip(2, "store directory owned by another user: needs root");
	}
	/* A cache swapped for a crafted file: tests/nss/test_nss_direct.c (NSS_STATUS_UNAVAIL). */
	teardown(&v);
}

/* ---- environment: HOME and TMPDIR ------------------------------------------------------------ */
static int drain_events(int fd, char *names, size_t len)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = 0;
	ssize_t got;

	names[0] = '\0';
	while (poll(&p, 1, 100) > 0 && (got = read(fd, buf, sizeof(buf))) > 0) {
		for (char *q = buf; q < buf + got;) {
			struct inotify_event *ev = (struct inotify_event *)q;

			n++;
			if (strlen(names) + ev->len + 16 < len)
				snprintf(names + strlen(names), len - strlen(names), "%s:%x ",
					 ev->len ? ev->name : ".", ev->mask);
			q += sizeof(*ev) + ev->len;
		}
	}
	return n;
}

static void test_environment(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;
	struct pt_conv c;
	pam_handle_t *pamh;
	char home[600], tmp[600], names[1024], *old_home, *old_tmp;
	int fd, rc, n;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "environment: emulator");
		teardown(&v);
		return;
	}
	svc_then("envt", v.conf, NULL, NULL);
	snprintf(home, sizeof(home), "%s/home", pt_confdir());
	snprintf(tmp, sizeof(tmp), "%s/tmp", pt_confdir());
	mkdir(home, 0700);
	mkdir(tmp, 0700);
	old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	old_tmp = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	setenv("HOME", home, 1);
	setenv("TMPDIR", tmp, 1);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, home, IN_ALL_EVENTS) < 0 ||
	    inotify_add_watch(fd, tmp, IN_ALL_EVENTS) < 0) {
		skip(1, "no inotify");
	} else {
		memset(&c, 0, sizeof(c));
		c.answers[0] = PASSWORD;
		pamh = pt_start("envt", "alice", &c);
		rc = pamh ? pam_authenticate(pamh, 0) : -1;
		if (rc == PAM_SUCCESS)
			rc = pam_acct_mgmt(pamh, 0);
		if (rc == PAM_SUCCESS)
			rc = pam_open_session(pamh, 0);
		if (rc == PAM_SUCCESS)
			rc = pam_close_session(pamh, 0);
		if (pamh != NULL)
			pam_end(pamh, rc);
		is_int(rc, PAM_SUCCESS, "HOME/TMPDIR elsewhere: auth, account, open, close");
		n = drain_events(fd, names, sizeof(names));
		is_int(n, 0, "nothing in HOME or TMPDIR was opened, read or created %s", names);
	}
	if (fd >= 0)
		close(fd);
	if (old_home)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	if (old_tmp)
		setenv("TMPDIR", old_tmp, 1);
	else
		unsetenv("TMPDIR");
	free(old_home);
	free(old_tmp);
	teardown(&v);
	remove_store();
}

/* ---- secrets after a full cycle ----------------------------------------------------------- */
#define MAX_SECRETS 16
static char *secrets[MAX_SECRETS];
static int n_secrets;

static void remember(const char *s)
{
	if (s != NULL && *s != '\0' && n_secrets < MAX_SECRETS)
		secrets[n_secrets++] = strdup(s);
}

static void remember_record(const char *dir)
{
	struct gotrue_store *store = gotrue_store_open(NULL, dir);
	struct gotrue_store_record rec = {0};
	const char *id = pt_store_first(dir);

	if (store != NULL && id != NULL && gotrue_store_read(store, id, &rec) == 0) {
		remember(rec.access_token);
		remember(rec.refresh_token);
	}
	gotrue_store_record_clear(&rec);
	gotrue_store_close(store);
}

static const char *holds_secret(const char *text)
{
	int i;

	for (i = 0; i < n_secrets; i++)
		if (strstr(text, secrets[i]) != NULL)
			return i == 0 ? "the password" : "a token";
	return strstr(text, "eyJ") != NULL ? "something JWT-shaped" : NULL;
}

/* Every file under @dir that group or others can read: must hold no secret. Every file: must
 * not be readable by others at all if it is a record. */
static int scan_files(const char *dir, int *files, char *bad, size_t bad_len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat sb;
	char path[1024];
	int problems = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			problems += scan_files(path, files, bad, bad_len);
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		(*files)++;
		if ((sb.st_mode & 044) != 0) {
			char *text = slurp(path, NULL);
			const char *what = text ? holds_secret(text) : NULL;

			if (what != NULL) {
				problems++;
				snprintf(bad + strlen(bad), bad_len - strlen(bad), "%s(%s,%04o) ",
					 path, what, (unsigned)(sb.st_mode & 07777));
			}
			free(text);
		}
	}
	closedir(d);
	return problems;
}

static void test_secrets(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;
	struct gotrue_config *cfg = NULL;
	struct gotrue_refresh_opts o;
	struct gotrue_refresh_summary sum;
	struct pt_conv c;
	pam_handle_t *pamh = NULL;
	char **envl = NULL, bad[2048] = "";
	const char *what = NULL;
	int rc, files = 0, i;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "secrets: emulator");
		teardown(&v);
		return;
	}
	svc_then("sec", v.conf, NULL, NULL);
	remember(PASSWORD);
	pt_log_clear();

	memset(&c, 0, sizeof(c));
	c.answers[0] = PASSWORD;
	pamh = pt_start("sec", "alice", &c);
	rc = pt_login(pamh);
	is_int(rc, PAM_SUCCESS, "secrets: login and open_session");
	remember_record(state_dir);
	/* The refresh pass rotates both tokens (margin: refresh now). */
	cfg = load_cfg(v.conf);
	gotrue_refresh_opts_init(&o);
	o.margin = 10 * 365 * 86400L;
	rc = cfg ? gotrue_refresh_pass(NULL, cfg, &o, &sum) : -1;
	is_int(rc, 0, "secrets: refresh pass ran");
	is_int((int)sum.refreshed, 1, "secrets: the session was refreshed");
	remember_record(state_dir);
	ok(n_secrets >= 5, "secrets: password and two pairs of tokens collected (%d)", n_secrets);

	envl = pamh ? pam_getenvlist(pamh) : NULL;
	for (i = 0; envl != NULL && envl[i] != NULL; i++) {
		const char *w = holds_secret(envl[i]);

		if (w != NULL && what == NULL)
			what = w;
		free(envl[i]);
	}
	free(envl);
	ok(what == NULL, "secrets: no password or token in the PAM environment (%s)",
	   what ? what : "clean");
	is_int(scan_files(state_dir, &files, bad, sizeof(bad)), 0,
	       "secrets: no state file others can read holds one (%d files) %s", files, bad);

	rc = pamh ? pam_close_session(pamh, 0) : -1;
	is_int(rc, PAM_SUCCESS, "secrets: close_session");
	if (pamh != NULL)
		pam_end(pamh, rc);
	pamh = NULL;
	files = 0;
	is_int(scan_files(state_dir, &files, bad, sizeof(bad)), 0,
	       "secrets: after logout either (%d files) %s", files, bad);
	what = holds_secret(pt_log());
	ok(what == NULL, "secrets: none in %zu bytes of syslog (%s)", pt_log_len(),
	   what ? what : "clean");
	ok(strstr(pt_log(), "pam_gotrue") != NULL || pt_log_len() > 0,
	   "secrets: the capture saw the log");

	for (i = 0; i < n_secrets; i++) {
		explicit_bzero(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
	}
	n_secrets = 0;
	gotrue_config_free(cfg);
	teardown(&v);
	remove_store();
}

/* ---- passwords wiped in memory ------------------------------------------------------------ */
static void test_wiped(void)
{
#if HAVE_FREE_SPY
	static const char *const args[] = {"--mode", "current", NULL};
	static const char pw[] = "Spy-Unique-Passw0rd-5tQ8vL";
	struct env v;
	struct pt_conv c;
	pam_handle_t *pamh;
	char where[1024] = "";
	int rc, i, curl_hits = 0, status = 0;
	pid_t child;

	if (getenv("GOTRUE_SANITIZED") != NULL && strcmp(getenv("GOTRUE_SANITIZED"), "yes") == 0) {
		skip(5, "sanitizers own free()");
		return;
	}
	if (setup(&v, args, NULL) != 0) {
		ok(0, "wiped: emulator");
		teardown(&v);
		return;
	}
	svc_then("wipe", v.conf, NULL, NULL);
	/* The user is created in a child: the harness's own copies of the password (its request
	 * body, libcurl's buffers) would stay in this process's freed heap, unwiped, and be
	 * recycled into blocks the module frees later, where the spy would find them. */
	child = fork();
	if (child == 0) {
		char *id = emu_create_user(v.e, "spy@example.com", pw, "{\"email_confirm\":true}");

		_exit(id != NULL ? 0 : 1);
	}
	ok(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0,
	   "wiped: user created (in a child process)");
	memset(&c, 0, sizeof(c));
	c.answers[0] = pw;
	spy_hits = spy_blocks = 0;
	pamh = pt_start("wipe", "spy", &c);
	spy_secret_len = strlen(pw);
	spy_secret = pw; /* armed from the first prompt to the end of the transaction */
	rc = pamh ? pam_authenticate(pamh, 0) : -1;
	if (pamh != NULL)
		pam_end(pamh, rc);
	spy_secret = NULL;
	is_int(rc, PAM_SUCCESS, "wiped: the spied login succeeded");
	ok(spy_blocks > 100, "wiped: the spy saw the frees (%d blocks)", spy_blocks);
	for (i = 0; i < spy_hits && i < 8; i++) {
		Dl_info info;
		const char *lib = "?";

		if (dladdr(spy_callers[i], &info) != 0 && info.dli_fname != NULL)
			lib = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1
							   : info.dli_fname;
		if (strncmp(lib, "libcurl", 7) == 0)
			curl_hits++;
		else
			snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s ", lib);
	}
	is_int(spy_hits - curl_hits, 0,
	       "wiped: no block the module, json-c or libpam freed still held the password %s",
	       where);
	/* libcurl 7.88 copies a small POSTFIELDS body into its request buffer and frees it; the
	 * wiping allocator of lib/client/http.c, installed first in main(), wipes it. Without it,
	 * those unwiped blocks are recycled into other libraries' allocations and show up there. */
	is_int(curl_hits, 0, "wiped: no block libcurl freed still held the password");
	teardown(&v);
	remove_store();
#else
	skip(5, "sanitizer build: no free() spy");
#endif
}

/* ---- brute force: pam_fail_delay ---------------------------------------------------------- */
static unsigned int timer_usec;
static int timer_status = -1;

static void record_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)appdata;
	timer_status = retval;
	timer_usec = usec_delay;
}

static int auth_timed(const char *service, const char *password, bool with_cb, double *took)
{
	struct pt_conv c;
	pam_handle_t *pamh;
	double t0;
	int rc;

	memset(&c, 0, sizeof(c));
	c.answers[0] = password;
	pamh = pt_start(service, "alice", &c);
	if (pamh == NULL)
		return -1;
	pam_set_item(pamh, PAM_FAIL_DELAY, with_cb ? (const void *)record_delay : NULL);
	delay_asked = 0;
	delay_calls = 0;
	timer_status = -1;
	timer_usec = 0;
	t0 = pt_now();
	rc = pam_authenticate(pamh, 0);
	*took = pt_now() - t0;
	pam_end(pamh, rc);
	return rc;
}

static void test_fail_delay(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	struct env v;
	double took;
	int rc;

	if (setup(&v, args, NULL) != 0) {
		ok(0, "fail delay: emulator");
		teardown(&v);
		return;
	}
	svc_then("delay", v.conf, NULL, NULL);
	rc = auth_timed("delay", WRONG, true, &took);
	is_int(rc, PAM_AUTH_ERR, "wrong password: PAM_AUTH_ERR");
	ok(delay_calls >= 1 && delay_asked >= FAIL_DELAY_USEC,
	   "wrong password: the module asked pam_fail_delay for %u us (>= %u)", delay_asked,
	   FAIL_DELAY_USEC);
	/* libpam randomises the delay to [0.5, 1.5) of the longest asked for. */
	ok(timer_status == PAM_AUTH_ERR && timer_usec >= FAIL_DELAY_USEC / 2,
	   "wrong password: libpam's timer was told to wait %u us for status %d", timer_usec,
	   timer_status);
	rc = auth_timed("delay", PASSWORD, true, &took);
	is_int(rc, PAM_SUCCESS, "right password: PAM_SUCCESS");
	is_int(timer_status, PAM_SUCCESS,
	       "right password: libpam's timer sees success (applications do not wait)");
	/* Without an application callback libpam itself sleeps, on failure only. */
	rc = auth_timed("delay", PASSWORD, false, &took);
	ok(rc == PAM_SUCCESS && took < 0.9, "right password, libpam's own timer: no wait (%.2f s)",
	   took);
	rc = auth_timed("delay", WRONG, false, &took);
	ok(rc == PAM_AUTH_ERR && took >= (FAIL_DELAY_USEC / 2) / 1e6,
	   "wrong password, libpam's own timer: waited %.2f s", took);
	/* 429 -> PAM_AUTHINFO_UNAVAIL with a message: tests/pam/test_pam_auth.c. */
	teardown(&v);
	remove_store();
}

int main(void)
{
#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	/* libcurl keeps the allocator of whoever initialises it first. In sshd, sudo or login that
	 * is the module; here the emulator driver would be, so install the module's own first. */
	if (gotrue_http_global_init() != 0)
		skip_all("libcurl cannot be initialised");
	snprintf(state_dir, sizeof(state_dir), "%s/store", pt_confdir());
	test_jwt_hs();
	test_jwt_rs();
	test_revoked();
	test_escalation();
	test_files();
	test_environment();
	test_secrets();
	test_wiped();
	test_fail_delay();
	if (getenv("TEST_VERBOSE"))
		fputs(pt_log(), stdout);
	pt_cleanup();
	return done_testing();
}
