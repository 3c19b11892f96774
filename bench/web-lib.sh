# web-lib.sh -- sourced by web-bench.sh and web-conc.sh: a `meterflow web` on a benchmark
# store, logged in.
#
#   web_start B DIR ARGS...   the user bench (viewer, password bench-pass-1) added, or its
#                             password reset; `build/B/meterflow web ARGS --no-queue` started
#                             in the background on the port it picks (DIR/port, its log in
#                             DIR/web.log); sets pid (for the caller's trap), port and tok (a
#                             session token of bench).

web_start() {
  local b=$1 dir=$2
  shift 2
  echo "bench-pass-1" | "build/$b/meterflow" user "$@" add bench --role viewer 2>/dev/null ||
    echo "bench-pass-1" | "build/$b/meterflow" user "$@" passwd bench
  "build/$b/meterflow" web "$@" --no-queue --port-file "$dir/port" 2>"$dir/web.log" &
  pid=$!
  for _ in $(seq 600); do [ -s "$dir/port" ] && break; sleep 0.1; done
  port=$(cat "$dir/port")
  tok=$(curl -s -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench-pass-1"}' "http://127.0.0.1:$port/api/login" |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
}
