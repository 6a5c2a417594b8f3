#!/bin/sh
# convert.sh HVLOG HVCORE TESTDATA - `hvlog convert` checked by real readers:
# jq (json, chrome), Python's csv module (csv), python3-cbor2 (cbor),
# babeltrace2 (ctf), and the round trips bin -> json|cbor -> bin compared
# with `hvlog decode`.  A check whose tool is missing says SKIP.
set -u
HVLOG=$1
HVCORE=$2
DATA=$3
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
CHECK="$PY $HERE/convert_check.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
skip=0

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skipped() { skip=$((skip + 1)); echo "SKIP: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
have_py() { [ -x "$PY" ] && { [ -z "${1:-}" ] || "$PY" -c "import $1" 2>/dev/null; }; }

# ---- traces --------------------------------------------------------------
"$HVCORE" -w mixed -v 4 -n 20000 --seed 7 -o "$T/mix.hvlog" 2>/dev/null || bad "hvcore mixed"
"$HVCORE" -w all -o "$T/all.hvlog" 2>/dev/null || bad "hvcore all"
cp "$DATA/golden/all.bin" "$T/golden.hvlog"   # 2 GHz clock, a lost-events record
TRACES="mix all golden"

for t in $TRACES; do
	"$HVLOG" decode --format json "$T/$t.hvlog" >"$T/$t.ref" || bad "decode $t"
	grep -c '"type":"event"' "$T/$t.ref" >"$T/$t.n"
done

# ---- json: jq for counts, names and values; Python for exact 64-bit values
for t in $TRACES; do
	if ! "$HVLOG" convert --to json "$T/$t.hvlog" -o "$T/$t.jsonl"; then
		bad "convert --to json $t"
		continue
	fi
	# one JSON dialect: decode --format json writes the same bytes
	cmp -s "$T/$t.jsonl" "$T/$t.ref" && ok "json $t: convert --to json and decode --format json are one dialect" ||
		bad "json $t: convert --to json and decode --format json differ"
	if have jq; then
		# bools as bools, for jq and pandas (the golden trace has them)
		r=$(jq -s '[.[] | select(.type == "event") | .params.entering_guest // empty | type] | unique' -c "$T/$t.jsonl")
		case $t:$r in
		golden:'["boolean"]' | mix:* | all:'["boolean"]' | all:'[]') ok "json $t: bools are true/false ($r)" ;;
		*) bad "json $t: bools are $r" ;;
		esac
		n=$(jq -c 'select(.type=="event")' "$T/$t.jsonl" | wc -l)
		[ "$n" = "$(cat "$T/$t.n")" ] && ok "json $t: jq counts $n events" || bad "json $t: jq counts $n events, decode $(cat "$T/$t.n")"
		q='select(.type=="event") | [.ts, .time_ns, .stream, .stream_name, .group, .event, .number, (.names // {})]'
		jq -c "$q" "$T/$t.jsonl" >"$T/$t.jq1"
		jq -c "$q" "$T/$t.ref" >"$T/$t.jq2"
		cmp -s "$T/$t.jq1" "$T/$t.jq2" && ok "json $t: jq finds the same times, streams, groups, events and value names as decode" ||
			bad "json $t: jq finds other times, streams, groups, events or names than decode"
		# decode writes decimal parameters as numbers too: jq compares them
		# (convert writes those above 2^53 as decimal strings)
		jq -c 'select(.type=="event") | .params' "$T/$t.jsonl" >"$T/$t.jp1"
		jq -c 'select(.type=="event") | .params | with_entries(select(.value | type == "number"))' "$T/$t.ref" >"$T/$t.jp2"
		r=$(jq -n --slurpfile a "$T/$t.jp1" --slurpfile b "$T/$t.jp2" \
			'[$a, $b] | transpose | all(.[0] as $c | .[1] | to_entries | all(($c[.key] | if type == "string" then tonumber else . end) == .value))')
		[ "$r" = true ] && ok "json $t: jq finds the same decimal parameter values as decode" || bad "json $t: jq parameter values differ"
	else
		skipped "json $t: jq is not installed"
	fi
	if have_py; then
		out=$($CHECK json "$T/$t.jsonl" "$T/$t.ref") && ok "json $t: $out" || bad "json $t (exact values):
