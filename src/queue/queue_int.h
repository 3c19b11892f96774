/* queue_int.h -- private to src/queue: the backend operations table behind queue.h.
 *
 * A backend embeds struct mq as the first member of its handle and struct mq_consumer as
 * the first member of its consumer; queue.c checks arguments, keeps the thread -> consumer
 * table of mq_subscribe/mq_poll, and dispatches here. batch->priv identifies the consumer
 * a batch came from, so commit/release need no lookup.
 * Thread: as queue.h says for the public calls each op implements. */
#ifndef MF_QUEUE_INT_H
#define MF_QUEUE_INT_H

#include <pthread.h>

#include "meterflow/queue.h"

struct mq_ops {
    const char *name;
    /* done == NULL: fire-and-forget (mq_publish). Arguments already checked. */
    int (*produce)(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                   const void *val, size_t val_len, mq_done_fn done, void *opaque);
    /* Optional (NULL: mq_produce_lazy uses produce, mq_wake does nothing): produce without
     * waking a sleeping consumer before the next wake call. */
    int (*produce_lazy)(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                        const void *val, size_t val_len, mq_done_fn done, void *opaque);
    void (*wake)(struct mq *q);
    /* Optional (NULL: mq_serve_on gives MF_EINVAL, mq_serve does nothing): done() callbacks
     * served by the caller's thread (queue.h). */
    int (*serve_on)(struct mq *q, mq_wake_fn wake, void *opaque);
    void (*serve)(struct mq *q);
    struct mq_consumer *(*consumer_open)(struct mq *q, const enum mq_topic *topics,
                                         size_t ntopics, const char *group, char *errbuf,
                                         size_t errlen);
    int (*poll)(struct mq_consumer *c, struct mq_batch *batch, size_t max_msgs, int timeout_ms);
    int (*commit)(struct mq *q, struct mq_batch *batch);
    void (*release)(struct mq *q, struct mq_batch *batch);
    void (*consumer_close)(struct mq_consumer *c);
    int (*assigned)(struct mq_consumer *c);
    void (*stats)(struct mq *q, struct mq_stats *out);
    /* Closes remaining consumers, fires pending callbacks, frees the handle. */
    void (*close)(struct mq *q);
};

#define MQ_MAX_THREAD_SUBS 32

struct mq_thread_sub {
    pthread_t tid;
    struct mq_consumer *c;
};

struct mq {
    const struct mq_ops *ops;
    char prefix[64];                  /* [queue] topic_prefix */
    size_t max_message_bytes;
    pthread_mutex_t subs_lock;        /* guards subs only */
    struct mq_thread_sub subs[MQ_MAX_THREAD_SUBS];
    size_t nsubs;
    mq_sync_fn sync_fn;               /* mq_open_sync: produce on sync_topic calls this */
    void *sync_opaque;
    enum mq_topic sync_topic;
};

struct mq_consumer {
    struct mq *q;
};

/* Fill the common part of a handle from [queue]; 0 or MF_EINVAL with errbuf. */
int mq_base_init(struct mq *q, const struct mq_ops *ops, const struct mf_config *cfg,
                 char *errbuf, size_t errlen);
void mq_base_fini(struct mq *q);
/* prefix + topic name into out (cap bytes); 0 or MF_ERANGE. */
int mq_topic_full_name(const struct mq *q, enum mq_topic t, char *out, size_t cap);

struct mq *mq_emb_open(const struct mf_config *cfg, char *errbuf, size_t errlen);
struct mq *mq_kafka_open(const struct mf_config *cfg, char *errbuf, size_t errlen);

/* librdkafka error code -> MF_ERETRY (retriable: broker down, leader moving, timeouts,
 * not enough replicas), MF_EFULL (local queue full), MF_ERANGE (too large), else MF_EFATAL. */
int mq_kafka_status(int rd_err);

/* FNV-1a 32-bit, the embedded backend's key -> partition hash. */
uint32_t mq_hash_key(const void *key, size_t len);

#endif
