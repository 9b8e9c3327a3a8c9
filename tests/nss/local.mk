# tests/nss: the NSS module on fixture caches (direct dlopen calls, threads), through glibc
# (nss_wrapper; a private mount namespace as root), the ELF checks, and the idmap rules.
check_PROGRAMS += tests/nss/mkcache tests/nss/test_nss_direct tests/nss/test_nss_threads \
	tests/nss/test_idmap
check_SCRIPTS += tests/nss/test_nss_wrapper.sh tests/nss/test_nss_elf.sh tests/nss/test_nss_ns.sh
TESTS += tests/nss/test_nss_direct tests/nss/test_nss_threads tests/nss/test_idmap \
	tests/nss/test_nss_wrapper.sh tests/nss/test_nss_elf.sh tests/nss/test_nss_ns.sh
EXTRA_DIST += tests/nss/test_nss_wrapper.sh tests/nss/test_nss_elf.sh tests/nss/test_nss_ns.sh

NSS_FIXTURE_SOURCES = tests/nss/fixture.c tests/nss/fixture.h
tests_nss_mkcache_SOURCES = tests/nss/mkcache.c $(NSS_FIXTURE_SOURCES)
tests_nss_mkcache_CFLAGS = $(TEST_CORE_CFLAGS)
tests_nss_mkcache_LDADD = $(TEST_CORE_LIBS)
# The module is dlopen'ed from the build tree, so it must be built first.
tests_nss_test_nss_direct_SOURCES = tests/nss/test_nss_direct.c $(NSS_FIXTURE_SOURCES)
tests_nss_test_nss_direct_CFLAGS = $(TEST_CORE_CFLAGS)
tests_nss_test_nss_direct_LDADD = $(TEST_CORE_LIBS) -ldl
EXTRA_tests_nss_test_nss_direct_DEPENDENCIES = nss/libnss_gotrue.la
tests_nss_test_nss_threads_SOURCES = tests/nss/test_nss_threads.c $(NSS_FIXTURE_SOURCES)
tests_nss_test_nss_threads_CFLAGS = $(TEST_CORE_CFLAGS) -pthread
tests_nss_test_nss_threads_LDADD = $(TEST_CORE_LIBS) -ldl -lpthread
EXTRA_tests_nss_test_nss_threads_DEPENDENCIES = nss/libnss_gotrue.la
tests_nss_test_idmap_CFLAGS = $(TEST_CORE_CFLAGS)
tests_nss_test_idmap_LDADD = $(TEST_CORE_LIBS)

# Sync against the emulator (H-nss2): mapping, escalation attempts, collisions, local clashes,
# local_groups, a server failing partway, 1000 users, the one-user refresh, the account index.
check_PROGRAMS += tests/nss/test_sync
TESTS += tests/nss/test_sync
tests_nss_test_sync_CFLAGS = $(TEST_CORE_CFLAGS)
tests_nss_test_sync_LDADD = $(TEST_CORE_LIBS)
