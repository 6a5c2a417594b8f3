#!/bin/sh
# Build and run every test: the normal build with warnings as errors, the
# same suite under AddressSanitizer + UndefinedBehaviorSanitizer, each
# libFuzzer target for a short time, a clang build (warnings as errors, a
# few tests), and the multi-threaded tests (threaded writer, hvcore's VP
# threads) under ThreadSanitizer.  Exits non-zero on any
# failure.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh fuzz
jobs=$(nproc)

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVLOG_WERROR=ON > /dev/null
cmake --build build-test -j"$jobs"
ctest --test-dir build-test --output-on-failure -j"$jobs"

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHVLOG_WERROR=ON \
	-DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" > /dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs"

# Fuzzing: each libFuzzer target (fuzz/) for HVLOG_FUZZ_SECONDS (default
# 12) on its seed corpus; clang, ASan+UBSan.  fuzz/README.md says how to
# run them longer.
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVLOG_FUZZ=ON -DHVLOG_TESTS=OFF \
	-DCMAKE_C_COMPILER=clang > /dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_meta fuzz_chunks fuzz_decode fuzz_where fuzz_from_json
sh fuzz/run.sh build-fuzz "${HVLOG_FUZZ_SECONDS:-12}"

# The second compiler: clang builds everything with warnings as errors,
# and the emit path still calls no libc function (each compiler has its
# own ideas about when to call memset).
cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVLOG_WERROR=ON -DCMAKE_C_COMPILER=clang > /dev/null
cmake --build build-clang -j"$jobs"
ctest --test-dir build-clang --output-on-failure -j"$jobs" -R 'emit_freestanding|golden|test_roundtrip|test_format'

tsan="-fsanitize=thread -fno-omit-frame-pointer"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DHVLOG_WERROR=ON \
	-DCMAKE_C_FLAGS="$tsan" -DCMAKE_EXE_LINKER_FLAGS="$tsan" > /dev/null
cmake --build build-tsan -j"$jobs"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	ctest --test-dir build-tsan --output-on-failure -R 'test_roundtrip|test_nonblock|test_hostile|hvcore|^cli$'
