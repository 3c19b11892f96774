#!/bin/bash
# measure.sh CMD...: run a benchmark whose figures will be reported with the machine to
# itself: takes the gate (new heavy.sh commands wait), then the exclusive lock (running ones
# drain first). Keep one call under ~8 minutes: everybody else's builds wait meanwhile.
d=${MF_LOCK_DIR:-/work}
exec flock "$d/gate.lock" flock -x "$d/bench.lock" "$@"
