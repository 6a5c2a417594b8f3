#!/bin/sh
# bench/compressed.sh - decoding a compressed trace directly (the reader's
# decompressing thread, libhvlog/src/decompress.c) against the plain file:
# `hvlog decode` to /dev/null and `hvlog decode --count`, best of R runs
# each, for zstd (-3), gzip (-6) and xz (-6), with the compression ratio and
# the time ratio to the plain file.  Figures on standard output.
#
#   sh bench/compressed.sh [BUILD_DIR] [EVENTS] [REPS]
#
# BUILD_DIR (default build-release, made by bench/run.sh; a path given is
# taken from the current directory) holds hvlog and hvcore/hvcore.
# EVENTS (default 4000000) events of hvcore's mixed workload on 4 VPs.
. "$(dirname "$0")/bench_lib.sh"
plain=$(stat -c %s "$tmp/t.hvlog")

printf 'trace: %d events (hvcore mixed, 4 VPs), %d bytes; best of %d runs each; %s CPUs, load %s\n' \
	"$n" "$plain" "$reps" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %11s %7s %13s %8s %13s %8s\n' input bytes ratio "decode ev/s" "x plain" "--count ev/s" "x plain"
td0=$(best "$hvlog" decode "$tmp/t.hvlog")
tc0=$(best "$hvlog" decode --count -j 1 "$tmp/t.hvlog")
awk -v n="$n" -v s="$plain" -v td="$td0" -v tc="$tc0" 'BEGIN {
	printf "%-6s %11d %7.3f %13.0f %8.2f %13.0f %8.2f\n", "plain", s, 1, n / (td / 1e9), 1, n / (tc / 1e9), 1 }'
for z in "zstd -3" "gzip -6" "xz -6"; do
	name=${z%% *}
	command -v "$name" > /dev/null 2>&1 || { echo "# no $name: skipped"; continue; }
	$z -c < "$tmp/t.hvlog" > "$tmp/t.$name"
	size=$(stat -c %s "$tmp/t.$name")
	td=$(best "$hvlog" decode "$tmp/t.$name")
	tc=$(best "$hvlog" decode --count -j 1 "$tmp/t.$name")
	# x plain: the compressed file's time over the plain file's (1.00: as fast)
	awk -v z="$name" -v n="$n" -v s="$size" -v p="$plain" -v td="$td" -v tc="$tc" -v td0="$td0" -v tc0="$tc0" 'BEGIN {
		printf "%-6s %11d %7.3f %13.0f %8.2f %13.0f %8.2f\n", z, s, s / p, n / (td / 1e9), td / td0, n / (tc / 1e9), tc / tc0 }'
	rm -f "$tmp/t.$name"
done
