#!/usr/bin/env bash
# reliability.sh -- the SHORT fault scenarios (tests/reliability/*.sh) as scripts/test.sh runs
# them (the hostile-terminal and security checks are tests/integ/hostile.sh and security.sh,
# which scripts/test.sh runs too). Each scenario appends its own
# "reliability-<name> <passed> <failed>" line to $MF_RESULTS. The long versions: scripts/soak.sh.
# Budget: under ~8 minutes on the 2-core machine. RL_ONLY="a b" runs only those scenarios.
set -u
cd "$(dirname "$0")/../.."
export MF_RESULTS=${MF_RESULTS:-/dev/null}
short="ledger_selftest kill_run sqlite_lock disk_full pg_run pg_slow pg_full distributed kafka_broker"
rc=0
for s in ${RL_ONLY:-$short}; do
  f=tests/reliability/$s.sh
  [ -f "$f" ] || continue
  echo "-- reliability $s"
  if [ "$s" = distributed ]; then   # short: one broker, four faults, 50 terminals
    RL_BROKERS=${RL_BROKERS:-1} RL_FAULTS=${RL_FAULTS:-front worker web pgstop} \
      RL_TERMINALS=${RL_TERMINALS:-50} bash "$f" || rc=1
  else
    bash "$f" || rc=1
  fi
done
exit $rc
