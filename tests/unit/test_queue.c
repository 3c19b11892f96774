/* tsan: yes */
/* test_queue.c -- the queue contract (test_queue_contract.h) on the embedded backend, and
 * what only the embedded backend promises: per-thread subscriptions on one shared handle,
 * partitions held by one consumer of a group at a time (order with several threads),
 * first-group adoption, publish without a group, capacity in bytes, stats. */
#include <pthread.h>

#include "harness.h"
#include "meterflow/queue.h"
#include "test_queue_contract.h"

static struct mq *emb_open_with(size_t cap_msgs, const char *max_bytes)
{
    char err[256] = "", num[32];
    struct mf_config *cfg = mf_config_new(qc_tables, qc_pass);
    struct mq *q;

    if (cap_msgs) {
        snprintf(num, sizeof(num), "%zu", cap_msgs);
        CHECK_EQ_INT(mf_config_set(cfg, "queue", "embedded_max_msgs", num, "test", err,
                                   sizeof(err)), 0);
    }
    if (max_bytes)
        CHECK_EQ_INT(mf_config_set(cfg, "queue", "embedded_max_bytes", max_bytes, "test", err,
                                   sizeof(err)), 0);
    q = mq_open(cfg, err, sizeof(err));
    if (q == NULL)
        mf_test_fail(__FILE__, __LINE__, "mq_open: %s", err);
    mf_config_free(cfg); /* the handle keeps nothing from the config */
    return q;
}

static struct mq *emb_open(const char *tag, size_t capacity)
{
    (void)tag;
    return emb_open_with(capacity, NULL);
}

static const struct qc_backend emb_backend = {
    .name = "embedded", .done_at_commit = 1, .release_redelivers = 0, .wait_ms = 5000,
    .open = emb_open,
};

QC_CONTRACT_TESTS(contract, emb_backend)

MF_TEST(topic_names_and_backend)
{
    struct mq *q = emb_open_with(0, NULL);
    CHECK_STR(mq_topic_name(MQ_UPLINK), "uplink");
    CHECK_STR(mq_topic_name(MQ_DOWNLINK), "downlink");
    CHECK_STR(mq_topic_name(MQ_READINGS), "readings");
    CHECK_STR(mq_topic_name(MQ_EVENTS), "events");
    CHECK_STR(mq_topic_name(MQ_SESSIONS), "sessions");
    CHECK_STR(mq_topic_name(MQ_NTOPICS), "unknown");
    CHECK_STR(mq_backend_name(q), "embedded");
    mq_close(q);
    mq_close(NULL);
}

MF_TEST(unknown_backend_is_an_error)
{
    char err[256] = "";
    struct mf_config *cfg = mf_config_new(qc_tables, qc_pass);
    /* the enum refuses it at config time already */
    CHECK(mf_config_set(cfg, "queue", "backend", "rabbit", "test", err, sizeof(err)) != 0);
    mf_config_free(cfg);
}

/* Published (fire-and-forget) messages to a topic without a group are dropped; with a
 * group they are delivered. */
MF_TEST(publish_needs_a_group)
{
    struct mq *q = emb_open_with(0, NULL);
    struct mq_consumer *c;
    struct mq_batch b;
    struct mq_stats st;

    CHECK_EQ_INT(mq_publish(q, MQ_READINGS, "a", 1, "x", 1), 0);
    mq_stats_get(q, &st);
    CHECK_EQ_INT(st.dropped, 1);
    c = qc_consumer(q, MQ_READINGS, "export");
    CHECK_EQ_INT(mq_consumer_poll(c, &b, 10, 0), 0);
    CHECK_EQ_INT(b.n, 0);
    CHECK_EQ_INT(mq_publish(q, MQ_READINGS, "a", 1, "yz", 2), 0);
    CHECK_EQ_INT(mq_consumer_poll(c, &b, 10, 1000), 0);
    CHECK_EQ_INT(b.n, 1);
    CHECK_EQ_INT(b.msgs[0].val_len, 2);
    CHECK(memcmp(b.msgs[0].val, "yz", 2) == 0);
    CHECK_EQ_INT(mq_commit(q, &b), 0);
    mq_stats_get(q, &st);
    CHECK_EQ_INT(st.in_flight, 0);
    CHECK_EQ_INT(st.committed, 1);
    mq_close(q);
}

