#!/bin/sh
# test_nss_elf: the module links libc only (ELF NEEDED), exports only _nss_gotrue_* (the
# dynamic symbol table), as STYLE.md rules 2 and 3 require, and carries the cache reader without
# the writer (the full symbol table). And the installed module reads the cache path it was built
# with, whatever the environment says: only the test suite's own build (tests/nss/.libs) knows
# NSS_GOTRUE_CACHE.
set -u
mod="$top_builddir/nss/.libs/libnss_gotrue.so.2"
testmod="$top_builddir/tests/nss/.libs/libnss_gotrue.so.2"
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

# The variable's name in the test build and not in the installed one; no getenv of any kind.
if grep -q NSS_GOTRUE_CACHE "$testmod" && ! grep -q NSS_GOTRUE_CACHE "$mod" &&
	! nm -D --undefined-only "$mod" | grep -q 'getenv'; then
	echo "ok 4 - the installed module has no NSS_GOTRUE_CACHE and calls no getenv"
else
	echo "not ok 4 - the installed module has no NSS_GOTRUE_CACHE and calls no getenv"
	fail=1
fi

# Behaviour, through glibc (nss_wrapper): a fixture cache named in NSS_GOTRUE_CACHE answers
# through the test build and is ignored by the installed module.
wrapper=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
	[ -e "$d/libnss_wrapper.so" ] && wrapper="$d/libnss_wrapper.so" && break
done
if [ -z "$wrapper" ] || [ "${GOTRUE_SANITIZED:-no}" = yes ]; then
	echo "ok 5 # SKIP nss_wrapper not installed, or a sanitizer build"
	echo "ok 6 # SKIP nss_wrapper not installed, or a sanitizer build"
else
	tmp=$(mktemp -d) || exit 1
	trap 'rm -rf "$tmp"' EXIT
	printf 'user gtenvprobe 1879048299 1879048299 Probe /home/gtenvprobe /bin/sh\ngroup gtenvprobe 1879048299\n' |
		"$top_builddir/tests/nss/mkcache" "$tmp/nss.cache" || { echo "Bail out! mkcache"; exit 1; }
	: >"$tmp/passwd"
	: >"$tmp/group"
	lookup() { # lookup MODULE
		env LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD="$tmp/passwd" NSS_WRAPPER_GROUP="$tmp/group" \
			NSS_WRAPPER_MODULE_SO_PATH="$1" NSS_WRAPPER_MODULE_FN_PREFIX=gotrue \
			NSS_GOTRUE_CACHE="$tmp/nss.cache" getent passwd gtenvprobe 2>/dev/null
	}
	case $(lookup "$testmod") in
	gtenvprobe:*) echo "ok 5 - the test build reads the cache NSS_GOTRUE_CACHE names" ;;
	*) echo "not ok 5 - the test build reads the cache NSS_GOTRUE_CACHE names"; fail=1 ;;
	esac
	if [ -z "$(lookup "$mod")" ]; then
		echo "ok 6 - the installed module ignores NSS_GOTRUE_CACHE"
	else
		echo "not ok 6 - the installed module ignores NSS_GOTRUE_CACHE"
		fail=1
	fi
fi
# The cache reader and nothing of the writer (lib/cache/writer), in the full symbol table: the
# writer's symbols are not exported anyway, so -D would not see them.
syms=$(nm "$mod" 2>/dev/null | awk '{print $NF}')
writer=$(printf '%s\n' "$syms" | grep -E '^gotrue_(cache_builder_|cache_replace|replace_)')
if ! printf '%s\n' "$syms" | grep -q '^gotrue_cache_getpwnam$'; then
	echo "not ok 7 - the module carries the cache reader and no writer (no symbol table?)"
	fail=1
elif [ -n "$writer" ]; then
	echo "not ok 7 - the module carries the cache reader and no writer"
	printf '# writer: %s\n' $writer
	fail=1
else
	echo "ok 7 - the module carries the cache reader and no writer"
fi

echo "1..7"
exit $fail