$out"
	else
		skipped "json $t exact values: $PY is missing"
	fi
done

# ---- csv: Python's csv module ---------------------------------------------
for t in $TRACES; do
	if ! "$HVLOG" convert --to csv "$T/$t.hvlog" -o "$T/$t.csv"; then
		bad "convert --to csv $t"
		continue
	fi
	if have_py; then
		out=$($CHECK csv "$T/$t.csv" "$T/$t.ref") && ok "csv $t: $out" || bad "csv $t:
$out"
	else
		skipped "csv $t: $PY is missing"
	fi
done

# ---- cbor: python3-cbor2 ---------------------------------------------------
for t in $TRACES; do
	if ! "$HVLOG" convert --to cbor "$T/$t.hvlog" -o "$T/$t.cbor"; then
		bad "convert --to cbor $t"
		continue
	fi
	if have_py cbor2; then
		out=$($CHECK cbor "$T/$t.cbor" "$T/$t.ref" "$T/$t.jsonl") && ok "cbor $t: $out" || bad "cbor $t:
$out"
	else
		skipped "cbor $t: python3-cbor2 is not installed"
	fi
done

# ---- ctf: babeltrace2 --------------------------------------------------------
for t in $TRACES; do
	if ! "$HVLOG" convert --to ctf "$T/$t.hvlog" -o "$T/$t.ctf"; then
		bad "convert --to ctf $t"
		continue
	fi
	if ! have babeltrace2; then
		skipped "ctf $t: babeltrace2 is not installed"
		continue
	fi
	if babeltrace2 --clock-cycles "$T/$t.ctf" >"$T/$t.bt1" 2>"$T/$t.bt.err" &&
		babeltrace2 --clock-seconds "$T/$t.ctf" >"$T/$t.bt2" 2>>"$T/$t.bt.err"; then
		if have_py; then
			out=$($CHECK ctf "$T/$t.bt1" "$T/$t.bt2" "$T/$t.ref" "$T/$t.jsonl") && ok "ctf $t: $out" || bad "ctf $t:
$out"
		else
			skipped "ctf $t comparison: $PY is missing"
		fi
	else
		bad "ctf $t: babeltrace2 refused it: $(head -5 "$T/$t.bt.err")"
	fi
done
# lost events become CTF discarded events, which babeltrace2 reports
if have babeltrace2; then
	grep -q "discarded 3 events" "$T/golden.bt.err" && ok "ctf golden: babeltrace2 reports the 3 lost events as discarded" ||
		bad "ctf golden: no discarded-events report: $(cat "$T/golden.bt.err")"
fi

# a write that fails names the file under -o, not the temporary directory
# the output is made in (a file size limit makes the metadata's fail)
(trap '' XFSZ; ulimit -f 1; "$HVLOG" convert --to ctf "$T/golden.hvlog" -o "$T/big.ctf") 2>"$T/err"
grep -q "^hvlog: $T/big.ctf/metadata: cannot write" "$T/err" && [ ! -e "$T/big.ctf" ] &&
	ok "ctf: a failed write names the -o directory and leaves nothing" || bad "ctf: failed write: $(cat "$T/err")"

