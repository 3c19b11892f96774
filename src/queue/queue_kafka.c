/* queue_kafka.c -- the Apache Kafka backend over librdkafka.
 *
 * Producer. One rd_kafka_t per handle with acks=all; a message handed to librdkafka is *not*
 * delivered: done() fires only from the delivery report, served by a poller thread owned by
 * the handle. The local queue is bounded (queue.buffering.max.messages); full -> MF_EFULL.
 * Without idempotence (the 0.9 test broker has none) retries could reorder a partition, so
 * max.in.flight.requests.per.connection defaults to 1: one terminal's frames stay in order.
 *
 * Consumer. One rd_kafka_t per consumer (group member) with enable.auto.commit=false and
 * enable.auto.offset.store=false: the position moves only in mq_commit, which commits the
 * batch's offsets synchronously after the caller's store transaction. A commit that fails
 * is kept as "pending" and retried by the next commit and in the revoke callback, so a
 * rebalance loses no durable progress (only causes duplicates, which storage absorbs).
 * mq_batch_release seeks each partition back to the batch's first offset.
 *
 * Delivery reports are served by the poller thread, or, after mq_serve_on, by the caller's
 * thread in mq_serve: librdkafka's main queue then calls kq_qev_cb when it turns non-empty,
 * which calls the caller's wake; the poller only ticks wake every 100 ms as a safety net.
 *
 * Configuration: defaults below, then every [kafka] pair verbatim (so config can override
 * any default, e.g. the 0.9 compatibility settings); group.id always comes from the caller.
 *
 * Invariants: every rd_kafka_message_t handed to a caller is tracked in an outstanding batch
 * until commit/release/close destroys it (librdkafka cannot be destroyed while messages
 * live). A produce opaque is freed exactly once, in the delivery report.
 * Thread: producer calls from any thread (librdkafka is thread-safe); delivery reports on
 * the poller thread; a consumer and its rebalance callback on the consumer's one thread. */
#include <librdkafka/rdkafka.h>
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "queue/queue_int.h"

struct kq {
    struct mq base;
    rd_kafka_t *rk;                      /* producer */
    rd_kafka_topic_t *rkt[MQ_NTOPICS];
    char names[MQ_NTOPICS][128];         /* prefix + name */
    pthread_t poller;
    atomic_int stop;
    /* mq_serve_on: reports served by the caller. Lock order: librdkafka's queue lock, then
     * wake_mu (kq_qev_cb); the setter never holds wake_mu while it calls into librdkafka. */
    rd_kafka_queue_t *mainq;             /* the producer's main queue (delivery reports) */
    pthread_mutex_t wake_mu;             /* guards wake, wake_opaque */
    mq_wake_fn wake;
    void *wake_opaque;
    atomic_int external;                 /* 1: the poller does not serve reports */
    atomic_int in_poll;                  /* 1: the poller is in (or entering) rd_kafka_poll */
    int close_flush_ms;
    /* [kafka] pairs copied at open (consumers are created later) */
    size_t npairs;
    char **keys, **vals;
    pthread_mutex_t lock;                /* guards consumers */
    struct kc *consumers;
    atomic_uint_fast64_t produced, delivered, failed, full, consumed, committed, in_flight;
    /* The first done function produced with: its messages carry the caller's opaque itself
     * (kq_dr_of), others a struct kq_dr. Set once, never changed. */
    _Atomic(mq_done_fn) common_done;
    /* Failed deliveries, for kq_dr_note's rate-limited warning: failures since the last
     * line, when it was written (mono us), and 1 while deliveries fail. */
    atomic_uint_fast64_t fail_unlogged, fail_total;
    atomic_uint_fast64_t fail_log_at_us;
    atomic_int failing;
    /* kq_stall_check's state: poller thread only. */
    uint64_t stall_seen;     /* delivered + failed at the last check */
    uint64_t stall_since_us; /* when that count last moved (or nothing waited) */
    uint64_t stall_log_at_us;
    int stalled;             /* warned about the current stall */
    uint64_t stall_warn_us;  /* [queue] kafka_stall_warn_ms */
};

struct kc_batch {
    struct kc_batch *prev, *next;
    struct kc *c;        /* the consumer it came from */
    unsigned epoch;      /* c->release_epoch when polled */
    size_t n;
    rd_kafka_message_t **rkm;
    struct mq_msg *msgs; /* the caller's batch->msgs (freed here if orphaned) */
};

struct kc {
    struct mq_consumer base;
    struct kc *next;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *assigned; /* current assignment */
    rd_kafka_topic_partition_list_t *pending;  /* durable offsets not yet committed */
    struct kc_batch *batches;                  /* outstanding */
    atomic_int nassigned;
    atomic_llong lag;          /* messages behind the high watermark; -1 unknown */
    uint64_t lag_at_us;        /* when lag was last computed */
    unsigned release_epoch;    /* bumped by every release (seek back) */
    int fatal;
};

