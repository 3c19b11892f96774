#!/usr/bin/env bash
# disk_full.sh -- the data directory's disk fills up under load: `meterflow run` keeps SQLite
# on a small tmpfs (RL_DISK_MB, default 24 MiB; needs root for mount). Expected:
#   - a clear error in the log (SQLite "database or disk is full" / ENOSPC);
#   - no confirm for what could not be stored (the ledger stops growing);
#   - no corruption: `pragma integrity_check` = ok while full;
#   - when space returns (`mount -o remount,size=...`), confirms resume by themselves and at
#     the end every confirmed value is stored exactly once.
# Environment: RL_TERMINALS (100), RL_POINTS (16), RL_DISK_MB (24), RL_FULL_HOLD (10 s kept
# full after it filled), RL_DURATION (60).
set -u
RL_NAME=disk_full
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
  rl_ko "needs root to mount a tmpfs (run as root or skip this scenario explicitly)"
  rl_results; exit 1
fi
terminals=${RL_TERMINALS:-100}
points=${RL_POINTS:-16}
mb=${RL_DISK_MB:-24}
hold=${RL_FULL_HOLD:-10}
duration=${RL_DURATION:-60}
tp=$(rl_port); hp=$(rl_port)
dir=$RL_TMP/data
db=$dir/meterflow.db
log=$RL_TMP/run.log
mkdir -p "$dir"
mount -t tmpfs -o "size=${mb}m" tmpfs "$dir" || { rl_ko "mount tmpfs"; rl_results; exit 1; }
RL_CLEANUPS+=("umount -l '$dir'")
export RL_RUNLOG=$log

rl_start_run "$dir" "$tp" "$hp" || { rl_ko "meterflow run did not start"; rl_results; exit 1; }
start=$(TZ=Asia/Shanghai date -d yesterday +%Y-%m-%dT23:50)
rl_sim load --target "127.0.0.1:$tp" --terminals "$terminals" --points "$points" \
  --speed 600 --start "$start" --report-interval 300 --duration "$duration" \
  --confirm-timeout 3000 --backoff-min 200 --backoff-max 2000 --heartbeat 10
sim=$SIM_PID
ledger=$RL_TMP/load.ledger

avail_kb() { df -k --output=avail "$dir" | tail -1 | tr -d ' '; }
full() { [ "$(avail_kb)" -lt 512 ] || grep -qiE "disk is full|ENOSPC|no space" "$log"; }
if rl_wait 120 full; then
  t_full=$(rl_now)
  rl_ok "the disk filled (avail $(avail_kb) kB)"
else
  rl_ko "the disk never filled within 120 s (avail $(avail_kb) kB)"
fi
rl_wait 3 false   # grace for commits already done
frozen_at=$(rl_lines "$ledger")
rl_wait "$hold" false
after=$(rl_lines "$ledger")
rl_check "no confirm while full (ledger $frozen_at -> $after over ${hold}s)" [ "$after" = "$frozen_at" ]
rl_check "master alive while full" rl_alive "$RUN_PID"
err=$(grep -iE "full|ENOSPC|no space" "$log" | head -1)
rl_check "a clear error in the log: ${err:-none}" [ -n "$err" ]
integ=$(sqlite3 -readonly "$db" 'pragma integrity_check' 2>&1 | head -1)
rl_check "integrity_check while full: $integ" [ "$integ" = ok ]

mount -o remount,size=$((mb * 20))m "$dir"
t_rel=$(rl_now)
if rl_wait 120 rl_ledger_grows "$ledger" "$after"; then
  rec=$(rl_since "$t_rel"); rl_ok "confirms resume ${rec}s after space returns"
else
  rec=-1; rl_ko "no confirm within 120 s of space returning"
fi
rl_wait $((duration + 180)) bash -c "! kill -0 $sim" || rl_ko "simulator did not finish"
wait "$sim"; rc=$?
grep '^sim:' "$RL_TMP/load.out"
rl_check "simulator exit 0 (unconfirmed=$(rl_sim_field load unconfirmed))" [ "$rc" = 0 ]
kill -TERM "$RUN_PID"; rl_wait 30 bash -c "! kill -0 $RUN_PID"
out=$($RL_CHECK --ledger "$ledger" --db "$db" --verbose); crc=$?
echo "$out"
rl_check "every confirmed value stored once, same value" [ "$crc" = 0 ]
integ=$(sqlite3 "$db" 'pragma integrity_check')
rl_check "integrity_check after: $integ" [ "$integ" = ok ]
kv() { echo "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }
echo "figures $RL_NAME: terminals=$terminals disk_mb=$mb confirmed_keys=$(kv keys) stored=$(kv found)" \
  "lost=$(kv missing) mismatched=$(kv mismatched) conflicts=$(kv conflicts)" \
  "confirms_while_full=$((after - frozen_at)) recovery_s=$rec log_errors=$(grep -ciE 'full|ENOSPC' "$log")"
rl_results
