#!/bin/sh
# gotruectl end to end against the GoTrue emulator, once per server generation (--mode v2.69 and
# --mode current): every subcommand, its exit code and its output. TAP on stdout.
# Needs $GOTRUECTL, $GOTRUE_EMULATOR and $top_srcdir (set by make check); the QR codes of
# `mfa enroll` are read back with zbarimg (zbar-tools) when $GOTRUE_HAVE_QRENCODE is yes.

: "${top_srcdir:?}" "${GOTRUECTL:?}" "${GOTRUE_EMULATOR:?}"
. "$top_srcdir/tests/common/emu.sh"

if [ ! -x "$GOTRUE_EMULATOR" ]; then
	echo "1..0 # SKIP no emulator (libmicrohttpd missing at configure time)"
	exit 0
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/test_gotruectl.XXXXXX") || exit 99
umask 077
n=0
failed=0
trap 'emu_stop >/dev/null 2>&1; rm -rf "$T"' EXIT INT TERM

ok() { # ok CONDITION_STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		echo "#   rc=$rc"
		sed 's/^/#   out: /' "$T/out" 2>/dev/null | head -5
		sed 's/^/#   err: /' "$T/err" 2>/dev/null | head -5
	fi
}

# run [<stdin-file>] gotruectl-args...: output in $T/out and $T/err, status in $rc.
run() {
	"$GOTRUECTL" --conf "$CONF" "$@" <"$STDIN" >"$T/out" 2>"$T/err"
	rc=$?
	STDIN=/dev/null
}
STDIN=/dev/null
with() { # with TEXT: the next run reads TEXT (one line) on stdin
	printf '%s\n' "$1" >"$T/stdin"
	STDIN="$T/stdin"
}
with_file() {
	STDIN="$1"
}
out_has() { grep -q -- "$1" "$T/out"; }
err_has() { grep -q -- "$1" "$T/err"; }
# A string field of the first JSON object in $T/out (the CLI prints one line per document).
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$T/out" | head -1; }
# The newest token the emulator "mailed" to $1.
outbox_token() {
	grep -F "\"$1\"" "$EMU_DIR/outbox" | tail -1 | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'
}

PW='correct horse battery staple 9!'

