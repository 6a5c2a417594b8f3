#!/bin/sh
# The hostile-input campaign on the command line (docs/SECURITY.md): each
# class of input must give a clear error with its offset and the right exit
# status, never a crash, a hang or unbounded memory or disk.
#   tests/hostile.sh HVLOG HOSTILEGEN
set -u
hvlog=$1 gen=$2
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

# 3: decode --count on N threads parses the metadata once (siblings share
# it): with 1 MiB of one-byte items, whose libcbor tree takes ~75 MB while
# loading, -j 64 must cost no more than -j 1 plus 48 MiB (it was ~3.3 GB)
"$gen" big-meta 200000 1048000 "$tmp/big-meta.hvl" || exit 1
if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ] || ! command -v python3 > /dev/null; then
	echo "SKIP: peak RSS (under a sanitizer, or without python3)"
else
	# peak RSS in KiB of: hvlog decode --count -j N FILE (must count 200000)
	rss() {
		python3 - "$hvlog" "$1" "$2" <<'PY'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "decode", "--count", "-j", sys.argv[2], sys.argv[3]], capture_output=True)
if r.returncode != 0 or r.stdout != b"200000\n":
    sys.exit("hvlog decode exited with %d: %r" % (r.returncode, r.stdout))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
	}
	one=$(rss 1 "$tmp/big-meta.hvl") && many=$(rss 64 "$tmp/big-meta.hvl") || exit 1
	echo "memory: decode --count -j 1 $one KiB, -j 64 $many KiB"
	if [ "$many" -le $((one + 48 * 1024)) ]; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAIL: decode --count -j 64 takes $many KiB, -j 1 $one KiB"
	fi
fi

testlib_done hostile
