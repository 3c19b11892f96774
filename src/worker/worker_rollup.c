/* worker_rollup.c -- the daily rollup against the store: read the history of every point in
 * a few bulk passes, run proc_rollup (pure), write consumption, collection success, the
 * missing list, line loss and anomalies back in a few large batches.
 *
 * Store round-trips, not arithmetic, are the cost at 1,000,000 points: store_points_day_iter
 * yields the values of `date` and `date - 1` for every point in key order, so a history of H
 * days takes ceil(H / 2) passes; the history lives in one dense array (8 bytes per
 * point-day). Records are written in batches of at most WK_ROLLUP_CHUNK. The meter
 * addresses seen over the window (store_meter_addr_iter, sparse) feed the replaced rule.
 * Thread: whoever calls worker_analytics_run (the scheduler thread, or a test), serialised
 * by w->amu. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "worker/worker_int.h"

#define WK_MOD "analytics"
#define WK_ROLLUP_CHUNK 200000u
#define WK_ADDRS_MAX 4000000u /* meter addresses read per rollup (the log comes off the wire) */

struct area_tab {
    char **ids;
    uint64_t *supply;
    int32_t *high_ppm;
    uint32_t n, cap;
    uint32_t *slots; /* open addressing: index + 1, 0 empty */
    size_t nslots;
};

struct rollup {
    struct worker *w;
    int32_t day;
    int hist_days;
    int32_t first_day; /* day of hist column 0 */
    struct proc_point *pts;
    uint8_t *online;
    int64_t *hist;
    size_t n, cap;
    struct area_tab at;
    int unsorted;
    struct proc_addr *addrs; /* meter addresses seen, sorted by (point, day) */
    size_t naddrs, addrs_cap;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static uint32_t area_find(const struct area_tab *t, const char *id)
{
    if (!id || !*id || t->nslots == 0)
        return PROC_NO_AREA;
    for (size_t i = fnv(id) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
        if (t->slots[i] == 0)
            return PROC_NO_AREA;
        if (strcmp(t->ids[t->slots[i] - 1], id) == 0)
            return t->slots[i] - 1;
    }
}

static void area_rehash(struct area_tab *t)
{
    free(t->slots);
    t->nslots = 64;
    while (t->nslots < (size_t)t->n * 2 + 2)
        t->nslots *= 2;
    t->slots = mf_calloc(t->nslots, sizeof(*t->slots));
    for (uint32_t k = 0; k < t->n; k++) {
        size_t i = fnv(t->ids[k]) & (t->nslots - 1);
        while (t->slots[i])
            i = (i + 1) & (t->nslots - 1);
        t->slots[i] = k + 1;
    }
}

static int area_cb(void *opaque, const struct store_area_row *a)
{
    struct area_tab *t = opaque;
    if (!a->id || !*a->id || t->n >= 10000000u)
        return 0;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->ids = mf_realloc(t->ids, t->cap * sizeof(*t->ids));
        t->supply = mf_realloc(t->supply, t->cap * sizeof(*t->supply));
        t->high_ppm = mf_realloc(t->high_ppm, t->cap * sizeof(*t->high_ppm));
    }
    t->ids[t->n] = mf_strdup(a->id);
    t->supply[t->n] = a->supply_term ? proc_point_key(a->supply_term, a->supply_pn) : 0;
    t->high_ppm[t->n] = (int32_t)lround(MF_MAX(a->loss_threshold, 0.0) * 1e6);
    t->n++;
    return 0;
}

static void area_free(struct area_tab *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->ids[i]);
    free(t->ids);
    free(t->supply);
    free(t->high_ppm);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static int64_t to_e4(int has, int status, double v)
{
    if (!has || status != STORE_V_OK || !(v >= 0.0) || v > 9.2e14)
        return PROC_HIST_NONE;
    return (int64_t)llround(v * 10000.0);
}

static void hist_set(struct rollup *r, size_t i, int32_t d, int64_t v)
{
    if (d < r->first_day || d > r->day)
        return;
    r->hist[i * (size_t)r->hist_days + (size_t)(d - r->first_day)] = v;
}

