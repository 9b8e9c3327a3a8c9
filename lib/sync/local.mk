# lib/sync (libgotrue-sync): what gotruectl does beyond a login. The admin API and its paged
# listing (api_admin, listing, link: the Link header), the whole sync (sync), the refresh pass
# and `gotruectl sessions` (lifecycle), ending a Linux session (terminate), and forgetting the
# offline verifiers of users a sync no longer lists or lists as banned (offline_sweep). Linked by
# gotruectl and the tests, never by the PAM module (tests/pam/test_exports.sh).
GOTRUE_SYNC_CPPFLAGS = -I$(top_srcdir)/lib/sync

lib_sync_libgotrue_sync_la_SOURCES = \
	lib/sync/api_admin.c \
	lib/sync/assign.c lib/sync/assign.h \
	lib/sync/listing.c lib/sync/listing.h \
	lib/sync/link.c \
	lib/sync/sync.c lib/sync/sync.h \
	lib/sync/offline_sweep.c lib/sync/offline_sweep.h \
	lib/sync/lifecycle.c lib/sync/lifecycle.h \
	lib/sync/terminate.c lib/sync/terminate.h
lib_sync_libgotrue_sync_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_CPPFLAGS)
lib_sync_libgotrue_sync_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
lib_sync_libgotrue_sync_la_LIBADD = $(JSONC_LIBS)
