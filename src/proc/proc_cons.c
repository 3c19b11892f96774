/* proc_cons.c -- daily consumption of one point from its daily frozen indications, and the
 * rules that look at one point's indications alone (backwards, reset, replaced, jump).
 *
 * Definitions (docs/ANALYTICS.md "Daily consumption"): the consumption of day D is
 * I(D) - I(D-1), where I(D) is the indication frozen at the end of D. A smaller I(D) is a
 * rollover when I(D-1) was in the top rollover_window_pct of the register and I(D) in the
 * bottom one (consumption I(D) + modulus - I(D-1)); otherwise a reset when I(D) is at most
 * reset_max, otherwise the reading went backwards. When the previous usable value is k > 1
 * days back the advance covers k days and is reported as a gap, never as D's consumption.
 *
 * Invariant: only values with status OK are used; absent/invalid values are missing.
 * Pure: no I/O, no allocation. Thread: any (reentrant). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/proc.h"

void proc_cfg_defaults(struct proc_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->window_days = 7;
    c->rollover_window_pct = 10;
    c->reset_max_e4 = 10 * PROC_E4;
    c->jump_factor_pct = 500;
    c->jump_min_history = 3;
    c->jump_floor_e4 = 1 * PROC_E4;
    c->stopped_area_min_e4 = 1 * PROC_E4;
    c->loss_high_pct = 10;
    c->voltage_nominal_dv = 2200;
    c->voltage_low_pct = 10;
    c->voltage_high_pct = 7;
    c->clock_max_offset_s = 300;
    c->offline_max_hours = 24;
    c->erc_min_severity = PROC_SEV_MAJOR;
    c->flap_min_logins = 10;
    c->flap_min_offlines = 10;
    c->flap_quiet_hours = 24;
}

struct proc_anomaly *proc_anoms_push(struct proc_anoms *a)
{
    if (a->n >= a->cap) {
        a->dropped++;
        return NULL;
    }
    struct proc_anomaly *x = &a->v[a->n++];
    memset(x, 0, sizeof(*x));
    x->count = 1;
    return x;
}

int64_t proc_modulus_from_digits(int int_digits)
{
    static const int64_t mods[] = { 10000LL, 100000LL, 1000000LL, 10000000LL };
    if (int_digits < 4 || int_digits > 7)
        return PROC_DEFAULT_MODULUS_E4;
    return mods[int_digits - 4] * PROC_E4;
}

const char *proc_cons_status_str(int st)
{
    static const char *const names[] = { "ok",   "rollover",  "missing", "no_prev",
                                         "gap",  "backwards", "reset",   "replaced" };
    if (st < 0 || (size_t)st >= MF_ARRAY_LEN(names))
        return "unknown";
    return names[st];
}

/* "123.4567" from e4 units (sign kept). */
static void fmt_e4(char *out, size_t len, int64_t v)
{
    uint64_t a = v < 0 ? (uint64_t)(-(v + 1)) + 1u : (uint64_t)v;
    snprintf(out, len, "%s%" PRIu64 ".%04" PRIu64, v < 0 ? "-" : "", a / 10000u, a % 10000u);
}

/* Usable values of one point inside the window, ascending by day, one per day. */
struct cons_win {
    int32_t day[PROC_WINDOW_MAX];
    int64_t val[PROC_WINDOW_MAX];
    uint64_t addr[PROC_WINDOW_MAX];
    size_t k;
};

static void win_add(struct cons_win *w, int32_t day, int64_t val, uint64_t addr)
{
    if (w->k > 0 && w->day[w->k - 1] == day)
        w->k--; /* the last value of a day wins */
    if (w->k >= PROC_WINDOW_MAX)
        return;
    w->day[w->k] = day;
    w->val[w->k] = val;
    w->addr[w->k] = addr;
    w->k++;
}

static int window_days(const struct proc_cfg *cfg)
{
    return MF_MIN(MF_MAX(cfg->window_days, 1), PROC_WINDOW_MAX - 1);
}

