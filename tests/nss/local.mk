# tests/nss: the NSS module on fixture caches (direct dlopen calls, threads), through glibc
# (nss_wrapper; a private mount namespace as root), the ELF checks, and what nss/ can include.
check_PROGRAMS += tests/nss/mkcache tests/nss/test_nss_direct tests/nss/test_nss_threads
NSS_SCRIPT_TESTS = tests/nss/test_nss_wrapper.sh tests/nss/test_nss_overlay.sh \
	tests/nss/test_nss_elf.sh \
	tests/nss/test_nss_ns.sh tests/nss/test_nss_includes.sh
check_SCRIPTS += $(NSS_SCRIPT_TESTS)
TESTS += tests/nss/test_nss_direct tests/nss/test_nss_threads $(NSS_SCRIPT_TESTS)
EXTRA_DIST += $(NSS_SCRIPT_TESTS)

# The test suite's copy of the NSS module: the same sources, built with GOTRUE_NSS_TEST_BUILD so
# that NSS_GOTRUE_CACHE points it at a fixture cache (nss/nss_gotrue.c path_init). The installed
# nss/libnss_gotrue.so.2 has no such code (test_nss_elf.sh proves it); the tests that need a
# fixture cache load this one from tests/nss/.libs, and the e2e tests and test_nss_elf.sh the
# real one. -rpath makes libtool build a shared object rather than a convenience archive.
check_LTLIBRARIES += tests/nss/libnss_gotrue.la
tests_nss_libnss_gotrue_la_SOURCES = nss/nss_gotrue.c nss/pack.c nss/pack.h
tests_nss_libnss_gotrue_la_CPPFLAGS = $(nss_libnss_gotrue_la_CPPFLAGS) -DGOTRUE_NSS_TEST_BUILD
tests_nss_libnss_gotrue_la_CFLAGS = $(AM_CFLAGS) -pthread
tests_nss_libnss_gotrue_la_LIBADD = lib/cache/reader/libgotrue-cache-reader.la
tests_nss_libnss_gotrue_la_LDFLAGS = $(AM_LDFLAGS) -module -shared -avoid-version -shrext .so.2 \
	-rpath /nowhere -Wl,--version-script=$(srcdir)/nss/nss_gotrue.map $(MODULE_ZDEFS) \
	-Wl,-z,relro -Wl,-z,now -Wl,--as-needed
EXTRA_tests_nss_libnss_gotrue_la_DEPENDENCIES = nss/nss_gotrue.map

NSS_FIXTURE_SOURCES = tests/nss/fixture.c tests/nss/fixture.h
tests_nss_mkcache_SOURCES = tests/nss/mkcache.c $(NSS_FIXTURE_SOURCES)
tests_nss_mkcache_CFLAGS = $(TEST_CORE_CFLAGS)
tests_nss_mkcache_LDADD = $(TEST_CORE_LIBS)
# The test module is dlopen'ed from the build tree, so it must be built first.
tests_nss_test_nss_direct_SOURCES = tests/nss/test_nss_direct.c $(NSS_FIXTURE_SOURCES)
tests_nss_test_nss_direct_CFLAGS = $(TEST_CORE_CFLAGS)
tests_nss_test_nss_direct_LDADD = $(TEST_CORE_LIBS) -ldl
EXTRA_tests_nss_test_nss_direct_DEPENDENCIES = tests/nss/libnss_gotrue.la
tests_nss_test_nss_threads_SOURCES = tests/nss/test_nss_threads.c $(NSS_FIXTURE_SOURCES)
tests_nss_test_nss_threads_CFLAGS = $(TEST_CORE_CFLAGS) -pthread
tests_nss_test_nss_threads_LDADD = $(TEST_CORE_LIBS) -ldl -lpthread
EXTRA_tests_nss_test_nss_threads_DEPENDENCIES = tests/nss/libnss_gotrue.la

# test_nss_includes.sh preprocesses nss/ with the module's own preprocessor flags. The string
# values of -DSYSCONFDIR and -DGOTRUE_STATEDIR lose their quotes on the way; no #include depends
# on them.
AM_TESTS_ENVIRONMENT += \
	NSS_CC='$(CC)'; export NSS_CC; \
	NSS_CPPFLAGS='$(DEFS) $(nss_libnss_gotrue_la_CPPFLAGS) $(CPPFLAGS)'; export NSS_CPPFLAGS;
