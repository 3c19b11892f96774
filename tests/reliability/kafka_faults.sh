# kafka_faults.sh -- the Kafka faults of distributed.sh (sourced by it, never run), 3 brokers
# (replication 3, min.insync.replicas 2, acks=all):
#   brokerkill  kill -9 of the JVM of the broker leading most uplink partitions, under load;
#               started again after RL_BROKER_DOWN s (20). Confirms go on; the terminals
#               whose partitions it led wait for the leader election (its ZooKeeper session
#               must expire first: 6 s) and must be confirmed again within RL_STALL_MAX s (15).
#   nomajority  kill -9 of two brokers: acks=all cannot be met (one in-sync replica of the 2
#               required). For RL_KAFKA_DOWN s (15): no confirm at all, front and worker RSS
#               bounded, the front's log says why (rate-limited). Then one broker is started
#               again: confirms resume by themselves (recovery time); then the other.
#   kdiskfull   every broker's log.dirs is a tmpfs (RL_KDISK_MB, 1024); the busiest leader's
#               is shrunk to what it uses + 1 MiB under load, which its appends use up. Kafka 0.9 halts a broker whose log append fails (seen here:
#               "Halting due to unrecoverable I/O error"); the other two keep acks=all
#               possible, so confirms go on (stall measured as for brokerkill). Space is freed
#               and the broker started again (Kafka does not restart itself: the operator or
#               its supervisor does): it rejoins, confirms go on.
# Each fault keeps the cluster whole at its end, so faults can follow each other.
# Uses distributed.sh's globals: K, PID, ledger, figs, resumed(), duration, faults.

KF=$RL_ROOT/scripts/kafka.sh
kf_down=${RL_KAFKA_DOWN:-15}
kf_bdown=${RL_BROKER_DOWN:-20}
kf_stall_max=${RL_STALL_MAX:-15}
kf_disk_mb=${RL_KDISK_MB:-1024}

# kf_setup: before the cluster starts: the brokers' log dirs on tmpfs for kdiskfull, and a
# load long enough for the outages and broker restarts (when RL_DURATION is not given).
kf_setup() {
  local i
  case " $faults " in *" kdiskfull "*)
    [ "$(id -u)" = 0 ] || rl_die "kdiskfull needs root to mount a tmpfs"
    for i in 0 1 2; do   # each broker's log dir: the fault picks the busiest leader then
      mkdir -p "$K/kafka$i"
      mount -t tmpfs -o "size=${kf_disk_mb}m" tmpfs "$K/kafka$i" || rl_die "mount tmpfs for broker $i"
      RL_CLEANUPS+=("umount -l '$K/kafka$i'")
    done
  esac
  for i in $faults; do
    case $i in brokerkill|kdiskfull|nomajority) [ -z "${RL_DURATION:-}" ] && duration=$((duration + 20)) ;; esac
    [ "$i" = nomajority ] && [ -z "${RL_DURATION:-}" ] && duration=$((duration + kf_down))
  done
  return 0
}

kf() { bash "$KF" "$@" >>"$RL_TMP/kafka.out" 2>&1; }

# kf_leaders: "p:leader ..." of the uplink topic's partitions (kcat metadata).
kf_leaders() {
  bash "$KF" kcat "$K" -L -t meterflow.uplink -m 5 2>/dev/null |
    sed -n 's/^ *partition \([0-9]*\), leader \([-0-9]*\),.*/\1:\2/p' | tr '\n' ' '
}
# kf_led I: how many uplink partitions broker I leads now.
kf_led() { kf_leaders | tr ' ' '\n' | grep -c ":$1\$"; }
# kf_top: the broker leading most uplink partitions.
kf_top() { kf_leaders | tr ' ' '\n' | cut -d: -f2 | grep . | sort | uniq -c | sort -rn | awk 'NR==1 {print $2}'; }

