/* tsan: yes */
/* test_worker.c -- the worker against the embedded queue and the SQLite store, in process:
 * a frame delivered twice gives one row; a store that says "retry later" is retried without
 * a commit and without loss; the producer's done(0) fires only once the rows exist; a fatal
 * store error releases (done != 0) and stops; undecodable frames are kept raw and confirmed;
 * session and command-status envelopes; the analytics run and re-collection on top. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame_test_util.h"
#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/envelope.h"
#include "meterflow/gw3761.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"
#include "worker/worker_int.h" /* wk_clock_units */
#include "worker_fix.h"

/* Fault injection: the first `retries` writes say retry later, or every write is fatal. */
struct inject {
    atomic_int retries_left;
    atomic_int fatal;
    atomic_int calls;
    atomic_int einval_values; /* refuse (MF_EINVAL) any batch holding frozen values */
};

static int inject_write(void *opaque, struct store *st, const struct store_batch *b)
{
    struct inject *in = opaque;
    atomic_fetch_add(&in->calls, 1);
    if (atomic_load(&in->fatal))
        return MF_EFATAL;
    if (atomic_load(&in->einval_values) && b->n_frozen > 0)
        return MF_EINVAL;
    if (atomic_load(&in->retries_left) > 0) {
        atomic_fetch_sub(&in->retries_left, 1);
        return MF_ERETRY;
    }
    return store_batch_write(st, b);
}

static void inject_init(struct inject *in, int retries, int fatal, int einval_values)
{
    atomic_init(&in->retries_left, retries);
    atomic_init(&in->fatal, fatal);
    atomic_init(&in->calls, 0);
    atomic_init(&in->einval_values, einval_values);
}

/* The fixture with the tests' timings (5 ms batches, 5-20 ms retries), analytics on or
 * off, and the fault seam when in is not NULL. */
static void fix_open(struct fix *f, struct inject *in, int analytics)
{
    const char *const sets[] = { "batch_max_ms", "5", "retry_min_ms", "5", "retry_max_ms", "20",
                                 "analytics", analytics ? "true" : "false", NULL };
    struct worker_hooks h = { in ? inject_write : NULL, NULL, in };
    fix_open_with(f, "mf-worker", sets, &h, 0);
}

/* Producer side: done() results. */
struct done {
    atomic_int calls;
    atomic_int last;
    atomic_int rows_seen; /* the frozen row existed when done(0) fired */
    struct store *st;
};

static void on_done(void *opaque, int status)
{
    struct done *d = opaque;
    if (status == 0 && d->st) {
        double v;
        int s;
        if (store_frozen_get(d->st, (uint32_t)0x0171u << 16 | 0x0822u, 1, STORE_FROZEN_DAILY,
                             "ap_fwd", mf_date_to_days(2026, 11, 25), 0, &v, &s) == 0)
            atomic_fetch_add(&d->rows_seen, 1);
    }
    atomic_store(&d->last, status);
    atomic_fetch_add(&d->calls, 1);
}

static int wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 2000; i++) { /* 20 s deadline */
        if (atomic_load(v) >= want)
            return 1;
        usleep(10000);
    }
    return 0;
}

/* The frame around a data-unit area: C=88, A=0171-0822, SEQ=60 (frame_test_util.h). */
#define frame(afn, units_hex, f) tf_answer_0171((afn), (units_hex), (f), sizeof(f))

static int produce_env(struct mq *q, uint8_t kind, uint64_t cmd_id, const uint8_t *payload,
                       size_t len, struct done *d)
{
    static uint8_t env[MF_ENV_MAX];
    struct mf_env e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.received_at_us = (uint64_t)1764115200 * 1000000u; /* 2025-11-26T00:00:00Z */
    e.cmd_id = cmd_id;
    e.front_id = 1;
    e.a1 = 0x0171;
    e.a2 = 0x0822;
    e.payload = payload;
    e.payload_len = (uint32_t)len;
    int n = mf_env_encode(&e, env, sizeof(env));
    if (n < 0)
        return n;
    return mq_produce(q, MQ_UPLINK, "0171-0822", 9, env, (size_t)n, on_done, d);
}

/* Produce the uplink frame of (afn, units) as the front would, done() to d. */
static int send_frame(struct fix *f, struct done *d, uint8_t afn, const char *units_hex)
{
    uint8_t fr[256];
    size_t n = frame(afn, units_hex, fr);
    return produce_env(f->q, MF_ENV_FRAME, 0, fr, n, d);
}

/* p1 F161 for 2026-11-25: total 1234.5678 kWh, tariff 1 absent (protocol text 9.6). */
static const char *F161 = "01 01 01 14 25 11 26 59 23 25 11 26 01 78 56 34 12 00 EE EE EE EE EE";

static int frozen_rows(struct store *st)
{
    json_t *j = NULL;
    int32_t d = mf_date_to_days(2026, 11, 25);
    if (store_point_daily_json(st, "0171-0822", 1, d, d, &j) != 0)
        return -1;
    int n = (int)json_array_size(json_object_get(j, "frozen"));
    json_decref(j);
    return n;
}