/* Frames produced before the worker subscribes wait for it; a second group joining later
 * sees only what comes after. */
MF_TEST(first_group_adopts_earlier_messages)
{
    struct mq *q = emb_open_with(0, NULL);
    struct mq_consumer *c1, *c2;
    struct mq_stats st;

    qc_reset();
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 1, 0, 0), 0);
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 2, 0, 1), 0);
    mq_stats_get(q, &st);
    CHECK_EQ_INT(st.lag, 2);
    CHECK_EQ_INT(st.in_flight, 2);
    c1 = qc_consumer(q, MQ_UPLINK, "workers");
    c2 = qc_consumer(q, MQ_UPLINK, "audit");
    CHECK_EQ_INT(qc_drain(c2, q, 1, 0, NULL, 1), 0);
    CHECK_EQ_INT(qc_drain(c1, q, 2, 2000, NULL, 1), 2);
    CHECK_EQ_INT(qc_count_status(2, 0), 2); /* durable for its only group */
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 1, 1, 2), 0);
    CHECK_EQ_INT(qc_drain(c1, q, 1, 2000, NULL, 1), 1);
    CHECK_EQ_INT(atomic_load(&qc_recs[2].calls), 0); /* "audit" has not committed it */
    CHECK_EQ_INT(qc_drain(c2, q, 1, 2000, NULL, 1), 1);
    CHECK_EQ_INT(qc_count_status(3, 0), 3);
    mq_consumer_close(c1);
    mq_consumer_close(c2);
    mq_close(q);
}

/* A group that receives a message but releases it: MF_ERETRY at once, even if another
 * group committed it; exactly one call. */
MF_TEST(release_by_one_group_wins)
{
    struct mq *q = emb_open_with(0, NULL);
    struct mq_consumer *c1 = qc_consumer(q, MQ_DOWNLINK, "front-1");
    struct mq_consumer *c2 = qc_consumer(q, MQ_DOWNLINK, "front-2");

    qc_reset();
    CHECK_EQ_INT(qc_produce(q, MQ_DOWNLINK, 1, 0, 0), 0);
    CHECK_EQ_INT(qc_drain(c1, q, 1, 1000, NULL, 0), 1); /* released */
    CHECK_EQ_INT(atomic_load(&qc_recs[0].calls), 1);
    CHECK_EQ_INT(atomic_load(&qc_recs[0].status), MF_ERETRY);
    CHECK_EQ_INT(qc_drain(c2, q, 1, 1000, NULL, 1), 1); /* committed: no second call */
    CHECK_EQ_INT(atomic_load(&qc_recs[0].calls), 1);
    mq_close(q);
}

/* Closing a consumer with an outstanding batch releases it (MF_ERETRY), and the group's
 * next consumer continues after it. */
MF_TEST(consumer_close_releases)
{
    struct mq *q = emb_open_with(0, NULL);
    struct mq_consumer *c = qc_consumer(q, MQ_UPLINK, "workers");
    struct mq_batch b;

    qc_reset();
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 1, 0, 0), 0);
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 1, 1, 1), 0);
    CHECK_EQ_INT(mq_consumer_poll(c, &b, 1, 1000), 0);
    CHECK_EQ_INT(b.n, 1);
    mq_consumer_close(c);
    CHECK_EQ_INT(atomic_load(&qc_recs[0].status), MF_ERETRY);
    CHECK_EQ_INT(atomic_load(&qc_recs[1].calls), 0);
    c = qc_consumer(q, MQ_UPLINK, "workers");
    CHECK_EQ_INT(qc_drain(c, q, 1, 1000, NULL, 1), 1);
    CHECK_EQ_INT(atomic_load(&qc_recs[1].status), 0);
    mq_close(q);
}

