# e2e.sh: what every end-to-end login test shares (source it after setting nothing; POSIX sh).
#
# Each test runs as root in its own private mount namespace, where everything a real login reads
# is replaced by a bind mount or an overlay, so the host's files are never written:
#   /etc/nsswitch.conf       passwd/group: files gotrue           (bind, a temporary file)
#   /etc/passwd group shadow copies of the host's, plus the test's local users (bind)
#   /etc/pam.d               the test's service files only          (bind, a temporary dir)
#   /etc/sudoers             %admins and root                       (bind)
#   /etc/ld.so.cache         the host's cache plus the directory of the built libnss_gotrue.so.2
#                            (ldconfig -C; bind). glibc's NSS dlopen()s "libnss_gotrue.so.2" by
#                            bare name, which goes through ld.so.cache even in setuid programs
#                            (sudo, su), where LD_LIBRARY_PATH is ignored.
#   /var/lib /var/log /run   overlays whose upper layer is temporary: the state dir
#                            (/var/lib/gotrue by default), /run/sshd, utmp, wtmp, lastlog and
#                            sudo's timestamps are written there, not on the host.
#   /home                    a tmpfs: pam_mkhomedir creates the users' homes in it.
# pam_gotrue.so is named by absolute path in the service files.
#
#   e2e_init NAME           SKIP unless root, unshare, overlayfs and a non-sanitizer build; then
#                           re-run this script inside a new mount namespace and, afterwards,
#                           remove the temporary directory. Returns only inside the namespace,
#                           with E2E_TMP set.
#   e2e_mount               make the mounts above (inside the namespace)
#   e2e_users               start the emulator, create the test users, write $CONF, sync
#   e2e_sync                sync again (after changing users or the config)
#   e2e_pam SERVICE LINES   write /etc/pam.d/SERVICE
#   e2e_devlog              capture syslog(3) in $E2E_TMP/syslog (opt-in; see below)
#   e2e_mfa_expect FILE     write the expect script that answers password and code prompts
#   e2e_start_sshd ...      sshd on a free loopback port (e2e_stop_sshd stops it)
#   ok / not_ok / check     TAP output; e2e_done prints the plan

E2E_PAM_SO="${top_builddir:-.}/pam/.libs/pam_gotrue.so"
E2E_NSS_SO="${top_builddir:-.}/nss/.libs/libnss_gotrue.so.2"
E2E_SYNC="${top_builddir:-.}/tests/e2e/e2e_sync"
E2E_MFA="${top_builddir:-.}/tests/e2e/e2e_mfa"
PW_ALICE='Correct-Horse-9'
PW_BOB='Battery-Staple-7'
PW_EVE='Eve-Outside-3'
PW_MALLORY='Mallory-Banned-5'
PW_ROOT='Root-Local-1'
PW_CAROL='Carol-Local-2'

e2e_n=0
e2e_failed=0
ok() {
	e2e_n=$((e2e_n + 1))
	echo "ok $e2e_n - $*"
}
not_ok() {
	e2e_n=$((e2e_n + 1))
	e2e_failed=1
	echo "not ok $e2e_n - $*"
}
skip() {
	e2e_n=$((e2e_n + 1))
	echo "ok $e2e_n # SKIP $*"
}
check() { # check DESCRIPTION COMMAND...
	_d=$1
	shift
	if "$@"; then ok "$_d"; else not_ok "$_d"; fi
}
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}
e2e_done() {
	echo "1..$e2e_n"
	exit $e2e_failed
}

e2e_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# The state dir compiled into the modules (configure --with-statedir).
e2e_statedir() {
	sed -n 's/^gotruestatedir = //p' "$top_builddir/Makefile"
}

e2e_init() {
	if [ -n "${E2E_TMP:-}" ]; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || e2e_skip_all "needs root (private mount namespace, sshd, sudo)"
	command -v unshare >/dev/null 2>&1 || e2e_skip_all "unshare (util-linux) not installed"
	unshare --mount --propagation private true 2>/dev/null ||
		e2e_skip_all "cannot unshare the mount namespace here"
	grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null
	grep -qw overlay /proc/filesystems 2>/dev/null || e2e_skip_all "overlayfs not available"
	[ -f "$E2E_PAM_SO" ] && [ -f "$E2E_NSS_SO" ] || e2e_skip_all "modules not built"
	# sshd, sudo and login cannot load a module built with AddressSanitizer (the runtime must
	# come first in the process); the normal build runs these tests.
	if [ "${GOTRUE_SANITIZED:-no}" = yes ]; then
		e2e_skip_all "sanitizer build: real login programs cannot load ASan modules"
	fi
	for _p in $E2E_NEEDS; do
		command -v "$_p" >/dev/null 2>&1 || [ -x "$_p" ] ||
			e2e_skip_all "$_p not installed (scripts/install-deps --e2e)"
	done
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gotrue-e2e-$1.XXXXXX") || exit 99
	# Readable by the test users: the NSS module is loaded from here by their processes.
	chmod 0755 "$E2E_TMP"
	E2E_TMP=$E2E_TMP unshare --mount --propagation private sh "$0"
	_rc=$?
	# The namespace is gone with its last process: nothing is mounted on E2E_TMP any more.
	case "$E2E_TMP" in
	*/gotrue-e2e-*) rm -rf "$E2E_TMP" ;;
	esac
	exit $_rc
}

