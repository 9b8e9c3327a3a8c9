/* test_local_first: local accounts come first, in every phase, whatever the account index, the
 * config or the server say (pam/util.c pg_local_first, lib/directory/owner.c), through the real
 * libpam, the built pam_gotrue.so and glibc's NSS as nss_wrapper serves it:
 * - files: `redis`, a GoTrue user (redis@example.com signed up) in the account index, and since
 *   then a system user that a package created: authenticate, acct_mgmt and chauthtok answer
 *   PAM_USER_UNKNOWN and send nothing (POST /token, PUT /user); ignore_unknown_user turns that
 *   into PAM_IGNORE, so pam_unix decides.
 * - another NSS source: the test build of the NSS module, on a cache of its own, stands in for
 *   LDAP or SSSD (nss_wrapper's module backend): `ldapuser`, in the account index too, the same.
 * - root, through a group-writable gotrue.conf and then a corrupt account index:
 *   PAM_USER_UNKNOWN, not the service or system error a GoTrue user gets (which shows the
 *   breakage is real), and nothing logged for root.
 * - a GoTrue user whom NSS does not know yet still logs in: only other sources are refused.
 * - sync leaves both names out, "name belongs to another account source".
 * The program runs itself again under nss_wrapper (LD_PRELOAD) with passwd and group files of
 * its own; the host's NSS is not touched. */
#define _GNU_SOURCE
#include <config.h>

#include <errno.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "accounts.h"
#include "cache_writer.h"
#include "emu.h"
#include "gotrue_config.h"
#include "http.h"
#include "owner.h"
#include "pamtest.h"
#include "sync.h"
#include "tap.h"

#define PW_REDIS "Redis-Signup-5q"
#define PW_LDAP	 "Ldap-Lookalike-8w"
#define PW_ALICE "Alice-Gotrue-3e"
#define NEW_PW	 "Brand-New-Pass-6r"

#define bail_out(...)                                                                              \
	do {                                                                                       \
		printf("Bail out! ");                                                              \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		exit(99);                                                                          \
	} while (0)

static char dir[64];
static char state_dir[128];
static struct emu *e;
static char *conf;

/* ---- the nss_wrapper world --------------------------------------------------------------- */

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return chmod(path, mode);
}

