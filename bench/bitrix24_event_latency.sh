#!/usr/bin/env bash
# Bitrix24 event accepted -> deal applied in the mirror, through the limiter (issue 11).
#
#   bench/bitrix24_event_latency.sh [BUILD_DIR] [EVENTS_PER_SECOND] [SECONDS] [RATE] [BURST] [DRAIN]   # 1.5 60 2 50 1
#
# Builds nothing: cmake --build BUILD_DIR --target bench_bitrix24_event_latency -j2 first (a Release
# build of the bench targets is enough: funnelguard itself is not needed).
set -euo pipefail
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo_dir/build-bench}
[[ -d $build || ! -d $repo_dir/$build ]] || build=$repo_dir/$build
program=$build/bench/bench_bitrix24_event_latency
if [[ ! -x $program ]]; then
    echo "$(basename "$0"): $program not found; build it first:" >&2
    echo "  cmake -S $repo_dir -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFG_BENCH=ON" \
        "&& cmake --build $build --target bench_bitrix24_event_latency -j2" >&2
    exit 2
fi
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD); $(date -u '+%Y-%m-%d %H:%M UTC');" \
    "$(uptime)"
"$program" "${2:-1.5}" "${3:-60}" "${4:-2}" "${5:-50}" "${6:-1}"
echo "after: $(uptime)"
