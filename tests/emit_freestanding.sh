#!/bin/sh
# The emit path needs no libc and no allocation: the typed emitters compile
# (at -O0 and -O2, -ffreestanding) to code whose only outside reference is
# the emit target's slow path, and the emit target itself references
# nothing outside it but libgcc's CPU model (for the CRC instruction) and,
# in sanitizer builds, the sanitizer's runtime.
#   tests/emit_freestanding.sh CC SOURCE_DIR GEN_DIR EMIT_LIB
set -u
cc=$1 src=$2 gen=$3 lib=$4
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

for opt in -O0 -O2; do
	"$cc" -std=c17 $opt -ffreestanding -c "$src/tests/emit_probe.c" -I "$src/libhvlog/include" -I "$gen" \
		-o "$tmp/probe.o" || { echo "FAIL: emit_probe.c does not compile with $opt"; exit 1; }
	extra=$(nm -u "$tmp/probe.o" | awk '{print $2}' | grep -v '^hvlog__stream_full$')
	if [ -n "$extra" ]; then
		echo "FAIL: typed emitters at $opt reference: $extra"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
extra=$(nm -u "$lib" | awk 'NF == 2 {print $2}' | grep -Ev '^(hvlog_[a-z0-9_]+|_GLOBAL_OFFSET_TABLE_|__cpu_model|__cpu_indicator_init|__(asan|ubsan|tsan|sanitizer)_[A-Za-z0-9_]+)$')
if [ -n "$extra" ]; then
	echo "FAIL: the emit target references: $extra"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
echo "emit_freestanding: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
