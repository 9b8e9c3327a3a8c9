#!/bin/sh
# test_nss_includes: nss/ can include, of lib/, only the cache reader's headers (lib/cache/reader),
# with the preprocessor flags the module is built with (NSS_CC, NSS_CPPFLAGS: tests/nss/local.mk).
#   1. What nss/*.c do include, resolved to real paths, is nss/, lib/cache/reader/, autoconf's
#      config.h and system headers: never another folder of the source tree, by -I or by "../".
#   2. Every other header of lib/ is out of reach: `#include "x.h"`, "client/x.h" or
#      "lib/client/x.h" fails to preprocess with those flags, while each of the reader's headers
#      succeeds (so that a flag that put another layer on the path fails here, not in a process
#      that loads the module).
: "${top_srcdir:=.}"
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }

if [ -z "${NSS_CC:-}" ] || [ ! -d "$top_srcdir/lib/cache/reader" ]; then
	echo "1..0 # SKIP run through make check (NSS_CC, NSS_CPPFLAGS, top_srcdir)"
	exit 0
fi
src=$(cd "$top_srcdir" && pwd -P)
build=$(pwd -P) # make check runs this from the build root, where the flags' relative -I start
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nss-includes.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# 1. The module's sources, as the build preprocesses them.
for c in "$src"/nss/*.c; do
	# shellcheck disable=SC2086 # NSS_CPPFLAGS is a list of flags
	if ! $NSS_CC $NSS_CPPFLAGS -M "$c" >"$tmp/deps" 2>"$tmp/err"; then
		notok "nss/${c##*/} preprocesses with the module's flags"
		sed 's/^/#   /' "$tmp/err"
		continue
	fi
	bad=$(sed -e 's/\\$//' -e 's/^[^:]*://' "$tmp/deps" | tr ' ' '\n' | grep -v '^$' |
		while IFS= read -r dep; do
			real=$(realpath -m "$dep")
			case $real in
			"$build"/config.h | "$src"/nss/* | "$src"/lib/cache/reader/*) ;;
			"$src"/*) echo "$real" ;;
			esac
		done)
	if [ -z "$bad" ]; then
		ok "nss/${c##*/} includes nothing of the tree but nss/ and lib/cache/reader/"
	else
		notok "nss/${c##*/} includes other parts of the tree:"
		printf '#   %s\n' $bad
	fi
done

# 2. Every header of lib/, by each name a source could include it with: its own, its path from
# lib/ and its path from the top of the tree.
reaches() { # reaches NAME: the module's flags find "NAME"
	printf '#include "%s"\n' "$1" >"$tmp/probe.c"
	# shellcheck disable=SC2086
	$NSS_CC $NSS_CPPFLAGS -E "$tmp/probe.c" >/dev/null 2>&1
}
reach=0
for h in $(cd "$src" && find lib -name '*.h' | sort); do
	case $h in
	lib/cache/reader/*)
		if reaches "${h##*/}"; then
			reach=$((reach + 1))
		else
			notok "$h is within nss/'s reach (it did not preprocess)"
		fi
		;;
	*)
		found=
		for name in "${h##*/}" "${h#lib/}" "$h"; do
			reaches "$name" && found="$found \"$name\""
		done
		if [ -z "$found" ]; then
			ok "$h is out of nss/'s reach"
		else
			notok "$h is out of nss/'s reach (it preprocessed as$found)"
		fi
		;;
	esac
done
if [ "$reach" -ge 2 ]; then
	ok "the cache reader's $reach headers are within nss/'s reach"
else
	notok "the cache reader's headers are within nss/'s reach (found $reach)"
fi
echo "1..$n"
exit $fail
