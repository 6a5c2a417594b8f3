# bench/bench_lib.sh - what the shell benches share, sourced by a bench
# run as `sh bench/NAME.sh [BUILD_DIR] [EVENTS] [REPS]`: reads those
# arguments (defaults build-release, 4000000, 3), checks the programs,
# makes $tmp (removed at exit) and records $events events of hvcore's mixed
# workload on 4 VPs into $tmp/t.hvlog, with their count in $n.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-release}
events=${2:-4000000}
reps=${3:-3}
hvlog=$build/hvlog
hvcore=$build/hvcore/hvcore
for p in "$hvlog" "$hvcore"; do
	[ -x "$p" ] || { echo "bench/${0##*/}: no $p (build it: sh bench/run.sh --quick)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hvlog-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

"$hvcore" -w mixed -v 4 -n "$events" -o "$tmp/t.hvlog" 2>/dev/null
n=$("$hvlog" decode --count "$tmp/t.hvlog")

now() { date +%s%N; }
# best CMD...: the best wall time (ns) of $reps runs of CMD, its output dropped
best() {
	b=0
	i=0
	while [ $i -lt "$reps" ]; do
		t0=$(now)
		"$@" > /dev/null
		t=$(($(now) - t0))
		if [ $b = 0 ] || [ $t -lt $b ]; then b=$t; fi
		i=$((i + 1))
	done
	echo $b
}
