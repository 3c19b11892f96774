/* store_read.c -- the web API's reads: ready JSON built from the catalogue's read queries.
 *
 * Every list is bounded: paginated lists by page_size (<= 1000), time-series by the LIMIT in
 * their statement (20000 rows), so no request can make the store build an unbounded
 * document. Filters that are NULL or "" mean "any". All queries run on indexed columns
 * (docs/SCHEMA.md "Indexes and the queries that use them").
 *
 * Thread: any; each public function takes st->mu. */
#include <string.h>

#include "store/store_int.h"

#define ENTER(st)                                                                              \
    int rc = st_enter(st);                                                                     \
    if (rc != 0)                                                                               \
        return rc;                                                                             \
    *out = NULL

/* ---- terminals ---- */

static void bind_terms(struct sq *q, const void *fv, char *t)
{
    const struct store_terminal_filter *f = fv;
    (void)t; /* no terminal parameter */
    sq_i64(q, f->online);
    sq_text(q, st_nz(f->search));
    sq_text(q, st_nz(f->area));
}

int store_terminals_json(struct store *st, const struct store_terminal_filter *f, json_t **out)
{
    return st_read_page(st, Q_TERMS_COUNT, Q_TERMS_LIST, 0, bind_terms, f, &f->pg, out);
}

/* Add key -> rows of query id bound with the terminal text (and an optional limit). */
static int add_list(struct store *st, json_t *o, const char *key, int id, const char *term,
                    int limit)
{
    json_t *arr;
    struct sq *q = sq_get(st, id);
    if (!q)
        return MF_EFATAL;
    sq_text(q, term);
    if (limit >= 0)
        sq_i64(q, limit);
    int rc = sq_rows_json(q, &arr);
    if (rc == 0)
        json_object_set_new(o, key, arr);
    return rc;
}

static int terminal_detail(struct store *st, const char *term, int frames_limit, json_t **out)
{
    json_t *o = NULL, *ver = NULL;
    struct sq *q = sq_get(st, Q_TERM_DETAIL);
    int rc;

    if (!q)
        return MF_EFATAL;
    sq_text(q, term);
    if ((rc = sq_row1_json(q, &o)) != 0)
        return rc;
    if ((q = sq_get(st, Q_TERM_VERSION)) == NULL) {
        rc = MF_EFATAL;
        goto fail;
    }
    sq_text(q, term);
    rc = sq_row1_json(q, &ver);
    if (rc == MF_ENOTFOUND) {
        ver = json_null();
        rc = 0;
    }
    if (rc != 0)
        goto fail;
    json_object_set_new(o, "version", ver);
    if ((rc = add_list(st, o, "points", Q_TERM_POINTS, term, -1)) != 0 ||
        (rc = add_list(st, o, "meter_cfg", Q_TERM_MCFG, term, -1)) != 0 ||
        (rc = add_list(st, o, "frames", Q_TERM_FRAMES, term,
                       frames_limit < 0 ? 0 : MF_MIN(frames_limit, 1000))) != 0)
        goto fail;
    *out = o;
    return 0;
fail:
    json_decref(o);
    return rc;
}

int store_terminal_json(struct store *st, const char *terminal, int frames_limit, json_t **out)
{
    uint32_t key;
    char t[12];
    ENTER(st);
    if (st_term_parse(terminal, &key) != 0) {
        st_leave(st);
        return MF_EINVAL;
    }
    st_term_format(key, t);
    rc = terminal_detail(st, t, frames_limit, out);
    st_leave(st);
    return rc;
}

/* ---- point data ---- */

/* Bind terminal (normalised), pn, then two int64 bounds; run; give rows. */
static int point_query(struct store *st, int id, const char *terminal, int pn, const char *item,
                       int64_t a, int64_t b, json_t **out)
{
    uint32_t key;
    char t[12];
    struct sq *q;

    if (st_term_parse(terminal, &key) != 0 || pn < 0 || pn > 2040)
        return MF_EINVAL;
    if ((q = sq_get(st, id)) == NULL)
        return MF_EFATAL;
    st_term_format(key, t);
    sq_text(q, t);
    sq_i64(q, pn);
    if (item)
        sq_text(q, item);
    sq_i64(q, a);
    sq_i64(q, b);
    return sq_rows_json(q, out);
}

int store_point_energy_json(struct store *st, const char *terminal, int pn, int64_t from,
                            int64_t to, json_t **out)
{
    ENTER(st);
    rc = point_query(st, Q_PT_ENERGY, terminal, pn, NULL, from, to, out);
    st_leave(st);
    return rc;
}

