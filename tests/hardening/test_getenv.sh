#!/bin/sh
# test_getenv: the code that runs inside setuid programs (sudo, su: lib/, pam/, nss/) reads the
# environment only through secure_getenv(3), which answers NULL under AT_SECURE, so the invoking
# user cannot steer it. A plain getenv( fails this test unless its line is in ALLOWED below with
# the reason. (libcurl's own proxy variables are switched off by CURLOPT_PROXY "" in
# lib/client/http.c; that is checked here too.)
: "${top_srcdir:=.}"
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }

# lib/client/http.c: under AT_SECURE it *hides* SSLKEYLOGFILE from curl_global_init (which would
# write TLS secrets to a file the caller names); secure_getenv would return NULL exactly there.
ALLOWED='lib/client/http.c:.*getauxval(AT_SECURE) && getenv("SSLKEYLOGFILE")
lib/client/http.c:.*keylog = strdup(getenv("SSLKEYLOGFILE"));'

cd "$top_srcdir" || { echo "1..0 # SKIP no source tree"; exit 0; }
for d in lib pam nss; do
	[ -d "$d" ] || { echo "1..0 # SKIP no $d/"; exit 0; }
done
# Code only: comments that mention getenv( are not calls.
hits=$(find lib pam nss -name '*.[ch]' | sort | xargs grep -n -E '(^|[^_[:alnum:]])getenv[[:space:]]*\(' \
	2>/dev/null | grep -v -E ':[0-9]+:[[:space:]]*(/?\*|//)')
bad=$(printf '%s\n' "$hits" | sed 's/^\([^:]*\):[0-9]*:/\1:/' | grep -v -x -e '' |
	while IFS= read -r line; do
		printf '%s\n' "$ALLOWED" | while IFS= read -r pat; do
			printf '%s\n' "$line" | grep -q -e "$pat" && echo allowed
		done | grep -q allowed || printf '%s\n' "$line"
	done)
if [ -z "$bad" ]; then
	ok "no plain getenv( in lib/ pam/ nss/ outside the allowed list"
else
	notok "plain getenv( in setuid-reachable code (use secure_getenv):"
	printf '%s\n' "$bad" | sed 's/^/#   /'
fi
# The allowed lines still exist (else the list is stale and should shrink).
if printf '%s\n' "$hits" | grep -q 'SSLKEYLOGFILE'; then
	ok "the allowed SSLKEYLOGFILE scrub is still there"
else
	notok "the allowed list names lines that are gone: update $0"
fi
# secure_getenv is what the modules do use.
if grep -q 'secure_getenv' nss/*.c; then
	ok "nss/ reads its test override with secure_getenv"
else
	notok "nss/ has no secure_getenv (did the override move?)"
fi
# curl reads http_proxy/HTTPS_PROXY/ALL_PROXY itself with plain getenv: the module must turn that
# off, or a sudo caller could route the password through a proxy of their choosing.
if grep -q 'CURLOPT_PROXY, ""' lib/client/http.c; then
	ok "libcurl's proxy environment is switched off (CURLOPT_PROXY \"\")"
else
	notok "lib/client/http.c does not set CURLOPT_PROXY \"\": curl would read *_proxy from the caller"
fi
# Nor may curl read ~/.netrc (HOME): CURLOPT_NETRC stays at its default, ignored.
if grep -q 'CURLOPT_NETRC' lib/client/http.c; then
	notok "lib/client/http.c sets CURLOPT_NETRC: ~/.netrc of the caller would be read"
else
	ok "no CURLOPT_NETRC: the caller's ~/.netrc is not read"
fi
echo "1..$n"
exit $fail
