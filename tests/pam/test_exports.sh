#!/bin/sh
# test_exports: pam_gotrue.so exports the PAM ABI (pam_sm_*) and nothing else (pam/pam_gotrue.map),
# in the linker's view (nm -D). test_dlopen checks the same through dlopen(3).
so="${top_builddir:-.}/pam/.libs/pam_gotrue.so"
echo "1..4"
if [ ! -f "$so" ]; then
	echo "not ok 1 - module built ($so)"; echo "not ok 2"; echo "not ok 3"; echo "not ok 4"; exit 0
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
