/* tls.c: a throw-away test CA and server certificate for --tls, made at startup with the OpenSSL
 * X509 API (EC P-256, so startup stays fast). The CA goes to state-dir/ca.pem for clients'
 * ca_file; the server key and certificate stay in memory and are handed to libmicrohttpd.
 * --tls-name sets the certificate's CN and subjectAltName, so tests can provoke a mismatch. */
#include <config.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "emulator.h"

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	rc = X509_add_ext(cert, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       long serial)
{
	X509 *c = X509_new();
	X509_NAME *name;

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 7L * 86400);
	X509_set_pubkey(c, key);
	name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
				   (const unsigned char *)"gotrue-emulator", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	if (!issuer) {
		add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(c, c, NID_subject_key_identifier, "hash");
	}
	X509_sign(c, issuer_key, EVP_sha256());
	return c;
}

static char *to_pem(X509 *cert, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (cert)
		PEM_write_bio_X509(bio, cert);
	else
		PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

int emu_tls_make(char **key_pem, char **cert_pem)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *cert = NULL;
	char san[512], path[4096];
	const char *name = emu_cfg.tls_name;
	unsigned char addr[16];
	char *ca_pem = NULL;
	FILE *f;
	int rc = -1;

	if (!ca_key || !key)
		goto cleanup;
	ca = make_cert(ca_key, "gotrue-emulator test CA", NULL, ca_key, 1);
	if (!name)
		snprintf(san, sizeof(san), "IP:127.0.0.1,DNS:localhost");
	else if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
		snprintf(san, sizeof(san), "IP:%s", name);
	else
		snprintf(san, sizeof(san), "DNS:%s", name);
	cert = make_cert(key, name ? name : "127.0.0.1", ca, ca_key, 2);
	/* Extensions must be in place before signing: add them and sign again. */
	add_ext(cert, ca, NID_subject_alt_name, san);
	add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(cert, ca, NID_ext_key_usage, "serverAuth");
	add_ext(cert, ca, NID_authority_key_identifier, "keyid:always");
	X509_sign(cert, ca_key, EVP_sha256());

	ca_pem = to_pem(ca, NULL);
	snprintf(path, sizeof(path), "%s/ca.pem", emu_cfg.state_dir);
	f = fopen(path, "w");
	if (!f || fputs(ca_pem, f) < 0 || fclose(f) != 0)
		goto cleanup;
	*cert_pem = to_pem(cert, NULL);
	*key_pem = to_pem(NULL, key);
	rc = 0;
cleanup:
	free(ca_pem);
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return rc;
}
