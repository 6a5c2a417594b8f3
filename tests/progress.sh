#!/bin/sh
# convert's progress bar (cli/convert_out.c): on a terminal (a pseudo-
# terminal made by script(1)) it shows the bar, the events so far, events/s
# and an ETA, moves forward only and is cleared at the end; never when
# stderr is not a terminal, nor with --no-progress; and never in the output.
#   tests/progress.sh HVLOG TRACEGEN
set -u
hvlog=$1 gen=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

if ! command -v script > /dev/null 2>&1; then
	echo "SKIP: no script(1) (bsdutils) to make a terminal"
	exit 0
fi
"$gen" mix 1000000 "$tmp/t.bin" || { echo "tracegen failed"; exit 1; }
n=$("$hvlog" decode --count "$tmp/t.bin")
"$hvlog" convert --to json "$tmp/t.bin" -o "$tmp/plain.jsonl" 2> "$tmp/plain.err"
# on_tty CMD: CMD with a pseudo-terminal as its stdin, stdout and stderr;
# what the terminal showed, one line per redraw, in $tmp/tty
on_tty() {
	script -qc "$*" /dev/null < /dev/null > "$tmp/tty.raw" 2>&1
	tr '\r' '\n' < "$tmp/tty.raw" > "$tmp/tty"
}
bar='^converting \[[#.]{30}\] +[0-9]+%  [0-9]+ events  ([0-9.]+[kM]?|-) events/s  ETA (([0-9]+:)?[0-9]+:[0-9][0-9]|-:--) *$'

on_tty "'$hvlog' convert --to json '$tmp/t.bin' -o '$tmp/tty.jsonl'"
has tty "$bar" "the bar on a terminal"
has tty '^converting .*  [1-9][0-9]* events  [0-9.]+[kM]? events/s  ETA [0-9]+:[0-9][0-9]' \
	"the bar shows the count, events/s and an ETA"
same "$tmp/tty.jsonl" "$tmp/plain.jsonl" "the output is the same with the bar"
# the count and the percentage only go forward, the count up to the events
grep -E "$bar" "$tmp/tty" | sed 's/.*\] *\([0-9]*\)%  \([0-9]*\) events.*/\1 \2/' > "$tmp/moves"
if awk -v n="$n" '$1 < p || $2 < c || $2 > n { bad = 1 } { p = $1; c = $2 } END { exit bad || NR < 2 }' "$tmp/moves"
then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: the bar goes back or past the events:"; head -5 "$tmp/moves"; fi
# cleared at the end: the last thing on the line is blanks
tail -c 200 "$tmp/tty.raw" | tr '\r' '\n' | tail -1 > "$tmp/last"
if grep -q '[^ ]' "$tmp/last"; then fail=$((fail + 1)); echo "FAIL: the bar is not cleared: $(cat "$tmp/last")"
else pass=$((pass + 1)); fi

# not a terminal: nothing on stderr
if [ -s "$tmp/plain.err" ]; then fail=$((fail + 1)); echo "FAIL: a bar on a stderr that is a file:"; head -c 200 "$tmp/plain.err"
else pass=$((pass + 1)); fi
# a terminal for stdout but not stderr: no bar either
script -qc "'$hvlog' convert --to json '$tmp/t.bin' -o '$tmp/x.jsonl' 2> '$tmp/err.file'" /dev/null < /dev/null > /dev/null 2>&1
if [ -s "$tmp/err.file" ]; then fail=$((fail + 1)); echo "FAIL: a bar when only stdout is a terminal"
else pass=$((pass + 1)); fi
# --no-progress on a terminal: none
on_tty "'$hvlog' convert --no-progress --to json '$tmp/t.bin' -o '$tmp/tty.jsonl'"
if grep -q converting "$tmp/tty"; then fail=$((fail + 1)); echo "FAIL: a bar with --no-progress"; else pass=$((pass + 1)); fi
# --from json: the bar too (lines read of the file's bytes)
on_tty "'$hvlog' convert --from json '$tmp/plain.jsonl' -o '$tmp/back.hvlog'"
has tty '^converting .*  [1-9][0-9]* events  [0-9.]+[kM]? events/s  ETA ' "--from json: the bar with events/s"
testlib_done progress
