#!/bin/sh
# The hostile-input campaign on the command line (docs/SECURITY.md): each
# class of input must give a clear error with its offset and the right exit
# status, never a crash, a hang or unbounded memory or disk.
#   tests/hostile.sh HVLOG HOSTILEGEN [HVCORE EIO_SHIM]
set -u
hvlog=$1 gen=$2 hvcore=${3:-} eio_shim=${4:-}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

# 1: a trace whose metadata lists no stream is refused by every command
# that reads it (filter once read past the end of the empty list)
"$gen" zero-streams "$tmp/zero.hvl" || exit 1
for cmd in decode info stats "filter -o $tmp/zero-out.hvl"; do
	# shellcheck disable=SC2086 # the command and its options
	expect 1 "$cmd zero streams" "$hvlog" $cmd "$tmp/zero.hvl"
	has err "zero\.hvl:32: metadata: streams is empty" "$cmd zero streams message"
done

# A trace whose only metadata is damaged: refused, saying no copy is left;
# with --schema builtin every command reads the chunks written with it,
# and says so (issue: one flipped bit must not lose the whole trace)
"$gen" lost-meta 500 "$tmp/lost.hvl" || exit 1
expect 1 "lost metadata" "$hvlog" decode "$tmp/lost.hvl"
has err "lost\.hvl:32: metadata checksum mismatch, and the file holds no intact copy" "lost metadata message"
expect 1 "decode --schema builtin" "$hvlog" decode --schema builtin "$tmp/lost.hvl"
has err "lost\.hvl:32: metadata checksum mismatch .*fallback schema \"hyperv\"" "fallback says so"
[ "$(grep -c 'IM_MSR_READ' "$tmp/out")" -eq 500 ] && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL: decode --schema builtin: not every event"; }
expect 0 "info --schema builtin" "$hvlog" info --schema builtin "$tmp/lost.hvl"
has out "^producer: +unknown \(the trace's metadata is lost\)" "info --schema builtin says so"
has out "^events: +500$" "info --schema builtin counts every event"
expect 1 "info --verify --schema builtin" "$hvlog" info --verify --schema builtin "$tmp/lost.hvl"
has out "offset 32, [0-9]+ bytes.*fallback schema" "info --verify --schema builtin lists it"
for cmd in stats "filter -o $tmp/lost-out.hvl" "convert --to csv -o $tmp/lost.csv"; do
	# shellcheck disable=SC2086 # the command and its options
	expect 1 "$cmd --schema builtin" "$hvlog" $cmd --schema builtin "$tmp/lost.hvl"
	has err "fallback schema" "$cmd --schema builtin says so"
