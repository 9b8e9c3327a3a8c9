# emu.sh: the shell tests' driver for the GoTrue emulator (source it; POSIX sh + curl).
# The same operations as tests/common/emu.h; the control API is in tests/emulator/README.md.
#
#   emu_start [emulator args...]   sets EMU_URL, EMU_DIR (the state dir), EMU_PID, EMU_SERVICE_KEY
#   emu_stop                       stops the emulator and removes EMU_DIR
#   emu_fault JSON                 POST /__emulator/fault
#   emu_clear_faults               DELETE /__emulator/fault
#   emu_count ENDPOINT             prints the count for "METHOD /path" (0 if never called)
#   emu_reset_counts               POST /__emulator/reset
#   emu_create_user EMAIL PASSWORD [EXTRA_JSON]   prints the new user's id
#   emu_bulk_users COUNT [PREFIX [DOMAIN [EXTRA_JSON]]]   creates COUNT confirmed users
#                                  PREFIX<i>@DOMAIN at once (POST /__emulator/users/bulk)
#   emu_write_config [EXTRA_LINES] writes EMU_DIR/gotrue.conf and prints its path
#   emu_curl ARGS...               curl with the right CA for EMU_URL (for tests' own requests)
#   emu_totp BASE32_SECRET         prints the RFC 6238 code of now (the emulator checks real
#                                  codes; needs openssl and coreutils' base32)
#   emu_link_location URL          prints where a mailed link redirects (its Location header)

EMU_URL=
EMU_DIR=
EMU_PID=
EMU_SERVICE_KEY=

_emu_need_curl() {
	if ! command -v curl >/dev/null 2>&1; then
		echo "emu.sh: curl is required (install the curl package)" >&2
		return 1
	fi
}

emu_curl() {
	if [ -f "$EMU_DIR/ca.pem" ]; then
		curl -sS --max-time 10 --cacert "$EMU_DIR/ca.pem" "$@"
	else
		curl -sS --max-time 10 "$@"
	fi
}

emu_start() {
	_emu_need_curl || return 1
	if [ -z "${GOTRUE_EMULATOR:-}" ] || [ ! -x "$GOTRUE_EMULATOR" ]; then
		echo "emu.sh: GOTRUE_EMULATOR is not set to the emulator binary" >&2
		return 1
	fi
	EMU_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gotrue-emu.XXXXXX") || return 1
	"$GOTRUE_EMULATOR" --state-dir "$EMU_DIR" "$@" >"$EMU_DIR/emulator.out" \
		2>"$EMU_DIR/emulator.err" </dev/null &
	EMU_PID=$!
	_emu_i=0
	while [ $_emu_i -lt 200 ]; do # 10 s
		EMU_URL=$(sed -n 's/^URL //p' "$EMU_DIR/emulator.out" 2>/dev/null)
		[ -n "$EMU_URL" ] && break
		if ! kill -0 "$EMU_PID" 2>/dev/null; then
			break
		fi
		sleep 0.05
		_emu_i=$((_emu_i + 1))
	done
	if [ -z "$EMU_URL" ]; then
		echo "emu.sh: the emulator did not start:" >&2
		cat "$EMU_DIR/emulator.err" >&2
		emu_stop
		return 1
	fi
	EMU_SERVICE_KEY=$(cat "$EMU_DIR/service_role.key")
	export EMU_URL EMU_DIR EMU_PID
}

emu_stop() {
	if [ -n "$EMU_PID" ]; then
		kill -TERM "$EMU_PID" 2>/dev/null
		_emu_i=0
		while kill -0 "$EMU_PID" 2>/dev/null && [ $_emu_i -lt 100 ]; do
			sleep 0.05
			_emu_i=$((_emu_i + 1))
		done
		kill -KILL "$EMU_PID" 2>/dev/null
		wait "$EMU_PID" 2>/dev/null
	fi
	case "$EMU_DIR" in
	*/gotrue-emu.*) rm -rf "$EMU_DIR" ;;
	esac
	EMU_PID=
	EMU_DIR=
	EMU_URL=
	EMU_SERVICE_KEY=
}

emu_fault() {
	[ "$(emu_curl -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-raw "$1" "$EMU_URL/__emulator/fault")" = 200 ]
}

emu_clear_faults() {
	[ "$(emu_curl -o /dev/null -w '%{http_code}' -X DELETE "$EMU_URL/__emulator/fault")" = 200 ]
}

