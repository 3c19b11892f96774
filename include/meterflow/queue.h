/* queue.h -- the message queue between the front, the worker and the web: one interface,
 * two backends (embedded in-process, Apache Kafka via librdkafka).
 *
 * The delivery guarantee (DESIGN.md) rests on two promises made here:
 *  1. mq_produce's callback reports 0 only when the message is durable:
 *       kafka:    the delivery report says the brokers have it (acks=all);
 *       embedded: a consumer has called mq_commit on a batch holding it, i.e. the worker's
 *                 store transaction holding it has committed.
 *     Any other outcome reports a negative status, and the producer must not confirm.
 *  2. A consumer's position advances only through mq_commit, which the consumer calls after
 *     its own durable work. Batches not committed are delivered again (kafka: after a restart
 *     or rebalance; embedded: the producer is told "not durable" and the terminal
 *     retransmits).
 * Every call distinguishes MF_ERETRY / MF_EFULL (retry later, keep your data) from
 * MF_EFATAL.
 *
 * Topics: enum mq_topic; names are [queue] topic_prefix + "uplink" etc. uplink carries
 * envelopes (envelope.h) keyed by terminal; downlink carries JSON commands; readings, events
 * and sessions carry documented JSON for other consumers (docs/QUEUE.md).
 *
 * Thread: mq_produce from any thread. Callbacks run on a queue-owned thread (kafka: the
 * delivery-report poller; embedded: the thread that calls mq_commit / mq_batch_release) and
 * must only hand the result over (e.g. uv_async_send); they must not call back into the
 * queue. A consumer handle (mq_subscribe/poll/commit) is used by one thread. */
#ifndef MF_QUEUE_H
#define MF_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/config.h"

enum mq_topic {
    MQ_UPLINK = 0,
    MQ_DOWNLINK = 1,
    MQ_READINGS = 2,
    MQ_EVENTS = 3,
    MQ_SESSIONS = 4,
    MQ_NTOPICS = 5,
};
const char *mq_topic_name(enum mq_topic t); /* "uplink", ... (without prefix) */

struct mq;

/* Called exactly once per accepted message: status 0 = durable; negative = not durable
 * (MF_ERETRY: the consumer gave the batch back or the broker failed; MF_EFATAL: the queue is
 * closing). */
typedef void (*mq_done_fn)(void *opaque, int status);

struct mq_msg {
    enum mq_topic topic;
    int32_t partition;
    int64_t offset;
    const uint8_t *key; /* borrowed until the batch is committed or released */
    size_t key_len;
    const uint8_t *val;
    size_t val_len;
    uint64_t produced_at_us;
};

struct mq_batch {
    struct mq_msg *msgs;
    size_t n;
    void *priv; /* backend state */
};

/* Open the backend chosen by [queue] backend. For the embedded backend every role in the
 * process must share one handle (mq_open once, pass it around); for kafka each role opens
 * its own. errbuf says which key or broker failed. Gives a handle, NULL on failure. */
struct mq *mq_open(const struct mf_config *cfg, char *errbuf, size_t errlen);
void mq_close(struct mq *q);

/* Copies key and val. 0: accepted, done() will be called exactly once. MF_EFULL: the bounded
 * local queue is full -- not accepted, done() never called: stop reading from terminals and
 * try again later (backpressure). MF_EFATAL: the queue is unusable. */
int mq_produce(struct mq *q, enum mq_topic topic, const void *key, size_t key_len, const void *val,
               size_t val_len, mq_done_fn done, void *opaque);

/* Fire-and-forget produce for messages nobody confirms (readings/events/sessions JSON).
 * Same return values; no callback. */
int mq_publish(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
               const void *val, size_t val_len);

/* Consumer side. group: consumer group (kafka) -- all workers share one; every front uses a
 * distinct group for downlink so each sees every command. 0, MF_ERETRY, MF_EFATAL. */
int mq_subscribe(struct mq *q, const enum mq_topic *topics, size_t ntopics, const char *group);
/* Wait up to timeout_ms for messages; fills batch with at most max_msgs (batch->n may be 0).
 * The messages stay valid until mq_commit or mq_batch_release. 0, MF_ERETRY, MF_EFATAL. */
int mq_poll(struct mq *q, struct mq_batch *batch, size_t max_msgs, int timeout_ms);
/* The consumer's durable work for this batch is done: advance the position (kafka: commit
 * offsets synchronously; embedded: fire the producers' callbacks with 0) and free the batch.
 * 0, MF_ERETRY (kafka commit failed; the batch may be redelivered -- harmless, storage is
 * idempotent), MF_EFATAL. */
int mq_commit(struct mq *q, struct mq_batch *batch);
/* Give the batch back without committing (the consumer could not make it durable).
 * kafka: seek back so it is delivered again; embedded: producers are told MF_ERETRY. */
void mq_batch_release(struct mq *q, struct mq_batch *batch);

/* Counters for /metrics. */
struct mq_stats {
    uint64_t produced, delivered, failed, full_rejections;
    uint64_t consumed, committed;
    uint64_t in_flight;   /* produced, not yet durable */
    int64_t lag;          /* consumer lag in messages, -1 unknown */
};
void mq_stats_get(struct mq *q, struct mq_stats *out);

#endif