e2e_overlay() { # e2e_overlay DIR: writes to DIR go to a temporary upper layer
	_ov="$E2E_TMP/ov$(echo "$1" | tr / _)"
	mkdir -p "$_ov/upper" "$_ov/work" &&
		mount -t overlay overlay -o "lowerdir=$1,upperdir=$_ov/upper,workdir=$_ov/work" "$1"
}

e2e_mount() {
	_t=$E2E_TMP
	set -e
	# Nothing mounted from here on may leak back to the host.
	mount --make-rprivate /
	e2e_overlay /var/lib
	e2e_overlay /var/log
	e2e_overlay /run
	mount -t tmpfs -o mode=0755 e2e-home /home
	E2E_STATEDIR=$(e2e_statedir)
	# Start from an empty state dir whatever the host holds there: the overlay shows the host's
	# files, and removing them here only writes whiteouts into the temporary upper layer.
	rm -rf "$E2E_STATEDIR"
	mkdir -p "$E2E_STATEDIR"
	chmod 0755 "$E2E_STATEDIR"

	mkdir -p "$_t/nsslib" "$_t/pam.d" "$_t/etc"
	cp "$E2E_NSS_SO" "$_t/nsslib/libnss_gotrue.so.2"
	chmod 0755 "$_t/nsslib"
	chmod 0644 "$_t/nsslib/libnss_gotrue.so.2"
	printf 'include /etc/ld.so.conf\n%s\n' "$_t/nsslib" >"$_t/ld.so.conf"
	# -X: only write the cache, never touch the symlinks in the system's library directories.
	ldconfig -X -C "$_t/ld.so.cache" -f "$_t/ld.so.conf"
	mount --bind "$_t/ld.so.cache" /etc/ld.so.cache

	printf 'passwd: files gotrue\ngroup: files gotrue\nshadow: files\nhosts: files\n' \
		>"$_t/etc/nsswitch.conf"
	mount --bind "$_t/etc/nsswitch.conf" /etc/nsswitch.conf

	# Local accounts: root with a known password, carol an unprivileged local user.
	for _f in passwd group shadow; do
		grep -v '^carol:' "/etc/$_f" >"$_t/etc/$_f"
	done
	_hash=$(printf '%s\n' "$PW_ROOT" | openssl passwd -6 -stdin)
	sed -i "s|^root:[^:]*:|root:$_hash:|" "$_t/etc/shadow"
	_hash=$(printf '%s\n' "$PW_CAROL" | openssl passwd -6 -stdin)
	echo "carol:x:4242:4242:Carol:/home/carol:/bin/sh" >>"$_t/etc/passwd"
	echo "carol:x:4242:" >>"$_t/etc/group"
	echo "carol:$_hash:19000:0:99999:7:::" >>"$_t/etc/shadow"
	grep -q '^sudo:' "$_t/etc/group" || echo "sudo:x:27:" >>"$_t/etc/group"
	chmod 0644 "$_t/etc/passwd" "$_t/etc/group"
	chmod 0640 "$_t/etc/shadow"
	chgrp shadow "$_t/etc/shadow" 2>/dev/null || true
	for _f in passwd group shadow; do
		mount --bind "$_t/etc/$_f" "/etc/$_f"
	done
	mkdir -p /home/carol
	chown 4242:4242 /home/carol

	mount --bind "$_t/pam.d" /etc/pam.d
	e2e_pam other "auth required pam_deny.so
account required pam_deny.so
password required pam_deny.so
session required pam_deny.so"
	set +e
}

# e2e_pam SERVICE TEXT: /etc/pam.d/SERVICE (already bind-mounted to the temporary dir)
e2e_pam() {
	printf '%s\n' "$2" >"/etc/pam.d/$1"
	chmod 0644 "/etc/pam.d/$1"
}

