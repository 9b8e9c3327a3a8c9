#!/bin/sh
# test_install: `make install` with Debian's paths (prefix /usr, sysconfdir /etc, the multiarch
# libdir) into a DESTDIR, then the installed files where an administrator expects them, and
# found by the system: in a private mount namespace the DESTDIR's library directory is laid over
# the real one (a read-only overlay), so glibc loads libnss_gotrue.so.2 and libpam loads
# pam_gotrue.so by their bare names, from the places they were installed to.
set -u
E2E_NEEDS="make pamtester getent ldconfig curl"
. "${top_srcdir:-.}/tests/e2e/e2e.sh"
e2e_init install

t=$E2E_TMP
trap 'emu_stop 2>/dev/null' EXIT
trap 'exit 1' INT TERM

ma=$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
[ -n "$ma" ] || ma=x86_64-linux-gnu
libdir=/usr/lib/$ma
D=$t/dest
if make -s -C "$top_builddir" install DESTDIR="$D" prefix=/usr exec_prefix=/usr \
	sysconfdir=/etc localstatedir=/var libdir="$libdir" >"$t/install.log" 2>&1; then
	ok "make install DESTDIR with prefix=/usr sysconfdir=/etc libdir=$libdir"
else
	not_ok "make install DESTDIR with prefix=/usr sysconfdir=/etc libdir=$libdir"
	diag "$(tail -n 20 "$t/install.log")"
fi
check "pam_gotrue.so in $libdir/security (where libpam looks)" test -f "$D$libdir/security/pam_gotrue.so"
check "libnss_gotrue.so.2 in $libdir (where glibc looks)" test -f "$D$libdir/libnss_gotrue.so.2"
check "no libtool archives installed" test -z "$(find "$D" -name '*.la')"
check "no other files in the library directory (no dev symlinks)" \
	test "$(cd "$D$libdir" && find . -type f -o -type l | sort | tr '\n' ' ')" = \
	"./libnss_gotrue.so.2 ./security/pam_gotrue.so "
check "gotruectl in /usr/bin or /usr/sbin" sh -c 'test -x "$1/usr/bin/gotruectl" || test -x "$1/usr/sbin/gotruectl"' sh "$D"
for m in man8/pam_gotrue.8 man8/nss_gotrue.8 man8/gotruectl.8 man5/gotrue.conf.5; do
	check "man page /usr/share/man/$m" test -f "$D/usr/share/man/$m"
