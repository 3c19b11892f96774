#!/usr/bin/env bash
# front_floor.sh -- the kernel's floor under the front's CPU per frame (docs/PERFORMANCE.md,
# "Front-end"), bench_front_syscalls three ways:
#   plain   as is, RUNS times (epoll + read + write vs io_uring, see the program's header);
#   nstat   once in a private network namespace (`unshare -n`: its own loopback, counters of
#           its own), with the TCP segment counters around it: 2 per frame (report and
#           confirm) plus a constant per connection (handshake, close) means no segment of
#           its own per frame (no pure ACK);
#   rps     once in a private namespace whose loopback hands every received packet to the
#           other CPU (RPS, rps_cpus = the CPU the program does not run on) with the program
#           pinned to CPU 0: a write then pays the sender's transmit only (plus the RPS
#           enqueue and the IPI), not the receiver's TCP input. The difference to `plain` is
#           the receiver's work that loopback charges to the writer.
# Needs root (namespaces, sysfs in the namespace) and 2+ CPUs for `rps`; both are skipped
# with a reason otherwise. Each line is the program's bench= line with variant=... added.
#
#   bench/front_floor.sh [conns 1000] [rounds 200]        (RUNS=3)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-release}
P=$PWD/build/$BUILD/bench/bench_front_syscalls
N=${1:-1000}; R=${2:-200}; RUNS=${RUNS:-3}
[ -x "$P" ] || { echo "build first: make BUILD=$BUILD $P" >&2; exit 2; }
tag() { sed "s/^bench=\([a-z_]*\) /bench=\1 variant=$1 /"; }

for _ in $(seq "$RUNS"); do "$P" "$N" "$R" | tag plain; done
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "bench=front_floor variant=nstat skipped=needs_root_and_unshare"
  echo "bench=front_floor variant=rps skipped=needs_root_and_unshare"
  exit 0
fi
# shellcheck disable=SC2016
unshare -n bash -c '
  ip link set lo up && nstat -n && "$1" "$2" "$3" | sed "s/^bench=\([a-z_]*\) /bench=\1 variant=nstat /"
  sets=4; [ "$2" -le 16 ] && sets=3 # the epoll set and one io_uring set per batch size
  nstat -a | awk -v f=$(( $2 * $3 * sets )) -v c=$(( $2 * sets )) "
    /^TcpInSegs/ {i=\$2} /^TcpOutSegs/ {o=\$2} /^TcpExtTCPPureAcks/ {a=\$2}
    END {printf \"bench=front_floor variant=nstat frames=%d conns=%d tcp_out_segs=%d tcp_in_segs=%d pure_acks=%d segs_beyond_2_per_frame_per_conn=%.2f pure_acks_per_conn=%.2f\\n\", f, c, o, i, a, (o - 2 * f) / c, a / c}"
' _ "$P" "$N" "$R"
if [ "$(nproc)" -lt 2 ]; then
  echo "bench=front_floor variant=rps skipped=one_cpu"
  exit 0
fi
# shellcheck disable=SC2016
unshare -n -m bash -c '
  mount -t sysfs sysfs /sys && ip link set lo up &&
    echo 2 >/sys/class/net/lo/queues/rx-0/rps_cpus &&
    taskset -c 0 "$1" "$2" "$3" | sed "s/^bench=\([a-z_]*\) /bench=\1 variant=rps /"
' _ "$P" "$N" "$R" || echo "bench=front_floor variant=rps skipped=rps_setup_failed"
