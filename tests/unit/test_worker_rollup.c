/* test_worker_rollup.c -- what a second run of a day's rollup changes, against the SQLite
 * store (inputs by hand, D = 2026-11-25 in Asia/Shanghai, which starts at 16:00 UTC on
 * D - 1):
 *  - re-collection waits recollect_after_min past the end of D (the active reports come
 *    first) and a task whose value arrived is closed by the next rollup of D, with no
 *    request sent;
 *  - an anomaly the day's rules no longer find is "resolved" (kept, audited), one found
 *    again is "open" again, one the operator closed stays closed (docs/ANALYTICS.md
 *    "Withdrawn anomalies"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"
#include "worker_fix.h"

#define T1 ((uint32_t)0x0171u << 16 | 0x0822u)

/* The fixture with analytics off (the tests run the rollup themselves) and a downlink
 * consumer standing for the front. */
static void fix_open(struct fix *f)
{
    const char *const sets[] = { "analytics", "false", NULL };
    fix_open_with(f, "mf-wkroll", sets, NULL, 1);
}

static void put_frozen(struct store *st, uint16_t pn, int32_t date, double v)
{
    struct store_frozen z = { T1, pn, STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd", date, v, 0 };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.frozen = &z;
    b.n_frozen = 1;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
}

static void online(struct store *st, int64_t at)
{
    struct store_session s = { T1, 1, 0, 0, "online", "127.0.0.1:1", at };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.sessions = &s;
    b.n_sessions = 1;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
}

/* The tasks of `day` as compact sorted JSON (static buffer). */
static const char *tasks(struct store *st, int32_t day)
{
    static char buf[4096];
    json_t *j = NULL;
    struct store_page pg = { 1, 50 };
    buf[0] = 0;
    if (store_recollect_json(st, day, &pg, &j) == 0) {
        char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(buf, sizeof(buf), "%s", t ? t : "");
        free(t);
        json_decref(j);
    }
    return buf;
}

/* Requests on the downlink now (each one consumed). */
static int downlink_count(struct fix *f)
{
    struct mq_batch mb;
    memset(&mb, 0, sizeof(mb));
    if (mq_consumer_poll(f->front, &mb, 10, 200) != 0)
        return -1;
    int n = (int)mb.n;
    if (mb.n)
        mq_commit(f->q, &mb);
    return n;
}

/* p1, p2 of one terminal; p2's value of D has not arrived at 00:10 on D + 1. The rollup
 * plans p2 with its first attempt at 01:00 (recollect_after_min = 60): nothing is asked at
 * 00:10. The active report brings p2's value at 00:20; the rollup at 00:30 counts it and
 * closes the task, and at 01:00 nothing is asked. */
MF_TEST(recollect_waits_for_active_reports_then_rollup_closes)
{
    struct fix f;
    fix_open(&f);
    int32_t D = mf_date_to_days(2026, 11, 25);
    int64_t end = (int64_t)(D + 1) * 86400 - 8 * 3600; /* 00:00 on D + 1, civil */
    struct store_terminal t = { T1, "t1", NULL, NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t), 0);
    for (uint16_t pn = 1; pn <= 2; pn++) {
        struct store_meter m = { T1, pn, pn == 1 ? "000000000001" : "000000000002", NULL,
                                 "resident", 0, 1.0 };
        CHECK_EQ_INT(store_meter_put(f.st, &m), 0);
        put_frozen(f.st, pn, D - 1, 100.0 * pn);
    }
    put_frozen(f.st, 1, D, 110.0);
    online(f.st, end - 3600);

    CHECK_EQ_INT(worker_analytics_run(f.w, D, end + 600), 0);
    const char *tx = tasks(f.st, D);
    CHECK(strstr(tx, "\"pn\":2") && strstr(tx, "\"state\":\"pending\""));
    CHECK(strstr(tx, "\"next_at\":\"2026-11-25T17:00:00Z\"") != NULL); /* 01:00 civil */
    CHECK_EQ_INT(worker_recollect_tick(f.w, end + 600), 0);
    CHECK_EQ_INT(downlink_count(&f), 0);

    put_frozen(f.st, 2, D, 215.0); /* the active report, late */
    CHECK_EQ_INT(worker_analytics_run(f.w, D, end + 1800), 0);
    tx = tasks(f.st, D);
    CHECK(strstr(tx, "\"state\":\"done\"") != NULL);
    CHECK(strstr(tx, "\"attempts\":0") != NULL);
    CHECK_EQ_INT(worker_recollect_tick(f.w, end + 3600), 0);
    CHECK_EQ_INT(downlink_count(&f), 0);
    json_t *j = NULL;
    CHECK_EQ_INT(store_kpi_collect_json(f.st, D, D, NULL, &j), 0);
    char *txt = json_dumps(j, JSON_COMPACT);
    CHECK(txt && strstr(txt, "\"collected\":2") != NULL);
    free(txt);
    json_decref(j);
    fix_close(&f);
}

/* One anomaly of `kind` on the day: its JSON item (new reference) or NULL. */
static json_t *anomaly(struct store *st, const char *kind)
{
    struct store_anomaly_filter af;
    json_t *j = NULL;
    memset(&af, 0, sizeof(af));
    af.kind = kind;
    af.pg = (struct store_page){ 1, 10 };
    if (store_anomalies_json(st, &af, &j) != 0)
        return NULL;
    json_t *it = json_array_size(json_object_get(j, "items")) == 1
                     ? json_incref(json_array_get(json_object_get(j, "items"), 0))
                     : NULL;
    json_decref(j);
    return it;
}

