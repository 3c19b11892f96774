/* queue_cfg.c -- [queue] configuration table (owned by the queue module). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item queue_cfg[] = {
    { "queue", "backend", MF_CFG_ENUM, "embedded", 0, 0, "embedded|kafka",
      "queue backend: in-process, or Apache Kafka ([kafka] keys go to librdkafka)" },
    { "queue", "topic_prefix", MF_CFG_STR, "meterflow.", 0, 0, NULL, "prefix of Kafka topics" },
    MF_CFG_END,
};
