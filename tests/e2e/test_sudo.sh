#!/bin/sh
# test_sudo: the real, setuid sudo with GoTrue accounts, in a private mount namespace: PAM service
# sudo with pam_gotrue, sudoers "%admins ALL=(ALL:ALL) ALL" where admins is a GoTrue group from
# app_metadata.groups, and then local_groups=sudo (bob's GoTrue group sudo is the local one) with "%sudo ALL=(ALL:ALL) ALL". nss_gotrue is
# found through ld.so.cache, since setuid programs ignore LD_LIBRARY_PATH.
set -u
E2E_NEEDS="sudo setpriv openssl ldconfig curl"
. "${top_srcdir:-.}/tests/e2e/e2e.sh"
e2e_init sudo

t=$E2E_TMP
trap 'emu_stop 2>/dev/null' EXIT
trap 'exit 1' INT TERM

e2e_mount || { echo "Bail out! mounts"; exit 99; }
e2e_users || { echo "Bail out! emulator or sync"; exit 99; }

e2e_pam sudo "$(e2e_stack '')"
# sudo checks the sudoers owner and mode (root, 0440).
cat >"$t/sudoers" <<'EOF'
Defaults	env_reset
Defaults	!lecture
Defaults	timestamp_timeout=0
Defaults	passwd_tries=1
root	ALL=(ALL:ALL) ALL
%admins	ALL=(ALL:ALL) ALL
%sudo	ALL=(ALL:ALL) ALL
EOF
chmod 0440 "$t/sudoers"
mount --bind "$t/sudoers" /etc/sudoers || { echo "Bail out! sudoers"; exit 99; }
# sudo's own configuration directory may include more rules; hide it.
if [ -d /etc/sudoers.d ]; then
	mkdir -p "$t/sudoers.d"
	mount --bind "$t/sudoers.d" /etc/sudoers.d
fi

# as USER PASSWORD COMMAND...: run COMMAND as the GoTrue user with its NSS groups (initgroups);
# the password is sudo -S's stdin.
as() {
	_u=$1 _pw=$2
	shift 2
	printf '%s\n' "$_pw" | setpriv --reuid="$(id -u "$_u")" --regid="$(id -g "$_u")" \
		--init-groups env HOME=/ "$@" >"$t/out" 2>"$t/err"
}
show() { diag "stdout: $(cat "$t/out")" "stderr: $(cat "$t/err")"; }

check "alice is in admins through NSS" sh -c 'id -nG alice | grep -qw admins'
if as alice "$PW_ALICE" sudo -S -k id -u && [ "$(cat "$t/out")" = 0 ]; then
	ok "admins member runs sudo -S id -u with her GoTrue password: prints 0"
else
	not_ok "admins member runs sudo -S id -u with her GoTrue password: prints 0"
	show
fi
if as bob "$PW_BOB" sudo -S -k id -u || grep -qx 0 "$t/out"; then
	not_ok "non-member (bob) runs the same: refused"
	show
else
	ok "non-member (bob) runs the same: refused"
fi
check "non-member: sudo says he is not in sudoers" grep -q 'not in the sudoers\|not allowed' "$t/err"
if as alice 'not-her-password' sudo -S -k id -u || grep -qx 0 "$t/out"; then
	not_ok "wrong password: refused"
	show
else
	ok "wrong password: refused"
fi
check "wrong password: sudo reports the failed attempt" grep -qi 'incorrect password\|try again\|password attempt' "$t/err"
if as mallory "$PW_MALLORY" sudo -S -k id -u || grep -qx 0 "$t/out"; then
	not_ok "banned user: refused"
else
	ok "banned user: refused"
fi
check "carol (local, not in sudoers) is refused with her local password" \
	sh -c '! { printf "%s\n" "$1" | setpriv --reuid=4242 --regid=4242 --init-groups sudo -S -k id -u 2>/dev/null | grep -qx 0; }' \
	sh "$PW_CAROL"

# The second factor: quinn (admins) has a verified TOTP factor; sudo -S reads the password and
# then the code, one line each (pam_gotrue(8), SECOND FACTOR).
if emu_create_user quinn@example.com "$PW_ALICE" '{"app_metadata":{"groups":["admins"]}}' \
	>/dev/null && printf '%s\n' "$PW_ALICE" |
	"$E2E_MFA" enroll "$CONF" quinn@example.com quinn-phone >"$t/quinn.factor" && e2e_sync; then
	ok "quinn (admins) enrolled a TOTP factor; synced"
else
	not_ok "quinn (admins) enrolled a TOTP factor; synced"
fi
quinn_secret=$(cut -d' ' -f2 "$t/quinn.factor" 2>/dev/null)
if as quinn "$PW_ALICE" sudo -S -k id -u || grep -qx 0 "$t/out"; then
	not_ok "sudo with a factor: the password alone is refused"
	show
else
	ok "sudo with a factor: the password alone is refused"
fi
check "... sudo asked for the code" grep -q 'Verification code' "$t/err"
if as quinn "$(printf '%s\n%s' "$PW_ALICE" "$("$E2E_MFA" code "$quinn_secret")")" \
	sudo -S -k id -u && [ "$(cat "$t/out")" = 0 ]; then
	ok "sudo with a factor: password and code: id -u prints 0"
else
	not_ok "sudo with a factor: password and code: id -u prints 0"
	show
fi

# local_groups=sudo: bob's app_metadata group "sudo" names the local group; without
# local_groups it is left out (a GoTrue group may not take over a local one), with it bob is a
# member of the local gid.
check "without local_groups: bob is not in the local group sudo" sh -c '! id -nG bob | grep -qw sudo' 
printf 'local_groups = sudo\n' >>"$CONF"
if e2e_sync; then ok "sync with local_groups=sudo"; else not_ok "sync with local_groups=sudo"; fi
check "bob is now in the local group sudo through NSS" sh -c 'id -nG bob | grep -qw sudo'
if as bob "$PW_BOB" sudo -S -k id -u && [ "$(cat "$t/out")" = 0 ]; then
	ok "local_groups=sudo: bob runs sudo -S id -u: prints 0"
else
	not_ok "local_groups=sudo: bob runs sudo -S id -u: prints 0"
	show
fi
if as bob 'not-his-password' sudo -S -k id -u || grep -qx 0 "$t/out"; then
	not_ok "local_groups=sudo: wrong password still refused"
else
	ok "local_groups=sudo: wrong password still refused"
fi
# sudo sets PAM_USER to the target user (root) before pam_open_session; pam_gotrue takes the
# invoking user's pending record (PAM_RUSER) from the same transaction, so a sudo that ran leaves
# nothing behind. A refused sudo (bob, not in sudoers) never opens a session: its pending record
# is the refresh pass's to revoke, which --stale-pending 0 makes immediate.
"$GOTRUECTL" --conf "$CONF" refresh --stale-pending 0 >"$E2E_TMP/refresh.out" 2>&1
if [ -z "$(e2e_records)" ]; then
	ok "no session record is left behind by sudo (after the refresh pass)"
else
	not_ok "no session record is left behind by sudo (after the refresh pass)"
	sed 's/^/# /' "$E2E_TMP/refresh.out"
fi

e2e_done
