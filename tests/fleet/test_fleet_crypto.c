/* test_fleet_crypto: what a host trusts a bundle by (lib/fleet): Ed25519 signatures against one
 * or two pinned keys, the AES-256-GCM sealing of the account index under one of two fleet keys,
 * and the strict manifest parser. Every alteration an attacker can make to the bytes is
 * refused. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "fleet_crypto.h"
#include "manifest.h"
#include "secure.h"
#include "tap.h"

static const char msg[] = "{\"format\":\"gotrue-fleet-1\"}\n";

static void test_signatures(void)
{
	char *pem_a = NULL, *pem_b = NULL, pub_a[64], pub_b[64], both[140], sig[96], again[64];
	struct gotrue_fleet_pubkeys pins;
	size_t len = strlen(msg);
	char keep;

	ok(gotrue_fleet_keygen_signing(&pem_a, pub_a) == 0 &&
		   gotrue_fleet_keygen_signing(&pem_b, pub_b) == 0,
	   "two signing key pairs");
	ok(strstr(pem_a, "BEGIN PRIVATE KEY") != NULL && strlen(pub_a) == 44,
	   "private key in PKCS#8 PEM, public key as 44 base64 characters");
	ok(gotrue_fleet_public_of(pem_a, again) == 0 && strcmp(again, pub_a) == 0,
	   "the public key follows from the private one");
	ok(gotrue_fleet_sign(pem_a, msg, len, sig) == 0, "signed");
	ok(gotrue_fleet_pubkeys_parse(pub_a, &pins) == 0 && pins.n == 1, "one pinned key");
	ok(gotrue_fleet_verify(&pins, msg, len, sig, strlen(sig)), "its signature verifies");
	ok(!gotrue_fleet_verify(&pins, msg, len - 1, sig, strlen(sig)), "one byte less: refused");
	keep = sig[3];
	sig[3] = keep == 'A' ? 'B' : 'A';
	ok(!gotrue_fleet_verify(&pins, msg, len, sig, strlen(sig)),
	   "an altered signature: refused");
	sig[3] = keep;
	ok(!gotrue_fleet_verify(&pins, msg, len, sig, strlen(sig) - 4), "a cut signature: refused");
	ok(gotrue_fleet_pubkeys_parse(pub_b, &pins) == 0 &&
		   !gotrue_fleet_verify(&pins, msg, len, sig, strlen(sig)),
	   "another key: refused");
	snprintf(both, sizeof(both), "%s, %s", pub_b, pub_a);
	ok(gotrue_fleet_pubkeys_parse(both, &pins) == 0, "two pinned keys parse");
	is_int(pins.n, 2, "two pinned keys");
	ok(gotrue_fleet_verify(&pins, msg, len, sig, strlen(sig)),
	   "two pinned keys (a rotation): the second one verifies");
	snprintf(both, sizeof(both), "%s %s %s", pub_a, pub_a, pub_a);
	ok(gotrue_fleet_pubkeys_parse(both, &pins) != 0, "three keys: refused");
	ok(gotrue_fleet_pubkeys_parse("", &pins) != 0, "no key: refused");
	ok(gotrue_fleet_pubkeys_parse("AAAA", &pins) != 0, "too short: refused");
	ok(gotrue_fleet_pubkeys_parse("not base64 at all!!!!!!!!!!!!!!!!!!!!!!!!!", &pins) != 0,
	   "not base64: refused");
	ok(gotrue_fleet_sign("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", msg,
			     len, sig) != 0,
	   "a PEM that is no Ed25519 key signs nothing");
	gotrue_wipe_free_str(pem_a);
	gotrue_wipe_free_str(pem_b);
}

static void test_keys(void)
{
	struct gotrue_fleet_keys k;
	char a[66], b[66], two[140];

	ok(gotrue_fleet_keygen_fleet_key(a) == 0 && gotrue_fleet_keygen_fleet_key(b) == 0 &&
		   strlen(a) == 65 && a[64] == '\n' && strcmp(a, b) != 0,
	   "fleet keys: 64 hex digits and a newline, random");
	ok(gotrue_fleet_keys_parse(a, &k) == 0 && k.n == 1, "one key line");
	snprintf(two, sizeof(two), "%s%s", a, b);
	ok(gotrue_fleet_keys_parse(two, &k) == 0 && k.n == 2, "two key lines");
	snprintf(two, sizeof(two), "%s%s%s", a, b, "");
	two[strlen(two) - 1] = '\0';
	ok(gotrue_fleet_keys_parse(two, &k) == 0 && k.n == 2, "no final newline");
	snprintf(two, sizeof(two), "%.63s\n", a);
	ok(gotrue_fleet_keys_parse(two, &k) != 0, "63 digits: refused");
	snprintf(two, sizeof(two), "%.64sx\n", a);
	ok(gotrue_fleet_keys_parse(two, &k) != 0, "a 65th character: refused");
	a[5] = 'g';
	ok(gotrue_fleet_keys_parse(a, &k) != 0, "not hex: refused");
	ok(gotrue_fleet_keys_parse("", &k) != 0, "empty: refused");
	gotrue_fleet_keys_clear(&k);
}

static void flip(unsigned char *buf, size_t at)
{
	buf[at] ^= 0x01;
}

static void test_seal(void)
{
	static const char plain[] = "alice\tid-1\talice@example.com\n";
	struct gotrue_fleet_keys k1, k2, both;
	char a[66], b[66], two[140];
	unsigned char *sealed = NULL, *out = NULL, *again = NULL;
	size_t n = 0, out_len = 0, again_len = 0, at;
	const size_t places[] = {0, 9, GOTRUE_FLEET_MAGIC_LEN + GOTRUE_FLEET_KEY_ID_LEN + 1,
				 GOTRUE_FLEET_SEAL_HEAD + 3,
				 sizeof(plain) - 1 + GOTRUE_FLEET_SEAL_HEAD + 5};
	const char *names[] = {"magic", "key id", "nonce", "ciphertext", "tag"};

	gotrue_fleet_keygen_fleet_key(a);
	gotrue_fleet_keygen_fleet_key(b);
	snprintf(two, sizeof(two), "%s%s", b, a);
	gotrue_fleet_keys_parse(a, &k1);
	gotrue_fleet_keys_parse(b, &k2);
	gotrue_fleet_keys_parse(two, &both);
	ok(gotrue_fleet_seal(k1.key[0], plain, sizeof(plain) - 1, &sealed, &n) == 0 &&
		   n == sizeof(plain) - 1 + GOTRUE_FLEET_SEAL_EXTRA,
	   "sealed: the plain text's size plus header and tag");
	ok(memmem(sealed, n, "alice", 5) == NULL, "no plain text in the sealed bytes");
	ok(gotrue_fleet_open(&k1, sealed, n, &out, &out_len) == 0 && out_len == sizeof(plain) - 1 &&
		   memcmp(out, plain, out_len) == 0,
	   "opened with its key");
	ok(gotrue_fleet_open(&both, sealed, n, &again, &again_len) == 0 && again_len == out_len,
	   "opened by a host holding the next key and this one");
	gotrue_wipe_free(again, again_len + 1);
	ok(gotrue_fleet_open(&k2, sealed, n, &again, &again_len) != 0 && again == NULL,
	   "another fleet's key: refused");
	for (at = 0; at < sizeof(places) / sizeof(places[0]); at++) {
		flip(sealed, places[at]);
		ok(gotrue_fleet_open(&both, sealed, n, &again, &again_len) != 0,
		   "one bit of the %s changed: refused", names[at]);
		flip(sealed, places[at]);
	}
	ok(gotrue_fleet_open(&k1, sealed, n - 1, &again, &again_len) != 0, "cut: refused");
	ok(gotrue_fleet_open(&k1, sealed, 10, &again, &again_len) != 0, "a stub: refused");
	gotrue_wipe_free(out, out_len + 1);
	free(sealed);
	gotrue_fleet_keys_clear(&k1);
	gotrue_fleet_keys_clear(&k2);
	gotrue_fleet_keys_clear(&both);
}

#define SHA_A "0881a26660745453adb6b10b01bd72b791d7e096790f03365459f76455cec550"
#define SHA_B "524d45203d86b1f71f31400d35447575eb62f39232300014cdbfd2ae97d525ec"
static const char sha_a[] = SHA_A;
static const char sha_b[] = SHA_B;

/* A manifest line with @head's members, then @files as its files array. */
static int parse_line(const char *head, const char *files)
{
	struct gotrue_fleet_manifest m;
	char line[2048];

	snprintf(line, sizeof(line), "{%s\"files\":%s}\n", head, files);
	return gotrue_fleet_manifest_parse(line, strlen(line), &m);
}

