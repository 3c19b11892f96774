#!/usr/bin/env bash
# web-conc.sh -- the API under 1..32 concurrent clients: throughput and p50/p99 of the calls
# an operator's panel makes (terminal list, a point's readings, KPIs, anomalies, line loss,
# and their mix), one `meterflow web` (bench flavour, the [web] defaults unless THREADS /
# HANDLES say otherwise) on a big store, driven by bench_web_http (keep-alive GETs, one
# connection per client, closed loop: a client sends its next request when the last answer
# is in).
#
#   DIR=/work/fixtures/web-100k bash bench/web-conc.sh          SQLite fixture (web-bench.sh --gen)
#   PGDIR=/work/fixtures/web-100k-pg bash bench/web-conc.sh     PostgreSQL fixture (bench_web_bigfix
#                                                               pgdata; the server is started from
#                                                               PGDIR with scripts/pg.sh, then stopped)
#
# Knobs: CONC (client counts, "1 2 4 8 16 32"), REQ (requests per case and count, 1000),
# SECS (time cap of each case and count, 2 s: a run ends at REQ requests or SECS seconds),
# WARM (1: first a pass 0 over the point reads without the time cap, so the measured pass
# finds the pages of its points cached; recorded with pass=0), PASSES (measured ladders in
# a row, 1; recorded with pass=K), COLD (1: every case and count draws its points from a
# seed of its own, so its reads find pages no earlier cell touched: the page-cache-miss
# regime of a store larger than RAM; recorded with cold=1), CASES (subset of the names below), CURVE_DAYS
# (the {D} dates of the curve case: one of the CURVE_DAYS days before today, 5 by default,
# the days the PostgreSQL fixture holds, so both backends answer the same requests), THREADS / HANDLES
# ([web] threads / store_handles; unset: the config defaults), SEED (7).
# Output: one line per (pass, case, clients) on stdout, also appended to
# bench/results/web-conc.txt after a "# machine" header; bench/web_conc_report.py turns
# them into docs/perf/web_conc.md and the plots. Build first (not under measure):
#   make BUILD=bench build/bench/meterflow build/bench/bench/bench_web_http
set -eu
cd "$(dirname "$0")/.."
. bench/web-lib.sh
B=${MF_BUILD:-bench}; REQ=${REQ:-1000}; PASSES=${PASSES:-1}; SEED=${SEED:-7}
SECS=${SECS:-2}; WARM=${WARM:-1}; COLD=${COLD:-0}
CONC=${CONC:-"1 2 4 8 16 32"}; CURVE_DAYS=${CURVE_DAYS:-5}
DIR=${DIR:-}; PGDIR=${PGDIR:-}
[ -n "$DIR" ] || [ -n "$PGDIR" ] || { echo "set DIR (SQLite) or PGDIR (PostgreSQL)" >&2; exit 2; }
for f in "build/$B/meterflow" "build/$B/bench/bench_web_http"; do
  [ -x "$f" ] || { echo "$f missing: make BUILD=$B $f" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/mf-webconc.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null
  [ -n "$PGDIR" ] && bash scripts/pg.sh stop "$PGDIR" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
args=(--set web.port=0 --set meterflow.log_level=warn)
[ -n "${THREADS:-}" ] && args+=(--set web.threads="$THREADS")
[ -n "${HANDLES:-}" ] && args+=(--set web.store_handles="$HANDLES")
if [ -n "$PGDIR" ]; then
  backend=postgres
  # the fixture's server: 512 MB shared_buffers; autovacuum off (web-pg-fixture.sh)
  PG_OPTS="-c shared_buffers=512MB -c autovacuum=off ${PG_OPTS:-}" bash scripts/pg.sh start "$PGDIR" >/dev/null
  args+=(--set meterflow.data_dir="$tmp" --set store.backend=postgres
         --set store.pg_conninfo="$(cat "$PGDIR/conninfo") dbname=meterflow")
  today=$(cat "$PGDIR/today")
else
  backend=sqlite
  [ -s "$DIR/meterflow.db" ] || { echo "no store in $DIR" >&2; exit 2; }
  args+=(--set meterflow.data_dir="$DIR")
  today=$(cat "$DIR/today")
fi
[ "$today" = $(( $(date +%s) / 86400 )) ] ||
  echo "warning: the store was generated for day $today, today is $(( $(date +%s) / 86400 ))" >&2
N=$(( 10000 * 10 ))
web_start "$B" "$tmp" "${args[@]}"
export MF_BENCH_TERMINALS=10000 MF_BENCH_POINTS=10 MF_BENCH_CURVE_DAYS=$CURVE_DAYS
from=$(date -d "-365 days" +%F); yday=$(date -d "-1 day" +%F)
P='/api/terminals/{T}/points/{P}'
declare -A url=(
  [terminals]="/api/terminals?page_size=50"
  [point_daily]="$P/daily?from=$from"
  [point_curve]="$P/curve?date={D}"
  [kpi_summary]="/api/kpi/summary"
  [kpi_collection]="/api/kpi/collection?page_size=10&date=$yday"
  [anomalies]="/api/anomalies?page_size=8&state=open"
  [lineloss]="/api/kpi/lineloss?date=$yday"
  [lineloss_worst]="/api/kpi/lineloss?date=$yday&worst=10"
)
# the mix: a dashboard load (summary, collection, line loss, anomalies), the terminal list
# and a point page (daily, curve, instant), each call equally likely; mix_all_areas is the
# dashboard before it asked lineloss?worst=10 (every area's line loss)
url[mix]="${url[kpi_summary]} ${url[kpi_collection]} ${url[lineloss_worst]} ${url[anomalies]} ${url[terminals]} ${url[point_daily]} ${url[point_curve]} $P/instant"
url[mix_all_areas]="${url[mix]/${url[lineloss_worst]}/${url[lineloss]}}"
CASES=${CASES:-"terminals point_daily point_curve kpi_summary kpi_collection anomalies lineloss lineloss_worst mix mix_all_areas"}
mkdir -p bench/results
echo "# machine $(date -u +%FT%TZ) nproc=$(nproc) load=\"$(cut -d' ' -f1-3 /proc/loadavg)\" commit=$(git rev-parse --short HEAD) backend=$backend" |
  tee -a bench/results/web-conc.txt
cfg="threads=${THREADS:-4} handles=${HANDLES:-4} cold=$COLD"   # 4 / 4: the [web] defaults
cpu_ticks() { # user + system CPU of the server so far, in clock ticks (fields 14, 15)
  awk '{ print $14 + $15 }' "/proc/$pid/stat"
}
hz=$(getconf CLK_TCK)
one() { # pass case clients
  local c0 out; c0=$(cpu_ticks)
  local seed=$SEED
  [ "$COLD" = 1 ] && seed=$(( SEED * 100000 + $1 * 1000 + $3 )) # points no other cell reads
  out=$("build/$B/bench/bench_web_http" 127.0.0.1 "$port" "$tok" "$2" "$3" "$REQ" "${url[$2]}" "$seed")
  # server CPU per request (us): the server's own share of the 2 cores, beside the client's
  local n; n=$(echo "$out" | sed -n 's/.* n=\([0-9]*\) .*/\1/p')
  out="$out srv_cpu_us=$(( ($(cpu_ticks) - c0) * 1000000 / hz / (n > 0 ? n : 1) ))"
  echo "bench=web_conc backend=$backend pass=$1 clients=$3 $cfg $out" | tee -a bench/results/web-conc.txt
}
# pass 0 warms the page cache: the point reads' requests of every count, without a time cap
# (the dashboard tables are small and warm after a few calls)
if [ "$WARM" = 1 ]; then
  for c in point_daily point_curve mix mix_all_areas; do
    case " $CASES " in *" $c "*) for n in $CONC; do one 0 "$c" "$n" >/dev/null; done;; esac
  done
fi
export MF_BENCH_SECS=$SECS
if [ -n "${PERF:-}" ]; then # PERF=FILE: profile the server over the measured passes
  perf record -F 499 -g -p "$pid" -o "$PERF" 2>/dev/null & perfpid=$!
fi
for pass in $(seq "$PASSES"); do
  for c in $CASES; do
    for n in $CONC; do one "$pass" "$c" "$n"; done
  done
done
if [ -n "${PERF:-}" ]; then kill -INT "$perfpid"; wait "$perfpid" || true; fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a bench/results/web-conc.txt
