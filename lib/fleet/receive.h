/* receive: one file of a bundle, from the network straight into the temp file beside where it is
 * installed (gotrue_replace_open), hashed as it comes and, for the sealed account index, opened
 * as it comes: no copy of a large bundle is held in memory, and the disk writes while the
 * network delivers. Nothing counts until gotrue_fleet_receive_end() has checked the size, the
 * hash and the GCM tag; a file that fails is never renamed into place. */
#ifndef GOTRUE_FLEET_RECEIVE_H
#define GOTRUE_FLEET_RECEIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "fleet_crypto.h"
#include "manifest.h"
#include "secure.h"

struct gotrue_fleet_receive {
	const struct gotrue_fleet_file *want;
	const struct gotrue_fleet_keys *keys; /* set: the file is sealed; opened into the temp */
	char *path;			      /* where it goes: rep's, owned */
	struct gotrue_replacement rep;
	int fd;
	void *md; /* EVP_MD_CTX */
	struct gotrue_fleet_opener *open;
	unsigned char head[GOTRUE_FLEET_SEAL_HEAD], tail[GOTRUE_FLEET_TAG_LEN];
	size_t head_len, tail_len;
	unsigned char *buf; /* opened bytes on their way to the temp file */
	size_t buf_cap;
	bool bad_seal; /* not sealed by this fleet, or for no key held */
	int error;     /* -errno of a failed write */
	bool pending;  /* the temp file is written and synced, to commit or abort */
};

/* Start receiving @want into the temp file of @path (@mode), opening it with @keys when not
 * NULL. 0 or -errno. */
int gotrue_fleet_receive_begin(struct gotrue_fleet_receive *r, const char *path, mode_t mode,
			       const struct gotrue_fleet_file *want,
			       const struct gotrue_fleet_keys *keys);
/* The gotrue_http_sink of a receive. */
int gotrue_fleet_receive_data(void *ctx, const char *data, size_t len);
/* After the transfer (@received bytes): 0 when the size, the SHA-256 and (sealed) the tag are
 * right and the temp file is synced (r->pending), 1 when they are not, -errno on a local error.
 * Only a pending receive is left to commit (gotrue_replace_commit(&r->rep)) or to release. */
int gotrue_fleet_receive_end(struct gotrue_fleet_receive *r, size_t received);
/* Give up (removing the temp file) whatever the state; a zeroed, never begun one is fine. */
void gotrue_fleet_receive_free(struct gotrue_fleet_receive *r);

#endif
