#!/bin/sh
# test_nss_overlay: a login's public per-user overlay (lib/cache/reader/overlay.h), through glibc
# and nss_wrapper (whose initgroups walks groups itself: the overlay's gids are read back in
# tests/sync). A new user's overlay is served by name and by uid; a changed
# user's overlay changes GECOS, home, shell and groups, never the uid. An overlay that claims a
# uid or a name the cache gives another account, that renumbers a cached name, that is torn,
# malformed, a link, or that others could write, is ignored.
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
user alice 1879048193 1879048193 Alice /home/alice /bin/bash 1879050000
user bob 1879048194 1879048194 Bob /home/bob /bin/sh 1879050000
group alice 1879048193
group bob 1879048194
group devs 1879050000 alice,bob
group ops 1879050001 alice
SPEC
: >"$tmp/passwd"
: >"$tmp/group"
ov="$tmp/nss.overlay"
mkdir -p "$ov/uid"
chmod 0755 "$ov" "$ov/uid"

# put NAME UID LINE: the two files a login writes, 0644.
put() {
	printf '%s' "$3" >"$ov/$1"
	printf '%s' "$3" >"$ov/uid/$2"
	chmod 0644 "$ov/$1" "$ov/uid/$2"
}

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
absent() { # description, command...
	desc=$1
	shift
	n=$((n + 1))
	if got=$(run "$@"); then
		echo "not ok $n - $desc"
		printf '%s\n' "# got:  $got"
		fail=1
	else
		echo "ok $n - $desc"
	fi
}

absent "no overlay: carol unknown" getent passwd carol
put carol 1879048195 "carol:1879048195:1879048195:Carol:/home/carol:/bin/sh:1879050000,1879050001
"
check "new user's overlay: getent passwd carol" \
	"carol:*:1879048195:1879048195:Carol:/home/carol:/bin/sh" getent passwd carol
check "new user's overlay: by uid" "carol:*:1879048195:1879048195:Carol:/home/carol:/bin/sh" \
	getent passwd 1879048195

put bob 1879048194 "bob:1879048194:1879048194:Robert:/home/bob:/bin/zsh:1879050001
"
check "changed user's overlay: new GECOS and shell" \
	"bob:*:1879048194:1879048194:Robert:/home/bob:/bin/zsh" getent passwd bob
check "changed user's overlay: by uid too" \
	"bob:*:1879048194:1879048194:Robert:/home/bob:/bin/zsh" getent passwd 1879048194

put bob 1879049999 "bob:1879049999:1879049999:Renumbered:/home/bob:/bin/sh:
"
check "an overlay never renumbers a cached name" \
	"bob:*:1879048194:1879048194:Bob:/home/bob:/bin/sh" getent passwd bob
absent "nor answers for the uid it claims" getent passwd 1879049999

put mallory 1879048193 "mallory:1879048193:1879048193:M:/home/mallory:/bin/sh:
"
absent "an overlay claiming alice's uid: mallory unknown" getent passwd mallory
check "alice's uid stays alice's" "alice:*:1879048193:1879048193:Alice:/home/alice:/bin/bash" \
	getent passwd 1879048193

put dave 1879048196 "dave:1879048196:1879048196:Dave:/home/dave:/bin/sh:"
absent "a torn overlay (no final newline) is ignored" getent passwd dave
absent "by uid too" getent passwd 1879048196

put erin 1879048197 "erin:1879048197:1879048197:Erin:/home/erin:/bin/sh:
"
chmod 0666 "$ov/erin"
absent "an overlay others can write is ignored" getent passwd erin
put frank 1879048198 "frank:1879048198:1879048198:F:/home/frank:/bin/sh:1,x
"
absent "an overlay with a malformed field is ignored" getent passwd frank
printf 'gina:1879048199:1879048199:G:/home/gina:/bin/sh:\n' >"$tmp/gina"
chmod 0644 "$tmp/gina"
ln -s "$tmp/gina" "$ov/gina"
absent "a symbolic link is not followed" getent passwd gina
check "enumeration lists the cache only (the next sync adds the overlays)" \
	"alice:*:1879048193:1879048193:Alice:/home/alice:/bin/bash
bob:*:1879048194:1879048194:Bob:/home/bob:/bin/sh" getent passwd
echo "1..$n"
exit $fail
