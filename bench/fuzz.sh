#!/usr/bin/env bash
# Fuzzing (issue 8): the libFuzzer targets of bench/fuzz, each run for MINUTES.
#
#   bench/fuzz.sh [MINUTES] [TARGET...]   # default: 10 minutes each, all of: form amocrm generic
#                                         # iso8601 config (MINUTES may be a fraction, e.g. 0.5;
#                                         # 0 runs nothing: with UPDATE_CORPUS=1, only merges)
#
# Unlike the other bench scripts this one builds: it configures BUILD_DIR (default build-fuzz next
# to this folder) with clang++ and -DFG_FUZZ=ON (coverage, ASan and UBSan in every library the
# targets link; ccache when there is one) and builds the fuzz_TARGET executables. clang and
# libFuzzer must be there: as root it installs them with apt-get, otherwise it says what to install.
# Then, one target after the other (no -fork, no -jobs):
#   fuzz_TARGET -max_total_time=... -dict=bench/fuzz/dict/TARGET.dict WORK bench/fuzz/corpus/TARGET
#               [bench/fuzz/crashes/TARGET]
# New inputs go to WORK (BUILD_DIR/fuzz/corpus/TARGET, kept between runs), never into the
# repository; a crash (sanitizer report, failed invariant, uncaught exception, timeout, out of
# memory) stops the target, and its input is copied to bench/fuzz/crashes/TARGET/, which later
# runs read back as a regression corpus. Per target it prints executions, exec/s, crashes (0/1),
# sanitizer reports, new corpus units and the log's path; exits 1 when a target crashed.
# Knobs (environment): BUILD_DIR, JOBS=2 (build), TIMEOUT=10 (seconds an input may take),
# RSS_MB=2048, UPDATE_CORPUS=1 (after each run, replace bench/fuzz/corpus/TARGET with the seeds of
# make_seeds.py plus the inputs of it and WORK that reach code the seeds do not: libFuzzer
# -merge=1 -use_counters=0, which counts edges only, so the committed corpus stays small).
# Nothing here runs in the test suite.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

all_targets=(form amocrm generic iso8601 config)
minutes=${1:-10}
if [[ $# -gt 0 ]]; then
    shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=("${all_targets[@]}")
fi
if ! [[ $minutes =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "fuzz.sh: MINUTES must be a number, not \"$minutes\"" >&2
    exit 2
fi
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60 + 0.5); print (s < 1 && m > 0 ? 1 : s) }')
for target in "${targets[@]}"; do
    if [[ " ${all_targets[*]} " != *" $target "* ]]; then
        echo "fuzz.sh: unknown target \"$target\" (targets: ${all_targets[*]})" >&2
        exit 2
    fi
done

fuzz_dir=$bench_dir/fuzz
build=${BUILD_DIR:-$repo_dir/build-fuzz}
mkdir -p "$build"
build=$(cd "$build" && pwd)

dict_of() {
    case $1 in
        amocrm) echo form ;;
        *) echo "$1" ;;
    esac
}
# max_len: the largest input libFuzzer makes (and the size corpus files are cut to).
max_len() {
    case $1 in
        iso8601) echo 64 ;;
        config) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

# --- clang and libFuzzer -----------------------------------------------------------------------
libfuzzer_links() {
    local probe
    probe=$(mktemp -d "${TMPDIR:-/tmp}/fg-fuzz-probe.XXXXXX")
    printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
        'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' \
        >"$probe/probe.cpp"
    local ok=0
    clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" \
        >/dev/null 2>&1 || ok=$?
    rm -rf "$probe"
    return $ok
}
if ! command -v clang++ >/dev/null || ! libfuzzer_links; then
    # Debian 12: clang is clang 14, libFuzzer comes with libclang-rt-14-dev (libclang-rt-dev).
    packages=(clang libclang-rt-dev)
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "fuzz.sh: clang++ with libFuzzer is missing; installing ${packages[*]}" >&2
        apt-get install -y --no-install-recommends "${packages[@]}" >&2
    fi
    if ! command -v clang++ >/dev/null || ! libfuzzer_links; then
        echo "fuzz.sh: needs clang++ with libFuzzer (-fsanitize=fuzzer). On Debian 12:" >&2
        echo "  sudo apt-get install clang libclang-rt-14-dev" >&2
        echo "(elsewhere: clang and the libclang-rt-<clang major>-dev of that clang)" >&2
        exit 2
    fi
fi

# --- build --------------------------------------------------------------------------------------
launcher=()
if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "== build: $build (clang++, -DFG_FUZZ=ON, RelWithDebInfo)"
cmake -S "$repo_dir" -B "$build" -DFG_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >"$build/fuzz-configure.log" 2>&1 || {
    cat "$build/fuzz-configure.log" >&2
    exit 2
}
binaries=()
for target in "${targets[@]}"; do
    binaries+=("fuzz_$target")
