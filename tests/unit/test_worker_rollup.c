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

/* Every test's day: D = 2026-11-25 (civil; 00:00 is 16:00 UTC on D - 1), returned. The
 * fixture opened and T1 registered (area `area`, may be NULL); *d0 = 00:00 civil on D. */
static int32_t day_open(struct fix *f, const char *area, int64_t *d0)
{
    int32_t D = mf_date_to_days(2026, 11, 25);
    struct store_terminal t = { T1, "t1", area, NULL, 1, 0, 1 };
    fix_open(f);
    CHECK_EQ_INT(store_terminal_put(f->st, &t), 0);
    *d0 = (int64_t)D * 86400 - 8 * 3600;
    return D;
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

/* p1, p2 of T1, both with their value of D - 1, only p1 with its value of D; T1 online
 * since an hour before `end` (00:00 on D + 1). */
static void p2_missing_on(struct fix *f, int32_t D, int64_t end)
{
    for (uint16_t pn = 1; pn <= 2; pn++) {
        struct store_meter m = { T1, pn, pn == 1 ? "000000000001" : "000000000002", NULL,
                                 "resident", 0, 1.0 };
        CHECK_EQ_INT(store_meter_put(f->st, &m), 0);
        put_frozen(f->st, pn, D - 1, 100.0 * pn);
    }
    put_frozen(f->st, 1, D, 110.0);
    online(f->st, end - 3600);
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
    int64_t end;
    int32_t D = day_open(&f, NULL, &end);
    end += 86400; /* 00:00 on D + 1, civil */
    p2_missing_on(&f, D, end);

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

/* The one anomaly of `kind` (and terminal, when given): its JSON item (new reference), or
 * NULL when there is not exactly one. */
static json_t *anomaly(struct store *st, const char *kind, const char *term)
{
    struct store_anomaly_filter af;
    json_t *j = NULL;
    memset(&af, 0, sizeof(af));
    af.kind = kind;
    af.terminal = term;
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
    int64_t end;
    int32_t D = day_open(&f, "A1", &end);
    end += 86400;
    struct store_area a1 = { "A1", "area one", T1, 1, 1, 0.10 };
    CHECK_EQ_INT(store_area_put(f.st, &a1), 0);
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
    json_t *ll = anomaly(f.st, "line_loss", NULL), *sp = anomaly(f.st, "stopped", NULL);
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
    ll = anomaly(f.st, "line_loss", NULL);
    sp = anomaly(f.st, "stopped", NULL);
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
    sp = anomaly(f.st, "stopped", NULL);
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
    ll = anomaly(f.st, "line_loss", NULL);
    CHECK_STR(state_of(ll), "closed");
    json_decref(ll);
    af.action = NULL;
    CHECK_EQ_INT(store_audit_json(f.st, &af, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 2); /* nothing more */
    json_decref(j);
    fix_close(&f);
}

/* ---- the anomaly life cycle (docs/ANALYTICS.md "Anomaly life cycle"): explicit times,
 * D = 2026-11-25 civil (00:00 = 16:00 UTC on D - 1) ---- */

#define T2 ((uint32_t)0x0171u << 16 | 0x0823u)

static void put_batch(struct store *st, struct store_batch *b)
{
    CHECK_EQ_INT(store_batch_write(st, b), 0);
}

static void sess(struct store *st, uint32_t term, int on, const char *reason, int64_t at)
{
    struct store_session s = { term, (uint8_t)on, 0, 0, reason, NULL, at };
    struct store_batch b = { .sessions = &s, .n_sessions = 1 };
    put_batch(st, &b);
}

/* An ingest-time anomaly as the worker stores it: at = the start of its day, the sample's
 * time as evidence "observed_at". */
static void put_anomaly(struct store *st, const char *kind, uint32_t term, uint16_t pn,
                        int32_t day, int64_t observed)
{
    char ev[128], ts[40];
    mf_utc_format(observed, ts, sizeof(ts));
    snprintf(ev, sizeof(ev), "{\"observed_at\":\"%s\"}", ts);
    struct store_anomaly a = { kind, term, pn, NULL, (int64_t)day * 86400 - 8 * 3600, day, 1, ev };
    struct store_batch b = { .anomalies = &a, .n_anomalies = 1 };
    put_batch(st, &b);
}

/* The one anomaly of `kind` (and terminal, when given): its state ("" when not exactly one). */
static const char *state_now(struct store *st, const char *kind, const char *term)
{
    static char buf[16];
    json_t *a = anomaly(st, kind, term);
    snprintf(buf, sizeof(buf), "%s", state_of(a));
    json_decref(a);
    return buf;
}

/* The operator closes the one anomaly of `kind` (and terminal, when given). */
static void close_anomaly(struct store *st, const char *kind, const char *term)
{
    json_t *a = anomaly(st, kind, term);
    CHECK(a != NULL);
    CHECK_EQ_INT(store_anomaly_set_state(st, json_integer_value(json_object_get(a, "id")),
                                         "closed"), 0);
    json_decref(a);
}

/* The audit records of `action` as compact JSON (static buffer). */
static const char *audit_of(struct store *st, const char *action)
{
    static char buf[8192];
    struct store_audit_filter af = { NULL, action, 0, 0, { 1, 50 } };
    json_t *j = NULL;
    buf[0] = 0;
    if (store_audit_json(st, &af, &j) == 0) {
        char *t = json_dumps(j, JSON_COMPACT);
        snprintf(buf, sizeof(buf), "%s", t ? t : "");
        free(t);
    }
    json_decref(j);
    return buf;
}

/* T1 offline since 12:00 UTC on D-1 (20:00 civil): at 13:00 UTC on D (25 h) the offline rule
 * finds it (open). Back online (login) at 14:00 UTC on D: the next round resolves it with
 * the outage, 26 h = 93,600 s. T2, offline as long, its anomaly closed by the operator:
 * T2 back online, it stays closed. */
MF_TEST(life_offline_resolved_when_back_online)
{
    struct fix f;
    int64_t off;
    int32_t D = day_open(&f, NULL, &off);
    off -= 4 * 3600; /* 12:00 UTC on D - 1 */
    struct store_terminal t2 = { T2, "t2", NULL, NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(f.st, &t2), 0);
    for (int k = 0; k < 2; k++) {
        sess(f.st, k ? T2 : T1, 1, "online", off - 3600);
        sess(f.st, k ? T2 : T1, 0, "timeout", off);
    }
    CHECK_EQ_INT(worker_analytics_run(f.w, D, off + 25 * 3600), 0);
    CHECK_STR(state_now(f.st, "offline", "0171-0822"), "open");
    CHECK_STR(state_now(f.st, "offline", "0171-0823"), "open");
    close_anomaly(f.st, "offline", "0171-0823");

    /* still offline an hour later: nothing changes */
    CHECK_EQ_INT(worker_analytics_run(f.w, D, off + 25 * 3600 + 1800), 0);
    CHECK_STR(state_now(f.st, "offline", "0171-0822"), "open");
    CHECK(strstr(audit_of(f.st, "anomaly.resolved"), "\"total\":0") != NULL);

    sess(f.st, T1, 1, "online", off + 26 * 3600);
    sess(f.st, T1, 1, "clock", off + 26 * 3600 + 900); /* a heartbeat after it */
    sess(f.st, T2, 1, "online", off + 26 * 3600);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, off + 26 * 3600 + 1800), 0);
    CHECK_STR(state_now(f.st, "offline", "0171-0822"), "resolved");
    CHECK_STR(state_now(f.st, "offline", "0171-0823"), "closed");
    const char *au = audit_of(f.st, "anomaly.resolved");
    CHECK(strstr(au, "\"total\":1") != NULL);
    CHECK(strstr(au, "\"outage_s\":93600") != NULL);
    CHECK(strstr(au, "\"offline_since\":\"2026-11-24T12:00:00Z\"") != NULL);
    CHECK(strstr(au, "\"back_online_at\":\"2026-11-25T14:00:00Z\"") != NULL);
    CHECK(strstr(au, "\"state_before\":\"open\"") && strstr(au, "\"kind\":\"offline\""));
    fix_close(&f);
}

/* T1 on D: 10 logins each followed by a timeout from 01:00 civil, every 10 minutes, a last
 * login at 04:20 civil: 11 logins, 10 offline changes -> flapping (open; not quiet yet).
 * 24 h after the last login, online and nothing since: resolved (flap_quiet_hours 24). A
 * timeout and a login on D + 1 (the day after, which the rule still runs for): reopened. */
MF_TEST(life_flapping_resolved_after_quiet_period_reopened_on_new_changes)
{
    struct fix f;
    int64_t d0;
    int32_t D = day_open(&f, NULL, &d0);
    for (int k = 0; k < 10; k++) {
        sess(f.st, T1, 1, "online", d0 + 3600 + k * 600);
        sess(f.st, T1, 0, "timeout", d0 + 3600 + k * 600 + 300);
    }
    int64_t last = d0 + 3600 + 10 * 600; /* 02:40 civil */
    sess(f.st, T1, 1, "online", last);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, last + 3600), 0);
    CHECK_STR(state_now(f.st, "flapping", NULL), "open");
    CHECK_EQ_INT(worker_analytics_run(f.w, D, last + 24 * 3600 - 60), 0); /* 1 min short */
    CHECK_STR(state_now(f.st, "flapping", NULL), "open");
    CHECK_EQ_INT(worker_analytics_run(f.w, D, last + 24 * 3600), 0);
    CHECK_STR(state_now(f.st, "flapping", NULL), "resolved");
    CHECK(strstr(audit_of(f.st, "anomaly.resolved"), "\"quiet_hours\":24") != NULL);
    /* the day's rule run again finds the same counts: no new change, it stays resolved */
    CHECK_EQ_INT(worker_analytics_run(f.w, D, last + 24 * 3600 + 600), 0);
    CHECK_STR(state_now(f.st, "flapping", NULL), "resolved");

    sess(f.st, T1, 0, "timeout", last + 25 * 3600);
    sess(f.st, T1, 1, "online", last + 25 * 3600 + 60);
    CHECK_EQ_INT(worker_analytics_run(f.w, D + 1, last + 25 * 3600 + 120), 0);
    CHECK_STR(state_now(f.st, "flapping", NULL), "open");
    const char *au = audit_of(f.st, "anomaly.reopened");
    CHECK(strstr(au, "\"total\":1") && strstr(au, "\"kind\":\"flapping\""));
    fix_close(&f);
}