struct kq_dr {
    mq_done_fn done;
    void *opaque;
};

/* A message's librdkafka opaque (_private): NULL for mq_publish; a struct kq_dr pointer with
 * bit 0 set (malloc'd: bit 0 is free); or, when done is kq->common_done and the caller's
 * opaque is non-NULL with bit 0 clear, that opaque itself -- no allocation per message (the
 * front's frames). */
#define KQ_DR_TAG ((uintptr_t)1)

/* Producer defaults, applied before the [kafka] pairs. */
static const char *const kq_prod_defaults[][2] = {
    { "acks", "all" },
    { "api.version.request", "false" },      /* Kafka 0.9 has no ApiVersion request */
    { "broker.version.fallback", "0.9.0.1" },
    { "enable.idempotence", "false" },       /* needs broker >= 0.11 */
    { "max.in.flight.requests.per.connection", "1" },
    { "linger.ms", "5" },                    /* small frames: batch a few ms */
    { "batch.num.messages", "10000" },
    { "queue.buffering.max.messages", "100000" },
    { "message.timeout.ms", "30000" },       /* not durable within 30 s: tell the producer */
    { "socket.keepalive.enable", "true" },
};

/* Consumer defaults. auto.offset.reset is set per subscription (queue.h) before these. */
static const char *const kq_cons_defaults[][2] = {
    { "api.version.request", "false" },
    { "broker.version.fallback", "0.9.0.1" },
    { "enable.auto.commit", "false" },
    { "enable.auto.offset.store", "false" },
    { "enable.partition.eof", "false" },
    { "session.timeout.ms", "10000" },       /* 0.9 brokers allow at most 30000 */
    { "heartbeat.interval.ms", "3000" },
    { "fetch.wait.max.ms", "100" },          /* downlink commands should not wait 500 ms */
    { "topic.metadata.refresh.interval.ms", "30000" },
    { "socket.keepalive.enable", "true" },
};

int mq_kafka_status(int err)
{
    switch ((rd_kafka_resp_err_t)err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return 0;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return MF_EFULL;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        return MF_ERANGE;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
        return MF_ERETRY;
    default:
        return MF_EFATAL;
    }
}

static struct kq *kq_of(struct mq *q)
{
    return (struct kq *)q;
}

static int kq_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, char *errbuf,
                       size_t errlen)
{
    char err[256];

    if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(errbuf, errlen, "[kafka] %s=%s: %s", key, val, err);
        return MF_EINVAL;
    }
    return 0;
}

/* Defaults, then the [kafka] pairs. Gives a conf, NULL with errbuf naming the key. */
static rd_kafka_conf_t *kq_conf_new(const struct kq *kq, const char *const (*defs)[2],
                                    size_t ndefs, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    for (size_t i = 0; i < ndefs; i++)
        if (kq_conf_set(conf, defs[i][0], defs[i][1], errbuf, errlen) != 0)
            goto fail;
    for (size_t i = 0; i < kq->npairs; i++)
        if (kq_conf_set(conf, kq->keys[i], kq->vals[i], errbuf, errlen) != 0)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* librdkafka's log lines go through ours (module "kafka"). */
static void kq_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* CONFWARN: a [kafka] key meant for the other role (producer vs consumer); expected,
     * since one [kafka] section configures both. Misspelt keys fail at conf_set instead. */
    if (strcmp(fac, "CONFWARN") == 0)
        level = 7;
    /* FAIL repeats what the error callback reports (connection failures) */
    if (strcmp(fac, "FAIL") == 0)
        level = 7;
    if (level <= 3)
        mf_error("kafka", "%s: %s", fac, buf);
    else if (level <= 5)
        mf_warn("kafka", "%s: %s", fac, buf);
    else
        mf_debug("kafka", "%s: %s", fac, buf);
}

