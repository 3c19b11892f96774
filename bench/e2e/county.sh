#!/usr/bin/env bash
# county.sh -- "a county's day": METERS = TERMINALS x POINTS meters (default 2,000 x 50 =
# 100,000) report through `meterflow run` (front -> embedded queue -> worker -> SQLite) while
# the simulator's accelerated clock crosses one midnight: each terminal sends its points'
# 0C F129 (every 15 virtual minutes), then after its midnight (plus 1..30 virtual minutes)
# the day's 0D F161 daily frozen values and the 96-point 0D F101 curves, plus ERC14/13
# events. Then the daily analytics of that day run over the store (bench_county_rollup:
# consumption, success rate, line loss, anomalies, re-collection plan).
#
#   bench/e2e/county.sh [-t TERMINALS] [-p POINTS]
#
# Timed: the collection (sim start -> every frame of the day confirmed, i.e. stored, and the
# simulator logged out) and the rollup. Master data (areas of 5 terminals, terminals,
# meters) is imported first with `meterflow import` (timed separately, not part of the day).
# Output: bench=county meters=.. collect_s=.. rollup_ms=.. total_s=.. daily_rows=..
#         curve_rows=.. success_pct=.. line_loss_areas=.. anomalies=.. (goal: total < 600 s)
set -u
. "$(dirname "$0")/lib.sh"
terms=$(e2e_scale 2000) points=50
while [ $# -gt 0 ]; do
  case $1 in -t) terms=$2; shift 2 ;; -p) points=$2; shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;; esac
done
tmp=$(mktemp -d /tmp/mf-bench-county.XXXXXX)
trap 'e2e_cleanup; rm -rf "$tmp"' EXIT
areas=$(( terms / 5 )); [ $areas -lt 1 ] && areas=1
lay=(--terminals "$terms" --points "$points" --areas "$areas" --seed 31)
"$e2e_bin" sim "${lay[@]}" --start 2026-11-20T23:56 --master-data "$tmp" --dry-run >/dev/null ||
  { echo "bench=county error=dry_run"; exit 1; }
t0=$(date +%s.%N)
for kind in areas terminals meters; do
  "$e2e_bin" import --set "meterflow.data_dir=$tmp" --set meterflow.log_level=error \
    "$kind" "$tmp/$kind.csv" >/dev/null 2>"$tmp/import.err" ||
    { echo "bench=county error=import_$kind"; exit 1; }
done
t1=$(date +%s.%N)
e2e_start queue "$tmp" --set worker.batch_max_records=20000 ||
  { echo "bench=county error=run_start"; tail -3 "$tmp/server.log" >&2; exit 1; }
"$e2e_bin" sim "${lay[@]}" --target 127.0.0.1:$e2e_port --procs 2 \
  --source-addrs 127.0.0.2-127.0.0.254 --start 2026-11-20T23:56 --speed 120 \
  --report-interval 900 --duration 20 --window 8 --erc14-rate 2 --erc13-rate 1 \
  --confirm-timeout 60000 >"$tmp/sim.out" 2>"$tmp/sim.err"
src=$?
t2=$(date +%s.%N)
e2e_stop
db=$tmp/meterflow.db
q() { sqlite3 "$db" "$1" 2>/dev/null; }
day=$(python3 -c "import datetime;print((datetime.date(2026,11,20)-datetime.date(1970,1,1)).days)")
daily=$(q "SELECT count(*) FROM frozen WHERE date = $day AND tariff = 0")
curve=$(q "SELECT count(*) FROM curve")
"$(dirname "$e2e_bin")/bench/bench_county_rollup" "$db" 2026-11-20 >"$tmp/rollup.out" 2>&1
rrc=$?
t3=$(date +%s.%N)
rms=$(e2e_kv "$(cat "$tmp/rollup.out")" rollup_ms)
succ=$(q "SELECT printf('%.2f', 100.0 * collected / expected) FROM collect_day WHERE date = $day AND area = '' LIMIT 1")
[ -z "$succ" ] && succ=$(q "SELECT * FROM collect_day WHERE date = $day LIMIT 1" | tr '|' ,)
ll=$(q "SELECT count(*) FROM line_loss WHERE date = $day")
an=$(q "SELECT count(*) FROM anomalies")
s=$(grep "^sim:" "$tmp/sim.out" | tail -1); echo "# $s"
python3 - "$terms" "$points" "$t0" "$t1" "$t2" "$t3" "$src" "$rrc" <<PY
import sys
t, p, t0, t1, t2, t3, src, rrc = sys.argv[1:]
t0, t1, t2, t3 = map(float, (t0, t1, t2, t3))
print("bench=county terminals=%s points=%s meters=%d import_s=%.1f collect_s=%.1f rollup_ms=%s "
      "total_s=%.1f sim_exit=%s rollup_rc=%s daily_rows=%s curve_rows=%s success_pct=%s "
      "line_loss_areas=%s anomalies=%s frames=%s values=%s"
      % (t, p, int(t) * int(p), t1 - t0, t2 - t1, "${rms:-0}", t3 - t1, src, rrc,
         "${daily:-0}", "${curve:-0}", "${succ:-?}" or "?", "${ll:-0}", "${an:-0}",
         "$(e2e_kv "$s" frames_confirmed)", "$(e2e_kv "$s" values_confirmed)"))
PY
# Why 50 points per terminal and not 100: the simulator queues at most 64 frames per terminal
# and sends one F101 curve frame per point, so 100 points would skip curves (backlog_skips)
# and the success rate would measure the simulator, not the master.
