/* bench_queue_embedded.c -- the embedded queue's ceiling, for comparison with the Kafka
 * producer (bench_kafka_producer.c): one producer thread -> mq_produce (MF_EFULL retried),
 * one consumer thread -> mq_poll batches of up to 256 -> mq_commit -> done(0) back to the
 * producer's records. Latency = produce -> done(0), i.e. what the front waits before it may
 * confirm a terminal when the consumer commits at once (no store in the loop).
 *
 * Usage: bench_queue_embedded [N [SIZE [CAPACITY]]]   (default 1000000 100 100000)
 * Output: "bench=queue_embedded n= size= capacity= seconds= msgs_per_s= p50_us= p99_us=
 * max_us= delivered= full_retries= checksum=" -- checksum sums the bytes consumed. */
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

static struct mf_hist hist; /* written by the consumer thread (callbacks run there) */
static atomic_ulong delivered;
static size_t total;
static unsigned long consumed_bytes;

static void on_done(void *opaque, int status)
{
    struct rec *r = opaque;
    if (status == 0) {
        atomic_fetch_add(&delivered, 1);
        mf_hist_add(&hist, mf_mono_us() - r->sent_us);
    }
}

static void *consumer(void *p)
{
    struct mq *q = p;
    enum mq_topic t = MQ_UPLINK;
    size_t got = 0;

    if (mq_subscribe(q, &t, 1, "workers") != 0)
        return NULL;
    while (got < total) {
        struct mq_batch b;
        if (mq_poll(q, &b, 256, 100) != 0)
            break;
        for (size_t i = 0; i < b.n; i++)
            consumed_bytes += b.msgs[i].val_len;
        got += b.n;
        mq_commit(q, &b);
    }
    mq_unsubscribe(q);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct mf_cfg_item *const tables[] = { queue_cfg, NULL };
    static const char *const pass[] = { "kafka", NULL };
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t size = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    const char *cap = argc > 3 ? argv[3] : "100000";
    char err[256], key[10];
    struct mf_config *cfg;
    struct mq *q;
    struct rec *recs;
    uint8_t *val;
    pthread_t th;
    uint64_t t0, us;
    unsigned long full = 0;
    uint32_t seed = 12345;

    if (n == 0 || n > 20000000 || size == 0 || size > 100000) {
        fprintf(stderr, "usage: %s [N<=2e7 [SIZE<=1e5 [CAPACITY]]]\n", argv[0]);
        return 2;
    }
    cfg = mf_config_new(tables, pass);
    if (mf_config_set(cfg, "queue", "embedded_max_msgs", cap, "bench", err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    q = mq_open(cfg, err, sizeof(err));
    mf_config_free(cfg);
    recs = calloc(n, sizeof(*recs));
    val = malloc(size);
    if (!q || !recs || !val)
        return 1;
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        val[i] = (uint8_t)(seed >> 16);
    }
    total = n;
    t0 = mf_mono_us();
    pthread_create(&th, NULL, consumer, q);
    for (size_t i = 0; i < n; i++) {
        unsigned t = (unsigned)(i * 7919u % 1000u);
        snprintf(key, sizeof(key), "%04u-%04X", 4400u + t / 100u, t);
        recs[i].sent_us = mf_mono_us();
        while (mq_produce(q, MQ_UPLINK, key, 9, val, size, on_done, &recs[i]) == MF_EFULL) {
            full++;
            usleep(50); /* backpressure */
        }
    }
    pthread_join(th, NULL);
    us = mf_mono_us() - t0;
    printf("bench=queue_embedded n=%zu size=%zu capacity=%s seconds=%.3f msgs_per_s=%.0f "
           "p50_us=%llu p99_us=%llu max_us=%llu delivered=%lu full_retries=%lu checksum=%lu\n",
           n, size, cap, (double)us / 1e6, (double)n * 1e6 / (double)us,
           (unsigned long long)mf_hist_quantile(&hist, 0.5),
           (unsigned long long)mf_hist_quantile(&hist, 0.99), (unsigned long long)hist.max,
           atomic_load(&delivered), full, consumed_bytes);
    mq_close(q);
    free(recs);
    free(val);
    return atomic_load(&delivered) == n ? 0 : 1;
}
