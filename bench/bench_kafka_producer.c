/* bench_kafka_producer.c -- producer ceiling against a Kafka broker: raw librdkafka and
 * through mq_produce (to see the wrapper's overhead), same messages, same settings.
 *
 * Usage: bench_kafka_producer BOOTSTRAP [N [SIZE [INFLIGHT]]]
 *   N messages (default 100000) of SIZE bytes (default 100), keys over 1000 terminals
 *   ("RRRR-TTTT", fixed sequence), acks=all, the meterflow producer defaults (linger 5 ms,
 *   0.9 compatibility), max.in.flight INFLIGHT (default 1, the meterflow default).
 * Every message counts only when its delivery report arrives without error; a local queue
 * full (MF_EFULL / QUEUE_FULL) is retried after polling. The value bytes come from a fixed
 * seed; the checksum line sums the delivered sizes and the key hash so a broken build that
 * delivers wrong or fewer messages is seen.
 * Output: one line per case, "bench=kafka_producer case=raw|mq n= size= ... msgs_per_s=
 * p50_us= p99_us= (produce -> delivery report latency) delivered= failed= checksum=".
 * Thread: main + the poller (raw: main polls; mq: the queue's own poller thread). */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/hist.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"

struct rec {
    uint64_t sent_us;
};

static struct mf_hist hist;           /* written on the DR thread only (raw: main) */
static atomic_ulong delivered, failed, checksum;
static pthread_mutex_t hist_lock = PTHREAD_MUTEX_INITIALIZER;

static void account(struct rec *r, int ok, size_t len)
{
    uint64_t now = mf_mono_us();
    if (ok) {
        atomic_fetch_add(&delivered, 1);
        atomic_fetch_add(&checksum, (unsigned long)len);
    } else {
        atomic_fetch_add(&failed, 1);
    }
    pthread_mutex_lock(&hist_lock);
    mf_hist_add(&hist, now - r->sent_us);
    pthread_mutex_unlock(&hist_lock);
}

static void raw_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    account(m->_private, m->err == 0, m->len);
}

static size_t msg_size;

static void mq_dr(void *opaque, int status)
{
    account(opaque, status == 0, msg_size);
}

static void make_key(size_t i, char key[10])
{
    unsigned t = (unsigned)(i * 7919u % 1000u);
    snprintf(key, 10, "%04u-%04X", 4400u + t / 100u, t);
}

static void report(const char *name, size_t n, size_t size, int inflight, uint64_t us)
{
    printf("bench=kafka_producer case=%s n=%zu size=%zu inflight=%d seconds=%.3f "
           "msgs_per_s=%.0f p50_us=%llu p99_us=%llu max_us=%llu delivered=%lu failed=%lu "
           "checksum=%lu\n",
           name, n, size, inflight, (double)us / 1e6, (double)n * 1e6 / (double)us,
           (unsigned long long)mf_hist_quantile(&hist, 0.5),
           (unsigned long long)mf_hist_quantile(&hist, 0.99), (unsigned long long)hist.max,
           atomic_load(&delivered), atomic_load(&failed), atomic_load(&checksum));
    fflush(stdout);
}

static void reset(void)
{
    mf_hist_reset(&hist);
    atomic_store(&delivered, 0);
    atomic_store(&failed, 0);
    atomic_store(&checksum, 0);
}

static int run_raw(const char *bootstrap, size_t n, const uint8_t *val, size_t size,
                   const char *inflight, struct rec *recs)
{
    static const char *const conf_kv[][2] = {
        { "acks", "all" }, { "api.version.request", "false" },
        { "broker.version.fallback", "0.9.0.1" }, { "linger.ms", "5" },
        { "batch.num.messages", "10000" }, { "queue.buffering.max.messages", "100000" },
    };
    char err[256], key[10];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    uint64_t t0;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "max.in.flight.requests.per.connection", inflight, err, sizeof(err));
    for (size_t i = 0; i < MF_ARRAY_LEN(conf_kv); i++)
        rd_kafka_conf_set(conf, conf_kv[i][0], conf_kv[i][1], err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(conf, raw_dr);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "raw: %s\n", err);
        return 1;
    }
    rkt = rd_kafka_topic_new(rk, "mfbench.raw", NULL);
    /* warm-up: metadata and connection, not measured */
    rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)val,
                     size, "warm", 4, &recs[0]);
    rd_kafka_flush(rk, 30000);
    reset(); /* the warm-up's report is not counted */
    t0 = mf_mono_us();
    for (size_t i = 0; i < n; i++) {
        make_key(i, key);
        recs[i].sent_us = mf_mono_us();
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                (void *)(uintptr_t)val, size, key, 9, &recs[i]) != 0)
            rd_kafka_poll(rk, 1); /* queue full: serve reports, retry */
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    report("raw", n, size, atoi(inflight), mf_mono_us() - t0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return 0;
}