static void clock_read(struct store *st, int64_t at, int32_t offset)
{
    struct store_clock c = { T1, at, at + offset };
    struct store_batch b = { .clocks = &c, .n_clocks = 1 };
    put_batch(st, &b);
}

/* T1's clock 400 s ahead at 10:00 civil on D (limit 300): the clock anomaly (as the ingest
 * stores it). A round at 10:05 leaves it open (no later reading). After 05 F31 a heartbeat
 * reads it 2 s ahead at 10:10: resolved. 500 s behind at 11:00 the same day: reopened; 1 s
 * at 11:10: resolved again; 600 s ahead on D + 1 is D + 1's own anomaly: D's stays
 * resolved. */
MF_TEST(life_clock_resolved_by_a_later_reading_reopened_the_same_day)
{
    struct fix f;
    int64_t d0;
    int32_t D = day_open(&f, NULL, &d0);
    sess(f.st, T1, 1, "online", d0 + 9 * 3600);
    clock_read(f.st, d0 + 10 * 3600, 400);
    put_anomaly(f.st, "clock", T1, 0, D, d0 + 10 * 3600);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, d0 + 10 * 3600 + 300), 0);
    CHECK_STR(state_now(f.st, "clock", NULL), "open");
    clock_read(f.st, d0 + 10 * 3600 + 600, 2);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, d0 + 10 * 3600 + 900), 0);
    CHECK_STR(state_now(f.st, "clock", NULL), "resolved");
    const char *au = audit_of(f.st, "anomaly.resolved");
    CHECK(strstr(au, "\"clock_offset_s\":2") && strstr(au, "\"limit_s\":300"));
    clock_read(f.st, d0 + 11 * 3600, -500);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, d0 + 11 * 3600 + 60), 0);
    CHECK_STR(state_now(f.st, "clock", NULL), "open");
    CHECK(strstr(audit_of(f.st, "anomaly.reopened"), "\"clock_offset_s\":-500") != NULL);
    clock_read(f.st, d0 + 11 * 3600 + 600, 1);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, d0 + 11 * 3600 + 660), 0);
    CHECK_STR(state_now(f.st, "clock", NULL), "resolved");
    clock_read(f.st, d0 + 86400 + 3600, 600);
    CHECK_EQ_INT(worker_analytics_run(f.w, D + 1, d0 + 86400 + 3660), 0);
    CHECK_STR(state_now(f.st, "clock", NULL), "resolved");
    CHECK(strstr(audit_of(f.st, NULL), "\"total\":3") != NULL);
    fix_close(&f);
}

