#!/bin/sh
# Compressed traces read as they are (libhvlog/src/decompress.c): zstd,
# gzip, xz and bzip2 files made here with the real tools decode, count,
# stat and convert exactly as the plain trace does, from a file, a pipe, a
# FIFO or a redirected standard input, whatever the file is named; a
# truncated or corrupt compressed file gives the intact part and a clear
# message.
#   tests/compressed.sh HVLOG TRACEGEN
set -u
hvlog=$1 gen=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

"$gen" mix 100000 "$tmp/t.bin" || { echo "tracegen failed"; exit 1; }
"$hvlog" decode "$tmp/t.bin" > "$tmp/plain.txt" || { echo "decode of the plain trace failed"; exit 1; }
"$hvlog" info "$tmp/t.bin" | sed 1d > "$tmp/plain.info"
"$hvlog" stats "$tmp/t.bin" | sed 1d > "$tmp/plain.stats"
"$hvlog" convert --to json "$tmp/t.bin" -o "$tmp/plain.jsonl"
size=$(wc -c < "$tmp/t.bin")
half=$((size / 2))

for z in zstd gzip xz bzip2; do
	if ! command -v $z > /dev/null 2>&1; then
		echo "SKIP: no $z to make the compressed files"
		continue
	fi
	# the name says nothing (a .hvlog name on compressed data)
	$z -1 -c < "$tmp/t.bin" > "$tmp/$z.hvlog"
	expect 0 "$z: decode" "$hvlog" decode "$tmp/$z.hvlog"
	same "$tmp/out" "$tmp/plain.txt" "$z: decode prints what the plain trace prints"
	expect 0 "$z: decode from a pipe" sh -c 'cat "$1" | "$2" decode -' sh "$tmp/$z.hvlog" "$hvlog"
	same "$tmp/out" "$tmp/plain.txt" "$z: decode from a pipe"
	expect 0 "$z: decode from redirected stdin" sh -c '"$2" decode - < "$1"' sh "$tmp/$z.hvlog" "$hvlog"
	same "$tmp/out" "$tmp/plain.txt" "$z: decode from redirected stdin"
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	cat "$tmp/$z.hvlog" > "$tmp/fifo" &
	expect 0 "$z: decode from a FIFO" "$hvlog" decode "$tmp/fifo"
	wait
	same "$tmp/out" "$tmp/plain.txt" "$z: decode from a FIFO"
	expect 0 "$z: decode -c -j 2" "$hvlog" decode -c -j 2 "$tmp/$z.hvlog"
	has out "^$(grep -c . "$tmp/plain.txt")\$" "$z: decode -c -j 2 counts every event"
	expect 0 "$z: info" "$hvlog" info "$tmp/$z.hvlog"
	sed 1d "$tmp/out" > "$tmp/z.info"
	same "$tmp/z.info" "$tmp/plain.info" "$z: info (after the file line)"
	expect 0 "$z: stats" "$hvlog" stats "$tmp/$z.hvlog"
	sed 1d "$tmp/out" > "$tmp/z.stats"
	same "$tmp/z.stats" "$tmp/plain.stats" "$z: stats (after the trace line)"
	expect 0 "$z: convert --to json" "$hvlog" convert --to json "$tmp/$z.hvlog" -o "$tmp/z.jsonl"
	same "$tmp/z.jsonl" "$tmp/plain.jsonl" "$z: convert --to json"
	# two frames (members, streams) one after the other read as one
	head -c $half "$tmp/t.bin" | $z -c > "$tmp/two.$z"
	tail -c +$((half + 1)) "$tmp/t.bin" | $z -c >> "$tmp/two.$z"
	expect 0 "$z: two concatenated frames" "$hvlog" decode "$tmp/two.$z"
	same "$tmp/out" "$tmp/plain.txt" "$z: two concatenated frames decode as one"

	# truncated: the intact part, then a damage line that says so, exit 1
	zsize=$(wc -c < "$tmp/$z.hvlog")
	head -c $((zsize * 2 / 3)) "$tmp/$z.hvlog" > "$tmp/cut.$z"
	expect 1 "$z: truncated" "$hvlog" decode "$tmp/cut.$z"
	has err "the $z-compressed input is truncated: it ends inside a frame" "$z: truncated says so"
	# the last line: at the end of what could be decompressed
	tail -1 "$tmp/out" > "$tmp/last"
	has last "DAMAGE at offset [0-9]+ \(0 bytes\): the $z-compressed input is truncated" \
		"$z: truncated: the damage line comes last"
	end=$(sed -n 's/.*DAMAGE at offset \([0-9]*\) (0 bytes): the .*-compressed input is truncated.*/\1/p' "$tmp/last")
	# the rest is what the plain trace cut there decodes to
	head -c "${end:-0}" "$tmp/t.bin" > "$tmp/cut.bin"
	"$hvlog" decode "$tmp/cut.bin" > "$tmp/cut.want" 2> /dev/null
	sed '$d' "$tmp/out" > "$tmp/cut.got"
	same "$tmp/cut.got" "$tmp/cut.want" "$z: truncated: the intact part, as the plain trace cut there"
	if [ "$(grep -c 'IM_\|HC_\|SCH_' "$tmp/cut.got")" -gt 1000 ]; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $z: truncated: too few events decoded"; fi
	# through a pipe, read live: the same events and the same last line
	expect 1 "$z: truncated, through a pipe" sh -c '"$1" decode - < "$2"' sh "$hvlog" "$tmp/cut.$z"
	has err "the $z-compressed input is truncated: it ends inside a frame" "$z: truncated, through a pipe, says so"
	tail -1 "$tmp/out" > "$tmp/last"
	has last "DAMAGE at offset $end \(0 bytes\): the $z-compressed input is truncated" \
		"$z: truncated, through a pipe: the damage line comes last"
	sed '$d' "$tmp/out" | sort > "$tmp/cut.pipe"
	sort "$tmp/cut.want" > "$tmp/cut.sorted"
	same "$tmp/cut.pipe" "$tmp/cut.sorted" "$z: truncated, through a pipe: the intact part's lines"
	expect 1 "$z: truncated, info --verify" "$hvlog" info --verify "$tmp/cut.$z"
	has out "the $z-compressed input is truncated" "$z: truncated: info --verify lists it"

	# a zeroed file header: the trailer's metadata copy saves the
	# compressed file as it saves the plain one
	{ head -c 32 /dev/zero; tail -c +33 "$tmp/t.bin"; } > "$tmp/hz.bin"
	"$hvlog" decode "$tmp/hz.bin" > "$tmp/hz.want" 2> /dev/null
	$z -1 -c < "$tmp/hz.bin" > "$tmp/hz.$z"
	expect 1 "$z: a zeroed file header" "$hvlog" decode "$tmp/hz.$z"
	has err "decoding with the copy the trailer names" "$z: a zeroed file header: the copy is used"
	same "$tmp/out" "$tmp/hz.want" "$z: a zeroed file header decodes as the plain file does"

	# a file that is compressed but no trace
	$z -c < "$tmp/plain.txt" > "$tmp/text.$z"
	expect 1 "$z: compressed text" "$hvlog" decode "$tmp/text.$z"
	has err "not an hvlog trace \(bad magic\), and the file holds no intact copy of the metadata \(in the $z-decompressed data\)$" \
		"$z: compressed text is named as the plain file is"
