/* fleet_crypto: keys, signatures, sealing and hashes of the fleet's bundle (fleet_crypto.h), on
 * OpenSSL's EVP interface only. Ed25519 signs the manifest (RFC 8032, "pure" Ed25519: the message
 * itself, no pre-hash); AES-256-GCM seals the account index under a fresh random 96-bit nonce per
 * sealing, which with one key for at most a few million sealings stays far inside SP 800-38D's
 * 2^32 bound for random nonces. */
#include <config.h>

#include <ctype.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "fleet_crypto.h"
#include "secure.h"

void gotrue_fleet_keys_clear(struct gotrue_fleet_keys *k)
{
	explicit_bzero(k, sizeof(*k));
}

void gotrue_fleet_sha256_hex(const void *data, size_t len, char out[GOTRUE_FLEET_SHA256_HEX + 1])
{
	unsigned char md[32];
	unsigned int n = 0;
	size_t i;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != sizeof(md))
		memset(md, 0, sizeof(md)); /* names nothing published: every check fails */
	for (i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Base64 of @len bytes into @out (room for 4 * ceil(len / 3) + 1). */
static void b64_encode(const unsigned char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* Decode exactly @want bytes from the @len characters of base64 @in. 0 or -1. */
static int b64_decode(const char *in, size_t len, unsigned char *out, size_t want)
{
	unsigned char buf[128];
	size_t pad = 0;
	int n, rc = -1;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
		goto cleanup;
	pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n - pad != want)
		goto cleanup;
	memcpy(out, buf, want);
	rc = 0;
cleanup:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static EVP_PKEY *private_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = NULL;

	if (bio != NULL)
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (k != NULL && EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

static int public_b64(EVP_PKEY *k, char pub_b64[64])
{
	unsigned char raw[GOTRUE_FLEET_PUBKEY_LEN];
	size_t len = sizeof(raw);
	int rc = -1;

	if (EVP_PKEY_get_raw_public_key(k, raw, &len) == 1 && len == sizeof(raw)) {
		b64_encode(raw, len, pub_b64);
		rc = 0;
	}
	return rc;
}

/* PKCS#8 PEM of @k into a string of ours (the BIO's copy is wiped with it). */
static char *pem_of(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL, *out = NULL;
	long len;

	if (bio == NULL || PEM_write_bio_PKCS8PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1)
		goto cleanup;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || (out = malloc((size_t)len + 1)) == NULL)
		goto cleanup;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
cleanup:
	BIO_free(bio);
	return out;
}

int gotrue_fleet_keygen_signing(char **pem, char pub_b64[64])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	int rc = -1;

	*pem = NULL;
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &k) != 1)
		goto cleanup;
	if (public_b64(k, pub_b64) != 0 || (*pem = pem_of(k)) == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int gotrue_fleet_keygen_fleet_key(char out[GOTRUE_FLEET_KEY_LEN * 2 + 2])
{
	unsigned char key[GOTRUE_FLEET_KEY_LEN];
	size_t i;
	int rc = -1;

	if (RAND_priv_bytes(key, sizeof(key)) == 1) {
		for (i = 0; i < sizeof(key); i++)
			snprintf(out + 2 * i, 3, "%02x", key[i]);
		out[2 * sizeof(key)] = '\n';
		out[2 * sizeof(key) + 1] = '\0';
		rc = 0;
	}
	explicit_bzero(key, sizeof(key));
	return rc;
}

int gotrue_fleet_public_of(const char *pem, char pub_b64[64])
{
	EVP_PKEY *k = private_from_pem(pem);
	int rc = k != NULL ? public_b64(k, pub_b64) : -1;

	EVP_PKEY_free(k);
	return rc;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r';
}

int gotrue_fleet_pubkeys_parse(const char *text, struct gotrue_fleet_pubkeys *out)
{
	const char *p = text, *start;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (rc == 0 && *p != '\0') {
		while (is_sep(*p))
			p++;
		if (*p == '\0')
			break;
		for (start = p; *p != '\0' && !is_sep(*p); p++)
			;
		if (out->n == GOTRUE_FLEET_MAX_KEYS ||
		    b64_decode(start, (size_t)(p - start), out->key[out->n],
			       GOTRUE_FLEET_PUBKEY_LEN) != 0)
			rc = -1;
		else
			out->n++;
	}
	return rc == 0 && out->n > 0 ? 0 : -1;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One key of 64 hex digits at @p, then a newline or the end. Returns the next line, or NULL. */
static const char *key_line(const char *p, unsigned char key[GOTRUE_FLEET_KEY_LEN])
{
	size_t i;
	int hi, lo;

	for (i = 0; i < GOTRUE_FLEET_KEY_LEN; i++) {
		hi = hex_nibble(p[2 * i]);
		lo = hi < 0 ? -1 : hex_nibble(p[2 * i + 1]);
		if (lo < 0)
			return NULL;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	p += 2 * GOTRUE_FLEET_KEY_LEN;
	if (*p == '\n')
		p++;
	else if (*p != '\0')
		p = NULL;
	return p;
}

int gotrue_fleet_keys_parse(const char *text, struct gotrue_fleet_keys *out)
{
	const char *p = text;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (rc == 0 && p != NULL && *p != '\0') {
		if (out->n == GOTRUE_FLEET_MAX_KEYS)
			rc = -1;
		else if ((p = key_line(p, out->key[out->n])) != NULL)
			out->n++;
	}
	if (rc != 0 || p == NULL || out->n == 0) {
		gotrue_fleet_keys_clear(out);
		rc = -1;
	}
	return rc;
}

int gotrue_fleet_sign(const char *pem, const void *msg, size_t len, char sig_b64[96])
{
	EVP_PKEY *k = private_from_pem(pem);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[GOTRUE_FLEET_SIG_LEN];
	size_t sig_len = sizeof(sig);
	int rc = -1;

	if (k == NULL || md == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, msg, len) != 1 || sig_len != sizeof(sig))
		goto cleanup;
	b64_encode(sig, sig_len, sig_b64);
	rc = 0;
cleanup:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}

static bool verify_one(const unsigned char pub[GOTRUE_FLEET_PUBKEY_LEN], const void *msg,
		       size_t len, const unsigned char sig[GOTRUE_FLEET_SIG_LEN])
{
	EVP_PKEY *k =
		EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, GOTRUE_FLEET_PUBKEY_LEN);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = false;

	if (k != NULL && md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1)
		ok = EVP_DigestVerify(md, sig, GOTRUE_FLEET_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return ok;
}

bool gotrue_fleet_verify(const struct gotrue_fleet_pubkeys *keys, const void *msg, size_t len,
			 const char *sig_b64, size_t sig_len)
{
	unsigned char sig[GOTRUE_FLEET_SIG_LEN];
	bool ok = false;
	size_t i;

	if (b64_decode(sig_b64, sig_len, sig, sizeof(sig)) == 0)
		for (i = 0; i < keys->n && !ok; i++)
			ok = verify_one(keys->key[i], msg, len, sig);
	return ok;
}

static void key_id(const unsigned char key[GOTRUE_FLEET_KEY_LEN],
		   unsigned char id[GOTRUE_FLEET_KEY_ID_LEN])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(key, GOTRUE_FLEET_KEY_LEN, md, &n, EVP_sha256(), NULL);
	memcpy(id, md, GOTRUE_FLEET_KEY_ID_LEN);
}

/* An AES-256-GCM context for the sealed file whose header is @head, under @key: the header is
 * the additional authenticated data. NULL on failure. */
static EVP_CIPHER_CTX *gcm_begin(bool seal, const unsigned char *key, const unsigned char *head)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	const unsigned char *nonce = head + GOTRUE_FLEET_MAGIC_LEN + GOTRUE_FLEET_KEY_ID_LEN;
	int n = 0;

	if (c != NULL &&
	    (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, seal ? 1 : 0) != 1 ||
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GOTRUE_FLEET_NONCE_LEN, NULL) != 1 ||
	     EVP_CipherInit_ex(c, NULL, NULL, key, nonce, -1) != 1 ||
	     EVP_CipherUpdate(c, NULL, &n, head, GOTRUE_FLEET_SEAL_HEAD) != 1)) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	return c;
}

