#!/usr/bin/env bash
# pg_full.sh -- PostgreSQL's disk fills up under load beneath `meterflow run` ([store] backend
# = postgres, the embedded queue: the store's commit is the durable point). Needs root (mount).
# RL_PG_FULL picks what fills (a tmpfs of RL_DISK_MB):
#   table  the tables' tablespace (CREATE TABLESPACE on the tmpfs, the database's
#          default_tablespace, set before meterflow creates its schema; WAL stays on the big
#          disk). PostgreSQL answers the INSERT with ERROR 53100 "could not extend file ...
#          No space left on device" and stays up: the transaction is rolled back.
#   wal    pg_wal (moved to the tmpfs and linked back). A backend that cannot write WAL
#          PANICs ("could not write to file pg_wal/...: No space left on device"); the
#          postmaster kills every backend, and its crash recovery needs WAL space too, so the
#          server may stop for good until space returns.
# Expected of meterflow (issue #8, "disk full: clear errors, no corruption, recovery"):
#   - retry later, not fatal: the master stays up, nothing is confirmed while the store cannot
#     commit, its RSS stays bounded (lib.sh rl_frozen);
#   - a clear log line, rate-limited (the worker's "store cannot commit" warning carries
#     PostgreSQL's message; at most RL_WARN_MAX such lines while full): with `table` it names
#     the cause (53100 ... No space left on device); with `wal` meterflow can only say what
#     the server told it -- the connection went, "Connection refused" or "the database system
#     is in recovery mode" -- and the PANIC with its cause is in PostgreSQL's own log;
#   - when space returns (remount larger; PostgreSQL started again if it stopped) confirms
#     resume by themselves; at the end every confirmed value is in PostgreSQL exactly once
#     (rl_finish_run: ledger_check.py --pg, sim --verify --pg) and pg_amcheck finds no
#     corrupt table or index.
# Environment: RL_PG_FULL (table), RL_DISK_MB (table 24, wal 48), RL_FULL_HOLD (10 s),
# RL_TERMINALS (100), RL_POINTS (16), RL_DURATION (60), RL_WARN_MAX (5).
set -u
RL_NAME=pg_full_${RL_PG_FULL:-table}
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || rl_die "needs root to mount a tmpfs (run as root or skip this scenario explicitly)"
what=${RL_PG_FULL:-table}
case $what in table) mb=${RL_DISK_MB:-24} ;; wal) mb=${RL_DISK_MB:-48} ;; *) rl_die "RL_PG_FULL=table|wal" ;; esac
terminals=${RL_TERMINALS:-100}
hold=${RL_FULL_HOLD:-10}
PG=$RL_TMP/pg
PGBIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SMALL=$RL_TMP/small
chmod 755 "$RL_TMP"   # the postgres user must reach $PG
RL_CLEANUPS+=("bash '$RL_ROOT/scripts/pg.sh' stop '$PG'" "umount -l '$SMALL'")
pg() { bash "$RL_ROOT/scripts/pg.sh" "$1" "$PG" >>"$RL_TMP/pg.out" 2>&1; }
pg start || { tail -5 "$RL_TMP/pg.out"; rl_die "pg.sh start"; }
RL_PG=$(cat "$PG/conninfo")
mkdir -p "$SMALL" && mount -t tmpfs -o "size=${mb}m,mode=755" tmpfs "$SMALL" || rl_die "mount tmpfs"
if [ "$what" = table ]; then
  install -d -o postgres -g postgres "$SMALL/ts"
  psql "$RL_PG" -qAt -v ON_ERROR_STOP=1 -c "CREATE TABLESPACE mf_small LOCATION '$SMALL/ts'" \
    -c "ALTER DATABASE postgres SET default_tablespace = mf_small" >>"$RL_TMP/pg.out" 2>&1 ||
    rl_die "tablespace on the tmpfs"
