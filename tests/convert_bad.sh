#!/bin/sh
# `hvlog convert --from json|cbor` on hostile or wrong input: each is
# refused with the line (JSON) or byte offset (CBOR) and the field, exit 1,
# no output left, never a crash, never memory that grows with a declared
# size or a line without end.
#   tests/convert_bad.sh HVLOG TRACEGEN
set -u
hvlog=$1 gen=$2
PY=/usr/bin/python3
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/checks.sh"

"$gen" all "$tmp/all.bin" || { echo "tracegen failed"; exit 1; }
"$hvlog" convert --to json "$tmp/all.bin" -o "$tmp/all.jsonl" || ko "convert --to json"
"$hvlog" convert --to cbor "$tmp/all.bin" -o "$tmp/all.cbor" || ko "convert --to cbor"

# refused FORMAT FILE PATTERN DESCRIPTION: --from FORMAT FILE exits 1 with
# a message matching PATTERN and leaves no output
refused() {
	rm -f "$tmp/o.hvlog"
	expect 1 "$4" "$hvlog" convert --from "$1" "$2" -o "$tmp/o.hvlog"
	has err "$3" "$4: message"
	if [ -e "$tmp/o.hvlog" ]; then ko "$4: an output was left"; else ok; fi
}

# limited KB WANT FORMAT FILE DESCRIPTION: --from FORMAT FILE under an
# address-space limit of KB kilobytes exits WANT.  A sanitizer's shadow
# memory needs more address space than any such limit: there the run has
# no limit, and the sanitizer's own allocator checks what it can.
if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ] || grep -q -e __asan_init -e __tsan_init "$hvlog"; then
	vlimit=unlimited
else
	vlimit=
fi
limited() {
	rm -f "$tmp/o.hvlog"
	(ulimit -v "${vlimit:-$1}" && exec "$hvlog" convert --from "$3" "$4" -o "$tmp/o.hvlog") > "$tmp/out" 2> "$tmp/err"
	got=$?
	[ $got -eq "$2" ] && ok || ko "$5: exit $got, expected $2"
}

# ---- lines without end, NUL bytes, nothing at all -------------------------
# /dev/zero is one line that never ends: refused at the line cap, in
# bounded memory (under a 300 MB address-space limit, a reader that grows
# the line until malloc fails must not take that for the end of the input)
limited 300000 1 json /dev/zero "--from json /dev/zero"
has err "/dev/zero:1: a line longer than" "--from json /dev/zero: message"
[ -e "$tmp/o.hvlog" ] && ko "--from json /dev/zero left an output" || ok
{ head -n 3 "$tmp/all.jsonl"; printf '{"type":"event",\000"ts":1}\n'; } > "$tmp/nul.jsonl"
refused json "$tmp/nul.jsonl" "nul.jsonl:4: not JSON: a NUL byte at column 17" "--from json, a NUL byte"
: > "$tmp/empty"
printf '\n  \n\t\n' > "$tmp/blank"
for f in empty blank; do
	refused json "$tmp/$f" "no items" "--from json, $f input"
done
refused cbor "$tmp/empty" "no items" "--from cbor, empty input"
# a meta line alone is an empty trace
head -n 1 "$tmp/all.jsonl" > "$tmp/meta.jsonl"
expect 0 "--from json, only the meta line" "$hvlog" convert --from json "$tmp/meta.jsonl" -o "$tmp/o.hvlog"
eq "$("$hvlog" decode --count "$tmp/o.hvlog")" 0 "--from json, only the meta line: no events"

