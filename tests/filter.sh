#!/bin/sh
# The selection options of decode, filter and stats, and the filter, stats
# and info commands (issue 4).
#   tests/filter.sh HVLOG TRACEGEN TESTDATA_DIR
set -u
hvlog=$1 gen=$2 data=$3
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/checks.sh"

# events FILE: the events of a JSON Lines decode, without the fields that
# depend on the file layout or its first event (offset, time_ns)
events() {
	grep '"type":"event"' "$1" | sed -E 's/"time_ns":[0-9]+,//; s/"offset":[0-9]+,//'
}

# fresh traces from tracegen (testdata/golden/all.bin is the same bytes)
all="$tmp/all.bin"
mix="$tmp/mix.bin"
"$gen" all "$all" && "$gen" mix 20000 "$mix" || { echo "tracegen failed"; exit 1; }

for c in filter stats info; do
	expect 0 "$c --help" "$hvlog" $c --help
	has out "Usage: .*$c" "$c --help usage"
done
expect 0 "--help lists filter" "$hvlog" --help
has out "filter \[FILE" "hvlog --help lists filter"
expect 0 "decode --help" "$hvlog" decode --help
has out "--where=EXPR" "decode --help lists --where"
has out "--exclude-event" "decode --help lists --exclude-event"

# ---- every selection: decode --count, decode, filter agree ------------------
# check_sel FILE OPTIONS...: --count equals the decoded events; filter's
# output decodes to exactly those events; filter --format text is decode's text
check_sel() {
	f=$1
	shift
	what="$*"
	"$hvlog" decode --format json "$@" "$f" > "$tmp/sel.jsonl" 2> "$tmp/err" || { ko "decode $what: exit $?"; head -3 "$tmp/err"; return; }
	events "$tmp/sel.jsonl" > "$tmp/sel.events"
	n=$(wc -l < "$tmp/sel.events")
	c=$("$hvlog" decode --count "$@" "$f")
	eq "$c" "$n" "decode --count $what"
	c=$("$hvlog" filter --count "$@" "$f")
	eq "$c" "$n" "filter --count $what"
	c=$("$hvlog" stats --count "$@" "$f")
	eq "$c" "$n" "stats --count $what"
	"$hvlog" filter "$@" -o "$tmp/sel.bin" "$f" || { ko "filter $what: exit $?"; return; }
	"$hvlog" decode --format json "$tmp/sel.bin" > "$tmp/fil.jsonl" || { ko "decode of filter $what: exit $?"; return; }
	events "$tmp/fil.jsonl" > "$tmp/fil.events"
	if cmp -s "$tmp/sel.events" "$tmp/fil.events"; then ok; else ko "filter $what does not decode to decode's selection"; diff "$tmp/sel.events" "$tmp/fil.events" | head -5; fi
	# lost-event records: the same counts, in the same streams
	grep '"type":"lost"' "$tmp/sel.jsonl" | sed -E 's/.*"stream":([0-9]+).*"count":([0-9]+).*/\1 \2/' > "$tmp/sel.lost"
	grep '"type":"lost"' "$tmp/fil.jsonl" | sed -E 's/.*"stream":([0-9]+).*"count":([0-9]+).*/\1 \2/' > "$tmp/fil.lost"
	if cmp -s "$tmp/sel.lost" "$tmp/fil.lost"; then ok; else ko "filter $what lost records differ"; fi
	"$hvlog" decode "$@" "$f" > "$tmp/sel.txt"
	"$hvlog" filter --format text "$@" "$f" > "$tmp/fil.txt"
	if cmp -s "$tmp/sel.txt" "$tmp/fil.txt"; then ok; else ko "filter --format text $what differs from decode"; fi
	"$hvlog" filter --format json "$@" "$f" > "$tmp/fil.json2"
	if cmp -s "$tmp/sel.jsonl" "$tmp/fil.json2"; then ok; else ko "filter --format json $what differs from decode"; fi
	echo "$n" > "$tmp/last_n"
}

