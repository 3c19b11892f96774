/* proc_norm.c -- normalisation of decoded uplink data units (gw3761_data.h) into store
 * records: indications, frozen values, curves, instantaneous values, clocks; the voltage
 * and clock rules run on the samples as they pass.
 *
 * Mapping is by the decoder's value names, so one loop serves a shape (energy, 4 series,
 * curve) whatever the Fn: total_* / tariffs_* values become records with tariff = index
 * (0 total), curve points become records at ts = start + (index - 1) x interval.
 * Invariants: a value's status travels with it (absent/invalid are never 0); terminal
 * civil times are converted with the configured zone; a unit whose time tag is unusable
 * produces no record (it cannot be keyed) and is counted in ctx->skipped.
 * Pure apart from the zone. Thread: any (after mf_clock_set_zone). */
#include <math.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761_data.h"
#include "proc/proc_int.h"

int64_t pn_civil_utc(const struct gw_time *t)
{
    struct mf_civil c = { t->year, t->mon, t->day, t->hour, t->min, t->sec };
    if (t->mon == 0) /* formats without a month (A.16) are not used for records */
        return 0;
    if (t->day == 0)
        c.day = 1;
    return mf_civil_to_utc(&c);
}

const struct gw_value *pn_val(const struct pn_ctx *n, const char *name, uint16_t idx)
{
    return gw_unit_value(n->dec, n->un, name, idx);
}

int pn_time(const struct gw_value *v, int64_t *out)
{
    if (!v || v->kind != GW_VK_TIME || v->status != GW_VS_OK)
        return 0;
    *out = pn_civil_utc(&v->u.t);
    return 1;
}

int pn_emit(struct pn_ctx *n, const struct proc_rec *r)
{
    if (n->rc == 0)
        n->rc = n->emit(n->opaque, r);
    return n->rc;
}

double pn_num(const struct gw_value *v)
{
    return v->status == GW_VS_OK ? gw_num_to_double(v->u.i, v->exp) : 0.0;
}

/* Item code of an energy value name in a unit of the given fn (NULL: not an indication). */
static const char *const e8_items[8] = { STORE_ITEM_AP_FWD, STORE_ITEM_RQ_FWD, STORE_ITEM_AP_REV,
                                         STORE_ITEM_RQ_REV, STORE_ITEM_Q1,     STORE_ITEM_Q2,
                                         STORE_ITEM_Q3,     STORE_ITEM_Q4 };

static int starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* reverse: the unit is a reverse series (0C F34, 0D F2/F10/F18). base: e8 index of an
 * energy-shape Fn, or -1 for a 4-series Fn. */
static const char *energy_item(const char *name, int reverse, int base)
{
    if (starts(name, "total_") || starts(name, "tariffs_"))
        return base >= 0 ? e8_items[base] : reverse ? STORE_ITEM_AP_REV : STORE_ITEM_AP_FWD;
    if (base >= 0)
        return NULL;
    if (starts(name, "reactive_"))
        return reverse ? STORE_ITEM_RQ_REV : STORE_ITEM_RQ_FWD;
    if (starts(name, "q1_"))
        return STORE_ITEM_Q1;
    if (starts(name, "q2_"))
        return STORE_ITEM_Q2;
    if (starts(name, "q3_"))
        return STORE_ITEM_Q3;
    if (starts(name, "q4_"))
        return STORE_ITEM_Q4;
    return NULL;
}

/* Shared by current (0C) and frozen (0D) indications. kind 0: current; else frozen kind. */
static void norm_indications(struct pn_ctx *n, int reverse, int base, int kind)
{
    struct proc_rec r;
    int64_t read_at = 0;
    int32_t date = 0;
    int has_read = pn_time(pn_val(n, "reading_time", 0), &read_at);
    if (kind) {
        const struct gw_value *td = pn_val(n, kind == STORE_FROZEN_MONTHLY ? "td_m" : "td_d", 0);
        if (!td || td->status != GW_VS_OK) {
            n->ctx->skipped++;
            return;
        }
        date = mf_date_to_days(td->u.t.year, td->u.t.mon, kind == STORE_FROZEN_MONTHLY ? 1 : td->u.t.day);
    } else if (!has_read) {
        read_at = n->ctx->received_at; /* the key needs a time: use when we got it */
    }
    for (uint16_t i = n->un->first; i < n->un->first + n->un->nval && n->rc == 0; i++) {
        const struct gw_value *v = &n->dec->vals[i];
        const char *item = v->kind == GW_VK_NUM ? energy_item(v->name, reverse, base) : NULL;
        if (!item)
            continue;
        memset(&r, 0, sizeof(r));
        if (kind) {
            r.type = PROC_REC_FROZEN;
            r.u.frozen = (struct store_frozen){ n->ctx->term, n->un->pn, (uint8_t)kind,
                                                (uint8_t)v->index, v->status, item, date,
                                                pn_num(v), has_read ? read_at : 0 };
        } else {
            r.type = PROC_REC_ENERGY;
            r.u.energy = (struct store_energy){ n->ctx->term, n->un->pn, (uint8_t)v->index,
                                                v->status, item, read_at, pn_num(v) };
        }
        pn_emit(n, &r);
    }
}

