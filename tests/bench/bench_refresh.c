/* bench_refresh: the refresh pass against bare libcurl. For N = 1k and 10k
 * sessions signed in on the emulator:
 *   bare: N POST /token?grant_type=refresh_token on one reused libcurl handle, each answer parsed
 *         with json-c for its new refresh token (what any client must do to use the answer);
 *   pass: gotrue_refresh_pass over N stored records, all due (lock, read, marker write, the same
 *         request, write of the rotated pair; both writes in place into the record file's other
 *         slot, lib/store/store.h). The pass runs on one thread: one batch's requests go out
 *         several at once on libcurl's multi interface while other batches are read, marked and
 *         stored, with one syncfs per round (lib/sync/lifecycle.c gotrue_refresh_pass).
 * Each size runs BENCH_REFRESH_REPS (default 5) alternating rounds of bare then pass, on two sets
 * of N sessions (the pass's margin makes its records due in every round). Prints, from the medians,
 * refresh_pass_1k_vs_bare, refresh_pass_10k_vs_bare (pass time / bare time) and
 * refresh_10k_over_1k_time_ratio (10k pass time / 1k pass time; linear growth is about 10). Then,
 * per size, what bounds those ratios on the host it runs on (the emulator shares its cores):
 * refresh_bare_2conn_vs_bare_<N>: the same N bare refreshes as two loops at once, each on its own
 * connection, against the one loop: how much requests side by side gain on this host at all;
 *   refresh_pass_cpu_vs_bare_<N>: CPU time of the pass against the bare loop's;
 *   refresh_pass_host_busy_<N>: CPU time of the pass and the emulator during the pass, as a
 *     share of every core's time; near 1, the pass waits for cores, not for the server.
 * BENCH_REFRESH_SMALL / BENCH_REFRESH_LARGE change N; BENCH_STATE_DIR the store's parent
 * directory (default /tmp: a real disk here, so the fsyncs are paid); BENCH_STOP_AT_PASS, see
 * run(). First, the live check: a pass over N sessions none of which is due (the steady state
 * between refreshes), each asked about with GET /user, against N bare GET /user:
 * refresh_pass_live_<N>_s and refresh_pass_live_<N>_vs_bare (BENCH_REFRESH_LIVE_ONLY: only that).
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "api.h"
#include "emu.h"
#include "lifecycle.h"
#include "log.h"
#include "secure.h"
#include "store.h"

#include "bench.h"

struct buf {
	char *p;
	size_t n;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	char *np = realloc(b->p, b->n + size * nmemb + 1);

	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, data, size * nmemb);
	b->n += size * nmemb;
	b->p[b->n] = '\0';
	return size * nmemb;
}

/* N bare refreshes; each token in @tokens is replaced by its rotated successor. */
static double bare(const char *url, char **tokens, size_t n)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct buf b = {0};
	char endpoint[256], body[256];
	json_object *o, *v;
	double t0 = now_s(), t;
	size_t i;

	snprintf(endpoint, sizeof(endpoint), "%s/token?grant_type=refresh_token", url);
	curl_easy_setopt(c, CURLOPT_URL, endpoint);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	for (i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", tokens[i]);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		b.n = 0;
		if (curl_easy_perform(c) != CURLE_OK)
			fprintf(stderr, "# bare refresh failed\n");
		o = json_tokener_parse(b.p ? b.p : "");
		if (o != NULL && json_object_object_get_ex(o, "refresh_token", &v)) {
			free(tokens[i]);
			tokens[i] = strdup(json_object_get_string(v));
		}
		json_object_put(o);
	}
	t = now_s() - t0;
	free(b.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return t;
}

/* CPU time of this process, every thread. */
static double self_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of process @pid (utime + stime of /proc/PID/stat, threads that ended included), in
 * clock ticks' resolution. 0 when unknown. */
