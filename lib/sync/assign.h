/* assign: a sync writes the uids it assigned (idmap.h, assign_uids) to each user's
 * app_metadata.uid, so that every host that syncs reads the same table back. */
#ifndef GOTRUE_ASSIGN_H
#define GOTRUE_ASSIGN_H

#include <stddef.h>
#include <security/pam_ext.h>

#include "api.h"
#include "idmap.h"

/* PUT /admin/users/{id} {"app_metadata": {"uid": N, "uid_auto": true}} for every account of the
 * resolved @m with uid_new. A user deleted meanwhile (404) is passed over; any other failure
 * stops the writes (logged: the server is down or
 * the key cannot write users; the accounts keep their uid on this host until a later sync writes
 * it). Returns how many were written. */
size_t gotrue_assign_write(pam_handle_t *pamh, struct gotrue_client *c,
			   const struct gotrue_idmap *m);

#endif
