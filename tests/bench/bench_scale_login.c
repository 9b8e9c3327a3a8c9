/* bench_scale_login: what one login costs the login process as the number of users grows.
 * Synced files for 10 users and for N (default 1M) are written directly (bench_scale_data);
 * the emulator knows only the user who logs in. Each sample is a fresh process (fork+exec of
 * this program with --sample), as sshd's are, measuring its own CPU time (getrusage) from
 * before pam_start to after pam_end, and its peak RSS. Samples of the different kinds
 * alternate, so that all see the same machine load; the ratios are of medians:
 *   login_cpu_1m_vs_10          auth, account, setcred, open and close session, N vs 10 users
 *   acct_cpu_1m_vs_pam_unix     pam_acct_mgmt alone (public-key SSH), N users vs pam_unix's
 *   first_login_1m_vs_login_1m  a user not in the index yet (email_fallback), its overlay
 *                               written, vs a synced user's login, both at N users
 *   login_rss_mb_1m             peak RSS of the login process at N users, MB
 *   bench_scale_login N SAMPLES   (make bench-scale-login: N = 1000000, SAMPLES = 7)
 * Run without arguments (make check), it is a correctness test at a small size: every kind of
 * login succeeds, and the first login leaves its overlay. No timing is asserted then. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <security/pam_appl.h>

#include "account_overlay.h"
#include "emu.h"
#include "pamtest.h"
#include "tap.h"

#include "bench.h"

#define PASSWORD "Correct-Horse-9"

enum kind { LOGIN_10, LOGIN_N, ACCT_N, ACCT_UNIX, FIRST_N, N_KINDS };
static const char *const kind_names[N_KINDS] = {"login at 10", "login at N", "account at N",
						"pam_unix account", "first login at N"};

static int answer(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup(data);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static double cpu_of(const struct rusage *r)
{
	return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 +
	       (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6;
}

/* --sample MODE CONFDIR SERVICE USER: one transaction in this fresh process; prints "cpu
 * maxrss_kb". MODE login: the whole login; acct: pam_acct_mgmt alone. */
static int sample(char **argv)
{
	struct pam_conv conv = {answer, (void *)PASSWORD};
	struct rusage r0, r1;
	pam_handle_t *pamh = NULL;
	int rc;

	getrusage(RUSAGE_SELF, &r0);
	rc = pam_start_confdir(argv[4], argv[5], &conv, argv[3], &pamh);
	if (rc == PAM_SUCCESS && strcmp(argv[2], "login") == 0) {
		rc = pam_authenticate(pamh, 0);
		if (rc == PAM_SUCCESS)
			rc = pam_acct_mgmt(pamh, 0);
		if (rc == PAM_SUCCESS)
			rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
		if (rc == PAM_SUCCESS)
			rc = pam_open_session(pamh, 0);
		if (rc == PAM_SUCCESS)
			rc = pam_close_session(pamh, 0);
	} else if (rc == PAM_SUCCESS) {
		rc = pam_acct_mgmt(pamh, 0);
	}
	if (pamh != NULL)
		pam_end(pamh, rc);
	getrusage(RUSAGE_SELF, &r1);
	if (rc != PAM_SUCCESS)
		fprintf(stderr, "%s %s: %s\n", argv[2], argv[4], pam_strerror(pamh, rc));
	printf("%.6f %ld\n", cpu_of(&r1) - cpu_of(&r0), r1.ru_maxrss);
	return rc == PAM_SUCCESS ? 0 : 1;
}

/* As on a host with the packages installed: nsswitch.conf says "files gotrue systemd", so a
 * GoTrue user's lookup (the module's local-accounts check) is answered by nss_gotrue from @dir's
 * cache, not passed on to nss_systemd. Only as root, in a private mount namespace (the host's
 * /etc and /var/lib are never touched); otherwise the host's NSS answers, and the module's
 * local-accounts check finds no entry of its own. */
