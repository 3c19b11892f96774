/* test_queue_kafka.c -- the Kafka backend's failure paths, with errors injected by the
 * librdkafka mock cluster (rdkafka_mock.h): whatever the broker answers, done() is called
 * exactly once and says 0 only for a message the (mock) brokers acknowledged. Also the
 * librdkafka error -> status mapping and configuration errors. The mock cluster is for
 * injecting errors only; the contract runs against a real broker in tests/integ/kafka.sh.
 * (No "tsan: yes": librdkafka is not instrumented.) */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/log.h"
#include "meterflow/queue.h"
#include "queue/queue_int.h"
#include "test_queue_contract.h"

struct mock {
    rd_kafka_t *rk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    struct mq *q;
};

/* A 3-broker mock cluster with the five topics, and a queue handle on it; stall_ms:
 * [queue] kafka_stall_warn_ms, NULL for the default. */
static int mock_open_stall(struct mock *m, const char *timeout_ms, const char *stall_ms)
{
    char err[512] = "", name[64];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    struct mf_config *cfg;

    memset(m, 0, sizeof(*m));
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (m->rk == NULL)
        return 0;
    m->mc = rd_kafka_mock_cluster_new(m->rk, 3);
    for (int t = 0; t < MQ_NTOPICS; t++) {
        snprintf(name, sizeof(name), "mock.%s", mq_topic_name((enum mq_topic)t));
        rd_kafka_mock_topic_create(m->mc, name, 4, 3);
    }
    cfg = mf_config_new(qc_tables, qc_pass);
    qc_set(cfg, "queue", "backend", "kafka");
    qc_set(cfg, "queue", "topic_prefix", "mock.");
    qc_set(cfg, "queue", "close_flush_ms", "2000");
    if (stall_ms)
        qc_set(cfg, "queue", "kafka_stall_warn_ms", stall_ms);
    qc_set(cfg, "kafka", "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(m->mc));
    qc_set(cfg, "kafka", "message.timeout.ms", timeout_ms);
    qc_set(cfg, "kafka", "retry.backoff.ms", "50");
    qc_set(cfg, "kafka", "auto.offset.reset", "earliest");
    qc_set(cfg, "kafka", "log_level", "2"); /* injected errors are expected here */
    /* The mock brokers speak the current protocol, not 0.9's: undo the 0.9 defaults
     * (this also shows [kafka] keys override them). */
    qc_set(cfg, "kafka", "api.version.request", "true");
    qc_set(cfg, "kafka", "broker.version.fallback", "2.0.0");
    m->q = mq_open(cfg, err, sizeof(err));
    mf_config_free(cfg);
    if (m->q == NULL)
        mf_test_fail(__FILE__, __LINE__, "mq_open: %s", err);
    return m->q != NULL;
}

static int mock_open(struct mock *m, const char *timeout_ms)
{
    return mock_open_stall(m, timeout_ms, NULL);
}

static void mock_close(struct mock *m)
{
    mq_close(m->q);
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
}

enum { PRODUCE = 0, OFFSET_COMMIT = 8 };

MF_TEST(kafka_status_mapping)
{
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR_NO_ERROR), 0);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR__QUEUE_FULL), MF_EFULL);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), MF_ERANGE);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), MF_ERETRY);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR__TRANSPORT), MF_ERETRY);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN), MF_ERETRY);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), MF_ERETRY);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION), MF_ERETRY);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS), MF_ERETRY);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), MF_EFATAL);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR_INVALID_MSG), MF_EFATAL);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR__FATAL), MF_EFATAL);
    CHECK_EQ_INT(mq_kafka_status(RD_KAFKA_RESP_ERR__PURGE_QUEUE), MF_EFATAL);
}

MF_TEST(kafka_config_errors)
{
    char err[512] = "";
    struct mf_config *cfg = mf_config_new(qc_tables, qc_pass);

    qc_kafka_needs_bootstrap(cfg);
    qc_set(cfg, "kafka", "bootstrap.servers", "127.0.0.1:1");
    qc_set(cfg, "kafka", "acks", "maybe");
    CHECK(mq_open(cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "[kafka] acks=maybe") != NULL);
    mf_config_free(cfg);
}

