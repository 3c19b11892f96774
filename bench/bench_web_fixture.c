/* bench_web_fixture.c -- fills a SQLite store through the store API with a deterministic,
 * plausible data set for the web's API tests (tests/integ/api.sh), browser tests and
 * benchmark (bench/web-bench.sh):
 *
 *   bench_web_fixture DB_FILE [--terminals N] [--points P] [--days D] [--curve-days C]
 *                             [--seed S]
 *   bench_web_fixture DB_FILE --answer-queued       mark every queued/sent command answered
 *                                                   (stands in for front + worker in tests)
 *   bench_web_fixture DB_FILE --expired-token HASH --user NAME
 *                                                   store a session token hash already expired
 *
 * N terminals 4403-0001.. (80 % online), P metering points each with 12-digit meter
 * addresses, areas of 10 terminals (the first point of an area's first terminal is its supply
 * meter), D days of daily frozen forward active energy and daily consumption, C days of
 * 96-point curves ("ap_fwd"), one day of voltages/currents, events, anomalies, online
 * samples, collection and line-loss rows, raw frames. Prints one line: rows written and a
 * checksum of the values (same seed -> same checksum).
 * Thread: main only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_args.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/gw3761.h"
#include "meterflow/store.h"

struct fx {
    struct store *st;
    int terms, points, days, curve_days;
    uint64_t seed;
    int64_t now;
    int32_t today;
    uint64_t rows;
    double checksum;
    char (*areas)[16];
};

static double rnd(struct fx *f) /* xorshift64*, [0,1) */
{
    f->seed ^= f->seed >> 12;
    f->seed ^= f->seed << 25;
    f->seed ^= f->seed >> 27;
    return (double)((f->seed * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static uint32_t term_key(int i)
{
    return gw_terminal_key(0x4403, (uint16_t)(i + 1));
}

static int write(struct fx *f, const struct store_batch *b, size_t n)
{
    int rc;
    for (int tries = 0; (rc = store_batch_write(f->st, b)) == MF_ERETRY && tries < 50; tries++) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (rc != 0) {
        char e[256];
        store_last_error(f->st, e, sizeof(e));
        fprintf(stderr, "fixture: batch write failed: %s (%s)\n", mf_status_str(rc), e);
        exit(1);
    }
    f->rows += n;
    return 0;
}

static void master(struct fx *f)
{
    char name[32], aname[32], addr[16];
    int nareas = (f->terms + 9) / 10;
    f->areas = mf_calloc((size_t)nareas, sizeof(*f->areas));
    for (int a = 0; a < nareas; a++) {
        snprintf(f->areas[a], sizeof(f->areas[a]), "A%03d", a + 1);
        snprintf(aname, sizeof(aname), "Area %d", a + 1);
        struct store_area ar = { .id = f->areas[a], .name = aname, .supply_term = term_key(a * 10),
                                 .supply_pn = 1, .has_supply = 1, .loss_threshold = 0.08 };
        if (store_area_put(f->st, &ar) != 0)
            exit(1);
    }
    for (int i = 0; i < f->terms; i++) {
        snprintf(name, sizeof(name), "Concentrator %d", i + 1);
        struct store_terminal t = { .term = term_key(i), .name = name, .area = f->areas[i / 10],
                                    .vendor = "SIM", .registered = 1, .login_answer = 1 };
        if (store_terminal_put(f->st, &t) != 0)
            exit(1);
        for (int p = 1; p <= f->points; p++) {
            snprintf(addr, sizeof(addr), "%012llu", 100000000000ull + (unsigned long long)i * 1000 + (unsigned)p);
            struct store_meter m = { .term = term_key(i), .pn = (uint16_t)p, .addr = addr,
                                     .area = f->areas[i / 10], .customer_class = "resident",
                                     .is_area_meter = (i % 10 == 0 && p == 1), .multiplier = 1 };
            if (store_meter_put(f->st, &m) != 0)
                exit(1);
        }
    }
}

/* Sessions, frames, events, anomalies, online samples. */
static void status(struct fx *f)
{
    int n = f->terms;
    struct store_session *ss = mf_calloc((size_t)n, sizeof(*ss));
    struct store_frame *fr = mf_calloc((size_t)n, sizeof(*fr));
    struct store_event *ev = mf_calloc((size_t)n, sizeof(*ev));
    struct store_anomaly *an = mf_calloc((size_t)n, sizeof(*an));
    struct store_online_sample os[96];
    char (*peer)[32] = mf_calloc((size_t)n, sizeof(*peer));
    static const uint8_t raw[] = { 14, 5, 0x00, 0x10, 0x25, 0x11, 0x26 };
    static const uint8_t frame[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0xC9, 0x03, 0x44, 0x01,
                                     0x00, 0x00, 0x71, 0x00, 0x00, 0x04, 0x00, 0x10, 0x16 };
    size_t na = 0;

    for (int i = 0; i < n; i++) {
        snprintf(peer[i], sizeof(peer[i]), "127.0.0.1:%d", 40000 + i);
        ss[i] = (struct store_session){ .term = term_key(i), .online = i % 5 != 4,
                                        .has_clock_offset = 1, .clock_offset_s = (i % 7) - 3,
                                        .reason = i % 5 != 4 ? "login" : "timeout",
                                        .peer = peer[i], .at = f->now - 60 - i };
        fr[i] = (struct store_frame){ .term = term_key(i), .at_us = (f->now - 30) * 1000000,
                                      .dir = 1, .raw = frame, .raw_len = sizeof(frame) };
        ev[i] = (struct store_event){ .term = term_key(i), .cls = 1, .erc = 14, .severity = 2,
                                      .started = 1, .occurred_at = f->now - 3600 - i,
                                      .received_at = f->now - 3500 - i,
                                      .fields_json = "{\"kind\":\"power_off\"}", .raw = raw,
                                      .raw_len = sizeof(raw) };
        if (i % 7 == 3)
            an[na++] = (struct store_anomaly){ .kind = i % 2 ? "voltage" : "stopped",
                                               .term = term_key(i), .pn = 1,
                                               .area = f->areas[i / 10], .at = f->now - 7200,
                                               .date = f->today - 1, .severity = 2,
                                               .evidence_json = "{\"ua_v\":245.1}" };
    }
    for (int k = 0; k < 96; k++)
        os[k] = (struct store_online_sample){ .at = f->now - (95 - k) * 900, .registered = n,
                                              .online = n - n / 5 - (k % 9 == 0) };
    struct store_batch b = { .sessions = ss, .n_sessions = (size_t)n, .frames = fr,
                             .n_frames = (size_t)n, .events = ev, .n_events = (size_t)n,
                             .anomalies = an, .n_anomalies = na, .online = os, .n_online = 96 };
    write(f, &b, (size_t)(3 * n) + na + 96);
    free(ss);
    free(fr);
    free(ev);
    free(an);
    free(peer);
}

static int64_t web_fixture_read_at(const struct fx *f, int32_t date)
{
    (void)f;
    int y, m, d;
    mf_days_to_date(date + 1, &y, &m, &d);
    struct mf_civil c = { y, m, d, 0, 5, 0 }; /* read 5 minutes after the freeze */
    return mf_civil_to_utc(&c);
}

/* One day of daily frozen values, consumption, collection and line loss. `ind` holds each
 * point's indication and advances by the day's use. */
static void day(struct fx *f, int32_t date, double *ind)
{
    size_t np = (size_t)f->terms * (size_t)f->points, nf = 0, nm = 0;
    int nareas = (f->terms + 9) / 10;
    struct store_frozen *fz = mf_calloc(np, sizeof(*fz));
    struct store_daily_use *du = mf_calloc(np, sizeof(*du));
    struct store_missing *ms = mf_calloc(np, sizeof(*ms));
    struct store_collect *co = mf_calloc((size_t)nareas + 1, sizeof(*co));
    struct store_line_loss *ll = mf_calloc((size_t)nareas, sizeof(*ll));
    double *supply = mf_calloc((size_t)nareas, sizeof(double));
    double *cons = mf_calloc((size_t)nareas, sizeof(double));
    int *got = mf_calloc((size_t)nareas, sizeof(int));

    for (int i = 0; i < f->terms; i++)
        for (int p = 1; p <= f->points; p++) {
            size_t k = (size_t)i * (size_t)f->points + (size_t)(p - 1);
            int a = i / 10, is_supply = i % 10 == 0 && p == 1;
            double use = is_supply ? 0 : 5 + 10 * rnd(f);
            int missing = date == f->today - 1 && rnd(f) < 0.03;
            if (missing) {
                ms[nm++] = (struct store_missing){ .date = date, .term = term_key(i),
                                                   .pn = (uint16_t)p, .area = f->areas[a] };
                continue;
            }
            ind[k] += use;
            cons[a] += use;
            got[a]++;
            f->checksum += ind[k];
            fz[nf] = (struct store_frozen){ .term = term_key(i), .pn = (uint16_t)p,
                                            .kind = STORE_FROZEN_DAILY, .item = "ap_fwd",
                                            .date = date, .value = ind[k],
                                            .read_at = web_fixture_read_at(f, date) };
            du[nf++] = (struct store_daily_use){ .term = term_key(i), .pn = (uint16_t)p,
                                                 .date = date, .kwh = use, .computed_at = f->now };
        }
    int total = 0;
    for (int a = 0; a < nareas; a++) {
        int exp = MF_MIN(10, f->terms - a * 10) * f->points;
        supply[a] = cons[a] * (1.03 + 0.09 * rnd(f)); /* 3..12 % loss */
        co[a + 1] = (struct store_collect){ .date = date, .area = f->areas[a], .expected = exp,
                                            .collected = got[a], .computed_at = f->now };
        ll[a] = (struct store_line_loss){ .date = date, .area = f->areas[a], .supply_kwh = supply[a],
                                          .consumed_kwh = cons[a], .meters_expected = exp - 1,
                                          .meters_counted = got[a] - 1,
                                          .flag = (supply[a] - cons[a]) / supply[a] > 0.08,
                                          .computed_at = f->now,
                                          .rate = (supply[a] - cons[a]) / supply[a],
                                          .threshold = 0.08, .has_supply = 1, .has_rate = 1,
                                          .has_allowance = 1, .has_threshold = 1 };
        total += got[a];
    }
    co[0] = (struct store_collect){ .date = date, .area = NULL, .expected = (int32_t)np,
                                    .collected = total, .computed_at = f->now };
    struct store_batch b = { .frozen = fz, .n_frozen = nf, .daily_use = du, .n_daily_use = nf,
                             .collect = co, .n_collect = (size_t)nareas + 1, .missing = ms,
                             .n_missing = nm, .line_loss = ll, .n_line_loss = (size_t)nareas };
    write(f, &b, 2 * nf + nm + 2 * (size_t)nareas + 1);
    free(fz);
    free(du);
    free(ms);
    free(co);
    free(ll);
    free(supply);
    free(cons);
    free(got);
}

/* One day of 96-point curves of every point (and, for the last day, voltages/currents). */
static void curve_day(struct fx *f, int32_t date, int with_instant)
{
    size_t np = (size_t)f->terms * (size_t)f->points;
    struct store_curve *cv = mf_calloc(np * 96, sizeof(*cv));
    struct store_instant *in = with_instant ? mf_calloc(np * 96 * 6, sizeof(*in)) : NULL;
    static const char *const q[6] = { "ua", "ub", "uc", "ia", "ib", "ic" };
    int y, m, d;
    size_t nc = 0, ni = 0;

    mf_days_to_date(date, &y, &m, &d);
    struct mf_civil c0 = { y, m, d, 0, 0, 0 };
    int64_t t0 = mf_civil_to_utc(&c0);
    for (size_t k = 0; k < np; k++) {
        double v = 1000 + 50.0 * (double)k;
        for (int s = 1; s <= 96; s++) {
            v += 0.05 + 0.2 * rnd(f);
            cv[nc++] = (struct store_curve){ .term = term_key((int)(k / (size_t)f->points)),
                                             .pn = (uint16_t)(k % (size_t)f->points + 1),
                                             .item = "ap_fwd", .ts = t0 + s * 900, .value = v };
            for (int j = 0; in && j < 6; j++)
                in[ni++] = (struct store_instant){ .term = cv[nc - 1].term, .pn = cv[nc - 1].pn,
                                                   .quantity = q[j], .read_at = t0 + s * 900,
                                                   .value = j < 3 ? 220 + 8 * rnd(f) : 2 + 10 * rnd(f) };
        }
        f->checksum += v;
    }
    struct store_batch b = { .curve = cv, .n_curve = nc, .instant = in, .n_instant = ni };
    write(f, &b, nc + ni);
    free(cv);
    free(in);
}

/* Test helpers: answer queued commands as the worker would; plant an expired token. */
static int tools(struct store *st, int argc, char **argv, int64_t now)
{
    const char *hash = bench_arg_str(argc, argv, "--expired-token");
    if (hash) {
        const char *user = bench_arg_str(argc, argv, "--user");
        return store_token_put(st, hash, user ? user : "admin", now - 7200, now - 3600) != 0;
    }
    json_t *l = NULL, *c;
    size_t i;
    int n = 0;
    for (int s = STORE_CMD_QUEUED; s <= STORE_CMD_SENT; s++) {
        struct store_command_filter f = { .state = store_cmd_state_name(s) };
        f.pg.page = 1;
        f.pg.page_size = 1000;
        if (store_commands_json(st, &f, &l) != 0)
            return 1;
        json_array_foreach(json_object_get(l, "items"), i, c)
        {
            struct store_cmd_result r = {
                .id = (int64_t)json_integer_value(json_object_get(c, "id")),
                .state = STORE_CMD_ANSWERED, .attempts = 1, .at = now,
                .answer_json = "{\"simulated\":true,\"afn\":0,\"result\":\"confirm\"}" };
            if (store_command_update(st, &r) != 0)
                return 1;
            n++;
        }
        json_decref(l);
    }
    printf("answered %d commands\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    struct fx f = { 0 };
    struct store_opts o;
    char err[256];

    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s DB_FILE [--terminals N] [--points P] [--days D] "
                        "[--curve-days C] [--seed S]\n", argv[0]);
        return 2;
    }
    f.terms = bench_arg_int(argc, argv, "--terminals", 20);
    f.points = bench_arg_int(argc, argv, "--points", 4);
    f.days = bench_arg_int(argc, argv, "--days", 30);
    f.curve_days = bench_arg_int(argc, argv, "--curve-days", 2);
    f.seed = (uint64_t)bench_arg_int(argc, argv, "--seed", 42) * 0x9E3779B97F4A7C15ull + 1;
    if (f.terms < 1 || f.terms > 65535 || f.points < 1 || f.points > 2040 || f.days < 1 ||
        f.days > 3660 || f.curve_days < 0 || f.curve_days > f.days) {
        fprintf(stderr, "fixture: sizes out of range\n");
        return 2;
    }
    mf_clock_set_zone("Asia/Shanghai");
    f.now = (int64_t)(mf_now_us() / 1000000u);
    struct mf_civil c;
    mf_utc_to_civil(f.now, &c);
    f.today = mf_date_to_days(c.year, c.month, c.day);
    store_opts_default(&o);
    o.sqlite_path = argv[1];
    o.curve_days = o.instant_days = o.frames_days = 0;
    f.st = store_open_opts(&o, err, sizeof(err));
    if (!f.st) {
        fprintf(stderr, "fixture: %s\n", err);
        return 1;
    }
    if (bench_arg_str(argc, argv, "--expired-token") || (argc > 2 && strcmp(argv[2], "--answer-queued") == 0)) {
        int rc = tools(f.st, argc, argv, f.now);
        store_close(f.st);
        return rc;
    }
    master(&f);
    status(&f);
    double *ind = mf_calloc((size_t)f.terms * (size_t)f.points, sizeof(double));
    for (size_t k = 0; k < (size_t)f.terms * (size_t)f.points; k++)
        ind[k] = 1000 + 50.0 * (double)k;
    for (int32_t dd = f.today - f.days; dd < f.today; dd++)
        day(&f, dd, ind);
    for (int32_t dd = f.today - f.curve_days; dd < f.today; dd++)
        curve_day(&f, dd, dd == f.today - 1);
    free(ind);
    free(f.areas);
    store_close(f.st);
    printf("fixture terminals=%d points=%d days=%d curve_days=%d rows=%llu checksum=%.4f\n",
           f.terms, f.points, f.days, f.curve_days, (unsigned long long)f.rows, f.checksum);
    return 0;
}
