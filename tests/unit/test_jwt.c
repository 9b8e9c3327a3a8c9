/* test_jwt: lib/client/gotrue_jwt.c and lib/client/jwks.c. Keys are generated here with OpenSSL
 * EVP, good tokens are signed with libjwt's jwt_encode_str, and the malicious ones are built by
 * hand: alg none, HS256 keyed with a public key's PEM text (the RS/HS confusion), ES256 against an
 * RSA-only verifier. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tap.h"
#include "gotrue_config.h"
#include "jwks.h"
#include "jwks_cache.h"
#include "gotrue_jwt.h"
#include "api.h"
#include "emu.h"
#include "session.h"

#define NOW    1700000000L
#define SECRET "super-secret-jwt-token-with-at-least-32-characters-long"
#define ISS    "http://127.0.0.1:9999/auth/v1"
#define SUB    "8d2a2d0c-5a5e-4c39-9a1c-2f1b0e6a7b11"

static EVP_PKEY *rsa1, *rsa2, *ec1;
static char *rsa1_pub, *rsa2_pub, *ec1_pub, *rsa1_priv, *rsa2_priv, *ec1_priv;

static char *bio_string(BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *s = strndup(data, (size_t)len);

	BIO_free(bio);
	return s;
}

static char *pub_pem(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_PUBKEY(bio, k);
	return bio_string(bio);
}

static char *priv_pem(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	return bio_string(bio);
}

static char *b64url(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	char *p, *q;

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	for (p = q = out; *p; p++) {
		if (*p == '=')
			continue;
		*q++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	}
	*q = '\0';
	return out;
}

static char *b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

/* "header.payload.sig" from raw JSON, for the tokens libjwt would not make. */
static char *craft(const char *header, const char *payload, const char *sig)
{
	char *h = b64url_str(header), *p = b64url_str(payload), *t;

	t = malloc(strlen(h) + strlen(p) + strlen(sig) + 3);
	sprintf(t, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return t;
}

static char *sign(jwt_alg_t alg, const char *key, const char *kid, const char *claims)
{
	jwt_t *jwt = NULL;
	char *tok = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grants_json(jwt, claims) == 0 &&
	    jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)strlen(key)) == 0 &&
	    (!kid || jwt_add_header(jwt, "kid", kid) == 0))
		tok = jwt_encode_str(jwt);
	jwt_free(jwt);
	return tok;
}

/* The usual GoTrue access-token claims, with @extra spliced in (or replacing nothing). */
static char *claims(long exp, const char *aud_json, const char *extra)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"sub\":\"%s\",\"aud\":%s,\"iss\":\"%s\",%s\"iat\":%ld,\"role\":"
		 "\"authenticated\","
		 "\"email\":\"ada@example.org\",\"session_id\":\"0c9c5f6e-1111-2222-3333-"
		 "444455556666\","
		 "\"aal\":\"aal1\",\"app_metadata\":{\"provider\":\"email\",\"groups\":[\"ops\"]},"
		 "\"user_metadata\":{}%s%s}",
		 SUB, aud_json, ISS, "", NOW - 60, extra ? "," : "", extra ? extra : "");
	if (exp) {
		char tail[64];

		snprintf(tail, sizeof(tail), ",\"exp\":%ld}", exp);
		buf[strlen(buf) - 1] = '\0';
		strcat(buf, tail);
	}
	return buf;
}

static struct gotrue_jwt_expect expect_default(void)
{
	struct gotrue_jwt_expect e = {
		.aud = "authenticated", .leeway = 30, .now = NOW, .require_exp = true};
	return e;
}

/* Verify and report: returns the rc, checks the error shape on refusal and that the reason
 * contains @why. */
static int check(const char *name, const struct gotrue_verifier *v, const char *tok,
		 const struct gotrue_jwt_expect *e, int want_rc, const char *why)
{
	struct gotrue_claims cl;
	struct gotrue_error err = {0};
	int rc = gotrue_jwt_verify(v, tok, e, &cl, &err);

	is_int(rc, want_rc, "%s: %s", name, want_rc == 0 ? "accepted" : "refused");
	if (want_rc != 0) {
		ok(err.kind == GOTRUE_ERR_PROTOCOL && strcmp(err.code, "bad_jwt") == 0 &&
			   (!why || strstr(err.message, why)),
		   "%s: bad_jwt naming '%s' (got '%s')", name, why ? why : "", err.message);
		ok(cl.sub == NULL && cl.all == NULL, "%s: no claims on refusal", name);
		if (tok && strlen(tok) > 20 && strstr(err.message, tok + strlen(tok) - 20))
			ok(0, "%s: message leaks the token", name);
	} else {
		is_str(cl.sub, SUB, "%s: sub", name);
	}
	gotrue_claims_clear(&cl);
	gotrue_error_clear(&err);
	return rc;
}

