/* fleet_io: what the publisher and the hosts both do with the bundle's files: name them, read a
 * manifest back from disk, read the keys. Internal to lib/fleet. */
#ifndef GOTRUE_FLEET_IO_H
#define GOTRUE_FLEET_IO_H

#include <stddef.h>
#include <security/pam_ext.h>

#include "fleet_crypto.h"
#include "manifest.h"

/* "@dir/@name" (free()), or NULL on ENOMEM. */
char *gotrue_fleet_path(const char *dir, const char *name);

/* The manifest document at @path, split and parsed, its signature not checked (a file of ours:
 * the publisher's own last manifest, or the one a host installed after checking it). *@doc
 * (free(); may be NULL) gets the document. 0, 1 when there is none, -1 (logged). */
int gotrue_fleet_read_manifest(pam_handle_t *pamh, const char *path,
			       struct gotrue_fleet_manifest *m, char **doc, size_t *len);

/* The fleet keys of the secret file @path (key file rules). 0 or -1 (logged). */
int gotrue_fleet_read_keys(pam_handle_t *pamh, const char *path, struct gotrue_fleet_keys *k);

#endif