# A service's stack as pam-auth-update writes it with tools/pam-configs/gotrue enabled (see
# test_pam_auth_update.sh): pam_unix first, then pam_gotrue with the password already typed.
# Neither can lock the other's users out: a local user never reaches pam_gotrue's auth, and
# pam_gotrue ignores users it does not know and a server it cannot reach. Its account step is
# in the Additional block, after the primary one, so it runs for every user: pam_unix's account
# step succeeds for GoTrue users and must not decide for them. $1: extra arguments.
e2e_stack() {
	_m="$E2E_PAM_SO conf=$CONF $1"
	cat <<EOF
auth     [success=2 default=ignore] pam_unix.so nullok
auth     [success=1 default=ignore] $_m use_first_pass ignore_unknown_user ignore_authinfo_unavail
auth     requisite  pam_deny.so
auth     required   pam_permit.so
account  [success=1 new_authtok_reqd=done default=ignore] pam_unix.so
account  requisite  pam_deny.so
account  required   pam_permit.so
account  [default=bad success=ok user_unknown=ignore ignore=ignore] $_m ignore_unknown_user
session  optional   pam_mkhomedir.so skel=/etc/skel umask=0077
session  required   pam_unix.so
session  optional   $_m
password [success=2 default=ignore] pam_unix.so obscure yescrypt
password [success=1 default=ignore] $_m try_first_pass
password requisite  pam_deny.so
password required   pam_permit.so
EOF
}

e2e_sync() {
	if "$GOTRUECTL" --help 2>&1 | grep -q '^ *sync'; then
		"$GOTRUECTL" --conf "$CONF" sync >"$E2E_TMP/sync.out" 2>&1
	else
		"$E2E_SYNC" "$CONF" >"$E2E_TMP/sync.out" 2>&1
	fi || {
		diag "sync failed:" "$(cat "$E2E_TMP/sync.out")"
		return 1
	}
}

# The test users (emails @example.com, local name = the part before @):
#   alice   groups admins, devs
#   bob     groups devs, sudo (a local group: mapped only with local_groups=sudo)
#   eve     groups guests (outside allow_groups=devs,admins)
#   mallory groups devs, banned after creation
e2e_users() {
	. "$top_srcdir/tests/common/emu.sh"
	emu_start --mode "${E2E_MODE:-current}" >/dev/null || return 1
	ALICE_ID=$(emu_create_user alice@example.com "$PW_ALICE" \
		'{"app_metadata":{"groups":["admins","devs"]}}') || return 1
	BOB_ID=$(emu_create_user bob@example.com "$PW_BOB" \
		'{"app_metadata":{"groups":["devs","sudo"]}}') || return 1
	EVE_ID=$(emu_create_user eve@example.com "$PW_EVE" \
		'{"app_metadata":{"groups":["guests"]}}') || return 1
	MALLORY_ID=$(emu_create_user mallory@example.com "$PW_MALLORY" \
		'{"app_metadata":{"groups":["devs"]}}') || return 1
	e2e_ban "$MALLORY_ID" || return 1
	CONF=$(emu_write_config "email_domains = example.com
state_dir = $E2E_STATEDIR
timeout = 5
${E2E_CONF_EXTRA:-}") || return 1
	e2e_sync
}

e2e_ban() { # e2e_ban USER_ID
	[ "$(printf '{"ban_duration":"876000h"}' | emu_curl -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/json' -H "Authorization: Bearer $EMU_SERVICE_KEY" \
		--data-binary @- "$EMU_URL/admin/users/$1")" = 200 ]
}

# e2e_start_sshd WRITE_CONFIG LOG SSHD...: start sshd (the command SSHD..., in the foreground
# with -D -e) on a random loopback port, and on another when that one is taken. WRITE_CONFIG
# PORT writes the config the command names. Sets port and SSHD_PID; returns 1, the log on
# stderr, when sshd never listened.
e2e_start_sshd() {
	_write=$1 _log=$2
	shift 2
	for _try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		"$_write" "$port"
		: >"$_log"
		"$@" 2>>"$_log" &
		SSHD_PID=$!
		if e2e_wait "grep -q 'Server listening' '$_log'" 50; then
			return 0
		fi
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	done
	cat "$_log" >&2
	return 1
}

# e2e_stop_sshd: stop the sshd e2e_start_sshd started, if any (for the tests' EXIT traps).
e2e_stop_sshd() {
	if [ -n "${SSHD_PID:-}" ]; then
		kill -TERM "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
}

# Session records in the token store (32 hex digits each).
e2e_records() {
	ls "$E2E_STATEDIR/sessions" 2>/dev/null | grep -E '^[0-9a-f]{32}$' | sort
}

# Wait up to $2 tenths of a second for the command $1 to succeed.
e2e_wait() {
	_i=0
	while [ $_i -lt "$2" ]; do
		eval "$1" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# e2e_place SRC DEST: make SRC visible at DEST inside the namespace, where DEST (or its
# directory) may not exist on the host: the nearest existing ancestor directory gets a
# temporary overlay, so the host's directory is never written.
e2e_place() {
	_dir=$(dirname "$2")
	_anc=$_dir
	while [ ! -d "$_anc" ]; do _anc=$(dirname "$_anc"); done
	if ! grep -q " $_anc overlay " /proc/self/mounts; then
		e2e_overlay "$_anc" || return 1
	fi
	mkdir -p "$_dir" && cp "$1" "$2"
}

# The build's configured directories from its Makefile, with ${prefix} and the like expanded.
e2e_makevar() {
	_v=$(sed -n "s/^$1 = //p" "$top_builddir/Makefile" | head -n 1)
	while :; do
		case "$_v" in
		*'${'*'}'*)
			_name=$(printf '%s' "$_v" | sed 's/^[^$]*[$]{\([A-Za-z_]*\)}.*/\1/')
			_val=$(sed -n "s/^$_name = //p" "$top_builddir/Makefile" | head -n 1)
			_v=$(printf '%s' "$_v" | sed "s|[$]{$_name}|$_val|")
			;;
		*) break ;;
		esac
	done
	printf '%s\n' "$_v"
}

