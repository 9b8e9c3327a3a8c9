#!/bin/sh
# test_bench_uid: bench_uid small, as a correctness test: 3000 users in a range of 3300 uids,
# where derived uids alone leave hundreds out. With assign_uids none is left out, no two share a
# uid, and listing the users in the other order gives the same table. `make bench-scale-uid`
# runs the same program at 1M users in the default range.
b="${top_builddir:-.}/tests/bench/bench_uid"
echo "1..4"
out=$("$b" 3000 3300)
st=$?
echo "$out" | sed 's/^/# /'
derived=$(echo "$out" | sed -n 's/^uid_collisions_derived //p')
assigned=$(echo "$out" | sed -n 's/^uid_collisions //p')
[ "${derived:-0}" -gt 100 ] && r=ok || r="not ok"
echo "$r 1 - derived uids alone collide ($derived users)"
[ "$assigned" = 0 ] && r=ok || r="not ok"
echo "$r 2 - with assign_uids no user is left out or shares a uid ($assigned)"
echo "$out" | grep -qx 'same_table yes' && r=ok || r="not ok"
echo "$r 3 - the other listing order gives the same table"
[ "$st" = 0 ] && r=ok || r="not ok"
echo "$r 4 - bench_uid exits 0"