# ---- numbers out of range: refused with line and field
meta=$(head -n 1 "$tmp/all.jsonl") # 2 GHz clock, streams vp0..vp3
hlt='"event":"IM_HLT_INSTRUCTION","params":{"guest_rip":1}'
# bad_json NAME PATTERN LINE...: the lines after the meta line are refused
bad_json() {
	name=$1 pattern=$2
	shift 2
	{ echo "$meta"; for l in "$@"; do echo "$l"; done; } > "$tmp/$name.jsonl"
	refused json "$tmp/$name.jsonl" "$name.jsonl:$(($# + 1)): $pattern" "--from json: $name"
}
bad_json ts64 "'ts': 18446744073709551616 is out of range \(above 2\^64 - 1\)" "{$hlt,\"ts\":18446744073709551616}"
bad_json ts_huge "'ts': 9999999999999999999999 is out of range" "{$hlt,\"ts\":9999999999999999999999}"
bad_json u64 "'guest_rip': 18446744073709551616 is out of range" \
	'{"event":"IM_HLT_INSTRUCTION","ts":1,"params":{"guest_rip":18446744073709551616}}'
bad_json u64_text "parameter 'guest_rip' is not an unsigned integer" \
	'{"event":"IM_HLT_INSTRUCTION","ts":1,"params":{"guest_rip":"18446744073709551616"}}'
bad_json u64_nul "parameter 'guest_rip' is not an unsigned integer" \
	'{"event":"IM_HLT_INSTRUCTION","ts":1,"params":{"guest_rip":"0x1\u0000junk"}}'
bad_json u8 "parameter 'type' is too large for its type" \
	'{"event":"IM_GUEST_EXCEPTION","ts":1,"params":{"guest_rip":1,"type":256}}'
bad_json u32 "parameter 'index' is too large for its type" \
	'{"event":"IM_MSR_READ","ts":1,"params":{"guest_rip":1,"index":4294967296,"value":0}}'
bad_json time_ns "'time_ns' is beyond the last tick of the clock" "{$hlt,\"time_ns\":18446744073709551615}"
# streams are each in time order, not all together; equal times are fine
{ echo "$meta"; echo "{$hlt,\"ts\":10,\"stream\":1}"; echo "{$hlt,\"ts\":5,\"stream\":0}"; echo "{$hlt,\"ts\":5,\"stream\":0}"; } > "$tmp/order.jsonl"
expect 0 "--from json, each stream in order" "$hvlog" convert --from json "$tmp/order.jsonl" -o "$tmp/o.hvlog"
# a time back in its stream is kept, as the writer records it (a TIME
# record), and reads back as given
{ echo "$meta"; echo "{$hlt,\"ts\":10,\"stream\":1}"; echo "{$hlt,\"ts\":5,\"stream\":1}"; echo "{$hlt,\"ts\":7,\"stream\":1}"; } > "$tmp/back.jsonl"
expect 0 "--from json, time back in a stream" "$hvlog" convert --from json "$tmp/back.jsonl" -o "$tmp/o.hvlog"
eq "$("$hvlog" decode --format json "$tmp/o.hvlog" | grep -o '"ts":[0-9]*' | tr '\n' ' ')" '"ts":10 "ts":5 "ts":7 ' \
	"--from json, time back in a stream: the times as given"
# lost counts add up to at most 2^64 - 1, never wrap
{ echo "$meta"; for t in 5 6; do echo "{\"type\":\"lost\",\"ts\":$t,\"stream\":0,\"count\":18446744073709551615}"; done
  echo '{"type":"lost","ts":7,"stream":1,"count":5}'; } > "$tmp/sat.jsonl"
expect 0 "--from json, lost counts of 2^64 - 1" "$hvlog" convert --from json "$tmp/sat.jsonl" -o "$tmp/sat.hvlog"
for cmd in info stats "stats -j 2"; do
	# shellcheck disable=SC2086 # the command and its options
	expect 0 "$cmd of lost counts of 2^64 - 1" "$hvlog" $cmd "$tmp/sat.hvlog"
	has out "^lost.* 18446744073709551615( events)?$" "$cmd: the lost total stays at 2^64 - 1"
