#!/usr/bin/env bash
# embedded.sh -- end-to-end benchmark of `meterflow run` (sim -> front -> embedded queue ->
# worker -> SQLite), simulator on the same machine.
#
#   bench/e2e/embedded.sh [-t TERMINALS] [-p POINTS] [-r FRAMES_PER_TERMINAL_PER_S]
#                         [-d SECONDS] [-w WINDOW] [-k PROCS] [-P] [--set section.key=value]...
#
# Load: every terminal sends one 0C F129 frame for its POINTS points (8 per frame = 8
# reports of 5 values) every 60 virtual seconds at --speed 60*R, so the offered load is
# TERMINALS*R frames/s. No daily values or curves. While it runs, bench/e2e/probe.py (one more
# terminal) measures confirm -> visible in the store. -P: perf record the master for the run
# and print its top symbols (bench=profile lines).
# Output (stdout): bench=e2e_embedded ... (reports/s = values confirmed / 5 / elapsed, elapsed
# includes logins and the drain), bench=visible ..., the sim's own summary as a comment.
set -u
. "$(dirname "$0")/lib.sh"
terms=2000 points=8 rate=2 dur=10 window=8 procs=2 perf=0 sets=()
while [ $# -gt 0 ]; do
  case $1 in
    -t) terms=$2; shift 2 ;; -p) points=$2; shift 2 ;; -r) rate=$2; shift 2 ;;
    -d) dur=$2; shift 2 ;; -w) window=$2; shift 2 ;; -k) procs=$2; shift 2 ;;
    -P) perf=1; shift ;; --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d /tmp/mf-bench-emb.XXXXXX)
trap 'e2e_cleanup; rm -rf "$tmp"' EXIT
tport=$(e2e_free_port); hport=$(e2e_free_port)
"$e2e_bin" run --set "meterflow.data_dir=$tmp" --set "front.port=$tport" \
  --set "web.port=$hport" --set meterflow.log_level=error --set front.frames_per_sec=0 \
  --set front.login_per_min=1000000 --set worker.analytics=false "${sets[@]}" \
  >"$tmp/run.log" 2>&1 &
run_pid=$!; e2e_pids+=($run_pid)
e2e_wait_port "$tport" $run_pid || { echo "embedded.sh: meterflow run did not start" >&2;
  tail -5 "$tmp/run.log" >&2; exit 1; }
speed=$(python3 -c "print(60*$rate)")
python3 "$(dirname "$0")/probe.py" --target 127.0.0.1:$tport --db "$tmp/meterflow.db" \
  --count $((dur * 2)) --interval 0.5 --a2 $((RANDOM % 60000 + 1)) --timeout 60 >"$tmp/probe.out" 2>&1 &
probe_pid=$!; e2e_pids+=($probe_pid)
if [ $perf = 1 ]; then  # the whole machine: the split between master, simulator and the rest
  perf record -F 499 -a -o "$tmp/perf.data" -- sleep "$dur" >/dev/null 2>&1 &
  perf_pid=$!
fi
"$e2e_bin" sim --target 127.0.0.1:$tport --terminals "$terms" --points "$points" \
  --procs "$procs" --source-addrs 127.0.0.2-127.0.0.254 --speed "$speed" \
  --report-interval 60 --duration "$dur" --window "$window" --no-daily --no-curves \
  --start 2026-11-20T08:00 --seed 7 --confirm-timeout 60000 >"$tmp/sim.out" 2>"$tmp/sim.err"
src=$?
wait $probe_pid
summary=$(grep '^sim:' "$tmp/sim.out" | tail -1)
e2e_sim_line "$summary" "bench=e2e_embedded terminals=$terms points=$points offered_frames_per_s=$((terms * rate)) offered_reports_per_s=$((terms * rate * points)) window=$window sim_exit=$src"
grep '^bench=visible' "$tmp/probe.out" || echo "bench=visible n=0 error=$(tail -1 "$tmp/probe.out" | tr ' ' _)"
echo "# $summary"
if [ $perf = 1 ]; then
  wait $perf_pid
  perf report -i "$tmp/perf.data" --no-children --sort pid --stdio 2>/dev/null |
    awk '/^ +[0-9.]+%/ && n < 10 {n++; print "bench=profile by=process pct=" $1 " what=" $2}'
  perf report -i "$tmp/perf.data" --no-children --pid $run_pid --sort comm --stdio 2>/dev/null |
    awk '/^ +[0-9.]+%/ && n < 6 {n++; print "bench=profile by=master_thread pct=" $1 " what=" $2}'
  perf report -i "$tmp/perf.data" --no-children --pid $run_pid --sort dso --stdio 2>/dev/null |
    awk '/^ +[0-9.]+%/ && n < 6 {n++; print "bench=profile by=master_dso pct=" $1 " what=" $2}'
  perf report -i "$tmp/perf.data" --no-children --pid $run_pid --sort dso,symbol --stdio \
    2>/dev/null | awk '/^ +[0-9.]+%/ && n < 20 {n++; d=$2; s=$4;
      for (i = 5; i <= NF && $i != "-"; i++) s = s "_" $i;
      print "bench=profile by=master_symbol pct=" $1 " dso=" d " what=" s}'
fi
