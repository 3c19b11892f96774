#!/usr/bin/env bash
# kill_run.sh -- `kill -9` of the all-in-one process (`meterflow run`) under load, restarted
# on the same data directory and ports, RL_KILLS times. The simulator keeps running through
# it (reconnects with backoff, retransmits what was not confirmed); at the end every value it
# logged as confirmed must be in SQLite exactly once with the same value (ledger_check.py),
# the simulator must end with nothing unconfirmed, and SQLite must pass integrity_check.
#
# Environment: RL_TERMINALS (100), RL_POINTS (16), RL_DURATION (40 s of load),
# RL_KILLS (2), RL_DOWN (1: seconds the master stays dead), MF_BUILD (release).
# Prints "figures kill_run: ..." (docs/RELIABILITY.md).
set -u
RL_NAME=kill_run
. "$(dirname "$0")/lib.sh"

terminals=${RL_TERMINALS:-100}
points=${RL_POINTS:-16}
duration=${RL_DURATION:-40}
kills=${RL_KILLS:-2}
down=${RL_DOWN:-1}
tp=$(rl_port); hp=$(rl_port)
dir=$RL_TMP/data

rl_start_run "$dir" "$tp" "$hp" || { rl_ko "meterflow run did not start"; rl_results; exit 1; }
# Virtual start 23:50 of the day before: within seconds the terminals pass midnight and report
# daily frozen values and 96-point curves as well as the 0C F129 indications.
start=$(TZ=Asia/Shanghai date -d yesterday +%Y-%m-%dT23:50)
rl_sim load --target "127.0.0.1:$tp" --terminals "$terminals" --points "$points" \
  --speed 600 --start "$start" --report-interval 300 --duration "$duration" \
  --confirm-timeout 3000 --backoff-min 200 --backoff-max 2000 --heartbeat 10 \
  --erc14-rate 4 --erc13-rate 4 --erc24-rate 4
sim=$SIM_PID
ledger=$RL_TMP/load.ledger

recover_max=0
for k in $(seq "$kills"); do
  # Let it work: wait for the ledger to grow by some values since the last restart.
  base=$(rl_lines "$ledger")
  rl_wait 60 rl_ledger_grows "$ledger" $((base + 2000)) || { rl_ko "no progress before kill $k"; break; }
  before=$(rl_lines "$ledger")
  kill -KILL "$RUN_PID"; wait "$RUN_PID" 2>/dev/null
  rl_wait "$down" false
  t0=$(rl_now)
  rl_start_run "$dir" "$tp" "$hp" || { rl_ko "restart $k: meterflow run did not come back"; break; }
  # Recovered: new confirms arrive (the ledger grows past what it had at the kill).
  if rl_wait 120 rl_ledger_grows "$ledger" "$((before + 100))"; then
    r=$(rl_since "$t0")
    rl_ok "kill -9 #$k: confirms resume ${r}s after the restart"
    recover_max=$(awk -v a="$recover_max" -v b="$r" 'BEGIN{print (b>a)?b:a}')
  else
    rl_ko "kill -9 #$k: no confirm within 120 s of the restart"
  fi
done

# The simulator drains (retransmits what is left) and logs out; generous deadline.
rl_wait $((duration + 180)) bash -c "! kill -0 $sim" || rl_ko "simulator did not finish"
wait "$sim"; rc=$?
grep '^sim:' "$RL_TMP/load.out"
unconf=$(rl_sim_field load unconfirmed)
rl_check "simulator exit 0 (nothing left unconfirmed: unconfirmed=$unconf)" [ "$rc" = 0 ]
kill -TERM "$RUN_PID"; rl_wait 30 bash -c "! kill -0 $RUN_PID"

out=$($RL_CHECK --ledger "$ledger" --db "$dir/meterflow.db" --verbose); crc=$?
echo "$out"
rl_check "every confirmed value stored once, same value" [ "$crc" = 0 ]
integ=$(sqlite3 "$dir/meterflow.db" 'pragma integrity_check')
rl_check "sqlite integrity_check: $integ" [ "$integ" = ok ]
if "$MF" sim --verify --ledger "$ledger" --db "$dir/meterflow.db" >"$RL_TMP/verify.out" 2>&1; then
  rl_ok "meterflow sim --verify: $(tail -1 "$RL_TMP/verify.out")"
elif grep -q "not available" "$RL_TMP/verify.out"; then
  echo "note: meterflow sim --verify not in this build; ledger_check.py is the judge"
else
  rl_ko "meterflow sim --verify: $(tail -1 "$RL_TMP/verify.out")"
fi
kv() { echo "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }
echo "figures $RL_NAME: terminals=$terminals points=$points kills=$kills confirmed_keys=$(kv keys)" \
  "stored=$(kv found) lost=$(kv missing) mismatched=$(kv mismatched) conflicts=$(kv conflicts)" \
  "twice_same=$(kv twice_same) store_dup_keys=$(kv store_dup_keys)" \
  "retransmits=$(rl_sim_field load retransmits) recovery_max_s=$recover_max"
rl_results