done
# a trace whose time goes back (TIME records) through JSON and CBOR and back:
# the same events
"$gen" mix-back 20000 "$tmp/back.bin" || ko "tracegen mix-back"
"$hvlog" decode --format json "$tmp/back.bin" | tail -n +2 > "$tmp/back.want"
for f in json cbor; do
	"$hvlog" convert --to $f "$tmp/back.bin" -o "$tmp/back.$f" &&
		expect 0 "--from $f of a trace whose time goes back" "$hvlog" convert --from $f "$tmp/back.$f" -o "$tmp/back2.bin"
	"$hvlog" decode --format json "$tmp/back2.bin" | tail -n +2 > "$tmp/back.got"
	if cmp -s "$tmp/back.want" "$tmp/back.got"; then ok; else ko "--to $f | --from $f of a trace whose time goes back: other events"; fi
done
# the largest values are kept
{ echo "$meta"; echo "{$hlt,\"ts\":18446744073709551615}"; } > "$tmp/max.jsonl"
expect 0 "--from json, ts 2^64 - 1" "$hvlog" convert --from json "$tmp/max.jsonl" -o "$tmp/o.hvlog"
"$hvlog" decode --format json "$tmp/o.hvlog" > "$tmp/out"
has out '"ts":"18446744073709551615"' "--from json, ts 2^64 - 1 kept"

# ---- CBOR floats where an integer, text or null is looked for -------------
if [ -x "$PY" ] && "$PY" -c 'import cbor2' 2>/dev/null; then
	# cbor FILE ITEM...: a CBOR sequence of the Python expressions ITEM
	cbor() {
		f=$1
		shift
		"$PY" - "$f" "$@" <<'EOF'
import cbor2, sys
with open(sys.argv[1], "wb") as f:
    for e in sys.argv[2:]:
        f.write(cbor2.dumps(eval(e)))
EOF
	}
	# the file's own metadata with one field changed (a Python statement on m)
	meta_with() {
		"$PY" - "$tmp/all.cbor" "$1" "$2" <<'EOF'
import cbor2, io, sys
src, out, change = sys.argv[1:]
with open(src, "rb") as f:
    m = cbor2.load(f)
exec(change)
with open(out, "wb") as f:
    f.write(cbor2.dumps(m))
    f.write(cbor2.dumps({"type": "event", "number": 1, "ts": 5, "params": {}}))
EOF
	}
	cbor "$tmp/f1.cbor" '{"type": 1.5}'
	refused cbor "$tmp/f1.cbor" "'type' is not" "cbor: a float type"
	h='"type": "event", "event": "IM_HLT_INSTRUCTION", "params": {"guest_rip": 1}'
	cbor "$tmp/back.cbor" "{$h, \"ts\": 10}" "{$h, \"ts\": 5}"
	expect 0 "--from cbor, time back in a stream" "$hvlog" convert --from cbor "$tmp/back.cbor" -o "$tmp/o.hvlog"
	eq "$("$hvlog" decode --format json "$tmp/o.hvlog" | grep -o '"ts":[0-9]*' | tr '\n' ' ')" '"ts":10 "ts":5 ' \
		"--from cbor, time back in a stream: the times as given"
	cbor "$tmp/u8.cbor" '{"type": "event", "event": "IM_GUEST_EXCEPTION", "ts": 1, "params": {"guest_rip": 1, "type": 256}}'
	refused cbor "$tmp/u8.cbor" "parameter 'type' is too large for its type" "cbor: a u8 of 256"
	i=0
	for item in '{"type": "event", "number": 1.5, "ts": 1}' '{"type": "event", "event": "IM_HLT_INSTRUCTION", "ts": 2.5}' \
		'{"type": "event", "event": "IM_HLT_INSTRUCTION", "ts": 1, "stream": 0.5}' \
		'{"type": "lost", "ts": 1, "count": 1.5}' '{"type": "event", "event": "IM_HLT_INSTRUCTION", "ts": 1, "params": {"guest_rip": 1.5}}' \
		'{"type": 1.5e300}' '{"type": float("nan")}'; do
		i=$((i + 1))
		cbor "$tmp/f$i.cbor" "$item"
		refused cbor "$tmp/f$i.cbor" "is not|needs" "cbor: a float in $item"
	done
	for change in 'm["producer"] = 1.5' 'm["clock"]["hz"] = 1.5' 'm["clock"]["epoch_ns"] = 1.5' 'm["t0"] = 1.5' \
		'm["streams"][0]["vp"] = 1.5' 'm["streams"][0]["id"] = 1.5' 'm["schema"]["version"] = 1.5' \
		'm["schema"]["events"][0]["params"][0]["values"] = 1.5' 'm["schema"]["valtabs"][0]["values"][0][0] = 1.5' \
		'm["clock"] = 1.5' 'm["schema"] = 1.5' 'm["streams"] = 1.5'; do
		meta_with "$tmp/m.cbor" "$change"
		rm -f "$tmp/o.hvlog"
		"$hvlog" convert --from cbor "$tmp/m.cbor" -o "$tmp/o.hvlog" 2> "$tmp/err"
		got=$?
		# a float where a value may be left out is as if left out (t0, epoch_ns)
		[ $got -le 1 ] && ok || ko "cbor: metadata with $change: exit $got"
		grep -q Assertion "$tmp/err" && ko "cbor: metadata with $change: $(cat "$tmp/err")" || ok
	done
