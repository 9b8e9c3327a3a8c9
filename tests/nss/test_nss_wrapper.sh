#!/bin/sh
# test_nss_wrapper: glibc itself loads libnss_gotrue.so.2 through nss_wrapper (no root, no host
# files touched): getent passwd/group/initgroups, id, and enumeration give the expected lines.
set -u
if [ "${GOTRUE_SANITIZED:-no}" = yes ]; then
	echo "1..0 # SKIP sanitizer build: getent cannot load an ASan module (the in-process tests cover it)"
	exit 0
fi
mod="$top_builddir/tests/nss/.libs/libnss_gotrue.so.2"
mkcache="$top_builddir/tests/nss/mkcache"
wrapper=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
	[ -e "$d/libnss_wrapper.so" ] && wrapper="$d/libnss_wrapper.so" && break
done
if [ -z "$wrapper" ]; then
	echo "1..0 # SKIP libnss_wrapper.so not installed (libnss-wrapper)"
	exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cat <<SPEC | "$mkcache" "$tmp/nss.cache" || { echo "Bail out! mkcache failed"; exit 1; }
user alice 1879048193 1879048193 Alice_Liddell /home/alice /bin/bash 1879050000,1879050001
user bob 1879048194 1879048194 Bob /home/bob /bin/sh 1879050000
group alice 1879048193
group bob 1879048194
group devs 1879050000 alice,bob
group ops 1879050001 alice
SPEC
: >"$tmp/passwd"
: >"$tmp/group"

n=0
fail=0
run() {
	env LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD="$tmp/passwd" NSS_WRAPPER_GROUP="$tmp/group" \
		NSS_WRAPPER_MODULE_SO_PATH="$mod" NSS_WRAPPER_MODULE_FN_PREFIX=gotrue \
		NSS_GOTRUE_CACHE="$tmp/nss.cache" "$@" 2>&1
}
check() { # description, expected, command...
	desc=$1 want=$2
	shift 2
	n=$((n + 1))
	got=$(run "$@")
	if [ "$got" = "$want" ]; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		printf '%s\n' "# want: $want" "# got:  $got"
		fail=1
	fi
}

check "getent passwd alice" "alice:*:1879048193:1879048193:Alice Liddell:/home/alice:/bin/bash" \
	getent passwd alice
check "getent passwd by uid" "bob:*:1879048194:1879048194:Bob:/home/bob:/bin/sh" \
	getent passwd 1879048194
check "id alice" \
	"uid=1879048193(alice) gid=1879048193(alice) groups=1879048193(alice),1879050000(devs),1879050001(ops)" \
	id alice
check "getent group devs" "devs:x:1879050000:alice,bob" getent group devs
check "getent group by gid" "ops:x:1879050001:alice" getent group 1879050001
check "getent initgroups alice" "alice                 1879050000 1879050001" \
	getent initgroups alice
check "getent passwd enumerates" "alice:*:1879048193:1879048193:Alice Liddell:/home/alice:/bin/bash
bob:*:1879048194:1879048194:Bob:/home/bob:/bin/sh" getent passwd
check "getent group enumerates" "alice:x:1879048193:
bob:x:1879048194:
devs:x:1879050000:alice,bob
ops:x:1879050001:alice" getent group
n=$((n + 1))
if run getent passwd carol >/dev/null; then
	echo "not ok $n - unknown user is not found"
	fail=1
else
	echo "ok $n - unknown user is not found"
fi
echo "1..$n"
exit $fail
