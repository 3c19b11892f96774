#!/usr/bin/env bash
# thesis.sh -- the thesis comparison: the same load against the queue-decoupled pipeline
# (`meterflow run`: the front confirms once the worker's batched transaction holding the
# report committed) and the "direct" legacy pipeline (bench_direct_front: the front writes
# each report in its own transaction before confirming), as the number of terminals rises.
#
#   bench/e2e/thesis.sh [-b sqlite|postgres] [-l "1000 3000 10000 18000"] [-d SECONDS]
#                       [-s "normal full"] [-r FRAMES_PER_TERMINAL_PER_S] [-f PER_FRONT]
#                       [-p "queue direct"] [-S section.key=value]... [-R RTT_MS]
#
# Every terminal sends one 0C F129 frame (8 points = 8 reports) every 1/r seconds (-r, default
# 1: --speed 60*r, --report-interval 60, phases spread over the interval), window 8, no daily
# values. Offered reports/s = terminals x 8 x r.
# -b sqlite (default): -s gives the SQLite synchronous modes to compare (normal: WAL without
# fsync per commit, the project default; full: fsync per commit, what a legacy "write before
# confirm" promised). -b postgres: a private PostgreSQL 15 (scripts/pg.sh: fsync on,
# synchronous_commit on, the server defaults) and a fresh database per point; both pipelines
# store into it (queue: the embedded queue with the PostgreSQL store; direct: one PostgreSQL
# transaction per frame); sync=on in the output; web.threads=1 (fewer idle connections: the
# server allows 50).
# -f PER_FRONT: one process holds at most ~19,000 connections here (ulimit -Hn 20000), so a
# point with T terminals runs ceil(T / PER_FRONT) masters of its pipeline on one port
# (SO_REUSEPORT; default 15000), each `meterflow run` with its own embedded queue and worker,
# each direct front with its own connections, all into the same store; and ceil(T / 15000)
# simulator processes. -p: the pipelines to run (default "queue direct"; "kafka": the thesis'
# architecture, see kafka_start_n; postgres only). -S: a setting for every master
# of both pipelines (e.g. -S front.threads=8: more I/O threads, so more direct writers).
# -R RTT_MS (postgres only): the database "on another machine" (a LAN between the masters and
# PostgreSQL): every master of both pipelines reaches PostgreSQL through bench_delay_proxy,
# which delays each direction by RTT_MS / 2 (this kernel has no netem); a fresh proxy per
# point, whose own line is appended to the point's (proxy_* keys: relayed chunks, lateness
# past the due time, its CPU seconds). -R 0 relays without delay (the relay's own cost).
# The simulator gives a frame up after 10 s without confirm (--retries 0: the link is closed
# and the terminal reconnects), so a saturated pipeline cannot stretch a point for minutes.
# Output: bench=thesis backend=.. pipeline=.. sync=.. terminals=.. rate=.. fronts=..
# offered_reports_per_s=.. reports_per_s=.. (confirmed reports over the whole run, logins and
# drain included) sustained_reports_per_s=.. sustained_pct=.. (confirmed while the load runs,
# from two report intervals after the start -- a terminal's first report comes one to two
# intervals after it -- once >= 99 % of the terminals are online, else from the middle of the
# load: e2e_sustained in lib.sh; "the load where direct saturates" is the lowest load at which
# direct's sustained rate is below 90 % of the offered one) confirm_p50_ms=..
# confirm_p99_ms=.. server_errors=.. (lines of the masters' logs naming an error)
# pg_fatal_total=.. (FATAL lines in PostgreSQL's log so far) link=loopback|proxy rtt_ms=..
# [set=..] [proxy_* keys] [-p kafka: stored_at_sim_end=.. stored_total=.. catchup_s=..]
# (MF_BENCH_RUNS runs of each point).
set -u
. "$(dirname "$0")/lib.sh"
backend=sqlite loads="1000 3000 10000 18000" dur=6 syncs="normal full" rate=1 per=15000
pipes="queue direct" extra=() rtt=""
[ "$(python3 -c "print(float('${MF_BENCH_SCALE:-1}') < 0.5)")" = True ] && { loads="1000 5000"; dur=3; }
while [ $# -gt 0 ]; do
  case $1 in -l) loads=$2; shift 2 ;; -d) dur=$2; shift 2 ;; -s) syncs=$2; shift 2 ;;
    -b) backend=$2; shift 2 ;; -r) rate=$2; shift 2 ;; -f) per=$2; shift 2 ;;
    -p) pipes=$2; shift 2 ;; -S) extra+=(--set "$2"); shift 2 ;; -R) rtt=$2; shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;; esac
