#!/bin/sh
# Golden-file test: decode every trace in testdata/ and compare stdout (text
# and JSON), stderr and the exit code with the expected files beside it.
# Also checks that the writer still produces the golden traces byte for byte.
#   tests/golden.sh HVLOG TRACEGEN TESTDATA_DIR
set -u
hvlog=$1 gen=$2 data=$3
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

check() { # check NAME: compares $tmp/out with expected file $2
	if cmp -s "$2" "$tmp/out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $1"
		diff "$2" "$tmp/out" | head -20
	fi
}

for f in "$data"/golden/*.bin "$data"/damaged/*.bin; do
	base=${f%.bin}
	rel=${f#"$data"/}
	(cd "$data" && "$hvlog" decode "$rel" > "$tmp/out" 2> "$tmp/err"; echo $? > "$tmp/code")
	check "$rel text" "$base.txt"
	cp "$tmp/err" "$tmp/out" && check "$rel stderr" "$base.stderr"
	cp "$tmp/code" "$tmp/out" && check "$rel exit code" "$base.exit"
	"$hvlog" decode --format json "$f" > "$tmp/out" 2> /dev/null
	check "$rel json" "$base.jsonl"
done

# The writer is deterministic: same input, same bytes (pins the encoder).
"$gen" all "$tmp/out" && check "tracegen all == golden/all.bin" "$data/golden/all.bin"
"$gen" mix 2000 "$tmp/out" && check "tracegen mix == golden/mix.bin" "$data/golden/mix.bin"

echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
