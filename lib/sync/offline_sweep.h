/* offline_sweep: a sync's part in forgetting offline verifiers (lib/store/offline.h). */
#ifndef GOTRUE_OFFLINE_SWEEP_H
#define GOTRUE_OFFLINE_SWEEP_H

#include <security/pam_ext.h>

#include "gotrue_config.h"

/* Erase every verifier in cfg->state_dir that the account index at @index_path does not back:
 * its login name is not listed, is listed for another GoTrue user, or is listed as banned; and
 * every file there that is no verifier. Whatever installs a new account index calls it once the
 * index is in place, under the sync lock: a sync does, and so must anything else that brings
 * one (a fleet bundle fetched from another host), so that a ban or a deletion it carries ends
 * offline logins too. Run whatever offline_login says (module arguments may turn it on for one
 * service). Each erasure is logged. The number erased, or -1 when the directory cannot be read
 * (logged). */
int gotrue_sync_offline_sweep(pam_handle_t *pamh, const struct gotrue_config *cfg,
			      const char *index_path);

#endif
