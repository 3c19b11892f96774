/* store_sqlite.c -- the SQLite driver behind struct sdrv_ops (the embedded default).
 *
 * One sqlite3 connection per handle, opened in WAL mode: readers never block the writer and
 * several handles (worker writer, web readers, other processes) can share the file.
 * Durability: with WAL and synchronous=NORMAL a committed transaction survives a crash of the
 * process (the guarantee meterflow makes: confirm after commit); on power loss or an OS crash
 * the last transactions may roll back. [store] sqlite_sync = full makes every commit fsync the
 * WAL, which survives power loss at the price of one fsync per batch.
 *
 * Error classes: BUSY / LOCKED (another writer past busy_timeout), FULL (disk full: space may
 * come back), IOERR, NOMEM, CANTOPEN, PROTOCOL -> MF_ERETRY; everything else (constraint,
 * syntax, schema, mismatch) -> MF_EFATAL.
 *
 * Parameters: the catalogue writes $1..$n; SQLite indexes named parameters by first
 * appearance, so prepare checks that parameter i is named "$i" (a misordered statement would
 * otherwise bind values to the wrong columns).
 *
 * Thread: the handle's lock holder (SQLITE_OPEN_NOMUTEX: the store serialises). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

struct sl_stmt {
    struct sq_common c;
    sqlite3_stmt *s;
    int64_t changes;
};

#define DB(st) ((sqlite3 *)(st)->drv)

static int sl_class(int rc)
{
    switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
        return MF_ERETRY;
    default:
        return MF_EFATAL;
    }
}

static int sl_fail(struct store *st, int rc, const char *what)
{
    st_err(st, "sqlite: %s: %s (%d)", what, sqlite3_errmsg(DB(st)), rc);
    return sl_class(rc);
}

static int sl_exec(struct store *st, const char *sql)
{
    int rc = sqlite3_exec(DB(st), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sl_fail(st, rc, sql);
}

static int sl_open(struct store *st, const struct store_opts *o, char *errbuf, size_t errlen)
{
    sqlite3 *db = NULL;
    char pragma[128];
    int flags = o->readonly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
                            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(o->sqlite_path ? o->sqlite_path : "", &db, flags, NULL);

    if (rc != SQLITE_OK) {
        snprintf(errbuf, errlen, "sqlite: cannot open '%s': %s", o->sqlite_path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return MF_EFATAL;
    }
    st->drv = db;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, o->busy_timeout_ms);
    snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s",
             o->sqlite_sync_full ? "FULL" : "NORMAL");
    /* journal_mode=WAL answers a row; sqlite3_exec ignores it. A read-only handle finds the
     * file in WAL mode already (set by the writer that created it). */
    if ((!o->readonly && (rc = sl_exec(st, "PRAGMA journal_mode=WAL")) != 0) || (rc = sl_exec(st, pragma)) != 0 ||
        (rc = sl_exec(st, "PRAGMA temp_store=MEMORY")) != 0 ||
        (rc = sl_exec(st, "PRAGMA cache_size=-32768")) != 0) {
        snprintf(errbuf, errlen, "%s (file '%s')", st->err, o->sqlite_path);
        sqlite3_close(db);
        st->drv = NULL;
        return rc;
    }
    return 0;
}

static void sl_close(struct store *st)
{
    if (st->drv)
        sqlite3_close(DB(st));
    st->drv = NULL;
}

static int sl_ensure(struct store *st)
{
    (void)st;
    return 0;
}

static struct sq *sl_prepare(struct store *st, int id, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(DB(st), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);

    if (rc != SQLITE_OK) {
        sl_fail(st, rc, "prepare");
        return NULL;
    }
    for (int i = 1; i <= sqlite3_bind_parameter_count(s); i++) {
        char want[16];
        const char *name = sqlite3_bind_parameter_name(s, i);
        snprintf(want, sizeof(want), "$%d", i);
        if (!name || strcmp(name, want) != 0) {
            st_err(st, "sqlite: statement %d: parameter %d is %s, not %s", id, i,
                   name ? name : "unnamed", want);
            sqlite3_finalize(s);
            return NULL;
        }
    }
    struct sl_stmt *q = mf_calloc(1, sizeof(*q));
    q->c.st = st;
    q->c.id = id;
    q->c.next = 1;
    q->s = s;
    return (struct sq *)q;
}

