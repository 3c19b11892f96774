# lib.sh -- helpers shared by the end-to-end benchmarks (sourced, not run).
# Every script prints machine-readable "bench=<name> key=value ..." lines on stdout, the
# format scripts/bench.sh collects into bench/results/*.txt.
# Thread: shell. Processes started here are killed by e2e_cleanup (EXIT trap of the caller).

e2e_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
e2e_bin=${MF_BENCH_BIN:-$e2e_root/build/release/meterflow}
e2e_pids=()

e2e_free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# e2e_wait_port PORT PID: wait (deadline 20 s) until PORT accepts; fails if PID died.
e2e_wait_port() {
  for _ in $(seq 200); do
    python3 -c "import socket;socket.create_connection(('127.0.0.1',$1),0.2).close()" \
      2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

e2e_cleanup() {
  local p
  for p in "${e2e_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${e2e_pids[@]}"; do wait "$p" 2>/dev/null; done
  e2e_pids=()
}

# e2e_kv LINE KEY: value of key=value in LINE.
e2e_kv() { sed -n "s/.*[ ^]$2=\([^ ]*\).*/\1/p" <<<" $1" | head -1; }

# e2e_scale N: N x MF_BENCH_SCALE, at least 1 (integer).
e2e_scale() {
  python3 -c "import sys;print(max(1,int(round($1*float('${MF_BENCH_SCALE:-1}')))))"
}

# e2e_sim_line SUMMARY TAG: the sim summary line turned into a result line with reports/s.
# A report is one point's 0C F129 (total + 4 tariffs = 5 values).
e2e_sim_line() {
  local s=$1 tag=$2 v el
  v=$(e2e_kv "$s" values_confirmed); el=$(e2e_kv "$s" elapsed_s)
  python3 - "$tag" "$s" "$v" "$el" <<'PY'
import sys
tag, s, v, el = sys.argv[1], sys.argv[2], float(sys.argv[3] or 0), float(sys.argv[4] or 1)
kv = dict(x.split("=", 1) for x in s.split() if "=" in x)
print("%s values_per_s=%.0f reports_per_s=%.0f frames_per_s=%s confirm_p50_ms=%s "
      "confirm_p99_ms=%s unconfirmed=%s retransmits=%s elapsed_s=%s values=%d"
      % (tag, v / el, v / 5 / el, kv.get("frames_per_s"), kv.get("confirm_p50_ms"),
         kv.get("confirm_p99_ms"), kv.get("unconfirmed"), kv.get("retransmits"), el, v))
PY
}

# e2e_spawn PIPELINE DIR LOG [--set k=v]...: start one master of PIPELINE on $e2e_port with
# its data in DIR and its output in LOG, without waiting for it. PIPELINE: queue (`meterflow
# run`: front -> embedded queue -> worker -> SQLite; its own free web port) or direct
# (bench_direct_front: the front writes each report in its own transaction, then confirms).
# Sets e2e_last (the pid). 1 for an unknown PIPELINE.
e2e_spawn() {
  local kind=$1 dir=$2 log=$3; shift 3
  local common=(--set "meterflow.data_dir=$dir" --set front.frames_per_sec=0
                --set front.login_per_min=1000000 "$@" --set "front.port=$e2e_port")
  case $kind in
    queue) "$e2e_bin" run "${common[@]}" --set "web.port=$(e2e_free_port)" \
             --set meterflow.log_level=error --set worker.analytics=false >"$log" 2>&1 & ;;
    direct) "$(dirname "$e2e_bin")/bench/bench_direct_front" "${common[@]}" >"$log" 2>&1 & ;;
    *) echo "e2e: unknown pipeline $kind" >&2; return 1 ;;
  esac
  e2e_last=$!; e2e_pids+=("$e2e_last")
}

# e2e_start PIPELINE DIR [--set k=v]...: start the master (e2e_spawn) on a free port with its
# data in DIR and wait until the port accepts.
# Sets e2e_port and e2e_srv (the pid). 0, or 1 when it did not start (log in DIR/server.log).
e2e_start() {
  local kind=$1 dir=$2; shift 2
  e2e_port=$(e2e_free_port)
  e2e_spawn "$kind" "$dir" "$dir/server.log" "$@" || return 1
  e2e_srv=$e2e_last
  e2e_wait_port "$e2e_port" "$e2e_srv"
}

