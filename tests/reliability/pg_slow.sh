#!/usr/bin/env bash
# pg_slow.sh -- a SLOW (not stuck) store under `meterflow run` on PostgreSQL ([store] backend
# = postgres, the embedded queue: the store's commit is the durable point). Every connection
# of the master to PostgreSQL goes through bench/bench_delay_proxy (build: make benchbin),
# whose delay the scenario changes at run time (its --control file + SIGHUP): fast (0) ->
# slow (RL_SLOW_US per chunk and direction, so every round trip costs 2 x RL_SLOW_US) ->
# fast. While slow the store still commits, but fewer values per second than the terminals
# offer (the worker's batch is capped at [worker] batch_max_records and costs a few round
# trips). Checks (issue #8 "a slow or stuck store"):
#   - slow, not stuck: confirms continue while slow, at less than half the fast rate;
#   - backpressure reaches the terminals: the simulator's unconfirmed count rises (its
#     terminals send at most --window reports ahead, so they slow down with the confirms),
#     and the front stops reading (meterflow_front_backpressure_total rises) once the
#     embedded queue is full: the scenario caps it at RL_QUEUE_MSGS (256) messages, below
#     what 100 terminals x their window can hold in flight (the default 100,000 would need
#     25,000 terminals to fill);
#   - nothing confirmed before it is durable: a snapshot of the ledger taken while slow is
#     judged against PostgreSQL at once (ledger_check.py: every value confirmed so far is
#     already stored) -- a confirm sent before the commit would show as missing here, with
#     the commit seconds away;
#   - bounded memory: RSS of the master and of the proxy sampled every 0.5 s while slow;
#   - recovery: after the delay is removed the terminals' backlog is drained (the
#     simulator's unconfirmed count back under max(100, 4 x before) with confirms flowing;
#     RL_REC: seconds from the change), and at the end every confirmed value is stored once
#     (rl_finish_run: ledger_check.py --pg, sim --verify --pg).
# Environment: RL_TERMINALS (100), RL_POINTS (8), RL_SLOW_US (50000), RL_SLOW_S (15 s),
# RL_DURATION (60), RL_QUEUE_MSGS (256).
set -u
RL_NAME=pg_slow
. "$(dirname "$0")/lib.sh"

terminals=${RL_TERMINALS:-100}
slow_us=${RL_SLOW_US:-50000}
slow_s=${RL_SLOW_S:-15}
# The proxy from this build's benchmarks, else from the bench flavour (scripts/test.sh
# compiles that one), else built here.
proxy_bin=$(dirname "$MF")/bench/bench_delay_proxy
[ -x "$proxy_bin" ] || proxy_bin=$RL_ROOT/build/bench/bench/bench_delay_proxy
if [ ! -x "$proxy_bin" ]; then
  proxy_bin=$RL_ROOT/build/release/bench/bench_delay_proxy
  make -s -C "$RL_ROOT" BUILD=release "build/release/bench/bench_delay_proxy" || rl_die "cannot build $proxy_bin"
fi
PG=$RL_TMP/pg
chmod 755 "$RL_TMP"   # the postgres user must reach $PG
RL_CLEANUPS+=("bash '$RL_ROOT/scripts/pg.sh' stop '$PG'")
bash "$RL_ROOT/scripts/pg.sh" start "$PG" >"$RL_TMP/pg.out" 2>&1 ||
  { tail -5 "$RL_TMP/pg.out"; rl_die "pg.sh start"; }
RL_PG=$(cat "$PG/conninfo")   # the judges read PostgreSQL directly

# The proxy: the master's only way to PostgreSQL.
ctl=$RL_TMP/proxy.delay
"$proxy_bin" --target-port "$(cat "$PG/port")" --control "$ctl" >"$RL_TMP/proxy.out" 2>&1 &
PROXY_PID=$!
RL_PIDS+=("$PROXY_PID")
rl_wait 10 grep -q '^ready port=' "$RL_TMP/proxy.out" || rl_die "delay proxy did not start"
pport=$(sed -n 's/^ready port=//p' "$RL_TMP/proxy.out")
proxy_delay() { # proxy_delay US: set the delay and wait until the proxy applied it
  echo "$1" >"$ctl"; kill -HUP "$PROXY_PID"
  # (a fresh `tail` each poll: a <(...) argument would be read once, then be at EOF)
  rl_wait 10 bash -c "tail -1 '$RL_TMP/proxy.out' | grep -qx 'delay_us=$1'"
}
RL_RUN_ARGS=(--set store.backend=postgres --set "queue.embedded_max_msgs=${RL_QUEUE_MSGS:-256}"
  --set "store.pg_conninfo=host=127.0.0.1 port=$pport user=postgres dbname=postgres connect_timeout=15")
rl_load "$terminals" "${RL_POINTS:-8}" "${RL_DURATION:-60}"

