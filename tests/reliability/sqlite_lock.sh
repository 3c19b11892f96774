#!/usr/bin/env bash
# sqlite_lock.sh -- a stuck store under load: another process holds an exclusive SQLite lock
# (`BEGIN EXCLUSIVE` kept open in the sqlite3 shell) for RL_HOLD seconds while `meterflow run`
# is loaded by the simulator. Expected:
#   - no confirm while the store cannot commit (after a short grace for commits already done,
#     the ledger does not grow) -- nothing is promised that is not durable;
#   - backpressure reaches the terminals: the simulator's unconfirmed count rises;
#   - the master's memory stays bounded (RSS sampled every 0.5 s while held);
#   - after the release, confirms resume by themselves; at the end every confirmed value is
#     stored exactly once and integrity_check passes.
# Environment: RL_TERMINALS (100), RL_POINTS (16), RL_HOLD (15 s), RL_DURATION (45),
# RL_RSS_GROWTH_MB (256: the bound asserted on RSS growth while held).
set -u
RL_NAME=sqlite_lock
. "$(dirname "$0")/lib.sh"

terminals=${RL_TERMINALS:-100}
points=${RL_POINTS:-16}
hold=${RL_HOLD:-15}
duration=${RL_DURATION:-45}
rss_bound_kb=$(( ${RL_RSS_GROWTH_MB:-256} * 1024 ))
tp=$(rl_port); hp=$(rl_port)
dir=$RL_TMP/data
db=$dir/meterflow.db

rl_start_run "$dir" "$tp" "$hp" || { rl_ko "meterflow run did not start"; rl_results; exit 1; }
start=$(TZ=Asia/Shanghai date -d yesterday +%Y-%m-%dT23:50)
rl_sim load --target "127.0.0.1:$tp" --terminals "$terminals" --points "$points" \
  --speed 600 --start "$start" --report-interval 300 --duration "$duration" \
  --confirm-timeout 3000 --backoff-min 200 --backoff-max 2000 --heartbeat 10
sim=$SIM_PID
ledger=$RL_TMP/load.ledger

rl_wait 60 rl_ledger_grows "$ledger" 5000 || rl_ko "no confirms before the lock"
rl_wait 30 bash -c "tr '\\r' '\\n' <'$RL_TMP/load.err' | grep -q unconfirmed" || rl_ko "no progress line"
rss0=$(rl_rss_kb "$RUN_PID")
unconf0=$(rl_progress load | awk '{for(i=1;i<=NF;i++) if($i=="unconfirmed") print $(i+1)}')

# Take the lock: a sqlite3 shell reading from a FIFO we keep open.
mkfifo "$RL_TMP/lock.fifo"
sqlite3 "$db" <"$RL_TMP/lock.fifo" >"$RL_TMP/lock.out" 2>&1 &
lock_pid=$!; RL_PIDS+=("$lock_pid")
exec 7>"$RL_TMP/lock.fifo"
echo ".timeout 20000" >&7
echo "BEGIN EXCLUSIVE;" >&7
locked() { ! sqlite3 -cmd ".timeout 0" "$db" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1; }
rl_wait 30 locked || rl_ko "could not take the exclusive lock"
t_lock=$(rl_now)

# Grace: commits that were in progress may still be confirmed. Then the ledger must freeze.
rl_wait 3 false
frozen_at=$(rl_lines "$ledger")
rss_max=$rss0; grew=0
end=$(( $(date +%s) + hold ))
while [ "$(date +%s)" -lt "$end" ]; do
  r=$(rl_rss_kb "$RUN_PID"); [ "$r" -gt "$rss_max" ] && rss_max=$r
  sleep 0.5
done
after_hold=$(rl_lines "$ledger")
unconf1=$(rl_progress load | awk '{for(i=1;i<=NF;i++) if($i=="unconfirmed") print $(i+1)}')
rl_check "no confirm while the store is locked (ledger $frozen_at -> $after_hold over ${hold}s)" \
  [ "$after_hold" = "$frozen_at" ]
rl_check "backpressure reaches the terminals (sim unconfirmed $unconf0 -> $unconf1)" \
  [ "${unconf1:-0}" -gt "${unconf0:-0}" ]
rl_check "master RSS bounded while held (${rss0} -> max ${rss_max} kB)" \
  [ $((rss_max - rss0)) -lt "$rss_bound_kb" ]
rl_check "master still alive" rl_alive "$RUN_PID"

echo "COMMIT;" >&7; exec 7>&-
wait "$lock_pid" 2>/dev/null
t_rel=$(rl_now)
if rl_wait 120 rl_ledger_grows "$ledger" "$after_hold"; then
  rec=$(rl_since "$t_rel"); rl_ok "confirms resume ${rec}s after the release"
else
  rec=-1; rl_ko "no confirm within 120 s of the release"
fi

rl_wait $((duration + 180)) bash -c "! kill -0 $sim" || rl_ko "simulator did not finish"
wait "$sim"; rc=$?
grep '^sim:' "$RL_TMP/load.out"
rl_check "simulator exit 0 (unconfirmed=$(rl_sim_field load unconfirmed))" [ "$rc" = 0 ]
grep -E " (W|E) " "$dir/run.log" | sort -k3 | uniq -c -f2 | sort -rn | head -5
kill -TERM "$RUN_PID"; rl_wait 30 bash -c "! kill -0 $RUN_PID"
out=$($RL_CHECK --ledger "$ledger" --db "$db" --verbose); crc=$?
echo "$out"
rl_check "every confirmed value stored once, same value" [ "$crc" = 0 ]
integ=$(sqlite3 "$db" 'pragma integrity_check')
rl_check "sqlite integrity_check: $integ" [ "$integ" = ok ]
kv() { echo "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }
echo "figures $RL_NAME: terminals=$terminals hold_s=$hold confirmed_keys=$(kv keys) stored=$(kv found)" \
  "lost=$(kv missing) mismatched=$(kv mismatched) conflicts=$(kv conflicts)" \
  "confirms_while_locked=$((after_hold - frozen_at)) unconfirmed_before=$unconf0" \
  "unconfirmed_locked=$unconf1 rss_before_kb=$rss0 rss_max_kb=$rss_max recovery_s=$rec" \
  "retransmits=$(rl_sim_field load retransmits)"
rl_results