int store_point_daily_json(struct store *st, const char *terminal, int pn, int32_t from_date,
                           int32_t to_date, json_t **out)
{
    json_t *frozen = NULL, *use = NULL;
    ENTER(st);
    rc = point_query(st, Q_PT_FROZEN, terminal, pn, NULL, from_date, to_date, &frozen);
    if (rc == 0)
        rc = point_query(st, Q_PT_USE, terminal, pn, NULL, from_date, to_date, &use);
    if (rc == 0) {
        *out = json_object();
        json_object_set_new(*out, "frozen", frozen);
        json_object_set_new(*out, "use", use);
    } else {
        json_decref(frozen);
    }
    st_leave(st);
    return rc;
}

int store_point_curve_json(struct store *st, const char *terminal, int pn, const char *item,
                           int64_t from, int64_t to, json_t **out)
{
    ENTER(st);
    if (!item || !item[0] || strlen(item) > STORE_CODE_MAX)
        rc = MF_EINVAL;
    else
        rc = point_query(st, Q_PT_CURVE, terminal, pn, item, from, to, out);
    st_leave(st);
    return rc;
}

int store_point_instant_json(struct store *st, const char *terminal, int pn, int64_t from,
                             int64_t to, json_t **out)
{
    ENTER(st);
    rc = point_query(st, Q_PT_INSTANT, terminal, pn, NULL, from, to, out);
    st_leave(st);
    return rc;
}

/* ---- events, anomalies, commands, audit ---- */

static void bind_events(struct sq *q, const void *fv, char *t)
{
    const struct store_event_filter *f = fv;
    (void)t; /* the terminal filter is bound as the API gives it */
    sq_text(q, st_nz(f->terminal));
    sq_i64(q, f->erc);
    sq_i64(q, f->cls);
    sq_i64(q, f->min_severity);
    sq_i64(q, f->from);
    sq_i64(q, f->to);
}

int store_events_json(struct store *st, const struct store_event_filter *f, json_t **out)
{
    if (st_nz(f->terminal))
        return st_read_page(st, Q_EVENTS_COUNT_T, Q_EVENTS_LIST_T, 1, bind_events, f, &f->pg,
                            out);
    return st_read_page(st, Q_EVENTS_COUNT, Q_EVENTS_LIST, 1, bind_events, f, &f->pg, out);
}

static void bind_anoms(struct sq *q, const void *fv, char *t)
{
    const struct store_anomaly_filter *f = fv;
    (void)t; /* the terminal filter is bound as the API gives it */
    sq_text(q, st_nz(f->kind));
    sq_text(q, st_nz(f->terminal));
    sq_text(q, st_nz(f->area));
    sq_text(q, st_nz(f->state));
    sq_i64(q, f->from);
    sq_i64(q, f->to);
}

int store_anomalies_json(struct store *st, const struct store_anomaly_filter *f, json_t **out)
{
    if (st_nz(f->terminal))
        return st_read_page(st, Q_ANOMS_COUNT_T, Q_ANOMS_LIST_T, 1, bind_anoms, f, &f->pg, out);
    return st_read_page(st, Q_ANOMS_COUNT, Q_ANOMS_LIST, 1, bind_anoms, f, &f->pg, out);
}

static void bind_cmds(struct sq *q, const void *fv, char *t)
{
    const struct store_command_filter *f = fv;
    (void)t; /* the terminal filter is bound as the API gives it */
    sq_text(q, st_nz(f->terminal));
    sq_text(q, st_nz(f->state));
}

int store_commands_json(struct store *st, const struct store_command_filter *f, json_t **out)
{
    if (st_nz(f->terminal))
        return st_read_page(st, Q_CMDS_COUNT_T, Q_CMDS_LIST_T, 1, bind_cmds, f, &f->pg, out);
    return st_read_page(st, Q_CMDS_COUNT, Q_CMDS_LIST, 1, bind_cmds, f, &f->pg, out);
}

static void bind_id(struct sq *q, const void *args, char *t)
{
    (void)t; /* no terminal parameter */
    sq_i64(q, *(const int64_t *)args);
}

int store_command_json(struct store *st, int64_t id, json_t **out)
{
    *out = NULL;
    return st_read_row(st, Q_CMD_GET, bind_id, &id, st_take_json, out);
}

static void bind_audit(struct sq *q, const void *fv, char *t)
{
    const struct store_audit_filter *f = fv;
    (void)t; /* no terminal parameter */
    sq_text(q, st_nz(f->user));
    sq_text(q, st_nz(f->action));
    sq_i64(q, f->from);
    sq_i64(q, f->to);
}

int store_audit_json(struct store *st, const struct store_audit_filter *f, json_t **out)
{
    return st_read_page(st, Q_AUDIT_COUNT, Q_AUDIT_LIST, 1, bind_audit, f, &f->pg, out);
}
