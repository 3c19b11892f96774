#!/usr/bin/env bash
# pg.sh -- the store contract against a real PostgreSQL 15: starts a private server
# (scripts/pg.sh, free loopback port, temp dir), runs build/$MF_BUILD/integ/test_store_pg,
# stops the server, and appends "store-pg <passed> <failed>" to $MF_RESULTS.
# Works alone: `bash tests/integ/pg.sh` from the repository root.
set -u
cd "$(dirname "$0")/../.."
build=${MF_BUILD:-asan}
it_suite=store-pg
it_bin=build/$build/integ/test_store_pg
. tests/integ/lib/suite.sh
it_build
dir=$(mktemp -d /tmp/mf-pg.XXXXXX)
cleanup() { bash scripts/pg.sh stop "$dir" >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT
if ! bash scripts/pg.sh start "$dir"; then
  it_record 0 1
  exit 1
fi
it_run MF_PG_DIR="$dir"
