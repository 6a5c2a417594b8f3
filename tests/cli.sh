#!/bin/sh
# Command-line behaviour: exit codes, stdin and pipes, diagnostics, help.
#   tests/cli.sh HVLOG TESTDATA_DIR
set -u
hvlog=$1 data=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect CODE DESCRIPTION CMD...: runs CMD, checks its exit code
expect() {
	want=$1 what=$2
	shift 2
	"$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $what: exit $got, expected $want"
		head -5 "$tmp/err"
	fi
}

# has FILE PATTERN DESCRIPTION: FILE (out or err) matches the regex
has() {
	if grep -Eq -- "$2" "$tmp/$1"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $3: no /$2/ in std$1:"
		head -5 "$tmp/$1"
	fi
}

same() { # same A B DESCRIPTION
	if cmp -s "$1" "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $3"; fi
}

all="$data/golden/all.bin"

expect 2 "no command" "$hvlog"
has err "no command given" "no command message"
expect 2 "unknown command" "$hvlog" frobnicate
has err "unknown command 'frobnicate'" "unknown command message"
expect 2 "mistyped command" "$hvlog" decod
has err "unknown command 'decod' \(did you mean 'decode'\?\)" "a mistyped command gets a suggestion"
expect 2 "swapped letters" "$hvlog" fitler
has err "did you mean 'filter'" "two swapped letters get a suggestion"
# usage errors name the command as the user typed it
expect 2 "unknown option" "$hvlog" decode --bogus
has err "^hvlog decode: unrecognized option '--bogus'" "usage errors say hvlog decode"
has err "^Try .hvlog decode --help'" "usage hint names hvlog decode"
expect 2 "bad format" "$hvlog" events --format nope
has err "^hvlog events: unknown format 'nope'" "argp errors say hvlog events"
# -V is --version in every command, info included (--verify has no short form)
for c in decode info events; do
	expect 0 "$c -V" "$hvlog" $c -V
	has out "^hvlog [0-9]+\.[0-9]+\.[0-9]+ " "$c -V prints the version"
done
expect 0 "--help" "$hvlog" --help
has out "Exit status" "help on stdout lists exit codes"
expect 0 "--version" "$hvlog" --version
has out "^hvlog [0-9]+\.[0-9]+\.[0-9]+ \(libhvlog [0-9.]+, trace format 1\.0\)" "version line"
expect 0 "decode --help" "$hvlog" decode --help
has out "--format" "decode help lists --format"
expect 2 "decode bad option" "$hvlog" decode --bogus "$all"
expect 2 "decode bad format" "$hvlog" decode --format xml "$all"
expect 2 "decode two files" "$hvlog" decode "$all" "$all"

expect 3 "missing file" "$hvlog" decode "$tmp/nope.bin"
has err "^hvlog: .*nope\.bin: cannot open: No such file or directory" "missing file message"
expect 3 "directory" "$hvlog" decode "$tmp"
: > "$tmp/empty.bin"
expect 1 "empty file" "$hvlog" decode "$tmp/empty.bin"
has err "empty\.bin:0: empty file" "empty file message"

expect 0 "decode file" "$hvlog" decode "$all"
cp "$tmp/out" "$tmp/by-path"
expect 0 "decode - < file" sh -c "'$hvlog' decode - < '$all'"
same "$tmp/out" "$tmp/by-path" "stdin redirect decodes like the file"
expect 0 "decode from a pipe" sh -c "cat '$all' | '$hvlog' decode"
same "$tmp/out" "$tmp/by-path" "a pipe decodes like the file"
expect 1 "damaged stdin" sh -c "printf 'junk' | '$hvlog' decode -"
has err "^hvlog: \(stdin\):0: " "stdin diagnostics are named (stdin)"

