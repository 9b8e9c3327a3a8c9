/* fleet_crypto: the fleet's keys and what is done with them, through OpenSSL's EVP: the
 * publisher's Ed25519 signing key (RFC 8032) and the hosts' pinned public keys, the fleet key
 * that seals the private account index (AES-256-GCM, NIST SP 800-38D), and SHA-256 names of the
 * published files. */
#ifndef GOTRUE_FLEET_CRYPTO_H
#define GOTRUE_FLEET_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <security/pam_ext.h>

#define GOTRUE_FLEET_PUBKEY_LEN 32 /* raw Ed25519 public key */
#define GOTRUE_FLEET_SIG_LEN	64 /* Ed25519 signature */
#define GOTRUE_FLEET_KEY_LEN	32 /* AES-256 */
#define GOTRUE_FLEET_KEY_ID_LEN 8  /* first bytes of SHA-256(fleet key) */
#define GOTRUE_FLEET_NONCE_LEN	12 /* GCM's 96-bit nonce */
#define GOTRUE_FLEET_TAG_LEN	16
#define GOTRUE_FLEET_MAGIC	"GTFLEET1"
#define GOTRUE_FLEET_MAGIC_LEN	8
/* magic | key id | nonce, then the ciphertext, then the tag. */
#define GOTRUE_FLEET_SEAL_HEAD                                                                     \
	(GOTRUE_FLEET_MAGIC_LEN + GOTRUE_FLEET_KEY_ID_LEN + GOTRUE_FLEET_NONCE_LEN)
#define GOTRUE_FLEET_SEAL_EXTRA (GOTRUE_FLEET_SEAL_HEAD + GOTRUE_FLEET_TAG_LEN)
#define GOTRUE_FLEET_SHA256_HEX 64
/* Keys a host may pin, or hold, at once: the current one and, during a rotation, the next. */
#define GOTRUE_FLEET_MAX_KEYS 2

struct gotrue_fleet_pubkeys {
	unsigned char key[GOTRUE_FLEET_MAX_KEYS][GOTRUE_FLEET_PUBKEY_LEN];
	size_t n;
};

struct gotrue_fleet_keys {
	unsigned char key[GOTRUE_FLEET_MAX_KEYS][GOTRUE_FLEET_KEY_LEN];
	size_t n;
};
/* Wipe the keys. */
void gotrue_fleet_keys_clear(struct gotrue_fleet_keys *k);

/* SHA-256 of @data as 64 lower-case hex digits and a NUL. */
void gotrue_fleet_sha256_hex(const void *data, size_t len, char out[GOTRUE_FLEET_SHA256_HEX + 1]);

/* A new signing key pair: the private key as PKCS#8 PEM in *@pem (gotrue_wipe_free_str()), the
 * public key as base64 of its 32 raw bytes in @pub_b64. 0 or -1. */
int gotrue_fleet_keygen_signing(char **pem, char pub_b64[64]);
/* 32 random bytes as 64 hex digits and a newline. 0 or -1. */
int gotrue_fleet_keygen_fleet_key(char out[GOTRUE_FLEET_KEY_LEN * 2 + 2]);
/* The base64 public key of the PEM private key @pem. 0 or -1. */
int gotrue_fleet_public_of(const char *pem, char pub_b64[64]);

/* Pinned keys from a config value: one or two base64 keys separated by blanks or commas.
 * 0, or -1 (not one or two valid keys). */
int gotrue_fleet_pubkeys_parse(const char *text, struct gotrue_fleet_pubkeys *out);
/* Fleet keys from a key file's text: one or two lines of 64 hex digits (the first is the one the
 * publisher seals with). 0 or -1. */
int gotrue_fleet_keys_parse(const char *text, struct gotrue_fleet_keys *out);

/* Ed25519 signature of @msg with the PEM private key @pem, as base64 in @sig_b64. 0 or -1. */
int gotrue_fleet_sign(const char *pem, const void *msg, size_t len, char sig_b64[96]);
/* Whether base64 signature @sig_b64 (@sig_len characters) signs @msg under one of @keys. */
bool gotrue_fleet_verify(const struct gotrue_fleet_pubkeys *keys, const void *msg, size_t len,
			 const char *sig_b64, size_t sig_len);

/* Seal @plain with @key: a fresh random nonce; the header (magic, key id, nonce) is the
 * additional authenticated data. *@out (free()) holds *@out_len = @len + GOTRUE_FLEET_SEAL_EXTRA
 * bytes. 0 or -1. */
int gotrue_fleet_seal(const unsigned char key[GOTRUE_FLEET_KEY_LEN], const void *plain, size_t len,
		      unsigned char **out, size_t *out_len);
/* Opening a sealed file as it arrives: begin with its first GOTRUE_FLEET_SEAL_HEAD bytes (NULL
 * when it is not sealed by us or no key of @keys has its id), then update with the ciphertext
 * (@out has room for @len bytes: the plain text, not yet authentic), then final with the
 * last GOTRUE_FLEET_TAG_LEN bytes: 0 only when all of it is authentic. final frees, as free
 * does for an opening given up. */
struct gotrue_fleet_opener;
struct gotrue_fleet_opener *gotrue_fleet_open_begin(const struct gotrue_fleet_keys *keys,
						    const unsigned char *head);
int gotrue_fleet_open_update(struct gotrue_fleet_opener *o, const unsigned char *in, size_t len,
			     unsigned char *out);
int gotrue_fleet_open_final(struct gotrue_fleet_opener *o, const unsigned char *tag);
void gotrue_fleet_open_free(struct gotrue_fleet_opener *o);

/* Open what gotrue_fleet_seal made, with whichever of @keys its key id names. *@out
 * (gotrue_wipe_free(*out, *out_len + 1), NUL-terminated) holds the plain text. 0, or -1 (not
 * sealed by us, no key for it, or altered). */
int gotrue_fleet_open(const struct gotrue_fleet_keys *keys, const unsigned char *sealed, size_t len,
		      unsigned char **out, size_t *out_len);

#endif
