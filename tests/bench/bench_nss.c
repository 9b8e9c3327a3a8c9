/* bench_nss: the measuring half of tests/bench/run-bench-nss (which sets up the files, the
 * private mount namespace and the page server, and prints the ratios).
 *
 *   bench_nss lookup pwnam|pwuid|initgroups KEYFILE ITERS REPS
 *       ITERS lookups through glibc (getpwnam_r, getpwuid_r, getgrouplist: whatever
 *       /etc/nsswitch.conf says), REPS times; prints the median ns per lookup.
 *   bench_nss direct MODULE.so KEYFILE ITERS REPS
 *       the same getpwnam_r through the module's own _nss_gotrue_getpwnam_r (dlopen).
 *   bench_nss stat PATH ITERS REPS      a bare stat() of PATH, median ns.
 *   bench_nss sync CONF CACHE ACCOUNTS PASSWD GROUP
 *       gotrue_sync_run in a child; prints "seconds peak_rss_kb cpu_seconds" (getrusage of the
 *       child).
 *   bench_nss curl URL PER_PAGE TOTAL [KEYFILE]
 *       GET every page with one bare libcurl handle (the key in KEYFILE as the bearer, as sync
 *       sends it); seconds. Every page must be a 200: a 401 is not a fetch.
 * Every lookup is checked: a benchmark that measures failures is worthless. */
#include <config.h>

#include <dlfcn.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "gotrue_config.h"
#include "gotrue_error.h"
#include "sync.h"

#include "bench.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char **read_keys(const char *path, int *n)
{
	FILE *f = fopen(path, "r");
	char line[256], **keys = NULL;
	int cap = 0;

	*n = 0;
	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			keys = realloc(keys, (size_t)cap * sizeof(char *));
		}
		keys[(*n)++] = strdup(line);
	}
	fclose(f);
	return keys;
}

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);

static int lookup(const char *kind, const char *module, const char *keyfile, int iters, int reps)
{
	int nkeys, r, i, fails = 0;
	char **keys = read_keys(keyfile, &nkeys), buf[4096];
	double *t = calloc((size_t)reps, sizeof(double));
	pwnam_fn direct = NULL;

	if (keys == NULL || nkeys == 0)
		return 2;
	if (module != NULL) {
		void *h = dlopen(module, RTLD_NOW);

		direct = h ? (pwnam_fn)dlsym(h, "_nss_gotrue_getpwnam_r") : NULL;
		if (direct == NULL) {
			fprintf(stderr, "bench_nss: %s\n", dlerror());
			return 2;
		}
	}
	for (r = 0; r < reps; r++) {
		double t0 = now();

		for (i = 0; i < iters; i++) {
			const char *k = keys[i % nkeys];
			struct passwd pw, *res = NULL;
			int err;

			if (direct != NULL) {
				fails += direct(k, &pw, buf, sizeof(buf), &err) !=
					 NSS_STATUS_SUCCESS;
			} else if (strcmp(kind, "pwnam") == 0) {
				fails += getpwnam_r(k, &pw, buf, sizeof(buf), &res) != 0 || !res;
			} else if (strcmp(kind, "pwuid") == 0) {
				fails += getpwuid_r((uid_t)strtoul(k, NULL, 10), &pw, buf,
						    sizeof(buf), &res) != 0 ||
					 !res;
			} else {
				gid_t groups[64];
				int ng = 64;

				/* Every bench user has its private group plus 1 or 2 shared ones.
				 */
				fails += getgrouplist(k, 1, groups, &ng) < 0 || ng < 2;
			}
		}
		t[r] = (now() - t0) * 1e9 / iters;
	}
	if (fails) {
		fprintf(stderr, "bench_nss: %d of %d %s lookups failed\n", fails, iters * reps,
			kind);
		return 1;
	}
	printf("%.1f\n", bench_median(t, (size_t)reps));
	return 0;
}

