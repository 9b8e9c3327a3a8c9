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
units=$(find "$D" -name '*.service' -o -name '*.timer' -o -name '*.path' | sort)
if [ -z "$units" ]; then
	skip "systemd units: none installed by this tree yet"
elif command -v systemd-analyze >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	if w=$(systemd-analyze verify --root="$D" $(printf '%s\n' $units | sed "s|^$D||") 2>&1); then
		ok "systemd-analyze verify: every unit"
	else
		not_ok "systemd-analyze verify: every unit"
		diag "$w"
	fi
fi
conf_example=$(find "$D/etc/gotrue" "$D/usr/share/doc" -name 'gotrue.conf*' 2>/dev/null | head -n 1)
if [ -n "$conf_example" ]; then
	ok "example configuration installed: ${conf_example#"$D"}"
else
	skip "example configuration: none installed by this tree yet"
fi

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
