#!/bin/sh
# test_sshd: real OpenSSH logins with GoTrue accounts. sshd (UsePAM yes) runs as root on a free
# loopback port in a private mount namespace (tests/e2e/e2e.sh says what is mounted where), with
# pam_gotrue in /etc/pam.d/sshd and nss_gotrue in nsswitch.conf; ssh and sshpass log in.
set -u
E2E_NEEDS="/usr/sbin/sshd ssh ssh-keygen sshpass openssl ldconfig curl expect python3"
. "${top_srcdir:-.}/tests/e2e/e2e.sh"
e2e_init sshd

t=$E2E_TMP
SSHD_PID=
LIVE_PIDS=
cleanup() {
	# Sessions a failed test left open: the ssh clients and the remote sleeps it started (the
	# command name guards against a pid reused since).
	for _p in $LIVE_PIDS; do
		case "$(cat "/proc/$_p/comm" 2>/dev/null)" in
		ssh | sshpass | sleep) kill -TERM "$_p" 2>/dev/null ;;
		esac
	done
	e2e_stop_sshd
	emu_stop 2>/dev/null
	[ -n "${E2E_DEVLOG_PID:-}" ] && kill "$E2E_DEVLOG_PID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

e2e_mount || { echo "Bail out! mounts"; exit 99; }
# pam_gotrue's syslog lines, for the checks that say what it logged.
e2e_devlog || { echo "Bail out! /dev/log capture"; exit 99; }
e2e_users || { echo "Bail out! emulator or sync"; exit 99; }

# Everyone in devs or admins may log in; eve (guests) may not.
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins')"

# --- sshd on a free loopback port ---------------------------------------------------------
mkdir -p /run/sshd
chmod 0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$t/hostkey" || { echo "Bail out! ssh-keygen"; exit 99; }
sshd_config() { # sshd_config PORT
	cat >"$t/sshd_config" <<EOF
ListenAddress 127.0.0.1:$1
HostKey $t/hostkey
PidFile $t/sshd.pid
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin yes
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
MaxAuthTries 3
# pam_gotrue(8), SECOND FACTOR: a key alone never logs olga in; the PAM stack after it asks for
# the password and the code.
Match User olga
	AuthenticationMethods publickey,keyboard-interactive
EOF
}
e2e_start_sshd sshd_config "$t/sshd.log" /usr/sbin/sshd -D -e -f "$t/sshd_config" ||
	{ echo "Bail out! sshd did not start"; exit 99; }

SSH_OPTS="-F /dev/null -p $port -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
-o LogLevel=INFO -o ConnectTimeout=10 -o NumberOfPasswordPrompts=1 -o BatchMode=no"

# ssh_pw USER PASSWORD METHOD COMMAND: log in with a password (METHOD password or
# keyboard-interactive). The password goes through a 0600 file, never argv or the environment.
ssh_pw() {
	printf '%s\n' "$2" >"$t/pw"
	chmod 0600 "$t/pw"
	# shellcheck disable=SC2086
	sshpass -f "$t/pw" ssh $SSH_OPTS -o PubkeyAuthentication=no \
		-o PreferredAuthentications="$3" -o KbdInteractiveAuthentication=yes \
		"$1@127.0.0.1" "$4" >"$t/out" 2>"$t/err" </dev/null
	_rc=$?
	rm -f "$t/pw"
	return $_rc
}
ssh_key() { # ssh_key USER COMMAND
	# shellcheck disable=SC2086
	ssh $SSH_OPTS -o BatchMode=yes -o PreferredAuthentications=publickey -i "$t/userkey" \
		"$1@127.0.0.1" "$2" >"$t/out" 2>"$t/err" </dev/null
}
show() { diag "stdout: $(cat "$t/out")" "stderr: $(cat "$t/err")"; }

# --- the NSS view the login must match ----------------------------------------------------
# id(1) output with the supplementary groups sorted (their order follows initgroups).
id_norm() {
	sed 's/ groups=\(.*\)$/\n\1/' | {
		read -r _head
		echo "$_head groups=$(tr ',' '\n' | sort | paste -sd,)"
	}
}
want_id=$(id alice 2>/dev/null | id_norm)
case "$want_id" in
*"(admins)"*"(devs)"* | *"(devs)"*"(admins)"*) ok "nss: id alice resolves through nss_gotrue: $want_id" ;;
*) not_ok "nss: id alice resolves through nss_gotrue (got '$want_id')" ;;
esac
alice_uid=$(id -u alice 2>/dev/null)

# --- password login -----------------------------------------------------------------------
emu_reset_counts
before=$(e2e_records)
if ssh_pw alice "$PW_ALICE" password 'id; pwd' && [ "$(head -1 "$t/out" | id_norm)" = "$want_id" ]; then
	ok "password login: id as alice prints uid, gid and groups from NSS"
else
	not_ok "password login: id as alice prints uid, gid and groups from NSS"
	show
	diag "want: $want_id" "sshd log:" "$(tail -n 20 "$t/sshd.log")"
fi
check "first login: the shell started in the home" test "$(sed -n 2p "$t/out")" = /home/alice
check "first login: pam_mkhomedir created /home/alice owned by alice" \
	test -d /home/alice -a "$(stat -c %u /home/alice 2>/dev/null)" = "$alice_uid"
