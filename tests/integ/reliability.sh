#!/usr/bin/env bash
# reliability.sh -- the SHORT fault scenarios (tests/reliability/*.sh), the hostile-terminal
# and the security checks, as scripts/test.sh runs them. Each scenario appends its own
# "reliability-<name> <passed> <failed>" line to $MF_RESULTS. The long versions: scripts/soak.sh.
# Budget: under ~8 minutes on the 2-core machine. RL_ONLY="a b" runs only those scenarios.
set -u
cd "$(dirname "$0")/../.."
export MF_RESULTS=${MF_RESULTS:-/dev/null}
short="ledger_selftest kill_run sqlite_lock disk_full"
rc=0
for s in ${RL_ONLY:-$short}; do
  f=tests/reliability/$s.sh
  [ -f "$f" ] || continue
  echo "-- reliability $s"
  bash "$f" || rc=1
done
exit $rc
