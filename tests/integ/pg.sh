#!/usr/bin/env bash
# pg.sh -- the store contract against a real PostgreSQL 15: starts a private server
# (scripts/pg.sh, free loopback port, temp dir), runs build/$MF_BUILD/integ/test_store_pg,
# stops the server, and appends "store-pg <passed> <failed>" to $MF_RESULTS.
# Works alone: `bash tests/integ/pg.sh` from the repository root.
set -u
cd "$(dirname "$0")/../.."
build=${MF_BUILD:-asan}
bin=build/$build/integ/test_store_pg
record() { [ -n "${MF_RESULTS:-}" ] && echo "store-pg $1 $2" >>"$MF_RESULTS"; echo "store-pg: $1 passed, $2 failed"; }

if [ ! -x "$bin" ] && ! make -s -j2 BUILD="$build" "$bin" >/tmp/mf-store-pg-build.log 2>&1; then
  tail -20 /tmp/mf-store-pg-build.log
  record 0 1
  exit 1
fi
dir=$(mktemp -d /tmp/mf-pg.XXXXXX)
cleanup() { bash scripts/pg.sh stop "$dir" >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT
if ! bash scripts/pg.sh start "$dir"; then
  record 0 1
  exit 1
fi
out=$(MF_PG_DIR=$dir "$bin" 2>&1); rc=$?
echo "$out" | grep -v '^ok ' | tail -30
p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
p=${p:-0}; f=${f:-0}
if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
record "$p" "$f"
[ "$f" = 0 ]
