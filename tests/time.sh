#!/bin/sh
# hvlog decode --time=relative|absolute|ticks|delta: the time column (and
# JSON's time_utc/delta_ns) against the raw timestamps of the same items.
#   tests/time.sh HVLOG TRACEGEN
set -u
hvlog=$1 gen=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

"$gen" mix 3000 "$tmp/t.bin" || { echo "tracegen failed"; exit 1; }
"$hvlog" decode "$tmp/t.bin" > "$tmp/default.txt"
"$hvlog" decode -f json "$tmp/t.bin" | jq -c 'select(.type != "meta")' > "$tmp/items.jsonl"
jq -r '.ts' "$tmp/items.jsonl" > "$tmp/ts"
[ -s "$tmp/ts" ] || { echo "no items"; exit 1; }

# relative is the default, byte for byte
expect 0 "--time=relative" "$hvlog" decode --time=relative "$tmp/t.bin"
same "$tmp/out" "$tmp/default.txt" "--time=relative is the default output"
# ticks: the column is each item's ts, right-aligned in 20 columns
expect 0 "--time=ticks" "$hvlog" decode --time=ticks "$tmp/t.bin"
awk '{ print $1 }' "$tmp/out" > "$tmp/ticks"
same "$tmp/ticks" "$tmp/ts" "--time=ticks shows the raw timestamps"
has out '^ {6}[0-9]{14} vp' "--time=ticks is right-aligned in 20 columns"
# the rest of the line is the default line's
cut -c22- "$tmp/out" > "$tmp/rest.ticks"
cut -c17- "$tmp/default.txt" > "$tmp/rest.default"
same "$tmp/rest.ticks" "$tmp/rest.default" "--time=ticks changes the time column only"
# delta: nanoseconds since the line before (2 GHz: ticks / 2, rounded down)
jq -rs '[.[].ts] as $t | range(0; $t | length) | if . == 0 then 0 else (($t[.] - $t[. - 1]) / 2 | floor) end' \
	"$tmp/items.jsonl" > "$tmp/want.delta"
expect 0 "--time=delta" "$hvlog" decode --time=delta "$tmp/t.bin"
awk '{ t = $1; sub(/^\+/, "", t); split(t, p, "."); printf "%d\n", p[1] * 1000000000 + p[2] }' "$tmp/out" > "$tmp/got.delta"
same "$tmp/got.delta" "$tmp/want.delta" "--time=delta: seconds since the previous line"
has out '^ +\+0\.000000000 ' "--time=delta: the first line is +0"
expect 0 "--time=delta -f json" "$hvlog" decode --time=delta -f json "$tmp/t.bin"
jq -r 'select(.type != "meta") | .delta_ns' "$tmp/out" > "$tmp/got.delta.json"
same "$tmp/got.delta.json" "$tmp/want.delta" "--time=delta -f json: delta_ns"
# a selection: the delta is to the line printed before, not to the event
# read before (the first line's is to the trace's first event)
expect 0 "--time=delta -g" "$hvlog" decode --time=delta -g interrupt -f json "$tmp/t.bin"
jq -c 'select(.type != "meta")' "$tmp/out" > "$tmp/sel.jsonl"
jq -rs '[.[].ts] as $t | range(1; $t | length) | ($t[.] - $t[. - 1]) / 2 | floor' "$tmp/sel.jsonl" > "$tmp/want.sel"
jq -r '.delta_ns' "$tmp/sel.jsonl" | sed 1d > "$tmp/got.sel"
same "$tmp/got.sel" "$tmp/want.sel" "--time=delta with a selection: since the previous printed line"

# absolute: refused while the clock's epoch is unknown (tracegen writes 0)
expect 2 "--time=absolute, epoch unknown" "$hvlog" decode --time=absolute "$tmp/t.bin"
has err "clock epoch is unknown" "--time=absolute without an epoch says why"
[ -s "$tmp/out" ] && { fail=$((fail + 1)); echo "FAIL: --time=absolute without an epoch printed lines"; }
# with an epoch (set in the JSON meta item and converted back)
epoch=1764739439123456789
"$hvlog" convert --to json "$tmp/t.bin" -o "$tmp/t.jsonl"
sed "1s/\"epoch_ns\":0/\"epoch_ns\":$epoch/" "$tmp/t.jsonl" > "$tmp/e.jsonl"
"$hvlog" convert --from json "$tmp/e.jsonl" -o "$tmp/e.bin"
expect 0 "--time=absolute" "$hvlog" decode --time=absolute "$tmp/e.bin"
first=$(head -1 "$tmp/ts")
# the wall-clock time of the first item: epoch + ts / 2 GHz
ns=$((epoch + first / 2))
utc="$(date -u -d "@$((ns / 1000000000))" +%Y-%m-%dT%H:%M:%S).$(printf %09d $((ns % 1000000000)))Z"
has out "^$utc vp" "--time=absolute: the first line is epoch + ts"
cut -c32- "$tmp/out" > "$tmp/rest.abs"
"$hvlog" decode "$tmp/e.bin" | cut -c17- > "$tmp/rest.e"
same "$tmp/rest.abs" "$tmp/rest.e" "--time=absolute changes the time column only"
expect 0 "--time=absolute -f json" "$hvlog" decode --time=absolute -f json "$tmp/e.bin"
has out "\"ts\":$first,\"time_utc\":\"$utc\"" "--time=absolute -f json: time_utc"

expect 2 "--time=bogus" "$hvlog" decode --time=bogus "$tmp/t.bin"
has err "unknown --time 'bogus' \(relative, absolute, ticks or delta\)" "--time=bogus names the modes"
# bash completion offers the modes
comp="$(dirname "$0")/../completion/hvlog.bash"
if command -v bash > /dev/null 2>&1; then
	# shellcheck disable=SC2016
	PATH=$(dirname "$hvlog"):$PATH bash -c 'source "$1"; COMP_WORDS=(hvlog decode --time ""); COMP_CWORD=3
		_hvlog hvlog "" --time; printf "%s\n" "${COMPREPLY[@]}"' sh "$comp" > "$tmp/out" 2> "$tmp/err"
	has out '^delta$' "completion: decode --time values"
fi
testlib_done time
