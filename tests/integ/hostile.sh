#!/usr/bin/env bash
# hostile.sh -- hostile and broken terminals against `meterflow run` (allow-list mode:
# [front] accept_unknown = false, the well-behaved and the named attackers registered by
# `meterflow import`). For each attack (tests/integ/hostile_attack.py): a group of
# well-behaved simulated terminals runs alone (baseline), then again during the attack; the
# test asserts the group is still fully confirmed with a p99 confirm latency within
# max(5 x baseline, 500 ms), that the master closed the offenders with a logged reason, and
# that the master's RSS stays bounded. Figures: "figures hostile ..." lines.
# The mass phase: HS_MASS terminals reconnect at once twice -- after a kill -9 of the master,
# and on a live master while the well-behaved group reports (its simulator killed and started
# again); it asserts completeness and progress and reports the group's latency against its
# normal latency (the baseline p99 of the same run: within 2 x normal + 10 ms?) -- asserted
# only with HS_MASS_ASSERT=1, since the mass simulator shares the machine's two cores with
# the master and the figure is the machine's as much as ours.
# Environment: HS_GOOD (40 terminals), HS_SECS (8 s per phase), HS_MASS (2000 terminals
# reconnecting at once; scripts/soak.sh uses 19000), HS_MASS_NICE (19: the mass simulator's
# nice and its autogroup's; 0 = the master's priority), HS_MASS_LOAD (the mass
# group's sim options for what it reports: nothing by default), HS_ONLY ("garbage oversize ..."),
# HS_ADMIT ([front] admit_per_sec, 5000; 0 = off), HS_RUN_SET (extra `meterflow run --set`
# key=value pairs, space-separated, applied after it), HS_CPU (1: where
# the CPUs went during the storm, per thread: bench/thread_cpu.py before the drop, once all are
# back, and at the end of the group's run), HS_MASS_ASSERT (1: fail when the storm's p99 is
# over 2 x the baseline p99 + 10 ms; scripts/soak.sh sets it).
# Appends "hostile <passed> <failed>" to $MF_RESULTS.
set -u
RL_NAME=hostile
. "$(dirname "$0")/../reliability/lib.sh"
good=${HS_GOOD:-40}
secs=${HS_SECS:-8}
mass=${HS_MASS:-2000}
only=${HS_ONLY:-garbage oversize split slow dup flood unknown mass}
atk="python3 $RL_ROOT/tests/integ/hostile_attack.py"
tp=$(rl_port); hp=$(rl_port)
dir=$RL_TMP/data; mkdir -p "$dir" "$RL_TMP/md"
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# Master data: the good group (4403-0001..), the mass group (4403-1001.. as A2 0x1001..) and
# the named attackers 4403-F001..F003. Unknown-flood terminals (4403-Exxx) are not registered.
"$MF" sim --terminals "$good" --points 8 --master-data "$RL_TMP/md" --duration 0 \
  --target 127.0.0.1:1 >/dev/null 2>&1 &
mdpid=$!
rl_wait 30 test -s "$RL_TMP/md/terminals.csv"; kill "$mdpid" 2>/dev/null; wait "$mdpid" 2>/dev/null
python3 - "$RL_TMP/md/terminals.csv" "$mass" <<'PY'
import sys
f, mass = sys.argv[1], int(sys.argv[2])
with open(f, "a") as o:
    for a2 in list(range(0x1001, 0x1001 + mass)) + [0xF001, 0xF002, 0xF003]:
        o.write(f"4403-{a2:04X},extra,,test,1\n")
PY
"$MF" import --set "meterflow.data_dir=$dir" terminals "$RL_TMP/md/terminals.csv" >/dev/null ||
  rl_ko "import terminals"
# Admission control as a head-end facing storms runs it (HS_ADMIT=0: off; RELIABILITY).
run_flags=(--set front.accept_unknown=false --set front.partial_timeout_ms=3000 --set front.login_per_min=0
  --set "front.admit_per_sec=${HS_ADMIT:-5000}")
for kv in ${HS_RUN_SET:-}; do run_flags+=(--set "$kv"); done # e.g. HS_RUN_SET="worker.session_lane=false"
rl_start_run "$dir" "$tp" "$hp" "${run_flags[@]}" || { rl_ko "meterflow run did not start"; rl_results; exit 1; }
log=$dir/run.log

