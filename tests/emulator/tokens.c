/* tokens.c: the emulator's signing keys and JWTs. Signing goes through libjwt; the keys are made
 * with OpenSSL EVP at startup and their public halves written to the state dir (jwt_public.pem,
 * jwks.json, RFC 7517/7518). Verification parses the token itself so that its error messages can
 * be GoTrue's (golang-jwt wording, transcript steps 41-49, 75, 120). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "emulator.h"

static char secret[48];		 /* HS256 secret (text, as GOTRUE_JWT_SECRET is) */
static char *priv_pem, *pub_pem; /* asymmetric key, when --alg RS256/ES256 */
static char kid[EMU_ID_LEN];	 /* a UUID, as GoTrue's JWKs carry */
static json_object *jwk;	 /* public JWK */
static jwt_alg_t sign_alg = JWT_ALG_HS256;

void emu_b64url(const unsigned char *in, size_t len, char *out, size_t out_len)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 < out_len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = tbl[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = tbl[v & 63];
	}
	out[o] = '\0';
}

/* Go's base64.RawURLEncoding.DecodeString, including where it reports the first bad byte.
 * Hand-written because OpenSSL's decoder neither takes the URL alphabet nor says where it failed.
 */
static unsigned char *b64url_decode(const char *in, size_t len, size_t *out_len, long *bad)
{
	unsigned char *out = malloc(len + 1);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	*bad = -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-')
			v = 62;
		else if (c == '_')
			v = 63;
		else {
			*bad = (long)i;
			goto fail;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (len % 4 == 1) {
		*bad = (long)len - 1;
		goto fail;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
fail:
	free(out);
	return NULL;
}

static int write_state_file(const char *name, const char *data, mode_t mode)
{
	char path[4096];
	int fd, rc = -1;
	size_t len = strlen(data);

	snprintf(path, sizeof(path), "%s/%s", emu_cfg.state_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		goto cleanup;
	if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len)
		goto cleanup;
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		fprintf(stderr, "gotrue-emulator: cannot write %s: %s\n", path, strerror(errno));
	return rc;
}

static char *pem_of(EVP_PKEY *pk, bool private)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (private)
		PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL);
	else
		PEM_write_bio_PUBKEY(bio, pk);
	n = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

static void jwk_add_bn(json_object *o, const char *key, EVP_PKEY *pk, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	char b64[1400];
	int n;

	EVP_PKEY_get_bn_param(pk, param, &bn);
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	emu_b64url(buf, (size_t)n, b64, sizeof(b64));
	json_object_object_add(o, key, json_object_new_string(b64));
	BN_free(bn);
}

int emu_keys_init(void)
{
	unsigned char raw[32];
	EVP_PKEY *pk = NULL;
	json_object *claims = NULL;
	char *srk = NULL;
	int rc = -1;

	RAND_bytes(raw, sizeof(raw));
	emu_b64url(raw, sizeof(raw), secret, sizeof(secret));
	if (write_state_file("jwt_secret", secret, 0600) != 0)
		goto cleanup;

	if (strcmp(emu_cfg.alg, "RS256") == 0) {
		pk = EVP_RSA_gen(2048);
		sign_alg = JWT_ALG_RS256;
	} else if (strcmp(emu_cfg.alg, "ES256") == 0) {
		pk = EVP_EC_gen("P-256");
		sign_alg = JWT_ALG_ES256;
	}
	if (pk) {
		priv_pem = pem_of(pk, true);
		pub_pem = pem_of(pk, false);
		emu_uuid(kid);
		jwk = json_object_new_object();
		if (sign_alg == JWT_ALG_RS256) {
			json_object_object_add(jwk, "kty", json_object_new_string("RSA"));
			jwk_add_bn(jwk, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0);
			jwk_add_bn(jwk, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0);
		} else {
			json_object_object_add(jwk, "kty", json_object_new_string("EC"));
			json_object_object_add(jwk, "crv", json_object_new_string("P-256"));
			jwk_add_bn(jwk, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, 32);
			jwk_add_bn(jwk, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		}
		json_object_object_add(jwk, "kid", json_object_new_string(kid));
		json_object_object_add(jwk, "alg", json_object_new_string(emu_cfg.alg));
		json_object_object_add(jwk, "use", json_object_new_string("sig"));
		json_object_object_add(jwk, "key_ops", json_object_new_array());
		json_object_array_add(json_object_object_get(jwk, "key_ops"),
				      json_object_new_string("verify"));
		if (write_state_file("jwt_public.pem", pub_pem, 0644) != 0)
			goto cleanup;
	}
	if (pk) {
		char *jwks = emu_jwks_json();
		int w = write_state_file("jwks.json", jwks, 0644);

		free(jwks);
		if (w != 0)
			goto cleanup;
	}

	/* The service-role key, as Supabase issues it: HS256, role service_role, no sub. */
	claims = json_object_new_object();
	json_object_object_add(claims, "iss", json_object_new_string("gotrue-emulator"));
	json_object_object_add(claims, "role", json_object_new_string("service_role"));
	json_object_object_add(claims, "iat", json_object_new_int64(time(NULL)));
	json_object_object_add(claims, "exp",
			       json_object_new_int64(time(NULL) + 10L * 365 * 86400));
	srk = emu_sign_claims(claims);
	if (!srk || write_state_file("service_role.key", srk, 0600) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	json_object_put(claims);
	EVP_PKEY_free(pk);
	free(srk);
	return rc;
}

char *emu_jwks_json(void)
{
	json_object *set = json_object_new_object();
	json_object *keys = json_object_new_array();
	char *out;

	if (jwk)
		json_object_array_add(keys, json_object_get(jwk));
	json_object_object_add(set, "keys", keys);
	out = strdup(json_object_to_json_string_ext(set, JSON_C_TO_STRING_PLAIN));
	json_object_put(set);
	return out;
}

static char *sign_with(json_object *claims, jwt_alg_t alg)
{
	jwt_t *jwt = NULL;
	char *tok = NULL, *out = NULL;

	if (jwt_new(&jwt) != 0)
		goto cleanup;
	if (jwt_add_grants_json(jwt, json_object_to_json_string(claims)) != 0)
		goto cleanup;
	if (alg == JWT_ALG_HS256) {
		if (jwt_set_alg(jwt, alg, (const unsigned char *)secret, (int)strlen(secret)) != 0)
			goto cleanup;
	} else {
		if (jwt_set_alg(jwt, alg, (const unsigned char *)priv_pem, (int)strlen(priv_pem)) !=
		    0)
			goto cleanup;
		jwt_add_header(jwt, "kid", kid);
	}
	tok = jwt_encode_str(jwt);
	if (tok)
		out = strdup(tok);
cleanup:
	if (tok)
		free(tok); /* libjwt 1.10 has no jwt_free_str */
	jwt_free(jwt);
	return out;
}

char *emu_sign_claims(json_object *claims)
{
	return sign_with(claims, JWT_ALG_HS256);
}

char *emu_sign_access(const struct emu_user *u, const struct emu_session *s, time_t *exp)
{
	json_object *c = json_object_new_object();
	json_object *amr = json_object_new_array(), *entry;
	time_t now = time(NULL);
	char *tok;

	*exp = now + emu_cfg.jwt_exp;
	/* iss only where the server is configured with one (GOTRUE_JWT_ISSUER): the recorded v2.185
	 * servers had none and signed no iss (transcript section 18), v2.69 never does */
	if (emu_current() && emu_cfg.jwt_issuer)
		json_object_object_add(c, "iss", json_object_new_string(emu_cfg.jwt_issuer));
	json_object_object_add(c, "aud", json_object_new_string("authenticated"));
	json_object_object_add(c, "exp", json_object_new_int64(*exp));
	if (emu_current())
		json_object_object_add(c, "iat", json_object_new_int64(now));
	json_object_object_add(c, "sub", json_object_new_string(u->id));
	json_object_object_add(c, "email", json_object_new_string(u->email));
	json_object_object_add(c, "phone", json_object_new_string(u->phone));
	json_object_object_add(c, "app_metadata", json_object_get(u->app_metadata));
	json_object_object_add(c, "user_metadata", json_object_get(u->user_metadata));
	json_object_object_add(c, "role", json_object_new_string("authenticated"));
	json_object_object_add(c, "aal", json_object_new_string(s->aal));
	if (strcmp(s->aal, "aal2") == 0) {
		entry = json_object_new_object();
		json_object_object_add(entry, "method", json_object_new_string("totp"));
		json_object_object_add(entry, "timestamp", json_object_new_int64(now));
		json_object_array_add(amr, entry);
	}
	entry = json_object_new_object();
	json_object_object_add(entry, "method", json_object_new_string(s->amr_method));
	json_object_object_add(entry, "timestamp", json_object_new_int64(s->amr_time));
	json_object_array_add(amr, entry);
	json_object_object_add(c, "amr", amr);
	json_object_object_add(c, "session_id", json_object_new_string(s->id));
	if (emu_current())
		json_object_object_add(c, "is_anonymous", json_object_new_boolean(0));
	tok = sign_with(c, sign_alg);
	json_object_put(c);
	return tok;
}

json_object *emu_session_reply(struct emu_user *u, struct emu_session *s, const struct emu_req *q)
{
	return emu_session_reply_rt(u, s, emu_rtoken_new(s, NULL), q);
}

json_object *emu_session_reply_rt(struct emu_user *u, struct emu_session *s,
				  const struct emu_rtoken *rt, const struct emu_req *q)
{
	json_object *o = json_object_new_object();
	time_t exp;
	char *at = emu_sign_access(u, s, &exp);

	json_object_object_add(o, "access_token", json_object_new_string(at ? at : ""));
	json_object_object_add(o, "token_type", json_object_new_string("bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int64(emu_cfg.jwt_exp));
	if (emu_current())
		json_object_object_add(o, "expires_at", json_object_new_int64(exp));
	json_object_object_add(o, "refresh_token", json_object_new_string(rt->token));
	json_object_object_add(o, "user", emu_user_json(u, q));
	if (at) {
		OPENSSL_cleanse(at, strlen(at));
		free(at);
	}
	return o;
}

/* Go's %v of a time.Duration truncated to seconds: "10s", "1m0s", "2h0m5s". */
static void go_duration(long secs, char *buf, size_t len)
{
	if (secs >= 3600)
		snprintf(buf, len, "%ldh%ldm%lds", secs / 3600, (secs % 3600) / 60, secs % 60);
	else if (secs >= 60)
		snprintf(buf, len, "%ldm%lds", secs / 60, secs % 60);
	else
		snprintf(buf, len, "%lds", secs);
}

/* encoding/json's complaint about the first byte of a non-JSON segment. */
static void json_complaint(const unsigned char *data, size_t len, char *buf, size_t blen)
{
	unsigned char c = len ? data[0] : 0;

	if (len == 0)
		snprintf(buf, blen, "unexpected end of JSON input");
	else if (c < 0x20 || c >= 0x7f)
		snprintf(buf, blen, "invalid character '\\u%04x' looking for beginning of value",
			 c);
	else
		snprintf(buf, blen, "invalid character '%c' looking for beginning of value", c);
}

static bool hs256_ok(const char *signing_input, size_t in_len, const unsigned char *sig,
		     size_t sig_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signing_input,
	     in_len, mac, &mac_len);
	return sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
}

static bool asym_ok(const char *token)
{
	jwt_t *jwt = NULL;
	bool ok =
		jwt_decode(&jwt, token, (const unsigned char *)pub_pem, (int)strlen(pub_pem)) == 0;

	jwt_free(jwt);
	return ok;
}

/* One dot-separated part of a token, decoded and parsed as a JSON object; NULL with @why set to
 * GoTrue's complaint: golang-jwt v4's bare text on v2.69, v5's "token is malformed: could not
 * base64 decode header: ..." on current servers (transcript-v2.185 steps 41 and 75). */
static json_object *token_part(const char *part, size_t len, const char *what, char *why,
			       size_t why_len)
{
	bool v5 = emu_current();
	unsigned char *raw;
	size_t raw_len = 0;
	long bad;
	json_object *o = NULL;
	char text[160];

	raw = b64url_decode(part, len, &raw_len, &bad);
	if (!raw) {
		snprintf(text, sizeof(text), "illegal base64 data at input byte %ld", bad);
		snprintf(why, why_len, "%s%s%s%.160s",
			 v5 ? "token is malformed: could not base64 decode " : "", v5 ? what : "",
			 v5 ? ": " : "", text);
		return NULL;
	}
	o = json_tokener_parse((const char *)raw);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
		json_complaint(raw, raw_len, text, sizeof(text));
		snprintf(why, why_len, "%s%s%s%.160s",
			 v5 ? "token is malformed: could not JSON decode " : "", v5 ? what : "",
			 v5 ? ": " : "", text);
	}
	free(raw);
	return o;
}

/* Why a well-formed token fails, or "" when it verifies. v5 (current servers) prefixes the
 * category: "token signature is invalid: ...", "token has invalid claims: token is expired". */
static void token_check(const char *token, size_t signed_len, json_object *h, json_object *claims,
			char *why, size_t why_len)
{
	bool v5 = emu_current();
	const char *alg = json_object_get_string(json_object_object_get(h, "alg"));
	const char *sig_b64 = token + signed_len + 1;
	unsigned char *sig = NULL;
	size_t slen = 0;
	long bad;
	json_object *exp;

	if (!alg || (strcmp(alg, "HS256") != 0 &&
		     (sign_alg == JWT_ALG_HS256 || strcmp(alg, emu_cfg.alg) != 0))) {
		snprintf(why, why_len, "%ssigning method %s is invalid",
			 v5 ? "token signature is invalid: " : "", alg ? alg : "none");
		return;
	}
	sig = b64url_decode(sig_b64, strlen(sig_b64), &slen, &bad);
	if (!sig || (strcmp(alg, "HS256") == 0 ? !hs256_ok(token, signed_len, sig, slen)
					       : !asym_ok(token))) {
		snprintf(why, why_len, "%ssignature is invalid",
			 v5 ? "token signature is invalid: " : "");
	} else if ((exp = json_object_object_get(claims, "exp")) &&
		   json_object_get_int64(exp) < time(NULL)) {
		char dur[48];

		/* v4 said by how much; v5 does not (transcript-v2.185 step 43) */
		go_duration((long)(time(NULL) - json_object_get_int64(exp)), dur, sizeof(dur));
		if (v5)
			snprintf(why, why_len, "token has invalid claims: token is expired");
		else
			snprintf(why, why_len, "token is expired by %s", dur);
	}
	free(sig);
}

json_object *emu_verify(const char *token, char *err, size_t err_len)
{
	const char *d1, *d2;
	json_object *h = NULL, *claims = NULL, *out = NULL;
	char why[256] = "";

	d1 = strchr(token, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.')) {
		snprintf(why, sizeof(why), "%stoken contains an invalid number of segments",
			 emu_current() ? "token is malformed: " : "");
		goto cleanup;
	}
	h = token_part(token, (size_t)(d1 - token), "header", why, sizeof(why));
	if (h)
		claims = token_part(d1 + 1, (size_t)(d2 - d1 - 1), "claim", why, sizeof(why));
	if (!h || !claims)
		goto cleanup;
	token_check(token, (size_t)(d2 - token), h, claims, why, sizeof(why));
	if (!why[0])
		out = json_object_get(claims);
cleanup:
	if (!out)
		snprintf(err, err_len, "invalid JWT: unable to parse or verify signature, %s", why);
	json_object_put(h);
	json_object_put(claims);
	return out;
}
