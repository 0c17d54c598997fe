#!/usr/bin/env bash
# Bitrix24 to-do write-back against the limiter's batched ceiling (issue 11).
#
#   bench/bitrix24_writeback.sh [BUILD_DIR] [TASKS] [RATE] [BURST] [DEALS]   # 10000 2 50 2000
#
# Builds nothing: cmake --build BUILD_DIR --target bench_bitrix24_writeback -j2 first.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
resolve_build "${1:-}"
machine_line
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD); $(date -u '+%Y-%m-%d %H:%M UTC')"
"$build/bench/bench_bitrix24_writeback" "${2:-10000}" "${3:-2}" "${4:-50}" "${5:-2000}"
