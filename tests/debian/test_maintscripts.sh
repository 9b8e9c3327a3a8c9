#!/bin/sh
# test_maintscripts: the packages' maintainer scripts, run as dpkg runs them but on copies
# (DPKG_ROOT names a temporary root; dpkg-query and pam-auth-update are stubs). No root needed:
# the host's /etc is never read.
# - libnss-gotrue (preinst, postinst, postrm) on nsswitch.conf files of every shape an
#   administrator may have: a new installation adds "gotrue" after "files" on the passwd and
#   group lines and nowhere else; an upgrade adds nothing; the removal of the last instance
#   gives back the file as it was, byte for byte.
# - libpam-gotrue's prerm: the profile goes on removal only, and a file in /etc/pam.d that still
#   names the module afterwards is reported.
set -u
: "${top_srcdir:=.}"
deb="$top_srcdir/debian"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
conf=$root/etc/nsswitch.conf
mkdir -p "$root/etc" "$tmp/bin"
# ok, not_ok, check, diag and e2e_done (the TAP helpers; nothing here needs a namespace).
. "$top_srcdir/tests/e2e/e2e.sh"

# The other instances of libnss-gotrue (Multi-Arch: same) that dpkg-query reports.
others=
cat >"$tmp/bin/dpkg-query" <<'EOF'
#!/bin/sh
printf 'rc \n'
for s in $OTHER_INSTANCES; do printf '%s \n' "$s"; done
EOF
chmod 0755 "$tmp/bin/dpkg-query"

# run SCRIPT ARGS...: one maintainer script as dpkg calls it; its stderr in $tmp/err.
run() {
	_s=$1
	shift
	DPKG_ROOT=$root DPKG_MAINTSCRIPT_PACKAGE=libnss-gotrue OTHER_INSTANCES=$others \
		PATH="$tmp/bin:$PATH" sh "$deb/libnss-gotrue.$_s" "$@" 2>"$tmp/err"
}
install_pkg() { run preinst install && run postinst configure; }
upgrade_pkg() { run preinst upgrade 0.1.0 && run postinst configure 0.1.0; }
remove_pkg() { run postrm remove; }
same() { # same FILE TEXT: FILE holds exactly TEXT (printf %b)
	printf '%b' "$2" >"$tmp/want"
	if cmp -s "$1" "$tmp/want"; then return 0; fi
	diag "got:" "$(cat -A "$1")" "want:" "$(cat -A "$tmp/want")"
	return 1
}

# case NAME BEFORE AFTER: a new installation turns BEFORE into AFTER, leaves no mark behind, and
# the removal gives back BEFORE byte for byte.
case_() {
	printf '%b' "$2" >"$conf"
	check "$1: installed" install_pkg
	check "$1: the passwd and group lines, and nothing else" same "$conf" "$3"
	check "$1: no mark left for a later configure" test ! -e "$conf.libnss-gotrue-add"
	check "$1: removed" remove_pkg
	check "$1: back as it was, byte for byte" same "$conf" "$2"
}

bookworm='# /etc/nsswitch.conf\n#\n# Example configuration of GNU Name Service Switch functionality.\n\npasswd:         files\ngroup:          files\nshadow:         files\ngshadow:        files\n\nhosts:          files dns\nnetworks:       files\n\nprotocols:      db files\nservices:       db files\nethers:         db files\nrpc:            db files\n\nnetgroup:       nis\n'
bookworm_after=$(printf '%b' "$bookworm" | sed -e 's/^passwd:         files$/& gotrue/' -e 's/^group:          files$/& gotrue/')'\n'
case_ "Debian's nsswitch.conf" "$bookworm" "$bookworm_after"
case_ "after files, before systemd" 'passwd: files systemd\ngroup: files systemd\n' \
	'passwd: files gotrue systemd\ngroup: files gotrue systemd\n'
case_ "tabs, a comment, and trailing blanks on other lines" \
	'hosts:\tfiles dns  \npasswd:\tfiles\t# local first\ngroup:\tfiles\nshadow:\tfiles \n' \
	'hosts:\tfiles dns  \npasswd:\tfiles gotrue\t# local first\ngroup:\tfiles gotrue\nshadow:\tfiles \n'
case_ "compat, and no blank after the colon" 'passwd:compat\ngroup:compat\n' \
	'passwd:compat gotrue\ngroup:compat gotrue\n'
case_ "files with an action" 'passwd: files [UNAVAIL=return] ldap\ngroup: files ldap\n' \
	'passwd: files [UNAVAIL=return] gotrue ldap\ngroup: files gotrue ldap\n'
case_ "no newline at the end" 'group: files\npasswd: files' 'group: files gotrue\npasswd: files gotrue'
case_ "a service whose name starts with gotrue is another" \
	'passwd: files gotrue2\ngroup: files\n' 'passwd: files gotrue gotrue2\ngroup: files gotrue\n'

