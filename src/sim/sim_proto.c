/* sim_proto.c -- what a simulated terminal says: its active reports (0C F129 every interval,
 * 0D F161 and F101 curves after its midnight, AFN=0E events), and its answers to master
 * requests (0C, 0D, 0E, 05 F31, 04, 0A F10, 09 F1, 10 F1 via sim_meter.c).
 *
 * Every data unit is built with the codec's builders (gw3761_data.h); this file only decides
 * the values (from sim_model) and writes the ledger lines of what it reports.
 * Invariants: a report's ledger lines describe exactly the values its frame carries; the
 * same (terminal, pn, item, time, tariff) is never reported with two different values
 * (F129 stamps advance minute by minute; frozen values are pure functions of the day).
 * Called by: sim_term.c. Thread: the process's loop thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "sim/sim_int.h"

static int32_t day_of(int64_t ls)
{
    return (int32_t)(ls >= 0 ? ls / SIM_DAY_S : -((-ls + SIM_DAY_S - 1) / SIM_DAY_S));
}

void sim_ls_to_gwtime(int64_t ls, struct gw_time *t)
{
    int y, m, d;
    int32_t day = day_of(ls);
    int64_t sod = ls - (int64_t)day * SIM_DAY_S;
    mf_days_to_date(day, &y, &m, &d);
    memset(t, 0, sizeof(*t));
    t->year = (uint16_t)y;
    t->mon = (uint8_t)m;
    t->day = (uint8_t)d;
    t->hour = (uint8_t)(sod / 3600);
    t->min = (uint8_t)(sod / 60 % 60);
    t->sec = (uint8_t)(sod % 60);
    t->wday = (uint8_t)(((int64_t)day % 7 + 7 + 3) % 7 + 1); /* 1 = Monday */
}

int64_t sim_gwtime_to_ls(const struct gw_time *t)
{
    return (int64_t)mf_date_to_days(t->year, t->mon, t->day) * SIM_DAY_S + t->hour * 3600 +
           t->min * 60 + t->sec;
}

void sim_ls_format_min(int64_t ls, char *out, size_t outlen)
{
    struct gw_time t;
    sim_ls_to_gwtime(ls, &t);
    snprintf(out, outlen, "%04u-%02u-%02uT%02u:%02u", t.year, t.mon, t.day, t.hour, t.min);
}

void sim_ls_format_date(int64_t ls, char *out, size_t outlen)
{
    struct gw_time t;
    sim_ls_to_gwtime(ls, &t);
    snprintf(out, outlen, "%04u-%02u-%02u", t.year, t.mon, t.day);
}

/* ---- ledger text of one report ---- */

struct ltext {
    char *p;
    size_t len, cap;
    uint32_t n;
};

static void lt_add(struct ltext *lt, const struct sim_term *st, unsigned pn, const char *item,
                   const char *time, unsigned tariff, int64_t value, int decimals)
{
    if (lt->len + SIM_LEDGER_LINE_MAX > lt->cap) {
        lt->cap = lt->cap ? lt->cap * 2 : 1024;
        lt->p = mf_realloc(lt->p, lt->cap);
    }
    lt->len += sim_ledger_format(lt->p + lt->len, st->id, pn, item, time, tariff, value,
                                 decimals);
    lt->n++;
}

static uint8_t *units_copy(const struct gw_ubuf *ub)
{
    uint8_t *p = mf_malloc(ub->len ? ub->len : 1);
    memcpy(p, ub->p, ub->len);
    return p;
}

/* Queue a report (AFN afn, PRM=1 fc 4 "send/no reply" with CON=1, as terminals do). */
static void report(struct sim_term *st, uint8_t afn, struct gw_ubuf *ub, struct ltext *lt,
                   uint32_t nevents)
{
    if (ub->err || ub->len == 0) {
        if (ub->err)
            mf_warn("sim", "%s: report not built: %s", st->id, mf_status_str(ub->err));
        free(lt->p);
        return;
    }
    sim_term_queue(st, afn, 4, units_copy(ub), ub->len, lt->p, lt->len, lt->n, nevents);
}

void sim_to_nums(const int64_t ind[SIM_TARIFFS + 1], struct gw_num e[SIM_TARIFFS + 1])
{
    for (int k = 0; k <= SIM_TARIFFS; k++)
        e[k] = (struct gw_num){ .m = ind[k], .exp = -4, .status = GW_VS_OK };
}

/* ---- periodic reports ---- */

