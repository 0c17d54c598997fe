#!/usr/bin/env bash
# Bitrix24 to-do write-back against the limiter's batched ceiling (issue 11).
#
#   bench/bitrix24_writeback.sh [BUILD_DIR] [TASKS] [RATE] [BURST] [DEALS]   # 10000 2 50 2000
#
# Builds nothing: cmake --build BUILD_DIR --target bench_bitrix24_writeback -j2 first (a Release
# build of the bench targets is enough: funnelguard itself is not needed).
set -euo pipefail
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo_dir/build-bench}
[[ -d $build || ! -d $repo_dir/$build ]] || build=$repo_dir/$build
program=$build/bench/bench_bitrix24_writeback
if [[ ! -x $program ]]; then
    echo "$(basename "$0"): $program not found; build it first:" >&2
    echo "  cmake -S $repo_dir -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFG_BENCH=ON" \
        "&& cmake --build $build --target bench_bitrix24_writeback -j2" >&2
    exit 2
fi
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD); $(date -u '+%Y-%m-%d %H:%M UTC');" \
    "$(uptime)"
"$program" "${2:-10000}" "${3:-2}" "${4:-50}" "${5:-2000}"
echo "after: $(uptime)"
