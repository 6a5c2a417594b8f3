#!/bin/sh
# The Python package's pytest tests (tests/python/test_*.py) on real traces.
#   tests/python/run.sh PYTHON PYTHONPATH HVLOG TRACEGEN HVCORE TESTDATA
# Exit 77 (skipped) only when pytest, pandas, dask or distributed are not
# installed (scripts/deps.sh installs them).
set -u
py=$1 pypath=$2
here=$(cd "$(dirname "$0")" && pwd)
if ! "$py" -c "import pytest, pandas, dask.dataframe, distributed" 2> /dev/null; then
	echo "SKIP: $py lacks pytest, pandas or dask (python3-pytest, python3-pandas, python3-dask, python3-distributed)"
	exit 77
fi
HVLOG_CLI=$3 HVLOG_TRACEGEN=$4 HVLOG_HVCORE=$5 HVLOG_TESTDATA=$6
HVLOG_BUILD=$(dirname "$pypath") HVLOG_PYTHON=$py
export HVLOG_CLI HVLOG_TRACEGEN HVLOG_HVCORE HVLOG_TESTDATA HVLOG_BUILD HVLOG_PYTHON
PYTHONPATH=$pypath${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH
# A sanitizer build's extension needs its runtime loaded first, before
# the interpreter's own libraries; the interpreter's leaks are not ours.
san=$(ldd "$pypath"/hvlog/_core*.so 2> /dev/null | awk '/lib(asan|ubsan|tsan)\.so/ { print $3 }' | tr '\n' ' ')
if [ -n "$san" ]; then
	LD_PRELOAD="$san${LD_PRELOAD:+ $LD_PRELOAD}"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export LD_PRELOAD ASAN_OPTIONS
fi
# no cache written into the source tree
exec "$py" -m pytest -q -p no:cacheprovider "$here"
