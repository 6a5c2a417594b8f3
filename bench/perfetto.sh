#!/bin/sh
# bench/perfetto.sh - `convert --to perfetto` against `convert --to chrome`
# on the same trace: bytes per event and events per second, best of R runs
# each, and the ratios (targets: at most 1/4 of the JSON's size, at least
# 3x its speed).  Figures on standard output.
#
#   sh bench/perfetto.sh [BUILD_DIR] [EVENTS] [REPS]
#
# BUILD_DIR (default build-release, made by bench/run.sh; a path given is
# taken from the current directory) holds hvlog and hvcore/hvcore.
# EVENTS (default 4000000) events of hvcore's mixed workload on 4 VPs.
. "$(dirname "$0")/bench_lib.sh"

tc=$(best "$hvlog" convert --no-progress --to chrome "$tmp/t.hvlog" -o "$tmp/out.chrome")
tp=$(best "$hvlog" convert --no-progress --to perfetto "$tmp/t.hvlog" -o "$tmp/out.perfetto")
sc=$(stat -c %s "$tmp/out.chrome")
sp=$(stat -c %s "$tmp/out.perfetto")
awk -v n="$n" -v tc="$tc" -v tp="$tp" -v sc="$sc" -v sp="$sp" -v reps="$reps" 'BEGIN {
	printf "trace: %d events (hvcore mixed, 4 VPs); best of %d runs each\n", n, reps
	printf "%-9s %12s %10s %14s\n", "format", "bytes", "bytes/ev", "events/s"
	printf "%-9s %12d %10.2f %14.0f\n", "chrome", sc, sc / n, n / (tc / 1e9)
	printf "%-9s %12d %10.2f %14.0f\n", "perfetto", sp, sp / n, n / (tp / 1e9)
	printf "size:  perfetto / chrome = %.3f (target <= 0.25): %s\n", sp / sc, (sp / sc <= 0.25) ? "met" : "NOT met"
	printf "speed: perfetto / chrome = %.2fx (target >= 3x): %s\n", tc / tp, (tc / tp >= 3) ? "met" : "NOT met"
}'
