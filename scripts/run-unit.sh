#!/usr/bin/env bash
# run-unit.sh -- run every unit-test binary and fuzz-corpus replayer of one build flavour.
# Appends "<suite> <passed> <failed>" lines to $MF_RESULTS (if set) for scripts/test.sh, and
# prints its own "N passed, N failed" line.
set -u
build=${MF_BUILD:-asan}
dir=build/$build
pass=0; fail=0
record() { # name passed failed
  pass=$((pass + $2)); fail=$((fail + $3))
  [ -n "${MF_RESULTS:-}" ] && echo "$1 $2 $3" >>"$MF_RESULTS"
}
run_one() { # label binary [args]
  local label=$1; shift
  local out rc p f
  out=$("$@" 2>&1); rc=$?
  p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi   # crash / sanitizer abort counts as failure
  if [ $rc -ne 0 ] || [ "$f" != 0 ]; then
    echo "$out" | grep -v '^ok ' | tail -40
    echo "FAIL $label (exit $rc)"
  else
    echo "ok   $label ($p)"
  fi
  record "$label" "$p" "$f"
}
for t in "$dir"/tests/test_*; do
  [ -x "$t" ] || continue
  run_one "$build/$(basename "$t")" "$t"
done
for t in "$dir"/fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  run_one "$build/replay-$(basename "$t")" "$t"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
