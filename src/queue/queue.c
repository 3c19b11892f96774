/* queue.c -- the public queue interface: argument checks, backend choice, and the
 * thread -> consumer table behind mq_subscribe/mq_poll.
 *
 * Why a per-thread table: in embedded mode every role of the process shares one handle,
 * and the front (downlink) and the worker (uplink) each subscribe on their own thread;
 * binding the subscription to the calling thread keeps the simple mq_subscribe/mq_poll
 * calls while letting them coexist. Explicit consumers (mq_consumer_open) bypass it.
 * Invariant: subs[] holds at most one entry per thread; it is guarded by subs_lock, which
 * is never held while a backend call blocks.
 * Thread: see queue.h. */
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/log.h"
#include "queue/queue_int.h"

static const char *const topic_names[MQ_NTOPICS] = { "uplink", "downlink", "readings", "events",
                                                     "sessions" };

const char *mq_topic_name(enum mq_topic t)
{
    if ((int)t < 0 || t >= MQ_NTOPICS)
        return "unknown";
    return topic_names[t];
}

uint32_t mq_hash_key(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

int mq_topic_full_name(const struct mq *q, enum mq_topic t, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", q->prefix, mq_topic_name(t));
    return (n < 0 || (size_t)n >= cap) ? MF_ERANGE : 0;
}

int mq_base_init(struct mq *q, const struct mq_ops *ops, const struct mf_config *cfg,
                 char *errbuf, size_t errlen)
{
    const char *prefix = mf_config_str(cfg, "queue", "topic_prefix");

    memset(q, 0, sizeof(*q));
    q->ops = ops;
    if (strlen(prefix) >= sizeof(q->prefix)) {
        snprintf(errbuf, errlen, "[queue] topic_prefix: longer than %zu bytes",
                 sizeof(q->prefix) - 1);
        return MF_EINVAL;
    }
    mf_strlcpy(q->prefix, prefix, sizeof(q->prefix));
    q->max_message_bytes = (size_t)mf_config_int(cfg, "queue", "max_message_bytes");
    pthread_mutex_init(&q->subs_lock, NULL);
    return 0;
}

void mq_base_fini(struct mq *q)
{
    pthread_mutex_destroy(&q->subs_lock);
}

struct mq *mq_open(const struct mf_config *cfg, char *errbuf, size_t errlen)
{
    const char *backend = mf_config_str(cfg, "queue", "backend");

    if (strcmp(backend, "embedded") == 0)
        return mq_emb_open(cfg, errbuf, errlen);
    if (strcmp(backend, "kafka") == 0)
        return mq_kafka_open(cfg, errbuf, errlen);
    snprintf(errbuf, errlen, "[queue] backend: unknown backend '%s'", backend);
    return NULL;
}

void mq_close(struct mq *q)
{
    if (q == NULL)
        return;
    /* The backend closes every consumer it still has, including the per-thread ones. */
    q->ops->close(q);
}

struct mq *mq_open_sync(const struct mf_config *cfg, enum mq_topic topic, mq_sync_fn fn,
                        void *opaque, char *errbuf, size_t errlen)
{
    struct mq *q;

    if (fn == NULL || (int)topic < 0 || topic >= MQ_NTOPICS) {
        snprintf(errbuf, errlen, "queue: mq_open_sync needs a function and a topic");
        return NULL;
    }
    if (!(q = mq_open(cfg, errbuf, errlen)))
        return NULL;
    q->sync_fn = fn; /* before the handle is shared: no other thread sees it yet */
    q->sync_opaque = opaque;
    q->sync_topic = topic;
    return q;
}

const char *mq_backend_name(const struct mq *q)
{
    return q->ops->name;
}

static int mq_args_ok(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                      const void *val, size_t val_len)
{
    if (q == NULL || (int)topic < 0 || topic >= MQ_NTOPICS)
        return MF_EINVAL;
    if ((key_len > 0 && key == NULL) || (val_len > 0 && val == NULL))
        return MF_EINVAL;
    if (key_len > q->max_message_bytes || val_len > q->max_message_bytes - key_len)
        return MF_ERANGE;
    return 0;
}

int mq_produce(struct mq *q, enum mq_topic topic, const void *key, size_t key_len, const void *val,
               size_t val_len, mq_done_fn done, void *opaque)
{
    int rc = mq_args_ok(q, topic, key, key_len, val, val_len);

    if (rc != 0)
        return rc;
    if (done == NULL)
        return MF_EINVAL;
    if (q->sync_fn && topic == q->sync_topic) {
        rc = q->sync_fn(q->sync_opaque, key, key_len, val, val_len);
        if (rc == MF_EFULL)
            return rc;
        done(opaque, rc);
        return 0;
    }
    return q->ops->produce(q, topic, key, key_len, val, val_len, done, opaque);
}

int mq_produce_lazy(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                    const void *val, size_t val_len, mq_done_fn done, void *opaque)
{
    if (q == NULL || q->ops->produce_lazy == NULL || (q->sync_fn && topic == q->sync_topic))
        return mq_produce(q, topic, key, key_len, val, val_len, done, opaque);
    int rc = mq_args_ok(q, topic, key, key_len, val, val_len);
    if (rc != 0)
        return rc;
    if (done == NULL)
        return MF_EINVAL;
    return q->ops->produce_lazy(q, topic, key, key_len, val, val_len, done, opaque);
}

void mq_wake(struct mq *q)
{
    if (q != NULL && q->ops->wake != NULL)
        q->ops->wake(q);
}

int mq_serve_on(struct mq *q, mq_wake_fn wake, void *opaque)
{
    if (q == NULL || q->ops->serve_on == NULL)
        return MF_EINVAL;
    return q->ops->serve_on(q, wake, opaque);
}

void mq_serve(struct mq *q)
{
    if (q != NULL && q->ops->serve != NULL)
        q->ops->serve(q);
}

int mq_publish(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
               const void *val, size_t val_len)
{
    int rc = mq_args_ok(q, topic, key, key_len, val, val_len);

    if (rc != 0)
        return rc;
    if (q->sync_fn && topic == q->sync_topic) {
        rc = q->sync_fn(q->sync_opaque, key, key_len, val, val_len);
        return rc == MF_EFULL ? rc : 0;
    }
    return q->ops->produce(q, topic, key, key_len, val, val_len, NULL, NULL);
}

struct mq_consumer *mq_consumer_open(struct mq *q, const enum mq_topic *topics, size_t ntopics,
                                     const char *group, char *errbuf, size_t errlen)
{
    size_t glen = group ? strlen(group) : 0;

    if (ntopics == 0 || ntopics > MQ_NTOPICS || glen == 0 || glen >= MQ_GROUP_MAX) {
        snprintf(errbuf, errlen, "queue: consumer needs 1..%d topics and a group of 1..%d bytes",
                 MQ_NTOPICS, MQ_GROUP_MAX - 1);
        return NULL;
    }
    for (size_t i = 0; i < ntopics; i++) {
        if ((int)topics[i] < 0 || topics[i] >= MQ_NTOPICS) {
            snprintf(errbuf, errlen, "queue: unknown topic %d", (int)topics[i]);
            return NULL;
        }
    }
    return q->ops->consumer_open(q, topics, ntopics, group, errbuf, errlen);
}

int mq_consumer_poll(struct mq_consumer *c, struct mq_batch *batch, size_t max_msgs,
                     int timeout_ms)
{
    memset(batch, 0, sizeof(*batch));
    if (c == NULL)
        return MF_EFATAL;
    if (max_msgs == 0)
        return MF_EINVAL;
    if (max_msgs > MQ_BATCH_MAX)
        max_msgs = MQ_BATCH_MAX;
    return c->q->ops->poll(c, batch, max_msgs, timeout_ms < 0 ? 0 : timeout_ms);
}

int mq_consumer_assigned(struct mq_consumer *c)
{
    return c ? c->q->ops->assigned(c) : 0;
}

void mq_consumer_close(struct mq_consumer *c)
{
    if (c != NULL)
        c->q->ops->consumer_close(c);
}

/* The calling thread's slot index, or -1. Called with subs_lock held. */
static int mq_sub_find(struct mq *q)
{
    pthread_t self = pthread_self();

    for (size_t i = 0; i < q->nsubs; i++)
        if (pthread_equal(q->subs[i].tid, self))
            return (int)i;
    return -1;
}

int mq_subscribe(struct mq *q, const enum mq_topic *topics, size_t ntopics, const char *group)
{
    char err[256];
    struct mq_consumer *c;
    int rc = 0;

    pthread_mutex_lock(&q->subs_lock);
    if (mq_sub_find(q) >= 0 || q->nsubs >= MQ_MAX_THREAD_SUBS)
        rc = MF_EINVAL;
    pthread_mutex_unlock(&q->subs_lock);
    if (rc != 0)
        return rc;
    /* Opened outside the lock: a Kafka consumer's creation talks to the network. Only this
     * thread can add its own entry, so nobody races us to the slot. */
    c = mq_consumer_open(q, topics, ntopics, group, err, sizeof(err));
    if (c == NULL) {
        mf_error("queue", "subscribe (group %s): %s", group ? group : "(null)", err);
        return MF_EFATAL;
    }
    pthread_mutex_lock(&q->subs_lock);
    if (q->nsubs < MQ_MAX_THREAD_SUBS) {
        q->subs[q->nsubs].tid = pthread_self();
        q->subs[q->nsubs].c = c;
        q->nsubs++;
    } else {
        rc = MF_EINVAL;
    }
    pthread_mutex_unlock(&q->subs_lock);
    if (rc != 0)
        mq_consumer_close(c);
    return rc;
}

void mq_unsubscribe(struct mq *q)
{
    struct mq_consumer *c = NULL;
    int i;

    pthread_mutex_lock(&q->subs_lock);
    i = mq_sub_find(q);
    if (i >= 0) {
        c = q->subs[i].c;
        q->subs[i] = q->subs[q->nsubs - 1];
        q->nsubs--;
    }
    pthread_mutex_unlock(&q->subs_lock);
    mq_consumer_close(c);
}

int mq_poll(struct mq *q, struct mq_batch *batch, size_t max_msgs, int timeout_ms)
{
    struct mq_consumer *c = NULL;
    int i;

    pthread_mutex_lock(&q->subs_lock);
    i = mq_sub_find(q);
    if (i >= 0)
        c = q->subs[i].c;
    pthread_mutex_unlock(&q->subs_lock);
    if (c == NULL) {
        memset(batch, 0, sizeof(*batch));
        return MF_EFATAL;
    }
    return mq_consumer_poll(c, batch, max_msgs, timeout_ms);
}

int mq_commit(struct mq *q, struct mq_batch *batch)
{
    if (batch->n == 0 && batch->priv == NULL)
        return 0;
    return q->ops->commit(q, batch);
}

void mq_batch_release(struct mq *q, struct mq_batch *batch)
{
    if (batch->n == 0 && batch->priv == NULL)
        return;
    q->ops->release(q, batch);
}

void mq_stats_get(struct mq *q, struct mq_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->lag = -1;
    q->ops->stats(q, out);
}
