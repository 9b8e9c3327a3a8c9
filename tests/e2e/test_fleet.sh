#!/bin/sh
# test_fleet: one publisher and three hosts, the bundle served by nginx (Debian's package) over
# TLS with a test CA on loopback. The publisher syncs from the emulator and publishes; each host
# (its own state dir bind-mounted on the compiled one, in a nested private mount namespace)
# fetches, resolves alice through nss_gotrue and logs her in with `su - alice` (pam_gotrue),
# keeping the session open. A ban on the publisher republishes at once, and one fetch on each
# host ends that host's live session. Then a tampered manifest, a tampered file, a replayed
# older manifest, an expired one and one signed by another key are each refused, and the last
# good bundle stays in force. The hosts hold no service-role key and no JWT secret, and list
# nothing in GoTrue.
set -u
E2E_NEEDS="nginx expect su setpriv openssl ldconfig curl getent"
. "${top_srcdir:-.}/tests/e2e/e2e.sh"
e2e_init fleet

t=$E2E_TMP
NGINX_PID=
cleanup() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	# A session the test could not end: its expect (the child of the recorded subshell) goes,
	# and su with it when its terminal hangs up.
	for _p in $(cat "$t"/su*.pid 2>/dev/null); do
		pkill -TERM -P "$_p" 2>/dev/null
		kill "$_p" 2>/dev/null
	done
	emu_stop 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

e2e_mount || { echo "Bail out! mounts"; exit 99; }
. "$top_srcdir/tests/common/emu.sh"
emu_start >/dev/null || { echo "Bail out! emulator"; exit 99; }
ALICE_ID=$(emu_create_user alice@example.com "$PW_ALICE" '{"app_metadata":{"groups":["devs"]}}')
emu_create_user bob@example.com "$PW_BOB" '{"app_metadata":{"groups":["devs"]}}' >/dev/null

# --- the test CA, nginx -----------------------------------------------------------------------
mkdir -p "$t/tls" "$t/www/fleet" "$t/keys" "$t/nginx/tmp"
chmod 0755 "$t/www" "$t/www/fleet" "$t/keys"
(
	cd "$t/tls" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=fleet-test-ca -keyout ca.key -out ca.pem &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj /CN=127.0.0.1 -keyout srv.key -out srv.csr &&
		printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile ext -out srv.pem
) >"$t/tls.log" 2>&1 || { cat "$t/tls.log"; echo "Bail out! test CA"; exit 99; }
chmod 0644 "$t/tls/ca.pem"

start_nginx() {
	for _try in 1 2 3 4 5 6; do
		NGINX_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		cat >"$t/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $t/nginx/nginx.pid;
error_log $t/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $t/nginx/access.log;
	client_body_temp_path $t/nginx/tmp;
	proxy_temp_path $t/nginx/tmp;
	fastcgi_temp_path $t/nginx/tmp;
	uwsgi_temp_path $t/nginx/tmp;
	scgi_temp_path $t/nginx/tmp;
	server {
		listen 127.0.0.1:$NGINX_PORT ssl;
		ssl_certificate $t/tls/srv.pem;
		ssl_certificate_key $t/tls/srv.key;
		root $t/www;
		location = /fleet/manifest { add_header Cache-Control "no-cache"; }
	}
}
EOF
		nginx -c "$t/nginx/nginx.conf" -p "$t/nginx" 2>>"$t/nginx/start.log" &
		NGINX_PID=$!
		if e2e_wait "curl -s -o /dev/null --cacert '$t/tls/ca.pem' https://127.0.0.1:$NGINX_PORT/" 50
		then
			return 0
		fi
		kill "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
		NGINX_PID=
	done
	cat "$t/nginx/start.log" "$t/nginx/error.log" 2>/dev/null
	return 1
}
start_nginx || { echo "Bail out! nginx"; exit 99; }
FLEET_URL=https://127.0.0.1:$NGINX_PORT/fleet

# --- the publisher ----------------------------------------------------------------------------
G=$GOTRUECTL
mkdir -p "$t/publisher"
chmod 0700 "$t/publisher"
check "fleet keygen: signing key pair and fleet key" sh -c '"$1" fleet keygen "$2" >"$3"' sh \
	"$G" "$t/keys" "$t/keygen.out"
check "fleet keygen: private files 0600, the public key 0644" test \
	"$(stat -c %a "$t/keys/fleet-signing.key")$(stat -c %a "$t/keys/fleet.key")$(stat -c %a \
		"$t/keys/fleet-signing.pub")" = 600600644
check "fleet keygen: an existing key is never overwritten" sh -c \
	'! "$1" fleet keygen "$2" 2>/dev/null' sh "$G" "$t/keys"
