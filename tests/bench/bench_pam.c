/* bench_pam: what pam_gotrue adds to a login. One process runs N pam_authenticate transactions
 * through the real libpam and N bare libcurl POST /token?grant_type=password calls against the
 * same emulator, interleaved so that both see the same machine load, and prints the ratio of the
 * medians: pam_auth_vs_curl_ratio. Then the same for a login with a TOTP second factor: M
 * password-plus-code pam_authenticate transactions against M bare libcurl sequences of the same
 * three requests (POST /token, POST /factors/{id}/challenge, POST /factors/{id}/verify) on one
 * connection, as the module makes them: pam_mfa_vs_curl_ratio. Each MFA login is another user's
 * (a code is sent once per factor and host: lib/store/mfa_replay.h), and its cost, the used-code
 * file's fsync'ed rewrite, is part of what is measured. Both open a new connection per attempt, as
 * a login does. The PAM side includes everything a login pays: config file, JWT verification, and
 * the atomic, fsync'ed write of the pending record into the store (state dir on the disk under
 * /tmp, or $BENCH_STATE_DIR). Not run by make check; `make bench-pam` runs it. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <security/pam_appl.h>

#include "emu.h"
#include "log.h"
#include "mfatest.h"
#include "sync.h"
#include "pamtest.h"

#include "bench.h"

#define PASSWORD "Correct-Horse-9"

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	return size * n;
}

static int curl_signin(const char *url)
{
	static const char body[] =
		"{\"email\":\"alice@example.com\",\"password\":\"" PASSWORD "\"}";
	struct curl_slist *h = NULL;
	long status = 0;
	CURL *c;
	int rc;

	c = curl_easy_init();
	if (c == NULL)
		return -1;
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	rc = curl_easy_perform(c) == CURLE_OK ? 0 : -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc == 0 && status == 200 ? 0 : -1;
}

/* One pam_authenticate of @user; with @f, the code of that factor at its prompt. */
static const char *bench_code(struct pt_conv *c, int style, const char *prompt)
{
	static char code[7];

	if (c->data == NULL || strstr(prompt, "Verification code") == NULL)
		return NULL;
	mt_totp(((const struct mt_factor *)c->data)->secret, 0, code);
	return code;
}

static int pam_signin(const char *service, const char *user, const struct mt_factor *f)
{
	struct pt_conv conv;
	pam_handle_t *pamh;
	int rc;

	memset(&conv, 0, sizeof(conv));
	conv.answers[0] = PASSWORD;
	conv.ask = bench_code;
	conv.data = (void *)f;
	pamh = pt_start(service, user, &conv);
	if (pamh == NULL)
		return -1;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? 0 : -1;
}

/* --- the second factor --------------------------------------------------------------------- */

