#!/bin/sh
# Live reading (issue 14): pipes decoded as they arrive, --follow on a file
# a writer is still appending to, the non-blocking API.  No test waits for
# time to pass: a producer that must not go on yet blocks on a FIFO (the
# gate) until the test writes a byte to it, and the test reads what the
# reader printed through another FIFO, which blocks until the line is there.
#   tests/live.sh HVLOG LIVEPROD TESTDATA_DIR HVCORE
set -u
hvlog=$1 prod=$2 data=$3 hvcore=$4
tmp=$(mktemp -d) && trap 'exec 4>&- 5<&-; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/checks.sh"

has_line() { if grep -Eq -- "$2" "$1"; then ok; else ko "$3"; head -20 "$1"; fi; }
same() { # same A B DESCRIPTION
	if cmp -s "$1" "$2"; then ok; else ko "$3"; fi
}

# lines N: read N lines from fd 5 (the reader's output) into $tmp/got;
# fail if it ends first
lines() {
	i=0
	: > "$tmp/got"
	while [ "$i" -lt "$1" ]; do
		IFS= read -r line <&5 || return 1
		printf '%s\n' "$line" >> "$tmp/got"
		i=$((i + 1))
	done
}

# the reference: the same producer to a file, decoded from the file
"$prod" write "$tmp/ref.hvlog" 3 50 || exit 1
"$hvlog" decode "$tmp/ref.hvlog" > "$tmp/ref.txt" || exit 1
eq "$(wc -l < "$tmp/ref.txt")" 450 "reference has 3 steps x 50 events x 3 streams"

# 1. A pipe: the first step's events (100 of its 150, which no other
#    stream can still come before) are printed while the producer waits at
#    the gate, so before it ends; then it goes on to the end and the whole
#    output is that of the file.
mkfifo "$tmp/gate" "$tmp/lines"
exec 4<> "$tmp/gate"
{ "$prod" write - 3 50 "$tmp/gate" | "$hvlog" decode - > "$tmp/lines"; echo $? > "$tmp/rc"; } &
exec 5< "$tmp/lines"
if lines 100; then ok; else ko "pipe: the first step's events before the producer went on"; fi
printf 'xx' >&4
cat <&5 > "$tmp/rest"
wait
eq "$(cat "$tmp/rc")" 0 "pipe: decode exit status"
cat "$tmp/got" "$tmp/rest" > "$tmp/piped"
same "$tmp/piped" "$tmp/ref.txt" "pipe: the events as they came are the file's"
exec 5<&-

# the same, all of it at once: the same bytes as the file's decode
"$prod" write - 3 50 | "$hvlog" decode - > "$tmp/pipe.txt"
same "$tmp/pipe.txt" "$tmp/ref.txt" "a pipe decodes exactly as the file"
"$prod" write - 3 50 | "$hvlog" decode --format json - > "$tmp/pipe.jsonl"
"$hvlog" decode --format json "$tmp/ref.hvlog" > "$tmp/ref.jsonl"
same "$tmp/pipe.jsonl" "$tmp/ref.jsonl" "a pipe decodes exactly as the file (JSON)"
"$prod" write - 3 50 | "$hvlog" stats - | sed 1d > "$tmp/pipe.stats"
"$hvlog" stats "$tmp/ref.hvlog" | sed 1d > "$tmp/ref.stats"
same "$tmp/pipe.stats" "$tmp/ref.stats" "stats of a pipe are those of the file"