# e2e_stop: stop the server started by e2e_start (and wait for it).
e2e_stop() { kill "$e2e_srv" 2>/dev/null; wait "$e2e_srv" 2>/dev/null; }

# e2e_listeners PORT: listening sockets on PORT (every front I/O thread has its own
# SO_REUSEPORT listener, so N fronts of T threads show N*T).
e2e_listeners() { ss -Hltn "sport = :$1" 2>/dev/null | wc -l; }

# e2e_start_n PIPELINE DIR N [--set k=v]...: N masters of PIPELINE sharing one port
# (SO_REUSEPORT: the kernel spreads the connections over every front's listeners), one
# after the other so that only the first one creates the schema; each has its own web port
# (queue) and log DIR/server<i>.log, and the same data_dir / store. One process holds at
# most ~19,000 connections here (ulimit -Hn 20000), so 100,000 terminals need several.
# Sets e2e_port and e2e_srvs (pids). 0, or 1 when one did not start.
e2e_start_n() {
  local kind=$1 dir=$2 n=$3 i pid threads=2 a; shift 3
  for a in "$@"; do case $a in front.threads=*) threads=${a#front.threads=} ;; esac; done
  e2e_port=$(e2e_free_port); e2e_srvs=()
  for i in $(seq "$n"); do
    e2e_spawn "$kind" "$dir" "$dir/server$i.log" "$@" || return 1
    pid=$e2e_last; e2e_srvs+=("$pid")
    for _ in $(seq 200); do # deadline 20 s: this one's listeners are up
      [ "$(e2e_listeners "$e2e_port")" -ge $((i * threads)) ] && break
      kill -0 "$pid" 2>/dev/null || return 1
      sleep 0.1
    done
    [ "$(e2e_listeners "$e2e_port")" -ge $((i * threads)) ] || return 1
  done
}

# e2e_stop_n: stop the servers started by e2e_start_n (all at once, then wait for each).
e2e_stop_n() {
  local p
  for p in "${e2e_srvs[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${e2e_srvs[@]}"; do wait "$p" 2>/dev/null; done
  e2e_srvs=()
}

# e2e_sustained SIM_STDERR TERMINALS DURATION FROM_S: the confirmed rate while the load
# runs, from the simulator's per-second progress lines (--progress): confirmed reports
# (values / 5) between the first line with >= 99 % of the terminals online and at least
# FROM_S seconds elapsed (a terminal's first report comes one to two report intervals after
# the start: pass 2 intervals) -- or DURATION/2 if that never happens (logins stuck behind a
# saturated store) -- and the last line of the load (elapsed <= DURATION, before the drain).
# Prints "sustained_reports_per_s=.. window_s=.. online_at_s=.." (online_at_s=-1: never).
e2e_sustained() {
  python3 - "$1" "$2" "$3" "$4" <<'PY'
import re, sys
path, terms, dur, frm = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
pat = re.compile(r"^\s*([0-9.]+)s .* online ([0-9]+)/[0-9]+ frames/s .* values ([0-9]+)")
pts = []
for line in open(path, errors="replace"):
    m = pat.match(line)
    if m:
        pts.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
load = [p for p in pts if p[0] <= dur + 0.05]
first = next((p for p in load if p[1] >= 0.99 * terms), None)
on = "%.1f" % first[0] if first else "-1"
start = next((p for p in load if p[1] >= 0.99 * terms and p[0] >= frm - 0.05), None)
if start is None or dur - start[0] < 2:
    start = next((p for p in load if p[0] >= dur / 2), None)
end = load[-1] if load else None
if not start or not end or end[0] - start[0] < 1:
    print("sustained_reports_per_s=0 window_s=0 online_at_s=%s" % on)
else:
    w = end[0] - start[0]
    print("sustained_reports_per_s=%.0f window_s=%.1f online_at_s=%s"
          % ((end[2] - start[2]) / 5.0 / w, w, on))
PY
}
