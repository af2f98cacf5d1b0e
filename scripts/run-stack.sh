#!/usr/bin/env bash
# `make run`: a private PostgreSQL cluster, a private NATS broker (JetStream), dev TLS
# certificates, redoubt-worker (emails go to ./var/mail) and redoubt-server serving the web
# client (web/dist), all under ./var. Data persists across runs; Ctrl-C stops everything.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
var="$root/var"
pg_port=${REDOUBT_PG_PORT:-55432}
https_port=${REDOUBT_PORT:-8443}
nats_port=${REDOUBT_NATS_PORT:-54222}
server_bin="$root/$build/src/redoubt-server"
ctl_bin="$root/$build/ctl/redoubtctl"
worker_bin="$root/$build/worker/redoubt-worker"
web_root="$root/web/dist"
allowed_origins="\"https://localhost:$https_port\", \"https://127.0.0.1:$https_port\""
# shellcheck source=scripts/stack-lib.sh
source "$root/scripts/stack-lib.sh"

cleanup() {
  trap - INT TERM EXIT
  stack_stop_server
  stack_stop_jobs
  "$root/scripts/pg-cluster.sh" stop "$var/pg" || true
  echo "Redoubt stopped. Data is kept in $var."
}
trap cleanup INT TERM EXIT

stack_prepare
# Configs written before the web client existed: add web_root once.
if ! grep -q '^web_root' "$var/config/server.toml"; then
  sed -i "s#^log_level = \"info\"#&\nweb_root = \"$web_root\"#" "$var/config/server.toml"
fi
stack_prepare_jobs
stack_start_worker
stack_start_server
cat <<MSG

  Redoubt is running:   https://localhost:$https_port   (web client and API)
  Trust this CA:        $var/tls/ca.crt   (curl --cacert $var/tls/ca.crt ...)
  Logs:                 $var/server.log, $var/worker.log
  Emails:               $var/mail/*.eml   (verification and password-reset links: cat $var/mail/*.eml)
  Attachments:          $var/files (encrypted; keys in $var/keys/files.keys)
                        check them: $ctl_bin --config $var/config/server.toml files verify
  First admin:          the first account registered becomes admin, or:
                        echo 'a long passphrase' | $ctl_bin --config $var/config/ctl.toml create-admin NAME EMAIL
  Stop:                 Ctrl-C

MSG
wait -n "$server_pid" "$worker_pid"
