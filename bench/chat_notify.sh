#!/usr/bin/env bash
# Chat notifications against Telegram's flood limits (issue 10, Benchmarks).
#
#   bench/chat_notify.sh [BUILD_DIR] [MESSAGES] [LOAD] [LATENCY_LOAD]   # defaults: build-bench, 1000, 1.0, 0.9
#
# Builds nothing. Runs bench_chat_notify (bench/chat_notify.cpp) twice over: a fake Telegram Bot
# API on 127.0.0.1 with its limits enforced, funnelguard's engine wired as the program wires it
# (a fresh database under $TMPDIR each run), 48 managers and 2 heads (50 private chats) and 2
# team groups. Run "ceiling": MESSAGES messages offered at LOAD times the rate the limits allow
# for that spread; prints the fraction of the ceiling (goal >= 0.9) and the 429s (goal 0). Run
# "latency": the same at LATENCY_LOAD times that rate; prints the latency from a violation's
# webhook to its message being accepted by the fake, p50/p90/p99 (goal p99 < 2 s).
# RUNS=N repeats it. Exit status 1 when a goal is missed, a message lost or a 429 seen.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

build=${1:-$repo_dir/build-bench}  # needs bench_chat_notify only, not the program
if [[ ! -d $build && -d $repo_dir/$build ]]; then
    build=$repo_dir/$build
fi
bin=$build/bench/bench_chat_notify
if [[ ! -x $bin ]]; then
    echo "chat_notify.sh: $bin not found; build it: cmake --build $build --target bench_chat_notify -j2" >&2
    exit 2
fi
machine_line
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD)$(git -C "$repo_dir" diff --quiet HEAD -- src adapters || echo ' (+ uncommitted changes in src/adapters)'); $(date -u '+%Y-%m-%d %H:%M UTC')"
status=0
for run in $(seq 1 "${RUNS:-1}"); do
    echo "== run $run: bench_chat_notify ${2:-1000} ${3:-1.0} ${4:-0.9}"
    "$bin" "${2:-1000}" "${3:-1.0}" "${4:-0.9}" || status=1
done
exit "$status"
