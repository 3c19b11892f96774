# lib.sh -- helpers shared by the fault scenarios (sourced, never run).
#
# Every scenario: a private temporary directory ($RL_TMP, removed on exit unless RL_KEEP=1),
# free ports picked by the kernel, every process it starts remembered and killed on exit,
# waits on conditions with generous deadlines (never a sleep that a pass depends on).
# Results go to stdout as "ok   <scenario>: <what>" / "FAIL <scenario>: <what>" and one
# "figures <scenario>: key=value ..." line that docs/RELIABILITY.md quotes.
#
# Needs: RL_NAME set by the caller before sourcing.

RL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MF=${MF:-$RL_ROOT/build/${MF_BUILD:-release}/meterflow}
[ -x "$MF" ] || MF=$RL_ROOT/build/release/meterflow
RL_CHECK="python3 $RL_ROOT/tests/reliability/ledger_check.py"
RL_TMP=$(mktemp -d "/tmp/mf-rel-${RL_NAME:-x}.XXXXXX")
RL_PIDS=()
RL_PASS=0
RL_FAIL=0
RL_CLEANUPS=()

rl_ok() { echo "ok   $RL_NAME: $*"; RL_PASS=$((RL_PASS + 1)); }
rl_ko() { echo "FAIL $RL_NAME: $*"; RL_FAIL=$((RL_FAIL + 1)); }
rl_check() { # rl_check "what" command...: ok when the command succeeds
  local what=$1; shift
  if "$@"; then rl_ok "$what"; else rl_ko "$what"; fi
}

rl_cleanup() {
  local p c
  for c in "${RL_CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
  for p in "${RL_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -z "${RL_KEEP:-}" ]; then rm -rf "$RL_TMP"; else echo "kept $RL_TMP"; fi
}
trap rl_cleanup EXIT
trap 'exit 130' INT TERM

rl_results() { # append "<suite> <passed> <failed>" to $MF_RESULTS (docs/CONTRIBUTING.md)
  [ -n "${MF_RESULTS:-}" ] && echo "reliability-$RL_NAME $RL_PASS $RL_FAIL" >>"$MF_RESULTS"
  echo "$RL_NAME: $RL_PASS passed, $RL_FAIL failed"
  [ "$RL_FAIL" = 0 ]
}

rl_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rl_now() { date +%s.%N; }
rl_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# rl_wait SECONDS command...: poll the command every 0.1 s until it succeeds; 1 on deadline.
rl_wait() {
  local end=$(( $(date +%s) + $1 )); shift
  while ! "$@" 2>/dev/null; do
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 0.1
  done
}

rl_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rl_lines() { [ -f "$1" ] && grep -vc '^#' "$1" || echo 0; }
rl_alive() { kill -0 "$1" 2>/dev/null; }
rl_health() { curl -fsS -m 2 "http://127.0.0.1:$1/api/health" >/dev/null; }

# rl_start_run DIR TERM_PORT HTTP_PORT [--set k=v ...]: start `meterflow run`, set RUN_PID,
# wait until /api/health answers (60 s).
rl_start_run() {
  local dir=$1 tp=$2 hp=$3; shift 3
  mkdir -p "$dir"
  "$MF" run --set "meterflow.data_dir=$dir" --set "front.port=$tp" --set "web.port=$hp" \
    "$@" >>"${RL_RUNLOG:-$dir/run.log}" 2>&1 &
  RUN_PID=$!
  RL_PIDS+=("$RUN_PID")
  rl_wait 60 rl_health "$hp"
}

# rl_sim NAME [sim options...]: start the simulator in the background; SIM_PID, output in
# $RL_TMP/NAME.out/.err, ledger $RL_TMP/NAME.ledger. Each terminal connects from one of the
# addresses RL_SOURCES (default 250 loopback addresses, 127.0.1.1-127.0.1.250): terminals on
# a private APN each have their own address, while 1,000 terminals from 127.0.0.1 alone meet
# the front's per-address login limit (front.login_per_min = 600) after every mass
# reconnect -- what made the soak's sqlite_lock recover in 42-44 s (RELIABILITY Finding 6).
# RL_SOURCES= (empty) connects from 127.0.0.1 only.
rl_sim() {
  local name=$1; shift
  local src=${RL_SOURCES-127.0.1.1-127.0.1.250} opt=()
  [ -n "$src" ] && opt=(--source-addrs "$src")
  "$MF" sim --ledger "$RL_TMP/$name.ledger" --progress --report-every 1 "${opt[@]}" "$@" \
    >"$RL_TMP/$name.out" 2>"$RL_TMP/$name.err" &
  SIM_PID=$!
  RL_PIDS+=("$SIM_PID")
}

# rl_sim_field NAME KEY: a key=value of the simulator's final "sim:" line.
rl_sim_field() { grep '^sim:' "$RL_TMP/$1.out" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2}'; }

# rl_progress NAME: the last --progress line of the simulator.
rl_progress() { tr '\r' '\n' <"$RL_TMP/$1.err" | grep -a 'unconf' | tail -1; }

# rl_ledger_grows FILE N: the ledger has more than N lines.
rl_ledger_grows() { [ "$(rl_lines "$1")" -gt "$2" ]; }