static void keygen(void)
{
	rsa1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!rsa1 || !rsa2 || !ec1)
		skip_all("OpenSSL key generation failed");
	rsa1_pub = pub_pem(rsa1);
	rsa2_pub = pub_pem(rsa2);
	ec1_pub = pub_pem(ec1);
	rsa1_priv = priv_pem(rsa1);
	rsa2_priv = priv_pem(rsa2);
	ec1_priv = priv_pem(ec1);
}

static char *bn_param_b64(EVP_PKEY *k, const char *name, size_t pad_to)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int len;
	char *out = NULL;

	if (!EVP_PKEY_get_bn_param(k, name, &bn))
		return NULL;
	len = pad_to ? BN_bn2binpad(bn, buf, (int)pad_to) : BN_bn2bin(bn, buf);
	if (len > 0)
		out = b64url(buf, (size_t)len);
	BN_free(bn);
	return out;
}

static char *jwk_rsa(EVP_PKEY *k, const char *kid)
{
	char *n = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
	char *e = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
	char *out = malloc(strlen(n) + 200);

	sprintf(out,
		"{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",%s%s%s\"n\":\"%s\",\"e\":\"%"
		"s\"}",
		kid ? "\"kid\":\"" : "", kid ? kid : "", kid ? "\"," : "", n, e);
	free(n);
	free(e);
	return out;
}

static char *jwk_ec(EVP_PKEY *k, const char *kid)
{
	char *x = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	char *y = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	char *out = malloc(400);

	sprintf(out, "{\"kty\":\"EC\",\"crv\":\"P-256\",%s%s%s\"x\":\"%s\",\"y\":\"%s\"}",
		kid ? "\"kid\":\"" : "", kid ? kid : "", kid ? "\"," : "", x, y);
	free(x);
	free(y);
	return out;
}

static void test_jwks_parse(void)
{
	char *r = jwk_rsa(rsa1, "rsa-1"), *e = jwk_ec(ec1, "ec-1"), doc[4096];
	struct gotrue_jwk *keys = NULL;
	int n;

	snprintf(doc, sizeof(doc),
		 "{\"keys\":[%s,{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"c2VjcmV0\"},%s,"
		 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}",
		 r, e);
	n = gotrue_jwks_parse(doc, strlen(doc), &keys);
	is_int(n, 2, "jwks: RSA and EC kept, oct and OKP skipped");
	if (n == 2) {
		is_str(keys[0].kid, "rsa-1", "jwks: RSA kid");
		is_str(keys[0].alg, "RS256", "jwks: RSA alg");
		is_str(keys[0].pem, rsa1_pub, "jwks: RSA n/e round-trip to the same PEM");
		is_str(keys[1].kid, "ec-1", "jwks: EC kid");
		is_str(keys[1].alg, "ES256", "jwks: EC alg inferred from crv");
		is_str(keys[1].pem, ec1_pub, "jwks: EC x/y round-trip to the same PEM");
	}
	gotrue_jwks_free(keys, n);

	/* Malformed documents are -1; well-formed but useless ones are 0. */
	static const char *const bad[] = {"",
					  "not json",
					  "[]",
					  "{}",
					  "{\"keys\":1}",
					  "{\"keys\":[]} trailing",
					  "{\"keys\":[{\"kty\":\"RSA\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		keys = NULL;
		n = gotrue_jwks_parse(bad[i], strlen(bad[i]), &keys);
		is_int(n, -1, "jwks: malformed document %zu refused", i);
		gotrue_jwks_free(keys, n < 0 ? 0 : n);
	}
	static const char *const useless[] = {
		"{\"keys\":[]}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
		/* RSA 1024-bit modulus of 0xff bytes: under 2048 bits */
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"_____________________________________________"
		"______________________________________________________________________________"
		"______________________________________________________\",\"e\":\"AQAB\"}]}",
		/* EC point not on the curve */
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
		"\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		"\"y\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQ\",\"y\":\"AQ\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AQ\",\"y\":\"AQ\"}]}",
		"{\"keys\":[17,null,\"x\"]}",
	};
	for (size_t i = 0; i < sizeof(useless) / sizeof(useless[0]); i++) {
		keys = NULL;
		n = gotrue_jwks_parse(useless[i], strlen(useless[i]), &keys);
		is_int(n, 0, "jwks: unusable key set %zu gives no keys", i);
		gotrue_jwks_free(keys, n < 0 ? 0 : n);
	}
	/* use "enc" and an alg that does not fit the key are skipped. */
	char *enc = malloc(strlen(r) + 100), *use;

	if (!enc)
		return;
	sprintf(enc, "{\"keys\":[%s]}", r);
	use = strstr(enc, "\"sig\"");
	memcpy(use, "\"enc\"", 5);
	n = gotrue_jwks_parse(enc, strlen(enc), &keys);
	is_int(n, 0, "jwks: a key with use=enc is skipped");
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	memcpy(use, "\"sig\"", 5);
	use = strstr(enc, "RS256");
	memcpy(use, "ES256", 5);
	n = gotrue_jwks_parse(enc, strlen(enc), &keys);
	is_int(n, 0, "jwks: an RSA key claiming ES256 is skipped");
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	memcpy(use, "RS384", 5);
	n = gotrue_jwks_parse(enc, strlen(enc), &keys);
	ok(n == 1 && !strcmp(keys[0].alg, "RS384"), "jwks: the JWK's own alg is kept");
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	free(enc);
	free(r);
	free(e);
}

