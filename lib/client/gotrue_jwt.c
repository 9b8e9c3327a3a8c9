/* jwt: verifying GoTrue access tokens (RFC 7519, JWS RFC 7515) on libjwt 1.10.
 *
 * libjwt 1.10's jwt_decode(&jwt, token, key, key_len) takes the algorithm from the token's own
 * header (libjwt/jwt.c, jwt_verify_head), which is unsafe to hand an attacker:
 *  - alg "none" (any case) with key == NULL is accepted with no signature at all;
 *  - an HS alg with key == NULL, or key_len == 0, computes an HMAC under the empty key;
 *  - an HS alg with a PEM key uses the PEM text as the HMAC secret: the classic RS/HS confusion,
 *    since the public key is public;
 *  - alg names are compared case-insensitively and the header is parsed by jansson, not by us.
 * So this file reads the header itself, holds the alg to a case-sensitive allow-list, picks the
 * key by the alg's family (an HMAC secret only for HS*, an RSA PEM only for RS*, an EC PEM on the
 * alg's own curve only for ES*), never passes NULL or an empty key, and after jwt_decode checks
 * that libjwt verified with the alg we chose. libjwt 1.10 has no claim validation, so exp, nbf,
 * aud, iss, sub and literal claims are checked here, on the payload libjwt verified. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gotrue_jwt.h"
#include "gotrue_json.h"
#include "jwks.h"
#include "log.h"
#include "secure.h"
#include "session.h"
#include "api.h"
#include "http.h"

#define PEM_MAX_SIZE	  (64 * 1024)
#define CLAIM_STR_MAX	  1024 /* sub is a UUID, email at most 320: anything longer is not GoTrue */
#define CLAIM_AUD_MAX	  32
#define CLAIM_TIME_MAX	  253402300799LL /* 9999-12-31: keeps exp + leeway far from overflow */
#define LEEWAY_MAX	  (24L * 3600)
#define VERIFIER_MAX_KEYS 128

enum key_kind {
	KEY_HMAC,
	KEY_RSA,
	KEY_EC,
};

struct vkey {
	enum key_kind kind;
	jwt_alg_t pin; /* the only alg this key may verify, or JWT_ALG_NONE for its family */
	char *kid;     /* NULL for the HMAC secret and a kid-less PEM */
	unsigned char *material; /* HMAC secret bytes, or the PEM (NUL-terminated) */
	size_t len;		 /* bytes of material given to libjwt (PEM without its NUL) */
};

struct gotrue_verifier {
	struct vkey *keys;
	size_t nkeys;
	bool allow_set; /* false: the algs the keys can verify */
	unsigned allow; /* bit (1 << jwt_alg_t) */
};

/* RFC 7518 §3.1 names, compared case-sensitively (RFC 7515 §4.1.1); "none" is not here, so it can
 * never be allowed. */
static const struct {
	const char *name;
	jwt_alg_t alg;
	enum key_kind kind;
	const char *ec_group; /* for ES*: the curve the alg is defined on (RFC 7518 §3.4) */
} alg_table[] = {
	{"HS256", JWT_ALG_HS256, KEY_HMAC, NULL},
	{"HS384", JWT_ALG_HS384, KEY_HMAC, NULL},
	{"HS512", JWT_ALG_HS512, KEY_HMAC, NULL},
	{"RS256", JWT_ALG_RS256, KEY_RSA, NULL},
	{"RS384", JWT_ALG_RS384, KEY_RSA, NULL},
	{"RS512", JWT_ALG_RS512, KEY_RSA, NULL},
	{"ES256", JWT_ALG_ES256, KEY_EC, "prime256v1"},
	{"ES384", JWT_ALG_ES384, KEY_EC, "secp384r1"},
	{"ES512", JWT_ALG_ES512, KEY_EC, "secp521r1"},
};
#define ALG_COUNT (sizeof(alg_table) / sizeof(alg_table[0]))

