# tests/bench: the benchmarks of `make bench` (README.md, Testing).

# bench_pam (PAM work): pam_authenticate vs a bare libcurl POST /token, median over median; then
# a password-plus-TOTP pam_authenticate vs the same three bare requests (pam_mfa_vs_curl_ratio).
# Built with the tests (check_PROGRAMS) but not in TESTS: `make bench-pam` runs it.
if HAVE_MHD
check_PROGRAMS += tests/bench/bench_pam
endif
tests_bench_bench_pam_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_bench_bench_pam_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(CURL_LIBS) $(PAM_LIBS) \
	$(CRYPTO_LIBS)
tests_bench_bench_pam_DEPENDENCIES = tests/common/libtestcommon.la tests/pam/libpamtest.la pam/pam_gotrue.la

bench-pam: tests/bench/bench_pam pam/pam_gotrue.la tests/emulator/gotrue-emulator
	top_builddir='$(abs_top_builddir)' \
	GOTRUE_EMULATOR='$(abs_top_builddir)/tests/emulator/gotrue-emulator' \
	$(builddir)/tests/bench/bench_pam
bench: bench-pam
.PHONY: bench bench-pam

# bench_offline (offline login): an offline pam_authenticate of pam_gotrue (GoTrue unreachable,
# the verifier of an earlier online login) vs pam_unix checking a yescrypt hash of the same cost,
# median over median (offline_auth_vs_pam_unix). Root only: pam_unix's user is in an /etc/shadow
# bind-mounted in a private mount namespace. `make bench-offline` runs it.
if HAVE_MHD
check_PROGRAMS += tests/bench/bench_offline
endif
tests_bench_bench_offline_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam $(XCRYPT_CFLAGS)
tests_bench_bench_offline_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(CURL_LIBS) $(PAM_LIBS) \
	$(CRYPTO_LIBS) $(XCRYPT_LIBS)
tests_bench_bench_offline_DEPENDENCIES = tests/common/libtestcommon.la tests/pam/libpamtest.la \
	pam/pam_gotrue.la

bench-offline: tests/bench/bench_offline pam/pam_gotrue.la tests/emulator/gotrue-emulator
	top_builddir='$(abs_top_builddir)' \
	GOTRUE_EMULATOR='$(abs_top_builddir)/tests/emulator/gotrue-emulator' \
	$(builddir)/tests/bench/bench_offline
bench: bench-offline
.PHONY: bench-offline

# bench_nss (NSS work): lookups through glibc against nss_files and libnss-cache in a private
# mount namespace, the module vs a bare stat(), sync vs bare libcurl pages. `make bench-nss`.
check_PROGRAMS += tests/bench/bench_nss
tests_bench_bench_nss_CFLAGS = $(TEST_CORE_CFLAGS)
tests_bench_bench_nss_LDADD = $(TEST_CORE_LIBS) $(CURL_LIBS) -ldl
EXTRA_DIST += tests/bench/run-bench-nss tests/bench/bench_nss_data.py tests/bench/bench.h

bench-nss: tests/bench/bench_nss tests/nss/mkcache tests/nss/libnss_gotrue.la tests/emulator/gotrue-emulator
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	$(SHELL) $(top_srcdir)/tests/bench/run-bench-nss
bench: bench-nss
.PHONY: bench-nss

# bench-scale-nss: getpwnam at a million users against libnss-cache, in fresh processes (one
# lookup each, fork+exec per sample) and warm (run-bench-scale-nss says how). Part of bench-scale
# and so of `make bench`; test_bench_scale_nss.sh runs it at 300 users under `make check`, as a
# correctness test with no timing asserted.
EXTRA_DIST += tests/bench/run-bench-scale-nss tests/bench/test_bench_scale_nss.sh
check_SCRIPTS += tests/bench/test_bench_scale_nss.sh
TESTS += tests/bench/test_bench_scale_nss.sh

bench-scale-nss: tests/bench/bench_nss tests/nss/mkcache tests/nss/libnss_gotrue.la
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	$(SHELL) $(top_srcdir)/tests/bench/run-bench-scale-nss
bench-scale: bench-scale-nss
bench: bench-scale-nss
.PHONY: bench-scale bench-scale-nss

