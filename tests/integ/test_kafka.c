/* tsan: no (librdkafka is not instrumented) */
/* test_kafka.c -- the queue contract (tests/unit/test_queue_contract.h) and the Kafka-only
 * cases against a real Apache Kafka 0.9.0.1 broker started by tests/integ/kafka.sh:
 * two consumers sharing a group's partitions, a rebalance under load, a broker restart
 * under load.
 *
 * Environment: MF_KAFKA_BOOTSTRAP (host:port,...), MF_KAFKA_DIR (the scripts/kafka.sh
 * directory, for the restart case), MF_KAFKA_SH (path of scripts/kafka.sh). Without a
 * bootstrap every test fails (never skipped-as-passed).
 * Each case uses its own topic prefix (mfqc.<pid>.<n>.), created by a metadata request to
 * a broker with auto.create.topics.enable=true, so cases never see each other's messages. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/queue.h"
#include "../unit/test_queue_contract.h"
static int case_no;

static const char *bootstrap(void)
{
    const char *b = getenv("MF_KAFKA_BOOTSTRAP");
    if (b == NULL || *b == '\0')
        mf_test_fail(__FILE__, __LINE__, "MF_KAFKA_BOOTSTRAP not set (run tests/integ/kafka.sh)");
    return b;
}

/* Ask the broker for the metadata of each topic until all have a leader: a 0.9 broker
 * auto-creates a topic named in a metadata request. 1 when ready. */
static int topics_create(const char *prefix)
{
    char err[256], name[160];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    int ok = 1;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap(), err, sizeof(err));
    rd_kafka_conf_set(conf, "api.version.request", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "broker.version.fallback", "0.9.0.1", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL)
        return 0;
    for (int t = 0; t < MQ_NTOPICS && ok; t++) {
        uint64_t end = mf_mono_us() + 30000000u;
        rd_kafka_topic_t *rkt;
        int ready = 0;
        snprintf(name, sizeof(name), "%s%s", prefix, mq_topic_name((enum mq_topic)t));
        rkt = rd_kafka_topic_new(rk, name, NULL);
        while (!ready && mf_mono_us() < end) {
            const struct rd_kafka_metadata *md = NULL;
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topic_cnt == 1 && md->topics[0].err == 0 &&
                md->topics[0].partition_cnt > 0) {
                ready = 1;
                for (int p = 0; p < md->topics[0].partition_cnt; p++)
                    ready &= md->topics[0].partitions[p].leader >= 0;
            }
            if (md)
                rd_kafka_metadata_destroy(md);
            if (!ready)
                usleep(200 * 1000);
        }
        rd_kafka_topic_destroy(rkt);
        ok = ready;
    }
    rd_kafka_destroy(rk);
    return ok;
}

/* A Kafka handle on the topics `prefix`*, created first. */
static struct mq *kafka_open_prefix(const char *prefix, size_t capacity)
{
    char err[512] = "", num[32];
    struct mf_config *cfg = mf_config_new(qc_tables, qc_pass);
    struct mq *q;

    if (!topics_create(prefix)) {
        mf_test_fail(__FILE__, __LINE__, "topics %s* not ready", prefix);
        mf_config_free(cfg);
        return NULL;
    }
    qc_set(cfg, "queue", "backend", "kafka");
    qc_set(cfg, "queue", "topic_prefix", prefix);
    qc_set(cfg, "kafka", "bootstrap.servers", bootstrap());
    /* fresh groups on fresh topics: read from the start, so no case races the group join */
    qc_set(cfg, "kafka", "auto.offset.reset", "earliest");
    qc_set(cfg, "kafka", "session.timeout.ms", "6000");
    qc_set(cfg, "kafka", "heartbeat.interval.ms", "500");
    if (capacity) {
        snprintf(num, sizeof(num), "%zu", capacity);
        qc_set(cfg, "kafka", "queue.buffering.max.messages", num);
    }
    q = mq_open(cfg, err, sizeof(err));
    if (q == NULL)
        mf_test_fail(__FILE__, __LINE__, "mq_open: %s", err);
    mf_config_free(cfg);
    return q;
}

/* A Kafka handle on fresh topics. capacity: queue.buffering.max.messages (0: default). */
static struct mq *kafka_open(const char *tag, size_t capacity)
{
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "mfqc.%d.%d.%s.", (int)getpid(), ++case_no, tag);
    return kafka_open_prefix(prefix, capacity);
}

static const struct qc_backend kafka_backend = {
    .name = "kafka", .done_at_commit = 0, .release_redelivers = 1, .wait_ms = 30000,
    .open = kafka_open,
};

QC_CONTRACT_TESTS(kafka_contract, kafka_backend)

