/* bench_api_fixture.c -- the API benchmark's store (issue 6) and the store side of its
 * latency: generate N metering points with a year of daily values and 30 days of 96-point
 * curves for a subset, through store_batch_write, then time the store calls behind the
 * point-history and dashboard endpoints directly (no HTTP), p50/p99 over random points.
 *
 * Usage: bench_api_fixture DB [--points N] [--days D] [--curve-points C] [--curve-days CD]
 *                             [--queries Q] [--reuse]
 *   DB: a SQLite file (created; kept, so the web engineer can serve it), or
 *       "postgres:CONNINFO" for a PostgreSQL database (its schema is created by the store).
 *   --reuse: skip generation (the DB was generated before with the same sizes).
 * Generated, deterministic (fixed seed): N points (32 per terminal, terminals 4403-0001..,
 * registered, area A<terminal/10>), D days of daily frozen forward active total
 * (frozen, kind daily, item "ap_fwd", tariff 0; 1 % absent) ending yesterday, and for the
 * first C points CD days of 96-point curves (curve, item "p").
 * Timed (Q random points each, one store handle, the machine's other load included):
 *   daily   store_point_daily_json(point, the whole year)          365 frozen rows
 *   curve1  store_point_curve_json(curve point, one day)            96 rows
 *   curve30 store_point_curve_json(curve point, 30 days)          2880 rows
 *   energy  store_point_energy_json(point, one day)               (empty table: index probe)
 *   dash    store_online_count + store_kpi_collect_json(yesterday) + store_metrics_json
 *           + store_terminals_json(page 1 of 50): the dashboard tiles and first table
 * Output: one line per query kind "bench=api_store q=K n=Q p50_ms=X p99_ms=Y max_ms=Z rows=R"
 * (R = rows returned in total, a check that the queries found data).
 * Thread: main only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/hist.h"
#include "meterflow/store.h"

#define PER_TERM 32

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rng(void) /* xorshift64*: fixed seed */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

struct cfg {
    long points, days, curve_points, curve_days, queries;
    int32_t today; /* days since epoch */
};

static int flush(struct store *st, struct store_batch *b)
{
    int rc = store_batch_write(st, b);
    for (int tries = 0; rc == MF_ERETRY && tries < 50; tries++)
        rc = store_batch_write(st, b);
    if (rc != 0) {
        char err[512];
        store_last_error(st, err, sizeof(err));
        fprintf(stderr, "bench_api_fixture: write: %s: %s\n", mf_status_str(rc), err);
    }
    b->n_frozen = b->n_curve = 0;
    return rc;
}

#define BATCH 20000

static int gen_master(struct store *st, const struct cfg *c)
{
    char name[24], area[24];
    for (long t = 0; t < (c->points + PER_TERM - 1) / PER_TERM; t++) {
        snprintf(name, sizeof(name), "T%ld", t + 1);
        snprintf(area, sizeof(area), "A%ld", t / 10);
        struct store_terminal term = { 0x44030001u + (uint32_t)t, name, area, "bench", 1, 0, 1 };
        if (store_terminal_put(st, &term) != 0)
            return -1;
    }
    return 0;
}

static int gen_data(struct store *st, const struct cfg *c)
{
    static struct store_frozen f[BATCH];
    static struct store_curve cv[BATCH];
    struct store_batch b = { 0 };
    b.frozen = f;
    b.curve = cv;
    for (long p = 0; p < c->points; p++) {
        uint32_t term = 0x44030001u + (uint32_t)(p / PER_TERM);
        uint16_t pn = (uint16_t)(p % PER_TERM + 1);
        double total = (double)(rng() % 100000);
        for (long d = c->days; d >= 1; d--) {
            total += (double)(rng() % 2000) / 100.0;
            int32_t date = c->today - (int32_t)d;
            uint8_t s = rng() % 100 == 0 ? STORE_V_ABSENT : STORE_V_OK;
            f[b.n_frozen++] = (struct store_frozen){ term, pn, STORE_FROZEN_DAILY, 0, s,
                                                     "ap_fwd", date, total,
                                                     (int64_t)date * 86400 + 300 };
            if (b.n_frozen == BATCH && flush(st, &b) != 0)
                return -1;
        }
        if (p >= c->curve_points)
            continue;
        int64_t t0 = ((int64_t)c->today - c->curve_days) * 86400;
        for (long k = 0; k < c->curve_days * 96; k++) {
            cv[b.n_curve++] = (struct store_curve){ term, pn, STORE_V_OK, "p", t0 + k * 900,
                                                    (double)(rng() % 100000) / 100.0 };
            if (b.n_curve == BATCH && flush(st, &b) != 0)
                return -1;
        }
    }
    return (b.n_frozen || b.n_curve) ? flush(st, &b) : 0;
}

static void term_text(long p, char *out, size_t n)
{
    unsigned t = 0x0001u + (unsigned)(p / PER_TERM);
    snprintf(out, n, "4403-%04X", t);
}

static size_t rows_of(json_t *j)
{
    if (json_is_array(j))
        return json_array_size(j);
    if (json_is_object(j)) {
        size_t n = 0;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (json_is_array(v))
                n += json_array_size(v);
            else if (json_is_array(json_object_get(v, "items")))
                n += json_array_size(json_object_get(v, "items"));
        }
        n += json_array_size(json_object_get(j, "items"));
        return n;
    }
    return 0;
}

