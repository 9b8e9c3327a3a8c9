/* shim: the PAM module that tests/inject/test_inject's service file names. libpam lets only a
 * module (a call made through pam_authenticate() and friends) use pam_set_data, pam_get_data and
 * the PAM_AUTHTOK item, so the flow cannot be called straight from the application. This shim is
 * loaded by libpam as an ordinary module and hands each call to the test program's
 * inject_sm_<name>() (exported with -export-dynamic), which arms the fault layer and runs the
 * pam/ code that is linked, with its --wrap'ed calls, into the program itself. */
#include <config.h>

#include <dlfcn.h>
#include <stddef.h>
#include <security/pam_modules.h>

typedef int (*sm_fn)(pam_handle_t *, int, int, const char **);

static int forward(const char *name, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	sm_fn f = (sm_fn)dlsym(RTLD_DEFAULT, name);

	return f != NULL ? f(pamh, flags, argc, argv) : PAM_SYSTEM_ERR;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return forward("inject_sm_authenticate", pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return forward("inject_sm_acct_mgmt", pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return forward("inject_sm_open_session", pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return forward("inject_sm_close_session", pamh, flags, argc, argv);
}
