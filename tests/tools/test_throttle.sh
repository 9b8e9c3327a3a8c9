#!/bin/sh
# gotruectl throttle show / reset: the administrator's view of the local failure throttle. Failures
# are recorded by tests/tools/mkthrottle through the login path's own call; no server is needed.
# TAP on stdout. Needs $GOTRUECTL and $top_builddir (set by make check).

: "${GOTRUECTL:?}" "${top_builddir:?}"
MK=$top_builddir/tests/tools/mkthrottle

T=$(mktemp -d "${TMPDIR:-/tmp}/test_throttle.XXXXXX") || exit 99
umask 077
n=0
failed=0
trap 'rm -rf "$T"' EXIT INT TERM

ok() { # ok CONDITION_STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		echo "#   rc=$rc"
		sed 's/^/#   out: /' "$T/out" 2>/dev/null | head -12
		sed 's/^/#   err: /' "$T/err" 2>/dev/null | head -5
	fi
}
run() {
	"$GOTRUECTL" --conf "$CONF" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
out_has() { grep -q -- "$1" "$T/out"; }
err_has() { grep -q -- "$1" "$T/err"; }
lines() { wc -l <"$T/out" | tr -d ' '; }

S=$T/state
CONF=$T/gotrue.conf
printf 'state_dir = %s\n' "$S" >"$CONF"
chmod 0644 "$CONF"
TABLE=$S/throttle/tally

run throttle show
[ $rc -eq 0 ] && out_has '^KIND  *NAME  *FAILURES  *LAST  *STATE$' && [ "$(lines)" -eq 1 ] &&
	[ ! -e "$S" ]
ok $? "show with no table: only the header, exit 0, nothing created"
run throttle reset alice
[ $rc -eq 0 ] && out_has 'nothing recorded' && [ ! -e "$S" ]
ok $? "reset with no table: nothing to do, nothing created"

# Defaults: 5 per user, 20 per host, 900 s interval, 600 s lock.
"$MK" "$CONF" alice 192.0.2.7 5 && "$MK" "$CONF" bob 192.0.2.7 2 && "$MK" "$CONF" carol - 1 &&
	"$MK" "$CONF" dave 2001:db8:1:2::9 1
ok $? "mkthrottle records failures"
[ "$(stat -c %a "$S/throttle")" = 700 ] && [ "$(stat -c %a "$TABLE")" = 600 ]
ok $? "the table is 0600 in a 0700 directory"

T8='20[0-9-]*T[0-9:]*Z'
run throttle show
[ $rc -eq 0 ] && [ "$(lines)" -eq 8 ] &&
	out_has "^user  *alice  *5  *$T8  *locked, [56][0-9][0-9] s left\$" &&
	out_has "^user  *bob  *2  *$T8  *-\$" &&
	out_has "^user  *carol  *1 " && out_has "^user  *dave  *1 " &&
	out_has "^host  *192\\.0\\.2\\.7  *7  *$T8  *-\$" &&
	out_has "^host  *(local)  *1 " && out_has "^host  *2001:db8:1:2::/64  *1 "
ok $? "show: every user and host bucket, failures, last failure, alice locked"
[ "$(sed -n 2p "$T/out" | cut -c1-4)" = user ] && [ "$(sed -n 8p "$T/out" | cut -c1-4)" = host ]
ok $? "show: users first, then hosts"
run throttle show alice
[ $rc -eq 0 ] && [ "$(lines)" -eq 2 ] && out_has '^user  *alice  *5 '
ok $? "show USER: that user's bucket only"
run --json throttle show
[ $rc -eq 0 ] && out_has '"total":7' &&
	out_has '{"kind":"user","name":"alice","failures":5,"last":"20[^"]*","locked":true,"seconds_left":[56][0-9][0-9]}' &&
	out_has '"name":"(local)"'
ok $? "show --json: one document with every bucket"

run throttle reset alice
[ $rc -eq 0 ] && out_has '^reset: user alice$'
ok $? "reset USER"
run throttle show alice
[ $rc -eq 0 ] && [ "$(lines)" -eq 1 ]
ok $? "... the user's bucket is gone"
run throttle reset --host 192.0.2.7
[ $rc -eq 0 ] && out_has '^reset: host 192.0.2.7$'
ok $? "reset --host HOST"
run throttle reset --host 2001:db8:1:2::abcd
[ $rc -eq 0 ] && out_has '^reset: host 2001:db8:1:2::/64$'
ok $? "reset --host with another address of an IPv6 /64 resets the /64"
run throttle reset --local
[ $rc -eq 0 ] && out_has '^reset: host (local)$'
ok $? "reset --local"
run throttle show
[ $rc -eq 0 ] && [ "$(lines)" -eq 4 ] && ! out_has '^host' && out_has '^user  *bob '
ok $? "... those buckets are gone, the others stay"
run --json throttle reset --all
[ $rc -eq 0 ] && out_has '"ok":true'
ok $? "reset --all (--json)"
run throttle show
[ $rc -eq 0 ] && [ "$(lines)" -eq 1 ]
ok $? "... the table is empty"

run throttle reset
[ $rc -eq 2 ] && err_has 'name one of USER'
ok $? "reset with no target: usage error"
run throttle reset alice --all
[ $rc -eq 2 ]
ok $? "reset with two targets: usage error"
run throttle show alice bob
[ $rc -eq 2 ]
ok $? "show with two users: usage error"

printf 'garbage' >"$TABLE"
run throttle show
[ $rc -eq 3 ] && err_has 'damaged throttle table (too short), left as it is' && err_has 'cannot use the throttle table'
ok $? "show with a damaged table: exit 3, says why"
[ "$(cat "$TABLE")" = garbage ]
ok $? "... and leaves the file alone"
run throttle reset --all
[ $rc -eq 0 ] && [ "$(stat -c %s "$TABLE")" -eq 2097664 ]
ok $? "reset --all replaces a damaged table"
chmod 0755 "$S/throttle"
run throttle show
[ $rc -eq 3 ] && err_has 'refusing a directory with mode 0755'
ok $? "show refuses a throttle directory others can read (exit 3)"
chmod 0700 "$S/throttle"
ln -s /etc/passwd "$T/link" && rm -f "$TABLE" && ln -s "$T/link" "$TABLE"
run throttle show
[ $rc -eq 3 ] && err_has 'a symbolic link'
ok $? "show refuses a linked table (exit 3)"

echo "1..$n"
[ $failed -eq 0 ]
