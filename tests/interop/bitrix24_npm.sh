#!/usr/bin/env bash
# bitrix24_npm.sh SIM_BINARY WORKDIR: a third-party Bitrix24 REST client from npm
# (@2bad/bitrix, pinned) against `sim bitrix24` through its inbound-webhook URL (see
# bitrix24_npm.js). SIM_BINARY is anything that runs `SIM_BINARY sim bitrix24 ...`.
# The package is installed into WORKDIR/node (kept: a rerun with it in place does not
# reinstall). Skips (exit 77) only when node or npm is missing; fails when the install fails.
set -euo pipefail
binary=${1:?usage: bitrix24_npm.sh SIM_BINARY WORKDIR}
work=${2:?usage: bitrix24_npm.sh SIM_BINARY WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)

PACKAGE="@2bad/bitrix"
VERSION="2.5.1"

fail() { echo "bitrix24_npm.sh: $*" >&2; exit 1; }
for tool in node npm; do
  if ! command -v "${tool}" >/dev/null; then
    echo "bitrix24_npm.sh: SKIPPED: ${tool} is not installed (apt-get install nodejs npm)" >&2
    exit 77
  fi
done
[[ -x ${binary} ]] || fail "no simulator binary at ${binary}"

mkdir -p "${work}/node"
installed="${work}/node/node_modules/${PACKAGE}/package.json"
if [[ -f ${installed} ]] && grep -q "\"version\": \"${VERSION}\"" "${installed}"; then
  echo "== ${PACKAGE}@${VERSION} already installed in ${work}/node"
else
  echo '{"name":"funnelguard-interop-bitrix24","private":true}' >"${work}/node/package.json"
  echo "== npm install ${PACKAGE}@${VERSION}"
  npm install --prefix "${work}/node" --no-audit --no-fund --no-save --loglevel=error \
    "${PACKAGE}@${VERSION}" || fail "npm install failed (is the npm registry reachable?)"
fi

sim_pid=
cleanup() {
  if [[ -n ${sim_pid} ]] && kill -0 "${sim_pid}" 2>/dev/null; then
    kill "${sim_pid}"
    wait "${sim_pid}" || true
  fi
}
trap cleanup EXIT

out="${work}/sim.out"
"${binary}" sim bitrix24 --listen 127.0.0.1:0 --seed 7 --deals 120 >"${out}" 2>"${work}/sim.err" &
sim_pid=$!
hook=
for _ in $(seq 1 300); do
  hook=$(sed -n 's/^inbound webhook: \(http:[^ ]*\)$/\1/p' "${out}")
  [[ -n ${hook} ]] && break
  kill -0 "${sim_pid}" 2>/dev/null || { cat "${work}/sim.err" >&2; fail "the simulator exited"; }
  sleep 0.1
done
[[ -n ${hook} ]] || fail "the simulator did not print its inbound-webhook URL"
echo "== simulator webhook at ${hook%/*/}/..."

export NODE_PATH="${work}/node/node_modules"
SIM_WEBHOOK="${hook}" node "${here}/bitrix24_npm.js"