static int bench_stat(const char *path, int iters, int reps)
{
	double *t = calloc((size_t)reps, sizeof(double));
	struct stat st;
	int r, i, fails = 0;

	for (r = 0; r < reps; r++) {
		double t0 = now();

		for (i = 0; i < iters; i++)
			fails += stat(path, &st) != 0;
		t[r] = (now() - t0) * 1e9 / iters;
	}
	if (fails)
		return 1;
	printf("%.1f\n", bench_median(t, (size_t)reps));
	return 0;
}

static int bench_sync(char **argv)
{
	struct rusage ru;
	double t0 = now(), secs;
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct gotrue_config *cfg = gotrue_config_new();
		struct gotrue_sync_options opt = {
			.cache_path = argv[1],
			.accounts_path = argv[2],
			.passwd_path = argv[3],
			.group_path = argv[4],
		};
		struct gotrue_sync_summary sum;
		struct gotrue_error err = {0};
		int rc;

		if (gotrue_config_load_file(NULL, cfg, argv[0], false) != 0 ||
		    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0)
			_exit(2);
		rc = gotrue_sync_run(NULL, cfg, &opt, &sum, &err);
		if (rc != 0)
			fprintf(stderr, "bench_nss: sync failed: %s\n", err.message);
		else
			fprintf(stderr, "bench_nss: sync wrote %zu users, %zu groups\n", sum.users,
				sum.groups);
		/* A sync that maps nobody (a config that admits no one) measures nothing. */
		if (rc == 0 && sum.users < sum.users_seen / 2) {
			fprintf(stderr, "bench_nss: only %zu of %zu users written\n", sum.users,
				sum.users_seen);
			rc = -1;
		}
		_exit(rc == 0 ? 0 : 1);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 1;
	secs = now() - t0;
	/* The CPU seconds too: on a shared machine they say what the wall clock cannot. */
	printf("%.4f %ld %.3f\n", secs, ru.ru_maxrss,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
	*(size_t *)ctx += size * n;
	(void)p;
	return size * n;
}

static int bench_curl(const char *url, int per_page, int total, const char *keyfile)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char u[1024], key[4096], auth[4200];
	size_t bytes = 0;
	double t0;
	int page, pages = (total + per_page - 1) / per_page, rc = 0;

	if (keyfile != NULL) {
		FILE *f = fopen(keyfile, "r");

		if (f == NULL || fgets(key, sizeof(key), f) == NULL) {
			fprintf(stderr, "bench_nss: cannot read %s\n", keyfile);
			if (f != NULL)
				fclose(f);
			return 1;
		}
		fclose(f);
		key[strcspn(key, "\r\n")] = '\0';
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		hdrs = curl_slist_append(hdrs, auth);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	}
	t0 = now();
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
	for (page = 1; page <= pages && rc == 0; page++) {
		long code = 0;

		snprintf(u, sizeof(u), "%s/admin/users?page=%d&per_page=%d", url, page, per_page);
		curl_easy_setopt(h, CURLOPT_URL, u);
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
			rc = 1;
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (rc == 0)
		printf("%.4f\n", now() - t0);
	fprintf(stderr, "bench_nss: curl fetched %zu bytes in %d pages\n", bytes, pages);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "lookup") == 0)
		return lookup(argv[2], NULL, argv[3], atoi(argv[4]), atoi(argv[5]));
	if (argc == 6 && strcmp(argv[1], "direct") == 0)
		return lookup("pwnam", argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (argc == 5 && strcmp(argv[1], "stat") == 0)
		return bench_stat(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 7 && strcmp(argv[1], "sync") == 0)
		return bench_sync(argv + 2);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "curl") == 0)
		return bench_curl(argv[2], atoi(argv[3]), atoi(argv[4]),
				  argc == 6 ? argv[5] : NULL);
	fprintf(stderr, "usage: see the comment at the top of tests/bench/bench_nss.c\n");
	return 2;
}
