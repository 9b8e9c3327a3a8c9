# lib/: the core, one folder and one convenience library per layer, each described in its own
# local.mk. A layer uses only the layers listed below it:
#   lib/fleet/         publish a signed bundle for many hosts, fetch and install it on each
#   lib/sync/          listing, the admin API, sync, the refresh pass, ending Linux sessions
#   lib/client/ctl/    what only gotruectl runs of the client: the endpoints a login never
#                      calls, factor enrolment, PKCE and OAuth sign-in, config check
#   lib/directory/     the private account index, the GoTrue -> Unix mapping, local accounts first
#   lib/store/         the token store, what /proc says of a session, the failure throttle, the
#                      second-factor codes already sent
#   lib/cache/writer/  building and replacing the NSS cache
#   lib/client/        the GoTrue client of the login path: config, log, http, api, jwt
#   lib/cache/reader/  reading the NSS cache; libc only
# Each binary lists the layers it links (pam/local.mk, nss/local.mk, tools/local.mk) and is
# compiled with the -I of those layers only (GOTRUE_*_CPPFLAGS; Makefile.am's nostdinc leaves no
# other path into lib/), so a file cannot include a header of a layer its binary does not link.
noinst_LTLIBRARIES += \
	lib/cache/reader/libgotrue-cache-reader.la \
	lib/cache/writer/libgotrue-cache-writer.la \
	lib/client/libgotrue-client.la \
	lib/client/ctl/libgotrue-client-ctl.la \
	lib/store/libgotrue-store.la \
	lib/directory/libgotrue-directory.la \
	lib/sync/libgotrue-sync.la \
	lib/fleet/libgotrue-fleet.la

# Every layer, for gotruectl and the tests that drive the whole core. Programs link convenience
# libraries as archives, so each comes before the layers it uses.
GOTRUE_LIBS = \
	lib/fleet/libgotrue-fleet.la \
	lib/sync/libgotrue-sync.la \
	lib/client/ctl/libgotrue-client-ctl.la \
	lib/directory/libgotrue-directory.la \
	lib/store/libgotrue-store.la \
	lib/cache/writer/libgotrue-cache-writer.la \
	lib/client/libgotrue-client.la \
	lib/cache/reader/libgotrue-cache-reader.la
GOTRUE_CPPFLAGS = $(GOTRUE_FLEET_CPPFLAGS) $(GOTRUE_SYNC_CPPFLAGS) $(GOTRUE_CLIENT_CTL_CPPFLAGS) \
	$(GOTRUE_DIRECTORY_CPPFLAGS) $(GOTRUE_STORE_CPPFLAGS) $(GOTRUE_CACHE_WRITER_CPPFLAGS) \
	$(GOTRUE_CLIENT_CPPFLAGS) $(GOTRUE_CACHE_READER_CPPFLAGS)
