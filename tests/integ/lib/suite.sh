# suite.sh -- sourced by a tests/integ/<name>.sh that runs one C test binary (tests/harness.h)
# and records it as one suite (docs/CONTRIBUTING.md). Kept below tests/integ/lib/ so that
# scripts/test.sh, which runs every tests/integ/*.sh, does not run it.
#
# The caller sets, before calling these: it_suite (the suite's name in $MF_RESULTS), it_bin
# (the binary, under build/$build) and build (the flavour).

# it_record PASSED FAILED: append "<suite> <passed> <failed>" to $MF_RESULTS, say it.
it_record() {
  [ -n "${MF_RESULTS:-}" ] && echo "$it_suite $1 $2" >>"$MF_RESULTS"
  echo "$it_suite: $1 passed, $2 failed"
}

# it_build: make $it_bin when it is not there; when that fails, print the log's tail, record
# one failure and exit 1 (a suite that did not build is never a pass).
it_build() {
  local log=/tmp/mf-$it_suite-build.log
  if [ ! -x "$it_bin" ] && ! make -s -j2 BUILD="$build" "$it_bin" >"$log" 2>&1; then
    tail -20 "$log"
    it_record 0 1
    exit 1
  fi
}

# it_run [NAME=value...]: run $it_bin with those variables in its environment, print every
# line that is not an "ok" line, record the counts of its "# N passed, M failed" line. A
# non-zero exit with no failure counted (a crash, a sanitizer abort) is one failure.
# Status 0 when nothing failed.
it_run() {
  local out rc p f
  out=$(env "$@" "$it_bin" 2>&1); rc=$?
  echo "$out" | grep -v '^ok ' | tail -30
  p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
  it_record "$p" "$f"
  [ "$f" = 0 ]
}
