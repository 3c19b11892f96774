/* store_read2.c -- the web API's reads, part 2: KPIs (online rate, collection success,
 * missing points, line loss), master-data lists, re-collection tasks, users, /metrics.
 *
 * Thread: any; each public function takes st->mu. */
#include <string.h>

#include "meterflow/clock.h"
#include "store/store_int.h"

static const char *nz(const char *s)
{
    return s && s[0] ? s : NULL;
}

#define ENTER(st)                                                                              \
    int rc = st_enter(st);                                                                     \
    if (rc != 0)                                                                               \
        return rc;                                                                             \
    *out = NULL

static int all_rows(struct sq *q, json_t **out)
{
    json_t *arr = json_array();
    int rc = sq_rows_json(q, arr);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

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
    ENTER(st);

    if ((rc = st_online_now(st, &reg, &on)) == 0) {
        struct sq *q = sq_get(st, Q_ONLINE_HIST);
        if (q == NULL) {
            rc = MF_EFATAL;
        } else {
            sq_i64(q, from);
            sq_i64(q, to);
            rc = all_rows(q, &hist);
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

int store_kpi_collect_json(struct store *st, int32_t from_date, int32_t to_date,
                           const char *area, json_t **out)
{
    ENTER(st);
    struct sq *q = sq_get(st, Q_COLLECT_RANGE);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_i64(q, from_date);
        sq_i64(q, to_date);
        sq_text(q, area ? area : "");
        rc = all_rows(q, out);
    }
    st_leave(st);
    return rc;
}

int store_kpi_collect_areas_json(struct store *st, int32_t date, int limit, json_t **out)
{
    if (limit < 1 || limit > 100000)
        return MF_EINVAL;
    ENTER(st);
    struct sq *q = sq_get(st, Q_COLLECT_AREAS);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_i64(q, date);
        sq_i64(q, limit);
        rc = all_rows(q, out);
    }
    st_leave(st);
    return rc;
}

int store_kpi_missing_json(struct store *st, int32_t date, const char *area,
                           const struct store_page *pg, json_t **out)
{
    int page, size;
    int64_t total = 0;
    json_t *items = NULL;
    struct sq *q;
    ENTER(st);

    st_page_norm(pg, &page, &size);
    if ((q = sq_get(st, Q_MISSING_COUNT)) == NULL) {
        rc = MF_EFATAL;
        goto out;
    }
    sq_i64(q, date);
    sq_text(q, nz(area));
    if ((rc = sq_step(q)) == 1) {
        total = sq_col_i64(q, 0);
        rc = 0;
    }
    sq_reset(q);
    if (rc == 0 && (q = sq_get(st, Q_MISSING_LIST)) == NULL)
        rc = MF_EFATAL;
    if (rc != 0)
        goto out;
    sq_i64(q, date);
    sq_text(q, nz(area));
    sq_i64(q, size);
    sq_i64(q, (int64_t)(page - 1) * size);
    if ((rc = all_rows(q, &items)) == 0)
        *out = st_page_wrap(items, total, page, size);
out:
    st_leave(st);
    return rc;
}

int store_kpi_lineloss_json(struct store *st, int32_t from_date, int32_t to_date,
                            const char *area, json_t **out)
{
    ENTER(st);
    struct sq *q = sq_get(st, Q_LOSS_RANGE);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_i64(q, from_date);
        sq_i64(q, to_date);
        sq_text(q, nz(area));
        rc = all_rows(q, out);
    }
    st_leave(st);
    return rc;
}

int store_kpi_lineloss_worst_json(struct store *st, int32_t date, int limit, json_t **out)
{
    if (limit < 1 || limit > 100000)
        return MF_EINVAL;
    ENTER(st);
    struct sq *q = sq_get(st, Q_LOSS_WORST);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_i64(q, date);
        sq_i64(q, limit);
        rc = all_rows(q, out);
    }
    st_leave(st);
    return rc;
}

/* ---- master data lists ---- */

int store_areas_json(struct store *st, json_t **out)
{
    ENTER(st);
    struct sq *q = sq_get(st, Q_AREAS_JSON);
    rc = q ? all_rows(q, out) : MF_EFATAL;
    st_leave(st);
    return rc;
}

int store_area_json(struct store *st, const char *id, json_t **out)
{
    ENTER(st);
    struct sq *q = sq_get(st, Q_AREA_GET);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_text(q, id ? id : "");
        rc = sq_step(q);
        if (rc == 1) {
            *out = sq_row_json(q);
            rc = 0;
        } else if (rc == 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

/* Count + page of a query whose filter is two optional texts (meters). */
static int paged2(struct store *st, int qc, int ql, const char *a, const char *b,
                  const struct store_page *pg, json_t **out)
{
    int page, size, rc;
    int64_t total = 0;
    json_t *items;
    struct sq *q = sq_get(st, qc);

    st_page_norm(pg, &page, &size);
    if (!q)
        return MF_EFATAL;
    sq_text(q, nz(a));
    sq_text(q, nz(b));
    if ((rc = sq_step(q)) == 1) {
        total = sq_col_i64(q, 0);
        rc = 0;
    }
    sq_reset(q);
    if (rc != 0)
        return rc;
    if ((q = sq_get(st, ql)) == NULL)
        return MF_EFATAL;
    sq_text(q, nz(a));
    sq_text(q, nz(b));
    sq_i64(q, size);
    sq_i64(q, (int64_t)(page - 1) * size);
    if ((rc = all_rows(q, &items)) == 0)
        *out = st_page_wrap(items, total, page, size);
    return rc;
}

int store_meters_json(struct store *st, const char *terminal, const char *area,
                      const struct store_page *pg, json_t **out)
{
    uint32_t key;
    char t[12];
    ENTER(st);
    if (nz(terminal)) {
        if (st_term_parse(terminal, &key) != 0) {
            st_leave(st);
            return MF_EINVAL;
        }
        st_term_format(key, t);
        terminal = t;
    }
    if (nz(terminal))
        rc = paged2(st, Q_METERS_COUNT_T, Q_METERS_LIST_T, terminal, area, pg, out);
    else
        rc = paged2(st, Q_METERS_COUNT, Q_METERS_LIST, terminal, area, pg, out);
    st_leave(st);
    return rc;
}

int store_recollect_json(struct store *st, int32_t date, const struct store_page *pg,
                         json_t **out)
{
    int page, size;
    int64_t total = 0;
    json_t *items;
    ENTER(st);
    st_page_norm(pg, &page, &size);
    struct sq *q = sq_get(st, Q_RECOL_COUNT);
    if (!q) {
        rc = MF_EFATAL;
        goto out;
    }
    sq_i64(q, date);
    if ((rc = sq_step(q)) == 1) {
        total = sq_col_i64(q, 0);
        rc = 0;
    }
    sq_reset(q);
    if (rc == 0 && (q = sq_get(st, Q_RECOL_LIST)) == NULL)
        rc = MF_EFATAL;
    if (rc != 0)
        goto out;
    sq_i64(q, date);
    sq_i64(q, size);
    sq_i64(q, (int64_t)(page - 1) * size);
    if ((rc = all_rows(q, &items)) == 0)
        *out = st_page_wrap(items, total, page, size);
out:
    st_leave(st);
    return rc;
}

int store_users_json(struct store *st, json_t **out)
{
    ENTER(st);
    struct sq *q = sq_get(st, Q_USERS_LIST);
    rc = q ? all_rows(q, out) : MF_EFATAL;
    st_leave(st);
    return rc;
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
    ENTER(st);
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