MF_TEST(frame_twice_one_row_done_after_rows)
{
    struct fix f;
    struct done d = { 0 };
    fix_open(&f, NULL, 0);
    d.st = f.st;
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK_EQ_INT(send_frame(&f, &d, 0x0D, F161), 0);
    CHECK_EQ_INT(send_frame(&f, &d, 0x0D, F161), 0);
    CHECK(wait_for(&d.calls, 2));
    CHECK_EQ_INT(atomic_load(&d.last), 0);
    CHECK_EQ_INT(atomic_load(&d.rows_seen), 2); /* each done(0) saw the row already there */
    CHECK_EQ_INT(frozen_rows(f.st), 2);         /* total + tariff 1, once */
    double v;
    int s;
    CHECK_EQ_INT(store_frozen_get(f.st, (uint32_t)0x0171u << 16 | 0x0822u, 1, STORE_FROZEN_DAILY,
                                  "ap_fwd", mf_date_to_days(2026, 11, 25), 0, &v, &s),
                 0);
    CHECK_NEAR(v, 1234.5678, 1e-9);
    CHECK_EQ_INT(s, STORE_V_OK);
    CHECK_EQ_INT(store_frozen_get(f.st, (uint32_t)0x0171u << 16 | 0x0822u, 1, STORE_FROZEN_DAILY,
                                  "ap_fwd", mf_date_to_days(2026, 11, 25), 1, &v, &s),
                 0);
    CHECK_EQ_INT(s, STORE_V_ABSENT);
    worker_stop(f.w);
    struct worker_stats ws;
    worker_stats_get(f.w, &ws);
    CHECK_EQ_INT(ws.frames, 2);
    CHECK_EQ_INT(ws.decode_errors, 0);
    fix_close(&f);
}

MF_TEST(store_retry_no_commit_no_loss)
{
    struct fix f;
    struct inject in;
    struct done d = { 0 };
    inject_init(&in, 1000000, 0, 0);
    fix_open(&f, &in, 0);
    d.st = f.st;
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK_EQ_INT(send_frame(&f, &d, 0x0D, F161), 0);
    CHECK(wait_for(&in.calls, 5)); /* retried several times ... */
    CHECK_EQ_INT(atomic_load(&d.calls), 0); /* ... and nothing confirmed meanwhile */
    CHECK_EQ_INT(frozen_rows(f.st), 0);
    atomic_store(&in.retries_left, 0); /* the store recovers */
    CHECK(wait_for(&d.calls, 1));
    CHECK_EQ_INT(atomic_load(&d.last), 0);
    CHECK_EQ_INT(atomic_load(&d.rows_seen), 1);
    CHECK_EQ_INT(frozen_rows(f.st), 2);
    struct worker_stats ws;
    worker_stats_get(f.w, &ws);
    CHECK(ws.store_retries >= 4);
    CHECK_EQ_INT(ws.commits, 1);
    fix_close(&f);
}

MF_TEST(store_fatal_releases_and_stops)
{
    struct fix f;
    struct inject in;
    struct done d = { 0 };
    inject_init(&in, 0, 1, 0);
    fix_open(&f, &in, 0);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK_EQ_INT(send_frame(&f, &d, 0x0D, F161), 0);
    CHECK(wait_for(&d.calls, 1));
    CHECK(atomic_load(&d.last) != 0); /* not durable: the front must not confirm */
    for (int i = 0; i < 2000 && !worker_failed(f.w); i++)
        usleep(10000);
    CHECK_EQ_INT(worker_failed(f.w), 1);
    fix_close(&f);
}

MF_TEST(undecodable_frame_kept_raw_and_confirmed)
{
    struct fix f;
    struct done d = { 0 };
    fix_open(&f, NULL, 0);
    struct store_terminal t = { (uint32_t)0x0171u << 16 | 0x0822u, "t1", NULL, NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t), 0);
    /* 0C F200 has no layout: the unit does not decode */
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK_EQ_INT(send_frame(&f, &d, 0x0C, "01 01 80 18 01 02 03"), 0);
    CHECK(wait_for(&d.calls, 1));
    CHECK_EQ_INT(atomic_load(&d.last), 0);
    worker_stop(f.w);
    struct worker_stats ws;
    worker_stats_get(f.w, &ws);
    CHECK_EQ_INT(ws.decode_errors, 1);
    json_t *j = NULL;
    CHECK_EQ_INT(store_terminal_json(f.st, "0171-0822", 10, &j), 0);
    json_t *frames = json_object_get(j, "frames");
    CHECK_EQ_INT(json_array_size(frames), 1);
    const char *hex = json_string_value(json_object_get(json_array_get(frames, 0), "hex"));
    CHECK(hex && strncmp(hex, "68 ", 3) == 0);
    /* why: DA 01 01 = p1, DT 80 18 = F(24 x 8 + 8) = F200, 3 data bytes after it */
    const char *why = json_string_value(json_object_get(json_array_get(frames, 0), "error"));
    CHECK(why != NULL);
    CHECK_STR(why ? why : "", "AFN 0C F200 p1: no layout for this Fn; 3 bytes not decoded");
    json_decref(j);
    fix_close(&f);
}

