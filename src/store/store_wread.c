/* store_wread.c -- reads for the worker and the front, as C values: the terminal's login
 * settings, event pointers, a stored frozen value, online counts, and the per-point daily
 * pass (store_points_day_iter) that daily consumption, collection success and line loss are
 * computed from; the meter addresses logged per point and the session changes counted per
 * terminal (the replacement and flapping rules).
 *
 * Iterators call back while the statement is open and the handle is locked: the callback must
 * not call the store with the same handle (it would deadlock); strings it gets are borrowed
 * for the callback only.
 *
 * Thread: any; each public function takes st->mu. */
#include <string.h>

#include "store/store_int.h"

int st_online_now(struct store *st, int64_t *registered, int64_t *online);

int store_terminal_cfg_get(struct store *st, uint32_t term, struct store_terminal_cfg *out)
{
    /* t is bound without a copy (sq_text, SQLITE_STATIC): keep it at function scope, where
     * it outlives the step, whatever block fills it. */
    /* cppcheck-suppress variableScope */
    char t[12];
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_TERMCFG);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        st_term_format(term, t);
        sq_text(q, t);
        rc = sq_step(q);
        if (rc == 1) {
            out->registered = (int)sq_col_i64(q, 0);
            out->pw_len = (int)sq_col_i64(q, 1);
            out->login_answer = (int)sq_col_i64(q, 2);
            rc = 0;
        } else if (rc == 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

int store_ec_get(struct store *st, uint32_t term, int *ec1, int *ec2)
{
    /* t is bound without a copy (sq_text, SQLITE_STATIC): keep it at function scope, where
     * it outlives the step, whatever block fills it. */
    /* cppcheck-suppress variableScope */
    char t[12];
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_EC_GET);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        st_term_format(term, t);
        sq_text(q, t);
        rc = sq_step(q);
        if (rc == 1) {
            *ec1 = sq_col_null(q, 0) ? -1 : (int)sq_col_i64(q, 0);
            *ec2 = sq_col_null(q, 1) ? -1 : (int)sq_col_i64(q, 1);
            rc = 0;
        } else if (rc == 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

int store_frozen_get(struct store *st, uint32_t term, uint16_t pn, int kind, const char *item,
                     int32_t date, int tariff, double *value, int *status)
{
    /* t is bound without a copy (sq_text, SQLITE_STATIC): keep it at function scope, where
     * it outlives the step, whatever block fills it. */
    /* cppcheck-suppress variableScope */
    char t[12];
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_FROZEN_GET);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        st_term_format(term, t);
        sq_text(q, t);
        sq_i64(q, pn);
        sq_i64(q, kind);
        sq_i64(q, date);
        sq_text(q, item ? item : "");
        sq_i64(q, tariff);
        rc = sq_step(q);
        if (rc == 1) {
            *status = (int)sq_col_i64(q, 1);
            *value = sq_col_null(q, 0) ? 0.0 : sq_col_f64(q, 0);
            rc = 0;
        } else if (rc == 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

int store_online_count(struct store *st, int32_t *registered, int32_t *online)
{
    int64_t r = 0, o = 0;
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    rc = st_online_now(st, &r, &o);
    st_leave(st);
    if (rc == 0) {
        *registered = (int32_t)r;
        *online = (int32_t)o;
    }
    return rc;
}

/* The shared body of the iterators below: run query qid with the int64 arguments args[0..n),
 * give each row to row(ctx, q) while it returns 0 (it converts the row and calls the caller's
 * callback). 0 when every row was given, the callback's non-zero stop value, or an error. */
typedef int (*st_row_fn)(void *ctx, struct sq *q);

static int st_iter(struct store *st, int qid, const int64_t *args, size_t n, st_row_fn row,
                   void *ctx)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, qid);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        int stop = 0;
        for (size_t i = 0; i < n; i++)
            sq_i64(q, args[i]);
        while (!stop && (rc = sq_step(q)) == 1)
            stop = row(ctx, q);
        sq_reset(q);
        if (stop)
            rc = stop;
    }
    st_leave(st);
    return rc;
}

struct st_cb { /* the caller's callback, for the row functions */
    union {
        store_point_day_fn day;
        store_area_fn area;
        store_recollect_fn recol;
        store_meter_addr_fn maddr;
        store_session_count_fn sess;
        store_terminal_state_fn tstate;
        store_anomaly_row_fn anom;
    } fn;
    void *opaque;
};

