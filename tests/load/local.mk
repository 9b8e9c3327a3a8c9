# tests/load: load and endurance.
#   test_load_concurrent  200 authentications at once, one thread each (make check)
#   test_load_long        one process, $LOAD_TRANSACTIONS whole PAM transactions: 1000 in make
#                         check; `make load-long` runs the issue's 10000
#   test_nss_load         8 threads x $NSS_LOAD_LOOKUPS NSS lookups: 100000 in make check;
#                         `make load-nss` runs the issue's 1000000
#   make tsan-nss         the same NSS test, module and test built with -fsanitize=thread (on
#                         demand: a second build of the module, and slow)
#   make helgrind-nss     the same under valgrind --tool=helgrind (on demand)
if HAVE_MHD
LOAD_PAM_TESTS = tests/load/test_load_concurrent tests/load/test_load_long
check_PROGRAMS += $(LOAD_PAM_TESTS) tests/load/load_pam_worker
TESTS += $(LOAD_PAM_TESTS)
endif
check_PROGRAMS += tests/load/test_nss_load
TESTS += tests/load/test_nss_load

tests_load_test_load_concurrent_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam -pthread
tests_load_test_load_concurrent_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la \
	$(PAM_LIBS) -lpthread
tests_load_test_load_concurrent_DEPENDENCIES = $(TEST_CORE_LIBS) \
	tests/pam/libpamtest.la pam/pam_gotrue.la

tests_load_test_load_long_SOURCES = tests/load/test_load_long.c tests/load/load.h
tests_load_test_load_long_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_load_test_load_long_LDADD = tests/common/libtestcommon.la tests/pam/libpamtest.la $(PAM_LIBS)
tests_load_test_load_long_DEPENDENCIES = tests/common/libtestcommon.la tests/pam/libpamtest.la \
	pam/pam_gotrue.la tests/load/load_pam_worker

# The long-lived process: libpam and nothing else of ours, as sshd would be.
tests_load_load_pam_worker_SOURCES = tests/load/load_pam_worker.c tests/load/load.h
tests_load_load_pam_worker_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests/pam
tests_load_load_pam_worker_LDADD = tests/pam/libpamtest.la $(PAM_LIBS)

tests_load_test_nss_load_SOURCES = tests/load/test_nss_load.c $(NSS_FIXTURE_SOURCES)
tests_load_test_nss_load_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/nss -pthread
tests_load_test_nss_load_LDADD = $(TEST_CORE_LIBS) -ldl -lpthread
EXTRA_tests_load_test_nss_load_DEPENDENCIES = tests/nss/libnss_gotrue.la

LOAD_ENV = top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	GOTRUE_EMULATOR='$(abs_top_builddir)/tests/emulator/gotrue-emulator' \
	GOTRUE_EMULATOR_BCRYPT_COST=4

load-long: tests/load/test_load_long tests/load/load_pam_worker pam/pam_gotrue.la \
		tests/emulator/gotrue-emulator
	$(LOAD_ENV) LOAD_TRANSACTIONS=$${LOAD_TRANSACTIONS:-10000} $(builddir)/tests/load/test_load_long
load-nss: tests/load/test_nss_load tests/nss/libnss_gotrue.la
	$(LOAD_ENV) NSS_LOAD_LOOKUPS=$${NSS_LOAD_LOOKUPS:-1000000} $(builddir)/tests/load/test_nss_load

# ThreadSanitizer: the module's three sources and the test, instrumented, beside the normal build
# (the writer the test uses to replace the cache comes uninstrumented from lib/cache/writer; it
# runs in the main thread only). TSAN_CC=clang works as well as gcc.
TSAN_CC = $(CC)
TSAN_FLAGS = -fsanitize=thread -g -O1 -fno-omit-frame-pointer -pthread
TSAN_CPPFLAGS = $(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS)
TSAN_DIR = tests/load/tsan
tsan-nss: $(GOTRUE_LIBS)
	$(MKDIR_P) $(TSAN_DIR)
	$(TSAN_CC) $(TSAN_CPPFLAGS) $(GOTRUE_CACHE_READER_CPPFLAGS) -DGOTRUE_NSS_TEST_BUILD \
		$(TSAN_FLAGS) -fPIC -shared \
		-o $(TSAN_DIR)/libnss_gotrue.so.2 \
		-Wl,--version-script=$(srcdir)/nss/nss_gotrue.map \
		$(srcdir)/nss/nss_gotrue.c $(srcdir)/nss/pack.c $(srcdir)/lib/cache/reader/cache_reader.c
	$(TSAN_CC) $(TSAN_CPPFLAGS) $(GOTRUE_CPPFLAGS) $(TSAN_FLAGS) -I$(srcdir)/tests/common \
		-I$(srcdir)/tests/nss -c -o $(TSAN_DIR)/test_nss_load.o $(srcdir)/tests/load/test_nss_load.c
	$(TSAN_CC) $(TSAN_CPPFLAGS) $(GOTRUE_CPPFLAGS) $(TSAN_FLAGS) -I$(srcdir)/tests/nss \
		-c -o $(TSAN_DIR)/fixture.o $(srcdir)/tests/nss/fixture.c
	$(LIBTOOL) --tag=CC --mode=link $(TSAN_CC) $(TSAN_FLAGS) -o $(TSAN_DIR)/test_nss_load \
		$(TSAN_DIR)/test_nss_load.o $(TSAN_DIR)/fixture.o $(GOTRUE_LIBS) -ldl
	$(LOAD_ENV) NSS_LOAD_MODULE='$(abs_builddir)/$(TSAN_DIR)/libnss_gotrue.so.2' \
	NSS_LOAD_LOOKUPS=$${NSS_LOAD_LOOKUPS:-100000} \
	TSAN_OPTIONS='halt_on_error=1 exitcode=66 second_deadlock_stack=1' \
		$(TSAN_DIR)/test_nss_load

# helgrind knows pthread locks but not atomics: the reader's relaxed atomic recheck clock is
# suppressed (tests/load/helgrind.supp, which says why); everything else must be clean.
helgrind-nss: tests/load/test_nss_load tests/nss/libnss_gotrue.la
	$(LOAD_ENV) NSS_LOAD_LOOKUPS=$${NSS_LOAD_LOOKUPS:-2000} \
	valgrind --tool=helgrind --error-exitcode=1 \
		--suppressions=$(srcdir)/tests/load/helgrind.supp $(builddir)/tests/load/test_nss_load
EXTRA_DIST += tests/load/helgrind.supp

clean-local-load:
	rm -rf $(TSAN_DIR)
clean-local: clean-local-load
.PHONY: load-long load-nss tsan-nss helgrind-nss clean-local-load
