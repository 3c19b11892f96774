#!/usr/bin/env bash
# distributed.sh -- the distributed setup end to end, every role its own process
# (tests/lib/cluster.sh): Apache Kafka 0.9.0.1 (1 broker, topics with 4 partitions) and
# PostgreSQL; `meterflow front`, `meterflow worker`, `meterflow web` started with INI files.
#   1. one front + one worker + one web: master data imported, admin user created; simulated
#      terminals cross a midnight; every frame confirmed; sim --verify against PostgreSQL
#      0 missing / 0 mismatched; the web API shows the terminal online, energy, daily values.
#   2. two workers in one consumer group share the uplink partitions: both consume, the sum
#      of what they consumed equals what was produced on uplink (nothing twice), verify clean.
#   3. two fronts on two ports, half the terminals each: a command through the web API for a
#      terminal of the second front is answered (and one of the first front); a command for a
#      registered terminal that is not connected is refused (409) and stored as failed;
#      then two fronts on ONE port (SO_REUSEPORT): the terminals spread over both, verify clean;
#      the web's /metrics shows the terminals and the answered commands.
#   4. the readings / sessions / events topics read back with kcat match QUEUE.md's schemas.
#   5. config errors: each role refuses an unknown key and a bad value, naming it.
#   Front and worker of 1. serve GET /metrics on their own [metrics] port: counters checked.
# Appends "distributed <passed> <failed>" to $MF_RESULTS. Alone: bash tests/integ/distributed.sh
set -u
cd "$(dirname "$0")/../.."
source tests/lib/cluster.sh
pass=0; fail=0
ok() { echo "ok   distributed: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL distributed: $1"; fail=$((fail + 1)); }
finish() {
  echo "distributed $pass $fail"
  [ -n "${MF_RESULTS:-}" ] && echo "distributed $pass $fail" >>"$MF_RESULTS"
  [ $fail = 0 ]
}
check() { if "${@:2}"; then ok "$1"; else ko "$1"; fi; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }  # exit status = test
D=$CL_DIR
PW=distributed-admin-pw

# ---- 5 first (no servers needed beyond the config parser; a broker address is enough) ----
cfg_refused() { # ROLE SETTING WORD: exit != 0 and stderr names WORD
  local out rc
  out=$(timeout 20 "$CL_BIN" "$1" --set queue.backend=kafka \
    --set kafka.bootstrap.servers=127.0.0.1:1 --set "$2" 2>&1 </dev/null); rc=$?
  [ $rc != 0 ] && [ $rc != 124 ] && echo "$out" | grep -q -- "$3" && return 0
  echo "  $1 --set $2: exit $rc: $(echo "$out" | head -2)"; return 1
}
for role in front worker web; do
  check "5. $role refuses an unknown key" cfg_refused "$role" "$role.no_such_key=1" no_such_key
done
check "5. front refuses a bad value" cfg_refused front front.port=70000 port
check "5. worker refuses a bad value" cfg_refused worker worker.batch_max_ms=fast batch_max_ms
check "5. web refuses a bad value" cfg_refused web web.port=-3 port
check "5. worker refuses a bad enum" cfg_refused worker worker.publish=sometimes publish
check "5. front refuses an unknown [kafka] property" cfg_refused front kafka.no.such.prop=1 no.such.prop
printf '[front]\nthreads = 2\nlisten_port = 9300\n' >"$D/bad.ini"
out=$("$CL_BIN" front -c "$D/bad.ini" 2>&1 </dev/null); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q listen_port && ok "5. an unknown key in an INI file is refused, named" \
  || ko "5. INI unknown key: exit $rc: $out"

for role in front worker web; do  # the examples of docs/OPERATIONS.md are valid configs
  "$CL_BIN" "$role" -c "docs/examples/$role.ini" --help >/dev/null 2>"$D/ex.err" \
    && ok "5. docs/examples/$role.ini accepted by meterflow $role" \
    || ko "5. docs/examples/$role.ini: $(head -1 "$D/ex.err")"
done

