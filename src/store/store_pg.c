/* store_pg.c -- the PostgreSQL driver behind struct sdrv_ops (libpq).
 *
 * One connection per handle. Statements are prepared by name ("mf<id>") on first use after
 * each (re)connection: a connection generation counter tells a statement that the server
 * forgot it. Parameters travel as text (numbers formatted here, %.17g for doubles) and blobs
 * as binary; results come back as text and are parsed by the column getters.
 *
 * Bulk statements (store_sql.c, .bulk = 1) do not execute per row: each row's binds are
 * appended to one PostgreSQL array literal per column ({"a","b",NULL}), and a chunk of
 * BULK_ROWS rows is sent as one INSERT ... SELECT FROM unnest($1::text[], ...). That turns
 * one round trip per row into one per chunk.
 *
 * Errors: connection loss (PQstatus bad, SQLSTATE class 08), serialization failure / deadlock
 * (40001, 40P01), operator intervention (57P01 admin shutdown, 57P02, 57P03, 57014 statement
 * timeout), lock_timeout ([store] busy_timeout_ms), insufficient resources (53xxx), lock not available (55P03), system error (58xxx)
 * -> MF_ERETRY; anything else -> MF_EFATAL. After a lost connection the next call reconnects
 * (ensure): the handle stays usable once the server is back.
 *
 * Thread: the handle's lock holder. */
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define PG_MAXP 16
#define BULK_ROWS 5000
#define BULK_TEXT_MAX (64u << 20) /* one column array of a chunk */

struct pg_conn {
    PGconn *conn;
    char *conninfo;
    unsigned gen; /* bumped at every (re)connection */
    int timeout_ms;
    int readonly;
};

struct pg_arr { /* one column of a bulk chunk, as an array literal */
    char *p;
    size_t len, cap;
};

struct pg_stmt {
    struct sq_common c;
    char name[16];
    char *sql;
    unsigned prepared_gen;
    int nparams;
    const char *vals[PG_MAXP];
    int lens[PG_MAXP];
    int fmts[PG_MAXP];
    char num[PG_MAXP][32];
    PGresult *res;
    int row, nrows;
    int64_t changes;
    uint8_t *blob; /* decoded bytea of the last col_blob */
    /* bulk */
    struct pg_arr arr[PG_MAXP];
    int bulk_rows;
};

#define PGC(st) ((struct pg_conn *)(st)->drv)

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* NOTICEs (e.g. "relation already exists, skipping") are not errors */
}

static int pg_class_state(const char *state, int conn_bad)
{
    if (conn_bad || !state)
        return conn_bad ? MF_ERETRY : MF_EFATAL;
    if (!strncmp(state, "08", 2) || !strcmp(state, "40001") || !strcmp(state, "40P01") ||
        !strncmp(state, "57P0", 4) || !strcmp(state, "57014") || !strncmp(state, "53", 2) ||
        !strcmp(state, "55P03") || !strncmp(state, "58", 2))
        return MF_ERETRY;
    return MF_EFATAL;
}

/* Classify a failed result (res may be NULL) and record the message. */
static int pg_fail(struct store *st, PGresult *res, const char *what)
{
    PGconn *c = PGC(st)->conn;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c);
    int bad = PQstatus(c) != CONNECTION_OK;
    st_err(st, "postgres: %s: %s%s%s", what, state ? state : "", state ? " " : "",
           msg && msg[0] ? msg : PQerrorMessage(c));
    size_t n = strlen(st->err);
    while (n > 0 && (st->err[n - 1] == '\n' || st->err[n - 1] == ' '))
        st->err[--n] = '\0';
    return pg_class_state(state, bad);
}

static int pg_exec(struct store *st, const char *sql)
{
    PGresult *res = PQexec(PGC(st)->conn, sql);
    ExecStatusType s = PQresultStatus(res);
    int rc = (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) ? 0 : pg_fail(st, res, sql);
    PQclear(res);
    return rc;
}

/* Session settings after every (re)connection. */
static int pg_session_init(struct store *st)
{
    char sql[96];
    PQsetNoticeProcessor(PGC(st)->conn, pg_quiet, NULL);
    snprintf(sql, sizeof(sql), "SET lock_timeout = %d", PGC(st)->timeout_ms);
    int rc = pg_exec(st, sql);
    if (rc == 0)
        rc = pg_exec(st, "SET TIME ZONE 'UTC'");
    if (rc == 0 && PGC(st)->readonly)
        rc = pg_exec(st, "SET default_transaction_read_only = on");
    PGC(st)->gen++;
    return rc;
}

