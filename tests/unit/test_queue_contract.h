/* test_queue_contract.h -- the queue contract: one set of cases run against every backend.
 *
 * Included by tests/unit/test_queue.c (embedded backend) and tests/integ/test_kafka.c (the
 * Kafka backend against a real broker). A backend is described by struct qc_backend: how to
 * open a fresh handle whose topics nobody else uses, and the two places where the backends
 * legitimately differ (queue.h): when done(0) fires (embedded: at the consumer's commit;
 * kafka: at the broker's delivery report) and what a release does (embedded: done(ERETRY),
 * no redelivery; kafka: the batch is delivered again).
 *
 * Every wait is for a condition with a deadline (qc_wait), never a sleep-and-hope.
 * Thread: the cases run on the test's main thread; callbacks arrive on queue threads, so
 * every record they touch is atomic. */
#ifndef MF_TEST_QUEUE_CONTRACT_H
#define MF_TEST_QUEUE_CONTRACT_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"

/* The configuration every queue test builds: the [queue] table, [kafka] passed through. */
static const struct mf_cfg_item *const qc_tables[] = { queue_cfg, NULL };
static const char *const qc_pass[] = { "kafka", NULL };

/* Set one key or fail the test, naming it. */
static inline void qc_set(struct mf_config *cfg, const char *sec, const char *key,
                          const char *val)
{
    char err[256];
    if (mf_config_set(cfg, sec, key, val, "test", err, sizeof(err)) != 0)
        mf_test_fail(__FILE__, __LINE__, "config %s.%s: %s", sec, key, err);
}

/* The Kafka backend without bootstrap.servers is refused, naming the key. Leaves cfg with
 * [queue] backend = kafka for the caller's further cases. */
static inline void qc_kafka_needs_bootstrap(struct mf_config *cfg)
{
    char err[512] = "";
    qc_set(cfg, "queue", "backend", "kafka");
    CHECK(mq_open(cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "bootstrap.servers") != NULL);
}

struct qc_backend {
    const char *name;
    int done_at_commit;    /* 1: done(0) only after mq_commit (embedded) */
    int release_redelivers; /* 1: a released batch comes again (kafka) */
    int wait_ms;           /* deadline for conditions (kafka needs seconds) */
    /* A fresh handle with private topics. capacity: local bound in messages (0: default). */
    struct mq *(*open)(const char *tag, size_t capacity);
    /* Optional: wait until a consumer holds its partitions (kafka group join). 1 if ready. */
    int (*ready)(struct mq_consumer *c, int ms);
};

/* One record per produced message: how often and with what its done() was called. */
struct qc_rec {
    atomic_int calls;
    atomic_int status;
};

#define QC_MAX 4096
static struct qc_rec qc_recs[QC_MAX];

static void qc_reset(void)
{
    for (size_t i = 0; i < QC_MAX; i++) {
        atomic_store(&qc_recs[i].calls, 0);
        atomic_store(&qc_recs[i].status, 1);
    }
}

static void qc_done(void *opaque, int status)
{
    struct qc_rec *r = opaque;
    atomic_store(&r->status, status);
    atomic_fetch_add(&r->calls, 1);
}

/* Count records [0, n) whose done was called at least once / with status st. */
static size_t qc_count_calls(size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += atomic_load(&qc_recs[i].calls) > 0;
    return k;
}

static size_t qc_count_status(size_t n, int st)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += atomic_load(&qc_recs[i].calls) > 0 && atomic_load(&qc_recs[i].status) == st;
    return k;
}

static int qc_calls_at_most_once(size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&qc_recs[i].calls) > 1)
            return 0;
    return 1;
}

/* Wait until every record of [0, n) has been called, up to ms. 1 if so. */
static int qc_wait_calls(size_t n, int ms)
{
    uint64_t end = mf_mono_us() + (uint64_t)ms * 1000u;
    struct timespec ts = { 0, 2 * 1000 * 1000 };

    while (qc_count_calls(n) < n) {
        if (mf_mono_us() > end)
            return 0;
        nanosleep(&ts, NULL);
    }
    return 1;
}