done
check "pam-auth-update profile /usr/share/pam-configs/gotrue" test -f "$D/usr/share/pam-configs/gotrue"
if command -v mandoc >/dev/null 2>&1; then
	for m in "$D"/usr/share/man/man*/*; do
		[ -f "$m" ] || continue
		w=$(mandoc -T lint -W warning "$m" 2>&1)
		if [ -z "$w" ]; then ok "mandoc -T lint: $(basename "$m") clean"; else
			not_ok "mandoc -T lint: $(basename "$m") clean"
			diag "$w"
		fi
	done
fi
# --- systemd units -------------------------------------------------------------------------
unitdir=/usr/lib/systemd/system
for u in gotrue-refresh.service gotrue-refresh.timer gotrue-sync.service gotrue-sync.timer; do
	check "systemd unit $unitdir/$u" test -f "$D$unitdir/$u"
done
# The services were generated at build time from the configured bindir (the prefix given to
# make install does not regenerate them): they name the build's gotruectl path.
cfg_bindir=$(e2e_makevar bindir)
for u in gotrue-refresh gotrue-sync; do
	cmd=${u#gotrue-}
	check "$u.service runs $cfg_bindir/gotruectl $cmd" \
		grep -qx "ExecStart=$cfg_bindir/gotruectl $cmd" "$D$unitdir/$u.service"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# As tests/lifecycle/test_units.sh does: verify wants an executable ExecStart, so the
	# installed services are checked with it pointing at the DESTDIR's gotruectl; only complaints
	# about our own units count (a container without systemd running warns about the host's).
	mkdir -p "$t/units"
	for f in "$D$unitdir"/gotrue-*; do
		sed "s|^ExecStart=$cfg_bindir/gotruectl|ExecStart=$D/usr/bin/gotruectl|" "$f" \
			>"$t/units/$(basename "$f")"
	done
	for f in "$t/units"/*; do
		out=$(cd "$t/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$f" 2>&1)
		rc=$?
		ours=$(printf '%s\n' "$out" | grep -F 'gotrue-' || true)
		if [ $rc -eq 0 ] && [ -z "$ours" ]; then
			ok "systemd-analyze verify: installed $(basename "$f")"
		else
			not_ok "systemd-analyze verify: installed $(basename "$f")"
			diag "$out"
		fi
	done
else
	skip "systemd-analyze verify: systemd-analyze not installed"
fi

check "tmpfiles.d entry /usr/lib/tmpfiles.d/gotrue.conf creates the state dir 0755 and its store 0700" \
	sh -c 'grep -qx "d $2 0755 root root -" "$1" && grep -qx "d $2/sessions 0700 root root -" "$1"' \
	sh "$D/usr/lib/tmpfiles.d/gotrue.conf" "$(e2e_statedir)"

# --- the example configuration --------------------------------------------------------------
ex=/usr/share/doc/pam_gotrue/examples/gotrue.conf
check "example configuration $ex" test -f "$D$ex"
check "no configuration installed into /etc (the example is not a live config)" \
	test ! -e "$D/etc/gotrue/gotrue.conf"

# --- the installed modules, found by bare name --------------------------------------------
if [ ! -f "$D$libdir/security/pam_gotrue.so" ] || [ ! -d "$libdir/security" ]; then
	skip "installed modules in use: nothing to overlay"
	e2e_done
fi
e2e_mount || { echo "Bail out! mounts"; exit 99; }
# e2e_mount's ld.so.cache lists the build tree's module: use the host's cache again, so that
# only the installed copy can be found.
umount /etc/ld.so.cache
mount -t overlay overlay -o "lowerdir=$D$libdir:$libdir" "$libdir" ||
	{ echo "Bail out! overlay on $libdir"; exit 99; }
e2e_users || { echo "Bail out! emulator or sync"; exit 99; }
# The example, with its placeholders replaced by the emulator's URL and key files (what the
# README tells the administrator to do), passes `gotruectl config check`.
sed -e "s|^url = .*|url = $EMU_URL|" -e '/^api_key_file = /d' \
	-e "s|^service_role_key_file = .*|service_role_key_file = $EMU_DIR/service_role.key|" \
	-e "s|^jwt_secret_file = .*|jwt_secret_file = $EMU_DIR/jwt_secret|" \
	-e "s|^email_domains = .*|email_domains = example.com|" \
	-e "s|^#state_dir = .*|state_dir = $E2E_STATEDIR|" \
	-e '$a insecure_http_for_testing = yes' "$D$ex" >"$t/example.conf"
chmod 0644 "$t/example.conf"
if "$D/usr/bin/gotruectl" --conf "$t/example.conf" config check >"$t/cc.out" 2>&1; then
	ok "the example configuration, filled in, passes gotruectl config check"
else
	not_ok "the example configuration, filled in, passes gotruectl config check"
	diag "$(cat "$t/cc.out")"
fi
check "glibc finds the installed libnss_gotrue.so.2: getent passwd alice" \
	sh -c 'getent passwd alice | grep -q "^alice:\\*:[0-9]*:[0-9]*::/home/alice:/bin/bash$"'
check "glibc finds it: id -nG alice lists admins and devs" \
	sh -c 'id -nG alice | grep -qw admins && id -nG alice | grep -qw devs'
e2e_pam e2e-installed "auth required pam_gotrue.so conf=$CONF
account required pam_gotrue.so conf=$CONF
session required pam_gotrue.so conf=$CONF"
emu_reset_counts
if printf '%s\n' "$PW_ALICE" | pamtester e2e-installed alice authenticate acct_mgmt \
	open_session close_session >"$t/out" 2>&1; then
	ok "libpam loads the installed pam_gotrue.so by name: a full login cycle"
else
	not_ok "libpam loads the installed pam_gotrue.so by name: a full login cycle"
	diag "$(cat "$t/out")"
fi
check "the cycle signed in once and revoked once" \
	test "$(emu_count 'POST /token?grant_type=password')/$(emu_count 'POST /logout')" = 1/1

e2e_done
