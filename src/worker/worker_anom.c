/* worker_anom.c -- a proc_anomaly as a store_anomaly record: kind text, severity on the
 * store's 0..3 scale, and the evidence as a JSON object with the values in their units.
 *
 * Natural key of a stored anomaly is [kind, terminal, pn, at]: day-level rules (and the
 * per-day voltage and clock rules applied at ingest) use the UTC start of the civil day as
 * `at`, so recomputing a day or seeing the same condition in many frames of one day keeps
 * one anomaly (and the operator's acknowledgement). wk_anomaly_reconcile withdraws (state
 * "resolved", audited) the rollup anomalies of a day that a later run no longer finds.
 * Thread: the caller's; r belongs to it. wk_anomaly_reconcile: the analytics caller
 * (serialised by w->amu). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "worker/worker_int.h"

int64_t wk_day_start_utc(int32_t day)
{
    struct mf_civil c;
    memset(&c, 0, sizeof(c));
    mf_days_to_date(day, &c.year, &c.month, &c.day);
    return mf_civil_to_utc(&c);
}

static int energy_kind(int kind)
{
    return kind == PROC_AN_BACKWARDS || kind == PROC_AN_STOPPED || kind == PROC_AN_JUMP ||
           kind == PROC_AN_RESET || kind == PROC_AN_REPLACED || kind == PROC_AN_LINE_LOSS;
}

static json_t *num(int kind, int64_t v)
{
    if (energy_kind(kind))
        return json_real((double)v / 10000.0);
    if (kind == PROC_AN_VOLTAGE_LOW || kind == PROC_AN_VOLTAGE_HIGH)
        return json_real((double)v / 10.0);
    return json_integer(v);
}

static const char *unit_of(int kind)
{
    switch (kind) {
    case PROC_AN_VOLTAGE_LOW:
    case PROC_AN_VOLTAGE_HIGH: return "V";
    case PROC_AN_CLOCK:
    case PROC_AN_OFFLINE: return "s";
    case PROC_AN_EVENT: return "erc";
    case PROC_AN_FLAPPING: return "logins";
    case PROC_AN_IMPERSONATION: return "returns";
    default: return "kWh";
    }
}

void wk_anomaly_record(struct wk_recs *r, const struct proc_anomaly *a, const char *area)
{
    struct store_anomaly *x = wk_recs_anomaly(r);
    json_t *o = json_object();
    char day[16];
    int y, m, d;
    mf_days_to_date(a->day, &y, &m, &d);
    snprintf(day, sizeof(day), "%04d-%02d-%02d", y, m, d);
    json_object_set_new(o, "value", num(a->kind, a->value));
    json_object_set_new(o, "ref", num(a->kind, a->ref));
    json_object_set_new(o, "threshold", num(a->kind, a->threshold));
    json_object_set_new(o, "unit", json_string(unit_of(a->kind)));
    json_object_set_new(o, "count", json_integer(a->count));
    json_object_set_new(o, "date", json_string(day));
    if (a->code)
        json_object_set_new(o, a->kind == PROC_AN_EVENT ? "erc" : "phase", json_integer(a->code));
    if (a->at) {
        char ts[40];
        mf_utc_format(a->at, ts, sizeof(ts));
        json_object_set_new(o, "observed_at", json_string(ts));
    }
    json_object_set_new(o, "detail", json_string(a->detail));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    x->kind = proc_anomaly_kind_str(a->kind);
    x->term = proc_point_terminal(a->point);
    x->pn = proc_point_pn(a->point);
    x->area = area ? wk_arena_dup(&r->arena, area, strlen(area)) : NULL;
    /* events keep their own time (one anomaly per event); the other rules one per day */
    x->at = a->kind == PROC_AN_EVENT && a->at ? a->at : wk_day_start_utc(a->day);
    x->date = a->day;
    x->severity = (uint8_t)(a->severity > 0 ? a->severity - 1 : 0);
    x->evidence_json = text ? wk_arena_dup(&r->arena, text, strlen(text)) : NULL;
    free(text);
}

/* ---- withdrawal: a day rolled up again that no longer finds an anomaly ----
 *
 * The daily rollup judges backwards, reset, replaced, jump, stopped and line_loss for a
 * whole day at once (proc_rollup), so each run of day D gives the complete set of those
 * anomalies for D. A stored one of D that the run no longer finds -- typically judged
 * first on partial data (a missing value re-collected since, today so far) -- is set to
 * state "resolved" if an operator has not closed it (open or ack); a "resolved" one found
 * again is set back to "open". The row and its evidence stay (the first judgment), and
 * every change is an audit record (user "(analytics)", actions anomaly.resolved /
 * anomaly.reopened, detail: kind, terminal, pn, date, previous state, the run's time), so
 * the operator-visible history is never deleted. Ingest-time kinds (voltage, clock, event)
 * and the per-terminal flapping/offline rules are not withdrawn: no run sees their whole
 * set again. Best effort: a failed state change is retried by the next run of the day. */

static int rollup_kind(const char *k)
{
    static const int kinds[] = { PROC_AN_BACKWARDS, PROC_AN_RESET,   PROC_AN_REPLACED,
                                 PROC_AN_JUMP,      PROC_AN_STOPPED, PROC_AN_LINE_LOSS };
    for (size_t i = 0; k && i < MF_ARRAY_LEN(kinds); i++)
        if (strcmp(k, proc_anomaly_kind_str(kinds[i])) == 0)
            return kinds[i];
    return 0;
}