done
pd="" ppid="" kd=""
cleanup() {
  [ "$BASHPID" = "$$" ] || exit # not in a background subshell
  [ -n "$ppid" ] && { kill "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null; }
  e2e_cleanup
  [ -n "$kd" ] && { bash "$e2e_root/scripts/kafka.sh" stop "$kd" >/dev/null 2>&1; rm -rf "$kd"; }
  [ -n "$pd" ] && { bash "$e2e_root/scripts/pg.sh" stop "$pd" >/dev/null 2>&1; rm -rf "$pd"; }
}
trap cleanup EXIT
case $backend in
  sqlite) ;;
  postgres)
    syncs=on
    pd=$(mktemp -d /tmp/mf-bench-thpg.XXXXXX)
    bash "$e2e_root/scripts/pg.sh" start "$pd" >"$pd.log" 2>&1 ||
      { echo "bench=thesis backend=postgres skipped=pg_start_failed"; rm -f "$pd.log"; exit 0; }
    rm -f "$pd.log"
    pgbase=$(cat "$pd/conninfo") ;;
  *) echo "thesis: -b sqlite|postgres" >&2; exit 2 ;;
esac
[ -n "$rtt" ] && [ "$backend" != postgres ] && { echo "thesis: -R needs -b postgres" >&2; exit 2; }
link="link=loopback"
[ -n "$rtt" ] && link="link=proxy rtt_ms=$rtt"
proxy_bin=$(dirname "$e2e_bin")/bench/bench_delay_proxy
kd=""
if [[ " $pipes " == *" kafka "* ]]; then
  [ "$backend" = postgres ] || { echo "thesis: -p kafka needs -b postgres" >&2; exit 2; }
  kd=$(mktemp -d /tmp/mf-bench-thk.XXXXXX)
  bash "$e2e_root/scripts/kafka.sh" start 1 "$kd" >"$kd.log" 2>&1 ||
    { echo "bench=thesis pipeline=kafka skipped=kafka_start_failed"; rm -f "$kd.log"; exit 0; }
  rm -f "$kd.log"
fi

