#!/usr/bin/env bash
# proxy_rtt.sh -- what round trip bench_delay_proxy really adds (thesis.sh -R): a private
# PostgreSQL (scripts/pg.sh), then for each RTT one pgbench client running "SELECT 1"
# (one round trip per query) for N queries, directly and through a fresh proxy.
#
#   bench/e2e/proxy_rtt.sh [-r "0 0.2 0.5 1"] [-n 3000]
#
# Output: bench=proxy_rtt rtt_set_ms=.. (- = no proxy, loopback) latency_ms=.. (pgbench's
# average per query, i.e. the measured round trip plus PostgreSQL's SELECT 1) plus the
# proxy's own line (lateness past the due time, CPU seconds, relayed chunks).
# Thread: shell. The server and proxies are stopped on exit.
set -u
. "$(dirname "$0")/lib.sh"
rtts="0 0.2 0.5 1" n=3000
while [ $# -gt 0 ]; do
  case $1 in -r) rtts=$2; shift 2 ;; -n) n=$2; shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;; esac
done
pd=$(mktemp -d /tmp/mf-bench-prtt.XXXXXX) pp=""
trap '[ "$BASHPID" = "$$" ] || exit; [ -n "$pp" ] && kill $pp 2>/dev/null; bash "$e2e_root/scripts/pg.sh" stop "$pd" >/dev/null 2>&1; rm -rf "$pd"' EXIT
bash "$e2e_root/scripts/pg.sh" start "$pd" >/dev/null 2>&1 || { echo "bench=proxy_rtt skipped=pg_start_failed"; exit 0; }
port=$(cat "$pd/port")
echo "SELECT 1;" >"$pd/s1.sql"
lat() { pgbench -n -h 127.0.0.1 -p "$1" -U postgres -f "$pd/s1.sql" -t "$n" -c 1 postgres 2>&1 |
          sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'; }
echo "bench=proxy_rtt rtt_set_ms=- latency_ms=$(lat "$port") load1=$(cut -d' ' -f1 /proc/loadavg)"
proxy=$(dirname "$e2e_bin")/bench/bench_delay_proxy
for r in $rtts; do
  dus=$(python3 -c "print(round(float('$r') * 500))")
  "$proxy" --target-port "$port" --delay-us "$dus" >"$pd/proxy.out" 2>&1 &
  pp=$!
  for _ in $(seq 100); do grep -qs '^ready' "$pd/proxy.out" && break; sleep 0.05; done
  l=$(lat "$(sed -n 's/^ready port=//p' "$pd/proxy.out")")
  kill $pp; wait $pp 2>/dev/null; pp=""
  echo "bench=proxy_rtt rtt_set_ms=$r latency_ms=$l $(grep '^bench=delay_proxy' "$pd/proxy.out" | cut -d' ' -f2-)"
done