else
  pg stop || rl_die "pg.sh stop"
  install -d -o postgres -g postgres -m 700 "$SMALL/wal"
  mv "$PG/data/pg_wal/"* "$SMALL/wal/" && rmdir "$PG/data/pg_wal" &&
    ln -s "$SMALL/wal" "$PG/data/pg_wal" || rl_die "pg_wal onto the tmpfs"
  pg start || { tail -5 "$RL_TMP/pg.out"; rl_die "pg.sh start with pg_wal on the tmpfs"; }
fi
export RL_RUNLOG=$RL_TMP/run.log
RL_RUN_ARGS=(--set store.backend=postgres --set "store.pg_conninfo=$RL_PG")
rl_load "$terminals" "${RL_POINTS:-16}" "${RL_DURATION:-60}"

avail_kb() { df -k --output=avail "$SMALL" | tail -1 | tr -d ' '; }
full() { grep -q "No space left on device" "$PG/log"; }
rl_wait 120 full && rl_ok "PostgreSQL hit the full disk (avail $(avail_kb) kB): $(grep -m1 -E 'ERROR|PANIC' "$PG/log" | cut -c1-200)" ||
  rl_ko "the disk never filled within 120 s (avail $(avail_kb) kB)"
rl_wait 60 grep -q "store cannot commit" "$RL_RUNLOG" || rl_ko "no 'store cannot commit' warning within 60 s"
warn0=$(grep -c "store cannot commit" "$RL_RUNLOG")
rl_frozen "$hold" "PostgreSQL's disk is full"
warn1=$(grep -c "store cannot commit" "$RL_RUNLOG")
pg_err=$(grep -cE "^.*(ERROR|PANIC): .*No space left on device" "$PG/log")
pg_panic=$(grep -c "PANIC" "$PG/log")
pg_down=0; "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$PG/port")" || pg_down=1
line=$(grep -m1 "store cannot commit" "$RL_RUNLOG")
echo "  meterflow: $line"
if [ "$what" = table ]; then # PostgreSQL tells the client: ERROR 53100
  rl_check "the log names the cause (53100 ... No space left on device)" \
    bash -c "grep 'store cannot commit' '$RL_RUNLOG' | grep -q '53100 .*No space left on device'"
else # the client sees the server go away; the cause is in PostgreSQL's log
  rl_check "the log names what the client sees (server gone / in recovery)" \
    bash -c "grep 'store cannot commit' '$RL_RUNLOG' | grep -qiE 'refused|recovery mode|closed the connection|terminating connection|No space'"
fi
rl_check "rate-limited: $((warn1)) 'store cannot commit' lines in all, $((warn1 - warn0)) over the ${hold}s held" \
  [ "$warn1" -le "${RL_WARN_MAX:-5}" ]
rl_check "not fatal: no 'stopping' in the master's log" bash -c "! grep -qE '; stopping|fatal error' '$RL_RUNLOG'"

mount -o remount,size=$((mb * 20))m "$SMALL"
t0=$(rl_now)
if [ "$pg_down" = 1 ] || ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$PG/port")"; then
  pg_down=1
  pg start || { tail -5 "$PG/log"; rl_ko "PostgreSQL did not start again after space returned"; }
fi
rl_resumed "after space returns$([ "$pg_down" = 1 ] && echo ' and PostgreSQL is started again')" "$t0" "$RL_AFTER"

rl_finish_run
"$PGBIN/pg_amcheck" -h 127.0.0.1 -p "$(cat "$PG/port")" -U postgres -d postgres --install-missing \
  --heapallindexed >"$RL_TMP/amcheck.out" 2>&1; arc=$?
rl_check "pg_amcheck --heapallindexed: no corruption (exit $arc)$(head -c 300 "$RL_TMP/amcheck.out")" [ "$arc" = 0 ]
rl_figures "terminals=$terminals full=$what disk_mb=$mb" \
  "confirms_while_full=$((RL_AFTER - RL_FROZEN_AT)) pg_nospace_errors=$pg_err pg_panics=$pg_panic" \
  "pg_stopped=$pg_down warn_lines=$warn1 rss_before_kb=$RL_RSS0 rss_max_kb=$RL_RSS_MAX recovery_s=$RL_REC"
rl_results
