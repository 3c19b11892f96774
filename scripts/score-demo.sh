#!/usr/bin/env bash
# score-demo.sh -- score the analytics against the simulator's injected faults: the demo of
# scripts/run.sh (its `meterflow run` settings and simulator flags, without the panel
# build), on free loopback ports, then `meterflow sim --score` (docs/ANALYTICS.md "Scored
# against injected faults").
# Usage: scripts/score-demo.sh [DATA_DIR] [DAYS_BACK] [SECONDS]
#   DATA_DIR  fresh directory for the store and files (default: a mktemp -d, removed after)
#   DAYS_BACK virtual start this many days back (default 4: real time after 240 s)
#   SECONDS   how long the simulator runs (default 330)
set -u
cd "$(dirname "$0")/.."
data=${1:-}; days=${2:-4}; secs=${3:-330}
keep=1
if [ -z "$data" ]; then data=$(mktemp -d /tmp/mf-score.XXXXXX); keep=0; fi
rm -rf "$data"; mkdir -p "$data/master-data"
make -s -j2 BUILD=release build/release/meterflow || exit 2
mf=build/release/meterflow
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hp=$(free_port); tp=$(free_port)
common=(--set "meterflow.data_dir=$data" --set "web.port=$hp" --set "front.port=$tp")
# re-collection on the demo's clock (a simulated day per real minute): ask again after a
# minute, up to 10 requests per terminal a minute, and every simulated day is within the
# deadline (the days replayed from DAYS_BACK reach the master days late)
$mf run "${common[@]}" --set worker.analytics_interval_s=30 \
  --set analytics.clock_max_offset_s=31622400 --set worker.recollect_retry_min=1 \
  --set worker.recollect_per_terminal_per_min=10 \
  --set "worker.recollect_deadline_hours=$(( days * 24 ))" >"$data/run.log" 2>&1 &
run_pid=$!
sim_pid=
cleanup() { kill $run_pid $sim_pid 2>/dev/null; wait 2>/dev/null; [ $keep = 1 ] || rm -rf "$data"; }
trap cleanup EXIT INT TERM
for _ in $(seq 150); do curl -fsS "http://127.0.0.1:$hp/api/health" >/dev/null 2>&1 && break; sleep 0.2; done
start=$(TZ=Asia/Shanghai date -d "$days days ago" +%Y-%m-%dT00:00)
$mf sim --target "127.0.0.1:$tp" --terminals 40 --points 8 --areas 8 --speed 1440 \
  --start "$start" --catch-up \
  --fault theft:1 --fault stopped:2 --fault reversed:1 --fault sag:2 --fault flap:1 \
  --fault drop:3 \
  --master-data "$data/master-data" --ledger "$data/ledger" \
  --ground-truth "$data/ground-truth.jsonl" >"$data/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [ -s "$data/master-data/meters.csv" ] && break; sleep 0.2; done
for kind in areas terminals meters; do
  $mf import "${common[@]}" "$kind" "$data/master-data/$kind.csv" >/dev/null
done
sleep "$secs"
kill $sim_pid 2>/dev/null; wait $sim_pid 2>/dev/null; sim_pid=
sleep 35 # one more analytics round after the last reports
kill $run_pid; wait $run_pid 2>/dev/null
$mf sim --score --ground-truth "$data/ground-truth.jsonl" --db "$data/meterflow.db"