static int alg_index(const char *name)
{
	size_t i;

	for (i = 0; name && i < ALG_COUNT; i++)
		if (strcmp(name, alg_table[i].name) == 0)
			return (int)i;
	return -1;
}

static int alg_index_by_value(jwt_alg_t alg)
{
	size_t i;

	for (i = 0; i < ALG_COUNT; i++)
		if (alg_table[i].alg == alg)
			return (int)i;
	return -1;
}

static unsigned alg_bit(jwt_alg_t alg)
{
	return 1u << (unsigned)alg;
}

static void bad_jwt(struct gotrue_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void bad_jwt(struct gotrue_error *err, const char *fmt, ...)
{
	char msg[GOTRUE_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "%s", msg);
	snprintf(err->code, sizeof(err->code), "bad_jwt");
}

/* --- verifier ------------------------------------------------------------------------------ */

struct gotrue_verifier *gotrue_verifier_new(void)
{
	return calloc(1, sizeof(struct gotrue_verifier));
}

void gotrue_verifier_free(struct gotrue_verifier *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->nkeys; i++) {
		free(v->keys[i].kid);
		gotrue_wipe_free(v->keys[i].material, v->keys[i].len + 1);
	}
	free(v->keys);
	free(v);
}

/* Takes ownership of @material (wiped on any failure) and @kid. */
static int add_key(struct gotrue_verifier *v, enum key_kind kind, jwt_alg_t pin, char *kid,
		   unsigned char *material, size_t len)
{
	struct vkey *keys;
	int rc = -1;

	if (v->nkeys >= VERIFIER_MAX_KEYS)
		goto cleanup;
	keys = realloc(v->keys, (v->nkeys + 1) * sizeof(*keys));
	if (!keys)
		goto cleanup;
	v->keys = keys;
	keys[v->nkeys].kind = kind;
	keys[v->nkeys].pin = pin;
	keys[v->nkeys].kid = kid;
	keys[v->nkeys].material = material;
	keys[v->nkeys].len = len;
	v->nkeys++;
	kid = NULL;
	material = NULL;
	rc = 0;
cleanup:
	free(kid);
	gotrue_wipe_free(material, len + 1);
	return rc;
}

int gotrue_verifier_add_hmac(struct gotrue_verifier *v, const char *secret, size_t len)
{
	unsigned char *copy = NULL;
	int rc = -1;

	/* An empty key would reach libjwt as "no key", which verifies HS* under the empty secret;
	 * libjwt also takes the length as an int. */
	if (!v || !secret || len == 0 || len > INT_MAX - 1)
		goto cleanup;
	copy = malloc(len + 1);
	if (!copy)
		goto cleanup;
	memcpy(copy, secret, len);
	copy[len] = '\0';
	rc = add_key(v, KEY_HMAC, JWT_ALG_NONE, NULL, copy, len);
cleanup:
	return rc;
}

/* Parse a public key PEM, decide its kind (and for EC the one alg its curve allows), and store it
 * re-encoded by OpenSSL, so libjwt reads exactly the key we classified and not, say, a second
 * key after it in the same text. */
