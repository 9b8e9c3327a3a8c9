/* mfatest: what the second-factor tests share (tests/pam/test_pam_mfa, tests/hardening's fault
 * matrix, tests/bench/bench_pam, tests/e2e/e2e_mfa): RFC 6238 codes computed from an enrolment's
 * secret, as the emulator checks them (tests/emulator/README.md), enrolling a verified factor
 * through the library's API, and a sync. Header-only: each program includes it once. */
#ifndef GOTRUE_TEST_MFATEST_H
#define GOTRUE_TEST_MFATEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api.h"
#include "enrol.h"
#include "gotrue_config.h"
#include "sync.h"

/* RFC 4648 base32, padding optional. The number of bytes. */
static size_t mt_unbase32(const char *in, unsigned char *out, size_t cap)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint32_t buf = 0;
	int bits = 0;
	size_t o = 0;
	const char *p;

	for (; *in != '\0' && *in != '=' && o < cap; in++) {
		p = strchr(a, *in);
		if (p == NULL)
			continue;
		buf = (buf << 5) | (uint32_t)(p - a);
		bits += 5;
		if (bits >= 8) {
			out[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	return o;
}

/* RFC 6238: HMAC-SHA1, 30-second steps, 6 digits; the code of the step @offset steps from now. */
static inline void mt_totp(const char *secret, long offset, char out[7])
{
	unsigned char key[64], msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0, off;
	uint64_t counter = (uint64_t)((long long)time(NULL) / 30 + offset);
	size_t klen = mt_unbase32(secret, key, sizeof(key));
	uint32_t bin;
	int i;

	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	HMAC(EVP_sha1(), key, (int)klen, msg, sizeof(msg), mac, &mac_len);
	off = mac[mac_len - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	      ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	snprintf(out, 7, "%06u", bin % 1000000u);
}

/* A factor of a test user. */
struct mt_factor {
	char id[40];
	char secret[64];
};

/* Sign @email in, enrol a TOTP factor named @name with @bearer (NULL: the new aal1 session's
 * token; an aal2 one to add a second factor on a current server) and, when @verify, verify it
 * with its current code. *@aal2 (may be NULL) gets the aal2 token (free it). 0 or -1. */
static inline int mt_enroll(const char *conf, const char *email, const char *password,
			    const char *name, const char *bearer, bool verify, struct mt_factor *f,
			    char **aal2)
{
	struct gotrue_credentials cred = {.email = email, .password = password};
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_client *c = NULL;
	struct gotrue_session s = {0}, s2 = {0};
	struct gotrue_error err = {0};
	json_object *obj = NULL, *totp, *v;
	char *challenge = NULL, code[7];
	int rc = -1;

	memset(f, 0, sizeof(*f));
	if (aal2 != NULL)
		*aal2 = NULL;
	if (cfg == NULL || gotrue_config_load_file(NULL, cfg, conf, false) != 0 ||
	    (c = gotrue_client_new(NULL, cfg)) == NULL ||
	    gotrue_signin_password(c, &cred, &s, &err) != 0 ||
	    gotrue_factor_enroll(c, bearer ? bearer : s.access_token, name, NULL, &obj, &err) != 0)
		goto cleanup;
	json_object_object_get_ex(obj, "id", &v);
	snprintf(f->id, sizeof(f->id), "%s", json_object_get_string(v));
	json_object_object_get_ex(obj, "totp", &totp);
	json_object_object_get_ex(totp, "secret", &v);
	snprintf(f->secret, sizeof(f->secret), "%s", json_object_get_string(v));
	if (!verify) {
		rc = 0;
		goto cleanup;
	}
	mt_totp(f->secret, 0, code);
	if (gotrue_factor_challenge(c, bearer ? bearer : s.access_token, f->id, &challenge, &err) !=
		    0 ||
	    gotrue_factor_verify(c, bearer ? bearer : s.access_token, f->id, challenge, code, &s2,
				 &err) != 0)
		goto cleanup;
	if (aal2 != NULL)
		*aal2 = strdup(s2.access_token);
	rc = 0;
cleanup:
	if (rc != 0)
		fprintf(stderr, "# enrolment of %s failed: %s\n", email, err.message);
	free(challenge);
	json_object_put(obj);
	gotrue_session_clear(&s);
	gotrue_session_clear(&s2);
	gotrue_error_clear(&err);
	gotrue_client_free(c);
	gotrue_config_free(cfg);
	return rc;
}

/* gotrue_sync_run with the service-role key of @conf; @opt may be NULL. 0 or -1 (said). */
static inline int mt_sync(const char *conf, const struct gotrue_sync_options *opt)
{
	struct gotrue_sync_summary sum = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg = gotrue_config_new();
	int rc = -1;

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) == 0)
		rc = gotrue_sync_run(NULL, cfg, opt, &sum, &err);
	if (rc != 0)
		fprintf(stderr, "# sync: %s\n", err.message);
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	gotrue_config_free(cfg);
	return rc;
}

/* mt_sync writing its passwd and group entries to @passwd_path and @group_path. */
static inline int mt_sync_files(const char *conf, const char *passwd_path, const char *group_path)
{
	struct gotrue_sync_options opt = {.passwd_path = passwd_path, .group_path = group_path};

	return mt_sync(conf, &opt);
}

#endif