static double pid_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	const char *p;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm (field 2) may hold spaces */
	for (field = 2; p != NULL && *p != '\0' && field < 14; p++) {
		if (*p == ' ')
			field++;
	}
	if (p == NULL || sscanf(p, "%llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct half {
	const char *url;
	char **tokens;
	size_t n;
};

static void *half_main(void *arg)
{
	struct half *h = arg;

	bare(h->url, h->tokens, h->n);
	return NULL;
}

/* The bare loop over @tokens as two loops at once, on a connection each. */
static double bare_two(const char *url, char **tokens, size_t n)
{
	struct half h[2] = {{url, tokens, n / 2}, {url, tokens + n / 2, n - n / 2}};
	pthread_t th;
	double t0 = now_s();
	int started = pthread_create(&th, NULL, half_main, &h[1]) == 0;

	half_main(&h[0]);
	if (started)
		pthread_join(th, NULL);
	else
		half_main(&h[1]);
	return now_s() - t0;
}

/* Sign in @n sessions of one user; their refresh tokens go to @tokens. */
static int sign_in(struct gotrue_client *cl, char **tokens, size_t n)
{
	struct gotrue_credentials cred = {.email = "bench@example.com", .password = "bench pass 1"};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	size_t i;

	for (i = 0; i < n; i++) {
		if (gotrue_signin_password(cl, &cred, &s, &err) != 0)
			return -1;
		tokens[i] = strdup(s.refresh_token);
		gotrue_session_clear(&s);
	}
	return 0;
}

static int store_all(struct gotrue_store *st, const char *user_id, char **tokens, size_t n)
{
	struct gotrue_store_record rec = {0};
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		memset(&rec, 0, sizeof(rec));
		gotrue_store_new_id(rec.id);
		rec.state = GOTRUE_STORE_ACTIVE;
		rec.user_id = strdup(user_id);
		rec.login = strdup("bench");
		rec.access_token = strdup("unused-by-the-pass");
		rec.refresh_token = strdup(tokens[i]);
		rec.expires_at = time(NULL) + 5; /* due */
		rec.pid = getpid();
		rec.pid_start = gotrue_store_pid_start(rec.pid);
		rc = gotrue_store_write(st, &rec);
		gotrue_store_record_clear(&rec);
	}
	return rc;
}

/* Medians of one size (see the top of this file). */
struct result {
	double pass_t, bare_t; /* s */
	double two_vs_bare, cpu_vs_bare, host_busy;
};

/* One size: @reps alternating rounds of bare (on @n sessions of their own: one loop, then two
 * at once) and pass (over @n stored sessions, all due: the margin covers any expiry, so every
 * round refreshes them all again). The medians go to @res. */
static int run(struct emu *e, struct gotrue_config *cfg, struct gotrue_client *cl,
	       const char *user_id, const char *parent, size_t n, int reps, struct result *res)
{
	double *two = calloc((size_t)reps, sizeof(double)),
	       *cpu = calloc((size_t)reps, sizeof(double)),
	       *busy = calloc((size_t)reps, sizeof(double)), c0, e0, bare_cpu, pass_cpu;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char **tokens = calloc(2 * n, sizeof(*tokens)), dir[256], cmd[300];
	struct gotrue_store *st = NULL;
	struct gotrue_refresh_summary sum;
	struct gotrue_refresh_opts opts;
	double t0, *pt = calloc((size_t)reps, sizeof(double)),
		   *bt = calloc((size_t)reps, sizeof(double));
	size_t i;
	int r, rc = -1;

	gotrue_refresh_opts_init(&opts);
	opts.margin = 10L * 365 * 86400;
	snprintf(dir, sizeof(dir), "%s/gotrue-bench-XXXXXX", parent);
	if (tokens == NULL || pt == NULL || bt == NULL || two == NULL || cpu == NULL ||
	    busy == NULL || mkdtemp(dir) == NULL || sign_in(cl, tokens, 2 * n) != 0)
		goto cleanup;
	st = gotrue_store_open(NULL, dir);
	if (st == NULL || store_all(st, user_id, tokens + n, n) != 0)
		goto cleanup;
	free(cfg->state_dir);
	cfg->state_dir = strdup(dir);
	for (r = 0; r < reps; r++) {
		c0 = self_cpu_s();
		bt[r] = bare(emu_url(e), tokens, n);
		bare_cpu = self_cpu_s() - c0;
		two[r] = bare_two(emu_url(e), tokens, n) / bt[r];
		/* BENCH_STOP_AT_PASS=1: stop (SIGSTOP) right before and after each pass, so that a
		 * profiler can attach for the pass alone (`perf record -p PID`, then SIGCONT). */
		if (getenv("BENCH_STOP_AT_PASS") != NULL)
			raise(SIGSTOP);
		c0 = self_cpu_s();
		e0 = pid_cpu_s(emu_pid(e));
		t0 = now_s();
		rc = gotrue_refresh_pass(NULL, cfg, &opts, &sum);
		pt[r] = now_s() - t0;
		pass_cpu = self_cpu_s() - c0;
		cpu[r] = pass_cpu / bare_cpu;
		busy[r] = (pass_cpu + pid_cpu_s(emu_pid(e)) - e0) /
			  ((double)(ncpu > 0 ? ncpu : 1) * pt[r]);
		if (getenv("BENCH_STOP_AT_PASS") != NULL)
			raise(SIGSTOP);
		if (rc != 0 || sum.refreshed != n) {
			fprintf(stderr, "# pass: rc %d, refreshed %u of %zu\n", rc, sum.refreshed,
				n);
			rc = -1;
			goto cleanup;
		}
	}
	res->pass_t = bench_median(pt, (size_t)reps);
	res->bare_t = bench_median(bt, (size_t)reps);
	res->two_vs_bare = bench_median(two, (size_t)reps);
	res->cpu_vs_bare = bench_median(cpu, (size_t)reps);
	res->host_busy = bench_median(busy, (size_t)reps);
cleanup:
	for (i = 0; tokens != NULL && i < 2 * n; i++)
		gotrue_wipe_free_str(tokens[i]);
	free(tokens);
	free(pt);
	free(bt);
	free(two);
	free(cpu);
	free(busy);
	gotrue_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
	return rc;
}

