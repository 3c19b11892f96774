/* web_api_data.c -- read endpoints: terminals, point data, events, KPIs, anomalies, audit.
 * Each handler validates its path and query arguments (400 naming the argument), asks the
 * store for ready JSON and passes it through; the store owns the JSON shapes (store.h), so
 * this file is only argument checking and defaults.
 *
 * Defaults: lists page 1 / 50 ([web] page_size_max caps page_size); time ranges end now and
 * start 7 days (energy), 24 hours (instant, online history) or 30 days (daily) earlier; a
 * curve or KPI date defaults to yesterday in the configured zone.
 *
 * Thread: HTTP pool threads. */
#include <stdio.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/store.h"
#include "web/web_int.h"

static int64_t now_s(void)
{
    return (int64_t)(mf_now_us() / 1000000u);
}

int32_t web_today(void)
{
    struct mf_civil c;
    mf_utc_to_civil(now_s(), &c);
    return mf_date_to_days(c.year, c.month, c.day);
}

int64_t web_day_start_utc(int32_t days)
{
    struct mf_civil c = { 0 };
    mf_days_to_date(days, &c.year, &c.month, &c.day);
    return mf_civil_to_utc(&c);
}

/* Time argument ("2026-11-26", "2026-11-26T10:00", "...Z"); absent -> def. 0 or 400 set. */
int web_arg_time(struct web_req *req, const char *name, int64_t def, int64_t *out)
{
    const char *s = web_arg(req, name);
    if (!s || !*s) {
        *out = def;
        return 0;
    }
    if (strlen(s) > 40 || mf_time_parse(s, out) != 0)
        return web_error(req, 400, "%s: an ISO-8601 date or time is expected", name);
    return 0;
}

int web_arg_date(struct web_req *req, const char *name, int32_t def, int32_t *out)
{
    const char *s = web_arg(req, name);
    if (!s || !*s) {
        *out = def;
        return 0;
    }
    if (web_date_parse(s, out) != 0)
        return web_error(req, 400, "%s: a date YYYY-MM-DD is expected", name);
    return 0;
}

/* Short free-text argument (search, kind, ...): NULL when absent; 400 when too long. */
static int arg_text(struct web_req *req, const char *name, size_t maxlen, const char **out)
{
    const char *s = web_arg(req, name);
    *out = NULL;
    if (!s || !*s)
        return 0;
    if (strlen(s) > maxlen)
        return web_error(req, 400, "%s: at most %zu characters", name, maxlen);
    *out = s;
    return 0;
}

/* Terminal argument: NULL when absent, normalised into buf. */
static int arg_terminal(struct web_req *req, const char *name, char buf[10], const char **out)
{
    const char *s = web_arg(req, name);
    *out = NULL;
    if (!s || !*s)
        return 0;
    if (web_terminal_parse(s, buf) != 0)
        return web_error(req, 400, "%s: a terminal id RRRR-TTTT is expected", name);
    *out = buf;
    return 0;
}

/* Takes out (freed when rc says the store failed). */
static int reply_store(struct web_req *req, int rc, json_t *out, const char *what)
{
    if (rc != 0) {
        json_decref(out);
        return web_store_error(req, rc, what);
    }
    return web_reply(req, 200, out);
}

int web_h_terminals(struct web_req *req)
{
    struct store_terminal_filter f = { .online = -1 };
    const char *online = web_arg(req, "online");
    int64_t page, size;
    json_t *out = NULL;
    int rc;

    if ((rc = web_page(req, &page, &size)) != 0 || (rc = arg_text(req, "search", 64, &f.search)) ||
        (rc = arg_text(req, "area", 64, &f.area)))
        return rc;
    if (online && *online) {
        if (strcmp(online, "true") == 0 || strcmp(online, "1") == 0)
            f.online = 1;
        else if (strcmp(online, "false") == 0 || strcmp(online, "0") == 0)
            f.online = 0;
        else
            return web_error(req, 400, "online: true or false");
    }
    f.pg.page = (int)page;
    f.pg.page_size = (int)size;
    rc = store_terminals_json(req->st, &f, &out);
    return reply_store(req, rc, out, "terminals");
}