static const char *state_of(json_t *a)
{
    return a ? json_string_value(json_object_get(a, "state")) : "";
}

/* Area A1 (threshold 10 %): supply p1 100 kWh a day; customers p2 30 a day, p3 50 a day
 * (history D-4..D-1), p4 stopped (0 a day). First run, p3's value of D missing: loss with
 * p3's allowance (its median, 50) = 100 - 30 - 0 - 50 = 20 = 20 %: high despite missing,
 * an anomaly line_loss on p1; stopped on p4. The operator acknowledges the line_loss. p3's
 * value arrives (65 kWh): loss 5 %, ok. Second run: line_loss -> resolved (row and
 * evidence kept, audit anomaly.resolved with the state before, "ack"); stopped still found,
 * stays open. Set to resolved by hand, the stopped anomaly is reopened by the third run
 * (audit anomaly.reopened). The operator closes the line_loss; a fourth run leaves it. */
MF_TEST(anomaly_withdrawn_when_the_day_is_rolled_up_again)
{
    struct fix f;
    fix_open(&f);
    int32_t D = mf_date_to_days(2026, 11, 25);
    int64_t end = (int64_t)(D + 1) * 86400 - 8 * 3600;
    struct store_area a1 = { "A1", "area one", T1, 1, 1, 0.10 };
    CHECK_EQ_INT(store_area_put(f.st, &a1), 0);
    struct store_terminal t = { T1, "t1", "A1", NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t), 0);
    static const double base[5] = { 0, 1000, 100, 500, 50 }, step[5] = { 0, 100, 30, 50, 0 };
    for (uint16_t pn = 1; pn <= 4; pn++) {
        char addr[16];
        snprintf(addr, sizeof(addr), "00000000000%u", pn);
        struct store_meter m = { T1, pn, addr, "A1", "resident", pn == 1, 1.0 };
        CHECK_EQ_INT(store_meter_put(f.st, &m), 0);
        for (int32_t d = D - 4; d <= D; d++)
            if (!(pn == 3 && d == D))
                put_frozen(f.st, pn, d, base[pn] + step[pn] * (d - D + 4));
    }

    CHECK_EQ_INT(worker_analytics_run(f.w, D, end + 3600), 0);
    json_t *ll = anomaly(f.st, "line_loss"), *sp = anomaly(f.st, "stopped");
    CHECK(ll && sp);
    CHECK_STR(state_of(ll), "open");
    CHECK_STR(state_of(sp), "open");
    int64_t ll_id = json_integer_value(json_object_get(ll, "id"));
    int64_t sp_id = json_integer_value(json_object_get(sp, "id"));
    char *ev1 = json_dumps(json_object_get(ll, "evidence"), JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_EQ_INT(store_anomaly_set_state(f.st, ll_id, "ack"), 0);
    json_decref(ll);
    json_decref(sp);

    put_frozen(f.st, 3, D, 715.0); /* re-collected: 715 - 650 = 65 kWh */
    CHECK_EQ_INT(worker_analytics_run(f.w, D, end + 7200), 0);
    ll = anomaly(f.st, "line_loss");
    sp = anomaly(f.st, "stopped");
    CHECK_STR(state_of(ll), "resolved");
    CHECK_STR(state_of(sp), "open");
    char *ev2 = ll ? json_dumps(json_object_get(ll, "evidence"), JSON_COMPACT | JSON_SORT_KEYS)
                   : NULL;
    CHECK(ev1 && ev2 && strcmp(ev1, ev2) == 0); /* the first judgment's evidence kept */
    free(ev1);
    free(ev2);
    json_decref(ll);
    json_decref(sp);
    struct store_audit_filter af = { NULL, "anomaly.resolved", 0, 0, { 1, 10 } };
    json_t *j = NULL;
    CHECK_EQ_INT(store_audit_json(f.st, &af, &j), 0);
    char *txt = json_dumps(j, JSON_COMPACT);
    char want[64];
    snprintf(want, sizeof(want), "\"target\":\"%lld\"", (long long)ll_id);
    CHECK(txt && strstr(txt, "\"total\":1") && strstr(txt, want));
    CHECK(txt && strstr(txt, "\"user\":\"(analytics)\"") && strstr(txt, "\"state_before\":\"ack\""));
    CHECK(txt && strstr(txt, "\"date\":\"2026-11-25\"") && strstr(txt, "\"kind\":\"line_loss\""));
    free(txt);
    json_decref(j);

    CHECK_EQ_INT(store_anomaly_set_state(f.st, sp_id, "resolved"), 0);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, end + 7300), 0);
    sp = anomaly(f.st, "stopped");
    CHECK_STR(state_of(sp), "open");
    json_decref(sp);
    af.action = "anomaly.reopened";
    CHECK_EQ_INT(store_audit_json(f.st, &af, &j), 0);
    txt = json_dumps(j, JSON_COMPACT);
    snprintf(want, sizeof(want), "\"target\":\"%lld\"", (long long)sp_id);
    CHECK(txt && strstr(txt, "\"total\":1") && strstr(txt, want));
    free(txt);
    json_decref(j);

    CHECK_EQ_INT(store_anomaly_set_state(f.st, ll_id, "closed"), 0);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, end + 7400), 0);
    ll = anomaly(f.st, "line_loss");
    CHECK_STR(state_of(ll), "closed");
    json_decref(ll);
    af.action = NULL;
    CHECK_EQ_INT(store_audit_json(f.st, &af, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 2); /* nothing more */
    json_decref(j);
    fix_close(&f);
}
