#!/bin/sh
# Decoder memory does not grow with idle streams: a writer closes every
# stream with an (empty) final chunk, and a trace of many VPs that did
# nothing must not cost each of them its predictor state (3.7 KiB with the
# keyed predictors and the RIP cache).  Peak RSS of `hvlog decode` on S streams, one busy,
# against the same events on 1 stream: at most 1.5 KiB more per stream
# (metadata, index and per-stream bookkeeping take about 1 KiB).
#   tests/memory.sh HVLOG TRACEGEN
set -u
hvlog=$1 gen=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
streams=19000

if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
	echo "SKIP: under a sanitizer, RSS measures the sanitizer"
	exit 77
fi
if ! command -v python3 > /dev/null; then
	echo "SKIP: python3 (for getrusage) not found"
	exit 77
fi
"$gen" idle 1 200000 "$tmp/one.bin" && "$gen" idle "$streams" 200000 "$tmp/idle.bin" || exit 1

# peak RSS in KiB of: hvlog decode FILE > /dev/null (exit status must be 0).
# A child's ru_maxrss also counts what it had before exec (the python
# process copied at fork): both runs have that same floor, so it can only
# hide growth, not invent it.
rss() {
	python3 - "$hvlog" "$1" <<'PY'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "decode", sys.argv[2]], stdout=subprocess.DEVNULL)
if r.returncode != 0:
    sys.exit("hvlog decode exited with %d" % r.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
one=$(rss "$tmp/one.bin") && idle=$(rss "$tmp/idle.bin") || exit 1
limit=$((one + streams * 3 / 2))
echo "memory: 1 stream $one KiB, $streams streams $idle KiB (limit $limit KiB)"
[ "$idle" -le "$limit" ] || { echo "FAIL: idle streams cost $(((idle - one) * 1024 / streams)) bytes each"; exit 1; }