/* The {tid} path parameter, normalised; 400 set when malformed. */
static int path_terminal(struct web_req *req, char tid[10])
{
    if (web_terminal_parse(req->params[0], tid) != 0)
        return web_error(req, 400, "terminal id RRRR-TTTT expected in the path");
    return 0;
}

int web_h_terminal(struct web_req *req)
{
    char tid[10];
    int64_t frames;
    json_t *out = NULL;
    int rc;

    if ((rc = path_terminal(req, tid)) != 0 ||
        (rc = web_arg_int(req, "frames", 0, 200, 20, &frames)) != 0)
        return rc;
    rc = store_terminal_json(req->st, tid, (int)frames, &out);
    return reply_store(req, rc, out, "terminal");
}

/* {tid} and {pn} of a point path. */
static int path_point(struct web_req *req, char tid[10], int *pn)
{
    int64_t v;
    int rc = path_terminal(req, tid);
    if (rc != 0)
        return rc;
    if (web_int_parse(req->params[1], 0, 2040, &v) != 0)
        return web_error(req, 400, "point number pn in 0..2040 expected in the path");
    *pn = (int)v;
    return 0;
}

static int time_range(struct web_req *req, int64_t back_s, int64_t *from, int64_t *to)
{
    int64_t now = now_s();
    int rc = web_arg_time(req, "to", now + 1, to);
    if (rc == 0)
        rc = web_arg_time(req, "from", *to - back_s, from);
    if (rc == 0 && (*from >= *to || *to - *from > 400 * 86400LL))
        return web_error(req, 400, "from must be before to, at most 400 days apart");
    return rc;
}

int web_h_point_energy(struct web_req *req)
{
    char tid[10];
    int pn = 0, rc;
    int64_t from = 0, to = 0;
    json_t *out = NULL;

    if ((rc = path_point(req, tid, &pn)) != 0 || (rc = time_range(req, 7 * 86400, &from, &to)))
        return rc;
    rc = store_point_energy_json(req->st, tid, pn, from, to, &out);
    return reply_store(req, rc, json_pack("{s:s, s:i, s:o*}", "terminal", tid, "pn", pn,
                                          "items", out),
                       "point");
}

int web_h_point_instant(struct web_req *req)
{
    char tid[10];
    int pn = 0, rc;
    int64_t from = 0, to = 0;
    json_t *out = NULL;

    if ((rc = path_point(req, tid, &pn)) != 0 || (rc = time_range(req, 86400, &from, &to)))
        return rc;
    rc = store_point_instant_json(req->st, tid, pn, from, to, &out);
    return reply_store(req, rc, json_pack("{s:s, s:i, s:o*}", "terminal", tid, "pn", pn,
                                          "items", out),
                       "point");
}

int web_h_point_daily(struct web_req *req)
{
    char tid[10];
    int pn = 0, rc;
    int32_t from = 0, to = 0, today = web_today();
    json_t *out = NULL;

    if ((rc = path_point(req, tid, &pn)) != 0 || (rc = web_arg_date(req, "to", today, &to)) ||
        (rc = web_arg_date(req, "from", to - 30, &from)))
        return rc;
    if (from > to || to - from > 800)
        return web_error(req, 400, "from must not be after to, at most 800 days apart");
    rc = store_point_daily_json(req->st, tid, pn, from, to, &out);
    if (rc == 0 && json_is_object(out)) {
        json_object_set_new(out, "terminal", json_string(tid));
        json_object_set_new(out, "pn", json_integer(pn));
    }
    return reply_store(req, rc, out, "point");
}

int web_h_point_curve(struct web_req *req)
{
    char tid[10];
    int pn = 0, rc;
    int32_t date = 0;
    const char *item = NULL;
    json_t *out = NULL;

    if ((rc = path_point(req, tid, &pn)) != 0 ||
        (rc = web_arg_date(req, "date", web_today() - 1, &date)) ||
        (rc = arg_text(req, "item", STORE_CODE_MAX, &item)))
        return rc;
    if (!item)
        item = "ap_fwd";
    /* Points of a 15-minute curve run 00:15 .. 24:00 of the civil date: (start, end]. */
    int64_t start = web_day_start_utc(date), end = web_day_start_utc(date + 1);
    rc = store_point_curve_json(req->st, tid, pn, item, start + 1, end + 1, &out);
    char dtext[16];
    int y, m, d;
    mf_days_to_date(date, &y, &m, &d);
    snprintf(dtext, sizeof(dtext), "%04d-%02d-%02d", y, m, d);
    return reply_store(req, rc, json_pack("{s:s, s:i, s:s, s:s, s:o*}", "terminal", tid, "pn",
                                          pn, "date", dtext, "item", item, "items", out),
                       "point");
}

