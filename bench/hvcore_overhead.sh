#!/bin/sh
# bench/hvcore_overhead.sh - what tracing costs hvcore: the same run without
# tracing, with every group, and with only the scheduler group, interleaved
# (one of each per round, the order rotating from round to round, so that a
# change of the host's load hits every configuration alike) and repeated;
# and, as a control, a second run without tracing in each round: its ratio
# to the first is what the host's noise alone makes of two identical runs.
#
#   sh bench/hvcore_overhead.sh HVCORE [-b BACKEND] [-w WORKLOAD] [-v VPS]
#                               [-r ROUNDS] [-d SECONDS] [--tmpdir DIR]
#                               [-- HVCORE-OPTIONS...]
#
# Defaults: -b kvm -w mixed -v 2 -r 7 -d 3.  Options after -- go to every
# hvcore run (e.g. `-- --flush-interval 0`).  For each configuration it
# prints the median exits/s of the rounds with their range, the change of
# that median against no tracing, and the median of the per-round ratios
# (each traced run against the untraced run of its own round), as one line
# of a Markdown table; the load average before and after goes to the last
# line.  Read a traced configuration's change against the control's: a
# change no larger than the control's is no measured cost.  Exit status
# 77: the backend cannot run here.
set -eu
hvcore=${1:?usage: bench/hvcore_overhead.sh HVCORE [-b BACKEND] [-w WORKLOAD] [-v VPS] [-r ROUNDS] [-d SECONDS]}
shift
backend=kvm workload=mixed vps=2 rounds=7 secs=3 tmpdir=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
	case $1 in
	-b) backend=$2; shift 2 ;;
	-w) workload=$2; shift 2 ;;
	-v) vps=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	-d) secs=$2; shift 2 ;;
	--tmpdir) tmpdir=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "bench/hvcore_overhead.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
tmp=$(mktemp -d "$tmpdir/hvcore_overhead.XXXXXX") && trap 'rm -rf "$tmp"' EXIT

# one(CONFIG): one run; its exits/s appended to $tmp/CONFIG
one() {
	case $1 in
	none) set -- "$1" --no-trace ;;
	all) set -- "$1" -o "$tmp/t.hvlog" ;;
	sched) set -- "$1" --groups scheduler -o "$tmp/t.hvlog" ;;
	control) set -- "$1" --no-trace ;;
	esac
	cfg=$1
	shift
	rc=0
	"$hvcore" --no-progress -b "$backend" -w "$workload" -v "$vps" -n 0 -d "$secs" "$@" $extra 2> "$tmp/err" || rc=$?
	[ $rc -eq 4 ] && { echo "bench/hvcore_overhead.sh: $(cat "$tmp/err")" >&2; exit 77; }
	[ $rc -eq 0 ] || { echo "bench/hvcore_overhead.sh: hvcore failed: $(cat "$tmp/err")" >&2; exit 1; }
	sed -n 's/.*(\([0-9]*\) exits\/s.*/\1/p' "$tmp/err" >> "$tmp/$cfg"
	rm -f "$tmp/t.hvlog"
}
extra="$*"
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
r=0
while [ $r -lt "$rounds" ]; do
	case $((r % 4)) in
	0) one none; one all; one sched; one control ;;
	1) one all; one sched; one control; one none ;;
	2) one sched; one control; one none; one all ;;
	3) one control; one none; one all; one sched ;;
	esac
	r=$((r + 1))
done
load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# median FILE: the median of its numbers (the mean of the middle two)
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%d-%d", lo, hi }'; }
m0=$(median "$tmp/none")
echo "| $backend, -w $workload -v $vps${extra:+ $extra}, $rounds x $secs s | median exits/s (range) | median change | median of per-round ratios |"
echo "|---|---|---|---|"
for cfg in none all sched control; do
	m=$(median "$tmp/$cfg")
	paste "$tmp/$cfg" "$tmp/none" | awk '{ print $1 / $2 }' > "$tmp/ratio"
	case $cfg in
	none) name="no trace" ;;
	all) name="all groups" ;;
	sched) name="--groups scheduler" ;;
	control) name="no trace again (control)" ;;
	esac
	awk -v n="$name" -v m="$m" -v m0="$m0" -v r="$(range "$tmp/$cfg")" -v q="$(median "$tmp/ratio")" \
		'BEGIN { printf "| %s | %.0f (%s) | %+.1f %% | %+.1f %% |\n", n, m, r, (m / m0 - 1) * 100, (q - 1) * 100 }'
done
echo "load average before: $load0; after: $load1"
