/* store_wread.c -- reads for the worker and the front, as C values: the terminal's login
 * settings, event pointers, a stored frozen value, online counts, and the per-point daily
 * pass (store_points_day_iter) that daily consumption, collection success and line loss are
 * computed from; the meter addresses logged per point and the session changes counted per
 * terminal (the replacement and flapping rules).
 *
 * A one-row read is a binder and a taker given to st_read_row (store_access.c): the taker
 * writes the caller's values only when the row says something (NULL columns: MF_ENOTFOUND).
 * Iterators call back while the statement is open and the handle is locked: the callback must
 * not call the store with the same handle (it would deadlock); strings it gets are borrowed
 * for the callback only.
 *
 * Thread: any; each public function takes st->mu. */
#include <string.h>

#include "store/store_int.h"

int st_online_now(struct store *st, int64_t *registered, int64_t *online);

static int take_terminal_cfg(struct sq *q, void *out)
{
    struct store_terminal_cfg *c = out;
    c->registered = (int)sq_col_i64(q, 0);
    c->pw_len = (int)sq_col_i64(q, 1);
    c->login_answer = (int)sq_col_i64(q, 2);
    return 0;
}

int store_terminal_cfg_get(struct store *st, uint32_t term, struct store_terminal_cfg *out)
{
    return st_read_row(st, Q_TERMCFG, st_bind_term, &term, take_terminal_cfg, out);
}

struct ec_out {
    int *ec1, *ec2;
};

static int take_ec(struct sq *q, void *out)
{
    const struct ec_out *o = out;
    *o->ec1 = sq_col_null(q, 0) ? -1 : (int)sq_col_i64(q, 0);
    *o->ec2 = sq_col_null(q, 1) ? -1 : (int)sq_col_i64(q, 1);
    return 0;
}

int store_ec_get(struct store *st, uint32_t term, int *ec1, int *ec2)
{
    struct ec_out o = { ec1, ec2 };
    return st_read_row(st, Q_EC_GET, st_bind_term, &term, take_ec, &o);
}

struct frozen_key {
    uint32_t term;
    uint16_t pn;
    int kind;
    const char *item;
    int32_t date;
    int tariff;
};

static void bind_frozen_key(struct sq *q, const void *args, char *t)
{
    const struct frozen_key *k = args;
    sq_term(q, k->term, t);
    sq_i64(q, k->pn);
    sq_i64(q, k->kind);
    sq_i64(q, k->date);
    sq_text(q, k->item ? k->item : "");
    sq_i64(q, k->tariff);
}

struct frozen_out {
    double *value;
    int *status;
};

static int take_frozen(struct sq *q, void *out)
{
    const struct frozen_out *o = out;
    *o->status = (int)sq_col_i64(q, 1);
    *o->value = sq_col_null(q, 0) ? 0.0 : sq_col_f64(q, 0);
    return 0;
}

