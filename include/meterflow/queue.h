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
 * delivery-report poller, or the thread calling mq_serve after mq_serve_on; embedded: the thread that calls mq_commit / mq_batch_release /
 * mq_close) and must only hand the result over (e.g. uv_async_send); they must not call back
 * into the queue. A consumer is used by one thread: mq_subscribe gives the *calling thread*
 * a consumer that mq_poll on that thread uses (so in embedded mode the front's thread and
 * the worker's thread share one handle, each with its own subscription); mq_consumer_open
 * gives an explicit consumer instead (tests, several consumers on one thread).
 *
 * Embedded backend (src/queue/queue_emb.c), precisely:
 *  - each topic has [queue] partitions partitions; key -> partition by FNV-1a, so one
 *    terminal's messages keep their order; each topic is bounded by embedded_max_msgs and
 *    embedded_max_bytes (key + value bytes) -- past either, mq_produce returns MF_EFULL;
 *  - each group sees every message produced after it joined (fan-out per group); the first
 *    group of a topic also gets what was produced before any group existed (so frames
 *    produced before the worker subscribes wait for it, bounded by the capacity);
 *    mq_publish to a topic with no group drops the message (nobody could ever read it);
 *  - within a group, a partition is served to one consumer at a time: while a consumer holds
 *    uncommitted messages of a partition, other consumers of the group skip that partition;
 *  - done(0) fires when every group that received the message has committed it; the first
 *    mq_batch_release of it fires done(MF_ERETRY) at once; a released message is not
 *    delivered again (the terminal, never confirmed, retransmits); mq_close fires
 *    done(MF_EFATAL) for every message still pending;
 *  - groups outlive their consumers (like Kafka's committed offsets): a consumer that
 *    subscribes again with the same group continues where the group stood.
 * Kafka backend (src/queue/queue_kafka.c): docs/QUEUE.md. */
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
/* Benchmark hook (the "direct" pipeline of docs/PERFORMANCE.md, bench/bench_direct_front.c):
 * a handle like mq_open's, except that mq_produce / mq_publish on `topic` call
 * fn(opaque, key, key_len, val, val_len) on the producer's thread instead of queueing; for
 * mq_produce the message's done() then fires with fn's status (0 = durable) before
 * mq_produce returns 0 (fn returning MF_EFULL is passed back instead, done() not called).
 * Other topics and every other call behave as with mq_open. fn must be thread-safe.
 * opaque: borrowed, kept until mq_close. NULL with errbuf filled on failure. */
typedef int (*mq_sync_fn)(void *opaque, const void *key, size_t key_len, const void *val,
                          size_t val_len);
struct mq *mq_open_sync(const struct mf_config *cfg, enum mq_topic topic, mq_sync_fn fn,
                        void *opaque, char *errbuf, size_t errlen);
/* Every thread using the handle must have stopped polling first. Closes the remaining
 * consumers, fires every pending done() with MF_EFATAL (kafka: after waiting up to
 * [queue] close_flush_ms for outstanding deliveries), frees everything. NULL ok. */
void mq_close(struct mq *q);
/* "embedded" or "kafka". */
const char *mq_backend_name(const struct mq *q);

/* Copies key and val (borrowed). 0: accepted, done() will be called exactly once. MF_EFULL:
 * the bounded local queue is full -- not accepted, done() never called: stop reading from
 * terminals and try again later (backpressure). MF_ERANGE: the message is larger than
 * [queue] max_message_bytes (never accepted). MF_EFATAL: the queue is unusable (closed). */
int mq_produce(struct mq *q, enum mq_topic topic, const void *key, size_t key_len, const void *val,
               size_t val_len, mq_done_fn done, void *opaque);

/* Wake-up batching for a thread that produces in bursts (the front's I/O thread, once per
 * event-loop iteration). mq_produce_lazy is mq_produce (same arguments, returns, ownership
 * and done() promise) except that a consumer sleeping in mq_poll may not be woken until
 * the calling thread calls mq_wake(q): a thread using it must call mq_wake before it
 * blocks or waits for anything. mq_wake is cheap when nothing is owed (one atomic read).
 * Embedded: one wake-up and lock hand-off per burst instead of one per message. Kafka and
 * mq_open_sync's topic: the same as mq_produce (librdkafka batches by itself). Any thread. */
int mq_produce_lazy(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                    const void *val, size_t val_len, mq_done_fn done, void *opaque);
void mq_wake(struct mq *q);
/* Completions on the caller's own thread (kafka; the embedded backend has none to hand over
 * and returns MF_EINVAL). After mq_serve_on(q, wake, opaque) the queue stops running done()
 * callbacks on its poller thread: when callbacks are waiting it calls wake(opaque) -- from a
 * librdkafka thread, under librdkafka's queue lock: wake must only hand over (e.g.
 * uv_async_send) and must not call into the queue -- and the woken thread runs them with
 * mq_serve(q). wake may also come when nothing waits (a safety tick every 100 ms). The
 * front's I/O loop uses it: a frame's message is then allocated and freed on one thread and
 * its confirm needs no hand-off between threads. mq_serve_on(q, NULL, NULL) goes back to the
 * poller thread; when it returns, wake is not running and will not be called again.
 * mq_close serves what remains on the closing thread, as without it. opaque: borrowed until
 * then. 0 or MF_EINVAL. Any thread. */
typedef void (*mq_wake_fn)(void *opaque);
int mq_serve_on(struct mq *q, mq_wake_fn wake, void *opaque);
/* Run the done() callbacks waiting now on the calling thread (none waiting: returns at once).
 * No-op for the embedded backend. Any thread; callbacks must not call back into the queue. */
void mq_serve(struct mq *q);

/* Fire-and-forget produce for messages nobody confirms (readings/events/sessions JSON).
 * Same return values; no callback. */
int mq_publish(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
               const void *val, size_t val_len);

/* Consumer side. group: consumer group -- all workers share one; every front uses a
 * distinct group for downlink (e.g. "front-<node_id>") so each sees every command. group is
 * borrowed; 1..MQ_GROUP_MAX-1 bytes. The consumer belongs to the calling thread.
 * 0, MF_ERETRY, MF_EFATAL; MF_EINVAL for a bad argument or a thread already subscribed.
 * A new Kafka group starts at the oldest retained message for uplink/readings/events/
 * sessions (nothing produced before the first worker is skipped) and at the newest for a
 * subscription to downlink only (a new front does not replay old commands). */
#define MQ_GROUP_MAX 128
int mq_subscribe(struct mq *q, const enum mq_topic *topics, size_t ntopics, const char *group);
/* Close the calling thread's consumer (releasing its outstanding batches; kafka: leave the
 * group so its partitions move at once). No-op when the thread has none. */
void mq_unsubscribe(struct mq *q);
/* Wait up to timeout_ms for messages; fills batch with at most max_msgs (<= MQ_BATCH_MAX;
 * batch->n may be 0). The messages stay valid until mq_commit or mq_batch_release; a batch
 * with n == 0 needs neither. 0, MF_ERETRY, MF_EFATAL (closed, or no subscription). */
#define MQ_BATCH_MAX 10000
int mq_poll(struct mq *q, struct mq_batch *batch, size_t max_msgs, int timeout_ms);
/* Explicit consumers (same semantics as mq_subscribe/mq_poll, not bound to a thread; still
 * used by one thread at a time). Gives a consumer closed by mq_consumer_close or mq_close;
 * NULL with errbuf filled on failure. */
struct mq_consumer;
struct mq_consumer *mq_consumer_open(struct mq *q, const enum mq_topic *topics, size_t ntopics,
                                     const char *group, char *errbuf, size_t errlen);
int mq_consumer_poll(struct mq_consumer *c, struct mq_batch *batch, size_t max_msgs,
                     int timeout_ms);
/* Partitions currently assigned to the consumer (embedded: topics x partitions, at once;
 * kafka: after the group join, which happens inside mq_consumer_poll). Consumer's thread. */
int mq_consumer_assigned(struct mq_consumer *c);
/* Releases the consumer's outstanding batches (they must not be used afterwards). NULL ok. */
void mq_consumer_close(struct mq_consumer *c);

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
    uint64_t in_flight;   /* produced, done() not yet called */
    uint64_t dropped;     /* embedded: published to a topic without a group */
    int64_t lag;          /* consumer lag in messages, -1 unknown (kafka: sum over this
                           * handle's consumers from cached high watermarks, refreshed by
                           * their polls at most once a second) */
};
void mq_stats_get(struct mq *q, struct mq_stats *out);

#endif