# good NAME [SECONDS]: the well-behaved group for $secs seconds (progress lines in its .out);
# prints "p50 p99 unconfirmed frames rc".
good_run() {
  "$MF" sim --target "127.0.0.1:$tp" --terminals "$good" --points 8 --speed 60 \
    --report-interval 60 --duration "${2:-$secs}" --heartbeat 5 --confirm-timeout 5000 \
    --progress >"$RL_TMP/good-$1.out" 2>&1
  local rc=$?
  echo "$(rl_sim_field "good-$1" confirm_p50_ms) $(rl_sim_field "good-$1" confirm_p99_ms)" \
    "$(rl_sim_field "good-$1" unconfirmed) $(rl_sim_field "good-$1" frames_confirmed) $rc"
}

read -r b50 b99 _ bconf brc < <(good_run baseline)
rl_check "baseline: $good well-behaved terminals all confirmed (p50 ${b50} ms, p99 ${b99} ms, $bconf frames)" [ "$brc" = 0 ]
limit=$(awk -v b="$b99" 'BEGIN{l=5*b; if (l<500) l=500; print l}')
echo "figures hostile baseline: p50_ms=$b50 p99_ms=$b99 frames=$bconf"

# phase NAME "log pattern" attack-args...: the attack in the background, the group meanwhile.
phase() {
  local name=$1 pat=$2; shift 2
  local rss0 rss1 lines0
  rss0=$(rl_rss_kb "$RUN_PID"); lines0=$(wc -l <"$log")
  "$@" >"$RL_TMP/atk-$name.out" 2>&1 &
  local apid=$!; RL_PIDS+=("$apid")
  rl_wait 2 false
  read -r p50 p99 unc conf grc < <(good_run "$name")
  wait "$apid"
  rss1=$(rl_rss_kb "$RUN_PID")
  local a; a=$(cat "$RL_TMP/atk-$name.out")
  echo "  $a"
  rl_check "$name: the well-behaved group all confirmed (exit $grc, unconfirmed $unc)" [ "$grc" = 0 ]
  rl_check "$name: p99 ${p99} ms within ${limit} ms (baseline ${b99})" \
    awk -v a="$p99" -v l="$limit" 'BEGIN{exit !(a+0 <= l+0)}'
  rl_check "$name: master alive, RSS ${rss0} -> ${rss1} kB (< +256 MB)" \
    bash -c "kill -0 $RUN_PID && [ $((rss1 - rss0)) -lt 262144 ]"
  if [ -n "$pat" ]; then
    local reason; reason=$(tail -n +"$((lines0 + 1))" "$log" | grep -E "$pat" | head -1 | cut -c1-160)
    rl_check "$name: offender closed with a logged reason: ${reason:-none}" [ -n "$reason" ]
  fi
  echo "figures hostile $name: p50_ms=$p50 p99_ms=$p99 frames=$conf rss_before_kb=$rss0 rss_after_kb=$rss1 $a"
}
kv() { tr ' ' '\n' <"$RL_TMP/atk-$1.out" | awk -F= -v k="$2" '$1==k {print $2}'; }