done
expect 2 "--schema other" "$hvlog" decode --schema other "$tmp/lost.hvl"
# --schema-from a trace that cannot be read: the error is that trace's,
# its name and offset, not the input's
expect 1 "--schema-from a damaged trace" "$hvlog" decode --schema-from "$tmp/lost.hvl" "$tmp/lost.hvl"
has err "^hvlog: $tmp/lost\.hvl:32: metadata checksum mismatch" "--schema-from a damaged trace: its own name and offset"
expect 3 "--schema-from a missing file" "$hvlog" decode --schema-from "$tmp/none.hvl" "$tmp/lost.hvl"
has err "^hvlog: $tmp/none\.hvl: cannot open" "--schema-from a missing file: its name"
# metadata that parses but makes no sense never becomes a trace: its
# schema is refused as the reader refuses a file's, before anything is
# written, and as bad input (exit 1), not a usage error
sed '1s/"mask":512/"mask":0/' "$(dirname "$0")/../fuzz/corpus/from_json/all.jsonl" > "$tmp/mask0.jsonl"
expect 1 "convert --from json, a group mask of 0" "$hvlog" convert --from json -o "$tmp/mask0.hvl" "$tmp/mask0.jsonl"
has err "metadata: group 1 has mask 0" "group mask 0 message"
[ ! -e "$tmp/mask0.hvl" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: mask 0: a file was written"; }
"$gen" c1-names "$tmp/c1.hvl" || exit 1
expect 0 "C1 names" "$hvlog" decode "$tmp/c1.hvl"
if LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$tmp/out"; then
	fail=$((fail + 1)); echo "FAIL: a C1 control reached the text output"
else
	pass=$((pass + 1))
fi
has out "vp\?\?\[2J" "C1 shown as ??"
expect 0 "info of C1 names" "$hvlog" info "$tmp/c1.hvl"
if LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$tmp/out"; then
	fail=$((fail + 1)); echo "FAIL: a C1 control reached info's output"
else
	pass=$((pass + 1))
fi

# 5: an endless input that is not a trace fails on its first bytes, before
# anything is spooled (a file-size limit makes spooling fail at once)
for src in /dev/zero -; do
	expect 1 "decode $src of zeros" sh -c 'ulimit -f 2048; exec "$@" < /dev/zero' sh "$hvlog" decode "$src"
	has err ":0: not an hvlog trace \(bad magic\)" "decode $src of zeros message"
done

# 9b: a metadata map declaring 2^63 pairs (twice that wraps to 0): a clear
# message and exit status 1, not libcbor's error code and 3
"$gen" huge-map 9223372036854775808 "$tmp/huge-map.hvl" || exit 1
expect 1 "map of 2^63 pairs" "$hvlog" info "$tmp/huge-map.hvl"
has err "huge-map\.hvl:[0-9]+: metadata: a CBOR item declares more entries than there are bytes" \
	"map of 2^63 pairs message"

# 9a: text the user typed never reaches the terminal as a control
# sequence through an error message: C0 (ESC), DEL and C1 (U+009B, CSI to
# many terminals) in a --where expression or an option's value are shown
# as '?' ("??" for C1, so the caret stays under its byte)
"$gen" c1-names "$tmp/plain.hvl" || exit 1
# no_controls DESCRIPTION: stderr holds no control character but newlines
no_controls() {
	if LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]\|\302[\200-\237]')" "$tmp/err"; then
		fail=$((fail + 1)); echo "FAIL: $1: a control character reached the message"
	else
		pass=$((pass + 1))
	fi
}
esc=$(printf '\033[2J') csi=$(printf '\302\233[2J') del=$(printf '\177')
for e in "v$esc == 1" "v$csi == 1" "v == 1 && x$csi" "v == $csi" "v in {1, $csi}" "v$del == 1" "($csi"; do
	expect 2 "--where '$e'" "$hvlog" decode --where "$e" "$tmp/plain.hvl"
	no_controls "--where '$e'"
done
expect 2 "--where with C1" "$hvlog" decode --where "v$csi == 1" "$tmp/plain.hvl"
has err "^  v\?\?\[2J == 1$" "--where with C1: the expression shown with ??"
for o in --event --group --stream --vp --since; do
	expect 2 "$o with C1" "$hvlog" decode "$o" "x$csi$esc" "$tmp/plain.hvl"
	no_controls "$o with C1"
done

