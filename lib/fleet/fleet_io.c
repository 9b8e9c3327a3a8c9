/* fleet_io: the bundle's files on disk (fleet_io.h). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_io.h"
#include "log.h"
#include "secure.h"

char *gotrue_fleet_path(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		p = NULL;
	return p;
}

int gotrue_fleet_read_manifest(pam_handle_t *pamh, const char *path,
			       struct gotrue_fleet_manifest *m, char **doc, size_t *len)
{
	char *buf = NULL;
	const char *sig;
	size_t n = 0, signed_len, sig_len;
	int r, rc = -1;

	r = gotrue_read_file(pamh, path, GOTRUE_FILE_CONFIG, GOTRUE_FLEET_MANIFEST_MAX, &buf, &n);
	if (r == -ENOENT) {
		rc = 1;
		goto cleanup;
	}
	if (r != 0)
		goto cleanup;
	if (gotrue_fleet_manifest_split(buf, n, &signed_len, &sig, &sig_len) != 0 ||
	    gotrue_fleet_manifest_parse(buf, signed_len, m) != 0) {
		gotrue_log(pamh, LOG_ERR, "not a fleet manifest; path=%s", path);
		goto cleanup;
	}
	if (doc != NULL) {
		*doc = buf;
		*len = n;
		buf = NULL;
	}
	rc = 0;
cleanup:
	free(buf);
	return rc;
}

int gotrue_fleet_read_keys(pam_handle_t *pamh, const char *path, struct gotrue_fleet_keys *k)
{
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (path == NULL) {
		gotrue_log(pamh, LOG_ERR, "no fleet_key_file configured");
		goto cleanup;
	}
	if (gotrue_read_file(pamh, path, GOTRUE_FILE_SECRET, 1024, &text, &len) != 0)
		goto cleanup;
	if (gotrue_fleet_keys_parse(text, k) != 0) {
		gotrue_log(pamh, LOG_ERR,
			   "the fleet key file holds no fleet key (one or two lines of 64 hex "
			   "digits); path=%s",
			   path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (text != NULL)
		gotrue_wipe_free(text, len + 1);
	return rc;
}