MF_TEST(kafka_config_errors_name_the_key)
{
    char err[512] = "";
    struct mf_config *cfg = mf_config_new(qc_tables, qc_pass);

    qc_kafka_needs_bootstrap(cfg);
    qc_set(cfg, "kafka", "bootstrap.servers", bootstrap());
    qc_set(cfg, "kafka", "no.such.property", "1");
    CHECK(mq_open(cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "no.such.property") != NULL);
    mf_config_free(cfg);
}

/* ---- Kafka-only cases: groups, rebalances, broker restarts ---- */

static atomic_int seen_rec[QC_MAX];

struct cons_arg {
    struct mq *q;
    const char *group;
    atomic_int *stop;
    atomic_int *total;    /* messages received by all consumers */
    int last[64];         /* per key: last seq seen by this consumer */
    int order_errors;
    int commit_errors;
    int ready;            /* opened (set before the loop) */
    struct mq_consumer *c;
};

static void seen_reset(void)
{
    for (size_t i = 0; i < QC_MAX; i++)
        atomic_store(&seen_rec[i], 0);
}

/* Poll and commit until *stop; counts every record seen; checks per-key order while
 * a->last is meaningful (no rebalance: each key's partition stays with one consumer). */
static void *cons_main(void *p)
{
    struct cons_arg *a = p;

    while (!atomic_load(a->stop)) {
        struct mq_batch b;
        int rc = mq_consumer_poll(a->c, &b, 100, 100);
        if (rc == MF_EFATAL)
            break;
        for (size_t i = 0; i < b.n; i++) {
            int key, seq;
            size_t rec;
            if (qc_parse(&b.msgs[i], &key, &seq, &rec) != 0 || rec >= QC_MAX || key < 0 ||
                key >= 64) {
                a->order_errors++;
                continue;
            }
            if (seq <= a->last[key])
                a->order_errors++;
            a->last[key] = seq;
            atomic_fetch_add(&seen_rec[rec], 1);
        }
        atomic_fetch_add(a->total, (int)b.n);
        if (b.n && mq_commit(a->q, &b) != 0)
            a->commit_errors++;
    }
    return NULL;
}

static void cons_init(struct cons_arg *a, struct mq *q, const char *group, atomic_int *stop,
                      atomic_int *total)
{
    memset(a, 0, sizeof(*a));
    a->q = q;
    a->group = group;
    a->stop = stop;
    a->total = total;
    for (int k = 0; k < 64; k++)
        a->last[k] = -1;
    a->c = qc_consumer(q, MQ_UPLINK, group);
}

static int wait_total(atomic_int *total, int want, int ms)
{
    uint64_t end = mf_mono_us() + (uint64_t)ms * 1000u;
    while (atomic_load(total) < want && mf_mono_us() < end)
        usleep(10 * 1000);
    return atomic_load(total) >= want;
}

/* Produce recs [from, to) on 50 keys, retrying on MF_EFULL. */
static void produce_range(struct mq *q, int from, int to)
{
    for (int i = from; i < to; i++) {
        int rc;
        while ((rc = qc_produce(q, MQ_UPLINK, i % 50, i / 50, (size_t)i)) == MF_EFULL)
            usleep(1000);
        CHECK_EQ_INT(rc, 0);
    }
}

/* Two consumers of one group, both holding partitions before the load starts: every
 * message exactly once, each key in order, every done(0). */
