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

static const char *nz(const char *s)
{
    return s && s[0] ? s : NULL;
}

typedef void (*bind_fn)(struct sq *q, const void *f);

/* Count with qcount, list a page with qlist (its last two parameters LIMIT, OFFSET).
 * capped: qcount stops at STORE_COUNT_CAP + 1 (store_sql.c CAPPED_COUNT). */
static int paged(struct store *st, int qcount, int qlist, int capped, bind_fn bind,
                 const void *f, const struct store_page *pg, json_t **out)
{
    int page, size, rc;
    int64_t total = 0;
    struct sq *q = sq_get(st, qcount);

    st_page_norm(pg, &page, &size);
    if (!q)
        return MF_EFATAL;
    bind(q, f);
    rc = sq_step(q);
    if (rc == 1) {
        total = sq_col_i64(q, 0);
        rc = 0;
    }
    sq_reset(q);
    if (rc != 0)
        return rc;
    if ((q = sq_get(st, qlist)) == NULL)
        return MF_EFATAL;
    bind(q, f);
    sq_i64(q, size);
    sq_i64(q, (int64_t)(page - 1) * size);
    json_t *items = json_array();
    if ((rc = sq_rows_json(q, items)) != 0) {
        json_decref(items);
        return rc;
    }
    *out = st_page_wrap(items, total, page, size);
    if (capped)
        json_object_set_new(*out, "total_capped", json_boolean(total > STORE_COUNT_CAP));
    return 0;
}

/* Run q (already bound) and give all its rows as an array. */
static int rows(struct sq *q, json_t **out)
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

/* Run q and give its first row as an object, MF_ENOTFOUND if none. */
static int one_row(struct sq *q, json_t **out)
{
    int rc = sq_step(q);
    if (rc == 1) {
        *out = sq_row_json(q);
        rc = 0;
    } else if (rc == 0) {
        rc = MF_ENOTFOUND;
    }
    sq_reset(q);
    return rc;
}

#define ENTER(st)                                                                              \
    int rc = st_enter(st);                                                                     \
    if (rc != 0)                                                                               \
        return rc;                                                                             \
    *out = NULL

/* ---- terminals ---- */

static void bind_terms(struct sq *q, const void *fv)
{
    const struct store_terminal_filter *f = fv;
    sq_i64(q, f->online);
    sq_text(q, nz(f->search));
    sq_text(q, nz(f->area));
}

int store_terminals_json(struct store *st, const struct store_terminal_filter *f, json_t **out)
{
    ENTER(st);
    rc = paged(st, Q_TERMS_COUNT, Q_TERMS_LIST, 0, bind_terms, f, &f->pg, out);
    st_leave(st);
    return rc;
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
    int rc = rows(q, &arr);
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
    if ((rc = one_row(q, &o)) != 0)
        return rc;
    if ((q = sq_get(st, Q_TERM_VERSION)) == NULL) {
        rc = MF_EFATAL;
        goto fail;
    }
    sq_text(q, term);
    rc = one_row(q, &ver);
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
    return rows(q, out);
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

static void bind_events(struct sq *q, const void *fv)
{
    const struct store_event_filter *f = fv;
    sq_text(q, nz(f->terminal));
    sq_i64(q, f->erc);
    sq_i64(q, f->cls);
    sq_i64(q, f->min_severity);
    sq_i64(q, f->from);
    sq_i64(q, f->to);
}

int store_events_json(struct store *st, const struct store_event_filter *f, json_t **out)
{
    ENTER(st);
    if (nz(f->terminal))
        rc = paged(st, Q_EVENTS_COUNT_T, Q_EVENTS_LIST_T, 1, bind_events, f, &f->pg, out);
    else
        rc = paged(st, Q_EVENTS_COUNT, Q_EVENTS_LIST, 1, bind_events, f, &f->pg, out);
    st_leave(st);
    return rc;
}

static void bind_anoms(struct sq *q, const void *fv)
{
    const struct store_anomaly_filter *f = fv;
    sq_text(q, nz(f->kind));
    sq_text(q, nz(f->terminal));
    sq_text(q, nz(f->area));
    sq_text(q, nz(f->state));
    sq_i64(q, f->from);
    sq_i64(q, f->to);
}

int store_anomalies_json(struct store *st, const struct store_anomaly_filter *f, json_t **out)
{
    ENTER(st);
    if (nz(f->terminal))
        rc = paged(st, Q_ANOMS_COUNT_T, Q_ANOMS_LIST_T, 1, bind_anoms, f, &f->pg, out);
    else
        rc = paged(st, Q_ANOMS_COUNT, Q_ANOMS_LIST, 1, bind_anoms, f, &f->pg, out);
    st_leave(st);
    return rc;
}

static void bind_cmds(struct sq *q, const void *fv)
{
    const struct store_command_filter *f = fv;
    sq_text(q, nz(f->terminal));
    sq_text(q, nz(f->state));
}

int store_commands_json(struct store *st, const struct store_command_filter *f, json_t **out)
{
    ENTER(st);
    if (nz(f->terminal))
        rc = paged(st, Q_CMDS_COUNT_T, Q_CMDS_LIST_T, 1, bind_cmds, f, &f->pg, out);
    else
        rc = paged(st, Q_CMDS_COUNT, Q_CMDS_LIST, 1, bind_cmds, f, &f->pg, out);
    st_leave(st);
    return rc;
}

int store_command_json(struct store *st, int64_t id, json_t **out)
{
    ENTER(st);
    struct sq *q = sq_get(st, Q_CMD_GET);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_i64(q, id);
        rc = one_row(q, out);
    }
    st_leave(st);
    return rc;
}

static void bind_audit(struct sq *q, const void *fv)
{
    const struct store_audit_filter *f = fv;
    sq_text(q, nz(f->user));
    sq_text(q, nz(f->action));
    sq_i64(q, f->from);
    sq_i64(q, f->to);
}

int store_audit_json(struct store *st, const struct store_audit_filter *f, json_t **out)
{
    ENTER(st);
    rc = paged(st, Q_AUDIT_COUNT, Q_AUDIT_LIST, 1, bind_audit, f, &f->pg, out);
    st_leave(st);
    return rc;
}
