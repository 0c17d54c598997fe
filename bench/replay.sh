#!/usr/bin/env bash
# Replay throughput (issue 2): `funnelguard replay` over a generated mirror, from an empty database.
#
#   bench/replay.sh [BUILD_DIR] [DEALS]      # defaults: build-bench, 100000
#
# Builds nothing. The bodies come from bench/make_mirror.py (DEALS deals, 3 tasks each, ~1,000
# events per file), generated once into $DATA_ROOT/mirror-DEALS (default /work/bench-data, outside
# git) and reused; the database there is deleted and rebuilt by every run, and kept afterwards for
# bench/check.sh. Prints events/s (goal >= 50,000), wall time and peak RSS (/usr/bin/time -v).
# The replay is bounded by REPLAY_TIMEOUT seconds (default 3600).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

resolve_build "${1:-}"
deals=${2:-100000}
if ! [[ $deals =~ ^[0-9]+$ ]] || ((deals < 1 || deals > 5000000)); then
    echo "replay.sh: DEALS must be 1..5000000" >&2
    exit 2
fi
data=$(mirror_dir "$deals")
measure_dir=$data
mkdir -p "$data"

machine_line
if ! compgen -G "$data/events-*.json" >/dev/null; then
    echo "generating the mirror: bench/make_mirror.py --out $data --deals $deals --seed $SEED"
    start=$(date +%s)
    python3 "$bench_dir/make_mirror.py" --out "$data" --deals "$deals" --seed "$SEED" \
        --reference "$REFERENCE"
    echo "generated in $(($(date +%s) - start)) s"
fi
files=("$data"/events-*.json)
rm -f "$data/funnelguard.db" "$data/funnelguard.db-wal" "$data/funnelguard.db-shm" \
    "$data/replay.result"

echo "== funnelguard replay --config $data/funnelguard.toml --tenant bench" \
    "$data/events-*.json  (${#files[@]} files, $(du -sh --apparent-size "$data" | cut -f1))"
measure_out=$data/replay.out
measure_err=$data/replay.err
measure replay timeout "${REPLAY_TIMEOUT:-3600}" \
    "$fg" replay --config "$data/funnelguard.toml" --tenant bench "${files[@]}"
tr '\r' '\n' <"$data/replay.err" | grep -v '^$' | tail -3 || true
cat "$data/replay.out"
if ((status != 0)); then
    echo "replay.sh: replay failed (exit $status); see $data/replay.time and replay.err" >&2
    exit 1
fi

# replay prints "... in S s (R events/s) ..."; the events are counted from the database as well,
# since replay's own count misses the events the engine applies in the background.
inner_s=$(sed -n 's/.* applied in \([0-9.]*\) s .*/\1/p' "$data/replay.out")
printed_rate=$(sed -n 's/.* s (\([0-9.]*\) events\/s).*/\1/p' "$data/replay.out")
events=$(sql "$data/funnelguard.db" 'SELECT COUNT(*) FROM events_seen')
deal_rows=$(sql "$data/funnelguard.db" 'SELECT COUNT(*) FROM deals')
violations=$(sql "$data/funnelguard.db" 'SELECT COUNT(*) FROM violations')
rate=$(awk -v e="$events" -v s="$inner_s" 'BEGIN { printf "%.0f", (s > 0) ? e / s : 0 }')
wall_rate=$(awk -v e="$events" -v s="$wall_s" 'BEGIN { printf "%.0f", (s > 0) ? e / s : 0 }')
db_mib=$(du -m "$data/funnelguard.db" | cut -f1)
verdict=$(awk -v r="$rate" 'BEGIN { print ((r >= 50000) ? "met" : "MISSED") }')
cat >"$data/replay.result" <<EOF
date=$(date -Iseconds)
deals=$deals
files=${#files[@]}
events=$events
replay_s=$inner_s
wall_s=$wall_s
events_per_s=$rate
rss_mib=$(mib "$rss_kb")
db_mib=$db_mib
EOF
echo
echo "events applied:   $events (events_seen) into $deal_rows deal rows; $violations violation rows"
echo "replay time:      ${inner_s} s as replay reports it (events/s it prints: ${printed_rate:-?})"
echo "wall time:        ${wall_s} s (process, /usr/bin/time)"
echo "peak RSS:         $(mib "$rss_kb") MiB"
echo "database:         ${db_mib} MiB"
echo "events/s:         $rate (events_seen / replay time; $wall_rate over wall time)" \
    "(goal >= 50000: $verdict)"
