#!/usr/bin/env bash
# amocrm_npm.sh FUNNELGUARD WORKDIR: third-party amoCRM clients from npm against
# `funnelguard sim amocrm` serving HTTPS with a throwaway CA (see amocrm_npm.js).
# Installs the pinned packages into WORKDIR/node with npm (the npm registry must be reachable:
# without it the test fails, it never skips). Needs node, npm and openssl.
set -euo pipefail
funnelguard=${1:?usage: amocrm_npm.sh FUNNELGUARD WORKDIR}
work=${2:?usage: amocrm_npm.sh FUNNELGUARD WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)

# Pinned: the versions this test was written against.
PACKAGES=("@shevernitskiy/amo@0.1.12" "amocrm-js@3.6.0")

fail() { echo "amocrm_npm.sh: $*" >&2; exit 1; }
for tool in node npm openssl; do
  command -v "${tool}" >/dev/null || fail "${tool} is not installed (apt-get install nodejs npm openssl)"
done
[[ -x ${funnelguard} ]] || fail "no funnelguard binary at ${funnelguard}"

mkdir -p "${work}/node"
if [[ ! -f ${work}/node/package.json ]]; then
  echo '{"name":"funnelguard-interop","private":true}' >"${work}/node/package.json"
fi
echo "== npm install ${PACKAGES[*]}"
npm install --prefix "${work}/node" --no-audit --no-fund --no-save --loglevel=error \
  "${PACKAGES[@]}" || fail "npm install failed (is the npm registry reachable?)"

ca="${work}/ca"
rm -rf "${ca}"
bash "${here}/make_test_ca.sh" "${ca}" || fail "could not make the test CA"

sim_pid=
cleanup() {
  if [[ -n ${sim_pid} ]] && kill -0 "${sim_pid}" 2>/dev/null; then
    kill "${sim_pid}"
    wait "${sim_pid}" || true
  fi
}
trap cleanup EXIT

token="npm-interop-token"
out="${work}/sim.out"
"${funnelguard}" sim amocrm --listen 127.0.0.1:0 --token "${token}" --leads 40 --rps 1000 \
  --tls-cert "${ca}/server.pem" --tls-key "${ca}/server.key" >"${out}" 2>"${work}/sim.err" &
sim_pid=$!
url=
for _ in $(seq 1 300); do
  url=$(sed -n 's/^amoCRM simulator listening on \(https:[^ ]*\)$/\1/p' "${out}")
  [[ -n ${url} ]] && break
  kill -0 "${sim_pid}" 2>/dev/null || { cat "${work}/sim.err" >&2; fail "the simulator exited"; }
  sleep 0.1
done
[[ -n ${url} ]] || fail "the simulator did not print its https address"
echo "== simulator at ${url}"

export NODE_PATH="${work}/node/node_modules"
export SIM_URL="${url}" SIM_TOKEN="${token}"
echo "== trusting the test CA"
NODE_EXTRA_CA_CERTS="${ca}/ca.pem" node "${here}/amocrm_npm.js" trusted
echo "== trusting another CA only"
NODE_EXTRA_CA_CERTS="${ca}/other-ca.pem" node "${here}/amocrm_npm.js" untrusted