flip_byte() { # flip_byte FILE OFFSET: flip the lowest bit of one byte in place
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

suite() {
	mode=$1
	emu_start --mode "$mode" || {
		echo "Bail out! emulator did not start ($mode)"
		exit 1
	}
	# email_domains and allow_groups set: config check counts their absence as a problem.
	CONF=$(emu_write_config "email_domains = example.org
allow_groups = staff
allow_all_users = no")
	m="[$mode]"

	# --- server ---
	run health
	ok $((rc != 0)) "$m health exits 0"
	run --json health
	out_has '"version"'
	ok $? "$m health --json has the version"
	run settings
	[ $rc -eq 0 ] && out_has 'external'
	ok $? "$m settings prints the server settings"

	# --- admin create, signin ---
	with "$PW"
	run --json admin users create --email alice@example.org --password-stdin --confirm \
		--app-metadata '{"groups":["ops"]}' --user-metadata '{"name":"Alice"}'
	alice=$(json_field id)
	[ $rc -eq 0 ] && [ -n "$alice" ] && out_has '"groups":\["ops"\]'
	ok $? "$m admin users create prints the new user with its app_metadata"

	# GoTrue answers a create with email_confirmed_at; confirmed_at only on later reads.
	with "$PW"
	run admin users create --email confirmed@example.org --password-stdin --confirm
	[ $rc -eq 0 ] && out_has '^email_confirmed_at: *20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T'
	ok $? "$m admin users create --confirm shows email_confirmed_at, as the server set it"

	with 'wrong password'
	run signin --email alice@example.org --password-stdin
	[ $rc -eq 1 ] && err_has '^gotruectl: signin: invalid_credentials: .*(HTTP 400)$'
	ok $? "$m signin with a wrong password exits 1 with invalid_credentials"

	with "$PW"
	run signin --email alice@example.org --password-stdin
	[ $rc -eq 0 ] && out_has 'alice@example.org' && ! out_has 'eyJ' && out_has 'hidden'
	ok $? "$m signin prints the session without tokens in human mode"

	with "$PW"
	run signin --email alice@example.org --password-stdin --show-tokens
	[ $rc -eq 0 ] && out_has 'access_token: *eyJ'
	ok $? "$m signin --show-tokens prints the tokens"

	with "$PW"
	run --json signin --email alice@example.org --password-stdin
	cp "$T/out" "$T/session1"
	[ $rc -eq 0 ] && out_has '"access_token":"eyJ' && out_has '"refresh_token":"'
	ok $? "$m signin --json includes the tokens"
	out_has '"app_metadata":{[^}]*"groups":\["ops"\]'
	ok $? "$m signin --json shows the session user's app_metadata"

	# --- token verify / peek ---
	with_file "$T/session1"
	run token verify
	[ $rc -eq 0 ] && out_has "sub: *$alice" && out_has 'VALID'
	ok $? "$m token verify of the signin's access token (piped JSON) prints its claims"

	cp "$T/session1" "$T/out"
	access=$(json_field access_token)
	with "$access"
	run --json token verify --sub "$alice" --claim role=authenticated --aud authenticated
	[ $rc -eq 0 ] && out_has '"verified":true' && out_has "\"sub\":\"$alice\""
	ok $? "$m token verify --json with --sub/--claim/--aud checks passes"

	with "$access"
	run token verify --claim role=service_role
	[ $rc -eq 5 ]
	ok $? "$m token verify with an unmet --claim exits 5"

	with "$access"
	run token verify --aud someone-else
	[ $rc -eq 5 ]
	ok $? "$m token verify with a wrong --aud exits 5"

	# Flip one character in the signature.
	sig=${access##*.}
	head=${access%.*}
	case $sig in
	A*) bad="$head.B${sig#?}" ;;
	*) bad="$head.A${sig#?}" ;;
	esac
	with "$bad"
	run token verify
	[ $rc -eq 5 ]
	ok $? "$m token verify of a tampered token exits 5"

	# jwt_verify = server: the server accepts the token (GET /user), no key is held here.
	{ grep -v '^jwt_secret_file' "$CONF"; echo 'jwt_verify = server'; } >"$T/verify-server.conf"
	chmod 0644 "$T/verify-server.conf"
	CONF_SAVED=$CONF
	CONF=$T/verify-server.conf
	with "$access"
	run token verify --sub "$alice"
	[ $rc -eq 0 ] && out_has 'VALID (the server accepts it: GET /user' && out_has "sub: *$alice"
	ok $? "$m token verify, jwt_verify = server and no JWT secret: GET /user accepts the token"
	with "$bad"
	run token verify
	[ $rc -eq 5 ] && err_has 'the server refuses it'
	ok $? "$m token verify, jwt_verify = server: a tampered token exits 5"
	CONF=$CONF_SAVED

	with "$bad"
	run token peek
	[ $rc -eq 0 ] && out_has 'UNVERIFIED' && err_has 'UNVERIFIED' && out_has "$alice"
	ok $? "$m token peek decodes and says UNVERIFIED on both streams"

	# --- user get / update ---
	with_file "$T/session1"
	run user get --token-stdin
	[ $rc -eq 0 ] && out_has 'alice@example.org' && out_has '"groups"'
	ok $? "$m user get with the token on stdin"

	with "$access"
	run --json user update --token-stdin --data '{"nick":"al"}'
	[ $rc -eq 0 ] && out_has '"nick":"al"'
	ok $? "$m user update --data sets user_metadata"

	run user update --data 'not json' --token-stdin
	[ $rc -eq 2 ]
	ok $? "$m user update with bad JSON is a usage error"

	# --- refresh (rotation) ---
	with_file "$T/session1"
	run --json refresh --token-stdin
	cp "$T/out" "$T/session2"
	[ $rc -eq 0 ] && out_has '"refresh_token":"'
	ok $? "$m refresh with the session's refresh token gives a new session"

	cp "$T/session2" "$T/out"
	rt2=$(json_field refresh_token)
	with_file "$T/session1"
	run --json refresh --token-stdin
	if [ "$mode" = current ]; then
		# A current server answers the parent of the active token with the active token (a
		# client that lost the last answer); an older one revokes the family.
		[ $rc -eq 0 ] && [ "$(json_field refresh_token)" = "$rt2" ]
		ok $? "$m resending the parent of the active refresh token gives the active one again"
		with_file "$T/session2"
		run --json refresh --token-stdin
		with_file "$T/session1"
		run refresh --token-stdin
		[ $rc -eq 1 ] && err_has 'refresh_token_already_used'
		ok $? "$m reusing an older refresh token exits 1"
	else
		[ $rc -eq 1 ] && err_has 'refresh_token_already_used'
		ok $? "$m reusing a spent refresh token exits 1"
	fi

	# --- signout ---
	with "$PW"
	run --json signin --email alice@example.org --password-stdin
	cp "$T/out" "$T/session3"
	before=$(emu_count "POST /logout")
	with_file "$T/session3"
	run signout --scope local --token-stdin
	after=$(emu_count "POST /logout")
	[ $rc -eq 0 ] && out_has 'signed out' && [ $((after - before)) -eq 1 ]
	ok $? "$m signout --scope local sends exactly one POST /logout"

	run signout --scope sideways --token-stdin
	[ $rc -eq 2 ]
	ok $? "$m signout with a bad --scope is a usage error"

	# --- signup ---
	with "$PW"
	run --json signup --email bob@example.org --password-stdin --data '{"name":"Bob"}'
	[ $rc -eq 0 ] && out_has 'bob@example.org' && out_has '"name":"Bob"'
	ok $? "$m signup creates the account"

	# --- otp / magic-link / verify from the outbox ---
	# One address per mail: the server allows one mail per address every 60 s.
	emu_create_user ml@example.org "$PW" >/dev/null
	emu_create_user rec@example.org "$PW" >/dev/null
	run otp --email alice@example.org
	[ $rc -eq 0 ] && out_has 'sent'
	ok $? "$m otp sends a code"
	code=$(outbox_token alice@example.org)
	with "$code"
	run --json verify --type email --email alice@example.org --token-stdin
	[ -n "$code" ] && [ $rc -eq 0 ] && out_has '"access_token":"eyJ'
	ok $? "$m verify --type email with the mailed code gives a session"

	with "000000"
	run verify --type email --email alice@example.org --token-stdin
	[ $rc -eq 1 ]
	ok $? "$m verify with a wrong code exits 1"

	run magic-link --email ml@example.org
	[ $rc -eq 0 ]
	ok $? "$m magic-link sends a link"
	code=$(outbox_token ml@example.org)
	with "$code"
	run --json verify --type magiclink --email ml@example.org --token-stdin
	[ -n "$code" ] && [ $rc -eq 0 ] && out_has '"access_token":"eyJ'
	ok $? "$m verify --type magiclink with the mailed token gives a session"

	run recover --email rec@example.org
	[ $rc -eq 0 ] && [ -n "$(outbox_token rec@example.org)" ]
	ok $? "$m recover mails a recovery token"
	with "$(outbox_token rec@example.org)"
	run --json verify --type recovery --email rec@example.org --token-stdin
	[ $rc -eq 0 ] && out_has '"access_token":"eyJ'
	ok $? "$m verify --type recovery with the mailed token gives a session"

	run --json invite --email carol@example.org
	[ $rc -eq 0 ] && out_has 'carol@example.org' && [ -n "$(outbox_token carol@example.org)" ]
	ok $? "$m invite creates the user and mails an invitation"

	run verify --type bogus --email alice@example.org --token-stdin
	[ $rc -eq 2 ]
	ok $? "$m verify with an unknown --type is a usage error"

	# --- provider-url ---
	run provider-url github --redirect-to https://app.example.org/cb --pkce
	[ $rc -eq 0 ] && out_has '/authorize?' && out_has 'provider=github' &&
		out_has 'code_challenge=' && out_has 'code_verifier: '
	ok $? "$m provider-url --pkce prints the URL and the verifier"

	# --- admin: list over pages, ban/unban, update, delete ---
	for i in 1 2 3 4 5; do
		emu_create_user "u$i@example.org" "$PW" >/dev/null
	done
	run --json admin users list --all --per-page 2
	users=$(grep -o '"id":"[0-9a-f-]*","aud"' "$T/out" | sort -u | wc -l)
	[ $rc -eq 0 ] && [ "$users" -ge 9 ] && out_has 'u1@example.org' && out_has 'u5@example.org'
	ok $? "$m admin users list --all follows every page ($users users)"

	run --json admin users list --page 1 --per-page 2
	users=$(grep -o '"id":"[0-9a-f-]*","aud"' "$T/out" | wc -l)
	[ $rc -eq 0 ] && [ "$users" -eq 2 ] && out_has '"next":"'
	ok $? "$m admin users list --page 1 --per-page 2 shows 2 and a next page"

	run admin users list --all
	[ $rc -eq 0 ] && out_has 'u3@example.org' && ! grep -q '\[#' "$T/err"
	ok $? "$m admin users list --all human output, no progress bar off a terminal"

	# A user over max_response on its own: left out with a line on stderr, the rest listed.
	big=$(head -c 20000 /dev/zero | tr '\0' x)
	big_id=$(emu_create_user "big@example.org" "$PW" "{\"user_metadata\":{\"a\":\"$big\"}}")
	cp "$CONF" "$T/small.conf"
	echo "max_response = 16K" >>"$T/small.conf"
	"$GOTRUECTL" --conf "$T/small.conf" admin users list --all --per-page 4 \
		</dev/null >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 0 ] && [ -n "$big_id" ] && out_has 'u3@example.org' && ! out_has 'big@example.org' &&
		grep -q "left out: the user at listing position 0 of [0-9]* (id $big_id) is over max_response (16384 bytes)" "$T/err"
	ok $? "$m admin users list --all leaves out a user over max_response and says so"
	run admin users delete "$big_id"

	# On a terminal (script(1) gives one; it runs $SHELL, nologin for nobody under distcheck), --all draws a progress bar on stderr.
	if command -v script >/dev/null 2>&1; then
		SHELL=/bin/sh script -qec "'$GOTRUECTL' --conf '$CONF' admin users list --all --per-page 3" \
			/dev/null </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		[ $rc -eq 0 ] && out_has '\[#*' && out_has ' users' && out_has 'u2@example.org'
		ok $? "$m admin users list --all draws a progress bar on a terminal"
	else
		n=$((n + 1))
		echo "ok $n # SKIP script(1) not installed"
	fi

	run admin users ban "$alice" 24h
	[ $rc -eq 0 ] && out_has 'BANNED'
	ok $? "$m admin users ban"
	with "$PW"
	run signin --email alice@example.org --password-stdin
	[ $rc -eq 1 ]
	ok $? "$m a banned user's signin is refused (exit 1)"
	run admin users unban "$alice"
	[ $rc -eq 0 ] && ! out_has 'BANNED'
	ok $? "$m admin users unban"
	with "$PW"
	run signin --email alice@example.org --password-stdin
	[ $rc -eq 0 ]
	ok $? "$m signin works again after unban"

	run --json admin users update "$alice" --app-metadata '{"uid":1879048300}'
	[ $rc -eq 0 ] && out_has '"uid":1879048300'
	ok $? "$m admin users update --app-metadata"

	run --json admin users get "$alice"
	[ $rc -eq 0 ] && out_has '"uid":1879048300' && out_has 'alice@example.org'
	ok $? "$m admin users get"

	run --json signin --email u1@example.org --password-stdin
	[ $rc -eq 2 ] && err_has 'empty password'
	ok $? "$m signin with an empty password on stdin is a usage error"

	run --json admin users list --all
	u5=$(sed 's/},{"id"/}\n{"id"/g' "$T/out" | grep '"email":"u5@example.org"' |
		sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -1)
	run admin users delete "$u5"
	[ -n "$u5" ] && [ $rc -eq 0 ] && out_has 'deleted'
	ok $? "$m admin users delete"
	run admin users get "$u5"
	[ $rc -eq 1 ]
	ok $? "$m a deleted user is gone (exit 1)"

	# --- config check ---
	run config check
	[ $rc -eq 0 ] && out_has "$EMU_URL: reachable" && out_has '^version: ' &&
		out_has '^generation: '
	ok $? "$m config check on a good config exits 0 and reports the server"
	if [ "$mode" = current ]; then
		out_has '^generation: current'
	else
		out_has '^generation: old'
	fi
	ok $? "$m config check tells the server generation"
	out_has '^warning: sign-ups are open on the server'
	ok $? "$m config check warns that the server's sign-ups are open"
	out_has '^warning: insecure_http_for_testing'
	ok $? "$m config check warns about insecure_http_for_testing"

	# Admitting every GoTrue user while anyone can sign up: a problem, not a warning.
	grep -v '^allow_' "$CONF" >"$T/all.conf"
	echo 'allow_all_users = yes' >>"$T/all.conf"
	chmod 0644 "$T/all.conf"
	CONF_SAVED=$CONF
	CONF=$T/all.conf
	run config check
	[ $rc -eq 3 ] && out_has '^problem: sign-ups are open on the server and allow_all_users = yes'
	ok $? "$m config check: open sign-ups with allow_all_users exits 3"
	grep -v '^allow_' "$CONF_SAVED" >"$T/none.conf"
	chmod 0644 "$T/none.conf"
	CONF=$T/none.conf
	run config check
	[ $rc -eq 3 ] && out_has '^problem: allow_groups is empty and allow_all_users is not set'
	ok $? "$m config check: a config that admits nobody exits 3 and says why"
	CONF=$CONF_SAVED

	# Keys a host holds without needing them: warnings (exit 0), never problems.
	{ cat "$CONF_SAVED"; echo 'role = host'; } >"$T/host.conf"
	{ grep -v '^jwt_secret_file' "$CONF_SAVED"; echo 'jwt_verify = server'; } >"$T/server.conf"
	{ cat "$CONF_SAVED"; echo 'jwt_verify = server'; } >"$T/server-secret.conf"
	chmod 0644 "$T/host.conf" "$T/server.conf" "$T/server-secret.conf"
	CONF=$T/host.conf
	run config check
	[ $rc -eq 0 ] &&
		out_has '^warning: service_role_key_file: role = host runs no sync, yet holds the service-role key' &&
		out_has '^warning: jwt_secret_file: a fleet host needs no JWT secret'
	ok $? "$m config check: role = host holding the service-role key and the JWT secret: warned"
	CONF=$T/server.conf
	run config check
	[ $rc -eq 0 ] && ! out_has 'jwt_secret_file' && ! out_has 'verification key'
	ok $? "$m config check: jwt_verify = server without a JWT secret: nothing to say about keys"
	CONF=$T/server-secret.conf
	run config check
	[ $rc -eq 0 ] && out_has '^warning: jwt_secret_file: jwt_verify = server does not use the JWT secret'
	ok $? "$m config check: jwt_verify = server holding the JWT secret: warned"
	CONF=$CONF_SAVED

	# A second config whose service-role key file is group/other-readable.
	cp "$EMU_DIR/service_role.key" "$T/open.key"
	chmod 0644 "$T/open.key"
	sed "s|^service_role_key_file.*|service_role_key_file = $T/open.key|" "$CONF" >"$T/bad.conf"
	chmod 0644 "$T/bad.conf"
	CONF_SAVED=$CONF
	CONF=$T/bad.conf
	run config check
	[ $rc -eq 3 ] && out_has "^problem: .*$T/open.key"
	ok $? "$m config check with a 0644 secret file exits 3 and names it"
	CONF=$CONF_SAVED

	# jwks_url is fetched: a URL with no key set behind it, or a set whose keys jwt_algs would
	# not take, fails every login.
	# Their own state_dir (none here: nothing kept), never the host's.
	{ cat "$CONF_SAVED"; echo 'jwks_url = /.well-known/no-such-jwks.json'
		echo "state_dir = $T/no-state"; } >"$T/jwks404.conf"
	{ cat "$CONF_SAVED"; echo 'jwks_url = /.well-known/jwks.json'; echo 'jwt_algs = ES256'; } \
		>"$T/jwks-es.conf"
	chmod 0644 "$T/jwks404.conf" "$T/jwks-es.conf"
	CONF=$T/jwks404.conf
	run config check
	[ $rc -eq 3 ] && out_has '^problem: jwks_url /.well-known/no-such-jwks.json: .*HTTP 404'
	ok $? "$m config check: a jwks_url that answers 404 is a problem (exit 3)"
	with "$access"
	run token verify
	[ $rc -eq 3 ] && err_has 'HTTP 404'
	ok $? "$m token verify with a jwks_url that answers 404 exits 3 (configuration)"
	CONF=$T/jwks-es.conf
	run config check
	[ $rc -eq 3 ] && out_has '^problem: jwks_url /.well-known/jwks.json: '
	ok $? "$m config check: jwt_algs = ES256 and no ES256 key at jwks_url is a problem (exit 3)"
	CONF=$CONF_SAVED

	# --- faults and outage ---
	emu_fault '{"path":"/token","method":"POST","kind":"status","status":500}' >/dev/null
	with "$PW"
	run signin --email alice@example.org --password-stdin
	[ $rc -eq 4 ]
	ok $? "$m a 500 from the server exits 4"

	# emu_stop removes the state dir: keep a copy of the config and its keys.
	mkdir "$T/down-$mode"
	cp "$EMU_DIR/jwt_secret" "$EMU_DIR/service_role.key" "$T/down-$mode/"
	sed "s|$EMU_DIR/|$T/down-$mode/|" "$CONF" >"$T/down-$mode/gotrue.conf"
	chmod 0644 "$T/down-$mode/gotrue.conf"
	CONF=$T/down-$mode/gotrue.conf
	emu_stop
	with "$PW"
	run signin --email alice@example.org --password-stdin
	[ $rc -eq 4 ] && err_has '^gotruectl: signin: '
	ok $? "$m server down: signin exits 4"
	run config check
	[ $rc -eq 4 ] && out_has 'UNREACHABLE'
	ok $? "$m server down: config check exits 4"
}