check "password login: exactly one password sign-in" \
	test "$(emu_count 'POST /token?grant_type=password')" = 1
# sshd closes the PAM session after the connection is gone: wait for the revocation.
if e2e_wait '[ "$(emu_count "POST /logout")" = 1 ]' 50; then
	ok "logout: the emulator counts exactly one revocation"
else
	not_ok "logout: the emulator counts exactly one revocation (got $(emu_count 'POST /logout'))"
fi
sleep 0.5
check "logout: still exactly one revocation afterwards" test "$(emu_count 'POST /logout')" = 1
check "logout: the store holds no record of the session" test "$(e2e_records)" = "$before"

# --- keyboard-interactive -----------------------------------------------------------------
if ssh_pw alice "$PW_ALICE" keyboard-interactive id && [ "$(id_norm <"$t/out")" = "$want_id" ]; then
	ok "keyboard-interactive login: same id as alice"
else
	not_ok "keyboard-interactive login: same id as alice"
	show
fi

# --- refusals -----------------------------------------------------------------------------
refused() { # refused DESCRIPTION USER PASSWORD METHOD
	if ssh_pw "$2" "$3" "$4" 'echo LOGGED-IN'; then
		not_ok "$1"
		show
	elif grep -q LOGGED-IN "$t/out"; then
		not_ok "$1 (the command ran)"
	else
		ok "$1"
	fi
}
refused "wrong password: refused" alice 'not-her-password' password
refused "wrong password (keyboard-interactive): refused" alice 'not-her-password' keyboard-interactive
refused "unknown user: refused" nosuchuser "$PW_ALICE" password
refused "banned user: refused" mallory "$PW_MALLORY" password
refused "user outside allow_groups: refused" eve "$PW_EVE" password
check "bob (devs) logs in" ssh_pw bob "$PW_BOB" password 'id -un'
check "refusals left no home for the refused users" test ! -e /home/eve -a ! -e /home/mallory

# --- an anonymous sign-up is not an administrator's decision --------------------------------
# Sign-ups are open on the server (as GoTrue's default), so anyone can make helpdesk@example.com.
# Before a sync the name is unknown and, email_fallback being off, sends nothing; after one, the
# account is listed but admitted by no allow_groups group, so it is no Unix user at all.
PW_HELPDESK='Helpdesk-Signup-8'
if printf '{"email":"helpdesk@example.com","password":"%s"}' "$PW_HELPDESK" |
	emu_curl -o /dev/null -f -X POST -H 'Content-Type: application/json' --data-binary @- \
		"$EMU_URL/signup"; then
	ok "sign-up: anyone can create helpdesk@example.com"
else
	not_ok "sign-up: anyone can create helpdesk@example.com"
fi
signins=$(emu_count 'POST /token?grant_type=password')
refused "sign-up, before a sync: helpdesk refused" helpdesk "$PW_HELPDESK" password
check "sign-up, before a sync: no password sent for a name sync never wrote" \
	test "$(emu_count 'POST /token?grant_type=password')" = "$signins"
# The file as an installed host has it: allow_groups there (not only in the PAM line), and no
# allow_all_users.
{ grep -v '^allow_all_users' "$CONF"; echo 'allow_groups = devs, admins'; } >"$t/admit.conf"
chmod 0644 "$t/admit.conf"
"$GOTRUECTL" --conf "$t/admit.conf" sync >"$t/admit.out" 2>&1 || diag "$(cat "$t/admit.out")"
check "sign-up, after a sync: not admitted, so no Unix user" \
	sh -c '! getent passwd helpdesk && grep -q "not admitted: *[1-9]" "$1"' sh "$t/admit.out"
refused "sign-up, after a sync: helpdesk refused" helpdesk "$PW_HELPDESK" password
check "sign-up: no home for helpdesk" test ! -e /home/helpdesk
e2e_sync || diag "sync failed"

# --- public keys: sshd authenticates, pam_gotrue's acct_mgmt decides ----------------------
ssh-keygen -q -t ed25519 -N '' -f "$t/userkey"
authorize() { # authorize USER
	_home=$(getent passwd "$1" | cut -d: -f6)
	_ug=$(getent passwd "$1" | cut -d: -f3,4)
	mkdir -p "$_home/.ssh" && cp "$t/userkey.pub" "$_home/.ssh/authorized_keys" &&
		chown -R "$_ug" "$_home" && chmod 0700 "$_home" "$_home/.ssh" &&
		chmod 0600 "$_home/.ssh/authorized_keys"
}
if authorize alice && ssh_key alice id && [ "$(id_norm <"$t/out")" = "$want_id" ]; then
	ok "public-key login of an allowed user works"
else
	not_ok "public-key login of an allowed user works"
	show
fi
if authorize mallory && ! ssh_key mallory 'echo LOGGED-IN' && ! grep -q LOGGED-IN "$t/out"; then
	ok "public-key login of a banned user: refused"
	# sshd logs the account check's refusal.
	check "public-key login of a banned user: refused by acct_mgmt" \
		grep -qi 'mallory.*\(account\|acct\|PAM\)\|\(account\|acct\|PAM\).*mallory' "$t/sshd.log"
else
	not_ok "public-key login of a banned user: refused"
	show
