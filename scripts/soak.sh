#!/usr/bin/env bash
# soak.sh -- the LONG versions of the fault scenarios (docs/RELIABILITY.md): bigger loads,
# more kills, longer outages, the 3-broker cluster, the 19,000-terminal reconnect. Minutes to
# an hour on a shared 2-core machine; not part of scripts/test.sh.
#
# Usage: scripts/soak.sh                     everything, full sizes (about 40 minutes)
#        SOAK_ONLY="kill_run hostile" scripts/soak.sh
#        SOAK_TRIM=1 scripts/soak.sh         shorter loads and outages (about 20 minutes:
#                                            what a shared 2-core machine finishes in a slot)
# Run it under /work/bin/heavy on the shared machine, one scenario per call if others wait.
# Each scenario prints its "figures <name>: ..." line; the summary line is
# "soak: N passed, N failed" (suites). MF_BUILD picks the build flavour (release).
set -u
cd "$(dirname "$0")/.."
export MF_RESULTS=${MF_RESULTS:-$(mktemp /tmp/mf-soak-results.XXXXXX)}
make -s -j2 BUILD="${MF_BUILD:-release}" all || exit 1
run() { # run NAME env... script
  local name=$1; shift
  case " ${SOAK_ONLY:-kill_run sqlite_lock disk_full pg_run pg_slow pg_full pg_full_wal distributed distributed_pgfreeze kafka_broker hostile} " in
  *" $name "*) echo "== soak $name ($(date -u +%H:%M:%S))"; env "$@"; echo "== end $name ($(date -u +%H:%M:%S))" ;;
  esac
}
# full size | trimmed (SOAK_TRIM=1)
t() { if [ -n "${SOAK_TRIM:-}" ]; then echo "$2"; else echo "$1"; fi; }
run kill_run RL_TERMINALS=1000 RL_POINTS=16 RL_DURATION="$(t 300 120)" RL_KILLS="$(t 10 4)" \
  RL_DOWN=3 bash tests/reliability/kill_run.sh
run sqlite_lock RL_TERMINALS=1000 RL_HOLD=60 RL_DURATION="$(t 180 120)" \
  bash tests/reliability/sqlite_lock.sh
run disk_full RL_TERMINALS=500 RL_DISK_MB=64 RL_FULL_HOLD=60 RL_DURATION="$(t 240 150)" \
  bash tests/reliability/disk_full.sh
run pg_run RL_TERMINALS=500 RL_PG_DOWN=60 RL_DURATION="$(t 180 120)" \
  bash tests/reliability/pg_run.sh
run pg_slow RL_TERMINALS=500 RL_SLOW_S=60 RL_DURATION="$(t 180 120)" RL_QUEUE_MSGS=1024 \
  bash tests/reliability/pg_slow.sh
run pg_full RL_TERMINALS=500 RL_DISK_MB=64 RL_FULL_HOLD=60 RL_DURATION="$(t 240 150)" \
  bash tests/reliability/pg_full.sh
run pg_full_wal RL_PG_FULL=wal RL_TERMINALS=500 RL_DISK_MB=64 RL_FULL_HOLD=60 \
  RL_DURATION="$(t 240 150)" bash tests/reliability/pg_full.sh
run distributed RL_BROKERS=3 RL_TERMINALS="$(t 500 300)" RL_FAULTS="front worker web broker pgstop" \
  RL_PG_DOWN=30 bash tests/reliability/distributed.sh
run distributed_pgfreeze RL_BROKERS=1 RL_TERMINALS=300 RL_FAULTS="pgfreeze" RL_PG_DOWN=60 \
  bash tests/reliability/distributed.sh
run kafka_broker RL_TERMINALS="$(t 300 150)" RL_KAFKA_DOWN=60 RL_BROKER_DOWN=30 RL_KDISK_MB=2048 \
  bash tests/reliability/kafka_broker.sh
run hostile HS_MASS=19000 HS_SECS="$(t 20 12)" HS_GOOD=100 HS_MASS_ASSERT=1 bash tests/integ/hostile.sh
awk '{p+=($3==0); f+=($3>0)} END {printf "soak: %d passed, %d failed\n", p, f; exit (f>0)}' "$MF_RESULTS"
