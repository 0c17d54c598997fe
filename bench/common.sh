# Sourced by bench/replay.sh and bench/check.sh: build directory, bench data, measuring.
# shellcheck shell=bash disable=SC2034  # the variables set here are read by the scripts

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$bench_dir")

# resolve_build DIR: an existing build directory (relative to the cwd or the repository) that
# holds funnelguard; sets $build and $fg.
resolve_build() {
    build=${1:-$repo_dir/build-bench}
    if [[ ! -d $build && -d $repo_dir/$build ]]; then
        build=$repo_dir/$build
    fi
    fg=$build/funnelguard
    if [[ ! -x $fg ]]; then
        echo "$(basename "$0"): $fg not found; build first:" >&2
        echo "  cmake -S $repo_dir -B $build -DCMAKE_BUILD_TYPE=Release" \
            "&& cmake --build $build -j2" >&2
        exit 2
    fi
    build=$(cd "$build" && pwd)
    fg=$build/funnelguard
}

# Bench data lives outside git; one folder per mirror size.
DATA_ROOT=${DATA_ROOT:-/work/bench-data}
REFERENCE=${REFERENCE:-2026-11-02T18:00:00+03:00}
SEED=${SEED:-2026}
mirror_dir() { echo "$DATA_ROOT/mirror-$1"; }

# measure NAME CMD...: runs CMD with stdout to $measure_out (default /dev/null) and stderr to
# $measure_err (default empty: this script's stderr, not reopened) under /usr/bin/time -v when
# there is one (TIME_BIN overrides it; bash's clock otherwise, without RSS). Sets $wall_s, $rss_kb
# ("n/a" without /usr/bin/time) and $status; the report stays in $measure_dir/NAME.time.
measure_dir=${TMPDIR:-/tmp}
measure_out=/dev/null
measure_err=""
redirected() {
    if [[ -n $measure_err ]]; then
        "$@" >"$measure_out" 2>"$measure_err"
    else
        "$@" >"$measure_out"
    fi
}
measure() {
    local name=$1
    shift
    local report=$measure_dir/$name.time
    status=0
    if [[ -x ${TIME_BIN:-/usr/bin/time} ]]; then
        redirected "${TIME_BIN:-/usr/bin/time}" -v -o "$report" "$@" || status=$?
        wall_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
            "$report")
        rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$report")
    else
        local start end
        start=$(date +%s.%N)
        redirected "$@" || status=$?
        end=$(date +%s.%N)
        wall_s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
        rss_kb=n/a
        echo "wall ${wall_s}s (bash clock; /usr/bin/time missing: apt-get install time)" >"$report"
    fi
}

mib() {
    if [[ $1 == n/a ]]; then
        echo n/a
    else
        awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'
    fi
}

# sql DB QUERY: one value from a database, read-only.
sql() {
    if command -v sqlite3 >/dev/null; then
        sqlite3 "file:$1?mode=ro" "$2"
    else
        python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute(sys.argv[2]).fetchone()[0])' \
            "$1" "$2"
    fi
}

machine_line() {
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)," \
        "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo);" \
        "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
