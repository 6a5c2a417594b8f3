#!/bin/sh
# hvcore --kernel: the Linux loader from the command line.
#   tests/hvcore_linux.sh HVCORE HVLOG          synthetic bzImages: what is
#       rejected, with the offset of the field at fault; what goes with what
#   tests/hvcore_linux.sh HVCORE HVLOG boot     a real kernel ($HVCORE_KERNEL,
#       else the first /boot/vmlinuz-*): its header is accepted, and under
#       kvm it boots for a bounded time with its first exits traced; exit
#       77 (skipped, with the reason) without a kernel or without kvm
set -u
hvcore=$1 hvlog=$2 mode=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
. "$here/hvcore_checks.sh"

# expect STATUS MESSAGE WHAT ARGS...: hvcore exits with STATUS and says MESSAGE
expect() {
	want=$1 msg=$2 what=$3
	shift 3
	"$hvcore" --no-progress "$@" > /dev/null 2> "$tmp/err"
	rc=$?
	[ "$rc" -eq "$want" ] && grep -qF -- "$msg" "$tmp/err" && ok ||
		bad "$what: exit $rc (want $want), said: $(cat "$tmp/err") (want: $msg)"
}

# header FILE: the kernel's pref_address and init_size (boot.rst offsets)
header() {
	od -A n -t u8 -j 600 -N 8 "$1" | tr -d ' '
	od -A n -t u4 -j 608 -N 4 "$1" | tr -d ' '
}

if [ "$mode" = boot ]; then
	kernel=${HVCORE_KERNEL:-}
	if [ -z "$kernel" ]; then
		for k in /boot/vmlinuz-*; do
			[ -r "$k" ] && { kernel=$k; break; }
		done
	fi
	if [ -z "$kernel" ]; then
		echo "SKIP: no kernel to boot: set HVCORE_KERNEL to a bzImage, or install one (/boot/vmlinuz-*, e.g. Debian's linux-image-amd64)"
		exit 77
	fi
	# the header of a real kernel passes; the sim cannot run it
	expect 2 "--kernel needs -b kvm" "sim --kernel $kernel" -b sim --kernel "$kernel"
	"$hvcore" --no-progress -b kvm -w boot -v 1 -n 10 --no-trace 2> "$tmp/err"
	if [ $? -eq 4 ]; then
		echo "SKIP (after $pass checks): $(cat "$tmp/err")"
		exit 77
	fi
	# Bounded: the run ends at -d even while the kernel runs without an
	# exit (the core kicks the VP at the end); the first exits are the
	# kernel's (its RIP inside what it was loaded into), and the trace is
	# whole.  On kvm_pvm (~1 MIPS) the first ones come from the
	# decompressor setting up COM1 for its early console, about 5 s in.
	secs=${HVCORE_KERNEL_SECONDS:-20}
	t0=$(date +%s)
	"$hvcore" --no-progress -b kvm --kernel "$kernel" -n 0 -d "$secs" -o "$tmp/k.bin" 2> "$tmp/err" || bad "kvm --kernel: $(cat "$tmp/err")"
	t1=$(date +%s)
	[ $((t1 - t0)) -le $((secs + 15)) ] && ok || bad "kvm --kernel -d $secs took $((t1 - t0)) s"
	"$hvlog" decode --format json "$tmp/k.bin" > "$tmp/k.jsonl" 2> "$tmp/derr" && ! grep -q '"type":"damage"' "$tmp/k.jsonl" &&
		ok || bad "the kernel's trace does not read whole: $(head -3 "$tmp/derr")"
	header "$kernel" > "$tmp/hdr"
	{ read -r pref; read -r init; } < "$tmp/hdr"
	jq -r --argjson lo "$pref" --argjson hi "$((pref + init))" '
		def hex: ltrimstr("0x") | explode
			| reduce .[] as $c (0; . * 16 + ($c | if . >= 97 then . - 87 elif . >= 65 then . - 55 else . - 48 end));
		select(.type == "event" and .stream == 1 and (.event | test("IO_PORT|MSR|HLT|MEMORY")))
		| "\(.params.guest_rip) \(.event) \(.params.port // .params.index // "")\(
		    if (.params.guest_rip | hex) as $r | $r >= $lo and $r < $hi then "" else " outside" end)"' \
		< "$tmp/k.jsonl" > "$tmp/exits.txt"
	n=$(wc -l < "$tmp/exits.txt")
	outside=$(grep ' outside$' "$tmp/exits.txt" | head -3)
	[ "$n" -ge 1 ] && [ -z "$outside" ] && ok || bad "the kernel's exits ($n) are not all from [$pref, $((pref + init))): $outside"
	provenance_props "$tmp/k.bin" kvm linux
	com1=$(grep -c 'IO_PORT_[A-Z]* 0x3f[89a-f]$' "$tmp/exits.txt")
	text=$(grep -c '^\[p1/vp0\] ' "$tmp/err")
	echo "kvm --kernel $kernel -d $secs: $n exits, $com1 on COM1's registers, $text lines of serial text; the first:"
	head -5 "$tmp/exits.txt"
	grep '^\[p1/vp0\] ' "$tmp/err" | head -5
	echo "hvcore_linux boot: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

