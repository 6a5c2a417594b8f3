#!/bin/sh
# Crash safety (issue 6, point 6): record with hvcore and SIGKILL it at
# random moments; after every kill the trace must read back:
#   - it is a byte prefix of an uncrashed run with the same options (the
#     sim backend is deterministic), so nothing handed to the kernel was
#     lost or garbled;
#   - `hvlog decode` exits 0 or 1 (data incomplete), never by a signal;
#   - every complete chunk decodes: the only damage reported is the torn
#     tail (at most one partly written chunk, ending at the end of the
#     file), streams that end without their final chunk, and streams that
#     had no chunk yet; no checksum or malformed-record damage;
#   - `hvlog info --verify` agrees: as many intact chunks as indexed, the
#     events recovered are the events decode prints, exit status 1.
#
#   tests/crash.sh HVCORE HVLOG [KILLS [SEED]]
set -u
hvcore=$1 hvlog=$2 kills=${3:-50} seed=${4:-$(date +%s)}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

opts="-w mixed -v 4 -n 0 --flush-interval 10 --no-progress"
echo "crash: seed $seed (tests/crash.sh HVCORE HVLOG $kills $seed repeats this run)"

# The reference: the same recording, not killed, long enough for every kill.
# shellcheck disable=SC2086
"$hvcore" $opts -d 2 -o "$tmp/ref.hvlog" 2> "$tmp/ref.err" || { bad "reference run: $(cat "$tmp/ref.err")"; }
refsize=$(stat -c %s "$tmp/ref.hvlog" 2>/dev/null || echo 0)
# what close() wrote at the end (final chunks) differs from a run that
# went on: compare only well before it
refcmp=$((refsize - 2000000))

# kill delays, reproducible from the seed: 20 to 400 ms
awk -v seed="$seed" -v n=$((kills * 2)) 'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%.3f\n", 0.02 + rand() * 0.38 }' \
	> "$tmp/delays"

done_kills=0 nofile=0 torn=0 boundary=0 prefix=0 events=0 bytes=0 chunks=0
while read -r delay; do
	[ "$done_kills" -ge "$kills" ] && break
	f="$tmp/crash.hvlog"
	rm -f "$f"
	# shellcheck disable=SC2086
	"$hvcore" $opts -d 30 -o "$f" 2> /dev/null &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	st=$?
	[ "$st" -eq 137 ] || { bad "hvcore ended with status $st before it was killed (delay $delay s)"; continue; }
	if [ ! -e "$f" ]; then
		nofile=$((nofile + 1))
		continue
	fi
	done_kills=$((done_kills + 1))
	size=$(stat -c %s "$f")
	what="kill $done_kills after $delay s ($size bytes)"

	# 1. the bytes are the producer's
	if [ "$size" -le "$refcmp" ]; then
		cmp -s -n "$size" "$f" "$tmp/ref.hvlog" && { ok; prefix=$((prefix + 1)); } ||
			bad "$what: not a prefix of the uncrashed trace"
	fi

	# 2. decode: exit 0 or 1, never a crash
	"$hvlog" decode "$f" > "$tmp/out" 2> "$tmp/err"
	st=$?
	if [ "$st" -eq 0 ] || [ "$st" -eq 1 ]; then ok; else bad "$what: hvlog decode exited with $st: $(head -3 "$tmp/err")"; fi
	if [ "$size" -lt 32 ]; then
		# not even a file header yet: a clear error, nothing else
		grep -q "truncated\|empty file" "$tmp/err" && ok || bad "$what: $(cat "$tmp/err")"
		continue
	fi

	# 3. only a torn tail and missing ends; the torn chunk ends the file
	sed "s|^hvlog: $f:||" "$tmp/err" > "$tmp/msgs"
	grep -v -e 'ends without its final chunk' -e 'has no chunks: all its events are lost' \
		-e 'have no chunks: all their events are lost' \
		-e '^[0-9]*: file truncated at offset '"$size"': [0-9]* bytes of a chunk lost' \
		-e '^[0-9]*: file truncated: [0-9]* bytes of a chunk header' \
		-e '^[0-9]*: file truncated inside the metadata' \
		-e '^[0-9]*: no valid chunk header: [0-9]* bytes skipped to the end of the file' \
		"$tmp/msgs" > "$tmp/other"
	[ -s "$tmp/other" ] && bad "$what: damage other than the torn tail: $(head -3 "$tmp/other")" || ok
	ntorn=$(grep -c 'file truncated\|skipped to the end of the file' "$tmp/msgs")
	if [ "$ntorn" -gt 1 ]; then
		bad "$what: the torn tail is reported $ntorn times"
	elif [ "$ntorn" -eq 1 ]; then
		torn=$((torn + 1))
		# its offset plus its length is the file size
		off=$(grep 'file truncated\|skipped to the end' "$tmp/msgs" | cut -d: -f1)
		[ "$off" -lt "$size" ] && ok || bad "$what: torn tail at $off"
	else
		boundary=$((boundary + 1))
	fi
	grep -q 'file truncated inside the metadata' "$tmp/msgs" && continue

	# 4. info --verify: every indexed chunk intact; events as decoded
	"$hvlog" info --verify --format json "$f" > "$tmp/info.json" 2> /dev/null
	st=$?
	[ "$st" -eq 1 ] && ok || bad "$what: hvlog info --verify exited with $st (expected 1: the trace was not closed)"
	lines=$(wc -l < "$tmp/out")
	if jq -e --argjson lines "$lines" --argjson size "$size" \
		'.chunks == .chunks_with_events and (.lost_events > 0 or .events + (.damage | length) == $lines) and
		 ([.damage[] | select(.length > 0 and .offset + .length != $size)] | length) == 0' \
		"$tmp/info.json" > /dev/null; then
		ok
	else
		bad "$what: info --verify disagrees: $(jq -c '{chunks, chunks_with_events, events, lost_events, damage: [.damage[] | {offset, length}]}' "$tmp/info.json" | head -c 600) (decode printed $lines lines)"
	fi
	events=$((events + $(jq .events "$tmp/info.json")))
	chunks=$((chunks + $(jq .chunks "$tmp/info.json")))
	bytes=$((bytes + size))
done < "$tmp/delays"

[ "$done_kills" -ge "$kills" ] && ok || bad "only $done_kills kills left a file ($nofile before the file existed)"
echo "crash: $done_kills kills with SIGKILL ($nofile more before the trace file existed): $bytes bytes, $chunks chunks," \
	"$events events recovered; torn chunk at the end $torn times, cut between chunks $boundary times;" \
	"$prefix files checked byte for byte against the uncrashed run"
echo "crash: $pass checks passed, $fail failed"
[ "$fail" -eq 0 ]
