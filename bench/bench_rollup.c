/* bench_rollup.c -- the daily rollup (consumption, success rate, line loss, anomaly rules)
 * over N points with a fixed seed: how long the pure computation takes, and a checksum of
 * the results so a fast wrong build is caught.
 *
 * Usage: bench_rollup [points] [hist_days]     (default 1000000 points, 8 days)
 * Output: one machine-readable line:
 *   bench=rollup points=N days=H areas=A ms=T pts_per_s=R collected=C anomalies=K sum=X
 * This measures the pure computation only; the store side (bulk reads of the history, the
 * batch write) is measured separately (docs/ANALYTICS.md "Scale"). Thread: main only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/proc.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void) /* xorshift64*: fixed seed, same data on every machine */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* 200 points per area: point 0 of each area is its supply meter. About 2 % of the values
 * are missing, 0.1 % of the customers jump, a few go backwards or roll over. */
static void fill(struct proc_point *pts, int64_t *hist, size_t n, int days)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t term = 0x44030000u + (uint32_t)(i / 64);
        pts[i].key = proc_point_key(term, (uint16_t)(i % 64 + 1));
        pts[i].area = (uint32_t)(i / 200);
        pts[i].role = i % 200 == 0 ? PROC_ROLE_SUPPLY : PROC_ROLE_CUSTOMER;
        pts[i].modulus_e4 = 0;
        pts[i].multiplier = 1;
        int64_t v = (int64_t)(rng() % (900000ull * 10000ull));
        int64_t per_day = pts[i].role == PROC_ROLE_SUPPLY ? 2000 * 10000 : (int64_t)(rng() % 150000);
        if (rng() % 1000 == 0)
            v = PROC_DEFAULT_MODULUS_E4 - 20000; /* about to roll over */
        for (int d = 0; d < days; d++) {
            v += per_day + (int64_t)(rng() % 20000);
            if (d == days - 1 && rng() % 1000 == 0)
                v += per_day * 20; /* jump */
            if (d == days - 1 && rng() % 5000 == 0)
                v -= 500000; /* backwards */
            v %= PROC_DEFAULT_MODULUS_E4;
            hist[i * (size_t)days + (size_t)d] = rng() % 50 == 0 ? PROC_HIST_NONE : v;
        }
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000u;
    int days = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 8;
    if (n == 0 || n > 20000000u || days < 2 || days > PROC_WINDOW_MAX) {
        fprintf(stderr, "usage: bench_rollup [points 1..20000000] [days 2..%d]\n",
                PROC_WINDOW_MAX);
        return 2;
    }
    uint32_t nareas = (uint32_t)((n + 199) / 200);
    struct proc_point *pts = mf_calloc(n, sizeof(*pts));
    int64_t *hist = mf_calloc(n * (size_t)days, sizeof(*hist));
    struct proc_cons *cons = mf_calloc(n, sizeof(*cons));
    struct proc_area_out *areas = mf_calloc(nareas, sizeof(*areas));
    size_t acap = n / 10 + 16;
    struct proc_anomaly *av = mf_calloc(acap, sizeof(*av));
    fill(pts, hist, n, days);

    struct proc_cfg cfg;
    proc_cfg_defaults(&cfg);
    cfg.window_days = days - 1;
    struct proc_rollup_in in = { 20000, pts, n, nareas, NULL, hist, days, NULL, 0 };
    struct proc_rollup_out out = { cons, areas, 0, 0, { av, 0, acap, 0 } };
    uint64_t t0 = mf_mono_us();
    int rc = proc_rollup(&cfg, &in, &out);
    uint64_t us = mf_mono_us() - t0;
    if (rc != 0) {
        fprintf(stderr, "proc_rollup: %d\n", rc);
        return 1;
    }
    uint64_t sum = 0; /* FNV-1a over the results */
    for (size_t i = 0; i < n; i++)
        sum = (sum ^ (uint64_t)cons[i].kwh_e4 ^ cons[i].status) * 1099511628211ull;
    for (uint32_t a = 0; a < nareas; a++)
        sum = (sum ^ (uint64_t)areas[a].loss_e4 ^ areas[a].status) * 1099511628211ull;
    for (size_t k = 0; k < out.anoms.n; k++)
        sum = (sum ^ av[k].kind ^ av[k].point) * 1099511628211ull;
    printf("bench=rollup points=%zu days=%d areas=%" PRIu32 " ms=%.1f pts_per_s=%.0f "
           "collected=%" PRIu32 " anomalies=%zu sum=%016" PRIx64 "\n",
           n, days, nareas, (double)us / 1000.0, (double)n * 1e6 / (double)(us ? us : 1),
           out.collected, out.anoms.n, sum);
    free(pts);
    free(hist);
    free(cons);
    free(areas);
    free(av);
    return 0;
}