static int add_pem_pinned(struct gotrue_verifier *v, const char *pem, const char *kid,
			  jwt_alg_t pin)
{
	BIO *in = NULL, *out = NULL;
	EVP_PKEY *pkey = NULL;
	char group[64], *data, *kid_copy = NULL;
	unsigned char *copy = NULL;
	enum key_kind kind;
	long len = 0;
	int i, idx, rc = -1;

	if (!v || !pem || strnlen(pem, PEM_MAX_SIZE + 1) > PEM_MAX_SIZE)
		goto cleanup;
	in = BIO_new_mem_buf(pem, -1);
	if (!in)
		goto cleanup;
	pkey = PEM_read_bio_PUBKEY(in, NULL, NULL, NULL);
	if (!pkey)
		goto cleanup;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		/* RFC 7518 §3.3: 2048 bits or more. */
		if (EVP_PKEY_get_bits(pkey) < 2048 || EVP_PKEY_get_bits(pkey) > 8192)
			goto cleanup;
		kind = KEY_RSA;
		if (pin != JWT_ALG_NONE &&
		    ((idx = alg_index_by_value(pin)) < 0 || alg_table[idx].kind != KEY_RSA))
			goto cleanup;
	} else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL))
			goto cleanup;
		kind = KEY_EC;
		idx = -1;
		for (i = 0; i < (int)ALG_COUNT; i++)
			if (alg_table[i].ec_group && strcmp(alg_table[i].ec_group, group) == 0)
				idx = i;
		/* Other curves have no JWS alg; a pin must name this curve's alg. */
		if (idx < 0 || (pin != JWT_ALG_NONE && pin != alg_table[idx].alg))
			goto cleanup;
		pin = alg_table[idx].alg;
	} else {
		goto cleanup;
	}
	out = BIO_new(BIO_s_mem());
	if (!out || !PEM_write_bio_PUBKEY(out, pkey))
		goto cleanup;
	len = BIO_get_mem_data(out, &data);
	if (len <= 0 || !(copy = malloc((size_t)len + 1)))
		goto cleanup;
	memcpy(copy, data, (size_t)len);
	copy[len] = '\0';
	if (kid && !(kid_copy = strdup(kid)))
		goto cleanup;
	rc = add_key(v, kind, pin, kid_copy, copy, (size_t)len);
	copy = NULL;
	kid_copy = NULL;
cleanup:
	free(kid_copy);
	free(copy);
	EVP_PKEY_free(pkey);
	BIO_free(in);
	BIO_free(out);
	return rc;
}

int gotrue_verifier_add_pem(struct gotrue_verifier *v, const char *pem, const char *kid)
{
	return add_pem_pinned(v, pem, kid, JWT_ALG_NONE);
}

/* Each key pinned to its JWK's alg; the number added. */
static int add_jwk_keys(struct gotrue_verifier *v, const struct gotrue_jwk *keys, int n)
{
	int i, idx, added = 0;

	for (i = 0; i < n; i++) {
		idx = alg_index(keys[i].alg);
		if (idx >= 0 &&
		    add_pem_pinned(v, keys[i].pem, keys[i].kid, alg_table[idx].alg) == 0)
			added++;
	}
	return added;
}

int gotrue_verifier_add_jwks(struct gotrue_verifier *v, const char *json, size_t len)
{
	struct gotrue_jwk *keys = NULL;
	int n, added = -1;

	if (!v)
		return -1;
	n = gotrue_jwks_parse(json, len, &keys);
	if (n >= 0)
		added = add_jwk_keys(v, keys, n);
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	return added;
}

int gotrue_verifier_allow(struct gotrue_verifier *v, const char *const *algs)
{
	unsigned mask = 0;
	int i, idx, rc = -1;

	if (!v || !algs)
		goto cleanup;
	for (i = 0; algs[i]; i++) {
		/* "none" is accepted in the list but never takes effect: it has no table entry. */
		if (strcmp(algs[i], "none") == 0)
			continue;
		idx = alg_index(algs[i]);
		if (idx < 0)
			goto cleanup;
		mask |= alg_bit(alg_table[idx].alg);
	}
	v->allow = mask;
	v->allow_set = true;
	rc = 0;
cleanup:
	return rc;
}

static bool key_fits_alg(const struct vkey *k, int idx)
{
	if (k->kind != alg_table[idx].kind)
		return false;
	/* An EC key is always pinned to its curve's alg; a JWK may pin an RSA key to one RS*. */
	return k->pin == JWT_ALG_NONE || k->pin == alg_table[idx].alg;
}

/* The algs the keys can verify: HS256 for a secret (GoTrue signs HS256), RS256 for an RSA key
 * unless its JWK names another, and the curve's alg for an EC key. */