# 4: thousands of damaged regions: info --verify and the threaded decode
# --count keep the first 1000 in offset order and count the rest
"$gen" damaged 3000 "$tmp/damaged.hvl" || exit 1
expect 1 "decode many damaged regions" "$hvlog" decode --count -j 1 "$tmp/damaged.hvl"
sed -n 's/^hvlog: [^:]*:\([0-9][0-9]*\): .*/\1/p' "$tmp/err" | sort -n | head -1000 > "$tmp/first"
regions=$(grep -c '^hvlog: [^:]*:[0-9][0-9]*: ' "$tmp/err")
[ "$regions" -ge 3000 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: only $regions regions"; }
expect 1 "info --verify many damaged regions" "$hvlog" info --verify "$tmp/damaged.hvl"
has out "^damage: +$regions regions" "info --verify counts every region"
has out "^  \.\.\. and $((regions - 1000)) more regions \(not listed\)$" "info --verify says how many are not listed"
sed -n 's/^  offset \([0-9]*\),.*/\1/p' "$tmp/out" > "$tmp/listed"
same "$tmp/first" "$tmp/listed" "info --verify lists the first 1000 regions in offset order"
expect 1 "info --format json many damaged regions" "$hvlog" info --verify --format json "$tmp/damaged.hvl"
has out "\"damage_not_listed\":$((regions - 1000))}$" "info --format json counts the regions not listed"
for j in 2 7; do
	expect 1 "decode --count -j $j many damaged regions" "$hvlog" decode --count -j "$j" "$tmp/damaged.hvl"
	has err "^hvlog: [^:]*damaged\.hvl: \.\.\. and $((regions - 1000)) more damaged regions \(not listed\)$" \
		"decode --count -j $j says how many are not listed"
	sed -n 's/^hvlog: [^:]*:\([0-9][0-9]*\): .*/\1/p' "$tmp/err" > "$tmp/listed"
	same "$tmp/first" "$tmp/listed" "decode --count -j $j lists the first 1000 regions in offset order"
done

# 6: a read error is an error, with where it happened, not an end of input
mkdir "$tmp/dir"
expect 3 "convert --from json of a directory" "$hvlog" convert --from json "$tmp/dir" -o "$tmp/dir.hvl"
has err "dir:1: read error: Is a directory" "convert --from json of a directory: message"
expect 3 "convert --from cbor of a directory" "$hvlog" convert --from cbor "$tmp/dir" -o "$tmp/dir.hvl"
has err "dir:0: read error: Is a directory" "convert --from cbor of a directory: message"

# 8: half of a chunk goes out, then the write of the rest fails (EIO):
# the writer must leave nothing that hides the chunks behind it.  On a
# file it cuts the torn chunk off (no damaged byte is left, only the
# chunk's sequence number is missing); on a pipe it writes zeros, as many
# as the chunk had, so that the torn header's claimed payload ends inside
# the damaged region.  Either way every event not counted as lost decodes.
# (Before, the torn header was left in place, its claim running over the
# next chunk.)
# a full disk from the first byte: the message says what could not be
# written (the file header, not "stream 4294967295")
if [ -n "$hvcore" ] && [ -w /dev/full ]; then
	expect 1 "hvcore -o /dev/full" "$hvcore" --no-progress -b sim -w mixed -n 1000 -o /dev/full
	has err "writing 32 bytes of the file's header or metadata failed: No space left on device" "hvcore -o /dev/full: message"
fi
if [ -n "$eio_shim" ] && command -v python3 > /dev/null; then
	run_hvcore() {
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD="$eio_shim" HVLOG_TEST_EIO_SHORT=1 \
			"$hvcore" --no-progress -b sim -w mixed -v 2 -n 200000 -o "$@"
	}
	"$hvcore" --no-progress -b sim -w mixed -v 2 -n 200000 -o "$tmp/noeio.hvl" 2> /dev/null || exit 1
	all=$("$hvlog" decode --count "$tmp/noeio.hvl")
	run_hvcore "$tmp/eio-file.hvl" 2> "$tmp/eio.err"
	echo $? > "$tmp/eio-file.rc"
	{ run_hvcore - 2> "$tmp/eio.err"; echo $? > "$tmp/eio-pipe.rc"; } | cat > "$tmp/eio-pipe.hvl"
	for kind in file pipe; do
		f=$tmp/eio-$kind.hvl
		[ "$(cat "$tmp/eio-$kind.rc")" -eq 3 ] && pass=$((pass + 1)) ||
			{ fail=$((fail + 1)); echo "FAIL: hvcore with a short write and EIO on a $kind: exit $(cat "$tmp/eio-$kind.rc")"; }
		n=$("$hvlog" decode --count "$f" 2> /dev/null)
		lost=$("$hvlog" info --format json "$f" | sed -n 's/.*"lost_events":\([0-9]*\).*/\1/p')
		if [ "$((n + lost))" -eq "$all" ] && [ "$lost" -gt 0 ]; then pass=$((pass + 1)); else
			fail=$((fail + 1)); echo "FAIL: short write + EIO on a $kind: $n events + $lost lost, $all without the error"
		fi
		"$hvlog" info --verify --format json "$f" > "$tmp/verify.json"
		python3 - "$f" "$tmp/verify.json" "$kind" <<'PY' && pass=$((pass + 1)) || fail=$((fail + 1))
import json, struct, sys
data = open(sys.argv[1], "rb").read()
regions = [d for d in json.load(open(sys.argv[2]))["damage"] if d["length"]]
kind = sys.argv[3]
if kind == "file" and regions:
    sys.exit("FAIL: short write + EIO on a file: damaged bytes left: %r" % regions)
if kind == "pipe":
    if len(regions) != 1:
        sys.exit("FAIL: short write + EIO on a pipe: %d damaged regions, not 1" % len(regions))
    off, length = regions[0]["offset"], regions[0]["length"]
    claim = off + 64 + struct.unpack_from("<I", data, off + 12)[0]
    if data[off:off + 8] != b"\xc3HVCHUNK" or claim > off + length or data[claim:off + length].strip(b"\0"):
        sys.exit("FAIL: short write + EIO on a pipe: the torn chunk at %d claims up to %d, past the zeros that "
                 "end at %d" % (off, claim, off + length))
PY
	done
else
	echo "SKIP: short write + EIO (no shim given, or no python3)"
fi

# Peak memory: skipped under a sanitizer (RSS would measure the sanitizer)
if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ] || ! command -v python3 > /dev/null; then
	echo "SKIP: peak RSS (under a sanitizer, or without python3)"
	testlib_done hostile
	exit
