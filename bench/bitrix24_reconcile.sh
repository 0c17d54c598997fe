#!/usr/bin/env bash
# Bitrix24 reconciliation pull against the limiter's batched ceiling (issue 11).
#
#   bench/bitrix24_writeback.sh [BUILD_DIR] [DEALS] [RATE] [BURST]   # 100000 2 50
#
# Builds nothing: cmake --build BUILD_DIR --target bench_bitrix24_reconcile -j2 first.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
resolve_build "${1:-}"
machine_line
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD); $(date -u '+%Y-%m-%d %H:%M UTC')"
"$build/bench/bench_bitrix24_reconcile" "${2:-100000}" "${3:-2}" "${4:-50}"