# Already there: not added twice, and the file is not even rewritten.
printf 'passwd: files gotrue\ngroup: gotrue files\n' >"$conf"
ino=$(stat -c %i "$conf")
check "already named: installed" install_pkg
check "already named: unchanged" same "$conf" 'passwd: files gotrue\ngroup: gotrue files\n'
check "already named: the file was not rewritten" test "$(stat -c %i "$conf")" = "$ino"
check "already named: removal takes it out wherever the administrator put it" remove_pkg
check "already named: passwd and group without it" same "$conf" 'passwd: files\ngroup: files\n'

# An administrator's own line, with an action after gotrue.
printf 'passwd: files gotrue [UNAVAIL=return] sss\ngroup: files sss\n' >"$conf"
remove_pkg
check "removal takes out gotrue with its action" same "$conf" 'passwd: files sss\ngroup: files sss\n'

# Upgrades never add: an administrator who took gotrue out keeps it out.
printf 'passwd: files\ngroup: files\n' >"$conf"
check "upgrade: configured" upgrade_pkg
check "upgrade: nothing added" same "$conf" 'passwd: files\ngroup: files\n'
# ...but a new installation after a removal (preinst "install" with the old version) does.
check "reinstall after removal" run preinst install 0.1.0
check "reinstall after removal: configured" run postinst configure 0.1.0
check "reinstall after removal: added" same "$conf" 'passwd: files gotrue\ngroup: files gotrue\n'

# Idempotent: a second configure (dpkg --configure again, or a triggered one) changes nothing.
check "a second configure" run postinst configure 0.1.0
check "a second configure: unchanged" same "$conf" 'passwd: files gotrue\ngroup: files gotrue\n'

# Multi-Arch: while another architecture's instance stays installed, gotrue stays.
others=ii
check "remove one of two instances" remove_pkg
check "the other instance still needs it" same "$conf" 'passwd: files gotrue\ngroup: files gotrue\n'
others=
check "purge of the last" run postrm purge
check "the last one takes it out" same "$conf" 'passwd: files\ngroup: files\n'

# No line to add to: say so, change nothing, and never fail the installation.
printf 'passwd: ldap\ngroup: ldap\n' >"$conf"
check "no files on the lines: installed all the same" install_pkg
check "no files on the lines: unchanged" same "$conf" 'passwd: ldap\ngroup: ldap\n'
check "no files on the lines: the administrator is told" grep -q "add 'gotrue' to it by hand" "$tmp/err"
rm -f "$conf"
check "no nsswitch.conf: installed all the same" install_pkg
check "no nsswitch.conf: none created" test ! -e "$conf"
run preinst install && run postrm abort-install
check "postrm abort-install removes the mark" test ! -e "$conf.libnss-gotrue-add"

# A symlinked nsswitch.conf (some images manage it elsewhere) stays a link to the edited file.
mkdir -p "$root/managed"
printf 'passwd: files\ngroup: files\n' >"$root/managed/nsswitch.conf"
ln -s ../managed/nsswitch.conf "$conf"
install_pkg
check "a symlinked nsswitch.conf: still a link" test -L "$conf"
check "a symlinked nsswitch.conf: its target edited" \
	same "$root/managed/nsswitch.conf" 'passwd: files gotrue\ngroup: files gotrue\n'

# libpam-gotrue's prerm: after pam-auth-update (a stub here) has taken the profile out, a file
# in /etc/pam.d that still names the module is reported before the module goes.
cat >"$tmp/bin/pam-auth-update" <<'EOF'
#!/bin/sh
echo "$*" >>"$PAM_AUTH_UPDATE_LOG"
EOF
chmod 0755 "$tmp/bin/pam-auth-update"
mkdir -p "$root/etc/pam.d"
printf 'auth required pam_unix.so\n' >"$root/etc/pam.d/common-auth"
printf '# account required pam_gotrue.so\n' >"$root/etc/pam.d/login"
prerm() {
	DPKG_ROOT=$root PAM_AUTH_UPDATE_LOG=$tmp/pau PATH="$tmp/bin:$PATH" \
		sh "$deb/libpam-gotrue.prerm" "$@" 2>"$tmp/err"
}
: >"$tmp/pau"
check "libpam-gotrue prerm remove" prerm remove
check "prerm remove: pam-auth-update --package --remove gotrue" \
	test "$(cat "$tmp/pau")" = "--package --remove gotrue"
check "prerm remove: nothing to report when no file names the module (comments aside)" \
	test ! -s "$tmp/err"
printf 'auth required pam_unix.so\naccount [default=bad success=ok] pam_gotrue.so\n' \
	>"$root/etc/pam.d/sshd"
prerm remove
check "prerm remove: a hand-written stack still naming it is reported" \
	grep -q "WARNING: .*pam_gotrue.so.* sshd$" "$tmp/err"
: >"$tmp/pau"
check "prerm upgrade" prerm upgrade 0.1.0+1
check "prerm upgrade: pam-auth-update not run (the profile stays as enabled)" test ! -s "$tmp/pau"

for s in preinst postinst postrm; do
	check "libnss-gotrue.$s is POSIX sh (sh -n)" sh -n "$deb/libnss-gotrue.$s"
done
for s in libpam-gotrue.postinst libpam-gotrue.prerm gotruectl.postrm; do
	check "$s is POSIX sh (sh -n)" sh -n "$deb/$s"
done

e2e_done