static int pg_open(struct store *st, const struct store_opts *o, char *errbuf, size_t errlen)
{
    struct pg_conn *pc = mf_calloc(1, sizeof(*pc));
    pc->conninfo = mf_strdup(o->pg_conninfo ? o->pg_conninfo : "");
    pc->timeout_ms = o->busy_timeout_ms;
    pc->readonly = o->readonly;
    pc->conn = PQconnectdb(pc->conninfo);
    st->drv = pc;
    if (PQstatus(pc->conn) != CONNECTION_OK || pg_session_init(st) != 0) {
        snprintf(errbuf, errlen, "postgres: cannot connect (%s): %s", pc->conninfo,
                 PQerrorMessage(pc->conn));
        PQfinish(pc->conn);
        free(pc->conninfo);
        free(pc);
        st->drv = NULL;
        return MF_ERETRY;
    }
    return 0;
}

static void pg_close(struct store *st)
{
    struct pg_conn *pc = PGC(st);
    if (!pc)
        return;
    PQfinish(pc->conn);
    free(pc->conninfo);
    free(pc);
    st->drv = NULL;
}

static int pg_ensure(struct store *st)
{
    struct pg_conn *pc = PGC(st);
    if (PQstatus(pc->conn) == CONNECTION_OK)
        return 0;
    PQreset(pc->conn);
    if (PQstatus(pc->conn) != CONNECTION_OK) {
        st_err(st, "postgres: reconnect failed: %s", PQerrorMessage(pc->conn));
        return MF_ERETRY;
    }
    st->in_tx = 0;
    return pg_session_init(st) == 0 ? 0 : MF_ERETRY;
}

static int count_params(const char *sql)
{
    int max = 0;
    for (const char *p = sql; *p; p++)
        if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            int n = (int)strtol(p + 1, NULL, 10);
            if (n > max)
                max = n;
        }
    return max;
}

static struct sq *pg_prepare(struct store *st, int id, const char *sql)
{
    struct pg_stmt *q;
    int np = count_params(sql);
    if (np > PG_MAXP) {
        st_err(st, "postgres: statement %d has %d parameters (max %d)", id, np, PG_MAXP);
        return NULL;
    }
    q = mf_calloc(1, sizeof(*q));
    q->c.st = st;
    q->c.id = id;
    q->c.next = 1;
    q->nparams = np;
    q->sql = mf_strdup(sql);
    /* id -1 (migrations) is never cached: run it unnamed. */
    if (id >= 0)
        snprintf(q->name, sizeof(q->name), "mf%d", id);
    q->prepared_gen = 0;
    return (struct sq *)q;
}

static void pg_reset(struct sq *sq)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    PQclear(q->res);
    q->res = NULL;
    q->row = q->nrows = 0;
    for (int i = 0; i < PG_MAXP; i++) {
        q->vals[i] = NULL;
        q->lens[i] = 0;
        q->fmts[i] = 0;
        q->arr[i].len = 0;
    }
    q->bulk_rows = 0;
}

static void pg_finalize(struct sq *sq)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    pg_reset(sq);
    for (int i = 0; i < PG_MAXP; i++)
        free(q->arr[i].p);
    free(q->blob);
    free(q->sql);
    free(q);
}

/* ---- bulk arrays ---- */

static void arr_put(struct pg_arr *a, const char *s, size_t n)
{
    if (a->len + n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (a->len + n + 2 > cap)
            cap *= 2;
        if (cap > BULK_TEXT_MAX)
            mf_oom(); /* unreachable: BULK_ROWS x capped field sizes */
        a->p = mf_realloc(a->p, cap);
        a->cap = cap;
    }
    memcpy(a->p + a->len, s, n);
    a->len += n;
}

/* Append one element (s == NULL: SQL NULL; quoted: a text element). */
static void arr_elem(struct pg_stmt *q, int idx, const char *s, int quoted)
{
    struct pg_arr *a = &q->arr[idx - 1];
    arr_put(a, q->bulk_rows ? "," : "{", 1);
    if (!s) {
        arr_put(a, "NULL", 4);
        return;
    }
    if (!quoted) {
        arr_put(a, s, strlen(s));
        return;
    }
    arr_put(a, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            arr_put(a, "\\", 1);
        arr_put(a, p, 1);
    }
    arr_put(a, "\"", 1);
}

