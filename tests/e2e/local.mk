# tests/e2e: real logins end to end (sshd, sudo, login, su), the install layout and
# pam-auth-update, each as root in a private mount namespace against the emulator; SKIP
# without root (make distcheck) or in sanitizer builds (sshd and sudo cannot load ASan modules).
check_PROGRAMS += tests/e2e/e2e_sync
tests_e2e_e2e_sync_CFLAGS = $(TEST_CORE_CFLAGS)
tests_e2e_e2e_sync_LDADD = $(TEST_CORE_LIBS)
# The second factor for the shell scripts: enrol, compute a code, read a stored session's aal.
check_PROGRAMS += tests/e2e/e2e_mfa
tests_e2e_e2e_mfa_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_e2e_e2e_mfa_LDADD = $(TEST_CORE_LIBS) $(CRYPTO_LIBS)

E2E_TESTS = tests/e2e/test_sshd.sh tests/e2e/test_sudo.sh tests/e2e/test_console.sh \
	tests/e2e/test_install.sh tests/e2e/test_pam_auth_update.sh tests/e2e/test_fleet.sh
check_SCRIPTS += $(E2E_TESTS)
TESTS += $(E2E_TESTS)
EXTRA_DIST += $(E2E_TESTS) tests/e2e/e2e.sh