static unsigned default_allow(const struct gotrue_verifier *v)
{
	unsigned mask = 0;
	size_t i;

	for (i = 0; i < v->nkeys; i++) {
		if (v->keys[i].kind == KEY_HMAC)
			mask |= alg_bit(JWT_ALG_HS256);
		else if (v->keys[i].pin != JWT_ALG_NONE)
			mask |= alg_bit(v->keys[i].pin);
		else
			mask |= alg_bit(JWT_ALG_RS256);
	}
	return mask;
}

/* --- claims -------------------------------------------------------------------------------- */

void gotrue_claims_clear(struct gotrue_claims *cl)
{
	size_t i;

	if (!cl)
		return;
	free(cl->sub);
	free(cl->iss);
	free(cl->session_id);
	free(cl->role);
	free(cl->email);
	free(cl->aal);
	for (i = 0; cl->aud && cl->aud[i]; i++)
		free(cl->aud[i]);
	free(cl->aud);
	json_object_put(cl->all);
	memset(cl, 0, sizeof(*cl));
}

/* A bounded string without NUL, or -1. */
static int dup_json_string(json_object *val, char **out)
{
	int rc = -1;

	if (!json_object_is_type(val, json_type_string))
		goto cleanup;
	if (json_object_get_string_len(val) > CLAIM_STR_MAX ||
	    strlen(json_object_get_string(val)) != (size_t)json_object_get_string_len(val))
		goto cleanup;
	*out = strdup(json_object_get_string(val));
	if (*out)
		rc = 0;
cleanup:
	return rc;
}

/* Absent is fine (NULL); present must be a bounded string. */
static int claim_string(json_object *all, const char *name, char **out)
{
	json_object *val;

	*out = NULL;
	if (!json_object_object_get_ex(all, name, &val))
		return 0;
	return dup_json_string(val, out);
}

/* RFC 7519 §2 NumericDate; GoTrue writes integers, so a fraction or a string is refused. */
static int claim_time(json_object *all, const char *name, time_t *out)
{
	json_object *val;
	int64_t t;

	*out = 0;
	if (!json_object_object_get_ex(all, name, &val))
		return 0;
	if (!json_object_is_type(val, json_type_int))
		return -1;
	errno = 0;
	t = json_object_get_int64(val);
	if (errno != 0 || t < 0 || t > CLAIM_TIME_MAX)
		return -1;
	*out = (time_t)t;
	return 0;
}

/* RFC 7519 §4.1.3: a string or an array of strings. */
static int claim_aud(json_object *all, char ***out)
{
	json_object *val;
	size_t i, n;
	char **aud = NULL;
	int rc = -1;

	*out = NULL;
	if (!json_object_object_get_ex(all, "aud", &val))
		return 0;
	if (json_object_is_type(val, json_type_string)) {
		aud = calloc(2, sizeof(*aud));
		if (!aud || dup_json_string(val, &aud[0]) != 0)
			goto cleanup;
	} else if (json_object_is_type(val, json_type_array)) {
		n = json_object_array_length(val);
		if (n > CLAIM_AUD_MAX)
			goto cleanup;
		aud = calloc(n + 1, sizeof(*aud));
		if (!aud)
			goto cleanup;
		for (i = 0; i < n; i++)
			if (dup_json_string(json_object_array_get_idx(val, i), &aud[i]) != 0)
				goto cleanup;
	} else {
		goto cleanup;
	}
	*out = aud;
	aud = NULL;
	rc = 0;
cleanup:
	for (i = 0; aud && aud[i]; i++)
		free(aud[i]);
	free(aud);
	return rc;
}