# every golden and damaged trace: through a pipe, the output, the messages
# and the exit status of the file (a torn tail is reported once)
for f in "$data"/golden/*.bin "$data"/damaged/*.bin; do
	"$hvlog" decode "$f" > "$tmp/f.out" 2> "$tmp/f.err"
	r1=$?
	cat "$f" | "$hvlog" decode - > "$tmp/p.out" 2> "$tmp/p.err"
	r2=$?
	sed "s|^hvlog: (stdin):|hvlog: $f:|" "$tmp/p.err" > "$tmp/p2.err"
	if [ "$r1" -eq "$r2" ] && cmp -s "$tmp/f.out" "$tmp/p.out" && cmp -s "$tmp/f.err" "$tmp/p2.err"; then ok; else
		ko "pipe decode of $(basename "$f") differs from the file's"
		diff "$tmp/f.err" "$tmp/p2.err" | head -5
	fi
done
# a producer that died mid-chunk: the torn tail once, the intact chunks' events
size=$(wc -c < "$tmp/ref.hvlog")
head -c $((size - 200)) "$tmp/ref.hvlog" > "$tmp/torn.hvlog"
expect 1 "torn tail through a pipe" sh -c 'head -c "$1" "$2" | "$3" decode -' sh $((size - 200)) "$tmp/ref.hvlog" "$hvlog"
"$hvlog" decode "$tmp/torn.hvlog" > "$tmp/torn.txt" 2> "$tmp/torn.err"
same "$tmp/out" "$tmp/torn.txt" "torn tail through a pipe: the file's events"
eq "$(grep -c 'file truncated at offset' "$tmp/err")" 1 "torn tail reported once"

# /dev/zero, as a file and on standard input: refused on its first bytes
for src in /dev/zero -; do
	expect 1 "decode $src of zeros" sh -c 'exec "$@" < /dev/zero' sh "$hvlog" decode "$src"
	has err ":0: not an hvlog trace \(bad magic\)" "decode $src of zeros message"
done

# 2. --follow: a file written by another process, read while it grows;
#    the first step comes out while the writer waits at the gate, and the
#    output is exactly the finished file's.
: > "$tmp/f.hvlog"
{ "$hvlog" decode -F "$tmp/f.hvlog" > "$tmp/lines"; echo $? > "$tmp/rc"; } &
exec 5< "$tmp/lines"
"$prod" write "$tmp/f.hvlog" 3 50 "$tmp/gate" &
if lines 100; then ok; else ko "--follow: the first step's events while the writer waits"; fi
printf 'xx' >&4
cat <&5 > "$tmp/rest"
wait
exec 5<&-
eq "$(cat "$tmp/rc")" 0 "--follow: exit status at the writer's closing record"
cat "$tmp/got" "$tmp/rest" > "$tmp/followed"
"$hvlog" decode "$tmp/f.hvlog" > "$tmp/f.txt"
same "$tmp/followed" "$tmp/f.txt" "--follow yields exactly the finished file's events, in order"
same "$tmp/f.txt" "$tmp/ref.txt" "the followed file is the reference"
for c in "filter -f text" "stats" "convert --to json"; do
	: > "$tmp/g.hvlog"
	"$prod" write "$tmp/g.hvlog" 3 50 &
	# shellcheck disable=SC2086
	"$hvlog" $c --follow "$tmp/g.hvlog" > "$tmp/g.out"
	wait
	# shellcheck disable=SC2086
	"$hvlog" $c "$tmp/g.hvlog" > "$tmp/g.ref"
	if [ "$c" = stats ]; then sed -i 1d "$tmp/g.out" "$tmp/g.ref"; fi
	same "$tmp/g.out" "$tmp/g.ref" "$c --follow: as the finished file"
done

# Rotation while following.  -F follows the file it opened, not the name
# (a trace is one writer's: a new file at the path is another trace, with
# its own header and schema, never mixed into this one): renamed mid-run,
# the file is still followed to its writer's closing record, and yields
# the finished file's events; truncated under the reader (copytruncate), it
# is an error that says so, at once, and the reader ends.
: > "$tmp/r.hvlog"
{ "$hvlog" decode -F "$tmp/r.hvlog" > "$tmp/lines"; echo $? > "$tmp/rc"; } &
exec 5< "$tmp/lines"
"$prod" write "$tmp/r.hvlog" 3 50 "$tmp/gate" &
if lines 100; then ok; else ko "--follow, rotation: the first step"; fi
mv "$tmp/r.hvlog" "$tmp/r.old"
: > "$tmp/r.hvlog"
printf 'xx' >&4
cat <&5 > "$tmp/rest"
wait
exec 5<&-
eq "$(cat "$tmp/rc")" 0 "--follow of a renamed file: exit status at its closing record"
cat "$tmp/got" "$tmp/rest" > "$tmp/followed"
same "$tmp/followed" "$tmp/ref.txt" "--follow of a renamed file: the finished file's events"
: > "$tmp/t.hvlog"
"$prod" write "$tmp/t.hvlog" 3 50 "$tmp/gate" &
wpid=$!
{ "$hvlog" decode -F "$tmp/t.hvlog" > "$tmp/lines" 2> "$tmp/t.err"; echo $? > "$tmp/rc"; } &
dpid=$!
exec 5< "$tmp/lines"
if lines 100; then ok; else ko "--follow, truncation: the first step"; fi
: > "$tmp/t.hvlog"
cat <&5 > /dev/null
wait "$dpid"
exec 5<&-
eq "$(cat "$tmp/rc")" 3 "--follow of a truncated file: exit status (cannot read)"
has_line "$tmp/t.err" 'the followed file was truncated under the reader at offset [0-9]+ \(rotated\?\); what is written there now is another trace' \
	"--follow of a truncated file: the message"
printf 'xx' >&4
wait "$wpid"

# Ctrl-C while following a trace whose writer has not finished: what was
# read comes out, no damage is reported, exit status 0
: > "$tmp/i.hvlog"
"$prod" write "$tmp/i.hvlog" 3 50 "$tmp/gate" &
wpid=$!
"$hvlog" decode -F "$tmp/i.hvlog" > "$tmp/lines" 2> "$tmp/i.err" &
dpid=$!
exec 5< "$tmp/lines"
if lines 100; then ok; else ko "--follow before Ctrl-C: the first step"; fi
kill -INT "$dpid"
wait "$dpid"
eq "$?" 0 "--follow ended by SIGINT: exit status"
eq "$(wc -c < "$tmp/i.err")" 0 "--follow ended by SIGINT: no damage reported for the unfinished writer"
exec 5<&-
printf 'xx' >&4
wait "$wpid"

# 3. The non-blocking API (hvlog_reader_try_next and poll): the items of
#    the indexed file reader, in its order
"$prod" write - 3 50 "$tmp/gate" | "$prod" poll > "$tmp/poll.txt" &
printf 'xx' >&4
wait
"$prod" poll "$tmp/ref.hvlog" > "$tmp/poll.ref"
same "$tmp/poll.txt" "$tmp/poll.ref" "try_next over a pipe: the file's items in order"
eq "$(wc -l < "$tmp/poll.ref")" 450 "try_next: every event"

# 4. top: plain text off a terminal (one block per interval, the last one
#    at the end of the input), JSON Lines, and the redrawn screen in a
#    pseudo-terminal (script(1)).  Blocks depend on timing; their sums not.
"$prod" write - 3 50 "$tmp/gate" | "$hvlog" top -i 0.02 > "$tmp/top.txt" &
printf 'xx' >&4
wait
eq "$(sed -n 's/^hvlog top .* events \([0-9]*\) (.*/\1/p' "$tmp/top.txt" | awk '{ n += $1 } END { print n }')" 450 \
	"top: the events of all blocks add up to the trace's"
