#!/bin/sh
# test_pam_auth_update: Debian's pam-auth-update enables tools/pam-configs/gotrue, in a private
# mount namespace where /usr/share/pam-configs and /etc/pam.d are temporary copies. The common-*
# files it writes must put pam_gotrue after pam_unix with [success=N default=ignore] controls,
# use_first_pass and ignore_unknown_user/ignore_authinfo_unavail. Then the written stack is used
# for real (pamtester): a GoTrue user logs in, a wrong password does not, and with GoTrue down
# local root still does. pam_gotrue.so is placed, by bare name, in libpam's module directory
# through an overlay, and its configuration at the build's default path.
set -u
E2E_NEEDS="pam-auth-update pamtester openssl ldconfig curl"
. "${top_srcdir:-.}/tests/e2e/e2e.sh"
e2e_init pamauthupdate

t=$E2E_TMP
trap 'emu_stop 2>/dev/null' EXIT
trap 'exit 1' INT TERM

e2e_mount || { echo "Bail out! mounts"; exit 99; }
# e2e_mount put an empty pam.d in place; pam-auth-update works on a copy of the host's.
umount /etc/pam.d
mkdir -p "$t/pamd" "$t/pam-configs"
cp -a /etc/pam.d/. "$t/pamd/"
cp /etc/pam.d/common-auth "$t/common-auth.host.orig"
mkdir -p "$t/host-pamd"
mount --bind /etc/pam.d "$t/host-pamd"
cp -a /usr/share/pam-configs/. "$t/pam-configs/"
cp "$top_srcdir/tools/pam-configs/gotrue" "$t/pam-configs/gotrue"
mount --bind "$t/pamd" /etc/pam.d && mount --bind "$t/pam-configs" /usr/share/pam-configs ||
	{ echo "Bail out! bind mounts"; exit 99; }

out=$(DEBIAN_FRONTEND=noninteractive pam-auth-update --package --enable gotrue 2>&1)
rc=$?
case "$out" in
*"local modifications"* | *"have been modified"*)
	# The host's common-* were edited by hand: start from the profiles alone (copies only).
	out=$(DEBIAN_FRONTEND=noninteractive pam-auth-update --package --force --enable gotrue 2>&1)
	rc=$?
	;;
esac
check "pam-auth-update --enable gotrue succeeds" test $rc = 0
[ -n "$out" ] && diag "$out"
# $t/host-pamd is the host's own /etc/pam.d, seen through a second bind mount.
check "the host's common-auth is untouched" cmp -s "$t/host-pamd/common-auth" "$t/common-auth.host.orig"

# The line of MODULE in FILE, blanks squeezed.
line() { grep -E "^[^#]*[[:space:]]$2([[:space:]]|$)" "/etc/pam.d/$1" | tr -s ' \t' ' ' | sed 's/ $//'; }
before() { # before FILE A B: module A's line comes before module B's
	_a=$(grep -nE "[[:space:]]$2([[:space:]]|$)" "/etc/pam.d/$1" | head -1 | cut -d: -f1)
	_b=$(grep -nE "[[:space:]]$3([[:space:]]|$)" "/etc/pam.d/$1" | head -1 | cut -d: -f1)
	[ -n "$_a" ] && [ -n "$_b" ] && [ "$_a" -lt "$_b" ]
}
a=$(line common-auth pam_gotrue.so)
diag "common-auth: $a"
check "common-auth: pam_gotrue with [success=N default=ignore]" \
	sh -c 'echo "$1" | grep -qE "^auth \[success=[0-9]+ default=ignore\] pam_gotrue.so"' sh "$a"
check "common-auth: use_first_pass ignore_unknown_user ignore_authinfo_unavail" \
	sh -c 'echo "$1" | grep -q "use_first_pass ignore_unknown_user ignore_authinfo_unavail"' sh "$a"
check "common-auth: pam_unix decides local users first" before common-auth pam_unix.so pam_gotrue.so
check "common-auth: a failure of both ends in pam_deny" before common-auth pam_gotrue.so pam_deny.so
c=$(line common-account pam_gotrue.so)
diag "common-account: $c"
# Additional, not Primary: pam_unix's account step succeeds for GoTrue users (no shadow entry),
# and a Primary success would jump past pam_gotrue's ban and allow_groups checks (as SSSD does).
check "common-account: pam_gotrue in the Additional block, [default=bad success=ok user_unknown=ignore ignore=ignore]" \
	sh -c 'echo "$1" | grep -qE "^account[[:space:]]+\[default=bad success=ok user_unknown=ignore ignore=ignore\][[:space:]]+pam_gotrue.so ignore_unknown_user"' sh "$c"
check "common-session: session optional pam_gotrue.so" \
	test "$(line common-session pam_gotrue.so)" = "session optional pam_gotrue.so"
check "common-session-noninteractive has it too" \
	test "$(line common-session-noninteractive pam_gotrue.so)" = "session optional pam_gotrue.so"
check "common-password: pam_gotrue after pam_unix" before common-password pam_unix.so pam_gotrue.so

# The written stack, for real: pam_gotrue.so by bare name from libpam's module directory, the
# configuration at the build's default path.
secdir=
for d in /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security /lib/security \
	/usr/lib/security /lib64/security; do
	if [ -f "$d/pam_unix.so" ]; then secdir=$d; break; fi
done
E2E_CONF_EXTRA=""
if [ -z "$secdir" ]; then
	skip "libpam's module directory not found"
	e2e_done
fi
e2e_users || { echo "Bail out! emulator or sync"; exit 99; }
defconf="$(e2e_makevar sysconfdir)/gotrue/gotrue.conf"
if e2e_place "$E2E_PAM_SO" "$secdir/pam_gotrue.so" && e2e_place "$CONF" "$defconf"; then
	ok "pam_gotrue.so in $secdir and gotrue.conf in $defconf (namespace only)"
else
	not_ok "pam_gotrue.so in $secdir and gotrue.conf in $defconf (namespace only)"
fi
printf '@include common-auth\n@include common-account\n@include common-session\n' \
	>/etc/pam.d/e2e-common
pt() { # pt USER PASSWORD OPS...
	_u=$1 _pw=$2
	shift 2
	printf '%s\n' "$_pw" | pamtester e2e-common "$_u" "$@" >"$t/out" 2>&1
}
check "common-*: alice (GoTrue) authenticates and passes the account check" \
	pt alice "$PW_ALICE" authenticate acct_mgmt
if pt alice 'not-her-password' authenticate; then not_ok "common-*: wrong password refused"; else ok "common-*: wrong password refused"; fi
if pt mallory "$PW_MALLORY" authenticate; then not_ok "common-*: banned user refused"; else ok "common-*: banned user refused"; fi
check "common-*: local root authenticates through pam_unix" pt root "$PW_ROOT" authenticate acct_mgmt
emu_fault '{"path":"*","kind":"status","status":503,"count":-1}'
if pt alice "$PW_ALICE" authenticate; then not_ok "GoTrue down: alice refused"; else ok "GoTrue down: alice refused"; fi
check "GoTrue down: local root still authenticates (never locked out)" \
	pt root "$PW_ROOT" authenticate acct_mgmt
check "GoTrue down: local carol still authenticates" pt carol "$PW_CAROL" authenticate acct_mgmt
emu_clear_faults

e2e_done
