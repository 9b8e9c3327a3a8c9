# tests/pam: pam_gotrue.so through the real libpam (pam_start_confdir, service files in a temporary
# directory) against the emulator; the module's exported symbols, and the layers it must not carry.
PAM_C_TESTS = \
	tests/pam/test_dlopen
if HAVE_MHD
PAM_C_TESTS += \
	tests/pam/test_pam_auth \
	tests/pam/test_pam_session \
	tests/pam/test_pam_throttle \
	tests/pam/test_pam_mfa \
	tests/pam/test_pam_offline
endif
check_PROGRAMS += $(PAM_C_TESTS)
TESTS += $(PAM_C_TESTS) tests/pam/test_exports.sh
EXTRA_DIST += tests/pam/test_exports.sh tests/pam/test_pamtester.sh
if HAVE_MHD
TESTS += tests/pam/test_pamtester.sh
endif

# Shared by the PAM tests, tests/hardening, tests/load and tests/bench/bench_pam. Its syslog(3)
# capture passes lines on to the system's syslog unless the program turns it on.
check_LTLIBRARIES += tests/pam/libpamtest.la
tests_pam_libpamtest_la_SOURCES = tests/pam/pamtest.c tests/pam/pamtest.h
tests_pam_libpamtest_la_LIBADD = $(PAM_LIBS) -ldl

tests_pam_test_dlopen_CFLAGS = $(TEST_CORE_CFLAGS)
tests_pam_test_dlopen_LDADD = -ldl
# The module must be built before these run.
tests_pam_test_dlopen_DEPENDENCIES = pam/pam_gotrue.la
# -export-dynamic: pamtest.c's syslog(3) capture must be the one libpam's pam_syslog() calls.
tests_pam_test_pam_auth_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_pam_test_pam_auth_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS)
tests_pam_test_pam_auth_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_pam_test_pam_auth_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la pam/pam_gotrue.la
# Second factors and emailed codes, both server generations; its own syslog capture as above.
tests_pam_test_pam_mfa_SOURCES = tests/pam/test_pam_mfa.c tests/pam/mfatest.h
tests_pam_test_pam_mfa_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_pam_test_pam_mfa_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS) $(CURL_LIBS) \
	$(CRYPTO_LIBS)
tests_pam_test_pam_mfa_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_pam_test_pam_mfa_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la pam/pam_gotrue.la
tests_pam_test_pam_session_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_pam_test_pam_session_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS)
tests_pam_test_pam_session_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la pam/pam_gotrue.la
tests_pam_test_pam_throttle_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_pam_test_pam_throttle_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS)
tests_pam_test_pam_throttle_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_pam_test_pam_throttle_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la pam/pam_gotrue.la
# Offline login (pam/offline.c); its own syslog capture as above.
tests_pam_test_pam_offline_SOURCES = tests/pam/test_pam_offline.c tests/pam/mfatest.h
tests_pam_test_pam_offline_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_pam_test_pam_offline_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS) \
	$(CURL_LIBS) $(CRYPTO_LIBS)
tests_pam_test_pam_offline_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
tests_pam_test_pam_offline_DEPENDENCIES = $(TEST_CORE_LIBS) tests/pam/libpamtest.la \
	pam/pam_gotrue.la tools/gotruectl
