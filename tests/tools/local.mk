# tests/tools: gotruectl end to end against the emulator, in both server modes.
TOOLS_TESTS = tests/tools/test_gotruectl.sh
TESTS += $(TOOLS_TESTS)
EXTRA_DIST += $(TOOLS_TESTS)
# mkstore writes token-store records through lib/store for the `sessions list` tests.
check_PROGRAMS += tests/tools/mkstore
tests_tools_mkstore_CFLAGS = $(TEST_CORE_CFLAGS)
tests_tools_mkstore_LDADD = lib/libgotrue.la
