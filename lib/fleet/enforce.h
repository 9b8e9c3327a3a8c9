/* enforce: what a newly installed bundle means for the sessions running on this host. */
#ifndef GOTRUE_FLEET_ENFORCE_H
#define GOTRUE_FLEET_ENFORCE_H

#include <security/pam_ext.h>

#include "gotrue_config.h"

/* End (revoked_session = terminate) or log the sessions of users the installed account index
 * no longer admits. *@ended and *@flagged count the users of either. 0, or -1 when the store
 * cannot be read (logged). */
int gotrue_fleet_enforce(pam_handle_t *pamh, const struct gotrue_config *cfg, unsigned int *ended,
			 unsigned int *flagged);

#endif
