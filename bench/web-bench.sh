#!/usr/bin/env bash
# web-bench.sh -- API latency (p50/p99) of the dashboard and point-history endpoints with a
# store holding DAYS days of daily values and CURVE_DAYS days of 96-point curves for N
# metering points (bench_web_fixture, fixed seed), served by `meterflow web` (release build,
# [web] threads = THREADS) and driven by bench_web_http (keep-alive GETs, CLIENTS connections).
#
#   N=1000 DAYS=365 CURVE_DAYS=30 bash bench/web-bench.sh      (small: a temporary store)
#
# The goal size (issue 6: 100,000 points, 36.5 M daily rows, 288 M curve rows, ~26 GB) is
# generated once into DIR by bench_web_bigfix (raw SQLite appends in key order, resumable,
# each call under MAXSECS so it can run under /work/bin/heavy between others' work), then
# measured as often as wanted on the same file:
#
#   DIR=/work/fixtures/web-100k bash bench/web-bench.sh --gen          (heavy: ~35 min)
#   DIR=/work/fixtures/web-100k bash bench/web-bench.sh --reuse        (under measure)
#
# DIR/today keeps the civil day the set was generated for (MF_BENCH_TODAY); measure on that
# day (the curve dates are the 29 days before the client's today). One machine-readable line
# per case (bench_web_http), also appended to bench/results/web-bench.txt. Short by design:
# REQ requests per case (default 400).
set -eu
cd "$(dirname "$0")/.."
. bench/web-lib.sh
N=${N:-$([ -n "${DIR:-}" ] && echo 100000 || echo 1000)}; P=${P:-10}; DAYS=${DAYS:-365}; CURVE_DAYS=${CURVE_DAYS:-30}
REQ=${REQ:-400}; CLIENTS=${CLIENTS:-2}; THREADS=${THREADS:-2}; B=${MF_BUILD:-bench}
MODE=${1:-}; DIR=${DIR:-}; MAXSECS=${MAXSECS:-200}
T=$(( (N + P - 1) / P ))
if [ "$MODE" != --reuse ]; then
  make -s -j2 BUILD="$B" "build/$B/meterflow" "build/$B/bench/bench_web_fixture" \
    "build/$B/bench/bench_web_bigfix" "build/$B/bench/bench_web_http"
fi
if [ "$MODE" = --gen ]; then   # the big store, resumable: call again after an interruption
  [ -n "$DIR" ] || { echo "--gen needs DIR" >&2; exit 2; }
  mkdir -p "$DIR"
  [ -s "$DIR/today" ] || echo $(( $(date +%s) / 86400 )) >"$DIR/today"
  export MF_BENCH_TODAY=$(cat "$DIR/today")
  G=(--terminals "$T" --points "$P" --days "$DAYS" --curve-days "$CURVE_DAYS" --seed 7)
  [ -s "$DIR/meterflow.db" ] || ${HEAVY:-} "build/$B/bench/bench_web_bigfix" "$DIR/meterflow.db" master "${G[@]}"
  while :; do
    out=$(${HEAVY:-} "build/$B/bench/bench_web_bigfix" "$DIR/meterflow.db" data "${G[@]}" --max-secs "$MAXSECS")
    echo "$(date +%T) $out"
    case "$out" in *done*) break;; esac
  done
  exit 0
fi
pid=
if [ -n "$DIR" ]; then
  tmp=$(mktemp -d /tmp/mf-webbench.XXXXXX)
  data=$DIR
  [ -s "$DIR/meterflow.db" ] || { echo "no store in $DIR: run --gen first" >&2; exit 2; }
  trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
  echo "fixture: $DIR reused, $(du -h "$DIR/meterflow.db" | cut -f1)"
else
  tmp=$(mktemp -d /tmp/mf-webbench.XXXXXX)
  data=$tmp
  trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
  t0=$(date +%s.%N)
  "build/$B/bench/bench_web_fixture" "$tmp/meterflow.db" --terminals "$T" --points "$P" \
    --days "$DAYS" --curve-days "$CURVE_DAYS" --seed 7
  echo "fixture: $(python3 -c "import time; print(round(time.time() - $t0, 1))") s, $(du -h "$tmp/meterflow.db" | cut -f1)"
fi
args=(--set meterflow.data_dir="$data" --set web.port=0 --set web.threads="$THREADS"
      --set web.store_handles="$THREADS" --set meterflow.log_level=warn)
web_start "$B" "$tmp" "${args[@]}"
export MF_BENCH_TERMINALS=$T MF_BENCH_POINTS=$P
from=$(date -d "-$DAYS days" +%F)
mkdir -p bench/results
uptime
run() { # case url
  "build/$B/bench/bench_web_http" 127.0.0.1 "$port" "$tok" "$1" "$CLIENTS" "$REQ" "$2" 7 |
    sed "s/^/points=$N days=$DAYS curve_days=$CURVE_DAYS /" | tee -a bench/results/web-bench.txt
}
run dash_summary "/api/kpi/summary"
run dash_online "/api/kpi/online"
run dash_collection "/api/kpi/collection?page_size=20"
run dash_lineloss "/api/kpi/lineloss"
run dash_events "/api/events?page_size=8"
run dash_anomalies "/api/anomalies?page_size=8&state=open"
run terminals_page "/api/terminals?page_size=50"
run terminal_detail "/api/terminals/{T}"
run point_daily_year "/api/terminals/{T}/points/{P}/daily?from=$from"
run point_curve_day "/api/terminals/{T}/points/{P}/curve?date={D}"
run point_energy "/api/terminals/{T}/points/{P}/energy"
run point_instant "/api/terminals/{T}/points/{P}/instant"
uptime
