/* queue_emb.c -- the embedded queue backend: in-process, bounded, keyed partitions, consumer
 * groups with fan-out, and a done() callback that fires only when the consumer commits.
 *
 * Model. Each topic has P partitions; a partition is a doubly-linked log of messages in
 * offset order. Each consumer group of a topic has, per partition, a cursor (the first
 * message it has not yet been given) and a holder (the one consumer of the group allowed to
 * take from that partition while it has uncommitted messages from it -- this is what keeps
 * one terminal's messages in order when several threads share a group). A message carries
 * `refs`, the number of groups that still owe it a verdict (commit or release). When refs
 * reaches 0 the message is freed and its done() fires with 0 -- unless a release already
 * fired it with MF_ERETRY. The "durable" promise of queue.h is exactly this: done(0) means
 * every group that received the message called mq_commit on it.
 *
 * Invariants (under q->lock):
 *  - a message with refs > 0 is never freed; every cursor points at a message with refs > 0
 *    (or is NULL: nothing pending for that group in that partition);
 *  - topic nmsgs/nbytes count exactly the messages in its partition logs, and never exceed
 *    the configured caps (checked before allocation, so a burst cannot grow memory);
 *  - refs == 0 only for messages produced before the topic had any group; the first group
 *    to join adopts them (refs = 1).
 * Callbacks are collected under the lock and fired after it is released, on the thread that
 * called commit / release / close.
 *
 * Wake-ups. Each consumer has its own condition variable and a `waiting` flag, so a produce
 * wakes only the consumers of that topic that are asleep (the front's downlink consumer
 * shares the handle with the worker: an uplink produce must not wake it), and a produce
 * while the consumer is busy costs no futex call. mq_produce_lazy only marks the waiting
 * consumers `owed`; mq_wake (the producer's thread, once per event-loop iteration) signals
 * them: one wake-up and one lock hand-off per burst instead of per message -- on two busy
 * cores the per-message hand-off was most of the front's CPU (docs/PERFORMANCE.md).
 * A consumer checks for messages under the lock before it sleeps, so a message produced
 * while it was not waiting is never left behind a missed signal.
 * Thread: any; one mutex per handle, one condition variable (CLOCK_MONOTONIC) per consumer. */
#include <stdatomic.h>
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "queue/queue_int.h"

struct emb_msg {
    struct emb_msg *prev, *next; /* partition log, oldest first */
    struct emb_topic *tp;
    int64_t offset;
    uint64_t produced_at_us;
    mq_done_fn done; /* NULL for mq_publish, and once fired */
    void *opaque;
    int refs;
    int32_t part;
    size_t key_len, val_len;
    uint8_t data[]; /* key bytes, then value bytes */
};

struct emb_part {
    struct emb_msg *head, *tail;
    int64_t next_offset;
};

struct emb_gpart {
    struct emb_msg *cursor;    /* next message to hand to this group; NULL: none pending */
    struct emb_cons *holder;   /* consumer with uncommitted messages of this partition */
    size_t held;               /* how many */
};

struct emb_group {
    struct emb_group *next;
    char name[MQ_GROUP_MAX];
    struct emb_gpart *gparts; /* [nparts] */
    uint64_t pending;         /* messages not yet handed to this group (for lag) */
    unsigned rr;              /* partition to start the next poll at (fairness) */
};

struct emb_topic {
    enum mq_topic id;
    struct emb_part *parts;
    struct emb_group *groups;
    size_t nmsgs, nbytes;
};

struct emb_cons {
    struct mq_consumer base;
    struct emb_cons *next;
    pthread_cond_t cond;       /* signalled when this consumer may have work */
    int waiting;               /* in pthread_cond_timedwait (lock held to read/write) */
    int owed;                  /* a lazy produce wants it woken at the next mq_wake */
    struct emb_group *groups[MQ_NTOPICS];
    enum mq_topic topics[MQ_NTOPICS];
    size_t ntopics;
    struct emb_batch *batches; /* outstanding, for close */
};

/* batch->priv: what the batch holds, parallel to batch->msgs. */
struct emb_batch {
    struct emb_batch *prev, *next;
    struct emb_cons *c;
    size_t n;
    struct mq_msg *msgs; /* the caller's batch->msgs, freed here only if the batch is orphaned */
    struct emb_msg **m;
    struct emb_group **g;
};