# kf_gaps_start / kf_gaps_stop NAME: ledger_gaps.py around a fault; KF_STALL = stall_max_s.
kf_gaps_start() {
  python3 "$RL_ROOT/tests/reliability/ledger_gaps.py" --ledger "$ledger" >"$RL_TMP/gaps-$1.out" &
  KF_GP=$!; RL_PIDS+=("$KF_GP")
  rl_wait 1 false
}
kf_gaps_stop() {
  kill -TERM "$KF_GP"; wait "$KF_GP" 2>/dev/null
  cat "$RL_TMP/gaps-$1.out"
  KF_STALL=$(tr ' ' '\n' <"$RL_TMP/gaps-$1.out" | awk -F= '$1=="stall_max_s" {print $2}')
  KF_STALL=${KF_STALL:--1}
}
kf_lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= 0 && a < b)}'; }

kf_brokerkill() {
  local b t0 n before
  b=$(kf_top); b=${b:-1}
  n=$(kf_led "$b")
  echo "uplink leaders before: $(kf_leaders)"
  kf_gaps_start brokerkill
  t0=$(rl_now)
  kf broker-kill "$K" "$b" || rl_ko "brokerkill: kafka.sh broker-kill $b"
  rl_check "brokerkill: broker $b's JVM is gone (kill -9; it led $n of the uplink partitions)" \
    bash -c "! bash '$KF' broker-pid '$K' $b >/dev/null"
  before=$(rl_lines "$ledger")
  rl_wait 60 rl_ledger_grows "$ledger" $((before + 1000)) &&
    rl_ok "brokerkill: confirms go on with broker $b killed ($(rl_since "$t0") s to 1,000 more)" ||
    rl_ko "brokerkill: no confirms after broker $b was killed"
  rl_wait "$kf_bdown" false
  echo "uplink leaders with broker $b down: $(kf_leaders)"
  kf_gaps_stop brokerkill
  rl_check "brokerkill: every terminal confirmed again within ${kf_stall_max}s (longest wait ${KF_STALL}s: the leader election)" \
    kf_lt "$KF_STALL" "$kf_stall_max"
  before=$(rl_lines "$ledger"); t0=$(rl_now)
  kf broker-start "$K" "$b" || rl_ko "brokerkill: broker $b did not start again"
  figs+=" brokerkill_led=$n brokerkill_stall_s=$KF_STALL"
  resumed brokerkill "$t0" "$before"
}

kf_nomajority() {
  local frozen after rss0 rssw rss1 rssw1 t0 warn nwarn unc0 unc1 bound_kb
  bound_kb=$(( ${RL_RSS_GROWTH_MB:-256} * 1024 ))
  unc0=$(rl_sim_unconfirmed)
  kf broker-kill "$K" 1 && kf broker-kill "$K" 2 || rl_ko "nomajority: kafka.sh broker-kill 1 and 2"
  # grace: confirms of frames acknowledged before the kills may still arrive
  rl_wait 5 false
  frozen=$(rl_lines "$ledger"); rss0=$(rl_rss_kb "${PID[front]}"); rssw=$(rl_rss_kb "${PID[worker1]}")
  rl_hold_rss "$kf_down" "${PID[front]}" "${PID[worker1]}"
  after=$(rl_lines "$ledger"); rss1=${RL_RSS_PEAK[0]}; rssw1=${RL_RSS_PEAK[1]}
  unc1=$(rl_sim_unconfirmed)
  rl_check "nomajority: no confirm while 2 of 3 brokers are down (ledger $frozen -> $after over ${kf_down}s)" \
    [ "$after" = "$frozen" ]
  rl_check "nomajority: front and worker RSS bounded (front $rss0 -> max $rss1 kB, worker $rssw -> max $rssw1 kB)" \
    [ $((rss1 - rss0)) -lt "$bound_kb" -a $((rssw1 - rssw)) -lt "$bound_kb" ]
  rl_ok "nomajority: the terminals hold their reports (simulator's unconfirmed ${unc0:-?} -> ${unc1:-?})"
  # queue_kafka.c: "no delivery report for N s while M messages wait" (after
  # [queue] kafka_stall_warn_ms) and "N messages not delivered" (after message.timeout.ms)
  warn=$(grep -E " W kafka: (no delivery report|.*messages not delivered)" "$RL_TMP/front.log" | tail -1 | cut -c1-200)
  nwarn=$(grep -cE " W kafka: (no delivery report|.*messages not delivered)" "$RL_TMP/front.log")
  rl_check "nomajority: the front's log says why: ${warn:-nothing}" [ -n "$warn" ]
  # at most one line of each kind per 10 s (plus the other faults' own short stalls)
  rl_check "nomajority: that warning is rate-limited ($nwarn lines in the run)" \
    [ "$nwarn" -le $((2 * (kf_down + 10) / 10 + 6)) ]
  rl_check "nomajority: front and workers alive" \
    bash -c "kill -0 ${PID[front]} && kill -0 ${PID[worker1]} && kill -0 ${PID[worker2]}"
  t0=$(rl_now)
  kf broker-start "$K" 1 || rl_ko "nomajority: broker 1 did not start again"
  echo "broker 1 back in $(rl_since "$t0") s; uplink leaders: $(kf_leaders)"
  resumed nomajority "$t0" "$after"
  kf broker-start "$K" 2 || rl_ko "nomajority: broker 2 did not start again"
  figs+=" nomajority_confirms_while_down=$((after - frozen)) nomajority_unconfirmed=${unc0:-?}-${unc1:-?}"
  figs+=" nomajority_front_rss_kb=$rss0-$rss1 nomajority_warnings=$nwarn"
}

