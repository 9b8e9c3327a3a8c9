# tests/hardening: every bad day as a test case.
HARDENING_TESTS =

# The fault matrix: 15 server faults x authenticate, account, close_session, refresh pass, sync
# (README.md, "When the server misbehaves", is its table).
if HAVE_MHD
HARDENING_TESTS += tests/hardening/test_fault_matrix
endif
tests_hardening_test_fault_matrix_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_hardening_test_fault_matrix_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS) \
	$(CRYPTO_LIBS)
tests_hardening_test_fault_matrix_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la \
	pam/pam_gotrue.la

check_PROGRAMS += $(HARDENING_TESTS)
TESTS += $(HARDENING_TESTS)

# Attacks, end to end through libpam, the module and the emulator. The test
# defines free(3) and pam_fail_delay(3) itself, and gets syslog(3) from tests/pam/pamtest.c's
# capture: -export-dynamic makes the module and its libraries bind to them.
if HAVE_MHD
HARDENING_TESTS += tests/hardening/test_attacks
endif
tests_hardening_test_attacks_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_hardening_test_attacks_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS) -ldl
tests_hardening_test_attacks_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_hardening_test_attacks_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la \
	pam/pam_gotrue.la
# Local accounts first (pam/util.c pg_local_first, lib/directory/owner.c): the program runs itself
# again under nss_wrapper, with the test build of the NSS module standing in for LDAP.
if HAVE_MHD
HARDENING_TESTS += tests/hardening/test_local_first
endif
tests_hardening_test_local_first_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_hardening_test_local_first_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS)
tests_hardening_test_local_first_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_hardening_test_local_first_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la \
	pam/pam_gotrue.la tests/nss/libnss_gotrue.la
# Identity from the verified claims only, and names and uids kept by their holder: through
# libpam, the module, sync and the emulator's "user" fault (a middleman rewriting the body).
if HAVE_MHD
HARDENING_TESTS += tests/hardening/test_identity
endif
tests_hardening_test_identity_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_hardening_test_identity_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS)
tests_hardening_test_identity_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_hardening_test_identity_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la \
	pam/pam_gotrue.la
# setuid callers (sudo, su) must not be steered by the environment: no plain getenv in the code
# that runs inside them.
TESTS += tests/hardening/test_getenv.sh
EXTRA_DIST += tests/hardening/test_getenv.sh