check_sel "$all"
eq "$(cat "$tmp/last_n")" 83 "all.bin has 83 events"
check_sel "$all" --group interrupt
check_sel "$all" --group interrupt --group hypercall
check_sel "$all" --group 0x400 --group '0x800|0x2000'
check_sel "$all" --exclude-group interrupt
check_sel "$all" --event 'IM_MSR_*'
eq "$(cat "$tmp/last_n")" 6 "all.bin: IM_MSR_* is 4 events and the 2 extremes"
check_sel "$all" --event hv_tr_hc_hypercall --event 0x21 --event im_cr_read
eq "$(cat "$tmp/last_n")" 6 "three events by symbol, number, bare name"
check_sel "$all" --group interrupt --exclude-event 'IM_*_READ' --exclude-event IM_HLT_INSTRUCTION
check_sel "$all" --stream 1
check_sel "$all" --stream vp0 --where 'guest_rip >= 0xfffff80000001100'
check_sel "$all" --vp 0
check_sel "$all" --partition 1
check_sel "$all" --since 10us --until 20us
check_sel "$all" --since @1030000t
check_sel "$all" --until 0ns
eq "$(cat "$tmp/last_n")" 1 "--until 0ns keeps the first event only"
check_sel "$all" --where 'index in {CR2, IA32_MTRRCAP}'
eq "$(cat "$tmp/last_n")" 3 "index in {CR2, IA32_MTRRCAP}"
check_sel "$all" --where '!(type == 3)'
check_sel "$all" --limit 10
eq "$(cat "$tmp/last_n")" 10 "--limit 10"
check_sel "$all" --limit 0
eq "$(cat "$tmp/last_n")" 0 "--limit 0"
check_sel "$mix" --group interrupt
check_sel "$mix" --where 'port == 0x3f8 && value != 0'
check_sel "$mix" --event 'IM_IO_PORT_*' --where 'port in {0x60, 0x64} || value > 0xf0' --vp 1 --since 1ms --until 15ms
check_sel "$mix" --partition 2 --exclude-event IM_HLT_INSTRUCTION --where 'guest_rip < 0xfffff80351c43280'
check_sel "$mix" --group scheduler --where 'partition_id == 2'
# empty results
check_sel "$mix" --group interrupt --exclude-group interrupt
eq "$(cat "$tmp/last_n")" 0 "a selection of nothing"
check_sel "$mix" --where 'port == 0x1234'
eq "$(cat "$tmp/last_n")" 0 "no such port"
# a window after the end selects nothing: an empty result, not an error
expect 0 "decode --since after the end" "$hvlog" decode --since 100s "$mix"
[ -s "$tmp/out" ] && ko "decode --since after the end printed: $(head -c 200 "$tmp/out")" || ok
expect 0 "filter --since after the end" "$hvlog" filter --since 100s -o "$tmp/late.bin" "$mix"
eq "$("$hvlog" decode --count "$tmp/late.bin")" 0 "filter --since after the end: a trace of no event"
expect 0 "stats --until before the start" "$hvlog" stats --until @5t "$mix"
has out "^events: +0$" "stats --until before the start counts nothing"

# A window is judged on the events, never on the chunk headers' first and
# last times.  A valid trace's time may go back below its first chunk's
# first_ts (a chunk flagged BACKWARDS): the events at or before the
# window's end are there.
"$gen" mix-back 2000 "$tmp/back.bin" || ko "tracegen mix-back"
"$hvlog" decode --time ticks "$tmp/back.bin" > "$tmp/back.ticks"
lo=$(awk '{print $1}' "$tmp/back.ticks" | sort -n | head -1)
until_lo=$(awk -v t="$lo" '$1 <= t' "$tmp/back.ticks" | wc -l)
[ "$until_lo" -ge 1 ] && ok || ko "mix-back: no event at its lowest tick"
for c in "decode --count" "filter --count" "stats"; do
	expect 0 "$c --until the lowest tick of a trace whose time goes back" "$hvlog" $c --until "@${lo}t" "$tmp/back.bin"
done
eq "$("$hvlog" decode --count --until "@${lo}t" "$tmp/back.bin")" "$until_lo" "--until below the first chunk's first_ts counts the events there"
"$hvlog" decode --time ticks --until "@${lo}t" "$tmp/back.bin" > "$tmp/got"
awk -v t="$lo" '$1 <= t' "$tmp/back.ticks" > "$tmp/want"
cmp -s "$tmp/want" "$tmp/got" && ok || ko "--until below the first chunk's first_ts prints the events there"
# A damaged header, its checksum consistent, that lowers the last_ts of the
# chunk holding the trace's last event: the window after that time is not
# refused; the event decodes and the damage is reported (exit 1), as when
# the trace comes through a pipe.
if command -v python3 > /dev/null 2>&1; then
	python3 - "$mix" "$tmp/low.bin" "$(dirname "$0")" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[3])