static int run_mq(const char *bootstrap, size_t n, const uint8_t *val, size_t size,
                  const char *inflight, struct rec *recs)
{
    static const struct mf_cfg_item *const tables[] = { queue_cfg, NULL };
    static const char *const pass[] = { "kafka", NULL };
    char err[512], key[10];
    struct mf_config *cfg = mf_config_new(tables, pass);
    struct mq *q;
    uint64_t t0, end;
    struct rec warm;

    mf_config_set(cfg, "queue", "backend", "kafka", "bench", err, sizeof(err));
    mf_config_set(cfg, "queue", "topic_prefix", "mfbench.", "bench", err, sizeof(err));
    mf_config_set(cfg, "kafka", "bootstrap.servers", bootstrap, "bench", err, sizeof(err));
    mf_config_set(cfg, "kafka", "max.in.flight.requests.per.connection", inflight, "bench", err,
                  sizeof(err));
    q = mq_open(cfg, err, sizeof(err));
    mf_config_free(cfg);
    if (!q) {
        fprintf(stderr, "mq: %s\n", err);
        return 1;
    }
    msg_size = size;
    reset();
    warm.sent_us = mf_mono_us();
    mq_produce(q, MQ_UPLINK, "warm", 4, val, size, mq_dr, &warm);
    for (end = mf_mono_us() + 30000000u; atomic_load(&delivered) + atomic_load(&failed) < 1 &&
                                         mf_mono_us() < end;)
        usleep(1000);
    reset();
    t0 = mf_mono_us();
    for (size_t i = 0; i < n; i++) {
        make_key(i, key);
        recs[i].sent_us = mf_mono_us();
        while (mq_produce(q, MQ_UPLINK, key, 9, val, size, mq_dr, &recs[i]) == MF_EFULL)
            usleep(100); /* backpressure: the poller thread drains reports */
    }
    for (end = mf_mono_us() + 60000000u;
         atomic_load(&delivered) + atomic_load(&failed) < n && mf_mono_us() < end;)
        usleep(200);
    report("mq", n, size, atoi(inflight), mf_mono_us() - t0);
    mq_close(q);
    return 0;
}

int main(int argc, char **argv)
{
    const char *bootstrap = argc > 1 ? argv[1] : getenv("MF_KAFKA_BOOTSTRAP");
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    size_t size = argc > 3 ? strtoul(argv[3], NULL, 10) : 100;
    const char *inflight = argc > 4 ? argv[4] : "1";
    uint8_t *val;
    struct rec *recs;
    uint32_t seed = 12345;
    int rc;

    if (!bootstrap || n == 0 || n > 10000000 || size == 0 || size > 100000) {
        fprintf(stderr, "usage: %s BOOTSTRAP [N<=1e7 [SIZE<=1e5 [INFLIGHT]]]\n", argv[0]);
        return 2;
    }
    val = malloc(size);
    recs = calloc(n, sizeof(*recs));
    if (!val || !recs)
        return 1;
    for (size_t i = 0; i < size; i++) { /* fixed pseudo-random payload */
        seed = seed * 1103515245u + 12345u;
        val[i] = (uint8_t)(seed >> 16);
    }
    rc = run_raw(bootstrap, n, val, size, inflight, recs);
    if (rc == 0)
        rc = run_mq(bootstrap, n, val, size, inflight, recs);
    free(recs);
    free(val);
    return rc;
}
