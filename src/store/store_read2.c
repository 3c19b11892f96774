/* store_read2.c -- the web API's reads, part 2: KPIs (online rate, collection success,
 * missing points, line loss), master-data lists, re-collection tasks, users, /metrics.
 *
 * Thread: any; each public function takes st->mu. */
#include <string.h>

#include "meterflow/clock.h"
#include "store/store_int.h"

/* Current registered/online counts (also used by store_online_count). */
int st_online_now(struct store *st, int64_t *registered, int64_t *online);
int st_online_now(struct store *st, int64_t *registered, int64_t *online)
{
    struct sq *q = sq_get(st, Q_ONLINE_COUNT);
    int rc;
    if (!q)
        return MF_EFATAL;
    rc = sq_step(q);
    if (rc == 1) {
        *registered = sq_col_i64(q, 0);
        *online = sq_col_i64(q, 1);
        rc = 0;
    }
    sq_reset(q);
    return rc;
}

int store_kpi_online_json(struct store *st, int64_t from, int64_t to, json_t **out)
{
    int64_t reg = 0, on = 0;
    json_t *hist = NULL;
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    *out = NULL;

    if ((rc = st_online_now(st, &reg, &on)) == 0) {
        struct sq *q = sq_get(st, Q_ONLINE_HIST);
        if (q == NULL) {
            rc = MF_EFATAL;
        } else {
            sq_i64(q, from);
            sq_i64(q, to);
            rc = sq_rows_json(q, &hist);
        }
    }
    if (rc == 0) {
        *out = json_object();
        json_object_set_new(*out, "registered", json_integer(reg));
        json_object_set_new(*out, "online", json_integer(on));
        json_object_set_new(*out, "rate", reg > 0 ? json_real((double)on / (double)reg)
                                                  : json_null());
        json_object_set_new(*out, "history", hist);
    }
    st_leave(st);
    return rc;
}

/* A date range and an area: the collection (the overall row's area is "") and line-loss
 * series (NULL or "": every area). */
struct range_area {
    int64_t from, to;
    const char *area;
};

static void bind_collect_range(struct sq *q, const void *args, char *t)
{
    const struct range_area *r = args;
    (void)t; /* no terminal parameter */
    sq_i64(q, r->from);
    sq_i64(q, r->to);
    sq_text(q, r->area ? r->area : "");
}

int store_kpi_collect_json(struct store *st, int32_t from_date, int32_t to_date,
                           const char *area, json_t **out)
{
    const struct range_area r = { from_date, to_date, area };
    return st_read_rows(st, Q_COLLECT_RANGE, bind_collect_range, &r, out);
}

/* The dashboard's per-date lists: a date and a row limit. */
static int day_rows(struct store *st, int id, int32_t date, int limit, json_t **out)
{
    const int64_t args[2] = { date, limit };
    if (limit < 1 || limit > 100000)
        return MF_EINVAL;
    return st_read_rows(st, id, st_bind_i64_2, args, out);
}

int store_kpi_collect_areas_json(struct store *st, int32_t date, int limit, json_t **out)
{
    return day_rows(st, Q_COLLECT_AREAS, date, limit, out);
}

/* A date and an optional area (NULL or "": every area). */
struct day_area {
    int64_t date;
    const char *area;
};

static void bind_day_area(struct sq *q, const void *args, char *t)
{
    const struct day_area *d = args;
    (void)t; /* no terminal parameter */
    sq_i64(q, d->date);
    sq_text(q, st_nz(d->area));
}

int store_kpi_missing_json(struct store *st, int32_t date, const char *area,
                           const struct store_page *pg, json_t **out)
{
    const struct day_area d = { date, area };
    return st_read_page(st, Q_MISSING_COUNT, Q_MISSING_LIST, 0, bind_day_area, &d, pg, out);
}

static void bind_loss_range(struct sq *q, const void *args, char *t)
{
    const struct range_area *r = args;
    (void)t; /* no terminal parameter */
    sq_i64(q, r->from);
    sq_i64(q, r->to);
    sq_text(q, st_nz(r->area));
}

int store_kpi_lineloss_json(struct store *st, int32_t from_date, int32_t to_date,
                            const char *area, json_t **out)
{
    const struct range_area r = { from_date, to_date, area };
    return st_read_rows(st, Q_LOSS_RANGE, bind_loss_range, &r, out);
}

