#!/usr/bin/env bash
# CHAT-09: runs sqlmap (Debian's package) against a private stack (PostgreSQL, dev TLS,
# redoubt-server on free ports under a temp dir) and fails if it finds any injection point.
# Every parameter of the endpoints that reach SQL with user input is tried: JSON bodies,
# query strings and path segments, signed in as an admin where the endpoint needs it.
# Usage: scripts/sqlmap-scan.sh [BUILD_DIR]   (make sqlmap)
# SQLMAP_LEVEL / SQLMAP_RISK (default 2 / 1) make the scan deeper and slower.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v sqlmap >/dev/null || { echo "sqlmap-scan: sqlmap is not installed (apt-get install sqlmap)"; exit 1; }
var=$(mktemp -d /tmp/redoubt-sqlmap.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
https_port=$(free_port)
pg_port=$(free_port)
server_bin="$root/$build/src/redoubt-server"
ctl_bin="$root/$build/ctl/redoubtctl"
# sqlmap sends thousands of requests from one address; the limits have their own tests.
# (extra_toml continues the [auth] table; cheap password hashing keeps sign-up probes fast.)
extra_toml=$'login_failures_per_minute = 100000\nlogin_failures_per_minute_per_ip = 100000\nlogin_failures_per_hour_per_account = 100000\nsignups_per_hour_per_ip = 100000\npassword_resets_per_hour_per_ip = 100000\npassword_resets_per_hour_per_address = 1000\nargon2_opslimit = 1\nargon2_memlimit_kib = 8192\n[limits]\nrequests_per_second_per_ip = 100000\nrequests_burst_per_ip = 100000\nmessages_per_second = 100000\nmessages_burst = 100000\nhistory_requests_per_second = 100000\nhistory_burst = 100000'
# shellcheck source=scripts/stack-lib.sh
source "$root/scripts/stack-lib.sh"

cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  [[ -n ${forwarder_pid:-} ]] && kill "$forwarder_pid" 2>/dev/null || true
  stack_stop >/dev/null 2>&1 || true
  if [[ -z ${REDOUBT_KEEP_TEST_DIRS:-} ]]; then rm -rf "$var"; else echo "kept $var"; fi
  exit $rc
}
trap cleanup INT TERM EXIT

stack_prepare >"$var/prepare.log" 2>&1 || { cat "$var/prepare.log"; exit 1; }
stack_start_server

# sqlmap 1.7 cannot speak TLS 1.3, the only version the server accepts: it talks plain HTTP to
# this forwarder on 127.0.0.1, which opens a verified TLS 1.3 connection per client connection.
plain_port=$(free_port)
python3 - "$plain_port" "$https_port" "$var/tls/ca.crt" <<'PY' &
import select, socket, ssl, sys, threading
listen_port, upstream_port, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
def serve(client):
    # One thread per connection does both directions: an SSL object must not be read and
    # written from two threads at once.
    try:
        upstream = ctx.wrap_socket(socket.create_connection(("127.0.0.1", upstream_port)), server_hostname="localhost")
    except OSError:
        client.close(); return
    try:
        while True:
            ready = [upstream] if upstream.pending() else select.select([client, upstream], [], [], 120)[0]
            if not ready:
                return
            for src in ready:
                data = src.recv(65536)
                if not data:
                    return
                (upstream if src is client else client).sendall(data)
    except OSError:
        pass
    finally:
        client.close(); upstream.close()
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port)); srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
forwarder_pid=$!
for _ in $(seq 1 50); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$plain_port),1)" 2>/dev/null && break
  sleep 0.1
done

