/* bench_web_bigfix.c -- the issue-6 benchmark store at full size, fast: 100,000 metering points
 * with a year of daily frozen values and daily consumption and 30 days of 96-point curves
 * (288 M curve rows), written for bench/web-bench.sh (BIG=1).
 *
 *   bench_web_bigfix DB_FILE master [--terminals N] [--points P] [--days D] [--seed S]
 *   bench_web_bigfix DB_FILE data   [--terminals N] [--points P] [--days D] [--curve-days C]
 *                                   [--seed S] [--chunk K] [--max-secs M]
 *
 * "master" opens the store through the store API (schema and migrations are the store's),
 * writes terminals, meters, areas, sessions, events, anomalies, online samples, collection
 * and line-loss rows for every day, and one energy indication per point, all through
 * store_batch_write (a few hundred thousand rows).
 *
 * "data" writes the big tables -- frozen, daily_use, curve, instant -- with plain SQLite
 * INSERTs, terminal by terminal in primary-key order (every b-tree insert is an append; the
 * time indexes curve_ts/instant_read_at get one append point per distinct time), K terminals
 * per transaction, rollback journal with synchronous=OFF (a killed run loses its last chunk,
 * never the file). It resumes after the last terminal already in `instant` (the last table
 * written per chunk), and stops after M seconds (so one call stays under a time budget; call
 * it again to go on). It prints "done" once every terminal is written. Going around the store
 * API is the point (the API upserts row by row at ~250,000 rows/s; this appends ~4x faster);
 * the column lists are the schema's (store_schema.c step 1), so a schema change breaks this
 * file loudly at the first INSERT.
 *
 * PostgreSQL: DB_FILE "postgres:CONNINFO" (an existing, empty database). "master" is the same
 * (the store API creates the schema); "data" writes the same rows with the same values (%.17g
 * round-trips a double) through COPY ... FROM STDIN, one COPY per table per chunk, each chunk
 * one transaction, resuming the same way (the largest terminal in `instant`). The client
 * only formats text; the server's work is the point (bench/web-conc.sh's PostgreSQL fixture).
 *
 * The line-loss rows carry their rate and threshold (schema step 3) since session 4; the
 * fixtures generated before (/work/fixtures/web-100k, web-100k-pg) have them NULL.
 *
 * Layout as bench_web_fixture: terminals 4403-0001.. (hex A2), P points each, areas of 10
 * terminals, item ap_fwd, tariff 0; values from a per-point seed, so chunks are independent
 * and the checksum printed at the end of each call covers the rows that call wrote.
 * Thread: main only. */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_args.h"
#include "meterflow/buf.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/gw3761.h"
#include "meterflow/store.h"

enum { S_FROZEN, S_USE, S_CURVE, S_INSTANT, S_N };

struct big {
    const char *path;    /* SQLite file */
    const char *pg;      /* or PostgreSQL conninfo ("postgres:" stripped) */
    struct mf_buf copy[S_N]; /* PostgreSQL: a chunk's rows per table, COPY text format */
    int terms, points, days, curve_days, chunk, max_secs;
    uint64_t seed0, seed;
    int64_t now;
    int32_t today;
    double checksum;
    uint64_t rows;
    int64_t *dstart; /* local midnight (UTC s) of today - days .. today */
};

static double rnd(uint64_t *s) /* xorshift64*, [0,1) */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static uint32_t term_key(int i)
{
    return gw_terminal_key(0x4403, (uint16_t)(i + 1));
}

static int64_t day_start(int32_t date) /* local midnight of a civil date, UTC seconds */
{
    int y, m, d;
    mf_days_to_date(date, &y, &m, &d);
    struct mf_civil c = { y, m, d, 0, 0, 0 };
    return mf_civil_to_utc(&c);
}

static void put(struct store *st, const struct store_batch *b, struct big *g, size_t n)
{
    int rc = store_batch_write(st, b);
    if (rc != 0) {
        char e[256];
        store_last_error(st, e, sizeof(e));
        fprintf(stderr, "bigfix: batch write failed: %s (%s)\n", mf_status_str(rc), e);
        exit(1);
    }
    g->rows += n;
}

