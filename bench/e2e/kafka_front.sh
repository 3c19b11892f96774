#!/usr/bin/env bash
# kafka_front.sh -- issue 4's benchmark: Kafka-mode ingest through `meterflow front` side by
# side with the raw producer ceiling of the same broker on the same machine.
#
#   bench/e2e/kafka_front.sh [-c CONNS] [-w WINDOW] [-p POINTS] [-n FRAMES] [-m CEILING_MSGS]
#                            [-C] [-P] [--set section.key=value]... [--ceiling-x key=value]...
#
# One private Kafka 0.9.0.1 broker (scripts/kafka.sh start 1), topics of 4 partitions.
# 1. Ceiling: bench_kafka_producer (raw librdkafka, acks=all) writes CEILING_MSGS messages of
#    the envelope size of the front's F129 frame (40-byte envelope header + 16 + 35 x POINTS
#    bytes of frame; 9-byte key), twice: label=front with the front's producer settings
#    (queue_kafka.c defaults: max.in.flight 1, linger.ms 5, batch.num.messages 10000) and
#    label=unconstrained (librdkafka's own max.in.flight 1000000; per-key order is then not
#    kept without idempotence, which the 0.9 broker lacks). --ceiling-x pairs go to both.
#    -m 0 skips them (tuning runs of the front alone).
# 2. Front: `meterflow front` with the Kafka queue (confirms only from the delivery report,
#    acks=all) driven by bench_front_load: CONNS terminals from many 127.x source addresses,
#    reports only (F129 of POINTS points, CON=1), up to WINDOW unanswered per terminal;
#    case=max closed loop (the most the front confirms), then case=half paced at half of it
#    (the confirm latency of a front that is not saturated). --set pairs go to the front
#    (e.g. --set kafka.linger.ms=2 --set front.threads=1). -C: the load client writes the
#    frames one read of confirms releases on a terminal together (--coalesce 1: a cheaper
#    client, more of the 2 cores left to the front); default one write per frame.
# 3. bench=kafka_front_ratio: max confirmed frames/s over both ceilings (frames and Kafka
#    messages are one to one; reports/s = frames/s x POINTS).
# Every figure comes with the CPU per frame of the front (by thread), the broker and the
# load client, and the machine's busy share: on a 2-core machine the three share it.
# -P: perf record -a during one more max run -> bench=profile lines (by process, by front
# thread, top front symbols).
# Runs MF_BENCH_RUNS times (default 1): ceilings, then the front cases with fresh topics.
# Output: bench=kafka_ceiling ..., bench=kafka_front ..., bench=kafka_front_cpu ...,
# bench=kafka_front_ratio ...; bench=kafka_front skipped=<reason> when Kafka cannot start.
set -u
. "$(dirname "$0")/lib.sh"
conns=1000 window=8 points=1 co=0 frames=$(e2e_scale 300000) cmsgs=$(e2e_scale 2000000) perf=0
sets=() cx=() tag=
while [ $# -gt 0 ]; do
  case $1 in
    -c) conns=$2; shift 2 ;; -w) window=$2; shift 2 ;; -p) points=$2; shift 2 ;;
    -n) frames=$2; shift 2 ;; -m) cmsgs=$2; shift 2 ;; -P) perf=1; shift ;; -C) co=1; shift ;;
    --set) sets+=(--set "$2"); tag="${tag:- sets=}${tag:+,}$2"; shift 2 ;; --ceiling-x) cx+=(-X "$2"); shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;;
  esac
done
B=$(dirname "$e2e_bin")/bench
kd=$(mktemp -d /tmp/mf-bench-kf.XXXXXX)
cleanup() {
  e2e_cleanup
  bash "$e2e_root/scripts/kafka.sh" stop "$kd" >/dev/null 2>&1
  rm -rf "$kd"
  [ -n "${MF_BENCH_KEEP:-}" ] || rm -rf "${dd:-}"
}
trap cleanup EXIT
bash "$e2e_root/scripts/kafka.sh" start 1 "$kd" >"$kd.log" 2>&1 ||
  { echo "bench=kafka_front skipped=kafka_start_failed"; rm -f "$kd.log"; exit 0; }
rm -f "$kd.log"
boot=$(cat "$kd/bootstrap"); bpid=$(cat "$kd/pids/broker0")
size=$((40 + 16 + 35 * points))

# ---- 1. the ceilings (same broker, same message size, acks=all) ----
ceil() { # label inflight
  "$B/bench_kafka_producer" "$boot" "$cmsgs" "$size" "$2" --case raw --label "$1" \
    --broker-pid "$bpid" -X topic.metadata.refresh.interval.ms=30000 "${cx[@]}" |
    sed 's/^bench=kafka_producer/bench=kafka_ceiling/'
}