base="https://localhost:$https_port"
plain="http://127.0.0.1:$plain_port"
origin="Origin: $base"
api() {  # method path [json]
  curl -sS --fail-with-body --cacert "$var/tls/ca.crt" -b "$var/cookies" -c "$var/cookies" -H "$origin" \
    -H 'Content-Type: application/json' -X "$1" "$base$2" ${3:+--data "$3"}
}
password='correct horse battery staple 7'
api POST /api/v1/auth/register "{\"username\":\"sqladmin\",\"email\":\"sqladmin@example.test\",\"password\":\"$password\"}" >/dev/null
api POST /api/v1/auth/register "{\"username\":\"sqlpeer\",\"email\":\"sqlpeer@example.test\",\"password\":\"$password\"}" >/dev/null
rm -f "$var/cookies"
api POST /api/v1/auth/login "{\"username\":\"sqladmin\",\"password\":\"$password\"}" >/dev/null
cookie=$(awk '$6 ~ /^__Host-/ {print $6 "=" $7}' "$var/cookies")
[[ -n $cookie ]] || { echo "sqlmap-scan: no session cookie"; exit 1; }
room=$(api POST /api/v1/rooms '{"name":"sqlmap","kind":"public","topic":"t"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["room"]["id"])')
message=$(api POST "/api/v1/rooms/$room/messages" '{"client_id":"seed","body":"hello"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])')

level=${SQLMAP_LEVEL:-2}
risk=${SQLMAP_RISK:-1}
mkdir -p "$var/sqlmap"
found=0
scan() {  # label method url [json]
  local label=$1 method=$2 url=$3 data=${4:-}
  local log="$var/sqlmap/$label.log"
  local args=(--batch --flush-session --disable-coloring --dbms=PostgreSQL --level="$level" --risk="$risk"
    --technique=BEUST --time-sec=2 --threads=1 --ignore-code=401 --output-dir="$var/sqlmap/out" --method="$method"
    -H "$origin" --cookie="$cookie" -u "$url")
  [[ -n $data ]] && args+=(--data="$data" -H 'Content-Type: application/json')
  echo "== $label: $method $url ${data}"
  sqlmap "${args[@]}" >"$log" 2>&1 || true
  if grep -Eq "is vulnerable|identified the following injection point" "$log"; then
    echo "   INJECTABLE:"; grep -E "Parameter:|Type:|Payload:" "$log" | sed 's/^/   /'
    found=1
  elif grep -Eq "all tested parameters do not appear to be injectable" "$log"; then
    echo "   nothing found ($(grep -c "testing '" "$log") tests)"
  else
    echo "   sqlmap did not finish its tests:"; tail -n 5 "$log" | sed 's/^/   /'
    found=1
  fi
}

scan login POST "$plain/api/v1/auth/login" '{"username":"sqladmin","password":"x"}'
scan register POST "$plain/api/v1/auth/register" '{"username":"sqlr","email":"sqlr@example.test","password":"correct horse battery staple 8"}'
scan room_create POST "$plain/api/v1/rooms" '{"name":"r","kind":"public","topic":"t"}'
scan room_path GET "$plain/api/v1/rooms/$room*"
scan history GET "$plain/api/v1/rooms/$room/messages?before=100&limit=10"
scan send POST "$plain/api/v1/rooms/$room/messages" '{"client_id":"c","body":"b"}'
scan edit PATCH "$plain/api/v1/messages/$message" '{"body":"edited"}'
scan invite POST "$plain/api/v1/rooms/$room/invite" '{"username":"sqlpeer"}'
scan dm POST "$plain/api/v1/dms" '{"username":"sqlpeer"}'
scan topic PATCH "$plain/api/v1/rooms/$room" '{"topic":"t2"}'
scan display_name PATCH "$plain/api/v1/me" '{"display_name":"d"}'
scan audit GET "$plain/api/v1/admin/audit?before=1000&limit=10"

if [[ $found -ne 0 ]]; then
  echo "sqlmap-scan: FAILED (logs kept in $var/sqlmap)"
  REDOUBT_KEEP_TEST_DIRS=1
  exit 1
fi
version=$(sqlmap --version 2>/dev/null | grep -m1 -Eo '^[0-9][^ ]*' || true)
echo "sqlmap-scan: sqlmap ${version:-?} found no injection point in 12 endpoints (level $level, risk $risk)"