# kafka_start_n DIR N [--set k=v]...: the thesis' own architecture (-p kafka): N `meterflow
# front` on one port (SO_REUSEPORT) producing to a private Kafka 0.9 broker (one broker,
# topics of 4 partitions, fresh per point), confirming once the broker acknowledged
# (acks=all), and min(N, 4) `meterflow worker` storing into PostgreSQL (through the proxy
# with -R) -- the first one alone until it created the schema. The front never touches the
# database. Sets e2e_port and e2e_srvs like e2e_start_n.
kafka_start_n() {
  local dir=$1 n=$2 i pid nw threads=2 a; shift 2
  for a in "$@"; do case $a in front.threads=*) threads=${a#front.threads=} ;; esac; done
  local pre="mft$npoint."
  bash "$e2e_root/scripts/kafka.sh" topics "$kd" "$pre" 4 >/dev/null 2>&1
  local common=(--set "meterflow.data_dir=$dir" --set queue.backend=kafka
                --set "kafka.bootstrap.servers=$(cat "$kd/bootstrap")" --set "queue.topic_prefix=$pre"
                --set meterflow.log_level=error "$@")
  nw=$(( n < 4 ? n : 4 )); e2e_srvs=()
  for i in $(seq "$nw"); do
    "$e2e_bin" worker "${common[@]}" --set worker.analytics=false >"$dir/worker$i.log" 2>&1 &
    pid=$!; e2e_srvs+=($pid); e2e_pids+=($pid)
    [ "$i" = 1 ] && for _ in $(seq 200); do # deadline 20 s: the schema exists
      [ "$(psql "${pgbase/dbname=postgres/dbname=$db}" -qAt -c "SELECT to_regclass('energy_report') IS NOT NULL" 2>/dev/null)" = t ] && break
      kill -0 "$pid" 2>/dev/null || return 1
      sleep 0.1
    done
  done
  e2e_port=$(e2e_free_port)
  for i in $(seq "$n"); do
    "$e2e_bin" front "${common[@]}" --set "front.port=$e2e_port" --set front.frames_per_sec=0 \
      --set front.login_per_min=1000000 >"$dir/front$i.log" 2>&1 &
    pid=$!; e2e_srvs+=($pid); e2e_pids+=($pid)
    for _ in $(seq 200); do
      [ "$(e2e_listeners "$e2e_port")" -ge $((i * threads)) ] && break
      kill -0 "$pid" 2>/dev/null || return 1
      sleep 0.1
    done
    [ "$(e2e_listeners "$e2e_port")" -ge $((i * threads)) ] || return 1
  done
}

# kafka_stored: after the load (-p kafka: confirmed = in the broker, stored later): reports
# stored in PostgreSQL when the simulator ended (energy_report rows, one per report), then
# after the workers caught up (count unchanged for 3 s, deadline 120 s) and how long that took.
kafka_stored() {
  local q="SELECT count(*) FROM energy_report" c0 c prev=-1 same=0 t0=$SECONDS
  c0=$(psql "${pgbase/dbname=postgres/dbname=$db}" -qAt -c "$q" 2>/dev/null)
  c=$c0
  while [ $((SECONDS - t0)) -lt 120 ] && [ $same -lt 3 ]; do
    sleep 1; c=$(psql "${pgbase/dbname=postgres/dbname=$db}" -qAt -c "$q" 2>/dev/null)
    if [ "$c" = "$prev" ]; then same=$((same + 1)); else same=0; prev=$c; fi
  done
  echo "stored_at_sim_end=${c0:-0} stored_total=${c:-0} catchup_s=$((SECONDS - t0 - same))"
}

# proxy_start: a fresh delay proxy to PostgreSQL (-R); sets pconn, the conninfo through it.
proxy_start() {
  local pgport pport
  pgport=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$pgbase")
  dus=$(python3 -c "print(round(float('$rtt') * 500))")
  "$proxy_bin" --target-port "$pgport" --delay-us "$dus" >"$tmp/proxy.out" 2>&1 &
  ppid=$!
  for _ in $(seq 100); do grep -qs "^ready" "$tmp/proxy.out" && break; sleep 0.05; done
  pport=$(sed -n 's/^ready port=//p' "$tmp/proxy.out")
  pconn=${pgbase/port=$pgport/port=$pport}
}

# proxy_stop: stop the proxy; prints its figures as proxy_* keys (nothing without -R).
proxy_stop() {
  [ -z "$ppid" ] && return 0
  kill "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null; ppid=""
  python3 - "$tmp/proxy.out" <<'PY'
import sys
l = [x for x in open(sys.argv[1]) if x.startswith("bench=delay_proxy")]
kv = dict(x.split("=", 1) for x in l[-1].split() if "=" in x) if l else {}
print("proxy_chunks=%s proxy_late_p50_us=%s proxy_late_p99_us=%s proxy_cpu_s=%.2f" % (
    int(kv.get("chunks_up", 0)) + int(kv.get("chunks_down", 0)), kv.get("late_p50_us", "-"),
    kv.get("late_p99_us", "-"), float(kv.get("cpu_user_s", 0)) + float(kv.get("cpu_sys_s", 0))))
PY
}
export PGOPTIONS="-c client_min_messages=warning"
speed=$(python3 -c "print(60 * float('$rate'))")
offered_per_term=$(python3 -c "print(8 * float('$rate'))")
npoint=0