static void master_terms(struct store *st, struct big *g, char (*areas)[16])
{
    char name[32], addr[16];
    for (int i = 0; i < g->terms; i++) {
        snprintf(name, sizeof(name), "Concentrator %d", i + 1);
        struct store_terminal t = { .term = term_key(i), .name = name, .area = areas[i / 10],
                                    .vendor = "SIM", .registered = 1, .login_answer = 1 };
        if (store_terminal_put(st, &t) != 0)
            exit(1);
        for (int p = 1; p <= g->points; p++) {
            snprintf(addr, sizeof(addr), "%012llu",
                     100000000000ull + (unsigned long long)i * 1000 + (unsigned)p);
            struct store_meter m = { .term = term_key(i), .pn = (uint16_t)p, .addr = addr,
                                     .area = areas[i / 10], .customer_class = "resident",
                                     .is_area_meter = (i % 10 == 0 && p == 1), .multiplier = 1 };
            if (store_meter_put(st, &m) != 0)
                exit(1);
        }
    }
}

/* Sessions, frames, events, anomalies, online samples, one energy indication per point. */
static void master_status(struct store *st, struct big *g, char (*areas)[16])
{
    int n = g->terms, np = g->terms * g->points;
    struct store_session *ss = mf_calloc((size_t)n, sizeof(*ss));
    struct store_event *ev = mf_calloc((size_t)n, sizeof(*ev));
    struct store_anomaly *an = mf_calloc((size_t)n, sizeof(*an));
    struct store_energy *en = mf_calloc((size_t)np, sizeof(*en));
    struct store_online_sample os[96];
    static const uint8_t raw[] = { 14, 5, 0x00, 0x10, 0x25, 0x11, 0x26 };
    size_t na = 0;

    for (int i = 0; i < n; i++) {
        ss[i] = (struct store_session){ .term = term_key(i), .online = i % 5 != 4,
                                        .has_clock_offset = 1, .clock_offset_s = (i % 7) - 3,
                                        .reason = i % 5 != 4 ? "login" : "timeout",
                                        .peer = "127.0.0.1:40000", .at = g->now - 60 - i % 3600 };
        ev[i] = (struct store_event){ .term = term_key(i), .cls = 1, .erc = 14, .severity = 2,
                                      .started = 1, .occurred_at = g->now - 3600 - i,
                                      .received_at = g->now - 3500 - i,
                                      .fields_json = "{\"kind\":\"power_off\"}", .raw = raw,
                                      .raw_len = sizeof(raw) };
        if (i % 7 == 3)
            an[na++] = (struct store_anomaly){ .kind = i % 2 ? "voltage" : "stopped",
                                               .term = term_key(i), .pn = 1,
                                               .area = areas[i / 10], .at = g->now - 7200 - i,
                                               .date = g->today - 1, .severity = 2,
                                               .evidence_json = "{\"ua_v\":245.1}" };
        for (int p = 1; p <= g->points; p++) {
            size_t k = (size_t)i * (size_t)g->points + (size_t)(p - 1);
            en[k] = (struct store_energy){ .term = term_key(i), .pn = (uint16_t)p,
                                           .item = "ap_fwd", .read_at = g->now - 600,
                                           .value = 1000 + 50.0 * (double)k + 3000 };
        }
    }
    for (int k = 0; k < 96; k++)
        os[k] = (struct store_online_sample){ .at = g->now - (95 - k) * 900, .registered = n,
                                              .online = n - n / 5 - (k % 9 == 0) };
    struct store_batch b = { .sessions = ss, .n_sessions = (size_t)n, .events = ev,
                             .n_events = (size_t)n, .anomalies = an, .n_anomalies = na,
                             .online = os, .n_online = 96, .energy = en, .n_energy = (size_t)np };
    put(st, &b, g, 2 * (size_t)n + na + 96 + (size_t)np);
    free(ss);
    free(ev);
    free(an);
    free(en);
}

/* Collection and line loss of every day and area (KPI rows, not derived from the values:
 * the dashboard reads these tables, the point pages read the big ones). */
