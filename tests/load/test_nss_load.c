/* test_nss_load: the NSS module under 8 threads x N lookups each, called through its dlopen'ed
 * entry points as glibc calls them: getpwnam, getpwuid, getgrgid, getgrnam and initgroups_dyn on a
 * 1000-user, 50-group cache, a few of them for names that do not exist, while the main thread
 * replaces the cache (same content, new file) every few milliseconds with the writer's
 * gotrue_cache_replace(). Every answer is checked against the data it was built from: no error,
 * no wrong or partial answer, no crash.
 *   N = $NSS_LOAD_LOOKUPS per thread, 100000 by default (make check; about a second);
 *       the full run is NSS_LOAD_LOOKUPS=1000000.
 *   $NSS_LOAD_MODULE: the module to load (make tsan-nss points it at a ThreadSanitizer build),
 *       default $top_builddir/tests/nss/.libs/libnss_gotrue.so.2 (the test build,
 *       which reads NSS_GOTRUE_CACHE). */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache_writer.h"
#include "fixture.h"
#include "tap.h"

#define THREADS	 8
#define USERS	 1000
#define GROUPS	 50
#define UID_BASE 1879048192u
#define GID_BASE 1879500000u

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long int *, long int *, gid_t **,
					 long int, int *);

static pwnam_fn getpwnam_r_;
static pwuid_fn getpwuid_r_;
static grgid_fn getgrgid_r_;
static grnam_fn getgrnam_r_;
static initgroups_fn initgroups_dyn_;
static long lookups = 100000;
static int finished;

struct result {
	long total, errors;
	char first[200];
};

/* User k: u<k>, uid UID_BASE+k, primary group g<k%GROUPS>, also in g<(k+1)%GROUPS>. Group g
 * lists as members the users whose secondary group it is. */
static char *make_spec(void)
{
	size_t cap = 200 * (USERS + GROUPS), len = 0;
	char *s = malloc(cap);
	int k, g;

	if (s == NULL)
		return NULL;
	for (k = 0; k < USERS; k++)
		len += (size_t)snprintf(
			s + len, cap - len, "user u%d %u %u User_%d /home/u%d /bin/sh %u,%u\n", k,
			UID_BASE + (unsigned)k, GID_BASE + (unsigned)(k % GROUPS), k, k,
			GID_BASE + (unsigned)(k % GROUPS), GID_BASE + (unsigned)((k + 1) % GROUPS));
	for (g = 0; g < GROUPS; g++) {
		len += (size_t)snprintf(s + len, cap - len, "group g%d %u ", g,
					GID_BASE + (unsigned)g);
		for (k = (g + GROUPS - 1) % GROUPS; k < USERS; k += GROUPS)
			len += (size_t)snprintf(s + len, cap - len, "%su%d", k < GROUPS ? "" : ",",
						k);
		len += (size_t)snprintf(s + len, cap - len, "\n");
	}
	return s;
}

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* One lookup of kind @op for user/group @k; NULL when the answer is right, else what is wrong. */
static const char *one(int op, int k, char *buf, size_t len)
{
	struct passwd pw;
	struct group gr;
	char name[32];
	gid_t *groups = NULL;
	long start = 1, size = 0;
	enum nss_status st;
	const char *why = NULL;
	int err = 0, g = k % GROUPS;

	snprintf(name, sizeof(name), "u%d", k);
	switch (op) {
	case 0:
		st = getpwnam_r_(name, &pw, buf, len, &err);
		if (st != NSS_STATUS_SUCCESS || pw.pw_uid != UID_BASE + (unsigned)k ||
		    pw.pw_gid != GID_BASE + (unsigned)g || strcmp(pw.pw_name, name) != 0 ||
		    strncmp(pw.pw_dir, "/home/", 6) != 0 || strcmp(pw.pw_dir + 6, name) != 0)
			why = "getpwnam";
		break;
	case 1:
		st = getpwuid_r_(UID_BASE + (unsigned)k, &pw, buf, len, &err);
		if (st != NSS_STATUS_SUCCESS || strcmp(pw.pw_name, name) != 0 ||
		    strcmp(pw.pw_shell, "/bin/sh") != 0)
			why = "getpwuid";
		break;
	case 2:
		st = getgrgid_r_(GID_BASE + (unsigned)g, &gr, buf, len, &err);
		snprintf(name, sizeof(name), "g%d", g);
		if (st != NSS_STATUS_SUCCESS || strcmp(gr.gr_name, name) != 0 ||
		    gr.gr_mem[USERS / GROUPS - 1] == NULL || gr.gr_mem[USERS / GROUPS] != NULL)
			why = "getgrgid";
		break;
	case 3:
		snprintf(name, sizeof(name), "g%d", g);
		st = getgrnam_r_(name, &gr, buf, len, &err);
		if (st != NSS_STATUS_SUCCESS || gr.gr_gid != GID_BASE + (unsigned)g)
			why = "getgrnam";
		break;
	case 4:
		/* As glibc calls it: the primary group is already in the list and is skipped. */
		groups = malloc(sizeof(gid_t));
		if (groups == NULL)
			return "malloc";
		groups[0] = GID_BASE + (unsigned)g;
		size = 1;
		st = initgroups_dyn_(name, groups[0], &start, &size, &groups, 0, &err);
		if (st != NSS_STATUS_SUCCESS || start != 2 ||
		    groups[1] != GID_BASE + (unsigned)((k + 1) % GROUPS))
			why = "initgroups_dyn";
		free(groups);
		break;
	case 5:
		snprintf(name, sizeof(name), "nobody%d", k);
		st = getpwnam_r_(name, &pw, buf, len, &err);
		if (st != NSS_STATUS_NOTFOUND || err != ENOENT)
			why = "getpwnam of an unknown name";
		break;
	default:
		st = getgrgid_r_(GID_BASE + GROUPS + (unsigned)k, &gr, buf, len, &err);
		if (st != NSS_STATUS_NOTFOUND || err != ENOENT)
			why = "getgrgid of an unknown gid";
		break;
	}
	return why;
}