static void report_f129(struct sim_term *st, int64_t now, int64_t clk)
{
    const struct sim_model *m = st->sp->model;
    int64_t stamp = clk - clk % 60, ind[SIM_TARIFFS + 1];
    struct gw_time t;
    struct gw_num e[SIM_TARIFFS + 1];
    char ts[32];
    uint8_t *buf = st->sp->scratch;

    if (stamp <= st->last_f129_stamp)
        return; /* same reading minute again (clock set back): would double a key */
    st->last_f129_stamp = stamp;
    sim_ls_to_gwtime(stamp, &t);
    sim_ls_format_min(stamp, ts, sizeof(ts));
    for (uint16_t g = 1; g <= m->npoints; g += 8) {
        struct gw_ubuf ub;
        struct ltext lt = { 0 };
        gw_ub_init(&ub, buf, SIM_UNITS_MAX);
        for (uint16_t pn = g; pn < g + 8 && pn <= m->npoints; pn++) {
            if (sim_indication(m, st->idx, pn, now - now % 60, ind) != 0)
                continue;
            sim_to_nums(ind, e);
            gw_ans_energy(&ub, pn, 129, &t, SIM_TARIFFS, e);
            for (unsigned k = 0; k <= SIM_TARIFFS; k++)
                lt_add(&lt, st, pn, "fwd_active", ts, k, ind[k], 4);
        }
        report(st, GW_AFN_CLASS1, &ub, &lt, 0);
    }
}

/* 0C F25 (voltage, current, power) of every point, at the scheduled instant `now`; the
 * ledger gets the phase voltages (item "voltage", tariff = phase 1..3, V to 0.1). */
static void report_f25(struct sim_term *st, int64_t now, int64_t clk)
{
    const struct sim_model *m = st->sp->model;
    uint8_t *buf = st->sp->scratch;
    char ts[32];
    sim_ls_format_min(clk - clk % 60, ts, sizeof(ts));
    for (uint16_t g = 1; g <= m->npoints; g += 8) {
        struct gw_ubuf ub;
        struct ltext lt = { 0 };
        gw_ub_init(&ub, buf, SIM_UNITS_MAX);
        for (uint16_t pn = g; pn < g + 8 && pn <= m->npoints; pn++) {
            struct gw_f25 v;
            size_t keep = ub.len;
            sim_f25_of(st, pn, now, clk, &v);
            if (gw_ans_f25(&ub, pn, &v) != 0) {
                /* cannot happen since sim_f25_values saturates every value at its
                 * format's limit; kept so that a new field can never drop the report */
                ub.len = keep;
                ub.err = 0;
                continue;
            }
            for (unsigned ph = 0; ph < 3; ph++)
                if (v.u[ph].status == GW_VS_OK)
                    lt_add(&lt, st, pn, "voltage", ts, ph + 1, v.u[ph].m, 1);
        }
        report(st, GW_AFN_CLASS1, &ub, &lt, 0);
    }
}

/* 0D F161 of one point and day into ub; ledger lines into lt (NULL: none). */
void sim_add_f161(struct sim_term *st, struct gw_ubuf *ub, struct ltext *lt, uint16_t pn,
                     int32_t day)
{
    int64_t ind[SIM_TARIFFS + 1], at = (int64_t)(day + 1) * SIM_DAY_S;
    struct gw_time td, rt;
    struct gw_num e[SIM_TARIFFS + 1];
    char ds[32];
    if (sim_indication(st->sp->model, st->idx, pn, at, ind) != 0)
        return;
    sim_ls_to_gwtime((int64_t)day * SIM_DAY_S, &td);
    sim_ls_to_gwtime(at + 60, &rt); /* read a minute after the freeze */
    sim_to_nums(ind, e);
    gw_ans_daily_energy(ub, pn, 161, &td, &rt, SIM_TARIFFS, e);
    if (!lt)
        return;
    sim_ls_format_date((int64_t)day * SIM_DAY_S, ds, sizeof(ds));
    for (unsigned k = 0; k <= SIM_TARIFFS; k++)
        lt_add(lt, st, pn, "day_fwd_active", ds, k, ind[k], 4);
}

/* Curve of forward active indication (A.11, 2 decimals): n points from start every step. */
void sim_add_f101(struct sim_term *st, struct gw_ubuf *ub, struct ltext *lt, uint16_t pn,
                     int64_t start, uint8_t density, uint8_t n)
{
    static const int step_min[256] = { [1] = 15, [2] = 30, [3] = 60, [254] = 5, [255] = 1 };
    struct gw_num v[255];
    struct gw_time ts;
    int64_t ind[SIM_TARIFFS + 1];
    char tstr[32];
    int step = step_min[density] * 60;
    if (!step || n == 0)
        return;
    for (unsigned k = 0; k < n; k++) {
        int64_t at = start + (int64_t)k * step;
        if (sim_indication(st->sp->model, st->idx, pn, at, ind) != 0)
            return;
        v[k] = (struct gw_num){ .m = ind[0] / 100, .exp = -2, .status = GW_VS_OK };
    }
    sim_ls_to_gwtime(start, &ts);
    gw_ans_curve(ub, pn, 101, &ts, density, n, v);
    if (!lt)
        return;
    for (unsigned k = 0; k < n; k++) {
        sim_ls_format_min(start + (int64_t)k * step, tstr, sizeof(tstr));
        lt_add(lt, st, pn, "curve_fwd_active", tstr, 0, v[k].m, 2);
    }
}