# ---- chrome: jq --------------------------------------------------------------
for t in $TRACES; do
	if ! "$HVLOG" convert --to chrome "$T/$t.hvlog" -o "$T/$t.chrome.json"; then
		bad "convert --to chrome $t"
		continue
	fi
	if ! have jq; then
		skipped "chrome $t: jq is not installed"
		continue
	fi
	n=$(jq '[.traceEvents[] | select(.ph == "i" and .cat != "hvlog")] | length' "$T/$t.chrome.json")
	[ "$n" = "$(cat "$T/$t.n")" ] && ok "chrome $t: valid JSON, $n instant events" || bad "chrome $t: $n instant events, decode $(cat "$T/$t.n")"
	jq -r '.traceEvents[] | select(.ph == "i" and .cat != "hvlog") | .name' "$T/$t.chrome.json" >"$T/$t.cn1"
	jq -r 'select(.type == "event") | .event | sub("^HV_TR_"; "")' "$T/$t.ref" >"$T/$t.cn2"
	cmp -s "$T/$t.cn1" "$T/$t.cn2" && ok "chrome $t: same event names in the same order" || bad "chrome $t: event names differ"
	m=$(jq '[.traceEvents[] | select(.ph == "M" and .name == "thread_name")] | length' "$T/$t.chrome.json")
	s=$(jq -r 'select(.type=="meta") | .streams | length' "$T/$t.jsonl")
	[ "$m" = "$s" ] && ok "chrome $t: one thread_name per stream ($m)" || bad "chrome $t: $m thread names, $s streams"
	# ts in microseconds with nanosecond fractions: the first event's is 0.000, the rest follow time_ns
	jq -r '.traceEvents[] | select(.ph == "i" and .cat != "hvlog") | .ts' "$T/$t.chrome.json" | head -50 >"$T/$t.ct1"
	jq -r 'select(.type == "event") | .time_ns' "$T/$t.ref" | head -50 | awk '{ printf "%d.%03d\n", int($1 / 1000), $1 % 1000 }' |
		sed 's/^\([0-9]*\)\.0*$/\1/; s/\(\.[0-9]*[1-9]\)0*$/\1/' >"$T/$t.ct2"
	sed 's/\(\.[0-9]*[1-9]\)0*$/\1/; s/\.0*$//' "$T/$t.ct1" >"$T/$t.ct1n"
	cmp -s "$T/$t.ct1n" "$T/$t.ct2" && ok "chrome $t: ts in microseconds match time_ns" || bad "chrome $t: ts differ from time_ns"
done

# ---- round trips: bin -> json|cbor -> bin, on random traces and the golden one
roundtrip() { # NAME FILE
	for f in json cbor; do
		if "$HVLOG" convert --to $f "$2" -o "$T/rt.$f" && "$HVLOG" convert --from $f "$T/rt.$f" -o "$T/rt.$f.hvlog"; then
			"$HVLOG" decode "$2" >"$T/rt.a"
			"$HVLOG" decode "$T/rt.$f.hvlog" >"$T/rt.b"
			# JSON too, less the file offsets (chunks fall elsewhere)
			"$HVLOG" decode --format json "$2" | sed 's/,"offset":[0-9]*//' >"$T/rt.ja"
			"$HVLOG" decode --format json "$T/rt.$f.hvlog" | sed 's/,"offset":[0-9]*//' >"$T/rt.jb"
			"$HVLOG" convert --to json "$T/rt.$f.hvlog" | head -1 >"$T/rt.ma"
			"$HVLOG" convert --to json "$2" | head -1 >"$T/rt.mb"
			if cmp -s "$T/rt.a" "$T/rt.b" && cmp -s "$T/rt.ja" "$T/rt.jb" && cmp -s "$T/rt.ma" "$T/rt.mb"; then
				ok "round trip bin -> $f -> bin, $1: $(wc -l <"$T/rt.a") items and the metadata decode identically"
			else
				bad "round trip bin -> $f -> bin, $1: decode differs"
				diff "$T/rt.a" "$T/rt.b" | head -5
			fi
		else
			bad "round trip bin -> $f -> bin, $1: convert failed"
		fi
	done
}
for seed in 1 2 3 4; do
	w=mixed
	[ $seed = 2 ] && w=boot
	[ $seed = 3 ] && w=hypercall
	"$HVCORE" -w $w -v $((seed + 1)) -n $((5000 * seed)) --seed $seed -o "$T/seed$seed.hvlog" 2>/dev/null
	roundtrip "hvcore -w $w --seed $seed" "$T/seed$seed.hvlog"
done
roundtrip "testdata/golden/all.bin (lost events)" "$T/golden.hvlog"
roundtrip "testdata/golden/mix.bin" "$DATA/golden/mix.bin"
roundtrip "hvcore -w all" "$T/all.hvlog"