# sync, cache show/lookup: a fresh emulator per mode, a private state_dir. Group names that no
# host has in /etc/group (gt*), since sync fails closed on a clash with a local group.
sync_suite() {
	mode=$1
	m="[$mode]"
	emu_start --mode "$mode" || {
		echo "Bail out! emulator did not start ($mode)"
		exit 1
	}
	mkdir "$T/state-$mode"
	CONF=$(emu_write_config "email_domains = example.org
state_dir = $T/state-$mode")
	cache=$T/state-$mode/nss.cache
	alice=$(emu_create_user alice@example.org "$PW" \
		'{"app_metadata":{"username":"alice","uid":1879048300,"groups":["gtops","gtdevs"]}}')
	bob=$(emu_create_user bob@example.org "$PW" \
		'{"app_metadata":{"username":"bob","groups":["gtops"]}}')
	bad=$(emu_create_user bad@example.org "$PW" '{"app_metadata":{"username":"Bad Name!"}}')
	# Escalation attempts: user_metadata is the user's own and must grant nothing.
	eve=$(emu_create_user eve@example.org "$PW" \
		'{"user_metadata":{"username":"root","uid":0,"groups":["sudo","gtops"]}}')
	mal=$(emu_create_user mal@elsewhere.test "$PW" \
		'{"user_metadata":{"username":"mallory","uid":1879048301}}')

	run sync --per-page 2
	[ $rc -eq 0 ] && out_has '^users: *3 (of 5 listed)$' && out_has '^left out: *2$' &&
		out_has "^cache: *$cache\$"
	ok $? "$m sync over pages writes 3 of 5 users and counts 2 left out"
	out_has "^left out user $bad: invalid login name\$"
	ok $? "$m sync reports the invalid name with its reason"
	out_has "^left out user $mal: no app_metadata.username"
	ok $? "$m sync reports the user with a name only in user_metadata as left out"
	! grep -q '\[#' "$T/err"
	ok $? "$m sync draws no progress bar off a terminal"

	run --json sync
	[ $rc -eq 0 ] && out_has '"users":3' && out_has '"users_listed":5' &&
		out_has "{\"what\":\"user\",\"id\":\"$bad\",\"name\":null,\"reason\":\"invalid login name\"}"
	ok $? "$m sync --json prints the summary with the left-out list"

	run cache lookup alice
	[ $rc -eq 0 ] && out_has '^alice:\*:1879048300:1879048300::/home/alice:/bin/bash$'
	ok $? "$m cache lookup alice shows the passwd line with app_metadata.uid"
	cp "$T/out" "$T/alice"
	run cache lookup gtops
	gtops=$(sed -n 's/^gtops:x:\([0-9]*\):.*/\1/p' "$T/out")
	[ $rc -eq 0 ] && out_has '^gtops:x:[0-9]*:alice,bob$\|^gtops:x:[0-9]*:bob,alice$'
	ok $? "$m cache lookup of a group lists its GoTrue members"
	run cache lookup gtdevs
	gtdevs=$(sed -n 's/^gtdevs:x:\([0-9]*\):.*/\1/p' "$T/out")
	[ -n "$gtops" ] && [ -n "$gtdevs" ] &&
		grep -q "^initgroups:.* $gtops\\( \\|\$\\)" "$T/alice" &&
		grep -q "^initgroups:.* $gtdevs\\( \\|\$\\)" "$T/alice"
	ok $? "$m cache lookup alice lists both app_metadata groups for initgroups"

	run cache lookup 1879048300
	[ $rc -eq 0 ] && out_has '^alice:\*:1879048300:'
	ok $? "$m cache lookup by uid"

	run cache show
	[ $rc -eq 0 ] && out_has '^# users 3, groups ' && out_has '^alice:\*:1879048300:' &&
		out_has '^bob:x:' && out_has '^eve:x:' && out_has '^gtops:x:' &&
		out_has '^gtdevs:x:[0-9]*:alice$' && ! out_has '^mallory:' && ! out_has '^root:'
	ok $? "$m cache show lists every user and group, and no one left out"

	run cache lookup eve
	[ $rc -eq 0 ] && out_has '^eve:x:[1-9][0-9]*:' && ! out_has '^eve:x:0:' &&
		out_has '^initgroups:$'
	ok $? "$m user_metadata username/uid/groups gain eve nothing (own name, no groups)"
	run cache lookup root
	r1=$rc
	run cache lookup sudo
	[ $r1 -eq 1 ] && [ $rc -eq 1 ] && err_has 'no user or group'
	ok $? "$m cache lookup of a name not in the cache exits 1"
	run cache lookup mallory
	[ $rc -eq 1 ]
	ok $? "$m a name from user_metadata alone is not in the cache"

	run cache show --cache "$T/state-$mode/none"
	[ $rc -eq 3 ] && err_has 'missing, unreadable or corrupt'
	ok $? "$m cache show of a missing cache exits 3"

	run --json cache lookup bob
	[ $rc -eq 0 ] && out_has '"found":true' && out_has '"lines":\["bob:\*:'
	ok $? "$m cache lookup --json"

	# cache verify: the whole-file check that lookups no longer make.
	run cache verify
	[ $rc -eq 0 ] && out_has "^$cache: ok, 3 users, [0-9]* groups, generated_at [0-9]*\$"
	ok $? "$m cache verify of the synced cache: ok, exit 0"
	size=$(wc -c <"$cache")
	cp "$cache" "$T/flipped"
	flip_byte "$T/flipped" $((size / 2))
	run cache verify "$T/flipped"
	[ $rc -eq 1 ] && err_has "$T/flipped is corrupt: .*; run gotruectl sync"
	ok $? "$m cache verify of a cache with one flipped byte: corrupt, exit 1"
	cp "$cache" "$T/flipped"
	flip_byte "$T/flipped" $((size - 1))
	run --json cache verify --cache "$T/flipped"
	[ $rc -eq 1 ] && out_has '"ok":false' && out_has '"reason":"'
	ok $? "$m cache verify --json of a flip in the last byte: ok false with the reason, exit 1"
	head -c $((size - 8)) "$cache" >"$T/truncated"
	run cache verify "$T/truncated"
	[ $rc -eq 1 ] && err_has 'corrupt: .*truncated'
	ok $? "$m cache verify of a truncated cache: corrupt (truncated), exit 1"
	cp "$cache" "$T/loose" && chmod 0666 "$T/loose"
	run cache verify "$T/loose"
	[ $rc -eq 1 ] && err_has 'writable by group or others'
	ok $? "$m cache verify of a world-writable cache: refused as nss_gotrue would, exit 1"
	run cache verify "$T/state-$mode/none"
	[ $rc -eq 3 ] && err_has 'cannot open'
	ok $? "$m cache verify of a missing file exits 3"

	# The server fails partway: the old cache stays, byte for byte, and the exit is non-zero.
	cp "$cache" "$T/cache.before"
	emu_create_user late@example.org "$PW" '{"app_metadata":{"username":"late"}}' >/dev/null
	emu_fault '{"path":"/admin/users","method":"GET","kind":"status","status":500,"count":-1}' \
		>/dev/null
	run sync --per-page 2
	[ $rc -eq 4 ] && err_has 'is kept' && cmp -s "$cache" "$T/cache.before"
	ok $? "$m sync with the server failing exits 4 and keeps the old cache byte-identical"
	run --json sync
	[ $rc -eq 4 ] && out_has '"error":{' && cmp -s "$cache" "$T/cache.before"
	ok $? "$m sync --json failing prints the error document, cache unchanged"
	run cache lookup late
	[ $rc -eq 1 ]
	ok $? "$m the user created after the last good sync is not in the cache yet"
	emu_clear_faults >/dev/null
	run sync
	[ $rc -eq 0 ] && out_has '^users: *4 (of 6 listed)$'
	ok $? "$m sync succeeds again once the server recovers"
	run cache lookup late
	[ $rc -eq 0 ] && out_has '^late:x:'
	ok $? "$m the new user is in the cache after the good sync"

	# On a terminal (script(1) gives one), sync draws a progress bar on stderr.
	if command -v script >/dev/null 2>&1; then
		SHELL=/bin/sh script -qec "'$GOTRUECTL' --conf '$CONF' sync --per-page 2" /dev/null \
			</dev/null >"$T/out" 2>"$T/err"
		rc=$?
		[ $rc -eq 0 ] && out_has '\[#*' && out_has '/6 users' && out_has 'users: *4'
		ok $? "$m sync draws a progress bar on a terminal"
	else
		n=$((n + 1))
		echo "ok $n # SKIP script(1) not installed"
	fi

	# Without the service-role key sync cannot list users: a config problem.
	grep -v '^service_role_key_file' "$CONF" >"$T/nokey.conf"
	chmod 0644 "$T/nokey.conf"
	CONF=$T/nokey.conf
	run sync
	[ $rc -eq 3 ] && err_has 'service_role_key_file'
	ok $? "$m sync without service_role_key_file exits 3"
	emu_stop
}

# qr_decode FILE: the text of the QR code that gotruectl drew in FILE, read back by zbarimg:
# the drawing (UTF-8 half blocks, or "##" per module with --qr ascii; light modules are the ink)
# becomes a PBM image, four pixels a module, and zbarimg decodes it.
qr_decode() {
	if [ "$2" = utf8 ]; then
		_cells='s/\xe2\x96\x88/F/g; s/\xe2\x96\x80/U/g; s/\xe2\x96\x84/L/g'
	else
		_cells='s/##/F/g; s/  / /g'
	fi
	sed -e 's/\x1b\[[0-9;]*m//g' -e 's/\r$//' -e "$_cells" "$1" | grep -E '^[FUL ]+$' | grep '[FUL]' |
		awk -v half="$2" '
		{
			w = length($0)
			for (i = 1; i <= w; i++) {
				c = substr($0, i, 1)
				# PBM: 1 is black, a dark module; the ink is light
				up[NR, i] = (c == "F" || c == "U") ? 0 : 1
				lo[NR, i] = (c == "F" || c == "L") ? 0 : 1
			}
			rows = NR
		}
		END {
			s = 4; h = half == "utf8" ? 2 : 1
			printf "P1\n%d %d\n", w * s, rows * h * s
			for (r = 1; r <= rows; r++)
				for (k = 0; k < h; k++)
					for (p = 0; p < s; p++) {
						line = ""
						for (i = 1; i <= w; i++)
							for (q = 0; q < s; q++)
								line = line (k ? lo[r, i] : up[r, i]) " "
						print line
					}
		}' >"$1.pbm"
	zbarimg -q --raw "$1.pbm" 2>/dev/null
}

# qr_ok FILE STYLE URI DESCRIPTION: the QR code in FILE reads back as URI; without libqrencode,
# gotruectl said it cannot draw one.
qr_ok() {
	if [ "${GOTRUE_HAVE_QRENCODE:-}" != yes ]; then
		grep -q 'no QR code: this gotruectl was built without libqrencode' "$T/err" &&
			grep -q "^uri: *$3\$" "$1"
		ok $? "$4: built without libqrencode, it says so and still prints the URI"
	elif ! command -v zbarimg >/dev/null 2>&1; then
		n=$((n + 1))
		echo "ok $n # SKIP $4: zbarimg (zbar-tools) not installed"
	else
		[ -n "$3" ] && [ "$(qr_decode "$1" "$2")" = "$3" ]
		ok $? "$4"
	fi
}

# fresh_server MODE: an emulator of its own in MODE and a config for it (mode, m, CONF).
fresh_server() {
	mode=$1
	m="[$mode]"
	emu_start --mode "$mode" || {
		echo "Bail out! emulator did not start ($mode)"
		exit 1
	}
	CONF=$(emu_write_config "email_domains = example.org")
}

# A session document and one more line (a code) for a command that reads both from stdin.
with_session_and() {
	{ cat "$1"; printf '%s\n' "$2"; } >"$T/stdin"
	STDIN="$T/stdin"
}

# mfa enroll, verify, list and unenroll for a signed-in user, the TOTP codes computed here from
# the enrolment secret (the emulator checks real RFC 6238 codes).
mfa_suite() {
	fresh_server "$1"
	emu_create_user mfa@example.org "$PW" >/dev/null
	with "$PW"
	run --json signin --email mfa@example.org --password-stdin
	cp "$T/out" "$T/aal1"

	with_file "$T/aal1"
	run mfa list --token-stdin
	[ $rc -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ] && out_has '^ID  *TYPE  *STATUS  *FRIENDLY_NAME$'
	ok $? "$m mfa list: a user without factors, only the header"
	with_file "$T/aal1"
	run mfa verify --token-stdin
	[ $rc -eq 1 ] && err_has 'no TOTP factor'
	ok $? "$m mfa verify without a factor exits 1 and says to enroll one"

	with_file "$T/aal1"
	run --debug mfa enroll --friendly-name phone --issuer 'ACME SSH' --token-stdin
	cp "$T/out" "$T/enroll"
	fid=$(sed -n 's/^factor: *\([0-9a-f-]*\) (totp, unverified)$/\1/p' "$T/enroll")
	uri=$(sed -n 's/^uri: *//p' "$T/enroll")
	secret=$(sed -n 's/^secret: *//p' "$T/enroll")
	case $uri in "otpauth://totp/ACME%20SSH:mfa@example.org?"*"&secret=$secret") r=0 ;; *) r=1 ;; esac
	[ $rc -eq 0 ] && [ -n "$fid" ] && [ -n "$secret" ] && [ $r -eq 0 ] &&
		out_has "mfa verify --factor $fid"
	ok $? "$m mfa enroll prints the factor, its otpauth:// URI and secret, and what to do next"
	[ -s "$T/err" ] && ! err_has "$secret"
	ok $? "$m mfa enroll --debug shows the secret on stdout only"
	qr_ok "$T/enroll" utf8 "$uri" "$m mfa enroll: the QR code (UTF-8 half blocks) reads back as the URI (zbarimg)"

	with_file "$T/aal1"
	run mfa enroll --friendly-name phone-ascii --qr ascii --token-stdin
	qr_ok "$T/out" ascii "$(sed -n 's/^uri: *//p' "$T/out")" "$m mfa enroll --qr ascii: the code reads back as the URI"
	fid_ascii=$(sed -n 's/^factor: *\([0-9a-f-]*\) .*/\1/p' "$T/out")
	if command -v script >/dev/null 2>&1 && [ "${GOTRUE_HAVE_QRENCODE:-}" = yes ]; then
		SHELL=/bin/sh script -qec "'$GOTRUECTL' --conf '$CONF' mfa enroll --friendly-name phone-tty --token-stdin <'$T/aal1'" \
			/dev/null </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		grep -q "$(printf '\033')\\[40;37;1m" "$T/out"
		ok $? "$m mfa enroll on a terminal frames the code in ANSI white on black"
		qr_ok "$T/out" utf8 "$(sed -e 's/\r$//' -n -e 's/^uri: *//p' "$T/out" | tr -d '\r')" \
			"$m mfa enroll on a terminal: the code reads back as the URI"
		fid_tty=$(sed -n 's/^factor: *\([0-9a-f-]*\) .*/\1/p' "$T/out")
	else
		n=$((n + 2))
		echo "ok $((n - 1)) # SKIP script(1) or libqrencode missing"
		echo "ok $n # SKIP script(1) or libqrencode missing"
		fid_tty=
	fi

	with_file "$T/aal1"
	run mfa enroll --friendly-name phone --token-stdin
	[ $rc -eq 1 ] && err_has "already has a factor named 'phone' ($fid, unverified)"
	ok $? "$m mfa enroll with a taken friendly name exits 1 and names the factor"
	run mfa enroll --qr sixel --token-stdin
	[ $rc -eq 2 ]
	ok $? "$m mfa enroll --qr with an unknown style is a usage error"
	with_file "$T/aal1"
	run mfa verify --token-stdin --code-stdin
	[ $rc -eq 2 ] && err_has 'name one with --factor'
	ok $? "$m mfa verify without --factor when the user has several is a usage error"
	mfa_verify_suite
	emu_stop
}

