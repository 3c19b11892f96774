#!/usr/bin/env bash
# sqlite_lock.sh -- a stuck store under load: another process holds an exclusive SQLite lock
# (`BEGIN EXCLUSIVE` kept open in the sqlite3 shell) for RL_HOLD seconds while `meterflow run`
# is loaded by the simulator. Expected:
#   - no confirm while the store cannot commit (after a short grace for commits already done,
#     the ledger does not grow) -- nothing is promised that is not durable (lib.sh rl_frozen);
#   - backpressure reaches the terminals: the simulator's unconfirmed count rises;
#   - the master's memory stays bounded (RSS sampled every 0.5 s while held; rl_frozen);
#   - after the release, confirms resume by themselves; at the end every confirmed value is
#     stored exactly once and integrity_check passes (rl_finish_run).
# Environment: RL_TERMINALS (100), RL_POINTS (16), RL_HOLD (15 s), RL_DURATION (45),
# RL_RSS_GROWTH_MB (256: the bound asserted on RSS growth while held).
set -u
RL_NAME=sqlite_lock
. "$(dirname "$0")/lib.sh"

terminals=${RL_TERMINALS:-100}
hold=${RL_HOLD:-15}
rl_load "$terminals" "${RL_POINTS:-16}" "${RL_DURATION:-45}"

rl_wait 60 rl_ledger_grows "$RL_LEDGER" 5000 || rl_ko "no confirms before the lock"
rl_wait 30 bash -c "tr '\\r' '\\n' <'$RL_TMP/load.err' | grep -q unconfirmed" || rl_ko "no progress line"
unconf0=$(rl_sim_unconfirmed)
RL_RSS0=$(rl_rss_kb "$RUN_PID")

# Take the lock: a sqlite3 shell reading from a FIFO we keep open.
mkfifo "$RL_TMP/lock.fifo"
sqlite3 "$RL_DB" <"$RL_TMP/lock.fifo" >"$RL_TMP/lock.out" 2>&1 &
lock_pid=$!; RL_PIDS+=("$lock_pid")
exec 7>"$RL_TMP/lock.fifo"
echo ".timeout 20000" >&7
echo "BEGIN EXCLUSIVE;" >&7
locked() { ! sqlite3 -cmd ".timeout 0" "$RL_DB" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1; }
rl_wait 30 locked || rl_ko "could not take the exclusive lock"

rl_frozen "$hold" "the store is locked"
unconf1=$(rl_sim_unconfirmed)
rl_check "backpressure reaches the terminals (sim unconfirmed $unconf0 -> $unconf1)" \
  [ "${unconf1:-0}" -gt "${unconf0:-0}" ]

echo "COMMIT;" >&7; exec 7>&-
wait "$lock_pid" 2>/dev/null
rl_resumed "after the release" "$(rl_now)" "$RL_AFTER"

rl_finish_run
rl_figures "terminals=$terminals hold_s=$hold" \
  "confirms_while_locked=$((RL_AFTER - RL_FROZEN_AT)) unconfirmed_before=$unconf0" \
  "unconfirmed_locked=$unconf1 rss_before_kb=$RL_RSS0 rss_max_kb=$RL_RSS_MAX recovery_s=$RL_REC"
rl_results