struct emb_q {
    struct mq base;
    pthread_mutex_t lock;
    atomic_int owed_any;       /* some consumer is owed a wake-up (set under lock) */
    int closing;
    uint32_t nparts;
    size_t max_msgs, max_bytes;
    struct emb_topic topics[MQ_NTOPICS];
    struct emb_cons *consumers;
    struct mq_stats st;
};

/* A callback to fire after the lock is released. */
struct emb_cb {
    mq_done_fn done;
    void *opaque;
    int status;
};

static struct emb_q *emb_of(struct mq *q)
{
    return (struct emb_q *)q;
}

static void emb_cbs_fire(const struct emb_cb *cbs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cbs[i].done(cbs[i].opaque, cbs[i].status);
}

/* Take the message's callback (if still armed) into cbs[*ncb]. Lock held. */
static void emb_msg_fire(struct emb_q *eq, struct emb_msg *m, int status, struct emb_cb *cbs,
                         size_t *ncb)
{
    if (m->done == NULL)
        return;
    cbs[*ncb].done = m->done;
    cbs[*ncb].opaque = m->opaque;
    cbs[*ncb].status = status;
    (*ncb)++;
    m->done = NULL;
    eq->st.in_flight--;
    if (status == 0)
        eq->st.delivered++;
    else
        eq->st.failed++;
}

static void emb_msg_unlink_free(struct emb_msg *m)
{
    struct emb_topic *tp = m->tp;
    struct emb_part *p = &tp->parts[m->part];

    if (m->prev)
        m->prev->next = m->next;
    else
        p->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        p->tail = m->prev;
    tp->nmsgs--;
    tp->nbytes -= m->key_len + m->val_len;
    free(m);
}

/* Wake (or, lazy, mark owed) the sleeping consumers subscribed to topic. Lock held. */
static void emb_wake_topic(struct emb_q *eq, enum mq_topic topic, int lazy)
{
    for (struct emb_cons *c = eq->consumers; c; c = c->next) {
        if (!c->waiting)
            continue;
        for (size_t i = 0; i < c->ntopics; i++) {
            if (c->topics[i] != topic)
                continue;
            if (lazy) {
                c->owed = 1;
                atomic_store_explicit(&eq->owed_any, 1, memory_order_relaxed);
            } else {
                pthread_cond_signal(&c->cond);
            }
            break;
        }
    }
}

static int emb_produce_any(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                           const void *val, size_t val_len, mq_done_fn done, void *opaque,
                           int lazy)
{
    struct emb_q *eq = emb_of(q);
    struct emb_topic *tp = &eq->topics[topic];
    uint32_t part = mq_hash_key(key, key_len) % eq->nparts;
    size_t bytes = key_len + val_len; /* <= max_message_bytes: checked by queue.c */
    struct emb_msg *m;
    int rc = 0;

    pthread_mutex_lock(&eq->lock);
    if (eq->closing) {
        rc = MF_EFATAL;
    } else if (done == NULL && tp->groups == NULL) {
        eq->st.dropped++; /* published where nobody can ever read it */
    } else if (tp->nmsgs >= eq->max_msgs || bytes > eq->max_bytes - tp->nbytes) {
        eq->st.full_rejections++;
        rc = MF_EFULL;
    } else {
        m = mf_malloc(sizeof(*m) + bytes);
        memset(m, 0, sizeof(*m));
        if (key_len)
            memcpy(m->data, key, key_len);
        if (val_len)
            memcpy(m->data + key_len, val, val_len);
        m->key_len = key_len;
        m->val_len = val_len;
        m->tp = tp;
        m->part = (int32_t)part;
        m->offset = tp->parts[part].next_offset++;
        m->produced_at_us = mf_now_us();
        m->done = done;
        m->opaque = opaque;
        m->prev = tp->parts[part].tail;
        if (m->prev)
            m->prev->next = m;
        else
            tp->parts[part].head = m;
        tp->parts[part].tail = m;
        tp->nmsgs++;
        tp->nbytes += bytes;
        for (struct emb_group *g = tp->groups; g; g = g->next) {
            m->refs++;
            g->pending++;
            if (g->gparts[part].cursor == NULL)
                g->gparts[part].cursor = m;
        }
        eq->st.produced++;
        if (done)
            eq->st.in_flight++;
        emb_wake_topic(eq, topic, lazy);
    }
    pthread_mutex_unlock(&eq->lock);
    return rc;
}