MF_TEST(session_and_command_status)
{
    struct fix f;
    struct done d = { 0 };
    uint8_t p[256];
    fix_open(&f, NULL, 0);
    struct mf_env_session s;
    memset(&s, 0, sizeof(s));
    s.state = MF_SESSION_ONLINE;
    s.known = 1;
    snprintf(s.peer, sizeof(s.peer), "127.0.0.1:40000");
    int n = mf_env_session_encode(&s, p, sizeof(p));
    CHECK(n > 0);
    int64_t cmd = 0;
    struct store_command c = { (uint32_t)0x0171u << 16 | 0x0822u, 0x0C, "{}", "tester", 1 };
    CHECK_EQ_INT(store_command_create(f.st, &c, &cmd), 0);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_SESSION, 0, p, (size_t)n, &d), 0);
    struct mf_env_cmd_status cs;
    memset(&cs, 0, sizeof(cs));
    cs.state = MF_CMD_TIMEOUT;
    cs.attempts = 3;
    snprintf(cs.detail, sizeof(cs.detail), "no answer");
    n = mf_env_cmd_status_encode(&cs, p, sizeof(p));
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_CMD_STATUS, (uint64_t)cmd, p, (size_t)n, &d), 0);
    CHECK(wait_for(&d.calls, 2));
    /* the session lane (embedded queue) writes the change after the commit: wait for it */
    int online = 0;
    json_t *j = NULL;
    for (int i = 0; i < 2000 && !online; i++) {
        if (store_terminal_json(f.st, "0171-0822", 0, &j) == 0) {
            online = json_is_true(json_object_get(j, "online"));
            json_decref(j);
            j = NULL;
        }
        if (!online)
            usleep(10000);
    }
    CHECK(online);
    CHECK_EQ_INT(store_command_json(f.st, cmd, &j), 0);
    CHECK_STR(json_string_value(json_object_get(j, "state")), "timeout");
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "attempts")), 3);
    json_decref(j);
    fix_close(&f);
}

/* ---- analytics and re-collection against the store ---- */

#define T1 ((uint32_t)0x0171u << 16 | 0x0822u)

static void put_frozen(struct store *st, uint16_t pn, int32_t date, double v)
{
    struct store_frozen f = { T1, pn, STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd", date, v, 0 };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.frozen = &f;
    b.n_frozen = 1;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
}

static char *dump(json_t *j)
{
    static char buf[8192];
    char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, sizeof(buf), "%s", t ? t : "");
    free(t);
    json_decref(j);
    return buf;
}

/* Area A1: supply p1 1000 -> 1100; customers p2 200 -> 240, p3 50 -> 95, p4 70 -> 70
 * (stopped), p5 10 -> (missing on D): incomplete. Area A2: supply p6 10 -> 20, customer
 * p7 0 -> 12: negative loss. Expected 7 points, 6 collected, p5 missing and re-collected. */
MF_TEST(analytics_rollup_and_recollect)
{
    struct fix f;
    struct done d = { 0 };
    char err[256];
    fix_open(&f, NULL, 0);
    mf_config_set(f.cfg, "worker", "recollect_per_terminal_per_min", "5", "test", err,
                  sizeof(err));
    int32_t D = mf_date_to_days(2026, 11, 25);
    struct store_area a1 = { "A1", "area one", T1, 1, 1, 0.10 };
    struct store_area a2 = { "A2", "area two", T1, 6, 1, 0.10 };
    CHECK_EQ_INT(store_area_put(f.st, &a1), 0);
    CHECK_EQ_INT(store_area_put(f.st, &a2), 0);
    struct store_terminal t = { T1, "t1", "A1", NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t), 0);
    static const double prev[8] = { 0, 1000, 200, 50, 70, 10, 10, 0 };
    static const double today[8] = { 0, 1100, 240, 95, 70, -1, 20, 12 };
    for (uint16_t pn = 1; pn <= 7; pn++) {
        char addr[16];
        snprintf(addr, sizeof(addr), "00000000000%u", pn);
        struct store_meter m = { T1, pn, addr, pn <= 5 ? "A1" : "A2", "resident",
                                 pn == 1 || pn == 6, 1.0 };
        CHECK_EQ_INT(store_meter_put(f.st, &m), 0);
        put_frozen(f.st, pn, D - 1, prev[pn]);
        if (today[pn] >= 0)
            put_frozen(f.st, pn, D, today[pn]);
    }
    struct store_session s = { T1, 1, 0, 0, "online", "127.0.0.1:1", 1764115200 };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.sessions = &s;
    b.n_sessions = 1;
    CHECK_EQ_INT(store_batch_write(f.st, &b), 0);

    int64_t now = (int64_t)(D + 1) * 86400 - 8 * 3600 + 3600; /* 01:00 on D + 1 (UTC+8) */
    struct store_terminal t2 = { T1 + 1, "t2", "A1", NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t2), 0);
    struct store_session s2[2] = { { T1 + 1, 1, 0, 0, "online", NULL, now - 100000 },
                                   { T1 + 1, 0, 0, 0, "timeout", NULL, now - 90000 } };
    b.sessions = s2;
    b.n_sessions = 2;
    CHECK_EQ_INT(store_batch_write(f.st, &b), 0);

    /* a front's downlink consumer, there before the request is published */
    enum mq_topic dl = MQ_DOWNLINK;
    struct mq_consumer *front = mq_consumer_open(f.q, &dl, 1, "front-1", err, sizeof(err));
    CHECK(front != NULL);

    CHECK_EQ_INT(worker_analytics_run(f.w, D, now), 0);

    json_t *j = NULL;
    CHECK_EQ_INT(store_kpi_collect_json(f.st, D, D, NULL, &j), 0);
    char *txt = dump(j);
    CHECK(strstr(txt, "\"collected\":6") != NULL);
    CHECK(strstr(txt, "\"expected\":7") != NULL);
    struct store_page pg = { 1, 50 };
    CHECK_EQ_INT(store_kpi_missing_json(f.st, D, NULL, &pg, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"total\":1") != NULL);
    CHECK(strstr(txt, "\"pn\":5") != NULL);
    CHECK_EQ_INT(store_kpi_lineloss_json(f.st, D, D, "A1", &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"flag\":3") != NULL || strstr(txt, "\"flag\":\"incomplete\"") != NULL);
    /* consumed = 85 measured + p5's allowance, the mean 85 / 3 = 28.3333 (no median) */
    CHECK(strstr(txt, "\"consumed_kwh\":113.333") != NULL); /* 113.3333 as a double */
    CHECK_EQ_INT(store_kpi_lineloss_json(f.st, D, D, "A2", &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"flag\":2") != NULL || strstr(txt, "\"flag\":\"negative\"") != NULL);
    CHECK(strstr(txt, "\"supply_kwh\":10") != NULL);
    CHECK(strstr(txt, "\"consumed_kwh\":12") != NULL);
    struct store_anomaly_filter af;
    memset(&af, 0, sizeof(af));
    af.kind = "stopped";
    CHECK_EQ_INT(store_anomalies_json(f.st, &af, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"total\":1") != NULL);
    CHECK(strstr(txt, "\"pn\":4") != NULL);
    CHECK_EQ_INT(store_recollect_json(f.st, D, &pg, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"state\":\"pending\"") != NULL);
    af.kind = "offline"; /* 0171-0823 went offline 25 h before now */
    CHECK_EQ_INT(store_anomalies_json(f.st, &af, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"total\":1") != NULL);
    CHECK(strstr(txt, "\"terminal\":\"0171-0823\"") != NULL);
    CHECK(strstr(txt, "\"value\":90000") != NULL);

    /* the re-collection request: p5 F161 with Td_d 25 11 26 */
    CHECK_EQ_INT(worker_recollect_tick(f.w, now), 1);
    struct mq_batch mb;
    memset(&mb, 0, sizeof(mb));
    CHECK_EQ_INT(mq_consumer_poll(front, &mb, 10, 5000), 0);
    CHECK_EQ_INT(mb.n, 1);
    json_t *cmdj = mb.n ? json_loadb((const char *)mb.msgs[0].val, mb.msgs[0].val_len, 0, NULL)
                        : NULL;
    CHECK_STR(json_string_value(json_object_get(cmdj, "units_hex")), "10 01 01 14 25 11 26");
    CHECK_STR(json_string_value(json_object_get(cmdj, "terminal")), "0171-0822");
    CHECK_EQ_INT(json_integer_value(json_object_get(cmdj, "afn")), 13);
    int64_t cmd_id = json_integer_value(json_object_get(cmdj, "cmd_id"));
    CHECK(cmd_id > 0);
    json_decref(cmdj);
    if (mb.n)
        mq_commit(f.q, &mb);
    CHECK_EQ_INT(store_recollect_json(f.st, D, &pg, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"state\":\"sent\"") != NULL);
    CHECK(strstr(txt, "\"attempts\":1") != NULL);
    /* nothing due again before recollect_retry_min */
    CHECK_EQ_INT(worker_recollect_tick(f.w, now + 60), 0);

    /* the terminal answers (uplink frame tied to the command): value stored, command done */
    uint8_t fr[256];
    size_t n = frame(0x0D, "10 01 01 14 25 11 26 59 23 25 11 26 00 00 00 15 00 00", fr);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_FRAME, (uint64_t)cmd_id, fr, n, &d), 0);
    CHECK(wait_for(&d.calls, 1));
    worker_stop(f.w);
    CHECK_EQ_INT(store_command_json(f.st, cmd_id, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"state\":\"answered\"") != NULL);
    /* the next tick after the retry delay finds the value and closes the task */
    CHECK_EQ_INT(worker_recollect_tick(f.w, now + 31 * 60), 0);
    CHECK_EQ_INT(store_recollect_json(f.st, D, &pg, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"state\":\"done\"") != NULL);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, now + 32 * 60), 0);
    CHECK_EQ_INT(store_kpi_collect_json(f.st, D, D, NULL, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"collected\":7") != NULL);
    mq_consumer_close(front);
    fix_close(&f);
}

