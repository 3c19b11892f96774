/* worker_life.c -- the life cycle of the anomalies no rollup run withdraws (docs/ANALYTICS.md
 * "Anomaly life cycle"): a terminal back online resolves its `offline` anomalies (with the
 * outage recorded), a terminal online and quiet for flap_quiet_hours its `flapping` ones, a
 * terminal clock read within clock_max_offset_s after the anomaly its `clock` ones, and a
 * later completed day whose voltage samples are all inside the limit a point's
 * `voltage_low` / `voltage_high` ones. A `resolved` one whose condition is found again (on
 * its own day, see each rule) is `open` again. Only open, ack and resolved anomalies are
 * read: an operator's `closed` is never touched, and a state change is made only from the
 * state read (store_anomaly_transition), so an operator's change in between wins. Every
 * change is audited (wk_anomaly_change).
 *
 * One pass per analytics round: read the terminals' runtime state, the terminals with a
 * login or offline change within the quiet period, and the candidate anomalies (one scan);
 * decide each; apply. Voltage candidates cost one store read per day checked, at most
 * window_days each and LIFE_VOLT_MAX candidates per pass.
 * Thread: the analytics caller (serialised by w->amu). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "worker/worker_int.h"

#define WK_MOD "analytics"
#define LIFE_MAX 100000    /* candidate anomalies per pass (the rest waits for the next) */
#define LIFE_VOLT_MAX 2000 /* voltage candidates checked per pass */
#define LIFE_TERMS_MAX 10000000u

struct life_cand {
    int64_t id;
    int kind;            /* PROC_AN_* */
    uint32_t term;
    uint16_t pn;
    int32_t day;         /* civil day of `at` (the rule's day) */
    int64_t observed_at; /* evidence "observed_at", 0 unknown */
    int resolved;        /* state read: 1 resolved, 0 open or ack */
    int ack;
};

struct life {
    struct worker *w;
    int64_t now;
    int32_t today;
    struct store_terminal_state *ts;
    size_t nts, capts;
    uint32_t *busy; /* terminals with a login or offline change within the quiet period */
    size_t nbusy, capbusy;
    struct life_cand *c;
    size_t nc, capc;
    size_t resolved, reopened;
};

static int life_kind(const char *k)
{
    static const int kinds[] = { PROC_AN_OFFLINE, PROC_AN_FLAPPING, PROC_AN_CLOCK,
                                 PROC_AN_VOLTAGE_LOW, PROC_AN_VOLTAGE_HIGH };
    for (size_t i = 0; k && i < MF_ARRAY_LEN(kinds); i++)
        if (strcmp(k, proc_anomaly_kind_str(kinds[i])) == 0)
            return kinds[i];
    return 0;
}

static int term_cb(void *opaque, const struct store_terminal_state *t)
{
    struct life *l = opaque;
    if (l->nts >= LIFE_TERMS_MAX)
        return 0;
    if (l->nts == l->capts) {
        l->capts = l->capts ? l->capts * 2 : 256;
        l->ts = mf_realloc(l->ts, l->capts * sizeof(*l->ts));
    }
    l->ts[l->nts++] = *t;
    return 0;
}

static int busy_cb(void *opaque, const struct store_session_count *c)
{
    struct life *l = opaque;
    if (l->nbusy >= LIFE_TERMS_MAX)
        return 0;
    if (l->nbusy == l->capbusy) {
        l->capbusy = l->capbusy ? l->capbusy * 2 : 64;
        l->busy = mf_realloc(l->busy, l->capbusy * sizeof(*l->busy));
    }
    l->busy[l->nbusy++] = c->term;
    return 0;
}

static int cand_cb(void *opaque, const struct store_anomaly_row *a)
{
    struct life *l = opaque;
    int kind = life_kind(a->kind);
    if (!kind || (kind != PROC_AN_VOLTAGE_LOW && kind != PROC_AN_VOLTAGE_HIGH && a->pn != 0))
        return 0; /* meter clocks (pn > 0): no later reading of them is stored */
    if (l->nc == l->capc) {
        l->capc = l->capc ? l->capc * 2 : 64;
        l->c = mf_realloc(l->c, l->capc * sizeof(*l->c));
    }
    struct life_cand *c = &l->c[l->nc++];
    memset(c, 0, sizeof(*c));
    c->id = a->id;
    c->kind = kind;
    c->term = a->term;
    c->pn = a->pn;
    c->day = wk_civil_day(a->at);
    c->resolved = strcmp(a->state, "resolved") == 0;
    c->ack = strcmp(a->state, "ack") == 0;
    json_t *ev = a->evidence_json ? json_loads(a->evidence_json, 0, NULL) : NULL;
    const char *obs = json_string_value(json_object_get(ev, "observed_at"));
    if (obs && mf_time_parse(obs, &c->observed_at) != 0)
        c->observed_at = 0;
    json_decref(ev);
    return 0;
}