int gotrue_claims_parse(const char *json, size_t len, struct gotrue_claims *out)
{
	struct gotrue_claims cl = {0};
	int rc = -1;

	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	cl.all = gotrue_json_parse_object(json, len, GOTRUE_TOKEN_MAX);
	if (!cl.all)
		goto cleanup;
	if (claim_string(cl.all, "sub", &cl.sub) != 0 ||
	    claim_string(cl.all, "iss", &cl.iss) != 0 ||
	    claim_string(cl.all, "session_id", &cl.session_id) != 0 ||
	    claim_string(cl.all, "role", &cl.role) != 0 ||
	    claim_string(cl.all, "email", &cl.email) != 0 ||
	    claim_string(cl.all, "aal", &cl.aal) != 0 || claim_aud(cl.all, &cl.aud) != 0 ||
	    claim_time(cl.all, "exp", &cl.exp) != 0 || claim_time(cl.all, "nbf", &cl.nbf) != 0 ||
	    claim_time(cl.all, "iat", &cl.iat) != 0)
		goto cleanup;
	*out = cl;
	memset(&cl, 0, sizeof(cl));
	rc = 0;
cleanup:
	gotrue_claims_clear(&cl);
	return rc;
}

/* --- token --------------------------------------------------------------------------------- */

struct token_parts {
	const char *head, *body, *sig;
	size_t head_len, body_len, sig_len;
};

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* RFC 7515 §7.1 compact serialisation: exactly three base64url parts. The length bound also
 * keeps libjwt's alloca() in jwt_b64_decode small. Returns NULL or a reason. */
static const char *split_token(const char *token, bool need_sig, struct token_parts *p)
{
	const char *part[3];
	size_t len, i, dots = 0;

	memset(p, 0, sizeof(*p));
	if (!token)
		return "malformed token (empty)";
	len = strnlen(token, GOTRUE_TOKEN_MAX + 1);
	if (len > GOTRUE_TOKEN_MAX)
		return "malformed token (too long)";
	part[0] = token;
	for (i = 0; i < len; i++) {
		if (token[i] == '.') {
			if (++dots > 2)
				break;
			part[dots] = token + i + 1;
		} else if (!b64url_char(token[i])) {
			return "malformed token (not base64url)";
		}
	}
	if (dots != 2)
		return "malformed token (not three parts)";
	p->head = part[0];
	p->head_len = (size_t)(part[1] - part[0] - 1);
	p->body = part[1];
	p->body_len = (size_t)(part[2] - part[1] - 1);
	p->sig = part[2];
	p->sig_len = (size_t)(token + len - part[2]);
	if (p->head_len == 0 || p->body_len == 0 || (need_sig && p->sig_len == 0))
		return "malformed token (empty part)";
	return NULL;
}

static json_object *decode_part(const char *b64, size_t len)
{
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	json_object *obj = NULL;

	if (gotrue_base64url_decode(b64, len, GOTRUE_TOKEN_MAX, &raw, &raw_len) == 0)
		obj = gotrue_json_parse_object((const char *)raw, raw_len, GOTRUE_TOKEN_MAX);
	free(raw);
	return obj;
}

int gotrue_jwt_peek_unverified(const char *token, json_object **header, json_object **claims)
{
	struct token_parts p;
	json_object *h = NULL, *c = NULL;
	int rc = -1;

	if (header)
		*header = NULL;
	if (claims)
		*claims = NULL;
	/* An empty signature is still "well-formed" for display: alg none tokens can be shown. */
	if (split_token(token, false, &p) != NULL)
		goto cleanup;
	h = decode_part(p.head, p.head_len);
	c = decode_part(p.body, p.body_len);
	if (!h || !c)
		goto cleanup;
	if (header) {
		*header = h;
		h = NULL;
	}
	if (claims) {
		*claims = c;
		c = NULL;
	}
	rc = 0;
cleanup:
	json_object_put(h);
	json_object_put(c);
	return rc;
}

