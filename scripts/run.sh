#!/usr/bin/env bash
# run.sh -- THE run command: install what is missing (as root), build, start `meterflow run`
# (front + embedded queue + worker + web + SQLite in one process) with a demo load from the
# terminal simulator, create a first admin, print the panel URL and how to log in.
# Stop with Ctrl-C (both processes are stopped).
#
# Environment: MF_DEMO_TERMINALS (default 300), MF_DEMO_POINTS (10), MF_DEMO_SPEED (1440 =
# a simulated day per real minute), MF_HTTP_PORT (8080), MF_TERMINAL_PORT (9300),
# MF_DATA_DIR (./var/demo).
set -euo pipefail
cd "$(dirname "$0")/.."

terminals=${MF_DEMO_TERMINALS:-300}
points=${MF_DEMO_POINTS:-10}
speed=${MF_DEMO_SPEED:-1440}
http_port=${MF_HTTP_PORT:-8080}
term_port=${MF_TERMINAL_PORT:-9300}
data_dir=${MF_DATA_DIR:-./var/demo}

bash scripts/deps.sh run
make -s -j"$(nproc)" BUILD=release build/release/meterflow
[ -x scripts/web-build.sh ] && bash scripts/web-build.sh
mf=build/release/meterflow

mkdir -p "$data_dir"
common=(--set "meterflow.data_dir=$data_dir" --set "web.port=$http_port" --set "front.port=$term_port")

# First admin: created once, password kept in the data directory (readable by root only).
pwfile="$data_dir/admin-password"
if [ ! -s "$pwfile" ]; then
  umask 077
  head -c 12 /dev/urandom | base64 | tr -d '/+=' >"$pwfile"
  $mf user "${common[@]}" add admin --role admin <"$pwfile"
fi

# Demo settings: a simulated day passes every minute, so the analytics run every 30 s,
# terminal clocks (accelerated on purpose) are not judged against the real clock, and
# re-collection asks again after a minute (a simulated day), up to 10 requests per terminal
# a minute, for every replayed day (they reach the master days late).
$mf run "${common[@]}" --set worker.analytics_interval_s=30 \
  --set analytics.clock_max_offset_s=31622400 --set worker.recollect_retry_min=1 \
  --set worker.recollect_per_terminal_per_min=10 \
  --set "worker.recollect_deadline_hours=$(( ${MF_DEMO_DAYS:-14} * 24 ))" &
run_pid=$!
trap 'kill $run_pid ${sim_pid:-} 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

for _ in $(seq 150); do
  curl -fsS "http://127.0.0.1:$http_port/api/health" >/dev/null 2>&1 && break
  kill -0 $run_pid 2>/dev/null || { echo "run.sh: meterflow run exited" >&2; exit 1; }
  sleep 0.2
done

# The simulator starts its clock two weeks back and runs accelerated, so the panel shows
# weeks of daily values, curves, line loss and the injected anomalies within minutes; with
# --catch-up it slows to real time once it reaches now (the panel's windows end at now).
start=$(TZ=Asia/Shanghai date -d "${MF_DEMO_DAYS:-14} days ago" +%Y-%m-%dT00:00)
mkdir -p "$data_dir/master-data"
$mf sim --target "127.0.0.1:$term_port" --terminals "$terminals" --points "$points" \
  --areas "${MF_DEMO_AREAS:-8}" --speed "$speed" --start "$start" --catch-up \
  --fault theft:1 --fault stopped:2 --fault reversed:1 --fault sag:2 --fault flap:1 \
  --fault drop:3 \
  --master-data "$data_dir/master-data" --ledger "$data_dir/ledger" \
  --ground-truth "$data_dir/ground-truth.jsonl" &
sim_pid=$!

# Register the simulated layout (areas, terminals, meters) as master data.
for _ in $(seq 50); do [ -s "$data_dir/master-data/meters.csv" ] && break; sleep 0.2; done
for kind in areas terminals meters; do
  $mf import "${common[@]}" "$kind" "$data_dir/master-data/$kind.csv" >/dev/null
done

cat <<MSG

  meterflow is running.
    panel:     http://127.0.0.1:$http_port/
    login:     admin / $(cat "$pwfile")      (password kept in $pwfile)
    terminals: $terminals simulated concentrators x $points points on port $term_port,
               clock accelerated x$speed (a simulated day per $((86400 / speed)) s)
  Ctrl-C stops everything.

MSG
wait $run_pid
