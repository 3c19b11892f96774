#!/usr/bin/env bash
# thesis.sh -- the thesis comparison: the same load against the queue-decoupled pipeline
# (`meterflow run`: the front confirms once the worker's batched transaction holding the
# report committed) and the "direct" legacy pipeline (bench_direct_front: the front writes
# each report in its own transaction before confirming), as the number of terminals rises.
#
#   bench/e2e/thesis.sh [-l "1000 3000 10000 18000"] [-d SECONDS] [-s "normal full"]
#
# Every terminal sends one 0C F129 frame (8 points = 8 reports) per second (--speed 60,
# --report-interval 60), window 8, no daily values. -s: SQLite synchronous modes to compare
# (normal: WAL without fsync per commit, the project default; full: fsync per commit, what
# a legacy "write before confirm" promised). Terminals stop at 18,000: the open-file limit
# of this machine is 20,000 per process (ulimit -Hn), so one master cannot hold more.
# The simulator gives a frame up after 10 s without confirm (--retries 0: the link is closed
# and the terminal reconnects), so a saturated pipeline cannot stretch a point for minutes;
# reports/s counts confirmed reports only, over the whole run including the drain.
# Output: bench=thesis pipeline=.. sync=.. terminals=.. reports_per_s=.. confirm_p50_ms=..
# confirm_p99_ms=.. (MF_BENCH_RUNS runs of each point).
set -u
. "$(dirname "$0")/lib.sh"
loads="1000 3000 10000 18000" dur=6 syncs="normal full"
[ "$(python3 -c "print(float('${MF_BENCH_SCALE:-1}') < 0.5)")" = True ] && { loads="1000 5000"; dur=3; }
while [ $# -gt 0 ]; do
  case $1 in -l) loads=$2; shift 2 ;; -d) dur=$2; shift 2 ;; -s) syncs=$2; shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;; esac
done
trap 'e2e_cleanup' EXIT
for run in $(seq "${MF_BENCH_RUNS:-1}"); do
  for sync in $syncs; do
    for t in $loads; do
      for p in queue direct; do
        tmp=$(mktemp -d /tmp/mf-bench-thesis.XXXXXX)
        if ! e2e_start $p "$tmp" --set "store.sqlite_sync=$sync"; then
          echo "thesis: $p did not start" >&2; tail -3 "$tmp/server.log" >&2; rm -rf "$tmp"; continue
        fi
        procs=$(( (t + 14999) / 15000 ))
        "$e2e_bin" sim --target 127.0.0.1:$e2e_port --terminals "$t" --points 8 --procs $procs \
          --source-addrs 127.0.0.2-127.0.0.254 --speed 60 --report-interval 60 \
          --duration "$dur" --window 8 --no-daily --no-curves --start 2026-11-20T08:00 \
          --seed 11 --confirm-timeout 10000 --retries 0 --backoff-max 2000 \
          >"$tmp/sim.out" 2>"$tmp/sim.err"
        src=$?
        e2e_stop
        s=$(grep '^sim:' "$tmp/sim.out" | tail -1)
        e2e_sim_line "$s" "bench=thesis pipeline=$p sync=$sync terminals=$t offered_reports_per_s=$((t * 8)) run=$run sim_exit=$src"
        rm -rf "$tmp"
      done
    done
  done
done