/* Which alg the header names and which kid, if any. NULL or a reason. */
static const char *read_header(const struct token_parts *p, int *idx, char **kid)
{
	json_object *h, *val;
	const char *why = NULL;

	*idx = -1;
	*kid = NULL;
	h = decode_part(p->head, p->head_len);
	if (!h) {
		why = "malformed token (header)";
		goto cleanup;
	}
	if (!json_object_object_get_ex(h, "alg", &val) ||
	    !json_object_is_type(val, json_type_string)) {
		why = "alg missing";
		goto cleanup;
	}
	*idx = alg_index(json_object_get_string(val));
	if (*idx < 0) {
		why = "alg not supported";
		goto cleanup;
	}
	/* RFC 7515 §4.1.11: extensions we do not understand must make the token invalid. */
	if (json_object_object_get_ex(h, "crit", NULL)) {
		why = "crit header not supported";
		goto cleanup;
	}
	if (json_object_object_get_ex(h, "kid", &val) && dup_json_string(val, kid) != 0) {
		why = "kid malformed";
		goto cleanup;
	}
cleanup:
	json_object_put(h);
	return why;
}

static bool aud_contains(char **aud, const char *want)
{
	bool found = false;
	size_t i;

	for (i = 0; aud && aud[i] && !found; i++)
		found = strcmp(aud[i], want) == 0;
	return found;
}

/* RFC 7519 §4.1: exp, nbf with leeway (§4.1.4 "MAY provide for some small leeway"), aud, iss,
 * sub; then the literal claims. NULL or a reason, written into @buf when it names a claim. */
static const char *check_claims(const struct gotrue_claims *cl, const struct gotrue_jwt_expect *e,
				char *buf, size_t buf_len)
{
	bool has_exp = json_object_object_get_ex(cl->all, "exp", NULL);
	bool has_nbf = json_object_object_get_ex(cl->all, "nbf", NULL);
	const char *why = NULL;
	long long now, leeway;
	json_object *got;

	now = e->now ? (long long)e->now : (long long)time(NULL);
	leeway = e->leeway < 0 ? 0 : (e->leeway > LEEWAY_MAX ? LEEWAY_MAX : e->leeway);
	if (has_exp && now >= (long long)cl->exp + leeway)
		why = "exp: token expired";
	else if (!has_exp && e->require_exp)
		why = "exp missing";
	else if (has_nbf && now + leeway < (long long)cl->nbf)
		why = "nbf: token not yet valid";
	else if (e->aud && !aud_contains(cl->aud, e->aud))
		why = "aud mismatch";
	else if (e->iss && (!cl->iss || strcmp(cl->iss, e->iss) != 0))
		why = "iss mismatch";
	else if (e->sub && (!cl->sub || strcmp(cl->sub, e->sub) != 0))
		why = "sub mismatch";
	if (why == NULL && e->literal) {
		json_object_object_foreach(e->literal, key, want)
		{
			if (why == NULL && (!json_object_object_get_ex(cl->all, key, &got) ||
					    !json_object_equal(got, want))) {
				snprintf(buf, buf_len, "claim %.64s mismatch", key);
				why = buf;
			}
		}
	}
	return why;
}

/* The signature of @token checked with the keys of @v that fit its alg (table entry @idx) and, in
 * a key set, its @kid: *@jwt is libjwt's decoded token. NULL or a reason. */
static const char *check_signature(const struct gotrue_verifier *v, const char *token, int idx,
				   const char *kid, jwt_t **jwt)
{
	bool kid_select = false, tried = false;
	const char *why = NULL;
	const struct vkey *k;
	size_t i;

	*jwt = NULL;
	/* A kid selects among the keys that have one (a JWKS); HMAC secrets carry no kid. */
	for (i = 0; kid && alg_table[idx].kind != KEY_HMAC && i < v->nkeys; i++)
		kid_select = kid_select || v->keys[i].kid;
	for (i = 0; i < v->nkeys && !*jwt; i++) {
		k = &v->keys[i];
		if (!key_fits_alg(k, idx) || (kid_select && (!k->kid || strcmp(k->kid, kid) != 0)))
			continue;
		tried = true;
		if (jwt_decode(jwt, token, k->material, (int)k->len) != 0)
			*jwt = NULL;
	}
	if (!tried)
		why = kid_select ? "kid matches no key" : "no key for alg";
	else if (!*jwt)
		why = "signature";
	return why;
}