static void kq_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        mf_error("kafka", "fatal: %s", why);
        return;
    }
    /* Transport errors repeat while a broker is down: keep them at warn, once per event. */
    mf_warn("kafka", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* At most one warning per KQ_FAIL_LOG_US while deliveries fail. */
#define KQ_FAIL_LOG_US (10u * 1000u * 1000u)

/* Say when deliveries fail and when they succeed again. A broker outage fails every message
 * in flight (e.g. 2 of 3 brokers down: NOT_ENOUGH_REPLICAS retried until message.timeout.ms),
 * thousands a second, so the warning is one line per 10 s with the count and the last
 * error; the producer of each failed message was told "not durable" (the front then sends no
 * confirm, the terminal retransmits). Any thread serving reports: atomics only. */
static void kq_dr_note(struct kq *kq, const rd_kafka_message_t *rkm, int st)
{
    if (st == 0) {
        if (atomic_load_explicit(&kq->failing, memory_order_relaxed) &&
            atomic_exchange(&kq->failing, 0))
            mf_info("kafka", "messages delivered again (%llu not delivered since the first "
                    "failure)", (unsigned long long)atomic_exchange(&kq->fail_total, 0));
        return;
    }
    if (st == MF_EFATAL && (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                            rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))
        return; /* closing: kq_close says how many */
    atomic_fetch_add(&kq->fail_unlogged, 1);
    atomic_fetch_add(&kq->fail_total, 1);
    atomic_store(&kq->failing, 1);
    uint64_t now = mf_mono_us(), at = atomic_load(&kq->fail_log_at_us);
    if (at != 0 && now - at < KQ_FAIL_LOG_US)
        return;
    if (!atomic_compare_exchange_strong(&kq->fail_log_at_us, &at, now))
        return; /* another thread writes this window's line */
    mf_warn("kafka", "%llu messages not delivered%s (last: %s, %s, on %s [%d]): not "
            "durable, so nothing of them is confirmed (terminals retransmit)",
            (unsigned long long)atomic_exchange(&kq->fail_unlogged, 0),
            at == 0 ? "" : " since the last warning", rd_kafka_err2name(rkm->err),
            st == MF_ERETRY ? "retry later" : "fatal", rd_kafka_topic_name(rkm->rkt),
            (int)rkm->partition);
}

/* Delivery report: the only place a produced message's fate is decided. Poller thread, or
 * the caller's in mq_serve. */
static void kq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    struct kq *kq = opaque;
    uintptr_t priv = (uintptr_t)rkm->_private;
    int st = 0;

    (void)rk;
    if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        st = MF_EFATAL; /* closing */
    else if (rkm->err)
        st = mq_kafka_status(rkm->err) == MF_ERETRY ? MF_ERETRY : MF_EFATAL;
    if (st == 0)
        atomic_fetch_add(&kq->delivered, 1);
    else
        atomic_fetch_add(&kq->failed, 1);
    kq_dr_note(kq, rkm, st);
    if (priv == 0)
        return; /* mq_publish: nobody waits */
    atomic_fetch_sub(&kq->in_flight, 1);
    if (priv & KQ_DR_TAG) {
        struct kq_dr *dr = (struct kq_dr *)(priv & ~KQ_DR_TAG);
        dr->done(dr->opaque, st);
        free(dr);
    } else {
        atomic_load_explicit(&kq->common_done, memory_order_relaxed)((void *)priv, st);
    }
}

/* Messages wait and no delivery report came for [queue] kafka_stall_warn_ms: say so at once.
 * A failed delivery is reported only after message.timeout.ms (30 s), and while acks=all
 * cannot be met (fewer in-sync replicas than min.insync.replicas) librdkafka retries
 * silently, so without this line the log would show nothing while nothing is confirmed. At most one line
 * per KQ_FAIL_LOG_US; one info line when reports come again. Poller thread, every 100 ms. */
static void kq_stall_check(struct kq *kq, uint64_t now)
{
    uint64_t seen = atomic_load(&kq->delivered) + atomic_load(&kq->failed);
    uint64_t waiting = atomic_load(&kq->in_flight);

    if (waiting == 0 || seen != kq->stall_seen) {
        if (kq->stalled)
            mf_info("kafka", "delivery reports again after %.1f s without",
                    (double)(now - kq->stall_since_us) / 1e6);
        kq->stalled = 0;
        kq->stall_seen = seen;
        kq->stall_since_us = now;
        return;
    }
    if (now - kq->stall_since_us < kq->stall_warn_us ||
        (kq->stall_log_at_us != 0 && now - kq->stall_log_at_us < KQ_FAIL_LOG_US))
        return;
    kq->stall_log_at_us = now;
    kq->stalled = 1;
    mf_warn("kafka", "no delivery report for %.1f s while %llu messages wait (acks=all: are "
            "min.insync.replicas brokers up and in sync?): nothing of them is confirmed until "
            "the brokers acknowledge them", (double)(now - kq->stall_since_us) / 1e6,
            (unsigned long long)waiting);
}

/* Call the caller's wake, if any. librdkafka's thread (kq_qev_cb) or the poller. */
static void kq_call_wake(struct kq *kq)
{
    pthread_mutex_lock(&kq->wake_mu);
    if (kq->wake)
        kq->wake(kq->wake_opaque);
    pthread_mutex_unlock(&kq->wake_mu);
}

/* The main queue turned non-empty (delivery reports, errors): librdkafka thread, under the
 * queue's lock -- no librdkafka call here. */
static void kq_qev_cb(rd_kafka_t *rk, void *opaque)
{
    (void)rk;
    kq_call_wake(opaque);
}