static void test_base64url(void)
{
	unsigned char *out = NULL;
	size_t len = 0;

	ok(gotrue_base64url_decode("QQ", 2, 16, &out, &len) == 0 && len == 1 && out[0] == 'A',
	   "b64url: unpadded two chars");
	free(out);
	ok(gotrue_base64url_decode("-_-_", 4, 16, &out, &len) == 0 && len == 3 && out[0] == 0xfb &&
		   out[1] == 0xff && out[2] == 0xbf,
	   "b64url: url alphabet");
	free(out);
	ok(gotrue_base64url_decode("QQ==", 4, 16, &out, &len) != 0, "b64url: padding refused");
	ok(gotrue_base64url_decode("Q+/A", 4, 16, &out, &len) != 0, "b64url: '+' '/' refused");
	ok(gotrue_base64url_decode("QUJD\n", 5, 16, &out, &len) != 0, "b64url: newline refused");
	ok(gotrue_base64url_decode("QUJDR", 5, 16, &out, &len) != 0, "b64url: length 4n+1 refused");
	ok(gotrue_base64url_decode("QUJDRA", 6, 3, &out, &len) != 0,
	   "b64url: over max_out refused");
	ok(gotrue_base64url_decode("", 0, 3, &out, &len) == 0 && len == 0,
	   "b64url: empty is empty");
	free(out);
}

static void test_claims_parse(void)
{
	struct gotrue_claims cl;
	const char *good = claims(NOW + 3600, "[\"authenticated\",\"other\"]", "\"nbf\":1");
	char big[2200];

	ok(gotrue_claims_parse(good, strlen(good), &cl) == 0, "claims: GoTrue claims parse");
	is_str(cl.sub, SUB, "claims: sub");
	is_str(cl.iss, ISS, "claims: iss");
	is_str(cl.email, "ada@example.org", "claims: email");
	is_str(cl.role, "authenticated", "claims: role");
	is_str(cl.aal, "aal1", "claims: aal");
	is_str(cl.session_id, "0c9c5f6e-1111-2222-3333-444455556666", "claims: session_id");
	ok(cl.aud && cl.aud[0] && cl.aud[1] && !cl.aud[2] && !strcmp(cl.aud[1], "other"),
	   "claims: aud array");
	is_int(cl.exp, NOW + 3600, "claims: exp");
	is_int(cl.nbf, 1, "claims: nbf");
	is_int(cl.iat, NOW - 60, "claims: iat");
	ok(json_object_object_get_ex(cl.all, "app_metadata", NULL), "claims: all kept");
	gotrue_claims_clear(&cl);
	ok(cl.sub == NULL && cl.all == NULL, "claims: clear resets");

	static const char *const bad[] = {
		"",
		"[]",
		"null",
		"{\"exp\":\"1700000000\"}",
		"{\"exp\":1.7e9}",
		"{\"exp\":-5}",
		"{\"nbf\":true}",
		"{\"iat\":99999999999999}",
		"{\"sub\":5}",
		"{\"sub\":\"a\\u0000b\"}",
		"{\"email\":[]}",
		"{\"aud\":3}",
		"{\"aud\":[\"a\",3]}",
		"{\"role\":null}",
		"{\"sub\":\"x\"} {}",
		"{\"sub\":\"x\"",
		"\xff\xfe{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(gotrue_claims_parse(bad[i], strlen(bad[i]), &cl) == -1 && cl.all == NULL,
		   "claims: bad input %zu refused", i);
	}
	ok(gotrue_claims_parse("{\"sub\":\"x\"}\0junk", 16, &cl) == -1, "claims: embedded NUL");
	snprintf(big, sizeof(big), "{\"sub\":\"%02000d\"}", 0);
	ok(gotrue_claims_parse(big, strlen(big), &cl) == -1, "claims: oversized sub refused");
	ok(gotrue_claims_parse("{}", 2, &cl) == 0 && cl.exp == 0 && cl.aud == NULL,
	   "claims: empty object is fine (checks happen in verify)");
	gotrue_claims_clear(&cl);
}

