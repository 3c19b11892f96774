/* worker_anom.c -- a proc_anomaly as a store_anomaly record: kind text, severity on the
 * store's 0..3 scale, and the evidence as a JSON object with the values in their units.
 *
 * Natural key of a stored anomaly is [kind, terminal, pn, at]: day-level rules (and the
 * per-day voltage and clock rules applied at ingest) use the UTC start of the civil day as
 * `at`, so recomputing a day or seeing the same condition in many frames of one day keeps
 * one anomaly (and the operator's acknowledgement).
 * Thread: the caller's; r belongs to it. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
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