static int is_bulk(struct pg_stmt *q)
{
    return q->c.id >= 0 && store_sql[q->c.id].bulk;
}

/* ---- binds ---- */

static int pg_bind(struct pg_stmt *q, int idx, const char *v, int len, int fmt, int quoted)
{
    if (idx < 1 || idx > q->nparams) {
        st_err(q->c.st, "postgres: statement %d: parameter %d out of range", q->c.id, idx);
        return MF_EFATAL;
    }
    if (is_bulk(q)) {
        arr_elem(q, idx, v, quoted);
        return 0;
    }
    q->vals[idx - 1] = v; /* a number buffer of q, or the caller's text: borrowed */
    q->lens[idx - 1] = len;
    q->fmts[idx - 1] = fmt;
    return 0;
}

static int pg_bind_i64(struct sq *sq, int idx, int64_t v)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    if (idx < 1 || idx > PG_MAXP)
        return pg_bind(q, idx, NULL, 0, 0, 0);
    snprintf(q->num[idx - 1], sizeof(q->num[0]), "%lld", (long long)v);
    return pg_bind(q, idx, q->num[idx - 1], 0, 0, 0);
}

static int pg_bind_f64(struct sq *sq, int idx, double v)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    if (idx < 1 || idx > PG_MAXP)
        return pg_bind(q, idx, NULL, 0, 0, 0);
    if (isnan(v))
        mf_strlcpy(q->num[idx - 1], "NaN", sizeof(q->num[0]));
    else if (isinf(v))
        mf_strlcpy(q->num[idx - 1], v > 0 ? "Infinity" : "-Infinity", sizeof(q->num[0]));
    else
        snprintf(q->num[idx - 1], sizeof(q->num[0]), "%.17g", v);
    /* In an array literal NaN/Infinity must be quoted to stay one element: quote always. */
    return pg_bind(q, idx, q->num[idx - 1], 0, 0, is_bulk(q));
}

static int pg_bind_text(struct sq *sq, int idx, const char *s)
{
    return pg_bind((struct pg_stmt *)sq, idx, s, 0, 0, 1);
}

static int pg_bind_blob(struct sq *sq, int idx, const void *p, size_t n)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    if (is_bulk(q)) {
        st_err(q->c.st, "postgres: blob in a bulk statement");
        return MF_EFATAL;
    }
    return pg_bind(q, idx, p, (int)n, 1, 0);
}

static int pg_bind_null(struct sq *sq, int idx)
{
    return pg_bind((struct pg_stmt *)sq, idx, NULL, 0, 0, 0);
}

/* ---- execution ---- */

static int pg_ready(struct pg_stmt *q)
{
    struct store *st = q->c.st;
    if (!q->name[0] || q->prepared_gen == PGC(st)->gen)
        return 0;
    PGresult *res = PQprepare(PGC(st)->conn, q->name, q->sql, 0, NULL);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : pg_fail(st, res, "prepare");
    PQclear(res);
    if (rc == 0)
        q->prepared_gen = PGC(st)->gen;
    return rc;
}

static int pg_run(struct pg_stmt *q)
{
    struct store *st = q->c.st;
    PGconn *c = PGC(st)->conn;
    if (!is_bulk(q) && q->c.next - 1 != q->nparams) {
        st_err(st, "postgres: statement %d: %d of %d parameters bound", q->c.id, q->c.next - 1,
               q->nparams);
        return MF_EFATAL;
    }
    int rc = pg_ready(q);
    if (rc != 0)
        return rc;
    if (q->name[0])
        q->res = PQexecPrepared(c, q->name, q->nparams, q->vals, q->lens, q->fmts, 0);
    else
        q->res = PQexecParams(c, q->sql, q->nparams, NULL, q->vals, q->lens, q->fmts, 0);
    switch (PQresultStatus(q->res)) {
    case PGRES_COMMAND_OK:
        q->changes = strtoll(PQcmdTuples(q->res), NULL, 10);
        q->nrows = 0;
        return 0;
    case PGRES_TUPLES_OK:
        q->changes = strtoll(PQcmdTuples(q->res), NULL, 10);
        q->nrows = PQntuples(q->res);
        q->row = -1;
        return 0;
    default:
        rc = pg_fail(st, q->res, q->sql);
        PQclear(q->res);
        q->res = NULL;
        return rc;
    }
}