/* A voltage sample for the voltage rule. */
static void volt_sample(struct pn_ctx *n, const struct gw_value *v, uint8_t phase, int64_t at)
{
    if (!n->ctx->cfg || v->status != GW_VS_OK || n->nvolt >= PN_VOLT_MAX)
        return;
    struct proc_volt *s = &n->volt[n->nvolt++];
    s->point = proc_point_key(n->ctx->term, n->un->pn);
    s->at = at;
    s->phase = phase;
    s->dv = (int32_t)lround(pn_num(v) * 10.0);
}

/* 0C F25: one instantaneous record per quantity ("ua_v" -> "ua"). */
static void norm_f25(struct pn_ctx *n)
{
    struct proc_rec r;
    int64_t at = n->ctx->received_at;
    pn_time(pn_val(n, "reading_time", 0), &at);
    for (uint16_t i = n->un->first; i < n->un->first + n->un->nval && n->rc == 0; i++) {
        const struct gw_value *v = &n->dec->vals[i];
        char q[8];
        size_t k = 0;
        if (v->kind != GW_VK_NUM)
            continue;
        while (v->name[k] && v->name[k] != '_' && k < sizeof(q) - 1) {
            q[k] = v->name[k];
            k++;
        }
        q[k] = 0;
        if (q[0] == 'u' && q[1] >= 'a' && q[1] <= 'c' && !q[2])
            volt_sample(n, v, (uint8_t)(q[1] - 'a' + 1), at);
        memset(&r, 0, sizeof(r));
        r.type = PROC_REC_INSTANT;
        r.u.instant = (struct store_instant){ n->ctx->term, n->un->pn, v->status, q, at,
                                              pn_num(v) };
        pn_emit(n, &r);
    }
}

/* 0C F2: the terminal clock; offset = terminal time - received time. */
static void norm_clock(struct pn_ctx *n)
{
    struct proc_rec r;
    int64_t t;
    if (!pn_time(pn_val(n, "clock", 0), &t)) {
        n->ctx->skipped++;
        return;
    }
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_CLOCK;
    r.u.clock = (struct store_clock){ n->ctx->term, n->ctx->received_at, t };
    pn_emit(n, &r);
    if (n->ctx->cfg && n->ctx->anoms) {
        struct proc_clock s = { proc_point_key(n->ctx->term, 0), n->ctx->received_at,
                                (int32_t)MF_MAX(MF_MIN(t - n->ctx->received_at, INT32_MAX),
                                                -INT32_MAX) };
        proc_clock_check(n->ctx->cfg, pn_day(n->ctx->received_at), &s, 1, n->ctx->anoms);
    }
}

static const char *curve_item(uint8_t fn, const char *vname, char *buf, size_t len)
{
    static const char *const c81[] = { "p",  "pa", "pb", "pc", "q",  "qa", "qb", "qc",
                                       "ua", "ub", "uc", "ia", "ib", "ic", "i0", NULL,
                                       "ap_fwd_delta", "rq1_delta", "ap_rev_delta",
                                       "rq2_delta", "ap_fwd", "rq1", "ap_rev", "rq2",
                                       "pf", "pfa", "pfb", "pfc" };
    static const char *const c145[] = { "q1", "q4", "q2", "q3" };
    if (fn >= 81 && fn <= 108)
        return c81[fn - 81];
    if (fn >= 145 && fn <= 148)
        return c145[fn - 145];
    if (fn == 109 || fn == 110) { /* "ua_angle_deg" -> "ua_angle" */
        size_t k = 0;
        while (k < len - 1 && vname[k] && strcmp(vname + k, "_deg") != 0) {
            buf[k] = vname[k];
            k++;
        }
        buf[k] = 0;
        return buf;
    }
    return NULL;
}

