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