/* The analytics run's newer rules against the store, inputs by hand (D = 2026-11-25 in
 * Asia/Shanghai, which starts at 16:00 UTC on D - 1):
 *  - area A1 (threshold 10 %): supply p1 1000 -> 1100 (100 kWh), customers p2 100 -> 130 and
 *    p3 200 -> 250 (80 kWh): loss 20 kWh = 20 %: high, an anomaly line_loss on p1, the row
 *    with rate 0.2, threshold 0.1, allowance 0, flag 1;
 *  - p4 (no area) 10 -> 12 kWh, but the terminal's meter table showed 440300000004 for it on
 *    D - 1 and 440300000099 on D: replaced (no consumption, anomaly replaced);
 *  - 0171-0822 logged in 10 times and dropped 10 times on D: flapping; 0171-0823 logged in
 *    3 times: not. */
MF_TEST(analytics_line_loss_replaced_flapping)
{
    struct fix f;
    fix_open(&f, NULL, 0);
    int32_t D = mf_date_to_days(2026, 11, 25);
    int64_t d0 = (int64_t)D * 86400 - 8 * 3600; /* 00:00 of D, civil */
    struct store_area a1 = { "A1", "area one", T1, 1, 1, 0.10 };
    CHECK_EQ_INT(store_area_put(f.st, &a1), 0);
    struct store_terminal t = { T1, "t1", "A1", NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t), 0);
    static const double prev[5] = { 0, 1000, 100, 200, 10 };
    static const double today[5] = { 0, 1100, 130, 250, 12 };
    for (uint16_t pn = 1; pn <= 4; pn++) {
        struct store_meter m = { T1, pn, "", pn <= 3 ? "A1" : NULL, "resident", pn == 1, 1.0 };
        CHECK_EQ_INT(store_meter_put(f.st, &m), 0);
        put_frozen(f.st, pn, D - 1, prev[pn]);
        put_frozen(f.st, pn, D, today[pn]);
    }
    struct store_meter_cfg mc[2] = {
        { T1, 4, 4, 2, 3, 30, 4, 0x11, "440300000004", NULL, d0 - 12 * 3600 },
        { T1, 4, 4, 2, 3, 30, 4, 0x11, "440300000099", NULL, d0 + 10 * 3600 },
    };
    struct store_session ss[23];
    size_t ns = 0;
    for (int k = 0; k < 10; k++) {
        ss[ns++] = (struct store_session){ T1, 1, 0, 0, "online", NULL, d0 + 3600 + k * 60 };
        ss[ns++] = (struct store_session){ T1, 0, 0, 0, "closed", NULL, d0 + 3630 + k * 60 };
    }
    for (int k = 0; k < 3; k++)
        ss[ns++] = (struct store_session){ T1 + 1, 1, 0, 0, "online", NULL, d0 + 7200 + k };
    struct store_batch b = { .meter_cfg = mc, .n_meter_cfg = 2, .sessions = ss,
                             .n_sessions = ns };
    CHECK_EQ_INT(store_batch_write(f.st, &b), 0);

    CHECK_EQ_INT(worker_analytics_run(f.w, D, d0 + 86400 + 3600), 0);
    json_t *j = NULL;
    CHECK_EQ_INT(store_kpi_lineloss_json(f.st, D, D, "A1", &j), 0);
    json_t *row = json_array_get(j, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(row, "flag")), 1);
    CHECK_NEAR(json_real_value(json_object_get(row, "rate")), 0.2, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(row, "supply_kwh")), 100, 1e-9);
    CHECK_NEAR(json_real_value(json_object_get(row, "consumed_kwh")), 80, 1e-9);
    CHECK_NEAR(json_real_value(json_object_get(row, "threshold")), 0.1, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(row, "allowance_kwh")), 0, 1e-12);
    json_decref(j);
    struct store_anomaly_filter af;
    memset(&af, 0, sizeof(af));
    af.kind = "line_loss";
    CHECK_EQ_INT(store_anomalies_json(f.st, &af, &j), 0);
    char *txt = dump(j);
    CHECK(strstr(txt, "\"total\":1") != NULL);
    CHECK(strstr(txt, "\"area\":\"A1\"") != NULL);
    CHECK(strstr(txt, "\"pn\":1,") != NULL);
    CHECK(strstr(txt, "\"value\":20") != NULL);
    af.kind = "replaced";
    CHECK_EQ_INT(store_anomalies_json(f.st, &af, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"total\":1") != NULL);
    CHECK(strstr(txt, "\"pn\":4,") != NULL);
    CHECK(strstr(txt, "\"value\":12") != NULL);
    CHECK(strstr(txt, "\"ref\":10") != NULL);
    CHECK_EQ_INT(store_point_daily_json(f.st, "0171-0822", 4, D, D, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"flags\":2") != NULL); /* stored as reset/replaced, no kWh */
    af.kind = "flapping";
    CHECK_EQ_INT(store_anomalies_json(f.st, &af, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"total\":1") != NULL);
    CHECK(strstr(txt, "\"terminal\":\"0171-0822\"") != NULL);
    CHECK(strstr(txt, "\"value\":10") != NULL);
    CHECK(strstr(txt, "\"date\":\"2026-11-25\"") != NULL);
    /* a second run keeps one anomaly of each */
    CHECK_EQ_INT(worker_analytics_run(f.w, D, d0 + 86400 + 7200), 0);
    CHECK_EQ_INT(store_anomalies_json(f.st, &af, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"total\":1") != NULL);
    fix_close(&f);
}