eq "$(tail -n +1 "$tmp/top.txt" | grep -c '^hvlog top .* end, last interval')" 1 "top: one last block, at the end"
has_line "$tmp/top.txt" '^HC_HYPERCALL +[0-9]+ +450 +[0-9]+ +[0-9]+$' "top: the event row, total and percentiles"
has_line "$tmp/top.txt" '^partition 1 +[0-9]+ +300$' "top: the partition rows"
has_line "$tmp/top.txt" '^vp2 +[0-9]+ +150$' "top: the stream rows"
if grep -q "$(printf '\033')" "$tmp/top.txt"; then ko "top off a terminal draws no escapes"; else ok; fi
"$prod" write - 3 50 | "$hvlog" top -i 0.02 --format json --sort name > "$tmp/top.jsonl"
eq "$(tail -1 "$tmp/top.jsonl" | jq -c '[.end, .total_events, [.streams[].name]]')" '[true,450,["vp0","vp1","vp2"]]' \
	"top --format json: the last object"
eq "$(jq -s 'map(.events) | add' "$tmp/top.jsonl")" 450 "top --format json: the intervals add up"
expect 2 "top --sort bad" "$hvlog" top --sort bad "$tmp/ref.hvlog"
expect 2 "top --interval 0" "$hvlog" top -i 0 "$tmp/ref.hvlog"
if command -v script > /dev/null; then
	script -qec "'$hvlog' top -i 0.05 '$tmp/ref.hvlog'" /dev/null > "$tmp/top.tty" < /dev/null
	if grep -q "$(printf '\033\\[H\033\\[2J')" "$tmp/top.tty"; then ok; else ko "top on a terminal redraws the screen"; fi
	has_line "$tmp/top.tty" 'total 450 events, 0 lost' "top on a terminal: the totals"
