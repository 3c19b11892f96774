/* store_write2.c -- the analytics part of a batch: daily consumption, collection success and
 * missing points, line loss, anomalies, online-rate samples, re-collection tasks. Upserts:
 * the worker may recompute a day and write it again.
 *
 * Ordering hazard: an overall collect row (area NULL or "") clears its date's missing list
 * before the batch's store_missing rows are inserted, so collect must be written first.
 *
 * Thread: any, under st->mu, inside the batch transaction (store_write.c). */
#include "store/store_int.h"

static const char *area_key(const char *a)
{
    return a ? a : "";
}

static int w_daily_use(struct store *st, const struct store_daily_use *r, size_t n)
{
    int64_t ch = 0;
    char t[12];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sq *q = sq_get(st, Q_USE_UPS);
        if (!q)
            return MF_EFATAL;
        st_term_format(r[i].term, t);
        sq_text(q, t);
        sq_i64(q, r[i].pn);
        sq_i64(q, r[i].date);
        sq_value(q, r[i].kwh, r[i].status);
        sq_i64(q, r[i].status);
        sq_i64(q, r[i].flags);
        sq_i64(q, r[i].computed_at);
        rc = sq_row_end(q, &ch);
    }
    (void)ch; /* upsert: counts writes, not rows */
    st_count(st, T_DAILY_USE, 0);
    return rc;
}

static int w_collect(struct store *st, const struct store_collect *r, size_t n)
{
    int64_t ch = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sq *q;
        if (area_key(r[i].area)[0] == '\0') {
            int64_t gone = 0;
            if ((q = sq_get(st, Q_MISSING_CLEAR)) == NULL)
                return MF_EFATAL;
            sq_i64(q, r[i].date);
            if ((rc = sq_run(q, &gone)) != 0)
                return rc;
            st_count(st, T_MISSING, -gone);
        }
        if ((q = sq_get(st, Q_COLLECT_UPS)) == NULL)
            return MF_EFATAL;
        sq_i64(q, r[i].date);
        sq_text(q, area_key(r[i].area));
        sq_i64(q, r[i].expected);
        sq_i64(q, r[i].collected);
        if (r[i].expected > 0)
            sq_f64(q, (double)r[i].collected / (double)r[i].expected);
        else
            sq_null(q);
        sq_i64(q, r[i].computed_at);
        rc = sq_row_end(q, &ch);
    }
    (void)ch; /* upsert: counts writes, not rows */
    st_count(st, T_COLLECT, 0);
    return rc;
}

static int w_missing(struct store *st, const struct store_missing *r, size_t n)
{
    int64_t ch = 0;
    char t[12];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sq *q = sq_get(st, Q_MISSING_INS);
        if (!q)
            return MF_EFATAL;
        sq_i64(q, r[i].date);
        st_term_format(r[i].term, t);
        sq_text(q, t);
        sq_i64(q, r[i].pn);
        sq_text(q, r[i].area);
        rc = sq_row_end(q, &ch);
    }
    st_count(st, T_MISSING, ch);
    return rc;
}

static void f64_or_null(struct sq *q, int has, double v)
{
    if (has)
        sq_f64(q, v);
    else
        sq_null(q);
}

/* Every column the caller did not know is NULL (store.h): the rate is the caller's, never
 * recomputed from a supply that may be a partial or absent one. */
