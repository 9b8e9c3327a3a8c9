/* bench_offline: what an offline login (pam/offline.c) costs against a local password login.
 * One process runs N offline pam_authenticate transactions of pam_gotrue (GoTrue unreachable: a
 * refused loopback port; the user's verifier kept by one online login before) and N
 * pam_authenticate transactions of pam_unix checking a yescrypt hash of the same cost, through
 * the real libpam, interleaved so that both see the same load, and prints the ratio of the
 * medians: offline_auth_vs_pam_unix. pam_unix reads its user from an /etc/passwd and /etc/shadow
 * bind-mounted in a private mount namespace (root only), so the host's files are never touched.
 * Both pay their whole transaction: pam_gotrue its config, the account index, the throttle, the
 * refused connection and the fsync'ed pending record; pam_unix its passwd and shadow lookups.
 * Linux-PAM 1.5's pam_unix works yescrypt out twice for one login (its 16 MiB scratch is mapped
 * twice), so a third figure, one bare crypt_rn(3) of the same hash, shows what pam_gotrue adds
 * to the one yescrypt it needs: offline_auth_vs_one_yescrypt.
 * Not run by make check; `make bench-offline` runs it. */
#include <config.h>

#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "emu.h"
#include "mfatest.h"
#include "offline.h"
#include "pamtest.h"
#include "store.h"

#include "bench.h"

#define PASSWORD  "Correct-Horse-9"
#define UNIX_USER "gotrue-bench-unix"

static char dir[512], state[600], down_url[64], unix_hash[CRYPT_OUTPUT_SIZE];

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 && chmod(path, mode) == 0 ? 0 : -1;
}

/* @path's contents followed by @extra, into @out. */
static int extend(const char *path, const char *extra, const char *out, mode_t mode)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cat '%s' > '%s'", path, out);
	if (system(cmd) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '%s' >> '%s'", extra, out);
	return system(cmd) == 0 && chmod(out, mode) == 0 ? 0 : -1;
}

/* pam_unix's user, with a yescrypt hash at GOTRUE_OFFLINE_COST, in a private mount namespace. */
static int unix_user(void)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], line[512], path[700], shadow[700];
	const char *hash;

	if (crypt_gensalt_rn("$y$", GOTRUE_OFFLINE_COST, NULL, 0, setting, sizeof(setting)) ==
		    NULL ||
	    (hash = crypt(PASSWORD, setting)) == NULL || hash[0] == '*')
		return -1;
	snprintf(unix_hash, sizeof(unix_hash), "%s", hash);
	snprintf(path, sizeof(path), "%s/passwd", dir);
	snprintf(line, sizeof(line), UNIX_USER ":x:4243:4243::/nonexistent:/bin/sh");
	if (extend("/etc/passwd", line, path, 0644) != 0)
		return -1;
	snprintf(shadow, sizeof(shadow), "%s/shadow", dir);
	snprintf(line, sizeof(line), UNIX_USER ":%s:19000:0:99999:7:::", hash);
	if (extend("/etc/shadow", line, shadow, 0640) != 0)
		return -1;
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount(path, "/etc/passwd", NULL, MS_BIND, NULL) != 0 ||
	    mount(shadow, "/etc/shadow", NULL, MS_BIND, NULL) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/unix", pt_confdir());
	return write_file(path, "auth required pam_unix.so\n", 0644);
}

/* One yescrypt of the password against pam_unix's hash, timed. */
static int one_yescrypt(struct crypt_data *cd, double *took)
{
	double t0 = pt_now();
	const char *h;

	memset(cd, 0, sizeof(*cd));
	h = crypt_rn(PASSWORD, unix_hash, cd, (int)sizeof(*cd));
	*took = pt_now() - t0;
	return h != NULL && strcmp(h, unix_hash) == 0 ? 0 : -1;
}

