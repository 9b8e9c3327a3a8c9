#!/bin/sh
# test_pamtester: pam_gotrue.so under a real PAM application, pamtester(1), which reads only
# /etc/pam.d. So it runs as root in a private mount namespace (unshare) where a temporary
# directory is bind-mounted over /etc/pam.d: the host's /etc is never touched.
. "${top_srcdir:-.}/tests/common/emu.sh"

so="${top_builddir:-.}/pam/.libs/pam_gotrue.so"
if [ "${GOTRUE_SANITIZED:-no}" = yes ]; then
	echo "1..0 # SKIP sanitizer build: pamtester cannot load an ASan module (the in-process tests cover it)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root for a private mount namespace"; exit 0; fi
if ! command -v pamtester >/dev/null 2>&1; then echo "1..0 # SKIP pamtester not installed"; exit 0; fi
if ! command -v unshare >/dev/null 2>&1; then echo "1..0 # SKIP unshare not installed"; exit 0; fi
if ! unshare --mount true 2>/dev/null; then echo "1..0 # SKIP cannot unshare the mount namespace"; exit 0; fi

n=0
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
	n=$((n + 1)); d=$1; shift
	if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fi
}

emu_start --mode current >/dev/null || { echo "Bail out! emulator"; exit 99; }
trap 'emu_stop; rm -rf "$work"' EXIT
work=$(mktemp -d)
mkdir -p "$work/pam.d"
conf=$(emu_write_config "email_domains = example.com
email_fallback = yes
state_dir = $work/store
timeout = 3")
emu_create_user alice@example.com 'Correct-Horse-9' '{"email_confirm":true}' >/dev/null
for t in auth account session password; do
	echo "$t required $so conf=$conf"
done >"$work/pam.d/gotrue-test"

# pamtester in the private namespace; password on stdin.
pt() { # pt PASSWORD OPS...
	pw=$1; shift
	printf '%s\n' "$pw" | unshare --mount --propagation private sh -c \
		'mount --bind "$1/pam.d" /etc/pam.d && shift && exec pamtester gotrue-test alice "$@"' \
		sh "$work" "$@" >"$work/out" 2>&1
}

check "right password: authenticate" pt 'Correct-Horse-9' authenticate
check "wrong password: refused" eval '! pt wrong-password authenticate'
check "wrong password: pamtester says so" grep -q "Authentication failure" "$work/out"
emu_reset_counts
check "full cycle: authenticate acct_mgmt open_session close_session" \
	pt 'Correct-Horse-9' authenticate acct_mgmt open_session close_session
check "full cycle: exactly one logout" test "$(emu_count 'POST /logout')" = 1
left=$(ls "$work/store/sessions" | grep -cE '^[0-9a-f]{32}$')
# one pending record remains: the first test authenticated without opening a session
check "full cycle: its record removed (only the first test's pending one is left)" test "$left" = 1

# The second factor, against both server generations: alice enrols a TOTP factor (a GoTrue
# password grant still answers aal1 for her); authenticate acct_mgmt open_session with the password
# alone must fail, and with the password and the code (pamtester reads one line per prompt) store
# an aal2 session.
mfa="${top_builddir:-.}/tests/e2e/e2e_mfa"
for mode in current v2.69; do
	if [ "$mode" != current ]; then
		emu_stop
		emu_start --mode "$mode" >/dev/null || { echo "Bail out! emulator $mode"; exit 99; }
		rm -rf "$work/store"
		conf=$(emu_write_config "email_domains = example.com
email_fallback = yes
state_dir = $work/store
timeout = 3")
		for t in auth account session password; do
			echo "$t required $so conf=$conf"
		done >"$work/pam.d/gotrue-test"
		emu_create_user alice@example.com 'Correct-Horse-9' '{"email_confirm":true}' >/dev/null
	fi
	check "$mode: alice enrols and verifies a TOTP factor" sh -c \
		'printf "%s\n" Correct-Horse-9 | "$1" enroll "$2" alice@example.com phone >"$3"' \
		sh "$mfa" "$conf" "$work/factor"
	secret=$(cut -d' ' -f2 "$work/factor")
	aal1=$("$mfa" aal "$work/store" | grep -c aal1)
	check "$mode: the password alone: authenticate acct_mgmt open_session fails" \
		eval '! pt Correct-Horse-9 authenticate acct_mgmt open_session'
	code=$("$mfa" code "$secret")
	check "$mode: password and code: authenticate acct_mgmt open_session" \
		pt "$(printf 'Correct-Horse-9\n%s' "$code")" authenticate acct_mgmt open_session
	check "$mode: ... the stored session is aal2" sh -c '"$1" aal "$2" | grep -qx "alice aal2"' \
		sh "$mfa" "$work/store"
	check "$mode: ... and no aal1 session was stored" \
		test "$("$mfa" aal "$work/store" | grep -c aal1)" = "$aal1"
done
echo "1..$n"