#define HEAD		   "\"format\":\"gotrue-fleet-1\",\"serial\":7,\"created\":100,\"expires\":200,"
#define F(role, sha, size) "{\"role\":\"" role "\",\"sha256\":\"" sha "\",\"size\":" size "}"
#define TWO		   "[" F("nss_cache", SHA_A, "5") "," F("accounts", SHA_B, "6") "]"

static void test_manifest_strict(void)
{
	ok(parse_line(HEAD, TWO) == 0, "a plain manifest parses");
	ok(parse_line(HEAD, "[" F("nss_cache", SHA_A, "5") "]") != 0, "no accounts: refused");
	ok(parse_line(HEAD, "[" F("nss_cache", SHA_A, "5") "," F("nss_cache", SHA_B, "6") "," F(
				    "accounts", SHA_B, "6") "]") != 0,
	   "a role twice: refused");
	ok(parse_line(HEAD, "[" F("nss_cache", SHA_A, "5") "," F("shadow", SHA_B, "6") "]") != 0,
	   "an unknown role: refused");
	ok(parse_line(HEAD, "[" F("nss_cache", SHA_A, "-5") "," F("accounts", SHA_B, "6") "]") != 0,
	   "a negative size: refused");
	ok(parse_line(HEAD, "[" F("nss_cache", SHA_A, "\"5\"") "," F("accounts", SHA_B, "6") "]") !=
		   0,
	   "a size as a string: refused");
	ok(parse_line(HEAD, "[" F("nss_cache",
				  "0881A26660745453ADB6B10B01BD72B791D7E096790F03365459F7"
				  "6455CEC550",
				  "5") "," F("accounts", SHA_B, "6") "]") != 0,
	   "an upper-case hash: refused");
	ok(parse_line(HEAD, "[" F("nss_cache", "../etc/passwd", "5") "," F("accounts", SHA_B,
									   "6") "]") != 0,
	   "a path for a hash: refused");
	ok(parse_line(HEAD, "[{\"role\":\"nss_cache\",\"sha256\":\"" SHA_A
			    "\",\"size\":5,\"url\":\"x\"}," F("accounts", SHA_B, "6") "]") != 0,
	   "an extra member in a file: refused");
	ok(parse_line(HEAD "\"x\":1,", TWO) != 0, "an extra member: refused");
	ok(parse_line("\"format\":\"gotrue-fleet-2\",\"serial\":7,\"created\":100,\"expires\":200,",
		      TWO) != 0,
	   "another format: refused");
	ok(parse_line("\"format\":\"gotrue-fleet-1\",\"serial\":0,\"created\":100,\"expires\":200,",
		      TWO) != 0,
	   "serial 0: refused");
	ok(parse_line("\"format\":\"gotrue-fleet-1\",\"serial\":7,\"created\":300,\"expires\":200,",
		      TWO) != 0,
	   "expires before created: refused");
	ok(parse_line(
		   "\"format\":\"gotrue-fleet-1\",\"serial\":7.5,\"created\":100,\"expires\":200,",
		   TWO) != 0,
	   "a fractional serial: refused");
}