static void *kq_poller_main(void *p)
{
    struct kq *kq = p;
    unsigned tick = 0;
    uint64_t checked_us = 0;

    while (!atomic_load(&kq->stop)) {
        uint64_t now = mf_mono_us();
        if (now - checked_us >= 100000u) {
            checked_us = now;
            kq_stall_check(kq, now);
        }
        /* in_poll is raised before external is read (both seq_cst): kq_serve_on raises
         * external, then waits for in_poll to fall, so no report is served here after
         * mq_serve_on returns (Dekker: one of the two sees the other's store). */
        atomic_store(&kq->in_poll, 1);
        if (!atomic_load(&kq->external)) {
            rd_kafka_poll(kq->rk, 100);
            atomic_store(&kq->in_poll, 0);
            continue;
        }
        atomic_store(&kq->in_poll, 0);
        /* Reports served by the caller: only a safety wake every 100 ms, in case an edge
         * of the queue event was missed (e.g. reports waiting when mq_serve_on ran). */
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        if (++tick % 10 == 0)
            kq_call_wake(kq);
    }
    return NULL;
}

static int kq_serve_on(struct mq *q, mq_wake_fn wake, void *opaque)
{
    struct kq *kq = kq_of(q);

    if (wake == NULL) {
        /* First stop the queue event (no kq_qev_cb runs after this returns), then the tick. */
        rd_kafka_queue_cb_event_enable(kq->mainq, NULL, NULL);
        atomic_store(&kq->external, 0);
    }
    pthread_mutex_lock(&kq->wake_mu);
    kq->wake = wake;
    kq->wake_opaque = opaque;
    pthread_mutex_unlock(&kq->wake_mu);
    if (wake != NULL) {
        atomic_store(&kq->external, 1);
        /* The poller may be inside rd_kafka_poll (up to 100 ms): wait until it is out, so
         * every report from now on is served by the caller only. */
        struct timespec ts = { 0, 1000 * 1000 };
        while (atomic_load(&kq->in_poll) && !atomic_load(&kq->stop))
            nanosleep(&ts, NULL);
        rd_kafka_queue_cb_event_enable(kq->mainq, kq_qev_cb, kq);
        kq_call_wake(kq); /* reports may already wait: the event fires on empty -> non-empty */
    }
    return 0;
}

static void kq_serve(struct mq *q)
{
    rd_kafka_poll(kq_of(q)->rk, 0);
}

/* The librdkafka opaque for (done, opaque): see KQ_DR_TAG. Producer's thread. */
static void *kq_dr_of(struct kq *kq, mq_done_fn done, void *opaque)
{
    mq_done_fn common = atomic_load_explicit(&kq->common_done, memory_order_relaxed);

    if (done == NULL)
        return NULL;
    if (common == NULL && atomic_compare_exchange_strong(&kq->common_done, &common, done))
        common = done;
    if (done == common && opaque != NULL && ((uintptr_t)opaque & KQ_DR_TAG) == 0)
        return opaque;
    struct kq_dr *dr = mf_malloc(sizeof(*dr));
    dr->done = done;
    dr->opaque = opaque;
    return (void *)((uintptr_t)dr | KQ_DR_TAG);
}

/* The message's timestamp (CreateTime, ms since the epoch) from the coarse realtime clock
 * (one kernel tick, a few ms at most, and no TSC read): given none, librdkafka reads
 * gettimeofday for every message (~1.6 % of the front's CPU at full load). The exact
 * reception time travels in the envelope; a 0.9 broker does not even store this one. */
static int64_t kq_msg_ts_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int kq_produce(struct mq *q, enum mq_topic topic, const void *key, size_t key_len,
                      const void *val, size_t val_len, mq_done_fn done, void *opaque)
{
    struct kq *kq = kq_of(q);
    void *priv = kq_dr_of(kq, done, opaque);
    rd_kafka_resp_err_t err;

    if (done)
        atomic_fetch_add(&kq->in_flight, 1);
    /* RD_KAFKA_MSG_F_COPY: key and value are borrowed from the caller. */
    err = rd_kafka_producev(kq->rk, RD_KAFKA_V_RKT(kq->rkt[topic]),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(key, key_len),
                            RD_KAFKA_V_VALUE((void *)(uintptr_t)val, val_len),
                            RD_KAFKA_V_TIMESTAMP(kq_msg_ts_ms()), RD_KAFKA_V_OPAQUE(priv),
                            RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Not accepted: done() is never called for it. */
        if (done) {
            atomic_fetch_sub(&kq->in_flight, 1);
            if ((uintptr_t)priv & KQ_DR_TAG)
                free((void *)((uintptr_t)priv & ~KQ_DR_TAG));
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            atomic_fetch_add(&kq->full, 1);
        return mq_kafka_status(err);
    }
    atomic_fetch_add(&kq->produced, 1);
    return 0;
}

static enum mq_topic kq_topic_of(const struct kq *kq, const char *name)
{
    for (int t = 0; t < MQ_NTOPICS; t++)
        if (strcmp(kq->names[t], name) == 0)
            return (enum mq_topic)t;
    return MQ_NTOPICS;
}

/* Commit c->pending synchronously; on success it is emptied. Consumer thread. */
static int kc_commit_pending(struct kc *c)
{
    rd_kafka_resp_err_t err;

    if (c->pending->cnt == 0)
        return 0;
    err = rd_kafka_commit(c->rk, c->pending, 0);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
        rd_kafka_topic_partition_list_destroy(c->pending);
        c->pending = rd_kafka_topic_partition_list_new(8);
        return 0;
    }
    mf_warn("kafka", "offset commit failed (kept for the next commit): %s",
            rd_kafka_err2str(err));
    return mq_kafka_status(err) == MF_ERETRY ? MF_ERETRY : MF_EFATAL;
}