/* N bare GET /user on one reused libcurl handle, each answer parsed with json-c. */
static double bare_user(const char *url, char **access, size_t n)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = {0};
	char endpoint[256], auth[4096];
	double t0 = now_s(), t;
	size_t i;

	snprintf(endpoint, sizeof(endpoint), "%s/user", url);
	curl_easy_setopt(c, CURLOPT_URL, endpoint);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	for (i = 0; i < n; i++) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access[i]);
		h = curl_slist_append(NULL, auth);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		b.n = 0;
		if (curl_easy_perform(c) != CURLE_OK)
			fprintf(stderr, "# bare GET /user failed\n");
		json_object_put(json_tokener_parse(b.p ? b.p : ""));
		curl_slist_free_all(h);
	}
	t = now_s() - t0;
	free(b.p);
	curl_easy_cleanup(c);
	return t;
}

/* The live check (lib/sync/lifecycle.c check_live_records): a pass over @n stored sessions whose
 * tokens are not due, each asked about with GET /user, against @n bare GET /user. Medians of
 * @reps alternating rounds into *@pass_t and *@bare_t. */
static int run_live(struct emu *e, struct gotrue_config *cfg, struct gotrue_client *cl,
		    const char *user_id, const char *parent, size_t n, int reps, double *pass_t,
		    double *bare_t)
{
	struct gotrue_credentials cred = {.email = "bench@example.com", .password = "bench pass 1"};
	char **access = calloc(n, sizeof(*access)), dir[256], cmd[300];
	double *pt = calloc((size_t)reps, sizeof(double)),
	       *bt = calloc((size_t)reps, sizeof(double));
	struct gotrue_store_record rec;
	struct gotrue_refresh_summary sum;
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	struct gotrue_store *st = NULL;
	size_t i;
	int r, rc = -1;

	snprintf(dir, sizeof(dir), "%s/gotrue-bench-XXXXXX", parent);
	if (access == NULL || pt == NULL || bt == NULL || mkdtemp(dir) == NULL)
		goto cleanup;
	st = gotrue_store_open(NULL, dir);
	for (i = 0; st != NULL && i < n; i++) {
		if (gotrue_signin_password(cl, &cred, &s, &err) != 0)
			goto cleanup;
		memset(&rec, 0, sizeof(rec));
		gotrue_store_new_id(rec.id);
		rec.state = GOTRUE_STORE_ACTIVE;
		rec.user_id = strdup(user_id);
		rec.login = strdup("bench");
		access[i] = strdup(s.access_token);
		rec.access_token = s.access_token;
		rec.refresh_token = s.refresh_token;
		s.access_token = s.refresh_token = NULL;
		rec.expires_at = s.expires_at; /* an hour ahead: not due */
		rec.pid = getpid();
		rec.pid_start = gotrue_store_pid_start(rec.pid);
		r = gotrue_store_write(st, &rec);
		gotrue_store_record_clear(&rec);
		gotrue_session_clear(&s);
		if (r != 0)
			goto cleanup;
	}
	if (st == NULL)
		goto cleanup;
	free(cfg->state_dir);
	cfg->state_dir = strdup(dir);
	for (r = 0; r < reps; r++) {
		bt[r] = bare_user(emu_url(e), access, n);
		pt[r] = now_s();
		rc = gotrue_refresh_pass(NULL, cfg, NULL, &sum);
		pt[r] = now_s() - pt[r];
		if (rc != 0 || sum.checked != n) {
			fprintf(stderr, "# live pass: rc %d, checked %u of %zu\n", rc, sum.checked,
				n);
			rc = -1;
			goto cleanup;
		}
	}
	*pass_t = bench_median(pt, (size_t)reps);
	*bare_t = bench_median(bt, (size_t)reps);
	rc = 0;
cleanup:
	for (i = 0; access != NULL && i < n; i++)
		gotrue_wipe_free_str(access[i]);
	free(access);
	free(pt);
	free(bt);
	gotrue_error_clear(&err);
	gotrue_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
	return rc;
}

