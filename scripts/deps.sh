#!/bin/sh
# Install the Debian 12 packages hvlog needs to build and test, if missing
# (groff-base: tests/install.sh lints the man pages with groff -ww -z;
# python3-*: the Python package, python/, its pytest tests, and the
# babeltrace2 bindings bench/python_bench.py measures against;
# libprotobuf-c-dev, protobuf-c-compiler: libhvlog-perfetto; protobuf-compiler
# and python3-protobuf: tests/perfetto.sh reads its output; chromium:
# tests/report.sh renders hvlog report's page headless; libzstd-dev,
# zlib1g-dev, liblzma-dev, libbz2-dev: libhvlog reads compressed traces,
# and zstd, xz-utils, bzip2 make them in tests/compressed.sh; bsdutils:
# script(1), the terminal of tests/progress.sh and of hvlog top in
# tests/live.sh).
set -eu
pkgs="build-essential cmake pkg-config libcbor-dev check jq groff-base libjson-c-dev babeltrace2 python3-cbor2 valgrind libzstd-dev zlib1g-dev liblzma-dev libbz2-dev zstd xz-utils bzip2 bsdutils
libprotobuf-c-dev protobuf-c-compiler protobuf-compiler python3-protobuf chromium
python3-dev python3-numpy python3-pandas python3-pytest python3-dask python3-distributed python3-bt2"
# `deps.sh fuzz`: the libFuzzer toolchain too (scripts/test.sh's fuzz step)
if [ "${1:-}" = fuzz ]; then
	pkgs="$pkgs clang libclang-rt-14-dev libfuzzer-14-dev"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "Installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: run as root to install:$missing" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
