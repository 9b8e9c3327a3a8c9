# lib/: the core. libgotrue-cache (libc only: the NSS cache format) is linked by the NSS module;
# libgotrue (everything else) by the PAM module, gotruectl and the tests.
noinst_LTLIBRARIES += lib/libgotrue.la

lib_libgotrue_la_SOURCES = \
	lib/array.c lib/array.h \
	lib/log.c lib/log.h \
	lib/secure.c lib/secure.h \
	lib/config.c lib/config.h \
	lib/error.c lib/error.h \
	lib/json.c lib/json.h \
	lib/http.c lib/http.h \
	lib/link.c \
	lib/user.c lib/user.h \
	lib/session.c lib/session.h \
	lib/api.c lib/api.h lib/api_internal.h \
	lib/api_admin.c \
	lib/listing.c lib/listing.h \
	lib/thread.c lib/thread.h \
	lib/api_mfa.c \
	lib/oauth.c \
	lib/jwt.c lib/jwt.h \
	lib/jwks.c lib/jwks.h
lib_libgotrue_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS) $(CRYPTO_CFLAGS)
lib_libgotrue_la_LIBADD = $(CURL_LIBS) $(JSONC_LIBS) $(JWT_LIBS) $(CRYPTO_LIBS) $(PAM_LIBS)