# ---- custom schema: names come from the file's embedded schema -------------
# Rename an event, a parameter (to a TSDL keyword) and a group in the meta
# line, rebuild a trace with that schema, and convert it.
if have jq; then
	{
		head -1 "$T/golden.jsonl" | jq -c '.schema.events |= map(if .symbol == "HV_TR_IM_MSR_READ" then
			.symbol = "ACME_MSR_PEEK" | .params |= map(if .key == "value" then .key = "event" else . end) else . end)'
		tail -n +2 "$T/golden.jsonl" | jq -c 'if .event == "HV_TR_IM_MSR_READ" then del(.event) | .params.event = .params.value | del(.params.value) else . end'
	} >"$T/custom.jsonl"
	if "$HVLOG" convert --from json "$T/custom.jsonl" -o "$T/custom.hvlog"; then
		n=$("$HVLOG" convert --to json "$T/custom.hvlog" | jq -c 'select(.event == "ACME_MSR_PEEK" and (.params | has("event")))' | wc -l)
		[ "$n" = 2 ] && ok "custom schema: --to json names the 2 renamed events by the embedded schema" || bad "custom schema json: $n"
		"$HVLOG" convert --to csv "$T/custom.hvlog" | head -1 | tr ',' '\n' | grep -qx param_event &&
			ok "custom schema: --to csv has the renamed key (param_event, as it is a fixed column's name)" || bad "custom schema csv header"
		if have babeltrace2; then
			"$HVLOG" convert --to ctf "$T/custom.hvlog" -o "$T/custom.ctf" &&
				n=$(babeltrace2 "$T/custom.ctf" 2>/dev/null | grep -c 'ACME_MSR_PEEK: .*event = ') &&
				[ "$n" = 2 ] && ok "custom schema: babeltrace2 lists ACME_MSR_PEEK with its field 'event'" || bad "custom schema ctf: $n"
		fi
	else
		bad "custom schema: --from json refused the edited schema"
	fi
fi

# ---- 64-bit integers through jq (1.6 parses numbers as doubles) ------------
if have jq; then
	# bin -> json -> jq -> bin decodes identically
	"$HVLOG" convert --to json "$T/mix.hvlog" | jq -c . >"$T/jq.jsonl" &&
		"$HVLOG" convert --from json "$T/jq.jsonl" -o "$T/jq.hvlog" &&
		"$HVLOG" decode "$T/jq.hvlog" >"$T/jq.txt" && "$HVLOG" decode "$T/mix.hvlog" >"$T/mix.txt" &&
		cmp -s "$T/jq.txt" "$T/mix.txt" && ok "json through jq: bin -> json -> jq -> bin decodes identically" ||
		bad "json through jq: the trace changed"
	# jq shows the exact value: hex parameters as decode writes them,
	# other integers above 2^53 as decimal strings
	a=$("$HVLOG" convert --to json "$T/golden.hvlog" | jq -r 'select(.type=="event") | .params.guest_rip // empty' | head -1)
	b=$(jq -r 'select(.type=="event") | .params.guest_rip // empty' "$T/golden.ref" | head -1)
	[ -n "$a" ] && [ "$a" = "$b" ] && ok "json through jq: guest_rip $a exact, spelled as decode does" ||
		bad "json through jq: guest_rip '$a', decode '$b'"
	printf '%s\n' '{"event":"IM_HLT_INSTRUCTION","ts":18446744073709551615,"params":{"guest_rip":1}}' |
		"$HVLOG" convert --from json -o "$T/big.hvlog" || bad "--from json, ts 2^64 - 1"
	v=$("$HVLOG" convert --to json "$T/big.hvlog" | jq -r 'select(.type=="event") | .ts')
	[ "$v" = 18446744073709551615 ] && ok "json through jq: ts 18446744073709551615 exact" || bad "json through jq: ts $v"
	v=$("$HVLOG" convert --to json --json-integers "$T/mix.hvlog" | jq -r 'select(.type=="event") | .params.guest_rip // empty | type' | sort -u)
	[ "$v" = number ] && ok "--json-integers: parameters as JSON numbers" || bad "--json-integers: parameters as $v"
	if have_py; then
		"$HVLOG" convert --to json --json-integers "$T/mix.hvlog" -o "$T/raw.jsonl"
		out=$($CHECK json "$T/raw.jsonl" "$T/mix.ref") && ok "--json-integers: $out" || bad "--json-integers (exact values): $out"
	fi