/* 0D curves: point k (index k + 1) belongs to start + k x interval. */
static void norm_curve(struct pn_ctx *n)
{
    struct proc_rec r;
    int64_t start;
    const struct gw_value *iv = pn_val(n, "interval_min", 0);
    if (!pn_time(pn_val(n, "td_c", 0), &start) || !iv || iv->u.i <= 0) {
        n->ctx->skipped++; /* no usable start or a reserved density: points cannot be placed */
        return;
    }
    int64_t step = iv->u.i * 60;
    for (uint16_t i = n->un->first; i < n->un->first + n->un->nval && n->rc == 0; i++) {
        const struct gw_value *v = &n->dec->vals[i];
        char buf[24];
        if (v->kind != GW_VK_NUM || v->index == 0)
            continue;
        const char *item = curve_item(n->un->fn, v->name, buf, sizeof(buf));
        if (!item)
            continue;
        int64_t ts = start + (int64_t)(v->index - 1) * step;
        if (n->un->fn >= 89 && n->un->fn <= 91)
            volt_sample(n, v, (uint8_t)(n->un->fn - 88), ts);
        memset(&r, 0, sizeof(r));
        r.type = PROC_REC_CURVE;
        r.u.curve = (struct store_curve){ n->ctx->term, n->un->pn, v->status, item, ts,
                                          pn_num(v) };
        pn_emit(n, &r);
    }
}

static void norm_0c(struct pn_ctx *n)
{
    uint8_t fn = n->un->fn;
    if (fn == 2)
        norm_clock(n);
    else if (fn == 25)
        norm_f25(n);
    else if (fn == 33 || fn == 34)
        norm_indications(n, fn == 34, -1, 0);
    else if (fn >= 129 && fn <= 136)
        norm_indications(n, 0, fn - 129, 0);
    else
        n->ctx->skipped++; /* e.g. F137..F144 (settlement day), F170: kept raw only */
}

static void norm_0d(struct pn_ctx *n)
{
    uint8_t fn = n->un->fn;
    if (fn == 1 || fn == 2)
        norm_indications(n, fn == 2, -1, STORE_FROZEN_DAILY);
    else if (fn == 9 || fn == 10)
        norm_indications(n, fn == 10, -1, STORE_FROZEN_READDAY);
    else if (fn == 17 || fn == 18)
        norm_indications(n, fn == 18, -1, STORE_FROZEN_MONTHLY);
    else if (fn >= 161 && fn <= 184)
        norm_indications(n, 0, (fn - 161) % 8,
                         fn <= 168   ? STORE_FROZEN_DAILY
                         : fn <= 176 ? STORE_FROZEN_READDAY
                                     : STORE_FROZEN_MONTHLY);
    else if ((fn >= 81 && fn <= 110) || (fn >= 145 && fn <= 148))
        norm_curve(n);
    else
        n->ctx->skipped++;
}

int32_t pn_day(int64_t t)
{
    struct mf_civil c;
    mf_utc_to_civil(t, &c);
    return mf_date_to_days(c.year, c.month, c.day);
}

/* Voltage samples of the frame, grouped per (point, phase) for proc_voltage. */
static int cmp_volt(const void *a, const void *b)
{
    const struct proc_volt *x = a, *y = b;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

static void voltage_rule(struct pn_ctx *n)
{
    size_t nv = n->nvolt; /* <= PN_VOLT_MAX (volt_sample); a local, as the loops write n */
    if (!nv || !n->ctx->cfg || !n->ctx->anoms)
        return;
    int32_t days[PN_VOLT_MAX];
    uint8_t done[PN_VOLT_MAX] = { 0 };
    for (size_t i = 0; i < nv; i++)
        days[i] = pn_day(n->volt[i].at);
    /* one proc_voltage call per civil day, so an anomaly belongs to its samples' day */
    for (size_t i = 0; i < nv; i++) {
        if (done[i])
            continue;
        size_t k = 0;
        for (size_t j = i; j < nv; j++)
            if (!done[j] && days[j] == days[i]) {
                n->tmp[k++] = n->volt[j];
                done[j] = 1;
            }
        qsort(n->tmp, k, sizeof(*n->tmp), cmp_volt);
        proc_voltage(n->ctx->cfg, days[i], n->tmp, k, n->ctx->anoms);
    }
}

int proc_norm_units(struct proc_norm_ctx *ctx, const struct gw_decoded *dec, proc_emit_fn emit,
                    void *opaque)
{
    struct pn_ctx *n = mf_calloc(1, sizeof(*n)); /* ~40 KB of samples: not on the stack */
    n->ctx = ctx;
    n->dec = dec;
    n->emit = emit;
    n->opaque = opaque;
    for (uint16_t u = 0; u < dec->nunits && n->rc == 0; u++) {
        n->un = &dec->units[u];
        if (n->un->status != GW_US_OK && n->un->status != GW_US_CAP) {
            ctx->skipped++; /* unknown or truncated: what it holds is unreliable */
            continue;
        }
        switch (n->un->afn) {
        case GW_AFN_CLASS1: norm_0c(n); break;
        case GW_AFN_CLASS2: norm_0d(n); break;
        default: pn_norm_other(n); break;
        }
    }
    voltage_rule(n);
    int rc = n->rc;
    free(n);
    return rc;
}