static void test_hs256(void)
{
	struct gotrue_verifier *v = gotrue_verifier_new();
	struct gotrue_jwt_expect e = expect_default();
	const char *const with_none[] = {"HS256", "none", NULL};
	char *t;

	is_int(gotrue_verifier_add_hmac(v, SECRET, strlen(SECRET)), 0, "hs: secret added");
	is_int(gotrue_verifier_add_hmac(v, "", 0), -1, "hs: empty secret refused");

	t = sign(JWT_ALG_HS256, SECRET, NULL, claims(NOW + 3600, "\"authenticated\"", NULL));
	check("HS256 good", v, t, &e, 0, NULL);
	free(t);

	t = sign(JWT_ALG_HS256, "another-secret-of-sufficient-length-123456", NULL,
		 claims(NOW + 3600, "\"authenticated\"", NULL));
	check("HS256 wrong secret", v, t, &e, -1, "signature");
	free(t);

	t = sign(JWT_ALG_HS384, SECRET, NULL, claims(NOW + 3600, "\"authenticated\"", NULL));
	check("HS384 not in default allow-list", v, t, &e, -1, "alg not allowed");
	free(t);

	/* alg none: empty signature, then with "none" in the allow-list, then other spellings
	 * libjwt's strcasecmp would take as none. */
	t = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}",
		  claims(NOW + 3600, "\"authenticated\"", NULL), "");
	check("alg none, empty signature", v, t, &e, -1, "malformed");
	free(t);
	t = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}",
		  claims(NOW + 3600, "\"authenticated\"", NULL), "AAAA");
	check("alg none, dummy signature", v, t, &e, -1, "alg not supported");
	is_int(gotrue_verifier_allow(v, with_none), 0, "allow-list with none accepted");
	check("alg none with none listed", v, t, &e, -1, "alg not supported");
	free(t);
	t = craft("{\"alg\":\"None\"}", claims(NOW + 3600, "\"authenticated\"", NULL), "AAAA");
	check("alg None", v, t, &e, -1, "alg");
	free(t);
	t = craft("{\"alg\":\"hs256\"}", claims(NOW + 3600, "\"authenticated\"", NULL), "AAAA");
	check("alg hs256 (wrong case)", v, t, &e, -1, "alg not supported");
	free(t);
	t = craft("{\"typ\":\"JWT\"}", claims(NOW + 3600, "\"authenticated\"", NULL), "AAAA");
	check("no alg", v, t, &e, -1, "alg missing");
	free(t);
	t = craft("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
		  claims(NOW + 3600, "\"authenticated\"", NULL), "AAAA");
	check("crit header", v, t, &e, -1, "crit");
	free(t);

	/* Claims: exp with leeway, nbf, aud, iss, sub, literal claims. */
	t = sign(JWT_ALG_HS256, SECRET, NULL, claims(NOW - 31, "\"authenticated\"", NULL));
	check("expired beyond leeway", v, t, &e, -1, "exp");
	free(t);
	t = sign(JWT_ALG_HS256, SECRET, NULL, claims(NOW - 10, "\"authenticated\"", NULL));
	check("expired within leeway", v, t, &e, 0, NULL);
	e.leeway = 0;
	check("expired, no leeway", v, t, &e, -1, "exp");
	e = expect_default();
	free(t);
	t = sign(JWT_ALG_HS256, SECRET, NULL, claims(0, "\"authenticated\"", NULL));
	check("no exp", v, t, &e, -1, "exp missing");
	check("no exp, expect NULL is strict", v, t, NULL, -1, "exp missing");
	e.require_exp = false;
	check("no exp, not required", v, t, &e, 0, NULL);
	e = expect_default();
	free(t);
	t = sign(JWT_ALG_HS256, SECRET, NULL,
		 claims(NOW + 3600, "\"authenticated\"", "\"nbf\":1700000100"));
	check("nbf in the future", v, t, &e, -1, "nbf");
	free(t);
	t = sign(JWT_ALG_HS256, SECRET, NULL,
		 claims(NOW + 3600, "\"authenticated\"", "\"nbf\":1700000020"));
	check("nbf within leeway", v, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_HS256, SECRET, NULL, claims(NOW + 3600, "\"anon\"", NULL));
	check("wrong aud", v, t, &e, -1, "aud");
	free(t);
	t = sign(JWT_ALG_HS256, SECRET, NULL,
		 claims(NOW + 3600, "[\"other\",\"authenticated\"]", NULL));
	check("aud array containing aud", v, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_HS256, SECRET, NULL, claims(NOW + 3600, "[\"other\"]", NULL));
	check("aud array without aud", v, t, &e, -1, "aud");
	free(t);

	t = sign(JWT_ALG_HS256, SECRET, NULL, claims(NOW + 3600, "\"authenticated\"", NULL));
	e.iss = "https://evil.example/auth/v1";
	check("wrong iss", v, t, &e, -1, "iss");
	e.iss = ISS;
	check("right iss", v, t, &e, 0, NULL);
	e = expect_default();
	e.sub = "00000000-0000-0000-0000-000000000000";
	check("sub mismatch", v, t, &e, -1, "sub");
	e.sub = SUB;
	check("sub match", v, t, &e, 0, NULL);
	e = expect_default();
	e.literal = json_tokener_parse("{\"role\":\"authenticated\",\"app_metadata\":{\"groups\":"
				       "[\"ops\"],\"provider\":\"email\"}}");
	check("literal claims equal", v, t, &e, 0, NULL);
	json_object_put(e.literal);
	e.literal = json_tokener_parse("{\"role\":\"service_role\"}");
	check("literal claim mismatch", v, t, &e, -1, "claim role");
	json_object_put(e.literal);
	e.literal = json_tokener_parse("{\"is_admin\":true}");
	check("literal claim absent", v, t, &e, -1, "claim is_admin");
	json_object_put(e.literal);
	e = expect_default();
	free(t);

	/* Signed, but the claims do not type-check. */
	t = sign(JWT_ALG_HS256, SECRET, NULL,
		 "{\"sub\":\"" SUB "\",\"aud\":\"authenticated\",\"exp\":\"soon\"}");
	check("exp as a string", v, t, &e, -1, "claims malformed");
	free(t);
	gotrue_verifier_free(v);
}

