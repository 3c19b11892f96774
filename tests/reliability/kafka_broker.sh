#!/usr/bin/env bash
# kafka_broker.sh -- the Kafka faults of issue #8 on a real 3-broker cluster (replication 3,
# min.insync.replicas 2, acks=all) in the distributed setup (distributed.sh: front, two
# workers, web, PostgreSQL): a broker's JVM killed with kill -9, two brokers of three killed
# (acks=all cannot be met: no confirm, backpressure, bounded RSS, a clear log), a broker's
# log directory full (kafka_faults.sh says what each checks). Judged like every scenario:
# every confirmed value in PostgreSQL exactly once (ledger_check.py), nothing unconfirmed at
# the end. Needs root (tmpfs mounts). Environment as distributed.sh, and RL_KAFKA_DOWN,
# RL_BROKER_DOWN, RL_STALL_MAX, RL_KDISK_MB (kafka_faults.sh).
export RL_NAME=${RL_NAME:-kafka_broker}
export RL_BROKERS=3
export RL_FAULTS=${RL_FAULTS:-brokerkill nomajority kdiskfull}
export RL_TERMINALS=${RL_TERMINALS:-50}
exec bash "$(dirname "$0")/distributed.sh"
