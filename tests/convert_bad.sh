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

# ---- lines without end, NUL bytes, nothing at all -------------------------
# /dev/zero is one line that never ends: refused at the line cap, in
# bounded memory (under a 300 MB address-space limit, a reader that grows
# the line until malloc fails must not take that for the end of the input)
rm -f "$tmp/o.hvlog"
(ulimit -v 300000 && exec "$hvlog" convert --from json /dev/zero -o "$tmp/o.hvlog") > "$tmp/out" 2> "$tmp/err"
got=$?
[ $got -eq 1 ] && ok || ko "--from json /dev/zero: exit $got, expected 1"
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

echo "convert_bad: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