/* A bound loopback port that does not listen: every connection is refused at once. */
static int refused_port(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	snprintf(down_url, sizeof(down_url), "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	return 0;
}

/* One timed pam_authenticate; the pending record an offline login leaves is removed after. */
static int signin(const char *service, const char *user, double *took)
{
	struct pt_conv conv;
	struct gotrue_store *st;
	pam_handle_t *pamh;
	char id[GOTRUE_STORE_ID_LEN + 1] = "";
	double t0 = pt_now();
	int rc;

	memset(&conv, 0, sizeof(conv));
	conv.answers[0] = PASSWORD;
	pamh = pt_start(service, user, &conv);
	rc = pamh != NULL ? pam_authenticate(pamh, 0) : -1;
	if (rc == PAM_SUCCESS && pam_getenv(pamh, "GOTRUE_SESSION_HANDLE") != NULL)
		snprintf(id, sizeof(id), "%s", pam_getenv(pamh, "GOTRUE_SESSION_HANDLE"));
	pam_end(pamh, rc);
	*took = pt_now() - t0;
	if (id[0] != '\0' && (st = gotrue_store_open(NULL, state)) != NULL) {
		gotrue_store_remove(st, id);
		gotrue_store_close(st);
	}
	return rc == PAM_SUCCESS ? 0 : -1;
}

/* The emulator, alice synced, her verifier kept by an online login; the services. */
static int gotrue_side(struct emu *e, char **conf)
{
	struct gotrue_sync_options opt = {0};
	char extra[1024], passwd[700], group[700];
	double took;

	snprintf(passwd, sizeof(passwd), "%s/sync-passwd", dir);
	snprintf(group, sizeof(group), "%s/sync-group", dir);
	opt.passwd_path = passwd;
	opt.group_path = group;
	snprintf(extra, sizeof(extra), "email_domains = example.com\nstate_dir = %s\n", state);
	*conf = emu_write_config(e, extra);
	if (*conf == NULL || write_file(passwd, "root:x:0:0:root:/root:/bin/sh\n", 0644) != 0 ||
	    write_file(group, "root:x:0:\n", 0644) != 0 ||
	    emu_create_user(e, "alice@example.com", PASSWORD, "{\"email_confirm\":true}") == NULL ||
	    mt_sync(*conf, &opt) != 0)
		return -1;
	snprintf(extra, sizeof(extra), "conf=%s offline_login=yes", *conf);
	if (pt_service("online", extra) != 0 || signin("online", "alice", &took) != 0)
		return -1;
	snprintf(extra, sizeof(extra), "conf=%s offline_login=yes url=%s", *conf, down_url);
	return pt_service("offline", extra);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, i, failed = 0, fd = -1;
	double *to = NULL, *tu = NULL, *tc = NULL, took, mo, mu, mc;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	struct emu *e = NULL;
	char *conf = NULL, cmd[700];

	if (n < 1)
		n = 200;
	if (geteuid() != 0) {
		printf("bench_offline: skipped: needs root (a private mount namespace for "
		       "pam_unix)\n");
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/offline-bench", pt_confdir());
	snprintf(state, sizeof(state), "%s/store", dir);
	to = calloc((size_t)n, sizeof(*to));
	tu = calloc((size_t)n, sizeof(*tu));
	tc = calloc((size_t)n, sizeof(*tc));
	if (to == NULL || tu == NULL || tc == NULL || cd == NULL || mkdir(dir, 0700) != 0 ||
	    mkdir(state, 0755) != 0 || refused_port(&fd) != 0 || (e = emu_start(NULL)) == NULL ||
	    gotrue_side(e, &conf) != 0 || unix_user() != 0) {
		fprintf(stderr, "bench_offline: setup failed\n");
		return 1;
	}
	/* Warm up both paths (page cache, libpam's module loads). */
	for (i = 0; i < 5; i++)
		failed += (signin("offline", "alice", &took) != 0) +
			  (signin("unix", UNIX_USER, &took) != 0);
	for (i = 0; i < n; i++) {
		failed += signin("offline", "alice", &to[i]) != 0;
		failed += signin("unix", UNIX_USER, &tu[i]) != 0;
		failed += one_yescrypt(cd, &tc[i]) != 0;
	}
	mo = bench_median(to, (size_t)n);
	mu = bench_median(tu, (size_t)n);
	mc = bench_median(tc, (size_t)n);
	printf("pam_gotrue offline pam_authenticate median: %.3f ms (n=%d)\n", mo * 1e3, n);
	printf("pam_unix yescrypt (cost %d) pam_authenticate median: %.3f ms (n=%d)\n",
	       GOTRUE_OFFLINE_COST, mu * 1e3, n);
	printf("one yescrypt (cost %d, crypt_rn) median: %.3f ms (n=%d)\n", GOTRUE_OFFLINE_COST,
	       mc * 1e3, n);
	printf("failures: %d\n", failed);
	printf("offline_auth_vs_pam_unix: %.3f\n", mo / mu);
	printf("offline_auth_vs_one_yescrypt: %.3f\n", mo / mc);
	emu_stop(e);
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	pt_cleanup();
	free(conf);
	free(to);
	free(tu);
	free(tc);
	free(cd);
	return failed ? 1 : 0;
}
