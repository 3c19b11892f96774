/* bench_store.c -- store write throughput: records/s written through store_batch_write in
 * batches, with a fixed seed and a realistic mix, on SQLite or PostgreSQL.
 *
 * Mix per point and 15-minute cycle (what a worker gets from F129 + F161 + a curve):
 *   5 energy rows (total + 4 tariffs), 5 daily frozen rows (total + 4 tariffs, one date per
 *   cycle), 4 curve points ("p", "ua", "ia", "pf"): 14 records.
 * Points: 32 per terminal. About 1 % of the values are absent (0xEE).
 *
 * Usage: bench_store [--backend sqlite|postgres] [--conninfo ADMIN_CONNINFO] [--records N]
 *                    [--batch B] [--sync normal|full] [--only energy|frozen|curve]
 *   sqlite:   a fresh file under /tmp (removed at the end)
 *   postgres: creates a fresh database mf_bench_<pid> through ADMIN_CONNINFO, drops it at the
 *             end (start a server with scripts/pg.sh start DIR; conninfo in DIR/conninfo)
 * Output: one machine-readable line:
 *   bench=store backend=B records=N batch=S secs=T rps=R batch_p50_ms=X batch_p99_ms=Y
 *   rows=N checksum=C
 * rows must equal records (every key is distinct); checksum sums values read back.
 * Thread: main only. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/hist.h"
#include "meterflow/store.h"

#define T0 1795651200LL
#define D0 20783

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void) /* xorshift64*: fixed seed, same data on every machine */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

struct gen {
    size_t points;
    uint64_t cycle; /* next (point, cycle) position */
    uint64_t point;
};

static uint8_t status_of(void)
{
    return rng() % 100 == 0 ? STORE_V_ABSENT : STORE_V_OK;
}

/* Fill one batch of about `want` records (a multiple of 14). */
static const char *only; /* --only energy|frozen|curve: one table of the mix */

static void fill(struct gen *g, struct store_batch *b, struct store_energy *e,
                 struct store_frozen *f, struct store_curve *c, size_t want)
{
    static const char *const curve_items[4] = { "p", "ua", "ia", "pf" };
    size_t ne = 0, nf = 0, nc = 0;
    while (ne + nf + nc + 14 <= want) {
        uint32_t term = 0x44030000u + (uint32_t)(g->point / 32);
        uint16_t pn = (uint16_t)(g->point % 32 + 1);
        int64_t at = T0 + (int64_t)g->cycle * 900;
        double base = (double)(rng() % 10000000) / 100.0;
        for (int t = 0; t < 5; t++) {
            e[ne++] = (struct store_energy){ term, pn, (uint8_t)t, status_of(), "ap_fwd", at,
                                             base / (t ? 4 : 1) };
            f[nf++] = (struct store_frozen){ term, pn, STORE_FROZEN_DAILY, (uint8_t)t,
                                             status_of(), "ap_fwd", D0 + (int32_t)g->cycle,
                                             base / (t ? 4 : 1) - 1, at };
        }
        for (int k = 0; k < 4; k++)
            c[nc++] = (struct store_curve){ term, pn, status_of(), curve_items[k], at,
                                            (double)(rng() % 100000) / 100.0 };
        if (++g->point == g->points) {
            g->point = 0;
            g->cycle++;
        }
    }
    memset(b, 0, sizeof(*b));
    if (only && strcmp(only, "energy") != 0)
        ne = 0;
    if (only && strcmp(only, "frozen") != 0)
        nf = 0;
    if (only && strcmp(only, "curve") != 0)
        nc = 0;
    b->energy = e;
    b->n_energy = ne;
    b->frozen = f;
    b->n_frozen = nf;
    b->curve = c;
    b->n_curve = nc;
}

