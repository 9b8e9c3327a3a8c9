# lib/fleet (libgotrue-fleet): one publisher, many hosts. The keys, signatures and sealing of
# the bundle (fleet_crypto), its manifest (manifest), writing it (publish), taking it on a host
# (fetch, with receive: a file from the network into its temp file) and ending the sessions it
# no longer admits (enforce), the keys' files (keys), what `config check` says of it (check). Linked
# by gotruectl and the tests, never by the PAM module (tests/pam/test_exports.sh).
GOTRUE_FLEET_CPPFLAGS = -I$(top_srcdir)/lib/fleet

lib_fleet_libgotrue_fleet_la_SOURCES = \
	lib/fleet/fleet.h \
	lib/fleet/fleet_crypto.c lib/fleet/fleet_crypto.h \
	lib/fleet/manifest.c lib/fleet/manifest.h \
	lib/fleet/fleet_io.c lib/fleet/fleet_io.h \
	lib/fleet/publish.c \
	lib/fleet/fetch.c \
	lib/fleet/receive.c lib/fleet/receive.h \
	lib/fleet/enforce.c lib/fleet/enforce.h \
	lib/fleet/keys.c \
	lib/fleet/check.c
lib_fleet_libgotrue_fleet_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_CPPFLAGS)
lib_fleet_libgotrue_fleet_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(CRYPTO_CFLAGS)
lib_fleet_libgotrue_fleet_la_LIBADD = $(JSONC_LIBS) $(CRYPTO_LIBS)