static int recollect_total(struct store *st, int32_t day, char **txt)
{
    json_t *j = NULL;
    struct store_page pg = { 1, 50 };
    if (store_recollect_json(st, day, &pg, &j) != 0)
        return -1;
    int total = (int)json_integer_value(json_object_get(j, "total"));
    *txt = dump(j);
    return total;
}

/* Re-collection beyond yesterday, idempotent planning. Deadline 72 h, now = 01:00 on D + 1:
 * D - 2 is within it (its deadline is 00:00 on D + 2), D - 3 is not. p2's value of D - 2 is
 * missing; D - 1 and D are complete. The days to roll up for re-collection are {D - 2};
 * its rollup plans p2, the tick asks p2 F161 Td_d = 23 11 26; a new worker on the same store
 * (a restart) rolls D - 2 up again and keeps the task's state and attempts. */
MF_TEST(recollect_older_day_and_idempotent_plan)
{
    struct fix f;
    char err[256];
    fix_open(&f, NULL, 0);
    CHECK_EQ_INT(mf_config_set(f.cfg, "worker", "recollect_deadline_hours", "72", "test", err,
                               sizeof(err)), 0);
    int32_t D = mf_date_to_days(2026, 11, 25);
    struct store_area a1 = { "A1", "area one", T1, 1, 1, 0.10 };
    CHECK_EQ_INT(store_area_put(f.st, &a1), 0);
    struct store_terminal t = { T1, "t1", "A1", NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t), 0);
    for (uint16_t pn = 1; pn <= 2; pn++) {
        struct store_meter m = { T1, pn, pn == 1 ? "000000000001" : "000000000002", "A1",
                                 "resident", pn == 1, 1.0 };
        CHECK_EQ_INT(store_meter_put(f.st, &m), 0);
        for (int32_t d = D - 3; d <= D; d++)
            if (!(pn == 2 && d == D - 2))
                put_frozen(f.st, pn, d, 100.0 * (d - D + 4) * pn);
    }
    int64_t now = (int64_t)(D + 1) * 86400 - 8 * 3600 + 3600; /* 01:00 on D + 1 (UTC+8) */
    struct store_session s = { T1, 1, 0, 0, "online", "127.0.0.1:1", now - 600 };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.sessions = &s;
    b.n_sessions = 1;
    CHECK_EQ_INT(store_batch_write(f.st, &b), 0);
    enum mq_topic dl = MQ_DOWNLINK;
    struct mq_consumer *front = mq_consumer_open(f.q, &dl, 1, "front-1", err, sizeof(err));
    CHECK(front != NULL);

    CHECK_EQ_INT(worker_analytics_run(f.w, D, now), 0);
    CHECK_EQ_INT(worker_analytics_run(f.w, D - 1, now), 0);
    int32_t days[8];
    size_t nd = wk_recollect_days(f.w, now, days, 8);
    CHECK_EQ_INT((int)nd, 1);
    CHECK_EQ_INT(nd ? days[0] : 0, D - 2);
    CHECK_EQ_INT(worker_analytics_run(f.w, D - 2, now), 0);
    CHECK_EQ_INT(worker_analytics_run(f.w, D + 1, now), 0); /* today: not over, no task */
    char *txt;
    CHECK_EQ_INT(recollect_total(f.st, D + 1, &txt), 0);
    CHECK_EQ_INT(recollect_total(f.st, D, &txt), 0);
    CHECK_EQ_INT(recollect_total(f.st, D - 2, &txt), 1);
    CHECK(strstr(txt, "\"pn\":2") != NULL && strstr(txt, "\"state\":\"pending\"") != NULL);
    CHECK_EQ_INT(wk_recollect_days(f.w, now, days, 8), 1); /* still incomplete */

    CHECK_EQ_INT(worker_recollect_tick(f.w, now), 1);
    struct mq_batch mb;
    memset(&mb, 0, sizeof(mb));
    CHECK_EQ_INT(mq_consumer_poll(front, &mb, 10, 5000), 0);
    CHECK_EQ_INT(mb.n, 1);
    json_t *cmdj = mb.n ? json_loadb((const char *)mb.msgs[0].val, mb.msgs[0].val_len, 0, NULL)
                        : NULL;
    /* p2: DA1 = 02, DA2 = 01; F161: DT1 = 01, DT2 = 20 = 0x14; Td_d 23 11 26 */
    CHECK_STR(json_string_value(json_object_get(cmdj, "units_hex")), "02 01 01 14 23 11 26");
    json_decref(cmdj);
    if (mb.n)
        mq_commit(f.q, &mb);
    worker_free(f.w); /* a restart: a new worker on the same store */
    struct worker_hooks h = { NULL, NULL, NULL };
    f.w = worker_new_with(f.cfg, f.q, f.st, &h, err, sizeof(err));
    CHECK(f.w != NULL);
    if (!f.w)
        return;
    CHECK_EQ_INT(worker_analytics_run(f.w, D - 2, now + 120), 0); /* planned again */
    CHECK_EQ_INT(recollect_total(f.st, D - 2, &txt), 1);
    CHECK(strstr(txt, "\"state\":\"sent\"") != NULL);
    CHECK(strstr(txt, "\"attempts\":1") != NULL);
    CHECK_EQ_INT(worker_recollect_tick(f.w, now + 180), 0); /* not due before the retry */
    mq_consumer_close(front);
    fix_close(&f);
}