fi
if authorize eve && ! ssh_key eve 'echo LOGGED-IN' && ! grep -q LOGGED-IN "$t/out"; then
	ok "public-key login of a user outside allow_groups: refused"
else
	not_ok "public-key login of a user outside allow_groups: refused"
	show
fi

# --- the second factor (pam_gotrue(8), SECOND FACTOR) -------------------------------------
# nina and olga (devs) have a verified TOTP factor; olga's logins need her key too (sshd's
# Match block above); pia has none. The code is computed at the prompt from the factor's
# secret, which is only ever in a 0600 file.
mfa_user() { # mfa_user NAME: create, enrol and verify; the factor's secret in $t/NAME.secret
	emu_create_user "$1@example.com" "$PW_ALICE" '{"app_metadata":{"groups":["devs"]}}' \
		>/dev/null &&
		printf '%s\n' "$PW_ALICE" |
		"$E2E_MFA" enroll "$CONF" "$1@example.com" "$1-phone" >"$t/$1.factor" &&
		(umask 077 && cut -d' ' -f2 "$t/$1.factor" >"$t/$1.secret")
}
if mfa_user nina && mfa_user olga &&
	emu_create_user pia@example.com "$PW_ALICE" '{"app_metadata":{"groups":["devs"]}}' \
		>/dev/null && e2e_sync; then
	ok "second factor: nina and olga enrolled a TOTP factor; synced"
else
	not_ok "second factor: nina and olga enrolled a TOTP factor; synced"
fi
e2e_mfa_expect "$t/mfa.exp"
# ssh_mfa USER HOW PASSWORD COMMAND SSH-OPTIONS...: a login through expect, which answers the
# password prompt with PASSWORD and the code prompt as HOW says (totp, password, empty).
ssh_mfa() {
	_u=$1 _how=$2
	printf '%s\n' "$3" >"$t/pw"
	chmod 0600 "$t/pw"
	_cmd=$4
	shift 4
	# shellcheck disable=SC2086
	PWFILE=$t/pw SECRETFILE=$t/$_u.secret CODE=$_how E2E_MFA=$E2E_MFA \
		TRANSCRIPT=$t/transcript OUTBOX=$EMU_DIR/outbox EMAIL=$_u@example.com \
		expect "$t/mfa.exp" ssh $SSH_OPTS "$@" "$_u@127.0.0.1" "$_cmd" >"$t/out" 2>&1
	_rc=$?
	rm -f "$t/pw"
	return $_rc
}
KBD="-o PubkeyAuthentication=no -o PreferredAuthentications=keyboard-interactive"
# shellcheck disable=SC2086
: >"$t/transcript"
ssh_mfa nina totp "$PW_ALICE" 'echo "IN-AS-$(id -un)"; sleep 5' $KBD &
mfa_pid=$!
LIVE_PIDS="$LIVE_PIDS $mfa_pid"
if e2e_wait "grep -q 'IN-AS-nina' '$t/out'" 150; then
	ok "keyboard-interactive: password and code give nina a shell"
	check "... and the stored session is aal2" sh -c '"$1" aal "$2" | grep -qx "nina aal2"' \
		sh "$E2E_MFA" "$E2E_STATEDIR"
else
	not_ok "keyboard-interactive: password and code give nina a shell"
	diag "$(tr -d '\r' <"$t/out")"
fi
wait "$mfa_pid"
check "... and the login ran to its end" test $? = 0
diag "what the client saw:" "$(tr -d '\r' <"$t/transcript")"
# mfa_refused RC DESCRIPTION: expect saw the refusal, and the command of $t/out did not run (the
# spawn line echoes the command: its output, IN-AS-name, is looked for).
mfa_refused() {
	if [ "$1" = 3 ] && ! grep -q 'IN-AS-[a-z]' "$t/out"; then ok "$2"; else
		not_ok "$2"
		diag "$(tr -d '\r' <"$t/out")"
	fi
}
# shellcheck disable=SC2086
ssh_mfa nina empty "$PW_ALICE" 'echo "IN-AS-$(id -un)"' $KBD
mfa_refused $? "keyboard-interactive: the password and no code: refused"
# shellcheck disable=SC2086
ssh_mfa nina password "$PW_ALICE" 'echo "IN-AS-$(id -un)"' $KBD
mfa_refused $? "keyboard-interactive: the password typed again as the code: refused"
refused "PasswordAuthentication only: nina (a factor) is refused" nina "$PW_ALICE" password
if e2e_wait "grep -q 'answered with the password.*PasswordAuthentication.*user=nina' '$E2E_TMP/syslog'" 30; then
	ok "... and pam_gotrue logged why, plainly"
	diag "$(grep 'answered with the password' "$E2E_TMP/syslog" | tail -n 1)"
else
	not_ok "... and pam_gotrue logged why, plainly"
	diag "$(tail -n 5 "$E2E_TMP/syslog")"
fi
check "... which never sent the password as a code" \
	sh -c '! grep -q "second factor: verify" "$1"' sh "$E2E_TMP/syslog"
# AuthenticationMethods publickey,keyboard-interactive: the key, then password and code.
authorize olga
if ! ssh_key olga 'echo "IN-AS-$(id -un)"' && ! grep -q IN-AS-olga "$t/out"; then
	ok "olga's key alone: refused (AuthenticationMethods publickey,keyboard-interactive)"