else
	skipped "json through jq: jq is not installed"
fi

# ---- by hand: JSON Lines without metadata (built-in schema, ns clock) -------
cat >"$T/hand.jsonl" <<'EOF'
{"event":"IM_MSR_READ","ts":1000,"params":{"guest_rip":"0xfffff80000001000","index":27,"value":5}}
{"event":"HV_TR_IM_HLT_INSTRUCTION","ts":1500,"params":{"guest_rip":4096}}
{"type":"lost","ts":1500,"count":2,"first_ts":1600,"last_ts":1700}
{"number":33,"ts":2000,"params":{"guest_rip":1,"index":"0x1b","value":18446744073709551615}}
EOF
if "$HVLOG" convert --from json "$T/hand.jsonl" -o "$T/hand.hvlog" &&
	"$HVLOG" decode "$T/hand.hvlog" >"$T/hand.txt" &&
	grep -q "IM_MSR_READ .*index=IA32_APIC_BASE value=0x5" "$T/hand.txt" &&
	grep -q "LOST 2 events" "$T/hand.txt" && grep -q "value=0xffffffffffffffff" "$T/hand.txt" &&
	[ "$(wc -l <"$T/hand.txt")" = 4 ]; then
	ok "by hand: JSON Lines without metadata become a trace with the built-in schema"
else
	bad "by hand: $(cat "$T/hand.txt" 2>/dev/null)"
fi

# ---- errors and options -------------------------------------------------------
expect() { # STATUS DESCRIPTION CMD...
	want=$1
	what=$2
	shift 2
	"$@" >/dev/null 2>"$T/err"
	got=$?
	[ $got = "$want" ] && ok "$what: exit $got" || bad "$what: exit $got, want $want: $(cat "$T/err")"
}
expect 2 "ctf without -o" "$HVLOG" convert --to ctf "$T/mix.hvlog"
expect 2 "unknown format" "$HVLOG" convert --to yaml "$T/mix.hvlog"
expect 2 "both --to and --from" "$HVLOG" convert --to json --from json "$T/mix.hvlog"
expect 2 "neither --to nor --from" "$HVLOG" convert "$T/mix.hvlog"
expect 2 "--count" "$HVLOG" convert --to json --count "$T/mix.hvlog"
"$HVLOG" convert --help | grep -q -- '--count' && bad "convert --help lists --count, which convert refuses" ||
	ok "convert --help does not list --count"
"$HVLOG" convert --help | grep -q -- '--limit' && ok "convert --help lists the other selection options" ||
	bad "convert --help lost the selection options"
expect 2 "--json-integers without --to json" "$HVLOG" convert --to csv --json-integers "$T/mix.hvlog"
printf '{"type":"event","ts":1,"number":33,"params":{"guest_rip":1}}\n' >"$T/bad1.jsonl"
expect 1 "--from json, a missing parameter" "$HVLOG" convert --from json "$T/bad1.jsonl" -o "$T/bad1.hvlog"
grep -q "bad1.jsonl:1: parameter 'index' is missing" "$T/err" && ok "--from json names the line and parameter" || bad "message: $(cat "$T/err")"
printf 'not json\n' >"$T/bad2.jsonl"
expect 1 "--from json, not JSON" "$HVLOG" convert --from json "$T/bad2.jsonl" -o "$T/bad2.hvlog"
head -c 100 "$T/mix.cbor" >"$T/cut.cbor"
expect 1 "--from cbor, cut short" "$HVLOG" convert --from cbor "$T/cut.cbor" -o "$T/cut.hvlog"
# standard input and output, and --group
"$HVLOG" convert --to json - <"$T/mix.hvlog" | cmp -s - "$T/mix.jsonl" && ok "convert reads standard input" || bad "stdin"
"$HVLOG" convert --to json "$T/mix.hvlog" | "$HVLOG" convert --from json - >"$T/pipe.hvlog" &&
	"$HVLOG" decode "$T/pipe.hvlog" | cmp -s - "$("$HVLOG" decode "$T/mix.hvlog" >"$T/mix.txt"; echo "$T/mix.txt")" &&
	ok "json -> hvlog through pipes" || bad "pipes"
