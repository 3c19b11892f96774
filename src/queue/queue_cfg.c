/* queue_cfg.c -- [queue] configuration table (owned by the queue module). The [kafka]
 * section is pass-through: every key goes to librdkafka verbatim (docs/QUEUE.md lists the
 * defaults meterflow sets before applying it). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item queue_cfg[] = {
    { "queue", "backend", MF_CFG_ENUM, "embedded", 0, 0, "embedded|kafka",
      "queue backend: in-process, or Apache Kafka ([kafka] keys go to librdkafka)" },
    { "queue", "topic_prefix", MF_CFG_STR, "meterflow.", 0, 0, NULL,
      "prefix of topic names (prefix + uplink|downlink|readings|events|sessions)" },
    { "queue", "partitions", MF_CFG_INT, "16", 1, 1024, NULL,
      "embedded: partitions per topic (key hash -> partition); kafka: unused (topics are "
      "created with their own partition count, docs/QUEUE.md)" },
    { "queue", "embedded_max_msgs", MF_CFG_INT, "100000", 1, 100000000, NULL,
      "embedded: messages a topic holds before mq_produce says full (backpressure)" },
    { "queue", "embedded_max_bytes", MF_CFG_INT, "67108864", 1024, 17179869184, NULL,
      "embedded: key+value bytes a topic holds before mq_produce says full" },
    { "queue", "max_message_bytes", MF_CFG_INT, "1000000", 64, 100000000, NULL,
      "largest key+value accepted by mq_produce (larger: MF_ERANGE); keep below the "
      "broker's message.max.bytes" },
    { "queue", "close_flush_ms", MF_CFG_INT, "5000", 0, 600000, NULL,
      "kafka: how long mq_close waits for outstanding delivery reports" },
    { "queue", "kafka_stall_warn_ms", MF_CFG_INT, "5000", 100, 600000, NULL,
      "kafka: warn when messages have waited this long without any delivery report (e.g. "
      "acks=all cannot be met: fewer brokers in sync than min.insync.replicas); repeated at "
      "most every 10 s" },
    MF_CFG_END,
};
