/* bench_pam: what pam_gotrue adds to a login. One process runs N pam_authenticate transactions
 * through the real libpam and N bare libcurl POST /token?grant_type=password calls against the
 * same emulator, interleaved so that both see the same machine load, and prints the ratio of the
 * medians: pam_auth_vs_curl_ratio. Both open a new connection per attempt, as a login does.
 * The PAM side includes everything a login pays: config file, JWT verification, and the atomic,
 * fsync'ed write of the pending record into the store (state dir on the disk under /tmp, or
 * $BENCH_STATE_DIR). Not run by make check; `make bench-pam` runs it. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <security/pam_appl.h>

#include "emu.h"
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

static int pam_signin(const char *service)
{
	struct pt_conv conv;
	pam_handle_t *pamh;
	int rc;

	memset(&conv, 0, sizeof(conv));
	conv.answers[0] = PASSWORD;
	pamh = pt_start(service, "alice", &conv);
	if (pamh == NULL)
		return -1;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? 0 : -1;
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
	snprintf(extra, sizeof(extra), "email_domains = example.com\nstate_dir = %s\n", state);
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
		failed += (pam_signin("bench") != 0) + (curl_signin(url) != 0);
	for (i = 0; i < n; i++) {
		t0 = pt_now();
		failed += pam_signin("bench") != 0;
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
