#!/usr/bin/env bash
# Installs the Debian 12 (bookworm) packages funnelguard needs to build, test and benchmark.
# Run as root: on a developer machine, in CI and in deploy/Dockerfile. Idempotent: when every
# package is already installed it does nothing (no apt-get update, no network).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  ninja-build clang-14 lld    # tests/run.sh: Ninja builds; the sanitized build is clang's; lld links
  libcpp-httplib-dev          # cpp-httplib 0.11.4 (compiled library; link through pkg-config)
  libsqlitecpp-dev libsqlite3-dev
  nlohmann-json3-dev
  libspdlog-dev libfmt-dev
  doctest-dev
  libtomlplusplus-dev
  libcli11-dev
  libhowardhinnant-date-dev   # date/tz: GCC 12 has no std::chrono time zones
  libssl-dev
  tzdata
  wrk                         # bench/
  nodejs                      # tests/interop: third-party amoCRM clients from npm
  # tests/e2e/nginx_test and deploy/nginx/funnelguard.conf. Bookworm's `nginx` package is the
  # binary itself, with every module the site uses built in (ssl, http2, proxy, upstream keepalive,
  # map, access; limit_conn, limit_req and realip too); nginx-light only adds the echo module, and
  # nginx-core mail, stream, geoip and xslt. With systemd, the package starts its stock site on
  # port 80; the test runs its own instance on other loopback ports.
  nginx
)

if [[ ${EUID} -ne 0 ]]; then
  echo "install-deps.sh: run as root (apt-get install needs it)" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "${pkg}" 2>/dev/null || true)
  if [[ ${status} != installed ]]; then
    missing+=("${pkg}")
  fi
done

# Debian's npm package would pull its own nodejs over one from another repository (NodeSource's
# nodejs ships npm): install it only when no npm is there.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#PACKAGES[@]} packages are already installed"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() {
  if ((updated == 0)); then
    echo "install-deps.sh: apt-get update"
    apt-get update
    updated=1
  fi
}

# Update the package lists first when there are none yet (a fresh debian:12-slim) or when they
# do not know one of the packages; otherwise try the lists we have, and update once if that fails
# (stale lists point at versions the mirror no longer has).
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt_update
else
  for pkg in "${missing[@]}"; do
    candidate=$(apt-cache policy "${pkg}" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [[ -z ${candidate} || ${candidate} == "(none)" ]]; then
      apt_update
      break
    fi
  done
fi

echo "install-deps.sh: installing ${missing[*]}"
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  if ((updated == 1)); then
    exit 1
  fi
  apt_update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "install-deps.sh: done"
