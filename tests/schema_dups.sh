#!/bin/sh
# A broken schema fails the build: schemagen refuses a duplicate event
# number, a duplicate group mask, a duplicate symbol, a parameter that
# does not follow its event, and a role given to two parameters of an event.
#   tests/schema_dups.sh CC SOURCE_DIR
set -u
cc=$1 src=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# try DESCRIPTION EXPECTED-MESSAGE SED-SCRIPT
try() {
	mkdir -p "$tmp/s"
	cp "$src/schema/schemagen.c" "$tmp/s/"
	sed "$3" "$src/schema/hvlog_schema.def" > "$tmp/s/hvlog_schema.def"
	if cmp -s "$src/schema/hvlog_schema.def" "$tmp/s/hvlog_schema.def"; then
		echo "FAIL: $1: the edit changed nothing"
		fail=$((fail + 1))
		return
	fi
	"$cc" -std=c17 -I"$src/libhvlog/include" -o "$tmp/s/gen" "$tmp/s/schemagen.c" || { echo "FAIL: $1: schemagen does not compile"; fail=$((fail + 1)); return; }
	if "$tmp/s/gen" tables "$tmp/s/out.c" 2> "$tmp/s/err"; then
		echo "FAIL: $1: schemagen accepted it"
		fail=$((fail + 1))
	elif grep -q "$2" "$tmp/s/err"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $1: unexpected message: $(cat "$tmp/s/err")"
		fail=$((fail + 1))
	fi
}

try "duplicate number" "have the same number" 's/HVLOG_EVENT(IM_MSR_WRITE, 0x22,/HVLOG_EVENT(IM_MSR_WRITE, 0x21,/'
try "duplicate mask" "have the same mask" 's/^HVLOG_GROUP(THREADS,        0x0000000000800000/HVLOG_GROUP(THREADS,        0x0000000000400000/'
try "duplicate symbol" "defined twice" 's/HVLOG_EVENT(IM_MSR_WRITE, 0x22, INTERRUPT, "MSR Write")/HVLOG_EVENT(IM_MSR_READ, 0x22, INTERRUPT, "MSR Write")/'
try "mask not one bit" "not a single bit" 's/^HVLOG_GROUP(KERNEL,         0x0000000002000000/HVLOG_GROUP(KERNEL,         0x0000000003000000/'
try "role twice in an event" "its role is another parameter's already" 's/^\(HVLOG_PARAM(SCH_CONTEXT_SWITCH, thread_id, .*\)THREAD_ID)$/\1PARTITION_ID)/'
# the unmodified schema is accepted
cp "$src/schema/schemagen.c" "$src/schema/hvlog_schema.def" "$tmp/s/"
"$cc" -std=c17 -I"$src/libhvlog/include" -o "$tmp/s/gen" "$tmp/s/schemagen.c" && "$tmp/s/gen" tables "$tmp/s/out.c" && pass=$((pass + 1)) ||
	{ echo "FAIL: the real schema is refused"; fail=$((fail + 1)); }

echo "schema_dups: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