# store_args SYNC PIPELINE: the --set arguments of the store for one point (postgres: a fresh database).
store_args() {
  if [ "$backend" = sqlite ]; then
    sargs=(--set "store.sqlite_sync=$1")
  else
    npoint=$((npoint + 1)); db=mft$npoint
    psql "$pgbase" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    local base=$pgbase
    [ -n "$rtt" ] && { proxy_start; base=$pconn; }
    sargs=(--set store.backend=postgres --set "store.pg_conninfo=${base/dbname=postgres/dbname=$db}")
    [ "$2" = queue ] && sargs+=(--set web.threads=1)
  fi
}
store_drop() { [ "$backend" = postgres ] && psql "$pgbase" -qAt -c "DROP DATABASE IF EXISTS $db" >/dev/null; }

# run_sims T: the simulator for T terminals into $tmp/sim<g>.out/.err; src = worst exit.
# A2 is 16 bits (65,535 terminals per region code), so past 50,000 terminals the load is
# split in groups of at most 50,000, each its own `meterflow sim` with the next region code
# (4403, 4404, ...) and seed, run at the same time; each group runs ceil(its terminals /
# 15,000) processes (one process holds at most ~19,000 open files here).
run_sims() {
  local t=$1 ng g tg gp r spids=()
  ng=$(( (t + 49999) / 50000 )); gsz=(); procs=0
  for g in $(seq 0 $((ng - 1))); do
    tg=$(( t / ng + (g < t % ng ? 1 : 0) )); gp=$(( (tg + 14999) / 15000 )); gsz+=($tg)
    procs=$((procs + gp))
    "$e2e_bin" sim --target 127.0.0.1:$e2e_port --terminals "$tg" --points 8 --procs $gp \
      --region $((4403 + g)) --source-addrs 127.0.0.2-127.0.0.254 --speed "$speed" \
      --report-interval 60 --duration "$dur" --window 8 --no-daily --no-curves \
      --start 2026-11-20T08:00 --seed $((11 + g)) --confirm-timeout 10000 --retries 0 \
      --backoff-max 2000 --progress >"$tmp/sim$g.out" 2>"$tmp/sim$g.err" &
    spids+=($!)
  done
  src=0
  for g in "${spids[@]}"; do wait "$g"; r=$?; [ $r -gt $src ] && src=$r; done
}

# sim_merge FILE...: one "sim:" summary line for all groups: counters summed, elapsed the
# longest, confirm p50 the frame-weighted mean of the groups' p50, p99 the largest p99 (the
# groups run the same load, so these differ little; one group: its own line unchanged).
sim_merge() {
  python3 - "$@" <<'PY'
import sys
rows = []
for fn in sys.argv[1:]:
    last = [l for l in open(fn, errors="replace") if l.startswith("sim:")]
    if last:
        rows.append(dict(x.split("=", 1) for x in last[-1].split() if "=" in x))
if len(rows) == 1:
    print("sim: " + " ".join("%s=%s" % kv for kv in rows[0].items()))
elif rows:
    out = {}
    for k in rows[0]:
        if k in ("elapsed_s",):
            out[k] = "%.1f" % max(float(r[k]) for r in rows)
        elif k == "confirm_p99_ms":
            out[k] = "%.2f" % max(float(r[k]) for r in rows)
        elif k == "confirm_p50_ms":
            w = sum(float(r["frames_confirmed"]) for r in rows) or 1
            out[k] = "%.2f" % (sum(float(r[k]) * float(r["frames_confirmed"]) for r in rows) / w)
        elif k != "frames_per_s":
            out[k] = str(sum(int(float(r[k])) for r in rows))
    out["frames_per_s"] = "%.0f" % (int(out["frames_confirmed"]) / float(out["elapsed_s"]))
    print("sim: " + " ".join("%s=%s" % kv for kv in out.items()))
PY
}

