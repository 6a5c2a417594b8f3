#!/bin/sh
# The command line under Valgrind (memcheck): a representative set of hvlog
# commands on the small traces of testdata/ (golden and damaged), each
# checked for its usual exit status and for no memory error and no
# definite leak (valgrind exits 99 then).
#   tests/valgrind.sh HVLOG TESTDATA_DIR
# Exits 77 (skipped) if valgrind is not installed or HVLOG is built with
# a sanitizer (scripts/test.sh's ASan build).
set -u
hvlog=$1 data=$2
if ! command -v valgrind > /dev/null 2>&1; then
	echo "valgrind is not installed: skipped"
	exit 77
fi
if grep -Eq '__(asan|tsan|msan)_init' "$hvlog"; then
	echo "$hvlog is built with a sanitizer, which cannot run under valgrind: skipped"
	exit 77
fi
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
all="$data/golden/all.bin" mix="$data/golden/mix.bin"

# vg CODE DESCRIPTION ARGS...: `hvlog ARGS...` under valgrind, standard
# input from $stdin, output to $tmp/out; exit CODE expected
stdin=/dev/null
vg() {
	want=$1 what=$2
	shift 2
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
		--errors-for-leak-kinds=definite --log-file="$tmp/vg.log" \
		"$hvlog" "$@" < "$stdin" > "$tmp/out" 2> "$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ] && [ ! -s "$tmp/vg.log" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $what: exit $got, expected $want (99: valgrind found errors)"
		head -40 "$tmp/vg.log"
		head -5 "$tmp/err"
	fi
}

# decode: text and JSON, with and without a selection
vg 0 "decode" decode "$all"
vg 0 "decode --format json" decode --format json "$mix"
vg 0 "decode with a selection" decode --group interrupt --where 'port == 0x3f8 || index in {CR2, IA32_EFER}' \
	--exclude-event IM_HLT_INSTRUCTION "$mix"
vg 0 "decode --format json with a selection" decode --format json --event 'IM_IO_PORT_*' --vp 1 \
	--since 1ms --until 15ms --where '!(port in {0x60, 0x64}) && value > 0' "$mix"
vg 0 "decode --count --partition --limit" decode --count --partition 2 --limit 100 "$mix"
vg 2 "decode, bad --where" decode --where 'port == 1 && (value = 2' "$all"
vg 2 "decode, unknown group" decode --group nosuchgroup "$all"

# filter, stats, info, events
vg 0 "filter" filter --group interrupt --where 'value != 0' -o "$tmp/filtered.bin" "$mix"
vg 0 "decode the filtered trace" decode --count "$tmp/filtered.bin"
vg 0 "filter --format json" filter --format json --stream vp0 "$all"
vg 0 "stats" stats "$mix"
vg 0 "stats --top, json" stats --top port --top index=3 --format json "$mix"
vg 0 "stats --top with a selection" stats --top guest_rip=5 --group interrupt "$mix"
vg 0 "info" info "$mix"
vg 0 "info --verify" info --verify "$all"
vg 0 "events" events
vg 0 "events --format json" events --format json

# convert to each format, and JSON and CBOR back
for to in json csv cbor chrome; do
	vg 0 "convert --to $to" convert --no-progress --to "$to" -o "$tmp/all.$to" "$all"
done
vg 0 "convert --to ctf" convert --no-progress --to ctf -o "$tmp/ctf" "$mix"
vg 0 "convert --to json with a selection" convert --no-progress --to json --group interrupt \
	--where 'port == 0x60' -o "$tmp/sel.json" "$mix"
vg 0 "convert --from json" convert --no-progress --from json -o "$tmp/back.bin" "$tmp/all.json"
vg 0 "convert --from cbor" convert --no-progress --from cbor -o "$tmp/back2.bin" "$tmp/all.cbor"
printf '{"type":"event","event":"HC_HYPERCALL","ts":1,"params":{"guest_rip":1}}\n' > "$tmp/bad.jsonl"
vg 1 "convert --from json, bad input" convert --no-progress --from json -o "$tmp/bad.bin" "$tmp/bad.jsonl"

# damaged traces: every sample of testdata/damaged, decoded (its .exit is
# decode's expected status), and one verified and converted
for f in "$data"/damaged/*.bin; do
	vg "$(cat "${f%.bin}.exit")" "decode $(basename "$f")" decode "$f"
done
vg 1 "info --verify, damaged" info --verify "$data/damaged/payload-bitflip.bin"
vg 1 "convert --to json, damaged" convert --no-progress --to json -o "$tmp/dmg.json" "$data/damaged/truncated.bin"
vg 3 "decode, no such file" decode "$tmp/no-such-file.bin"

# pipes: a trace on standard input (a pipe: the reader spools it), and
# JSON Lines back through one
mkfifo "$tmp/pipe"
stdin=$tmp/pipe
cat "$mix" > "$tmp/pipe" &
vg 0 "decode - (a pipe)" decode --format json -
cat "$all" > "$tmp/pipe" &
vg 0 "stats - (a pipe)" stats --top port -
cat "$tmp/all.json" > "$tmp/pipe" &
vg 0 "convert --from json - (a pipe)" convert --no-progress --from json -o "$tmp/back3.bin" -
stdin=/dev/null
wait

echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
