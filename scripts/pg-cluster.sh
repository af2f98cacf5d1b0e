#!/usr/bin/env bash
# A private PostgreSQL cluster for development (`make run`, ./var/pg) and the test harness.
#   pg-cluster.sh init DIR PORT   create (once), start, create roles and the redoubt database
#   pg-cluster.sh start|stop|status DIR
# Layout: DIR/data (cluster, 0700), DIR/run (socket), DIR/log, DIR/tls (dev CA),
# DIR/secrets/{owner,app,worker}.pass (0600). Secrets never appear in process arguments.
set -euo pipefail

usage() {
  echo "usage: pg-cluster.sh init DIR PORT | start DIR | stop DIR | status DIR" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
cmd=$1
if [[ $cmd == init ]]; then mkdir -p "$2"; fi
[[ -d $2 ]] || { echo "pg-cluster: no directory $2" >&2; exit 1; }
dir=$(cd "$2" && pwd -P)
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

bindir=${PG_BINDIR:-}
if [[ -z $bindir ]]; then
  if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
    bindir=/usr/lib/postgresql/15/bin
  else
    bindir=$(pg_config --bindir)
  fi
fi

# postgres refuses to run as root: as root the cluster belongs to the "postgres" account.
if [[ $(id -u) -eq 0 ]]; then
  cluster_user=postgres
else
  cluster_user=$(id -un)
fi

as_cluster() {
  if [[ $(id -u) -eq 0 ]]; then
    setpriv --reuid="$cluster_user" --regid="$cluster_user" --init-groups \
      env HOME="$dir" "$@"
  else
    "$@"
  fi
}

own() {  # own MODE PATH...: give paths to the cluster user
  local mode=$1; shift
  if [[ $(id -u) -eq 0 ]]; then chown "$cluster_user:" "$@"; fi
  chmod "$mode" "$@"
}

pg_ctl_() { (cd "$dir" && as_cluster "$bindir/pg_ctl" -D "$dir/data" "$@"); }

is_running() { pg_ctl_ status >/dev/null 2>&1; }

start() {
  [[ -f $dir/data/PG_VERSION ]] || { echo "pg-cluster: no cluster in $dir" >&2; exit 1; }
  if is_running; then return 0; fi
  pg_ctl_ start -w -t 30 -s -l "$dir/log/postgresql.log" >/dev/null
}

stop() {
  if is_running; then pg_ctl_ stop -m fast -w -t 30 -s >/dev/null; fi
}

# psql as the cluster superuser over the Unix socket; SQL comes on stdin.
psql_su() {
  local port
  port=$(sed -n 's/^port = \([0-9]*\).*/\1/p' "$dir/data/postgresql.conf" | tail -1)
  (cd "$dir" && as_cluster "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" \
    -U "$cluster_user" "$@")
}

init_cluster() {
  local port=$1
  chmod 0711 "$dir"  # the cluster user must traverse it; the listing stays private
  mkdir -p "$dir/data" "$dir/run" "$dir/log" "$dir/secrets"
  own 0700 "$dir/data" "$dir/log"
  own 0755 "$dir/run"
  chmod 0700 "$dir/secrets"

  (cd "$dir" && as_cluster "$bindir/initdb" -D "$dir/data" -U "$cluster_user" --data-checksums \
    -E UTF8 --locale=C.UTF-8 -A scram-sha-256 --auth-local=peer) >"$dir/log/initdb.log" 2>&1 || {
    echo "pg-cluster: initdb failed, see $dir/log/initdb.log" >&2; exit 1; }

  "$script_dir/dev-tls.sh" "$dir/tls" >/dev/null
  install -m 0600 "$dir/tls/server.crt" "$dir/data/server.crt"
  install -m 0600 "$dir/tls/server.key" "$dir/data/server.key"
  own 0600 "$dir/data/server.crt" "$dir/data/server.key"

  cat >>"$dir/data/postgresql.conf" <<EOF

# --- redoubt (scripts/pg-cluster.sh) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.3'
password_encryption = scram-sha-256
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 128MB
logging_collector = off
log_connections = on
log_disconnections = on
EOF
  # Database activity monitoring: DDL and role changes always, reads of the audit log by
  # object (pgaudit, Debian package postgresql-15-pgaudit).
  if [[ -f /usr/lib/postgresql/15/lib/pgaudit.so ]]; then
    cat >>"$dir/data/postgresql.conf" <<EOF
shared_preload_libraries = 'pgaudit'
pgaudit.log = 'ddl, role'
pgaudit.role = 'redoubt_auditor'
pgaudit.log_parameter = off
EOF
  fi
  # Only peer over the socket and scram over TLS: no plain host lines.
  cat >"$dir/data/pg_hba.conf" <<EOF
# TYPE  DATABASE USER ADDRESS       METHOD
local   all      all                peer
hostssl all      all  127.0.0.1/32  scram-sha-256
EOF
  own 0600 "$dir/data/pg_hba.conf"
}

create_roles() {
  local role
  umask 077
  for role in owner app worker; do
    if [[ ! -s $dir/secrets/$role.pass ]]; then
      openssl rand -hex 32 >"$dir/secrets/$role.pass"
    fi
    chmod 0600 "$dir/secrets/$role.pass"
  done
  local owner_pw app_pw worker_pw
  owner_pw=$(<"$dir/secrets/owner.pass")
  app_pw=$(<"$dir/secrets/app.pass")
  worker_pw=$(<"$dir/secrets/worker.pass")
  # Passwords travel on stdin only (hex, so no quoting issues). psql's errors could quote the
  # statement, so they are not shown, and the server is told not to log statement text.
  local failed="pg-cluster: creating roles failed"
  psql_su -d postgres >/dev/null 2>&1 <<EOF || { echo "$failed" >&2; exit 1; }
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SELECT format('CREATE ROLE %I', r)
  FROM unnest(ARRAY['redoubt_owner', 'redoubt_app', 'redoubt_worker']) r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE redoubt_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$owner_pw';
ALTER ROLE redoubt_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$app_pw';
ALTER ROLE redoubt_worker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$worker_pw';
SELECT 'CREATE DATABASE redoubt OWNER redoubt_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'redoubt') \gexec
REVOKE ALL ON DATABASE redoubt FROM PUBLIC;
GRANT CONNECT ON DATABASE redoubt TO redoubt_app, redoubt_worker;
EOF
  psql_su -d redoubt >/dev/null <<EOF
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
EOF
  if [[ -f /usr/lib/postgresql/15/lib/pgaudit.so ]]; then
    # Grants to this role (made by the migrations) select what pgaudit logs per object.
    psql_su -d redoubt >/dev/null <<'EOF'
CREATE EXTENSION IF NOT EXISTS pgaudit;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redoubt_auditor') THEN
    CREATE ROLE redoubt_auditor NOLOGIN;
  END IF;
END $$;
EOF
  fi
  touch "$dir/secrets/.roles-created"
}

case $cmd in
  init)
    [[ $# -eq 3 ]] || usage
    port=$3
    if [[ ! -f $dir/data/PG_VERSION ]]; then
      init_cluster "$port"
    fi
    start
    [[ -f $dir/secrets/.roles-created ]] || create_roles
    ;;
  start) start ;;
  stop) stop ;;
  status)
    if is_running; then echo "running"; else echo "stopped"; exit 3; fi
    ;;
  *) usage ;;
esac
