#!/usr/bin/env bash
# web-pg-fixture.sh -- the issue-6 API store on PostgreSQL 15: the same layout and values as
# the SQLite fixture of web-bench.sh --gen (bench_web_bigfix, seed 7: 10,000 terminals x 10
# points, areas of 10 terminals), in a private server kept in PGDIR (scripts/pg.sh), database
# `meterflow`. Resumable: each bench_web_bigfix call stops after MAXSECS (under $HEAVY, e.g.
# HEAVY=/work/bin/heavy); call the script again after an interruption. At the end ANALYZE
# (planner statistics); the tables are not vacuumed (a VACUUM of ~17 GB takes longer than the
# machine's shared budget allows): hint bits are set by the first reads, autovacuum is off in
# the load and the measurement runs so it cannot start midway.
#
#   PGDIR=/work/fixtures/web-100k-pg DAYS=365 CURVE_DAYS=5 HEAVY=/work/bin/heavy \
#       bash bench/web-pg-fixture.sh
#
# Load settings (PG_OPTS of scripts/pg.sh): wal_level=minimal, no WAL senders, 1 GB
# max_wal_size, 512 MB shared_buffers, autovacuum off; COPY with synchronous_commit=off per
# session. Sizes (measured on 1,000 points): ~126 B per curve row, 145 per frozen, 112 per
# daily_use, 118 per instant, indexes included: 100,000 points with 365 days and 5 curve
# days ~17 GB. Disk and time: docs/PERFORMANCE.md "PostgreSQL at 100,000 points".
set -eu
cd "$(dirname "$0")/.."
PGDIR=${PGDIR:?set PGDIR}; DAYS=${DAYS:-365}; CURVE_DAYS=${CURVE_DAYS:-5}; MAXSECS=${MAXSECS:-200}
TERMS=${TERMS:-10000}; B=${MF_BUILD:-bench}; HEAVY=${HEAVY:-}
BIN=build/$B/bench/bench_web_bigfix
[ -x "$BIN" ] || { echo "$BIN missing: make BUILD=$B $BIN" >&2; exit 2; }
export PG_OPTS="-c shared_buffers=512MB -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=1GB -c checkpoint_timeout=30min -c autovacuum=off"
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
if [ ! -e "$PGDIR/analyze.done" ]; then
  $HEAVY psql -q "$ci dbname=meterflow" -c "ANALYZE" && touch "$PGDIR/analyze.done"
fi
psql "$ci dbname=meterflow" -c "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY pg_total_relation_size(relid) DESC LIMIT 8"
psql "$ci" -tAc "SELECT pg_size_pretty(pg_database_size('meterflow'))"
du -sh "$PGDIR"
