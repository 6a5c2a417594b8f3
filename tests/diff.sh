#!/bin/sh
# diff.sh HVLOG HVCORE TESTDATA - `hvlog diff`: two hvcore runs that differ
# in a known way (B records every group of the mixed workload but
# hypercall) give that difference first and exit 1; identical inputs, and
# two seeds of the same workload, give none and exit 0; the exit statuses
# of bad input; JSON read by jq agrees with the text; the output of two
# golden traces is compared with tests/diff_golden.txt.
set -u
HVLOG=$1
HVCORE=$2
DATA=$3
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$HERE/testlib.sh"

"$HVCORE" -w mixed -v 2 -n 100000 -o "$tmp/a.hvlog" 2>/dev/null
"$HVCORE" -w mixed -v 2 -n 100000 -o "$tmp/a2.hvlog" 2>/dev/null
"$HVCORE" -w mixed -v 2 -n 100000 --seed 2 -o "$tmp/seed2.hvlog" 2>/dev/null
"$HVCORE" -w mixed -v 2 -n 100000 --groups interrupt,profiler,scheduler,gva,vp,object,partition \
	-o "$tmp/nohc.hvlog" 2>/dev/null

# identical inputs: nothing differs
expect 0 "the same file twice" "$HVLOG" diff "$tmp/a.hvlog" "$tmp/a.hvlog"
has out '^differences: 0 of [0-9]+ rows$' "no difference in the same file"
expect 0 "the same run twice" "$HVLOG" diff "$tmp/a.hvlog" "$tmp/a2.hvlog"
has out '^differences: 0 of' "no difference between two identical runs"
expect 0 "another seed" "$HVLOG" diff "$tmp/a.hvlog" "$tmp/seed2.hvlog"
has out '^differences: 0 of' "no difference beyond 10 % between two seeds of one workload"
expect 0 "stdin as A" sh -c "'$HVLOG' diff - '$tmp/a.hvlog' < '$tmp/a.hvlog'"

# the known difference first
expect 1 "hypercall left out" "$HVLOG" diff "$tmp/a.hvlog" "$tmp/nohc.hvlog"
sed -n '5p' "$tmp/out" > "$tmp/first"
if grep -Eq '^! (group +hypercall|event +HV_TR_HC_HYPERCALL) .*only in A\)$' "$tmp/first"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	echo "FAIL: the first difference is not hypercall's:"
	head -8 "$tmp/out"
fi
has out '^! event +HV_TR_HC_HYPERCALL +[0-9]+ -> 0 ' "HC_HYPERCALL only in A"
has out '^! total +events ' "fewer events in all"
if grep -q 'IM_IO_PORT_WRITE\|IM_MSR_READ' "$tmp/out"; then
	fail=$((fail + 1))
	echo "FAIL: events of the groups B kept are listed as differing"
else
	pass=$((pass + 1))
fi

# JSON: jq reads it; the same rows as the text
expect 1 "json" "$HVLOG" diff --format json "$tmp/a.hvlog" "$tmp/nohc.hvlog"
if command -v jq >/dev/null 2>&1; then
	jq -r '"\(.differing) \(.list | length) \(.list[0].kind) \(.list[0].name) \(.list[0].count[1]) \(.a.events) \(.b.events)"' \
		"$tmp/out" > "$tmp/jq" 2>&1
	"$HVLOG" stats --format json "$tmp/a.hvlog" | jq -r '.events' > "$tmp/na"
	"$HVLOG" stats --format json "$tmp/nohc.hvlog" | jq -r '.events' > "$tmp/nb"
	want="5 5 group hypercall 0 $(cat "$tmp/na") $(cat "$tmp/nb")"
	[ "$(cat "$tmp/jq")" = "$want" ] && pass=$((pass + 1)) ||
		{ fail=$((fail + 1)); echo "FAIL: jq read '$(cat "$tmp/jq")', want '$want'"; }
else
	echo "SKIP: jq missing"
fi

# --threshold: a change of 14 % in all events is not one at 20 %
expect 1 "threshold 20" "$HVLOG" diff --threshold 20 "$tmp/a.hvlog" "$tmp/nohc.hvlog"
if grep -q '^! total' "$tmp/out"; then
	fail=$((fail + 1)); echo "FAIL: --threshold 20 still lists the 14 % change"
else
	pass=$((pass + 1))
fi
expect 0 "--all on identical inputs" "$HVLOG" diff --all "$tmp/a.hvlog" "$tmp/a.hvlog"
has out '^  event +HV_TR_IM_IO_PORT_WRITE +[0-9]+ -> [0-9]+ .*\+0\.0%\)$' "--all lists rows that do not differ"

# bad input
expect 2 "one trace" "$HVLOG" diff "$tmp/a.hvlog"
expect 2 "bad threshold" "$HVLOG" diff --threshold x "$tmp/a.hvlog" "$tmp/a.hvlog"
expect 3 "a missing file" "$HVLOG" diff "$tmp/a.hvlog" "$tmp/missing.hvlog"
expect 4 "not a trace" "$HVLOG" diff "$tmp/a.hvlog" "$DATA/damaged/not-a-trace.bin"
expect 4 "a damaged trace" "$HVLOG" diff "$DATA/golden/mix.bin" "$DATA/damaged/payload-bitflip.bin"
has out '^differences: ' "a damaged trace is still compared"

# deterministic output, golden
"$HVLOG" diff --all "$DATA/golden/mix.bin" "$DATA/golden/all.bin" 2>&1 |
	sed "s|$DATA/||g" > "$tmp/golden.txt"
same "$tmp/golden.txt" "$HERE/diff_golden.txt" "diff --all golden/mix.bin golden/all.bin: differs from tests/diff_golden.txt"

testlib_done diff