static void report_daily(struct sim_term *st, int32_t day)
{
    const struct sim_model *m = st->sp->model;
    uint8_t *buf = st->sp->scratch;
    for (uint16_t g = 1; g <= m->npoints; g += 8) {
        struct gw_ubuf ub;
        struct ltext lt = { 0 };
        gw_ub_init(&ub, buf, SIM_UNITS_MAX);
        for (uint16_t pn = g; pn < g + 8 && pn <= m->npoints; pn++)
            if (!sim_fault_at(m, SIM_F_DROP, st->idx, pn, day))
                sim_add_f161(st, &ub, &lt, pn, day);
        report(st, GW_AFN_CLASS2, &ub, &lt, 0);
        if (!st->sp->cfg->curves)
            continue;
        for (uint16_t pn = g; pn < g + 8 && pn <= m->npoints; pn++) {
            struct ltext lc = { 0 };
            if (sim_fault_at(m, SIM_F_DROP, st->idx, pn, day))
                continue;
            gw_ub_init(&ub, buf, SIM_UNITS_MAX);
            sim_add_f101(st, &ub, &lc, pn, (int64_t)day * SIM_DAY_S + 900, 1, 96);
            report(st, GW_AFN_CLASS2, &ub, &lc, 0);
        }
    }
}

/* ---- events ---- */

/* Record an event in the ring (EC1 advances) and report it actively. */
static void raise_event(struct sim_term *st, const uint8_t *rec, size_t len, uint16_t pn,
                        int64_t at_clk, int started)
{
    struct sim_event_rec *r = &st->ring[st->ec1 % SIM_EVENT_RING];
    uint8_t pm = st->ec1, buf[64], erc = rec[0];
    char ts[32], item[16];
    struct gw_ubuf ub;
    struct ltext lt = { 0 };

    if (len > sizeof(r->rec))
        return;
    memcpy(r->rec, rec, len);
    r->len = (uint8_t)len;
    st->ec1++;
    gw_ub_init(&ub, buf, sizeof(buf));
    gw_ans_events_head(&ub, 1, st->ec1, st->ec2, pm, st->ec1);
    gw_ub_bytes(&ub, rec, len);
    sim_ls_format_min(at_clk, ts, sizeof(ts));
    snprintf(item, sizeof(item), "erc%u", erc);
    lt_add(&lt, st, pn, item, ts, 0, started, 0);
    report(st, GW_AFN_CLASS3, &ub, &lt, 1);
}

static void make_event(struct sim_term *st, int64_t now, int64_t clk, int erc, uint16_t pn)
{
    const struct sim_cfg *cfg = st->sp->cfg;
    uint8_t buf[32];
    struct gw_ubuf ub;
    struct gw_time t, off;
    int64_t at = clk - clk % 60;

    gw_ub_init(&ub, buf, sizeof(buf));
    sim_ls_to_gwtime(at, &t);
    if (erc == 14) { /* power was off for a few minutes and came back now */
        sim_ls_to_gwtime(at - 60 * (int64_t)(1 + sim_rng_next(&st->rng) % 30), &off);
        gw_ans_erc14(&ub, &off, &t);
        at = sim_gwtime_to_ls(&off);
        pn = 0;
    } else if (erc == 13) {
        gw_ans_erc13(&ub, &t, pn, 1, (uint8_t)(1u << (sim_rng_next(&st->rng) % 5)));
    } else {
        struct sim_instant in;
        struct gw_num u[3];
        sim_instant(st->sp->model, st->idx, pn, now, &in);
        for (int ph = 0; ph < 3; ph++)
            u[ph] = (struct gw_num){ .m = (int64_t)(in.u_v[ph] * 10), .exp = -1,
                                     .status = ph < in.phases ? GW_VS_OK : GW_VS_ABSENT };
        gw_ans_erc24(&ub, &t, pn, 1, in.u_v[0] < 198.0 ? 0x81 : 0x41, u);
    }
    (void)cfg;
    if (ub.err == 0)
        raise_event(st, buf, ub.len, pn, at, erc == 14 ? -1 : 1); /* ERC14 has no start flag */
}

