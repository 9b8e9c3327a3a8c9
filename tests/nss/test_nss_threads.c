/* test_nss_threads: 8 threads x 100k lookups through the module while the main thread replaces
 * the cache 100 times, alternating two generations. Every answer must come whole from one
 * generation (uid, gecos and home agree), never a mix, and never a crash. */
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
	long ok, unavail, mixed, other;
};

static void *worker(void *arg)
{
	struct result *r = arg;
	struct passwd pw;
	char buf[512];
	int i, err;

	for (i = 0; i < LOOKUPS; i++) {
		enum nss_status st = getpwnam_r_("alice", &pw, buf, sizeof(buf), &err);

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
		} else {
			r->mixed++;
		}
	}
	return NULL;
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

	snprintf(so, sizeof(so), "%s/nss/.libs/libnss_gotrue.so.2", top ? top : ".");
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
		if (fixture_write(path, GEN[i % 2]) != 0)
			fails++;
		usleep(2000);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sum.ok += res[i].ok;
		sum.unavail += res[i].unavail;
		sum.mixed += res[i].mixed;
		sum.other += res[i].other;
	}
	is_int(fails, 0, "cache replaced %d times", REPLACEMENTS);
	is_int(sum.ok, (long)THREADS * LOOKUPS, "every lookup answered from one whole generation");
	is_int(sum.mixed, 0, "no answer mixes two generations");
	is_int(sum.unavail + sum.other, 0, "no lookup failed during replacement");
	unlink(path);
	rmdir(dir);
	return done_testing();
}
