/* jwks: JSON Web Key Sets (RFC 7517, key parameters from RFC 7518 §6) into SubjectPublicKeyInfo
 * PEM, because libjwt 1.10 verifies RS and ES signatures only from a PEM key. The keys are built
 * with OpenSSL 3's EVP_PKEY_fromdata, which also checks that an EC point lies on its curve.
 * Also owns the two bounded decoders jwt.c shares: base64url (RFC 4648 §5) and JSON objects. */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "gotrue_json.h"
#include "jwks.h"

#define JWKS_MAX_SIZE	(256 * 1024) /* a JWKS is a few KiB; GoTrue's has one to three keys */
#define JWKS_MAX_KEYS	64
#define JWKS_MAX_KID	256
#define RSA_MIN_BYTES	256  /* 2048 bits: RFC 7518 §3.3 */
#define RSA_MAX_BYTES	1024 /* 8192 bits */
#define RSA_MAX_E_BYTES 8

/* RFC 7515 §2 defines base64url without padding. OpenSSL's EVP_DecodeBlock speaks the standard
 * alphabet with padding, so the input is checked against the url alphabet first (EVP_DecodeBlock
 * would otherwise skip blanks and accept '+' '/'), translated and padded, and the zero bytes that
 * EVP_DecodeBlock emits for the padding are taken off its count. */
int gotrue_base64url_decode(const char *in, size_t len, size_t max_out, unsigned char **out,
			    size_t *out_len)
{
	char *tmp = NULL;
	unsigned char *buf = NULL;
	size_t i, padded, pad;
	int n, rc = -1;

	*out = NULL;
	*out_len = 0;
	/* 4 characters carry 3 bytes; a lone trailing character carries none and is malformed. */
	if (!in || len % 4 == 1 || len > (size_t)INT32_MAX / 2 ||
	    len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > max_out)
		goto cleanup;
	pad = (4 - len % 4) % 4;
	padded = len + pad;
	tmp = malloc(padded + 1);
	buf = malloc(padded / 4 * 3 + 1);
	if (!tmp || !buf)
		goto cleanup;
	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '-')
			ch = '+';
		else if (ch == '_')
			ch = '/';
		else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9')))
			goto cleanup;
		tmp[i] = ch;
	}
	memset(tmp + len, '=', pad);
	tmp[padded] = '\0';
	n = padded ? EVP_DecodeBlock(buf, (const unsigned char *)tmp, (int)padded) : 0;
	if (n < 0 || (size_t)n < pad)
		goto cleanup;
	if ((size_t)n - pad > max_out)
		goto cleanup;
	buf[n - pad] = '\0';
	*out_len = (size_t)n - pad;
	*out = buf;
	buf = NULL;
	rc = 0;
cleanup:
	free(tmp);
	free(buf);
	return rc;
}