/* A JSON string member's value from a flat answer (the emulator's compact JSON). */
static int member(const char *body, const char *key, char *out, size_t len)
{
	char needle[64];
	const char *p;
	size_t n;

	snprintf(needle, sizeof(needle), "\"%s\":\"", key);
	p = strstr(body, needle);
	if (p == NULL)
		return -1;
	p += strlen(needle);
	n = strcspn(p, "\"");
	if (n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

struct buf {
	char b[65536];
	size_t n;
};

static size_t keep(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t k = size * n;

	if (b->n + k >= sizeof(b->b))
		return 0;
	memcpy(b->b + b->n, p, k);
	b->n += k;
	b->b[b->n] = '\0';
	return k;
}

/* One POST on @c (its connection kept for the next), bearer @bearer (may be NULL). */
static int post(CURL *c, const char *url, const char *bearer, const char *body, struct buf *out)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char auth[8192];
	long status = 0;
	int rc;

	if (bearer != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	out->n = 0;
	out->b[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	rc = curl_easy_perform(c) == CURLE_OK ? 0 : -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return rc == 0 && status == 200 ? 0 : -1;
}

/* The three requests of a password-plus-TOTP login, bare, on one new connection. */
static int curl_mfa(const char *base, const char *email, const struct mt_factor *f)
{
	static struct buf b;
	char url[512], body[512], at[8192], challenge[64], code[7];
	CURL *c = curl_easy_init();
	int rc = -1;

	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s/token?grant_type=password", base);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"" PASSWORD "\"}", email);
	if (post(c, url, NULL, body, &b) != 0 || member(b.b, "access_token", at, sizeof(at)) != 0)
		goto cleanup;
	snprintf(url, sizeof(url), "%s/factors/%s/challenge", base, f->id);
	if (post(c, url, at, "", &b) != 0 || member(b.b, "id", challenge, sizeof(challenge)) != 0)
		goto cleanup;
	mt_totp(f->secret, 0, code);
	snprintf(url, sizeof(url), "%s/factors/%s/verify", base, f->id);
	snprintf(body, sizeof(body), "{\"challenge_id\":\"%s\",\"code\":\"%s\"}", challenge, code);
	rc = post(c, url, at, body, &b);
cleanup:
	curl_easy_cleanup(c);
	return rc;
}

/* @n users m0..m(n-1), each with a verified factor; then one PAM login and one bare sequence per
 * user, interleaved. */
static int bench_mfa(struct emu *e, const char *conf, int n)
{
	struct mt_factor *f = calloc((size_t)n, sizeof(*f));
	double *tp = calloc((size_t)n, sizeof(*tp)), *tc = calloc((size_t)n, sizeof(*tc)), t0, mp,
	       mc;
	char email[64], user[32];
	int i, failed = 0;

	if (f == NULL || tp == NULL || tc == NULL ||
	    emu_bulk_users(e, n, "m", "example.com", "{\"password\":\"" PASSWORD "\"}") != 0)
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(email, sizeof(email), "m%d@example.com", i);
		if (mt_enroll(conf, email, PASSWORD, "bench", NULL, true, &f[i], NULL) != 0)
			return -1;
	}
	/* As a host has them: synced into the account index, each marked as having a factor, so
	 * that a login writes no entry. */
	if (mt_sync(conf, NULL) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(user, sizeof(user), "m%d", i);
		snprintf(email, sizeof(email), "m%d@example.com", i);
		t0 = pt_now();
		failed += pam_signin("bench", user, &f[i]) != 0;
		tp[i] = pt_now() - t0;
		t0 = pt_now();
		failed += curl_mfa(emu_url(e), email, &f[i]) != 0;
		tc[i] = pt_now() - t0;
	}
	mp = bench_median(tp, (size_t)n);
	mc = bench_median(tc, (size_t)n);
	printf("pam_authenticate with TOTP median: %.3f ms (n=%d)\n", mp * 1e3, n);
	printf("libcurl token+challenge+verify median: %.3f ms (n=%d)\n", mc * 1e3, n);
	printf("failures: %d\n", failed);
	printf("pam_mfa_vs_curl_ratio: %.3f\n", mp / mc);
	free(f);
	free(tp);
	free(tc);
	return failed;
}

int main(int argc, char **argv)
{
	/* GoTrue's own bcrypt cost, whatever GOTRUE_EMULATOR_BCRYPT_COST says: the password check
	 * is most of what a real sign-in costs, and the ratio is meant against a real server's
	 * answer. */
	static const char *const args[] = {"--mode", "current", "--bcrypt-cost", "10", NULL};
	int n = argc > 1 ? atoi(argv[1]) : 500, i, failed = 0;
	double *tp, *tc, t0, mp, mc;
	char extra[1024], url[512], state[512], cmd[600];
	struct emu *e;
	char *conf;

	if (n < 1)
		n = 500;
	tp = calloc((size_t)n, sizeof(*tp));
	tc = calloc((size_t)n, sizeof(*tc));
	e = emu_start(args);
	if (e == NULL || tp == NULL || tc == NULL) {
		fprintf(stderr, "bench_pam: cannot start the emulator ($GOTRUE_EMULATOR)\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/store",
		 getenv("BENCH_STATE_DIR") ? getenv("BENCH_STATE_DIR") : pt_confdir());
	/* No sync: each user is found as name@example.com (email_fallback), as a login before the
	 * first sync is. */
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nemail_fallback = yes\nstate_dir = %s\n", state);
	conf = emu_write_config(e, extra);
	snprintf(extra, sizeof(extra), "conf=%s", conf);
	if (conf == NULL || pt_service("bench", extra) != 0 ||
	    emu_create_user(e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}") == NULL) {
		fprintf(stderr, "bench_pam: setup failed\n");
		return 1;
	}
	snprintf(url, sizeof(url), "%s/token?grant_type=password", emu_url(e));
	/* Warm up both paths (page cache, the emulator's first connections). */
	for (i = 0; i < 10; i++)
		failed += (pam_signin("bench", "alice", NULL) != 0) + (curl_signin(url) != 0);
	for (i = 0; i < n; i++) {
		t0 = pt_now();
		failed += pam_signin("bench", "alice", NULL) != 0;
		tp[i] = pt_now() - t0;
		t0 = pt_now();
		failed += curl_signin(url) != 0;
		tc[i] = pt_now() - t0;
	}
	mp = bench_median(tp, (size_t)n);
	mc = bench_median(tc, (size_t)n);
	printf("pam_authenticate median: %.3f ms (n=%d)\n", mp * 1e3, n);
	printf("libcurl POST /token median: %.3f ms (n=%d)\n", mc * 1e3, n);
	printf("failures: %d\n", failed);
	printf("pam_auth_vs_curl_ratio: %.3f\n", mp / mc);
	failed += bench_mfa(e, conf, argc > 2 ? atoi(argv[2]) : 200) != 0;
	emu_stop(e);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", state);
	pt_cleanup();
	free(conf);
	free(tp);
	free(tc);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