/* Rebalance: commit what is durable before giving partitions up; track the assignment. */
static void kc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kc *c = opaque;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(c->assigned);
        c->assigned = rd_kafka_topic_partition_list_copy(parts);
        atomic_store(&c->nassigned, parts->cnt);
        mf_info("kafka", "assigned %d partitions", parts->cnt);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        (void)kc_commit_pending(c); /* a failure leaves duplicates, never a loss */
    else
        mf_warn("kafka", "rebalance error: %s", rd_kafka_err2str(err));
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(c->assigned);
    c->assigned = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_destroy(c->pending);
    c->pending = rd_kafka_topic_partition_list_new(8);
    atomic_store(&c->nassigned, 0);
}

static struct mq_consumer *kq_consumer_open(struct mq *q, const enum mq_topic *topics,
                                            size_t ntopics, const char *group, char *errbuf,
                                            size_t errlen)
{
    struct kq *kq = kq_of(q);
    struct kc *c = mf_calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf;
    rd_kafka_topic_partition_list_t *subs;
    int downlink_only = ntopics == 1 && topics[0] == MQ_DOWNLINK;
    char err[256];

    c->base.q = q;
    atomic_init(&c->lag, -1);
    c->assigned = rd_kafka_topic_partition_list_new(1);
    c->pending = rd_kafka_topic_partition_list_new(8);
    conf = rd_kafka_conf_new();
    /* A new downlink group starts at the end (a new front must not replay old commands);
     * everything else at the start (no frame produced before the first worker is lost).
     * Set first so [kafka] auto.offset.reset can still override it. */
    if (kq_conf_set(conf, "auto.offset.reset", downlink_only ? "latest" : "earliest", errbuf,
                    errlen) != 0)
        goto fail_conf;
    for (size_t i = 0; i < MF_ARRAY_LEN(kq_cons_defaults); i++)
        if (kq_conf_set(conf, kq_cons_defaults[i][0], kq_cons_defaults[i][1], errbuf,
                        errlen) != 0)
            goto fail_conf;
    for (size_t i = 0; i < kq->npairs; i++)
        if (kq_conf_set(conf, kq->keys[i], kq->vals[i], errbuf, errlen) != 0)
            goto fail_conf;
    if (kq_conf_set(conf, "group.id", group, errbuf, errlen) != 0)
        goto fail_conf;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, kc_rebalance_cb);
    rd_kafka_conf_set_log_cb(conf, kq_log_cb);
    rd_kafka_conf_set_error_cb(conf, kq_error_cb);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (c->rk == NULL) {
        snprintf(errbuf, errlen, "kafka consumer: %s", err);
        goto fail_conf;
    }
    rd_kafka_poll_set_consumer(c->rk);
    subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, kq->names[topics[i]], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rerr = rd_kafka_subscribe(c->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errbuf, errlen, "kafka subscribe: %s", rd_kafka_err2str(rerr));
        rd_kafka_destroy(c->rk);
        goto fail;
    }
    pthread_mutex_lock(&kq->lock);
    c->next = kq->consumers;
    kq->consumers = c;
    pthread_mutex_unlock(&kq->lock);
    return &c->base;
fail_conf:
    rd_kafka_conf_destroy(conf);
fail:
    rd_kafka_topic_partition_list_destroy(c->assigned);
    rd_kafka_topic_partition_list_destroy(c->pending);
    free(c);
    return NULL;
}

/* Collect up to max messages: wait up to timeout_ms for the first, then take what is
 * already fetched. Consumer thread. Returns 0, MF_ERETRY (error event and nothing to
 * return) or MF_EFATAL. */