static void volt(struct store *st, int curve, int64_t at, double v)
{
    struct store_instant i = { T1, 1, STORE_V_OK, "ua", at, v };
    struct store_curve c = { T1, 1, STORE_V_OK, "ub", at, v };
    struct store_batch b = { 0 };
    if (curve) {
        b.curve = &c;
        b.n_curve = 1;
    } else {
        b.instant = &i;
        b.n_instant = 1;
    }
    put_batch(st, &b);
}

/* p1 sags on D - 2 (voltage_low, 185 V < 198.0 V) and D - 1 (190 V): open after a round at
 * 10:00 on D (D - 1 is not clean). D's samples 220.5 and 199 V (curve): at 01:00 on D + 1,
 * D is complete and clean: resolved (clean_date D). A voltage_high anomaly of D - 2 the
 * operator closed stays closed. A late curve sample of D at 197.9 V: no later day is clean
 * any more, reopened. */
MF_TEST(life_voltage_resolved_by_a_clean_later_day)
{
    struct fix f;
    int64_t d0;
    int32_t D = day_open(&f, NULL, &d0);
    volt(f.st, 0, d0 - 2 * 86400 + 3600, 185.0);
    volt(f.st, 0, d0 - 86400 + 3600, 190.0);
    put_anomaly(f.st, "voltage_low", T1, 1, D - 2, d0 - 2 * 86400 + 3600);
    put_anomaly(f.st, "voltage_low", T1, 1, D - 1, d0 - 86400 + 3600);
    put_anomaly(f.st, "voltage_high", T1, 1, D - 2, d0 - 2 * 86400 + 7200);
    close_anomaly(f.st, "voltage_high", NULL);

    volt(f.st, 0, d0 + 3600, 220.5);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, d0 + 10 * 3600), 0);
    CHECK(strstr(audit_of(f.st, NULL), "\"total\":0") != NULL); /* D-1 sags, D not over */
    volt(f.st, 1, d0 + 7200, 199.0);
    CHECK_EQ_INT(worker_analytics_run(f.w, D + 1, d0 + 86400 + 3600), 0);
    const char *au = audit_of(f.st, "anomaly.resolved");
    CHECK(strstr(au, "\"total\":2") && strstr(au, "\"clean_date\":\"2026-11-25\""));
    CHECK(strstr(au, "\"min_v\":199") != NULL);
    CHECK_STR(state_now(f.st, "voltage_high", NULL), "closed");

    volt(f.st, 1, d0 + 3 * 3600, 197.9); /* late: D is not clean after all */
    CHECK_EQ_INT(worker_analytics_run(f.w, D + 1, d0 + 86400 + 7200), 0);
    au = audit_of(f.st, "anomaly.reopened");
    CHECK(strstr(au, "\"total\":2") && strstr(au, "\"kind\":\"voltage_low\""));
    CHECK(strstr(audit_of(f.st, NULL), "\"total\":4") != NULL);
    fix_close(&f);
}