/* Pass 0 (date D): learn the points and their master data. */
static int pass0_cb(void *opaque, const struct store_point_day *p)
{
    struct rollup *r = opaque;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4096;
        r->pts = mf_realloc(r->pts, r->cap * sizeof(*r->pts));
        r->online = mf_realloc(r->online, r->cap);
        r->hist = mf_realloc(r->hist, r->cap * (size_t)r->hist_days * sizeof(*r->hist));
    }
    size_t i = r->n++;
    struct proc_point *pt = &r->pts[i];
    pt->key = proc_point_key(p->term, p->pn);
    if (i > 0 && pt->key <= r->pts[i - 1].key)
        r->unsorted = 1;
    pt->area = area_find(&r->at, p->area);
    pt->role = PROC_ROLE_OTHER;
    if (pt->area != PROC_NO_AREA)
        pt->role = p->is_area_meter || r->at.supply[pt->area] == pt->key ? PROC_ROLE_SUPPLY
                                                                         : PROC_ROLE_CUSTOMER;
    pt->modulus_e4 = 0;
    pt->multiplier = p->multiplier >= 1.0 && p->multiplier < 4e9 ? (uint32_t)lround(p->multiplier) : 1;
    r->online[i] = (uint8_t)(p->terminal_online != 0);
    for (int j = 0; j < r->hist_days; j++)
        r->hist[i * (size_t)r->hist_days + (size_t)j] = PROC_HIST_NONE;
    hist_set(r, i, r->day, to_e4(p->has_today, p->today_status, p->today));
    hist_set(r, i, r->day - 1, to_e4(p->has_prev, p->prev_status, p->prev));
    return 0;
}

struct pass_ctx {
    struct rollup *r;
    int32_t date;
};

static int passk_cb(void *opaque, const struct store_point_day *p)
{
    struct pass_ctx *c = opaque;
    struct rollup *r = c->r;
    uint64_t key = proc_point_key(p->term, p->pn);
    size_t lo = 0, hi = r->n;
    while (lo < hi) { /* points are sorted by key (checked in pass 0) */
        size_t mid = lo + (hi - lo) / 2;
        if (r->pts[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->n || r->pts[lo].key != key)
        return 0; /* added to master data since pass 0 */
    hist_set(r, lo, c->date, to_e4(p->has_today, p->today_status, p->today));
    hist_set(r, lo, c->date - 1, to_e4(p->has_prev, p->prev_status, p->prev));
    return 0;
}

/* A meter address (12 BCD digits as stored) as a number; 0 (unknown) for anything else. */
static uint64_t addr_number(const char *s)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s && *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= 12)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v;
}

static int addr_cb(void *opaque, const struct store_meter_addr *a)
{
    struct rollup *r = opaque;
    uint64_t v = addr_number(a->addr);
    if (v == 0 || r->naddrs >= WK_ADDRS_MAX)
        return 0;
    if (r->naddrs == r->addrs_cap) {
        r->addrs_cap = r->addrs_cap ? r->addrs_cap * 2 : 256;
        r->addrs = mf_realloc(r->addrs, r->addrs_cap * sizeof(*r->addrs));
    }
    r->addrs[r->naddrs++] =
        (struct proc_addr){ proc_point_key(a->term, a->pn), wk_civil_day(a->seen_at), v };
    return 0;
}

static int addr_cmp(const void *a, const void *b)
{
    const struct proc_addr *x = a, *y = b;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    return (x->day > y->day) - (x->day < y->day);
}

/* The addresses in force over the history window (the replaced rule). The store orders
 * them by terminal text, pn and time: key order already, sorted again only if not. */
static int rollup_read_addrs(struct rollup *r)
{
    int rc = store_meter_addr_iter(r->w->ast, wk_day_start_utc(r->first_day),
                                   wk_day_start_utc(r->day + 1), addr_cb, r);
    for (size_t k = 1; rc == 0 && k < r->naddrs; k++)
        if (addr_cmp(&r->addrs[k - 1], &r->addrs[k]) > 0) {
            qsort(r->addrs, r->naddrs, sizeof(*r->addrs), addr_cmp);
            break;
        }
    return rc;
}

static int rollup_read(struct rollup *r)
{
    struct worker *w = r->w;
    int rc = store_areas_iter(w->ast, area_cb, &r->at);
    if (rc != 0)
        return rc;
    area_rehash(&r->at);
    rc = store_points_day_iter(w->ast, r->day, pass0_cb, r);
    if (rc != 0)
        return rc;
    if (r->unsorted) {
        mf_error(WK_MOD, "store_points_day_iter did not return points in key order");
        return MF_EFATAL;
    }
    for (int32_t d = r->day - 2; d >= r->first_day; d -= 2) {
        struct pass_ctx c = { r, d };
        rc = store_points_day_iter(w->ast, d, passk_cb, &c);
        if (rc != 0)
            return rc;
    }
    return rollup_read_addrs(r);
}

/* Write one batch, retrying while the store says retry later (bounded by stop). */
int wk_write_retry(struct worker *w, struct wk_recs *recs)
{
    struct store_batch b;
    int delay = w->retry_min_ms;
    wk_recs_batch(recs, &b);
    for (;;) {
        int rc = wk_store_write_on(w, w->ast, &b);
        if (rc == 0 || !mf_status_is_retry(rc))
            return rc;
        if (wk_sleep_ms(w, delay))
            return MF_ECLOSED;
        delay = MF_MIN(delay * 2, w->retry_max_ms);
    }
}