static void test_asymmetric(void)
{
	struct gotrue_verifier *vpem = gotrue_verifier_new(), *vrsa = gotrue_verifier_new(),
			       *vmix = gotrue_verifier_new();
	struct gotrue_jwt_expect e = expect_default();
	const char *const hs_too[] = {"RS256", "ES256", "HS256", NULL};
	const char *const es_only[] = {"ES256", NULL};
	const char *const bogus[] = {"PS256", NULL};
	const char *c = claims(NOW + 3600, "\"authenticated\"", NULL);
	char *t;

	is_int(gotrue_verifier_add_pem(vpem, rsa1_pub, NULL), 0, "pem: RSA added");
	is_int(gotrue_verifier_add_pem(vpem, ec1_pub, NULL), 0, "pem: EC added");
	is_int(gotrue_verifier_add_pem(vpem, "-----BEGIN PUBLIC KEY-----\nAAAA\n", NULL), -1,
	       "pem: garbage refused");
	is_int(gotrue_verifier_add_pem(vpem, rsa1_priv, NULL), -1, "pem: private key not taken");
	is_int(gotrue_verifier_add_pem(vrsa, rsa1_pub, NULL), 0, "pem: RSA-only verifier");
	is_int(gotrue_verifier_add_hmac(vmix, SECRET, strlen(SECRET)), 0, "mix: secret");
	is_int(gotrue_verifier_add_pem(vmix, rsa1_pub, NULL), 0, "mix: RSA");
	is_int(gotrue_verifier_allow(vmix, bogus), -1, "allow: unknown alg refused");

	t = sign(JWT_ALG_RS256, rsa1_priv, NULL, c);
	check("RS256 good", vpem, t, &e, 0, NULL);
	check("RS256 good (mixed verifier)", vmix, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_ES256, ec1_priv, NULL, c);
	check("ES256 good", vpem, t, &e, 0, NULL);
	check("ES256 against an RSA-only verifier", vrsa, t, &e, -1, "alg not allowed");
	is_int(gotrue_verifier_allow(vrsa, es_only), 0, "allow ES256 on the RSA-only verifier");
	check("ES256 allowed but only an RSA key", vrsa, t, &e, -1, "no key for alg");
	free(t);
	t = sign(JWT_ALG_RS256, rsa2_priv, NULL, c);
	check("RS256 from an unconfigured key", vpem, t, &e, -1, "signature");
	free(t);
	t = sign(JWT_ALG_RS384, rsa1_priv, NULL, c);
	check("RS384 not in default allow-list", vpem, t, &e, -1, "alg not allowed");
	free(t);

	/* The confusion: HS256 keyed with the public key's PEM text, which anyone has. */
	t = sign(JWT_ALG_HS256, rsa1_pub, NULL, c);
	check("HS256 keyed with the RSA PEM", vpem, t, &e, -1, "alg not allowed");
	check("HS256 keyed with the RSA PEM (mixed verifier)", vmix, t, &e, -1, "signature");
	is_int(gotrue_verifier_allow(vpem, hs_too), 0, "allow HS256 on the PEM-only verifier");
	check("HS256 keyed with the RSA PEM, HS256 allowed", vpem, t, &e, -1, "no key for alg");
	free(t);
	t = sign(JWT_ALG_HS256, ec1_pub, NULL, c);
	check("HS256 keyed with the EC PEM, HS256 allowed", vpem, t, &e, -1, "no key for alg");
	free(t);
	/* The same with the PEM exactly as libjwt would hold it (no trailing newline change). */
	{
		char *pem = strdup(rsa1_pub);

		pem[strlen(pem) - 1] = '\0';
		t = sign(JWT_ALG_HS256, pem, NULL, c);
		check("HS256 keyed with the trimmed RSA PEM", vmix, t, &e, -1, "signature");
		free(t);
		free(pem);
	}

	/* ES* is tied to its curve (RFC 7518 §3.4): a P-384 key verifies ES384 only. */
	{
		EVP_PKEY *ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		char *pub = pub_pem(ec384), *priv = priv_pem(ec384);
		struct gotrue_verifier *v384 = gotrue_verifier_new();
		const char *const both[] = {"ES256", "ES384", NULL};

		is_int(gotrue_verifier_add_pem(v384, pub, NULL), 0, "pem: P-384 added");
		t = sign(JWT_ALG_ES384, priv, NULL, c);
		check("ES384 with the P-384 key", v384, t, &e, 0, NULL);
		free(t);
		t = sign(JWT_ALG_ES256, priv, NULL, c);
		check("ES256 signed by a P-384 key", v384, t, &e, -1, "alg not allowed");
		gotrue_verifier_allow(v384, both);
		check("ES256 signed by a P-384 key, ES256 allowed", v384, t, &e, -1,
		      "no key for alg");
		free(t);
		gotrue_verifier_free(v384);
		EVP_PKEY_free(ec384);
		free(pub);
		free(priv);
	}
	gotrue_verifier_free(vpem);
	gotrue_verifier_free(vrsa);
	gotrue_verifier_free(vmix);
}

