#!/bin/sh
# The same guest program under kvm and sim gives the same events per VP
# (ignoring time, and the events that depend on it: context switches,
# profiler samples, overruns).  Skipped (exit 77) where /dev/kvm cannot run.
#   tests/hvcore_kvm.sh HVCORE HVLOG
set -u
hvcore=$1 hvlog=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT

"$hvcore" --no-progress -b kvm -w all -v 2 -o "$tmp/kvm.bin" 2> "$tmp/err"
rc=$?
if [ $rc -eq 4 ]; then
	echo "SKIP: $(cat "$tmp/err")"
	exit 77
fi
[ $rc -eq 0 ] || { echo "FAIL: hvcore -b kvm: $(cat "$tmp/err")"; exit 1; }
"$hvcore" --no-progress -b sim -w all -v 2 -o "$tmp/sim.bin" 2> /dev/null || { echo "FAIL: sim run"; exit 1; }

seq() { # per stream: event and parameters, without time
	"$hvlog" decode --format json "$1" |
		jq -c 'select(.type == "event" and .stream > 0)
		       | select(.event | test("CONTEXT_SWITCH|PROFILER|OVERRUN") | not)
		       | if .event == "HV_TR_IM_MSR_READ" and .params.index == 16 then .params.value = "(TSC)" else . end
		       | [.stream, .event, .params]' |
		sort -s -t, -k1,1 # each stream in its own order
}
seq "$tmp/kvm.bin" > "$tmp/kvm.txt"
seq "$tmp/sim.bin" > "$tmp/sim.txt"
n=$(wc -l < "$tmp/sim.txt")
if cmp -s "$tmp/kvm.txt" "$tmp/sim.txt" && [ "$n" -gt 100 ]; then
	echo "kvm and sim agree on $n events: 1 passed, 0 failed"
	exit 0
fi
echo "FAIL: kvm and sim event sequences differ ($n sim events):"
diff "$tmp/sim.txt" "$tmp/kvm.txt" | head -20
echo "0 passed, 1 failed"
exit 1