static int point_day_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_point_day p;
    uint32_t key = 0;
    memset(&p, 0, sizeof(p));
    (void)st_term_parse(sq_col_text(q, 0), &key);
    p.term = key;
    p.pn = (uint16_t)sq_col_i64(q, 1);
    p.area = sq_col_text(q, 2);
    p.addr = sq_col_text(q, 3);
    p.is_area_meter = (int)sq_col_i64(q, 4);
    p.multiplier = sq_col_f64(q, 5);
    if (p.multiplier == 0)
        p.multiplier = 1;
    p.terminal_online = (int)sq_col_i64(q, 6);
    p.has_today = (int)sq_col_i64(q, 7);
    p.today = sq_col_null(q, 8) ? 0.0 : sq_col_f64(q, 8);
    p.today_status = (int)sq_col_i64(q, 9);
    p.has_prev = (int)sq_col_i64(q, 10);
    p.prev = sq_col_null(q, 11) ? 0.0 : sq_col_f64(q, 11);
    p.prev_status = (int)sq_col_i64(q, 12);
    return cb->fn.day(cb->opaque, &p);
}

int store_points_day_iter(struct store *st, int32_t date, store_point_day_fn fn, void *opaque)
{
    struct st_cb cb = { .fn.day = fn, .opaque = opaque };
    const int64_t args[] = { date, date - 1 };
    return st_iter(st, Q_POINTS_DAY, args, 2, point_day_row, &cb);
}

static int area_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_area_row a;
    uint32_t key = 0;
    memset(&a, 0, sizeof(a));
    a.id = sq_col_text(q, 0);
    a.name = sq_col_text(q, 1);
    if (!sq_col_null(q, 2) && st_term_parse(sq_col_text(q, 2), &key) == 0) {
        a.supply_term = key;
        a.supply_pn = (uint16_t)sq_col_i64(q, 3);
    }
    a.loss_threshold = sq_col_f64(q, 4);
    return cb->fn.area(cb->opaque, &a);
}

int store_areas_iter(struct store *st, store_area_fn fn, void *opaque)
{
    struct st_cb cb = { .fn.area = fn, .opaque = opaque };
    return st_iter(st, Q_AREAS_ALL, NULL, 0, area_row, &cb);
}

static int recollect_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_recollect r;
    uint32_t key = 0;
    memset(&r, 0, sizeof(r));
    (void)st_term_parse(sq_col_text(q, 0), &key);
    r.term = key;
    r.pn = (uint16_t)sq_col_i64(q, 1);
    r.date = (int32_t)sq_col_i64(q, 2);
    r.state = sq_col_text(q, 3);
    r.attempts = (int32_t)sq_col_i64(q, 4);
    r.next_at = sq_col_i64(q, 5);
    r.deadline_at = sq_col_i64(q, 6);
    r.cmd_id = sq_col_i64(q, 7);
    r.updated_at = sq_col_i64(q, 8);
    return cb->fn.recol(cb->opaque, &r);
}

int store_recollect_due(struct store *st, int64_t now, int limit, store_recollect_fn fn,
                        void *opaque)
{
    struct st_cb cb = { .fn.recol = fn, .opaque = opaque };
    const int64_t args[] = { now, limit > 0 && limit <= 100000 ? limit : 1000 };
    return st_iter(st, Q_RECOL_DUE, args, 2, recollect_row, &cb);
}

static int meter_addr_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_meter_addr a;
    uint32_t key = 0;
    if (st_term_parse(sq_col_text(q, 0), &key) != 0)
        return 0; /* not a terminal id of ours: nothing to compare it with */
    memset(&a, 0, sizeof(a));
    a.term = key;
    a.pn = (uint16_t)sq_col_i64(q, 1);
    a.seen_at = sq_col_i64(q, 2);
    a.addr = sq_col_text(q, 3);
    return cb->fn.maddr(cb->opaque, &a);
}

int store_meter_addr_iter(struct store *st, int64_t from, int64_t to, store_meter_addr_fn fn,
                          void *opaque)
{
    struct st_cb cb = { .fn.maddr = fn, .opaque = opaque };
    const int64_t args[] = { from, to };
    return st_iter(st, Q_MADDR_RANGE, args, 2, meter_addr_row, &cb);
}

static int session_count_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_session_count c;
    uint32_t key = 0;
    if (st_term_parse(sq_col_text(q, 0), &key) != 0)
        return 0;
    memset(&c, 0, sizeof(c));
    c.term = key;
    c.logins = (int32_t)sq_col_i64(q, 1);
    c.offlines = (int32_t)sq_col_i64(q, 2);
    c.first_at = sq_col_i64(q, 3);
    c.last_at = sq_col_i64(q, 4);
    return cb->fn.sess(cb->opaque, &c);
}