done
cmake --build "$build" -j"${JOBS:-2}" --target "${binaries[@]}" >"$build/fuzz-build.log" 2>&1 || {
    tail -50 "$build/fuzz-build.log" >&2
    echo "fuzz.sh: build failed; the whole log: $build/fuzz-build.log" >&2
    exit 2
}

# --- runs ---------------------------------------------------------------------------------------
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
machine_line
changes=$(git -C "$repo_dir" status --porcelain --untracked-files=no 2>/dev/null || true)
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "${changes:+(with uncommitted changes)}"
# With UPDATE_CORPUS=1: bench/fuzz/corpus/$target = the seeds + what adds coverage to them.
update_corpus() {
    if [[ ${UPDATE_CORPUS:-0} != 1 ]]; then
        return
    fi
    local seeds merged
    seeds=$(mktemp -d "${TMPDIR:-/tmp}/fg-fuzz-seeds.XXXXXX")
    merged=$(mktemp -d "${TMPDIR:-/tmp}/fg-fuzz-merged.XXXXXX")
    python3 "$fuzz_dir/make_seeds.py" "$seeds" >/dev/null
    cp "$seeds/$target"/* "$merged/"  # the first folder of a merge keeps all its files
    "$binary" -merge=1 -use_counters=0 -max_len="$(max_len "$target")" "$merged" "$committed" \
        "$work" >"$build/fuzz/logs/$target.merge.log" 2>&1
    rm -f "$committed"/*
    cp "$merged"/* "$committed/"
    echo "   corpus: $(find "$committed" -type f | wc -l) files," \
        "$(cat "$committed"/* | wc -c) bytes in $committed"
    rm -rf "$seeds" "$merged"
}
results=()
crashed=0
for target in "${targets[@]}"; do
    binary=$build/bench/fuzz/fuzz_$target
    work=$build/fuzz/corpus/$target
    artifacts=$build/fuzz/artifacts/$target
    log=$build/fuzz/logs/$target.log
    committed=$fuzz_dir/corpus/$target
    crashes=$fuzz_dir/crashes/$target
    mkdir -p "$work" "$artifacts" "$(dirname "$log")" "$committed"
    rm -f "$artifacts"/*
    corpora=("$work" "$committed")
    if [[ -d $crashes ]]; then
        corpora+=("$crashes")
    fi
    before=$(find "$work" -type f | wc -l)
    if ((seconds == 0)); then
        update_corpus
        continue
    fi
    echo "== $target: ${seconds}s, log $log"
    status=0
    "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout="${TIMEOUT:-10}" \
        -rss_limit_mb="${RSS_MB:-2048}" -max_len="$(max_len "$target")" \
        -dict="$fuzz_dir/dict/$(dict_of "$target").dict" -artifact_prefix="$artifacts/" "${corpora[@]}" \
        >"$log" 2>&1 || status=$?
    after=$(find "$work" -type f | wc -l)
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    runs=$(stat number_of_executed_units)
    if [[ -z $runs ]]; then  # killed before libFuzzer printed its stats: the last status line
        runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
    fi
    speed=$(stat average_exec_per_sec)
    found=$(find "$artifacts" -type f | wc -l)
    reports=$(grep -cE '^SUMMARY: [A-Za-z]+Sanitizer' "$log" || true)
    if ((found > 0)) || ((status != 0)); then
        crashed=1
        mkdir -p "$crashes"
        for artifact in "$artifacts"/*; do
            [[ -e $artifact ]] || continue
            cp "$artifact" "$crashes/"
            echo "   crash: $crashes/$(basename "$artifact") (reproduce: $binary $crashes/$(basename "$artifact"))"
        done
        grep -m1 -E '^==[0-9]+==ERROR|^==fuzz== invariant|runtime error:|ERROR: libFuzzer' "$log" |
            sed 's/^/   /' || true
        if ((found == 0)); then
            echo "   fuzz_$target exited with $status and saved no input: see $log"
            found=1
        fi
    fi
    line=$(printf '%-8s %6ss %12s %9s %7s %9s %9s %7s' "$target" "$seconds" "${runs:-?}" \
        "${speed:-?}" "$found" "$reports" "$((after - before))" "$after")
    echo "$line"
    results+=("$line")
    update_corpus
done

if ((seconds == 0)); then
    exit 0
fi
echo
echo "== summary (${seconds}s each)"
printf '%-8s %7s %12s %9s %7s %9s %9s %7s\n' target time executions exec/s crashes sanitizer \
    new corpus
for line in "${results[@]}"; do
    echo "$line"
done
exit $crashed