static int w_line_loss(struct store *st, const struct store_line_loss *r, size_t n)
{
    int64_t ch = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sq *q = sq_get(st, Q_LOSS_UPS);
        if (!q)
            return MF_EFATAL;
        sq_i64(q, r[i].date);
        sq_text(q, area_key(r[i].area));
        f64_or_null(q, r[i].has_supply, r[i].supply_kwh);
        sq_f64(q, r[i].consumed_kwh);
        f64_or_null(q, r[i].has_supply, r[i].supply_kwh - r[i].consumed_kwh);
        f64_or_null(q, r[i].has_rate, r[i].rate);
        sq_i64(q, r[i].flag);
        sq_i64(q, r[i].meters_expected);
        sq_i64(q, r[i].meters_counted);
        sq_i64(q, r[i].computed_at);
        f64_or_null(q, r[i].has_allowance, r[i].allowance_kwh);
        f64_or_null(q, r[i].has_threshold, r[i].threshold);
        rc = sq_row_end(q, &ch);
    }
    (void)ch; /* upsert: counts writes, not rows */
    st_count(st, T_LINE_LOSS, 0);
    return rc;
}

static int w_anomalies(struct store *st, const struct store_anomaly *r, size_t n)
{
    int64_t ch = 0;
    char t[12];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sq *q = sq_get(st, Q_ANOM_INS);
        if (!q)
            return MF_EFATAL;
        sq_text(q, r[i].kind);
        st_term_format(r[i].term, t);
        sq_text(q, t);
        sq_i64(q, r[i].pn);
        sq_text(q, r[i].area);
        sq_i64(q, r[i].at);
        if (r[i].date >= 0)
            sq_i64(q, r[i].date);
        else
            sq_null(q);
        sq_i64(q, r[i].severity);
        sq_text(q, r[i].evidence_json);
        rc = sq_row_end(q, &ch);
    }
    st_count(st, T_ANOMALIES, ch);
    return rc;
}

static int w_online(struct store *st, const struct store_online_sample *r, size_t n)
{
    int64_t ch = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sq *q = sq_get(st, Q_ONLINE_UPS);
        if (!q)
            return MF_EFATAL;
        sq_i64(q, r[i].at);
        sq_i64(q, r[i].registered);
        sq_i64(q, r[i].online);
        if (r[i].registered > 0)
            sq_f64(q, (double)r[i].online / (double)r[i].registered);
        else
            sq_null(q);
        rc = sq_row_end(q, &ch);
    }
    (void)ch; /* upsert: counts writes, not rows */
    st_count(st, T_ONLINE, 0);
    return rc;
}

static int w_recollect(struct store *st, const struct store_recollect *r, size_t n)
{
    int64_t ch = 0;
    char t[12];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sq *q = sq_get(st, Q_RECOL_UPS);
        if (!q)
            return MF_EFATAL;
        st_term_format(r[i].term, t);
        sq_text(q, t);
        sq_i64(q, r[i].pn);
        sq_i64(q, r[i].date);
        sq_text(q, r[i].state);
        sq_i64(q, r[i].attempts);
        sq_i64(q, r[i].next_at);
        sq_i64(q, r[i].deadline_at);
        sq_i64(q, r[i].cmd_id);
        sq_i64(q, r[i].updated_at);
        rc = sq_row_end(q, &ch);
    }
    (void)ch; /* upsert: counts writes, not rows */
    st_count(st, T_RECOLLECT, 0);
    return rc;
}

int st_write_analytics(struct store *st, const struct store_batch *b);
int st_write_analytics(struct store *st, const struct store_batch *b)
{
    int rc = 0;
    if (rc == 0 && b->n_daily_use)
        rc = w_daily_use(st, b->daily_use, b->n_daily_use);
    if (rc == 0 && b->n_collect)
        rc = w_collect(st, b->collect, b->n_collect);
    if (rc == 0 && b->n_missing)
        rc = w_missing(st, b->missing, b->n_missing);
    if (rc == 0 && b->n_line_loss)
        rc = w_line_loss(st, b->line_loss, b->n_line_loss);
    if (rc == 0 && b->n_anomalies)
        rc = w_anomalies(st, b->anomalies, b->n_anomalies);
    if (rc == 0 && b->n_online)
        rc = w_online(st, b->online, b->n_online);
    if (rc == 0 && b->n_recollect)
        rc = w_recollect(st, b->recollect, b->n_recollect);
    return rc;
}
