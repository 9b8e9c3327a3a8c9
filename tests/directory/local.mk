# tests/directory: lib/directory's mapping rules from GoTrue users to Unix accounts (names, uids,
# groups, collisions, local clashes), linked with that layer and the ones it uses.
check_PROGRAMS += tests/directory/test_idmap
TESTS += tests/directory/test_idmap
tests_directory_test_idmap_CFLAGS = $(TEST_CORE_CFLAGS)
tests_directory_test_idmap_LDADD = lib/directory/libgotrue-directory.la \
	lib/cache/writer/libgotrue-cache-writer.la lib/client/libgotrue-client.la \
	lib/cache/reader/libgotrue-cache-reader.la tests/common/libtestcommon.la

# The account index: binary search, bounds, corrupt and old-format files.
check_PROGRAMS += tests/directory/test_accounts
TESTS += tests/directory/test_accounts
tests_directory_test_accounts_CFLAGS = $(TEST_CORE_CFLAGS)
tests_directory_test_accounts_LDADD = $(tests_directory_test_idmap_LDADD)