MF_TEST(kafka_two_consumers_share_a_group)
{
    enum { N = 2000 };
    struct mq *q = kafka_open("shared", 0);
    struct cons_arg a1, a2;
    atomic_int stop = 0, total = 0;
    pthread_t t1, t2;
    uint64_t end;

    if (!q)
        return;
    qc_reset();
    seen_reset();
    cons_init(&a1, q, "workers", &stop, &total);
    cons_init(&a2, q, "workers", &stop, &total);
    /* The group join happens inside poll: poll both (nothing produced yet) until the four
     * partitions are split between them. */
    end = mf_mono_us() + 30000000u;
    while (mf_mono_us() < end && !(mq_consumer_assigned(a1.c) > 0 &&
                                   mq_consumer_assigned(a2.c) > 0 &&
                                   mq_consumer_assigned(a1.c) + mq_consumer_assigned(a2.c) == 4)) {
        struct mq_batch b;
        CHECK_EQ_INT(mq_consumer_poll(a1.c, &b, 10, 50), 0);
        CHECK_EQ_INT(b.n, 0);
        CHECK_EQ_INT(mq_consumer_poll(a2.c, &b, 10, 50), 0);
        CHECK_EQ_INT(b.n, 0);
    }
    CHECK(mq_consumer_assigned(a1.c) > 0 && mq_consumer_assigned(a2.c) > 0);
    pthread_create(&t1, NULL, cons_main, &a1);
    pthread_create(&t2, NULL, cons_main, &a2);
    produce_range(q, 0, N);
    CHECK(wait_total(&total, N, 60000));
    CHECK(qc_wait_calls(N, 30000));
    atomic_store(&stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK_EQ_INT(atomic_load(&total), N);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(atomic_load(&seen_rec[i]), 1);
    CHECK_EQ_INT(a1.order_errors + a2.order_errors, 0);
    CHECK_EQ_INT(a1.commit_errors + a2.commit_errors, 0);
    CHECK_EQ_INT(qc_count_status(N, 0), N);
    CHECK(atomic_load(&total) > 0 && a1.last[0] + a2.last[0] >= 0);
    {
        /* everything consumed: the lag both consumers report comes down to 0 */
        struct mq_stats st;
        uint64_t end2 = mf_mono_us() + 10000000u;
        do {
            struct mq_batch b;
            mq_consumer_poll(a1.c, &b, 10, 100);
            mq_commit(q, &b);
            mq_consumer_poll(a2.c, &b, 10, 100);
            mq_commit(q, &b);
            mq_stats_get(q, &st);
        } while (st.lag != 0 && mf_mono_us() < end2);
        CHECK_EQ_INT(st.lag, 0);
        CHECK(st.committed >= N);
    }
    mq_consumer_close(a1.c);
    mq_consumer_close(a2.c);
    mq_close(q);
}

/* A second consumer joins and the first leaves while messages flow: nothing is lost, and
 * once everything is committed a new member of the group gets nothing more. */
MF_TEST(kafka_rebalance_under_load)
{
    enum { N = 3000 };
    struct mq *q = kafka_open("rebalance", 0);
    struct cons_arg a1, a2;
    atomic_int stop1 = 0, stop2 = 0, total = 0;
    pthread_t t1, t2;
    struct mq_consumer *late;
    int dup = 0, missing = 0;

    if (!q)
        return;
    qc_reset();
    seen_reset();
    cons_init(&a1, q, "workers", &stop1, &total);
    pthread_create(&t1, NULL, cons_main, &a1);
    produce_range(q, 0, N / 3);
    CHECK(wait_total(&total, N / 6, 30000));
    cons_init(&a2, q, "workers", &stop2, &total); /* joins: rebalance */
    pthread_create(&t2, NULL, cons_main, &a2);
    produce_range(q, N / 3, 2 * N / 3);
    CHECK(wait_total(&total, N / 2, 30000));
    atomic_store(&stop1, 1); /* the first leaves: its partitions move to the second */
    pthread_join(t1, NULL);
    mq_consumer_close(a1.c);
    produce_range(q, 2 * N / 3, N);
    CHECK(qc_wait_calls(N, 30000));
    CHECK_EQ_INT(qc_count_status(N, 0), N);
    for (uint64_t end = mf_mono_us() + 60000000u; mf_mono_us() < end;) {
        missing = 0;
        for (int i = 0; i < N; i++)
            missing += atomic_load(&seen_rec[i]) == 0;
        if (missing == 0)
            break;
        usleep(20 * 1000);
    }
    atomic_store(&stop2, 1);
    pthread_join(t2, NULL);
    mq_consumer_close(a2.c);
    for (int i = 0; i < N; i++)
        dup += atomic_load(&seen_rec[i]) > 1;
    CHECK_EQ_INT(missing, 0);
    printf("# rebalance: %d of %d messages delivered twice (uncommitted at a revoke)\n", dup, N);
    late = qc_consumer(q, MQ_UPLINK, "workers");
    CHECK_EQ_INT(qc_drain(late, q, 1, 8000, NULL, 1), 0);
    mq_consumer_close(late);
    mq_close(q);
}

/* The broker stops and comes back while messages flow. Every message whose done() said 0
 * reaches the consumer; done() is called exactly once for each; nothing reported durable
 * is lost. Duplicates (uncommitted at the outage) are counted, not failed. */
MF_TEST(kafka_broker_restart_under_load)
{
    enum { N = 1500 };
    const char *sh = getenv("MF_KAFKA_SH"), *dir = getenv("MF_KAFKA_DIR");
    char cmd[1024];
    struct mq *q;
    struct cons_arg a;
    atomic_int stop = 0, total = 0;
    pthread_t t;
    size_t ok;
    int lost = 0, dup = 0;

    if (sh == NULL || dir == NULL) {
        mf_test_fail(__FILE__, __LINE__, "MF_KAFKA_SH / MF_KAFKA_DIR not set");
        return;
    }
    q = kafka_open("restart", 0);
    if (!q)
        return;
    qc_reset();
    seen_reset();
    cons_init(&a, q, "workers", &stop, &total);
    pthread_create(&t, NULL, cons_main, &a);
    produce_range(q, 0, N / 3);
    snprintf(cmd, sizeof(cmd), "bash '%s' broker-stop '%s' 0", sh, dir);
    CHECK_EQ_INT(system(cmd), 0);
    produce_range(q, N / 3, 2 * N / 3); /* queued locally while the broker is down */
    snprintf(cmd, sizeof(cmd), "bash '%s' broker-start '%s' 0 >/dev/null", sh, dir);
    CHECK_EQ_INT(system(cmd), 0);
    produce_range(q, 2 * N / 3, N);
    CHECK(qc_wait_calls(N, 60000));
    CHECK(qc_calls_at_most_once(N));
    ok = qc_count_status(N, 0);
    CHECK(ok > 0);
    for (uint64_t end = mf_mono_us() + 60000000u; mf_mono_us() < end;) {
        lost = 0;
        for (int i = 0; i < N; i++)
            lost += atomic_load(&qc_recs[i].status) == 0 && atomic_load(&seen_rec[i]) == 0;
        if (lost == 0)
            break;
        usleep(20 * 1000);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    for (int i = 0; i < N; i++)
        dup += atomic_load(&seen_rec[i]) > 1;
    CHECK_EQ_INT(lost, 0);
    printf("# restart: %zu of %d durable, %d delivered twice, %d not durable (ERETRY)\n", ok, N,
           dup, (int)qc_count_status(N, MF_ERETRY));
    mq_consumer_close(a.c);
    mq_close(q);
}

/* For tests/integ/kafka.sh: one message through mq_produce that kcat must read back from
 * $MF_KAFKA_KCAT_PREFIX + "uplink" with key 4403-0012 and value "hello-from-mq". */
MF_TEST(kafka_kcat_probe)
{
    const char *prefix = getenv("MF_KAFKA_KCAT_PREFIX");
    struct mq *q;

    if (prefix == NULL) {
        mf_test_fail(__FILE__, __LINE__, "MF_KAFKA_KCAT_PREFIX not set");
        return;
    }
    q = kafka_open_prefix(prefix, 0);
    if (!q)
        return;
    qc_reset();
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "4403-0012", 9, "hello-from-mq", 13, qc_done,
                            &qc_recs[0]),
                 0);
    CHECK(qc_wait_calls(1, 30000));
    CHECK_EQ_INT(atomic_load(&qc_recs[0].status), 0);
    mq_close(q);
}