fi
# rss WANT CMD...: peak RSS in KiB of CMD, which must exit WANT (its
# stdout in $tmp/out, its stderr in $tmp/err).  A child's ru_maxrss also
# counts what it had before exec (the python process copied at fork): a
# floor of some 10 MiB, which can only hide growth, not invent it.
rss() {
	python3 - "$tmp" "$@" <<'PY'
import resource, subprocess, sys
tmp, want, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with open(tmp + "/out", "wb") as out, open(tmp + "/err", "wb") as err:
    r = subprocess.run(cmd, stdout=out, stderr=err)
if r.returncode != want:
    sys.exit("%s exited with %d, not %d" % (" ".join(cmd), r.returncode, want))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
# at_most KIB GOT DESCRIPTION
at_most() {
	if [ "$2" -le "$1" ]; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAIL: $3 takes $2 KiB, more than $1 KiB"
	fi
}

# 3: decode --count on N threads parses the metadata once (siblings share
# it): with 1 MiB of one-byte items, whose libcbor tree takes ~75 MB while
# loading, -j 64 must cost no more than -j 1 plus 48 MiB (it was ~3.3 GB)
"$gen" big-meta 200000 1048000 "$tmp/big-meta.hvl" || exit 1
one=$(rss 0 "$hvlog" decode --count -j 1 "$tmp/big-meta.hvl") || exit 1
has out "^200000$" "decode --count -j 1 of big metadata counts every event"
many=$(rss 0 "$hvlog" decode --count -j 64 "$tmp/big-meta.hvl") || exit 1
has out "^200000$" "decode --count -j 64 of big metadata counts every event"
echo "memory: decode --count -j 1 $one KiB, -j 64 $many KiB"
at_most $((one + 48 * 1024)) "$many" "decode --count -j 64 (-j 1: $one KiB)"

# ... and a reader's per-stream state is per thread: with 24 000 streams
# (1 MiB of metadata) -j 64 took 226 MB more than -j 1 for decode --count
# and 398 MB more for stats.  The threads are capped so that their
# per-stream state stays within 64 MiB in all.
"$gen" wide 24000 "$tmp/wide.hvl" || exit 1
# threads_memory FILE J WHAT: decode --count and stats of FILE print the
# same with -j J as with -j 1, in at most 80 MiB more
threads_memory() {
	for cmd in "decode --count" stats; do
		# shellcheck disable=SC2086 # the command and its options
		one=$(rss 0 "$hvlog" $cmd -j 1 "$1") && cp "$tmp/out" "$tmp/one.out" || exit 1
		# shellcheck disable=SC2086
		many=$(rss 0 "$hvlog" $cmd -j "$2" "$1") || exit 1
		same "$tmp/one.out" "$tmp/out" "$cmd -j $2 of $3 prints what -j 1 prints"
		echo "memory: $cmd of $3: -j 1 $one KiB, -j $2 $many KiB"
		at_most $((one + 80 * 1024)) "$many" "$cmd -j $2 of $3 (-j 1: $one KiB)"
	done
}
threads_memory "$tmp/wide.hvl" 64 "24 000 streams"

# ... and each stream's predictors are per thread too: a schema of 300
# events x 16 parameters (4 800 slots, 41 KB of predictors a stream) and
# 600 streams of 16 chunks took 25 MB a thread: stats -j 16 took 350 MB
# more than -j 1.  The cap counts them.
awk 'BEGIN {
	printf "{\"type\":\"meta\",\"format\":\"hvlog\",\"version\":[1,0],\"producer\":\"x\",\"clock\":{\"name\":\"ns\",\"hz\":1000000000,\"epoch_ns\":0},\"streams\":["
	for (s = 0; s < 600; s++) printf "%s{\"id\":%d,\"name\":\"s%d\",\"partition\":0,\"vp\":%d}", s ? "," : "", s, s, s
	printf "],\"schema\":{\"name\":\"w\",\"version\":1,\"groups\":[{\"alias\":\"g\",\"name\":\"G\",\"mask\":1}],\"valtabs\":[],\"events\":["
	for (e = 0; e < 300; e++) {
		printf "%s{\"number\":%d,\"symbol\":\"e%d\",\"description\":\"d\",\"group\":0,\"params\":[", e ? "," : "", e < 238 ? 16 + e : 256 + e, e
		for (k = 0; k < 16; k++) printf "%s{\"key\":\"p%d\",\"name\":\"p%d\",\"type\":\"u8\",\"display\":\"hex\",\"coding\":\"delta\"}", k ? "," : "", k, k
		printf "]}"
	}
	print "]}}"
	for (c = 0; c < 16; c++)
		for (s = 0; s < 600; s++) {
			printf "{\"type\":\"event\",\"ts\":%d,\"stream\":%d,\"number\":16,\"params\":{", c * 10 + 1, s
			for (k = 0; k < 16; k++) printf "%s\"p%d\":1", k ? "," : "", k
			print "}}"
			printf "{\"type\":\"lost\",\"ts\":%d,\"stream\":%d,\"count\":1}\n", c * 10 + 1, s
		}
}' > "$tmp/slots.jsonl"
"$hvlog" convert --from json "$tmp/slots.jsonl" -o "$tmp/slots.hvl" || ko "convert --from json of a 4 800-slot schema"
threads_memory "$tmp/slots.hvl" 16 "600 streams x 4 800 slots"

