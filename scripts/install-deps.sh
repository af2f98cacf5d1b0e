#!/usr/bin/env bash
# Installs the Debian 12 packages Redoubt needs to build, test and run, if any are missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache mold pkg-config git openssl util-linux procps
  clang libclang-rt-14-dev
  libboost-system1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libpq-dev libsodium-dev libspdlog-dev libfmt-dev libtoml11-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev libnats-dev libpng-dev libjpeg62-turbo-dev libwebp-dev
  postgresql-15 postgresql-contrib postgresql-15-pgaudit nats-server sslscan
  python3
  chromium fonts-noto-color-emoji
  clamav-daemon
)
# The web client's build and tests: Debian's Node.js 18 and npm, unless a node is already there.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