# the selection options of decode (cli/select.h)
if have jq; then
	g=$("$HVLOG" convert --to json --group interrupt "$T/mix.hvlog" | jq -r 'select(.type=="event") | .group' | sort -u)
	[ "$g" = interrupt ] && ok "--group interrupt keeps only that group" || bad "--group: $g"
fi
want=$("$HVLOG" decode --count -e IM_IO_PORT_WRITE -w 'port == 0x3f8' "$T/mix.hvlog")
"$HVLOG" convert --to csv -e IM_IO_PORT_WRITE -w 'port == 0x3f8' "$T/mix.hvlog" -o "$T/sel.csv"
[ "$(head -1 "$T/sel.csv" | tr -d '\r')" = "type,time_ns,ts,stream,stream_name,group,event,number,guest_rip,port,value,detail" ] &&
	[ "$(grep -c '^event,.*,0x3f8,' "$T/sel.csv")" = "$want" ] && [ "$want" -gt 0 ] &&
	ok "--event and --where select $want events; the CSV has only their parameter columns" ||
	bad "selection: $(head -1 "$T/sel.csv"), $(grep -c '^event' "$T/sel.csv") rows, decode --count $want"
n=$("$HVLOG" convert --to json -n 10 "$T/mix.hvlog" | grep -c '"type":"event"')
[ "$n" = 10 ] && ok "--limit 10 converts 10 events" || bad "--limit: $n"
expect 2 "--from with a selection option" "$HVLOG" convert --from json -g interrupt "$T/mix.jsonl" -o "$T/x.hvlog"
# damaged input: everything intact converted, exit 1
for d in payload-bitflip truncated; do
	dmg=$DATA/damaged/$d.bin
	"$HVLOG" decode --format json "$dmg" >"$T/dmg.ref" 2>/dev/null
	for f in json cbor csv chrome; do
		expect 1 "damaged input $d.bin, --to $f" "$HVLOG" convert --to $f "$dmg" -o "$T/dmg.$f"
	done
	a=$(grep -c '"type":"event"' "$T/dmg.ref")
	b=$(grep -c '"type":"event"' "$T/dmg.json")
	c=$(grep -c '"type":"damage"' "$T/dmg.json")
	[ "$a" = "$b" ] && [ "$c" -ge 1 ] && ok "damaged input $d.bin: the $a intact events and $c damage object(s) are converted" ||
		bad "damaged $d.bin: $b of $a events, $c damage objects"
	if ! have jq; then
		skipped "damaged input $d.bin rebuild: jq is not installed"
		continue
	fi
	# times relative to the first chunk move when that chunk is damaged: compare ticks
	# (the meta items differ in t0 for the same reason)
	keep='select(.type == "event") | del(.time_ns)'
	jq -c "$keep" "$T/dmg.ref" >"$T/dmg.a"
	"$HVLOG" convert --from json "$T/dmg.json" -o "$T/dmg.hvlog" 2>"$T/err" &&
		"$HVLOG" decode --format json "$T/dmg.hvlog" >"$T/dmg.b" &&
		jq -c "$keep" "$T/dmg.b" | cmp -s - "$T/dmg.a" &&
		grep -q "damage item(s) cannot be rebuilt" "$T/err" &&
		ok "damaged input $d.bin: --from json rebuilds the $a events and says the damage was left out" || bad "damaged $d.bin rebuild"
	# the events the damage is known to have lost become lost events
	want=$(jq -s '[.[] | select(.type == "lost") | .count | tonumber] + [.[] | select(.type == "damage" and .stream != null) | .events_lost | tonumber] | add // 0' "$T/dmg.ref")
	got=$(jq -s '[.[] | select(.type == "lost") | .count | tonumber] | add // 0' "$T/dmg.b")
	[ "$want" = "$got" ] && ok "damaged input $d.bin: the rebuild counts the $want events lost" ||
		bad "damaged $d.bin rebuild: $got events lost, expected $want"
done

echo "convert: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
