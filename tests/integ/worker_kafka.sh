#!/usr/bin/env bash
# worker_kafka.sh -- the worker on the Kafka backend against a real Apache Kafka 0.9.0.1
# (scripts/kafka.sh, loopback, free ports) with SQLite: build/<flavour>/integ/test_worker_kafka.
# Appends "worker/kafka <passed> <failed>" to $MF_RESULTS. Works alone:
#   bash tests/integ/worker_kafka.sh
set -u
cd "$(dirname "$0")/../.."
build=${MF_BUILD:-asan}
bin=build/$build/integ/test_worker_kafka
results=${MF_RESULTS:-/dev/null}
record() { echo "$1 $2 $3" >>"$results"; echo "$1: $2 passed, $3 failed"; }
if [ ! -x "$bin" ]; then
  make -s -j2 BUILD="$build" "$bin" >/dev/null 2>&1 || { record worker/kafka-build 0 1; exit 1; }
fi
dir=$(mktemp -d /tmp/mf-wkafka.XXXXXX)
cleanup() { bash scripts/kafka.sh stop "$dir" >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT
if ! bash scripts/kafka.sh start 1 "$dir" >/dev/null; then
  echo "worker_kafka: broker did not start"; tail -n 20 "$dir"/logs/* 2>/dev/null
  record worker/kafka-start 0 1
  exit 1
fi
export MF_KAFKA_BOOTSTRAP=$(cat "$dir/bootstrap")
out=$("$bin" 2>&1); rc=$?
p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
p=${p:-0}; f=${f:-0}
if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
[ "$f" != 0 ] && echo "$out" | grep -v '^ok \| I kafka' | tail -40
record worker/kafka "$p" "$f"
[ "$f" = 0 ]
