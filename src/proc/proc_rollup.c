/* proc_rollup.c -- the daily rollup of day D over every expected point in one merge pass:
 * consumption per point, collection success (overall and per area), transformer-area line
 * loss (with the missing customers' allowance: docs/ANALYTICS.md), the "stopped meter" rule,
 * which needs the area's supply advance, the line_loss anomaly, and the meter addresses in
 * force per day (the replaced rule), merged from a sorted list.
 *
 * Invariant: points[] sorted by key (checked up front) with a dense history of hist_days
 * indications per point, so the pass is O(points x hist_days) with no lookups: the worker
 * fills the history from a few bulk store reads in key order. Pure. Thread: any. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/proc.h"

const char *proc_loss_status_str(int st)
{
    static const char *const names[] = { "ok",        "high",      "negative",
                                         "incomplete", "no_supply", "high_despite_missing" };
    if (st < 0 || (size_t)st >= MF_ARRAY_LEN(names))
        return "unknown";
    return names[st];
}

static int rollup_check(const struct proc_rollup_in *in)
{
    for (size_t i = 0; i < in->npoints; i++) {
        if (i > 0 && in->points[i].key <= in->points[i - 1].key)
            return MF_EINVAL;
        if (in->points[i].area != PROC_NO_AREA && in->points[i].area >= in->nareas)
            return MF_EINVAL;
    }
    if (in->hist_days < 1 || in->hist_days > PROC_WINDOW_MAX || (in->npoints && !in->hist))
        return MF_EINVAL;
    if (in->naddrs && !in->addrs)
        return MF_EINVAL;
    for (size_t k = 1; k < in->naddrs; k++) {
        const struct proc_addr *p = &in->addrs[k - 1], *q = &in->addrs[k];
        if (q->point < p->point || (q->point == p->point && q->day < p->day))
            return MF_EINVAL;
    }
    return 0;
}

/* The address in force at the end of each history day of point `key`, from the sorted
 * addrs at *cursor (advanced past the point's entries). NULL when none is known. */
static const uint64_t *point_addrs(const struct proc_rollup_in *in, uint64_t key,
                                   size_t *cursor, uint64_t *out)
{
    size_t k = *cursor;
    int any = 0;
    while (k < in->naddrs && in->addrs[k].point < key)
        k++;
    int32_t first = in->day - in->hist_days + 1;
    for (int j = 0; j < in->hist_days; j++)
        out[j] = 0;
    for (; k < in->naddrs && in->addrs[k].point == key; k++) {
        int32_t from = in->addrs[k].day - first; /* in force from this column on */
        if (from >= in->hist_days)
            continue;
        for (int j = from < 0 ? 0 : from; j < in->hist_days; j++)
            out[j] = in->addrs[k].addr; /* a later entry overwrites from its own day */
        any = 1;
    }
    *cursor = k;
    return any ? out : NULL;
}

/* Per-area scratch kept in the output struct plus two counters. */
struct area_acc {
    uint32_t supplies, supplies_known;
    uint32_t by_mean;        /* missing customers with no median: allowance = area mean */
    int64_t allowance_e4;    /* sum of the missing customers' medians (x multiplier) */
};

/* Saturating arithmetic: indications come from the wire (bounded by A.14, but multipliers
 * and sums over a million points must not wrap). */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

static void area_add(struct proc_area_out *a, struct area_acc *acc, const struct proc_point *pt,
                     const struct proc_cons *c)
{
    a->expected++;
    if (c->status != PROC_CONS_MISSING)
        a->collected++;
    if (pt->role == PROC_ROLE_SUPPLY) {
        acc->supplies++;
        if (a->supply_point == 0)
            a->supply_point = pt->key;
        if (proc_cons_has_value(c->status)) {
            acc->supplies_known++;
            a->supply_e4 = sat_add(a->supply_e4 < 0 ? 0 : a->supply_e4, c->kwh_e4);
        }
    } else if (pt->role == PROC_ROLE_CUSTOMER) {
        a->customers++;
        if (proc_cons_has_value(c->status)) {
            a->customers_with_cons++;
            a->customers_e4 = sat_add(a->customers_e4, c->kwh_e4);
        } else if (c->median_e4 >= 0) {
            acc->allowance_e4 = sat_add(acc->allowance_e4,
                                        sat_mul(c->median_e4, pt->multiplier ? pt->multiplier : 1));
        } else {
            acc->by_mean++;
        }
    }
}

