/* queue_kafka.c -- placeholder until the librdkafka backend lands (queue.h). */
#include <stdio.h>

#include "queue/queue_int.h"

struct mq *mq_kafka_open(const struct mf_config *cfg, char *errbuf, size_t errlen)
{
    (void)cfg;
    snprintf(errbuf, errlen, "[queue] backend = kafka: not available in this build yet");
    return NULL;
}