/* The happy path on the mock: produce, consume, commit, done(0). */
MF_TEST(kafka_mock_round_trip)
{
    struct mock m;
    struct mq_consumer *c;

    if (!mock_open(&m, "5000"))
        return;
    qc_reset();
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, i % 3, i / 3, (size_t)i), 0);
    CHECK(qc_wait_calls(10, 10000));
    CHECK_EQ_INT(qc_count_status(10, 0), 10);
    c = qc_consumer(m.q, MQ_UPLINK, "workers");
    CHECK_EQ_INT(qc_drain(c, m.q, 10, 15000, NULL, 1), 10);
    mq_consumer_close(c);
    mock_close(&m);
}

/* Produce requests keep failing with a retriable error until the message times out:
 * done(MF_ERETRY), never 0; once the errors stop, new messages are durable again. */
MF_TEST(kafka_mock_retriable_errors_never_done_ok)
{
    struct mock m;
    rd_kafka_resp_err_t errs[200];

    if (!mock_open(&m, "1500"))
        return;
    qc_reset();
    for (size_t i = 0; i < MF_ARRAY_LEN(errs); i++)
        errs[i] = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS;
    rd_kafka_mock_push_request_errors_array(m.mc, PRODUCE, MF_ARRAY_LEN(errs), errs);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, i, (size_t)i), 0);
    CHECK(qc_wait_calls(5, 15000));
    CHECK_EQ_INT(qc_count_status(5, 0), 0);
    CHECK_EQ_INT(qc_count_status(5, MF_ERETRY), 5);
    rd_kafka_mock_clear_request_errors(m.mc, PRODUCE);
    CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, 5, 5), 0);
    CHECK(qc_wait_calls(6, 15000));
    CHECK_EQ_INT(atomic_load(&qc_recs[5].status), 0);
    CHECK(qc_calls_at_most_once(6));
    mock_close(&m);
}

/* stderr (our log) into a temporary file while a test runs. */
struct log_cap {
    FILE *f;
    int saved;
    int level;
};

static void log_cap_start(struct log_cap *lc)
{
    fflush(stderr);
    lc->f = tmpfile();
    lc->saved = dup(2);
    lc->level = mf_log_level;
    if (lc->f)
        dup2(fileno(lc->f), 2);
    mf_log_set_level(MF_LOG_INFO);
}

/* Stop capturing; gives the text (malloc'd, caller frees). */
static char *log_cap_stop(struct log_cap *lc)
{
    char *text = mf_calloc(1, 65536);
    fflush(stderr);
    dup2(lc->saved, 2);
    close(lc->saved);
    mf_log_set_level(lc->level);
    if (lc->f) {
        rewind(lc->f);
        size_t n = fread(text, 1, 65535, lc->f);
        text[n] = 0;
        fclose(lc->f);
    }
    return text;
}

static int count_lines_with(const char *text, const char *a, const char *b)
{
    int n = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[1024];
        snprintf(line, sizeof(line), "%.*s", (int)MF_MIN(len, sizeof(line) - 1), l);
        if (strstr(line, a) && strstr(line, b))
            n++;
    }
    return n;
}

/* acks=all cannot be met (the brokers answer NOT_ENOUGH_REPLICAS, as with 2 of 3 brokers
 * down and min.insync.replicas 2): librdkafka retries silently until message.timeout.ms, so
 * the log must say it: one warning once messages waited kafka_stall_warn_ms without any
 * report, one (not five) for the failed deliveries (which librdkafka reports as timed out),
 * and info lines when reports and deliveries come again. Nothing of it is done(0). Before this, the log said nothing. */
MF_TEST(kafka_mock_not_enough_replicas_logged_once)
{
    struct mock m;
    struct log_cap lc;
    rd_kafka_resp_err_t errs[400];
    char *text;

    if (!mock_open_stall(&m, "2500", "300"))
        return;
    qc_reset();
    for (size_t i = 0; i < MF_ARRAY_LEN(errs); i++)
        errs[i] = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS;
    rd_kafka_mock_push_request_errors_array(m.mc, PRODUCE, MF_ARRAY_LEN(errs), errs);
    log_cap_start(&lc);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, i, (size_t)i), 0);
    CHECK(qc_wait_calls(5, 15000));
    CHECK_EQ_INT(qc_count_status(5, MF_ERETRY), 5);
    rd_kafka_mock_clear_request_errors(m.mc, PRODUCE);
    CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, 5, 5), 0);
    CHECK(qc_wait_calls(6, 15000));
    CHECK_EQ_INT(atomic_load(&qc_recs[5].status), 0);
    usleep(300 * 1000); /* the poller's next check (every 100 ms) sees the report */
    text = log_cap_stop(&lc);
    int stall = count_lines_with(text, " W kafka: ", "no delivery report for");
    int failed = count_lines_with(text, " W kafka: ", "messages not delivered");
    /* librdkafka retries NOT_ENOUGH_REPLICAS; the report says the message timed out */
    int why = count_lines_with(text, "messages not delivered", "(last: _MSG_TIMED_OUT, retry");
    int again = count_lines_with(text, " I kafka: ", "delivery reports again");
    int total = count_lines_with(text, " I kafka: ", "(5 not delivered since");
    CHECK_EQ_INT(stall, 1);
    CHECK_EQ_INT(failed, 1);
    CHECK_EQ_INT(why, 1);
    CHECK_EQ_INT(again, 1);
    CHECK_EQ_INT(total, 1);
    if (stall != 1 || failed != 1 || why != 1 || again != 1 || total != 1)
        fprintf(stderr, "captured log:\n%s", text);
    free(text);
    mock_close(&m);
}