/* A.1 of AFN=05 F31 from the protocol text (9.10): 2015-03-12 10:30:55, a Thursday ->
 * 55 30 10 12 83 15, after p0 F31 = 00 00 40 03. */
MF_TEST(clock_sync_units)
{
    struct mf_civil c = { 2015, 3, 12, 10, 30, 55 };
    uint8_t u[10];
    static const uint8_t want[10] = { 0x00, 0x00, 0x40, 0x03, 0x55, 0x30, 0x10, 0x12, 0x83, 0x15 };
    wk_clock_units(&c, u);
    CHECK_MEM(u, want, 10);
}

/* A heartbeat clock 600 s ahead: one clock anomaly stored and, with clock_auto_sync, one
 * AFN=05 F31 command on the downlink after the batch is written; a second deviation within
 * the hour sends nothing more. */
MF_TEST(clock_deviation_auto_sync)
{
    struct fix f;
    struct done d = { 0 };
    char err[256];
    uint8_t p[128];
    fix_open(&f, NULL, 0);
    fix_set(&f, "clock_auto_sync", "true");
    enum mq_topic dl = MQ_DOWNLINK;
    struct mq_consumer *front = mq_consumer_open(f.q, &dl, 1, "front-1", err, sizeof(err));
    CHECK_EQ_INT(worker_start(f.w), 0);
    struct mf_env_session s;
    memset(&s, 0, sizeof(s));
    s.state = MF_SESSION_CLOCK;
    s.has_clock = 1;
    s.clock_offset_s = 600;
    int n = mf_env_session_encode(&s, p, sizeof(p));
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_SESSION, 0, p, (size_t)n, &d), 0);
    CHECK(wait_for(&d.calls, 1));
    struct mq_batch mb;
    memset(&mb, 0, sizeof(mb));
    CHECK_EQ_INT(mq_consumer_poll(front, &mb, 10, 5000), 0);
    CHECK_EQ_INT(mb.n, 1);
    json_t *cj = mb.n ? json_loadb((const char *)mb.msgs[0].val, mb.msgs[0].val_len, 0, NULL)
                      : NULL;
    CHECK_EQ_INT(json_integer_value(json_object_get(cj, "afn")), 5);
    const char *uh = json_string_value(json_object_get(cj, "units_hex"));
    CHECK(uh && strncmp(uh, "00 00 40 03 ", 12) == 0 && strlen(uh) == 29);
    json_decref(cj);
    if (mb.n)
        mq_commit(f.q, &mb);
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_SESSION, 0, p, (size_t)n, &d), 0);
    CHECK(wait_for(&d.calls, 2));
    memset(&mb, 0, sizeof(mb));
    CHECK_EQ_INT(mq_consumer_poll(front, &mb, 10, 200), 0);
    CHECK_EQ_INT(mb.n, 0);
    struct store_anomaly_filter af;
    memset(&af, 0, sizeof(af));
    af.kind = "clock";
    json_t *j = NULL;
    CHECK_EQ_INT(store_anomalies_json(f.st, &af, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    worker_stop(f.w);
    mq_consumer_close(front);
    fix_close(&f);
}

/* publish = on: the readings JSON of a stored F161 value, one object per value. */
MF_TEST(readings_json_published_after_store)
{
    struct fix f;
    struct done d = { 0 };
    char err[256];
    uint8_t fr[256];
    fix_open(&f, NULL, 0);
    fix_set(&f, "publish", "on");
    enum mq_topic rt = MQ_READINGS;
    struct mq_consumer *c = mq_consumer_open(f.q, &rt, 1, "data-team", err, sizeof(err));
    CHECK_EQ_INT(worker_start(f.w), 0);
    size_t n = frame(0x0D, F161, fr);
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_FRAME, 0, fr, n, &d), 0);
    CHECK(wait_for(&d.calls, 1));
    json_t *v[2] = { NULL, NULL };
    size_t got = 0;
    for (int tries = 0; tries < 50 && got < 2; tries++) {
        struct mq_batch mb;
        memset(&mb, 0, sizeof(mb));
        if (mq_consumer_poll(c, &mb, 10, 100) != 0)
            continue;
        for (size_t i = 0; i < mb.n && got < 2; i++) {
            CHECK(mb.msgs[i].key_len == 9 && memcmp(mb.msgs[i].key, "0171-0822", 9) == 0);
            v[got++] = json_loadb((const char *)mb.msgs[i].val, mb.msgs[i].val_len, 0, NULL);
        }
        if (mb.n)
            mq_commit(f.q, &mb);
    }
    CHECK_EQ_INT(got, 2);
    CHECK_STR(json_string_value(json_object_get(v[0], "terminal")), "0171-0822");
    CHECK_EQ_INT(json_integer_value(json_object_get(v[0], "pn")), 1);
    CHECK_STR(json_string_value(json_object_get(v[0], "kind")), "frozen_daily");
    CHECK_STR(json_string_value(json_object_get(v[0], "item")), "ap_fwd");
    CHECK_EQ_INT(json_integer_value(json_object_get(v[0], "tariff")), 0);
    CHECK_NEAR(json_real_value(json_object_get(v[0], "value")), 1234.5678, 1e-9);
    CHECK_STR(json_string_value(json_object_get(v[0], "status")), "ok");
    CHECK_STR(json_string_value(json_object_get(v[0], "date")), "2026-11-25");
    CHECK_STR(json_string_value(json_object_get(v[0], "time")), "2026-11-25T15:59:00Z");
    CHECK_EQ_INT(json_integer_value(json_object_get(v[1], "tariff")), 1);
    CHECK(json_is_null(json_object_get(v[1], "value")));
    CHECK_STR(json_string_value(json_object_get(v[1], "status")), "absent");
    json_decref(v[0]);
    json_decref(v[1]);
    worker_stop(f.w);
    mq_consumer_close(c);
    fix_close(&f);
}