/* Messages are "k<key>:<seq>" with key "term-<key>"; val carries the record index. */
static int qc_produce(struct mq *q, enum mq_topic t, int key, int seq, size_t rec)
{
    char k[32], v[64];
    int kl = snprintf(k, sizeof(k), "term-%d", key);
    int vl = snprintf(v, sizeof(v), "k%d:%d:r%zu", key, seq, rec);
    return mq_produce(q, t, k, (size_t)kl, v, (size_t)vl, qc_done, &qc_recs[rec]);
}

static int qc_parse(const struct mq_msg *m, int *key, int *seq, size_t *rec)
{
    char v[64];
    if (m->val_len >= sizeof(v))
        return -1;
    memcpy(v, m->val, m->val_len);
    v[m->val_len] = '\0';
    return sscanf(v, "k%d:%d:r%zu", key, seq, rec) == 3 ? 0 : -1;
}

/* Poll until `want` messages arrived (committing each batch) or the deadline. Marks seen[rec]
 * (counts duplicates). Returns the number of messages received. */
static size_t qc_drain(struct mq_consumer *c, struct mq *q, size_t want, int ms, int *seen,
                       int commit)
{
    uint64_t end = mf_mono_us() + (uint64_t)ms * 1000u;
    size_t got = 0;

    while (got < want && mf_mono_us() < end) {
        struct mq_batch b;
        int rc = mq_consumer_poll(c, &b, 64, 200);
        if (rc != 0 && rc != MF_ERETRY)
            break;
        for (size_t i = 0; i < b.n; i++) {
            int key, seq;
            size_t rec;
            if (qc_parse(&b.msgs[i], &key, &seq, &rec) == 0 && rec < QC_MAX && seen)
                seen[rec]++;
        }
        got += b.n;
        if (commit)
            CHECK_EQ_INT(mq_commit(q, &b), 0);
        else
            mq_batch_release(q, &b);
    }
    return got;
}

static struct mq_consumer *qc_consumer(struct mq *q, enum mq_topic t, const char *group)
{
    char err[256] = "";
    struct mq_consumer *c = mq_consumer_open(q, &t, 1, group, err, sizeof(err));
    if (c == NULL)
        mf_test_fail(__FILE__, __LINE__, "consumer_open: %s", err);
    return c;
}

/* produce -> done(0) only when durable; the consumer gets the exact bytes. */
static void qc_case_done_after_durable(const struct qc_backend *be)
{
    enum { N = 20 };
    struct mq *q = be->open("durable", 0);
    struct mq_consumer *c;
    struct mq_batch b;
    size_t got = 0;
    uint64_t end;

    CHECK(q != NULL);
    if (!q)
        return;
    qc_reset();
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, i % 3, i, (size_t)i), 0);
    c = qc_consumer(q, MQ_UPLINK, "workers");
    end = mf_mono_us() + (uint64_t)be->wait_ms * 1000u;
    while (got < N && mf_mono_us() < end) {
        CHECK_EQ_INT(mq_consumer_poll(c, &b, N, 200), 0);
        for (size_t i = 0; i < b.n; i++) {
            int key, seq;
            size_t rec;
            CHECK_EQ_INT(qc_parse(&b.msgs[i], &key, &seq, &rec), 0);
            CHECK_EQ_INT(b.msgs[i].topic, MQ_UPLINK);
            CHECK_EQ_INT(b.msgs[i].key_len, 6);
            CHECK(memcmp(b.msgs[i].key, "term-", 5) == 0 && b.msgs[i].key[5] == '0' + key);
            CHECK_EQ_INT((int)rec, seq);
        }
        got += b.n;
        /* Embedded: not one done() before the consumer's commit. */
        if (be->done_at_commit)
            CHECK_EQ_INT(qc_count_calls(N), 0);
        CHECK_EQ_INT(mq_commit(q, &b), 0);
    }
    CHECK_EQ_INT(got, N);
    CHECK(qc_wait_calls(N, be->wait_ms));
    CHECK_EQ_INT(qc_count_status(N, 0), N);
    CHECK(qc_calls_at_most_once(N));
    mq_consumer_close(c);
    mq_close(q);
}