static int emb_produce(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                       const void *val, size_t val_len, mq_done_fn done, void *opaque)
{
    return emb_produce_any(q, topic, key, key_len, val, val_len, done, opaque, 0);
}

static int emb_produce_lazy(struct mq *q, enum mq_topic topic, const void *key,
                            size_t key_len, const void *val, size_t val_len, mq_done_fn done,
                            void *opaque)
{
    return emb_produce_any(q, topic, key, key_len, val, val_len, done, opaque, 1);
}

/* Signal every consumer a lazy produce left owed. The unlocked load makes the common case
 * (nothing owed) one atomic read; a flag set just after it belongs to a produce whose
 * thread calls mq_wake again itself. */
static void emb_wake(struct mq *q)
{
    struct emb_q *eq = emb_of(q);

    if (!atomic_load_explicit(&eq->owed_any, memory_order_relaxed))
        return;
    pthread_mutex_lock(&eq->lock);
    atomic_store_explicit(&eq->owed_any, 0, memory_order_relaxed);
    for (struct emb_cons *c = eq->consumers; c; c = c->next) {
        if (c->owed && c->waiting)
            pthread_cond_signal(&c->cond);
        c->owed = 0;
    }
    pthread_mutex_unlock(&eq->lock);
}

/* Find or create the group `name` of a topic. Lock held. A new group that is the topic's
 * first adopts what was produced before any group existed. */
static struct emb_group *emb_group_get(struct emb_q *eq, struct emb_topic *tp, const char *name)
{
    struct emb_group *g;
    int first = tp->groups == NULL;

    for (g = tp->groups; g; g = g->next)
        if (strcmp(g->name, name) == 0)
            return g;
    g = mf_calloc(1, sizeof(*g));
    mf_strlcpy(g->name, name, sizeof(g->name));
    g->gparts = mf_calloc(eq->nparts, sizeof(*g->gparts));
    if (first) {
        for (uint32_t p = 0; p < eq->nparts; p++) {
            g->gparts[p].cursor = tp->parts[p].head;
            for (struct emb_msg *m = tp->parts[p].head; m; m = m->next) {
                m->refs = 1;
                g->pending++;
            }
        }
    }
    g->next = tp->groups;
    tp->groups = g;
    return g;
}

static struct mq_consumer *emb_consumer_open(struct mq *q, const enum mq_topic *topics,
                                             size_t ntopics, const char *group, char *errbuf,
                                             size_t errlen)
{
    struct emb_q *eq = emb_of(q);
    struct emb_cons *c = mf_calloc(1, sizeof(*c));
    pthread_condattr_t ca;

    c->base.q = q;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&eq->lock);
    if (eq->closing) {
        pthread_mutex_unlock(&eq->lock);
        snprintf(errbuf, errlen, "queue: closing");
        pthread_cond_destroy(&c->cond);
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < ntopics; i++) {
        int dup = 0;
        for (size_t j = 0; j < c->ntopics; j++)
            dup |= c->topics[j] == topics[i];
        if (dup)
            continue;
        c->topics[c->ntopics] = topics[i];
        c->groups[c->ntopics] = emb_group_get(eq, &eq->topics[topics[i]], group);
        c->ntopics++;
    }
    c->next = eq->consumers;
    eq->consumers = c;
    pthread_mutex_unlock(&eq->lock);
    return &c->base;
}

/* Upper bound of messages a poll could return now (sizing the batch arrays). Lock held. */
static size_t emb_available(const struct emb_cons *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->ntopics; i++)
        n += (size_t)c->groups[i]->pending;
    return n;
}

/* Move up to `room` messages of one group's partition into the batch. Lock held. */
static void emb_take_part(struct emb_cons *c, size_t ti, uint32_t p,
                          struct mq_batch *batch, struct emb_batch *eb, size_t room)
{
    struct emb_group *g = c->groups[ti];
    struct emb_gpart *gp = &g->gparts[p];

