#!/usr/bin/env bash
# sqlite_full.sh -- SQLite on a full disk (tests/integ/test_store_full.c): mounts a 2 MiB tmpfs
# (root only), runs the test against a database on it (writes until full -> MF_ERETRY,
# PRAGMA integrity_check = ok, the test remounts the tmpfs at 64 MiB and the same handle
# writes again), unmounts, and appends "store-full <passed> <failed>" to $MF_RESULTS.
# If the tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN) the suite records a FAILURE:
# a test that did not run is never a pass.
set -u
cd "$(dirname "$0")/../.."
build=${MF_BUILD:-asan}
bin=build/$build/integ/test_store_full
record() { [ -n "${MF_RESULTS:-}" ] && echo "store-full $1 $2" >>"$MF_RESULTS"; echo "store-full: $1 passed, $2 failed"; }

if [ ! -x "$bin" ] && ! make -s -j2 BUILD="$build" "$bin" >/tmp/mf-store-full-build.log 2>&1; then
  tail -20 /tmp/mf-store-full-build.log
  record 0 1
  exit 1
fi
dir=$(mktemp -d /tmp/mf-full.XXXXXX)
cleanup() { umount "$dir" 2>/dev/null; rmdir "$dir" 2>/dev/null; }
trap cleanup EXIT
if ! mount -t tmpfs -o size=2m tmpfs "$dir" 2>/tmp/mf-store-full-mount.log; then
  echo "store-full: FAIL (not skipped-as-pass): cannot mount a tmpfs at $dir: $(cat /tmp/mf-store-full-mount.log)"
  record 0 1
  exit 1
fi
out=$(MF_FULL_DIR=$dir "$bin" 2>&1); rc=$?
echo "$out" | grep -v '^ok ' | tail -30
p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
p=${p:-0}; f=${f:-0}
if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
record "$p" "$f"
[ "$f" = 0 ]