static void master_kpi(struct store *st, struct big *g, char (*areas)[16])
{
    int nareas = (g->terms + 9) / 10;
    struct store_collect *co = mf_calloc((size_t)nareas + 1, sizeof(*co));
    struct store_line_loss *ll = mf_calloc((size_t)nareas, sizeof(*ll));
    struct store_missing ms[64];
    uint64_t s = g->seed0 ^ 0x5bd1e995u;

    for (int32_t d = g->today - g->days; d < g->today; d++) {
        int total = 0;
        size_t nm = 0;
        for (int a = 0; a < nareas; a++) {
            int exp = MF_MIN(10, g->terms - a * 10) * g->points;
            int got = exp - (rnd(&s) < 0.03);
            double cons = 100 * exp * (0.5 + rnd(&s)), sup = cons * (1.03 + 0.09 * rnd(&s));
            co[a + 1] = (struct store_collect){ .date = d, .area = areas[a], .expected = exp,
                                                .collected = got, .computed_at = g->now };
            ll[a] = (struct store_line_loss){ .date = d, .area = areas[a], .supply_kwh = sup,
                                              .consumed_kwh = cons, .meters_expected = exp - 1,
                                              .meters_counted = got - 1,
                                              .flag = (sup - cons) / sup > 0.08,
                                              .computed_at = g->now,
                                              .rate = (sup - cons) / sup, .threshold = 0.08,
                                              .has_supply = 1, .has_rate = 1,
                                              .has_threshold = 1 };
            if (got < exp && nm < MF_ARRAY_LEN(ms))
                ms[nm++] = (struct store_missing){ .date = d, .term = term_key(a * 10),
                                                   .pn = (uint16_t)g->points, .area = areas[a] };
            total += got;
        }
        co[0] = (struct store_collect){ .date = d, .expected = g->terms * g->points,
                                        .collected = total, .computed_at = g->now };
        struct store_batch b = { .collect = co, .n_collect = (size_t)nareas + 1,
                                 .line_loss = ll, .n_line_loss = (size_t)nareas,
                                 .missing = ms, .n_missing = nm };
        put(st, &b, g, 2 * (size_t)nareas + 1 + nm);
    }
    free(co);
    free(ll);
}

static int master(struct big *g)
{
    struct store_opts o;
    char err[256];
    int nareas = (g->terms + 9) / 10;
    char(*areas)[16] = mf_calloc((size_t)nareas, sizeof(*areas));

    store_opts_default(&o);
    o.sqlite_path = g->path;
    if (g->pg) {
        o.backend = STORE_POSTGRES;
        o.pg_conninfo = g->pg;
    }
    o.curve_days = o.instant_days = o.frames_days = 0;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "bigfix: %s\n", err);
        return 1;
    }
    for (int a = 0; a < nareas; a++) {
        char aname[32];
        snprintf(areas[a], sizeof(areas[a]), "A%04d", a + 1);
        snprintf(aname, sizeof(aname), "Area %d", a + 1);
        struct store_area ar = { .id = areas[a], .name = aname, .supply_term = term_key(a * 10),
                                 .supply_pn = 1, .has_supply = 1, .loss_threshold = 0.08 };
        if (store_area_put(st, &ar) != 0)
            return 1;
    }
    master_terms(st, g, areas);
    master_status(st, g, areas);
    master_kpi(st, g, areas);
    store_close(st);
    free(areas);
    printf("bigfix master terminals=%d points=%d days=%d rows=%llu\n", g->terms, g->points,
           g->days, (unsigned long long)g->rows);
    return 0;
}

/* ---- the big tables, raw SQLite ---- */

static const char *const ins_sql[S_N] = {
    "INSERT INTO frozen (terminal, pn, kind, item, date, tariff, value, status, read_at)"
    " VALUES (?1, ?2, 1, 'ap_fwd', ?3, 0, ?4, 0, ?5)",
    "INSERT INTO daily_use (terminal, pn, date, kwh, status, flags, computed_at)"
    " VALUES (?1, ?2, ?3, ?4, 0, 0, ?5)",
    "INSERT INTO curve (terminal, pn, item, ts, value, status) VALUES (?1, ?2, 'ap_fwd', ?3, ?4, 0)",
    "INSERT INTO instant (terminal, pn, read_at, quantity, value, status)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 0)",
};