static int cmp_state(const void *a, const void *b)
{
    const struct store_terminal_state *x = a, *y = b;
    return (x->term > y->term) - (x->term < y->term);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static const struct store_terminal_state *life_term(const struct life *l, uint32_t term)
{
    struct store_terminal_state k = { .term = term };
    return l->nts ? bsearch(&k, l->ts, l->nts, sizeof(*l->ts), cmp_state) : NULL;
}

static int life_busy(const struct life *l, uint32_t term)
{
    return l->nbusy && bsearch(&term, l->busy, l->nbusy, sizeof(*l->busy), cmp_u32) != NULL;
}

static int life_read(struct life *l)
{
    struct worker *w = l->w;
    int64_t quiet = (int64_t)w->pcfg.flap_quiet_hours * 3600;
    /* resolved ones that may be found again: the voltage rule looks back over its window */
    int64_t rfrom = wk_day_start_utc(l->today - w->pcfg.window_days - 1);
    int rc = store_terminal_states_iter(w->ast, term_cb, l);
    if (rc == 0)
        rc = store_session_counts_iter(w->ast, l->now - quiet + 1, l->now + 1, busy_cb, l);
    if (rc == 0)
        rc = store_anomaly_life_iter(w->ast, rfrom, LIFE_MAX, cand_cb, l);
    if (l->nts)
        qsort(l->ts, l->nts, sizeof(*l->ts), cmp_state);
    if (l->nbusy)
        qsort(l->busy, l->nbusy, sizeof(*l->busy), cmp_u32);
    return rc;
}

static void cand_change(const struct life_cand *c, struct wk_an_change *x)
{
    memset(x, 0, sizeof(*x));
    x->id = c->id;
    x->kind = proc_anomaly_kind_str(c->kind);
    gw_terminal_format((uint16_t)(c->term >> 16), (uint16_t)(c->term & 0xFFFF), x->term);
    x->pn = c->pn;
    x->day = c->day;
    x->from = c->resolved ? "resolved" : c->ack ? "ack" : "open";
    x->to = c->resolved ? "open" : "resolved";
}

static json_t *time_json(int64_t t)
{
    char ts[40];
    mf_utc_format(t, ts, sizeof(ts));
    return json_string(ts);
}

/* offline: resolved once the terminal is online, with the outage (the anomaly's
 * observed_at, when it went offline, to its first login after that); reopened when the
 * rule holds again on the anomaly's own day (offline longer than the limit). */
static int decide_offline(struct life *l, const struct life_cand *c,
                          const struct store_terminal_state *t, struct wk_an_change *x,
                          json_t **extra)
{
    int64_t limit = (int64_t)l->w->pcfg.offline_max_hours * 3600;
    if (!c->resolved && t->online) {
        int64_t since = c->observed_at, back = 0;
        if (!since || store_login_after(l->w->ast, c->term, since, &back) != 0)
            back = t->has_last_seen ? t->last_seen : l->now;
        x->reason = "the terminal is online again";
        *extra = json_pack("{s:o, s:o, s:I}", "offline_since", time_json(since),
                           "back_online_at", time_json(back), "outage_s",
                           (json_int_t)(since && back > since ? back - since : 0));
        return 1;
    }
    if (c->resolved && c->day == l->today && !t->online && t->has_last_seen &&
        l->now - t->last_seen > limit) {
        x->reason = "offline longer than the limit again";
        *extra = json_pack("{s:o}", "offline_since", time_json(t->last_seen));
        return 1;
    }
    return 0;
}

/* flapping: resolved once the terminal is online with no login or offline change for
 * flap_quiet_hours; a resolved one of today or yesterday (the days the rule still runs
 * for) is reopened by any such change within the quiet period, i.e. after it was resolved. */
static int decide_flap(struct life *l, const struct life_cand *c,
                       const struct store_terminal_state *t, struct wk_an_change *x,
                       json_t **extra)
{
    int busy = life_busy(l, c->term);
    if (!c->resolved && t->online && !busy) {
        x->reason = "online with no login or offline change for the quiet period";
        *extra = json_pack("{s:i}", "quiet_hours", l->w->pcfg.flap_quiet_hours);
        return 1;
    }
    if (c->resolved && busy && c->day >= l->today - 1) {
        x->reason = "logins or offline changes again within the quiet period";
        *extra = json_pack("{s:i}", "quiet_hours", l->w->pcfg.flap_quiet_hours);
        return 1;
    }
    return 0;
}

/* clock (terminal, pn 0): the terminal's newest clock reading (0C F2 answer or heartbeat
 * clock) decides: within the limit and read after the anomaly's observation -> resolved;
 * outside the limit again on the anomaly's own day -> reopened. */
static int decide_clock(struct life *l, const struct life_cand *c,
                        const struct store_terminal_state *t, struct wk_an_change *x,
                        json_t **extra)
{
    if (!t->has_clock)
        return 0;
    int64_t off = t->clock_offset_s < 0 ? -(int64_t)t->clock_offset_s : t->clock_offset_s;
    int inside = off <= l->w->pcfg.clock_max_offset_s;
    if (!c->resolved && inside && t->clock_at > c->observed_at) {
        x->reason = "a later clock reading is within the limit";
    } else if (c->resolved && !inside && wk_civil_day(t->clock_at) == c->day) {
        x->reason = "a later clock reading of the day is outside the limit again";
    } else {
        return 0;
    }
    *extra = json_pack("{s:I, s:o, s:i}", "clock_offset_s", (json_int_t)t->clock_offset_s,
                       "clock_at", time_json(t->clock_at), "limit_s",
                       l->w->pcfg.clock_max_offset_s);
    return 1;
}

/* voltage: a completed day after the anomaly's (the last window_days at most) on which the
 * point has voltage samples, none outside the anomaly's limit, is clean. Open/ack with a
 * clean day -> resolved; resolved with none (late samples spoilt it) -> reopened. 0 no
 * change, 1 change, or a store status. */
static int decide_voltage(struct life *l, const struct life_cand *c, struct wk_an_change *x,
                          json_t **extra)
{
    int32_t lo, hi, from = MF_MAX(c->day + 1, l->today - l->w->pcfg.window_days);
    proc_voltage_limits(&l->w->pcfg, &lo, &hi);
    int low = c->kind == PROC_AN_VOLTAGE_LOW;
    for (int32_t d = l->today - 1; d >= from; d--) { /* newest first */
        int64_t n = 0;
        double vmin, vmax;
        int rc = store_voltage_range(l->w->ast, c->term, c->pn, wk_day_start_utc(d),
                                     wk_day_start_utc(d + 1), &n, &vmin, &vmax);
        if (rc != 0)
            return rc;
        if (n == 0 || (low ? lround(vmin * 10.0) < lo : lround(vmax * 10.0) > hi))
            continue;
        if (c->resolved)
            return 0; /* still a clean day */
        char date[16];
        int y, m, dd;
        mf_days_to_date(d, &y, &m, &dd);
        snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, dd);
        x->reason = "a later day's voltage samples are all inside the limit";
        *extra = json_pack("{s:s, s:I, s:f, s:f}", "clean_date", date, "samples", (json_int_t)n,
                           low ? "min_v" : "max_v", low ? vmin : vmax, "limit_v",
                           (double)(low ? lo : hi) / 10.0);
        return 1;
    }
    if (!c->resolved || c->day < l->today - l->w->pcfg.window_days - 1)
        return 0; /* no clean day yet; or resolved with its clean day out of the window */
    x->reason = "no later day is clean any more (late samples outside the limit)";
    return 1;
}