static const char *find_wrapper(void)
{
	static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
					   "/usr/local/lib", NULL};
	static char path[256];
	size_t i;

	for (i = 0; dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/libnss_wrapper.so", dirs[i]);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

/* The "directory" another NSS source serves: ldapuser, uid 5001. */
static int write_ldap_cache(const char *path)
{
	struct gotrue_cache_builder *b = gotrue_cache_builder_new();
	void *image = NULL;
	size_t len = 0;
	int rc = -1;

	if (b != NULL &&
	    gotrue_cache_builder_add_user(b, "ldapuser", 5001, 5001, "LDAP user", "/home/ldapuser",
					  "/bin/sh", NULL, 0) == 0 &&
	    gotrue_cache_builder_add_group(b, "ldapuser", 5001, NULL, 0) == 0 &&
	    gotrue_cache_builder_finish(b, 1, &image, &len) == 0)
		rc = gotrue_cache_replace(path, image, len);
	gotrue_cache_builder_free(b);
	free(image);
	return rc;
}

/* Set up the files and run this program again under nss_wrapper. Returns only on failure. */
static void reexec(char **argv)
{
	const char *wrapper = find_wrapper(), *top = getenv("top_builddir");
	char path[256], module[512], asan[512];

	if (wrapper == NULL)
		skip_all("libnss_wrapper.so not installed (libnss-wrapper)");
	if (mkdtemp(strcpy(dir, "/tmp/gotrue-lf.XXXXXX")) == NULL)
		bail_out("mkdtemp");
	snprintf(path, sizeof(path), "%s/passwd", dir);
	if (write_file(path,
		       "root:x:0:0:root:/root:/bin/bash\n"
		       "redis:x:120:120:Redis:/var/lib/redis:/usr/sbin/nologin\n",
		       0644) != 0)
		bail_out("passwd");
	setenv("NSS_WRAPPER_PASSWD", path, 1);
	snprintf(path, sizeof(path), "%s/group", dir);
	if (write_file(path, "root:x:0:\nredis:x:120:\n", 0644) != 0)
		bail_out("group");
	setenv("NSS_WRAPPER_GROUP", path, 1);
	snprintf(path, sizeof(path), "%s/ldap.cache", dir);
	if (write_ldap_cache(path) != 0)
		bail_out("ldap cache");
	setenv("NSS_GOTRUE_CACHE", path, 1);
	snprintf(module, sizeof(module), "%s/tests/nss/.libs/libnss_gotrue.so.2", top ? top : ".");
	setenv("NSS_WRAPPER_MODULE_SO_PATH", module, 1);
	setenv("NSS_WRAPPER_MODULE_FN_PREFIX", "gotrue", 1);
	setenv("GOTRUE_LF_DIR", dir, 1);
	/* A sanitizer runtime insists on coming first; nss_wrapper only needs to come before
	 * libc, which it still does. */
	snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0",
		 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "",
		 getenv("ASAN_OPTIONS") ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
	setenv("LD_PRELOAD", wrapper, 1);
	execv("/proc/self/exe", argv);
	bail_out("execv: %s", strerror(errno));
}

/* ---- helpers ----------------------------------------------------------------------------- */

static long tokens(void)
{
	return emu_count(e, "POST /token?grant_type=password");
}

static int acct_mgmt(const char *service, const char *user)
{
	struct pt_conv c = {0};
	pam_handle_t *pamh = pt_start(service, user, &c);
	int rc;

	if (pamh == NULL)
		return -1;
	rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static int chauthtok(const char *service, const char *user, const char *old)
{
	struct pt_conv c = {.answers = {old, NEW_PW, NEW_PW}};
	pam_handle_t *pamh = pt_start(service, user, &c);
	int rc;

	if (pamh == NULL)
		return -1;
	rc = pam_chauthtok(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

/* The account index as a sync wrote it before redis became a system user and ldapuser appeared
 * in the directory: each name maps to its GoTrue account. */
static int write_index(char *const ids[3])
{
	static char names[3][16] = {"redis", "ldapuser", "alice"};
	static char emails[3][32] = {"redis@example.com", "ldapuser@example.com",
				     "alice@example.com"};
	struct gotrue_account a[3];
	char path[256];
	size_t i;

	memset(a, 0, sizeof(a));
	for (i = 0; i < 3; i++) {
		a[i].name = names[i];
		a[i].email = emails[i];
		a[i].uid = a[i].gid = 0x70000100 + (uint32_t)i;
		a[i].user_id = ids[i];
	}
	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	return gotrue_accounts_write(path, a, 3);
}

/* No line about @user in what was logged since @mark. */
static bool quiet_about(size_t mark, const char *user)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "user=%s", user);
	return strstr(pt_log() + mark, needle) == NULL &&
	       strstr(pt_log() + mark, "refusing") == NULL;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- the cases --------------------------------------------------------------------------- */

static void test_other_sources(void)
{
	static const char *const who[] = {"redis", "ldapuser"};
	static const char *const pw[] = {PW_REDIS, PW_LDAP};
	size_t i, mark;
	long before, puts;

	for (i = 0; i < 2; i++) {
		before = tokens();
		puts = emu_count(e, "PUT /user");
		mark = pt_log_len();
		is_int(pt_auth("lf", who[i], pw[i], NULL), PAM_USER_UNKNOWN,
		       "%s: authenticate with the GoTrue password: PAM_USER_UNKNOWN", who[i]);
		is_int(acct_mgmt("lf", who[i]), PAM_USER_UNKNOWN, "%s: acct_mgmt: PAM_USER_UNKNOWN",
		       who[i]);
		is_int(chauthtok("lf", who[i], pw[i]), PAM_USER_UNKNOWN,
		       "%s: chauthtok: PAM_USER_UNKNOWN", who[i]);
		is_int(tokens(), before, "%s: no POST /token sent", who[i]);
		is_int(emu_count(e, "PUT /user"), puts, "%s: no PUT /user sent", who[i]);
		ok(quiet_about(mark, who[i]), "%s: nothing logged (debug level only)", who[i]);
		is_int(pt_auth("lf-ignore", who[i], pw[i], NULL), PAM_SUCCESS,
		       "%s: with ignore_unknown_user the next module decides (PAM_IGNORE)", who[i]);
	}
	is_int(pt_store_count(state_dir), 0, "no session record for either");
	before = tokens();
	is_int(pt_auth("lf", "alice", PW_ALICE, NULL), PAM_SUCCESS,
	       "alice, whom NSS does not know yet: authenticate succeeds");
	is_int(tokens(), before + 1, "alice: her password went to the server");
	is_int(acct_mgmt("lf", "alice"), PAM_SUCCESS, "alice: acct_mgmt succeeds");
}

static void test_broken_config(void)
{
	char path[256];
	size_t mark;

	ok(chmod(conf, 0664) == 0, "gotrue.conf made group-writable");
	mark = pt_log_len();
	is_int(pt_auth("lf", "root", "Root-Local-1", NULL), PAM_USER_UNKNOWN,
	       "broken config: root's authenticate is PAM_USER_UNKNOWN");
	is_int(acct_mgmt("lf", "root"), PAM_USER_UNKNOWN,
	       "broken config: root's acct_mgmt is PAM_USER_UNKNOWN");
	is_int(chauthtok("lf", "root", "Root-Local-1"), PAM_USER_UNKNOWN,
	       "broken config: root's chauthtok is PAM_USER_UNKNOWN");
	is_int(pt_auth("lf", "redis", PW_REDIS, NULL), PAM_USER_UNKNOWN,
	       "broken config: redis's authenticate is PAM_USER_UNKNOWN");
	ok(quiet_about(mark, "root"), "broken config: nothing logged for root (config not read)");
	is_int(pt_auth("lf", "alice", PW_ALICE, NULL), PAM_SERVICE_ERR,
	       "broken config: alice gets PAM_SERVICE_ERR (the config is refused)");
	ok(chmod(conf, 0644) == 0, "gotrue.conf repaired");

	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	/* Lines cut short, as a full disk or a bad restore leaves them, for both names. */
	ok(write_file(path, "{\"name\":\"root\",\"uid\":\n{\"name\":\"alice\",\"u\n", 0600) == 0,
	   "account index corrupted");
	{
		struct gotrue_account a = {0};

		ok(gotrue_accounts_lookup(NULL, path, "alice", &a) < 0 &&
			   gotrue_accounts_lookup(NULL, path, "root", &a) < 0,
		   "the index is unusable");
		gotrue_account_clear(&a);
	}
	mark = pt_log_len();
	is_int(pt_auth("lf", "root", "Root-Local-1", NULL), PAM_USER_UNKNOWN,
	       "corrupt index: root's authenticate is PAM_USER_UNKNOWN");
	is_int(acct_mgmt("lf", "root"), PAM_USER_UNKNOWN,
	       "corrupt index: root's acct_mgmt is PAM_USER_UNKNOWN");
	ok(quiet_about(mark, "root"), "corrupt index: nothing logged for root");
	ok(pt_auth("lf", "alice", PW_ALICE, NULL) != PAM_SUCCESS,
	   "corrupt index: alice is not let in");
}

static void test_sync(void)
{
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_sync_summary sum = {0};
	struct gotrue_error err = {0};
	struct gotrue_account a = {0};
	char path[256];
	size_t i;
	bool redis = false, ldap = false;
	int rc = -1;

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) == 0)
		rc = gotrue_sync_run(NULL, cfg, NULL, &sum, &err);
	ok(rc == 0, "sync (%s)", err.message);
	for (i = 0; i < sum.n_left_out; i++) {
		const struct gotrue_left_out *l = &sum.left_out[i];
		bool other = strcmp(l->reason, "name belongs to another account source") == 0;

		redis = redis || (l->name != NULL && !strcmp(l->name, "redis") && other);
		ldap = ldap || (l->name != NULL && !strcmp(l->name, "ldapuser") && other);
	}
	ok(redis, "sync: redis left out, its name belongs to another account source");
	ok(ldap, "sync: ldapuser left out, the same");
	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	is_int(gotrue_accounts_lookup(NULL, path, "redis", &a), 1, "sync: no redis in the index");
	gotrue_account_clear(&a);
	is_int(gotrue_accounts_lookup(NULL, path, "alice", &a), 0, "sync: alice in the index");
	gotrue_account_clear(&a);
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	gotrue_config_free(cfg);
}

/* Both ways a whole sync asks (lib/directory/owner.c): one enumeration when nsswitch.conf names
 * only sources that enumerate (files, systemd, gotrue), one getpwnam_r per name otherwise (an ldap
 * line). They must agree. */
static void test_owner_modes(void)
{
	static const char *const lines[] = {"passwd: files [NOTFOUND=continue] systemd gotrue\n",
					    "passwd:\tfiles ldap gotrue # a directory\n"};
	static const char *const mode[] = {"one enumeration", "per name"};
	char path[256], cache[256];
	struct gotrue_owners *o;
	size_t i;

	snprintf(path, sizeof(path), "%s/nsswitch.conf", dir);
	snprintf(cache, sizeof(cache), "%s/no.cache", dir);
	for (i = 0; i < 2; i++) {
		o = write_file(path, lines[i], 0644) == 0 ? gotrue_owners_new(cache, path, true)
							  : NULL;
		ok(o != NULL && gotrue_owners_of(o, "redis") == GOTRUE_OWNER_OTHER &&
			   gotrue_owners_of(o, "ldapuser") == GOTRUE_OWNER_OTHER &&
			   gotrue_owners_of(o, "root") == GOTRUE_OWNER_OTHER &&
			   gotrue_owners_of(o, "alice") == GOTRUE_OWNER_NONE,
		   "%s: redis, ldapuser and root are other sources', alice nobody's", mode[i]);
		gotrue_owners_free(o);
	}
}

int main(int argc, char **argv)
{
	static const char *const args[] = {"--mode", "current", NULL};
	char extra[512], svc[1024], *ids[3] = {NULL, NULL, NULL};
	size_t i;

	(void)argc;
#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	if (getenv("GOTRUE_LF_DIR") == NULL)
		reexec(argv);
	snprintf(dir, sizeof(dir), "%s", getenv("GOTRUE_LF_DIR"));
	pt_log_capture();
	if (gotrue_http_global_init() != 0)
		bail_out("libcurl");
	snprintf(state_dir, sizeof(state_dir), "%s/store", dir);
	e = emu_start(args);
	if (e == NULL)
		bail_out("emulator");
	ids[0] = emu_create_user(e, "redis@example.com", PW_REDIS, "{\"email_confirm\":true}");
	ids[1] = emu_create_user(e, "ldapuser@example.com", PW_LDAP, "{\"email_confirm\":true}");
	ids[2] = emu_create_user(e, "alice@example.com", PW_ALICE, "{\"email_confirm\":true}");
	snprintf(extra, sizeof(extra), "email_domains = example.com\nstate_dir = %s\ntimeout = 5",
		 state_dir);
	conf = emu_write_config(e, extra);
	if (ids[0] == NULL || ids[1] == NULL || ids[2] == NULL || conf == NULL ||
	    mkdir(state_dir, 0700) != 0 || write_index(ids) != 0)
		bail_out("setup");
	snprintf(svc, sizeof(svc), "conf=%s", conf);
	pt_service("lf", svc);
	snprintf(svc, sizeof(svc), "conf=%s ignore_unknown_user", conf);
	pt_service_then("lf-ignore", svc, "pam_permit.so");
	ok(getpwnam("redis") != NULL && getpwnam("ldapuser") != NULL && getpwnam("alice") == NULL,
	   "nss_wrapper: redis in files, ldapuser in the other source, alice nowhere");

	test_other_sources();
	test_sync();
	test_owner_modes();
	test_broken_config();

	for (i = 0; i < 3; i++)
		free(ids[i]);
	free(conf);
	emu_stop(e);
	pt_cleanup();
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