else
	not_ok "olga's key alone: refused (AuthenticationMethods publickey,keyboard-interactive)"
fi
if ssh_mfa olga totp "$PW_ALICE" 'echo "IN-AS-$(id -un)"' -o PubkeyAuthentication=yes \
	-i "$t/userkey" -o PreferredAuthentications=publickey,keyboard-interactive &&
	grep -q 'IN-AS-olga' "$t/out"; then
	ok "olga's key, then password and code: in"
else
	not_ok "olga's key, then password and code: in"
	diag "$(tr -d '\r' <"$t/out")"
fi
# shellcheck disable=SC2086
ssh_mfa olga totp "$PW_ALICE" 'echo "IN-AS-$(id -un)"' $KBD
mfa_refused $? "olga's password and code without her key: refused"
# A code by email: Enter at the password prompt (login = password_or_email_code).
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins login=password_or_email_code')"
# shellcheck disable=SC2086
if ssh_mfa pia totp "" 'echo "IN-AS-$(id -un)"' $KBD && grep -q 'IN-AS-pia' "$t/out"; then
	ok "a code by email: Enter at the password prompt, the mailed code, a shell"
else
	not_ok "a code by email: Enter at the password prompt, the mailed code, a shell"
	diag "$(tr -d '\r' <"$t/out")"
fi
check "... the client was told where the code went, masked" grep -q 'p\*\*\*@example.com' "$t/out"
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins')"
# sshd closes these sessions after their clients have gone: let the revocations happen before the
# next section puts the server down.
e2e_wait '[ -z "$(e2e_records)" ]' 150 || diag "records left: $(e2e_records | wc -l)"

# --- GoTrue down --------------------------------------------------------------------------
emu_fault '{"path":"*","kind":"status","status":503,"count":-1}' || diag "fault not set"
refused "GoTrue down: a GoTrue user is refused" alice "$PW_ALICE" password
if ssh_pw alice "$PW_ALICE" keyboard-interactive true; then
	not_ok "GoTrue down (keyboard-interactive): refused with a message"
else
	if grep -qi 'unavailable' "$t/err" "$t/out"; then
		ok "GoTrue down (keyboard-interactive): refused, and told the service is unavailable"
	else
		not_ok "GoTrue down (keyboard-interactive): refused, and told the service is unavailable"
		show
	fi
fi
if ssh_pw root "$PW_ROOT" password 'id -u' && [ "$(cat "$t/out")" = 0 ]; then
	ok "GoTrue down: local root still logs in through pam_unix"
else
	not_ok "GoTrue down: local root still logs in through pam_unix"
	show
fi
emu_clear_faults
check "GoTrue back: alice logs in again" ssh_pw alice "$PW_ALICE" password true

# --- local accounts first ------------------------------------------------------------------
# A GoTrue user signed up as redis@example.com and was synced; then a package created the system
# user redis. The index still names the GoTrue account, but the name is a local account's now:
# its GoTrue password must not log in as uid 120, nor even be sent to the server.
PW_REDIS='Redis-Signup-5q'
emu_create_user redis@example.com "$PW_REDIS" '{"app_metadata":{"groups":["devs"]}}' >/dev/null &&
	e2e_sync
check "redis: synced as a GoTrue user first" sh -c 'getent passwd redis | grep -q "^redis:\*:"'
echo "redis:x:120:120:Redis:/var/lib/redis:/bin/sh" >>/etc/passwd
echo "redis:x:120:" >>/etc/group
echo "redis:*:19000:0:99999:7:::" >>/etc/shadow
check "redis: now a local account (uid 120)" test "$(id -u redis 2>/dev/null)" = 120
emu_reset_counts
refused "redis: the GoTrue password does not log in as the local redis" redis "$PW_REDIS" password
refused "redis (keyboard-interactive): the same" redis "$PW_REDIS" keyboard-interactive
check "redis: no password was sent to GoTrue" \
	test "$(emu_count 'POST /token?grant_type=password')" = 0
e2e_sync
check "redis: the next sync leaves the name out (another account source)" \
	grep -q 'another account source' "$E2E_TMP/sync.out"
check "alice still logs in" ssh_pw alice "$PW_ALICE" password true

# root through the man page's sshd stack (default=die before pam_unix), with a gotrue.conf that
# group members could write: refused by the module for GoTrue users, never in root's way.
e2e_pam sshd "auth     [success=done user_unknown=ignore default=die] $E2E_PAM_SO conf=$CONF
auth     required   pam_unix.so try_first_pass
account  [success=ok user_unknown=ignore default=bad] $E2E_PAM_SO conf=$CONF
account  required   pam_unix.so
session  optional   $E2E_PAM_SO conf=$CONF
session  required   pam_unix.so
password [success=done user_unknown=ignore default=die] $E2E_PAM_SO conf=$CONF
password required   pam_unix.so use_authtok"
chmod 0664 "$CONF"
if ssh_pw root "$PW_ROOT" password 'id -u' && [ "$(cat "$t/out")" = 0 ]; then
	ok "group-writable gotrue.conf, man page stack: root's password login works"
else
	not_ok "group-writable gotrue.conf, man page stack: root's password login works"
	show
	diag "$(tail -n 20 "$t/sshd.log")"
fi
refused "group-writable gotrue.conf: alice is refused (the config is not trusted)" \
	alice "$PW_ALICE" password