/* Batches respect max_msgs; committed messages are not delivered again to the group. */
static void qc_case_batches_commit(const struct qc_backend *be)
{
    enum { N = 50 };
    static int seen[QC_MAX];
    struct mq *q = be->open("batches", 0);
    struct mq_consumer *c;
    uint64_t end;
    size_t got = 0;

    CHECK(q != NULL);
    if (!q)
        return;
    qc_reset();
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, i % 5, i, (size_t)i), 0);
    c = qc_consumer(q, MQ_UPLINK, "workers");
    end = mf_mono_us() + (uint64_t)be->wait_ms * 1000u;
    while (got < N && mf_mono_us() < end) {
        struct mq_batch b;
        CHECK_EQ_INT(mq_consumer_poll(c, &b, 7, 200), 0);
        CHECK(b.n <= 7);
        for (size_t i = 0; i < b.n; i++) {
            int key, seq;
            size_t rec;
            if (qc_parse(&b.msgs[i], &key, &seq, &rec) == 0 && rec < N)
                seen[rec]++;
        }
        got += b.n;
        CHECK_EQ_INT(mq_commit(q, &b), 0);
    }
    CHECK_EQ_INT(got, N);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(seen[i], 1);
    /* A new consumer of the same group continues after the committed position. */
    mq_consumer_close(c);
    c = qc_consumer(q, MQ_UPLINK, "workers");
    CHECK_EQ_INT(qc_drain(c, q, 1, be->done_at_commit ? 300 : 3000, NULL, 1), 0);
    CHECK(qc_wait_calls(N, be->wait_ms));
    mq_consumer_close(c);
    mq_close(q);
}

/* Release: embedded tells the producer MF_ERETRY and does not redeliver; kafka delivers the
 * batch again. Either way the producer is never told 0 for a released-only message. */
static void qc_case_release(const struct qc_backend *be)
{
    enum { N = 5 };
    static int seen[QC_MAX];
    struct mq *q = be->open("release", 0);
    struct mq_consumer *c;
    size_t got;

    CHECK(q != NULL);
    if (!q)
        return;
    qc_reset();
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 1, i, (size_t)i), 0);
    c = qc_consumer(q, MQ_UPLINK, "workers");
    got = qc_drain(c, q, N, be->wait_ms, seen, 0); /* released, not committed */
    CHECK_EQ_INT(got, N);
    if (be->release_redelivers) {
        memset(seen, 0, sizeof(seen));
        CHECK_EQ_INT(qc_drain(c, q, N, be->wait_ms, seen, 1), N);
        for (int i = 0; i < N; i++)
            CHECK_EQ_INT(seen[i], 1);
    } else {
        CHECK(qc_wait_calls(N, be->wait_ms));
        CHECK_EQ_INT(qc_count_status(N, MF_ERETRY), N);
        CHECK_EQ_INT(qc_drain(c, q, 1, 300, NULL, 1), 0);
    }
    CHECK(qc_calls_at_most_once(N));
    mq_consumer_close(c);
    mq_close(q);
}

/* Messages of one key arrive in the order produced, whatever the interleaving of keys. */
static void qc_case_key_order(const struct qc_backend *be)
{
    enum { KEYS = 10, PER = 30, N = KEYS * PER };
    int last[KEYS];
    struct mq *q = be->open("order", 0);
    struct mq_consumer *c;
    uint64_t end;
    size_t got = 0;

    CHECK(q != NULL);
    if (!q)
        return;
    qc_reset();
    for (int k = 0; k < KEYS; k++)
        last[k] = -1;
    for (int s = 0; s < PER; s++)
        for (int k = 0; k < KEYS; k++)
            CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, k, s, (size_t)(s * KEYS + k)), 0);
    c = qc_consumer(q, MQ_UPLINK, "workers");
    end = mf_mono_us() + (uint64_t)be->wait_ms * 1000u;
    while (got < N && mf_mono_us() < end) {
        struct mq_batch b;
        CHECK_EQ_INT(mq_consumer_poll(c, &b, 13, 200), 0);
        for (size_t i = 0; i < b.n; i++) {
            int key, seq;
            size_t rec;
            CHECK_EQ_INT(qc_parse(&b.msgs[i], &key, &seq, &rec), 0);
            if (key < 0 || key >= KEYS)
                continue;
            CHECK_EQ_INT(seq, last[key] + 1);
            last[key] = seq;
        }
        got += b.n;
        CHECK_EQ_INT(mq_commit(q, &b), 0);
    }
    CHECK_EQ_INT(got, N);
    for (int k = 0; k < KEYS; k++)
        CHECK_EQ_INT(last[k], PER - 1);
    mq_consumer_close(c);
    mq_close(q);
}