int gotrue_jwt_verify(const struct gotrue_verifier *v, const char *token,
		      const struct gotrue_jwt_expect *expect, struct gotrue_claims *out,
		      struct gotrue_error *err)
{
	static const struct gotrue_jwt_expect strict = {.require_exp = true};
	struct token_parts p;
	struct gotrue_claims cl = {0};
	jwt_t *jwt = NULL;
	char *kid = NULL, *grants = NULL, buf[128];
	const char *why;
	unsigned allow;
	int idx = -1, rc = -1;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!expect)
		expect = &strict;
	if (!v || !out) {
		why = "no verifier";
		goto cleanup;
	}
	why = split_token(token, true, &p);
	if (why)
		goto cleanup;
	why = read_header(&p, &idx, &kid);
	if (why)
		goto cleanup;
	allow = v->allow_set ? v->allow : default_allow(v);
	if (!(allow & alg_bit(alg_table[idx].alg))) {
		why = "alg not allowed";
		goto cleanup;
	}
	why = check_signature(v, token, idx, kid, &jwt);
	if (why)
		goto cleanup;
	/* libjwt chose the alg from its own parse of the header; it must be the one we checked. */
	if (jwt_get_alg(jwt) != alg_table[idx].alg) {
		why = "alg mismatch";
		goto cleanup;
	}
	grants = jwt_get_grants_json(jwt, NULL);
	if (!grants || gotrue_claims_parse(grants, strlen(grants), &cl) != 0) {
		why = "claims malformed";
		goto cleanup;
	}
	why = check_claims(&cl, expect, buf, sizeof(buf));
	if (why)
		goto cleanup;
	*out = cl;
	memset(&cl, 0, sizeof(cl));
	rc = 0;
cleanup:
	if (rc != 0)
		bad_jwt(err, "token refused: %s", why);
	gotrue_claims_clear(&cl);
	free(grants);
	free(kid);
	if (jwt)
		jwt_free(jwt);
	return rc;
}

/* --- from the config ----------------------------------------------------------------------- */

int gotrue_jwks_fetch(const struct gotrue_config *cfg, struct gotrue_client *c,
		      struct gotrue_jwk **keys, struct gotrue_error *err)
{
	struct gotrue_http_response resp = {0};
	struct gotrue_http *h = gotrue_client_http(c);
	int n = -1;

	*keys = NULL;
	if (!h || !cfg->jwks_url) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "no jwks_url or no http handle for it");
		goto cleanup;
	}
	if (gotrue_http_request(h, "GET", cfg->jwks_url, NULL, NULL, &resp, err) != 0)
		goto cleanup;
	/* A server that fails, or asks for fewer requests, is an outage; any other answer than a
	 * key set means jwks_url names something else than the server's GET
	 * /.well-known/jwks.json. */
	if (resp.status >= 500 || resp.status == 429) {
		gotrue_error_decode(err, resp.status, resp.error_code, resp.body, resp.body_len);
		goto cleanup;
	}
	if (resp.status < 200 || resp.status > 299) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "jwks_url answers HTTP %ld, not a key set",
				 resp.status);
		goto cleanup;
	}
	n = gotrue_jwks_parse(resp.body, resp.body_len, keys);
	if (n < 0)
		gotrue_error_set(err, GOTRUE_ERR_CONFIG,
				 "jwks_url answers something else than a JWK set");
cleanup:
	gotrue_http_response_clear(&resp);
	return n;
}

/* The keys at jwks_url, pinned to their algs. */
static int load_jwks(pam_handle_t *pamh, const struct gotrue_config *cfg, struct gotrue_client *c,
		     struct gotrue_verifier *v, struct gotrue_error *err)
{
	struct gotrue_jwk *keys = NULL;
	int n = gotrue_jwks_fetch(cfg, c, &keys, err);

	if (n >= 0)
		gotrue_debug(pamh, cfg->debug, "jwks: %d usable keys", add_jwk_keys(v, keys, n));
	gotrue_jwks_free(keys, n < 0 ? 0 : n);
	return n < 0 ? -1 : 0;
}

