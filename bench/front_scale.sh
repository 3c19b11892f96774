#!/usr/bin/env bash
# front_scale.sh -- front-end benchmarks (docs/PERFORMANCE.md, "Front-end"):
#   1. scale: CONNS terminals held by FRONTS front processes sharing one port (SO_REUSEPORT),
#      driven by CLIENTS load processes (one process may hold at most `ulimit -n` = 20000 open
#      files); login storm time, heartbeats during HOLD_S, RSS per connection (sum of the
#      fronts' VmRSS after the hold minus before the storm, over CONNS);
#   2. rate: one front, one client, LOAD_CONNS connections: the maximum rate (closed loop),
#      then 50 % and 90 % of it paced; CPU microseconds per frame of the front's I/O threads
#      (heartbeat + F129 report mix, every report confirmed after the queue commit) and
#      confirm latency percentiles.
# Every client line carries "bad=0 checksum=ok" when every answer matched its frame.
#
#   bench/front_scale.sh                        reduced run (20,000 connections, short)
#   SKIP_RATE=1 ...                             only the scale part
#   CONNS=200000 FRONTS=12 CLIENTS=12 HOLD_S=60 bench/front_scale.sh   full run (machine to itself)
#
# Needs: make BUILD=release benchbin (or BUILD=bench). Writes results to $OUT (one line each).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-release}
B=build/$BUILD/bench
CONNS=${CONNS:-20000}
FRONTS=${FRONTS:-2}
CLIENTS=${CLIENTS:-2}
THREADS=${THREADS:-1}
HOLD_S=${HOLD_S:-5}
HB_S=${HB_S:-2}
FRAMES=${FRAMES:-100000}
LOAD_CONNS=${LOAD_CONNS:-1000}
OUT=${OUT:-/tmp/front_scale.$$.txt}
[ -x $B/bench_front_load ] && [ -x $B/bench_front_server ] || {
  echo "build first: make BUILD=$BUILD $B/bench_front_load $B/bench_front_server" >&2; exit 2; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_of() { awk '/VmRSS/ {print $2}' /proc/$1/status 2>/dev/null || echo 0; }

start_front() { # port threads logfile -> pid
  $B/bench_front_server --set front.port=$1 --set front.listen=127.0.0.1 \
    --set front.threads=$2 --set front.heartbeat_period_s=3600 >"$3" 2>&1 &
  local p=$!
  for _ in $(seq 100); do grep -q '^ready' "$3" 2>/dev/null && break; sleep 0.05; done
  echo $p
}

echo "# front_scale $(date -u +%FT%TZ) conns=$CONNS fronts=$FRONTS clients=$CLIENTS nproc=$(nproc)" | tee "$OUT"

# ---- 1. scale ----
port=$(free_port)
fpids=()
for i in $(seq $FRONTS); do
  p=$(start_front $port $THREADS /tmp/front_scale_srv$i.$$); pids+=($p); fpids+=($p)
done
rss0=0; for p in "${fpids[@]}"; do rss0=$((rss0 + $(rss_of $p))); done
per=$(( (CONNS + CLIENTS - 1) / CLIENTS ))
cpids=()
for i in $(seq 0 $((CLIENTS - 1))); do
  n=$per; [ $(( (i + 1) * per )) -gt $CONNS ] && n=$(( CONNS - i * per ))
  [ $n -le 0 ] && continue
  $B/bench_front_load --port $port --conns $n --term-base $(( i * per )) \
    --src-base $(( i * 1000 )) --hold-s $HOLD_S --hb-s $HB_S --frames 0 \
    >/tmp/front_scale_cli$i.$$ 2>&1 &
  cpids+=($!)
done
# sample the fronts' RSS while the clients hold their connections (end of the hold)
sleep 1
maxrss=0
while kill -0 "${cpids[0]}" 2>/dev/null; do
  r=0; for p in "${fpids[@]}"; do r=$((r + $(rss_of $p))); done
  [ $r -gt $maxrss ] && maxrss=$r
  sleep 0.5
done
wait "${cpids[@]}"
online=0; worst=0
for i in $(seq 0 $((CLIENTS - 1))); do
  l=$(grep '^bench=' /tmp/front_scale_cli$i.$$ || echo "bench=front_load FAILED $(tail -1 /tmp/front_scale_cli$i.$$)")
  echo "$l" | tee -a "$OUT"
  o=$(echo "$l" | sed -n 's/.* online=\([0-9]*\).*/\1/p'); online=$((online + ${o:-0}))
  s=$(echo "$l" | sed -n 's/.* login_s=\([0-9.]*\).*/\1/p')
  worst=$(python3 -c "print(max($worst, ${s:-0}))")
done
echo "scale conns=$CONNS online=$online fronts=$FRONTS login_storm_s=$worst rss_before_kib=$rss0 rss_held_kib=$maxrss kib_per_conn=$(python3 -c "print(round(($maxrss-$rss0)/max($online,1),3))")" | tee -a "$OUT"
for p in "${fpids[@]}"; do kill $p; done; wait "${fpids[@]}" 2>/dev/null
pids=()

# ---- 2. rate, CPU per frame, latency ----
[ "${SKIP_RATE:-0}" = 1 ] && { echo "# results in $OUT"; exit 0; }
port=$(free_port)
fp=$(start_front $port $THREADS /tmp/front_scale_rate.$$); pids+=($fp)
run_load() { # rate label
  $B/bench_front_load --port $port --conns $LOAD_CONNS --term-base 0 --frames $FRAMES \
    --rate $1 --load-conns $LOAD_CONNS --server-pid $fp | sed "s/^bench=front_load/bench=front_load case=$2/"
}
l=$(run_load 0 max); echo "$l" | tee -a "$OUT"
max=$(echo "$l" | sed -n 's/.* rate=\([0-9]*\).*/\1/p')
for pct in 50 90; do
  r=$(( ${max:-1000} * pct / 100 ))
  run_load $r "${pct}pct" | tee -a "$OUT"
done
kill $fp; wait $fp 2>/dev/null; pids=()
echo "# results in $OUT"