/* A few transient errors are retried inside librdkafka: one done(0) per message. */
MF_TEST(kafka_mock_transient_errors_retried)
{
    struct mock m;

    if (!mock_open(&m, "10000"))
        return;
    qc_reset();
    rd_kafka_mock_push_request_errors(m.mc, PRODUCE, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 2, i, (size_t)i), 0);
    CHECK(qc_wait_calls(5, 15000));
    CHECK_EQ_INT(qc_count_status(5, 0), 5);
    CHECK(qc_calls_at_most_once(5));
    mock_close(&m);
}

/* A permanent broker error fails the message: done(MF_EFATAL). */
MF_TEST(kafka_mock_permanent_error_is_fatal)
{
    struct mock m;

    if (!mock_open(&m, "10000"))
        return;
    qc_reset();
    rd_kafka_mock_push_request_errors(m.mc, PRODUCE, 1, RD_KAFKA_RESP_ERR_INVALID_MSG);
    CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 3, 0, 0), 0);
    CHECK(qc_wait_calls(1, 15000));
    CHECK_EQ_INT(atomic_load(&qc_recs[0].status), MF_EFATAL);
    mock_close(&m);
}

/* Every broker down: messages time out with MF_ERETRY; close then reports the rest. */
MF_TEST(kafka_mock_brokers_down)
{
    struct mock m;

    if (!mock_open(&m, "1000"))
        return;
    qc_reset();
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(m.mc, b);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, i, (size_t)i), 0);
    CHECK(qc_wait_calls(3, 15000));
    CHECK_EQ_INT(qc_count_status(3, MF_ERETRY), 3);
    CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, 3, 3), 0);
    mock_close(&m); /* flush cannot succeed: purge -> MF_EFATAL */
    CHECK_EQ_INT(atomic_load(&qc_recs[3].calls), 1);
    CHECK(atomic_load(&qc_recs[3].status) != 0);
}

/* An offset commit that fails says MF_ERETRY; the offsets stay pending and go with the
 * next commit, so the group does not see the batch again after the errors clear. */
MF_TEST(kafka_mock_commit_failure_kept_pending)
{
    struct mock m;
    struct mq_consumer *c;
    struct mq_batch b;
    rd_kafka_resp_err_t errs[50];
    uint64_t end;
    size_t got = 0;
    int rc = 0;

    if (!mock_open(&m, "5000"))
        return;
    qc_reset();
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, i, (size_t)i), 0);
    CHECK(qc_wait_calls(4, 10000));
    c = qc_consumer(m.q, MQ_UPLINK, "workers");
    end = mf_mono_us() + 15000000u;
    do {
        CHECK_EQ_INT(mq_consumer_poll(c, &b, 2, 200), 0);
    } while (b.n == 0 && mf_mono_us() < end);
    CHECK(b.n > 0);
    got = b.n;
    for (size_t i = 0; i < MF_ARRAY_LEN(errs); i++)
        errs[i] = RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
    rd_kafka_mock_push_request_errors_array(m.mc, OFFSET_COMMIT, MF_ARRAY_LEN(errs), errs);
    rc = mq_commit(m.q, &b);
    CHECK_EQ_INT(rc, MF_ERETRY);
    rd_kafka_mock_clear_request_errors(m.mc, OFFSET_COMMIT);
    got += qc_drain(c, m.q, 4 - got, 15000, NULL, 1);
    CHECK_EQ_INT(got, 4);
    mq_consumer_close(c);
    c = qc_consumer(m.q, MQ_UPLINK, "workers");
    CHECK_EQ_INT(qc_drain(c, m.q, 1, 3000, NULL, 1), 0);
    mq_consumer_close(c);
    mock_close(&m);
}