/* publish = on: the events JSON of an ERC14 record, as docs/QUEUE.md shows it (ev-erc14-01:
 * off 2010-07-31 14:40, on 2010-08-03 11:31 civil Asia/Shanghai; raw spaced upper-case hex). */
MF_TEST(events_json_published_after_store)
{
    struct fix f;
    struct done d = { 0 };
    char err[256];
    fix_open(&f, NULL, 0);
    fix_set(&f, "publish", "on");
    enum mq_topic et = MQ_EVENTS;
    struct mq_consumer *c = mq_consumer_open(f.q, &et, 1, "data-team", err, sizeof(err));
    CHECK_EQ_INT(worker_start(f.w), 0);
    /* 0E p0 F1: EC1 1, EC2 0, Pm 0, Pn 1, then ERC14 Le 10 */
    CHECK_EQ_INT(send_frame(&f, &d, 0x0E, "00 00 01 00 01 00 00 01 "
                                          "0E 0A 40 14 31 07 10 31 11 03 08 10"),
                 0);
    CHECK(wait_for(&d.calls, 1));
    json_t *v = NULL;
    for (int tries = 0; tries < 50 && !v; tries++) {
        struct mq_batch mb;
        memset(&mb, 0, sizeof(mb));
        if (mq_consumer_poll(c, &mb, 10, 100) != 0 || mb.n == 0)
            continue;
        CHECK(mb.msgs[0].key_len == 9 && memcmp(mb.msgs[0].key, "0171-0822", 9) == 0);
        v = json_loadb((const char *)mb.msgs[0].val, mb.msgs[0].val_len, 0, NULL);
        mq_commit(f.q, &mb);
    }
    CHECK(v != NULL);
    CHECK_STR(json_string_value(json_object_get(v, "terminal")), "0171-0822");
    CHECK_EQ_INT(json_integer_value(json_object_get(v, "class")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(v, "erc")), 14);
    CHECK_STR(json_string_value(json_object_get(v, "time")), "2010-07-31T06:40:00Z");
    json_t *fl = json_object_get(v, "fields");
    CHECK_STR(json_string_value(json_object_get(fl, "off_time")), "2010-07-31T06:40:00Z");
    CHECK_STR(json_string_value(json_object_get(fl, "on_time")), "2010-08-03T03:31:00Z");
    CHECK_STR(json_string_value(json_object_get(v, "raw")), "0E 0A 40 14 31 07 10 31 11 03 08 10");
    json_decref(v);
    worker_stop(f.w);
    mq_consumer_close(c);
    fix_close(&f);
}

