#!/bin/sh
# Install what is missing, build hvlog and hvcore, record a trace of the
# default workload with the hypervisor core, and decode it.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
echo
echo "== ./build/hvcore/hvcore -w mixed -v 4 -n 1000000 -o build/demo.hvlog"
./build/hvcore/hvcore --no-progress -w mixed -v 4 -n 1000000 -o build/demo.hvlog
echo
echo "== ./build/hvlog decode build/demo.hvlog | head -n 20"
./build/hvlog decode build/demo.hvlog | head -n 20
echo "..."
echo "Built: ./build/hvlog and ./build/hvcore/hvcore (try --help on either)"