int store_kpi_lineloss_worst_json(struct store *st, int32_t date, int limit, json_t **out)
{
    return day_rows(st, Q_LOSS_WORST, date, limit, out);
}

/* ---- master data lists ---- */

int store_areas_json(struct store *st, json_t **out)
{
    return st_read_rows(st, Q_AREAS_JSON, NULL, NULL, out);
}

static void bind_text_key(struct sq *q, const void *args, char *t)
{
    (void)t; /* no terminal parameter */
    sq_text(q, args ? args : "");
}

int store_area_json(struct store *st, const char *id, json_t **out)
{
    *out = NULL;
    return st_read_row(st, Q_AREA_GET, bind_text_key, id, st_take_json, out);
}

/* The meters' filters: a terminal (normalised to "RRRR-TTTT") and an area, both optional. */
struct meter_filter {
    int has_term;
    uint32_t term;
    const char *area;
};

static void bind_meters(struct sq *q, const void *args, char *t)
{
    const struct meter_filter *f = args;
    if (f->has_term)
        sq_term(q, f->term, t);
    else
        sq_null(q);
    sq_text(q, st_nz(f->area));
}

int store_meters_json(struct store *st, const char *terminal, const char *area,
                      const struct store_page *pg, json_t **out)
{
    struct meter_filter f = { 0, 0, area };
    if (st_nz(terminal)) {
        if (st_term_parse(terminal, &f.term) != 0)
            return MF_EINVAL;
        f.has_term = 1;
        return st_read_page(st, Q_METERS_COUNT_T, Q_METERS_LIST_T, 0, bind_meters, &f, pg, out);
    }
    return st_read_page(st, Q_METERS_COUNT, Q_METERS_LIST, 0, bind_meters, &f, pg, out);
}

static void bind_date(struct sq *q, const void *args, char *t)
{
    (void)t; /* no terminal parameter */
    sq_i64(q, *(const int32_t *)args);
}

int store_recollect_json(struct store *st, int32_t date, const struct store_page *pg,
                         json_t **out)
{
    return st_read_page(st, Q_RECOL_COUNT, Q_RECOL_LIST, 0, bind_date, &date, pg, out);
}

int store_users_json(struct store *st, json_t **out)
{
    return st_read_rows(st, Q_USERS_LIST, NULL, NULL, out);
}

/* ---- /metrics ---- */

/* Upsert tables: their counters count writes, so only last_write_at is reported. */
static int table_exact(const char *name)
{
    static const char *const upsert[] = { "daily_use", "collect_day", "line_loss",
                                          "online_samples", "recollect" };
    for (size_t i = 0; i < MF_ARRAY_LEN(upsert); i++)
        if (strcmp(name, upsert[i]) == 0)
            return 0;
    return 1;
}

int store_metrics_json(struct store *st, json_t **out)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    *out = NULL;
    json_t *tables = json_object();
    for (int t = 0; t < T_NTABLES; t++) {
        json_t *o = json_object();
        json_object_set_new(o, "rows", table_exact(st_table_names[t]) ? json_integer(0)
                                                                      : json_null());
        json_object_set_new(o, "last_write_at", json_null());
        json_object_set_new(tables, st_table_names[t], o);
    }
    struct sq *q = sq_get(st, Q_STATS_SUM);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        while ((rc = sq_step(q)) == 1) {
            json_t *o = json_object_get(tables, sq_col_text(q, 0));
            if (!o)
                continue;
            if (table_exact(sq_col_text(q, 0)))
                json_object_set_new(o, "rows", json_integer(sq_col_i64(q, 1)));
            if (!sq_col_null(q, 2)) {
                char buf[40];
                mf_utc_format(sq_col_i64(q, 2), buf, sizeof(buf));
                json_object_set_new(o, "last_write_at", json_string(buf));
            }
        }
        sq_reset(q);
    }
    if (rc == 0) {
        *out = json_object();
        json_object_set_new(*out, "backend", json_string(store_backend_name(st)));
        json_object_set_new(*out, "schema_version", json_integer(st->schema_version));
        json_object_set_new(*out, "tables", tables);
        if (st->ops->stats)
            json_object_set_new(*out, "driver", st->ops->stats(st));
    } else {
        json_decref(tables);
    }
    st_leave(st);
    return rc;
}
