#!/bin/sh
# test_console: login(1) on a pseudo-terminal (expect) for a GoTrue user, and `su - alice` from
# an unprivileged local user, in a private mount namespace with pam_gotrue in /etc/pam.d/login,
# su and su-l, and nss_gotrue in nsswitch.conf.
set -u
E2E_NEEDS="expect /bin/login su setpriv openssl ldconfig curl"
. "${top_srcdir:-.}/tests/e2e/e2e.sh"
e2e_init console

t=$E2E_TMP
trap 'emu_stop 2>/dev/null' EXIT
trap 'exit 1' INT TERM

e2e_mount || { echo "Bail out! mounts"; exit 99; }
e2e_users || { echo "Bail out! emulator or sync"; exit 99; }
for s in login su su-l; do
	e2e_pam $s "$(e2e_stack '')"
done

# expect script: spawn the command, answer the password prompt from the file named by PWFILE
# (never argv), then print where the shell is and who it runs as, and leave.
cat >"$t/login.exp" <<'EOF'
set timeout 20
set fh [open $env(PWFILE)]
gets $fh pw
close $fh
eval spawn $argv
expect {
	-re "assword: ?$" { send -- "$pw\r" }
	timeout { puts "E2E: no password prompt"; exit 2 }
}
expect {
	-re "Verification code: ?$" {
		if {[file exists $env(SECRETFILE)]} {
			set fh [open $env(SECRETFILE)]
			gets $fh secret
			close $fh
			send -- "[exec $env(E2E_MFA) code $secret]\r"
		} else {
			send -- "\r"
		}
		exp_continue
	}
	-re "incorrect|failure|Login incorrect" { puts "E2E: refused"; exit 3 }
	-re "\[#$>\] ?$" { }
	timeout { puts "E2E: no shell prompt"; exit 4 }
	eof { puts "E2E: ended"; exit 5 }
}
send -- "echo \"E2E-AT \$(pwd) AS \$(id -un)\"; exit\r"
expect {
	-re "E2E-AT (\[^ ]+) AS (\[a-z0-9_]+)" { puts "\nE2E-RESULT $expect_out(1,string) $expect_out(2,string)" }
	timeout { puts "E2E: no answer"; exit 6 }
}
expect eof
EOF
run_exp() { # run_exp PASSWORD COMMAND...
	printf '%s\n' "$1" >"$t/pw"
	chmod 0644 "$t/pw" # su runs as carol until it authenticates; the file is the test's own
	shift
	PWFILE="$t/pw" SECRETFILE="$t/secret" E2E_MFA="$E2E_MFA" expect "$t/login.exp" "$@" \
		>"$t/out" 2>&1
	_rc=$?
	rm -f "$t/pw"
	return $_rc
}
result() { sed -n 's/^E2E-RESULT //p' "$t/out" | tr -d '\r'; }
refused() { # refused DESCRIPTION PASSWORD COMMAND...: the program says no (expect exits 3)
	_d=$1
	shift
	run_exp "$@"
	if [ $? = 3 ]; then ok "$_d"; else not_ok "$_d"; show; fi
}
show() { diag "$(tr -d '\r' <"$t/out" | tail -n 15)"; }

emu_reset_counts
if run_exp "$PW_ALICE" login alice && [ "$(result)" = "/home/alice alice" ]; then
	ok "login on a pty: alice's shell starts in /home/alice"
else
	not_ok "login on a pty: alice's shell starts in /home/alice"
	show
fi
check "login: the home was created by pam_mkhomedir" test -d /home/alice
if e2e_wait '[ "$(emu_count "POST /logout")" = 1 ]' 50; then
	ok "login: logging out revoked the GoTrue session once"
else
	not_ok "login: logging out revoked the GoTrue session once (got $(emu_count 'POST /logout'))"
fi
refused "login with a wrong password: refused" 'not-her-password' login alice

# The second factor on the console: nina has a verified TOTP factor (pam_gotrue(8), SECOND
# FACTOR); login asks for the code after the password, computed here from the factor's secret.
if emu_create_user nina@example.com "$PW_ALICE" '{"app_metadata":{"groups":["devs"]}}' \
	>/dev/null && printf '%s\n' "$PW_ALICE" |
	"$E2E_MFA" enroll "$CONF" nina@example.com nina-phone >"$t/nina.factor" && e2e_sync; then
	ok "nina enrolled a TOTP factor; synced"
else
	not_ok "nina enrolled a TOTP factor; synced"
fi
(umask 077 && cut -d' ' -f2 "$t/nina.factor" >"$t/secret")
if run_exp "$PW_ALICE" login nina && [ "$(result)" = "/home/nina nina" ] &&
	grep -q 'Verification code' "$t/out"; then
	ok "login on a pty with a factor: password, then code, then nina's shell"
else
	not_ok "login on a pty with a factor: password, then code, then nina's shell"
	show
fi
rm -f "$t/secret"
refused "login with a factor, no code to give: refused" "$PW_ALICE" login nina

# su - alice from carol, an unprivileged local user (in the namespace's passwd copy only).
carol="setpriv --reuid=4242 --regid=4242 --init-groups env HOME=/home/carol"
if run_exp "$PW_ALICE" $carol su - alice && [ "$(result)" = "/home/alice alice" ]; then
	ok "su - alice from the unprivileged local user carol: a login shell in /home/alice"
else
	not_ok "su - alice from the unprivileged local user carol: a login shell in /home/alice"
	show
fi
# shellcheck disable=SC2086
refused "su - alice with a wrong password: refused" 'not-her-password' $carol su - alice
# shellcheck disable=SC2086
refused "su - mallory (banned): refused" "$PW_MALLORY" $carol su - mallory

e2e_done