from damage_campaign import META, chunks_of, crc32c  # the campaign's chunk walk
d = bytearray(open(sys.argv[1], "rb").read())
chunks = [c[0] for c in chunks_of(d) if not c[2] & META]  # event chunks with a valid header
p = max(chunks, key=lambda p: struct.unpack_from("<Q", d, p + 48)[0])
struct.pack_into("<Q", d, p + 48, struct.unpack_from("<Q", d, p + 40)[0])  # last_ts = first_ts
struct.pack_into("<I", d, p + 8, crc32c(d[p + 12 : p + 64]))
open(sys.argv[2], "wb").write(d)
PY
	hi=$("$hvlog" decode --time ticks "$mix" | awk '{print $1}' | sort -n | tail -1)
	for c in "decode --count" "filter --count" "stats" "convert --to json"; do
		expect 1 "$c --since the last event, its chunk's last_ts lowered" "$hvlog" $c --since "@${hi}t" "$tmp/low.bin"
		has err "last timestamp does not match its records" "$c --since, last_ts lowered: the damage is reported"
	done
	eq "$("$hvlog" decode --count --since "@${hi}t" "$tmp/low.bin" 2>/dev/null)" 1 "--since the last event, its chunk's last_ts lowered: the event"
	eq "$(cat "$tmp/low.bin" | "$hvlog" decode --count --since "@${hi}t" - 2>/dev/null)" 1 "the same through a pipe"
else
	echo "SKIP: python3 is not installed (a lowered last_ts)"
fi

# counts that are known independently of the selection code
n_all=$("$hvlog" decode --format json "$mix" | grep -c '"type":"event"')
n_irq=$("$hvlog" decode --format json "$mix" | grep '"type":"event"' | grep -c '"group":"interrupt"')
eq "$("$hvlog" decode --count "$mix")" "$n_all" "--count of everything"
eq "$("$hvlog" filter --count --group interrupt "$mix")" "$n_irq" "--count --group interrupt"
n_x=$("$hvlog" decode --count --exclude-group interrupt "$mix")
eq "$((n_x + n_irq))" "$n_all" "--group and --exclude-group partition the events"
n_p=$("$hvlog" decode --format json "$mix" | grep -c '"port":"0x3f8"')
eq "$("$hvlog" filter --count --where 'PORT == 1016' "$mix")" "$n_p" "--where port == 1016 (decimal, any case)"

# ---- filter composes ----------------------------------------------------------
"$hvlog" filter --group interrupt "$mix" | "$hvlog" decode --format json - > "$tmp/pipe.jsonl"
"$hvlog" decode --format json --group interrupt "$mix" > "$tmp/direct.jsonl"
events "$tmp/pipe.jsonl" > "$tmp/a"; events "$tmp/direct.jsonl" > "$tmp/b"
if cmp -s "$tmp/a" "$tmp/b"; then ok; else ko "filter | decode - differs from decode --group"; fi
"$hvlog" filter --group interrupt "$mix" | "$hvlog" filter --where 'port == 0x60' > "$tmp/twice.bin"
eq "$("$hvlog" decode --count "$tmp/twice.bin")" "$("$hvlog" decode --count --group interrupt --where 'port == 0x60' "$mix")" "filter | filter"
expect 0 "filter output: info" "$hvlog" info --verify "$tmp/twice.bin"
has out "^producer: +tracegen" "filter keeps the producer"
has out "^clock: +tsc, 2000000000 Hz" "filter keeps the clock"
has out "vp3 +2 +1 " "filter keeps the streams (name, partition, vp)"
"$hvlog" filter --vp 1 "$all" > "$tmp/vp1.bin"
expect 0 "metadata kept" "$hvlog" info --format json "$tmp/vp1.bin"
if command -v jq > /dev/null; then
	"$hvlog" info --format json "$all" > "$tmp/info_all.json"
	if jq -e --slurpfile a "$tmp/info_all.json" '.schema == $a[0].schema and .clock == $a[0].clock and (.streams | map(del(.events, .lost))) == ($a[0].streams | map(del(.events, .lost)))' "$tmp/out" > /dev/null; then ok; else ko "filter output has other metadata"; fi
