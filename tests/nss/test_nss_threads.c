/* test_nss_threads: 8 threads x 100k lookups through the module while the main thread replaces
 * the cache 100 times, alternating two generations, mostly with the writer's
 * gotrue_cache_replace() (which marks the old file stale, so readers switch at once) and every
 * tenth time by a plain rename (seen at the next once-a-second recheck). Every answer must come
 * whole from one generation (uid, gecos and home agree), never a mix, and never a crash; and the
 * readers must have followed the replacements (both generations answered). */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_writer.h"
#include "fixture.h"
#include "tap.h"

#define THREADS	     8
#define LOOKUPS	     100000
#define REPLACEMENTS 100

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
static pwnam_fn getpwnam_r_;
static char path[4096];

static const char *GEN[2] = {
	"user alice 1879048193 1879048193 even /home/even /bin/bash\n"
	"user bob 1879048194 1879048194 Bob /home/bob /bin/sh\n",
	"user zed 1879048199 1879048199 Zed /home/zed /bin/sh\n"
	"user alice 1879048195 1879048195 odd /home/odd /bin/sh\n",
};

struct result {
	long total, ok, unavail, mixed, other, odd;
};

/* Set when the replacements are over: each worker does at least LOOKUPS lookups, and goes on
 * until then, so that every replacement happens under load however fast the lookups are. */
static int replacing_done;

static void *worker(void *arg)
{
	struct result *r = arg;
	struct passwd pw;
	char buf[512];
	int i, err;

	for (i = 0; i < LOOKUPS || !__atomic_load_n(&replacing_done, __ATOMIC_RELAXED); i++) {
		enum nss_status st = getpwnam_r_("alice", &pw, buf, sizeof(buf), &err);

		r->total++;
		if (st == NSS_STATUS_UNAVAIL) {
			r->unavail++;
		} else if (st != NSS_STATUS_SUCCESS) {
			r->other++;
		} else if ((pw.pw_uid == 1879048193u && !strcmp(pw.pw_gecos, "even") &&
			    !strcmp(pw.pw_dir, "/home/even") &&
			    !strcmp(pw.pw_shell, "/bin/bash")) ||
			   (pw.pw_uid == 1879048195u && !strcmp(pw.pw_gecos, "odd") &&
			    !strcmp(pw.pw_dir, "/home/odd") && !strcmp(pw.pw_shell, "/bin/sh"))) {
			r->ok++;
			r->odd += pw.pw_uid == 1879048195u;
		} else {
			r->mixed++;
		}
	}
	return NULL;
}

/* Generation @g by the writer's replacement, or by a plain rename when @plain. */
static int replace(int g, int plain)
{
	void *img = NULL;
	size_t len = 0;
	int rc = -1;

	if (fixture_image(GEN[g], &img, &len) == 0)
		rc = plain ? fixture_write_raw(path, img, len)
			   : gotrue_cache_replace(path, img, len);
	free(img);
	return rc;
}

int main(void)
{
	const char *top = getenv("top_builddir");
	char so[4096], dir[] = "/tmp/nss-threads-XXXXXX";
	pthread_t t[THREADS];
	struct result res[THREADS];
	struct result sum = {0};
	void *h;
	int i, fails = 0;

	snprintf(so, sizeof(so), "%s/tests/nss/.libs/libnss_gotrue.so.2", top ? top : ".");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp");
	snprintf(path, sizeof(path), "%s/nss.cache", dir);
	setenv("NSS_GOTRUE_CACHE", path, 1);
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!ok(h != NULL, "dlopen the module"))
		return done_testing();
	getpwnam_r_ = (pwnam_fn)dlsym(h, "_nss_gotrue_getpwnam_r");
	ok(fixture_write(path, GEN[0]) == 0, "generation 0 written");
	memset(res, 0, sizeof(res));
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &res[i]);
	for (i = 1; i <= REPLACEMENTS; i++) {
		if (replace(i % 2, i % 10 == 0) != 0)
			fails++;
		usleep(2000);
	}
	__atomic_store_n(&replacing_done, 1, __ATOMIC_RELAXED);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sum.total += res[i].total;
		sum.ok += res[i].ok;
		sum.unavail += res[i].unavail;
		sum.mixed += res[i].mixed;
		sum.other += res[i].other;
		sum.odd += res[i].odd;
	}
	is_int(fails, 0, "cache replaced %d times", REPLACEMENTS);
	ok(sum.total >= (long)THREADS * LOOKUPS && sum.ok == sum.total,
	   "every lookup (%ld) answered from one whole generation", sum.total);
	is_int(sum.mixed, 0, "no answer mixes two generations");
	is_int(sum.unavail + sum.other, 0, "no lookup failed during replacement");
	ok(sum.odd > 0 && sum.odd < sum.ok,
	   "the readers followed the replacements (%ld of %ld odd)", sum.odd, sum.ok);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
