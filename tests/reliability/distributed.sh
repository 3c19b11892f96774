#!/usr/bin/env bash
# distributed.sh -- faults in the distributed setup: `meterflow front`, `meterflow worker`
# (x2), `meterflow web` around Apache Kafka 0.9.0.1 (scripts/kafka.sh) and PostgreSQL
# (scripts/pg.sh), loaded by the simulator. The faults, in order (RL_FAULTS to pick):
#   front    kill -9 of the front, restarted (terminals reconnect, retransmit)
#   worker   kill -9 of one worker, restarted (the other takes its partitions meanwhile)
#   web      kill -9 of the web process, restarted (/api/health answers again)
#   broker   (RL_BROKERS=3 only) one broker stopped under load and started again
#   brokerkill, nomajority, kdiskfull (RL_BROKERS=3 only) a broker's JVM killed (kill -9),
#            two of three killed (acks=all impossible), a broker's log dir full: see
#            kafka_faults.sh
#   pgstop   PostgreSQL stopped (fast shutdown) for RL_PG_DOWN s, started again
#   pgfreeze PostgreSQL's postmaster and backends SIGSTOPped for RL_PG_DOWN s (a stuck store)
# After each: confirms resume by themselves (recovery time measured). At the end: the
# simulator has nothing unconfirmed and every confirmed value is in PostgreSQL exactly once
# (ledger_check.py --pg), and `meterflow sim --verify --pg` agrees when the build has it.
# Environment: RL_BROKERS (1|3, default 3), RL_TERMINALS (100), RL_POINTS (8),
# RL_DURATION (load seconds; default: enough for the faults), RL_PG_DOWN (8).
set -u
RL_NAME=${RL_NAME:-distributed}
. "$(dirname "$0")/lib.sh"

brokers=${RL_BROKERS:-3}
terminals=${RL_TERMINALS:-100}
points=${RL_POINTS:-8}
faults=${RL_FAULTS:-front worker web broker pgstop pgfreeze}
pgdown=${RL_PG_DOWN:-8}
nf=$(wc -w <<<"$faults")
# an outage longer than the 30 s per fault would outlast the load (no confirm after the repair)
duration=${RL_DURATION:-$((30 + nf * 30 + (pgdown > 30 ? pgdown : 0)))}
K=$RL_TMP/kafka; PG=$RL_TMP/pg
chmod 755 "$RL_TMP"   # the postgres user must reach $PG
RL_CLEANUPS+=("bash '$RL_ROOT/scripts/kafka.sh' stop '$K'" "pg_pids | xargs -r kill -CONT; bash '$RL_ROOT/scripts/pg.sh' stop '$PG'")
. "$(dirname "$0")/kafka_faults.sh"
kf_setup

t=$(rl_now)
bash "$RL_ROOT/scripts/kafka.sh" start "$brokers" "$K" >"$RL_TMP/kafka.out" 2>&1 ||
  { rl_ko "kafka.sh start $brokers"; tail -5 "$RL_TMP/kafka.out"; rl_results; exit 1; }
bash "$RL_ROOT/scripts/kafka.sh" topics "$K" meterflow. 8 >>"$RL_TMP/kafka.out" 2>&1 ||
  rl_ko "kafka.sh topics"
bash "$RL_ROOT/scripts/pg.sh" start "$PG" >"$RL_TMP/pg.out" 2>&1 ||
  { rl_ko "pg.sh start"; tail -5 "$RL_TMP/pg.out"; rl_results; exit 1; }
echo "set-up: $brokers broker(s) + PostgreSQL in $(rl_since "$t") s"
conninfo=$(cat "$PG/conninfo")
tp=$(rl_port); hp=$(rl_port)
cat >"$RL_TMP/mf.ini" <<INI
[meterflow]
data_dir = $RL_TMP/var
[queue]
backend = kafka
[store]
backend = postgres
pg_conninfo = $conninfo
[front]
port = $tp
[web]
port = $hp
[kafka]
bootstrap.servers = $(cat "$K/bootstrap")
INI
mkdir -p "$RL_TMP/var"

declare -A PID
start_role() { # start_role NAME ARGS...: a role process, logging to $RL_TMP/NAME.log
  local name=$1; shift
  "$MF" "$@" -c "$RL_TMP/mf.ini" >>"$RL_TMP/$name.log" 2>&1 &
  PID[$name]=$!; RL_PIDS+=("$!")
}
start_role worker1 worker --set meterflow.node_id=11
start_role worker2 worker --set meterflow.node_id=12 --set worker.analytics=false
start_role web web
start_role front front --set meterflow.node_id=1
listening() { ss -Htln "( sport = :$tp )" | grep -q .; }
rl_wait 90 listening || { rl_ko "front not listening"; tail -5 "$RL_TMP/front.log"; rl_results; exit 1; }
rl_wait 60 rl_health "$hp" || rl_ko "web not answering"

rl_sim_load "$tp" "$terminals" "$points" "$duration" --confirm-timeout 5000 --backoff-max 3000
ledger=$RL_LEDGER
rl_wait 120 rl_ledger_grows "$ledger" 2000 || rl_ko "no confirms before the first fault"