fi

# ---- filter's output rules ---------------------------------------------------
expect 2 "binary to a terminal" script -qec "'$hvlog' filter '$all'" /dev/null
if grep -q "not writing a binary trace to a terminal" "$tmp/out" "$tmp/err"; then ok; else ko "terminal refusal message"; cat "$tmp/out"; fi
expect 0 "binary to a terminal with --force" script -qec "'$hvlog' filter --force --group hypercall '$all' > /dev/null" /dev/null
expect 0 "text to a terminal" script -qec "'$hvlog' filter --format text --group hypercall '$all'" /dev/null
has out "HC_HYPERCALL" "filter --format text prints"
expect 0 "--count to a terminal" script -qec "'$hvlog' filter --count '$all'" /dev/null
cp "$all" "$tmp/self.bin"
expect 2 "output over the input" "$hvlog" filter -o "$tmp/self.bin" "$tmp/self.bin"
has err "would overwrite the input" "output over the input message"
cmp -s "$all" "$tmp/self.bin" && ok || ko "the input was harmed"
expect 3 "unwritable output" "$hvlog" filter -o "$tmp/no/such/dir.bin" "$all"
has err "cannot create" "unwritable output message"
expect 0 "filter --format text -o" "$hvlog" filter --format text --group hypercall -o "$tmp/t.txt" "$all"
eq "$(grep -c HC_HYPERCALL "$tmp/t.txt")" 2 "filter --format text -o FILE writes FILE"
eq "$(wc -c < "$tmp/out")" 0 "filter --format text -o FILE: nothing on stdout"
expect 2 "text output over the input" "$hvlog" filter --format json -o "$tmp/self.bin" "$tmp/self.bin"
expect 2 "filter bad format" "$hvlog" filter --format xml "$all"
# the output keeps the input's metadata: producer, clock, streams and the
# producer's key/value pairs (a trace with props made by convert --from json)
if command -v jq > /dev/null; then
	"$hvlog" convert --to json "$all" > "$tmp/all.jsonl" &&
		{ head -1 "$tmp/all.jsonl" | jq -c '.props = {"site": "lab 2", "run": "7"}'; tail -n +2 "$tmp/all.jsonl"; } > "$tmp/props.jsonl" &&
		"$hvlog" convert --from json "$tmp/props.jsonl" -o "$tmp/props.bin" || ko "a trace with props"
	expect 0 "filter a trace with props" "$hvlog" filter --group hypercall -o "$tmp/props-f.bin" "$tmp/props.bin"
	for f in props props-f; do
		"$hvlog" info --format json "$tmp/$f.bin" | jq -c '[.producer, .clock, [.streams[] | del(.events, .lost)], .props]' > "$tmp/$f.meta"
	done
	eq "$(jq -r '.[3].site' < "$tmp/props-f.meta")" "lab 2" "filter keeps the producer's props"
	cmp -s "$tmp/props.meta" "$tmp/props-f.meta" && ok || ko "filter keeps producer, clock, streams and props"
fi
expect 3 "filter missing input" "$hvlog" filter -o "$tmp/x.bin" "$tmp/nope.bin"

# ---- usage errors: clear message, exit 2, for every selecting command --------
for c in decode filter stats; do
	expect 2 "$c unknown group" "$hvlog" $c --group nosuch "$all"
	has err "unknown group 'nosuch'" "$c unknown group message"
	expect 2 "$c unknown event" "$hvlog" $c --event IM_MSR_REED "$all"
	has err "unknown event 'IM_MSR_REED'" "$c unknown event message"
	expect 2 "$c glob matching nothing" "$hvlog" $c --exclude-event 'NOPE_*' "$all"
	expect 2 "$c unknown parameter" "$hvlog" $c --where 'port == 1 && prot != 0' "$all"
	has err "column 14: unknown parameter 'prot'" "$c unknown parameter: column"
	expect 2 "$c bad expression" "$hvlog" $c --where 'port = 0x3f8' "$all"
	has err "column 6: '=' is not an operator" "$c bad expression: column"
	expect 2 "$c unclosed (" "$hvlog" $c --where '(port == 1 || value == 2' "$all"
	has err "column 1: '\(' is never closed" "$c unclosed: column"
	expect 2 "$c bad number" "$hvlog" $c -w 'value > 0xfffffffffffffffff' "$all"
	has err "column 9: bad number" "$c bad number: column"
	expect 2 "$c unknown stream" "$hvlog" $c --stream 9 "$all"
	has err "no stream '9'" "$c unknown stream message"
	expect 2 "$c unknown vp" "$hvlog" $c --vp 5 "$all"
	expect 2 "$c bad partition" "$hvlog" $c --partition one "$all"
	expect 2 "$c bad --since" "$hvlog" $c --since 5parsecs "$all"
	has err "bad time '5parsecs' for --since" "$c bad time message"
	expect 2 "$c bad --limit" "$hvlog" $c --limit many "$all"
