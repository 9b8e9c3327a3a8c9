# tests/store: lib/store, linked with that layer and lib/client: the token store (atomic,
# crash-safe records, locks, refused links and foreign owners), what /proc says of a session,
# the failure throttle's table, the second-factor codes already sent (mfa_replay), and the
# offline verifiers (offline: a writer killed at each point of its replacement, through
# -Wl,--wrap of fsync and rename).
STORE_TESTS = \
	tests/store/test_store \
	tests/store/test_proc \
	tests/store/test_throttle \
	tests/store/test_mfa_replay \
	tests/store/test_offline
check_PROGRAMS += $(STORE_TESTS)
TESTS += $(STORE_TESTS)
STORE_TEST_LIBS = lib/store/libgotrue-store.la lib/client/libgotrue-client.la \
	tests/common/libtestcommon.la

tests_store_test_store_CFLAGS = $(TEST_CORE_CFLAGS)
tests_store_test_store_LDADD = $(STORE_TEST_LIBS)
tests_store_test_proc_CFLAGS = $(TEST_CORE_CFLAGS)
tests_store_test_proc_LDADD = $(STORE_TEST_LIBS)
tests_store_test_throttle_CFLAGS = $(TEST_CORE_CFLAGS)
# gotrue_config_check's warning about the throttle's limits: lib/client/ctl.
tests_store_test_throttle_LDADD = lib/store/libgotrue-store.la \
	lib/client/ctl/libgotrue-client-ctl.la lib/client/libgotrue-client.la \
	tests/common/libtestcommon.la
tests_store_test_mfa_replay_CFLAGS = $(TEST_CORE_CFLAGS)
tests_store_test_mfa_replay_LDADD = $(STORE_TEST_LIBS)
tests_store_test_offline_CFLAGS = $(TEST_CORE_CFLAGS)
tests_store_test_offline_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=fsync,--wrap=rename
tests_store_test_offline_LDADD = $(STORE_TEST_LIBS)