static int kc_collect(struct kc *c, rd_kafka_message_t **out, size_t max, int timeout_ms,
                      size_t *n)
{
    uint64_t end = mf_mono_us() + (uint64_t)timeout_ms * 1000u;
    int last_err = 0;

    *n = 0;
    while (*n < max) {
        int wait = 0;
        if (*n == 0) {
            uint64_t now = mf_mono_us();
            wait = now >= end ? 0 : (int)((end - now + 999) / 1000);
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, wait);
        if (rkm == NULL) {
            if (*n > 0 || wait == 0)
                break;
            continue;
        }
        if (rkm->err) {
            last_err = mq_kafka_status(rkm->err);
            if (rkm->err == RD_KAFKA_RESP_ERR__FATAL)
                c->fatal = 1;
            mf_warn("kafka", "consumer: %s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            if (c->fatal)
                break;
            continue;
        }
        out[(*n)++] = rkm;
    }
    if (c->fatal)
        return MF_EFATAL;
    return (*n == 0 && last_err == MF_ERETRY) ? MF_ERETRY : 0;
}

/* Consumer lag from librdkafka's cached high watermarks (no request is sent) and the
 * application positions; recomputed at most once a second. Consumer thread. */
static void kc_lag_update(struct kc *c)
{
    rd_kafka_topic_partition_list_t *pos;
    long long lag = 0;
    uint64_t now = mf_mono_us();

    if (now - c->lag_at_us < 1000000u)
        return;
    c->lag_at_us = now;
    pos = rd_kafka_topic_partition_list_copy(c->assigned);
    if (rd_kafka_position(c->rk, pos) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(pos);
        atomic_store(&c->lag, -1);
        return;
    }
    for (int i = 0; i < pos->cnt; i++) {
        int64_t lo, hi;
        rd_kafka_topic_partition_t *p = &pos->elems[i];
        if (rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) != 0 ||
            hi < 0)
            continue; /* nothing fetched yet: unknown, counts as 0 */
        if (p->offset >= 0 && hi > p->offset)
            lag += hi - p->offset;
        else if (p->offset < 0 && hi > lo)
            lag += hi - lo; /* nothing consumed yet from this partition */
    }
    rd_kafka_topic_partition_list_destroy(pos);
    atomic_store(&c->lag, lag);
}

static int kq_poll(struct mq_consumer *base, struct mq_batch *batch, size_t max_msgs,
                   int timeout_ms)
{
    struct kc *c = (struct kc *)base;
    struct kq *kq = kq_of(base->q);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    rd_kafka_message_t **rkm = mf_calloc(max_msgs, sizeof(*rkm));
    struct kc_batch *kb;
    size_t n;
    int rc;

    if (c->fatal) {
        free(rkm);
        return MF_EFATAL;
    }
    rc = kc_collect(c, rkm, max_msgs, timeout_ms, &n);
    kc_lag_update(c);
    if (n == 0) {
        free(rkm);
        return rc;
    }
    kb = mf_calloc(1, sizeof(*kb));
    kb->c = c;
    kb->epoch = c->release_epoch;
    kb->n = n;
    kb->rkm = rkm;
    kb->msgs = mf_calloc(n, sizeof(*kb->msgs));
    for (size_t i = 0; i < n; i++) {
        struct mq_msg *m = &kb->msgs[i];
        rd_kafka_timestamp_type_t tst;
        int64_t ts = rd_kafka_message_timestamp(rkm[i], &tst);
        m->topic = kq_topic_of(kq, rd_kafka_topic_name(rkm[i]->rkt));
        m->partition = rkm[i]->partition;
        m->offset = rkm[i]->offset;
        m->key = rkm[i]->key;
        m->key_len = rkm[i]->key_len;
        m->val = rkm[i]->payload;
        m->val_len = rkm[i]->len;
        /* 0.9 message format has no timestamp: 0 then */
        m->produced_at_us = ts > 0 ? (uint64_t)ts * 1000u : 0;
    }
    kb->next = c->batches;
    if (c->batches)
        c->batches->prev = kb;
    c->batches = kb;
    batch->msgs = kb->msgs;
    batch->n = n;
    batch->priv = kb;
    atomic_fetch_add(&kq->consumed, n);
    return 0;
}

static void kc_batch_free(struct kc *c, struct kc_batch *kb, int free_msgs)
{
    if (kb->prev)
        kb->prev->next = kb->next;
    else
        c->batches = kb->next;
    if (kb->next)
        kb->next->prev = kb->prev;
    for (size_t i = 0; i < kb->n; i++)
        rd_kafka_message_destroy(kb->rkm[i]);
    free(kb->rkm);
    if (free_msgs)
        free(kb->msgs);
    free(kb);
}

static int kc_is_assigned(const struct kc *c, const char *topic, int32_t part)
{
    return rd_kafka_topic_partition_list_find(c->assigned, topic, part) != NULL;
}

static int kq_commit(struct mq *q, struct mq_batch *batch)
{
    struct kq *kq = kq_of(q);
    struct kc_batch *kb = batch->priv;
    struct kc *c = kb->c;
    int rc;

    /* Offsets of partitions revoked since the poll are not committed: the new owner will
     * deliver those messages again (a duplicate, never a loss). Nor are the offsets of a
     * batch polled before a release: committing them would move the group past messages
     * the release sent back and that are not stored yet -- a crash before they come again
     * would lose them. Skipping costs only duplicates. */
    for (size_t i = 0; i < kb->n && kb->epoch == c->release_epoch; i++) {
        rd_kafka_message_t *m = kb->rkm[i];
        const char *tn = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *p;
        if (!kc_is_assigned(c, tn, m->partition))
            continue;
        p = rd_kafka_topic_partition_list_find(c->pending, tn, m->partition);
        if (p == NULL)
            p = rd_kafka_topic_partition_list_add(c->pending, tn, m->partition);
        if (p->offset < m->offset + 1)
            p->offset = m->offset + 1;
    }
    rc = kc_commit_pending(c);
    if (rc == 0)
        atomic_fetch_add(&kq->committed, kb->n);
    kc_batch_free(c, kb, 1);
    memset(batch, 0, sizeof(*batch));
    return rc;
}