figs=""
resumed() { # resumed NAME T0 BASE: wait for the ledger to grow past BASE, record the time
  rl_resumed "after the $1 repair" "$2" "$3" 180; figs+=" ${1}_recovery_s=$RL_REC"
}
# Our PostgreSQL only (other engineers run their own): the postmaster of $PG and its children.
pg_pids() { local pm; pm=$(head -1 "$PG/data/postmaster.pid" 2>/dev/null) && echo "$pm" && pgrep -P "$pm"; }

for f in $faults; do
  base=$(rl_lines "$ledger")
  rl_wait 60 rl_ledger_grows "$ledger" $((base + 1000)) || rl_ko "$f: no progress before the fault"
  case $f in
  front|worker|web)
    name=$f; [ "$f" = worker ] && name=worker1
    kill -KILL "${PID[$name]}"; wait "${PID[$name]}" 2>/dev/null
    rl_wait 2 false
    before=$(rl_lines "$ledger"); t0=$(rl_now)
    case $f in
    front) start_role front front --set meterflow.node_id=1 ;;
    worker) start_role worker1 worker --set meterflow.node_id=11 ;;
    web) start_role web web
         rl_wait 60 rl_health "$hp" && rl_ok "web: /api/health again $(rl_since "$t0") s after the restart" ||
           rl_ko "web: no health after restart" ;;
    esac
    resumed "$f" "$t0" "$before" ;;
  broker)
    [ "$brokers" = 3 ] || continue
    bash "$RL_ROOT/scripts/kafka.sh" broker-stop "$K" 1 >>"$RL_TMP/kafka.out" 2>&1
    # with one broker of three down (min.insync.replicas 2), acks=all still succeeds
    b=$(rl_lines "$ledger")
    rl_wait 120 rl_ledger_grows "$ledger" $((b + 1000)) && rl_ok "broker: confirms go on with a broker down" ||
      rl_ko "broker: no confirm with one broker of three down"
    bash "$RL_ROOT/scripts/kafka.sh" broker-start "$K" 1 >>"$RL_TMP/kafka.out" 2>&1
    before=$(rl_lines "$ledger"); t0=$(rl_now)
    resumed broker "$t0" "$before" ;;
  brokerkill|nomajority|kdiskfull)
    [ "$brokers" = 3 ] || continue
    "kf_$f" ;;
  pgstop|pgfreeze)
    if [ "$f" = pgstop ]; then bash "$RL_ROOT/scripts/pg.sh" stop "$PG" >>"$RL_TMP/pg.out" 2>&1
    else pg_pids | xargs -r kill -STOP; fi
    rl_wait 5 false
    frozen=$(rl_lines "$ledger"); rss0=$(rl_rss_kb "${PID[front]}"); rssw=$(rl_rss_kb "${PID[worker1]}")
    rl_hold_rss "$pgdown" "${PID[front]}" "${PID[worker1]}"
    after=$(rl_lines "$ledger")
    rss1=${RL_RSS_PEAK[0]}; rssw1=${RL_RSS_PEAK[1]}
    # Kafka mode: the front confirms when Kafka has the frame (the queue is the durable
    # hand-off), so confirms may go on while PostgreSQL is away; the workers must retry and
    # store everything once it is back, holding their batch meanwhile (bounded memory).
    rl_ok "$f: ledger $frozen -> $after while PostgreSQL is away (front RSS $rss0 -> max $rss1 kB, worker $rssw -> max $rssw1 kB)"
    rl_check "$f: front and worker RSS bounded while PostgreSQL is away (growth < ${RL_RSS_GROWTH_MB:-256} MB)" \
      [ $((rss1 - rss0)) -lt $(( ${RL_RSS_GROWTH_MB:-256} * 1024 )) -a $((rssw1 - rssw)) -lt $(( ${RL_RSS_GROWTH_MB:-256} * 1024 )) ]
    figs+=" ${f}_confirms_while_down=$((after - frozen)) ${f}_worker_rss_kb=$rssw1"
    if [ "$f" = pgstop ]; then bash "$RL_ROOT/scripts/pg.sh" start "$PG" >>"$RL_TMP/pg.out" 2>&1 || rl_ko "pg restart"
    else pg_pids | xargs -r kill -CONT; fi
    t0=$(rl_now)
    rl_check "$f: workers and front still alive" bash -c "kill -0 ${PID[worker1]} && kill -0 ${PID[worker2]} && kill -0 ${PID[front]}"
    resumed "$f" "$t0" "$after" ;;
  esac
done

rl_end_sim $((duration + 300))
# The workers store what Kafka holds: wait until the store has every confirmed key.
t0=$(rl_now)
stored() { $RL_CHECK --ledger "$ledger" --pg "$conninfo" >"$RL_TMP/check.out" 2>&1; }
rl_wait 300 stored
drain=$(rl_since "$t0")
RL_OUT=$(cat "$RL_TMP/check.out"); echo "$RL_OUT"
rl_check "every confirmed value stored once in PostgreSQL, same value (drain ${drain}s after the sim ended)" stored
rl_sim_verify --pg "$conninfo"
for r in front worker1 worker2 web; do
  n=$(grep -cE " (W|E) " "$RL_TMP/$r.log"); echo "$r: $n warnings/errors; first: $(grep -E " (W|E) " "$RL_TMP/$r.log" | head -2 | cut -c1-150 | tr '\n' '|')"
done
rl_figures "brokers=$brokers terminals=$terminals faults=\"$faults\"" "drain_s=$drain$figs"
rl_results
