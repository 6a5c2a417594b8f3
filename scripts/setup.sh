#!/bin/sh
# Install what is missing, build hvlog, and decode the bundled sample trace.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
echo
echo "== hvlog decode testdata/golden/mix.bin (first 20 of 2000 events)"
./build/hvlog decode testdata/golden/mix.bin | head -n 20
echo "..."
echo "Built: ./build/hvlog   (try: ./build/hvlog --help, ./build/hvlog events)"