struct an_key {
    uint64_t point;
    int kind;
};

static int cmp_an_key(const void *a, const void *b)
{
    const struct an_key *x = a, *y = b;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

/* One stored anomaly of the day against the run's set: a change to make, or none. */
static int an_decide(json_t *it, int32_t day, const struct an_key *keys, size_t nkeys,
                     struct wk_an_change *c)
{
    const char *state = json_string_value(json_object_get(it, "state"));
    const char *term = json_string_value(json_object_get(it, "terminal"));
    int kind = rollup_kind(json_string_value(json_object_get(it, "kind")));
    uint16_t a1, a2;
    if (!kind || !state || !term || gw_terminal_parse(term, &a1, &a2) != 0)
        return 0;
    memset(c, 0, sizeof(*c));
    c->id = json_integer_value(json_object_get(it, "id"));
    c->kind = proc_anomaly_kind_str(kind);
    c->pn = (int)json_integer_value(json_object_get(it, "pn"));
    c->day = day;
    c->time_key = "rollup_at";
    mf_strlcpy(c->term, term, sizeof(c->term));
    struct an_key k = { proc_point_key(gw_terminal_key(a1, a2), (uint16_t)c->pn), kind };
    int found = nkeys && bsearch(&k, keys, nkeys, sizeof(*keys), cmp_an_key) != NULL;
    if (!found && (strcmp(state, "open") == 0 || strcmp(state, "ack") == 0)) {
        c->from = strcmp(state, "open") == 0 ? "open" : "ack";
        c->to = "resolved";
        c->reason = "the day's rules, run again, no longer find it";
        return 1;
    }
    if (found && strcmp(state, "resolved") == 0) {
        c->from = "resolved";
        c->to = "open";
        c->reason = "the day's rules, run again, find it again";
        return 1;
    }
    return 0;
}

int wk_anomaly_change(struct worker *w, const struct wk_an_change *c, int64_t now,
                      json_t *extra)
{
    char id[24], date[16], ts[40];
    int y, m, d;
    int rc = store_anomaly_transition(w->ast, c->id, c->from, c->to);
    if (rc != 0) {
        json_decref(extra);
        return rc;
    }
    mf_days_to_date(c->day, &y, &m, &d);
    snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
    snprintf(id, sizeof(id), "%lld", (long long)c->id);
    mf_utc_format(now, ts, sizeof(ts));
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "kind", c->kind, "terminal",
                          c->term, "pn", c->pn, "date", date, "state_before", c->from,
                          c->time_key ? c->time_key : "checked_at", ts, "reason",
                          c->reason ? c->reason : "");
    if (o && extra)
        json_object_update(o, extra);
    json_decref(extra);
    char *detail = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    struct store_audit a = { now, "(analytics)",
                             strcmp(c->to, "resolved") == 0 ? "anomaly.resolved"
                                                            : "anomaly.reopened",
                             id, detail, NULL };
    rc = store_audit_add(w->ast, &a);
    free(detail);
    return rc;
}

/* The stored anomalies of `day` (their `at` is the start of the day) that need a change. */
static int an_changes(struct worker *w, int32_t day, const struct an_key *keys, size_t nkeys,
                      struct wk_an_change **out, size_t *nout)
{
    int64_t t0 = wk_day_start_utc(day);
    size_t n = 0, cap = 0;
    int rc = 0;
    *out = NULL;
    for (int page = 1; rc == 0 && page <= 100000; page++) {
        struct store_anomaly_filter f = { .from = t0, .to = t0 + 1, .pg = { page, 1000 } };
        json_t *j = NULL, *it;
        size_t i;
        if ((rc = store_anomalies_json(w->ast, &f, &j)) != 0)
            break;
        json_t *items = json_object_get(j, "items");
        json_array_foreach(items, i, it) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                *out = mf_realloc(*out, cap * sizeof(**out));
            }
            n += (size_t)an_decide(it, day, keys, nkeys, &(*out)[n]);
        }
        size_t got = json_array_size(items);
        json_decref(j);
        if (got < 1000)
            break;
    }
    *nout = n;
    return rc;
}

int wk_anomaly_reconcile(struct worker *w, int32_t day, const struct proc_anomaly *v, size_t n,
                         int64_t now, size_t *resolved, size_t *reopened)
{
    struct an_key *keys = mf_malloc((n ? n : 1) * sizeof(*keys));
    size_t nk = 0, nc = 0;
    struct wk_an_change *c = NULL;
    *resolved = *reopened = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].day == day && rollup_kind(proc_anomaly_kind_str(v[i].kind)))
            keys[nk++] = (struct an_key){ v[i].point, v[i].kind };
    qsort(keys, nk, sizeof(*keys), cmp_an_key);
    int rc = an_changes(w, day, keys, nk, &c, &nc);
    for (size_t i = 0; rc == 0 && i < nc; i++) {
        rc = wk_anomaly_change(w, &c[i], now, NULL);
        if (rc == MF_ENOTFOUND) { /* an operator changed it since the read: theirs wins */
            rc = 0;
            continue;
        }
        if (rc == 0 && strcmp(c[i].to, "resolved") == 0)
            (*resolved)++;
        else if (rc == 0)
            (*reopened)++;
    }
    free(c);
    free(keys);
    return rc;
}