int store_frozen_get(struct store *st, uint32_t term, uint16_t pn, int kind, const char *item,
                     int32_t date, int tariff, double *value, int *status)
{
    const struct frozen_key k = { term, pn, kind, item, date, tariff };
    struct frozen_out o = { value, status };
    return st_read_row(st, Q_FROZEN_GET, bind_frozen_key, &k, take_frozen, &o);
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
        store_terminal_login_fn tlogin;
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

/* Columns from `first`: registered, pw_len, login_answer, ec1, ec2 (Q_TERM_LOGIN[S]). */
static void term_login_cols(struct sq *q, int first, struct store_terminal_login *t)
{
    t->cfg.registered = (int)sq_col_i64(q, first);
    t->cfg.pw_len = (int)sq_col_i64(q, first + 1);
    t->cfg.login_answer = (int)sq_col_i64(q, first + 2);
    t->ec1 = sq_col_null(q, first + 3) ? -1 : (int)sq_col_i64(q, first + 3);
    t->ec2 = sq_col_null(q, first + 4) ? -1 : (int)sq_col_i64(q, first + 4);
}

static int term_login_row(void *ctx, struct sq *q)
{
    const struct st_cb *cb = ctx;
    struct store_terminal_login t;
    uint32_t key = 0;
    if (st_term_parse(sq_col_text(q, 0), &key) != 0)
        return 0;
    memset(&t, 0, sizeof(t));
    t.term = key;
    term_login_cols(q, 1, &t);
    return cb->fn.tlogin(cb->opaque, &t);
}

int store_terminal_logins_iter(struct store *st, store_terminal_login_fn fn, void *opaque)
{
    struct st_cb cb = { .fn.tlogin = fn, .opaque = opaque };
    return st_iter(st, Q_TERM_LOGINS, NULL, 0, term_login_row, &cb);
}

static int take_terminal_login(struct sq *q, void *out)
{
    term_login_cols(q, 0, out);
    return 0;
}

int store_terminal_login_get(struct store *st, uint32_t term, struct store_terminal_login *out)
{
    struct store_terminal_login tl;
    memset(&tl, 0, sizeof(tl));
    tl.term = term;
    int rc = st_read_row(st, Q_TERM_LOGIN, st_bind_term, &term, take_terminal_login, &tl);
    if (rc == 0)
        *out = tl;
    return rc;
}

/* A terminal and a time. */
struct term_span {
    uint32_t term;
    int64_t from;
};

static void bind_term_from(struct sq *q, const void *args, char *t)
{
    const struct term_span *a = args;
    sq_term(q, a->term, t);
    sq_i64(q, a->from);
}

static int take_time(struct sq *q, void *out)
{
    if (sq_col_null(q, 0))
        return MF_ENOTFOUND; /* MIN() over no row */
    *(int64_t *)out = sq_col_i64(q, 0);
    return 0;
}

int store_login_after(struct store *st, uint32_t term, int64_t after, int64_t *at)
{
    const struct term_span a = { term, after };
    return st_read_row(st, Q_LOGIN_AFTER, bind_term_from, &a, take_time, at);
}

struct volt_key {
    uint32_t term;
    uint16_t pn;
    int64_t from, to;
};

static void bind_volt_key(struct sq *q, const void *args, char *t)
{
    const struct volt_key *k = args;
    sq_term(q, k->term, t);
    sq_i64(q, k->pn);
    sq_i64(q, k->from);
    sq_i64(q, k->to);
}

struct volt_range {
    int64_t n;
    double vmin, vmax;
};

static int take_volt_range(struct sq *q, void *out)
{
    struct volt_range *r = out;
    r->n = sq_col_i64(q, 0);
    if (r->n > 0 && !sq_col_null(q, 1) && !sq_col_null(q, 2)) {
        r->vmin = sq_col_f64(q, 1);
        r->vmax = sq_col_f64(q, 2);
    } else {
        r->n = 0;
    }
    return 0;
}

int store_voltage_range(struct store *st, uint32_t term, uint16_t pn, int64_t from, int64_t to,
                        int64_t *n, double *vmin, double *vmax)
{
    const struct volt_key k = { term, pn, from, to };
    struct volt_range r = { 0, 0.0, 0.0 };
    int rc = st_read_row(st, Q_VOLT_RANGE, bind_volt_key, &k, take_volt_range, &r);
    if (rc == MF_ENOTFOUND)
        rc = 0; /* an aggregate gives a row even over nothing: as none in range */
    *n = r.n;
    *vmin = r.vmin;
    *vmax = r.vmax;
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

struct clock_out {
    int32_t *offset_s;
    int64_t *at;
};

static int take_clock(struct sq *q, void *out)
{
    const struct clock_out *o = out;
    if (sq_col_null(q, 0) || sq_col_null(q, 1))
        return MF_ENOTFOUND; /* the terminal's clock was never read */
    *o->offset_s = (int32_t)sq_col_i64(q, 0);
    *o->at = sq_col_i64(q, 1);
    return 0;
}

int store_terminal_clock(struct store *st, uint32_t term, int32_t *offset_s, int64_t *at)
{
    struct clock_out o = { offset_s, at };
    return st_read_row(st, Q_TERM_CLOCK, st_bind_term, &term, take_clock, &o);
}