/* A later batch's commit failed (offsets pending), then an earlier batch is released: the
 * pending offsets must not be committed past the released messages (by the next commit or
 * by the revoke at close), or a crash before they come again would lose them. */
MF_TEST(kafka_mock_release_drops_pending_commit)
{
    struct mock m;
    struct mq_consumer *c;
    struct mq_batch b1, b2;
    rd_kafka_resp_err_t errs[50];
    uint64_t end;
    int key, seq;
    size_t rec;

    if (!mock_open(&m, "5000"))
        return;
    qc_reset();
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 7, i, (size_t)i), 0);
    CHECK(qc_wait_calls(10, 10000));
    c = qc_consumer(m.q, MQ_UPLINK, "workers");
    end = mf_mono_us() + 15000000u;
    do {
        CHECK_EQ_INT(mq_consumer_poll(c, &b1, 3, 200), 0);
    } while (b1.n == 0 && mf_mono_us() < end);
    CHECK(b1.n > 0);
    CHECK_EQ_INT(mq_consumer_poll(c, &b2, 3, 5000), 0);
    CHECK(b2.n > 0);
    for (size_t i = 0; i < MF_ARRAY_LEN(errs); i++)
        errs[i] = RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
    rd_kafka_mock_push_request_errors_array(m.mc, OFFSET_COMMIT, MF_ARRAY_LEN(errs), errs);
    CHECK_EQ_INT(mq_commit(m.q, &b2), MF_ERETRY); /* b2's offsets now pending */
    rd_kafka_mock_clear_request_errors(m.mc, OFFSET_COMMIT);
    mq_batch_release(m.q, &b1);
    mq_consumer_close(c); /* the revoke must not commit b2's offsets now */
    c = qc_consumer(m.q, MQ_UPLINK, "workers");
    end = mf_mono_us() + 15000000u;
    do {
        CHECK_EQ_INT(mq_consumer_poll(c, &b1, 1, 200), 0);
    } while (b1.n == 0 && mf_mono_us() < end);
    CHECK_EQ_INT(b1.n, 1);
    if (b1.n == 1) {
        CHECK_EQ_INT(qc_parse(&b1.msgs[0], &key, &seq, &rec), 0);
        CHECK_EQ_INT(seq, 0);
    }
    mq_batch_release(m.q, &b1);
    mq_consumer_close(c);
    mock_close(&m);
}

/* mq_serve_on: done() runs only on the thread that calls mq_serve, after a wake. */
static atomic_int so_wakes, so_off_thread;
static pthread_t so_thread;

static void so_wake(void *opaque)
{
    atomic_fetch_add((atomic_int *)opaque, 1);
}

static void so_done(void *opaque, int status)
{
    if (!pthread_equal(pthread_self(), so_thread))
        atomic_fetch_add(&so_off_thread, 1);
    qc_done(opaque, status);
}

/* Serve on this thread until records [0, n) are all called (deadline ms): 1 if so. */
static int so_serve_until(struct mq *q, size_t n, int ms)
{
    uint64_t end = mf_mono_us() + (uint64_t)ms * 1000u;
    struct timespec ts = { 0, 2 * 1000 * 1000 };
    int seen = 0;

    while (qc_count_calls(n) < n) {
        if (mf_mono_us() > end)
            return 0;
        int w = atomic_load(&so_wakes);
        if (w != seen) { /* serve only when woken: the wake is what the front relies on */
            seen = w;
            mq_serve(q);
        }
        nanosleep(&ts, NULL);
    }
    return 1;
}