chmod 0644 "$CONF"
check "repaired gotrue.conf, man page stack: alice logs in" ssh_pw alice "$PW_ALICE" password true
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins')"

# --- live sessions and the refresh pass (gotruectl refresh, a timer's work) ----------------
# bg_login TAG [SSH OPTIONS]: alice logs in in the background and runs `echo $$; exec sleep 60`:
# the remote shell's pid (the sleep, a process of this host) lands in $t/TAG.out, so the test can
# end that session by its id. The client's pid is in BG_PID.
bg_login() {
	_tag=$1
	shift
	printf '%s\n' "$PW_ALICE" >"$t/pw.$_tag"
	chmod 0600 "$t/pw.$_tag"
	: >"$t/$_tag.out"
	# shellcheck disable=SC2086
	sshpass -f "$t/pw.$_tag" ssh $SSH_OPTS -o PubkeyAuthentication=no \
		-o PreferredAuthentications=password "$@" alice@127.0.0.1 'echo $$; exec sleep 60' \
		>"$t/$_tag.out" 2>"$t/$_tag.err" </dev/null &
	BG_PID=$!
	LIVE_PIDS="$LIVE_PIDS $BG_PID"
	e2e_wait "[ -s '$t/$_tag.out' ]" 100
	_rc=$?
	rm -f "$t/pw.$_tag"
	[ $_rc = 0 ] && LIVE_PIDS="$LIVE_PIDS $(head -n 1 "$t/$_tag.out")"
	return $_rc
}
nrec() { e2e_records | wc -l | tr -d ' '; }
gone() { ! kill -0 "$1" 2>/dev/null; }
end_remote() { # end_remote TAG CLIENT_PID: end a bg_login session from the server side
	kill -TERM "$(head -n 1 "$t/$1.out")" 2>/dev/null
	e2e_wait "gone $2" 100 && wait "$2" 2>/dev/null
}
refresh_pass() { # one pass, every token refreshed; the summary (JSON) in $t/pass.out
	"$GOTRUECTL" --conf "$CONF" --json refresh --margin 100000 >"$t/pass.out" 2>"$t/pass.err"
}
pass_field() { sed -n "s/.*\"$1\": *\([0-9a-z]*\).*/\1/p" "$t/pass.out"; }

# two_sessions MODE [POLICY]: two ssh logins of alice, one closed; the other's tokens still
# refresh and its connection still runs commands (through its ControlMaster socket). POLICY is
# the config's old_server_logout (forget, the default, or global).
two_sessions() {
	_m=$1
	_p=${2:-forget}
	# The label of every line: the mode, and on v2.69 the policy too.
	_l=$_m
	[ "$_m" = v2.69 ] && _l="$_m ($_p)"
	# The earlier logins' sessions close in sshd after their clients have gone: on a loaded
	# machine that can take a moment, so start counting from an empty store. A close whose
	# /logout outlived `timeout` leaves its record for the refresh pass (the outbox): drain it
	# as the timer would.
	if ! e2e_wait '[ "$(nrec)" = 0 ]' 150; then
		diag "$_l: records left from earlier logins: $(nrec)" "$("$GOTRUECTL" --conf "$CONF" sessions list 2>&1)"
		refresh_pass
		e2e_wait '[ "$(nrec)" = 0 ]' 50 || diag "$_l: the pass left $(nrec)" "$(cat "$t/pass.out" "$t/pass.err")"
	fi
	emu_reset_counts
	rm -f "$t/cm"
	if ! bg_login a -o ControlMaster=yes -o ControlPath="$t/cm" || ! bg_login b; then
		not_ok "$_l: two concurrent sessions of alice open"
		diag "$(cat "$t/a.err" "$t/b.err")" "$(tail -n 20 "$t/sshd.log")"
		return
	fi
	pid_b=$BG_PID
	# Both sessions were opened by the time their commands ran.
	check "$_l: two concurrent sessions: two records in the store" test "$(nrec)" = 2
	end_remote b "$pid_b"
	if e2e_wait '[ "$(nrec)" = 1 ]' 100; then
		ok "$_l: closing one session removes only its record"
	else
		not_ok "$_l: closing one session removes only its record ($(nrec) left)"
	fi
	# current: /logout?scope=local ends only that session. v2.69 ignores scope and would end
	# every session of the user: with forget no close sends it, with global the last one does.
	case $_m in
	v2.69) want=0 ;;
	*) want=1 ;;
	esac
	check "$_l: closing one session made $want revocation(s) in GoTrue" \
		test "$(emu_count 'POST /logout')" = $want
	emu_reset_counts
	if refresh_pass && [ "$(pass_field refreshed)" = 1 ] && [ "$(pass_field failed)" = 0 ] &&
		[ "$(pass_field revoked)" = 0 ]; then
		ok "$_l: the refresh pass refreshed the remaining session"
	else
		not_ok "$_l: the refresh pass refreshed the remaining session"
		diag "$(cat "$t/pass.out" "$t/pass.err")"
	fi
	check "$_l: GoTrue saw one refresh_token grant and no refresh-token reuse" \
		test "$(emu_count 'POST /token?grant_type=refresh_token')/$(emu_count refresh_reuse)" = 1/0
	# shellcheck disable=SC2086
	if ssh $SSH_OPTS -o ControlMaster=no -o ControlPath="$t/cm" alice@127.0.0.1 'id -un' \
		>"$t/out" 2>"$t/err" </dev/null && [ "$(cat "$t/out")" = alice ]; then
		ok "$_l: the remaining session still runs a command"
	else
		not_ok "$_l: the remaining session still runs a command"
		show
	fi
	check "$_l: the remaining session's record is still active" test "$(nrec)" = 1
	end_remote a "$BG_PID"
	e2e_wait '[ "$(nrec)" = 0 ]' 100
	# v2.69 with old_server_logout = forget: no close sends a /logout (it would end alice's
	# sessions on every host); the record, and its tokens, are gone all the same.
	case $_m/$_p in
	v2.69/forget) last=0 ;;
	*) last=1 ;;
	esac
	check "$_l: the last session closed: $last revocation(s), no record left" \
		test "$(emu_count 'POST /logout')/$(nrec)" = $last/0
}