/* A full local queue says MF_EFULL (a retry status), never calls done for the refused
 * message, and accepts again once the queue drains. */
static void qc_case_backpressure(const struct qc_backend *be)
{
    enum { CAP = 10 };
    struct mq *q = be->open("full", CAP);
    struct mq_consumer *c;
    size_t accepted = 0;
    int rc = 0;

    CHECK(q != NULL);
    if (!q)
        return;
    qc_reset();
    c = qc_consumer(q, MQ_UPLINK, "workers");
    /* Far more than the bound, as fast as possible: the bound must show. */
    while (accepted < QC_MAX - 1) {
        rc = qc_produce(q, MQ_UPLINK, (int)(accepted % 4), (int)accepted, accepted);
        if (rc != 0)
            break;
        accepted++;
    }
    CHECK_EQ_INT(rc, MF_EFULL);
    CHECK(mf_status_is_retry(rc));
    CHECK(accepted >= 1 && accepted <= QC_MAX - 1);
    if (be->done_at_commit)
        CHECK_EQ_INT(accepted, CAP);
    /* Recovery: drain (embedded: consume + commit; kafka: deliveries), then produce again. */
    CHECK_EQ_INT(qc_drain(c, q, accepted, be->wait_ms, NULL, 1), accepted);
    CHECK(qc_wait_calls(accepted, be->wait_ms));
    CHECK_EQ_INT(qc_count_status(accepted, 0), accepted);
    CHECK_EQ_INT(atomic_load(&qc_recs[accepted].calls), 0); /* the refused one: never */
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 0, 0, accepted), 0);
    CHECK_EQ_INT(qc_drain(c, q, 1, be->wait_ms, NULL, 1), 1);
    CHECK(qc_wait_calls(accepted + 1, be->wait_ms));
    CHECK(qc_calls_at_most_once(accepted + 1));
    mq_consumer_close(c);
    mq_close(q);
}

/* Retry-later vs fatal, and argument errors that are neither. */
static void qc_case_status_classes(const struct qc_backend *be)
{
    static uint8_t big[1000001];
    struct mq *q = be->open("status", 0);
    struct mq_batch b;
    char err[128] = "";
    enum mq_topic t = MQ_UPLINK;

    CHECK(q != NULL);
    if (!q)
        return;
    /* over max_message_bytes (default 1000000): refused for good, not "retry" */
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k", 1, big, sizeof(big), qc_done, &qc_recs[0]),
                 MF_ERANGE);
    CHECK(!mf_status_is_retry(MF_ERANGE));
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k", 1, "v", 1, NULL, NULL), MF_EINVAL);
    CHECK_EQ_INT(mq_produce(q, (enum mq_topic)9, "k", 1, "v", 1, qc_done, &qc_recs[0]),
                 MF_EINVAL);
    /* mq_poll on a thread without a subscription is fatal for that call */
    CHECK_EQ_INT(mq_poll(q, &b, 10, 0), MF_EFATAL);
    CHECK_EQ_INT(b.n, 0);
    CHECK(mq_consumer_open(q, &t, 1, "", err, sizeof(err)) == NULL);
    CHECK(err[0] != '\0');
    CHECK(mf_status_is_retry(MF_EFULL) && mf_status_is_retry(MF_ERETRY));
    CHECK(!mf_status_is_retry(MF_EFATAL));
    mq_close(q);
}

/* Close with messages in flight: every accepted message gets exactly one done(); a message
 * the consumer holds uncommitted is never reported durable by the embedded backend. */
