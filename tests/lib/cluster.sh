# cluster.sh -- a sourceable harness for the distributed setup: a private Kafka (1 broker,
# scripts/kafka.sh) and PostgreSQL (scripts/pg.sh), and any number of `meterflow front`,
# `meterflow worker` and `meterflow web` processes, each with its own INI file and log, on
# free loopback ports, in one mktemp -d that is removed (with every process stopped) on exit.
#
#   source tests/lib/cluster.sh       # from the repo root; sets CL_BIN, CL_DIR, traps EXIT
#   cl_kafka_start [PARTITIONS]       # broker + topics meterflow.{uplink,...}; CL_BOOTSTRAP
#   cl_pg_start                       # PostgreSQL; CL_PG (libpq conninfo)
#   cl_ini NAME [section.key=value]...# write $CL_DIR/NAME.ini: kafka + postgres + extras
#   cl_front NAME [key=value]...      # start a front (port 0 unless front.port=), wait for it;
#                                     #   its port in CL_PORT[NAME]
#   cl_worker NAME [key=value]...     # start a worker (node_id, analytics as given)
#   cl_web NAME [key=value]...        # start a web; CL_PORT[NAME]; CL_WEB=http://127.0.0.1:P
#   cl_mf NAME ARGS...                # run `meterflow ARGS -c $CL_DIR/NAME.ini` (import, user)
#   cl_stop NAME                      # SIGTERM, wait (deadline 30 s, then SIGKILL); 0 = exit 0
#   cl_wait SECONDS CMD...            # poll CMD every 0.2 s until it succeeds or the deadline
#   cl_login USER PASS                # POST /api/login on CL_WEB; CL_TOKEN
#   cl_api METHOD PATH [JSON]         # curl with the bearer token (if any); the answer in
#                                     #   CL_BODY, the HTTP status in CL_HTTP
#   cl_log NAME                       # path of NAME's log (stdout+stderr)
#
# Every process runs `meterflow ROLE -c $CL_DIR/NAME.ini`, so the INI files left in CL_DIR
# are exactly what an operator would write (docs/OPERATIONS.md). Nothing uses a fixed port.
# CL_KEEP=1 keeps CL_DIR (and prints it) for debugging. Needs: kcat, java, PostgreSQL 15,
# python3, curl. Used by tests/integ/distributed.sh; tests/reliability/ may use it too.
# shellcheck shell=bash

CL_BIN=${CL_BIN:-build/${MF_BUILD:-release}/meterflow}
[ -x "$CL_BIN" ] || CL_BIN=build/asan/meterflow
CL_DIR=$(mktemp -d /tmp/mf-cluster.XXXXXX)
CL_BOOTSTRAP=
CL_PG=
CL_WEB=
CL_TOKEN=
CL_HTTP=
CL_BODY=
CL_PREFIX=${CL_PREFIX:-meterflow.}
declare -A CL_PID=() CL_PORT=()
chmod 711 "$CL_DIR"   # PostgreSQL runs as the postgres user (pg.sh) and must reach pg/
mkdir -p "$CL_DIR/kafka" "$CL_DIR/pg"

cl_log() { echo "$CL_DIR/$1.log"; }

cl_cleanup() {
  local n
  for n in "${!CL_PID[@]}"; do kill -TERM "${CL_PID[$n]}" 2>/dev/null; done
  for n in "${!CL_PID[@]}"; do cl_stop "$n" >/dev/null 2>&1; done
  # also after a start that failed half-way (both are no-ops when nothing runs)
  bash scripts/kafka.sh stop "$CL_DIR/kafka" >/dev/null 2>&1
  [ -d "$CL_DIR/pg/data" ] && bash scripts/pg.sh stop "$CL_DIR/pg" >/dev/null 2>&1
  if [ "${CL_KEEP:-0}" = 1 ]; then echo "cluster.sh: kept $CL_DIR" >&2; else rm -rf "$CL_DIR"; fi
}
trap cl_cleanup EXIT
trap 'exit 143' TERM   # so that the EXIT trap runs when the test is killed
trap 'exit 130' INT

cl_wait() { # SECONDS CMD...: 0 once CMD succeeds, 1 at the deadline
  local end=$((SECONDS + $1)); shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 0.2
  done
}

cl_kafka_start() { # [PARTITIONS]: 1 broker; the five topics created with PARTITIONS (4)
  bash scripts/kafka.sh start 1 "$CL_DIR/kafka" >/dev/null || return 1
  CL_BOOTSTRAP=$(cat "$CL_DIR/kafka/bootstrap")
  bash scripts/kafka.sh topics "$CL_DIR/kafka" "$CL_PREFIX" "${1:-4}" >/dev/null
}

cl_kcat() { kcat -b "$CL_BOOTSTRAP" -X api.version.request=false \
  -X broker.version.fallback=0.9.0.1 "$@"; }

cl_pg_start() {
  bash scripts/pg.sh start "$CL_DIR/pg" >/dev/null || return 1
  CL_PG=$(cat "$CL_DIR/pg/conninfo")
}