# ---- the cluster ----
if ! cl_kafka_start 4; then ko "Kafka did not start"; finish; exit 1; fi
if ! cl_pg_start; then ko "PostgreSQL did not start"; finish; exit 1; fi
# Layout: sim A = 30 terminals 4403-0001..001E on front f1; sim B = 30 terminals from
# 4403-0065 (A2 101) on front f2, of which only 20 connect (4403-0079.. stay offline).
SIMA=(--terminals 30 --points 6 --areas 5 --seed 5)
SIMB=(--terminals 30 --points 2 --areas 5 --seed 9 --first-address 101)
mkdir -p "$D/mda" "$D/mdb"
"$CL_BIN" sim "${SIMA[@]}" --duration 1 --master-data "$D/mda" --dry-run &&
  "$CL_BIN" sim "${SIMB[@]}" --duration 1 --master-data "$D/mdb" --dry-run || ko "sim --dry-run"
cl_ini admin
imp=0
for k in areas terminals meters; do cl_mf admin import "$k" "$D/mda/$k.csv" >/dev/null || imp=1; done
for k in terminals meters; do cl_mf admin import "$k" "$D/mdb/$k.csv" >/dev/null || imp=1; done
[ $imp = 0 ] && ok "master data imported into PostgreSQL" || ko "import"
echo "$PW" | cl_mf admin user add admin --role admin >/dev/null && ok "admin user created" || ko "user add"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
MP_W=$(free_port); MP_F=$(free_port)   # [metrics] endpoints of the worker and the front
cl_worker w1 meterflow.node_id=11 worker.analytics=true metrics.port="$MP_W" || ko "worker w1 start"
cl_front f1 meterflow.node_id=1 metrics.port="$MP_F" || ko "front f1 start"
cl_web web meterflow.node_id=21 || { ko "web start"; finish; exit 1; }
cl_login admin "$PW" && ok "admin logs in through the web" || ko "login"

online() { # TERMINAL true|false: the web API says so
  cl_api GET "/api/terminals/$1?frames=0"
  [ "$CL_HTTP" = 200 ] && echo "$CL_BODY" | jq_py "sys.exit(d['online'] is not $2)"
}
verify_clean() { # LEDGER: sim --verify against PostgreSQL, 0 missing / 0 mismatched
  "$CL_BIN" sim --verify --ledger "$1" --pg "$CL_PG" >"$1.verify" 2>&1 &&
    grep -q "missing=0 mismatched=0 duplicated=0" "$1.verify"
}
uplink_count() { cl_kcat -C -t "${CL_PREFIX}uplink" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l; }

# ---- 1. front + worker + web ----
# From 23:40 at a day per minute: F129 reports, then the daily F161 + curves after midnight.
"$CL_BIN" sim --target "127.0.0.1:${CL_PORT[f1]}" "${SIMA[@]}" --start 2026-11-20T23:40 \
  --speed 1440 --duration 15 --heartbeat 5 --erc14-rate 3 --erc13-rate 2 --ledger "$D/ledger1" >"$D/sim1.out" 2>"$D/sim1.err" &
sim=$!
cl_wait 20 online 4403-0001 True && ok "1. terminal detail says online while connected" \
  || ko "1. terminal 4403-0001 not online in the API"
wait $sim; rc=$?
cat "$D/sim1.out"
[ $rc = 0 ] && ok "1. sim exit 0: every frame confirmed through the front" \
  || { ko "1. sim exit $rc"; tail -3 "$D/sim1.err"; }
grep -q " day_fwd_active 2026-11-20 " "$D/ledger1" && ok "1. daily values (after midnight) confirmed" \
  || ko "1. no daily value in the ledger"
# The front confirms once Kafka has a frame, the worker stores it afterwards: wait for it.
cl_wait 30 verify_clean "$D/ledger1" && ok "1. verify against PostgreSQL: 0 missing, 0 mismatched" \
  || { ko "1. verify"; head -3 "$D/ledger1.verify"; }