/* loss / supply in ppm, truncated toward zero: exact unless loss x 1e6 would pass int64
 * (absurd values), then in double. Clamped to int32. supply > 0. */
static int32_t loss_ppm(int64_t loss, int64_t supply)
{
    int64_t scaled, ppm;
    if (!__builtin_mul_overflow(loss, (int64_t)1000000, &scaled)) {
        ppm = scaled / supply;
    } else {
        double d = (double)loss / (double)supply * 1e6;
        ppm = d > 2e9 ? INT32_MAX : d < -2e9 ? -INT32_MAX : (int64_t)d;
    }
    return (int32_t)MF_MAX(MF_MIN(ppm, INT32_MAX), -INT32_MAX);
}

/* Customers missing, supply complete: HIGH_DESPITE_MISSING when supply - customers -
 * allowance stays above the threshold and every missing customer's allowance is its own
 * trailing median, else INCOMPLETE (the missing meters could explain the loss, or their
 * consumption is only guessed: the area mean is kept as the stored estimate, never judged --
 * in the demo it called areas high on days whose missing meters were the big ones). */
static void area_missing(int64_t high_ppm, struct proc_area_out *a, const struct area_acc *acc)
{
    a->status = PROC_LOSS_INCOMPLETE;
    a->allowance_e4 = acc->allowance_e4;
    a->allowance_by_mean = acc->by_mean;
    if (acc->by_mean > 0) {
        if (a->customers_with_cons == 0) {
            a->allowance_e4 = -1; /* no median and no measured customer: no estimate */
            return;
        }
        int64_t mean = a->customers_e4 / a->customers_with_cons;
        a->allowance_e4 = sat_add(a->allowance_e4, sat_mul(mean, acc->by_mean));
    }
    if (a->supply_e4 <= 0)
        return;
    a->loss_e4 = a->supply_e4 - sat_add(a->customers_e4, a->allowance_e4);
    int32_t ppm = loss_ppm(a->loss_e4, a->supply_e4);
    if (ppm > high_ppm && acc->by_mean == 0) {
        a->loss_ppm = ppm;
        a->has_rate = 1;
        a->status = PROC_LOSS_HIGH_DESPITE_MISSING;
    }
}

static void area_finish(int64_t high_ppm, struct proc_area_out *a, const struct area_acc *acc)
{
    if (acc->supplies == 0) {
        a->status = PROC_LOSS_NO_SUPPLY;
        return;
    }
    if (acc->supplies_known < acc->supplies) {
        a->status = PROC_LOSS_INCOMPLETE; /* the supply is not known: nothing is judged */
        a->allowance_e4 = -1;
        return;
    }
    if (a->customers_with_cons < a->customers) {
        area_missing(high_ppm, a, acc);
        return;
    }
    if (a->supply_e4 <= 0) {
        a->status = PROC_LOSS_NO_SUPPLY;
        return;
    }
    a->loss_e4 = a->supply_e4 - a->customers_e4;
    a->loss_ppm = loss_ppm(a->loss_e4, a->supply_e4);
    a->has_rate = 1;
    if (a->loss_e4 < 0)
        a->status = PROC_LOSS_NEGATIVE;
    else if (a->loss_ppm > high_ppm)
        a->status = PROC_LOSS_HIGH;
    else
        a->status = PROC_LOSS_OK;
}

/* line_loss: an area HIGH, or HIGH_DESPITE_MISSING (its loss is not hidden behind a missing
 * meter). On the area's supply point; energies in e4 kWh; count = missing customers. */
static void loss_anomaly(int32_t day, int64_t high_ppm, const struct proc_area_out *a,
                         struct proc_anoms *an)
{
    struct proc_anomaly *x;
    if ((a->status != PROC_LOSS_HIGH && a->status != PROC_LOSS_HIGH_DESPITE_MISSING) ||
        !(x = proc_anoms_push(an)))
        return;
    x->kind = PROC_AN_LINE_LOSS;
    x->severity = PROC_SEV_MAJOR;
    x->point = a->supply_point;
    x->day = day;
    x->value = a->loss_e4;
    x->ref = a->supply_e4;
    x->threshold = a->supply_e4 / 1000000 * high_ppm + a->supply_e4 % 1000000 * high_ppm / 1000000;
    x->count = (int32_t)(a->customers - a->customers_with_cons);
    if (a->status == PROC_LOSS_HIGH)
        snprintf(x->detail, sizeof(x->detail),
                 "supply %" PRId64 ", consumed %" PRId64 " (e-4 kWh): loss %d ppm > %d",
                 a->supply_e4, a->customers_e4, (int)a->loss_ppm, (int)high_ppm);
    else
        snprintf(x->detail, sizeof(x->detail),
                 "supply %" PRId64 ", consumed %" PRId64 " + allowance %" PRId64
                 " for %d missing (e-4 kWh): loss %d ppm > %d",
                 a->supply_e4, a->customers_e4, a->allowance_e4, (int)x->count,
                 (int)a->loss_ppm, (int)high_ppm);
}