static void qc_case_close_in_flight(const struct qc_backend *be)
{
    enum { N = 30 };
    struct mq *q = be->open("close", 0);
    struct mq_consumer *c;
    struct mq_batch b;
    uint64_t end;

    CHECK(q != NULL);
    if (!q)
        return;
    qc_reset();
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, i % 2, i, (size_t)i), 0);
    c = qc_consumer(q, MQ_UPLINK, "workers");
    end = mf_mono_us() + (uint64_t)be->wait_ms * 1000u;
    do {
        CHECK_EQ_INT(mq_consumer_poll(c, &b, 5, 200), 0);
    } while (b.n == 0 && mf_mono_us() < end);
    CHECK(b.n > 0);
    mq_close(q); /* b is outstanding: it must not be used after this */
    CHECK(qc_wait_calls(N, be->wait_ms));
    CHECK(qc_calls_at_most_once(N));
    if (be->done_at_commit)
        CHECK_EQ_INT(qc_count_status(N, MF_EFATAL), N);
    else /* kafka: close flushes; each is either delivered (0) or failed (negative) */
        CHECK_EQ_INT(qc_count_status(N, 0) + qc_count_status(N, MF_EFATAL) +
                         qc_count_status(N, MF_ERETRY),
                     N);
}

/* Distinct groups on the same topic each see every message (downlink fan-out to fronts). */
static void qc_case_fanout(const struct qc_backend *be)
{
    enum { N = 12 };
    static int seen1[QC_MAX], seen2[QC_MAX];
    struct mq *q = be->open("fanout", 0);
    struct mq_consumer *c1, *c2;

    CHECK(q != NULL);
    if (!q)
        return;
    qc_reset();
    memset(seen1, 0, sizeof(seen1));
    memset(seen2, 0, sizeof(seen2));
    /* Fronts join downlink before commands flow (a new downlink group starts at the end). */
    c1 = qc_consumer(q, MQ_DOWNLINK, "front-1");
    c2 = qc_consumer(q, MQ_DOWNLINK, "front-2");
    if (be->ready) {
        CHECK(be->ready(c1, be->wait_ms));
        CHECK(be->ready(c2, be->wait_ms));
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(qc_produce(q, MQ_DOWNLINK, i % 3, i, (size_t)i), 0);
    CHECK_EQ_INT(qc_drain(c1, q, N, be->wait_ms, seen1, 1), N);
    if (be->done_at_commit)
        CHECK_EQ_INT(qc_count_calls(N), 0); /* the second group has not committed yet */
    CHECK_EQ_INT(qc_drain(c2, q, N, be->wait_ms, seen2, 1), N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(seen1[i], 1);
        CHECK_EQ_INT(seen2[i], 1);
    }
    CHECK(qc_wait_calls(N, be->wait_ms));
    CHECK_EQ_INT(qc_count_status(N, 0), N);
    mq_consumer_close(c1);
    mq_consumer_close(c2);
    mq_close(q);
}

struct qc_case {
    const char *name;
    void (*fn)(const struct qc_backend *be);
};

static const struct qc_case qc_cases[] = {
    { "done_after_durable", qc_case_done_after_durable },
    { "batches_commit", qc_case_batches_commit },
    { "release", qc_case_release },
    { "key_order", qc_case_key_order },
    { "backpressure", qc_case_backpressure },
    { "status_classes", qc_case_status_classes },
    { "close_in_flight", qc_case_close_in_flight },
    { "fanout", qc_case_fanout },
};

/* One MF_TEST per case of qc_cases on backend be (a struct qc_backend), named
 * <prefix>_<case>, and <prefix>_table_complete. */
#define QC_TEST_(prefix, be, case_, idx)                                                       \
    MF_TEST(prefix##_##case_) { qc_cases[idx].fn(&(be)); }
#define QC_CONTRACT_TESTS(prefix, be)                                                          \
    QC_TEST_(prefix, be, done_after_durable, 0)                                                \
    QC_TEST_(prefix, be, batches_commit, 1)                                                    \
    QC_TEST_(prefix, be, release, 2)                                                           \
    QC_TEST_(prefix, be, key_order, 3)                                                         \
    QC_TEST_(prefix, be, backpressure, 4)                                                      \
    QC_TEST_(prefix, be, status_classes, 5)                                                    \
    QC_TEST_(prefix, be, close_in_flight, 6)                                                   \
    QC_TEST_(prefix, be, fanout, 7)                                                            \
    MF_TEST(prefix##_table_complete)                                                           \
    {                                                                                          \
        CHECK_EQ_INT(MF_ARRAY_LEN(qc_cases), 8); /* a new case needs a line above */         \
        CHECK_STR(qc_cases[7].name, "fanout");                                                 \
    }

#endif