mfa_verify_suite() {
	code=$(emu_totp "$secret")
	wrong=$(printf '%06d' $(((${code#0} + 1) % 1000000)))
	with_session_and "$T/aal1" "$wrong"
	run mfa verify --factor "$fid" --token-stdin --code-stdin
	[ $rc -eq 1 ] && err_has 'mfa_verification_failed'
	ok $? "$m mfa verify with a wrong code exits 1 with the server's error"

	code=$(emu_totp "$secret")
	with_session_and "$T/aal1" "$(printf '%s' "$code" | sed 's/.../& /')"
	run --debug --json mfa verify --factor "$fid" --token-stdin --code-stdin
	cp "$T/out" "$T/aal2"
	[ $rc -eq 0 ] && out_has '"access_token":"eyJ' && ! err_has "$code"
	ok $? "$m mfa verify with the app's code ('123 456') prints the session, and logs no code"
	with_file "$T/aal2"
	run token verify --claim aal=aal2
	sid2=$(sed -n 's/^session_id: *//p' "$T/out")
	r=$rc
	with_file "$T/aal1"
	run token verify
	sid1=$(sed -n 's/^session_id: *//p' "$T/out")
	[ $r -eq 0 ] && [ -n "$sid1" ] && [ "$sid1" = "$sid2" ]
	ok $? "$m the session is aal2 now, the same session id (token verify)"

	with_file "$T/aal2"
	run mfa list --token-stdin
	[ $rc -eq 0 ] && out_has "^$fid  *totp  *verified  *phone\$" &&
		out_has "^$fid_ascii  *totp  *unverified  *phone-ascii\$"
	ok $? "$m mfa list shows id, type, status and friendly name"
	with_file "$T/aal2"
	run --json mfa list --token-stdin
	[ $rc -eq 0 ] && out_has "{\"id\":\"$fid\",\"factor_type\":\"totp\",\"status\":\"verified\",\"friendly_name\":\"phone\"}"
	ok $? "$m mfa list --json"

	# a new password sign-in: aal1 again, as GoTrue never asks for the factor itself
	with "$PW"
	run --json signin --email mfa@example.org --password-stdin
	cp "$T/out" "$T/aal1b"
	if [ "$mode" = current ]; then
		with_file "$T/aal1b"
		run mfa enroll --friendly-name laptop --token-stdin
		[ $rc -eq 1 ] && err_has 'insufficient_aal' && err_has 'aal2 session'
		ok $? "$m mfa enroll from aal1 once a factor is verified: insufficient_aal, and how to get aal2"
	fi
	with_file "$T/aal1b"
	run mfa unenroll "$fid" --token-stdin
	[ $rc -eq 1 ] && err_has 'insufficient_aal' && err_has 'mfa verify'
	ok $? "$m mfa unenroll of a verified factor from aal1 exits 1: insufficient_aal"
	with_file "$T/aal2"
	run mfa unenroll "$fid" --token-stdin
	[ $rc -eq 0 ] && out_has "factor $fid removed"
	ok $? "$m mfa unenroll from the aal2 session"
	for f in "$fid_ascii" $fid_tty; do
		with_file "$T/aal1b"
		run mfa unenroll "$f" --token-stdin
	done
	with_file "$T/aal2"
	run mfa list --token-stdin
	[ $rc -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ]
	ok $? "$m after unenrolling, mfa list shows no factor (unverified ones go from aal1)"
	run mfa unenroll not-a-uuid --token-stdin
	[ $rc -eq 2 ]
	ok $? "$m mfa unenroll with an id that is no UUID is a usage error"
}

# PKCE without a provider: a magic link (or /otp) with a challenge, the code from the link's
# redirect, and signin --pkce-code with the verifier. v2.69.3 has the flow as well.
pkce_suite() {
	fresh_server "$1"
	pk=$(emu_create_user pk@example.org "$PW")
	run --json magic-link --email pk@example.org --pkce
	cp "$T/out" "$T/pkce"
	verifier=$(json_field code_verifier)
	link=$(grep -F '"pk@example.org"' "$EMU_DIR/outbox" | tail -1 | sed -n 's/.*"link": *"\([^"]*\)".*/\1/p')
	[ $rc -eq 0 ] && [ ${#verifier} -eq 43 ] && case $link in *'token=pkce_'*) true ;; *) false ;; esac
	ok $? "$m magic-link --pkce prints the verifier, and the mailed link is a PKCE one"
	loc=$(emu_link_location "$link")
	case $loc in *'?code='*) r=0 ;; *) r=1 ;; esac
	ok $r "$m the link redirects with ?code= ($loc)"

	run signin --pkce-code 'http://localhost:3000?error=access_denied' --code-verifier-stdin
	[ $rc -eq 2 ] && err_has 'with ?code='
	ok $? "$m signin --pkce-code with a URL that carries no code is a usage error"
	with "wrong-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
	run signin --pkce-code "$loc" --code-verifier-stdin
	[ $rc -eq 1 ] && err_has 'bad_code_verifier'
	ok $? "$m signin --pkce-code with a wrong verifier exits 1: bad_code_verifier"
	with_file "$T/pkce"
	run --debug --json signin --pkce-code "$loc" --code-verifier-stdin
	cp "$T/out" "$T/pkce-session"
	[ $rc -eq 0 ] && out_has '"access_token":"eyJ' && out_has "\"id\":\"$pk\"" && ! err_has "$verifier"
	ok $? "$m signin --pkce-code with the verifier (the magic-link --json document) gives the session"
	with_file "$T/pkce-session"
	run token verify --sub "$pk"
	[ $rc -eq 0 ]
	ok $? "$m ... a valid token of that user"
	with_file "$T/pkce"
	run signin --pkce-code "$loc" --code-verifier-stdin
	[ $rc -eq 1 ] && err_has 'flow_state_not_found'
	ok $? "$m the code again exits 1: flow_state_not_found"

	run otp --email pk-otp@example.org --pkce
	verifier=$(sed -n 's/^code_verifier: *//p' "$T/out")
	[ $rc -eq 0 ] && out_has '^one-time code sent$' && out_has 'signin --pkce-code CODE'
	ok $? "$m otp --pkce prints the verifier and what it is for"
	link=$(grep -F '"pk-otp@example.org"' "$EMU_DIR/outbox" | tail -1 | sed -n 's/.*"link": *"\([^"]*\)".*/\1/p')
	loc=$(emu_link_location "$link")
	with "$verifier"
	run signin --pkce-code "${loc##*code=}" --code-verifier-stdin
	[ $rc -eq 0 ] && out_has 'pk-otp@example.org'
	ok $? "$m signin --pkce-code with the bare code of an otp --pkce link"

	run otp --phone +15555550100 --pkce
	r=$rc
	run signin --email pk@example.org --code-verifier-stdin
	[ $r -eq 2 ] && [ $rc -eq 2 ]
	ok $? "$m otp --phone --pkce, and --code-verifier-stdin without --pkce-code, are usage errors"
	emu_stop
}

# --- no server needed ---
CONF=/dev/null/none
run --version
[ $rc -eq 0 ] && out_has '^gotruectl '
ok $? "--version"
run --help
[ $rc -eq 0 ] && out_has 'Exit status' && out_has 'admin users list'
ok $? "--help lists the commands and the exit codes"
run nonsense
[ $rc -eq 2 ]
ok $? "an unknown command is a usage error"
run health
[ $rc -eq 3 ]
ok $? "a named config file that does not exist is a config problem (exit 3)"

# Secrets are never accepted on argv, where ps(1) shows them to every local user.
run signin --email a@example.org --password hunter2
[ $rc -eq 2 ] && err_has 'not accepted on the command line'
ok $? "signin --password on argv is a usage error"
run signin --email a@example.org --password=hunter2
[ $rc -eq 2 ]
ok $? "signin --password=... on argv is a usage error"
run refresh --token eyJhbGciOi
[ $rc -eq 2 ]
ok $? "refresh --token on argv is a usage error"
run token verify eyJhbGciOi.x.y
[ $rc -eq 2 ]
ok $? "token verify with the token on argv is a usage error"

# While signin waits for its password on stdin, its argv carries no secret.
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
"$GOTRUECTL" --url http://127.0.0.1:9 signin --email a@example.org --password-stdin \
	<"$T/fifo" >/dev/null 2>&1 &
pid=$!
i=0
args=
while [ $i -lt 600 ]; do # until the shell has exec'd gotruectl (30 s at most: a loaded host)
	args=$(ps -o args= -p "$pid")
	case $args in *gotruectl*) break ;; esac
	sleep 0.05
	i=$((i + 1))
done
printf '%s\n' "$PW" >&3
exec 3>&-
wait "$pid"
case $args in
*gotruectl*signin*) case $args in *"$PW"*) r=1 ;; *) r=0 ;; esac ;;
*) r=1 ;;
esac
ok $r "a password read from stdin never shows in ps (argv: $args)"