static int pg_admin(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "bench_store: %s", PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "bench_store: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

static long long rows_of(struct store *st)
{
    json_t *m = NULL;
    long long n = 0;
    static const char *const t[] = { "energy", "frozen", "curve" };
    if (store_metrics_json(st, &m) != 0)
        return -1;
    /* "energy" counts reports (schema step 4: one row per report); each of this bench's
     * reports is a total + 4 tariffs, 5 records */
    for (int i = 0; i < 3; i++)
        n += (i == 0 ? 5 : 1) * json_integer_value(json_object_get(
                                    json_object_get(json_object_get(m, "tables"), t[i]), "rows"));
    json_decref(m);
    return n;
}

/* Sum of the daily totals of the first 64 points on D0, read back. */
static double checksum(struct store *st)
{
    double sum = 0, v;
    int s;
    for (uint32_t p = 0; p < 64; p++)
        if (store_frozen_get(st, 0x44030000u + p / 32, (uint16_t)(p % 32 + 1),
                             STORE_FROZEN_DAILY, "ap_fwd", D0, 0, &v, &s) == 0 && s == 0)
            sum += v;
    return sum;
}

int main(int argc, char **argv)
{
    const char *backend = "sqlite", *conninfo = NULL, *sync = "normal";
    size_t records = 1000000, batch = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--backend"))
            backend = argv[i + 1];
        else if (!strcmp(argv[i], "--conninfo"))
            conninfo = argv[i + 1];
        else if (!strcmp(argv[i], "--records"))
            records = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--batch"))
            batch = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--sync"))
            sync = argv[i + 1];
        else if (!strcmp(argv[i], "--only"))
            only = argv[i + 1];
    }
    if (batch < 14 || batch > 200000 || records < batch) {
        fprintf(stderr, "bench_store: need 14 <= batch <= 200000 and records >= batch\n");
        return 2;
    }
    struct store_opts o;
    char path[256], dbci[1024], dbname[64], sql[128], err[512];
    store_opts_default(&o);
    snprintf(dbname, sizeof(dbname), "mf_bench_%d", (int)getpid());
    if (!strcmp(backend, "postgres")) {
        if (!conninfo) {
            fprintf(stderr, "bench_store: --conninfo needed for postgres\n");
            return 2;
        }
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
        if (pg_admin(conninfo, sql) != 0)
            return 1;
        snprintf(dbci, sizeof(dbci), "%s dbname=%s", conninfo, dbname);
        o.backend = STORE_POSTGRES;
        o.pg_conninfo = dbci;
    } else {
        snprintf(path, sizeof(path), "/tmp/mf-bench-store-%d.db", (int)getpid());
        o.sqlite_path = path;
        o.sqlite_sync_full = !strcmp(sync, "full");
    }
    struct store *st = store_open_opts(&o, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    struct store_energy *e = mf_calloc(batch, sizeof(*e));
    struct store_frozen *f = mf_calloc(batch, sizeof(*f));
    struct store_curve *c = mf_calloc(batch, sizeof(*c));
    static struct mf_hist h;
    struct gen g = { .points = 100000 };
    struct store_batch b;
    size_t done = 0;
    int rc = 0;
    mf_hist_reset(&h);
    uint64_t t0 = mf_mono_us();
    while (done + 14 <= records && rc == 0) {
        size_t want = MF_MIN(batch, records - done);
        /* --only: scale the slice so the batch still holds about `batch` records */
        fill(&g, &b, e, f, c, only ? want * 14 / 5 : want);
        uint64_t t1 = mf_mono_us();
        rc = store_batch_write(st, &b);
        mf_hist_add(&h, mf_mono_us() - t1);
        done += b.n_energy + b.n_frozen + b.n_curve;
    }
    double secs = (double)(mf_mono_us() - t0) / 1e6;
    if (rc != 0) {
        store_last_error(st, err, sizeof(err));
        fprintf(stderr, "bench_store: write failed: %s: %s\n", mf_status_str(rc), err);
    }
    printf("bench=store backend=%s sync=%s records=%zu batch=%zu secs=%.3f rps=%.0f "
           "batch_p50_ms=%.2f batch_p99_ms=%.2f rows=%lld checksum=%.2f\n",
           backend, o.backend == STORE_SQLITE ? sync : "-", done, batch, secs,
           (double)done / secs, (double)mf_hist_quantile(&h, 0.5) / 1000.0,
           (double)mf_hist_quantile(&h, 0.99) / 1000.0, rows_of(st), checksum(st));
    store_close(st);
    free(e);
    free(f);
    free(c);
    if (o.backend == STORE_POSTGRES) {
        snprintf(sql, sizeof(sql), "DROP DATABASE %s", dbname);
        pg_admin(conninfo, sql);
    } else {
        char wal[300];
        unlink(path);
        snprintf(wal, sizeof(wal), "%s-wal", path);
        unlink(wal);
        snprintf(wal, sizeof(wal), "%s-shm", path);
        unlink(wal);
    }
    return rc == 0 ? 0 : 1;
}