done

# bytes after the compressed data: damage at the end, from a file and
# from a pipe alike (a pipe once ended at the trace's trailer, before the
# decompressor reached them)
if command -v xz > /dev/null 2>&1; then
	{ cat "$tmp/xz.hvlog"; printf 'garbagegarbage'; } > "$tmp/tail.xz"
	expect 1 "xz: bytes after the data" "$hvlog" decode --count "$tmp/tail.xz"
	has err "the xz-compressed input is corrupt" "xz: bytes after the data are reported"
	expect 1 "xz: bytes after the data, through a pipe" sh -c 'cat "$1" | "$2" decode --count -' sh "$tmp/tail.xz" "$hvlog"
	has err "the xz-compressed input is corrupt" "xz: bytes after the data are reported through a pipe"
fi

# corrupt data inside a frame: zstd and gzip check their data
for z in zstd gzip; do
	command -v $z > /dev/null 2>&1 || continue
	cp "$tmp/$z.hvlog" "$tmp/bad.$z"
	zsize=$(wc -c < "$tmp/bad.$z")
	printf 'XXXXXXXXXXXXXXXX' | dd of="$tmp/bad.$z" bs=1 seek=$((zsize / 2)) conv=notrunc 2> /dev/null
	expect 1 "$z: corrupt" "$hvlog" decode "$tmp/bad.$z"
	has err "the $z-compressed input is corrupt after [0-9]+ compressed bytes: " "$z: corrupt says so"
done

# an early stop (a limit, a closed pipe) ends the decompressor's thread
if command -v zstd > /dev/null 2>&1; then
	expect 0 "zstd: --limit 5 from a pipe" sh -c 'cat "$1" | "$2" decode --limit 5 -' sh "$tmp/zstd.hvlog" "$hvlog"
	head -5 "$tmp/plain.txt" > "$tmp/five"
	same "$tmp/out" "$tmp/five" "zstd: --limit 5"
	expect 0 "zstd: decode | head -1" sh -c '"$2" decode "$1" | head -1' sh "$tmp/zstd.hvlog" "$hvlog"
	# a plain trace named .zst is read as the trace it is
	cp "$tmp/t.bin" "$tmp/plain.zst"
	expect 0 "a plain trace named .zst" "$hvlog" decode "$tmp/plain.zst"
	same "$tmp/out" "$tmp/plain.txt" "a plain trace named .zst"

	# a decompression bomb: a trace of 100 events, then 1 GiB of zeros,
	# 38 KB compressed; the output stops at 4096 times the compressed bytes
	# (+ 64 MiB), not at the end of the disk the file is indexed from
	"$gen" mix 100 "$tmp/small.bin"
	{ cat "$tmp/small.bin"; head -c 1073741824 /dev/zero; } | zstd -3 -q -c > "$tmp/bomb.zst"
	expect 1 "zstd: a decompression bomb" "$hvlog" decode --count "$tmp/bomb.zst"
	echo 100 > "$tmp/hundred"
	same "$tmp/out" "$tmp/hundred" "zstd: a decompression bomb: the trace's events"
	has err "the zstd-compressed input expands more than 4096 times \([0-9]+ compressed bytes gave [0-9]+\): the rest is not read" \
		"zstd: a decompression bomb is stopped"
	rm -f "$tmp/bomb.zst"
fi
testlib_done compressed