# e2e_devlog: what every process of the namespace sends to syslog(3), pam_gotrue's lines among
# them, lands in $E2E_TMP/syslog. /dev/log becomes a datagram socket of the test's own in an
# overlay of /dev (the devpts and shm mounts put back on top), so the host's /dev is never
# written. The receiver's pid is E2E_DEVLOG_PID; the caller stops it.
e2e_devlog() {
	_real=$E2E_TMP/dev.real
	mkdir -p "$_real" && mount --rbind /dev "$_real" && e2e_overlay /dev &&
		mount --rbind "$_real/pts" /dev/pts && mount --rbind "$_real/shm" /dev/shm || return 1
	rm -f /dev/log
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")
' "$E2E_TMP/syslog" &
	E2E_DEVLOG_PID=$!
	e2e_wait '[ -S /dev/log ]' 50
}

# e2e_mfa_expect FILE: an expect script that runs its arguments and answers, from files never
# named on a command line: "Password" with the line of $PWFILE; "Verification code" with
# $E2E_MFA's code for the secret in $SECRETFILE (or, with CODE=password, the password again; with
# CODE=empty, nothing); "Code from the email" with the last code $OUTBOX has for $EMAIL. What the
# client saw is appended to $TRANSCRIPT. Exit 0 when the remote command ran to its end, 3 when
# the login was refused.
e2e_mfa_expect() {
	cat >"$1" <<'EOF'
set timeout 30
set fh [open $env(PWFILE)]
gets $fh pw
close $fh
set how [expr {[info exists env(CODE)] ? $env(CODE) : "totp"}]
if {[info exists env(TRANSCRIPT)]} { log_file -a $env(TRANSCRIPT) }
proc totp {} {
	set fh [open $::env(SECRETFILE)]
	gets $fh secret
	close $fh
	return [exec $::env(E2E_MFA) code $secret]
}
proc mailed {} {
	set code ""
	set fh [open $::env(OUTBOX)]
	while {[gets $fh line] >= 0} {
		if {[string first "\"to\":\"$::env(EMAIL)\"" $line] >= 0} {
			regexp {"token":"([0-9]+)"} $line -> code
		}
	}
	close $fh
	return $code
}
set pwsent 0
eval spawn $argv
expect {
	-re "(P|p)assword\[^\n]*: ?$" {
		if {$pwsent} { exit 3 }
		set pwsent 1
		send -- "$pw\r"
		exp_continue
	}
	-re "Verification code: ?$" {
		if {$how eq "password"} { send -- "$pw\r" } elseif {$how eq "empty"} { send -- "\r" } else { send -- "[totp]\r" }
		exp_continue
	}
	-re "Code from the email: ?$" { send -- "[mailed]\r"; exp_continue }
	-re "Permission denied|incorrect|failure" { exit 3 }
	timeout { puts "E2E: timeout"; exit 4 }
	eof { }
}
catch wait result
exit [lindex $result 3]
EOF
}