/* Stopped: a customer meter with a zero advance for D while its area's supply meter
 * advanced at least stopped_area_min. */
static void stopped_rule(const struct proc_cfg *cfg, const struct proc_rollup_in *in,
                         struct proc_rollup_out *out)
{
    for (size_t i = 0; i < in->npoints; i++) {
        const struct proc_point *pt = &in->points[i];
        const struct proc_cons *c = &out->cons[i];
        if (pt->role != PROC_ROLE_CUSTOMER || pt->area == PROC_NO_AREA ||
            !proc_cons_has_value(c->status) || c->kwh_e4 != 0)
            continue;
        const struct proc_area_out *a = &out->areas[pt->area];
        if (a->supply_e4 < cfg->stopped_area_min_e4)
            continue; /* supply unknown (-1) or idle: no evidence the meter should move */
        struct proc_anomaly *x = proc_anoms_push(&out->anoms);
        if (!x)
            return;
        x->kind = PROC_AN_STOPPED;
        x->severity = PROC_SEV_MAJOR;
        x->point = pt->key;
        x->day = in->day;
        x->value = 0;
        x->ref = a->supply_e4;
        x->threshold = cfg->stopped_area_min_e4;
        snprintf(x->detail, sizeof(x->detail),
                 "zero advance at indication %" PRId64 " e-4 kWh while area supply advanced %" PRId64
                 " e-4 kWh",
                 c->end_e4, a->supply_e4);
    }
}

int proc_rollup(const struct proc_cfg *cfg, const struct proc_rollup_in *in,
                struct proc_rollup_out *out)
{
    struct area_acc acc_small[64];
    struct area_acc *acc = acc_small;

    if (rollup_check(in) != 0)
        return MF_EINVAL;
    if (in->nareas > MF_ARRAY_LEN(acc_small))
        acc = mf_calloc(in->nareas, sizeof(*acc)); /* bounded by master data, not the wire */
    else
        memset(acc_small, 0, sizeof(acc_small));
    for (uint32_t a = 0; a < in->nareas; a++) {
        memset(&out->areas[a], 0, sizeof(out->areas[a]));
        out->areas[a].area = a;
        out->areas[a].supply_e4 = -1;
    }
    out->expected = out->collected = 0;
    size_t acur = 0;
    uint64_t addr_days[PROC_WINDOW_MAX];
    for (size_t i = 0; i < in->npoints; i++) {
        const struct proc_point *pt = &in->points[i];
        struct proc_cons *c = &out->cons[i];
        const uint64_t *addr = point_addrs(in, pt->key, &acur, addr_days);
        proc_consumption_hist_addr(cfg, in->day, pt->key, pt->modulus_e4,
                                   in->hist + i * (size_t)in->hist_days, addr, in->hist_days,
                                   c, &out->anoms);
        if (pt->multiplier > 1 && (proc_cons_has_value(c->status) || c->status == PROC_CONS_GAP))
            c->kwh_e4 = sat_mul(c->kwh_e4, pt->multiplier);
        out->expected++;
        if (out->cons[i].status != PROC_CONS_MISSING)
            out->collected++;
        if (pt->area != PROC_NO_AREA)
            area_add(&out->areas[pt->area], &acc[pt->area], pt, &out->cons[i]);
    }
    for (uint32_t a = 0; a < in->nareas; a++) {
        int64_t high = in->area_high_ppm ? in->area_high_ppm[a] : (int64_t)cfg->loss_high_pct * 10000;
        area_finish(high, &out->areas[a], &acc[a]);
        loss_anomaly(in->day, high, &out->areas[a], &out->anoms);
    }
    stopped_rule(cfg, in, out);
    if (acc != acc_small)
        free(acc);
    return 0;
}
