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
# hvcore run (e.g. `-- --flush-interval 0`).  Two measures, each a
# Markdown table with a line per configuration:
#   exits/s          the run's exits over its wall time: what the host's
#                    other load moves most (a VP thread that waits for a
#                    CPU makes no exits);
#   CPU ns per exit  the process's user + system time (getrusage of the
#                    child, in microseconds: /usr/bin/time rounds to 10 ms,
#                    1 % of a 1 s run) over its exits: the work an exit costs,
#                    tracing included, whoever else runs (under kvm the
#                    guest's own execution is system time of the VP
#                    thread).  The measure that resists a shared host.
# For each: the median of the rounds with their range and interquartile
# range, the change of that median against no tracing, and the median of
# the per-round ratios (each run against the untraced run of its own
# round); the load average before and after goes to the last line.  Read
# a traced configuration's change against the control's: a change no
# larger than the control's is no measured cost.  Exit status 77: the
# backend cannot run here.
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
	python3 -c "$timed" "$tmp/time" \
		"$hvcore" --no-progress -b "$backend" -w "$workload" -v "$vps" -n 0 -d "$secs" "$@" $extra 2> "$tmp/err" || rc=$?
	[ $rc -eq 4 ] && { echo "bench/hvcore_overhead.sh: $(cat "$tmp/err")" >&2; exit 77; }
	[ $rc -eq 0 ] || { echo "bench/hvcore_overhead.sh: hvcore failed: $(cat "$tmp/err")" >&2; exit 1; }
	sed -n 's/.*(\([0-9]*\) exits\/s.*/\1/p' "$tmp/err" >> "$tmp/$cfg"
	exits=$(sed -n 's/.*: \([0-9]*\) exits, .*/\1/p' "$tmp/err")
	awk -v e="$exits" '{ printf "%.1f\n", ($1 + $2) * 1e9 / e }' "$tmp/time" >> "$tmp/$cfg.cpu"
	rm -f "$tmp/t.hvlog"
}
extra="$*"
# timed TIMEFILE COMMAND...: run it; its user and system seconds into TIMEFILE
timed='import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.6f %.6f\n" % (r.ru_utime, r.ru_stime))
sys.exit(rc)'
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

# median FILE: the median of its numbers (the mean of the middle two);
# quart FILE Q: the Q-th quartile (nearest rank); range FILE: min-max
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
quart() { sort -g "$1" | awk -v q="$2" '{ v[NR] = $1 } END { i = int(NR * q / 4 + 0.999); if (i < 1) i = 1; print v[i] }'; }
range() { sort -g "$1" | awk -v f="$2" 'NR == 1 { lo = $1 } { hi = $1 } END { printf f "-" f, lo, hi }'; }
# table SUFFIX UNIT FORMAT: one table over the files $tmp/CONFIG$SUFFIX
table() {
	m0=$(median "$tmp/none$1")
	echo "| $backend, -w $workload -v $vps${extra:+ $extra}, $rounds x $secs s | median $2 (range; IQR) | median change | median of per-round ratios |"
	echo "|---|---|---|---|"
	for cfg in none all sched control; do
		m=$(median "$tmp/$cfg$1")
		paste "$tmp/$cfg$1" "$tmp/none$1" | awk '{ print $1 / $2 }' > "$tmp/ratio"
		case $cfg in
		none) name="no trace" ;;
		all) name="all groups" ;;
		sched) name="--groups scheduler" ;;
		control) name="no trace again (control)" ;;
		esac
		awk -v n="$name" -v m="$m" -v m0="$m0" -v r="$(range "$tmp/$cfg$1" "$3")" -v f="$3" -v q="$(median "$tmp/ratio")" \
			-v q1="$(quart "$tmp/$cfg$1" 1)" -v q3="$(quart "$tmp/$cfg$1" 3)" \
			'BEGIN { printf "| %s | " f " (%s; " f "-" f ") | %+.1f %% | %+.1f %% |\n", n, m, r, q1, q3, (m / m0 - 1) * 100, (q - 1) * 100 }'
	done
}
table "" exits/s %.0f
echo
table .cpu "CPU ns per exit" %.1f
echo "load average before: $load0; after: $load1"