/* @len bytes through @c, in pieces an int can count. */
static int gcm_update(EVP_CIPHER_CTX *c, const unsigned char *in, size_t len, unsigned char *out)
{
	size_t step;
	int n = 0, rc = 0;

	for (; len > 0 && rc == 0; in += step, out += step, len -= step) {
		step = len > (1U << 30) ? (1U << 30) : len;
		rc = EVP_CipherUpdate(c, out, &n, in, (int)step) == 1 && (size_t)n == step ? 0 : -1;
	}
	return rc;
}

int gotrue_fleet_seal(const unsigned char key[GOTRUE_FLEET_KEY_LEN], const void *plain, size_t len,
		      unsigned char **out, size_t *out_len)
{
	unsigned char *buf = malloc(len + GOTRUE_FLEET_SEAL_EXTRA);
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, rc = -1;

	*out = NULL;
	*out_len = 0;
	if (buf == NULL)
		goto cleanup;
	memcpy(buf, GOTRUE_FLEET_MAGIC, GOTRUE_FLEET_MAGIC_LEN);
	key_id(key, buf + GOTRUE_FLEET_MAGIC_LEN);
	if (RAND_bytes(buf + GOTRUE_FLEET_MAGIC_LEN + GOTRUE_FLEET_KEY_ID_LEN,
		       GOTRUE_FLEET_NONCE_LEN) != 1 ||
	    (c = gcm_begin(true, key, buf)) == NULL ||
	    gcm_update(c, plain, len, buf + GOTRUE_FLEET_SEAL_HEAD) != 0 ||
	    EVP_CipherFinal_ex(c, buf + GOTRUE_FLEET_SEAL_HEAD + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GOTRUE_FLEET_TAG_LEN,
				buf + GOTRUE_FLEET_SEAL_HEAD + len) != 1)
		goto cleanup;
	*out = buf;
	*out_len = len + GOTRUE_FLEET_SEAL_EXTRA;
	buf = NULL;
	rc = 0;
cleanup:
	EVP_CIPHER_CTX_free(c);
	free(buf);
	return rc;
}