static void private_nss(const char *dir)
{
	const char *b = getenv("top_builddir");
	char conf[700], libs[1100], cache[700];
	FILE *f;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return;
	snprintf(conf, sizeof(conf), "%s/nsswitch.conf", pt_confdir());
	f = fopen(conf, "w");
	if (f == NULL)
		return;
	fprintf(f, "passwd: files gotrue systemd\ngroup: files gotrue systemd\nshadow: files\n");
	/* The module knows its own entries by the cache at the compiled path (owner.h): @dir is
	 * put there, on a tmpfs over /var/lib since the directory may not exist on this host. */
	if (fclose(f) != 0 || mount(conf, "/etc/nsswitch.conf", NULL, MS_BIND, NULL) != 0 ||
	    mount("tmpfs", "/var/lib", "tmpfs", 0, "mode=0755") != 0 ||
	    mkdir(GOTRUE_STATEDIR, 0755) != 0 ||
	    mount(dir, GOTRUE_STATEDIR, NULL, MS_BIND, NULL) != 0)
		return;
	snprintf(libs, sizeof(libs), "%s/tests/nss/.libs", b ? b : ".");
	snprintf(cache, sizeof(cache), "%s/nss.cache", dir);
	setenv("LD_LIBRARY_PATH", libs, 1);
	setenv("NSS_GOTRUE_CACHE", cache, 1);
}

/* One sample in a fresh process: 0 with its CPU seconds and peak RSS (KB), or -1. */
static int run_sample(const char *self, const char *mode, const char *service, const char *user,
		      const char *dir, double *cpu, long *rss)
{
	char out[128] = "";
	int fd[2], status = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		private_nss(dir);
		execl(self, self, "--sample", mode, pt_confdir(), service, user, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	n = pid > 0 ? read(fd[0], out, sizeof(out) - 1) : -1;
	close(fd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || n <= 0)
		return -1;
	out[n] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || sscanf(out, "%lf %ld", cpu, rss) != 2)
		return -1;
	return 0;
}

/* DIR's synced files for @n users (plus the login user when @id is set), and a service NAME
 * whose config points at DIR. */
static int setup(struct emu *e, const char *data, const char *dir, long n, const char *id,
		 const char *service, const char *acct_service)
{
	char cmd[8192], extra[4300], args[4500], path[4400], *conf;
	bool have_conf;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && '%s' '%s' %ld %s%s%s", dir, data, dir, n,
		 id ? "alice " : "", id ? id : "", id ? " alice@example.com" : "");
	if (system(cmd) != 0) {
		diag("setup: %s failed", cmd);
		return -1;
	}
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nemail_fallback = yes\nstate_dir = %s\n", dir);
	/* The emulator writes one config file for all: each service keeps its own copy. */
	conf = emu_write_config(e, extra);
	snprintf(path, sizeof(path), "%s/gotrue.conf", dir);
	have_conf = conf != NULL && rename(conf, path) == 0;
	snprintf(args, sizeof(args), "conf=%s", path);
	free(conf);
	if (!have_conf || pt_service(service, args) != 0) {
		diag("setup: cannot write the config or service %s", service);
		return -1;
	}
	if (acct_service == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", pt_confdir(), acct_service);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "account required %s %s\n", pt_module(), args);
	return fclose(f) == 0 ? 0 : -1;
}

static int unix_service(void)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/unix", pt_confdir());
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "account required pam_unix.so\n");
	return fclose(f) == 0 ? 0 : -1;
}

struct run {
	const char *self, *dir[N_KINDS];
	int samples;
	double cpu[N_KINDS][64];
	long rss[N_KINDS][64];
	int failed[N_KINDS];
};

/* One sample of @k (the first login's overlay removed before it, so that each is a first). */
static void one(struct run *r, enum kind k, int i)
{
	static const char *const mode[N_KINDS] = {"login", "login", "acct", "acct", "login"};
	static const char *const svc[N_KINDS] = {"s10", "sn", "sn-acct", "unix", "first"};
	char acct[4400], cache[4400];

	if (k == FIRST_N) {
		snprintf(acct, sizeof(acct), "%s/accounts", r->dir[k]);
		snprintf(cache, sizeof(cache), "%s/nss.cache", r->dir[k]);
		gotrue_account_overlay_clear(NULL, acct, cache);
	}
	if (run_sample(r->self, mode[k], svc[k], k == ACCT_UNIX ? "root" : "alice", r->dir[k],
		       &r->cpu[k][i], &r->rss[k][i]) != 0)
		r->failed[k]++;
}