expect 0 "group filter" "$hvlog" decode --group interrupt "$all"
# lost events are always shown, whatever the filter
if grep -v " -- " "$tmp/out" | grep -qv " interrupt "; then fail=$((fail + 1)); echo "FAIL: --group interrupt let other groups through"; else pass=$((pass + 1)); fi
has out " LOST 3 events" "losses shown under a filter"
cp "$tmp/out" "$tmp/by-alias"
expect 0 "group by mask" "$hvlog" decode --group 0x800 "$all"
same "$tmp/out" "$tmp/by-alias" "--group 0x800 selects like --group interrupt"
expect 0 "group by full name" "$hvlog" decode --group "INTERRUPT MANAGER" "$all"
same "$tmp/out" "$tmp/by-alias" "--group by full name, any case"
expect 2 "unknown group" "$hvlog" decode --group nosuch "$all"
has err "unknown group 'nosuch'" "unknown group message"

expect 0 "events" "$hvlog" events
has out "HV_TR_IM_MSR_READ" "events lists MSR read"
has out "^interrupt +0x0000000000000800 +Interrupt Manager$" "events lists the groups with their masks"
has out "^msr +0x1b +IA32_APIC_BASE$" "events lists the value tables"
cp "$tmp/out" "$tmp/events.txt"
expect 0 "events --group" "$hvlog" events --group hypercall
if [ "$(grep -c HYPERCALL "$tmp/out")" -eq 1 ] && [ "$(grep -c '^hypercall ' "$tmp/out")" -eq 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: events --group hypercall should print its group and 1 event"; fi
# a trace's own schema: the built-in one for this trace, from a file or a pipe
expect 0 "events FILE" "$hvlog" events "$data/golden/mix.bin"
same "$tmp/out" "$tmp/events.txt" "events FILE lists the schema the trace embeds"
expect 0 "events -" sh -c '"$1" events - < "$2"' sh "$hvlog" "$data/golden/mix.bin"
same "$tmp/out" "$tmp/events.txt" "events - reads the schema from standard input"
expect 1 "events of a non-trace" "$hvlog" events "$data/damaged/not-a-trace.bin"
expect 3 "events of a missing file" "$hvlog" events "$tmp/no-such-file"
expect 2 "events FILE FILE" "$hvlog" events "$data/golden/mix.bin" "$data/golden/mix.bin"
expect 2 "events unknown group" "$hvlog" events --group nosuch

if command -v jq > /dev/null; then
	expect 0 "events json" "$hvlog" events --format json
	n=$(jq -s 'length' < "$tmp/out")
	if [ "$n" -ge 40 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: events json has $n events"; fi
	expect 0 "decode json" "$hvlog" decode --format json "$all"
	jq -e -s 'map(select(.type == "event")) | length > 80' < "$tmp/out" > /dev/null && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: decode json not valid JSON Lines"; }
	jq -e -s '[.[] | select(.event == "HV_TR_IM_MSR_WRITE" and .params.guest_rip == "0xffffffffffffffff")] | length == 1' < "$tmp/out" > /dev/null && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: 64-bit RIP not exact in JSON"; }
else
	echo "SKIP: jq not installed, JSON checks skipped"
fi

# --count on several threads (a share of the chunks each) gives the same
# count, exit status and damage messages as on one, on intact and damaged
# files, with and without a selection.
for f in "$data"/golden/*.bin "$data"/damaged/*.bin; do
	for sel in "" "--group interrupt --where port==0x3f8" "--stream 1"; do
		# shellcheck disable=SC2086 # $sel is a list of options
		"$hvlog" decode --count -j1 $sel "$f" > "$tmp/c1" 2> "$tmp/e1"
		r1=$?
		for j in 2 3 7; do
			# shellcheck disable=SC2086
			"$hvlog" decode --count -j$j $sel "$f" > "$tmp/cj" 2> "$tmp/ej"
			rj=$?
			sort "$tmp/e1" > "$tmp/e1s"
			sort "$tmp/ej" > "$tmp/ejs"
			if [ "$r1" -eq "$rj" ] && cmp -s "$tmp/c1" "$tmp/cj" && cmp -s "$tmp/e1s" "$tmp/ejs"; then
				pass=$((pass + 1))
			else
				fail=$((fail + 1))
				echo "FAIL: decode --count -j$j $sel $(basename "$f"): exit $rj, $(cat "$tmp/cj"); -j1: exit $r1, $(cat "$tmp/c1")"
			fi
		done
	done
done
expect 2 "decode --threads 0" "$hvlog" decode --count -j0 "$all"
expect 2 "decode --threads x" "$hvlog" decode --count --threads=x "$all"

# --count on threads over a pipe, a FIFO and process substitution: the
# input is opened (and spooled) once and the threads share it, so the count,
# exit status and damage messages are those of the file (each thread once
# reopened the FIFO or /dev/fd/N and read a different part of the stream).
# piped_count WHAT FILE CMD...: CMD counts as `decode --count -j1 FILE`
piped_count() {
	what=$1 f=$2
	shift 2
	"$hvlog" decode --count -j1 "$f" > "$tmp/c1" 2> "$tmp/e1"
	r1=$?
	"$@" > "$tmp/cj" 2> "$tmp/ej"
	rj=$?
	sed 's/^hvlog: [^:]*:/hvlog: F:/' "$tmp/e1" > "$tmp/e1s"
	sed 's/^hvlog: [^:]*:/hvlog: F:/' "$tmp/ej" > "$tmp/ejs"
	if [ "$r1" -eq "$rj" ] && cmp -s "$tmp/c1" "$tmp/cj" && cmp -s "$tmp/e1s" "$tmp/ejs"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: decode --count on threads, $what, $(basename "$f"): exit $rj, $(cat "$tmp/cj"); -j1: exit $r1, $(cat "$tmp/c1")"
		head -3 "$tmp/ej"
	fi
}
for f in "$all" "$data/golden/mix.bin" "$data/damaged/payload-bitflip.bin" "$data/damaged/truncated.bin"; do
	piped_count "standard input" "$f" sh -c 'cat "$1" | "$2" decode -c -j2 -' sh "$f" "$hvlog"
	mkfifo "$tmp/fifo"
	timeout 60 cat "$f" > "$tmp/fifo" &
	piped_count "FIFO" "$f" "$hvlog" decode --count -j4 "$tmp/fifo"
	wait
	rm -f "$tmp/fifo"
	if command -v bash > /dev/null; then
		piped_count "process substitution" "$f" bash -c '"$1" decode --count -j 4 <(cat "$2")' bash "$hvlog" "$f"
	fi
done

# docs/SCHEMA.md is generated from the schema: it must be current.
# ---- numbers too large, empty time windows, -j without -c (issue 18) ----------
all=$data/golden/all.bin
expect 2 "--limit beyond 64 bits" "$hvlog" decode --limit 99999999999999999999 "$all"
has err "--limit 99999999999999999999 is too large \(at most 18446744073709551615\)" "--limit too large"
expect 2 "--vp beyond 32 bits" "$hvlog" decode --vp 99999999999 "$all"
has err "--vp 99999999999 is too large" "--vp too large"
expect 2 "--partition beyond 64 bits" "$hvlog" stats --partition 123456789012345678901 "$all"
has err "--partition 123456789012345678901 is too large" "--partition too large"
expect 2 "--since beyond 2^64 ns" "$hvlog" decode --since 99999999999999s "$all"
has err "time '99999999999999s' for --since is too large" "--since too large"
expect 2 "--limit not a number" "$hvlog" decode --limit 12x "$all"
has err "--limit wants a number, not '12x'" "--limit not a number"
expect 2 "inverted window" "$hvlog" decode --since 2.5s --until 2s "$all"
has err "^hvlog: --since 2.5s is after --until 2s: the time window is empty$" "inverted window message"
# a window outside the trace is no error: nothing is selected
expect 0 "window after the end" "$hvlog" filter -f text --since 2s "$all"
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then
	fail=$((fail + 1))
	echo "FAIL: window after the end printed something"
else
	pass=$((pass + 1))
fi
expect 0 "window after the end, --count on threads" "$hvlog" decode -c -j 2 --since 2s "$all"
has out "^0$" "window after the end, --count on threads: 0"
expect 0 "window before the start" "$hvlog" decode -c --until @5t "$all"
has out "^0$" "window before the start: 0"
expect 0 "a window inside the trace" "$hvlog" decode -c --since 10us --until 20us "$all"
has out "^12$" "a window inside the trace counts"
expect 2 "decode -j without --count" "$hvlog" decode -j 2 "$all"
has err "--threads applies to --count only" "-j without -c explained"
expect 0 "decode -j with --count" "$hvlog" decode -j 2 -c "$all"

# ---- a wrong input names the format it looks like -------------------------------
"$hvlog" convert --to json "$all" -o "$tmp/w.jsonl"
"$hvlog" convert --to cbor "$all" -o "$tmp/w.cbor"
printf '\050\265\057\375rest' > "$tmp/w.zst"
expect 1 "decode on JSON" "$hvlog" decode "$tmp/w.jsonl"
has err "not an hvlog trace \(bad magic\).*: it looks like JSON" "decode on JSON names it"
expect 1 "info on CBOR" "$hvlog" info "$tmp/w.cbor"
has err "it looks like CBOR" "info on CBOR names it"
# compressed data are decompressed (tests/compressed.sh): a broken stream is named
expect 1 "decode on broken zstd" "$hvlog" decode "$tmp/w.zst"
has err "not an hvlog trace \(in the decompressed data; the zstd-compressed input is truncated" "decode on broken zstd names it"
expect 1 "--from cbor on JSON" "$hvlog" convert --from cbor "$tmp/w.jsonl" -o "$tmp/x.hvlog"
has err "not a CBOR sequence: it looks like JSON" "--from cbor on JSON names it"
expect 1 "--from json on a trace" "$hvlog" convert --from json "$all" -o "$tmp/x.hvlog"
has err "not JSON Lines: it looks like an hvlog trace" "--from json on a trace names it"
expect 1 "--from json on CBOR" "$hvlog" convert --from json "$tmp/w.cbor" -o "$tmp/x.hvlog"
has err "not JSON Lines: it looks like CBOR" "--from json on CBOR names it"
expect 1 "decode on text" "$hvlog" decode "$data/damaged/not-a-trace.bin"
has err "bad magic\)$" "text is named no format"

# ---- tables aligned by display width (names of any length and script) -----------
if command -v jq > /dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
	jq -c 'if .type == "meta" then .streams[0].name = "vp0-été-長い名前-a-rather-long-name" else . end' \
		"$tmp/w.jsonl" > "$tmp/wide.jsonl"
	"$hvlog" convert --from json "$tmp/wide.jsonl" -o "$tmp/wide.hvlog" 2> /dev/null
	"$hvlog" info "$tmp/wide.hvlog" | sed -n '/^  ID /,/^chunks/p' | sed '$d' > "$tmp/t1"
	"$hvlog" stats "$tmp/wide.hvlog" | sed -n '/^STREAM /,/^$/p' | sed '$d' > "$tmp/t2"
	# every row's right-aligned columns end where the header's do, in terminal cells
	for t in t1 t2; do
		if /usr/bin/python3 - "$tmp/$t" << 'PYEND'
import sys, unicodedata
def cells(c):
    return 2 if unicodedata.east_asian_width(c) in "WF" else 1
def ends(line):  # the cell column where each field ends
    out, col, inword = [], 0, False
    for c in line:
        if c == " " and inword:
            out.append(col)
        inword = c != " "
        col += cells(c)
    return out + [col]
rows = open(sys.argv[1], encoding="utf-8").read().splitlines()
head = ends(rows[0])
sys.exit(0 if len(rows) >= 3 and all(ends(r)[-4:] == head[-4:] for r in rows[1:]) else 1)
PYEND
		then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $t: a long, non-ASCII name breaks the table:"; cat "$tmp/$t"; fi
	done
else
	echo "SKIP: display-width tables: jq or python3 missing"
fi

"$hvlog" events --format markdown > "$tmp/schema.md"
same "$tmp/schema.md" "$data/../docs/SCHEMA.md" "docs/SCHEMA.md is out of date: run hvlog events --format markdown > docs/SCHEMA.md"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