static void tick_events(struct sim_term *st, int64_t now)
{
    const struct sim_cfg *cfg = st->sp->cfg;
    double total = cfg->erc13_per_day + cfg->erc14_per_day + cfg->erc24_per_day;
    const struct sim_model *m = st->sp->model;
    int32_t day = day_of(now);

    /* a voltage sag fault raises ERC24 on each of its points once per day */
    if (m->nfaults && st->sag_reported != day) {
        st->sag_reported = day;
        for (uint16_t pn = 1; pn <= m->npoints; pn++)
            if (sim_fault_at(m, SIM_F_SAG, st->idx, pn, day)) {
                int64_t at = (int64_t)day * SIM_DAY_S + 60; /* the sag began with the day */
                make_event(st, at, sim_term_clock(st, at), 24, pn);
            }
    }
    for (int i = 0; i < 4 && total > 0 && now >= st->next_event_ls; i++) {
        double u = sim_rng_unit(&st->rng) * total;
        /* npoints >= 1 (sim_model_init refuses 0); the guard keeps the modulo visibly safe */
        uint16_t pn = (uint16_t)(1 + sim_rng_next(&st->rng) % (m->npoints ? m->npoints : 1u));
        int erc = u < cfg->erc14_per_day ? 14 : u < cfg->erc14_per_day + cfg->erc13_per_day ? 13 : 24;
        int64_t at = st->next_event_ls; /* the scheduled instant: deterministic */
        make_event(st, at, sim_term_clock(st, at), erc, pn);
        st->next_event_ls += (int64_t)sim_rng_exp(&st->rng, SIM_DAY_S / total) + 1;
    }
    if (total > 0 && st->next_event_ls < now)
        st->next_event_ls = now + 1; /* far behind (a stall): do not burst */
}

/* Seconds after its midnight at which a terminal freezes and reports (spreads the load). */
static int64_t daily_delay(const struct sim_term *st)
{
    return 60 + (int64_t)(sim_hash(st->sp->model->seed, st->idx, 0xda1, 0) % 1740);
}

void sim_proto_tick(struct sim_term *st, int64_t now)
{
    const struct sim_cfg *cfg = st->sp->cfg;
    int64_t clk = sim_term_clock(st, now);
    if (now >= st->next_report_ls) {
        /* report at the scheduled instant (the latest one passed), not at "now": the values
         * and stamps then depend on the seed only, not on how late the loop woke up */
        int64_t at = st->next_report_ls;
        while (st->next_report_ls <= now) {
            at = st->next_report_ls;
            st->next_report_ls += cfg->report_interval_s;
        }
        report_f129(st, at, sim_term_clock(st, at));
    }
    if (cfg->instant_interval_s && now >= st->next_instant_ls) {
        int64_t at = st->next_instant_ls;
        while (st->next_instant_ls <= now) {
            at = st->next_instant_ls;
            st->next_instant_ls += cfg->instant_interval_s;
        }
        report_f25(st, at, sim_term_clock(st, at));
    }
    int32_t today = day_of(clk);
    if (cfg->daily && today - 1 > st->daily_done &&
        clk - (int64_t)today * SIM_DAY_S >= daily_delay(st)) {
        /* at most 3 days per tick: a terminal back after a long outage catches up gently */
        for (int i = 0; i < 3 && st->daily_done < today - 1; i++)
            report_daily(st, ++st->daily_done);
    }
    tick_events(st, now);
}

int64_t sim_proto_next_ls(const struct sim_term *st)
{
    int64_t now = sim_proc_now_ls(st->sp);
    int64_t err = sim_term_clock(st, now) - now;
    int64_t due = st->next_report_ls;
    if (st->sp->cfg->instant_interval_s && st->next_instant_ls < due)
        due = st->next_instant_ls;
    if (st->sp->cfg->daily) {
        int64_t d = (int64_t)(st->daily_done + 2) * SIM_DAY_S + daily_delay(st) - err;
        due = d < due ? d : due;
    }
    if (st->next_event_ls < due)
        due = st->next_event_ls;
    if (st->sp->model->nfaults) {
        int64_t mid = (int64_t)(day_of(now) + 1) * SIM_DAY_S;
        due = mid < due ? mid : due;
    }
    return due;
}

/* ---- link frames ---- */

int sim_proto_link(struct sim_term *st, int kind, uint8_t *out, size_t cap)
{
    struct gw_ubuf ub;
    struct gw_time t;
    gw_ub_init(&ub, out, cap);
    if (kind == OUT_LOGIN) {
        gw_ans_login(&ub);
    } else if (kind == OUT_LOGOUT) {
        gw_ans_logout(&ub);
    } else {
        sim_ls_to_gwtime(sim_term_clock(st, sim_proc_now_ls(st->sp)), &t);
        gw_ans_heartbeat(&ub, st->sp->cfg->hb_2009 ? NULL : &t);
    }
    return ub.err ? ub.err : (int)ub.len;
}