static void kq_release(struct mq *q, struct mq_batch *batch)
{
    (void)q;
    struct kc_batch *kb = batch->priv;
    struct kc *c = kb->c;
    rd_kafka_topic_partition_list_t *seek;

    c->release_epoch++; /* outstanding older batches must not commit past this batch */
    seek = rd_kafka_topic_partition_list_new((int)kb->n);
    for (size_t i = 0; i < kb->n; i++) {
        rd_kafka_message_t *m = kb->rkm[i];
        const char *tn = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *p;
        if (!kc_is_assigned(c, tn, m->partition))
            continue;
        p = rd_kafka_topic_partition_list_find(seek, tn, m->partition);
        if (p == NULL) {
            p = rd_kafka_topic_partition_list_add(seek, tn, m->partition);
            p->offset = m->offset;
        } else if (m->offset < p->offset) {
            p->offset = m->offset;
        }
    }
    /* A failed earlier commit of a later batch must not be retried past the messages sent
     * back now: drop pending offsets of the sought partitions (duplicates, never a loss). */
    for (int i = 0; i < seek->cnt; i++)
        rd_kafka_topic_partition_list_del(c->pending, seek->elems[i].topic,
                                          seek->elems[i].partition);
    if (seek->cnt > 0) {
        rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, seek, 5000);
        if (error) {
            /* The batch comes back after the next restart/rebalance at the latest. */
            mf_warn("kafka", "seek back failed: %s", rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
    kc_batch_free(c, kb, 1);
    memset(batch, 0, sizeof(*batch));
}

/* Leave the group (the revoke callback commits what is pending), drop outstanding batches,
 * destroy. Consumer thread (or the closing thread once consumers stopped). */
static void kc_destroy(struct kc *c)
{
    rd_kafka_consumer_close(c->rk);
    while (c->batches) {
        struct kc_batch *kb = c->batches;
        /* The head has no predecessor (kq_poll links new batches at the head), so
         * kc_batch_free sets c->batches = kb->next before freeing kb. Said for the analyser,
         * which otherwise follows the impossible kb->prev != NULL branch to a use after free. */
        assert(kb->prev == NULL);
        kc_batch_free(c, kb, 1); /* orphaned: callers must not use them any more */
    }
    rd_kafka_destroy(c->rk);
    rd_kafka_topic_partition_list_destroy(c->assigned);
    rd_kafka_topic_partition_list_destroy(c->pending);
    free(c);
}

static void kq_consumer_close(struct mq_consumer *base)
{
    struct kq *kq = kq_of(base->q);
    struct kc *c = (struct kc *)base;

    pthread_mutex_lock(&kq->lock);
    for (struct kc **pp = &kq->consumers; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&kq->lock);
    kc_destroy(c);
}

static int kq_assigned(struct mq_consumer *base)
{
    return atomic_load(&((struct kc *)base)->nassigned);
}

static void kq_stats(struct mq *q, struct mq_stats *out)
{
    struct kq *kq = kq_of(q);

    out->produced = atomic_load(&kq->produced);
    out->delivered = atomic_load(&kq->delivered);
    out->failed = atomic_load(&kq->failed);
    out->full_rejections = atomic_load(&kq->full);
    out->consumed = atomic_load(&kq->consumed);
    out->committed = atomic_load(&kq->committed);
    out->in_flight = atomic_load(&kq->in_flight);
    out->lag = -1;
    pthread_mutex_lock(&kq->lock);
    for (struct kc *c = kq->consumers; c; c = c->next) {
        long long l = atomic_load(&c->lag);
        if (l >= 0)
            out->lag = (out->lag < 0 ? 0 : out->lag) + l;
    }
    pthread_mutex_unlock(&kq->lock);
}

static void kq_free(struct kq *kq)
{
    if (kq->mainq)
        rd_kafka_queue_destroy(kq->mainq);
    for (int t = 0; t < MQ_NTOPICS; t++)
        if (kq->rkt[t])
            rd_kafka_topic_destroy(kq->rkt[t]);
    if (kq->rk)
        rd_kafka_destroy(kq->rk);
    for (size_t i = 0; i < kq->npairs; i++) {
        free(kq->keys[i]);
        free(kq->vals[i]);
    }
    free(kq->keys);
    free(kq->vals);
    pthread_mutex_destroy(&kq->lock);
    pthread_mutex_destroy(&kq->wake_mu);
    mq_base_fini(&kq->base);
    free(kq);
}

static void kq_close(struct mq *q)
{
    struct kq *kq = kq_of(q);
    rd_kafka_resp_err_t err;

    while (kq->consumers) {
        struct kc *c = kq->consumers;
        kq->consumers = c->next;
        kc_destroy(c);
    }
    kq_serve_on(q, NULL, NULL); /* the rest is served here, by flush */
    atomic_store(&kq->stop, 1);
    pthread_join(kq->poller, NULL);
    /* Wait for outstanding deliveries (reports are served by flush on this thread), then
     * fail what is left: its done() says MF_EFATAL, never 0. */
    err = rd_kafka_flush(kq->rk, kq->close_flush_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        mf_warn("kafka", "close: %d messages not delivered within %d ms",
                rd_kafka_outq_len(kq->rk), kq->close_flush_ms);
        rd_kafka_purge(kq->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(kq->rk, 0);
        /* purged reports arrive without the network; bounded all the same */
        uint64_t end = mf_mono_us() + 5000000u;
        while (atomic_load(&kq->in_flight) > 0 && mf_mono_us() < end)
            rd_kafka_poll(kq->rk, 10);
    }
    kq_free(kq);
}

static const struct mq_ops kq_ops = {
    .name = "kafka",
    .produce = kq_produce,
    .serve_on = kq_serve_on,
    .serve = kq_serve,
    .consumer_open = kq_consumer_open,
    .poll = kq_poll,
    .commit = kq_commit,
    .release = kq_release,
    .consumer_close = kq_consumer_close,
    .assigned = kq_assigned,
    .stats = kq_stats,
    .close = kq_close,
};

static int kq_open_producer(struct kq *kq, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *conf;
    char err[256];

    conf = kq_conf_new(kq, kq_prod_defaults, MF_ARRAY_LEN(kq_prod_defaults), errbuf, errlen);
    if (conf == NULL)
        return MF_EINVAL;
    rd_kafka_conf_set_opaque(conf, kq);
    rd_kafka_conf_set_dr_msg_cb(conf, kq_dr_cb);
    rd_kafka_conf_set_log_cb(conf, kq_log_cb);
    rd_kafka_conf_set_error_cb(conf, kq_error_cb);
    kq->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (kq->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        snprintf(errbuf, errlen, "kafka producer: %s", err);
        return MF_EINVAL;
    }
    for (int t = 0; t < MQ_NTOPICS; t++) {
        kq->rkt[t] = rd_kafka_topic_new(kq->rk, kq->names[t], NULL);
        if (kq->rkt[t] == NULL) {
            snprintf(errbuf, errlen, "kafka topic %s: %s", kq->names[t],
                     rd_kafka_err2str(rd_kafka_last_error()));
            return MF_EINVAL;
        }
    }
    kq->mainq = rd_kafka_queue_get_main(kq->rk);
    return 0;
}

struct mq *mq_kafka_open(const struct mf_config *cfg, char *errbuf, size_t errlen)
{
    struct kq *kq = mf_calloc(1, sizeof(*kq));
    const char *const *keys, *const *vals;
    int have_bootstrap = 0;

    if (mq_base_init(&kq->base, &kq_ops, cfg, errbuf, errlen) != 0) {
        free(kq);
        return NULL;
    }
    pthread_mutex_init(&kq->lock, NULL);
    pthread_mutex_init(&kq->wake_mu, NULL);
    kq->close_flush_ms = (int)mf_config_int(cfg, "queue", "close_flush_ms");
    kq->stall_warn_us = (uint64_t)mf_config_int(cfg, "queue", "kafka_stall_warn_ms") * 1000u;
    kq->stall_since_us = mf_mono_us(); /* before the poller reads it */
    kq->npairs = mf_config_pairs(cfg, "kafka", &keys, &vals);
    kq->keys = mf_calloc(kq->npairs + 1, sizeof(char *));
    kq->vals = mf_calloc(kq->npairs + 1, sizeof(char *));
    for (size_t i = 0; i < kq->npairs; i++) {
        kq->keys[i] = mf_strdup(keys[i]);
        kq->vals[i] = mf_strdup(vals[i]);
        have_bootstrap |= strcmp(keys[i], "bootstrap.servers") == 0 ||
                          strcmp(keys[i], "metadata.broker.list") == 0 ||
                          strcmp(keys[i], "test.mock.num.brokers") == 0;
    }
    if (!have_bootstrap) {
        snprintf(errbuf, errlen, "[kafka] bootstrap.servers: required with [queue] backend = "
                                 "kafka");
        goto fail;
    }
    for (int t = 0; t < MQ_NTOPICS; t++) {
        if (mq_topic_full_name(&kq->base, (enum mq_topic)t, kq->names[t],
                               sizeof(kq->names[t])) != 0) {
            snprintf(errbuf, errlen, "[queue] topic_prefix: too long");
            goto fail;
        }
    }
    if (kq_open_producer(kq, errbuf, errlen) != 0)
        goto fail;
    if (pthread_create(&kq->poller, NULL, kq_poller_main, kq) != 0) {
        snprintf(errbuf, errlen, "kafka: cannot start the delivery-report thread");
        goto fail;
    }
    return &kq->base;
fail:
    kq_free(kq);
    return NULL;
}
