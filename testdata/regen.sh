#!/bin/sh
# Regenerate the golden traces and their expected outputs.
#
#   testdata/regen.sh BUILD_DIR
#
# Run it only when the wire format or the output format changes on purpose,
# then review `git diff testdata/` before committing: these files pin both.
set -eu
build=${1:?usage: testdata/regen.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
gen="$build/tests/tracegen"
hvlog="$build/hvlog"
g="$here/golden"
d="$here/damaged"

"$gen" all "$g/all.bin"
"$gen" mix 2000 "$g/mix.bin"

# Damaged copies of all.bin.  Offsets come from the intact file's layout:
# the metadata ends at data_off, the first chunk is 64 + payload bytes.
size=$(stat -c %s "$g/all.bin")
meta_len=$(od -An -tu4 -j16 -N4 "$g/all.bin" | tr -d ' ')
data_off=$((32 + meta_len))
len0=$(od -An -tu4 -j$((data_off + 12)) -N4 "$g/all.bin" | tr -d ' ')
chunk1=$((data_off + 64 + len0))

flip() { # flip(file, offset): invert one byte
	b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

: > "$d/empty.bin"
printf 'this is not a trace\n' > "$d/not-a-trace.bin"
cp "$g/all.bin" "$d/payload-bitflip.bin" && flip "$d/payload-bitflip.bin" $((data_off + 64 + 10))
cp "$g/all.bin" "$d/header-bitflip.bin" && flip "$d/header-bitflip.bin" $((chunk1 + 20))
cp "$g/all.bin" "$d/meta-bitflip.bin" && flip "$d/meta-bitflip.bin" 100
{ head -c "$chunk1" "$g/all.bin"; printf 'GARBAGE%.0s' $(seq 1 10); tail -c +$((chunk1 + 1)) "$g/all.bin"; } > "$d/garbage.bin"
# Major version 2 with a valid header checksum is made by the unit tests;
# here the plain case: version bytes changed, checksum left as it was.
cp "$g/all.bin" "$d/header-checksum.bin" && flip "$d/header-checksum.bin" 8
# The metadata copies (FORMAT.md §4.6): a file header whose meta_len is
# damaged (the chunks are found by resynchronising, the metadata from the
# copy the trailer names); the first metadata and the trailer's copy both
# damaged (no copy left: the open fails, and says which).
trailer_copy=$(od -An -tu8 -j$((size - 16)) -N8 "$g/all.bin" | tr -d ' ')
# cut inside the last chunk of events, before the copy and the trailer
head -c $((trailer_copy - 30)) "$g/all.bin" > "$d/truncated.bin"
cp "$g/all.bin" "$d/header-trailer-copy.bin" && flip "$d/header-trailer-copy.bin" 17
cp "$g/all.bin" "$d/both-copies-bad.bin" && flip "$d/both-copies-bad.bin" 100 &&
	flip "$d/both-copies-bad.bin" $((trailer_copy + 64 + 100))

for f in "$g"/*.bin "$d"/*.bin; do
	base=${f%.bin}
	set +e
	"$hvlog" decode "$f" > "$base.txt" 2> "$base.stderr"
	echo $? > "$base.exit"
	"$hvlog" decode --format json "$f" > "$base.jsonl" 2> /dev/null
	set -e
	sed -i "s|$here/||" "$base.stderr"
done