# report's timeline had a row of 200 bins for every stream and group of
# the metadata, swept at every widening: 2.4 GB and 29 s for this 3.6 MB
# file of two events.  Rows are made for the pairs that have events.
got=$(rss 0 "$hvlog" report -o "$tmp/wide.html" "$tmp/wide.hvl") || exit 1
echo "memory: report of 24 000 streams x 64 groups: $got KiB"
at_most $((64 * 1024)) "$got" "report of 24 000 streams x 64 groups"

# 6, 7: convert --from json reads a line of at most 16 MiB, and json-c's
# tree of it costs some 70 bytes per value: a line of 8 million values
# took 600 MB.  More than 2^20 values in a line (more than the metadata
# of a trace can have) is refused before it is parsed, with its line.
"$hvlog" convert --to json "$tmp/plain.hvl" -o "$tmp/plain.jsonl" || exit 1
{
	head -n 1 "$tmp/plain.jsonl"
	printf '{"type":"event","x":['
	yes 0, | head -n 8000000 | tr -d '\n'
	printf '0]}\n'
} > "$tmp/values.jsonl"
got=$(rss 1 "$hvlog" convert --from json "$tmp/values.jsonl" -o "$tmp/values.hvl") || exit 1
has err "values\.jsonl:2: more than 1048576 values in one line" "--from json, 8 million values: message"
echo "memory: convert --from json of 8 million values in a line: $got KiB"
at_most $((64 * 1024)) "$got" "convert --from json of 8 million values in a line"
got=$(rss 1 "$hvlog" convert --from json /dev/zero -o "$tmp/zero.hvl") || exit 1
has err "/dev/zero:1: a line longer than 16777216 bytes" "--from json /dev/zero: message"
echo "memory: convert --from json /dev/zero: $got KiB"
at_most $((64 * 1024)) "$got" "convert --from json /dev/zero"

testlib_done hostile
