/* e2e_mfa: the second factor for the end-to-end tests, where a shell script drives the login:
 *   e2e_mfa enroll CONF EMAIL NAME   enrol and verify a TOTP factor (the password on stdin);
 *                                    prints the factor id and its secret
 *   e2e_mfa code SECRET [OFFSET]     the RFC 6238 code of now (+ OFFSET steps)
 *   e2e_mfa aal STATE_DIR            "LOGIN AAL" for each session record in the token store
 * Exit 0 on success. */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_jwt.h"
#include "log.h"
#include "mfatest.h"
#include "store.h"

static int enroll(const char *conf, const char *email, const char *name)
{
	struct mt_factor f;
	char pw[256];

	if (fgets(pw, sizeof(pw), stdin) == NULL)
		return 2;
	pw[strcspn(pw, "\n")] = '\0';
	if (mt_enroll(conf, email, pw, name, NULL, true, &f, NULL) != 0)
		return 1;
	explicit_bzero(pw, sizeof(pw));
	printf("%s %s\n", f.id, f.secret);
	return 0;
}

static int aal(const char *state_dir)
{
	struct gotrue_store *st = gotrue_store_open(NULL, state_dir);
	struct gotrue_store_record rec;
	json_object *hdr, *cl, *v;
	char path[600];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sessions", state_dir);
	d = st != NULL ? opendir(path) : NULL;
	while (d != NULL && (de = readdir(d)) != NULL) {
		memset(&rec, 0, sizeof(rec));
		hdr = cl = NULL;
		if (gotrue_store_id_valid(de->d_name) &&
		    gotrue_store_read(st, de->d_name, &rec) == 0 &&
		    gotrue_jwt_peek_unverified(rec.access_token, &hdr, &cl) == 0)
			printf("%s %s\n", rec.login,
			       json_object_object_get_ex(cl, "aal", &v) ? json_object_get_string(v)
									: "none");
		json_object_put(hdr);
		json_object_put(cl);
		gotrue_store_record_clear(&rec);
	}
	if (d != NULL)
		closedir(d);
	gotrue_store_close(st);
	return st != NULL ? 0 : 1;
}

int main(int argc, char **argv)
{
	char code[7];

	gotrue_log_init("e2e_mfa", GOTRUE_LOG_STDERR, false);
	if (argc == 5 && strcmp(argv[1], "enroll") == 0)
		return enroll(argv[2], argv[3], argv[4]);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "code") == 0) {
		mt_totp(argv[2], argc == 4 ? atol(argv[3]) : 0, code);
		printf("%s\n", code);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "aal") == 0)
		return aal(argv[2]);
	fprintf(stderr, "usage: e2e_mfa enroll CONF EMAIL NAME | code SECRET [OFFSET] | aal DIR\n");
	return 2;
}