# synthetic KIND FILE: a bzImage of boot protocol 2.15 with one field spoilt
synthetic() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
kind, path = sys.argv[1], sys.argv[2]
img = bytearray(4 * 512 + 8192)
img[0x1f1] = 3
struct.pack_into("<I", img, 0x1f4, 8192 // 16)
struct.pack_into("<H", img, 0x1fe, 0xaa55)
img[0x200:0x202] = b"\xeb\x6a"
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020f)
img[0x211] = 1
struct.pack_into("<IIBBHI", img, 0x22c, 0x7fffffff, 0x200000, 1, 0, 0x7f, 60)
struct.pack_into("<QI", img, 0x258, 0x1000000, 0x400000)
bad = {"ok": None, "flag": (0x1fe, "<H", 0x55aa), "old": (0x206, "<H", 0x0206),
       "zimage": (0x211, "B", 0), "no64": (0x236, "<H", 0x7e), "short": None,
       "huge": (0x260, "<I", 0x40000000)}[kind]
if bad:
    struct.pack_into(bad[1], img, bad[0], bad[2])
if kind == "short":
    img = img[:0x200]
open(path, "wb").write(img)
PY
}
for k in ok flag old zimage no64 short huge; do synthetic $k "$tmp/$k.img"; done
expect 2 "--kernel needs -b kvm" "a good image on sim" --kernel "$tmp/ok.img"
expect 1 "flag.img: offset 0x1fe: boot flag 0x55aa, not 0xaa55: not a bzImage" "bad boot flag" -b kvm --kernel "$tmp/flag.img"
expect 1 "old.img: offset 0x206: boot protocol 2.06; the 64-bit entry needs 2.12 or later" "old protocol" --kernel "$tmp/old.img"
expect 1 "offset 0x211: loadflags 0 without LOADED_HIGH: a zImage" "zImage" --kernel "$tmp/zimage.img"
expect 1 "offset 0x236: xloadflags 0x7e without XLF_KERNEL_64" "no 64-bit entry" --kernel "$tmp/no64.img"
expect 1 "short.img: 512 bytes: too short for a bzImage" "cut image" --kernel "$tmp/short.img"
expect 1 "the kernel needs RAM up to 0x41000000 (pref_address 0x1000000 + init_size 0x40000000); the guest has 256 MiB (--mem)" \
	"init_size beyond the RAM" --kernel "$tmp/huge.img"
expect 1 "the kernel needs RAM up to 0x1400000" "--mem too small" --kernel "$tmp/ok.img" --mem 16
long=$(printf 'x%.0s' $(seq 61))
expect 1 "--cmdline: 61 bytes; $tmp/ok.img takes at most 60 (cmdline_size, offset 0x238)" "command line too long" \
	--kernel "$tmp/ok.img" --cmdline "$long"
expect 1 "$tmp/none.img: No such file or directory" "missing kernel" --kernel "$tmp/none.img"
expect 1 "$tmp/none: No such file or directory" "missing initrd" --kernel "$tmp/ok.img" --initrd "$tmp/none"
head -c 300000000 /dev/zero > "$tmp/big.rd" 2> /dev/null
expect 1 "big.rd: 300000000 bytes do not fit" "initrd too big" --kernel "$tmp/ok.img" --initrd "$tmp/big.rd"
rm -f "$tmp/big.rd"
expect 2 "--kernel boots on one VP" "-v 2" --kernel "$tmp/ok.img" -v 2
expect 2 "go with --kernel" "--initrd alone" --initrd "$tmp/ok.img"
expect 2 "go with --kernel" "-w linux alone" -w linux
echo "hvcore_linux: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
