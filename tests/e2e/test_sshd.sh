#!/bin/sh
# test_sshd: real OpenSSH logins with GoTrue accounts. sshd (UsePAM yes) runs as root on a free
# loopback port in a private mount namespace (tests/e2e/e2e.sh says what is mounted where), with
# pam_gotrue in /etc/pam.d/sshd and nss_gotrue in nsswitch.conf; ssh and sshpass log in.
set -u
E2E_NEEDS="/usr/sbin/sshd ssh ssh-keygen sshpass openssl ldconfig curl"
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
	if [ -n "$SSHD_PID" ]; then
		kill -TERM "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	emu_stop 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

e2e_mount || { echo "Bail out! mounts"; exit 99; }
e2e_users || { echo "Bail out! emulator or sync"; exit 99; }

# Everyone in devs or admins may log in; eve (guests) may not.
e2e_pam sshd "$(e2e_stack 'allow_groups=devs,admins')"

# --- sshd on a free loopback port ---------------------------------------------------------
mkdir -p /run/sshd
chmod 0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$t/hostkey" || { echo "Bail out! ssh-keygen"; exit 99; }
start_sshd() {
	for _try in 1 2 3 4 5 6 7 8; do
		port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 40000) }')
		cat >"$t/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
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
EOF
		: >"$t/sshd.log"
		/usr/sbin/sshd -D -e -f "$t/sshd_config" 2>>"$t/sshd.log" &
		SSHD_PID=$!
		if e2e_wait "grep -q 'Server listening' '$t/sshd.log'" 50; then
			return 0
		fi
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	done
	cat "$t/sshd.log" >&2
	return 1
}
start_sshd || { echo "Bail out! sshd did not start"; exit 99; }

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
	# machine that can take a moment, so start counting from an empty store.
	e2e_wait '[ "$(nrec)" = 0 ]' 150 || diag "$_l: records left from earlier logins: $(nrec)" "$("$GOTRUECTL" --conf "$CONF" sessions list 2>&1)"
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

# --- a ban during a live session, revoked_session=terminate --------------------------------
echo "revoked_session = terminate" >>"$CONF"
emu_reset_counts
if bg_login c; then
	pid_c=$BG_PID
	"$GOTRUECTL" --conf "$CONF" --json sessions list >"$t/list.out" 2>&1
	leader=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$t/list.out")
	# sshd opens the PAM session in the connection's privileged process: that is the leader
	# the store names, and the one a SIGHUP ends (no logind in this namespace).
	diag "recorded session leader: pid $leader ($(cat "/proc/$leader/comm" 2>/dev/null)): $(tr '\0' ' ' <"/proc/$leader/cmdline" 2>/dev/null)"
	check "ban: the store records sshd's session process as the leader" \
		test -n "$leader" -a "$(cat "/proc/$leader/comm" 2>/dev/null)" = sshd
	check "ban: gotruectl admin users ban" \
		sh -c '"$@" >/dev/null' sh "$GOTRUECTL" --conf "$CONF" admin users ban "$ALICE_ID" 24h
	refresh_pass
	diag "pass: $(cat "$t/pass.out" "$t/pass.err")"
	check "ban: the refresh pass found the session revoked and terminated it" \
		test "$(pass_field revoked)/$(pass_field terminated)" = 1/1
	if e2e_wait "gone $pid_c" 50; then
		ok "ban: the ssh connection was closed by the refresh pass"
		wait "$pid_c" 2>/dev/null
	else
		not_ok "ban: the ssh connection was closed by the refresh pass"
		end_remote c "$pid_c"
	fi
	check "ban: the session leader is gone" sh -c '[ -n "$1" ] && ! kill -0 "$1" 2>/dev/null' sh "$leader"
	# No pty: the remote command is not hung up with its session; end it ourselves.
	kill -TERM "$(head -n 1 "$t/c.out")" 2>/dev/null
	"$GOTRUECTL" --conf "$CONF" admin users unban "$ALICE_ID" >/dev/null 2>&1
	"$GOTRUECTL" --conf "$CONF" sessions gc >/dev/null 2>&1
	check "ban: no record left after sessions gc" test "$(nrec)" = 0
else
	not_ok "ban: alice's live session opened"
	diag "$(cat "$t/c.err")"
fi

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
