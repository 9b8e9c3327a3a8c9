#!/bin/sh
# test_packages: the Debian packages as an administrator uses them, in a fresh Debian bookworm
# root made by mmdebstrap from Debian's own packages (cached under the build directory, used
# through an overlay so that every run starts from the same pristine root; the host's /etc and
# installed packages are never touched).
#   1. `apt install ./libpam-gotrue_*.deb ./libnss-gotrue_*.deb ./gotruectl_*.deb`: nsswitch.conf
#      names gotrue after files on passwd and group and nowhere else, /etc/pam.d is unchanged (the
#      pam-auth-update profile is off by default), the timers are enabled and wait for a config,
#      the state directory exists, no config is shipped in /etc;
#   2. configured as the README says (gotrue.conf, pam-auth-update --enable gotrue, gotruectl
#      sync) against the emulator on the host (the root shares the network namespace): a GoTrue
#      user logs in over ssh to the root's own sshd, on a free loopback port;
#   3. upgraded to the same packages rebuilt as VERSION+test1, with a session open: the config,
#      the enabled profile and the session are kept, and the session's end revokes it;
#   4. removed, then purged: /etc/pam.d/common-* and nsswitch.conf are byte for byte as they were
#      before the installation, the state directory goes with the purge.
# Local root logs in with its password at every step.
#
# The packages are built by scripts/build-debs into the build directory, unless GOTRUE_DEBS
# names a directory that build-debs already filled (scripts/check does that). The bookworm root
# takes about 40 s to make the first time (network: Debian's mirror), then comes from the cache.
set -u
E2E_NEEDS="mmdebstrap dpkg-buildpackage dh ssh sshpass openssl curl chroot"
. "${top_srcdir:-.}/tests/e2e/e2e.sh"
if [ -n "${DEB_RULES_REQUIRES_ROOT:-}" ]; then
	# make check inside dpkg-buildpackage: this test would build the packages again, inside.
	e2e_skip_all "inside a package build"
fi
if [ "${GOTRUE_SANITIZED:-no}" = yes ]; then
	# The packages never carry sanitizers: the same test in the plain build covers them.
	e2e_skip_all "sanitizer build: the packages are tested by the plain build's run"
fi
e2e_init packages

