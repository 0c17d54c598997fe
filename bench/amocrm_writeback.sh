#!/usr/bin/env bash
# amoCRM write-back against its rate-limit ceiling (issue 3, goal 2).
#
#   bench/amocrm_writeback.sh [BUILD_DIR] [TASKS] [RPS] [LEADS]   # defaults: build-bench, 10000, 7, 2000
#
# Builds nothing. Runs bench_amocrm_writeback (bench/amocrm_writeback.cpp): the amoCRM simulator
# in-process at RPS req/s, TASKS `task` actions in the outbox of a fresh database (mktemp under
# $TMPDIR), funnelguard's engine delivering them through the amoCRM writer (50 tasks per POST),
# timed from Engine::Start to an empty outbox. Prints requests, 429s, tasks in the simulator,
# duplicates and the fraction of the ceiling (TASKS/50 requests at RPS; goal >= 0.9, no 429).
# RUNS=N repeats it. Exit status 1 when a run left items, duplicated or got a 429.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

resolve_build "${1:-}"
bin=$build/bench/bench_amocrm_writeback
if [[ ! -x $bin ]]; then
    echo "amocrm_writeback.sh: $bin not found; build it: cmake --build $build --target bench_amocrm_writeback -j2" >&2
    exit 2
fi
machine_line
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD)$(git -C "$repo_dir" diff --quiet HEAD -- src adapters || echo ' (+ uncommitted changes in src/adapters)'); $(date -u '+%Y-%m-%d %H:%M UTC')"
status=0
for run in $(seq 1 "${RUNS:-1}"); do
    echo "== run $run: bench_amocrm_writeback ${2:-10000} ${3:-7} ${4:-2000}"
    "$bin" "${2:-10000}" "${3:-7}" "${4:-2000}" || status=1
done
exit "$status"
