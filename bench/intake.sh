#!/usr/bin/env bash
# Durable webhook intake against a no-op server on the same HTTP stack (issue 2, DESIGN.md §6).
#
#   bench/intake.sh [BUILD_DIR]        # default: build-bench (next to this folder)
#
# Builds nothing: BUILD_DIR must hold funnelguard and bench/bench_noop_server. Writes a temporary
# config (tenant "bench", generic, one pipeline, default rules, the database in a temporary
# folder), then, one after the other, loads `funnelguard serve` and bench_noop_server with
#   wrk -t2 -c32 -d10s -s bench/post_event.lua   (a new ~1 KB body per request)
# and prints req/s, p50/p99 latency and non-2xx counts for each, and the ratio durable/no-op.
# Goal: ratio >= 0.7 with no non-2xx. Each server runs alone; both are stopped at the end.
# Everything listens on 127.0.0.1 (free ports). Knobs (environment): THREADS=2 CONNECTIONS=32
# DURATION=10s, SERVER_THREADS (HTTP pool of every server, default 64), TMPDIR (where the database
# goes; keep it on the disk you want to measure),
# DIAGNOSE=1 adds two runs: bench_inbox_only_server, the same inbox group commit without the
# inbox processing (what processing on the writer thread costs the intake), and
# bench_append_only_server, which appends each body to a file and shares one fdatasync per group
# (the cheapest durable intake: the ceiling of the ratio on this machine).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-bench}
if [[ ! -d $build && -d $root/$build ]]; then
    build=$root/$build
fi
build=$(cd "$build" && pwd)
THREADS=${THREADS:-2}
# The HTTP pool of all three servers (funnelguard's server.threads); empty = their default, 64.
SERVER_THREADS=${SERVER_THREADS:-}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}

DIAGNOSE=${DIAGNOSE:-0}

fg=$build/funnelguard
noop=$build/bench/bench_noop_server
inbox_only=$build/bench/bench_inbox_only_server
append_only=$build/bench/bench_append_only_server
binaries=("$fg" "$noop")
[[ $DIAGNOSE == 1 ]] && binaries+=("$inbox_only" "$append_only")
for binary in "${binaries[@]}"; do
    if [[ ! -x $binary ]]; then
        echo "intake.sh: $binary not found; build first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2" >&2
        exit 2
    fi
done
if ! command -v wrk >/dev/null; then
    echo "intake.sh: wrk is not installed (apt-get install wrk)" >&2
    exit 2
fi
seconds=${DURATION%s}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1 || seconds > 600)); then
    echo "intake.sh: DURATION must be 1s..600s" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fg-intake.XXXXXX")
server_pid=""
stop_server() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

secret="bench-hook-secret-$(date +%s)"
cat >"$work/fg.toml" <<EOF
[server]
listen = "127.0.0.1:0"
${SERVER_THREADS:+threads = $SERVER_THREADS}
[storage]
path = "$work/fg.db"

[[tenant]]
id = "bench"
crm = "generic"
secret = "$secret"
timezone = "Europe/Moscow"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Счёт выставлен", "Оплачено", "Успешно"]
  won = ["Успешно"]
  lost = ["Закрыто и не реализовано"]
EOF
"$fg" config check --config "$work/fg.toml" >/dev/null
if [[ -n $SERVER_THREADS ]]; then
    export FG_BENCH_THREADS=$SERVER_THREADS  # read by the no-op and inbox-only servers
fi

# Starts "$@" in the background with stdout to $work/$name.out; sets server_pid and port.
start_server() {
    local name=$1
    shift
    "$@" >"$work/$name.out" 2>"$work/$name.log" &
    server_pid=$!
    port=""
    for _ in $(seq 1 150); do
        port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/$name.out")
        [[ -n $port ]] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "intake.sh: $name did not start; its log:" >&2
    cat "$work/$name.log" >&2
    exit 1
}

# CPU ticks (user + system) of each thread of the running server: "tid ticks" lines.
cpu_snapshot() {
    local task
    for task in /proc/"$server_pid"/task/*; do
        awk -v tid="${task##*/}" '{ print tid, $14 + $15 }' "$task/stat" 2>/dev/null || true
    done | sort
}
ticks=$(getconf CLK_TCK)

