#!/usr/bin/env bash
# The whole test suite: a normal build and an ASan+UBSan build, each with every test.
# Run from anywhere; the dependencies must be installed (deploy/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}

# Both builds batch each target's sources (FG_UNITY): a clean build's CPU time is a fraction of
# compiling every file on its own (bench/README.md, "Build and suite time").
echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFG_UNITY=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build (ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFG_SANITIZE=ON -DFG_BENCH=OFF -DFG_UNITY=ON \
    >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"