done

# ---- damage and lost events pass every event criterion ------------------------
dmg="$data/damaged/payload-bitflip.bin"
expect 1 "filter damaged input" "$hvlog" filter --group interrupt -o "$tmp/d.bin" "$dmg"
has err "checksum mismatch" "filter reports the damage"
expect 0 "filter output of damaged input is intact" "$hvlog" info --verify "$tmp/d.bin"
# ... and counts the events the damage cost (a LOST record in their stream)
has out "^lost events: +11$" "filter output of damaged input counts the 11 events its damage lost"
expect 1 "decode --where on damaged input" "$hvlog" decode --where 'port == 0x1234' "$dmg"
has out "DAMAGE" "damage passes --where"
expect 0 "lost passes --where" "$hvlog" decode --where 'port == 0x1234' "$all"
has out " LOST 3 events" "LOST line under --where"
expect 0 "lost of other streams go with --stream" "$hvlog" decode --stream 1 "$all"
if grep -q LOST "$tmp/out"; then ko "--stream 1 shows stream 0's losses"; else ok; fi

# ---- stats ---------------------------------------------------------------------
expect 0 "stats" "$hvlog" stats --top port --top index=3 "$mix"
has out "^events: +$n_all$" "stats counts the events"
has out "^interrupt +Interrupt Manager +$n_irq " "stats per group"
has out "^TOP port \(" "stats --top port"
has out "^0x[0-9a-f]+ +[0-9]+ +[0-9.]+%" "stats --top values"
has out "INTERVAL: MIN +MEDIAN +P95 +P99 +MAX" "stats interval columns"
expect 0 "stats of a selection" "$hvlog" stats --group hypercall "$all"
has out "^events: +2$" "stats --group hypercall"
has out "^lost: +3 events" "stats lost events"
expect 2 "stats --top unknown" "$hvlog" stats --top prot "$all"
has err "unknown parameter 'prot'" "stats --top unknown message"
expect 2 "stats --top bad N" "$hvlog" stats --top port=0 "$all"
expect 2 "stats bad format" "$hvlog" stats --format xml "$all"
expect 1 "stats damaged" "$hvlog" stats "$dmg"
if command -v jq > /dev/null; then
	expect 0 "stats json" "$hvlog" stats --format json --top port=3 --top guest_rip=5 "$mix"
	jq -e ".events == $n_all" "$tmp/out" > /dev/null && ok || ko "stats json events"
	jq -e '([.groups[].events] | add) == .events and ([.event_types[].events] | add) == .events and ([.streams[].events] | add) == .events and ([.partitions[].events] | add) == .events' "$tmp/out" > /dev/null && ok || ko "stats json totals add up"
	jq -e '(([.groups[].share] | add) - 1 | fabs) < 0.00001' "$tmp/out" > /dev/null && ok || ko "stats json shares add up to 1"
	jq -e '.event_types | all(.interval_ns == null or (.interval_ns.count == .events - 1 and .interval_ns.min <= .interval_ns.median and .interval_ns.median <= .interval_ns.p95 and .interval_ns.p95 <= .interval_ns.p99 and .interval_ns.p99 <= .interval_ns.max))' "$tmp/out" > /dev/null && ok || ko "stats json intervals ordered"
	jq -e '.events_per_s > 0 and .span_ns > 0' "$tmp/out" > /dev/null && ok || ko "stats json rate"
	jq -e '.top[0].param == "port" and (.top[0].values | length) == 3 and .top[0].exact and (.top[1].values | length) == 5' "$tmp/out" > /dev/null && ok || ko "stats json top"
	# the top port's count is the number of events --where finds with it
	p=$(jq -r '.top[0].values[0].value' "$tmp/out")
	c=$(jq -r '.top[0].values[0].count' "$tmp/out")
	eq "$("$hvlog" decode --count --where "port == $p" "$mix")" "$c" "stats --top count == --where count"
	# intervals: the exact min and max of one event type, worked out with jq
	"$hvlog" decode --format json --event HC_HYPERCALL "$mix" | jq -s '[.[] | select(.type == "event") | .ts] | [range(1; length) as $i | .[$i] - .[$i - 1]] | [min, max] | map(. / 2 | floor)' -c > "$tmp/mm"
	"$hvlog" stats --format json --event HC_HYPERCALL "$mix" | jq -c '.event_types[0].interval_ns | [.min, .max]' > "$tmp/mm2"
	if cmp -s "$tmp/mm" "$tmp/mm2"; then ok; else ko "stats interval min/max: $(cat "$tmp/mm") vs $(cat "$tmp/mm2")"; fi
	expect 0 "stats lost per stream" "$hvlog" stats --format json "$all"
	jq -e '.lost_events == 3 and (.streams[] | select(.stream == 0) | .lost) == 3' "$tmp/out" > /dev/null && ok || ko "stats json lost per stream"
	expect 0 "stats json of nothing" "$hvlog" stats --format json --where 'port == 0x1234' "$mix"
	jq -e '.events == 0 and .events_per_s == null and .groups == []' "$tmp/out" > /dev/null && ok || ko "stats json of nothing"