t=$E2E_TMP
SSHD_PID=
LIVE_PID=
cleanup() {
	if [ -n "$LIVE_PID" ]; then
		kill -TERM "$LIVE_PID" 2>/dev/null
		wait "$LIVE_PID" 2>/dev/null
	fi
	e2e_stop_sshd
	emu_stop 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the packages ---------------------------------------------------------------------------
debs=${GOTRUE_DEBS:-$top_builddir/tests/debian/debs}
if [ -z "${GOTRUE_DEBS:-}" ]; then
	_s=$(date +%s)
	if ! "$top_srcdir/scripts/build-debs" "$debs" +test1 >"$t/build-debs.out" 2>&1; then
		echo "Bail out! scripts/build-debs failed"
		cat "$t/build-debs.out" >&2
		exit 99
	fi
	diag "packages built in $(($(date +%s) - _s)) s"
fi
version=$(dpkg-parsechangelog -l "$top_srcdir/debian/changelog" -S Version)
new_debs="$debs/libpam-gotrue_${version}_*.deb $debs/libnss-gotrue_${version}_*.deb $debs/gotruectl_${version}_*.deb"
up_debs="$debs/+test1/libpam-gotrue_${version}+test1_*.deb $debs/+test1/libnss-gotrue_${version}+test1_*.deb $debs/+test1/gotruectl_${version}+test1_*.deb"
for f in $new_debs $up_debs; do
	[ -f "$f" ] || { echo "Bail out! no $f"; exit 99; }
done

# --- a fresh bookworm root --------------------------------------------------------------------
# What a small server has, and the libraries the packages depend on (so that apt needs no
# mirror to install them): mmdebstrap's "apt" variant adds only the Essential packages and apt.
# The libraries are read from the packages' own Depends, so a new dependency cannot be missed.
deps=$(for f in $new_debs; do dpkg-deb -f "$f" Depends; done | tr ',' '\n' |
	sed -e 's/([^)]*)//g' -e 's/|.*//' -e 's/[[:space:]]//g' |
	grep -v -x -e '' -e gotruectl -e libpam-gotrue -e libnss-gotrue | sort -u | paste -sd, -)
include=openssh-server,systemd,libpam-runtime,$deps
# Made again when the list changes, and after a month, so that the libraries stay as new as the
# ones the packages were linked against.
cache=$top_builddir/tests/debian/bookworm-root
if [ "$(cat "$cache.include" 2>/dev/null)" != "$include" ] ||
	[ -n "$(find "$cache.include" -mtime +30 2>/dev/null)" ]; then
	_s=$(date +%s)
	rm -rf "$cache" "$cache.new" "$cache.include"
	if ! mmdebstrap --variant=apt --include="$include" bookworm "$cache.new" \
		>"$t/mmdebstrap.out" 2>&1; then
		rm -rf "$cache.new"
		diag "$(tail -n 20 "$t/mmdebstrap.out")"
		e2e_skip_all "mmdebstrap could not make a bookworm root (is a Debian mirror reachable?)"
	fi
	mv "$cache.new" "$cache" && echo "$include" >"$cache.include"
	diag "bookworm root made by mmdebstrap in $(($(date +%s) - _s)) s (cached in $cache)"
else
	diag "bookworm root from the cache ($cache)"
fi

R=$t/root
mount --make-rprivate /
mkdir -p "$R" "$t/upper" "$t/work"
mount -t overlay overlay -o "lowerdir=$cache,upperdir=$t/upper,workdir=$t/work" "$R" &&
	mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" &&
	mount -t tmpfs -o mode=0755 run "$R/run" && mount -t tmpfs -o mode=1777 tmp "$R/tmp" ||
	{ echo "Bail out! mounts in the root"; exit 99; }

# in_root COMMAND...: run in the root as an administrator's shell would, with a clean environment.
in_root() {
	chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# Local root with a known password; what an installation must give back afterwards.
hash=$(printf '%s\n' "$PW_ROOT" | openssl passwd -6 -stdin)
sed -i "s|^root:[^:]*:|root:$hash:|" "$R/etc/shadow"
mkdir -p "$t/orig"
cp -a "$R/etc/nsswitch.conf" "$R"/etc/pam.d/common-* "$t/orig/"
# pam_as_before, ns_as_before: every common-* file, nsswitch.conf, byte for byte as before the
# installation.
same_as() { # same_as ORIG LIVE
	cmp -s "$1" "$2" && return 0
	diag "$2 differs:" "$(diff -u "$1" "$2")"
	return 1
}
pam_as_before() {
	_rc=0
	for _f in "$t"/orig/common-*; do
		same_as "$_f" "$R/etc/pam.d/${_f##*/}" || _rc=1
	done
	[ "$(cd "$R/etc/pam.d" && ls -d common-*)" = "$(cd "$t/orig" && ls -d common-*)" ] || _rc=1
	return $_rc
}
ns_as_before() { same_as "$t/orig/nsswitch.conf" "$R/etc/nsswitch.conf"; }
as_before() {
	_rc=0
	pam_as_before || _rc=1
	ns_as_before || _rc=1
	return $_rc
}

# --- sshd inside the root, on a free loopback port -----------------------------------------
mkdir -p "$R/run/sshd"
chmod 0755 "$R/run/sshd"
sshd_config() { # sshd_config PORT
	cat >"$R/etc/ssh/sshd_config.gotrue-test" <<EOF
ListenAddress 127.0.0.1:$1
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication no
PermitRootLogin yes
PrintMotd no
LogLevel VERBOSE
MaxAuthTries 2
EOF
}
e2e_start_sshd sshd_config "$t/sshd.log" \
	chroot "$R" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config.gotrue-test ||
	{ echo "Bail out! sshd did not start in the root"; exit 99; }

# login USER PASSWORD COMMAND: a password login over ssh (the password from a 0600 file); the
# command's output in $t/out.
login() {
	printf '%s\n' "$2" >"$t/pw"
	chmod 0600 "$t/pw"
	sshpass -f "$t/pw" ssh -F /dev/null -p "$port" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
		-o NumberOfPasswordPrompts=1 -o PubkeyAuthentication=no \
		-o PreferredAuthentications=password "$1@127.0.0.1" "$3" >"$t/out" 2>"$t/err" </dev/null
	_rc=$?
	rm -f "$t/pw"
	return $_rc
}
root_logs_in() { # root_logs_in WHEN
	if login root "$PW_ROOT" 'id -un' && [ "$(cat "$t/out")" = root ]; then
		ok "$1: local root logs in with its password"
	else
		not_ok "$1: local root logs in with its password"
		diag "$(cat "$t/err")" "$(tail -n 10 "$t/sshd.log")"
	fi
}
# apt_step DESCRIPTION LOG APT-ARGS...: one apt command in the root, as a test; its output is
# kept in $t/LOG and shown in the test's log.
apt_step() {
	_d=$1 _log=$t/$2
	shift 2
	if in_root apt "$@" >"$_log" 2>&1; then ok "$_d"; else not_ok "$_d"; fi
	diag "apt $*:" "$(cat "$_log")"
}
# installed_at VERSION: the three packages are installed, at VERSION.
installed_at() {
	for _p in libpam-gotrue libnss-gotrue gotruectl; do
		check "$_p $1 installed" \
			test "$(in_root dpkg-query -W -f '${Status} ${Version}' "$_p" 2>/dev/null)" = \
			"install ok installed $1"
	done
}
# The .deb files in DIR (inside the root), as apt names local files.
debs_in() { ls "$R$1"/*.deb | sed "s|^$R||"; }
records() { ls "$R/var/lib/gotrue/sessions" 2>/dev/null | grep -E '^[0-9a-f]{32}$' | sort; }

root_logs_in "before the installation"

# --- 1. apt install ---------------------------------------------------------------------------
mkdir -p "$R/tmp/debs" "$R/tmp/debs-up"
# shellcheck disable=SC2086
cp $new_debs "$R/tmp/debs/" && cp $up_debs "$R/tmp/debs-up/"
apt_step "apt install ./libpam-gotrue ./libnss-gotrue ./gotruectl (no mirror needed)" \
	apt-install.out install -y $(debs_in /tmp/debs)
installed_at "$version"
ma=$(in_root dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
check "pam_gotrue.so in /usr/lib/$ma/security" test -f "$R/usr/lib/$ma/security/pam_gotrue.so"
check "ldconfig knows libnss_gotrue.so.2 (the package's ldconfig trigger ran)" \
	sh -c 'chroot "$1" /sbin/ldconfig -p | grep -q "libnss_gotrue.so.2 "' sh "$R"
grep -v '^\(passwd\|group\):' "$t/orig/nsswitch.conf" >"$t/ns.other.before"
grep -v '^\(passwd\|group\):' "$R/etc/nsswitch.conf" >"$t/ns.other.after"
check "nsswitch.conf: passwd names gotrue right after files" \
	grep -Eq '^passwd:[[:space:]]+files gotrue([[:space:]]|$)' "$R/etc/nsswitch.conf"
check "nsswitch.conf: group names gotrue right after files" \
	grep -Eq '^group:[[:space:]]+files gotrue([[:space:]]|$)' "$R/etc/nsswitch.conf"
check "nsswitch.conf: every other line as it was" cmp -s "$t/ns.other.before" "$t/ns.other.after"
diag "nsswitch.conf now:" "$(grep -E '^(passwd|group):' "$R/etc/nsswitch.conf")"
cp "$R/etc/nsswitch.conf" "$t/nsswitch.installed"
check "/etc/pam.d/common-* unchanged: the profile is off until enabled" pam_as_before
check "no configuration shipped in /etc/gotrue" test ! -e "$R/etc/gotrue"
check "the example configuration in /usr/share/doc/gotruectl/examples" \
	test -f "$R/usr/share/doc/gotruectl/examples/gotrue.conf"
check "the state directory /var/lib/gotrue: root's, 0755 (systemd-tmpfiles ran)" \
	test "$(stat -c '%U %a' "$R/var/lib/gotrue" 2>/dev/null)" = "root 755"
check "its token store /var/lib/gotrue/sessions: root's, 0700" \
	test "$(stat -c '%U %a' "$R/var/lib/gotrue/sessions" 2>/dev/null)" = "root 700"
for u in gotrue-sync gotrue-refresh; do
	check "$u.timer enabled" test "$(in_root systemctl is-enabled "$u.timer" 2>/dev/null)" = enabled
	check "$u.service runs only once /etc/gotrue/gotrue.conf exists" \
		grep -qx 'ConditionPathExists=/etc/gotrue/gotrue.conf' "$R/lib/systemd/system/$u.service"
done
root_logs_in "installed, not configured"

# --- 2. configured as the README says --------------------------------------------------------
. "$top_srcdir/tests/common/emu.sh"
emu_start --mode current >/dev/null || { echo "Bail out! emulator"; exit 99; }
emu_create_user alice@example.com "$PW_ALICE" '{"app_metadata":{"groups":["devs"]}}' >/dev/null &&
	emu_create_user eve@example.com "$PW_EVE" '{"app_metadata":{"groups":["guests"]}}' >/dev/null ||
	{ echo "Bail out! users"; exit 99; }
# The emulator's config, with its key files copied to where an administrator keeps them.
mkdir -p "$R/etc/gotrue"
chmod 0755 "$R/etc/gotrue"
emu_conf=$(emu_write_config "email_domains = example.com
allow_groups = devs
timeout = 5") || { echo "Bail out! config"; exit 99; }
for f in $(sed -n "s|^[a-z_]* = $EMU_DIR/||p" "$emu_conf"); do
	install -m 0600 -o root -g root "$EMU_DIR/$f" "$R/etc/gotrue/$f"
done
sed "s|$EMU_DIR/|/etc/gotrue/|" "$emu_conf" | grep -v '^allow_all_users' >"$R/etc/gotrue/gotrue.conf"
chmod 0644 "$R/etc/gotrue/gotrue.conf"
if in_root gotruectl config check >"$t/cc.out" 2>&1; then
	ok "gotruectl config check passes in the root"
else
	not_ok "gotruectl config check passes in the root"
	diag "$(cat "$t/cc.out")"
fi
check "pam-auth-update --enable gotrue" in_root pam-auth-update --enable gotrue
check "common-auth: pam_gotrue after pam_unix" awk '/^[^#]*pam_unix\.so/ && !u { u = NR }
	/^[^#]*pam_gotrue\.so/ && !g { g = NR } END { exit !(u && g && u < g) }' "$R/etc/pam.d/common-auth"
if in_root gotruectl sync >"$t/sync.out" 2>&1; then
	ok "gotruectl sync"
else
	not_ok "gotruectl sync"
	diag "$(cat "$t/sync.out")"
fi
check "getent passwd alice through the installed nss_gotrue" \
	sh -c 'chroot "$1" getent passwd alice | grep -q "^alice:"' sh "$R"
emu_reset_counts
if login alice "$PW_ALICE" 'id -un' && [ "$(cat "$t/out")" = alice ]; then
	ok "alice (GoTrue) logs in over ssh to the root's sshd"
else
	not_ok "alice (GoTrue) logs in over ssh to the root's sshd"
	diag "$(cat "$t/err")" "$(tail -n 20 "$t/sshd.log")"
fi
if e2e_wait '[ "$(emu_count "POST /logout")" = 1 ]' 50; then
	ok "her logout revoked the GoTrue session"
else
	not_ok "her logout revoked the GoTrue session"
fi
if login alice 'not-her-password' 'echo IN'; then not_ok "wrong password refused"; else ok "wrong password refused"; fi
if login eve "$PW_EVE" 'echo IN'; then not_ok "eve (not in allow_groups) refused"; else ok "eve (not in allow_groups) refused"; fi
root_logs_in "configured, profile enabled"

# --- 3. upgrade with a session open ----------------------------------------------------------
emu_reset_counts
printf '%s\n' "$PW_ALICE" >"$t/livepw"
chmod 0600 "$t/livepw"
sshpass -f "$t/livepw" ssh -F /dev/null -p "$port" -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o PubkeyAuthentication=no \
	-o PreferredAuthentications=password alice@127.0.0.1 'echo up; exec sleep 120' \
	>"$t/live.out" 2>"$t/live.err" </dev/null &
LIVE_PID=$!
e2e_wait "grep -q up '$t/live.out'" 100 || diag "the long session did not start: $(cat "$t/live.err")"
rm -f "$t/livepw"
before_records=$(records)
check "a session open before the upgrade, with its record in the store" test -n "$before_records"
cp "$R/etc/gotrue/gotrue.conf" "$t/gotrue.conf.before"
cp "$R"/etc/pam.d/common-auth "$t/common-auth.enabled"
apt_step "apt install the rebuilt $version+test1 packages over $version" \
	apt-upgrade.out install -y $(debs_in /tmp/debs-up)
installed_at "$version+test1"
check "upgrade: gotrue.conf kept byte for byte" cmp -s "$t/gotrue.conf.before" "$R/etc/gotrue/gotrue.conf"
check "upgrade: the enabled profile kept (common-auth as before)" \
	cmp -s "$t/common-auth.enabled" "$R/etc/pam.d/common-auth"
check "upgrade: nsswitch.conf as before" cmp -s "$t/nsswitch.installed" "$R/etc/nsswitch.conf"
check "upgrade: the open session's record kept" test "$(records)" = "$before_records"
check "upgrade: the open session still runs" kill -0 "$LIVE_PID"
# The session opened by the old module ends under the new one: its record is read and revoked.
kill -TERM "$LIVE_PID" 2>/dev/null
wait "$LIVE_PID" 2>/dev/null
LIVE_PID=
if e2e_wait '[ "$(emu_count "POST /logout")" = 1 ] && [ -z "$(records)" ]' 100; then
	ok "upgrade: the session opened before it is revoked at its end, and its record removed"
else
	not_ok "upgrade: the session opened before it is revoked at its end (logouts $(emu_count 'POST /logout'), records $(records | wc -l))"
	diag "$(tail -n 20 "$t/sshd.log")"
fi
if login alice "$PW_ALICE" 'id -un' && [ "$(cat "$t/out")" = alice ]; then
	ok "upgrade: alice logs in with the new packages"
else
	not_ok "upgrade: alice logs in with the new packages"
	diag "$(cat "$t/err")"
fi
root_logs_in "upgraded"

# --- 4. remove, then purge -----------------------------------------------------------------
apt_step "apt remove libpam-gotrue libnss-gotrue gotruectl" \
	apt-remove.out remove -y libpam-gotrue libnss-gotrue gotruectl
check "removed: /etc/pam.d/common-* and nsswitch.conf byte for byte as before the installation" as_before
check "removed: no PAM file left naming the module (no warning)" \
	sh -c '! grep -q "still use pam_gotrue.so" "$1"' sh "$t/apt-remove.out"
check "removed: the administrator's gotrue.conf stays" test -f "$R/etc/gotrue/gotrue.conf"
check "removed: the state directory stays until purge" test -d "$R/var/lib/gotrue"
if login alice "$PW_ALICE" 'echo IN'; then not_ok "removed: alice no longer logs in"; else ok "removed: alice no longer logs in"; fi
root_logs_in "removed"
apt_step "apt purge libpam-gotrue libnss-gotrue gotruectl" \
	apt-purge.out purge -y libpam-gotrue libnss-gotrue gotruectl
check "purged: no trace in dpkg's database" \
	sh -c '! chroot "$1" dpkg -l libpam-gotrue libnss-gotrue gotruectl 2>/dev/null | grep -q "^[a-z][a-z] "' sh "$R"
check "purged: /etc/pam.d/common-* and nsswitch.conf byte for byte as before the installation" as_before
check "purged: the state directory is gone" test ! -e "$R/var/lib/gotrue"
check "purged: the timers are no longer enabled" \
	sh -c '! ls "$1"/etc/systemd/system/*.wants/gotrue-* >/dev/null 2>&1' sh "$R"
check "purged: no mark left beside nsswitch.conf" sh -c '! ls "$1"/etc/nsswitch.conf.* >/dev/null 2>&1' sh "$R"
root_logs_in "purged"

e2e_done
