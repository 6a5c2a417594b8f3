#!/bin/sh
# hvlog info on several files (a row each and a total, text and JSON; a
# file that cannot be read does not stop the others, the exit status is
# the worst) and info --props (the metadata's key/value pairs in text).
#   tests/info_many.sh HVLOG TRACEGEN HVCORE
set -u
hvlog=$1 gen=$2 hvcore=$3
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

"$gen" mix 3000 "$tmp/a.bin" && "$gen" all "$tmp/b.bin" || { echo "tracegen failed"; exit 1; }
"$hvcore" -w mixed -v 2 -n 2000 -o "$tmp/c.hvlog" 2> /dev/null || { echo "hvcore failed"; exit 1; }
# a damaged copy: a byte of a chunk's payload flipped
cp "$tmp/a.bin" "$tmp/d.bin"
printf 'X' | dd of="$tmp/d.bin" bs=1 seek=30000 conv=notrunc 2> /dev/null
events() { "$hvlog" info -f json "$1" | jq .events; }
ea=$(events "$tmp/a.bin") eb=$(events "$tmp/b.bin") ec=$(events "$tmp/c.hvlog")

# one file: the block as before
expect 0 "info one file" "$hvlog" info "$tmp/a.bin"
has out "^file: +$tmp/a.bin \([0-9]+ bytes\)$" "info one file: the block"

# several: a header, a row per file in order, a total
expect 0 "info a b c" "$hvlog" info "$tmp/a.bin" "$tmp/b.bin" "$tmp/c.hvlog"
has out '^ +EVENTS +LOST +DAMAGED +BYTES +SPAN \(s\) +STATUS +FILE$' "info a b c: the header"
awk 'NR > 1 { print $NF }' "$tmp/out" | sed '$d' > "$tmp/names"
printf '%s\n' "$tmp/a.bin" "$tmp/b.bin" "$tmp/c.hvlog" > "$tmp/want.names"
same "$tmp/names" "$tmp/want.names" "info a b c: a row per file, in order"
has out "^ +$ea +[0-9]+ +0 +[0-9]+ +[0-9.]+ +ok +$tmp/a.bin$" "info a b c: a's row"
has out "^ +$((ea + eb + ec)) .* ok +total of 3 files$" "info a b c: the total"
[ "$(wc -l < "$tmp/out")" -eq 5 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: info a b c: 5 lines"; }

# a missing file and a text file: reported, the others still listed, exit 3
printf 'not a trace\n' > "$tmp/text.txt"
expect 3 "info with a missing file" "$hvlog" info "$tmp/a.bin" "$tmp/missing.bin" "$tmp/text.txt" "$tmp/c.hvlog"
has err "missing.bin: cannot open" "the missing file is reported"
has err "text.txt:0: not an hvlog trace" "the text file is reported"
has out "^ +- +- +- +- +- +error +$tmp/missing.bin$" "the missing file's row"
has out "^ +- +- +- +- +- +error +$tmp/text.txt$" "the text file's row"
has out "^ +$ec .* ok +$tmp/c.hvlog$" "the file after the failures is still read"
has out "^ +$((ea + ec)) .* error +total of 4 files \(2 not read\)$" "the total counts the files not read"
expect 1 "info a b with a text file" "$hvlog" info "$tmp/a.bin" "$tmp/text.txt"

# damage: listed as such; with --verify, exit 1 and the regions under its row
expect 0 "info a d" "$hvlog" info "$tmp/a.bin" "$tmp/d.bin"
has out " damaged +$tmp/d.bin$" "info a d: d is damaged"
expect 1 "info --verify a d" "$hvlog" info --verify "$tmp/a.bin" "$tmp/d.bin"
has out "^  offset [0-9]+, [0-9]+ bytes, stream [0-9-]+, [0-9]+ events lost: " "info --verify a d lists d's regions"

# JSON: one object, the files' objects in an array, a total
expect 3 "info -f json a missing c" "$hvlog" info -f json "$tmp/a.bin" "$tmp/missing.bin" "$tmp/c.hvlog"
if jq -e --argjson ea "$ea" --argjson ec "$ec" '(.files | length) == 3 and .files[0].events == $ea and
	.files[1].status == "error" and .files[1].exit_status == 3 and .files[2].status == "ok" and
	.total.files == 3 and .total.not_read == 1 and .total.events == $ea + $ec' "$tmp/out" > /dev/null; then
	pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: info -f json a missing c:"; head -c 300 "$tmp/out"; fi
# each file's object is its single-file object, with status and exit_status
"$hvlog" info -f json "$tmp/c.hvlog" > "$tmp/c.json"
jq -c '.files[2] | del(.status, .exit_status)' "$tmp/out" > "$tmp/c.from-many"
jq -c . "$tmp/c.json" > "$tmp/c.single"
same "$tmp/c.from-many" "$tmp/c.single" "info -f json: a file's object as info of it alone"
expect 2 "info - -" "$hvlog" info - -

# --props: every pair, as --format json has them; without it, a pointer
expect 0 "info --props" "$hvlog" info --props "$tmp/c.hvlog"
n=$(jq '.props | length' "$tmp/c.json")
has out "^props: +$n key/value pairs$" "info --props: the count"
sed -n '/^props:/,/^clock:/p' "$tmp/out" | sed '1d;$d' | sed 's/^  //; s/  */ /' > "$tmp/props.got"
jq -r '.props | to_entries[] | "\(.key) \(.value)"' "$tmp/c.json" > "$tmp/props.want"
same "$tmp/props.got" "$tmp/props.want" "info --props: each key and value, in order"
expect 0 "info without --props" "$hvlog" info "$tmp/c.hvlog"
has out "^props: +$n key/value pairs \(see --props\)$" "info: the count and where the pairs are"
expect 0 "info --props, no props" "$hvlog" info --props "$tmp/a.bin"
has out '^props: +none$' "info --props on a trace without pairs"
# bash completion offers --props
if command -v bash > /dev/null 2>&1; then
	# shellcheck disable=SC2016
	PATH=$(dirname "$hvlog"):$PATH bash -c 'source "$1"; COMP_WORDS=(hvlog info --pr); COMP_CWORD=2
		_hvlog hvlog --pr info; printf "%s\n" "${COMPREPLY[@]}"' sh "$(dirname "$0")/../completion/hvlog.bash" \
		> "$tmp/out" 2> "$tmp/err"
	has out '^--props$' "completion: info --props"
fi
testlib_done info_many