/* A task still open when its deadline passes is marked expired (attempts kept); the
 * scheduler (analytics = true) stores an online-rate sample on its first round. */
MF_TEST(recollect_expiry_and_scheduler_online_sample)
{
    struct fix f;
    fix_open(&f, NULL, 1);
    int32_t D = mf_date_to_days(2026, 11, 25);
    int64_t deadline = (int64_t)(D + 1) * 86400 - 8 * 3600 + 48 * 3600;
    struct store_recollect r = { T1, 3, D, "sent", 2, deadline - 600, deadline, 7, deadline - 900 };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.recollect = &r;
    b.n_recollect = 1;
    CHECK_EQ_INT(store_batch_write(f.st, &b), 0);
    CHECK_EQ_INT(worker_recollect_tick(f.w, deadline - 60), 0);
    json_t *j = NULL;
    struct store_page pg = { 1, 50 };
    CHECK_EQ_INT(store_recollect_json(f.st, D, &pg, &j), 0);
    char *txt = dump(j);
    CHECK(strstr(txt, "\"state\":\"sent\"") != NULL); /* not yet */
    CHECK_EQ_INT(worker_recollect_tick(f.w, deadline + 60), 0);
    CHECK_EQ_INT(store_recollect_json(f.st, D, &pg, &j), 0);
    txt = dump(j);
    CHECK(strstr(txt, "\"state\":\"expired\"") != NULL);
    CHECK(strstr(txt, "\"attempts\":2") != NULL);

    CHECK_EQ_INT(worker_start(f.w), 0);
    int samples = 0;
    for (int i = 0; i < 2000 && samples == 0; i++) {
        if (store_kpi_online_json(f.st, 0, INT64_MAX / 2, &j) == 0) {
            samples = (int)json_array_size(json_object_get(j, "history"));
            json_decref(j);
        }
        if (!samples)
            usleep(10000);
    }
    CHECK(samples >= 1);
    worker_stop(f.w);
    struct worker_stats ws;
    worker_stats_get(f.w, &ws);
    CHECK(ws.analytics_runs >= 2);
    fix_close(&f);
}

/* A batch the store refuses for a cap (a poison record) keeps its raw frames and is
 * confirmed; the worker goes on. */
MF_TEST(poison_record_keeps_raw_frames)
{
    struct fix f;
    struct inject in;
    struct done d = { 0 };
    inject_init(&in, 0, 0, 1);
    fix_open(&f, &in, 0);
    struct store_terminal t = { T1, "t1", NULL, NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t), 0);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK_EQ_INT(send_frame(&f, &d, 0x0D, F161), 0);
    CHECK(wait_for(&d.calls, 1));
    CHECK_EQ_INT(atomic_load(&d.last), 0);
    CHECK_EQ_INT(frozen_rows(f.st), 0);
    CHECK_EQ_INT(worker_failed(f.w), 0);
    worker_stop(f.w);
    struct worker_stats ws;
    worker_stats_get(f.w, &ws);
    CHECK_EQ_INT(ws.dropped_records, 2);
    json_t *j = NULL;
    CHECK_EQ_INT(store_terminal_json(f.st, "0171-0822", 10, &j), 0);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "frames")), 1);
    json_decref(j);
    fix_close(&f);
}

/* The scheduler rolls up the days whose daily frozen values arrived (late data, a simulator
 * running in the past), not only yesterday and today: p1 of 2026-11-24 = 1000.0 and of
 * 2026-11-25 = 1234.5678 give a consumption of 234.5678 kWh on the 25th. */
MF_TEST(scheduler_rolls_up_days_with_new_values)
{
    struct fix f;
    struct done d = { 0 };
    uint8_t fr[256];
    fix_open(&f, NULL, 1);
    fix_set(&f, "analytics_interval_s", "10");
    struct store_meter m = { T1, 1, "000000000001", NULL, NULL, 0, 1.0 };
    CHECK_EQ_INT(store_meter_put(f.st, &m), 0);
    CHECK_EQ_INT(worker_start(f.w), 0);
    size_t n = frame(0x0D, "01 01 01 14 24 11 26 59 23 24 11 26 00 00 00 00 10 00", fr);
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_FRAME, 0, fr, n, &d), 0);
    n = frame(0x0D, F161, fr);
    CHECK_EQ_INT(produce_env(f.q, MF_ENV_FRAME, 0, fr, n, &d), 0);
    CHECK(wait_for(&d.calls, 2));
    int32_t D = mf_date_to_days(2026, 11, 25);
    double kwh = -1;
    for (int i = 0; i < 3000 && kwh < 0; i++) { /* one scheduler round: <= 10 s */
        json_t *j = NULL;
        if (store_point_daily_json(f.st, "0171-0822", 1, D, D, &j) == 0) {
            json_t *u = json_array_get(json_object_get(j, "use"), 0);
            if (u && json_is_number(json_object_get(u, "kwh")))
                kwh = json_number_value(json_object_get(u, "kwh"));
            json_decref(j);
        }
        if (kwh < 0)
            usleep(10000);
    }
    CHECK_NEAR(kwh, 234.5678, 1e-9);
    worker_stop(f.w);
    fix_close(&f);
}
