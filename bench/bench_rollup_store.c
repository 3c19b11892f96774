/* bench_rollup_store.c -- the daily rollup of worker_analytics_run against a real SQLite
 * store: N points with H days of daily frozen values, 200 points per area, fixed seed.
 * Measures what dominates at scale: the bulk history reads (ceil(H/2) passes of
 * store_points_day_iter) and the batch writes of consumption, success, missing list, line
 * loss, anomalies and re-collection tasks.
 *
 * Usage: bench_rollup_store [points] [days]   (default 100000 points, 8 days)
 * Output: one line
 *   bench=rollup_store points=N days=H fill_ms=F rollup_ms=T pts_per_s=R collected=C sum=X
 * The store files live in a mkdtemp directory removed at the end. Thread: main only. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/modcfg.h"
#include "meterflow/proc.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static uint32_t term_of(size_t i)
{
    return (uint32_t)0x4403u << 16 | (uint32_t)(i / 64);
}

static int write_csv(const char *dir, size_t n, char *areas, char *meters, size_t len)
{
    snprintf(areas, len, "%s/areas.csv", dir);
    snprintf(meters, len, "%s/meters.csv", dir);
    FILE *a = fopen(areas, "w"), *m = fopen(meters, "w");
    if (!a || !m)
        return -1;
    fprintf(a, "id,name,supply_terminal,supply_pn,loss_threshold\n");
    fprintf(m, "terminal,pn,addr,area,customer_class,is_area_meter,multiplier\n");
    for (size_t i = 0; i < n; i++) {
        uint32_t t = term_of(i);
        unsigned pn = (unsigned)(i % 64 + 1);
        if (i % 200 == 0)
            fprintf(a, "A%zu,area %zu,4403-%04X,%u,0.08\n", i / 200, i / 200, t & 0xFFFFu, pn);
        fprintf(m, "4403-%04X,%u,%012zu,A%zu,resident,%d,1\n", t & 0xFFFFu, pn, i, i / 200,
                i % 200 == 0);
    }
    fclose(a);
    fclose(m);
    return 0;
}

/* H days of indications per point, about 2 % missing, written 200,000 records a batch. */
static int fill_frozen(struct store *st, size_t n, int days, int32_t D)
{
    size_t cap = 200000, k = 0;
    struct store_frozen *v = mf_calloc(cap, sizeof(*v));
    struct store_batch b;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        double x = (double)(rng() % 90000000) / 100.0;
        double per_day = i % 200 == 0 ? 2000.0 : (double)(rng() % 1500) / 100.0;
        for (int d = 0; d < days && rc == 0; d++) {
            x += per_day;
            if (rng() % 50 == 0)
                continue;
            v[k++] = (struct store_frozen){ term_of(i), (uint16_t)(i % 64 + 1),
                                            STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd",
                                            D - days + 1 + d, x, 0 };
            if (k == cap) {
                memset(&b, 0, sizeof(b));
                b.frozen = v;
                b.n_frozen = k;
                rc = store_batch_write(st, &b);
                k = 0;
            }
        }
    }
    if (rc == 0 && k) {
        memset(&b, 0, sizeof(b));
        b.frozen = v;
        b.n_frozen = k;
        rc = store_batch_write(st, &b);
    }
    free(v);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000u;
    int days = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 8;
    char dir[64], path[128], areas[128], meters[128], err[512];
    if (n == 0 || n > 5000000u || days < 2 || days > 31) {
        fprintf(stderr, "usage: bench_rollup_store [points 1..5000000] [days 2..31]\n");
        return 2;
    }
    mf_clock_set_zone("Asia/Shanghai");
    snprintf(dir, sizeof(dir), "/tmp/mf-bench-rollup-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/b.db", dir);
    static const struct mf_cfg_item *const tables[] = { queue_cfg, worker_cfg, NULL };
    static const char *const pass[] = { "kafka", NULL };
    struct mf_config *cfg = mf_config_new(tables, pass);
    char wd[16];
    snprintf(wd, sizeof(wd), "%d", days - 1);
    mf_config_set(cfg, "analytics", "window_days", wd, "bench", err, sizeof(err));
    mf_config_set(cfg, "worker", "analytics", "false", "bench", err, sizeof(err));
    struct store_opts o;
    store_opts_default(&o);
    o.sqlite_path = path;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    struct mq *q = mq_open(cfg, err, sizeof(err));
    struct worker *w = st && q ? worker_new_with(cfg, q, st, NULL, err, sizeof(err)) : NULL;
    if (!w) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    int32_t D = mf_date_to_days(2026, 11, 25);
    uint64_t t0 = mf_mono_us();
    size_t rows = 0;
    int rc = write_csv(dir, n, areas, meters, sizeof(areas));
    if (rc == 0)
        rc = store_import_csv(st, STORE_IMPORT_AREAS, areas, &rows, err, sizeof(err));
    if (rc == 0)
        rc = store_import_csv(st, STORE_IMPORT_METERS, meters, &rows, err, sizeof(err));
    if (rc == 0)
        rc = fill_frozen(st, n, days, D);
    uint64_t t1 = mf_mono_us();
    if (rc == 0)
        rc = worker_analytics_run(w, D, (int64_t)(D + 1) * 86400 - 8 * 3600 + 3600);
    uint64_t t2 = mf_mono_us();
    if (rc != 0) {
        fprintf(stderr, "failed: %s %s\n", mf_status_str(rc), err);
        return 1;
    }
    json_t *j = NULL;
    int64_t collected = -1;
    if (store_kpi_collect_json(st, D, D, NULL, &j) == 0)
        collected = json_integer_value(json_object_get(json_array_get(j, 0), "collected"));
    json_decref(j);
    uint64_t sum = 1469598103934665603ull ^ (uint64_t)collected;
    sum *= 1099511628211ull;
    printf("bench=rollup_store points=%zu days=%d fill_ms=%.0f rollup_ms=%.0f pts_per_s=%.0f "
           "collected=%" PRId64 " sum=%016" PRIx64 "\n",
           n, days, (double)(t1 - t0) / 1000.0, (double)(t2 - t1) / 1000.0,
           (double)n * 1e6 / (double)(t2 - t1 ? t2 - t1 : 1), collected, sum);
    worker_free(w);
    mq_close(q);
    store_close(st);
    mf_config_free(cfg);
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    return system(path) == 0 ? 0 : 1;
}