static int pg_step(struct sq *sq)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    if (!q->res) {
        int rc = pg_run(q);
        if (rc != 0)
            return rc;
    }
    if (q->nrows == 0)
        return 0;
    return ++q->row < q->nrows ? 1 : 0;
}

/* Send the queued bulk rows as one statement: each column array becomes one parameter. */
static int pg_flush(struct sq *sq, int64_t *changes)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    int rc;
    if (q->bulk_rows == 0)
        return 0;
    for (int i = 0; i < q->nparams; i++) {
        arr_put(&q->arr[i], "}", 1);
        q->arr[i].p[q->arr[i].len] = '\0';
        q->vals[i] = q->arr[i].p;
        q->lens[i] = 0;
        q->fmts[i] = 0;
    }
    rc = pg_run(q);
    if (rc == 0)
        *changes += q->changes;
    pg_reset(sq);
    return rc;
}

static int pg_row_end(struct sq *sq, int64_t *changes)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    q->bulk_rows++;
    if (q->bulk_rows >= BULK_ROWS)
        return pg_flush(sq, changes);
    return 0;
}

static int64_t pg_changes(struct sq *sq)
{
    return ((struct pg_stmt *)sq)->changes;
}

/* ---- columns ---- */

static int pg_ncols(struct sq *sq)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    return q->res ? PQnfields(q->res) : 0;
}

static const char *pg_col_name(struct sq *sq, int i)
{
    return PQfname(((struct pg_stmt *)sq)->res, i);
}

static int pg_col_type(struct sq *sq, int i)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    if (PQgetisnull(q->res, q->row, i))
        return SQ_NULL;
    switch (PQftype(q->res, i)) {
    case 16: /* bool */
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
    case 26: /* oid */
        return SQ_INT;
    case 700: /* float4 */
    case 701: /* float8 */
        return SQ_REAL;
    case 1700: /* numeric (SUM of bigint): an integer unless it has a point */
        return strpbrk(PQgetvalue(q->res, q->row, i), ".eE") ? SQ_REAL : SQ_INT;
    case 17: /* bytea */
        return SQ_BLOB;
    default:
        return SQ_TEXT;
    }
}

static const char *pg_col_text(struct sq *sq, int i)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    if (!q->res || q->row < 0 || q->row >= q->nrows)
        return "";
    return PQgetvalue(q->res, q->row, i);
}

static int64_t pg_col_i64(struct sq *sq, int i)
{
    const char *s = pg_col_text(sq, i);
    if (s[0] == 't' && s[1] == '\0')
        return 1;
    return strtoll(s, NULL, 10);
}

static double pg_col_f64(struct sq *sq, int i)
{
    return strtod(pg_col_text(sq, i), NULL);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* bytea in text results is "\x0a1b..." (bytea_output = hex, the default since 9.0). */
static const uint8_t *pg_col_blob(struct sq *sq, int i, size_t *n)
{
    struct pg_stmt *q = (struct pg_stmt *)sq;
    const char *s = pg_col_text(sq, i);
    size_t len = strlen(s);
    *n = 0;
    if (len < 2 || s[0] != '\\' || s[1] != 'x')
        return (const uint8_t *)"";
    free(q->blob);
    q->blob = mf_malloc(len / 2 + 1);
    for (size_t k = 2; k + 1 < len; k += 2) {
        int hi = hexval(s[k]), lo = hexval(s[k + 1]);
        if (hi < 0 || lo < 0)
            break;
        q->blob[(*n)++] = (uint8_t)(hi << 4 | lo);
    }
    return q->blob;
}

const struct sdrv_ops store_pg_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .ensure = pg_ensure,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_i64 = pg_bind_i64,
    .bind_f64 = pg_bind_f64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .reset = pg_reset,
    .changes = pg_changes,
    .ncols = pg_ncols,
    .col_name = pg_col_name,
    .col_type = pg_col_type,
    .col_i64 = pg_col_i64,
    .col_f64 = pg_col_f64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .row_end = pg_row_end,
    .flush = pg_flush,
};