static void test_jwks_verify(void)
{
	struct gotrue_verifier *v = gotrue_verifier_new(), *v2 = gotrue_verifier_new();
	struct gotrue_jwt_expect e = expect_default();
	char *r1 = jwk_rsa(rsa1, "rsa-1"), *r2 = jwk_rsa(rsa2, "rsa-2"), *ec = jwk_ec(ec1, "ec-1");
	char doc[8192], *t;
	const char *c = claims(NOW + 3600, "\"authenticated\"", NULL);

	snprintf(doc, sizeof(doc),
		 "{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"hs\",\"alg\":\"HS256\","
		 "\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA\"}]}",
		 r2, ec, r1);
	is_int(gotrue_verifier_add_jwks(v, doc, strlen(doc)), 3, "jwks: three keys, oct ignored");
	is_int(gotrue_verifier_add_jwks(v2, "{\"keys\":", 8), -1, "jwks: truncated document -1");

	t = sign(JWT_ALG_RS256, rsa1_priv, "rsa-1", c);
	check("JWKS: RS256 picked by kid", v, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_ES256, ec1_priv, "ec-1", c);
	check("JWKS: ES256 picked by kid", v, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_RS256, rsa1_priv, "rsa-2", c);
	check("JWKS: kid of another key", v, t, &e, -1, "signature");
	free(t);
	t = sign(JWT_ALG_RS256, rsa1_priv, "nope", c);
	check("JWKS: kid matching no key", v, t, &e, -1, "kid matches no key");
	free(t);
	t = sign(JWT_ALG_RS256, rsa1_priv, "ec-1", c);
	check("JWKS: kid of a key of another type", v, t, &e, -1, "kid matches no key");
	free(t);
	t = sign(JWT_ALG_RS256, rsa1_priv, NULL, c);
	check("JWKS: no kid, keys tried in turn", v, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_HS256, "secret-secret-secret-secret-secret", "hs", c);
	check("JWKS: oct key is not an HMAC key", v, t, &e, -1, "alg not allowed");
	free(t);
	t = sign(JWT_ALG_HS256, rsa1_pub, "rsa-1", c);
	check("JWKS: HS256 keyed with the PEM of kid", v, t, &e, -1, "alg not allowed");
	free(t);
	free(r1);
	free(r2);
	free(ec);
	gotrue_verifier_free(v);
	gotrue_verifier_free(v2);
}

static void test_malformed_and_peek(void)
{
	struct gotrue_verifier *v = gotrue_verifier_new();
	struct gotrue_jwt_expect e = expect_default();
	json_object *h = NULL, *c = NULL, *val;
	char *good, *huge, *four, *notjson;
	size_t i;

	gotrue_verifier_add_hmac(v, SECRET, strlen(SECRET));
	good = sign(JWT_ALG_HS256, SECRET, NULL, claims(NOW + 3600, "\"authenticated\"", NULL));
	huge = malloc(GOTRUE_TOKEN_MAX + 100);
	memset(huge, 'A', GOTRUE_TOKEN_MAX + 99);
	huge[GOTRUE_TOKEN_MAX + 99] = '\0';
	huge[10] = huge[GOTRUE_TOKEN_MAX + 50] = '.';
	four = malloc(strlen(good) + 6);
	sprintf(four, "%s.AAAA", good);
	notjson = craft("not json", "{}", "AAAA");

	const char *bad[] = {"",
			     "abc",
			     "a.b",
			     "eyJhbGciOiJIUzI1NiJ9.e30",
			     "a.b.c",
			     "....",
			     "eyJhbGciOiJIUzI1NiJ9.e3!0.AAAA",
			     "eyJhbGciOiJIUzI1NiJ9..AAAA",
			     "eyJhbGciOiJIUzI1NiJ9.e30 .AAAA",
			     huge,
			     four,
			     notjson};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "malformed token %zu", i);
		check(name, v, bad[i], &e, -1, NULL);
		ok(gotrue_jwt_peek_unverified(bad[i], &h, &c) == -1 && !h && !c,
		   "peek: malformed token %zu refused", i);
	}
	check("NULL token", v, NULL, &e, -1, "malformed");

	ok(gotrue_jwt_peek_unverified(good, &h, &c) == 0 && h && c, "peek: signed token");
	ok(json_object_object_get_ex(h, "alg", &val) &&
		   !strcmp(json_object_get_string(val), "HS256"),
	   "peek: header alg");
	ok(json_object_object_get_ex(c, "sub", &val) && !strcmp(json_object_get_string(val), SUB),
	   "peek: claims sub");
	json_object_put(h);
	json_object_put(c);
	free(good);
	good = craft("{\"alg\":\"none\"}", "{\"sub\":\"who\",\"exp\":1}", "");
	ok(gotrue_jwt_peek_unverified(good, NULL, &c) == 0 &&
		   json_object_object_get_ex(c, "sub", &val) &&
		   !strcmp(json_object_get_string(val), "who"),
	   "peek: unsigned token still shown");
	json_object_put(c);
	free(good);
	free(huge);
	free(four);
	free(notjson);
	gotrue_verifier_free(v);
}

