/* keys: `gotruectl fleet keygen | rotate` (fleet.h). The private files are created 0600 with
 * link(2) (gotrue_create_file): an existing key is never overwritten, and no reader sees one
 * half written. A rotation writes the new files beside the current ones (".next") so that the
 * hosts can pin the new public key and hold the new fleet key before the publisher uses them. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet.h"
#include "fleet_io.h"
#include "log.h"
#include "secure.h"

enum { F_SIGNING, F_PUBLIC, F_FLEET, F_COUNT };
static const char *const key_files[F_COUNT] = {GOTRUE_FLEET_SIGNING_KEY, GOTRUE_FLEET_PUBLIC_KEY,
					       GOTRUE_FLEET_KEY};

static char *key_path(const char *dir, int which, const char *suffix)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s%s", dir, key_files[which], suffix) < 0)
		p = NULL;
	return p;
}

/* The fleet key file's text: the new key, and in a rotation the current key after it, so that a
 * host given this file opens bundles sealed under either. */
static char *fleet_key_text(pam_handle_t *pamh, const char *dir, const char *suffix)
{
	struct gotrue_fleet_keys cur = {0};
	char *cur_path = NULL, *text = NULL, fresh[GOTRUE_FLEET_KEY_LEN * 2 + 2];
	char old[GOTRUE_FLEET_KEY_LEN * 2 + 2];
	size_t i;

	if (gotrue_fleet_keygen_fleet_key(fresh) != 0)
		goto cleanup;
	old[0] = '\0';
	if (suffix[0] != '\0') {
		cur_path = key_path(dir, F_FLEET, "");
		if (cur_path == NULL || gotrue_fleet_read_keys(pamh, cur_path, &cur) != 0)
			goto cleanup;
		for (i = 0; i < GOTRUE_FLEET_KEY_LEN; i++)
			snprintf(old + 2 * i, 3, "%02x", cur.key[0][i]);
		snprintf(old + 2 * GOTRUE_FLEET_KEY_LEN, 2, "\n");
	}
	if (asprintf(&text, "%s%s", fresh, old) < 0)
		text = NULL;
cleanup:
	explicit_bzero(fresh, sizeof(fresh));
	explicit_bzero(old, sizeof(old));
	gotrue_fleet_keys_clear(&cur);
	free(cur_path);
	return text;
}

static void remove_made(char *const paths[F_COUNT], const bool made[F_COUNT])
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (made[i])
			unlink(paths[i]);
}

int gotrue_fleet_keygen(pam_handle_t *pamh, const char *dir, const char *suffix, char pub_b64[64])
{
	char *paths[F_COUNT] = {NULL}, *pem = NULL, *fleet = NULL, *pub_line = NULL;
	const char *data[F_COUNT];
	bool made[F_COUNT] = {false};
	int i, r = 0, rc = -ENOMEM;

	int fd = gotrue_open_dir(pamh, dir, 0755, true);

	if (fd < 0) {
		rc = fd;
		goto cleanup;
	}
	close(fd);
	for (i = 0; i < F_COUNT; i++)
		if ((paths[i] = key_path(dir, i, suffix)) == NULL)
			goto cleanup;
	if (gotrue_fleet_keygen_signing(&pem, pub_b64) != 0 ||
	    (fleet = fleet_key_text(pamh, dir, suffix)) == NULL ||
	    asprintf(&pub_line, "%s\n", pub_b64) < 0) {
		pub_line = NULL;
		rc = -EIO;
		gotrue_log(pamh, LOG_ERR, "cannot make the fleet's keys; dir=%s", dir);
		goto cleanup;
	}
	data[F_SIGNING] = pem;
	data[F_PUBLIC] = pub_line;
	data[F_FLEET] = fleet;
	for (i = 0; i < F_COUNT && r == 0; i++) {
		r = gotrue_create_file(paths[i], data[i], strlen(data[i]),
				       i == F_PUBLIC ? 0644 : 0600);
		made[i] = r == 0;
	}
	rc = r;
	if (rc != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot write a fleet key file: %s; path=%s",
			   strerror(-rc), paths[i - 1]);
		remove_made(paths, made);
	}
cleanup:
	gotrue_wipe_free_str(pem);
	gotrue_wipe_free_str(fleet);
	free(pub_line);
	for (i = 0; i < F_COUNT; i++)
		free(paths[i]);
	return rc;
}

int gotrue_fleet_rotate_finish(pam_handle_t *pamh, const char *dir)
{
	char *from = NULL, *to = NULL;
	int i, rc = 0;

	/* All three must be there before any is moved. */
	for (i = 0; i < F_COUNT && rc == 0; i++) {
		from = key_path(dir, i, GOTRUE_FLEET_NEXT);
		if (from == NULL || access(from, F_OK) != 0)
			rc = from == NULL ? -ENOMEM : -errno;
		if (rc != 0)
			gotrue_log(pamh, LOG_ERR, "no rotation to finish: %s; path=%s",
				   strerror(-rc), from != NULL ? from : dir);
		free(from);
	}
	for (i = 0; i < F_COUNT && rc == 0; i++) {
		from = key_path(dir, i, GOTRUE_FLEET_NEXT);
		to = key_path(dir, i, "");
		if (from == NULL || to == NULL || rename(from, to) != 0)
			rc = from == NULL || to == NULL ? -ENOMEM : -errno;
		if (rc != 0)
			gotrue_log(pamh, LOG_ERR, "cannot put the new key in place: %s; path=%s",
				   strerror(-rc), to != NULL ? to : dir);
		free(from);
		free(to);
	}
	if (rc == 0)
		rc = gotrue_sync_dir(dir);
	return rc;
}