# sustained_sum: e2e_sustained of every group, rates summed (window: the shortest; online_at:
# the latest, -1 if a group never had 99 % of its terminals online).
sustained_sum() {
  local g line tot=0 win=1e9 on=0
  for g in "${!gsz[@]}"; do
    line=$(e2e_sustained "$tmp/sim$g.err" "${gsz[$g]}" "$dur" "$(python3 -c "print(2 / float('$rate'))")")
    tot=$(python3 -c "print($tot + $(e2e_kv "$line" sustained_reports_per_s))")
    win=$(python3 -c "print(min($win, $(e2e_kv "$line" window_s)))")
    on=$(python3 -c "a='$on'; b='$(e2e_kv "$line" online_at_s)'; print(-1 if -1 in (float(a), float(b)) else max(float(a), float(b)))")
  done
  echo "sustained_reports_per_s=$tot window_s=$win online_at_s=$on"
}

for run in $(seq "${MF_BENCH_RUNS:-1}"); do
  for sync in $syncs; do
    for t in $loads; do
      for p in $pipes; do
        tmp=$(mktemp -d /tmp/mf-bench-thesis.XXXXXX)
        fronts=$(( (t + per - 1) / per ))
        store_args "$sync" $p
        if [ $p = kafka ]; then kafka_start_n "$tmp" $fronts "${sargs[@]}" ${extra[@]+"${extra[@]}"}
        else e2e_start_n $p "$tmp" $fronts "${sargs[@]}" ${extra[@]+"${extra[@]}"}; fi
        if [ $? -ne 0 ]; then
          echo "thesis: $p did not start" >&2; tail -3 "$tmp"/*.log >&2
          e2e_stop_n; proxy_stop >/dev/null; store_drop; rm -rf "$tmp"; continue
        fi
        l0=$(cut -d' ' -f1 /proc/loadavg)
        run_sims "$t"
        kx=""
        [ $p = kafka ] && kx=$(kafka_stored)
        e2e_stop_n
        # errors the masters logged (e.g. a store handle that could not connect) and
        # FATAL lines in PostgreSQL's log so far (e.g. too many connections)
        kx="${kx:+$kx }server_errors=$(cat "$tmp"/*.log 2>/dev/null | grep -ci 'error\|store_open\|fatal')"
        [ -n "$pd" ] && kx="$kx pg_fatal_total=$(grep -c FATAL "$pd/log" 2>/dev/null)"
        px=$(proxy_stop)
        store_drop
        s=$(sim_merge "$tmp"/sim*.out)
        [ -z "$s" ] && { echo "thesis: no sim summary:" >&2; grep -hv '^ *[0-9.]*s ' "$tmp"/sim*.err | tail -3 >&2; }
        off=$(python3 -c "print(round($t * $offered_per_term))")
        sus=$(sustained_sum)
        pct=$(python3 -c "print(round(100.0 * $(e2e_kv "$sus" sustained_reports_per_s) / $off, 1))")
        echo "$(e2e_sim_line "$s" "bench=thesis backend=$backend pipeline=$p sync=$sync terminals=$t rate=$rate fronts=$fronts procs=$procs offered_reports_per_s=$off run=$run sim_exit=$src") $sus sustained_pct=$pct load1=$l0 $link${kx:+ $kx}${extra[*]:+ set=$(IFS=,; echo "${extra[*]}" | sed 's/--set,//g')}${px:+ $px}"
        rm -rf "$tmp"
      done
    done
  done
done
