#!/bin/sh
# Run every libFuzzer target (or the TARGETs named: meta, where, ...) for
# SECONDS (default 15) each on its corpus:
#   fuzz/run.sh BUILD_DIR [SECONDS [TARGET...]]
# BUILD_DIR was configured with -DHVLOG_FUZZ=ON -DCMAKE_C_COMPILER=clang
# and built.  Seeds: the traces in testdata/ (their metadata alone for
# fuzz_meta) and fuzz/corpus/TARGET/ (corpus/chunks for fuzz_decode);
# fuzz_where has only its expressions, fuzz_from_json also the JSON Lines
# of testdata/.  What the fuzzers find goes to
# BUILD_DIR/fuzz-work/TARGET/; a crashing input is saved there as crash-*
# (copy it to fuzz/corpus/ once fixed, so that CTest keeps it
# fixed).  Exits 1 if any target found a crash.
set -u
build=$1 secs=${2:-15}
shift $(($# < 2 ? $# : 2))
targets=${*:-meta chunks decode where from_json}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$build/fuzz-work
rc=0
for t in $targets; do
	bin=$build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz/run.sh: $bin not built" >&2; exit 2; }
	mkdir -p "$work/$t/corpus" "$work/$t/seeds"
	# fuzz_decode takes the same inputs as fuzz_chunks
	cdir=$t
	[ "$t" = decode ] && cdir=chunks
	cp "$src"/fuzz/corpus/$cdir/* "$work/$t/seeds/" 2>/dev/null
	for f in "$src"/testdata/*/*.bin; do
		[ "$t" = where ] && break
		if [ "$t" = from_json ]; then
			f=${f%.bin}.jsonl
			[ -f "$f" ] || continue
		fi
		name=$(basename "$(dirname "$f")")-$(basename "$f")
		if [ "$t" = meta ] && [ "$(wc -c < "$f")" -ge 32 ]; then
			# the metadata block: meta_len at offset 16
			len=$(od -An -tu4 -j16 -N4 "$f" | tr -d ' ')
			tail -c +33 "$f" | head -c "$len" > "$work/$t/seeds/$name.meta"
		else
			cp "$f" "$work/$t/seeds/$name"
		fi
	done
	echo "== fuzz_$t: $secs s"
	"$bin" -max_total_time="$secs" -print_final_stats=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$t/" "$work/$t/corpus" "$work/$t/seeds" > "$work/$t/log" 2>&1
	st=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ *DONE' "$work/$t/log"
	if [ "$st" -ne 0 ]; then
		echo "fuzz_$t FAILED (status $st): see $work/$t/log"
		grep -E 'ERROR|SUMMARY|Test unit written' "$work/$t/log" | head -5
		rc=1
	fi
done
exit $rc
