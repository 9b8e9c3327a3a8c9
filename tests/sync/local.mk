# tests/sync: lib/sync. The Link header and the admin listing's parser (test_link, test_listing),
# and sync against the emulator (test_sync): mapping, escalation attempts, collisions, local
# clashes, local_groups, a server failing partway, 1000 users, the one-user refresh, the account
# index; and the offline verifiers' sweep against an index written without a server
# (test_offline_sweep).
SYNC_TESTS = \
	tests/sync/test_link \
	tests/sync/test_listing \
	tests/sync/test_offline_sweep \
	tests/sync/test_sync
check_PROGRAMS += $(SYNC_TESTS)
TESTS += $(SYNC_TESTS)

# The two parsers need only their layer and lib/client; the sync drives every layer.
SYNC_PARSER_LIBS = lib/sync/libgotrue-sync.la lib/client/libgotrue-client.la \
	tests/common/libtestcommon.la
tests_sync_test_link_CFLAGS = $(TEST_CORE_CFLAGS)
tests_sync_test_link_LDADD = $(SYNC_PARSER_LIBS)
tests_sync_test_listing_CFLAGS = $(TEST_CORE_CFLAGS)
tests_sync_test_listing_LDADD = $(SYNC_PARSER_LIBS)
tests_sync_test_offline_sweep_CFLAGS = $(TEST_CORE_CFLAGS)
tests_sync_test_offline_sweep_LDADD = $(TEST_CORE_LIBS)
tests_sync_test_sync_CFLAGS = $(TEST_CORE_CFLAGS)
tests_sync_test_sync_LDADD = $(TEST_CORE_LIBS)