static int life_apply(struct life *l)
{
    size_t volt = 0;
    for (size_t i = 0; i < l->nc; i++) {
        const struct life_cand *c = &l->c[i];
        const struct store_terminal_state *t = life_term(l, c->term);
        struct wk_an_change x;
        json_t *extra = NULL;
        int rc = 0;
        cand_change(c, &x);
        if (c->kind == PROC_AN_OFFLINE)
            rc = t ? decide_offline(l, c, t, &x, &extra) : 0;
        else if (c->kind == PROC_AN_FLAPPING)
            rc = t ? decide_flap(l, c, t, &x, &extra) : 0;
        else if (c->kind == PROC_AN_CLOCK)
            rc = t ? decide_clock(l, c, t, &x, &extra) : 0;
        else if (c->day < l->today - 1 && volt++ < LIFE_VOLT_MAX)
            rc = decide_voltage(l, c, &x, &extra);
        if (rc == 1)
            rc = wk_anomaly_change(l->w, &x, l->now, extra);
        else
            json_decref(extra);
        if (rc == 0 && strcmp(x.to, "resolved") == 0 && x.reason)
            l->resolved++;
        else if (rc == 0 && x.reason)
            l->reopened++;
        else if (rc != 0 && rc != MF_ENOTFOUND) /* ENOTFOUND: an operator's change won */
            return rc;
    }
    return 0;
}

int wk_anomaly_life(struct worker *w, int64_t now)
{
    if (w->life_at == now)
        return 0; /* once per round: every day of a round is run with the same `now` */
    struct life l;
    memset(&l, 0, sizeof(l));
    l.w = w;
    l.now = now;
    l.today = wk_civil_day(now);
    int rc = life_read(&l);
    if (rc == 0)
        rc = life_apply(&l);
    if (rc == 0)
        w->life_at = now;
    if (l.resolved || l.reopened)
        mf_info(WK_MOD, "anomaly life cycle: %zu resolved, %zu reopened", l.resolved,
                l.reopened);
    free(l.ts);
    free(l.busy);
    free(l.c);
    return rc;
}