static void sq_check(sqlite3 *db, int rc, int want, const char *what)
{
    if (rc != want) {
        fprintf(stderr, "bigfix: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void copy_out(struct big *g, int t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void copy_out(struct big *g, int t, const char *fmt, ...)
{
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n <= 0 || (size_t)n >= sizeof(line) || mf_buf_append(&g->copy[t], line, (size_t)n) != 0) {
        fprintf(stderr, "bigfix: COPY buffer full\n");
        exit(1);
    }
}

/* One row of frozen / daily_use / curve (a = date or ts, b = read_at / computed_at). */
static void row(struct big *g, sqlite3 *db, sqlite3_stmt **ss, int t, const char *tid, int pn,
                int64_t a, double v, int64_t b)
{
    sqlite3_stmt *s = ss ? ss[t] : NULL;
    if (g->pg) {
        long long la = (long long)a, lb = (long long)b;
        if (t == S_FROZEN)
            copy_out(g, t, "%s\t%d\t1\tap_fwd\t%lld\t0\t%.17g\t0\t%lld\n", tid, pn, la, v, lb);
        else if (t == S_USE)
            copy_out(g, t, "%s\t%d\t%lld\t%.17g\t0\t0\t%lld\n", tid, pn, la, v, lb);
        else
            copy_out(g, t, "%s\t%d\tap_fwd\t%lld\t%.17g\t0\n", tid, pn, la, v);
        return;
    }
    sqlite3_bind_text(s, 1, tid, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, pn);
    sqlite3_bind_int64(s, 3, a);
    sqlite3_bind_double(s, 4, v);
    sqlite3_bind_int64(s, 5, b);
    sq_check(db, sqlite3_step(s), SQLITE_DONE, "insert");
    sqlite3_reset(s);
}

/* Every row of one point, in primary-key order of each table. */
static void point(struct big *g, sqlite3 *db, sqlite3_stmt **s, int i, int p)
{
    static const char *const q[6] = { "ia", "ib", "ic", "ua", "ub", "uc" }; /* key order */
    size_t k = (size_t)i * (size_t)g->points + (size_t)(p - 1);
    uint64_t seed = (g->seed0 ^ (k * 0x9E3779B97F4A7C15ull)) | 1;
    char tid[16];
    double ind = 1000 + 50.0 * (double)k, v;

    snprintf(tid, sizeof(tid), "4403-%04X", (unsigned)(i + 1));
    for (int32_t d = g->today - g->days; d < g->today; d++) {
        double use = (i % 10 == 0 && p == 1) ? 0 : 5 + 10 * rnd(&seed);
        ind += use;
        row(g, db, s, S_FROZEN, tid, p, d, ind, g->dstart[d + 1 - (g->today - g->days)] + 300);
        row(g, db, s, S_USE, tid, p, d, use, g->now);
        g->checksum += ind;
    }
    v = ind;
    for (int32_t d = g->today - g->curve_days; d < g->today; d++) {
        int64_t t0 = g->dstart[d - (g->today - g->days)];
        for (int k96 = 1; k96 <= 96; k96++) {
            v += 0.05 + 0.2 * rnd(&seed);
            row(g, db, s, S_CURVE, tid, p, t0 + k96 * 900, v, 0);
        }
    }
    g->checksum += v;
    int64_t t0 = g->dstart[g->days - 1];
    for (int h = 1; h <= 24; h++)
        for (int j = 0; j < 6; j++) {
            if (g->pg) {
                double x = q[j][0] == 'u' ? 220 + 8 * rnd(&seed) : 2 + 10 * rnd(&seed);
                copy_out(g, S_INSTANT, "%s\t%d\t%lld\t%s\t%.17g\t0\n", tid, p,
                         (long long)(t0 + h * 3600), q[j], x);
                continue;
            }
            sqlite3_stmt *st = s[S_INSTANT];
            sqlite3_bind_text(st, 1, tid, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, p);
            sqlite3_bind_int64(st, 3, t0 + h * 3600);
            sqlite3_bind_text(st, 4, q[j], -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 5, q[j][0] == 'u' ? 220 + 8 * rnd(&seed) : 2 + 10 * rnd(&seed));
            sq_check(db, sqlite3_step(st), SQLITE_DONE, "insert instant");
            sqlite3_reset(st);
        }
    g->rows += 2 * (uint64_t)g->days + 96 * (uint64_t)g->curve_days + 144;
}

/* First terminal index not yet written (chunks commit whole terminals). */
static int resume_at(sqlite3 *db)
{
    sqlite3_stmt *s;
    int at = 0;
    sq_check(db, sqlite3_prepare_v2(db, "SELECT MAX(terminal) FROM instant", -1, &s, NULL),
             SQLITE_OK, "resume");
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        if (strlen(t) == 9)
            at = (int)strtol(t + 5, NULL, 16); /* "4403-XXXX": index = A2 - 1, next = A2 */
    }
    sqlite3_finalize(s);
    return at;
}

static int data(struct big *g)
{
    sqlite3 *db;
    sqlite3_stmt *s[S_N];
    time_t t_start = time(NULL);

    sq_check(NULL, sqlite3_open_v2(g->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK, "open");
    sq_check(db, sqlite3_exec(db, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF;"
                              " PRAGMA cache_size=-1000000; PRAGMA temp_store=MEMORY",
                              NULL, NULL, NULL), SQLITE_OK, "pragmas");
    for (int k = 0; k < S_N; k++)
        sq_check(db, sqlite3_prepare_v2(db, ins_sql[k], -1, &s[k], NULL), SQLITE_OK, ins_sql[k]);
    int i = resume_at(db), first = i;
    while (i < g->terms && time(NULL) - t_start < g->max_secs) {
        int end = MF_MIN(g->terms, i + g->chunk);
        sq_check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK, "begin");
        for (; i < end; i++)
            for (int p = 1; p <= g->points; p++)
                point(g, db, s, i, p);
        sq_check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "commit");
    }
    for (int k = 0; k < S_N; k++)
        sqlite3_finalize(s[k]);
    /* Back to the store's journal mode, so `meterflow web` opens it as it always does. */
    if (i >= g->terms)
        sq_check(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK,
                 "wal");
    sqlite3_close(db);
    printf("bigfix data terminals=%d..%d of %d rows=%llu secs=%lld checksum=%.4f%s\n", first,
           i, g->terms, (unsigned long long)g->rows, (long long)(time(NULL) - t_start),
           g->checksum, i >= g->terms ? " done" : "");
    return 0;
}

