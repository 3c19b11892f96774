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
 * Pipeline (libpq pipeline mode, PostgreSQL 14+): between st_begin and st_commit the store
 * asks for it (sdrv_ops.pipe), and BEGIN, the bulk chunks (and their PQsendPrepare) and
 * COMMIT are sent without waiting for their results. The results are read at one sync
 * point (pg_pipe_drain): before any statement that returns rows or is not pipelined, before
 * the row counters (which need the bulk statements' inserted counts), and after COMMIT. A
 * batch of the reading tables is then two round trips (BEGIN + chunks; counters + COMMIT)
 * instead of one per statement. Writes whose results and counts nobody reads (pipe_plain:
 * Q_SESS_TERM, one upsert per session change) are queued the same way. A failed
 * statement aborts the rest of the pipeline
 * (PGRES_PIPELINE_ABORTED) and the transaction: the drain returns the first real error,
 * classified as usual, and the caller rolls back. The connection stays in blocking mode:
 * the server's answers to what we queue are a few dozen bytes per statement, far below a
 * socket buffer, so the server never blocks writing to us while we block writing to it.
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
#define BULK_BLOB_MAX 65536u /* one bytea element of a bulk row (a frame is <= 16,391) */
#define BULK_FLUSH_BYTES (8u << 20) /* a chunk is sent early once one array is this long:
                                     * raw frames (bytea, up to 16,391 bytes) would pass
                                     * BULK_TEXT_MAX at BULK_ROWS rows */
#define PIPE_MAX 64 /* queued statements before an intermediate drain */

struct pg_stmt;

struct pg_pend { /* one queued statement of the pipeline */
    struct pg_stmt *q; /* NULL: BEGIN / COMMIT */
    int kind;          /* PEND_PLAIN, PEND_PREPARE, PEND_COUNT */
    int table;         /* PEND_COUNT: enum st_table to credit with the inserted rows */
};
enum { PEND_PLAIN, PEND_PREPARE, PEND_COUNT };

struct pg_conn {
    PGconn *conn;
    char *conninfo;
    /* cppcheck-suppress unusedStructMember ; read as PGC(st)->gen, a cast cppcheck misses */
    unsigned gen; /* bumped at every (re)connection */
    int timeout_ms;
    int readonly;
    int pipe_on;  /* the store asked for pipelining (sdrv_ops.pipe) */
    int piping;   /* libpq is in pipeline mode with npend statements queued */
    int pipe_err; /* first send failure of the queued statements */
    int npend;
    struct pg_pend pend[PIPE_MAX];
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
    const char *m = msg && msg[0] ? msg : PQerrorMessage(c);
    int mlen = (int)strnlen(m, 400);
    while (mlen > 0 && (m[mlen - 1] == '\n' || m[mlen - 1] == ' '))
        mlen--;
    /* The cause first, the statement (a bulk INSERT is ~300 bytes) cut short after it: the
     * worker's warning keeps 256 bytes, and a disk full must still read as one (pg_full.sh). */
    st_err(st, "postgres: %s%s%.*s (in: %.60s%s)", state ? state : "", state ? " " : "", mlen, m,
           what, strlen(what) > 60 ? "..." : "");
    for (char *p = st->err; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' '; /* DETAIL / HINT lines: one log line */
    return pg_class_state(state, bad);
}

/* ---- pipeline ---- */

/* Table credited with a bulk statement's inserted rows (the counters), or -1. */
static int pend_table(int id)
{
    switch (id) {
    case Q_ENERGY_BULK: return T_ENERGY;
    case Q_ENERGY_EXTRA_BULK: return T_ENERGY;
    case Q_INSTANT_BULK: return T_INSTANT;
    case Q_FROZEN_BULK: return T_FROZEN;
    case Q_CURVE_BULK: return T_CURVE;
    case Q_FRAME_INS: return T_FRAMES;
    case Q_SESS_INS: return T_SESSIONS;
    default: return -1;
    }
}

/* Writes whose result rows and count nobody reads, which may be queued in the transaction's
 * pipeline like a bulk chunk (their changes then read 0): the terminals upsert of a session
 * change (one per change; it may touch a terminal twice per batch, so it cannot be bulk). */
static int pipe_plain(int id)
{
    return id == Q_SESS_TERM;
}

/* Read one queued statement's results (one or more, then NULL). 0 or its error. */
static int pend_result(struct store *st, const struct pg_pend *p)
{
    PGconn *c = PGC(st)->conn;
    PGresult *res = PQgetResult(c);
    int rc = 0;
    if (!res)
        return pg_fail(st, NULL, "pipeline: no result");
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (p->kind == PEND_COUNT)
            st_count(st, (enum st_table)p->table, strtoll(PQcmdTuples(res), NULL, 10));
    } else {
        if (p->kind == PEND_PREPARE)
            p->q->prepared_gen = 0; /* not prepared: prepare again next time */
        /* ABORTED: an earlier statement failed and already reported */
        rc = s == PGRES_PIPELINE_ABORTED ? MF_EFATAL
                                         : pg_fail(st, res, p->q ? p->q->sql : "BEGIN/COMMIT");
    }
    PQclear(res);
    while ((res = PQgetResult(c)) != NULL) /* the NULL that ends this statement's results */
        PQclear(res);
    return rc;
}

/* Sync, read every queued result, leave pipeline mode. First error wins; everything queued
 * after it was aborted by the server. */
static int pg_pipe_drain(struct store *st)
{
    struct pg_conn *pc = PGC(st);
    int rc = pc->pipe_err, i;
    if (!pc->piping)
        return 0;
    if (rc == 0 && PQpipelineSync(pc->conn) != 1)
        rc = pg_fail(st, NULL, "pipeline sync");
    for (i = 0; i < pc->npend && PQstatus(pc->conn) == CONNECTION_OK; i++) {
        int r = pend_result(st, &pc->pend[i]);
        if (rc == 0)
            rc = r;
    }
    for (; i < pc->npend; i++) /* connection lost: their prepares did not happen */
        if (pc->pend[i].kind == PEND_PREPARE)
            pc->pend[i].q->prepared_gen = 0;
    if (PQstatus(pc->conn) == CONNECTION_OK) {
        PGresult *res = PQgetResult(pc->conn);
        if (PQresultStatus(res) != PGRES_PIPELINE_SYNC && rc == 0)
            rc = pg_fail(st, res, "pipeline sync result");
        PQclear(res);
    }
    if (PQexitPipelineMode(pc->conn) != 1 && rc == 0)
        rc = pg_fail(st, NULL, "pipeline exit");
    if (rc != 0 && PQstatus(pc->conn) != CONNECTION_OK)
        rc = MF_ERETRY;
    pc->piping = 0;
    pc->npend = 0;
    pc->pipe_err = 0;
    return rc;
}

/* Queue one sent statement; enter pipeline mode first (call before sending). */
static int pipe_enter(struct store *st)
{
    struct pg_conn *pc = PGC(st);
    int rc = 0;
    if (pc->piping && pc->npend + 2 > PIPE_MAX)
        rc = pg_pipe_drain(st);
    if (rc == 0 && !pc->piping) {
        if (PQenterPipelineMode(pc->conn) != 1)
            return pg_fail(st, NULL, "enter pipeline mode");
        pc->piping = 1;
    }
    return rc;
}

static void pipe_sent(struct store *st, int ok, struct pg_stmt *q, int kind, int table)
{
    struct pg_conn *pc = PGC(st);
    if (!ok) {
        if (pc->pipe_err == 0)
            pc->pipe_err = pg_fail(st, NULL, "pipeline send");
        return;
    }
    pc->pend[pc->npend++] = (struct pg_pend){ q, kind, table };
}

/* sdrv_ops.pipe: on = may pipeline from now; off = drain and stop. */
static int pg_pipe(struct store *st, int on)
{
    if (on) {
        PGC(st)->pipe_on = 1;
        return 0;
    }
    PGC(st)->pipe_on = 0;
    return pg_pipe_drain(st);
}

static int pg_exec(struct store *st, const char *sql)
{
    struct pg_conn *pc = PGC(st);
    if (pc->pipe_on && (!strcmp(sql, "BEGIN") || !strcmp(sql, "COMMIT"))) {
        int rc = pipe_enter(st);
        if (rc == 0)
            pipe_sent(st, PQsendQueryParams(pc->conn, sql, 0, NULL, NULL, NULL, NULL, 0), NULL,
                      PEND_PLAIN, -1);
        return rc;
    }
    int rc = pg_pipe_drain(st);
    if (rc != 0)
        return rc;
    PGresult *res = PQexec(PGC(st)->conn, sql);
    ExecStatusType s = PQresultStatus(res);
    rc = (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) ? 0 : pg_fail(st, res, sql);
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
    pc->piping = pc->npend = pc->pipe_err = pc->pipe_on = 0;
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

/* Append one bytea element in hex input form: "\\x0a1b" (the array literal's backslash
 * escaped). Nothing in hex digits needs quoting. */
static void arr_elem_hex(struct pg_stmt *q, int idx, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    struct pg_arr *a = &q->arr[idx - 1];
    char pair[2];
    arr_put(a, q->bulk_rows ? "," : "{", 1);
    arr_put(a, "\"\\\\x", 4);
    for (size_t i = 0; i < n; i++) {
        pair[0] = hex[p[i] >> 4];
        pair[1] = hex[p[i] & 15];
        arr_put(a, pair, 2);
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
        if (idx < 1 || idx > q->nparams || n > BULK_BLOB_MAX) {
            st_err(q->c.st, "postgres: statement %d: blob parameter %d (%zu bytes) refused",
                   q->c.id, idx, n);
            return MF_EFATAL;
        }
        arr_elem_hex(q, idx, p, n);
        return 0;
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

static int pg_pipe_send(struct pg_stmt *q);

static int pg_run(struct pg_stmt *q)
{
    struct store *st = q->c.st;
    PGconn *c = PGC(st)->conn;
    if (!is_bulk(q) && q->c.next - 1 != q->nparams) {
        st_err(st, "postgres: statement %d: %d of %d parameters bound", q->c.id, q->c.next - 1,
               q->nparams);
        return MF_EFATAL;
    }
    if (pipe_plain(q->c.id) && PGC(st)->pipe_on && q->name[0]) {
        /* a write nobody reads back (pipe_plain): queued, its error read at the
         * next drain, which fails the transaction like any other */
        q->changes = 0;
        q->nrows = 0;
        return pg_pipe_send(q);
    }
    int rc = pg_pipe_drain(st);
    if (rc == 0)
        rc = pg_ready(q);
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

/* Queue q in the pipeline without waiting: (prepare and) execute a bulk chunk or a plain
 * write nobody reads back (pipe_plain). A chunk's inserted count is credited to its table's
 * counter when the result is read (pend_result); a plain write's result is only checked.
 * libpq copies the parameters into its output buffer, so the arrays can be reused at once. */
static int pg_pipe_send(struct pg_stmt *q)
{
    struct store *st = q->c.st;
    PGconn *c = PGC(st)->conn;
    int rc = pipe_enter(st);
    if (rc == 0 && q->prepared_gen != PGC(st)->gen) {
        int ok = PQsendPrepare(c, q->name, q->sql, 0, NULL);
        if (ok)
            q->prepared_gen = PGC(st)->gen; /* undone by pend_result if it fails */
        pipe_sent(st, ok, q, PEND_PREPARE, -1);
    }
    if (rc == 0) {
        int t = pend_table(q->c.id);
        pipe_sent(st, PQsendQueryPrepared(c, q->name, q->nparams, q->vals, q->lens, q->fmts, 0),
                  q, t >= 0 ? PEND_COUNT : PEND_PLAIN, t);
    }
    return rc;
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
    if (PGC(q->c.st)->pipe_on && q->name[0])
        rc = pg_pipe_send(q);
    else if ((rc = pg_run(q)) == 0)
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
    for (int i = 0; i < q->nparams; i++)
        if (q->arr[i].len >= BULK_FLUSH_BYTES)
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
        int hi = mf_hex_digit((unsigned char)s[k]), lo = mf_hex_digit((unsigned char)s[k + 1]);
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
    .pipe = pg_pipe,
};
