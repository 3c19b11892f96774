#!/usr/bin/env bash
# kafka_front.sh -- issue 4's benchmark: Kafka-mode ingest through `meterflow front` side by
# side with the raw producer ceiling of the same broker on the same machine.
#
#   bench/e2e/kafka_front.sh [-c CONNS] [-w WINDOW] [-p POINTS] [-n FRAMES] [-m CEILING_MSGS]
#                            [-C] [-P] [-H] [-N] [-U] [--set section.key=value]...
#                            [--ceiling-x key=value]...
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
# Runs MF_BENCH_RUNS times (default 1) against one broker and one set of topics (created
# once), each run a pair taken close in time: odd runs the ceilings then the front, even runs
# the front then the ceilings (ABBA: a drift of the machine during the call does not favour
# one side), a fresh front process every run; bench=kafka_front_ratio is the pair's ratio.
# -H: the half-load case only in the last run (long paired calls; default: every run).
# -N: no half-load case (tuning runs: the max only).
# -U: no unconstrained ceiling (only the one with the front's settings).
# Several seconds per max run (e.g. -n 3000000 -m 4000000) keep start-up and drain small.
# Output: bench=kafka_ceiling ..., bench=kafka_front ..., bench=kafka_front_cpu ...,
# bench=kafka_front_ratio ...; bench=kafka_front skipped=<reason> when Kafka cannot start.
set -u
. "$(dirname "$0")/lib.sh"
conns=1000 window=8 points=1 co=0 frames=$(e2e_scale 300000) cmsgs=$(e2e_scale 2000000) perf=0
halflast=0 unc=1 ratios=
sets=() cx=() tag=
while [ $# -gt 0 ]; do
  case $1 in
    -c) conns=$2; shift 2 ;; -w) window=$2; shift 2 ;; -p) points=$2; shift 2 ;;
    -n) frames=$2; shift 2 ;; -m) cmsgs=$2; shift 2 ;; -P) perf=1; shift ;; -C) co=1; shift ;;
    -H) halflast=1; shift ;; -N) halflast=2; shift ;; -U) unc=0; shift ;;
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
ceilings() {
  [ "$cmsgs" -gt 0 ] || return 0 # -m 0: no ceiling (tuning runs of the front alone)
  c_front=$(ceil front 1 | sed "s/ label=/ run=$run label=/"); echo "$c_front"
  [ $unc = 1 ] || return 0
  c_free=$(ceil unconstrained 1000000 | sed "s/ label=/ run=$run label=/"); echo "$c_free"
}
pre="mfk."
bash "$e2e_root/scripts/kafka.sh" topics "$kd" "$pre" 4 >/dev/null 2>&1
nruns=${MF_BENCH_RUNS:-1}
for run in $(seq "$nruns"); do
  c_front="" c_free=""
  [ $((run % 2)) = 1 ] && ceilings
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
  if [ $halflast = 0 ] || { [ $halflast = 1 ] && [ "$run" = "$nruns" ]; }; then
    front_run half $(( ${max:-0} / 2 )) $((tb + conns))
  fi
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
  [ $((run % 2)) = 0 ] && ceilings
  ratio=$(python3 - "$max" "$(e2e_kv "$c_front" msgs_per_s)" "$(e2e_kv "$c_free" msgs_per_s)" \
    "$points" "$run" <<'PY'
import sys
mx, cf, cu, pts, run = (float(x or 0) for x in sys.argv[1:])
print("bench=kafka_front_ratio run=%d points=%d front_frames_per_s=%.0f reports_per_s=%.0f "
      "ceiling_front_msgs_per_s=%.0f ceiling_unconstrained_msgs_per_s=%.0f "
      "pct_of_front_ceiling=%.1f pct_of_unconstrained=%.1f"
      % (run, pts, mx, mx * pts, cf, cu, 100 * mx / cf if cf else 0, 100 * mx / cu if cu else 0))
PY
)
  echo "$ratio"; ratios+="$ratio"$'\n'
done
# bench=kafka_front_pairs: medians over the runs (each ratio is one pair's, not a ratio of
# medians), with the spread.
python3 - <<PY
import statistics as st
rows = [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in """$ratios""".splitlines() if l]
def med(k): return st.median(float(r[k]) for r in rows)
def span(k): return "%s-%s" % (min(float(r[k]) for r in rows), max(float(r[k]) for r in rows))
if rows:
    print("bench=kafka_front_pairs runs=%d points=%s median_pct_of_front_ceiling=%.1f "
          "range_pct=%s median_pct_of_unconstrained=%.1f median_front_frames_per_s=%.0f "
          "median_ceiling_front_msgs_per_s=%.0f median_ceiling_unconstrained_msgs_per_s=%.0f"
          % (len(rows), rows[0]["points"], med("pct_of_front_ceiling"),
             span("pct_of_front_ceiling"), med("pct_of_unconstrained"),
             med("front_frames_per_s"), med("ceiling_front_msgs_per_s"),
             med("ceiling_unconstrained_msgs_per_s")))
PY