/* Re-collection waits for a terminal whose clock is behind. p2's value of D is missing; the
 * rollup at 02:00 on D + 1 plans it (due at once: past recollect_after_min). T1's clock reads
 * two days behind (a simulator replaying the past): the tick asks nothing and looks again
 * after recollect_retry_min (30 min). Then it reads 159 min behind: its clock shows 23:51
 * on D, 10 min short of the end of D + 60 s (the freeze margin): due 10 min later, asked
 * then. */
MF_TEST(recollect_waits_for_a_terminal_clock_behind)
{
    struct fix f;
    int64_t end;
    int32_t D = day_open(&f, NULL, &end);
    end += 86400; /* 00:00 on D + 1, civil */
    p2_missing_on(&f, D, end);
    int64_t now = end + 7200;
    clock_read(f.st, now - 60, -2 * 86400);
    CHECK_EQ_INT(worker_analytics_run(f.w, D, now), 0);
    CHECK_EQ_INT(worker_recollect_tick(f.w, now), 0);
    CHECK_EQ_INT(downlink_count(&f), 0);
    const char *tx = tasks(f.st, D);
    CHECK(strstr(tx, "\"state\":\"pending\"") && strstr(tx, "\"attempts\":0"));
    CHECK(strstr(tx, "\"next_at\":\"2026-11-25T18:30:00Z\"") != NULL); /* now + 30 min */

    now += 1800;
    clock_read(f.st, now, -9540);
    CHECK_EQ_INT(worker_recollect_tick(f.w, now), 0);
    CHECK_EQ_INT(downlink_count(&f), 0);
    tx = tasks(f.st, D);
    CHECK(strstr(tx, "\"next_at\":\"2026-11-25T18:40:00Z\"") != NULL); /* 10 min */
    CHECK_EQ_INT(worker_recollect_tick(f.w, now + 600), 1);
    CHECK_EQ_INT(downlink_count(&f), 1);
    tx = tasks(f.st, D);
    CHECK(strstr(tx, "\"state\":\"sent\"") && strstr(tx, "\"attempts\":1"));
    fix_close(&f);
}
