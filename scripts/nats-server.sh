#!/usr/bin/env bash
# Runs the private NATS broker configured by scripts/nats-config.sh in DIR:
#   nats-server.sh start|stop|status DIR
# start: in the background (pid DIR/nats.pid, log DIR/nats.log); returns once the port completes
# a TLS handshake with a certificate signed by DIR/tls/ca.crt. stop: by the pid in DIR/nats.pid.
set -euo pipefail

usage() { echo "usage: nats-server.sh start|stop|status DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1
[[ -d $2 ]] || { echo "nats-server: no directory $2" >&2; exit 1; }
dir=$(cd "$2" && pwd -P)
conf=$dir/nats.conf
pidfile=$dir/nats.pid

python=/usr/bin/python3
[[ -x $python ]] || python=python3

pid() {  # prints the pid if a nats-server with that pid is alive
  [[ -s $pidfile ]] || return 1
  local p
  p=$(<"$pidfile")
  [[ $p =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$p/cmdline ]] || return 1
  tr '\0' ' ' </proc/"$p"/cmdline | grep -q "nats-server" || return 1
  echo "$p"
}

# NATS sends its INFO line in clear, then the client upgrades to TLS (no handshake-first in 2.9).
tls_ready() {
  "$python" - "$1" "$dir/tls/ca.crt" <<'EOF' >/dev/null 2>&1
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
    info = s.makefile("rb").readline()
    if not info.startswith(b"INFO ") or b'"tls_required":true' not in info:
        sys.exit(1)
    ctx = ssl.create_default_context(cafile=ca)
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.do_handshake()
EOF
}

start() {
  [[ -f $conf ]] || { echo "nats-server: no $conf (run nats-config.sh)" >&2; exit 1; }
  if pid >/dev/null; then return 0; fi
  local port
  port=$(sed -n 's/^listen: 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$conf")
  [[ -n $port ]] || { echo "nats-server: no listen port in $conf" >&2; exit 1; }
  rm -f "$pidfile"
  setsid nats-server -c "$conf" -P "$pidfile" -l "$dir/nats.log" </dev/null >/dev/null 2>&1 &
  local launcher=$! i
  for ((i = 0; i < 150; i++)); do
    if ! kill -0 "$launcher" 2>/dev/null && ! pid >/dev/null; then
      echo "nats-server: exited at start, see $dir/nats.log" >&2
      tail -n 20 "$dir/nats.log" >&2 || true
      exit 1
    fi
    if pid >/dev/null && tls_ready "$port"; then return 0; fi
    sleep 0.1
  done
  echo "nats-server: not ready after 15 s, see $dir/nats.log" >&2
  exit 1
}

stop() {
  local p i
  p=$(pid) || { rm -f "$pidfile"; return 0; }
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    [[ -d /proc/$p ]] || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  rm -f "$pidfile"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status)
    if pid >/dev/null; then echo "running"; else echo "stopped"; exit 3; fi
    ;;
  *) usage ;;
esac