static char *write_tmp(const char *dir, const char *name, const char *data)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	FILE *f;

	sprintf(path, "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(data, f);
	fclose(f);
	chmod(path, 0600);
	return path;
}

static char **strv1(const char *a, const char *b)
{
	char **v = calloc(3, sizeof(*v));

	v[0] = strdup(a);
	v[1] = b ? strdup(b) : NULL;
	return v;
}

static void test_from_config(void)
{
	char dir[] = "/tmp/test_jwt.XXXXXX";
	struct gotrue_config *cfg;
	struct gotrue_verifier *v;
	struct gotrue_error err = {0};
	struct gotrue_jwt_expect e = expect_default();
	char *secret_path, *pem_path, *t;
	const char *c = claims(NOW + 3600, "\"authenticated\"", NULL);

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	secret_path = write_tmp(dir, "jwt_secret", SECRET "\n");
	pem_path = write_tmp(dir, "jwt_public.pem", ec1_pub);

	cfg = gotrue_config_new();
	if (!cfg) {
		ok(0, "gotrue_config_new");
		return;
	}
	cfg->jwt_secret_file = strdup(secret_path);
	cfg->jwt_public_key = strdup(pem_path);
	v = gotrue_verifier_from_config(NULL, cfg, NULL, &err);
	ok(v != NULL, "config: secret + EC PEM verifier built (%s)", err.message);
	ok(cfg->jwt_secret == NULL, "config: the caller's config is not modified");
	t = sign(JWT_ALG_HS256, SECRET, NULL, c);
	check("config: HS256 (newline stripped from the secret file)", v, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_ES256, ec1_priv, NULL, c);
	check("config: ES256", v, t, &e, 0, NULL);
	free(t);
	t = sign(JWT_ALG_HS256, ec1_pub, NULL, c);
	check("config: HS256 keyed with the configured PEM", v, t, &e, -1, "signature");
	free(t);
	gotrue_verifier_free(v);

	cfg->jwt_algs = strv1("ES256", NULL);
	v = gotrue_verifier_from_config(NULL, cfg, NULL, &err);
	t = sign(JWT_ALG_HS256, SECRET, NULL, c);
	check("config: jwt_algs=ES256 refuses HS256", v, t, &e, -1, "alg not allowed");
	free(t);
	gotrue_verifier_free(v);

	free(cfg->jwt_algs[0]);
	cfg->jwt_algs[0] = strdup("RS256");
	gotrue_error_clear(&err);
	v = gotrue_verifier_from_config(NULL, cfg, NULL, &err);
	ok(v == NULL && err.kind == GOTRUE_ERR_CONFIG, "config: RS256 listed without an RSA key");
	gotrue_verifier_free(v);
	free(cfg->jwt_algs[0]);
	cfg->jwt_algs[0] = strdup("none");
	gotrue_error_clear(&err);
	v = gotrue_verifier_from_config(NULL, cfg, NULL, &err);
	ok(v == NULL && err.kind == GOTRUE_ERR_CONFIG, "config: none in jwt_algs refused");
	gotrue_verifier_free(v);

	free(cfg->jwt_public_key);
	cfg->jwt_public_key = NULL;
	free(cfg->jwt_secret_file);
	cfg->jwt_secret_file = NULL;
	gotrue_error_clear(&err);
	v = gotrue_verifier_from_config(NULL, cfg, NULL, &err);
	ok(v == NULL && err.kind == GOTRUE_ERR_CONFIG, "config: no key at all is an error");
	gotrue_verifier_free(v);
	ok(gotrue_verifier_from_config(NULL, cfg, NULL, NULL) == NULL, "config: NULL err is fine");
	gotrue_error_clear(&err);
	gotrue_config_free(cfg);

	unlink(secret_path);
	unlink(pem_path);
	rmdir(dir);
	free(secret_path);
	free(pem_path);
}

/* End to end: the JWKS fetched from the emulator's /.well-known/jwks.json through the client, and
 * a real access token from POST /token verified with it. Skipped without the emulator. */
