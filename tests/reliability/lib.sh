# lib.sh -- helpers shared by the fault scenarios (sourced, never run).
#
# Every scenario: a private temporary directory ($RL_TMP, removed on exit unless RL_KEEP=1),
# free ports picked by the kernel, every process it starts remembered and killed on exit,
# waits on conditions with generous deadlines (never a sleep that a pass depends on).
# Results go to stdout as "ok   <scenario>: <what>" / "FAIL <scenario>: <what>" and one
# "figures <scenario>: key=value ..." line that docs/RELIABILITY.md quotes.
#
# Needs: RL_NAME set by the caller before sourcing.
#
# A scenario on `meterflow run` (kill_run, sqlite_lock, disk_full) reads as its fault only:
#   rl_load TERMINALS POINTS DURATION [sim options]   master + simulator (rl_sim_load)
#   ... the fault; rl_frozen HOLD WHAT                no confirm (and bounded RSS) while held
#   rl_resumed WHAT T0 BASE                           recovery time -> RL_REC
#   rl_finish_run                                     drained, stopped, judged (RL_OUT)
#   rl_figures "head" "tail"                          the figures line, ledger counts between
# distributed.sh uses rl_sim_load, rl_resumed, rl_end_sim, rl_sim_verify and rl_figures
# around its own processes and PostgreSQL.

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
# wait until /api/health answers (60 s). RL_RUN_SET="section.key=value ..." adds settings
# (e.g. RL_SOURCES= RL_RUN_SET=front.login_trusted_nets=127.0.0.1: one NAT'd gateway); a
# scenario's own settings go in the array RL_RUN_ARGS (values with spaces).
RL_RUN_ARGS=()
rl_start_run() {
  local dir=$1 tp=$2 hp=$3 kv extra=(); shift 3
  for kv in ${RL_RUN_SET:-}; do extra+=(--set "$kv"); done
  mkdir -p "$dir"
  "$MF" run --set "meterflow.data_dir=$dir" --set "front.port=$tp" --set "web.port=$hp" \
    "${RL_RUN_ARGS[@]}" "${extra[@]}" "$@" >>"${RL_RUNLOG:-$dir/run.log}" 2>&1 &
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

# rl_die WHAT: a check that makes the rest meaningless failed: count it, report, exit 1.
rl_die() { rl_ko "$*"; rl_results; exit 1; }

# The master's data directory, database and ports for the scenarios on `meterflow run`.
RL_DIR=$RL_TMP/data
RL_DB=$RL_DIR/meterflow.db
RL_LEDGER=$RL_TMP/load.ledger
RL_RSS0=

# rl_sim_load PORT TERMINALS POINTS DURATION [sim options...]: the load every fault scenario
# runs, against 127.0.0.1:PORT: virtual start 23:50 of the day before, so within seconds the
# terminals pass midnight and report daily frozen values and 96-point curves besides the 0C
# F129 indications. Later options override the defaults (the simulator takes the last).
# SIM_PID, RL_LEDGER, RL_LOAD_S = DURATION.
rl_sim_load() {
  local port=$1 terminals=$2 points=$3 start; RL_LOAD_S=$4; shift 4
  start=$(TZ=Asia/Shanghai date -d yesterday +%Y-%m-%dT23:50)
  rl_sim load --target "127.0.0.1:$port" --terminals "$terminals" --points "$points" \
    --speed 600 --start "$start" --report-interval 300 --duration "$RL_LOAD_S" \
    --confirm-timeout 3000 --backoff-min 200 --backoff-max 2000 --heartbeat 10 "$@"
}

# rl_load TERMINALS POINTS DURATION [sim options...]: start `meterflow run` on $RL_DIR (free
# ports RL_TP / RL_HP, picked here unless set; exit when it does not start), then
# rl_sim_load against it. RUN_PID, SIM_PID, RL_LEDGER, RL_LOAD_S.
rl_load() {
  RL_TP=${RL_TP:-$(rl_port)}; RL_HP=${RL_HP:-$(rl_port)}
  rl_start_run "$RL_DIR" "$RL_TP" "$RL_HP" || rl_die "meterflow run did not start"
  rl_sim_load "$RL_TP" "$@"
}

# rl_hold_rss SECONDS PID...: wait SECONDS while sampling each PID's RSS every 0.5 s;
# RL_RSS_PEAK = the largest sample of each PID (kB), in the order given.
rl_hold_rss() {
  local end=$(( $(date +%s) + $1 )) i r p; shift
  RL_RSS_PEAK=()
  for p; do RL_RSS_PEAK+=("$(rl_rss_kb "$p")"); done
  while [ "$(date +%s)" -lt "$end" ]; do
    i=0
    for p; do
      r=$(rl_rss_kb "$p"); [ "$r" -gt "${RL_RSS_PEAK[$i]}" ] && RL_RSS_PEAK[$i]=$r
      i=$((i + 1))
    done
    sleep 0.5
  done
}

# rl_frozen HOLD WHAT: the fault is in place. After a 3 s grace (commits already done may
# still be confirmed) the ledger must not grow for HOLD seconds -- nothing is promised that is
# not durable -- and the master's RSS (sampled every 0.5 s) must grow less than
# RL_RSS_GROWTH_MB (256) over RL_RSS0 (taken here unless the caller took it before the
# fault). Sets RL_FROZEN_AT, RL_AFTER (ledger lines), RL_RSS0, RL_RSS_MAX (kB).
rl_frozen() {
  local hold=$1 what=$2 bound_kb=$(( ${RL_RSS_GROWTH_MB:-256} * 1024 ))
  RL_RSS0=${RL_RSS0:-$(rl_rss_kb "$RUN_PID")}
  rl_wait 3 false
  RL_FROZEN_AT=$(rl_lines "$RL_LEDGER")
  rl_hold_rss "$hold" "$RUN_PID"
  RL_RSS_MAX=$(( RL_RSS_PEAK[0] > RL_RSS0 ? RL_RSS_PEAK[0] : RL_RSS0 ))
  RL_AFTER=$(rl_lines "$RL_LEDGER")
  rl_check "no confirm while $what (ledger $RL_FROZEN_AT -> $RL_AFTER over ${hold}s)" \
    [ "$RL_AFTER" = "$RL_FROZEN_AT" ]
  rl_check "master RSS bounded while $what (${RL_RSS0} -> max ${RL_RSS_MAX} kB)" \
    [ $((RL_RSS_MAX - RL_RSS0)) -lt "$bound_kb" ]
  rl_check "master alive while $what" rl_alive "$RUN_PID"
}

# rl_resumed WHAT T0 BASE [SECONDS]: the fault was repaired at T0 (rl_now); wait (120 s) for
# the ledger to grow past BASE lines. RL_REC = seconds from T0 to the first new confirm, -1
# when none came.
rl_resumed() {
  if rl_wait "${4:-120}" rl_ledger_grows "$RL_LEDGER" "$3"; then
    RL_REC=$(rl_since "$2"); rl_ok "confirms resume ${RL_REC}s $1"
  else
    RL_REC=-1; rl_ko "no confirm within ${4:-120} s $1"
  fi
}

# rl_end_sim [SECONDS]: the simulator drains (retransmits what is left) and logs out, within
# RL_LOAD_S + 180 s by default; it must exit 0 = nothing left unconfirmed.
rl_end_sim() {
  local rc
  rl_wait "${1:-$((${RL_LOAD_S:-60} + 180))}" bash -c "! kill -0 $SIM_PID" || rl_ko "simulator did not finish"
  wait "$SIM_PID"; rc=$?
  grep '^sim:' "$RL_TMP/load.out"
  rl_check "simulator exit 0 (nothing left unconfirmed: unconfirmed=$(rl_sim_field load unconfirmed))" [ "$rc" = 0 ]
}

# rl_sim_verify STORE-OPTIONS...: `meterflow sim --verify` (our own C reader of the store)
# must agree with the ledger, where the build has it.
rl_sim_verify() {
  if "$MF" sim --verify --ledger "$RL_LEDGER" "$@" >"$RL_TMP/verify.out" 2>&1; then
    rl_ok "meterflow sim --verify: $(tail -1 "$RL_TMP/verify.out")"
  elif grep -q "not available" "$RL_TMP/verify.out"; then
    echo "note: meterflow sim --verify not in this build; ledger_check.py is the judge"
  else
    rl_ko "meterflow sim --verify: $(tail -1 "$RL_TMP/verify.out")"
  fi
}

# rl_finish_run: the end of every scenario on `meterflow run`: the simulator drained
# (rl_end_sim), the master's most frequent warnings shown and the master stopped (SIGTERM),
# then the judges: ledger_check.py (every confirmed value stored once with the same value),
# `pragma integrity_check` = ok, `meterflow sim --verify`. RL_OUT = ledger_check's output.
# With RL_PG (a libpq conninfo: the master's store is PostgreSQL) the judges read PostgreSQL
# and there is no SQLite file to check.
rl_finish_run() {
  local crc integ store=(--db "$RL_DB")
  [ -n "${RL_PG:-}" ] && store=(--pg "$RL_PG")
  rl_end_sim
  grep -E " (W|E) " "${RL_RUNLOG:-$RL_DIR/run.log}" | sort -k3 | uniq -c -f2 | sort -rn | head -5
  kill -TERM "$RUN_PID"; rl_wait 30 bash -c "! kill -0 $RUN_PID"
  RL_OUT=$($RL_CHECK --ledger "$RL_LEDGER" "${store[@]}" --verbose); crc=$?
  echo "$RL_OUT"
  rl_check "every confirmed value stored once, same value" [ "$crc" = 0 ]
  if [ -z "${RL_PG:-}" ]; then
    integ=$(sqlite3 "$RL_DB" 'pragma integrity_check' 2>&1)
    rl_check "sqlite integrity_check: $integ" [ "$integ" = ok ]
  fi
  rl_sim_verify "${store[@]}"
}

# rl_sim_unconfirmed: the simulator's frames waiting for a confirm, from its last progress
# line (backpressure reaching the terminals makes it rise).
rl_sim_unconfirmed() { rl_progress load | awk '{for(i=1;i<=NF;i++) if($i=="unconfirmed") print $(i+1)}'; }

# rl_kv KEY: a key=value of ledger_check.py's output (RL_OUT).
rl_kv() { echo "${RL_OUT:-}" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }

# rl_figures HEAD TAIL...: the "figures <name>: ..." line docs/RELIABILITY.md quotes: HEAD
# (the scenario's size), the judge's counts, the simulator's retransmissions, TAIL (its
# fault's figures).
rl_figures() {
  echo "figures $RL_NAME: $1 confirmed_keys=$(rl_kv keys) stored=$(rl_kv found)" \
    "lost=$(rl_kv missing) mismatched=$(rl_kv mismatched) conflicts=$(rl_kv conflicts)" \
    "twice_same=$(rl_kv twice_same) store_dup_keys=$(rl_kv store_dup_keys)" \
    "retransmits=$(rl_sim_field load retransmits)" "${@:2}"
}