cl_wait 20 online 4403-0001 False && ok "1. offline after the simulator's logout" || ko "1. still online"
# Fronts and workers are their own processes: each answers GET /metrics on [metrics] port.
metric() { # PORT NAME: the value of an unlabelled sample (empty when absent)
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1==n {print $2; exit}'
}
scrape_ok() { # the front saw the simulator's logins and frames; the worker stored them
  local li fi wm wr
  li=$(metric "$MP_F" meterflow_front_logins_total); fi=$(metric "$MP_F" meterflow_front_frames_in_total)
  wm=$(metric "$MP_W" meterflow_worker_messages_total); wr=$(metric "$MP_W" meterflow_worker_records_total)
  echo "  front /metrics: logins=$li frames_in=$fi; worker /metrics: messages=$wm records=$wr"
  python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; sys.exit(not (len(v)==4 and v[0]>=30 and v[1]>v[0] and v[2]>0 and v[3]>0))" \
    "$li" "$fi" "$wm" "$wr"
}
curl -s --max-time 5 "http://127.0.0.1:$MP_F/metrics" | grep -q '^meterflow_up{role="front"} 1$' \
  && curl -s --max-time 5 "http://127.0.0.1:$MP_W/metrics" | grep -q '^meterflow_up{role="worker"} 1$' \
  && ok "1. front and worker processes answer GET /metrics on their [metrics] ports" \
  || ko "1. front/worker /metrics not answering"
scrape_ok && ok "1. their counters: 30 logins, frames in, worker messages and records stored" \
  || ko "1. front/worker /metrics counters"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP_F/api/health")" = 404 ] \
  && ok "1. the metrics port serves nothing else (404)" || ko "1. metrics port answers other paths"
cl_api GET "/api/terminals/4403-0001/points/1/energy?from=2026-11-20&to=2026-11-22"
echo "$CL_BODY" | jq_py "it=[i for i in d['items'] if i['item']=='ap_fwd' and i['tariff']==0 and i['status']=='ok']; sys.exit(not (len(it)>=3 and all(isinstance(i['value'],float) and i['value']>0 for i in it)))" \
  && ok "1. point energy through the API" || ko "1. energy: $CL_HTTP $(echo "$CL_BODY" | head -c 300)"
cl_api GET "/api/terminals/4403-0001/points/1/daily?from=2026-11-20&to=2026-11-20"
day=$(grep " day_fwd_active 2026-11-20 " "$D/ledger1" | awk '$1=="4403-0001" && $2==1 && $5==0 {print $NF; exit}')
echo "$CL_BODY" | jq_py "v=[f['value'] for f in d['frozen'] if f['item']=='ap_fwd' and f['tariff']==0 and f['date']=='2026-11-20']; sys.exit(not (len(v)==1 and abs(v[0]-float('${day:-nan}'))<1e-4))" \
  && ok "1. daily value through the API = the confirmed one ($day)" \
  || ko "1. daily: ledger '$day' api $(echo "$CL_BODY" | head -c 300)"

# ---- 2. two workers share the uplink partitions ----
cl_stop w1 || ko "2. worker w1 did not stop cleanly"
u0=$(uplink_count)
assigned() { [ "$(grep -o 'assigned [0-9]* partitions' "$(cl_log "$1")" | tail -1)" = "assigned $2 partitions" ]; }
cl_worker w1 meterflow.node_id=11 worker.analytics=true || ko "2. w1 restart"
cl_wait 30 assigned w1 4 || ko "2. w1 got no partitions"
cl_worker w2 meterflow.node_id=12 worker.analytics=false || ko "2. w2 start"
cl_wait 40 eval 'assigned w1 2 && assigned w2 2' && ok "2. the group split 4 uplink partitions 2 + 2" \
  || { ko "2. partitions not shared"; grep -h assigned "$(cl_log w1)" "$(cl_log w2)"; }
"$CL_BIN" sim --target "127.0.0.1:${CL_PORT[f1]}" "${SIMA[@]}" --start 2026-11-22T12:00 \
  --speed 600 --report-interval 60 --duration 8 --heartbeat 5 --ledger "$D/ledger2" \
  >"$D/sim2.out" 2>"$D/sim2.err"
[ $? = 0 ] && ok "2. sim exit 0 with two workers" || ko "2. sim exit not 0"
cl_wait 30 verify_clean "$D/ledger2" && ok "2. verify: 0 missing, 0 mismatched" \
  || { ko "2. verify"; head -3 "$D/ledger2.verify"; }
