#!/bin/sh
# The reference decoder written from docs/FORMAT.md alone (format_ref.py)
# decodes every golden and damaged trace of testdata/, and fresh traces of
# tracegen and hvcore -b sim (intact, truncated, with a flipped byte), to the
# same events, lost records and damage (offset, kind, length, events lost,
# stream, time) as `hvlog decode --format json`; so do copies of all.bin
# damaged with their checksums made consistent.  A file both refuse agrees.
#   tests/format_ref.sh HVLOG TRACEGEN HVCORE TESTDATA_DIR
set -u
hvlog=$1 tracegen=$2 hvcore=$3 data=$4
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
ref="$here/format_ref.py"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$here/testlib.sh"
if ! "$PY" -c 'import cbor2' 2> /dev/null; then
	echo "format_ref: python3-cbor2 is not installed (scripts/deps.sh)"
	exit 77
fi

# agree FILE: the reference decoder and hvlog decode give the same items
agree() {
	"$hvlog" decode --format json "$1" > "$tmp/hvlog.jsonl" 2> /dev/null
	expect 0 "format_ref agrees with hvlog on $1" "$PY" "$ref" --compare "$1" "$tmp/hvlog.jsonl"
}

for f in "$data"/golden/*.bin "$data"/damaged/*.bin; do
	agree "$f"
done

"$tracegen" mix-back 3000 "$tmp/back.bin" && agree "$tmp/back.bin"
"$tracegen" idle 3 50 "$tmp/idle.bin" && agree "$tmp/idle.bin"
"$hvcore" -b sim -w mixed -p 2 -v 3 -n 20000 --no-progress -o "$tmp/sim.bin" > /dev/null 2>&1 &&
	agree "$tmp/sim.bin"
size=$(stat -c %s "$tmp/sim.bin")
meta_len=$(od -An -tu4 -j16 -N4 "$tmp/sim.bin" | tr -d ' ')
chunk0=$((32 + meta_len))
chunk1=$((chunk0 + 64 + $(od -An -tu4 -j$((chunk0 + 12)) -N4 "$tmp/sim.bin" | tr -d ' ')))
# cut in the middle of a chunk; then one flipped byte: in a payload, in a
# chunk header's first_ts and len, in the metadata, in the trailer
head -c $((size / 2 + 7)) "$tmp/sim.bin" > "$tmp/cut.bin" && agree "$tmp/cut.bin"
for at in $((size / 3)) $((chunk1 + 40)) $((chunk1 + 13)) 100 $((size - 10)); do
	cp "$tmp/sim.bin" "$tmp/flip.bin"
	b=$(od -An -tu1 -j"$at" -N1 "$tmp/flip.bin" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 4)))" | dd of="$tmp/flip.bin" bs=1 seek="$at" conv=notrunc status=none
	agree "$tmp/flip.bin"
done

# damaged copies of all.bin whose checksums were made consistent: foreign,
# duplicate, missing, early FINAL chunks, times that disagree, wrong
# nevents, malformed records (FORMAT.md §6.2-§6.4)
mkdir "$tmp/craft"
"$PY" "$ref" --craft "$data/golden/all.bin" "$tmp/craft"
for f in "$tmp"/craft/*.bin; do
	agree "$f"
done

# the comparison can fail: one changed parameter value is reported
"$hvlog" decode --format json "$data/golden/all.bin" |
	sed '5s/"0x\([0-9a-f]*\)1"/"0x\12"/' > "$tmp/changed.jsonl"
expect 1 "a changed value is a disagreement" "$PY" "$ref" --compare "$data/golden/all.bin" "$tmp/changed.jsonl"
has out "item [0-9]+ differs" "the disagreement is shown"

testlib_done format_ref
