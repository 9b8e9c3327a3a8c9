#!/bin/sh
# test_bench_scale_nss: `make bench-scale-nss` at a small size, as a correctness test (no timing
# is asserted): the fresh-process and warm getpwnam samples run through glibc against both
# nss_gotrue and libnss-cache, every answer of the two agrees (run-bench-scale-nss fails
# otherwise), and both ratios are printed. Root and libnss-cache only (SKIP otherwise).
set -u
if [ "${GOTRUE_SANITIZED:-no}" = yes ]; then
	echo "1..0 # SKIP sanitizer build: glibc cannot load an ASan module into the bench program"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! unshare --mount --propagation private true 2>/dev/null; then
	echo "1..0 # SKIP needs root for a private mount namespace"
	exit 0
fi
out=$(BENCH_SCALE_NSS_USERS=300 BENCH_SCALE_NSS_SAMPLES=7 \
	sh "$top_srcdir/tests/bench/run-bench-scale-nss" 2>"${TMPDIR:-/tmp}/bench-scale-nss.$$")
rc=$?
err=$(cat "${TMPDIR:-/tmp}/bench-scale-nss.$$")
rm -f "${TMPDIR:-/tmp}/bench-scale-nss.$$"
if [ $rc -eq 77 ]; then
	echo "1..0 # SKIP $(echo "$err" | tail -1)"
	exit 0
fi
echo "1..3"
if [ $rc -eq 0 ]; then
	echo "ok 1 - run-bench-scale-nss at 300 users: every sample answered, both modules agree"
else
	echo "not ok 1 - run-bench-scale-nss at 300 users (exit $rc)"
	echo "$err" | sed 's/^/# /'
fi
for name in nss_fresh_getpwnam_300_vs_nsscache nss_getpwnam_300_vs_nsscache; do
	n=$((${n:-1} + 1))
	if echo "$out" | grep -Eq "^$name: [0-9]+\.[0-9]+\$" &&
		! echo "$out" | grep -Eq "^$name: 0\.0+\$"; then
		echo "ok $n - $(echo "$out" | grep "^$name:")"
	else
		echo "not ok $n - $name printed as a positive ratio"
		echo "$out" | sed 's/^/# /'
	fi
done