/* cfg->jwt_algs: every name known, none "none", and a key of its kind loaded. */
static int apply_algs(const struct gotrue_config *cfg, struct gotrue_verifier *v,
		      struct gotrue_error *err)
{
	size_t i, j;
	int idx, rc = -1;

	for (i = 0; cfg->jwt_algs[i]; i++) {
		idx = alg_index(cfg->jwt_algs[i]);
		if (idx < 0) {
			gotrue_error_set(err, GOTRUE_ERR_CONFIG, "jwt_algs: unsupported alg %.32s",
					 cfg->jwt_algs[i]);
			goto cleanup;
		}
		for (j = 0; j < v->nkeys && !key_fits_alg(&v->keys[j], idx); j++)
			;
		if (j == v->nkeys) {
			gotrue_error_set(err, GOTRUE_ERR_CONFIG, "jwt_algs: no key for %s",
					 alg_table[idx].name);
			goto cleanup;
		}
	}
	if (gotrue_verifier_allow(v, (const char *const *)cfg->jwt_algs) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "jwt_algs: invalid list");
		goto cleanup;
	}
	rc = 0;
cleanup:
	return rc;
}

struct gotrue_verifier *gotrue_verifier_from_config(pam_handle_t *pamh,
						    const struct gotrue_config *cfg,
						    struct gotrue_client *c,
						    struct gotrue_error *err)
{
	struct gotrue_verifier *v = NULL;
	struct gotrue_error local = {0};
	struct gotrue_config scratch;
	char *pem = NULL, *secret = NULL;
	size_t pem_len = 0;
	bool ok = false;
	int r;

	if (!err)
		err = &local; /* the reason is still logged */
	if (!cfg) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "no config");
		goto cleanup;
	}
	v = gotrue_verifier_new();
	if (!v) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (cfg->jwt_secret) {
		secret = gotrue_secret_strdup(cfg->jwt_secret);
	} else if (cfg->jwt_secret_file) {
		/* cfg is the caller's and const: load into a scratch copy whose only owned field is
		 * the secret we take (and wipe) here. */
		scratch = *cfg;
		scratch.jwt_secret = NULL;
		if (gotrue_config_load_secret(pamh, &scratch, GOTRUE_SECRET_JWT_SECRET) != 0) {
			gotrue_error_set(err, GOTRUE_ERR_CONFIG, "jwt_secret_file unreadable");
			goto cleanup;
		}
		secret = scratch.jwt_secret;
	}
	if ((cfg->jwt_secret || cfg->jwt_secret_file) &&
	    (!secret || gotrue_verifier_add_hmac(v, secret, strlen(secret)) != 0)) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "jwt secret empty or unusable");
		goto cleanup;
	}
	if (cfg->jwt_public_key) {
		r = gotrue_read_file(pamh, cfg->jwt_public_key, GOTRUE_FILE_CONFIG, PEM_MAX_SIZE,
				     &pem, &pem_len);
		if (r != 0 || gotrue_verifier_add_pem(v, pem, NULL) != 0) {
			gotrue_error_set(err, GOTRUE_ERR_CONFIG,
					 "jwt_public_key: not a usable RSA or EC public key");
			goto cleanup;
		}
	}
	if (cfg->jwks_url && c && load_jwks(pamh, cfg, c, v, err) != 0)
		goto cleanup;
	if (v->nkeys == 0) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG,
				 "no JWT key (jwt_secret_file, jwt_public_key or jwks_url)");
		goto cleanup;
	}
	if (cfg->jwt_algs && apply_algs(cfg, v, err) != 0)
		goto cleanup;
	ok = true;
cleanup:
	if (!ok) {
		gotrue_log(pamh, LOG_ERR, "jwt verifier: %s", err->message);
		gotrue_verifier_free(v);
		v = NULL;
	}
	gotrue_wipe_free_str(secret);
	if (pem)
		gotrue_wipe_free(pem, pem_len + 1);
	gotrue_error_clear(&local);
	return v;
}
