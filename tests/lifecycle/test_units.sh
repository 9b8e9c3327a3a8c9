#!/bin/sh
# test_units: `systemd-analyze verify` accepts the refresh, sync, publish and fetch units, and
# the refresh and fetch services carry the hardening of the other units. The .in files are filled in the way make does,
# with the built gotruectl (verify wants an executable ExecStart). SKIPs without systemd-analyze.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
src="$top_srcdir/tools/systemd"
echo "1..13"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "ok 1 # SKIP systemd-analyze not installed"
	for i in 2 3 4 5 6 7 8 9 10 11 12 13; do echo "ok $i # SKIP systemd-analyze not installed"; done
	exit 0
fi
ctl="${GOTRUECTL:-$top_builddir/tools/gotruectl}"
bindir=$(cd "$(dirname "$ctl")" && pwd)
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
for u in gotrue-refresh gotrue-sync gotrue-publish gotrue-fetch; do
	sed -e "s|@bindir@|$bindir|g" -e "s|@gotruestatedir@|/var/lib/gotrue|g" -e "s|@sysconfdir@|/etc|g" \
		"$src/$u.service.in" >"$dir/$u.service"
	cp "$src/$u.timer" "$dir/$u.timer"
done
n=1
for u in gotrue-refresh.service gotrue-refresh.timer gotrue-sync.service gotrue-sync.timer \
	gotrue-publish.service gotrue-publish.timer gotrue-fetch.service gotrue-fetch.timer; do
	out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$dir/$u" 2>&1)
	rc=$?
	# Only complaints about our own units count; a container without systemd running may warn
	# about the host's units.
	ours=$(printf '%s\n' "$out" | grep -F 'gotrue-' || true)
	if [ $rc -eq 0 ] && [ -z "$ours" ]; then
		echo "ok $n - systemd-analyze verify $u"
	else
		echo "not ok $n - systemd-analyze verify $u"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
	n=$((n + 1))
done
hardened() { # hardened N UNIT
	missing=""
	for k in "ProtectSystem=strict" "ReadWritePaths=/var/lib/gotrue" "PrivateTmp=yes" \
		"NoNewPrivileges=yes" "ProtectHome=yes" \
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"; do
		grep -qxF "$k" "$dir/$2" || missing="$missing [$k]"
	done
	if [ -z "$missing" ]; then
		echo "ok $1 - $2 is hardened like the other units"
	else
		echo "not ok $1 - $2 lacks$missing"
	fi
}
hardened 9 gotrue-refresh.service
grep -q '^ExecStart=.*/gotruectl refresh$' "$dir/gotrue-refresh.service" &&
	grep -q '^OnUnitActiveSec=' "$src/gotrue-refresh.timer" &&
	echo "ok 10 - the timer runs gotruectl refresh periodically" ||
	echo "not ok 10 - the timer runs gotruectl refresh periodically"
grep -qxF "ConditionPathExists=/etc/gotrue/gotrue.conf" "$dir/gotrue-refresh.service" &&
	grep -qxF "ConditionPathExists=/etc/gotrue/gotrue.conf" "$dir/gotrue-sync.service" &&
	grep -qxF "ConditionPathExists=/etc/gotrue/gotrue.conf" "$dir/gotrue-publish.service" &&
	grep -qxF "ConditionPathExists=/etc/gotrue/gotrue.conf" "$dir/gotrue-fetch.service" &&
	echo "ok 11 - every service waits for the config file (a package installs them unconfigured)" ||
	echo "not ok 11 - every service waits for the config file (a package installs them unconfigured)"
hardened 12 gotrue-fetch.service
grep -q '^ExecStart=.*/gotruectl fetch$' "$dir/gotrue-fetch.service" &&
	grep -qx 'OnUnitActiveSec=1min' "$src/gotrue-fetch.timer" &&
	grep -q '^RandomizedDelaySec=' "$src/gotrue-fetch.timer" &&
	grep -q '^ExecStart=.*/gotruectl publish$' "$dir/gotrue-publish.service" &&
	echo "ok 13 - fetch every minute with a random delay; publish runs gotruectl publish" ||
	echo "not ok 13 - fetch every minute with a random delay; publish runs gotruectl publish"
