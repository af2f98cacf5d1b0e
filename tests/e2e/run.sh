#!/usr/bin/env bash
# End-to-end tests of the web client: a private stack (PostgreSQL, NATS JetStream, dev TLS,
# migrations, redoubt-worker with a mailbox directory) in a temp dir on free ports, then the node:test scenarios in tests/e2e/*.test.mjs drive Debian's
# Chromium through playwright-core. The scenarios start and restart redoubt-server themselves
# (its PID is kept in $E2E_VAR/server.pid); everything is stopped by PID on exit, even on failure.
# Usage: tests/e2e/run.sh [BUILD_DIR]   (web/dist must be built: make test-e2e does it)
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ -f "$root/web/dist/index.html" ]] || { echo "e2e: build the web client first (make test-e2e)"; exit 1; }
[[ -x "$root/web/node_modules/.bin/vite" ]] || { echo "e2e: run npm ci in web/ first"; exit 1; }
var=$(mktemp -d /tmp/redoubt-e2e.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
https_port=$(free_port)
pg_port=$(free_port)
nats_port=$(free_port)
worker_bin="$root/$build/worker/redoubt-worker"
server_bin="$root/$build/src/redoubt-server"
ctl_bin="$root/$build/ctl/redoubtctl"
web_root="$root/web/dist"
# Scenarios sign up several users and post bursts of messages from one IP; the limits have their
# own integration tests. (extra_toml continues the [auth] table.)
extra_toml=$'signups_per_hour_per_ip = 100000\n[limits]\nrequests_per_second_per_ip = 100000\nrequests_burst_per_ip = 100000\nmessages_per_second = 100000\nmessages_burst = 100000\nhistory_requests_per_second = 100000\nhistory_burst = 100000'
# shellcheck source=scripts/stack-lib.sh
source "$root/scripts/stack-lib.sh"

cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  if [[ -f "$var/server.pid" ]]; then
    pid=$(cat "$var/server.pid")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; sleep 0.5; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  stack_stop_jobs >/dev/null 2>&1 || true
  stack_stop >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then
    echo "e2e failed; server log tail:"; tail -n 30 "$var/server.log" 2>/dev/null || true
  fi
  if [[ -z ${REDOUBT_KEEP_TEST_DIRS:-} ]]; then rm -rf "$var"; else echo "kept $var"; fi
  exit $rc
}
trap cleanup INT TERM EXIT

# Sign the audit log's head every second, so the administration page has a fresh checkpoint.
export REDOUBT_JOBS_AUDIT_CHECKPOINT_INTERVAL_S=1
# A small file size limit, so scenario 13 can show a file refused before it is sent.
export REDOUBT_FILES_MAX_FILE_BYTES=4194304
stack_prepare >"$var/prepare.log" 2>&1 || { cat "$var/prepare.log"; exit 1; }
stack_prepare_jobs >>"$var/prepare.log" 2>&1 || { cat "$var/prepare.log"; exit 1; }
stack_start_worker

export E2E_URL="https://localhost:$https_port"
export E2E_SPKI=$(stack_spki_hash)
export E2E_VAR=$var
export E2E_SERVER_BIN=$server_bin
export E2E_CONFIG=$var/config/server.toml
export E2E_CA=$var/tls/ca.crt
export E2E_WEB_DIR=$root/web
export E2E_ARTIFACTS=$root/$build/e2e-artifacts
mkdir -p "$E2E_ARTIFACTS"
cd "$root"
node --test ${E2E_TESTS:-tests/e2e/*.test.mjs}
# The sign-ups above went through the whole job path: outbox, broker, worker, mailbox.
mails=$(find "$var/mail" -name '*.eml' | wc -l)
[[ $mails -gt 0 ]] || { echo "e2e: the worker delivered no verification email"; tail -n 20 "$var/worker.log"; exit 1; }
echo "e2e: $mails verification emails delivered by redoubt-worker"