# Runs wrk against the running server; prints wrk's report and leaves the RESULT line in $result
# and the server's CPU use during the run in $cpu.
load() {
    local name=$1 before
    echo "== $name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION -s bench/post_event.lua" \
        "http://127.0.0.1:$port/hooks/generic/bench"
    before=$(cpu_snapshot)
    timeout $((seconds + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
        -s "$here/post_event.lua" "http://127.0.0.1:$port/hooks/generic/bench" -- "$secret" \
        | tee "$work/$name.wrk" || true
    cpu=$(join <(echo "$before") <(cpu_snapshot) | awk -v hz="$ticks" '
        { d = ($3 - $2) / hz; total += d; if (d > top) top = d }
        END { printf "%.1f s, busiest thread %.1f s", total, top }')
    result="$(grep '^RESULT ' "$work/$name.wrk" || true) cpu=${cpu// /_}"
    if [[ $result != RESULT* ]]; then
        echo "intake.sh: wrk gave no result against $name" >&2
        exit 1
    fi
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)," \
    "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo);" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "database folder: $work ($(stat -f -c %T "$work"))"
if command -v python3 >/dev/null; then
    # What one durable commit costs at least on this disk: the group commit shares it.
    python3 - "$work/fsync-probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
start = time.perf_counter()
for i in range(200):
    os.pwrite(fd, b"x" * 8192, (i % 16) * 8192)
    os.fdatasync(fd)
print("fdatasync of an 8 KiB write there: %.3f ms" % ((time.perf_counter() - start) / 200 * 1e3))
os.close(fd)
os.unlink(sys.argv[1])
PY
fi
if [[ $(stat -f -c %T "$work") == tmpfs ]]; then
    echo "WARNING: $work is on tmpfs: fsync costs nothing there; set TMPDIR to a disk folder" >&2
fi

# 1. Durable: funnelguard serve (WAL, synchronous=FULL, group commit; the 200 waits for it).
start_server funnelguard "$fg" serve --config "$work/fg.toml"
load funnelguard
durable=$result
pending=""
if command -v curl >/dev/null; then
    pending=$(curl -s --max-time 10 "http://127.0.0.1:$port/metrics" |
        sed -n 's/^funnelguard_inbox_pending \([0-9]*\)$/\1/p')
fi
stop_server
if command -v sqlite3 >/dev/null; then
    rows=$(sqlite3 "file:$work/fg.db?mode=ro" 'SELECT COUNT(*) FROM inbox')
else
    rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
        "SELECT COUNT(*) FROM inbox").fetchone()[0])' "$work/fg.db")
fi

# 2. The baseline: the same HTTP stack answering 200 without storing.
start_server noop "$noop" 127.0.0.1:0
load noop
baseline=$result
stop_server

# 3. Optional diagnostics: funnelguard's inbox commit alone, no processing; and the cheapest
# durable intake on this stack (append + a shared fdatasync), the ceiling of the ratio here.
diagnostic=""
floor=""
if [[ $DIAGNOSE == 1 ]]; then
    start_server inbox-only "$inbox_only" "$work/inbox-only.db" "$secret" 127.0.0.1:0
    load inbox-only
    diagnostic=$result
    stop_server
    start_server append-only "$append_only" "$work/append-only.log" 127.0.0.1:0
    load append-only
    floor=$result
    stop_server
fi

echo
printf '%-12s %8s %8s %8s %8s %7s  %-37s %s\n' server req/s p50_ms p99_ms max_ms non2xx \
    "socket errors" "server CPU during the run"
names=(durable baseline)
[[ -n $diagnostic ]] && names+=(diagnostic floor)
declare -A labels=([durable]=funnelguard [baseline]=no-op [diagnostic]=inbox-only
    [floor]=append-only)
for name in "${names[@]}"; do
    line=${!name}
    printf '%-12s %8s %8s %8s %8s %7s  %-37s %s\n' "${labels[$name]}" \
        "$(field "$line" rps)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" \
        "$(field "$line" max_ms)" "$(field "$line" non2xx)" "$(field "$line" socket_errors)" \
        "$(field "$line" cpu | tr _ ' ')"
done
durable_rps=$(field "$durable" rps)
noop_rps=$(field "$baseline" rps)
ok_durable=$(sed -n 's/.*statuses=.*\b200:\([0-9]*\).*/\1/p' <<<"$durable")
echo "funnelguard: ${ok_durable:-0} answered 200, $rows inbox row(s) stored," \
    "${pending:-?} still pending processing when the load stopped"
ratio=$(awk -v d="$durable_rps" -v n="$noop_rps" 'BEGIN { printf "%.2f", (n > 0) ? d / n : 0 }')
non2xx=$(($(field "$durable" non2xx) + $(field "$baseline" non2xx)))
verdict=$(awk -v r="$ratio" -v e="$non2xx" \
    'BEGIN { print ((r >= 0.7 && e == 0) ? "met" : "MISSED") }')
echo "ratio durable/no-op: $ratio (goal >= 0.70 with no non-2xx: $verdict)"
if [[ -n $floor ]]; then
    awk -v i="$(field "$diagnostic" rps)" -v a="$(field "$floor" rps)" -v n="$noop_rps" \
        'BEGIN { if (n > 0) printf "ratio inbox-only/no-op: %.2f; append-only/no-op: %.2f " \
            "(no durable intake on this stack and machine does better)\n", i / n, a / n }'
fi