static bool has_member(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* Big-endian unsigned integer member ("n", "e", "x", "y") into bytes, within [min, max]. */
static int get_b64_member(json_object *o, const char *key, size_t min, size_t max,
			  unsigned char **out, size_t *out_len)
{
	const char *s = gotrue_json_get_str(o, key);
	int rc = -1;

	*out = NULL;
	if (!s)
		goto cleanup;
	if (gotrue_base64url_decode(s, strlen(s), max, out, out_len) != 0)
		goto cleanup;
	if (*out_len < min) {
		free(*out);
		*out = NULL;
		goto cleanup;
	}
	rc = 0;
cleanup:
	return rc;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* RFC 7518 §6.3.1: "n" and "e", base64url big-endian. */
static EVP_PKEY *rsa_from_jwk(json_object *jwk)
{
	unsigned char *n = NULL, *e = NULL, *np;
	size_t n_len = 0, e_len = 0;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (get_b64_member(jwk, "n", 1, RSA_MAX_BYTES + 1, &n, &n_len) != 0 ||
	    get_b64_member(jwk, "e", 1, RSA_MAX_E_BYTES, &e, &e_len) != 0)
		goto cleanup;
	/* RFC 7518 forbids leading zero octets, but some servers emit one; size the key without. */
	for (np = n; n_len > 0 && *np == 0; np++, n_len--)
		;
	if (n_len < RSA_MIN_BYTES || n_len > RSA_MAX_BYTES)
		goto cleanup;
	bn_n = BN_bin2bn(np, (int)n_len, NULL);
	bn_e = BN_bin2bn(e, (int)e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn_n || !bn_e || !bld || BN_is_zero(bn_e) || !BN_is_odd(bn_e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto cleanup;
	pkey = pkey_fromdata("RSA", bld);
cleanup:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return pkey;
}

struct ec_curve {
	const char *crv;   /* JWK name, RFC 7518 §6.2.1.1 */
	const char *group; /* OpenSSL group name */
	const char *alg;   /* the one JWS alg for this curve, RFC 7518 §3.4 */
	size_t coord_len;  /* bytes per coordinate */
};

static const struct ec_curve ec_curves[] = {
	{"P-256", "prime256v1", "ES256", 32},
	{"P-384", "secp384r1", "ES384", 48},
	{"P-521", "secp521r1", "ES512", 66},
};

static const struct ec_curve *ec_curve_by_crv(const char *crv)
{
	size_t i;

	for (i = 0; crv && i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
		if (strcmp(crv, ec_curves[i].crv) == 0)
			return &ec_curves[i];
	return NULL;
}

/* RFC 7518 §6.2.1: "x" and "y" are each exactly the coordinate size; the SEC1 uncompressed point
 * 04||x||y goes to OpenSSL, which refuses a point that is not on the curve. */
static EVP_PKEY *ec_from_jwk(json_object *jwk, const struct ec_curve *curve)
{
	unsigned char *x = NULL, *y = NULL, *point = NULL;
	size_t x_len = 0, y_len = 0;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (get_b64_member(jwk, "x", curve->coord_len, curve->coord_len, &x, &x_len) != 0 ||
	    get_b64_member(jwk, "y", curve->coord_len, curve->coord_len, &y, &y_len) != 0)
		goto cleanup;
	point = malloc(1 + 2 * curve->coord_len);
	bld = OSSL_PARAM_BLD_new();
	if (!point || !bld)
		goto cleanup;
	point[0] = 0x04;
	memcpy(point + 1, x, x_len);
	memcpy(point + 1 + x_len, y, y_len);
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
					      1 + 2 * curve->coord_len))
		goto cleanup;
	pkey = pkey_fromdata("EC", bld);
cleanup:
	OSSL_PARAM_BLD_free(bld);
	free(point);
	free(x);
	free(y);
	return pkey;
}

static char *pkey_to_pem(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (!bio || !PEM_write_bio_PUBKEY(bio, pkey))
		goto cleanup;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		goto cleanup;
	pem = strndup(data, (size_t)len);
cleanup:
	BIO_free(bio);
	return pem;
}

static bool is_rsa_alg(const char *alg)
{
	return strcmp(alg, "RS256") == 0 || strcmp(alg, "RS384") == 0 || strcmp(alg, "RS512") == 0;
}

/* One JWK into @out. 0 when usable, -1 when skipped (unknown kty, "oct", not a signing key, alg
 * that does not fit the key, bad parameters). */
static int jwk_convert(json_object *jwk, struct gotrue_jwk *out)
{
	const char *kty, *use, *kid, *alg;
	const struct ec_curve *curve = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(jwk, json_type_object))
		goto cleanup;
	kty = gotrue_json_get_str(jwk, "kty");
	use = gotrue_json_get_str(jwk, "use");
	kid = gotrue_json_get_str(jwk, "kid");
	alg = gotrue_json_get_str(jwk, "alg");
	/* A member present with the wrong type makes the key unusable rather than "absent". */
	if (!kty || (!use && has_member(jwk, "use")) || (!kid && has_member(jwk, "kid")) ||
	    (!alg && has_member(jwk, "alg")))
		goto cleanup;
	/* RFC 7517 §4.2: "use" other than "sig" (e.g. "enc") is not for verifying signatures. */
	if (use && strcmp(use, "sig") != 0)
		goto cleanup;
	if (kid && (strlen(kid) == 0 || strlen(kid) > JWKS_MAX_KID))
		goto cleanup;
	if (strcmp(kty, "RSA") == 0) {
		if (alg && !is_rsa_alg(alg))
			goto cleanup;
		pkey = rsa_from_jwk(jwk);
		alg = alg ? alg : "RS256";
	} else if (strcmp(kty, "EC") == 0) {
		curve = ec_curve_by_crv(gotrue_json_get_str(jwk, "crv"));
		if (!curve || (alg && strcmp(alg, curve->alg) != 0))
			goto cleanup;
		pkey = ec_from_jwk(jwk, curve);
		alg = curve->alg;
	} else {
		/* "oct" (an HMAC secret has no business in a public key set), "OKP", unknown. */
		goto cleanup;
	}
	if (!pkey)
		goto cleanup;
	out->pem = pkey_to_pem(pkey);
	out->alg = strdup(alg);
	out->kid = kid ? strdup(kid) : NULL;
	if (!out->pem || !out->alg || (kid && !out->kid))
		goto cleanup;
	rc = 0;
cleanup:
	EVP_PKEY_free(pkey);
	if (rc != 0) {
		free(out->pem);
		free(out->alg);
		free(out->kid);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

int gotrue_jwks_parse(const char *json, size_t len, struct gotrue_jwk **out)
{
	json_object *doc = NULL, *keys;
	struct gotrue_jwk *arr = NULL;
	size_t i, count;
	int n = 0, rc = -1;

	*out = NULL;
	doc = gotrue_json_parse_object(json, len, JWKS_MAX_SIZE);
	/* RFC 7517 §5: the set is an object whose "keys" member is an array. */
	if (!doc || !json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array))
		goto cleanup;
	count = json_object_array_length(keys);
	if (count > JWKS_MAX_KEYS)
		goto cleanup;
	arr = calloc(count + 1, sizeof(*arr));
	if (!arr)
		goto cleanup;
	for (i = 0; i < count; i++)
		if (jwk_convert(json_object_array_get_idx(keys, i), &arr[n]) == 0)
			n++;
	rc = n;
	*out = arr;
	arr = NULL;
cleanup:
	gotrue_jwks_free(arr, n);
	json_object_put(doc);
	return rc;
}

void gotrue_jwks_free(struct gotrue_jwk *keys, int n)
{
	int i;

	for (i = 0; keys && i < n; i++) {
		free(keys[i].kid);
		free(keys[i].alg);
		free(keys[i].pem);
	}
	free(keys);
}
