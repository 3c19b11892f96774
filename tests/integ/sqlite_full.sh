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
it_suite=store-full
it_bin=build/$build/integ/test_store_full
. tests/integ/lib/suite.sh
it_build
dir=$(mktemp -d /tmp/mf-full.XXXXXX)
cleanup() { umount "$dir" 2>/dev/null; rmdir "$dir" 2>/dev/null; }
trap cleanup EXIT
if ! mount -t tmpfs -o size=2m tmpfs "$dir" 2>/tmp/mf-store-full-mount.log; then
  echo "store-full: FAIL (not skipped-as-pass): cannot mount a tmpfs at $dir: $(cat /tmp/mf-store-full-mount.log)"
  it_record 0 1
  exit 1
fi
it_run MF_FULL_DIR="$dir"