static void use_record(struct wk_recs *recs, const struct proc_cons *c, int64_t now)
{
    struct store_daily_use *u = wk_recs_daily_use(recs);
    u->term = proc_point_terminal(c->point);
    u->pn = proc_point_pn(c->point);
    u->date = c->day;
    u->computed_at = now;
    if (proc_cons_has_value(c->status)) {
        u->status = STORE_V_OK;
        u->flags = c->status == PROC_CONS_ROLLOVER ? STORE_USE_ROLLOVER : 0;
        u->kwh = (double)c->kwh_e4 / 10000.0;
    } else if (c->status == PROC_CONS_BACKWARDS || c->status == PROC_CONS_RESET ||
               c->status == PROC_CONS_REPLACED) {
        u->status = STORE_V_INVALID;
        u->flags = STORE_USE_RESET;
    } else {
        u->status = STORE_V_ABSENT;
        u->flags = STORE_USE_MISSING;
    }
}

static int write_use(struct worker *w, const struct proc_cons *cons, size_t n, int64_t now)
{
    struct wk_recs recs;
    int rc = 0;
    wk_recs_init(&recs);
    for (size_t i = 0; i < n && rc == 0; i++) {
        use_record(&recs, &cons[i], now);
        if (recs.total >= WK_ROLLUP_CHUNK || i + 1 == n) {
            rc = wk_write_retry(w, &recs);
            wk_recs_reset(&recs);
        }
    }
    wk_recs_fini(&recs);
    return rc;
}

static const char *area_id(const struct rollup *r, uint32_t a)
{
    return a == PROC_NO_AREA || a >= r->at.n ? NULL : r->at.ids[a];
}

/* What the panel shows: consumed = the measured customers plus, when some are missing,
 * their allowance, so the rate of an incomplete area is the estimate the rule judged (never
 * the partial sum's inflated loss); the rate is NULL when it cannot be computed (supply
 * unknown or 0, or no allowance estimate), the supply NULL when unknown. */
static void loss_record(struct wk_recs *recs, const struct rollup *r,
                        const struct proc_area_out *a, int64_t now)
{
    struct store_line_loss *x = wk_recs_line_loss(recs);
    int estimated = a->status == PROC_LOSS_INCOMPLETE && a->supply_e4 > 0 &&
                    a->allowance_e4 >= 0; /* area_missing computed loss_e4 */
    x->date = r->day;
    x->area = area_id(r, a->area);
    x->has_supply = a->supply_e4 >= 0;
    x->supply_kwh = x->has_supply ? (double)a->supply_e4 / 10000.0 : 0.0;
    x->has_allowance = a->allowance_e4 >= 0;
    x->allowance_kwh = x->has_allowance ? (double)a->allowance_e4 / 10000.0 : 0.0;
    x->consumed_kwh = (double)(a->customers_e4 + (a->allowance_e4 > 0 ? a->allowance_e4 : 0)) /
                      10000.0;
    x->has_rate = (a->has_rate || estimated) && a->supply_e4 > 0;
    x->rate = x->has_rate ? (double)a->loss_e4 / (double)a->supply_e4 : 0.0;
    x->has_threshold = a->area < r->at.n;
    x->threshold = x->has_threshold ? (double)r->at.high_ppm[a->area] / 1e6 : 0.0;
    x->meters_expected = (int32_t)a->expected;
    x->meters_counted = (int32_t)(a->customers_with_cons + (a->supply_e4 >= 0 ? 1u : 0u));
    x->flag = a->status == PROC_LOSS_HIGH                   ? STORE_LOSS_HIGH
              : a->status == PROC_LOSS_HIGH_DESPITE_MISSING ? STORE_LOSS_HIGH_MISSING
              : a->status == PROC_LOSS_NEGATIVE             ? STORE_LOSS_NEGATIVE
              : a->status == PROC_LOSS_OK                   ? STORE_LOSS_OK
                                                            : STORE_LOSS_INCOMPLETE; /* incl. no supply */
    x->computed_at = now;
}

/* Success rate (overall and per area), the missing list, line loss, anomalies and the
 * re-collection tasks: one batch, because writing the overall success row replaces the
 * day's missing list with the one in the same batch. */