cl_wait 20 online 4403-001E False || ko "2. sessions not stored"
u1=$(uplink_count)
kill -TERM "${CL_PID[w1]}" "${CL_PID[w2]}"   # together: no rebalance hands one's tail to the other
cl_stop w1; cl_stop w2
m1=$(sed -n 's/.* I worker: messages=\([0-9]*\) .*/\1/p' "$(cl_log w1)" | tail -1)
m2=$(sed -n 's/.* I worker: messages=\([0-9]*\) .*/\1/p' "$(cl_log w2)" | tail -1)
echo "  uplink produced $((u1 - u0)); worker w1 consumed ${m1:-?}, w2 ${m2:-?}"
[ "${m1:-0}" -gt 0 ] && [ "${m2:-0}" -gt 0 ] && ok "2. both workers consumed" || ko "2. a worker consumed nothing"
[ $((${m1:-0} + ${m2:-0})) = $((u1 - u0)) ] && ok "2. nothing twice: w1 + w2 = messages produced on uplink" \
  || ko "2. w1 + w2 = $((${m1:-0} + ${m2:-0})) != $((u1 - u0)) produced"

# ---- 3. two fronts, commands through the downlink topic ----
cl_worker w1 meterflow.node_id=11 worker.analytics=true || ko "3. w1 restart"
cl_front f2 meterflow.node_id=2 || ko "3. front f2 start"
cl_wait 30 grep -q "assigned" "$(cl_log f2)" || ko "3. f2 has no downlink partitions"
"$CL_BIN" sim --target "127.0.0.1:${CL_PORT[f1]}" "${SIMA[@]}" --start 2026-11-23T12:00 \
  --speed 60 --duration 25 --heartbeat 5 --ledger "$D/ledger3a" >"$D/sim3a.out" 2>"$D/sim3a.err" &
sima=$!
"$CL_BIN" sim --target "127.0.0.1:${CL_PORT[f2]}" "${SIMB[@]}" --terminals 20 \
  --start 2026-11-23T12:00 --speed 60 --duration 25 --heartbeat 5 --ledger "$D/ledger3b" \
  >"$D/sim3b.out" 2>"$D/sim3b.err" &
simb=$!
cl_wait 20 online 4403-0065 True && cl_wait 10 online 4403-0001 True \
  && ok "3. terminals of both fronts online" || ko "3. terminals not online"
cmd_state() { # ID STATE: GET /api/commands/ID has that state
  cl_api GET "/api/commands/$1"
  echo "$CL_BODY" | jq_py "sys.exit(d.get('state') != '$2')"
}
for t in 4403-0065 4403-0001; do
  cl_api POST /api/commands "{\"terminal\":\"$t\",\"type\":\"read_current\",\"pn\":1,\"fn\":129}"
  id=$(echo "$CL_BODY" | jq_py "print(d['id'])" 2>/dev/null)
  if [ "$CL_HTTP" != 201 ] && [ "$CL_HTTP" != 200 ] || [ -z "$id" ]; then
    ko "3. POST /api/commands $t: $CL_HTTP $CL_BODY"; continue
  fi
  if cl_wait 30 cmd_state "$id" answered; then
    echo "$CL_BODY" | jq_py "sys.exit(not d.get('answer'))" \
      && ok "3. command $id to $t answered, answer visible" || ko "3. command $id: no answer: $CL_BODY"
  else
    ko "3. command $id to $t not answered: $CL_BODY"
  fi
done
# 4403-0065 is connected to f2 only (its simulator targets f2's port): its answer came from f2.
# A registered terminal that never connected: the web refuses it (409) from the store's state.
cl_api POST /api/commands '{"terminal":"4403-0079","type":"read_current"}'
off_http=$CL_HTTP; off_id=$(echo "$CL_BODY" | jq_py "print(d.get('id',''))" 2>/dev/null)
[ "$off_http" = 409 ] && echo "$CL_BODY" | grep -q offline && [ -n "$off_id" ] && cmd_state "$off_id" failed \
  && ok "3. command to a terminal not connected: 409 offline, stored as failed" \
  || ko "3. offline command: $off_http $CL_BODY"