MF_TEST(kafka_mock_serve_on_caller_thread)
{
    struct mock m;
    char k[16];

    if (!mock_open(&m, "5000"))
        return;
    qc_reset();
    so_thread = pthread_self();
    atomic_store(&so_wakes, 0);
    atomic_store(&so_off_thread, 0);
    CHECK_EQ_INT(mq_serve_on(m.q, so_wake, &so_wakes), 0);
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof(k), "term-%d", i % 4);
        CHECK_EQ_INT(mq_produce(m.q, MQ_UPLINK, k, strlen(k), "v", 1, so_done, &qc_recs[i]), 0);
    }
    CHECK(so_serve_until(m.q, 20, 15000));
    CHECK_EQ_INT(qc_count_status(20, 0), 20);
    CHECK(atomic_load(&so_wakes) > 0);
    /* a broker error is reported the same way: on this thread, never as durable */
    rd_kafka_mock_push_request_errors(m.mc, PRODUCE, 1, RD_KAFKA_RESP_ERR_INVALID_MSG);
    CHECK_EQ_INT(mq_produce(m.q, MQ_UPLINK, "term-9", 6, "v", 1, so_done, &qc_recs[20]), 0);
    CHECK(so_serve_until(m.q, 21, 15000));
    CHECK_EQ_INT(atomic_load(&qc_recs[20].status), MF_EFATAL);
    CHECK_EQ_INT(atomic_load(&so_off_thread), 0);
    CHECK(qc_calls_at_most_once(21));
    /* back to the poller thread: completes without mq_serve, and no wake any more */
    CHECK_EQ_INT(mq_serve_on(m.q, NULL, NULL), 0);
    int w = atomic_load(&so_wakes);
    CHECK_EQ_INT(mq_produce(m.q, MQ_UPLINK, "term-1", 6, "v", 1, qc_done, &qc_recs[21]), 0);
    CHECK(qc_wait_calls(22, 15000));
    CHECK_EQ_INT(atomic_load(&qc_recs[21].status), 0);
    CHECK_EQ_INT(atomic_load(&so_wakes), w);
    mock_close(&m);
}

/* The embedded backend has no delivery reports to hand over. */
MF_TEST(embedded_serve_on_unsupported)
{
    char err[256] = "";
    struct mf_config *cfg = mf_config_new(qc_tables, qc_pass);
    struct mq *q;

    qc_set(cfg, "queue", "backend", "embedded");
    q = mq_open(cfg, err, sizeof(err));
    mf_config_free(cfg);
    CHECK(q != NULL);
    CHECK_EQ_INT(mq_serve_on(q, so_wake, &so_wakes), MF_EINVAL);
    mq_serve(q); /* a no-op */
    mq_close(q);
}

/* Any (done, opaque) pair comes back as given: the first done function's messages carry the
 * opaque itself, other functions and odd or NULL opaques a record (queue_kafka.c KQ_DR_TAG). */
static atomic_uintptr_t op_seen[4];
static atomic_int op_calls[4];

static void op_done(void *opaque, int status)
{
    (void)status;
    for (int i = 0; i < 4; i++) /* first free slot */
        if (atomic_fetch_add(&op_calls[i], 1) == 0) {
            atomic_store(&op_seen[i], (uintptr_t)opaque);
            return;
        }
}

/* Wait until n op_done calls arrived (deadline 15 s). */
static int op_wait(int n)
{
    uint64_t end = mf_mono_us() + 15000000u;
    while (atomic_load(&op_calls[n - 1]) == 0)
        if (mf_mono_us() > end)
            return 0;
        else
            usleep(2000);
    return 1;
}

MF_TEST(kafka_mock_done_opaques_round_trip)
{
    struct mock m;
    static int x;

    if (!mock_open(&m, "5000"))
        return;
    qc_reset();
    for (int i = 0; i < 4; i++) {
        atomic_store(&op_calls[i], 0);
        atomic_store(&op_seen[i], 0);
    }
    /* op_done becomes the common function; an odd opaque still comes back as given */
    CHECK_EQ_INT(mq_produce(m.q, MQ_UPLINK, "k", 1, "a", 1, op_done, (void *)(uintptr_t)7), 0);
    CHECK(op_wait(1));
    CHECK_EQ_INT((int)atomic_load(&op_seen[0]), 7);
    CHECK_EQ_INT(mq_produce(m.q, MQ_UPLINK, "k", 1, "b", 1, op_done, &x), 0);
    CHECK(op_wait(2));
    CHECK(atomic_load(&op_seen[1]) == (uintptr_t)&x);
    CHECK_EQ_INT(mq_produce(m.q, MQ_UPLINK, "k", 1, "c", 1, op_done, NULL), 0);
    CHECK(op_wait(3));
    CHECK(atomic_load(&op_seen[2]) == 0);
    /* another function: its own opaque, its own callback */
    CHECK_EQ_INT(qc_produce(m.q, MQ_UPLINK, 1, 0, 0), 0);
    CHECK(qc_wait_calls(1, 15000));
    CHECK_EQ_INT(atomic_load(&qc_recs[0].status), 0);
    CHECK(qc_calls_at_most_once(1));
    CHECK_EQ_INT(atomic_load(&op_calls[3]), 0); /* op_done was not called for it */
    mock_close(&m);
}
