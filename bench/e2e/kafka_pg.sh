#!/usr/bin/env bash
# kafka_pg.sh -- end-to-end benchmark of the distributed roles: `meterflow front` and
# `meterflow worker` as separate processes around a private Kafka 0.9.0.1 broker
# (scripts/kafka.sh) and a private PostgreSQL 15 (scripts/pg.sh), simulator on the same
# machine; side by side with the raw producer ceiling of the same broker
# (bench_kafka_producer, 100-byte messages, acks=all).
#
#   bench/e2e/kafka_pg.sh [-t TERMINALS] [-r FRAMES_PER_TERMINAL_PER_S] [-d SECONDS]
#
# The front confirms once the broker acknowledged (acks=all); the worker stores in
# PostgreSQL afterwards, so "visible" (bench/e2e/probe.py with psql) is the real lag from
# confirm to queryable. Each run uses fresh topics (prefix mfb<run>.) on the same broker and
# its own virtual day (the database is shared: keys of different runs must not collide).
# Output: bench=kafka_ceiling ..., bench=e2e_kafka ..., bench=visible ...; or
# bench=e2e_kafka skipped=<reason> when Kafka or PostgreSQL cannot start.
set -u
. "$(dirname "$0")/lib.sh"
terms=$(e2e_scale 3000) rate=3 dur=$(e2e_scale 10)
[ "$dur" -lt 4 ] && dur=4
while [ $# -gt 0 ]; do
  case $1 in -t) terms=$2; shift 2 ;; -r) rate=$2; shift 2 ;; -d) dur=$2; shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;; esac
done
kd=$(mktemp -d /tmp/mf-bench-k.XXXXXX); pd=$(mktemp -d /tmp/mf-bench-p.XXXXXX)
cleanup() {
  e2e_cleanup
  bash "$e2e_root/scripts/kafka.sh" stop "$kd" >/dev/null 2>&1
  bash "$e2e_root/scripts/pg.sh" stop "$pd" >/dev/null 2>&1
  rm -rf "$kd" "$pd"
}
trap cleanup EXIT
bash "$e2e_root/scripts/kafka.sh" start 1 "$kd" >"$kd.log" 2>&1 ||
  { echo "bench=e2e_kafka skipped=kafka_start_failed"; rm -f "$kd.log"; exit 0; }
bash "$e2e_root/scripts/pg.sh" start "$pd" >"$pd.log" 2>&1 ||
  { echo "bench=e2e_kafka skipped=pg_start_failed"; rm -f "$kd.log" "$pd.log"; exit 0; }
rm -f "$kd.log" "$pd.log"
boot=$(cat "$kd/bootstrap"); pg=$(cat "$pd/conninfo")
"$(dirname "$e2e_bin")/bench/bench_kafka_producer" "$boot" "$(e2e_scale 300000)" 100 1 |
  sed 's/^bench=[a-z_]*/bench=kafka_ceiling/'
speed=$((60 * rate))
for run in $(seq "${MF_BENCH_RUNS:-1}"); do
  pre="mfb$run."
  bash "$e2e_root/scripts/kafka.sh" topics "$kd" "$pre" 4 >/dev/null 2>&1
  dd=$(mktemp -d /tmp/mf-bench-kr.XXXXXX)
  common=(--set "meterflow.data_dir=$dd" --set queue.backend=kafka
          --set "kafka.bootstrap.servers=$boot" --set "queue.topic_prefix=$pre"
          --set store.backend=postgres --set "store.pg_conninfo=$pg"
          --set meterflow.log_level=error)
  "$e2e_bin" worker "${common[@]}" --set worker.analytics=false >"$dd/worker.log" 2>&1 &
  e2e_pids+=($!)
  tport=$(e2e_free_port)
  "$e2e_bin" front "${common[@]}" --set "front.port=$tport" --set front.frames_per_sec=0 \
    --set front.login_per_min=1000000 >"$dd/front.log" 2>&1 &
  fpid=$!; e2e_pids+=($fpid)
  e2e_wait_port "$tport" $fpid || { echo "bench=e2e_kafka skipped=front_start_failed"; exit 0; }
  python3 "$(dirname "$0")/probe.py" --target 127.0.0.1:$tport --pg "$pg" \
    --count $((dur * 2)) --interval 0.5 --a2 $((run * 100 + RANDOM % 90 + 1)) \
    --timeout 60 >"$dd/probe.out" 2>&1 &
  ppid=$!
  "$e2e_bin" sim --target 127.0.0.1:$tport --terminals "$terms" --points 8 --procs 2 \
    --source-addrs 127.0.0.2-127.0.0.254 --speed "$speed" --report-interval 60 \
    --duration "$dur" --window 8 --no-daily --no-curves --start "2026-11-$((10 + run))T08:00" \
    --seed $((20 + run)) --ledger "$dd/ledger" >"$dd/sim.out" 2>"$dd/sim.err"
  src=$?
  wait $ppid
  s=$(grep '^sim:' "$dd/sim.out" | tail -1)
  e2e_sim_line "$s" "bench=e2e_kafka terminals=$terms points=8 offered_reports_per_s=$((terms * rate * 8)) sim_exit=$src"
  grep '^bench=visible' "$dd/probe.out" || echo "bench=visible n=0 error=$(tail -1 "$dd/probe.out" | tr ' ' _)"
  # everything confirmed must reach PostgreSQL (the worker lags the broker): wait, then verify
  for _ in $(seq 90); do
    "$e2e_bin" sim --verify --ledger "$dd/ledger" --pg "$pg" >"$dd/verify.out" 2>&1 && break
    sleep 1
  done
  echo "bench=e2e_kafka_verify $(head -1 "$dd/verify.out" | sed 's/^verify: //')"
  e2e_cleanup
  rm -rf "$dd"
done