two_sessions current

# --- offline login (pam_gotrue(8), OFFLINE LOGIN) -----------------------------------------
# With offline_login, alice's online login keeps a verifier of her password; while GoTrue
# answers only 503, that password logs her in offline, through sshd's forked authentication,
# and nothing else does.
e2e_wait '[ "$(nrec)" = 0 ]' 150 || diag "records left from earlier logins: $(nrec)"
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins offline_login=yes')"
check "offline_login: alice logs in online, which keeps her verifier" \
	ssh_pw alice "$PW_ALICE" password true
check "offline_login: the verifier is root's 0600, in a root 0700 directory" \
	test "$(stat -c %a:%u "$E2E_STATEDIR/offline" "$E2E_STATEDIR/offline/$ALICE_ID" 2>&1 |
		tr '\n' ' ')" = "700:0 600:0 "
check "offline_login: it holds no password" \
	sh -c '! grep -qF -- "$1" "$2"' sh "$PW_ALICE" "$E2E_STATEDIR/offline/$ALICE_ID"
# quinn has a second factor: her online login (password and code) keeps a verifier too.
# shellcheck disable=SC2086
if mfa_user quinn && e2e_sync &&
	ssh_mfa quinn totp "$PW_ALICE" 'echo "IN-AS-$(id -un)"' $KBD && grep -q IN-AS-quinn "$t/out"; then
	ok "offline_login: quinn logs in online with password and code"
else
	not_ok "offline_login: quinn logs in online with password and code"
	diag "$(tr -d '\r' <"$t/out")"
fi
e2e_wait '[ "$(nrec)" = 0 ]' 150
# (the counts first: resetting them clears the faults too)
emu_reset_counts
emu_fault '{"path":"*","kind":"status","status":503,"count":-1}' || diag "fault not set"
if ssh_pw alice "$PW_ALICE" keyboard-interactive 'id -un' && [ "$(cat "$t/out")" = alice ]; then
	ok "GoTrue answers 503: alice logs in offline with her password"
else
	not_ok "GoTrue answers 503: alice logs in offline with her password"
	show
fi
check "... and is told so" grep -q 'Logged in offline: the authentication service cannot be reached' \
	"$t/err" "$t/out"
if e2e_wait "grep -q 'authenticated offline.*user=alice' '$E2E_TMP/syslog'" 30; then
	ok "... and syslog says so"
else
	not_ok "... and syslog says so"
fi
refused "offline: a wrong password is refused" alice 'not-her-password' keyboard-interactive
refused "offline: bob, who never logged in with offline_login, is refused" bob "$PW_BOB" password
if bg_login off; then
	"$GOTRUECTL" --conf "$CONF" --json sessions list >"$t/list.out" 2>&1
	check "offline: gotruectl sessions list shows the open session as offline" \
		grep -q '"offline":true' "$t/list.out"
	end_remote off "$BG_PID"
	if e2e_wait '[ "$(nrec)" = 0 ]' 100; then
		ok "offline: sshd's close_session removed the record"
	else
		not_ok "offline: sshd's close_session removed the record ($(nrec) left)"
	fi
else
	not_ok "offline: a session opened offline"
	diag "$(cat "$t/off.err")"
fi
# shellcheck disable=SC2086
ssh_mfa quinn totp "$PW_ALICE" 'echo "IN-AS-$(id -un)"' $KBD
mfa_refused $? "offline: quinn, who has a second factor, is refused (offline_mfa = refuse)"
check "... and told why" grep -q 'Offline login is not possible for an account with a second factor' \
	"$t/out"
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins offline_login=yes offline_mfa=allow')"
if ssh_pw quinn "$PW_ALICE" keyboard-interactive 'id -un' && [ "$(cat "$t/out")" = quinn ]; then
	ok "offline_mfa = allow: quinn logs in offline with her password alone"
else
	not_ok "offline_mfa = allow: quinn logs in offline with her password alone"
	show
fi
e2e_wait '[ "$(nrec)" = 0 ]' 100
check "offline: no /logout was sent for the offline sessions" \
	test "$(emu_count 'POST /logout')" = 0