fi

# 5. hvcore into a pipe, and its group mask changed while it runs
#    (--control FILE, SIGUSR1): once a VP's event is out (so hvcore's VPs
#    run, with the handler in place), the mask goes to the interrupt group
#    alone; the trace holds hypercall events only in its first part.
"$hvcore" -w mixed -d 0.3 -n 0 --no-progress -o - 2> /dev/null | "$hvlog" decode --count - > "$tmp/count"
if [ "$(cat "$tmp/count")" -gt 0 ]; then ok; else ko "hvcore -o - | hvlog decode --count -"; fi
echo interrupt > "$tmp/ctl"
: > "$tmp/h.hvlog"
"$hvcore" -w mixed -d 1 -n 0 --no-progress --control "$tmp/ctl" -o "$tmp/h.hvlog" 2> "$tmp/h.err" &
hpid=$!
expect 0 "hvcore --control: a VP's event while it runs" "$hvlog" decode -F -n 1 -g interrupt "$tmp/h.hvlog"
kill -USR1 "$hpid"
wait "$hpid"
eq "$?" 0 "hvcore --control: exit status"
has_line "$tmp/h.err" 'recording the groups of mask 0x800' "hvcore --control: the change is announced"
# ... and in the trace: one trace control event of stream 0, old and new mask
"$hvlog" decode -g control "$tmp/h.hvlog" > "$tmp/h.ctl"
has_line "$tmp/h.ctl" '^ *[0-9.]+ hv +control +HVCORE_TRACE_CONTROL +old_mask=0xffffffffffffffff new_mask=0x800$' \
	"hvcore --control: the change is an event of the trace"
eq "$(wc -l < "$tmp/h.ctl")" 1 "hvcore --control: one trace control event"
# the last hypercall event against the end of the trace, in seconds
last_hc=$("$hvlog" decode -g hypercall "$tmp/h.hvlog" | tail -1 | awk '{ print $1 }')
span=$("$hvlog" stats "$tmp/h.hvlog" | sed -n 's/^time span: *\([0-9.]*\)s.*/\1/p')
if awk -v h="${last_hc:-0}" -v s="${span:-0}" 'BEGIN { exit !(h > 0 && s > 1.5 * h) }'; then ok; else
	ko "hvcore --control: hypercall events only before the change (last at ${last_hc:-none} s of $span s)"
fi

# 6. An idle VP's events reach a live reader while the other VPs run
#    (hvcore flushes every stream with buffered events at its flush
#    interval of wall-clock time, whichever VP runs): `-w halt` has VP 0
#    write POST 0xa1, halt for 2^12 s of its clock, write POST 0xa2 and
#    end, while VP 1 runs on; hvcore runs until it is killed, so a line the
#    reader prints came before the producer ended.  Under sim the halt is a
#    jump of the clock and VP 0 ends, waiting for the baton no more: its
#    0xa2 goes out at once; under kvm VP 0 sleeps the whole run through and
#    its 0xa1 goes out from its idle loop.  The first lines are the
#    announcements of stream 0 ("hv"), which the main thread wrote before
#    any VP ran (once they were written only at the end of the run).
#    timeout(1) ends the producer if the line never comes.
# idle_vp BACKEND POST_VALUE
idle_vp() {
	rm -f "$tmp/trace" "$tmp/out"
	mkfifo "$tmp/trace" "$tmp/out"
	timeout 30 "$hvcore" -b "$1" -w halt -v 2 -n 0 --no-progress -o "$tmp/trace" 2> /dev/null &
	hpid=$!
	"$hvlog" decode "$tmp/trace" > "$tmp/out" 2> /dev/null &
	exec 5< "$tmp/out"
	IFS= read -r first <&5
	seen=
	if grep -q -m1 " p1/vp0 .* port=0x80 value=$2\$" <&5; then seen=1; fi
	kill "$hpid" 2> /dev/null
	cat <&5 > /dev/null
	exec 5<&-
	wait
	case $first in *" hv "*" PROFILER_HV_MODULE "*) ok ;; *) ko "$1: stream 0's announcements first, live: got $first" ;; esac
	if [ -n "$seen" ]; then ok; else ko "$1: VP 0's POST $2 reached the reader while the producer ran"; fi
}
idle_vp sim 0xa2
if [ -e /dev/kvm ] && "$hvcore" -b kvm -n 10 --no-trace --no-progress 2> /dev/null; then
	idle_vp kvm 0xa1