    if (gp->cursor == NULL || (gp->holder != NULL && gp->holder != c))
        return;
    while (gp->cursor != NULL && eb->n < room) {
        struct emb_msg *m = gp->cursor;
        struct mq_msg *out = &batch->msgs[eb->n];

        out->topic = c->topics[ti];
        out->partition = m->part;
        out->offset = m->offset;
        out->key = m->data;
        out->key_len = m->key_len;
        out->val = m->data + m->key_len;
        out->val_len = m->val_len;
        out->produced_at_us = m->produced_at_us;
        eb->m[eb->n] = m;
        eb->g[eb->n] = g;
        eb->n++;
        gp->cursor = m->next;
        gp->holder = c;
        gp->held++;
        g->pending--;
    }
}

static void emb_take(struct emb_q *eq, struct emb_cons *c, struct mq_batch *batch,
                     struct emb_batch *eb, size_t room)
{
    for (size_t ti = 0; ti < c->ntopics && eb->n < room; ti++) {
        struct emb_group *g = c->groups[ti];
        uint32_t start = g->rr % eq->nparts;

        for (uint32_t k = 0; k < eq->nparts && eb->n < room; k++)
            emb_take_part(c, ti, (start + k) % eq->nparts, batch, eb, room);
        g->rr = start + 1;
    }
}

