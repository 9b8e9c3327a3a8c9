#!/bin/sh
# test_exports: pam_gotrue.so exports the PAM ABI (pam_sm_*) and nothing else (pam/pam_gotrue.map),
# in the linker's view (nm -D); test_dlopen checks the same through dlopen(3). And the module,
# which sshd, sudo and login load, carries none of gotruectl's code: the layers it must not link
# (lib/sync, lib/client/ctl, lib/fleet) leave no symbol in its full symbol table (nm, not -D: the version
# script makes them local, not absent).
so="${top_builddir:-.}/pam/.libs/pam_gotrue.so"

# What only gotruectl runs, by the symbols that would show it linked in: one line each.
NOT_IN_MODULE='refresh pass or gotruectl sessions (lib/sync/lifecycle.c): ^gotrue_(refresh_pass|refresh_opts_init|sessions_gc|sessions_revoke)$
ending of Linux sessions (lib/sync/terminate.c): ^gotrue_terminate_
admin API (lib/sync/api_admin.c): ^gotrue_(admin_|user_page_clear$)
admin listing (lib/sync/listing.c, link.c): ^gotrue_(listing_|link_next$)
whole sync or cache show (lib/sync/sync.c): ^gotrue_(sync_run|cache_show|cache_lookup)$
uid assignment through app_metadata (lib/sync/assign.c): ^gotrue_assign_
refresh pass requests in two halves (lib/client/ctl/api_multi.c): ^gotrue_(refresh_start|refresh_end|user_get_start|user_get_end|client_attach|client_ended)$
PKCE or OAuth sign-in (lib/client/ctl/oauth.c): ^gotrue_(pkce_|exchange_code$|provider_url$)
factor enrolment (lib/client/ctl/enrol.c): ^gotrue_factor_(enroll|unenroll|challenge_verify)$
endpoints a login never calls, service-role key (lib/client/ctl/api_ctl.c): ^gotrue_(signup|settings|magiclink|magiclink_pkce|otp_pkce|recover|invite|client_admin_bearer)$
config check (lib/client/ctl/config_check.c): ^gotrue_(config_check|jwks_fit_algs)$
fleet publish, fetch and keys (lib/fleet): ^gotrue_fleet_'

echo "1..$((5 + $(printf '%s\n' "$NOT_IN_MODULE" | wc -l)))"
if [ ! -f "$so" ]; then
	echo "Bail out! module not built ($so)"
	exit 0
fi
echo "ok 1 - module built"
syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u)
extra=$(printf '%s\n' "$syms" | grep -v '^pam_sm_' | grep -v '^$')
if [ -z "$extra" ]; then echo "ok 2 - only pam_sm_* exported"; else
	echo "not ok 2 - only pam_sm_* exported"; printf '#   extra: %s\n' $extra; fi
n=$(printf '%s\n' "$syms" | grep -c '^pam_sm_')
if [ "$n" -eq 6 ]; then echo "ok 3 - all six pam_sm_* exported"; else
	echo "not ok 3 - all six pam_sm_* exported (got $n)"; fi
if nm -D --undefined-only "$so" | grep -q ' gotrue_'; then
	echo "not ok 4 - the core is linked in, not expected from elsewhere"
else
	echo "ok 4 - the core is linked in, not expected from elsewhere"
fi

# The full symbol table, local symbols included. Without it (a stripped module) the checks
# below could not fail, so that is a failure too.
all=$(nm --defined-only "$so" 2>/dev/null | awk '{print $NF}' | sort -u)
core=$(printf '%s\n' "$all" | grep -c '^gotrue_')
if printf '%s\n' "$all" | grep -q '^gotrue_signin_password$'; then
	echo "ok 5 - the symbol table shows the core the module links ($core gotrue_* symbols)"
else
	echo "not ok 5 - the symbol table shows the core the module links (stripped?)"
	all=
fi
i=5
check() { # check LINE
	i=$((i + 1))
	what=${1%%: ^*}
	re=^${1#*: ^}
	found=$(printf '%s\n' "$all" | grep -E "$re")
	if [ -z "$all" ]; then
		echo "not ok $i - the module carries no $what (no symbol table)"
	elif [ -z "$found" ]; then
		echo "ok $i - the module carries no $what"
	else
		echo "not ok $i - the module carries no $what"
		printf '#   %s\n' $found
	fi
}
printf '%s\n' "$NOT_IN_MODULE" | while IFS= read -r line; do check "$line"; done
