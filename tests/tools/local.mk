# tests/tools: gotruectl end to end against the emulator, in both server modes.
TOOLS_TESTS = tests/tools/test_gotruectl.sh
TESTS += $(TOOLS_TESTS)
EXTRA_DIST += $(TOOLS_TESTS)
# mkstore writes token-store records through lib/store for the `sessions list` tests.
check_PROGRAMS += tests/tools/mkstore
tests_tools_mkstore_CFLAGS = $(TEST_CORE_CFLAGS)
tests_tools_mkstore_LDADD = lib/store/libgotrue-store.la lib/client/libgotrue-client.la
# The failure throttle's admin commands, with failures recorded by mkthrottle through lib/store.
TESTS += tests/tools/test_throttle.sh
EXTRA_DIST += tests/tools/test_throttle.sh
check_PROGRAMS += tests/tools/mkthrottle
tests_tools_mkthrottle_CFLAGS = $(TEST_CORE_CFLAGS)
tests_tools_mkthrottle_LDADD = lib/store/libgotrue-store.la lib/client/libgotrue-client.la