else
	echo "SKIP: the CBOR checks need python3-cbor2"
fi

# ---- declared sizes and counts checked before anything is allocated ------
# (under a 300 MB address-space limit: libcbor zero-filled 526 MB for the
# first file and gigabytes for the nested one before looking at the data)
if [ -x "$PY" ]; then
	"$PY" - "$tmp" <<'EOF'
import json, struct, sys
t = sys.argv[1]
def put(name, data):
    open(t + "/" + name, "wb").write(data)
put("arr26.cbor", b"\x9a" + struct.pack(">I", 1 << 26) + b"\x00" * 1000)  # array of 2^26
put("nest24.cbor", (b"\x9a" + struct.pack(">I", 1 << 24)) * 200)          # nested 2^24 arrays
put("map63.cbor", b"\xbb" + struct.pack(">Q", 1 << 63) + b"\x00" * 1000)  # 2^63 pairs (x2 saturates)
put("arr20.cbor", b"\x9a" + struct.pack(">I", 1 << 20) + b"\x00" * 1000)  # 2^20 in 1 KB
put("deep.cbor", b"\x81" * 40 + b"\x00")                                  # 40 levels
put("indef.cbor", b"\xbf\x64type\x65event\xff")                           # indefinite map
put("tag.cbor", b"\xc1\xa1\x64type\x65event")                             # a tag
# the metadata of `convert --to json` with 65,536 streams
meta = json.loads(open(t + "/all.jsonl").readline())
meta["streams"] = [{"id": i, "name": "s", "partition": 0, "vp": 0} for i in range(65536)]
open(t + "/streams.jsonl", "w").write(json.dumps(meta) + "\n")
EOF
	for f in arr26 nest24 map63 arr20; do
		limited 300000 1 cbor "$tmp/$f.cbor" "--from cbor $f"
		has err "$f.cbor:0: a CBOR item declares more entries than there are bytes" "--from cbor $f: message"
	done
	refused cbor "$tmp/deep.cbor" "is nested too deeply" "--from cbor, 40 levels of arrays"
	refused cbor "$tmp/indef.cbor" "uses an indefinite length" "--from cbor, an indefinite map"
	refused cbor "$tmp/tag.cbor" "uses a CBOR tag" "--from cbor, a tag"
	limited 1000000 1 json "$tmp/streams.jsonl" "--from json, 65,536 streams"
	has err "streams.jsonl: metadata: 'streams' alone take more than the 1 MiB" "--from json, 65,536 streams: message"
else
	echo "SKIP: the declared-size checks need $PY"
fi

echo "convert_bad: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