static void test_manifest_document(void)
{
	struct gotrue_fleet_manifest m = {.serial = 42, .created = 1000, .expires = 2000}, back;
	char *line = NULL, doc[4096];
	const char *sig;
	size_t len = 0, signed_len, sig_len;

	m.files[GOTRUE_FLEET_NSS_CACHE] = (struct gotrue_fleet_file){true, "", 296};
	m.files[GOTRUE_FLEET_ACCOUNTS] = (struct gotrue_fleet_file){true, "", 278};
	memcpy(m.files[0].sha256, sha_a, sizeof(sha_a));
	memcpy(m.files[1].sha256, sha_b, sizeof(sha_b));
	ok(gotrue_fleet_manifest_format(&m, &line, &len) == 0 && line[len - 1] == '\n' &&
		   memchr(line, '\n', len - 1) == NULL,
	   "formatted as one line");
	ok(gotrue_fleet_manifest_parse(line, len, &back) == 0 && back.serial == 42 &&
		   back.expires == 2000 && back.files[1].size == 278 &&
		   strcmp(back.files[0].sha256, sha_a) == 0 &&
		   !back.files[GOTRUE_FLEET_JWKS].present,
	   "parsed back the same");
	snprintf(doc, sizeof(doc), "%sSIGNATURE==\n", line);
	ok(gotrue_fleet_manifest_split(doc, strlen(doc), &signed_len, &sig, &sig_len) == 0 &&
		   signed_len == len && sig_len == 11 && strncmp(sig, "SIGNATURE==", 11) == 0,
	   "split: the signed line, newline included, and the signature");
	snprintf(doc, sizeof(doc), "%sSIG\nmore\n", line);
	ok(gotrue_fleet_manifest_split(doc, strlen(doc), &signed_len, &sig, &sig_len) != 0,
	   "a third line: refused");
	snprintf(doc, sizeof(doc), "%sSIG", line);
	ok(gotrue_fleet_manifest_split(doc, strlen(doc), &signed_len, &sig, &sig_len) != 0,
	   "no final newline: refused");
	snprintf(doc, sizeof(doc), "%s\n", line);
	ok(gotrue_fleet_manifest_split(doc, strlen(doc), &signed_len, &sig, &sig_len) != 0,
	   "an empty signature: refused");
	free(line);
}

int main(void)
{
	char hex[GOTRUE_FLEET_SHA256_HEX + 1];

	gotrue_fleet_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "SHA-256 of \"abc\" (FIPS 180-2 example)");
	test_signatures();
	test_keys();
	test_seal();
	test_manifest_strict();
	test_manifest_document();
	return done_testing();
}
