#!/usr/bin/env bash
# Follows the README as a new user would, in a clean copy of the repository: every ```sh block
# marked by a `<!-- readme-test: NAME -->` line right before it runs, in order, in one shell, with
# the already-built binary. Fails when a command of theirs fails.
#
#   tests/readme/follow_readme.sh BUILD_DIR
#
# The copy holds the tracked files only (as `git clone` would), with `build` linked to BUILD_DIR.
# Only 127.0.0.1 is used: the README's port 8080 becomes a free one in the copy, so that the test
# runs beside anything else. Every curl is bounded (a .curlrc), the whole run too; servers started
# in the background are stopped at the end.
set -euo pipefail

build_dir=$(cd "${1:?usage: follow_readme.sh BUILD_DIR}" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
[[ -x "$build_dir/funnelguard" ]] || { echo "no $build_dir/funnelguard: build it first" >&2; exit 1; }

work=$(mktemp -d /tmp/fg-readme-XXXXXX)
runner_pid=
cleanup() {
    if [[ -n "$runner_pid" ]]; then
        kill -TERM -- "-$runner_pid" 2>/dev/null || true  # the blocks' process group
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A clean clone's files: what git tracks, as they are in the working tree.
repo="$work/repo"
mkdir "$repo"
(cd "$source_dir" && git ls-files -z | xargs -0 cp --parents -t "$repo" 2>/dev/null) ||
    { echo "cannot copy the tracked files of $source_dir (not a git checkout?)" >&2; exit 1; }
ln -s "$build_dir" "$repo/build"

# What a clone needs is in it: no Markdown link leaves the repository, and every relative link
# of the README and docs/ points at a file that is there.
for doc in "$repo"/README.md "$repo"/docs/*.md; do
    while IFS= read -r target; do
        target=${target%%#*}
        [[ -z "$target" || "$target" == *://* || "$target" == mailto:* ]] && continue
        if [[ "$target" == ../* && "$doc" == "$repo/README.md" ]] || [[ ! -e "$(dirname "$doc")/$target" ]]; then
            echo "${doc#"$repo"/}: the link ($target) leads nowhere in a clone" >&2
            exit 1
        fi
    done < <(grep -o '](\([^)]*\))' "$doc" | sed 's/^](\(.*\))$/\1/')
done
# The quick start builds only the binary the demo needs.
grep -q -- 'cmake --build build -j2 --target funnelguard' "$repo/README.md" ||
    { echo "README.md: the quick start should build only --target funnelguard" >&2; exit 1; }
# What the first run creates stays out of git.
for created in funnelguard.toml funnelguard-tokens/beta.amocrm.json funnelguard.db; do
    git -C "$source_dir" check-ignore -q --no-index "$created" ||
        { echo ".gitignore: $created is not ignored" >&2; exit 1; }
done

# A free port for the README's 8080.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
       echo $((20000 + RANDOM % 30000)))
sed -i "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" "$repo/README.md" "$repo/deploy/funnelguard.local.toml"

export CURL_HOME="$work/curl"
mkdir "$CURL_HOME"
printf 'max-time = 20\nconnect-timeout = 5\n' >"$CURL_HOME/.curlrc"

# The marked blocks, each followed by a pause until serve (if it runs) has processed every stored
# webhook, as a person reading the output would wait: webhooks are processed after their answer.
script="$work/readme.sh"
{
    echo 'set -eo pipefail'
    echo 'trap '\''kill $(jobs -p) 2>/dev/null; wait'\'' EXIT'
    echo "settle() {"
    echo "    for _ in \$(seq 100); do"
    echo "        metrics=\$(curl -s http://127.0.0.1:$port/metrics 2>/dev/null) || return 0"
    echo "        grep -q '^funnelguard_inbox_pending 0\$' <<<\"\$metrics\" && return 0"
    echo "        sleep 0.1"
    echo "    done"
    echo "}"
    awk '
        /^<!-- readme-test: [A-Za-z0-9_-]+ -->$/ { name = $3; armed = 1; next }
        armed && /^```sh$/ { printf "echo \"== readme-test: %s\"\n", name; inside = 1; armed = 0; blocks++; next }
        inside && /^```$/ { print "settle"; inside = 0; next }
        inside { print; next }
        { armed = 0 }
        END { if (blocks == 0) { print "no marked blocks" > "/dev/stderr"; exit 1 } }
    ' "$repo/README.md"
} >"$script"

echo "== following $source_dir/README.md in $repo (port $port)"
cd "$repo"
# A process group of its own, so that everything it starts can be stopped at the end.
setsid bash "$script" </dev/null &
runner_pid=$!
status=0
# Generous but finite: the blocks take a few seconds.
for _ in $(seq 600); do
    kill -0 "$runner_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$runner_pid" 2>/dev/null; then
    echo "the README's commands did not finish within 60 s" >&2
    exit 1
fi
wait "$runner_pid" || status=$?
if [[ $status -ne 0 ]]; then
    echo "a README command failed (exit $status); the blocks ran as:" >&2
    cat -n "$script" >&2
    exit "$status"
fi
echo "== every marked block of the README ran"