/* ---- the big tables, PostgreSQL COPY ---- */

static const char *const copy_sql[S_N] = {
    "COPY frozen (terminal, pn, kind, item, date, tariff, value, status, read_at) FROM STDIN",
    "COPY daily_use (terminal, pn, date, kwh, status, flags, computed_at) FROM STDIN",
    "COPY curve (terminal, pn, item, ts, value, status) FROM STDIN",
    "COPY instant (terminal, pn, read_at, quantity, value, status) FROM STDIN",
};

static void pg_check(PGconn *c, PGresult *r, ExecStatusType want, const char *what)
{
    if (PQresultStatus(r) != want) {
        fprintf(stderr, "bigfix: %s: %s\n", what, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* Send one table's buffered rows of the chunk through COPY, then empty the buffer. */
static void pg_copy(PGconn *c, struct big *g, int t)
{
    struct mf_buf *b = &g->copy[t];
    pg_check(c, PQexec(c, copy_sql[t]), PGRES_COPY_IN, copy_sql[t]);
    for (size_t off = 0; off < b->len;) {
        size_t n = MF_MIN(b->len - off, (size_t)1 << 20);
        if (PQputCopyData(c, (const char *)b->data + off, (int)n) != 1) {
            fprintf(stderr, "bigfix: COPY data: %s\n", PQerrorMessage(c));
            exit(1);
        }
        off += n;
    }
    if (PQputCopyEnd(c, NULL) != 1) {
        fprintf(stderr, "bigfix: COPY end: %s\n", PQerrorMessage(c));
        exit(1);
    }
    pg_check(c, PQgetResult(c), PGRES_COMMAND_OK, "COPY");
    PQclear(PQgetResult(c)); /* the NULL that ends the command */
    b->len = 0;
}

static int pg_resume_at(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT MAX(terminal) FROM instant");
    int at = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bigfix: resume: %s\n", PQerrorMessage(c));
        exit(1);
    }
    if (!PQgetisnull(r, 0, 0) && strlen(PQgetvalue(r, 0, 0)) == 9)
        at = (int)strtol(PQgetvalue(r, 0, 0) + 5, NULL, 16);
    PQclear(r);
    return at;
}

static int pg_data(struct big *g)
{
    PGconn *c = PQconnectdb(g->pg);
    time_t t_start = time(NULL);

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bigfix: %s\n", PQerrorMessage(c));
        return 1;
    }
    pg_check(c, PQexec(c, "SET synchronous_commit = off"), PGRES_COMMAND_OK, "set");
    for (int k = 0; k < S_N; k++)
        mf_buf_init(&g->copy[k], (size_t)1 << 31);
    int i = pg_resume_at(c), first = i;
    while (i < g->terms && time(NULL) - t_start < g->max_secs) {
        int end = MF_MIN(g->terms, i + g->chunk);
        for (; i < end; i++)
            for (int p = 1; p <= g->points; p++)
                point(g, NULL, NULL, i, p);
        pg_check(c, PQexec(c, "BEGIN"), PGRES_COMMAND_OK, "begin");
        for (int k = 0; k < S_N; k++)
            pg_copy(c, g, k);
        pg_check(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK, "commit");
    }
    for (int k = 0; k < S_N; k++)
        mf_buf_fini(&g->copy[k]);
    PQfinish(c);
    printf("bigfix data terminals=%d..%d of %d rows=%llu secs=%lld checksum=%.4f%s\n", first,
           i, g->terms, (unsigned long long)g->rows, (long long)(time(NULL) - t_start),
           g->checksum, i >= g->terms ? " done" : "");
    return 0;
}

int main(int argc, char **argv)
{
    struct big g = { 0 };
    if (argc < 3 || (strcmp(argv[2], "master") != 0 && strcmp(argv[2], "data") != 0)) {
        fprintf(stderr, "usage: %s DB_FILE|postgres:CONNINFO master|data [--terminals N] [--points P] [--days D]"
                        " [--curve-days C] [--seed S] [--chunk K] [--max-secs M]\n", argv[0]);
        return 2;
    }
    g.path = argv[1];
    if (strncmp(g.path, "postgres:", 9) == 0)
        g.pg = g.path + 9;
    g.terms = bench_arg_int(argc, argv, "--terminals", 10000);
    g.points = bench_arg_int(argc, argv, "--points", 10);
    g.days = bench_arg_int(argc, argv, "--days", 365);
    g.curve_days = bench_arg_int(argc, argv, "--curve-days", 30);
    g.chunk = bench_arg_int(argc, argv, "--chunk", 50);
    g.max_secs = bench_arg_int(argc, argv, "--max-secs", 240);
    g.seed0 = (uint64_t)bench_arg_int(argc, argv, "--seed", 7) * 0x9E3779B97F4A7C15ull + 1;
    if (g.terms < 1 || g.terms > 65534 || g.points < 1 || g.points > 2040 || g.days < 1 ||
        g.days > 3660 || g.curve_days < 0 || g.curve_days > g.days || g.chunk < 1 ||
        g.max_secs < 1) {
        fprintf(stderr, "bigfix: sizes out of range\n");
        return 2;
    }
    mf_clock_set_zone("Asia/Shanghai");
    /* "today" of the data set: MF_BENCH_TODAY (days since 1970) keeps a resumed or reused
     * fixture on the dates it was started with. */
    const char *td = getenv("MF_BENCH_TODAY");
    g.now = (int64_t)(mf_now_us() / 1000000u);
    struct mf_civil c;
    mf_utc_to_civil(g.now, &c);
    g.today = td ? (int32_t)strtol(td, NULL, 10) : mf_date_to_days(c.year, c.month, c.day);
    g.dstart = mf_calloc((size_t)g.days + 1, sizeof(*g.dstart));
    for (int d = 0; d <= g.days; d++)
        g.dstart[d] = day_start(g.today - g.days + d);
    int rc = strcmp(argv[2], "master") == 0 ? master(&g) : g.pg ? pg_data(&g) : data(&g);
    free(g.dstart);
    return rc;
}