V_ALICE="$E2E_STATEDIR/offline/$ALICE_ID"
# failures: the failed offline attempts alice's verifier counts (read as text: it is root's,
# as this test is).
failures() { sed -n 's/.*"failures":\([0-9]*\).*/\1/p' "$V_ALICE"; }
# The server answers: "invalid credentials" for her right password keeps its answer, and the
# verifier, which that password matches, is not even read. (The throttle is reset around these
# refusals, which are the guesses it counts, so that they do not lock alice or this host out of
# what follows.)
"$GOTRUECTL" --conf "$CONF" throttle reset --all >/dev/null 2>&1 || diag "throttle reset failed"
emu_clear_faults
check "online again" ssh_pw alice "$PW_ALICE" password true
check "... a new verifier, no failed offline attempt" test "$(failures)" = 0
emu_fault '{"path":"/token","kind":"status","status":400,"count":-1,"body":"{\"error\":\"invalid_grant\",\"error_description\":\"Invalid login credentials\"}"}' ||
	diag "fault not set"
refused "offline: GoTrue says invalid credentials: refused, the verifier not consulted" \
	alice "$PW_ALICE" password
check "... its failures unchanged (0)" test "$(failures)" = 0
# Attempts exhausted: offline_attempts = 2, two wrong passwords offline erase the verifier.
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins offline_login=yes offline_attempts=2')"
emu_clear_faults
emu_fault '{"path":"*","kind":"status","status":503,"count":-1}' || diag "fault not set"
refused "offline_attempts = 2: a wrong password offline, refused" alice 'not-her-password' password
check "... counted in the verifier (1)" test "$(failures)" = 1
refused "... a second, refused" alice 'still-not-her-password' password
check "... which erases the verifier" test ! -e "$V_ALICE"
refused "... then her right password is refused too: she must log in online" \
	alice "$PW_ALICE" password
# Expired: a verifier two days old, offline_days = 1.
emu_clear_faults
check "online again" ssh_pw alice "$PW_ALICE" password true
check "... a new verifier" test -e "$V_ALICE"
sed -i "s/\"at\":[0-9]*/\"at\":$(($(date +%s) - 2 * 86400))/" "$V_ALICE"
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins offline_login=yes offline_days=1')"
emu_fault '{"path":"*","kind":"status","status":503,"count":-1}' || diag "fault not set"
refused "offline_days = 1: a verifier two days old is refused" alice "$PW_ALICE" password
check "... and erased" test ! -e "$V_ALICE"
# Banned by the last sync: the sync erases her verifier, and nothing logs her in offline.
emu_clear_faults
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins offline_login=yes')"
check "online again" ssh_pw alice "$PW_ALICE" password true
check "... a new verifier" test -e "$V_ALICE"
"$GOTRUECTL" --conf "$CONF" admin users ban "$ALICE_ID" 24h >/dev/null 2>&1 ||
	diag "ban failed"
check "banned: a sync" e2e_sync
check "... erases her verifier" test ! -e "$V_ALICE"
emu_fault '{"path":"*","kind":"status","status":503,"count":-1}' || diag "fault not set"
refused "banned by the last sync: refused offline" alice "$PW_ALICE" password
emu_clear_faults
"$GOTRUECTL" --conf "$CONF" admin users unban "$ALICE_ID" >/dev/null 2>&1 || diag "unban failed"
e2e_sync || diag "sync after the unban failed"
"$GOTRUECTL" --conf "$CONF" throttle reset --all >/dev/null 2>&1 || diag "throttle reset failed"
e2e_wait '[ "$(nrec)" = 0 ]' 100
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins')"

# --- a ban ends two live sessions, with and without a pty (revoked_session=terminate) --------
# As Debian's /etc/pam.d/sshd has it, pam_loginuid comes before the common session stack: each
# login gets a kernel audit session id of its own, which every process it starts inherits, and
# by which lib/sync/terminate.c finds them all. The pass runs with its default margin: the
# sessions' one-hour tokens are not due, so it is the pass's GET /user that sees the ban.
e2e_pam sshd "session required pam_loginuid.so
$(e2e_stack 'allow_groups=devs,admins')"
echo "revoked_session = terminate" >>"$CONF"
# sid_procs ID: "pid:starttime" of each live (not zombie) process of audit session ID.
sid_procs() {
	for _d in /proc/[0-9]*; do
		[ "$(cat "$_d/sessionid" 2>/dev/null)" = "$1" ] || continue
		_st=$(sed 's/.*) //' "$_d/stat" 2>/dev/null)
		[ "${_st%% *}" = Z ] && continue
		echo "${_d#/proc/}:$(echo "$_st" | cut -d' ' -f20)"
	done
}
# any_runs LIST: whether one of the "pid:starttime" still runs as that very process.
any_runs() {
	for _e in $1; do
		_s=$(sed 's/.*) //' "/proc/${_e%%:*}/stat" 2>/dev/null)
		[ -n "$_s" ] && [ "${_s%% *}" != Z ] &&
			[ "$(echo "$_s" | cut -d' ' -f20)" = "${_e#*:}" ] && return 0
	done
	return 1
}
e2e_wait '[ "$(nrec)" = 0 ]' 150 || diag "records left from earlier logins: $(nrec)"
emu_reset_counts
# Without a pty: `sleep 300`, and a `sleep 301` that ignores SIGHUP and SIGTERM (only SIGKILL
# ends it), as `ssh host 'sleep 300'` leaves them: no terminal hangs them up.
printf '%s\n' "$PW_ALICE" >"$t/pw.np"
chmod 0600 "$t/pw.np"
# shellcheck disable=SC2086
sshpass -f "$t/pw.np" ssh $SSH_OPTS -o PubkeyAuthentication=no -o PreferredAuthentications=password \
	alice@127.0.0.1 'echo $$; sleep 300 & trap "" HUP TERM; exec sleep 301' \
	>"$t/np.out" 2>"$t/np.err" </dev/null &
