#!/usr/bin/env bash
# test.sh -- THE test command: installs what it needs, builds every flavour, runs every test
# (unit under ASan+UBSan, threaded under TSan, fuzz corpora replay, integration against real
# PostgreSQL / Kafka / Chromium), and ends with one line "N passed, N failed".
#
# Usage: scripts/test.sh            (everything; what CI runs)
#        MF_QUICK=1 scripts/test.sh (unit + fuzz replay only)
set -u
cd "$(dirname "$0")/.."
export MF_SHARED=${MF_SHARED:-$(cd .. && pwd)/shared}
export MF_RESULTS=$(mktemp /tmp/mf-results.XXXXXX)
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/deps.sh test || { echo "0 passed, 1 failed"; exit 1; }

build_ok=1
for flavour in release asan tsan; do
  echo "== build $flavour"
  if ! make -s -j"$jobs" BUILD=$flavour all >/tmp/mf-build-$flavour.log 2>&1; then
    tail -40 /tmp/mf-build-$flavour.log
    echo "build $flavour 0 1" >>"$MF_RESULTS"
    build_ok=0
  fi
done

# The benchmark (-O3) and fuzz (clang + libFuzzer) flavours are compiled too: their
# warnings differ from gcc -O1/-O2, and a target that does not build cannot be run.
for spec in "bench benchbin" "fuzz fuzz"; do
  set -- $spec
  echo "== build $1 (compile only)"
  if make -s -j"$jobs" BUILD=$1 $2 >/tmp/mf-build-$1.log 2>&1; then
    echo "build-$1 1 0" >>"$MF_RESULTS"
  else
    tail -20 /tmp/mf-build-$1.log
    echo "build-$1 0 1" >>"$MF_RESULTS"
  fi
done

if [ $build_ok = 1 ]; then
  echo "== docs/CONFIG.md matches the config tables"
  if build/release/meterflow config-doc | diff -q - docs/CONFIG.md >/dev/null; then
    echo "config-doc 1 0" >>"$MF_RESULTS"
  else
    echo "FAIL docs/CONFIG.md is stale: build/release/meterflow config-doc > docs/CONFIG.md"
    echo "config-doc 0 1" >>"$MF_RESULTS"
  fi
  echo "== unit tests + fuzz corpus replay (ASan+UBSan)"
  MF_BUILD=asan bash scripts/run-unit.sh
  echo "== threaded tests (TSan)"
  MF_BUILD=tsan MF_TSAN_ONLY=1 bash scripts/run-tsan.sh
  if [ -z "${MF_QUICK:-}" ]; then
    for t in tests/integ/*.sh; do
      [ -e "$t" ] || continue
      echo "== integration $(basename "$t")"
      bash "$t"
    done
  fi
fi

awk '{p+=$2; f+=$3} END {printf "\n%d passed, %d failed\n", p, f; exit (f>0 || NR==0)}' "$MF_RESULTS"