static void *worker(void *arg)
{
	struct result *r = arg;
	uint32_t x = (uint32_t)(uintptr_t)arg | 1u;
	char buf[2048];
	long i;

	for (i = 0; i < lookups; i++) {
		uint32_t v = next(&x);
		const char *why = one((int)(v % 7), (int)((v >> 8) % USERS), buf, sizeof(buf));

		r->total++;
		if (why != NULL && r->errors++ == 0)
			snprintf(r->first, sizeof(r->first), "%s (op %u, key %u)", why, v % 7,
				 (v >> 8) % USERS);
	}
	__atomic_add_fetch(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	const char *top = getenv("top_builddir"), *mod = getenv("NSS_LOAD_MODULE");
	const char *env_n = getenv("NSS_LOAD_LOOKUPS");
	char so[4096], path[4096], dir[] = "/tmp/nss-load-XXXXXX";
	pthread_t t[THREADS];
	static struct result res[THREADS];
	long total = 0, errors = 0, replaced = 0, failed_replace = 0;
	char *spec = NULL;
	void *h, *img = NULL;
	size_t len = 0;
	double t0, secs;
	int i;

	if (env_n != NULL && atol(env_n) > 0)
		lookups = atol(env_n);
	if (mod != NULL && mod[0] != '\0')
		snprintf(so, sizeof(so), "%s", mod);
	else
		snprintf(so, sizeof(so), "%s/tests/nss/.libs/libnss_gotrue.so.2", top ? top : ".");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp");
	snprintf(path, sizeof(path), "%s/nss.cache", dir);
	setenv("NSS_GOTRUE_CACHE", path, 1);
	spec = make_spec();
	if (!ok(spec != NULL && fixture_image(spec, &img, &len) == 0 &&
			fixture_write_raw(path, img, len) == 0,
		"cache of %d users and %d groups written", USERS, GROUPS))
		goto cleanup;
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!ok(h != NULL, "dlopen %s", so))
		goto cleanup;
	getpwnam_r_ = (pwnam_fn)dlsym(h, "_nss_gotrue_getpwnam_r");
	getpwuid_r_ = (pwuid_fn)dlsym(h, "_nss_gotrue_getpwuid_r");
	getgrgid_r_ = (grgid_fn)dlsym(h, "_nss_gotrue_getgrgid_r");
	getgrnam_r_ = (grnam_fn)dlsym(h, "_nss_gotrue_getgrnam_r");
	initgroups_dyn_ = (initgroups_fn)dlsym(h, "_nss_gotrue_initgroups_dyn");
	if (!ok(getpwnam_r_ && getpwuid_r_ && getgrgid_r_ && getgrnam_r_ && initgroups_dyn_,
		"the five entry points"))
		goto cleanup;

	t0 = now();
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &res[i]);
	/* Replacements under load, until every worker is done: the same data in a new file, so
	 * every answer stays checkable while the readers remap. */
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < THREADS) {
		if (gotrue_cache_replace(path, img, len) == 0)
			replaced++;
		else
			failed_replace++;
		usleep(5000);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += res[i].total;
		errors += res[i].errors;
		if (res[i].errors > 0)
			diag("thread %d: %ld errors, first: %s", i, res[i].errors, res[i].first);
	}
	secs = now() - t0;
	diag("%d threads x %ld lookups = %ld in %.2f s (%.0f per second), %ld cache replacements",
	     THREADS, lookups, total, secs, (double)total / secs, replaced);
	is_int(total, (long)THREADS * lookups, "every lookup ran");
	is_int(errors, 0,
	       "every answer right (getpwnam, getpwuid, getgrgid, getgrnam, "
	       "initgroups_dyn, unknown names)");
	is_int(failed_replace, 0, "%ld replacements, none failed", replaced);
cleanup:
	unlink(path);
	rmdir(dir);
	free(spec);
	free(img);
	return done_testing();
}
