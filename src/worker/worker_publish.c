/* worker_publish.c -- normalised JSON for other consumers, published (kafka mode) to the
 * readings, events and sessions topics after the store batch holding the records has been
 * written. One JSON object per value; the schema is docs/QUEUE.md ("readings", "events",
 * "sessions"). Keyed by terminal "RRRR-TTTT" so one terminal's values stay ordered.
 *
 * Publishing is fire-and-forget (mq_publish): the store is the system of record; a value
 * published twice (a batch redelivered after a crash) carries the same natural key, so
 * consumers can de-duplicate on (terminal, pn, kind, item, tariff, time).
 * Thread: the worker's consumer thread only. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "worker/worker_int.h"

#define WK_MOD "worker"

static const char *vstatus(int st)
{
    return st == STORE_V_OK ? "ok" : st == STORE_V_ABSENT ? "absent" : "invalid";
}

static void set_time(json_t *o, const char *key, int64_t t)
{
    char buf[40];
    if (t == 0) {
        json_object_set_new(o, key, json_null());
        return;
    }
    mf_utc_format(t, buf, sizeof(buf));
    json_object_set_new(o, key, json_string(buf));
}

static void set_date(json_t *o, const char *key, int32_t days)
{
    char buf[16];
    int y, m, d;
    mf_days_to_date(days, &y, &m, &d);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
    json_object_set_new(o, key, json_string(buf));
}

/* The fields every reading has. */
static json_t *reading(uint32_t term, uint16_t pn, const char *kind, const char *item,
                       int tariff, int st, double value)
{
    char id[GW_TERMINAL_STRLEN];
    gw_terminal_format((uint16_t)(term >> 16), (uint16_t)term, id);
    json_t *o = json_object();
    json_object_set_new(o, "terminal", json_string(id));
    json_object_set_new(o, "pn", json_integer(pn));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "item", json_string(item ? item : ""));
    json_object_set_new(o, "tariff", json_integer(tariff));
    json_object_set_new(o, "value", st == STORE_V_OK ? json_real(value) : json_null());
    json_object_set_new(o, "status", json_string(vstatus(st)));
    return o;
}

static void send(struct worker *w, enum mq_topic t, uint32_t term, json_t *o)
{
    char id[GW_TERMINAL_STRLEN];
    gw_terminal_format((uint16_t)(term >> 16), (uint16_t)term, id);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!text)
        return;
    int rc = mq_publish(w->q, t, id, strlen(id), text, strlen(text));
    free(text);
    if (rc == 0)
        w->pub_count++;
    else
        w->pub_failed++;
}

static void publish_readings(struct worker *w, const struct wk_recs *r)
{
    static const char *const fk[] = { "frozen", "frozen_daily", "frozen_readday",
                                      "frozen_monthly" };
    for (size_t i = 0; i < r->energy.n; i++) {
        const struct store_energy *x = &r->energy.v[i];
        json_t *o = reading(x->term, x->pn, "energy", x->item, x->tariff, x->status, x->value);
        set_time(o, "time", x->read_at);
        send(w, MQ_READINGS, x->term, o);
    }
    for (size_t i = 0; i < r->frozen.n; i++) {
        const struct store_frozen *x = &r->frozen.v[i];
        json_t *o = reading(x->term, x->pn, fk[x->kind <= 3 ? x->kind : 0], x->item, x->tariff,
                            x->status, x->value);
        set_date(o, "date", x->date);
        set_time(o, "time", x->read_at);
        send(w, MQ_READINGS, x->term, o);
    }
    for (size_t i = 0; i < r->curve.n; i++) {
        const struct store_curve *x = &r->curve.v[i];
        json_t *o = reading(x->term, x->pn, "curve", x->item, 0, x->status, x->value);
        set_time(o, "time", x->ts);
        send(w, MQ_READINGS, x->term, o);
    }
    for (size_t i = 0; i < r->instant.n; i++) {
        const struct store_instant *x = &r->instant.v[i];
        json_t *o = reading(x->term, x->pn, "instant", x->quantity, 0, x->status, x->value);
        set_time(o, "time", x->read_at);
        send(w, MQ_READINGS, x->term, o);
    }
}

static void publish_events(struct worker *w, const struct wk_recs *r)
{
    for (size_t i = 0; i < r->events.n; i++) {
        const struct store_event *x = &r->events.v[i];
        char id[GW_TERMINAL_STRLEN];
        gw_terminal_format((uint16_t)(x->term >> 16), (uint16_t)x->term, id);
        json_t *o = json_object();
        json_object_set_new(o, "terminal", json_string(id));
        json_object_set_new(o, "class", json_integer(x->cls));
        json_object_set_new(o, "erc", json_integer(x->erc));
        json_object_set_new(o, "severity", json_string(proc_severity_str(x->severity + 1)));
        json_object_set_new(o, "started", x->started < 0 ? json_null() : json_boolean(x->started));
        json_object_set_new(o, "pn", json_integer(x->pn));
        set_time(o, "time", x->occurred_at);
        set_time(o, "received_at", x->received_at);
        json_t *f = x->fields_json ? json_loads(x->fields_json, 0, NULL) : NULL;
        json_object_set_new(o, "fields", f ? f : json_object());
        char *hex = mf_malloc(x->raw_len * 3 + 1);
        mf_hex_encode(x->raw, x->raw_len, hex, x->raw_len * 3 + 1);
        json_object_set_new(o, "raw", json_string(x->raw_len ? hex : ""));
        free(hex);
        send(w, MQ_EVENTS, x->term, o);
    }
}

static void publish_sessions(struct worker *w, const struct wk_recs *r)
{
    for (size_t i = 0; i < r->sessions.n; i++) {
        const struct store_session *x = &r->sessions.v[i];
        char id[GW_TERMINAL_STRLEN];
        gw_terminal_format((uint16_t)(x->term >> 16), (uint16_t)x->term, id);
        json_t *o = json_object();
        json_object_set_new(o, "terminal", json_string(id));
        json_object_set_new(o, "online", json_boolean(x->online));
        json_object_set_new(o, "reason", json_string(x->reason ? x->reason : ""));
        json_object_set_new(o, "peer", x->peer ? json_string(x->peer) : json_null());
        json_object_set_new(o, "clock_offset_s",
                            x->has_clock_offset ? json_integer(x->clock_offset_s) : json_null());
        set_time(o, "time", x->at);
        send(w, MQ_SESSIONS, x->term, o);
    }
}

void wk_publish(struct worker *w, const struct wk_recs *r)
{
    w->pub_count = w->pub_failed = 0;
    publish_readings(w, r);
    publish_events(w, r);
    publish_sessions(w, r);
    wk_stat_add(w, &w->stats.published, w->pub_count);
    if (w->pub_failed)
        mf_warn(WK_MOD, "%zu JSON messages not published (queue full or closed)",
                w->pub_failed);
}
