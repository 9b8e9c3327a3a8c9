/* load_pam_worker: the long-lived PAM application of test_load_long. It links libpam alone (no
 * libcurl, no OpenSSL of its own, like sshd or a display manager), so that whatever the module
 * loads, opens or allocates is its own doing. It runs N whole transactions for the user alice
 * (start, authenticate, account, setcred, open, close, delete creds, pam_end) against the service
 * file it writes for the config CONF, and prints its open descriptors and resident set after the
 * first WARMUP transactions (libraries loaded, caches and the syslog socket opened) and at the end:
 *   load_pam_worker CONF N WARMUP
 * Output, one "key value" a line: fds_before, rss_before_kb, fds_after, rss_after_kb, failures,
 * first_failure (the step and PAM code), seconds. Exit 0 when it ran to the end. */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>

#include "load.h"
#include "pamtest.h"

static long fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* One transaction; 0, or the failing step's number with its PAM code in *rcp. */
static int transaction(int *rcp)
{
	struct pt_conv c;
	pam_handle_t *pamh;
	int rc, step = 1;

	memset(&c, 0, sizeof(c));
	c.answers[0] = LOAD_PASSWORD;
	pamh = pt_start("load", "alice", &c);
	if (pamh == NULL) {
		*rcp = -1;
		return step;
	}
	rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS && ++step)
		rc = pam_acct_mgmt(pamh, 0);
	if (rc == PAM_SUCCESS && ++step)
		rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (rc == PAM_SUCCESS && ++step)
		rc = pam_open_session(pamh, 0);
	if (rc == PAM_SUCCESS && ++step)
		rc = pam_close_session(pamh, 0);
	if (rc == PAM_SUCCESS && ++step)
		rc = pam_setcred(pamh, PAM_DELETE_CRED);
	pam_end(pamh, rc);
	*rcp = rc;
	return rc == PAM_SUCCESS ? 0 : step;
}

int main(int argc, char **argv)
{
	char args[1024];
	long n, warmup, i, failures = 0;
	int first_step = 0, first_rc = 0, step, rc;
	double t0;

	if (argc != 4) {
		fprintf(stderr, "usage: load_pam_worker CONF N WARMUP\n");
		return 2;
	}
	n = atol(argv[2]);
	warmup = atol(argv[3]);
	snprintf(args, sizeof(args), "conf=%s", argv[1]);
	if (n <= warmup || warmup < 1 || pt_service("load", args) != 0)
		return 2;
	t0 = pt_now();
	for (i = 0; i < n; i++) {
		if (i == warmup) {
			printf("fds_before %ld\nrss_before_kb %ld\n", fd_count(), rss_kb());
			fflush(stdout);
		}
		step = transaction(&rc);
		if (step != 0 && failures++ == 0) {
			first_step = step;
			first_rc = rc;
		}
	}
	printf("fds_after %ld\nrss_after_kb %ld\n", fd_count(), rss_kb());
	printf("failures %ld\nfirst_failure %d %d\nseconds %.2f\n", failures, first_step, first_rc,
	       pt_now() - t0);
	pt_cleanup();
	return 0;
}