/* Classify the step from entry i-1 to entry i of w. *adv gets the advance for OK and
 * ROLLOVER, -1 otherwise. */
static int step_classify(const struct proc_cfg *cfg, int64_t modulus, const struct cons_win *w,
                         size_t i, int64_t *adv)
{
    int64_t p = w->val[i - 1], c = w->val[i];
    *adv = -1;
    if (w->addr[i - 1] && w->addr[i] && w->addr[i - 1] != w->addr[i])
        return PROC_CONS_REPLACED;
    if (c >= p) {
        *adv = c - p;
        return PROC_CONS_OK;
    }
    int64_t band = modulus / 100 * cfg->rollover_window_pct;
    if (p >= modulus - band && c <= band && p < modulus) {
        *adv = modulus - p + c;
        return PROC_CONS_ROLLOVER;
    }
    if (c <= cfg->reset_max_e4)
        return PROC_CONS_RESET;
    return PROC_CONS_BACKWARDS;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n >= 1); for even n the mean of the two middle values, rounded down.
 * Sorts v (n <= PROC_WINDOW_MAX). */
static int64_t median_i64(int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_i64);
    if (n % 2)
        return v[n / 2];
    return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

static void anomaly_from_step(const struct proc_cons *o, int64_t modulus, struct proc_anoms *an)
{
    char a[32], b[32];
    struct proc_anomaly *x;
    if (o->status != PROC_CONS_BACKWARDS && o->status != PROC_CONS_RESET &&
        o->status != PROC_CONS_REPLACED)
        return;
    if (!(x = proc_anoms_push(an)))
        return;
    x->point = o->point;
    x->day = o->day;
    x->value = o->end_e4;
    x->ref = o->start_e4;
    x->count = o->span_days;
    fmt_e4(a, sizeof(a), o->start_e4);
    fmt_e4(b, sizeof(b), o->end_e4);
    if (o->status == PROC_CONS_BACKWARDS) {
        x->kind = PROC_AN_BACKWARDS;
        x->severity = PROC_SEV_MAJOR;
        x->threshold = modulus;
        snprintf(x->detail, sizeof(x->detail), "indication fell from %s to %s kWh over %d day(s)",
                 a, b, (int)o->span_days);
    } else if (o->status == PROC_CONS_RESET) {
        x->kind = PROC_AN_RESET;
        x->severity = PROC_SEV_MINOR;
        snprintf(x->detail, sizeof(x->detail), "indication restarted: %s -> %s kWh", a, b);
    } else {
        x->kind = PROC_AN_REPLACED;
        x->severity = PROC_SEV_INFO;
        snprintf(x->detail, sizeof(x->detail), "meter address changed; %s -> %s kWh", a, b);
    }
}

/* Trailing median of single-day OK/ROLLOVER advances among w[0..k) (all before D). */
static int64_t trailing_median(const struct proc_cfg *cfg, int64_t modulus,
                               const struct cons_win *w, size_t k)
{
    int64_t adv[PROC_WINDOW_MAX];
    size_t m = 0;
    for (size_t i = 1; i < k; i++) {
        int64_t a;
        if (w->day[i] - w->day[i - 1] != 1)
            continue;
        if (proc_cons_has_value(step_classify(cfg, modulus, w, i, &a)))
            adv[m++] = a;
    }
    if (m == 0 || (int)m < cfg->jump_min_history)
        return -1;
    return median_i64(adv, m);
}

