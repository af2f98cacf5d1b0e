#!/usr/bin/env bash
# `make run`: a private PostgreSQL cluster, dev TLS certificates and redoubt-server serving the
# web client (web/dist), all under ./var. Data persists across runs; Ctrl-C stops everything.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
var="$root/var"
pg_port=${REDOUBT_PG_PORT:-55432}
https_port=${REDOUBT_PORT:-8443}
server_bin="$root/$build/src/redoubt-server"
ctl_bin="$root/$build/ctl/redoubtctl"
web_root="$root/web/dist"
allowed_origins="\"https://localhost:$https_port\", \"https://127.0.0.1:$https_port\""
# shellcheck source=scripts/stack-lib.sh
source "$root/scripts/stack-lib.sh"

stack_prepare
# Configs written before the web client existed: add web_root once.
if ! grep -q '^web_root' "$var/config/server.toml"; then
  sed -i "s#^log_level = \"info\"#&\nweb_root = \"$web_root\"#" "$var/config/server.toml"
fi

cleanup() {
  trap - INT TERM EXIT
  stack_stop
  echo "Redoubt stopped. Data is kept in $var."
}
trap cleanup INT TERM EXIT

stack_start_server
cat <<MSG

  Redoubt is running:   https://localhost:$https_port   (web client and API)
  Trust this CA:        $var/tls/ca.crt   (curl --cacert $var/tls/ca.crt ...)
  Server log:           $var/server.log
  First admin:          the first account registered becomes admin, or:
                        echo 'a long passphrase' | $ctl_bin --config $var/config/ctl.toml create-admin NAME EMAIL
  Stop:                 Ctrl-C

MSG
wait "$server_pid"