# bench_refresh (lifecycle work): the refresh pass over 1k and 10k due sessions vs the same number
# of bare libcurl refresh calls, and what bounds that ratio on the host (two bare loops at once,
# CPU time, busy cores). `make bench-refresh` (BENCH_STATE_DIR picks the store's disk).
if HAVE_MHD
check_PROGRAMS += tests/bench/bench_refresh
endif
tests_bench_bench_refresh_CFLAGS = $(TEST_CORE_CFLAGS)
tests_bench_bench_refresh_LDADD = $(TEST_CORE_LIBS) $(CURL_LIBS) $(JSONC_LIBS)

bench-refresh: tests/bench/bench_refresh tests/emulator/gotrue-emulator
	top_builddir='$(abs_top_builddir)' \
	GOTRUE_EMULATOR='$(abs_top_builddir)/tests/emulator/gotrue-emulator' \
	GOTRUE_EMULATOR_BCRYPT_COST=4 \
	$(builddir)/tests/bench/bench_refresh
bench: bench-refresh
.PHONY: bench-refresh

# bench_uid (uid assignment): users left out or sharing a uid after mapping 1M users with
# assign_uids (uid_collisions_1m, goal 0), without a server; and the peak RSS per user of a
# sync of 1M users (run-bench-scale-uid). `make check` runs bench_uid small
# (test_bench_uid.sh), `make bench-scale-uid` at 1M.
check_PROGRAMS += tests/bench/bench_uid
tests_bench_bench_uid_CFLAGS = $(TEST_CORE_CFLAGS)
tests_bench_bench_uid_LDADD = $(TEST_CORE_LIBS)
TESTS += tests/bench/test_bench_uid.sh
EXTRA_DIST += tests/bench/test_bench_uid.sh tests/bench/run-bench-scale-uid

bench-scale-uid: tests/bench/bench_uid tests/bench/bench_nss
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	$(SHELL) $(top_srcdir)/tests/bench/run-bench-scale-uid
bench-scale: bench-scale-uid
.PHONY: bench-scale bench-scale-uid

# bench_scale (a login whose cost does not grow with the number of users): synced files for 10 and
# 1M users written directly (bench_scale_data), then fresh-process logins against them
# (bench_scale_login). `make bench-scale`; bench-scale-login is this part, and a small-size run
# of the same program is a test in make check (no timing asserted).
check_PROGRAMS += tests/bench/bench_scale_data
tests_bench_bench_scale_data_CFLAGS = $(TEST_CORE_CFLAGS)
tests_bench_bench_scale_data_LDADD = $(TEST_CORE_LIBS)
if HAVE_MHD
check_PROGRAMS += tests/bench/bench_scale_login
TESTS += tests/bench/bench_scale_login
endif
tests_bench_bench_scale_login_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/tests/pam
tests_bench_bench_scale_login_LDADD = $(TEST_CORE_LIBS) tests/pam/libpamtest.la $(PAM_LIBS)
tests_bench_bench_scale_login_DEPENDENCIES = tests/common/libtestcommon.la \
	tests/pam/libpamtest.la pam/pam_gotrue.la tests/bench/bench_scale_data

BENCH_SCALE_USERS = 1000000
BENCH_SCALE_SAMPLES = 7
bench-scale-login: tests/bench/bench_scale_login tests/bench/bench_scale_data \
		pam/pam_gotrue.la tests/emulator/gotrue-emulator
	top_builddir='$(abs_top_builddir)' \
	GOTRUE_EMULATOR='$(abs_top_builddir)/tests/emulator/gotrue-emulator' \
	$(builddir)/tests/bench/bench_scale_login $(BENCH_SCALE_USERS) $(BENCH_SCALE_SAMPLES)
bench-scale: bench-scale-login
bench: bench-scale
.PHONY: bench-scale bench-scale-login

# bench-fleet (the fleet): a 304 fetch vs a bare curl conditional GET, a whole 1M-user bundle's
# fetch vs curl downloading the same files, and GoTrue's listings while 1000 hosts fetch.
# tests/bench/run-bench-fleet (root, nginx). `make bench-fleet`.
EXTRA_DIST += tests/bench/run-bench-fleet
bench-fleet: tools/gotruectl tests/nss/mkcache tests/emulator/gotrue-emulator
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	GOTRUE_EMULATOR='$(abs_top_builddir)/tests/emulator/gotrue-emulator' \
	GOTRUE_EMULATOR_BCRYPT_COST=4 \
	$(SHELL) $(top_srcdir)/tests/bench/run-bench-fleet
bench: bench-fleet
.PHONY: bench-fleet