/* Two batches outstanding; the first is released (seek back), the second committed. The
 * commit must not carry the group past the released messages: a new member of the group
 * starts again at the first message. */
MF_TEST(kafka_commit_after_release_does_not_skip)
{
    enum { N = 10 };
    struct mq *q = kafka_open("relcommit", 0);
    struct mq_consumer *c;
    struct mq_batch b1, b2;
    uint64_t end;
    int key, seq;
    size_t rec;

    if (!q)
        return;
    qc_reset();
    for (int i = 0; i < N; i++) /* one key: one partition, in order */
        CHECK_EQ_INT(qc_produce(q, MQ_UPLINK, 7, i, (size_t)i), 0);
    CHECK(qc_wait_calls(N, 30000));
    c = qc_consumer(q, MQ_UPLINK, "workers");
    end = mf_mono_us() + 30000000u;
    do {
        CHECK_EQ_INT(mq_consumer_poll(c, &b1, 3, 200), 0);
    } while (b1.n == 0 && mf_mono_us() < end);
    CHECK(b1.n > 0);
    CHECK_EQ_INT(mq_consumer_poll(c, &b2, 3, 5000), 0);
    CHECK(b2.n > 0);
    mq_batch_release(q, &b1);
    CHECK_EQ_INT(mq_commit(q, &b2), 0);
    mq_consumer_close(c); /* as if the worker crashed before b1 came again */
    c = qc_consumer(q, MQ_UPLINK, "workers");
    end = mf_mono_us() + 30000000u;
    do {
        CHECK_EQ_INT(mq_consumer_poll(c, &b1, 1, 200), 0);
    } while (b1.n == 0 && mf_mono_us() < end);
    CHECK_EQ_INT(b1.n, 1);
    if (b1.n == 1) {
        CHECK_EQ_INT(qc_parse(&b1.msgs[0], &key, &seq, &rec), 0);
        CHECK_EQ_INT(seq, 0);
    }
    mq_batch_release(q, &b1);
    mq_consumer_close(c);
    mq_close(q);
}
