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

static void b_daily_use(struct sq *q, const void *rec, char *t)
{
    const struct store_daily_use *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->pn);
    sq_i64(q, r->date);
    sq_value(q, r->kwh, r->status);
    sq_i64(q, r->status);
    sq_i64(q, r->flags);
    sq_i64(q, r->computed_at);
}

static int w_daily_use(struct store *st, const struct store_daily_use *r, size_t n)
{
    return st_write_rows(st, Q_USE_UPS, T_DAILY_USE, ST_UPSERT, r, sizeof(*r), n, b_daily_use);
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

static void b_missing(struct sq *q, const void *rec, char *t)
{
    const struct store_missing *r = rec;
    sq_i64(q, r->date);
    sq_term(q, r->term, t);
    sq_i64(q, r->pn);
    sq_text(q, r->area);
}

static int w_missing(struct store *st, const struct store_missing *r, size_t n)
{
    return st_write_rows(st, Q_MISSING_INS, T_MISSING, ST_INSERT, r, sizeof(*r), n, b_missing);
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
static void b_line_loss(struct sq *q, const void *rec, char *t)
{
    const struct store_line_loss *r = rec;
    (void)t; /* no terminal column */
    sq_i64(q, r->date);
    sq_text(q, area_key(r->area));
    f64_or_null(q, r->has_supply, r->supply_kwh);
    sq_f64(q, r->consumed_kwh);
    f64_or_null(q, r->has_supply, r->supply_kwh - r->consumed_kwh);
    f64_or_null(q, r->has_rate, r->rate);
    sq_i64(q, r->flag);
    sq_i64(q, r->meters_expected);
    sq_i64(q, r->meters_counted);
    sq_i64(q, r->computed_at);
    f64_or_null(q, r->has_allowance, r->allowance_kwh);
    f64_or_null(q, r->has_threshold, r->threshold);
}

static int w_line_loss(struct store *st, const struct store_line_loss *r, size_t n)
{
    return st_write_rows(st, Q_LOSS_UPS, T_LINE_LOSS, ST_UPSERT, r, sizeof(*r), n, b_line_loss);
}

static void b_anomalies(struct sq *q, const void *rec, char *t)
{
    const struct store_anomaly *r = rec;
    sq_text(q, r->kind);
    sq_term(q, r->term, t);
    sq_i64(q, r->pn);
    sq_text(q, r->area);
    sq_i64(q, r->at);
    if (r->date >= 0)
        sq_i64(q, r->date);
    else
        sq_null(q);
    sq_i64(q, r->severity);
    sq_text(q, r->evidence_json);
}

static int w_anomalies(struct store *st, const struct store_anomaly *r, size_t n)
{
    return st_write_rows(st, Q_ANOM_INS, T_ANOMALIES, ST_INSERT, r, sizeof(*r), n, b_anomalies);
}

static void b_online(struct sq *q, const void *rec, char *t)
{
    const struct store_online_sample *r = rec;
    (void)t; /* no terminal column */
    sq_i64(q, r->at);
    sq_i64(q, r->registered);
    sq_i64(q, r->online);
    if (r->registered > 0)
        sq_f64(q, (double)r->online / (double)r->registered);
    else
        sq_null(q);
}

static int w_online(struct store *st, const struct store_online_sample *r, size_t n)
{
    return st_write_rows(st, Q_ONLINE_UPS, T_ONLINE, ST_UPSERT, r, sizeof(*r), n, b_online);
}

static void b_recollect(struct sq *q, const void *rec, char *t)
{
    const struct store_recollect *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->pn);
    sq_i64(q, r->date);
    sq_text(q, r->state);
    sq_i64(q, r->attempts);
    sq_i64(q, r->next_at);
    sq_i64(q, r->deadline_at);
    sq_i64(q, r->cmd_id);
    sq_i64(q, r->updated_at);
}

static int w_recollect(struct store *st, const struct store_recollect *r, size_t n)
{
    return st_write_rows(st, Q_RECOL_UPS, T_RECOLLECT, ST_UPSERT, r, sizeof(*r), n, b_recollect);
}

int st_write_analytics(struct store *st, const struct store_batch *b);
int st_write_analytics(struct store *st, const struct store_batch *b)
{
    /* each table in turn, stopping at the first failure */
    int rc = b->n_daily_use ? w_daily_use(st, b->daily_use, b->n_daily_use) : 0;
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
