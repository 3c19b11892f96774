#!/usr/bin/env bash
# web_e2e.sh -- the panel end to end: `meterflow run` (front + embedded queue + worker +
# SQLite + web) with master data from the simulator and 20 simulated terminals reporting,
# then tests/browser/panel.mjs against it (login, dashboard numbers, a read command answered
# by a simulated terminal through front and worker, point charts, language) and three API
# commands that must reach "answered". Appends "web_e2e <passed> <failed>" to $MF_RESULTS.
set -u
cd "$(dirname "$0")/../.."
B=${MF_BUILD:-release}
bin=build/$B/meterflow
suite=web_e2e
record() { [ -n "${MF_RESULTS:-}" ] && echo "$suite $1 $2" >>"$MF_RESULTS"; echo "$suite: $1 passed, $2 failed"; }
make -s -j2 BUILD="$B" "$bin" >/dev/null 2>&1 || { record 0 1; exit 1; }
bash scripts/web-build.sh >/dev/null || { record 0 1; exit 1; }
tmp=$(mktemp -d /tmp/mf-web-e2e.XXXXXX)
run_pid=; sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
  [ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null
  wait 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
tport=$(free_port); hport=$(free_port)
S=(--set "meterflow.data_dir=$tmp" --set "front.port=$tport" --set "web.port=$hport"
   --set "meterflow.log_level=warn" --set "web.static_dir=$PWD/web/dist")
"$bin" sim --terminals 20 --points 4 --areas 3 --seed 5 --master-data "$tmp" --dry-run >/dev/null 2>&1
for k in areas terminals meters; do "$bin" import "${S[@]}" "$k" "$tmp/$k.csv" >/dev/null || { record 0 1; exit 1; }; done
echo "e2e-pass-1" | "$bin" user "${S[@]}" add admin --role admin || { record 0 1; exit 1; }
"$bin" run "${S[@]}" >"$tmp/run.log" 2>&1 &
run_pid=$!
up=0
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$hport/api/health" >/dev/null 2>&1 && { up=1; break; }
  kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1
done
[ $up = 1 ] || { tail -5 "$tmp/run.log"; record 0 1; exit 1; }
"$bin" sim --target "127.0.0.1:$tport" --terminals 20 --points 4 --areas 3 --seed 5 --speed 60 \
  --duration 300 --heartbeat 5 >"$tmp/sim.out" 2>&1 &
sim_pid=$!
# wait (with a deadline) until every simulated terminal is online
tok=$(curl -s -H 'Content-Type: application/json' -d '{"username":"admin","password":"e2e-pass-1"}' \
  "http://127.0.0.1:$hport/api/login" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
for _ in $(seq 150); do
  n=$(curl -s -H "Authorization: Bearer $tok" "http://127.0.0.1:$hport/api/kpi/summary" |
      python3 -c 'import sys,json;print(json.load(sys.stdin)["terminals"]["online"])' 2>/dev/null)
  [ "${n:-0}" -ge 20 ] && break; sleep 0.2
done
p=0; f=0
[ "${n:-0}" -ge 20 ] && p=$((p + 1)) || { f=$((f + 1)); echo "not ok - 20 terminals online (${n:-0})"; }
# three commands through front -> terminal -> worker -> store
ids=()
for ty in read_current clock_sync read_meter_config; do
  id=$(curl -s -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d "{\"terminal\":\"4403-0001\",\"type\":\"$ty\"}" "http://127.0.0.1:$hport/api/commands" |
    python3 -c 'import sys,json;print(json.load(sys.stdin).get("id",0))')
  ids+=("$id")
done
for id in "${ids[@]}"; do
  st=
  for _ in $(seq 150); do
    st=$(curl -s -H "Authorization: Bearer $tok" "http://127.0.0.1:$hport/api/commands/$id" |
         python3 -c 'import sys,json;print(json.load(sys.stdin).get("state"))' 2>/dev/null)
    [ "$st" = answered ] && break; sleep 0.2
  done
  [ "$st" = answered ] && p=$((p + 1)) || { f=$((f + 1)); echo "not ok - command $id answered ($st)"; }
done
out=$(MF_BASE_URL="http://127.0.0.1:$hport" MF_USER=admin MF_PASSWORD=e2e-pass-1 MF_TERMINAL=4403-0002 \
  node tests/browser/panel.mjs 2>&1); rc=$?
echo "$out" | grep -v '^ok ' | tail -20
[ $rc -ne 0 ] && curl -s -H "Authorization: Bearer $tok" "http://127.0.0.1:$hport/api/commands?page_size=3" | head -c 3000
bp=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p'); bp=${bp:-0}
bf=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p'); bf=${bf:-0}
[ $rc -ne 0 ] && [ "$bf" = 0 ] && bf=1
record $((p + bp)) $((f + bf))
[ $((f + bf)) = 0 ]
