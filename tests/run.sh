#!/usr/bin/env bash
# The whole test suite: an optimized GCC build and a clang ASan+UBSan build, each with every test.
# Run from anywhere; the dependencies must be installed (deploy/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
# Tests spend most of their time waiting on loopback servers and deadlines (the whole optimized
# suite used 27 s of CPU in 100 s at -j2), so three run per core.
test_jobs=${TEST_JOBS:-$((jobs * 3))}

# A build directory made by another generator or compiler (an older tests/run.sh used make, and
# GCC for both) cannot be reconfigured in place: start its cache afresh, keeping nothing stale.
fresh_unless() { # dir, generator, compiler
    local cache=$1/CMakeCache.txt
    if [[ -f ${cache} ]] && ! { grep -q "^CMAKE_GENERATOR:INTERNAL=$2\$" "${cache}" &&
        grep -q "^CMAKE_CXX_COMPILER:.*=$3\$" "${cache}"; }; then
        echo "-- $1 was configured with another generator or compiler: configuring it afresh" >&2
        echo --fresh
    fi
}

# Why these two (bench/README.md, "Build and suite time"): debug information is most of an
# optimized build's compile time and no test reads it, so the first build has none, and -O1
# compiles in about three quarters of -O2's time (measured per batch) while still optimizing (the
# release build, and bench/, use -O2 or more); clang compiles
# the sanitized build in about two thirds of GCC's time and adds its own warnings, with line tables
# (-g1) enough for the sanitizers' stack traces. Both batch each target's sources (FG_UNITY).
# lld links a sanitized test program in about a fifth of GNU ld's time (0.42 vs 1.93 s for
# test_e2e_amocrm); without it (deploy/install-deps.sh installs it) the default linker is used.
link_flags=()
if command -v ld.lld >/dev/null; then
    link_flags=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld)
fi
gcc=$(command -v g++)
echo "== build (GCC, -O1, no debug info)"
# No test runs the bench programs, so this build leaves them out (bench/README.md builds them).
# shellcheck disable=SC2046
cmake -S . -B build -G Ninja $(fresh_unless build Ninja "${gcc}") -DCMAKE_CXX_COMPILER="${gcc}" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DFG_UNITY=ON \
    -DFG_BENCH=OFF "${link_flags[@]}" >/dev/null
cmake --build build -j"$jobs"

# The tests mostly wait on loopback servers and deadlines (a fifth of a core), so they run while
# the sanitized build compiles; their output is printed once that build is done.
echo "== tests (GCC) run beside the next build; their results follow it"
gcc_log=build/ctest-gcc.log
ctest --test-dir build --output-on-failure -j"$test_jobs" >"${gcc_log}" 2>&1 &
gcc_tests=$!
# An interrupted run does not leave the background tests behind.
trap 'kill "${gcc_tests}" 2>/dev/null || true' EXIT

clang=$(command -v clang++-14)
echo "== build (clang, ASan+UBSan)"
# shellcheck disable=SC2046
cmake -S . -B build-asan -G Ninja $(fresh_unless build-asan Ninja "${clang}") \
    -DCMAKE_CXX_COMPILER="${clang}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
    -DFG_SANITIZE=ON -DFG_BENCH=OFF -DFG_UNITY=ON "${link_flags[@]}" >/dev/null
cmake --build build-asan -j"$jobs"

gcc_status=0
wait "${gcc_tests}" || gcc_status=$?
trap - EXIT
echo "== tests (GCC)"
cat "${gcc_log}"

echo "== tests under ASan+UBSan"
asan_status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$test_jobs" || asan_status=$?
if ((gcc_status != 0 || asan_status != 0)); then
    echo "== FAILED: tests (GCC) exit ${gcc_status}, tests under ASan+UBSan exit ${asan_status}" >&2
    exit 1
fi
echo "== both configurations passed"