wait $sima; ra=$?; wait $simb; rb=$?
cat "$D/sim3a.out" "$D/sim3b.out"
[ $ra = 0 ] && [ $rb = 0 ] && ok "3. both simulators exit 0" || ko "3. sim exits $ra $rb"
cl_wait 30 verify_clean "$D/ledger3b" && ok "3. verify of the second front's terminals" || ko "3. verify b"
cl_wait 20 online 4403-0065 False && cl_api POST /api/commands '{"terminal":"4403-0065","type":"read_current"}' \
  && [ "$CL_HTTP" = 409 ] && ok "3. after logout the terminal is offline: command refused 409" \
  || ko "3. command after logout: $CL_HTTP $CL_BODY"

# Two fronts on ONE port (SO_REUSEPORT): the kernel spreads the terminals' connections.
cl_stop f1 || ko "3. f1 did not exit 0 on SIGTERM"
shared=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cl_front f1 meterflow.node_id=1 front.port="$shared" && cl_front f3 meterflow.node_id=3 front.port="$shared" \
  && ok "3. two fronts listen on one port ($shared)" || ko "3. SO_REUSEPORT fronts"
"$CL_BIN" sim --target "127.0.0.1:$shared" "${SIMA[@]}" --start 2026-11-24T12:00 --speed 600 \
  --report-interval 60 --duration 6 --heartbeat 5 --ledger "$D/ledger3c" >"$D/sim3c.out" 2>"$D/sim3c.err"
[ $? = 0 ] && ok "3. sim through the shared port: exit 0" || ko "3. sim through the shared port"
cl_wait 30 verify_clean "$D/ledger3c" && ok "3. shared port: verify clean" || ko "3. shared port: verify"
cl_stop f1; cl_stop f3
l1=$(sed -n 's/.* I front: conns=[0-9]* logins=\([0-9]*\) .*/\1/p' "$(cl_log f1)" | tail -1)
l3=$(sed -n 's/.* I front: conns=[0-9]* logins=\([0-9]*\) .*/\1/p' "$(cl_log f3)" | tail -1)
echo "  logins: f1 ${l1:-?}, f3 ${l3:-?}"
[ "${l1:-0}" -gt 0 ] && [ "${l3:-0}" -gt 0 ] && [ $((${l1:-0} + ${l3:-0})) = 30 ] \
  && ok "3. the 30 terminals spread over both fronts" || ko "3. spread f1=${l1:-?} f3=${l3:-?}"

# /metrics of the web process (no auth): the store's and the commands' figures
cl_api GET /metrics
[ "$CL_HTTP" = 200 ] && echo "$CL_BODY" | grep -q '^meterflow_terminals{' \
  && echo "$CL_BODY" | grep -q '^meterflow_commands{state="answered"} [1-9]' \
  && ok "web /metrics: terminals and answered commands" || ko "/metrics: $CL_HTTP $(echo "$CL_BODY" | head -5)"