# cl_ini NAME [section.key=value]...: the common distributed config plus the extras, grouped
# by section (a later key=value of the same key wins, as in the INI reader).
cl_ini() {
  local name=$1; shift
  python3 - "$CL_DIR/$name.ini" "$CL_DIR/$name" "$CL_BOOTSTRAP" "$CL_PG" "$CL_PREFIX" "$@" <<'EOF'
import sys
path, data, boot, pg, prefix = sys.argv[1:6]
conf = {"meterflow": {"data_dir": data, "log_level": "info"},
        "queue": {"backend": "kafka", "topic_prefix": prefix},
        "kafka": {"bootstrap.servers": boot, "api.version.request": "false",
                  "broker.version.fallback": "0.9.0.1"},
        "store": {"backend": "postgres", "pg_conninfo": pg}}
for kv in sys.argv[6:]:
    k, v = kv.split("=", 1)
    sec, key = k.split(".", 1)
    conf.setdefault(sec, {})[key] = v
with open(path, "w") as f:
    for sec, kvs in conf.items():
        f.write("[%s]\n" % sec)
        for k, v in kvs.items():
            f.write("%s = %s\n" % (k, v))
        f.write("\n")
EOF
  mkdir -p "$CL_DIR/$name"
}

cl_mf() { local name=$1; shift; "$CL_BIN" "$1" -c "$CL_DIR/$name.ini" "${@:2}"; }

_cl_port_open() { python3 -c "import socket,sys;socket.create_connection(('127.0.0.1',int(sys.argv[1])),0.2).close()" "$1"; }
_cl_alive() { kill -0 "$1" 2>/dev/null; }

# _cl_start ROLE NAME PORTFILE? extras...: writes NAME.ini, starts the role, records its pid
_cl_start() {
  local role=$1 name=$2 pf=$3; shift 3
  cl_ini "$name" "$@"
  local args=(-c "$CL_DIR/$name.ini")
  [ -n "$pf" ] && { rm -f "$pf"; args+=(--port-file "$pf"); }
  "$CL_BIN" "$role" "${args[@]}" >"$CL_DIR/$name.log" 2>&1 &
  CL_PID[$name]=$!
}

_cl_wait_port_file() { # NAME FILE: wait for the port file and the port; CL_PORT[NAME]
  local name=$1 pf=$2 end=$((SECONDS + 30))
  while [ $SECONDS -lt $end ]; do
    _cl_alive "${CL_PID[$name]}" || { echo "cluster.sh: $name exited:" >&2; tail -5 "$CL_DIR/$name.log" >&2; return 1; }
    if [ -s "$pf" ]; then
      CL_PORT[$name]=$(tr -dc 0-9 <"$pf")
      _cl_port_open "${CL_PORT[$name]}" 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  echo "cluster.sh: $name did not listen within 30 s" >&2; return 1
}

cl_front() { # NAME [key=value]...: port 0 (a free one) unless front.port= is given
  local name=$1; shift
  _cl_start front "$name" "$CL_DIR/$name.port" front.port=0 front.listen=127.0.0.1 "$@"
  _cl_wait_port_file "$name" "$CL_DIR/$name.port"
}

cl_web() {
  local name=$1; shift
  _cl_start web "$name" "$CL_DIR/$name.port" web.port=0 "$@"
  _cl_wait_port_file "$name" "$CL_DIR/$name.port" || return 1
  CL_WEB=http://127.0.0.1:${CL_PORT[$name]}
}

cl_worker() { # NAME [key=value]...: started; ready once its consumer joined (see cl_wait)
  local name=$1; shift
  _cl_start worker "$name" "" "$@"
  sleep 0.2
  _cl_alive "${CL_PID[$name]}" || { tail -5 "$CL_DIR/$name.log" >&2; return 1; }
}

cl_stop() { # NAME: SIGTERM and wait (30 s, then SIGKILL); returns the exit status
  local name=$1 pid=${CL_PID[$1]:-} end rc
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  end=$((SECONDS + 30))
  while _cl_alive "$pid" && [ $SECONDS -lt $end ]; do sleep 0.1; done
  _cl_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null; rc=$?
  unset "CL_PID[$name]"
  return $rc
}

cl_api() { # METHOD PATH [JSON]
  local m=$1 p=$2 body=${3:-}
  local args=(-s -o "$CL_DIR/http_body" -w '%{http_code}' -X "$m")
  [ -n "$CL_TOKEN" ] && args+=(-H "Authorization: Bearer $CL_TOKEN")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  CL_HTTP=$(curl "${args[@]}" "$CL_WEB$p")
  CL_BODY=$(cat "$CL_DIR/http_body")
}

cl_login() { # USER PASS
  local out
  CL_TOKEN=
  cl_api POST /api/login "{\"username\":\"$1\",\"password\":\"$2\"}"
  [ "$CL_HTTP" = 200 ] || { echo "cluster.sh: login $CL_HTTP $CL_BODY" >&2; return 1; }
  CL_TOKEN=$(echo "$CL_BODY" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
}