MF_TEST(capacity_in_bytes)
{
    static uint8_t v[600];
    struct mq *q = emb_open_with(0, "1024");
    struct mq_consumer *c = qc_consumer(q, MQ_UPLINK, "workers");
    struct mq_stats st;

    qc_reset();
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k", 1, v, sizeof(v), qc_done, &qc_recs[0]), 0);
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k", 1, v, sizeof(v), qc_done, &qc_recs[1]),
                 MF_EFULL);
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k", 1, v, 400, qc_done, &qc_recs[1]), 0);
    mq_stats_get(q, &st);
    CHECK_EQ_INT(st.full_rejections, 1);
    CHECK_EQ_INT(st.produced, 2);
    CHECK_EQ_INT(qc_drain(c, q, 2, 1000, NULL, 1), 2);
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k", 1, v, sizeof(v), qc_done, &qc_recs[2]), 0);
    mq_close(q);
    CHECK_EQ_INT(atomic_load(&qc_recs[2].status), MF_EFATAL);
}

/* ---- threads ---- */

struct role_arg {
    struct mq *q;
    enum mq_topic topic;
    const char *group;
    size_t want;
    atomic_size_t *got;
    int *last;      /* per key: last seq seen (shared by the group's threads) */
    pthread_mutex_t *last_lock;
    int order_errors;
    int rc;
};

/* A consumer thread through the per-thread API: subscribe, poll, check order, commit. */
static void *role_main(void *p)
{
    struct role_arg *a = p;
    uint64_t end = mf_mono_us() + 10u * 1000 * 1000;

    a->rc = mq_subscribe(a->q, &a->topic, 1, a->group);
    if (a->rc != 0)
        return NULL;
    while (atomic_load(a->got) < a->want && mf_mono_us() < end) {
        struct mq_batch b;
        if (mq_poll(a->q, &b, 16, 50) != 0)
            break;
        pthread_mutex_lock(a->last_lock);
        for (size_t i = 0; i < b.n; i++) {
            int key, seq;
            size_t rec;
            if (qc_parse(&b.msgs[i], &key, &seq, &rec) != 0 || key < 0 || key >= 64 ||
                seq != a->last[key] + 1)
                a->order_errors++;
            else
                a->last[key] = seq;
        }
        pthread_mutex_unlock(a->last_lock);
        atomic_fetch_add(a->got, b.n);
        if (mq_commit(a->q, &b) != 0)
            a->order_errors++;
    }
    mq_unsubscribe(a->q);
    return NULL;
}

struct prod_arg {
    struct mq *q;
    int key0, nkeys, per_key;
    size_t rec0;
    int full_retries;
};

static void *prod_main(void *p)
{
    struct prod_arg *a = p;
    struct timespec ts = { 0, 100 * 1000 };

    for (int s = 0; s < a->per_key; s++) {
        for (int k = 0; k < a->nkeys; k++) {
            size_t rec = a->rec0 + (size_t)(s * a->nkeys + k);
            int rc;
            while ((rc = qc_produce(a->q, MQ_UPLINK, a->key0 + k, s, rec)) == MF_EFULL) {
                a->full_retries++;
                nanosleep(&ts, NULL); /* backpressure: wait for the consumers */
            }
            if (rc != 0)
                return NULL;
        }
    }
    return NULL;
}

/* Two producer threads, three consumer threads of one group through mq_subscribe/mq_poll,
 * and a front thread on downlink sharing the same handle: every message exactly once to
 * the group, per-key order kept across consumers, every done(0). Small capacity so that
 * backpressure happens. */