/* The key of @keys whose id is @id, or NULL. */
static const unsigned char *key_for(const struct gotrue_fleet_keys *keys, const unsigned char *id)
{
	unsigned char mine[GOTRUE_FLEET_KEY_ID_LEN];
	const unsigned char *k = NULL;
	size_t i;

	for (i = 0; i < keys->n && k == NULL; i++) {
		key_id(keys->key[i], mine);
		if (memcmp(mine, id, sizeof(mine)) == 0)
			k = keys->key[i];
	}
	return k;
}

struct gotrue_fleet_opener *gotrue_fleet_open_begin(const struct gotrue_fleet_keys *keys,
						    const unsigned char *head)
{
	const unsigned char *key = NULL;

	if (memcmp(head, GOTRUE_FLEET_MAGIC, GOTRUE_FLEET_MAGIC_LEN) == 0)
		key = key_for(keys, head + GOTRUE_FLEET_MAGIC_LEN);
	return key != NULL ? (struct gotrue_fleet_opener *)gcm_begin(false, key, head) : NULL;
}

int gotrue_fleet_open_update(struct gotrue_fleet_opener *o, const unsigned char *in, size_t len,
			     unsigned char *out)
{
	return gcm_update((EVP_CIPHER_CTX *)o, in, len, out);
}

int gotrue_fleet_open_final(struct gotrue_fleet_opener *o, const unsigned char *tag)
{
	EVP_CIPHER_CTX *c = (EVP_CIPHER_CTX *)o;
	unsigned char none[16];
	int n = 0, rc = -1;

	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GOTRUE_FLEET_TAG_LEN, (void *)tag) == 1 &&
	    EVP_CipherFinal_ex(c, none, &n) == 1)
		rc = 0;
	EVP_CIPHER_CTX_free(c);
	return rc;
}

void gotrue_fleet_open_free(struct gotrue_fleet_opener *o)
{
	EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)o);
}

int gotrue_fleet_open(const struct gotrue_fleet_keys *keys, const unsigned char *sealed, size_t len,
		      unsigned char **out, size_t *out_len)
{
	struct gotrue_fleet_opener *o = NULL;
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (len < GOTRUE_FLEET_SEAL_EXTRA || (o = gotrue_fleet_open_begin(keys, sealed)) == NULL)
		goto cleanup;
	n = len - GOTRUE_FLEET_SEAL_EXTRA;
	if ((buf = malloc(n + 1)) == NULL ||
	    gotrue_fleet_open_update(o, sealed + GOTRUE_FLEET_SEAL_HEAD, n, buf) != 0)
		goto cleanup;
	rc = gotrue_fleet_open_final(o, sealed + GOTRUE_FLEET_SEAL_HEAD + n);
	o = NULL;
	if (rc != 0)
		goto cleanup;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	buf = NULL;
cleanup:
	gotrue_fleet_open_free(o);
	if (buf != NULL)
		gotrue_wipe_free(buf, n + 1);
	return rc;
}