pid_np=$!
LIVE_PIDS="$LIVE_PIDS $pid_np"
# With a pty (-tt), an interactive login shell fed through a fifo held open here.
mkfifo "$t/pty.in"
exec 7<>"$t/pty.in"
printf '%s\n' "$PW_ALICE" >"$t/pw.pty"
chmod 0600 "$t/pw.pty"
# shellcheck disable=SC2086
sshpass -f "$t/pw.pty" ssh -tt $SSH_OPTS -o PubkeyAuthentication=no \
	-o PreferredAuthentications=password alice@127.0.0.1 <"$t/pty.in" >"$t/pty.out" 2>&1 &
pid_pty=$!
LIVE_PIDS="$LIVE_PIDS $pid_pty"
# The pty echoes what is typed: RE""ADY there, READY only from the shell.
printf 'echo RE""ADY; sleep 400\n' >&7
e2e_wait "[ -s '$t/np.out' ] && grep -q '^READY' '$t/pty.out'" 150
rm -f "$t/pw.np" "$t/pw.pty"
"$GOTRUECTL" --conf "$CONF" --json sessions list >"$t/list.out" 2>&1
leaders=$(grep -o '"pid": *[0-9]*' "$t/list.out" | grep -o '[0-9]*$' | tr '\n' ' ')
sids=$(grep -o '"audit_session": *[0-9]*' "$t/list.out" | grep -o '[0-9]*$' | tr '\n' ' ')
procs=
for _s in $sids; do procs="$procs $(sid_procs "$_s" | tr '\n' ' ')"; done
diag "leaders: $leaders; audit sessions: $sids; their processes: $procs"
check "two sessions: both open, each with its audit session id recorded" \
	test "$(nrec)/$(echo $sids | wc -w)" = 2/2
check "two sessions: the leaders are sshd's session processes" \
	sh -c 'for p in $1; do [ "$(cat /proc/$p/comm)" = sshd ] || exit 1; done' sh "$leaders"
check "two sessions: at least 8 processes (sshd's two, the sleeps, the shell)" \
	test "$(echo $procs | wc -w)" -ge 8
check "ban: gotruectl admin users ban" \
	sh -c '"$@" >/dev/null' sh "$GOTRUECTL" --conf "$CONF" admin users ban "$ALICE_ID" 24h
started=$(date +%s)
"$GOTRUECTL" --conf "$CONF" --json refresh >"$t/pass.out" 2>"$t/pass.err"
took=$(($(date +%s) - started))
diag "pass (${took} s): $(cat "$t/pass.out" "$t/pass.err")"
check "ban: one pass, tokens not due, saw it through GET /user" \
	test "$(pass_field refreshed)/$(emu_count 'GET /user')" = 0/2
check "ban: the pass revoked and terminated both sessions" \
	test "$(pass_field revoked)/$(pass_field terminated)" = 2/2
if ! any_runs "$procs"; then
	ok "ban: every process of both sessions is gone when the pass returns (${took} s)"
else
	not_ok "ban: every process of both sessions is gone when the pass returns"
	for _s in $sids; do diag "left in $_s: $(sid_procs "$_s" | tr '\n' ' ')"; done
fi
# Zombies are over; they only wait for a parent (here, often, the container's init) to reap them.
if ps -o stat= -u alice | grep -qv '^Z'; then
	not_ok "ban: nothing of alice runs any more"
	diag "$(ps -o pid,sess,stat,lstart,args -u alice)"
else
	ok "ban: nothing of alice runs any more"
fi
check "ban: the pty session was told why" grep -q 'pam_gotrue: your session was revoked' "$t/pty.out"
if e2e_wait "gone $pid_np && gone $pid_pty" 50; then
	ok "ban: both ssh connections were closed"
else
	not_ok "ban: both ssh connections were closed"
fi
wait "$pid_np" "$pid_pty" 2>/dev/null
exec 7>&-
# sshd's own close_session (not the pass) removes the records: sshd was not killed before its
# PAM cleanup, because the pass ends sessions only after it let go of their records' locks.
if e2e_wait '[ "$(nrec)" = 0 ]' 50; then
	ok "ban: sshd closed both PAM sessions itself and removed their records"
else
	not_ok "ban: sshd closed both PAM sessions itself and removed their records ($(nrec) left)"
	diag "$(tail -n 20 "$t/sshd.log")"
fi
"$GOTRUECTL" --conf "$CONF" admin users unban "$ALICE_ID" >/dev/null 2>&1

# --- the same two sessions against a v2.69 server -----------------------------------------
emu_stop
E2E_MODE=v2.69
if e2e_users; then
	# The service file names the config, which is the new emulator's.
	e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins')"
	two_sessions v2.69 forget
	echo "old_server_logout = global" >>"$CONF"
	two_sessions v2.69 global
else
	not_ok "v2.69: emulator and sync"
fi

e2e_done