MF_TEST(threads_share_one_handle)
{
    enum { KEYS = 32, PER = 40, N = KEYS * PER };
    struct mq *q = emb_open_with(50, NULL);
    pthread_t prod[2], cons[3], front;
    struct prod_arg pa[2];
    struct role_arg ra[3], fa;
    atomic_size_t got = 0, front_got = 0;
    int last[64], flast[64];
    pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;

    qc_reset();
    for (int k = 0; k < 64; k++)
        last[k] = flast[k] = -1;
    fa = (struct role_arg){ q, MQ_DOWNLINK, "front-1", 1, &front_got, flast, &last_lock, 0, 0 };
    pthread_create(&front, NULL, role_main, &fa);
    for (int i = 0; i < 3; i++) {
        ra[i] = (struct role_arg){ q, MQ_UPLINK, "workers", N, &got, last, &last_lock, 0, 0 };
        pthread_create(&cons[i], NULL, role_main, &ra[i]);
    }
    for (int i = 0; i < 2; i++) {
        pa[i] = (struct prod_arg){ q, i * KEYS / 2, KEYS / 2, PER, (size_t)(i * N / 2), 0 };
        pthread_create(&prod[i], NULL, prod_main, &pa[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(prod[i], NULL);
    CHECK_EQ_INT(mq_produce(q, MQ_DOWNLINK, "t", 1, "k0:0:r4000", 10, qc_done, &qc_recs[4000]),
                 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(cons[i], NULL);
        CHECK_EQ_INT(ra[i].rc, 0);
        CHECK_EQ_INT(ra[i].order_errors, 0);
    }
    pthread_join(front, NULL);
    CHECK_EQ_INT(fa.rc, 0);
    CHECK_EQ_INT(atomic_load(&front_got), 1);
    CHECK_EQ_INT(atomic_load(&got), N);
    for (int k = 0; k < KEYS; k++)
        CHECK_EQ_INT(last[k], PER - 1);
    CHECK(qc_wait_calls(N, 5000));
    CHECK_EQ_INT(qc_count_status(N, 0), N);
    CHECK(qc_calls_at_most_once(N));
    CHECK_EQ_INT(atomic_load(&qc_recs[4000].status), 0);
    CHECK(pa[0].full_retries + pa[1].full_retries > 0); /* the bound of 50 was felt */
    mq_close(q);
}

/* A consumer blocked in poll wakes up when a message arrives from another thread. */
static void *late_producer(void *p)
{
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    qc_produce(p, MQ_UPLINK, 1, 0, 0);
    return NULL;
}

MF_TEST(poll_wakes_on_produce)
{
    struct mq *q = emb_open_with(0, NULL);
    struct mq_consumer *c = qc_consumer(q, MQ_UPLINK, "workers");
    struct mq_batch b;
    pthread_t t;
    uint64_t end = mf_mono_us() + 5000000;

    qc_reset();
    pthread_create(&t, NULL, late_producer, q);
    do {
        CHECK_EQ_INT(mq_consumer_poll(c, &b, 10, 5000), 0);
    } while (b.n == 0 && mf_mono_us() < end);
    CHECK_EQ_INT(b.n, 1);
    CHECK_EQ_INT(mq_commit(q, &b), 0);
    pthread_join(t, NULL);
    CHECK_EQ_INT(atomic_load(&qc_recs[0].status), 0);
    mq_close(q);
}

/* mq_produce_lazy leaves a sleeping consumer asleep until mq_wake; mq_wake must wake it.
 * The consumer makes ONE poll with a long timeout: if mq_wake did not signal it, the poll
 * would end empty after 20 s and the test fails. (The short sleep only makes it likely that
 * the consumer is asleep when the produce happens, so the owed path is the one taken; the
 * result does not depend on it.) */
struct lazy_arg {
    struct mq_consumer *c;
    struct mq *q;
    size_t got;
    int rc;
};

static void *lazy_consumer(void *p)
{
    struct lazy_arg *a = p;
    struct mq_batch b;
    a->rc = mq_consumer_poll(a->c, &b, 10, 20000);
    a->got = b.n;
    if (b.n > 0)
        mq_commit(a->q, &b);
    return NULL;
}

MF_TEST(lazy_produce_wakes_at_mq_wake)
{
    struct mq *q = emb_open_with(0, NULL);
    struct lazy_arg a = { .c = qc_consumer(q, MQ_UPLINK, "workers"), .q = q };
    struct timespec ts = { 0, 30 * 1000 * 1000 };
    pthread_t t;

    qc_reset();
    pthread_create(&t, NULL, lazy_consumer, &a);
    nanosleep(&ts, NULL);
    CHECK_EQ_INT(mq_produce_lazy(q, MQ_UPLINK, "term-1", 6, "v", 1, qc_done, &qc_recs[0]), 0);
    mq_wake(q);
    pthread_join(t, NULL);
    CHECK_EQ_INT(a.rc, 0);
    CHECK_EQ_INT(a.got, 1);
    CHECK(qc_wait_calls(1, 5000));
    CHECK_EQ_INT(atomic_load(&qc_recs[0].status), 0); /* done(0) only after the commit */
    mq_wake(q);                                        /* nothing owed: a no-op */
    mq_close(q);
}

/* A lazy produce to a consumer that is not asleep is found by its next poll, no wake needed;
 * argument checks are mq_produce's. */
MF_TEST(lazy_produce_without_wake_is_polled)
{
    struct mq *q = emb_open_with(2, NULL);
    struct mq_consumer *c = qc_consumer(q, MQ_UPLINK, "workers");
    struct mq_batch b;

    qc_reset();
    CHECK_EQ_INT(mq_produce_lazy(q, MQ_UPLINK, "k", 1, "a", 1, qc_done, &qc_recs[0]), 0);
    CHECK_EQ_INT(mq_produce_lazy(q, MQ_UPLINK, "k", 1, "b", 1, qc_done, &qc_recs[1]), 0);
    CHECK_EQ_INT(mq_produce_lazy(q, MQ_UPLINK, "k", 1, "c", 1, qc_done, &qc_recs[2]),
                 MF_EFULL); /* capacity 2: backpressure as with mq_produce */
    CHECK_EQ_INT(mq_produce_lazy(q, MQ_UPLINK, "k", 1, "d", 1, NULL, NULL), MF_EINVAL);
    CHECK_EQ_INT(mq_consumer_poll(c, &b, 10, 0), 0);
    CHECK_EQ_INT(b.n, 2);
    CHECK_EQ_INT(atomic_load(&qc_recs[0].calls), 0);
    CHECK_EQ_INT(mq_commit(q, &b), 0);
    CHECK_EQ_INT(qc_count_status(2, 0), 2);
    CHECK_EQ_INT(atomic_load(&qc_recs[2].calls), 0); /* never accepted: never called */
    mq_close(q);
}

/* Two consumers of one group, one partition: while A holds the partition, B's poll finds
 * nothing it may take and sleeps; A's commit frees the partition and must wake B, whose
 * single 20 s poll then returns the message produced meanwhile. */
MF_TEST(commit_wakes_a_group_peer)
{
    char err[256];
    struct mf_config *cfg = mf_config_new(qc_tables, qc_pass);
    CHECK_EQ_INT(mf_config_set(cfg, "queue", "partitions", "1", "test", err, sizeof(err)), 0);
    struct mq *q = mq_open(cfg, err, sizeof(err));
    mf_config_free(cfg);
    struct mq_consumer *ca = qc_consumer(q, MQ_UPLINK, "workers");
    struct lazy_arg b_arg = { .c = qc_consumer(q, MQ_UPLINK, "workers"), .q = q };
    struct timespec ts = { 0, 30 * 1000 * 1000 };
    struct mq_batch b;
    pthread_t t;

    qc_reset();
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 1, 0, 0), 0);
    CHECK_EQ_INT(mq_consumer_poll(ca, &b, 10, 0), 0);
    CHECK_EQ_INT(b.n, 1); /* A holds the only partition */
    CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 2, 0, 1), 0);
    pthread_create(&t, NULL, lazy_consumer, &b_arg);
    nanosleep(&ts, NULL);
    CHECK_EQ_INT(mq_commit(q, &b), 0);
    pthread_join(t, NULL);
    CHECK_EQ_INT(b_arg.rc, 0);
    CHECK_EQ_INT(b_arg.got, 1);
    CHECK(qc_wait_calls(2, 5000));
    CHECK_EQ_INT(qc_count_status(2, 0), 2);
    mq_close(q);
}