# --- sessions list: records written through lib/store by tests/tools/mkstore ---
MKSTORE=$top_builddir/tests/tools/mkstore
mkdir "$T/store"
printf 'state_dir = %s\n' "$T/store" >"$T/store.conf"
chmod 0644 "$T/store.conf"
CONF=$T/store.conf
run sessions list
[ $rc -eq 0 ] && out_has '^USER  *ID  *SERVICE  *TTY  *RHOST  *STATE  *EXPIRES  *PID$' &&
	[ "$(wc -l <"$T/out")" -eq 1 ] && [ ! -e "$T/store/sessions" ]
ok $? "sessions list with no store prints only the header and creates nothing"
if "$MKSTORE" "$T/store" alice sshd ssh 192.0.2.7 active 4242 >"$T/rec1" &&
	"$MKSTORE" "$T/store" bob login tty1 '' pending 0 >"$T/rec2"; then
	read -r id1 at1 rt1 <"$T/rec1"
	read -r id2 at2 rt2 <"$T/rec2"
	r=0
else
	r=1
fi
ok $r "mkstore writes two records"
no_tokens() { # no token text of either record in $T/out (nor a fragment of one)
	! grep -qF -e "$at1" -e "$rt1" -e "$at2" -e "$rt2" -e "${at1##*.}" -e "${rt1#rt}" "$T/out" &&
		! out_has 'eyJ' && ! out_has 'token'
}
run sessions list
[ $rc -eq 0 ] &&
	out_has "^alice  *$id1  *sshd  *ssh  *192\\.0\\.2\\.7  *active  *20[0-9-]*T[0-9:]*Z  *4242\$" &&
	out_has "^bob  *$id2  *login  *tty1  *-  *pending  *20[0-9-]*T[0-9:]*Z  *0\$"