int store_session_counts_iter(struct store *st, int64_t from, int64_t to,
                              store_session_count_fn fn, void *opaque)
{
    struct st_cb cb = { .fn.sess = fn, .opaque = opaque };
    const int64_t args[] = { from, to };
    return st_iter(st, Q_SESS_COUNTS, args, 2, session_count_row, &cb);
}

static int term_state_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_terminal_state t;
    uint32_t key = 0;
    if (st_term_parse(sq_col_text(q, 0), &key) != 0)
        return 0;
    memset(&t, 0, sizeof(t));
    t.term = key;
    t.online = (uint8_t)(sq_col_i64(q, 1) != 0);
    t.has_last_seen = (uint8_t)!sq_col_null(q, 2);
    t.last_seen = t.has_last_seen ? sq_col_i64(q, 2) : 0;
    t.has_clock = (uint8_t)(!sq_col_null(q, 3) && !sq_col_null(q, 4));
    t.clock_offset_s = t.has_clock ? (int32_t)sq_col_i64(q, 3) : 0;
    t.clock_at = t.has_clock ? sq_col_i64(q, 4) : 0;
    return cb->fn.tstate(cb->opaque, &t);
}

int store_terminal_states_iter(struct store *st, store_terminal_state_fn fn, void *opaque)
{
    struct st_cb cb = { .fn.tstate = fn, .opaque = opaque };
    return st_iter(st, Q_TERM_STATES, NULL, 0, term_state_row, &cb);
}

int store_login_after(struct store *st, uint32_t term, int64_t after, int64_t *at)
{
    /* t is bound without a copy (sq_text, SQLITE_STATIC): keep it at function scope. */
    /* cppcheck-suppress variableScope */
    char t[12];
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_LOGIN_AFTER);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        st_term_format(term, t);
        sq_text(q, t);
        sq_i64(q, after);
        rc = sq_step(q);
        if (rc == 1 && !sq_col_null(q, 0)) {
            *at = sq_col_i64(q, 0);
            rc = 0;
        } else if (rc >= 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

int store_voltage_range(struct store *st, uint32_t term, uint16_t pn, int64_t from, int64_t to,
                        int64_t *n, double *vmin, double *vmax)
{
    /* t is bound without a copy (sq_text, SQLITE_STATIC): keep it at function scope. */
    /* cppcheck-suppress variableScope */
    char t[12];
    *n = 0;
    *vmin = *vmax = 0.0;
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_VOLT_RANGE);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        st_term_format(term, t);
        sq_text(q, t);
        sq_i64(q, pn);
        sq_i64(q, from);
        sq_i64(q, to);
        rc = sq_step(q);
        if (rc == 1) {
            *n = sq_col_i64(q, 0);
            if (*n > 0 && !sq_col_null(q, 1) && !sq_col_null(q, 2)) {
                *vmin = sq_col_f64(q, 1);
                *vmax = sq_col_f64(q, 2);
            } else {
                *n = 0;
            }
            rc = 0;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

static int anomaly_life_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_anomaly_row a;
    uint32_t key = 0;
    if (st_term_parse(sq_col_text(q, 2), &key) != 0)
        return 0;
    memset(&a, 0, sizeof(a));
    a.id = sq_col_i64(q, 0);
    a.kind = sq_col_text(q, 1);
    a.term = key;
    a.pn = (uint16_t)sq_col_i64(q, 3);
    a.at = sq_col_i64(q, 4);
    a.state = sq_col_text(q, 5);
    a.evidence_json = sq_col_null(q, 6) ? NULL : sq_col_text(q, 6);
    if (!a.kind || !a.state)
        return 0;
    return cb->fn.anom(cb->opaque, &a);
}

int store_anomaly_life_iter(struct store *st, int64_t resolved_from, int limit,
                            store_anomaly_row_fn fn, void *opaque)
{
    struct st_cb cb = { .fn.anom = fn, .opaque = opaque };
    const int64_t args[] = { resolved_from, limit > 0 && limit <= 1000000 ? limit : 100000 };
    return st_iter(st, Q_ANOMS_LIFE, args, 2, anomaly_life_row, &cb);
}

int store_terminal_clock(struct store *st, uint32_t term, int32_t *offset_s, int64_t *at)
{
    /* t is bound without a copy (sq_text, SQLITE_STATIC): keep it at function scope. */
    /* cppcheck-suppress variableScope */
    char t[12];
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_TERM_CLOCK);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        st_term_format(term, t);
        sq_text(q, t);
        rc = sq_step(q);
        if (rc == 1 && !sq_col_null(q, 0) && !sq_col_null(q, 1)) {
            *offset_s = (int32_t)sq_col_i64(q, 0);
            *at = sq_col_i64(q, 1);
            rc = 0;
        } else if (rc >= 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}