static int write_summary(struct rollup *r, const struct proc_rollup_out *out, int64_t now)
{
    struct worker *w = r->w;
    struct wk_recs recs;
    wk_recs_init(&recs);
    struct store_collect *c = wk_recs_collect(&recs);
    c->date = r->day;
    c->expected = (int32_t)out->expected;
    c->collected = (int32_t)out->collected;
    c->computed_at = now;
    for (uint32_t a = 0; a < r->at.n; a++) {
        c = wk_recs_collect(&recs);
        c->date = r->day;
        c->area = r->at.ids[a];
        c->expected = (int32_t)out->areas[a].expected;
        c->collected = (int32_t)out->areas[a].collected;
        c->computed_at = now;
        if (out->areas[a].expected > 0)
            loss_record(&recs, r, &out->areas[a], now);
    }
    for (size_t i = 0; i < r->n; i++) {
        if (out->cons[i].status != PROC_CONS_MISSING)
            continue;
        struct store_missing *m = wk_recs_missing(&recs);
        m->date = r->day;
        m->term = proc_point_terminal(r->pts[i].key);
        m->pn = proc_point_pn(r->pts[i].key);
        m->area = area_id(r, r->pts[i].area);
    }
    for (size_t k = 0; k < out->anoms.n; k++) {
        const struct proc_anomaly *a = &out->anoms.v[k];
        uint32_t ar = PROC_NO_AREA;
        for (size_t lo = 0, hi = r->n; lo < hi;) { /* the point's area, by key */
            size_t mid = lo + (hi - lo) / 2;
            if (r->pts[mid].key < a->point) {
                lo = mid + 1;
            } else {
                if (r->pts[mid].key == a->point)
                    ar = r->pts[mid].area;
                hi = mid;
            }
        }
        wk_anomaly_record(&recs, a, area_id(r, ar));
    }
    wk_recollect_online(w, r->pts, r->online, r->n);
    int rc = wk_recollect_plan(w, r->day, r->pts, out->cons, r->n, now, &recs);
    if (rc == 0)
        rc = wk_write_retry(w, &recs);
    wk_recs_fini(&recs);
    return rc;
}

static int rollup_compute(struct rollup *r, int64_t now)
{
    struct worker *w = r->w;
    struct proc_rollup_in in = { r->day,       r->pts,      r->n,   r->at.n, r->at.high_ppm,
                                 r->hist,      r->hist_days, r->addrs, r->naddrs };
    struct proc_rollup_out out;
    memset(&out, 0, sizeof(out));
    out.cons = mf_calloc(r->n ? r->n : 1, sizeof(*out.cons));
    out.areas = mf_calloc(r->at.n ? r->at.n : 1, sizeof(*out.areas));
    out.anoms.cap = r->n / 4 + 1024; /* bounded: a day with more anomalies is a data problem */
    out.anoms.v = mf_calloc(out.anoms.cap, sizeof(*out.anoms.v));
    int rc = proc_rollup(&w->pcfg, &in, &out);
    if (rc == 0) {
        if (out.anoms.dropped)
            mf_warn(WK_MOD, "%zu anomalies over the cap of %zu not stored", out.anoms.dropped,
                    out.anoms.cap);
        rc = write_use(w, out.cons, r->n, now);
    }
    if (rc == 0)
        rc = write_summary(r, &out, now);
    size_t resolved = 0, reopened = 0;
    if (rc == 0 && !out.anoms.dropped) { /* only a complete set can withdraw anything */
        int arc = wk_anomaly_reconcile(w, r->day, out.anoms.v, out.anoms.n, now, &resolved,
                                       &reopened);
        if (arc != 0)
            mf_warn(WK_MOD, "day %d: withdrawing anomalies: %s (next run)", r->day,
                    mf_status_str(arc));
    }
    if (rc == 0)
        mf_info(WK_MOD, "day %d: %u of %u points collected, %u areas, %zu anomalies "
                        "(%zu resolved, %zu reopened)", r->day, out.collected, out.expected,
                r->at.n, out.anoms.n, resolved, reopened);
    free(out.cons);
    free(out.areas);
    free(out.anoms.v);
    return rc;
}

int wk_rollup_run(struct worker *w, int32_t day, int64_t now)
{
    struct rollup r;
    memset(&r, 0, sizeof(r));
    r.w = w;
    r.day = day;
    r.hist_days = MF_MIN(w->pcfg.window_days + 1, PROC_WINDOW_MAX);
    r.first_day = day - r.hist_days + 1;
    int rc = rollup_read(&r);
    if (rc == 0)
        rc = rollup_compute(&r, now);
    else
        mf_warn(WK_MOD, "day %d: reading the history: %s", day, mf_status_str(rc));
    free(r.pts);
    free(r.online);
    free(r.hist);
    free(r.addrs);
    area_free(&r.at);
    return rc;
}