kf_kdiskfull() {
  local b d t0 before halted=0 why n used
  b=$(kf_top); b=${b:-1}; d=$K/kafka$b
  n=$(kf_led "$b")
  kf_gaps_start kdiskfull
  # the disk fills: its size shrunk to what is used + 1 MiB, which the broker's appends and
  # replica fetches then use up (a filler file would cost the machine the tmpfs's RAM)
  used=$(df -k --output=used "$d" | tail -1 | tr -d ' ')
  t0=$(rl_now)
  mount -o remount,size=$((used + 1024))k "$d" || rl_ko "kdiskfull: remount $d smaller"
  if rl_wait 90 bash -c "! bash '$KF' broker-pid '$K' $b >/dev/null"; then
    halted=1
    rl_ok "kdiskfull: broker $b (led $n of 8 uplink partitions) stopped by itself $(rl_since "$t0") s after its disk was shrunk to ${used} + 1024 kB (avail now $(df -k --output=avail "$d" | tail -1 | tr -d ' ') kB)"
  else
    rl_ok "kdiskfull: broker $b still running 90 s after its disk filled"
  fi
  why=$(grep -hiE "halting|no space left|KafkaStorageException|FATAL" "$K/logs/broker$b".* | head -2 | cut -c1-160 | tr '\n' '|')
  rl_check "kdiskfull: broker $b's log says why: ${why:-nothing}" [ -n "$why" ]
  before=$(rl_lines "$ledger")
  rl_wait 60 rl_ledger_grows "$ledger" $((before + 1000)) &&
    rl_ok "kdiskfull: confirms go on with broker $b's disk full" ||
    rl_ko "kdiskfull: no confirms with broker $b's disk full"
  rl_wait 10 false
  echo "uplink leaders with broker $b's disk full: $(kf_leaders)"
  kf_gaps_stop kdiskfull
  rl_check "kdiskfull: every terminal confirmed again within ${kf_stall_max}s (longest wait ${KF_STALL}s)" \
    kf_lt "$KF_STALL" "$kf_stall_max"
  mount -o remount,size="${kf_disk_mb}m" "$d" || rl_ko "kdiskfull: remount $d bigger"
  before=$(rl_lines "$ledger"); t0=$(rl_now)
  if [ "$halted" = 1 ]; then
    kf broker-start "$K" "$b" || rl_ko "kdiskfull: broker $b did not start again after space returned"
  fi
  rl_check "kdiskfull: broker $b runs again ($(rl_since "$t0") s after space returned)" bash "$KF" broker-pid "$K" "$b"
  figs+=" kdiskfull_broker=$b kdiskfull_led=$n kdiskfull_halted=$halted kdiskfull_stall_s=$KF_STALL"
  resumed kdiskfull "$t0" "$before"
}
