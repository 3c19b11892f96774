#!/usr/bin/env bash
# sim_e2e.sh -- end to end: `meterflow run` (front + embedded queue + worker + SQLite) with
# simulated terminals: `meterflow sim --duration` must exit 0 (everything it sent was
# confirmed), and `meterflow sim --verify` must find every confirmed value in the store,
# exactly once, with the same value (0 missing, 0 mismatched). Also imports the simulator's
# master data and checks that `--score` runs against the same store.
# Appends "sim_e2e <passed> <failed>" to $MF_RESULTS.
set -u
cd "$(dirname "$0")/../.."
bin=build/${MF_BUILD:-release}/meterflow
[ -x "$bin" ] || bin=build/asan/meterflow
tmp=$(mktemp -d /tmp/mf-sim-e2e.XXXXXX)
pass=0; fail=0
ok() { echo "ok   sim_e2e: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL sim_e2e: $1"; fail=$((fail + 1)); }
finish() {
  echo "sim_e2e $pass $fail"
  [ -n "${MF_RESULTS:-}" ] && echo "sim_e2e $pass $fail" >>"$MF_RESULTS"
  [ $fail = 0 ]
}
pgdir=
cleanup() {
  [ -n "${run_pid:-}" ] && kill "$run_pid" 2>/dev/null
  wait 2>/dev/null
  [ -n "$pgdir" ] && { bash scripts/pg.sh stop "$pgdir" >/dev/null 2>&1; rm -rf "$pgdir"; }
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
tport=$(free_port); hport=$(free_port)
set_args=(--set "meterflow.data_dir=$tmp" --set "front.port=$tport" --set "web.port=$hport"
          --set "meterflow.log_level=warn")

"$bin" sim --terminals 30 --points 6 --areas 5 --seed 5 --start 2026-11-20T23:40 --speed 1440 \
  --duration 1 --fault stopped:1 --fault theft:1 --master-data "$tmp" \
  --ground-truth "$tmp/gt.jsonl" --dry-run || ko "sim --dry-run"   # the layout files only
for kind in areas terminals meters; do
  "$bin" import "${set_args[@]}" "$kind" "$tmp/$kind.csv" >/dev/null 2>"$tmp/import.err" \
    || { ko "import $kind: $(tail -1 "$tmp/import.err")"; }
done

"$bin" run "${set_args[@]}" >"$tmp/run.log" 2>&1 &
run_pid=$!
up=0
for _ in $(seq 100); do  # wait for the terminal port, with a deadline
  python3 -c "import socket;socket.create_connection(('127.0.0.1',$tport),0.2).close()" 2>/dev/null \
    && { up=1; break; }
  kill -0 $run_pid 2>/dev/null || break
  sleep 0.1
done
[ $up = 1 ] && ok "meterflow run listens" || { ko "meterflow run did not start"; tail -5 "$tmp/run.log"; finish; exit 1; }

# 30 terminals x 6 points from 23:40 at a day per minute for 15 s: F129 reports, the daily
# F161 + F101 curves after midnight, events (ERC14/13/24) and the master's event reads.
"$bin" sim --target 127.0.0.1:$tport --terminals 30 --points 6 --areas 5 --seed 5 \
  --start 2026-11-20T23:40 --speed 1440 --duration 15 --erc14-rate 3 --erc13-rate 2 \
  --erc24-rate 2 --heartbeat 5 --fault stopped:1 --fault theft:1 \
  --ledger "$tmp/ledger" >"$tmp/sim.out" 2>"$tmp/sim.err"
rc=$?
cat "$tmp/sim.out"
[ $rc = 0 ] && ok "sim exit 0: every frame confirmed" || { ko "sim exit $rc"; tail -5 "$tmp/sim.err"; }
grep -q " day_fwd_active 2026-11-20 " "$tmp/ledger" && ok "daily frozen values confirmed" || ko "no daily values in the ledger"
grep -q " curve_fwd_active " "$tmp/ledger" && ok "curves confirmed" || ko "no curves in the ledger"

# The worker commits before the front confirms, so everything confirmed is already stored.
"$bin" sim --verify --ledger "$tmp/ledger" --db "$tmp/meterflow.db" >"$tmp/verify.out" 2>&1
vrc=$?
cat "$tmp/verify.out"
[ $vrc = 0 ] && ok "verify: every confirmed value stored once with its value" || ko "verify exit $vrc"
grep -q "missing=0 mismatched=0 duplicated=0" "$tmp/verify.out" && ok "0 missing, 0 mismatched" || ko "verify counts"

# verify must be able to fail: a value the store cannot have
cp "$tmp/ledger" "$tmp/ledger.bad"
echo "4403-0001 1 fwd_active 2026-11-20T23:41 0 1.0000" >>"$tmp/ledger.bad"
"$bin" sim --verify --ledger "$tmp/ledger.bad" --db "$tmp/meterflow.db" >/dev/null 2>&1
[ $? = 1 ] && ok "verify fails on a value the store lacks" || ko "verify did not fail"

# A crash of the master in the middle: kill -9, restart on the same port and data. The
# terminals reconnect, re-send what was never confirmed, and nothing confirmed is lost.
start_run() {
  "$bin" run "${set_args[@]}" >>"$tmp/run.log" 2>&1 &
  run_pid=$!
  for _ in $(seq 100); do
    python3 -c "import socket;socket.create_connection(('127.0.0.1',$tport),0.2).close()" \
      2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
"$bin" sim --target 127.0.0.1:$tport --terminals 40 --points 4 --seed 6 --speed 600 \
  --report-interval 60 --duration 14 --confirm-timeout 2000 --backoff-min 200 \
  --backoff-max 1000 --ledger "$tmp/ledger2" >"$tmp/sim2.out" 2>"$tmp/sim2.err" &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/ledger2" ] && break; sleep 0.1; done  # reports flowing
sleep 1
kill -9 $run_pid; wait $run_pid 2>/dev/null
sleep 1
start_run || ko "restart of meterflow run"
wait $sim_pid; rc=$?
cat "$tmp/sim2.out"
[ $rc = 0 ] && ok "master killed and restarted: sim exit 0" || { ko "sim exit $rc after the crash"; tail -3 "$tmp/sim2.err"; }
logins=$(sed -n 's/.* logins=\([0-9]*\) .*/\1/p' "$tmp/sim2.out")
[ "${logins:-0}" -gt 40 ] && ok "terminals logged in again ($logins logins)" || ko "no re-login"
"$bin" sim --verify --ledger "$tmp/ledger2" --db "$tmp/meterflow.db" >"$tmp/verify2.out" 2>&1
vrc=$?
head -1 "$tmp/verify2.out"
[ $vrc = 0 ] && ok "after the crash: 0 missing, 0 mismatched" || ko "verify after the crash: exit $vrc"

# The same against PostgreSQL: meterflow run with [store] backend = postgres, sim --verify --pg.
kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; run_pid=
pgdir=$(mktemp -d /tmp/mf-sim-pg.XXXXXX)
if bash scripts/pg.sh start "$pgdir" >/dev/null 2>&1; then
  conninfo=$(cat "$pgdir/conninfo")
  mkdir -p "$tmp/pgrun"
  set_args=(--set "meterflow.data_dir=$tmp/pgrun" --set "front.port=$tport" --set "web.port=$hport"
            --set "meterflow.log_level=warn" --set "store.backend=postgres"
            --set "store.pg_conninfo=$conninfo")
  if start_run; then
    "$bin" sim --target 127.0.0.1:$tport --terminals 20 --points 4 --seed 7 --speed 1440 \
      --start 2026-11-20T23:50 --duration 6 --erc14-rate 5 --ledger "$tmp/ledger3" \
      >"$tmp/sim3.out" 2>"$tmp/sim3.err"
    [ $? = 0 ] && ok "postgres: sim exit 0" || ko "postgres: sim exit not 0"
    "$bin" sim --verify --ledger "$tmp/ledger3" --pg "$conninfo" >"$tmp/verify3.out" 2>&1
    vrc=$?
    head -1 "$tmp/verify3.out"
    [ $vrc = 0 ] && ok "postgres: verify 0 missing, 0 mismatched" || ko "postgres: verify exit $vrc"
  else
    ko "meterflow run on postgres did not start"; tail -3 "$tmp/run.log"
  fi
else
  ko "could not start a private PostgreSQL (scripts/pg.sh)"
fi

"$bin" sim --score --ground-truth "$tmp/gt.jsonl" --db "$tmp/meterflow.db" >"$tmp/score.out" 2>&1 \
  && grep -q "kind=stopped" "$tmp/score.out" && ok "score runs" || ko "score"
cat "$tmp/score.out"
finish