/* One timed call of kind k for a random point. Returns rows or -1. */
static long one(struct store *st, const struct cfg *c, int k)
{
    char t[16];
    json_t *j = NULL;
    int rc;
    long p = (long)(rng() % (uint64_t)(k == 1 || k == 2 ? c->curve_points : c->points));
    int pn = (int)(p % PER_TERM + 1);
    int64_t day0 = ((int64_t)c->today - 1) * 86400;
    term_text(p, t, sizeof(t));
    switch (k) {
    case 0:
        rc = store_point_daily_json(st, t, pn, c->today - (int32_t)c->days, c->today - 1, &j);
        break;
    case 1:
        rc = store_point_curve_json(st, t, pn, "p", day0, day0 + 86400, &j);
        break;
    case 2:
        rc = store_point_curve_json(st, t, pn, "p", day0 - 29 * 86400, day0 + 86400, &j);
        break;
    case 3:
        rc = store_point_energy_json(st, t, pn, day0, day0 + 86400, &j);
        break;
    default: {
        int32_t reg, onl;
        json_t *a = NULL, *b = NULL, *d = NULL;
        struct store_terminal_filter f = { .online = -1, .pg = { 1, 50 } };
        rc = store_online_count(st, &reg, &onl);
        if (rc == 0)
            rc = store_kpi_collect_json(st, c->today - 1, c->today - 1, NULL, &a);
        if (rc == 0)
            rc = store_metrics_json(st, &b);
        if (rc == 0)
            rc = store_terminals_json(st, &f, &d);
        j = json_pack("{s:o*,s:o*,s:o*}", "collect", a, "metrics", b, "terminals", d);
        if (rc == 0 && reg <= 0)
            rc = MF_EFATAL; /* the master data is missing */
    }
    }
    long n = rc == 0 ? (long)rows_of(j) : -1;
    json_decref(j);
    return n;
}

static int time_reads(struct store *st, const struct cfg *c)
{
    static const char *const names[] = { "daily", "curve1", "curve30", "energy", "dash" };
    static struct mf_hist h;
    for (int k = 0; k < 5; k++) {
        long rows = 0;
        if ((k == 1 || k == 2) && c->curve_points == 0)
            continue;
        mf_hist_reset(&h);
        for (long i = 0; i < c->queries; i++) {
            uint64_t t0 = mf_mono_us();
            long n = one(st, c, k);
            mf_hist_add(&h, mf_mono_us() - t0);
            if (n < 0) {
                char err[512];
                store_last_error(st, err, sizeof(err));
                fprintf(stderr, "bench_api_fixture: %s failed: %s\n", names[k], err);
                return -1;
            }
            rows += n;
        }
        printf("bench=api_store q=%s n=%ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f rows=%ld\n",
               names[k], c->queries, (double)mf_hist_quantile(&h, 0.5) / 1000.0,
               (double)mf_hist_quantile(&h, 0.99) / 1000.0,
               (double)mf_hist_quantile(&h, 1.0) / 1000.0, rows);
    }
    return 0;
}

static long opt(int argc, char **argv, const char *name, long def, long max)
{
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) {
            long v = strtol(argv[i + 1], NULL, 10);
            return v >= 0 && v <= max ? v : def;
        }
    return def;
}

int main(int argc, char **argv)
{
    struct cfg c;
    struct store_opts o;
    char err[512];
    int reuse = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_api_fixture DB|postgres:CONNINFO [--points N] [--days D]"
                        " [--curve-points C] [--curve-days CD] [--queries Q] [--reuse]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++)
        reuse |= !strcmp(argv[i], "--reuse");
    c.points = opt(argc, argv, "--points", 10000, 1000000);
    c.days = opt(argc, argv, "--days", 365, 3660);
    c.curve_points = MF_MIN(opt(argc, argv, "--curve-points", 1000, 1000000), c.points);
    c.curve_days = opt(argc, argv, "--curve-days", 30, 366);
    c.queries = opt(argc, argv, "--queries", 2000, 10000000);
    c.today = 20783; /* 2026-11-26: fixed, so reruns find the same data */
    store_opts_default(&o);
    if (!strncmp(argv[1], "postgres:", 9)) {
        o.backend = STORE_POSTGRES;
        o.pg_conninfo = argv[1] + 9;
    } else {
        o.sqlite_path = argv[1];
    }
    struct store *st = store_open_opts(&o, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "bench_api_fixture: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (!reuse) {
        uint64_t t0 = mf_mono_us();
        rc = gen_master(st, &c) == 0 && gen_data(st, &c) == 0 ? 0 : 1;
        printf("bench=api_fixture points=%ld days=%ld frozen_rows=%ld curve_points=%ld "
               "curve_days=%ld curve_rows=%ld secs=%.1f\n",
               c.points, c.days, c.points * c.days, c.curve_points, c.curve_days,
               c.curve_points * c.curve_days * 96, (double)(mf_mono_us() - t0) / 1e6);
    }
    if (rc == 0)
        rc = time_reads(st, &c) == 0 ? 0 : 1;
    store_close(st);
    return rc;
}
