/* mkstore: writes one session record into a token store through the store's own API
 * (gotrue_store_open/gotrue_store_write), so that test_gotruectl.sh can check what
 * `gotruectl sessions list` shows of it. The two tokens are made up here, random, and printed on
 * stdout (never taken from argv), for the test to assert that they appear nowhere in the listing.
 *
 *   mkstore STATE_DIR LOGIN SERVICE TTY RHOST STATE PID
 *   prints: RECORD_ID ACCESS_TOKEN REFRESH_TOKEN
 * STATE is pending, active, closing or revoked. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static const char *const states[] = {"pending", "active", "closing", "revoked"};

int main(int argc, char **argv)
{
	struct gotrue_store_record rec;
	struct gotrue_store *st = NULL;
	char id[GOTRUE_STORE_ID_LEN + 1], r1[GOTRUE_STORE_ID_LEN + 1], r2[GOTRUE_STORE_ID_LEN + 1];
	char access[128], refresh[64], user_id[64];
	size_t i;
	bool known = false;
	int rc = 1;

	memset(&rec, 0, sizeof(rec));
	if (argc != 8) {
		fprintf(stderr, "usage: mkstore STATE_DIR LOGIN SERVICE TTY RHOST STATE PID\n");
		goto cleanup;
	}
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(argv[6], states[i]) == 0) {
			rec.state = (enum gotrue_store_state)i;
			known = true;
		}
	if (!known || gotrue_store_new_id(id) != 0 || gotrue_store_new_id(r1) != 0 ||
	    gotrue_store_new_id(r2) != 0)
		goto cleanup;
	/* Shaped like a JWT and a refresh token, distinct and random for every record. */
	snprintf(access, sizeof(access), "eyJhbGciOiJIUzI1NiJ9.eyJ%s.%s", r1, r2);
	snprintf(refresh, sizeof(refresh), "rt%.20s", r2 + 4);
	snprintf(user_id, sizeof(user_id), "%.8s-0000-4000-8000-%.12s", r1, r1 + 8);
	memcpy(rec.id, id, sizeof(rec.id));
	rec.login = argv[2];
	rec.user_id = user_id;
	rec.service = argv[3];
	rec.tty = argv[4];
	rec.rhost = argv[5];
	rec.pid = (pid_t)atoi(argv[7]);
	rec.access_token = access;
	rec.refresh_token = refresh;
	rec.expires_at = time(NULL) + 3600;
	st = gotrue_store_open(NULL, argv[1]);
	if (!st || gotrue_store_write(st, &rec) != 0) {
		fprintf(stderr, "mkstore: cannot write the record\n");
		goto cleanup;
	}
	printf("%s %s %s\n", id, access, refresh);
	rc = 0;
cleanup:
	gotrue_store_close(st);
	return rc;
}
