#!/bin/bash
# heavy.sh CMD...: run a CPU-heavy command (build, tests, data generation) so that it never
# overlaps a benchmark measurement of another engineer on the same machine. Waits while
# someone holds the measurement gate, then holds the shared lock for the command's duration.
# See docs/CONTRIBUTING.md "Benchmarks on a shared machine". Lock files: $MF_LOCK_DIR (/work).
d=${MF_LOCK_DIR:-/work}
flock "$d/gate.lock" true
exec flock -s "$d/bench.lock" "$@"
