#!/usr/bin/env bash
# bench.sh -- `make bench`: every benchmark of docs/PERFORMANCE.md with one size factor and
# fixed seeds, machine-readable results, tables and plots.
#
#   scripts/bench.sh [NAME...]          all benchmarks, or only the named ones
#   MF_BENCH_SCALE=0.1 make bench       quick mode (a few minutes); 1 = the documented sizes
#   MF_BENCH_RUNS=3                     runs per case (the docs quote the median)
#   MF_BENCH_NOREPORT=1                 results only, no docs/perf/ update
#
# Names: codec store queue worker rollup front web kafka (the module engineers' benchmarks,
# called as they are) and e2e_embedded e2e_kafka kafka_front thesis thesis_pg county
# (bench/e2e/, end to end).
# Each writes bench/results/<name>.txt (git-ignored): a header "# machine ..." line, then the
# "bench=<name> key=value ..." lines of every run. bench/e2e/report.py then builds the
# tables and PNG plots into docs/perf/ (committed). Benchmarks that need Kafka or PostgreSQL
# start private servers with scripts/kafka.sh / scripts/pg.sh; when those cannot start, the
# result file says "bench=<name> skipped=<reason>" -- a skip is never a figure.
# Tests never depend on these timings. Thread: shell; every process started is stopped.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
scale=${MF_BENCH_SCALE:-1}
runs=${MF_BENCH_RUNS:-3}
res=$root/bench/results
mkdir -p "$res"
export MF_BENCH_SCALE=$scale MF_BENCH_RUNS=$runs

sc() { python3 -c "print(max(1,int(round($1*$scale))))"; }
machine() {
  local cpu mem
  cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1 | tr ' ' _)
  mem=$(awk '/MemTotal/ {printf "%.1fGiB", $2/1048576}' /proc/meminfo)
  echo "# machine date=$(date -u +%FT%TZ) nproc=$(nproc) cpu=$cpu ram=$mem" \
       "load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /) scale=$scale runs=$runs" \
       "commit=$(git rev-parse --short HEAD 2>/dev/null)"
}
# start NAME: fresh result file with the machine header. Lines are appended by the callers.
start() { machine >"$res/$1.txt"; echo "== $1 ($(date -u +%T))" >&2; }
keep() { grep -E '^(bench=|# )' | tee -a "$res/$1.txt"; }

build() {
  make -s -j2 BUILD=release build/release/meterflow benchbin >/dev/null || return 1
  # the -O3 flavour for the CPU-bound microbenchmarks; release when it does not build
  if make -s -j2 BUILD=bench benchbin >/dev/null 2>&1; then B=build/bench/bench; else
    echo "bench: BUILD=bench did not build; using the release flavour" >&2
    B=build/release/bench; fi
  R=build/release/bench
}

