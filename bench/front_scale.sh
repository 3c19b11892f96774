#!/usr/bin/env bash
# front_scale.sh -- front-end benchmarks (docs/PERFORMANCE.md, "Front-end"):
#   1. scale: CONNS terminals held by FRONTS front processes sharing one port (SO_REUSEPORT),
#      driven by CLIENTS load processes (one process may hold at most `ulimit -n` = 20000 open
#      files); login storm time, heartbeats during HOLD_S, RSS per connection (sum of the
#      fronts' VmRSS after the hold minus before the storm, over CONNS);
#      then every client drops all its connections at once (SIGUSR1) and reconnects them:
#      reconnect_storm_s is the slowest client's time from the signal to its last login;
#      CPU at rest = the fronts' CPU while every terminal is held (rest_cpu_pct of one core);
#      kernel_slab_kib_per_conn: growth of the kernel's Slab over the connections, both ends
#      of each loopback connection (the client's socket too), so an upper bound for the front;
#   2. rate: one front, one client, LOAD_CONNS connections: the maximum rate (closed loop),
#      then 50 % and 90 % of it paced; CPU microseconds per frame of the front's I/O threads
#      (heartbeat + F129 report mix, every report confirmed after the queue commit) and
#      confirm latency percentiles.
# Every client line carries "bad=0 checksum=ok" when every answer matched its frame. Every
# result line starts "bench=" (front_load per client, front_scale for the scale summary), the
# lines scripts/bench.sh keeps in bench/results/front.txt.
#
#   bench/front_scale.sh                        reduced run (20,000 connections, short)
#   SKIP_RATE=1 ...                             only the scale part (SKIP_SCALE=1: only rate)
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
FRAMES=${FRAMES:-300000}
LOAD_CONNS=${LOAD_CONNS:-1000}
MAX_CONNECTING=${MAX_CONNECTING:-1000}   # connects in flight per client
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
if [ "${SKIP_SCALE:-0}" != 1 ]; then
port=$(free_port)
fpids=()
for i in $(seq $FRONTS); do
  p=$(start_front $port $THREADS /tmp/front_scale_srv$i.$$); pids+=($p); fpids+=($p)
done
rss0=0; for p in "${fpids[@]}"; do rss0=$((rss0 + $(rss_of $p))); done
slab0=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
per=$(( (CONNS + CLIENTS - 1) / CLIENTS ))
cpids=(); clogs=()
for i in $(seq 0 $((CLIENTS - 1))); do
  n=$per; [ $(( (i + 1) * per )) -gt $CONNS ] && n=$(( CONNS - i * per ))
  [ $n -le 0 ] && continue
  $B/bench_front_load --port $port --conns $n --term-base $(( i * per )) \
    --src-base $(( i * 1000 )) --hold-s $HOLD_S --hb-s $HB_S --frames 0 --reconnect 1 \
    --max-connecting $MAX_CONNECTING >/tmp/front_scale_cli$i.$$ 2>&1 &
  cpids+=($!); clogs+=(/tmp/front_scale_cli$i.$$); pids+=($!)
done
wait_lines() { # prefix timeout_s: until every client log has a line starting with prefix
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    local k=0; for l in "${clogs[@]}"; do grep -q "^$1" "$l" && k=$((k + 1)); done
    [ $k -ge ${#clogs[@]} ] && return 0
    for c in "${cpids[@]}"; do kill -0 $c 2>/dev/null || { echo "client $c died" >&2; return 1; }; done
    sleep 0.2
  done
  return 1
}
front_ticks() { local t=0; for p in "${fpids[@]}"; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
t_start=$(date +%s.%N)
wait_lines online 300 || echo "# not every client finished its login storm" >&2
storm_s=$(python3 -c "import time; print(round($(date +%s.%N) - $t_start, 2))")
# CPU at rest: the fronts' CPU while every terminal is held (heartbeats every HB_S)
rest_t0=$(date +%s.%N); rest_c0=$(front_ticks)
wait_lines held $((HOLD_S + 120)) || echo "# not every client finished its hold" >&2
rest_c1=$(front_ticks); rest_t1=$(date +%s.%N)
conns_of() { echo $(( $(ls -l /proc/$1/fd 2>/dev/null | grep -c 'socket:') - THREADS )); }
held=0; for p in "${fpids[@]}"; do held=$((held + $(conns_of $p))); done
rss1=0; for p in "${fpids[@]}"; do rss1=$((rss1 + $(rss_of $p))); done
slab1=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
perfront=$(for p in "${fpids[@]}"; do echo -n "$(conns_of $p),"; done)
# the outage: every client drops all its connections at once and reconnects them
kill -USR1 "${cpids[@]}"
wait "${cpids[@]}"
online=0; worst=0; reworst=0; reonline=0
for i in $(seq 0 $((CLIENTS - 1))); do
  l=$(grep '^bench=' /tmp/front_scale_cli$i.$$ || echo "bench=front_load FAILED $(tail -1 /tmp/front_scale_cli$i.$$)")
  echo "$l" | tee -a "$OUT"
  o=$(echo "$l" | sed -n 's/.* online=\([0-9]*\).*/\1/p'); online=$((online + ${o:-0}))
  o=$(echo "$l" | sed -n 's/.* reonline=\([0-9]*\).*/\1/p'); reonline=$((reonline + ${o:-0}))
  s=$(echo "$l" | sed -n 's/.* login_s=\([0-9.]*\).*/\1/p')
  worst=$(python3 -c "print(max($worst, ${s:-0}))")
  s=$(echo "$l" | sed -n 's/.* reconnect_s=\([0-9.]*\).*/\1/p')
  reworst=$(python3 -c "print(max($reworst, ${s:-0}))")
done
hz=$(getconf CLK_TCK)
echo "bench=front_scale conns=$CONNS online=$online fronts=$FRONTS clients=$CLIENTS hb_s=$HB_S login_storm_s=$worst storm_wall_s=$storm_s fds_held=$held per_front=${perfront%,} rss_before_kib=$rss0 rss_held_kib=$rss1 kib_per_conn=$(python3 -c "print(round(($rss1-$rss0)/max($online,1),3))") rest_cpu_pct=$(python3 -c "print(round(100.0*($rest_c1-$rest_c0)/$hz/($rest_t1-$rest_t0),1))") rest_s=$(python3 -c "print(round($rest_t1-$rest_t0,1))") kernel_slab_kib_per_conn=$(python3 -c "print(round(($slab1-$slab0)/max($online,1),2))") reconnect_storm_s=$reworst reonline=$reonline load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" | tee -a "$OUT"
for p in "${fpids[@]}"; do kill $p; done; wait "${fpids[@]}" 2>/dev/null
pids=()
fi

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
