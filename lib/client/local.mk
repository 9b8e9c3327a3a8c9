# lib/client: the GoTrue client that the login path needs (libgotrue-client): the config grammar
# (gotrue_config), logging, secure memory and files, growable arrays, the HTTP transport
# (libcurl), GoTrue's errors, JSON helpers, users and sessions from JSON, one C function per
# endpoint (api), token verification (gotrue_jwt, jwks, and jwks_cache: the key set kept on
# disk) and the second factor (api_mfa). Linked
# by pam_gotrue.so, gotruectl and the tests.
#
# lib/client/ctl (libgotrue-client-ctl): what only gotruectl runs of the client, so that the PAM
# module does not carry it: the endpoints a login never calls (api_ctl: sign-up, magic links,
# recovery, invitations, /settings, and the service-role key the admin calls send), the refresh
# pass's requests in two halves (api_multi), enrolling and
# removing a factor (enrol), PKCE and OAuth sign-in (oauth) and `config check` (config_check).
# Linked by gotruectl and the tests, never by the PAM module (tests/pam/test_exports.sh).
GOTRUE_CLIENT_CPPFLAGS = -I$(top_srcdir)/lib/client
GOTRUE_CLIENT_CTL_CPPFLAGS = -I$(top_srcdir)/lib/client/ctl $(GOTRUE_CLIENT_CPPFLAGS)

lib_client_libgotrue_client_la_SOURCES = \
	lib/client/array.c lib/client/array.h \
	lib/client/log.c lib/client/log.h \
	lib/client/secure.c lib/client/secure.h \
	lib/client/gotrue_config.c lib/client/gotrue_config.h \
	lib/client/gotrue_error.c lib/client/gotrue_error.h \
	lib/client/gotrue_json.c lib/client/gotrue_json.h \
	lib/client/http.c lib/client/http.h \
	lib/client/user.c lib/client/user.h \
	lib/client/session.c lib/client/session.h \
	lib/client/api.c lib/client/api.h lib/client/api_internal.h \
	lib/client/api_mfa.c \
	lib/client/gotrue_jwt.c lib/client/gotrue_jwt.h \
	lib/client/jwks.c lib/client/jwks.h \
	lib/client/jwks_cache.c lib/client/jwks_cache.h
lib_client_libgotrue_client_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_CLIENT_CPPFLAGS)
lib_client_libgotrue_client_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS) \
	$(CRYPTO_CFLAGS)
lib_client_libgotrue_client_la_LIBADD = $(CURL_LIBS) $(JSONC_LIBS) $(JWT_LIBS) $(CRYPTO_LIBS) \
	$(PAM_LIBS)

lib_client_ctl_libgotrue_client_ctl_la_SOURCES = \
	lib/client/ctl/api_ctl.c lib/client/ctl/api_ctl.h \
	lib/client/ctl/api_multi.c lib/client/ctl/api_multi.h \
	lib/client/ctl/enrol.c lib/client/ctl/enrol.h \
	lib/client/ctl/oauth.c lib/client/ctl/oauth.h \
	lib/client/ctl/config_check.c lib/client/ctl/config_check.h
lib_client_ctl_libgotrue_client_ctl_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_CLIENT_CTL_CPPFLAGS)
lib_client_ctl_libgotrue_client_ctl_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) \
	$(CRYPTO_CFLAGS)
lib_client_ctl_libgotrue_client_ctl_la_LIBADD = $(CURL_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS)
