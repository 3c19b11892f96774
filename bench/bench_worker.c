/* bench_worker.c -- ingest throughput of the worker: N daily frozen frames (AFN=0D F161,
 * one point each, M = 1) produced on the embedded queue, stored in SQLite by the worker,
 * each confirmed (done(0)) only after its store transaction committed. Fixed data; the
 * checksum is the sum of the stored values read back for a sample of points.
 *
 * Usage: bench_worker [frames] [batch_max_records]   (default 100000 frames, 5000)
 * Output: one line
 *   bench=worker frames=N ms=T frames_per_s=R records=K p50_us=.. p99_us=.. sum=X
 * Latency is produce -> done(0), i.e. what a terminal waits for its confirm minus the
 * network. Thread: main produces; the worker runs its own thread. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/envelope.h"
#include "meterflow/gw3761.h"
#include "meterflow/hist.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"

static atomic_ulong done_ok, done_bad;
static struct mf_hist lat;
static pthread_mutex_t lat_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_done(void *opaque, int status)
{
    uint64_t t0 = (uint64_t)(uintptr_t)opaque;
    if (status != 0) {
        atomic_fetch_add(&done_bad, 1);
        return;
    }
    pthread_mutex_lock(&lat_mu);
    mf_hist_add(&lat, mf_mono_us() - t0);
    pthread_mutex_unlock(&lat_mu);
    atomic_fetch_add(&done_ok, 1);
}

/* p<pn> F161 Td_d 25-11-26, M = 1, total = i/100 kWh, tariff 1 = total. */
static size_t make_frame(size_t i, uint16_t a2, uint16_t pn, uint8_t *f)
{
    uint8_t u[32];
    size_t n = 0, k = 0;
    gw_dadt_encode(pn, 161, u);
    n = 4;
    const uint8_t tag[] = { 0x25, 0x11, 0x26, 0x59, 0x23, 0x25, 0x11, 0x26, 0x01 };
    memcpy(u + n, tag, sizeof(tag));
    n += sizeof(tag);
    uint64_t v = (uint64_t)i * 100u; /* e-4 kWh */
    for (int r = 0; r < 2; r++)
        for (int b = 0; b < 5; b++) {
            uint64_t two = v / (b == 0 ? 1u : b == 1 ? 100u : b == 2 ? 10000u : b == 3 ? 1000000u : 100000000u) % 100u;
            u[n++] = (uint8_t)((two / 10) << 4 | two % 10);
        }
    size_t ud = 8 + n;
    const uint8_t hdr[] = { 0x88, 0x03, 0x44, (uint8_t)a2, (uint8_t)(a2 >> 8), 0x02, 0x0D, 0x60 };
    f[k++] = 0x68;
    f[k++] = (uint8_t)((ud << 2 | 2) & 0xFF);
    f[k++] = (uint8_t)((ud << 2 | 2) >> 8);
    f[k++] = f[1];
    f[k++] = f[2];
    f[k++] = 0x68;
    memcpy(f + k, hdr, sizeof(hdr));
    k += sizeof(hdr);
    memcpy(f + k, u, n);
    k += n;
    uint8_t cs = 0;
    for (size_t j = 6; j < k; j++)
        cs = (uint8_t)(cs + f[j]);
    f[k++] = cs;
    f[k++] = 0x16;
    return k;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000u;
    const char *bmax = argc > 2 ? argv[2] : "5000";
    char dir[64], path[128], err[512];
    if (n == 0 || n > 10000000u)
        return 2;
    mf_clock_set_zone("Asia/Shanghai");
    snprintf(dir, sizeof(dir), "/tmp/mf-bench-worker-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/w.db", dir);
    static const struct mf_cfg_item *const tables[] = { queue_cfg, worker_cfg, NULL };
    static const char *const pass[] = { "kafka", NULL };
    struct mf_config *cfg = mf_config_new(tables, pass);
    mf_config_set(cfg, "worker", "analytics", "false", "bench", err, sizeof(err));
    mf_config_set(cfg, "worker", "batch_max_records", bmax, "bench", err, sizeof(err));
    struct store_opts o;
    store_opts_default(&o);
    o.sqlite_path = path;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    struct mq *q = mq_open(cfg, err, sizeof(err));
    struct worker *w = st && q ? worker_new_with(cfg, q, st, NULL, err, sizeof(err)) : NULL;
    if (!w || worker_start(w) != 0) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    mf_hist_reset(&lat);
    uint8_t f[128], env[256];
    uint64_t t0 = mf_mono_us();
    for (size_t i = 0; i < n; i++) {
        uint16_t a2 = (uint16_t)(i / 64), pn = (uint16_t)(i % 64 + 1);
        char key[GW_TERMINAL_STRLEN];
        size_t k = make_frame(i, a2, pn, f);
        struct mf_env e = { MF_ENV_FRAME, mf_now_us(), 1, 0, 1, 0x4403, a2, 1, f, (uint32_t)k };
        int len = mf_env_encode(&e, env, sizeof(env));
        gw_terminal_format(0x4403, a2, key);
        for (;;) {
            int rc = mq_produce(q, MQ_UPLINK, key, strlen(key), env, (size_t)len, on_done,
                                (void *)(uintptr_t)mf_mono_us());
            if (rc == 0)
                break;
            if (rc != MF_EFULL)
                return 1;
            usleep(200); /* backpressure: the worker is behind */
        }
    }
    while (atomic_load(&done_ok) + atomic_load(&done_bad) < n)
        usleep(1000);
    uint64_t us = mf_mono_us() - t0;
    worker_stop(w);
    struct worker_stats ws;
    worker_stats_get(w, &ws);
    double sum = 0;
    for (size_t i = 0; i < n; i += 997) {
        double v;
        int s;
        if (store_frozen_get(st, (uint32_t)0x4403u << 16 | (uint16_t)(i / 64), (uint16_t)(i % 64 + 1),
                             STORE_FROZEN_DAILY, "ap_fwd", mf_date_to_days(2026, 11, 25), 0, &v,
                             &s) == 0)
            sum += v;
    }
    printf("bench=worker frames=%zu batch_max_records=%s ms=%.0f frames_per_s=%.0f records=%" PRIu64
           " batches=%" PRIu64 " p50_us=%" PRIu64 " p99_us=%" PRIu64 " not_durable=%lu sum=%.2f\n",
           n, bmax, (double)us / 1000.0, (double)n * 1e6 / (double)us, ws.records, ws.batches,
           mf_hist_quantile(&lat, 0.5), mf_hist_quantile(&lat, 0.99),
           (unsigned long)atomic_load(&done_bad), sum);
    worker_free(w);
    mq_close(q);
    store_close(st);
    mf_config_free(cfg);
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    return system(path) == 0 ? 0 : 1;
}
