#!/usr/bin/env bash
# pg.sh -- a private PostgreSQL 15 server on loopback, for tests and benchmarks.
#
#   scripts/pg.sh start DIR    initdb into DIR/data (first time), start on a free loopback port
#                              (kept in DIR/port, so a restart comes back on the same port),
#                              unix socket in DIR/sock; writes the libpq conninfo to
#                              DIR/conninfo; returns when the server accepts connections
#   scripts/pg.sh stop DIR     fast shutdown (waits for it); no-op if not running
#   scripts/pg.sh status DIR   exit 0 if running
#
# Run as root, the server runs as the `postgres` user (PostgreSQL refuses to run as root) and
# DIR is chown'ed to it. Binaries: Debian's /usr/lib/postgresql/15/bin (PG_BIN overrides).
# Settings are for throwaway test data on a shared machine: fsync stays on (durability tests
# mean something), small shared_buffers, no logging collector (log in DIR/log). PG_OPTS adds
# server options to start (later ones win: PG_OPTS="-c shared_buffers=1GB").
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
die() { echo "pg.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: pg.sh start|stop|status DIR"
cmd=$1
DIR=$(mkdir -p "$2" && cd "$2" && pwd)

as_pg() { # run a command as the server's owner
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL binaries in $PG_BIN (apt-get install postgresql-15)"
  mkdir -p "$DIR/sock"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$DIR"
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  [ -f "$DIR/port" ] || free_port >"$DIR/port"
  local port; port=$(cat "$DIR/port")
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR/sock \
        -c shared_buffers=64MB -c max_connections=50 -c max_wal_size=512MB ${PG_OPTS:-}" >/dev/null ||
    { tail -20 "$DIR/log" >&2; die "server did not start"; }
  echo "host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=5" >"$DIR/conninfo"
  # pg_ctl -w waits for the postmaster; wait until it answers queries too.
  for _ in $(seq 1 100); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0
    sleep 0.1
  done
  die "server on port $port not ready"
}

stop() {
  [ -f "$DIR/data/postmaster.pid" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) [ -f "$DIR/data/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" status >/dev/null ;;
  *) die "unknown command $cmd" ;;
esac