int web_h_events(struct web_req *req)
{
    struct store_event_filter f = { 0 };
    char tbuf[10];
    int64_t page, size, erc, cls, sev;
    json_t *out = NULL;
    int rc;

    if ((rc = web_page(req, &page, &size)) || (rc = arg_terminal(req, "terminal", tbuf, &f.terminal)) ||
        (rc = web_arg_int(req, "erc", 0, 255, 0, &erc)) ||
        (rc = web_arg_int(req, "class", 0, 2, 0, &cls)) ||
        (rc = web_arg_int(req, "min_severity", 0, 3, 0, &sev)) ||
        (rc = web_arg_time(req, "from", 0, &f.from)) || (rc = web_arg_time(req, "to", 0, &f.to)))
        return rc;
    f.erc = (int)erc;
    f.cls = (int)cls;
    f.min_severity = (int)sev;
    f.pg.page = (int)page;
    f.pg.page_size = (int)size;
    rc = store_events_json(req->st, &f, &out);
    return reply_store(req, rc, out, "events");
}

int web_h_anomalies(struct web_req *req)
{
    struct store_anomaly_filter f = { 0 };
    char tbuf[10];
    int64_t page, size;
    json_t *out = NULL;
    int rc;

    if ((rc = web_page(req, &page, &size)) || (rc = arg_terminal(req, "terminal", tbuf, &f.terminal)) ||
        (rc = arg_text(req, "kind", 32, &f.kind)) || (rc = arg_text(req, "area", 64, &f.area)) ||
        (rc = arg_text(req, "state", 8, &f.state)) || (rc = web_arg_time(req, "from", 0, &f.from)) ||
        (rc = web_arg_time(req, "to", 0, &f.to)))
        return rc;
    if (f.state && strcmp(f.state, "open") != 0 && strcmp(f.state, "ack") != 0 &&
        strcmp(f.state, "closed") != 0 && strcmp(f.state, "resolved") != 0)
        return web_error(req, 400, "state: open, ack, closed or resolved");
    f.pg.page = (int)page;
    f.pg.page_size = (int)size;
    rc = store_anomalies_json(req->st, &f, &out);
    return reply_store(req, rc, out, "anomalies");
}

