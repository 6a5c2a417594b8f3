#!/bin/sh
# bench/run.sh - configure a Release build, build the bench, the CLI and
# hvcore, and run the whole benchmark suite (bench/README.md).
#
#   sh bench/run.sh [BUILD_DIR] [--quick] [--events N] [--max N] [--reps R] [--tmpdir DIR]
#
# BUILD_DIR (default: build-release in the source tree; a path given is
# taken from the current directory) is a build directory of its own: the
# suite wants Release code, whatever the other build directories hold.
# The options go to hvlog_bench.  The suite's lines go to standard output,
# the build's messages to standard error, so
# `sh bench/run.sh --quick > figures.txt` keeps only the figures.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build-release
case "${1:-}" in
"" | -*) ;;
*)
	build=$1
	shift
	;;
esac
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build" -j "$jobs" --target hvlog_bench hvlog-cli hvcore >&2
exec "$build/bench/hvlog_bench" "$@"