static void emb_deadline(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int emb_poll(struct mq_consumer *base, struct mq_batch *batch, size_t max_msgs,
                    int timeout_ms)
{
    struct emb_cons *c = (struct emb_cons *)base;
    struct emb_q *eq = emb_of(base->q);
    struct emb_batch *eb = NULL;
    struct timespec deadline;
    int rc = 0;

    emb_deadline(&deadline, timeout_ms);
    pthread_mutex_lock(&eq->lock);
    for (;;) {
        size_t avail;
        if (eq->closing) {
            rc = MF_EFATAL;
            break;
        }
        avail = MF_MIN(emb_available(c), max_msgs);
        if (avail > 0) {
            eb = mf_calloc(1, sizeof(*eb));
            /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
            eb->m = mf_calloc(avail, sizeof(*eb->m));
            /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
            eb->g = mf_calloc(avail, sizeof(*eb->g));
            batch->msgs = mf_calloc(avail, sizeof(*batch->msgs));
            emb_take(eq, c, batch, eb, avail);
            if (eb->n > 0)
                break;
            /* everything pending is held by other consumers of the group */
            free(eb->m);
            free(eb->g);
            free(eb);
            free(batch->msgs);
            batch->msgs = NULL;
            eb = NULL;
        }
        c->waiting = 1;
        int wrc = pthread_cond_timedwait(&c->cond, &eq->lock, &deadline);
        c->waiting = 0;
        c->owed = 0;
        if (wrc == ETIMEDOUT)
            break;
    }
    if (eb != NULL) {
        eb->c = c;
        eb->msgs = batch->msgs;
        eb->next = c->batches;
        if (c->batches)
            c->batches->prev = eb;
        c->batches = eb;
        batch->n = eb->n;
        batch->priv = eb;
        eq->st.consumed += eb->n;
    }
    pthread_mutex_unlock(&eq->lock);
    return rc;
}

/* Partitions the batch held are free again: wake the sleeping consumers that share one of
 * its groups (they skipped those partitions while eb->c held them). Lock held. */
static int emb_shares_group(const struct emb_cons *a, const struct emb_cons *b)
{
    for (size_t i = 0; i < a->ntopics; i++)
        for (size_t j = 0; j < b->ntopics; j++)
            if (a->groups[i] == b->groups[j])
                return 1;
    return 0;
}

static void emb_wake_group_peers(struct emb_q *eq, const struct emb_batch *eb)
{
    for (struct emb_cons *c = eq->consumers; c; c = c->next)
        if (c->waiting && c != eb->c && emb_shares_group(c, eb->c))
            pthread_cond_signal(&c->cond);
}

/* One group's verdict on every message of a batch; unlinks it from c (its consumer, eb->c)
 * and frees the batch record (not batch->msgs). Lock held. cbs must hold eb->n entries;
 * returns how many it filled. c is passed although eb->c says it, so that the list head
 * written below is visibly the caller's c->batches (the analyser does not alias the two). */
static size_t emb_batch_finish(struct emb_q *eq, struct emb_cons *c, struct emb_batch *eb,
                               int status, struct emb_cb *cbs)
{
    size_t ncb = 0;

    assert(eb->c == c);

    for (size_t i = 0; i < eb->n; i++) {
        struct emb_msg *m = eb->m[i];
        struct emb_gpart *gp = &eb->g[i]->gparts[m->part];

        if (--gp->held == 0)
            gp->holder = NULL;
        if (status != 0)
            emb_msg_fire(eq, m, status, cbs, &ncb); /* the first failure decides, at once */
        if (--m->refs == 0) {
            emb_msg_fire(eq, m, 0, cbs, &ncb);      /* no-op if a release fired it */
            emb_msg_unlink_free(m);
        }
    }
    if (eb->prev)
        eb->prev->next = eb->next;
    else
        c->batches = eb->next;
    if (eb->next)
        eb->next->prev = eb->prev;
    emb_wake_group_peers(eq, eb);
    free(eb->m);
    free(eb->g);
    free(eb);
    return ncb;
}

static void emb_batch_end(struct mq *q, struct mq_batch *batch, int status)
{
    struct emb_q *eq = emb_of(q);
    struct emb_batch *eb = batch->priv;
    struct emb_cb *cbs = NULL;
    size_t ncb = 0;

    if (eb != NULL) {
        cbs = mf_calloc(eb->n ? eb->n : 1, sizeof(*cbs));
        pthread_mutex_lock(&eq->lock);
        if (status == 0)
            eq->st.committed += eb->n;
        ncb = emb_batch_finish(eq, eb->c, eb, status, cbs);
        pthread_mutex_unlock(&eq->lock);
    }
    free(batch->msgs);
    memset(batch, 0, sizeof(*batch));
    emb_cbs_fire(cbs, ncb);
    free(cbs);
}

static int emb_commit(struct mq *q, struct mq_batch *batch)
{
    emb_batch_end(q, batch, 0);
    return 0;
}

static void emb_release(struct mq *q, struct mq_batch *batch)
{
    emb_batch_end(q, batch, MF_ERETRY);
}

/* Release every outstanding batch of a consumer, unlink and free it. Lock held; callbacks
 * appended to a growing array the caller fires after unlocking. */
static void emb_cons_drop(struct emb_q *eq, struct emb_cons *c, struct emb_cb **cbs,
                          size_t *ncb)
{
    while (c->batches != NULL) {
        struct emb_batch *eb = c->batches;
        /* The head of a consumer's list has no predecessor (emb_poll links new batches at
         * the head), so emb_batch_finish sets c->batches = eb->next before it frees eb and
         * the loop never sees eb again. Said for the analyser, which otherwise follows the
         * impossible eb->prev != NULL branch to a use after free. */
        assert(eb->prev == NULL);
        *cbs = mf_realloc(*cbs, (*ncb + eb->n + 1) * sizeof(**cbs));
        free(eb->msgs); /* orphaned: the caller must not use this batch any more */
        *ncb += emb_batch_finish(eq, c, eb, MF_ERETRY, *cbs + *ncb);
    }
    for (struct emb_cons **pp = &eq->consumers; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_cond_destroy(&c->cond);
    free(c);
}

static void emb_consumer_close(struct mq_consumer *base)
{
    struct emb_q *eq = emb_of(base->q);
    struct emb_cb *cbs = NULL;
    size_t ncb = 0;

    pthread_mutex_lock(&eq->lock);
    emb_cons_drop(eq, (struct emb_cons *)base, &cbs, &ncb);
    pthread_mutex_unlock(&eq->lock);
    emb_cbs_fire(cbs, ncb);
    free(cbs);
}

static int emb_assigned(struct mq_consumer *base)
{
    struct emb_cons *c = (struct emb_cons *)base;
    return (int)(c->ntopics * emb_of(base->q)->nparts);
}

static void emb_stats(struct mq *q, struct mq_stats *out)
{
    struct emb_q *eq = emb_of(q);

    pthread_mutex_lock(&eq->lock);
    *out = eq->st;
    out->lag = 0;
    for (int t = 0; t < MQ_NTOPICS; t++) {
        for (struct emb_group *g = eq->topics[t].groups; g; g = g->next)
            out->lag += (int64_t)g->pending;
        if (eq->topics[t].groups == NULL)
            out->lag += (int64_t)eq->topics[t].nmsgs;
    }
    pthread_mutex_unlock(&eq->lock);
}

/* Free every message of every topic, collecting armed callbacks with MF_EFATAL. Lock held. */
static void emb_drain_all(struct emb_q *eq, struct emb_cb **cbs, size_t *ncb)
{
    size_t total = 0;

    for (int t = 0; t < MQ_NTOPICS; t++)
        total += eq->topics[t].nmsgs;
    *cbs = mf_realloc(*cbs, (*ncb + total + 1) * sizeof(**cbs));
    for (int t = 0; t < MQ_NTOPICS; t++) {
        struct emb_topic *tp = &eq->topics[t];
        for (uint32_t p = 0; p < eq->nparts; p++) {
            while (tp->parts[p].head != NULL) {
                struct emb_msg *m = tp->parts[p].head;
                emb_msg_fire(eq, m, MF_EFATAL, *cbs, ncb);
                emb_msg_unlink_free(m);
            }
        }
        while (tp->groups != NULL) {
            struct emb_group *g = tp->groups;
            tp->groups = g->next;
            free(g->gparts);
            free(g);
        }
        free(tp->parts);
    }
}

static void emb_close(struct mq *q)
{
    struct emb_q *eq = emb_of(q);
    struct emb_cb *cbs = NULL;
    size_t ncb = 0;

    pthread_mutex_lock(&eq->lock);
    eq->closing = 1;
    /* Outstanding batches are not released (that would say MF_ERETRY): the close reports
     * MF_EFATAL for everything still pending, below. */
    while (eq->consumers != NULL) {
        struct emb_cons *c = eq->consumers;
        while (c->batches != NULL) {
            struct emb_batch *eb = c->batches;
            c->batches = eb->next;
            free(eb->msgs);
            free(eb->m);
            free(eb->g);
            free(eb);
        }
        eq->consumers = c->next;
        pthread_cond_destroy(&c->cond);
        free(c);
    }
    emb_drain_all(eq, &cbs, &ncb);
    pthread_mutex_unlock(&eq->lock);
    emb_cbs_fire(cbs, ncb);
    free(cbs);
    pthread_mutex_destroy(&eq->lock);
    mq_base_fini(&eq->base);
    free(eq);
}

static const struct mq_ops emb_ops = {
    .name = "embedded",
    .produce = emb_produce,
    .produce_lazy = emb_produce_lazy,
    .wake = emb_wake,
    .consumer_open = emb_consumer_open,
    .poll = emb_poll,
    .commit = emb_commit,
    .release = emb_release,
    .consumer_close = emb_consumer_close,
    .assigned = emb_assigned,
    .stats = emb_stats,
    .close = emb_close,
};

struct mq *mq_emb_open(const struct mf_config *cfg, char *errbuf, size_t errlen)
{
    struct emb_q *eq = mf_calloc(1, sizeof(*eq));

    if (mq_base_init(&eq->base, &emb_ops, cfg, errbuf, errlen) != 0) {
        free(eq);
        return NULL;
    }
    eq->nparts = (uint32_t)mf_config_int(cfg, "queue", "partitions");
    eq->max_msgs = (size_t)mf_config_int(cfg, "queue", "embedded_max_msgs");
    eq->max_bytes = (size_t)mf_config_int(cfg, "queue", "embedded_max_bytes");
    for (int t = 0; t < MQ_NTOPICS; t++) {
        eq->topics[t].id = (enum mq_topic)t;
        eq->topics[t].parts = mf_calloc(eq->nparts, sizeof(*eq->topics[t].parts));
    }
    pthread_mutex_init(&eq->lock, NULL);
    atomic_init(&eq->owed_any, 0);
    return &eq->base;
}
