/* mkthrottle: records failed attempts in the failure throttle through its own login-path call
 * (gotrue_throttle_fail), so that test_throttle.sh can check what `gotruectl throttle show`
 * shows of them and what `throttle reset` clears, without a PAM stack.
 *
 *   mkthrottle CONF USER RHOST COUNT
 * RHOST "-" is an attempt without a remote host (the local bucket). Exit 0 when every failure
 * was recorded. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gotrue_config.h"
#include "throttle.h"

int main(int argc, char **argv)
{
	struct gotrue_config *cfg = gotrue_config_new();
	const char *rhost;
	long i, n;
	int rc = 1;

	if (argc != 5 || cfg == NULL) {
		fprintf(stderr, "usage: mkthrottle CONF USER RHOST COUNT\n");
		goto cleanup;
	}
	if (gotrue_config_load_file(NULL, cfg, argv[1], false) != 0)
		goto cleanup;
	rhost = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
	n = strtol(argv[4], NULL, 10);
	for (i = 0, rc = 0; i < n && rc == 0; i++)
		rc = gotrue_throttle_fail(NULL, cfg, argv[2], rhost, time(NULL), NULL) == 0 ? 0 : 1;
cleanup:
	gotrue_config_free(cfg);
	return rc;
}
