/* test_dlopen: load pam_gotrue.so as libpam does (dlopen, RTLD_NOW) and check what it exports: the
 * six pam_sm_* entry points, and none of the core's or the module's internal symbols. */
#include <config.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"

int main(void)
{
	static const char *const abi[] = {"pam_sm_authenticate",  "pam_sm_setcred",
					  "pam_sm_acct_mgmt",	  "pam_sm_open_session",
					  "pam_sm_close_session", "pam_sm_chauthtok"};
	static const char *const internal[] = {"gotrue_config_new", "gotrue_store_open",
					       "gotrue_log",	    "gotrue_signin_password",
					       "gotrue_jwt_verify", "pg_result",
					       "pg_authenticate",   "pg_apply_ignore"};
	char path[1024];
	void *h;
	size_t i;

	snprintf(path, sizeof(path), "%s/pam/.libs/pam_gotrue.so",
		 getenv("top_builddir") ? getenv("top_builddir") : ".");
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ok(h != NULL, "dlopen %s (%s)", path, h ? "ok" : dlerror());
	if (h == NULL)
		return done_testing();
	for (i = 0; i < sizeof(abi) / sizeof(abi[0]); i++)
		ok(dlsym(h, abi[i]) != NULL, "exports %s", abi[i]);
	for (i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		ok(dlsym(h, internal[i]) == NULL, "hides %s", internal[i]);
	dlclose(h);
	return done_testing();
}