# ---- 2. the front ----
front_run() { # case rate term_base -> the loader's line split: main + per-thread CPU lines
  local l th
  l=$("$B/bench_front_load" --port "$tport" --conns "$conns" --term-base "$3" \
    --frames "$frames" --load-conns "$conns" --window "$window" --points "$points" \
    --reports-only 1 --coalesce "$co" --rate "$2" --server-pid "$fpid" --broker-pid "$bpid" |
    grep '^bench=front_load')
  [ -n "$l" ] || { echo "bench=kafka_front case=$1 error=load_client_failed"; return; }
  th=$(e2e_kv "$l" cpu_threads_us_per_frame)
  echo "${l%% cpu_threads_us_per_frame=*}" |
    sed "s/^bench=front_load/bench=kafka_front case=$1 size=$size coalesce=$co run=$run$tag/;
         s/ rate=/ frames_per_s=/"
  tr ',' '\n' <<<"$th" | awk -F: -v c="$1 points=$points coalesce=$co run=$run$tag" 'NF == 3 {
    print "bench=kafka_front_cpu case=" c " by=front_thread what=" $1 \
      " us_per_frame=" $2 " sys_us_per_frame=" $3 }'
}
for run in $(seq "${MF_BENCH_RUNS:-1}"); do
  c_front="" c_free=""  # the ceilings first in every run (the machine drifts between runs)
  if [ "$cmsgs" -gt 0 ]; then  # -m 0: no ceiling (tuning runs of the front alone)
    c_front=$(ceil front 1 | sed "s/ label=/ run=$run label=/"); echo "$c_front"
    c_free=$(ceil unconstrained 1000000 | sed "s/ label=/ run=$run label=/"); echo "$c_free"
  fi
  pre="mfk$run."
  bash "$e2e_root/scripts/kafka.sh" topics "$kd" "$pre" 4 >/dev/null 2>&1
  dd=$(mktemp -d /tmp/mf-bench-kfr.XXXXXX)
  tport=$(e2e_free_port)
  "$e2e_bin" front --set "meterflow.data_dir=$dd" --set queue.backend=kafka \
    --set "kafka.bootstrap.servers=$boot" --set "queue.topic_prefix=$pre" \
    --set meterflow.log_level=error --set "front.port=$tport" --set front.frames_per_sec=0 \
    --set front.login_per_min=1000000 "${sets[@]}" >"$dd/front.log" 2>&1 &
  fpid=$!; e2e_pids+=($fpid)
  e2e_wait_port "$tport" $fpid || { echo "bench=kafka_front skipped=front_start_failed";
    tail -3 "$dd/front.log" >&2; exit 0; }
  tb=$((run * 3 * conns))  # every case its own terminals (fresh sessions)
  lmax=$(front_run max 0 "$tb"); echo "$lmax"
  max=$(e2e_kv "$(head -1 <<<"$lmax")" frames_per_s)
  max=${max%.*}
  front_run half $(( ${max:-0} / 2 )) $((tb + conns))
  if [ $perf = 1 ] && [ "$run" = 1 ]; then
    perf record -F 499 -a -o "$dd/perf.data" -- sleep 600 >/dev/null 2>&1 &
    perf_pid=$!
    front_run max_profiled 0 $((tb + 2 * conns)) | head -1
    kill -INT $perf_pid; wait $perf_pid
    # (perf's --pid/--comm filters drop kernel samples here: sort by comm and filter in awk)
    perf report -i "$dd/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null |
      awk '/^ +[0-9.]+%/ && n < 14 {n++; print "bench=profile by=thread_name pct=" $1 " what=" $2}'
    perf report -i "$dd/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null |
      awk '/^ +[0-9.]+%/ && n < 24 {n++; print "bench=profile by=thread_dso pct=" $1 \
        " what=" $2 " dso=" $3}'
    perf report -i "$dd/perf.data" --no-children --sort comm,dso,sym --stdio -g none \
      2>/dev/null | awk '/^ +[0-9.]+%/ && ($2 == "front-io" || $2 ~ /^rdk:/) && n < 30 {
        n++; print "bench=profile by=front_symbol pct=" $1 " thread=" $2 " dso=" $3 " what=" $5}'
  fi
  kill "$fpid"; wait "$fpid" 2>/dev/null; e2e_pids=()
  [ -n "${MF_BENCH_KEEP:-}" ] && echo "# kept $dd" >&2 || rm -rf "$dd"
  python3 - "$max" "$(e2e_kv "$c_front" msgs_per_s)" "$(e2e_kv "$c_free" msgs_per_s)" \
    "$points" "$run" <<'PY'
import sys
mx, cf, cu, pts, run = (float(x or 0) for x in sys.argv[1:])
print("bench=kafka_front_ratio run=%d points=%d front_frames_per_s=%.0f reports_per_s=%.0f "
      "ceiling_front_msgs_per_s=%.0f ceiling_unconstrained_msgs_per_s=%.0f "
      "pct_of_front_ceiling=%.1f pct_of_unconstrained=%.1f"
      % (run, pts, mx, mx * pts, cf, cu, 100 * mx / cf if cf else 0, 100 * mx / cu if cu else 0))
PY
done