b_codec() { start codec; "$B/bench_codec" "$scale" "$runs" | keep codec; }
b_store() {
  start store
  for _ in $(seq "$runs"); do "$B/bench_store" --records "$(sc 1000000)" | keep store; done
  local d; d=$(mktemp -d /tmp/mf-bench-pg.XXXXXX)
  if bash scripts/pg.sh start "$d" >/dev/null 2>&1; then
    for _ in $(seq "$runs"); do
      "$B/bench_store" --backend postgres --conninfo "$(cat "$d/conninfo")" \
        --records "$(sc 1000000)" | keep store
    done
    bash scripts/pg.sh stop "$d" >/dev/null 2>&1
  else echo "bench=store backend=postgres skipped=pg_start_failed" | keep store; fi
  rm -rf "$d"
}
b_queue() {
  start queue
  for _ in $(seq "$runs"); do "$B/bench_queue_embedded" "$(sc 1000000)" 100 100000 | keep queue; done
}
b_worker() {
  start worker
  for _ in $(seq "$runs"); do "$B/bench_worker" "$(sc 200000)" | keep worker; done
}
b_rollup() {
  start rollup
  for _ in $(seq "$runs"); do "$B/bench_rollup" "$(sc 1000000)" 8 | keep rollup; done
  "$B/bench_rollup_store" "$(sc 100000)" 8 | keep rollup
}
b_front() {
  start front
  CONNS=$(sc 20000) FRAMES=$(sc 100000) OUT=$res/front.raw BUILD=release \
    bash bench/front_scale.sh 2>&1 | keep front
}
b_web() {
  start web
  N=$(sc 1000) MF_BUILD=release bash bench/web-bench.sh 2>&1 | keep web
}
b_kafka() {
  start kafka
  local d; d=$(mktemp -d /tmp/mf-bench-kafka.XXXXXX)
  if bash scripts/kafka.sh start 1 "$d" >/dev/null 2>&1; then
    for _ in $(seq "$runs"); do
      "$R/bench_kafka_producer" "$(cat "$d/bootstrap")" "$(sc 500000)" 100 1 | keep kafka
    done
    bash scripts/kafka.sh stop "$d" >/dev/null 2>&1
  else echo "bench=kafka_producer skipped=kafka_start_failed" | keep kafka; fi
  rm -rf "$d"
}
b_e2e_embedded() {
  start e2e_embedded
  local dur; dur=$(sc 10); [ "$dur" -lt 3 ] && dur=3
  local tune=(--set worker.batch_max_records=20000 --set worker.poll_max_msgs=2048)
  for _ in $(seq "$runs"); do  # near the capacity of the shared 2-core machine, then 2x over
    bash bench/e2e/embedded.sh -t "$(sc 3000)" -r 2 -d "$dur" "${tune[@]}" | keep e2e_embedded
    bash bench/e2e/embedded.sh -t "$(sc 6000)" -r 2 -d "$dur" "${tune[@]}" | keep e2e_embedded
  done
  bash bench/e2e/embedded.sh -t "$(sc 3000)" -r 2 -d "$dur" -P "${tune[@]}" |
    grep -E '^bench=profile' | keep e2e_embedded
}
b_e2e_kafka() {
  start e2e_kafka
  bash bench/e2e/kafka_pg.sh | keep e2e_kafka
}
b_kafka_front() {  # issue 4: front -> Kafka side by side with the raw producer ceiling
  start kafka_front
  bash bench/e2e/kafka_front.sh | keep kafka_front          # one write per frame (terminals)
  bash bench/e2e/kafka_front.sh -C | keep kafka_front       # a cheaper load client
  bash bench/e2e/kafka_front.sh -C -p 8 | keep kafka_front  # 8-point F129 frames (the sim's)
  bash bench/e2e/kafka_front.sh -C -w 15 -c 2000 -n "$(sc 600000)" | keep kafka_front  # more in flight
}
b_thesis() {
  start thesis
  bash bench/e2e/thesis.sh | keep thesis
}
b_thesis_pg() {  # PostgreSQL, 1,000 to 100,000 terminals (several fronts past 15,000)
  start thesis_pg
  if [ "$(python3 -c "print(float('$scale') < 0.5)")" = True ]; then
    bash bench/e2e/thesis.sh -b postgres -r 0.2 -d 15 -l "1000 20000" | keep thesis_pg
  else  # longer loads where 50,000-100,000 logins take seconds (docs/PERFORMANCE.md)
    bash bench/e2e/thesis.sh -b postgres -r 0.2 -d 25 -l "1000 3000 10000" | keep thesis_pg
    bash bench/e2e/thesis.sh -b postgres -r 0.2 -d 40 -l "20000 50000 100000" | keep thesis_pg
  fi
}
b_county() {
  start county
  bash bench/e2e/county.sh | keep county
}

all="codec store queue worker rollup front web kafka e2e_embedded e2e_kafka kafka_front thesis thesis_pg county"
sel=${*:-$all}
build || { echo "bench: build failed" >&2; exit 1; }
for n in $sel; do
  case " $all " in *" $n "*) "b_$n" || echo "bench: $n failed (rc $?)" >&2 ;;
    *) echo "bench: unknown benchmark '$n' (known: $all)" >&2; exit 2 ;; esac
done
if [ -z "${MF_BENCH_NOREPORT:-}" ]; then
  python3 bench/e2e/report.py "$res" docs/perf || exit 1
fi