PUB=$(cat "$t/keys/fleet-signing.pub")
PCONF=$(emu_write_config "email_domains = example.com
state_dir = $t/publisher
publish_dir = $t/www/fleet
fleet_signing_key_file = $t/keys/fleet-signing.key
fleet_key_file = $t/keys/fleet.key")
publish() { "$G" --conf "$PCONF" publish >"$t/publish.out" 2>&1; }
check "publish: synced and wrote the bundle" publish
check "publish: a signed manifest and two content files named by their hash" sh -c \
	'test -f "$1/manifest" && test "$(ls "$1" | grep -cE "^[0-9a-f]{64}$")" = 2' sh \
	"$t/www/fleet"
check "publish: the account index is sealed (no email in any published file)" sh -c \
	'! grep -rq "alice@example.com" "$1"' sh "$t/www/fleet"

# --- three hosts ------------------------------------------------------------------------------
# A host's config, the same on the three: no service-role key and no JWT secret (the emulator
# signs with HS256, as v2.69 does: GoTrue confirms each token, jwt_verify = server); the fleet's
# public key and fleet key; the test CA that signed nginx's certificate.
sed -e '/^service_role_key_file/d' -e '/^jwt_secret_file/d' -e '/^state_dir/d' \
	-e '/^publish_dir/d' -e '/^fleet_/d' "$PCONF" >"$t/host.conf"
cat >>"$t/host.conf" <<EOF
role = host
jwt_verify = server
state_dir = $E2E_STATEDIR
revoked_session = terminate
timeout = 5
ca_file = $t/tls/ca.pem
fleet_url = $FLEET_URL
fleet_public_key = $PUB
fleet_key_file = $t/keys/fleet.key
EOF
chmod 0644 "$t/host.conf"
CONF=$t/host.conf
for i in 1 2 3; do
	mkdir -p "$t/host$i"
	chmod 0755 "$t/host$i"
done
# on_host I COMMAND...: COMMAND on host I, whose state dir is the one the modules read.
on_host() {
	_h=$1
	shift
	unshare --mount --propagation private sh -c \
		'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$t/host$_h" "$E2E_STATEDIR" "$@"
}
fetch() { # fetch I: gotruectl fetch --json on host I into $t/fetch.out; its exit code
	on_host "$1" "$G" --conf "$CONF" --json fetch >"$t/fetch.out" 2>"$t/fetch.err"
}
field() { sed -n "s/.*\"$1\":\\(\"[a-z]*\"\\|[0-9-]*\\).*/\\1/p" "$t/fetch.out" | tr -d '"'; }
show() { diag "$(cat "$t/fetch.out" "$t/fetch.err" 2>/dev/null | tail -n 8)"; }

emu_reset_counts
for i in 1 2 3; do
	if fetch $i && [ "$(field outcome)" = installed ]; then
		ok "host $i: fetch installed the bundle"
	else
		not_ok "host $i: fetch installed the bundle"
		show
	fi
	check "host $i: getent passwd alice, through nss_gotrue" \
		on_host $i sh -c 'getent passwd alice | grep -q "^alice:"'
	check "host $i: the installed index is the publisher's" \
		cmp -s "$t/publisher/accounts" "$t/host$i/accounts"
done
if fetch 1 && [ "$(field outcome)" = unchanged ] &&
	tail -n 1 "$t/nginx/access.log" | grep -q '"GET /fleet/manifest HTTP/1.1" 304 '; then
	ok "host 1: a second fetch is a conditional GET answered 304"
else
	not_ok "host 1: a second fetch is a conditional GET answered 304"
	show
fi
check "the hosts listed no user in GoTrue" test "$(emu_count 'GET /admin/users')" = 0

# --- a live session of alice on each host -----------------------------------------------------
for s in su su-l; do
	e2e_pam $s "$(e2e_stack '')"
done
cat >"$t/session.exp" <<'EOF'
set timeout 30
set fh [open $env(PWFILE)]
gets $fh pw
close $fh
eval spawn $argv
expect {
	-re "assword: ?$" { send -- "$pw\r" }
	timeout { exit 2 }
}
expect {
	-re "incorrect|failure" { exit 3 }
	-re "\[#$>\] ?$" { }
	timeout { exit 4 }
}
send -- "echo E2E-READY; exec sleep 600\r"
expect { "E2E-READY" { } timeout { exit 5 } }
set timeout 700
expect eof
puts "E2E-ENDED"
EOF
printf '%s\n' "$PW_ALICE" >"$t/pw"
chmod 0644 "$t/pw"
carol="setpriv --reuid=4242 --regid=4242 --init-groups env HOME=/home/carol"
for i in 1 2 3; do
	# shellcheck disable=SC2086
	PWFILE="$t/pw" on_host $i expect "$t/session.exp" $carol su - alice >"$t/su$i.out" 2>&1 &
	echo $! >"$t/su$i.pid"
	if e2e_wait "grep -q E2E-READY '$t/su$i.out'" 200; then
		ok "host $i: su - alice (pam_gotrue), the session stays open"
	else
		not_ok "host $i: su - alice (pam_gotrue), the session stays open"
		diag "$(tr -d '\r' <"$t/su$i.out" | tail -n 8)"
	fi
done
rm -f "$t/pw"

# --- a ban on the publisher: republished at once, every session ended within one fetch --------
if "$G" --conf "$PCONF" admin users ban "$ALICE_ID" 24h >/dev/null 2>"$t/ban.err" &&
	grep -q 'republished, serial' "$t/ban.err"; then
	ok "ban on the publisher: republished at once"
else
	not_ok "ban on the publisher: republished at once"
	diag "$(cat "$t/ban.err")"
fi
for i in 1 2 3; do
	if fetch $i && [ "$(field outcome)/$(field users_ended)" = installed/1 ]; then
		ok "host $i: one fetch installed the ban and ended alice's sessions"
	else
		not_ok "host $i: one fetch installed the ban and ended alice's sessions"
		show
	fi
	if e2e_wait "! kill -0 $(cat "$t/su$i.pid") 2>/dev/null" 150; then
		ok "host $i: alice's live session is over"
	else
		not_ok "host $i: alice's live session is over"
	fi
	check "host $i: alice is refused a new login" on_host $i sh -c \
		'! printf "%s\n" "$1" | pamtester su alice authenticate acct_mgmt >/dev/null 2>&1' \
		sh "$PW_ALICE"
	check "host $i: bob still logs in (pamtester)" on_host $i sh -c \
		'printf "%s\n" "$1" | pamtester su bob authenticate acct_mgmt >/dev/null 2>&1' \
		sh "$PW_BOB"
done

# --- what a host refuses, keeping the last good bundle -----------------------------------------
M=$t/www/fleet/manifest
# nginx tags a file by its time in seconds and its size: each manifest the test puts in place
# gets a time of its own, as a publisher's do (lib/fleet/publish.c), or a host would be
# answered 304 for a manifest of the same size written in the same second.
STAMP=$(($(date +%s) + 100))
put() { # put SRC: SRC as the published manifest
	_m=$(stat -c %Y "$M")
	[ "$_m" -lt "$STAMP" ] || STAMP=$_m
	STAMP=$((STAMP + 10))
	[ "$1" = "$M" ] || cp "$1" "$M"
	touch -d "@$STAMP" "$M"
}
serial_of() { sed -n 's/.*"serial":\([0-9]*\).*/\1/p' "$1" | head -n 1; }
kept() { # kept DESCRIPTION: host 1 refused the bundle (exit 5) and still holds serial $GOOD
	_rc=0
	fetch 1 || _rc=$?
	if [ $_rc = 5 ] && grep -q "stays in force" "$t/fetch.err"; then
		ok "$1: refused, the last good bundle stays"
	else
		not_ok "$1: refused, the last good bundle stays (exit $_rc)"
		show
	fi
	put "$t/good.manifest"
	if fetch 1 && [ "$(field outcome)/$(field serial)" = "unchanged/$GOOD" ] &&
		on_host 1 getent passwd bob >/dev/null; then
		ok "$1: afterwards host 1 holds serial $GOOD still, and bob resolves"
	else
		not_ok "$1: afterwards host 1 holds serial $GOOD still, and bob resolves"
		show
	fi
}
# A manifest line signed with the key in $1 ($2: the line) as the published manifest.
forge() {
	printf '%s\n' "$2" >"$t/forged.line"
	{
		cat "$t/forged.line"
		openssl pkeyutl -sign -inkey "$1" -rawin -in "$t/forged.line" | base64 -w 0
		echo
	} >"$M"
	put "$M"
}
cp "$M" "$t/ban.manifest"
emu_create_user dave@example.com "$PW_BOB" '{"app_metadata":{"groups":["devs"]}}' >/dev/null
check "publish: dave added" publish
cp "$M" "$t/good.manifest"
GOOD=$(serial_of "$M")
if fetch 1 && on_host 1 getent passwd dave >/dev/null; then
	ok "host 1: fetch installed dave"
else
	not_ok "host 1: fetch installed dave"
	show
fi
LINE=$(head -n 1 "$M")
FILES=$(printf '%s' "$LINE" | sed 's/.*"files"://; s/}$//')

sed -i "1s/\"serial\":$GOOD/\"serial\":$((GOOD + 1))/" "$M"
put "$M"
kept "a tampered manifest"

emu_create_user erin@example.com "$PW_BOB" '{"app_metadata":{"groups":["devs"]}}' >/dev/null
publish
cp "$M" "$t/erin.manifest"
NEW_CACHE=$(head -n 1 "$M" | sed 's/.*"nss_cache","sha256":"\([0-9a-f]*\)".*/\1/')
cp "$t/www/fleet/$NEW_CACHE" "$t/cache.good"
printf 'X' | dd of="$t/www/fleet/$NEW_CACHE" bs=1 seek=40 conv=notrunc 2>/dev/null
_rc=0
fetch 1 || _rc=$?
if [ $_rc = 5 ] && grep -q "size or SHA-256" "$t/fetch.err" &&
	! on_host 1 getent passwd erin >/dev/null && on_host 1 getent passwd dave >/dev/null; then
	ok "a tampered content file: refused, nothing of the new bundle installed"
else
	not_ok "a tampered content file: refused, nothing of the new bundle installed (exit $_rc)"
	show
fi
cp "$t/cache.good" "$t/www/fleet/$NEW_CACHE"
if fetch 1 && [ "$(field outcome)" = installed ] && on_host 1 getent passwd erin >/dev/null; then
	ok "the file restored: the same bundle installs"
else
	not_ok "the file restored: the same bundle installs"
	show
fi
cp "$t/erin.manifest" "$t/good.manifest"
GOOD=$(serial_of "$M")

put "$t/ban.manifest"
kept "a replayed older manifest (the one before the ban)"

NOW=$(date +%s)
forge "$t/keys/fleet-signing.key" \
	"{\"format\":\"gotrue-fleet-1\",\"serial\":$((GOOD + 100)),\"created\":$((NOW - 7200)),\"expires\":$((NOW - 3600)),\"files\":$FILES}"
kept "an expired manifest, signed with the fleet's key"

mkdir -p "$t/keys2"
chmod 0755 "$t/keys2"
"$G" fleet keygen "$t/keys2" >/dev/null
forge "$t/keys2/fleet-signing.key" \
	"{\"format\":\"gotrue-fleet-1\",\"serial\":$((GOOD + 200)),\"created\":$NOW,\"expires\":$((NOW + 3600)),\"files\":$FILES}"
kept "a manifest signed with another key"

# The control: the same forgery signed with the fleet's key is taken, so the refusals above
# were the signature's and the expiry's, not the forging's.
forge "$t/keys/fleet-signing.key" \
	"{\"format\":\"gotrue-fleet-1\",\"serial\":$((GOOD + 300)),\"created\":$NOW,\"expires\":$((NOW + 3600)),\"files\":$FILES}"
if fetch 1 && [ "$(field outcome)/$(field serial)" = "installed/$((GOOD + 300))" ]; then
	ok "control: a well-signed, fresh manifest of the same files is taken"
else
	not_ok "control: a well-signed, fresh manifest of the same files is taken"
	show
fi

# --- the publisher unreachable, the bundle stale: kept, and said so with its age ---------------
check "config check on a host with a fresh bundle: no fleet warning" on_host 1 sh -c \
	'! "$1" --conf "$2" config check 2>&1 | grep -q "fleet bundle"' sh "$G" "$CONF"
check "config check on a host: no key held without need (no service-role key, no JWT secret)" \
	on_host 1 sh -c '! "$1" --conf "$2" config check 2>&1 | grep -qE "service-role key|jwt_secret_file"' \
	sh "$G" "$CONF"
kill "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID" 2>/dev/null
NGINX_PID=
# Host 3 as if it had last fetched two days ago: its installed manifest expired a day ago.
printf '%s\n' "{\"format\":\"gotrue-fleet-1\",\"serial\":$GOOD,\"created\":$((NOW - 172800)),\"expires\":$((NOW - 86400)),\"files\":$FILES}" \
	>"$t/stale.line"
{
	cat "$t/stale.line"
	openssl pkeyutl -sign -inkey "$t/keys/fleet-signing.key" -rawin -in "$t/stale.line" |
		base64 -w 0
	echo
} >"$t/host3/fleet/manifest"
_rc=0
fetch 3 || _rc=$?
if [ $_rc = 4 ] && grep -q "172[0-9]* s old and expired" "$t/fetch.err" &&
	grep -q "stays in force" "$t/fetch.err"; then
	ok "publisher unreachable: fetch fails (exit 4) and warns with the bundle's age"
else
	not_ok "publisher unreachable: fetch fails (exit 4) and warns with the bundle's age (exit $_rc)"
	show
fi
check "publisher unreachable: the last bundle stays in force (bob resolves on host 3)" \
	on_host 3 getent passwd bob
on_host 3 "$G" --conf "$CONF" config check >"$t/check.out" 2>&1
if grep -q '^warning: the fleet bundle in force .* expired' "$t/check.out"; then
	ok "config check warns that the bundle in force expired, with its age"
else
	not_ok "config check warns that the bundle in force expired, with its age"
	diag "$(cat "$t/check.out")"
fi

e2e_done