static double median_rss_mb(struct run *r, enum kind k)
{
	double rss[64];
	int i;

	for (i = 0; i < r->samples; i++)
		rss[i] = (double)r->rss[k][i];
	return bench_median(rss, (size_t)r->samples) / 1024.0;
}

static void report(struct run *r, long n)
{
	double med[N_KINDS];
	int k;

	for (k = 0; k < N_KINDS; k++) {
		med[k] = bench_median(r->cpu[k], (size_t)r->samples);
		printf("%s: %.3f ms CPU (median of %d, %d failed)\n", kind_names[k], med[k] * 1e3,
		       r->samples, r->failed[k]);
	}
	printf("users: %ld\n", n);
	printf("login_cpu_1m_vs_10: %.3f\n", med[LOGIN_N] / med[LOGIN_10]);
	printf("acct_cpu_1m_vs_pam_unix: %.3f\n", med[ACCT_N] / med[ACCT_UNIX]);
	printf("first_login_1m_vs_login_1m: %.3f\n", med[FIRST_N] / med[LOGIN_N]);
	printf("login_rss_mb_1m: %.1f\n", median_rss_mb(r, LOGIN_N));
	/* Where the peak comes from: the same at 10 users, and the account step alone. */
	printf("login_rss_mb_10: %.1f\n", median_rss_mb(r, LOGIN_10));
	printf("acct_rss_mb_1m: %.1f\n", median_rss_mb(r, ACCT_N));
	printf("pam_unix_acct_rss_mb: %.1f\n", median_rss_mb(r, ACCT_UNIX));
}

int main(int argc, char **argv)
{
	static const char *const args[] = {"--mode", "current", NULL};
	static struct run r;
	bool check = argc < 2;
	long n = check ? 100 : atol(argv[1]);
	char data[1024], d10[600], dn[600], dfirst[600], self[1024];
	const char *b = getenv("top_builddir");
	struct emu *e;
	char *id;
	int i, k;

	if (argc > 1 && strcmp(argv[1], "--sample") == 0 && argc == 6)
		return sample(argv);
	r.samples = check ? 1 : argc > 2 ? atoi(argv[2]) : 7;
	if (r.samples < 1 || r.samples > 64 || n < 1)
		return 2;
	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all(
			"GOTRUE_EMULATOR not set (run under make check or make bench-scale-login)");
#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	snprintf(self, sizeof(self), "%s/tests/bench/bench_scale_login", b ? b : ".");
	snprintf(data, sizeof(data), "%s/tests/bench/bench_scale_data", b ? b : ".");
	snprintf(d10, sizeof(d10), "%s/state-10", pt_confdir());
	snprintf(dn, sizeof(dn), "%s/state-n", pt_confdir());
	snprintf(dfirst, sizeof(dfirst), "%s/state-first", pt_confdir());
	e = emu_start(args);
	id = e ? emu_create_user(e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}")
	       : NULL;
	if (id == NULL || setup(e, data, d10, 10, id, "s10", NULL) != 0 ||
	    setup(e, data, dn, n, id, "sn", "sn-acct") != 0 ||
	    setup(e, data, dfirst, n, NULL, "first", NULL) != 0 || unix_service() != 0) {
		printf("Bail out! setup failed\n");
		emu_stop(e);
		return 1;
	}
	r.self = self;
	r.dir[LOGIN_10] = d10;
	r.dir[LOGIN_N] = r.dir[ACCT_N] = r.dir[ACCT_UNIX] = dn;
	r.dir[FIRST_N] = dfirst;
	for (i = 0; i < r.samples; i++) {
		for (k = 0; k < N_KINDS; k++)
			one(&r, (enum kind)k, i);
	}
	if (check) {
		char ov[700];

		for (k = 0; k < N_KINDS; k++)
			is_int(r.failed[k], 0, "%s (%ld users): succeeds in a fresh process",
			       kind_names[k], n);
		snprintf(ov, sizeof(ov), "%s/overlay/alice", dfirst);
		ok(access(ov, F_OK) == 0, "the first login left alice's overlay, not a new index");
		printf("1..%d\n", tap_n);
	} else {
		report(&r, n);
	}
	free(id);
	emu_stop(e);
	pt_cleanup();
	return check ? tap_failed != 0 : 0;
}