static void sl_finalize(struct sq *q)
{
    struct sl_stmt *s = (struct sl_stmt *)q;
    sqlite3_finalize(s->s);
    free(s);
}

#define SL(q) (((struct sl_stmt *)(q))->s)

static int sl_bind_rc(struct sq *q, int rc)
{
    if (rc == SQLITE_OK)
        return 0;
    return sl_fail(((struct sq_common *)q)->st, rc, "bind");
}

static int sl_bind_i64(struct sq *q, int idx, int64_t v)
{
    return sl_bind_rc(q, sqlite3_bind_int64(SL(q), idx, v));
}

static int sl_bind_f64(struct sq *q, int idx, double v)
{
    return sl_bind_rc(q, sqlite3_bind_double(SL(q), idx, v));
}

static int sl_bind_text(struct sq *q, int idx, const char *s)
{
    return sl_bind_rc(q, sqlite3_bind_text(SL(q), idx, s, -1, SQLITE_STATIC));
}

static int sl_bind_blob(struct sq *q, int idx, const void *p, size_t n)
{
    return sl_bind_rc(q, sqlite3_bind_blob64(SL(q), idx, p, n, SQLITE_STATIC));
}

static int sl_bind_null(struct sq *q, int idx)
{
    return sl_bind_rc(q, sqlite3_bind_null(SL(q), idx));
}

static int sl_step(struct sq *q)
{
    struct sl_stmt *s = (struct sl_stmt *)q;
    /* reset does not clear bindings (1 % of a batch): a statement must bind them all. */
    if (s->c.next - 1 != sqlite3_bind_parameter_count(s->s)) {
        st_err(s->c.st, "sqlite: statement %d: %d of %d parameters bound", s->c.id,
               s->c.next - 1, sqlite3_bind_parameter_count(s->s));
        return MF_EFATAL;
    }
    int rc = sqlite3_step(s->s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        s->changes = sqlite3_changes64(DB(s->c.st));
        return 0;
    }
    return sl_fail(s->c.st, rc, sqlite3_sql(s->s));
}

static void sl_reset(struct sq *q)
{
    sqlite3_reset(SL(q));
}

static int64_t sl_changes(struct sq *q)
{
    return ((struct sl_stmt *)q)->changes;
}

static int sl_ncols(struct sq *q)
{
    return sqlite3_column_count(SL(q));
}

static const char *sl_col_name(struct sq *q, int i)
{
    return sqlite3_column_name(SL(q), i);
}

static int sl_col_type(struct sq *q, int i)
{
    switch (sqlite3_column_type(SL(q), i)) {
    case SQLITE_INTEGER:
        return SQ_INT;
    case SQLITE_FLOAT:
        return SQ_REAL;
    case SQLITE_TEXT:
        return SQ_TEXT;
    case SQLITE_BLOB:
        return SQ_BLOB;
    default:
        return SQ_NULL;
    }
}

static int64_t sl_col_i64(struct sq *q, int i)
{
    return sqlite3_column_int64(SL(q), i);
}

static double sl_col_f64(struct sq *q, int i)
{
    return sqlite3_column_double(SL(q), i);
}

static const char *sl_col_text(struct sq *q, int i)
{
    const unsigned char *t = sqlite3_column_text(SL(q), i);
    return t ? (const char *)t : "";
}

static const uint8_t *sl_col_blob(struct sq *q, int i, size_t *n)
{
    const void *p = sqlite3_column_blob(SL(q), i);
    *n = (size_t)sqlite3_column_bytes(SL(q), i);
    return p;
}

const struct sdrv_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sl_open,
    .close = sl_close,
    .ensure = sl_ensure,
    .exec = sl_exec,
    .prepare = sl_prepare,
    .finalize = sl_finalize,
    .bind_i64 = sl_bind_i64,
    .bind_f64 = sl_bind_f64,
    .bind_text = sl_bind_text,
    .bind_blob = sl_bind_blob,
    .bind_null = sl_bind_null,
    .step = sl_step,
    .reset = sl_reset,
    .changes = sl_changes,
    .ncols = sl_ncols,
    .col_name = sl_col_name,
    .col_type = sl_col_type,
    .col_i64 = sl_col_i64,
    .col_f64 = sl_col_f64,
    .col_text = sl_col_text,
    .col_blob = sl_col_blob,
    .row_end = NULL,
    .flush = NULL,
};
