# tests/valgrind: `make valgrind` runs the PAM and NSS test programs under valgrind memcheck
# (tests/valgrind/run-valgrind says how every process is judged) and fails on any memory error or
# definite/indirect/possible leak (tests/valgrind/gotrue.supp: the suppressions, each with its
# reason), and on any TAP failure of the tests themselves: timing-bound cases scale their
# timeouts by pt_slowdown() (GOTRUE_UNDER_VALGRIND=yes) instead. VALGRIND_STRICT_TAP=no reports
# TAP failures without failing. Logs go to tests/valgrind/logs/. Not part of `make check`: about
# 2 minutes on two cores.
VALGRIND_TESTS = \
	tests/store/test_store \
	tests/nss/test_nss_direct \
	tests/nss/test_nss_threads \
	tests/directory/test_idmap
if HAVE_MHD
VALGRIND_TESTS += \
	tests/pam/test_pam_auth \
	tests/pam/test_pam_session
endif
EXTRA_DIST += tests/valgrind/run-valgrind tests/valgrind/gotrue.supp

.PHONY: valgrind
valgrind:
	@$(MAKE) $(AM_MAKEFLAGS) $(VALGRIND_TESTS) pam/pam_gotrue.la nss/libnss_gotrue.la \
		tests/emulator/gotrue-emulator
	@$(AM_TESTS_ENVIRONMENT) LIBTOOL='$(LIBTOOL)' \
	$(SHELL) $(top_srcdir)/tests/valgrind/run-valgrind tests/valgrind/logs \
		$(VALGRIND_TESTS)

CLEANFILES += tests/valgrind/logs/*.log tests/valgrind/logs/*.tap
