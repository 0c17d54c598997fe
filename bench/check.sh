#!/usr/bin/env bash
# `funnelguard check` over big mirrors (issue 2): wall time and peak RSS of
#   funnelguard check --config ... --format json --now <reference> > /dev/null
# over 100,000 deals / 300,000 tasks (goal <= 0.5 s) and 1,000,000 deals / 3,000,000 tasks
# (goal <= 3 s and <= 1 GiB RSS).
#
#   bench/check.sh [BUILD_DIR]          # default: build-bench
#
# Builds nothing. A mirror missing from $DATA_ROOT/mirror-N (default /work/bench-data, outside
# git) is generated and replayed first by bench/replay.sh, once: the 1M one takes a while (its
# replay figures are printed too, from mirror-N/replay.result). Each size is checked RUNS times
# (default 3; the page cache is warm after the first) and the median is held against the goal.
# Knobs: SIZES="100000 1000000", RUNS=3, DIAGNOSE=1 (adds bench_check_phases: time and RSS of each
# step of check), CHECK_TIMEOUT=600 (seconds per run).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

resolve_build "${1:-}"
SIZES=${SIZES:-100000 1000000}
RUNS=${RUNS:-3}
DIAGNOSE=${DIAGNOSE:-0}
if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 20)); then
    echo "check.sh: RUNS must be 1..20" >&2
    exit 2
fi

machine_line
summary=()
for deals in $SIZES; do
    data=$(mirror_dir "$deals")
    if [[ ! -f $data/funnelguard.db || ! -f $data/replay.result ]]; then
        echo "== no replayed mirror of $deals deals in $data: bench/replay.sh $build $deals"
        "$bench_dir/replay.sh" "$build" "$deals"
    fi
    measure_dir=$(mktemp -d "${TMPDIR:-/tmp}/fg-check.XXXXXX")
    trap 'rm -rf "$measure_dir"' EXIT
    config=$data/funnelguard.toml
    command=("$fg" check --config "$config" --format json --now "$REFERENCE")
    echo
    echo "== $deals deals: funnelguard check --config $config --format json --now $REFERENCE" \
        "> /dev/null  (database $(du -m "$data/funnelguard.db" | cut -f1) MiB)"
    walls=()
    rss=()
    for run in $(seq 1 "$RUNS"); do
        measure "check-$run" timeout "${CHECK_TIMEOUT:-600}" "${command[@]}"
        if ((status != 0)); then
            echo "check.sh: check failed (exit $status):" >&2
            cat "$measure_dir/check-$run.time" >&2
            exit 1
        fi
        echo "run $run: ${wall_s} s, peak RSS $(mib "$rss_kb") MiB"
        walls+=("$wall_s")
        rss+=("$rss_kb")
    done
    median_wall=$(printf '%s\n' "${walls[@]}" | sort -g |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    max_rss=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
    # One top-level "rule" per item, indented ("rule": "...") or compact ("rule":"...").
    violations=$("${command[@]}" | grep -o '"rule": \?"' | wc -l)
    output_mib=$("${command[@]}" | wc -c | awk '{ printf "%.1f", $1 / 1048576 }')
    if ((deals >= 1000000)); then
        goal="<= 3 s and <= 1024 MiB"
        verdict=$(awk -v w="$median_wall" -v r="$max_rss" \
            'BEGIN { print ((w <= 3 && r != "n/a" && r <= 1048576) ? "met" : "MISSED") }')
    else
        goal="<= 0.5 s"
        verdict=$(awk -v w="$median_wall" 'BEGIN { print ((w <= 0.5) ? "met" : "MISSED") }')
    fi
    echo "median ${median_wall} s, peak RSS $(mib "$max_rss") MiB; $violations violations" \
        "(${output_mib} MiB of JSON); goal $goal: $verdict"
    if [[ -f $data/replay.result ]]; then
        # shellcheck disable=SC1090,SC1091,SC2154
        replay_line=$(source "$data/replay.result" && echo "replay of the mirror ($date):" \
            "$events events in ${replay_s} s (${events_per_s} events/s), wall ${wall_s} s," \
            "peak RSS ${rss_mib} MiB, database ${db_mib} MiB")
        echo "$replay_line"
    fi
    if [[ $DIAGNOSE == 1 ]]; then
        if [[ -x $build/bench/bench_check_phases ]]; then
            echo "-- bench_check_phases $config $REFERENCE (one pass per line, each a step more)"
            timeout "${CHECK_TIMEOUT:-600}" "$build/bench/bench_check_phases" "$config" "$REFERENCE"
        else
            echo "(DIAGNOSE=1: $build/bench/bench_check_phases is not built)"
        fi
    fi
    summary+=("$(printf '%-9s %8s s %8s MiB %20s  %-24s %s' "$deals" \
        "$median_wall" "$(mib "$max_rss")" "$violations" "$goal" "$verdict")")
    rm -rf "$measure_dir"
    trap - EXIT
done
echo
printf '%-9s %10s %12s %20s  %s\n' deals "median wall" "peak RSS" violations goal
printf '%s\n' "${summary[@]}"
