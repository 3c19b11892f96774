#!/usr/bin/env bash
# web-pg-fixture.sh -- the issue-6 API store on PostgreSQL 15: the same layout and values as
# the SQLite fixture of web-bench.sh --gen (bench_web_bigfix, seed 7: 10,000 terminals x 10
# points, areas of 10 terminals), in a private server kept in PGDIR (scripts/pg.sh), database
# `meterflow`. Resumable: each bench_web_bigfix call stops after MAXSECS (under $HEAVY, e.g.
# HEAVY=/work/bin/heavy); call the script again after an interruption. At the end ANALYZE (and
# VACUUM, as autovacuum would after a bulk load) runs table by table, and the server stops.
#
#   PGDIR=/work/fixtures/web-100k-pg DAYS=365 CURVE_DAYS=7 HEAVY=/work/bin/heavy \
#       bash bench/web-pg-fixture.sh
#
# Load settings (PG_OPTS of scripts/pg.sh; the web-conc.sh runs start it with its defaults
# plus SERVE_OPTS): wal_level=minimal, no WAL senders, 1 GB max_wal_size, 512 MB
# shared_buffers; COPY with synchronous_commit=off per session. Disk: see docs/PERFORMANCE.md.
set -eu
cd "$(dirname "$0")/.."
PGDIR=${PGDIR:?set PGDIR}; DAYS=${DAYS:-365}; CURVE_DAYS=${CURVE_DAYS:-7}; MAXSECS=${MAXSECS:-200}
TERMS=${TERMS:-10000}; B=${MF_BUILD:-bench}; HEAVY=${HEAVY:-}
BIN=build/$B/bench/bench_web_bigfix
[ -x "$BIN" ] || { echo "$BIN missing: make BUILD=$B $BIN" >&2; exit 2; }
export PG_OPTS="-c shared_buffers=512MB -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=1GB -c checkpoint_timeout=30min"
trap 'bash scripts/pg.sh stop "$PGDIR" >/dev/null 2>&1' EXIT
bash scripts/pg.sh start "$PGDIR"
ci="$(cat "$PGDIR/conninfo")"
psql -q "$ci" -tAc "SELECT 1 FROM pg_database WHERE datname = 'meterflow'" | grep -q 1 ||
  psql -q "$ci" -c "CREATE DATABASE meterflow"
[ -s "$PGDIR/today" ] || echo $(( $(date +%s) / 86400 )) >"$PGDIR/today"
export MF_BENCH_TODAY=$(cat "$PGDIR/today")
G=(--terminals "$TERMS" --points 10 --days "$DAYS" --curve-days "$CURVE_DAYS" --seed 7)
db="postgres:$ci dbname=meterflow"
if [ ! -e "$PGDIR/master.done" ]; then
  $HEAVY "$BIN" "$db" master "${G[@]}" && touch "$PGDIR/master.done"
fi
while :; do
  out=$($HEAVY "$BIN" "$db" data "${G[@]}" --max-secs "$MAXSECS")
  echo "$(date +%T) $out"
  case "$out" in *done*) break;; esac
done
if [ ! -e "$PGDIR/vacuum.done" ]; then
  for t in frozen daily_use curve instant; do
    s=$(date +%s)
    $HEAVY psql -q "$ci dbname=meterflow" -c "VACUUM (ANALYZE) $t"
    echo "$(date +%T) vacuum analyze $t: $(( $(date +%s) - s )) s"
  done
  $HEAVY psql -q "$ci dbname=meterflow" -c "ANALYZE"
  touch "$PGDIR/vacuum.done"
fi
psql "$ci dbname=meterflow" -c "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY pg_total_relation_size(relid) DESC LIMIT 8"
psql "$ci" -tAc "SELECT pg_size_pretty(pg_database_size('meterflow'))"
du -sh "$PGDIR"
