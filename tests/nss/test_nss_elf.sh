#!/bin/sh
# test_nss_elf: the module links libc only (ELF NEEDED) and exports only _nss_gotrue_* (the
# dynamic symbol table), as STYLE.md rules 2 and 3 require.
set -u
mod="$top_builddir/nss/.libs/libnss_gotrue.so.2"
if ! command -v readelf >/dev/null 2>&1 || ! command -v nm >/dev/null 2>&1; then
	echo "1..0 # SKIP readelf/nm not installed"
	exit 0
fi
fail=0
needed=$(readelf -d "$mod" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	if [ "${GOTRUE_SANITIZED:-no}" = yes ]; then grep -v '^lib\(asan\|ubsan\)\.so'; else cat; fi | sort | tr '\n' ' ')
case "$needed" in
"libc.so.6 " | "ld-linux-x86-64.so.2 libc.so.6 ") echo "ok 1 - NEEDED is libc only: $needed" ;;
*) echo "not ok 1 - NEEDED is libc only: $needed"; fail=1 ;;
esac
exports=$(nm -D --defined-only "$mod" | awk '{print $3}' | sort)
others=$(printf '%s\n' "$exports" | grep -v '^_nss_gotrue_' | grep -v '^$')
if [ -z "$others" ]; then
	echo "ok 2 - only _nss_gotrue_* exported"
else
	echo "not ok 2 - only _nss_gotrue_* exported"
	printf '# extra: %s\n' $others
	fail=1
fi
want="_nss_gotrue_endgrent _nss_gotrue_endpwent _nss_gotrue_getgrent_r _nss_gotrue_getgrgid_r _nss_gotrue_getgrnam_r _nss_gotrue_getpwent_r _nss_gotrue_getpwnam_r _nss_gotrue_getpwuid_r _nss_gotrue_initgroups_dyn _nss_gotrue_setgrent _nss_gotrue_setpwent"
got=$(printf '%s\n' "$exports" | tr '\n' ' ' | sed 's/ $//')
if [ "$got" = "$want" ]; then
	echo "ok 3 - the 11 entry points are exported"
else
	echo "not ok 3 - the 11 entry points are exported"
	echo "# got: $got"
	fail=1
fi
for lib in curl json jwt crypto pam; do
	case "$needed" in *"$lib"*) fail=1; echo "# links $lib" ;; esac
done
echo "1..3"
exit $fail
