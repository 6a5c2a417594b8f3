#!/bin/sh
# `hvlog stats -j N` gives what one thread gives: the same output, errors
# and exit code, text and JSON, with --top and a selection, on every
# golden and damaged trace of testdata/, on a larger hvcore trace, on a
# trace whose time goes back (the threads must give way to one pass), and
# from standard input (one thread).
#   tests/stats_threads.sh HVLOG HVCORE TESTDATA_DIR TRACEGEN
set -u
hvlog=$1 hvcore=$2 data=$3 tracegen=$4
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# same FILE ARGS...: stats -j1, -j2 and -j3 of FILE agree
same() {
	f=$1
	shift
	"$hvlog" stats -j1 "$@" "$f" > "$tmp/1.out" 2> "$tmp/1.err"
	c1=$?
	for j in 2 3; do
		"$hvlog" stats -j$j "$@" "$f" > "$tmp/$j.out" 2> "$tmp/$j.err"
		cj=$?
		if [ "$cj" = "$c1" ] && cmp -s "$tmp/1.out" "$tmp/$j.out" && cmp -s "$tmp/1.err" "$tmp/$j.err"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "FAIL: stats -j$j $* $f differs from -j1 (exit $cj, $c1)"
			diff "$tmp/1.out" "$tmp/$j.out" | head -5
		fi
	done
}

"$hvcore" -w mixed -v 4 -n 200000 -o "$tmp/mixed.hvlog" > /dev/null 2>&1 || { echo "hvcore failed"; exit 1; }
# a mix trace with three events of stream 2 stamped 1.5 ms back in time
"$tracegen" mix-back 2000 "$tmp/back.hvlog" || { echo "tracegen failed"; exit 1; }

for f in "$data"/golden/*.bin "$data"/damaged/*.bin "$tmp/mixed.hvlog" "$tmp/back.hvlog"; do
	same "$f"
	same "$f" -f json
	same "$f" --top port --top guest_rip=3 --top index=5
	same "$f" -f json --top port=2
	same "$f" --group interrupt --since 100us --top guest_rip
done
same "$tmp/mixed.hvlog" --event 'IM_*' --where 'port == 0xcf8' -f json --top value
same "$tmp/mixed.hvlog" --stream 1 --stream 3 --until 20ms

# standard input: one pass, the same figures as the file (name aside)
"$hvlog" stats -j2 "$tmp/mixed.hvlog" | sed 1d > "$tmp/file.out"
"$hvlog" stats -j2 < "$tmp/mixed.hvlog" | sed 1d > "$tmp/stdin.out"
if cmp -s "$tmp/file.out" "$tmp/stdin.out"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: stats from stdin"; fi

echo "stats_threads: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
