#!/bin/sh
# perfetto.sh HVLOG HVCORE PERFETTO_REF PROTO TESTDATA - `hvlog convert --to
# perfetto` checked by real readers: protoc --decode with the project's
# perfetto/perfetto_trace.proto, and python3-protobuf (perfetto_check.py)
# comparing every instant, lost and damage item and the counters with
# `hvlog decode --format json`; the project's packer against protobuf-c's
# (PERFETTO_REF).  With PERFETTO_PROTOS naming a directory that holds
# Perfetto's own protos/perfetto/trace/trace.proto (a checkout of
# github.com/google/perfetto), protoc decodes with those too and must print
# the same text, and perfetto_fields.py finds every message, field and enum
# value of ours in theirs with the same number and type.
set -u
HVLOG=$1
HVCORE=$2
REF=$3
PROTO=$4
DATA=$5
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
T=$tmp
trap 'rm -rf "$tmp"' EXIT
. "$HERE/testlib.sh"
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skipped() { echo "SKIP: $*"; }

PDIR=$(dirname "$PROTO")
PNAME=$(basename "$PROTO")
"$HVCORE" -w mixed -v 4 -n 20000 --seed 7 -o "$T/mix.hvlog" 2>/dev/null || bad "hvcore mixed"
"$HVCORE" -w all -o "$T/all.hvlog" 2>/dev/null || bad "hvcore all"
cp "$DATA/golden/all.bin" "$T/golden.hvlog"              # 2 GHz clock, a lost-events record
cp "$DATA/damaged/payload-bitflip.bin" "$T/damaged.hvlog" # a damaged chunk

if command -v protoc >/dev/null 2>&1 && "$PY" -c 'import google.protobuf' 2>/dev/null; then
	mkdir "$T/py" && protoc --python_out="$T/py" -I"$PDIR" "$PROTO" || bad "protoc --python_out"
	have=1
else
	skipped "protoc or python3-protobuf missing (scripts/deps.sh installs them)"
	have=0
fi

for t in mix all golden damaged; do
	"$HVLOG" decode --format json "$T/$t.hvlog" >"$T/$t.jsonl" 2>/dev/null
	"$HVLOG" convert --to perfetto "$T/$t.hvlog" -o "$T/$t.pftrace" 2>"$T/$t.err"
	rc=$?
	want=0
	[ $t = damaged ] && want=1
	[ $rc = $want ] || { bad "convert $t: exit $rc, want $want"; cat "$T/$t.err"; continue; }
	[ $have = 1 ] || continue
	if protoc --decode=perfetto.protos.Trace -I"$PDIR" "$PNAME" <"$T/$t.pftrace" >"$T/$t.txt"; then
		n=$(grep -c '"type":"event"\|"type":"lost"\|"type":"damage"' "$T/$t.jsonl")
		got=$(grep -c 'type: TYPE_INSTANT' "$T/$t.txt")
		[ "$n" = "$got" ] && ok "protoc --decode $t: $got instants" || bad "protoc --decode $t: $got instants, want $n"
	else
		bad "protoc --decode $t"
	fi
	if "$PY" "$HERE/perfetto_check.py" "$T/py" "$T/$t.pftrace" "$T/$t.jsonl" 1000000 >"$T/$t.check"; then
		ok "perfetto_check $t: $(cat "$T/$t.check")"
	else
		bad "perfetto_check $t: $(cat "$T/$t.check")"
	fi
	if [ -n "${PERFETTO_PROTOS:-}" ] && [ -f "$PERFETTO_PROTOS/protos/perfetto/trace/trace.proto" ]; then
		if protoc --decode=perfetto.protos.Trace -I"$PERFETTO_PROTOS" protos/perfetto/trace/trace.proto \
			<"$T/$t.pftrace" >"$T/$t.theirs" && cmp -s "$T/$t.txt" "$T/$t.theirs"; then
			ok "$t: the same text decoded with Perfetto's own protos"
		else
			bad "$t: decoded with Perfetto's own protos, the text differs"
		fi
	fi
done
if [ -n "${PERFETTO_PROTOS:-}" ] && [ $have = 1 ]; then
	# every message, field and enum value of ours is Perfetto's, numbers and types alike
	protoc -o "$T/ours.desc" --include_imports -I"$PDIR" "$PNAME" &&
	protoc -o "$T/theirs.desc" --include_imports -I"$PERFETTO_PROTOS" protos/perfetto/trace/trace.proto &&
	"$PY" "$HERE/perfetto_fields.py" "$T/ours.desc" "$T/theirs.desc" >"$T/fields" &&
		ok "fields: $(cat "$T/fields")" || bad "fields: $(cat "$T/fields")"
else
	skipped "PERFETTO_PROTOS not set: not compared with Perfetto's own protos"
fi

# the same selection as decode's
"$HVLOG" convert --to perfetto -g interrupt --vp 1 "$T/mix.hvlog" -o "$T/sel.pftrace" &&
"$HVLOG" decode --format json -g interrupt --vp 1 "$T/mix.hvlog" >"$T/sel.jsonl" &&
if [ $have = 1 ]; then
	"$PY" "$HERE/perfetto_check.py" "$T/py" "$T/sel.pftrace" "$T/sel.jsonl" 1000000 >"$T/sel.check" &&
		ok "selection: $(cat "$T/sel.check")" || bad "selection: $(cat "$T/sel.check")"
fi

# binary: not to a terminal; one packer's bytes are protobuf-c's
if out=$("$REF" "$T/mix.hvlog" "$T/all.hvlog" "$T/golden.hvlog" "$T/damaged.hvlog"); then
	ok "packers agree"
else
	bad "packers differ"
fi
echo "$out"

# a terminal is refused as standard output (binary), exit 2
if command -v script >/dev/null 2>&1; then
	script -qec "$HVLOG convert --to perfetto $T/mix.hvlog" /dev/null >"$T/tty" 2>&1
	grep -q "binary" "$T/tty" && ok "a terminal is refused" || bad "a terminal is not refused: $(head -2 "$T/tty")"
fi
testlib_done perfetto