int main(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	const char *parent = getenv("BENCH_STATE_DIR") ? getenv("BENCH_STATE_DIR") : "/tmp";
	long small = getenv("BENCH_REFRESH_SMALL") ? atol(getenv("BENCH_REFRESH_SMALL")) : 1000;
	long large = getenv("BENCH_REFRESH_LARGE") ? atol(getenv("BENCH_REFRESH_LARGE")) : 10000;
	int reps = getenv("BENCH_REFRESH_REPS") ? atoi(getenv("BENCH_REFRESH_REPS")) : 5;
	struct gotrue_config *cfg = NULL;
	struct gotrue_client *cl = NULL;
	struct emu *e = NULL;
	char *conf = NULL, *uid = NULL;
	struct result r1 = {0}, r2 = {0};
	double live_t = 0, live_bare_t = 0;
	int rc = 1;

	gotrue_log_init("bench_refresh", GOTRUE_LOG_STDERR, false);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	e = emu_start(args);
	if (e == NULL)
		goto cleanup;
	conf = emu_write_config(e, NULL);
	cfg = gotrue_config_new();
	if (conf == NULL || cfg == NULL || gotrue_config_load_file(NULL, cfg, conf, false) != 0)
		goto cleanup;
	cl = gotrue_client_new(NULL, cfg);
	uid = emu_create_user(e, "bench@example.com", "bench pass 1", "{}");
	if (cl == NULL || uid == NULL)
		goto cleanup;
	if (reps < 1 ||
	    run_live(e, cfg, cl, uid, parent, (size_t)small, reps, &live_t, &live_bare_t) != 0)
		goto cleanup;
	fprintf(stderr, "# live sessions, none due: %ld: pass %.3f s, bare GET /user %.3f s\n",
		small, live_t, live_bare_t);
	printf("refresh_pass_live_%ld_s: %.3f\n", small, live_t);
	printf("refresh_pass_live_%ld_vs_bare: %.2f\n", small, live_t / live_bare_t);
	if (getenv("BENCH_REFRESH_LIVE_ONLY") != NULL) {
		rc = 0;
		goto cleanup;
	}
	if (run(e, cfg, cl, uid, parent, (size_t)small, reps, &r1) != 0 ||
	    run(e, cfg, cl, uid, parent, (size_t)large, reps, &r2) != 0)
		goto cleanup;
	fprintf(stderr,
		"# medians of %d alternating rounds: %ld: pass %.3f s, bare %.3f s; %ld: pass %.3f "
		"s, bare %.3f s (%s)\n",
		reps, small, r1.pass_t, r1.bare_t, large, r2.pass_t, r2.bare_t, parent);
	printf("refresh_pass_1k_vs_bare: %.2f\n", r1.pass_t / r1.bare_t);
	printf("refresh_pass_10k_vs_bare: %.2f\n", r2.pass_t / r2.bare_t);
	printf("refresh_10k_over_1k_time_ratio: %.2f\n", r2.pass_t / r1.pass_t);
	printf("refresh_bare_2conn_vs_bare_%ld: %.2f\n", small, r1.two_vs_bare);
	printf("refresh_bare_2conn_vs_bare_%ld: %.2f\n", large, r2.two_vs_bare);
	printf("refresh_pass_cpu_vs_bare_%ld: %.2f\n", small, r1.cpu_vs_bare);
	printf("refresh_pass_cpu_vs_bare_%ld: %.2f\n", large, r2.cpu_vs_bare);
	printf("refresh_pass_host_busy_%ld: %.2f\n", small, r1.host_busy);
	printf("refresh_pass_host_busy_%ld: %.2f\n", large, r2.host_busy);
	rc = 0;
cleanup:
	free(uid);
	free(conf);
	gotrue_client_free(cl);
	gotrue_config_free(cfg);
	emu_stop(e);
	curl_global_cleanup();
	return rc;
}
