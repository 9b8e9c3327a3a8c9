/* fleet: one publisher, many hosts. `gotruectl publish` syncs as `gotruectl sync` does and writes
 * the result as a bundle into a directory that any web server or object store serves: the public
 * NSS cache, the account index sealed with the fleet key, the server's JWKS where it signs with
 * asymmetric keys, each under the name of its SHA-256, and a signed manifest (manifest.h).
 * `gotruectl fetch` on every other host takes the bundle through a conditional GET, checks it
 * (signature against the pinned keys, no rollback, not expired, every file's size and hash),
 * installs it with the sync's writers and ends the sessions of users it no longer admits. A host
 * then holds no service-role key. Linked by gotruectl only, never by pam_gotrue.so. */
#ifndef GOTRUE_FLEET_H
#define GOTRUE_FLEET_H

#include <stdbool.h>
#include <time.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"
#include "gotrue_error.h"
#include "manifest.h"

/* Old content files stay this long after no manifest names them any more, and the previous
 * bundle's files stay as long as its manifest is the previous one: a host that read a manifest
 * just before a publish still finds its files. */
#define GOTRUE_FLEET_GRACE 3600

struct gotrue_fleet_publish_result {
	bool changed;			       /* a new manifest was written */
	struct gotrue_fleet_manifest manifest; /* the manifest now published */
	unsigned int removed;		       /* old content files removed */
	bool jwks;			       /* the bundle carries the server's JWKS */
};

/* Write the bundle of the NSS cache and account index in cfg->state_dir (the last sync's) into
 * @dir (NULL: cfg->publish_dir). A new manifest is written when a file changed or the published
 * one is past half its lifetime; its serial is above the last one's and at least the time.
 * 0, or -1 with @err (nothing published changed, or only content files nobody names yet). */
int gotrue_fleet_publish(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *dir,
			 struct gotrue_fleet_publish_result *res, struct gotrue_error *err);

enum gotrue_fleet_outcome {
	GOTRUE_FLEET_UNCHANGED = 0, /* 304, or the manifest installed already */
	GOTRUE_FLEET_INSTALLED,	    /* a new bundle is in force */
	GOTRUE_FLEET_REFUSED,	    /* the bundle failed a check: the last good one stays */
	GOTRUE_FLEET_FAILED,	    /* unreachable or a local error: the last good one stays */
};

struct gotrue_fleet_fetch_result {
	enum gotrue_fleet_outcome outcome;
	bool have;				/* a bundle is installed (after the run) */
	struct gotrue_fleet_manifest installed; /* that bundle's manifest */
	unsigned int downloaded;		/* content files downloaded */
	unsigned int ended;			/* users whose sessions were revoked and ended */
	unsigned int flagged; /* users now refused whose sessions were only logged */
};

/* One fetch (see the top of this file). 0 when the host holds the publisher's latest bundle
 * (installed now or already), -1 with @err and res->outcome REFUSED or FAILED otherwise; the
 * age of the bundle kept is logged either way when it is past its expiry. */
int gotrue_fleet_fetch(pam_handle_t *pamh, const struct gotrue_config *cfg,
		       struct gotrue_fleet_fetch_result *res, struct gotrue_error *err);

/* The manifest of the bundle installed on this host. 0, 1 when none is, -1 when it cannot be
 * read (logged). */
int gotrue_fleet_installed(pam_handle_t *pamh, const struct gotrue_config *cfg,
			   struct gotrue_fleet_manifest *m);

/* `config check`: each problem (@warning false) and warning of the fleet's part of the config,
 * one line each through @report: a publisher's keys, a host's pinned keys, fleet key and URL,
 * and the age of the bundle in force (a warning once it is past its expiry). */
typedef void (*gotrue_fleet_report)(void *ctx, bool warning, const char *problem);
void gotrue_fleet_check(pam_handle_t *pamh, const struct gotrue_config *cfg,
			gotrue_fleet_report report, void *ctx);

/* Files of the fleet's keys, made by `gotruectl fleet keygen|rotate` in @dir: */
#define GOTRUE_FLEET_SIGNING_KEY "fleet-signing.key" /* Ed25519 private key, 0600 */
#define GOTRUE_FLEET_PUBLIC_KEY	 "fleet-signing.pub" /* its base64 public key, 0644 */
#define GOTRUE_FLEET_KEY	 "fleet.key"	     /* the fleet key, 0600 */
#define GOTRUE_FLEET_NEXT	 ".next"	     /* suffix of a rotation's new files */

/* Write a new signing key pair and fleet key into @dir, each file only where none is yet
 * (@suffix "" for keygen, GOTRUE_FLEET_NEXT for a rotation). @pub_b64 gets the public key.
 * 0, or -errno (-EEXIST: a file is there; nothing written is left behind), logged. */
int gotrue_fleet_keygen(pam_handle_t *pamh, const char *dir, const char *suffix, char pub_b64[64]);
/* Put a rotation's .next files in place of the current ones (the old fleet key is kept as the
 * key file's second line, so that hosts holding both still open bundles of either). 0 or
 * -errno, logged. */
int gotrue_fleet_rotate_finish(pam_handle_t *pamh, const char *dir);

#endif
