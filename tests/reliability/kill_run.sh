#!/usr/bin/env bash
# kill_run.sh -- `kill -9` of the all-in-one process (`meterflow run`) under load, restarted
# on the same data directory and ports, RL_KILLS times. The simulator keeps running through
# it (reconnects with backoff, retransmits what was not confirmed); at the end every value it
# logged as confirmed must be in SQLite exactly once with the same value (ledger_check.py),
# the simulator must end with nothing unconfirmed, and SQLite must pass integrity_check
# (lib.sh rl_finish_run).
#
# Environment: RL_TERMINALS (100), RL_POINTS (16), RL_DURATION (40 s of load),
# RL_KILLS (2), RL_DOWN (1: seconds the master stays dead), MF_BUILD (release).
# Prints "figures kill_run: ..." (docs/RELIABILITY.md).
set -u
RL_NAME=kill_run
. "$(dirname "$0")/lib.sh"

terminals=${RL_TERMINALS:-100}
points=${RL_POINTS:-16}
kills=${RL_KILLS:-2}
down=${RL_DOWN:-1}
rl_load "$terminals" "$points" "${RL_DURATION:-40}" --erc14-rate 4 --erc13-rate 4 --erc24-rate 4

recover_max=0
for k in $(seq "$kills"); do
  # Let it work: wait for the ledger to grow by some values since the last restart.
  base=$(rl_lines "$RL_LEDGER")
  rl_wait 60 rl_ledger_grows "$RL_LEDGER" $((base + 2000)) || { rl_ko "no progress before kill $k"; break; }
  before=$(rl_lines "$RL_LEDGER")
  kill -KILL "$RUN_PID"; wait "$RUN_PID" 2>/dev/null
  rl_wait "$down" false
  t0=$(rl_now)
  rl_start_run "$RL_DIR" "$RL_TP" "$RL_HP" || { rl_ko "restart $k: meterflow run did not come back"; break; }
  # Recovered: new confirms arrive (the ledger grows past what it had at the kill).
  rl_resumed "after kill -9 #$k and the restart" "$t0" $((before + 100))
  [ "$RL_REC" != -1 ] && recover_max=$(awk -v a="$recover_max" -v b="$RL_REC" 'BEGIN{print (b>a)?b:a}')
done

rl_finish_run
rl_figures "terminals=$terminals points=$points kills=$kills" "recovery_max_s=$recover_max"
rl_results