else
	echo "live: no kvm here, its idle VP case skipped"
fi

# 7. A chunk above a gap (a lost chunk) waits for the next chunk of its
#    stream, which says whether the gap is one or the chunk's number lies;
#    a producer that stops there does not keep it back longer than a quiet
#    stream is waited for (2.1 s here).  Stream 0's second chunk is cut
#    out; the pipe stops after the third chunks until the test opens the
#    gate, and all that came before it is printed before the gate opens:
#    the file's first lines (the gap may come after the event that shares
#    its time, which went out before the gap was known), then the rest.
"$prod" write "$tmp/g4.hvlog" 4 50 || exit 1
sync8=$(printf '\303HVCHUNK')
cut= next= stop=
for o in $(LC_ALL=C grep -obUaF "$sync8" "$tmp/g4.hvlog" | cut -d: -f1); do
	# stream, flags (u16 at 16 and 18), seq (u64 at 24): FORMAT.md §4.1
	set -- $(od -An -tu2 -j $((o + 16)) -N4 "$tmp/g4.hvlog") $(od -An -tu8 -j $((o + 24)) -N8 "$tmp/g4.hvlog")
	[ $(($2 & 4)) -eq 0 ] || continue # (a metadata copy)
	if [ -n "$cut" ] && [ -z "$next" ]; then next=$o; fi
	if [ "$1" = 0 ] && [ "$3" = 1 ]; then cut=$o; fi
	if [ "$1" = 0 ] && [ "$3" = 3 ]; then stop=$o; fi
done
{ head -c "$cut" "$tmp/g4.hvlog"; tail -c +$((next + 1)) "$tmp/g4.hvlog"; } > "$tmp/gap.hvlog"
stop=$((stop - (next - cut)))
"$hvlog" decode "$tmp/gap.hvlog" > "$tmp/gap.txt" 2> /dev/null
eq "$(grep -c 'DAMAGE.*chunks 1..1 of stream 0 are missing' "$tmp/gap.txt")" 1 "a chunk cut out: the gap once"
n=401 # (the events of steps 1 to 3, less the 50 cut out, and the gap)
head -n "$n" "$tmp/gap.txt" > "$tmp/gap.head"
rm -f "$tmp/gate7" "$tmp/lines7"
mkfifo "$tmp/gate7" "$tmp/lines7"
exec 6<> "$tmp/gate7"
{ { head -c "$stop" "$tmp/gap.hvlog"; head -c 1 "$tmp/gate7" > /dev/null; tail -c +$((stop + 1)) "$tmp/gap.hvlog"; } |
	"$hvlog" decode - > "$tmp/lines7" 2> /dev/null; } &
exec 5< "$tmp/lines7"
if lines "$n"; then ok; else ko "a chunk above a gap: out before the producer went on"; fi
printf 'x' >&6
cat <&5 > "$tmp/rest"
wait
exec 5<&- 6>&-
sort "$tmp/got" > "$tmp/got.sorted"
sort "$tmp/gap.head" > "$tmp/gap.head.sorted"
same "$tmp/got.sorted" "$tmp/gap.head.sorted" "a chunk above a gap: the file's first lines"
tail -n +$((n + 1)) "$tmp/gap.txt" > "$tmp/gap.tail"
same "$tmp/rest" "$tmp/gap.tail" "a chunk above a gap: then the file's other lines"

echo "live: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
