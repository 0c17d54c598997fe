#!/usr/bin/env bash
# amoCRM reconciliation against its rate-limit ceiling (issue 3, goal 1).
#
#   bench/amocrm_reconcile.sh [BUILD_DIR] [LEADS]      # defaults: build-bench, 100000
#
# Builds nothing. Starts `funnelguard sim amocrm --listen 127.0.0.1:0 --leads LEADS --rps RPS`
# (RPS default 7, the most the config accepts), writes a temporary config (one amocrm tenant,
# rps = RPS, mode observe, the database in a mktemp -d folder) and runs
# `funnelguard reconcile --config F --tenant bench --full` under /usr/bin/time -v, bounded by
# RECONCILE_TIMEOUT seconds (default 3600). Every progress line on stderr is time-stamped, so the
# script can report each phase: pages, seconds, and the fraction of the ceiling (pages / RPS) it
# reached. After the run the simulator is stopped with SIGINT and prints its request and 429
# counts. Whole run: ceiling = (requests - 429s) / RPS, fraction = ceiling / wall (goal >= 0.9,
# no 429). At 7 req/s 100k leads take ~10-20 min: run it with nohup in the background.
# KEEP=1 keeps the work folder (config, database, logs).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

resolve_build "${1:-}"
leads=${2:-100000}
rps=${RPS:-7}
if ! [[ $leads =~ ^[0-9]+$ ]] || ((leads < 1 || leads > 1000000)); then
    echo "amocrm_reconcile.sh: LEADS must be 1..1000000" >&2
    exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fg-amorec-XXXXXX")
sim_pid=""
cleanup() {
    if [[ -n $sim_pid ]] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -INT "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "work folder kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

machine_line
echo "commit: $(git -C "$repo_dir" rev-parse --short HEAD)$(git -C "$repo_dir" diff --quiet HEAD -- src adapters || echo ' (+ uncommitted changes in src/adapters)'); $(date -u '+%Y-%m-%d %H:%M UTC')"

token="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
echo "== funnelguard sim amocrm --listen 127.0.0.1:0 --leads $leads --rps $rps --seed $SEED"
gen_start=$EPOCHREALTIME
"$fg" sim amocrm --listen 127.0.0.1:0 --token "$token" --seed "$SEED" --leads "$leads" \
    --rps "$rps" >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
base_url=""
for _ in $(seq 1 1200); do
    base_url=$(sed -n 's/^amoCRM simulator listening on \(http[^ ]*\).*/\1/p' "$work/sim.out")
    [[ -n $base_url ]] && break
    if ! kill -0 "$sim_pid" 2>/dev/null; then
        echo "amocrm_reconcile.sh: the simulator exited:" >&2
        cat "$work/sim.err" >&2
        exit 1
    fi
    sleep 0.5
done
if [[ -z $base_url ]]; then
    echo "amocrm_reconcile.sh: the simulator did not start within 10 min" >&2
    exit 1
fi
sleep 0.5  # the counts line follows the address
echo "sim: $base_url, ready in $(awk -v a="$gen_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s;" \
    "$(grep -m1 ' leads, ' "$work/sim.out" | cut -d';' -f1-2)"

config=$work/funnelguard.toml
(
    umask 077
    cat >"$config" <<EOF
[storage]
path = "$work/funnelguard.db"
[log]
level = "warn"
[[tenant]]
id = "bench"
crm = "amocrm"
secret = "bench-hook-secret"
mode = "observe"
  [tenant.amocrm]
  base_url = "$base_url"
  token = "$token"
  rps = $rps
EOF
)

# stamp: prefixes each line with the epoch time it arrived.
stamp() {
    local line
    while IFS= read -r line; do
        printf '%s %s\n' "$EPOCHREALTIME" "$line"
    done
}

echo "== funnelguard reconcile --config $config --tenant bench --full   (load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "   progress: tail -f $work/reconcile.err"
t0=$EPOCHREALTIME
status=0
/usr/bin/time -v -o "$work/reconcile.time" timeout "${RECONCILE_TIMEOUT:-3600}" \
    "$fg" reconcile --config "$config" --tenant bench --full \
    >"$work/reconcile.out" 2> >(stamp >"$work/reconcile.err") || status=$?
t_end=$EPOCHREALTIME
sleep 0.2  # let the stamping loop drain
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
kill -INT "$sim_pid"
wait "$sim_pid" || true
sim_pid=""
cat "$work/reconcile.out"
if ((status != 0)); then
    echo "amocrm_reconcile.sh: reconcile failed (exit $status); last lines:" >&2
    tail -5 "$work/reconcile.err" >&2
fi
sim_line=$(grep 'sim amocrm: stopped after' "$work/sim.out" || true)
echo "$sim_line"
requests=$(sed -n 's/.*stopped after \([0-9]*\) request.*/\1/p' <<<"$sim_line")
limited=$(sed -n 's/.* \([0-9]*\) answered 429.*/\1/p' <<<"$sim_line")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
    "$work/reconcile.time")
rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/reconcile.time")

# Per phase, from the stamped progress lines: "<t> reconcile: bench: <phase>: N so far (page P)".
# A phase's time runs from the previous line (the end of the previous page) to its last page.
echo
printf '%-16s %7s %9s %10s %9s\n' phase pages seconds ceiling_s fraction
awk -v t0="$t0" -v t_end="$t_end" -v rps="$rps" '
    {
        t = $1; line = $0; sub(/^[^ ]+ reconcile: bench: /, "", line)
        phase = ""
        if (match(line, /^(leads|deleted leads|tasks|notes|stage changes): .*\(page [0-9]+\)$/)) {
            phase = line; sub(/: .*/, "", phase)
            page = line; sub(/.*\(page /, "", page); sub(/\)$/, "", page)
        } else if (line ~ /^catalog: /) {
            phase = "catalog"; page = 0
        } else if (line ~ /^re-evaluating every deal/) {
            judge_start = t
        }
        if (phase != "") {
            if (!(phase in first)) { first[phase] = prev; order[++n] = phase }
            last[phase] = t; pages[phase] = page
        }
        prev = t
        if (NR == 1) prev = t0
    }
    END {
        for (i = 1; i <= n; i++) {
            p = order[i]; d = last[p] - first[p]
            if (p == "catalog") { printf "%-16s %7s %9.1f\n", p, "-", d; continue }
            c = pages[p] / rps; total_pages += pages[p]; pull_time += d
            printf "%-16s %7d %9.1f %10.1f %9.3f\n", p, pages[p], d, c, (d > 0 ? c / d : 0)
        }
        if (judge_start > 0) {
            printf "%-16s %7d %9.1f %10.1f %9.3f   (the pages above)\n", "pages, together",
                total_pages, pull_time, total_pages / rps, total_pages / rps / pull_time
            printf "%-16s %7s %9.1f   (start -> re-evaluating)\n", "pull, all", "", judge_start - t0
            printf "%-16s %7s %9.1f   (re-evaluating -> exit)\n", "judge", "", t_end - judge_start
        }
    }' "$work/reconcile.err"

echo
if [[ -n $requests && -n $wall ]]; then
    awk -v r="$requests" -v l="${limited:-0}" -v w="$wall" -v rps="$rps" -v rss="$rss_kb" \
        -v load="$load_after" 'BEGIN {
        c = (r - l) / rps
        printf "whole run: %d requests (%d answered 429), ceiling %.1f s at %s req/s, wall %.1f s," \
            " fraction %.3f (goal >= 0.9, no 429: %s); peak RSS %.0f MiB; load average after: %s\n",
            r, l, c, rps, w, c / w, ((c / w >= 0.9 && l == 0) ? "met" : "MISSED"), rss / 1024, load
    }'
fi
exit "$status"