static void test_emulator_jwks(const char *alg)
{
	const char *const args[] = {"--alg", alg, NULL};
	struct gotrue_credentials cred = {.email = "jwks@example.org", .password = "Pa55word-jwks"};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	struct gotrue_jwt_expect e = {.aud = "authenticated", .leeway = 30, .require_exp = true};
	struct gotrue_claims cl = {0};
	struct gotrue_config *cfg = NULL;
	struct gotrue_client *c = NULL;
	struct gotrue_verifier *v = NULL;
	struct emu *emu;
	char *id = NULL;

	/* make check always sets $GOTRUE_EMULATOR; it is only built when libmicrohttpd is there. */
	if (!getenv("GOTRUE_EMULATOR") || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0) {
		ok(1, "# SKIP %s JWKS end to end: no emulator", alg);
		return;
	}
	emu = emu_start(args);
	if (!emu) {
		ok(0, "%s: emulator started", alg);
		return;
	}
	cfg = gotrue_config_new();
	cfg->url = strdup(emu_url(emu));
	cfg->insecure_http_for_testing = true; /* the emulator's ephemeral port */
	cfg->jwks_url = strdup("/.well-known/jwks.json");
	c = gotrue_client_new(NULL, cfg);
	id = emu_create_user(emu, cred.email, cred.password, "{}");
	v = gotrue_verifier_from_config(NULL, cfg, c, &err);
	ok(v != NULL, "%s: verifier from the emulator's JWKS (%s)", alg, err.message);
	gotrue_error_clear(&err);
	ok(id && gotrue_signin_password(c, &cred, &s, &err) == 0 && s.access_token, "%s: signed in",
	   alg);
	e.sub = id;
	ok(v && s.access_token && gotrue_jwt_verify(v, s.access_token, &e, &cl, &err) == 0,
	   "%s: emulator access token verified through its JWKS (%s)", alg, err.message);
	is_str(cl.email, cred.email, "%s: email claim", alg);
	gotrue_claims_clear(&cl);
	gotrue_error_clear(&err);
	gotrue_session_clear(&s);
	gotrue_verifier_free(v);
	gotrue_client_free(c);
	gotrue_config_free(cfg);
	free(id);
	emu_stop(emu);
}

/* The lifetime a JWKS answer gives itself, and the cache file's own members. */
static void test_jwks_cache_parse(void)
{
	struct gotrue_jwk *keys = NULL;
	time_t at;
	long age;
	int n;

	is_int(gotrue_cache_control_max_age("public, max-age=600"), 600, "max-age: GoTrue's");
	is_int(gotrue_cache_control_max_age("MAX-AGE=\"30\""), 30, "max-age: any case, quoted");
	is_int(gotrue_cache_control_max_age("no-cache, max-age=5, max-age=9"), 5,
	       "max-age: the first counts");
	is_int(gotrue_cache_control_max_age("max-age=99999999999999999999"), 86400,
	       "max-age: capped at a day, even past any integer");
	is_int(gotrue_cache_control_max_age("public"), -1, "max-age: absent");
	is_int(gotrue_cache_control_max_age("max-age=-1"), -1, "max-age: negative is malformed");
	is_int(gotrue_cache_control_max_age("max-age=1x, max-age=5"), -1,
	       "max-age: a malformed first one is not replaced by a later one");
	is_int(gotrue_cache_control_max_age("s-maxage=5"), -1, "max-age: s-maxage is another");

	n = gotrue_jwks_cache_parse("{\"keys\":[],\"fetched_at\":1700000000,\"max_age\":60}", 48,
				    &at, &age, &keys);
	ok(n == 0 && at == 1700000000 && age == 60, "cache file: fetched_at and max_age read");
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	n = gotrue_jwks_cache_parse("{\"keys\":[]}", 11, &at, &age, &keys);
	ok(n == 0 && at == 0 && age == -1, "cache file: a plain set has neither");
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	n = gotrue_jwks_cache_parse("{\"keys\":[],\"fetched_at\":\"1\"}", 28, &at, &age, &keys);
	is_int(n, -1, "cache file: a fetched_at of the wrong type makes it unusable");
	n = gotrue_jwks_cache_parse("{\"keys\":[],\"max_age\":-5}", 24, &at, &age, &keys);
	is_int(n, -1, "cache file: a negative max_age makes it unusable");
}

int main(void)
{
	keygen();
	test_jwks_cache_parse();
	test_base64url();
	test_jwks_parse();
	test_claims_parse();
	test_hs256();
	test_asymmetric();
	test_jwks_verify();
	test_malformed_and_peek();
	test_from_config();
	test_emulator_jwks("RS256");
	test_emulator_jwks("ES256");
	EVP_PKEY_free(rsa1);
	EVP_PKEY_free(rsa2);
	EVP_PKEY_free(ec1);
	free(rsa1_pub);
	free(rsa2_pub);
	free(ec1_pub);
	free(rsa1_priv);
	free(rsa2_priv);
	free(ec1_priv);
	return done_testing();
}