fi

# ---- info -----------------------------------------------------------------------
expect 0 "info" "$hvlog" info "$all"
cat > "$tmp/want" << 'EOF'
format:        1.0
producer:      tracegen
clock:         tsc, 2000000000 Hz, epoch unknown
streams:       2
  ID     NAME          PARTITION     VP         EVENTS       LOST
  0      vp0                   1      0             40          3
  1      vp1                   1      1             43          0
events:        83
time range:    ticks 1000000..1140282, span 0.000070141 s
lost events:   3
damage:        none
EOF
grep -E '^(format|producer|clock|streams|  |events|time range|lost|damage)' "$tmp/out" > "$tmp/got"
if cmp -s "$tmp/want" "$tmp/got"; then ok; else ko "info all.bin"; diff "$tmp/want" "$tmp/got"; fi
has out "^chunks: +[0-9]+ intact \([0-9]+ indexed with events\)" "info chunks"
has out "^schema: +hyperv version [0-9]+: [0-9]+ groups, [0-9]+ events" "info schema line"
has out "^bytes/event: +[0-9]+\.[0-9]{3} " "info bytes per event"
expect 0 "info --verify intact" "$hvlog" info --verify "$mix"
has out "^verify: +ok" "info --verify ok"
expect 0 "info from a pipe" sh -c "cat '$mix' | '$hvlog' info -"
has out "^events: +$n_all$" "info events from a pipe"
for f in "$data"/damaged/payload-bitflip.bin "$data"/damaged/truncated.bin; do
	expect 1 "info --verify $(basename "$f")" "$hvlog" info --verify "$f"
	has out "^verify: +DAMAGED" "info --verify says damaged"
	has out "^  offset [0-9]+, [0-9]+ bytes, stream" "info --verify lists the regions"
	expect 0 "info without --verify $(basename "$f")" "$hvlog" info "$f"
	has out "^damage: +[1-9][0-9]* regions" "info counts the damage"
done
expect 1 "info not a trace" "$hvlog" info "$data/damaged/not-a-trace.bin"
expect 3 "info missing" "$hvlog" info "$tmp/nope.bin"
expect 0 "info on two files (a row each: tests/info_many.sh)" "$hvlog" info "$all" "$all"
if command -v jq > /dev/null; then
	expect 1 "info json --verify damaged" "$hvlog" info --format json --verify "$data/damaged/payload-bitflip.bin"
	jq -e '.damaged_regions >= 1 and (.damage | length) == .damaged_regions and .format == "1.0"' "$tmp/out" > /dev/null && ok || ko "info json damage list"
fi

echo "filter: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
