/* e2e_sync: fills the NSS cache and the account index for the end-to-end tests, as
 * `gotruectl sync` will: gotrue_sync_run() with the service-role key from the config named on the
 * command line. The paths come from the config's state_dir (the defaults), so the files land
 * where nss_gotrue and pam_gotrue look for them. Exit 0 when both files were replaced. */
#include <config.h>

#include <stdio.h>

#include "gotrue_config.h"
#include "gotrue_error.h"
#include "log.h"
#include "sync.h"

int main(int argc, char **argv)
{
	struct gotrue_config *cfg = NULL;
	struct gotrue_sync_summary sum = {0};
	struct gotrue_error err = {0};
	char buf[256];
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: e2e_sync CONF\n");
		return 2;
	}
	gotrue_log_init("e2e_sync", GOTRUE_LOG_STDERR, false);
	cfg = gotrue_config_new();
	if (cfg == NULL || gotrue_config_load_file(NULL, cfg, argv[1], false) != 0 ||
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0)
		goto cleanup;
	if (gotrue_sync_run(NULL, cfg, NULL, &sum, &err) != 0) {
		fprintf(stderr, "e2e_sync: %s\n", gotrue_error_str(&err, buf, sizeof(buf)));
		goto cleanup;
	}
	printf("synced %zu users, %zu groups, %zu left out\n", sum.users, sum.groups,
	       sum.n_left_out);
	rc = 0;
cleanup:
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	gotrue_config_free(cfg);
	return rc;
}
