#!/bin/sh
# Live reading figures (docs/EMBEDDING.md §14):
#   - latency, event emitted -> line written by `hvlog decode -` on a pipe,
#     at hvcore's default flush interval (100 ms): median and p99;
#   - throughput: decoding a trace through a pipe (live, no spool) against
#     decoding the finished file, text output and --count, best of 3.
#   sh bench/live.sh [BUILD_DIR] [EVENTS]     (default build, 2000000)
set -eu
build=${1:-build} n=${2:-2000000}
hvlog=$build/hvlog hvcore=$build/hvcore/hvcore
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT INT TERM

"$build/bench/live_latency" "$hvlog" 3 20000 100 2
"$build/bench/live_latency" "$hvlog" 3 20000 100 8

"$hvcore" -w mixed -v 4 -n "$n" --no-progress -o "$tmp/t.hvlog" 2> /dev/null
events=$("$hvlog" decode --count "$tmp/t.hvlog")

# best CMD...: the least wall time of 3 runs, in seconds
best() {
	b=
	for _ in 1 2 3; do
		s=$(date +%s.%N)
		sh -c "$1" > /dev/null
		e=$(date +%s.%N)
		b=$(echo "$s $e ${b:-}" | awk '{ d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3 }')
	done
	echo "$b"
}
f=$(best "'$hvlog' decode '$tmp/t.hvlog'")
p=$(best "cat '$tmp/t.hvlog' | '$hvlog' decode -")
F=$(best "'$hvlog' decode -F '$tmp/t.hvlog'")
fc=$(best "'$hvlog' decode --count -j1 '$tmp/t.hvlog'")
pc=$(best "cat '$tmp/t.hvlog' | '$hvlog' decode --count -")
echo "$events $f $p $F $fc $pc" | awk '{
	printf "decode, %d events: file %.2f s (%.2f M events/s), pipe %.2f s (%.2f M/s, %.2fx the file), --follow %.2f s (%.2fx)\n",
		$1, $2, $1 / $2 / 1e6, $3, $1 / $3 / 1e6, $2 / $3, $4, $2 / $4
	printf "decode --count: file (1 thread) %.2f s (%.2f M/s), pipe %.2f s (%.2f M/s, %.2fx the file)\n",
		$5, $1 / $5 / 1e6, $6, $1 / $6 / 1e6, $5 / $6 }'
