#!/bin/sh
# test_nss_ns: glibc's own NSS dispatch with `passwd: files gotrue` / `group: files gotrue`, in a
# private mount namespace (unshare) whose /etc/nsswitch.conf is a bind mount. The host's files
# are never modified; the module is found through LD_LIBRARY_PATH. Root only (SKIP otherwise).
set -u
if [ "${GOTRUE_SANITIZED:-no}" = yes ]; then
	echo "1..0 # SKIP sanitizer build: getent cannot load an ASan module (the in-process tests cover it)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root for a private mount namespace"
	exit 0
fi
if ! unshare --mount --propagation private true 2>/dev/null; then
	echo "1..0 # SKIP unshare --mount not permitted here"
	exit 0
fi
moddir="$top_builddir/tests/nss/.libs"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$top_builddir/tests/nss/mkcache" "$tmp/nss.cache" <<SPEC || { echo "Bail out! mkcache"; exit 1; }
user gtalice 1879048193 1879048193 Alice /home/gtalice /bin/bash 1879050000
group gtalice 1879048193
group gtdevs 1879050000 gtalice
SPEC
printf 'passwd: files gotrue\ngroup: files gotrue\nshadow: files\n' >"$tmp/nsswitch.conf"
cat >"$tmp/inner.sh" <<'INNER'
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf || exit 99
export LD_LIBRARY_PATH="$2" NSS_GOTRUE_CACHE="$1/nss.cache"
getent passwd gtalice
id gtalice
getent group gtdevs
getent initgroups gtalice
getent passwd root | cut -d: -f1,3
INNER
got=$(unshare --mount --propagation private sh "$tmp/inner.sh" "$tmp" "$moddir" 2>&1)
want="gtalice:*:1879048193:1879048193:Alice:/home/gtalice:/bin/bash
uid=1879048193(gtalice) gid=1879048193(gtalice) groups=1879048193(gtalice),1879050000(gtdevs)
gtdevs:x:1879050000:gtalice
gtalice               1879050000
root:0"
if [ "$got" = "$want" ]; then
	echo "ok 1 - glibc resolves through files then gotrue in a private namespace"
	rc=0
else
	echo "not ok 1 - glibc resolves through files then gotrue in a private namespace"
	printf '# %s\n' "want:" $want "got:" $got
	rc=1
fi
# The host never saw the bind mount.
if grep -q gotrue /etc/nsswitch.conf 2>/dev/null && ! grep -q gotrue "$tmp/nsswitch.conf"; then
	echo "not ok 2 - host nsswitch.conf untouched"
	rc=1
elif getent passwd gtalice >/dev/null 2>&1; then
	echo "not ok 2 - host does not resolve gtalice"
	rc=1
else
	echo "ok 2 - host does not resolve gtalice (namespace only)"
fi
echo "1..2"
exit $rc
