/* manifest: the one document of a bundle that changes, "manifest" in the published directory.
 * Two lines and nothing else:
 *   {"format":"gotrue-fleet-1","serial":N,"created":T,"expires":T,"files":[...]}\n
 *   BASE64(Ed25519 signature of the first line's bytes, its newline included)\n
 * Each file is {"role":R,"sha256":HEX,"size":N}, R one of nss_cache, accounts (sealed; see
 * fleet_crypto.h) and jwks, each at most once, and is published under the name HEX. The parser
 * is strict: exactly these members with these types, nothing after the signature line. */
#ifndef GOTRUE_FLEET_MANIFEST_H
#define GOTRUE_FLEET_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "fleet_crypto.h"

#define GOTRUE_FLEET_FORMAT "gotrue-fleet-1"
/* A manifest larger than this is not ours. */
#define GOTRUE_FLEET_MANIFEST_MAX (16 * 1024)
/* No published file is larger: the NSS cache and the account index of millions of users. */
#define GOTRUE_FLEET_FILE_MAX (4LL * 1024 * 1024 * 1024)

enum gotrue_fleet_role {
	GOTRUE_FLEET_NSS_CACHE = 0,
	GOTRUE_FLEET_ACCOUNTS,
	GOTRUE_FLEET_JWKS,
	GOTRUE_FLEET_ROLES
};

struct gotrue_fleet_file {
	bool present;
	char sha256[GOTRUE_FLEET_SHA256_HEX + 1];
	long long size;
};

struct gotrue_fleet_manifest {
	long long serial;				    /* grows with every manifest */
	long long created, expires;			    /* seconds since the epoch */
	struct gotrue_fleet_file files[GOTRUE_FLEET_ROLES]; /* by role */
};

/* The role's name in the manifest ("nss_cache", ...). */
const char *gotrue_fleet_role_name(enum gotrue_fleet_role role);

/* Split a manifest document into its signed line (@len_signed bytes from @doc, newline
 * included) and its signature (@sig, @sig_len characters, no newline). 0, or -1 when it is not
 * exactly two lines. */
int gotrue_fleet_manifest_split(const char *doc, size_t len, size_t *len_signed, const char **sig,
				size_t *sig_len);
/* Parse the signed line @line (@len bytes, newline included) into @m. 0 or -1 (not a manifest:
 * a member missing, unknown, of the wrong type or out of range; no nss_cache or accounts). */
int gotrue_fleet_manifest_parse(const char *line, size_t len, struct gotrue_fleet_manifest *m);
/* The signed line of @m, newline included, in *@out (free()). 0 or -1. */
int gotrue_fleet_manifest_format(const struct gotrue_fleet_manifest *m, char **out, size_t *len);

#endif