int web_h_anomaly_state(struct web_req *req)
{
    char err[128];
    const char *state = NULL;
    int64_t id;
    int rc;

    if (web_int_parse(req->params[0], 1, INT64_MAX, &id) != 0)
        return web_error(req, 400, "anomaly id expected in the path");
    json_t *body = web_json_object_parse(req->body.data, req->body.len, err, sizeof(err));
    if (!body)
        return web_error(req, 400, "%s", err);
    if (web_json_str(body, "state", 8, &state) != 0 ||
        (strcmp(state, "open") != 0 && strcmp(state, "ack") != 0 &&
         strcmp(state, "closed") != 0)) {
        json_decref(body);
        return web_error(req, 400, "state: open, ack or closed");
    }
    rc = store_anomaly_set_state(req->st, id, state);
    if (rc == 0) {
        web_audit(req, "anomaly.state", req->params[0], json_pack("{s:s}", "state", state));
        rc = web_reply(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", state));
    } else {
        rc = web_store_error(req, rc, "anomaly");
    }
    json_decref(body); /* state points into body */
    return rc;
}

int web_h_kpi_online(struct web_req *req)
{
    int64_t from = 0, to = 0;
    json_t *out = NULL;
    int rc = time_range(req, 86400, &from, &to);
    if (rc != 0)
        return rc;
    rc = store_kpi_online_json(req->st, from, to, &out);
    return reply_store(req, rc, out, "online KPI");
}

static void date_text(int32_t days, char out[16])
{
    int y, m, d;
    mf_days_to_date(days, &y, &m, &d);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

/* Collection success of one date: overall, per area, and the first page of missing points;
 * or, with from/to, the overall rate per day. */
int web_h_kpi_collection(struct web_req *req)
{
    int32_t date = 0, from = 0, to = 0;
    const char *area = NULL;
    json_t *overall = NULL, *areas = NULL, *missing = NULL;
    struct store_page pg;
    int64_t page, size;
    char dt[16];
    int rc;

    if ((rc = web_arg_date(req, "date", web_today() - 1, &date)) ||
        (rc = web_arg_date(req, "to", date, &to)) || (rc = web_arg_date(req, "from", to, &from)) ||
        (rc = arg_text(req, "area", 64, &area)) || (rc = web_page(req, &page, &size)))
        return rc;
    if (from > to || to - from > 400)
        return web_error(req, 400, "from must not be after to, at most 400 days apart");
    rc = store_kpi_collect_json(req->st, from, to, area, &overall);
    if (rc != 0)
        return web_store_error(req, rc, "collection KPI");
    pg.page = (int)page;
    pg.page_size = (int)size;
    rc = store_kpi_missing_json(req->st, to, area, &pg, &missing);
    if (rc == 0 && !area)
        rc = web_collect_by_area(req, to, &areas);
    if (rc != 0) {
        json_decref(overall);
        json_decref(missing);
        return web_store_error(req, rc, "collection KPI");
    }
    date_text(to, dt);
    return web_reply(req, 200, json_pack("{s:s, s:o, s:o*, s:o}", "date", dt, "days", overall,
                                         "areas", areas, "missing", missing));
}

int web_h_kpi_lineloss(struct web_req *req)
{
    int32_t date = 0, from = 0, to = 0;
    const char *area = NULL;
    json_t *out = NULL;
    int rc;

    int64_t worst = 0;

    if ((rc = web_arg_date(req, "date", web_today() - 1, &date)) ||
        (rc = web_arg_date(req, "to", date, &to)) || (rc = web_arg_date(req, "from", to, &from)) ||
        (rc = arg_text(req, "area", 64, &area)) ||
        (rc = web_arg_int(req, "worst", 1, req->web->page_size_max, 0, &worst)))
        return rc;
    if (from > to || to - from > 400)
        return web_error(req, 400, "from must not be after to, at most 400 days apart");
    /* worst=N: the dashboard's N highest rates of one date, sorted and cut by the store (the
     * whole date is ~230 KB of JSON at 1,000 areas; docs/PERFORMANCE.md "Concurrent clients") */
    if (worst > 0 && (from != to || area))
        return web_error(req, 400, "worst takes one date and no area");
    if (worst > 0)
        rc = store_kpi_lineloss_worst_json(req->st, to, (int)worst, &out);
    else
        rc = store_kpi_lineloss_json(req->st, from, to, area, &out);
    return reply_store(req, rc, json_pack("{s:o*}", "items", out), "line loss");
}

int web_h_audit(struct web_req *req)
{
    struct store_audit_filter f = { 0 };
    int64_t page, size;
    json_t *out = NULL;
    int rc;

    if ((rc = web_page(req, &page, &size)) || (rc = arg_text(req, "user", 64, &f.user)) ||
        (rc = arg_text(req, "action", 64, &f.action)) || (rc = web_arg_time(req, "from", 0, &f.from)) ||
        (rc = web_arg_time(req, "to", 0, &f.to)))
        return rc;
    f.pg.page = (int)page;
    f.pg.page_size = (int)size;
    rc = store_audit_json(req->st, &f, &out);
    return reply_store(req, rc, out, "audit");
}

int web_h_recollect(struct web_req *req)
{
    int32_t date = 0;
    int64_t page, size;
    struct store_page pg;
    json_t *out = NULL;
    int rc;

    if ((rc = web_arg_date(req, "date", web_today() - 1, &date)) ||
        (rc = web_page(req, &page, &size)))
        return rc;
    pg.page = (int)page;
    pg.page_size = (int)size;
    rc = store_recollect_json(req->st, date, &pg, &out);
    return reply_store(req, rc, out, "re-collection");
}
