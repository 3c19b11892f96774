#!/usr/bin/env bash
# run-tsan.sh -- run the unit tests of threaded code under ThreadSanitizer. A test source
# opts in with a line that is exactly "/* tsan: yes */" (anywhere; normally line 1).
set -u
dir=build/tsan
pass=0; fail=0
for src in tests/unit/test_*.c; do
  grep -q '^/\* tsan: yes \*/$' "$src" || continue
  t=$dir/tests/$(basename "$src" .c)
  out=$(TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$t" 2>&1); rc=$?
  p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1); p=${p:-0}
  f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1); f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
  if [ $rc -ne 0 ]; then echo "$out" | grep -v '^ok ' | tail -40; echo "FAIL tsan/$(basename "$t")"
  else echo "ok   tsan/$(basename "$t") ($p)"; fi
  pass=$((pass + p)); fail=$((fail + f))
  [ -n "${MF_RESULTS:-}" ] && echo "tsan/$(basename "$t") $p $f" >>"$MF_RESULTS"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
