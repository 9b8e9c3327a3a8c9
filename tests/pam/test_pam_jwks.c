/* test_pam_jwks: the key set at jwks_url kept on disk between logins (lib/client/jwks_cache.h),
 * through the real libpam against an ES256 emulator whose JWKS endpoint the test takes down:
 * a fresh cache needs no request, a stale one is used up to 24 h past its lifetime (logged with
 * its age) and no longer, an unknown kid is fetched again at most every 30 s, and a cache file
 * with the wrong owner or mode is not used. The emulator counts every request, faulted ones too,
 * so its counter says whether the module asked. */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <security/pam_appl.h>

#include "emu.h"
#include "pamtest.h"
#include "tap.h"

#define PASSWORD "Correct-Horse-9"
#define JWKS	 "GET /.well-known/jwks.json"
#define DOWN	 "{\"path\":\"/.well-known/jwks.json\",\"kind\":\"status\",\"status\":503,\"count\":-1}"
/* {"alg":"ES256","kid":"rotated-kid","typ":"JWT"}.{"sub":...,"aud":"authenticated","exp":2100}.
 * with a signature of nothing: a token that names a key the server has not published. */
#define ROTATED_KID_TOKEN                                                                          \
	"eyJhbGciOiJFUzI1NiIsImtpZCI6InJvdGF0ZWQta2lkIiwidHlwIjoiSldUIn0."                         \
	"eyJzdWIiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDkiLCJhdWQiOiJhdXRoZW50aWNhdGVk" \
	"IiwiZXhwIjo0MTAyNDQ0ODAwfQ.AAAA"

static struct emu *e, *other;
static char state_dir[512], cache[600], attempt[600], conf[600];

static long fetches(void)
{
	return emu_count(e, JWKS);
}