# metric NAME: a value of /metrics. The web's part of the page queries the store (row
# counts), so while slow the page takes several round trips: up to 60 s allowed.
metric() { curl -fsS -m 60 "http://127.0.0.1:$RL_HP/metrics" | awk -v m="$1" '$1==m {print $2; exit}'; }
# rate SECONDS: values confirmed per second over the next SECONDS (ledger lines).
rate() {
  local a b; a=$(rl_lines "$RL_LEDGER"); sleep "$1"; b=$(rl_lines "$RL_LEDGER")
  echo $(( (b - a) / $1 ))
}

rl_wait 60 rl_ledger_grows "$RL_LEDGER" 2000 || rl_ko "no confirms before the store slows"
rl_wait 30 bash -c "tr '\\r' '\\n' <'$RL_TMP/load.err' | grep -q unconfirmed" || rl_ko "no progress line"
fast=$(rate 5)
unconf0=$(rl_sim_unconfirmed)
bp0=$(metric meterflow_front_backpressure_total)
rss0=$(rl_rss_kb "$RUN_PID"); prss0=$(rl_rss_kb "$PROXY_PID")

proxy_delay "$slow_us" || rl_die "the proxy did not take the slow delay"
rl_wait 3 false   # grace: the batches in flight finish at the old speed
n0=$(rl_lines "$RL_LEDGER")
rl_hold_rss "$slow_s" "$RUN_PID" "$PROXY_PID"
n1=$(rl_lines "$RL_LEDGER")
slow=$(( (n1 - n0) / slow_s ))
unconf1=$(rl_sim_unconfirmed)
t_m=$(rl_now); bp1=$(metric meterflow_front_backpressure_total); metrics_s=$(rl_since "$t_m")
rss_max=${RL_RSS_PEAK[0]} prss_max=${RL_RSS_PEAK[1]}
# Nothing confirmed before it is durable: the confirmed lines so far, judged now.
head -n "$(( $(wc -l <"$RL_LEDGER") ))" "$RL_LEDGER" >"$RL_TMP/snap.ledger"
snap=$($RL_CHECK --ledger "$RL_TMP/snap.ledger" --pg "$RL_PG"); src=$?
echo "snapshot while slow: $snap"

rl_check "slow, not stuck: confirms continue ($slow values/s while slow)" [ "$slow" -gt 0 ]
rl_check "confirms slow down ($fast -> $slow values/s)" [ $((slow * 2)) -lt "$fast" ]
rl_check "front stops reading (backpressure_total ${bp0:-?} -> ${bp1:-?})" \
  [ "${bp1:-0}" -gt "${bp0:-0}" ]
rl_check "backpressure reaches the terminals (sim unconfirmed $unconf0 -> $unconf1)" \
  [ "${unconf1:-0}" -gt "${unconf0:-0}" ]
rl_check "every value confirmed while slow is already in PostgreSQL" [ "$src" = 0 ]
bound_kb=$(( ${RL_RSS_GROWTH_MB:-256} * 1024 ))
rl_check "master RSS bounded while slow ($rss0 -> max $rss_max kB)" [ $((rss_max - rss0)) -lt "$bound_kb" ]
rl_check "proxy RSS bounded while slow ($prss0 -> max $prss_max kB)" [ $((prss_max - prss0)) -lt "$bound_kb" ]
rl_check "master alive while slow" rl_alive "$RUN_PID"
# The front's sweep closed every connection it had just let go on, "no heartbeat within the
# liveness window" (an unsigned clock difference; fixed, test_front_sess.c).
rl_check "no terminal closed for liveness while slow" \
  bash -c "! grep -q 'liveness window' '$RL_DIR/run.log'"

t0=$(rl_now)
proxy_delay 0 || rl_ko "the proxy did not take the fast delay"
RL_REC=-1
# Recovered: the backlog the slow store left at the terminals is drained (the simulator's
# unconfirmed count back under max(100, 4 x its value before the slow phase)) and confirms
# flow. Not "the rate back to the fast rate": the fast rate measured at the start includes
# the simulator's catch-up burst, above what the terminals offer in the steady state.
unconf_ok=$(( unconf0 * 4 > 100 ? unconf0 * 4 : 100 ))
back() { local u; u=$(rl_sim_unconfirmed); [ "${u:-999999}" -le "$unconf_ok" ] && [ "$(rate 1)" -gt 0 ]; }
if rl_wait 40 back; then RL_REC=$(rl_since "$t0"); rl_ok "backlog drained (unconfirmed <= $unconf_ok) ${RL_REC}s after the delay is removed"
else rl_ko "backlog not drained within 40 s of the delay's removal (unconfirmed $(rl_sim_unconfirmed), bound $unconf_ok)"; fi

rl_finish_run
rl_figures "terminals=$terminals slow_us=$slow_us slow_s=$slow_s" \
  "rate_fast=$fast rate_slow=$slow unconfirmed_before=$unconf0 unconfirmed_slow=$unconf1" \
  "backpressure=$((${bp1:-0} - ${bp0:-0})) rss_before_kb=$rss0 rss_max_kb=$rss_max" \
  "proxy_rss_max_kb=$prss_max metrics_slow_s=$metrics_s recovery_s=$RL_REC snapshot_missing=$(echo "$snap" | tr ' ' '\n' | sed -n 's/^missing=//p')"
rl_results
