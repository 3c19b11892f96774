#!/usr/bin/env bash
# pg_run.sh -- PostgreSQL stopped and restarted under load beneath `meterflow run` ([store]
# backend = postgres, the embedded queue). Here the store's commit is the durable point (in
# the distributed setup it is Kafka: distributed.sh pgstop), so while PostgreSQL is down
# (issue #8: "workers retry, fronts apply backpressure, no confirm is sent for what is not
# durable"):
#   - no confirm (the ledger freezes after a 3 s grace) and the master's RSS stays bounded
#     (lib.sh rl_frozen);
#   - backpressure reaches the terminals: the simulator's unconfirmed count rises;
#   - PostgreSQL started again (same port): confirms resume by themselves; at the end every
#     confirmed value is in PostgreSQL exactly once (ledger_check.py --pg, sim --verify --pg).
# Environment: RL_TERMINALS (100), RL_POINTS (8), RL_PG_DOWN (10 s), RL_DURATION (45).
set -u
RL_NAME=pg_run
. "$(dirname "$0")/lib.sh"

terminals=${RL_TERMINALS:-100}
down=${RL_PG_DOWN:-10}
PG=$RL_TMP/pg
chmod 755 "$RL_TMP"   # the postgres user must reach $PG
RL_CLEANUPS+=("bash '$RL_ROOT/scripts/pg.sh' stop '$PG'")
bash "$RL_ROOT/scripts/pg.sh" start "$PG" >"$RL_TMP/pg.out" 2>&1 ||
  { tail -5 "$RL_TMP/pg.out"; rl_die "pg.sh start"; }
RL_PG=$(cat "$PG/conninfo")
RL_RUN_ARGS=(--set store.backend=postgres --set "store.pg_conninfo=$RL_PG")
rl_load "$terminals" "${RL_POINTS:-8}" "${RL_DURATION:-45}"

rl_wait 60 rl_ledger_grows "$RL_LEDGER" 2000 || rl_ko "no confirms before PostgreSQL stops"
rl_wait 30 bash -c "tr '\\r' '\\n' <'$RL_TMP/load.err' | grep -q unconfirmed" || rl_ko "no progress line"
unconf0=$(rl_sim_unconfirmed)
RL_RSS0=$(rl_rss_kb "$RUN_PID")

bash "$RL_ROOT/scripts/pg.sh" stop "$PG" >>"$RL_TMP/pg.out" 2>&1 || rl_ko "pg.sh stop"
rl_frozen "$down" "PostgreSQL is stopped"
unconf1=$(rl_sim_unconfirmed)
rl_check "backpressure reaches the terminals (sim unconfirmed $unconf0 -> $unconf1)" \
  [ "${unconf1:-0}" -gt "${unconf0:-0}" ]

bash "$RL_ROOT/scripts/pg.sh" start "$PG" >>"$RL_TMP/pg.out" 2>&1 || rl_ko "pg.sh start again"
rl_resumed "after PostgreSQL is back" "$(rl_now)" "$RL_AFTER"

rl_finish_run
rl_figures "terminals=$terminals pg_down_s=$down" \
  "confirms_while_down=$((RL_AFTER - RL_FROZEN_AT)) unconfirmed_before=$unconf0" \
  "unconfirmed_down=$unconf1 rss_before_kb=$RL_RSS0 rss_max_kb=$RL_RSS_MAX recovery_s=$RL_REC"
rl_results