# ---- 4. readings / sessions / events on Kafka match docs/QUEUE.md ----
cl_kcat -C -t "${CL_PREFIX}readings" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null >"$D/readings.txt"
cl_kcat -C -t "${CL_PREFIX}sessions" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null >"$D/sessions.txt"
cl_kcat -C -t "${CL_PREFIX}events" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null >"$D/events.txt"
python3 - "$D/readings.txt" "$D/sessions.txt" "$D/events.txt" <<'EOF' && ok "4. readings, sessions and events topics match the documented schema" || ko "4. schema"
import json, re, sys
TERM = re.compile(r"^\d{4}-[0-9A-F]{4}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
KINDS = {"energy", "frozen_daily", "frozen_readday", "frozen_monthly", "curve", "instant"}
errs = []
def bad(msg, line):
    if len(errs) < 5: errs.append("%s: %s" % (msg, line[:200]))
lines = open(sys.argv[1]).read().splitlines()
if len(lines) < 1000: errs.append("only %d readings" % len(lines))
kinds = set()
for line in lines[:: max(1, len(lines) // 2000)]:   # a sample of about 2000, spread
    key, _, val = line.partition("\t")
    d = json.loads(val)
    want = {"terminal", "pn", "kind", "item", "tariff", "value", "status", "time"}
    if str(d.get("kind")).startswith("frozen"):
        want.add("date")           # "date: frozen kinds only"
    if set(d) != want:
        bad("fields %s" % sorted(d), line); continue
    if d["terminal"] != key or not TERM.match(key): bad("key/terminal", line)
    if type(d["pn"]) is not int or not 0 <= d["pn"] <= 2040: bad("pn", line)
    if d["kind"] not in KINDS: bad("kind", line)
    kinds.add(d["kind"])
    if type(d["item"]) is not str or not d["item"]: bad("item", line)
    if type(d["tariff"]) is not int or d["tariff"] < 0: bad("tariff", line)
    if d["status"] not in ("ok", "absent", "invalid"): bad("status", line)
    if d["status"] == "ok" and type(d["value"]) not in (int, float): bad("value", line)
    if d["status"] != "ok" and d["value"] is not None: bad("value not null", line)
    if d["kind"].startswith("frozen"):
        if type(d["date"]) is not str or not DATE.match(d["date"]): bad("date", line)
        if d["time"] is not None and not TS.match(d["time"]): bad("time", line)
    else:
        if type(d["time"]) is not str or not TS.match(d["time"]): bad("time", line)
for k in ("energy", "frozen_daily", "curve"):
    if k not in kinds: errs.append("no %s reading in the sample" % k)
slines = open(sys.argv[2]).read().splitlines()
if not slines: errs.append("no sessions")
for line in slines:
    key, _, val = line.partition("\t")
    d = json.loads(val)
    if set(d) != {"terminal", "online", "reason", "peer", "clock_offset_s", "time"}:
        bad("session fields %s" % sorted(d), line); continue
    if d["terminal"] != key or type(d["online"]) is not bool or not TS.match(d["time"]): bad("session", line)
    if d["reason"] not in ("online", "clock", "logout", "timeout", "closed", "replaced", "kicked", "shutdown"):
        bad("reason", line)
    if d["clock_offset_s"] is not None and type(d["clock_offset_s"]) is not int: bad("offset", line)
elines = open(sys.argv[3]).read().splitlines()
if not elines: errs.append("no events")
ercs = set()
for line in elines:
    key, _, val = line.partition("\t")
    d = json.loads(val)
    if set(d) != {"terminal", "class", "erc", "severity", "started", "pn", "time", "received_at", "fields", "raw"}:
        bad("event fields %s" % sorted(d), line); continue
    ercs.add(d["erc"])
    ok = (d["terminal"] == key and d["class"] in (1, 2) and type(d["erc"]) is int
          and type(d["severity"]) is str and d["started"] in (True, False, None)
          and type(d["pn"]) is int and (d["time"] is None or TS.match(d["time"]))
          and TS.match(d["received_at"]) and type(d["fields"]) is dict
          and re.match(r"^[0-9A-F]{2}( [0-9A-F]{2})*$", d["raw"]) and int(d["raw"][:2], 16) == d["erc"])
    if not ok: bad("event", line)
print("  readings: %d messages, kinds %s; sessions: %d; events: %d, ERC %s"
      % (len(lines), sorted(kinds), len(slines), len(elines), sorted(ercs)))
for e in errs: print("  " + e)
sys.exit(1 if errs else 0)
EOF

for n in f2 w1 web; do cl_stop "$n" || ko "$n did not exit 0 on SIGTERM"; done
grep -h " E " "$D"/{f1,f2,f3,w1,w2,web}.log 2>/dev/null | head -5   # errors logged, for the reader
san=$(grep -l "AddressSanitizer\|LeakSanitizer\|runtime error:" "$D"/*.log 2>/dev/null)
[ -z "$san" ] && ok "no sanitizer report in any process log" || { ko "sanitizer reports in: $san"; grep -h -A8 "Sanitizer\|runtime error:" $san | head -30; }
finish