static void jump_rule(const struct proc_cfg *cfg, const struct proc_cons *o,
                      struct proc_anoms *an)
{
    char a[32], b[32];
    if (!proc_cons_has_value(o->status) || o->median_e4 < 0)
        return;
    int64_t base = MF_MAX(o->median_e4, cfg->jump_floor_e4);
    int64_t limit;
    if (__builtin_mul_overflow(base, (int64_t)cfg->jump_factor_pct, &limit))
        return; /* a median this large is no base for anything */
    limit /= 100;
    if (o->kwh_e4 <= limit)
        return;
    struct proc_anomaly *x = proc_anoms_push(an);
    if (!x)
        return;
    x->kind = PROC_AN_JUMP;
    x->severity = PROC_SEV_MINOR;
    x->point = o->point;
    x->day = o->day;
    x->value = o->kwh_e4;
    x->ref = o->median_e4;
    x->threshold = limit;
    fmt_e4(a, sizeof(a), o->kwh_e4);
    fmt_e4(b, sizeof(b), o->median_e4);
    snprintf(x->detail, sizeof(x->detail), "advance %s kWh > %d%% of trailing median %s kWh", a,
             cfg->jump_factor_pct, b);
}

static void cons_core(const struct proc_cfg *cfg, int32_t day, uint64_t point, int64_t modulus_e4,
                      const struct cons_win *w, struct proc_cons *out, struct proc_anoms *an)
{
    int64_t modulus = modulus_e4 > 0 ? modulus_e4 : PROC_DEFAULT_MODULUS_E4;
    size_t k = w->k;

    memset(out, 0, sizeof(*out));
    out->point = point;
    out->day = day;
    out->status = PROC_CONS_MISSING;
    out->start_e4 = out->end_e4 = out->median_e4 = -1;
    if (k == 0)
        return;
    if (w->day[k - 1] != day) { /* missing: the median still gives its line-loss allowance */
        out->median_e4 = trailing_median(cfg, modulus, w, k);
        return;
    }
    out->end_e4 = w->val[k - 1];
    if (k == 1) {
        out->status = PROC_CONS_NO_PREV;
        return;
    }
    out->start_e4 = w->val[k - 2];
    out->span_days = day - w->day[k - 2];
    out->status = (uint8_t)step_classify(cfg, modulus, w, k - 1, &out->kwh_e4);
    if (out->kwh_e4 < 0)
        out->kwh_e4 = 0;
    if (proc_cons_has_value(out->status) && out->span_days > 1)
        out->status = PROC_CONS_GAP;
    out->median_e4 = trailing_median(cfg, modulus, w, k - 1);
    anomaly_from_step(out, modulus, an);
    jump_rule(cfg, out, an);
}

void proc_consumption(const struct proc_cfg *cfg, int32_t day, uint64_t point,
                      int64_t modulus_e4, const struct proc_ind *ind, size_t n,
                      struct proc_cons *out, struct proc_anoms *an)
{
    struct cons_win w;
    int win = window_days(cfg);
    w.k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct proc_ind *x = &ind[i];
        if (x->status == PROC_VAL_OK && x->day >= day - win && x->day <= day && x->kwh_e4 >= 0)
            win_add(&w, x->day, x->kwh_e4, x->meter_addr);
    }
    cons_core(cfg, day, point, modulus_e4, &w, out, an);
}

void proc_consumption_hist_addr(const struct proc_cfg *cfg, int32_t day, uint64_t point,
                                int64_t modulus_e4, const int64_t *hist, const uint64_t *addr,
                                int hist_days, struct proc_cons *out, struct proc_anoms *an)
{
    struct cons_win w;
    int win = window_days(cfg);
    w.k = 0;
    for (int j = 0; j < hist_days; j++) {
        int32_t d = day - hist_days + 1 + j;
        if (hist[j] >= 0 && d >= day - win)
            win_add(&w, d, hist[j], addr ? addr[j] : 0);
    }
    cons_core(cfg, day, point, modulus_e4, &w, out, an);
}

void proc_consumption_hist(const struct proc_cfg *cfg, int32_t day, uint64_t point,
                           int64_t modulus_e4, const int64_t *hist, int hist_days,
                           struct proc_cons *out, struct proc_anoms *an)
{
    proc_consumption_hist_addr(cfg, day, point, modulus_e4, hist, NULL, hist_days, out, an);
}