emu_reset_counts() {
	[ "$(emu_curl -o /dev/null -w '%{http_code}' -X POST "$EMU_URL/__emulator/reset")" = 200 ]
}

# The counts object is flat {"KEY": n, ...}; keys never contain quotes, so sed is enough.
emu_count() {
	_emu_counts=$(emu_curl "$EMU_URL/__emulator/counts") || return 1
	_emu_key=$(printf '%s' "$1" | sed 's/[][\.*^$/]/\\&/g')
	_emu_n=$(printf '%s' "$_emu_counts" | sed -n "s/.*\"$_emu_key\":\([0-9]*\).*/\1/p")
	echo "${_emu_n:-0}"
}

emu_create_user() {
	_emu_extra=${3:-\{\}}
	_emu_body="{\"email\":\"$1\",\"password\":\"$2\",\"email_confirm\":true"
	case "$_emu_extra" in
	"{}" | "") _emu_body="$_emu_body}" ;;
	*) _emu_body="$_emu_body,${_emu_extra#\{}" ;;
	esac
	_emu_resp=$(printf '%s' "$_emu_body" | emu_curl -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $EMU_SERVICE_KEY" --data-binary @- \
		"$EMU_URL/admin/users") || return 1
	_emu_id=$(printf '%s' "$_emu_resp" | sed -n 's/^{"id":"\([0-9a-f-]*\)".*/\1/p')
	[ -n "$_emu_id" ] || {
		echo "emu.sh: create user failed: $_emu_resp" >&2
		return 1
	}
	echo "$_emu_id"
}

emu_bulk_users() {
	_emu_extra=${4:-\{\}}
	_emu_body="{\"count\":$1,\"prefix\":\"${2:-u}\",\"domain\":\"${3:-example.com}\""
	case "$_emu_extra" in
	"{}" | "") _emu_body="$_emu_body}" ;;
	*) _emu_body="$_emu_body,${_emu_extra#\{}" ;;
	esac
	_emu_resp=$(printf '%s' "$_emu_body" | emu_curl --max-time 300 -X POST \
		-H 'Content-Type: application/json' --data-binary @- \
		"$EMU_URL/__emulator/users/bulk") || return 1
	case "$_emu_resp" in
	'{"created":'*) ;;
	*)
		echo "emu.sh: bulk user creation failed: $_emu_resp" >&2
		return 1
		;;
	esac
}

emu_write_config() {
	_emu_conf="$EMU_DIR/gotrue.conf"
	{
		echo "# written by tests/common/emu.sh for $EMU_URL"
		echo "url = $EMU_URL"
		echo "service_role_key_file = $EMU_DIR/service_role.key"
		if [ -f "$EMU_DIR/jwt_public.pem" ]; then
			echo "jwt_public_key = $EMU_DIR/jwt_public.pem"
		else
			echo "jwt_secret_file = $EMU_DIR/jwt_secret"
		fi
		if [ -f "$EMU_DIR/ca.pem" ]; then
			echo "ca_file = $EMU_DIR/ca.pem"
		fi
		# The emulator listens on an ephemeral loopback port.
		case "$EMU_URL" in
		http://*) echo "insecure_http_for_testing = yes" ;;
		esac
		# Most tests are about something other than admission; those that are say how.
		case "${1:-}" in
		*allow_all_users*) ;;
		*) echo "allow_all_users = yes" ;;
		esac
		if [ -n "${1:-}" ]; then
			printf '%s\n' "$1"
		fi
	} >"$_emu_conf" && chmod 0644 "$_emu_conf" && echo "$_emu_conf"
}

# RFC 6238 TOTP (SHA-1, 30 s, 6 digits; RFC 4226's dynamic truncation), HMAC by openssl.
emu_totp() {
	_key=$(printf '%s' "$1" | base32 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
	_ctr=$(printf '%016x' $(($(date +%s) / 30)))
	_mac=$(printf '%s' "$_ctr" | sed 's/../\\x&/g' | xargs -0 printf '%b' |
		openssl dgst -sha1 -mac HMAC -macopt hexkey:"$_key" | sed 's/.*= //')
	_off=$((0x$(printf '%s' "$_mac" | cut -c40)))
	_bin=$(((0x$(printf '%s' "$_mac" | cut -c$((_off * 2 + 1))-$((_off * 2 + 8))) & 0x7fffffff)))
	printf '%06d' $((_bin % 1000000))
}

emu_link_location() {
	emu_curl -o /dev/null -D - "$1" | sed -n 's/^Location: *//Ip' | tr -d '\r'
}