static int login(void)
{
	return pt_auth("jwks", "alice", PASSWORD, NULL);
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t cap = 0, n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	buf = calloc(1, 1 << 16);
	if (buf != NULL) {
		cap = (1 << 16) - 1;
		n = fread(buf, 1, cap, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* The cache file as jwks_cache.c writes it: @set_from's key set, fetched @ago seconds ago,
 * fresh for 600 s, with @mode. */
static int write_cache(const struct emu *set_from, long ago, mode_t mode)
{
	char *src = emu_path(set_from, "jwks.json"), *set = src ? slurp(src) : NULL, *brace;
	FILE *f;
	int rc = -1;

	brace = set ? strrchr(set, '}') : NULL;
	if (brace == NULL)
		goto cleanup;
	*brace = '\0';
	unlink(cache);
	f = fopen(cache, "w");
	if (f == NULL)
		goto cleanup;
	fprintf(f, "%s,\"fetched_at\":%lld,\"max_age\":600}", set, (long long)(time(NULL) - ago));
	rc = fclose(f) == 0 && chmod(cache, mode) == 0 ? 0 : -1;
cleanup:
	free(set);
	free(src);
	return rc;
}

/* Forget when the set was last asked for: the next login may ask at once. */
static void forget_attempt(void)
{
	unlink(attempt);
}

static void test_fresh(void)
{
	struct stat st;
	char *text;
	long n = fetches();

	unlink(cache);
	is_int(login(), PAM_SUCCESS, "no cache: the login fetches the key set");
	is_int(fetches(), n + 1, "no cache: one request");
	ok(stat(cache, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_uid == geteuid(),
	   "the set is kept in the state directory, mode 0600");
	text = slurp(cache);
	ok(text && strstr(text, "\"max_age\":600") && strstr(text, "\"fetched_at\":") &&
		   strstr(text, "\"keys\""),
	   "the file is the set, with fetched_at and the server's max-age (600)");
	free(text);
	is_int(login(), PAM_SUCCESS, "fresh cache: the next login succeeds");
	is_int(fetches(), n + 1, "fresh cache: no request");
	emu_fault(e, DOWN);
	is_int(login(), PAM_SUCCESS, "fresh cache, JWKS endpoint down: the login succeeds");
	is_int(fetches(), n + 1, "fresh cache, JWKS endpoint down: not even asked");
	emu_clear_faults(e);
}

static void test_stale(void)
{
	size_t mark;
	long n;

	emu_fault(e, DOWN);
	forget_attempt();
	ok(write_cache(e, 23 * 3600L, 0600) == 0, "a cache fetched 23 hours ago");
	n = fetches();
	mark = pt_log_len();
	is_int(login(), PAM_SUCCESS, "stale cache (23 h), endpoint down: the login succeeds");
	is_int(fetches(), n + 1, "stale cache: the set was asked for once");
	ok(strstr(pt_log() + mark, "using a stale key set") && strstr(pt_log() + mark, "age=828"),
	   "stale cache: logged as stale, with its age");
	mark = pt_log_len();
	is_int(login(), PAM_SUCCESS, "stale cache, at once again: the login succeeds");
	is_int(fetches(), n + 1, "stale cache: no second request within 30 s");
	ok(strstr(pt_log() + mark, "using a stale key set") != NULL, "and it says so again");

	forget_attempt();
	ok(write_cache(e, 600 + 24 * 3600L + 60, 0600) == 0,
	   "a cache over 24 hours past its lifetime");
	n = fetches();
	is_int(login(), PAM_AUTHINFO_UNAVAIL, "cache too old, endpoint down: PAM_AUTHINFO_UNAVAIL");
	is_int(fetches(), n + 1, "too old: the set was asked for");
	emu_clear_faults(e);
	forget_attempt();
	n = fetches();
	is_int(login(), PAM_SUCCESS, "endpoint back: the login succeeds");
	is_int(fetches(), n + 1, "and the set was fetched again");

	/* The clock went back since the fetch: the set's age is unknown, so it is not fresh. */
	forget_attempt();
	ok(write_cache(e, -86400L, 0600) == 0,
	   "a cache whose fetched_at is a day ahead of the clock");
	n = fetches();
	is_int(login(), PAM_SUCCESS, "fetched_at ahead of the clock: the login succeeds");
	is_int(fetches(), n + 1, "after fetching the set again");

	/* An answer without a usable key (a proxy's, or a server back on HS256) is no better
	 * than none: the kept set serves on. */
	forget_attempt();
	ok(write_cache(e, 23 * 3600L, 0600) == 0, "again a cache fetched 23 hours ago");
	emu_fault(e, "{\"path\":\"/.well-known/jwks.json\",\"kind\":\"status\",\"status\":200,"
		     "\"body\":\"{\\\"keys\\\":[]}\",\"count\":-1}");
	mark = pt_log_len();
	is_int(login(), PAM_SUCCESS, "the endpoint answers an empty set: the stale set serves on");
	ok(strstr(pt_log() + mark, "without a usable key") != NULL &&
		   strstr(pt_log() + mark, "using a stale key set") != NULL,
	   "logged as stale, saying why");
	emu_clear_faults(e);
}

static void test_untrusted_file(void)
{
	struct stat st;
	size_t mark;
	long n;

	forget_attempt();
	ok(write_cache(e, 0, 0644) == 0, "a fresh cache file readable by others");
	n = fetches();
	mark = pt_log_len();
	is_int(login(), PAM_SUCCESS, "mode 0644: the login succeeds");
	is_int(fetches(), n + 1, "mode 0644: the file is not used, the set is fetched");
	ok(strstr(pt_log() + mark, "not using the cached key set") != NULL, "and that is logged");
	ok(stat(cache, &st) == 0 && (st.st_mode & 07777) == 0600, "the file is replaced, 0600");

	/* Giving the file away takes root: as a user (make distcheck) these cases are left out. */
	if (geteuid() != 0) {
		diag("another owner: skipped, chown needs root");
		return;
	}
	ok(write_cache(e, 0, 0600) == 0 && chown(cache, 4242, 4242) == 0,
	   "a fresh cache file owned by another user");
	n = fetches();
	is_int(login(), PAM_SUCCESS, "another owner: the login succeeds");
	is_int(fetches(), n + 1, "another owner: the file is not used, the set is fetched");
	ok(stat(cache, &st) == 0 && st.st_uid == geteuid(), "the file is replaced, ours");

	/* The same refusal with the endpoint down: the file cannot stand in for the server. */
	ok(write_cache(e, 0, 0600) == 0 && chown(cache, 4242, 4242) == 0, "again another owner");
	emu_fault(e, DOWN);
	is_int(login(), PAM_AUTHINFO_UNAVAIL,
	       "another owner, endpoint down: PAM_AUTHINFO_UNAVAIL (the file is not trusted)");
	emu_clear_faults(e);
}

static void test_unknown_kid(void)
{
	struct timespec old[2];
	char fault[1024];
	long n;

	/* A set without the key the server signs with now: as after a key rotation. */
	forget_attempt();
	ok(write_cache(other, 0, 0600) == 0, "a fresh cache holding another server's key");
	n = fetches();
	is_int(login(), PAM_SUCCESS, "a token from a key not in the cache: the login succeeds");
	is_int(fetches(), n + 1, "the unknown kid made one request");
	is_int(login(), PAM_SUCCESS, "and the next login succeeds");
	is_int(fetches(), n + 1, "from the cache, which now has the key");

	snprintf(fault, sizeof(fault),
		 "{\"path\":\"/token\",\"kind\":\"token\",\"count\":-1,\"token\":\"%s\"}",
		 ROTATED_KID_TOKEN);
	emu_fault(e, fault);
	n = fetches();
	is_int(login(), PAM_AUTH_ERR, "a kid no set has, within 30 s of a request: refused");
	is_int(fetches(), n, "and not asked for: the last request was under 30 s ago");
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 31;
	old[1] = old[0];
	ok(utimensat(AT_FDCWD, attempt, old, 0) == 0, "31 seconds later");
	is_int(login(), PAM_AUTH_ERR, "the same kid: refused");
	is_int(fetches(), n + 1, "after one request");
	is_int(login(), PAM_AUTH_ERR, "and again: refused");
	is_int(fetches(), n + 1, "with no other request within 30 s");
	emu_clear_faults(e);
}

static int setup(void)
{
	static const char *const args[] = {"--mode", "current", "--alg", "ES256", NULL};
	char *id;
	FILE *f;

	e = emu_start(args);
	other = emu_start(args);
	if (e == NULL || other == NULL)
		return -1;
	id = emu_create_user(e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}");
	if (id == NULL)
		return -1;
	free(id);
	snprintf(state_dir, sizeof(state_dir), "%s/state", pt_confdir());
	snprintf(cache, sizeof(cache), "%s/jwks.json", state_dir);
	snprintf(attempt, sizeof(attempt), "%s/jwks.attempt", state_dir);
	snprintf(conf, sizeof(conf), "%s/gotrue.conf", pt_confdir());
	f = fopen(conf, "w");
	if (mkdir(state_dir, 0700) != 0 || f == NULL)
		return -1;
	fprintf(f,
		"url = %s\njwks_url = /.well-known/jwks.json\nemail_domains = example.com\n"
		"email_fallback = yes\ninsecure_http_for_testing = yes\nallow_all_users = yes\n"
		"state_dir = %s\ntimeout = 5\n",
		emu_url(e), state_dir);
	if (fclose(f) != 0 || chmod(conf, 0644) != 0)
		return -1;
	return 0;
}

int main(void)
{
	char args[700];

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	if (!ok(setup() == 0, "two ES256 emulators, alice, a config with jwks_url"))
		goto cleanup;
	snprintf(args, sizeof(args), "conf=%s", conf);
	pt_service("jwks", args);

	test_fresh();
	test_stale();
	test_untrusted_file();
	test_unknown_kid();
	ok(strstr(pt_log(), PASSWORD) == NULL, "no password in %zu bytes of log", pt_log_len());
	if (getenv("TEST_VERBOSE"))
		fputs(pt_log(), stdout);
cleanup:
	emu_stop(e);
	emu_stop(other);
	pt_cleanup();
	return done_testing();
}