for p in $only; do
  case $p in
  garbage)
    phase garbage "closing: .*(without a valid frame|garbage)" $atk garbage "127.0.0.1:$tp" "$secs" 50
    rl_check "garbage: the master closed the 50 garbage streams ($(kv garbage closed_by_master))" \
      [ "$(kv garbage closed_by_master)" = 50 ] ;;
  oversize)
    phase oversize "closing: .*(frame|length|L |too (big|large)|garbage)" $atk oversize "127.0.0.1:$tp" "$secs" 50
    rl_check "oversize: the master closed the 50 oversize frames ($(kv oversize closed_by_master))" \
      [ "$(kv oversize closed_by_master)" = 50 ] ;;
  split)
    phase split "" $atk split "127.0.0.1:$tp" "$secs"
    c=$(kv split confirms); fc=$(kv split frames_completed)
    rl_check "split: a terminal sending one byte at a time is served (confirms=${c:-0} for login + ${fc:-0} complete reports)" \
      [ "${c:-0}" -ge "${fc:-1}" ] && [ "${fc:-0}" -ge 5 ] ;;
  slow)
    phase slow "closing: .*(slow|partial)" $atk slow "127.0.0.1:$tp" "$secs" 200
    rl_check "slow: the 200 partial frames were closed after partial_timeout_ms ($(kv slow closed_by_master))" \
      [ "$(kv slow closed_by_master)" = 200 ] ;;
  dup)
    phase dup "" $atk dup "127.0.0.1:$tp" "$secs"
    rl_check "dup: duplicate logins answered, not fatal (confirms $(kv dup confirms) of $(kv dup connections))" \
      [ "$(kv dup confirms)" -ge 1 ] ;;
  flood)
    phase flood "" $atk flood "127.0.0.1:$tp" "$secs"
    c=$(kv flood confirms); s=$(kv flood frames_sent)
    rl_check "flood: one terminal sending $s frames gets at most frames_per_sec x (time + 2 s burst) confirmed: ${c:-0}" \
      [ "${c:-0}" -le $((50 * (secs + 4) + 1)) ] ;;
  unknown)
    phase unknown "unknown terminal .* denied" $atk unknown "127.0.0.1:$tp" "$secs" 200
    d=$(kv unknown denials); n=$(kv unknown connections)
    rl_check "unknown: $n logins of unregistered terminals all denied with F2 ($d) and closed ($(kv unknown closed_by_master))" \
      [ "${d:-0}" -ge $((n * 9 / 10)) ] && [ "$(kv unknown confirms)" = "" ] ;;
  mass)
    # `mass` terminals from 253 source addresses. The mass group is a load generator sharing
    # this machine's cores with the master, so it runs at nice 19 (real terminals are other
    # machines); the well-behaved group runs at normal priority. Its own session (setsid), so
    # a kill reaches every --procs child -- and so its own autogroup when the kernel has
    # sched_autogroup_enabled: a nice value only ranks threads within their autogroup, so the
    # autogroup's own nice (/proc/self/autogroup) is set too, or nice 19 would not lower it
    # against the master at all (it did not until session 4). HS_MASS_NICE=0: same priority.
    procs=$(( mass / 5000 + 1 ))
    # By default the mass group only logs in and out and sends heartbeats: the figure is the
    # connection storm's. HS_MASS_LOAD="--speed 60 --report-interval 900" adds a report of
    # every mass terminal each 15 s (a burst of $mass reports within 1 s: the worker's
    # throughput, not the storm, then sets the group's latency).
    mass_load=${HS_MASS_LOAD:-"--start $(date +%F)T01:00 --report-interval 86400 --instant-interval 0 --no-daily --no-curves"}
    mass_start() {
      setsid sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' \
        "${HS_MASS_NICE:-19}" "$MF" sim --target "127.0.0.1:$tp" --terminals "$mass" \
        --first-address 4097 --points 1 --procs "$procs" --source-addrs 127.0.0.2-127.0.0.254 \
        --heartbeat 30 --backoff-max 5000 $mass_load >"$RL_TMP/mass-$1.out" 2>&1 &
      MASS_PID=$!; RL_PIDS+=("$MASS_PID"); RL_CLEANUPS+=("kill -KILL -- -$MASS_PID")
    }
    online() { ss -Htn state established "( sport = :$tp )" | wc -l; }
    online_ge() { [ "$(online)" -ge "$1" ]; }
    # Back means logged in, not only connected: with [front] admit_per_sec a connection
    # waits unread for its admission (so does its login).
    logins() { curl -fsS -m 2 "http://127.0.0.1:$hp/metrics" | awk '$1 == "meterflow_front_logins_total" {print $2; exit}'; }
    back_ge() { online_ge "$1" && [ "$(logins)" -ge "$2" ]; }
    online_le() { [ "$(online)" -le "$1" ]; }
    mass_start 1
    rl_wait 180 online_ge "$mass" &&
      rl_ok "mass: $mass terminals connected ($(online) established)" || rl_ko "mass: only $(online) connected"
    # 1. All of them drop at once (kill -9 of the master) and reconnect together to the restarted one.
    kill -KILL "$RUN_PID"; wait "$RUN_PID" 2>/dev/null
    t0=$(rl_now)
    rl_start_run "$dir" "$tp" "$hp" "${run_flags[@]}" || rl_ko "mass: master did not restart"
    rl_wait 180 back_ge "$mass" "$mass" && recon=$(rl_since "$t0") &&
      rl_ok "mass: all $mass reconnected $recon s after the restart" ||
      rl_ko "mass: only $(online) reconnected"
    # 2. A storm on a live master: the well-behaved group logged in and reporting, then every
    # mass connection drops at once (its simulator killed) and reconnects and logs in at once
    # (started again), while the group keeps reporting.
    rss0=$(rl_rss_kb "$RUN_PID")
    good_run mass "$((secs * 2))" >"$RL_TMP/good-mass.res" &
    gpid=$!
    rl_wait 30 grep -aq "online $good/$good" "$RL_TMP/good-mass.out"
    cpu_snap() { [ -n "${HS_CPU:-}" ] && python3 "$RL_ROOT/bench/thread_cpu.py" snap "$RL_TMP/cpu-$1.json"; }
    cpu_snap 0
    logins0=$(logins)
    t1=$(rl_now)
    kill -KILL -- "-$MASS_PID"; wait "$MASS_PID" 2>/dev/null
    rl_wait 120 online_le "$good"; down=$(rl_since "$t1")
    mass_start 2
    rl_wait 180 back_ge "$((mass + good))" "$((logins0 + mass))" && storm=$(rl_since "$t1") &&
      rl_ok "mass: storm on a live master: $mass dropped (closed in $down s) and all back $storm s after the drop" ||
      rl_ko "mass: storm: only $(online) of $((mass + good)) connected"
    cpu_snap 1
    wait "$gpid"
    if cpu_snap 2; then
      echo "  cpu during the storm (drop -> all back, ${storm:-?} s):"
      python3 "$RL_ROOT/bench/thread_cpu.py" diff "$RL_TMP/cpu-0.json" "$RL_TMP/cpu-1.json" "$RUN_PID" | head -40 | sed 's/^/    /'
      echo "  cpu after it (all back -> end of the group's run):"
      python3 "$RL_ROOT/bench/thread_cpu.py" diff "$RL_TMP/cpu-1.json" "$RL_TMP/cpu-2.json" "$RUN_PID" | head -25 | sed 's/^/    /'
    fi
    curl -fsS -m 5 "http://127.0.0.1:$hp/metrics" | grep -E '^meterflow_front_confirm_latency' | tr '\n' ' ' | sed 's/^/  master: /; s/$/\n/'
    read -r p50 p99 unc conf grc <"$RL_TMP/good-mass.res"
    rl_check "mass: the well-behaved group all confirmed during the storm (p50 $p50 ms, p99 $p99 ms, $conf frames)" [ "$grc" = 0 ]
    kill -TERM "$MASS_PID"; wait "$MASS_PID"; mrc=$?
    rss1=$(rl_rss_kb "$RUN_PID")
    grep '^sim:' "$RL_TMP/mass-2.out" | head -1
    rl_check "mass: all $mass logged in and out, nothing unconfirmed (exit $mrc)" [ "$mrc" = 0 ]
    # "Within their normal confirm latency": normal = the group's p99 alone at the start of
    # this run (same build, same machine, minutes apart); the storm's p99 should stay within
    # 2 x normal + 10 ms. A figure, asserted only with HS_MASS_ASSERT=1 (scripts/soak.sh
    # under /work/bin/measure), never in scripts/test.sh: a pass must not depend on timing.
    mlimit=$(awk -v b="$b99" 'BEGIN{printf "%.1f", 2*b+10}')
    within=$(awk -v a="$p99" -v l="$mlimit" 'BEGIN{print (a+0 <= l+0) ? "yes" : "no"}')
    if [ -n "${HS_MASS_ASSERT:-}" ]; then
      rl_check "mass: the group's p99 during the storm ${p99} ms within 2 x normal (${b99} ms) + 10 ms = ${mlimit} ms" [ "$within" = yes ]
    fi
    echo "figures hostile mass: terminals=$mass mass_nice=${HS_MASS_NICE:-19} reconnect_s=${recon:-} storm_s=${storm:-} p50_ms=$p50 p99_ms=$p99 normal_p99_ms=$b99 limit_ms=$mlimit within=$within frames=$conf rss_before_kb=$rss0 rss_after_kb=$rss1" ;;
  esac
done
rss=$(rl_rss_kb "$RUN_PID")
echo "figures hostile end: rss_kb=$rss"
rl_check "master survived every attack" rl_alive "$RUN_PID"
rl_results