ok $? "sessions list shows user, id, service, tty, rhost, state, expiry and pid"
no_tokens
ok $? "sessions list prints no token"
run --json sessions list
[ $rc -eq 0 ] && out_has '"total":2' && out_has "\"id\":\"$id1\"" && out_has '"state":"active"' &&
	out_has '"pid":4242' && out_has '"rhost":"192.0.2.7"'
ok $? "sessions list --json lists both records"
no_tokens
ok $? "sessions list --json prints no token"
run --json --show-tokens sessions list
[ $rc -eq 0 ] && no_tokens
ok $? "sessions list --json --show-tokens still prints no token"
run sessions list --user bob
[ $rc -eq 0 ] && out_has "^bob  *$id2 " && ! out_has '^alice'
ok $? "sessions list --user shows only that user's sessions"
run sessions list stray
[ $rc -eq 2 ]
ok $? "sessions list with an argument is a usage error"
chmod 0777 "$T/store/sessions"
run sessions list
[ $rc -eq 3 ] && err_has 'cannot open the token store'
ok $? "sessions list refuses a world-writable store (exit 3)"
chmod 0700 "$T/store/sessions"

# A server that signs with an asymmetric key and publishes it at /.well-known/jwks.json: only
# current servers (v2.69 signs HS256 and has no JWKS; suite covers its 404 in both modes).
jwks_suite() {
	m="[current, ES256]"
	emu_start --mode current --alg ES256 || {
		echo "Bail out! emulator did not start (current, ES256)"
		exit 1
	}
	emu_write_config "email_domains = example.org
allow_groups = staff
allow_all_users = no
jwks_url = /.well-known/jwks.json" >/dev/null
	# The key set is kept in this state_dir, never in the host's.
	mkdir -m 0700 "$T/es-state"
	{ grep -v '^jwt_public_key' "$EMU_DIR/gotrue.conf"; echo "state_dir = $T/es-state"; } \
		>"$T/es.conf"
	{ cat "$T/es.conf"; echo 'jwt_algs = RS256'; } >"$T/es-rs.conf"
	{ cat "$T/es.conf"; echo "jwt_secret_file = $EMU_DIR/jwt_secret"; } >"$T/es-secret.conf"
	chmod 0644 "$T/es.conf" "$T/es-rs.conf" "$T/es-secret.conf"
	CONF=$T/es.conf
	run config check
	[ $rc -eq 0 ] && out_has '^jwks: 1 key: ES256 (kid [0-9a-f-]*)$'
	ok $? "$m config check fetches the JWKS and lists its key (exit 0)"
	emu_create_user es@example.org "$PW" >/dev/null
	with "$PW"
	run --json signin --email es@example.org --password-stdin
	access=$(json_field access_token)
	with "$access"
	run token verify
	[ $rc -eq 0 ] && out_has 'VALID'
	ok $? "$m token verify with the key from jwks_url"
	[ -f "$T/es-state/jwks.json" ] && [ "$(stat -c %a "$T/es-state/jwks.json")" = 600 ]
	ok $? "$m token verify keeps the key set in state_dir, mode 0600"
	CONF=$T/es-secret.conf
	run config check
	[ $rc -eq 0 ] &&
		out_has '^warning: jwt_secret_file: jwks_url /.well-known/jwks.json publishes the server.s signing keys'
	ok $? "$m config check: a JWT secret beside a published key set: warned"
	CONF=$T/es.conf
	CONF=$T/es-rs.conf
	run config check
	[ $rc -eq 3 ] &&
		out_has '^problem: jwks_url /.well-known/jwks.json: its key .* is for ES256, which jwt_algs does not allow'
	ok $? "$m config check: a JWKS key that jwt_algs refuses is a problem (exit 3)"
	with "$access"
	run token verify
	[ $rc -eq 3 ]
	ok $? "$m token verify with no key for jwt_algs at jwks_url exits 3 (configuration)"
	emu_stop
}

suite v2.69
suite current
jwks_suite
sync_suite v2.69
sync_suite current
mfa_suite v2.69
mfa_suite current
pkce_suite v2.69
pkce_suite current

echo "1..$n"
[ $failed -eq 0 ]
