/* store_int.h -- private header of the store: the driver vtable, the handle, the SQL
 * catalogue and the small statement helpers every store_*.c file is written with.
 *
 * Shape: one SQL catalogue (store_sql.c) with $1..$n placeholders that both SQLite and
 * PostgreSQL accept, two thin drivers (store_sqlite.c, store_pg.c) behind struct sdrv_ops,
 * and the store logic (schema, writes, reads, JSON) written once on top of them.
 * Where the dialects differ the catalogue holds a per-driver variant (struct sql_def.pg).
 *
 * Statement protocol (one statement object per catalogue id, cached per handle):
 *     struct sq *q = sq_get(st, Q_X);     prepared on first use
 *     sq_i64(q, v); sq_text(q, s); ...    binds $1, $2, ... in order
 *     while ((rc = sq_step(q)) == 1) { sq_col_*(q, i) ... }
 *     sq_reset(q);                        always, also after an error
 * Text/blob bound values are borrowed until sq_reset.
 *
 * Thread: the caller holds st->mu (every public store_* function takes it). */
#ifndef MF_STORE_INT_H
#define MF_STORE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "meterflow/store.h"

/* Column value types reported by drivers. */
enum sq_type { SQ_NULL = 0, SQ_INT = 1, SQ_REAL = 2, SQ_TEXT = 3, SQ_BLOB = 4 };

struct sq; /* driver statement; starts with struct sq_common */

struct sq_common {
    struct store *st;
    int id;      /* catalogue id */
    int next;    /* next parameter index to bind, 1-based */
    int failed;  /* a bind failed: step returns the error */
};

struct sdrv_ops {
    const char *name;
    int (*open)(struct store *st, const struct store_opts *o, char *errbuf, size_t errlen);
    void (*close)(struct store *st);
    /* Called at the start of every public call outside a transaction: PostgreSQL reconnects
     * here after a lost connection. 0 or MF_ERETRY. */
    int (*ensure)(struct store *st);
    int (*exec)(struct store *st, const char *sql); /* no parameters, no rows */
    struct sq *(*prepare)(struct store *st, int id, const char *sql); /* NULL: see st->err */
    void (*finalize)(struct sq *q);
    int (*bind_i64)(struct sq *q, int idx, int64_t v);
    int (*bind_f64)(struct sq *q, int idx, double v);
    int (*bind_text)(struct sq *q, int idx, const char *s); /* borrowed until reset */
    int (*bind_blob)(struct sq *q, int idx, const void *p, size_t n);
    int (*bind_null)(struct sq *q, int idx);
    int (*step)(struct sq *q); /* 1 row, 0 done, negative status */
    void (*reset)(struct sq *q);
    int64_t (*changes)(struct sq *q); /* rows changed by the last completed step */
    int (*ncols)(struct sq *q);
    const char *(*col_name)(struct sq *q, int i);
    int (*col_type)(struct sq *q, int i); /* enum sq_type */
    int64_t (*col_i64)(struct sq *q, int i);
    double (*col_f64)(struct sq *q, int i);
    const char *(*col_text)(struct sq *q, int i); /* "" for NULL; valid until next step */
    const uint8_t *(*col_blob)(struct sq *q, int i, size_t *n);
    /* Bulk statements (struct sql_def.bulk) on drivers that batch rows (PostgreSQL): the
     * binds of one row are collected, row_end appends them to the column arrays (and may
     * execute a full chunk), flush executes the rest. NULL: row by row (SQLite). *changes
     * accumulates the rows inserted. */
    int (*row_end)(struct sq *q, int64_t *changes);
    int (*flush)(struct sq *q, int64_t *changes);
    /* Pipelining (PostgreSQL; NULL on SQLite): on = BEGIN, COMMIT and bulk chunks may be
     * sent without waiting (their inserted counts reach st_count when read); off = read
     * every queued result and stop. Any other statement reads the queued results first.
     * 0 or the first queued statement's error. */
    int (*pipe)(struct store *st, int on);
    /* Driver counters for store_metrics_json ("driver" object; gives a new reference), or
     * NULL when the driver has none. */
    json_t *(*stats)(struct store *st);
};

extern const struct sdrv_ops store_sqlite_ops;
extern const struct sdrv_ops store_pg_ops;

/* ---- tables whose row counts /metrics reports (store_metrics_json) ---- */
enum st_table {
    T_ENERGY, T_INSTANT, T_FROZEN, T_CURVE, T_EVENTS, T_CLOCK, T_FWD645, T_FRAMES,
    T_SESSIONS, T_COMMANDS, T_DAILY_USE, T_COLLECT, T_MISSING, T_LINE_LOSS, T_ANOMALIES,
    T_ONLINE, T_RECOLLECT, T_AUDIT, T_NTABLES
};
extern const char *const st_table_names[T_NTABLES];

/* ---- the catalogue ---- */
#include "store/store_sql.h"

struct sql_def {
    const char *sql; /* both dialects */
    const char *pg;  /* PostgreSQL variant, NULL = same */
    int bulk;        /* 1: PostgreSQL binds arrays of rows (sq_row_end / sq_flush) */
};
extern const struct sql_def store_sql[Q_COUNT];

struct store {
    pthread_mutex_t mu;
    const struct sdrv_ops *ops;
    enum store_backend backend;
    struct store_opts opts;
    void *drv;                 /* driver connection state */
    struct sq *stmts[Q_COUNT]; /* prepared lazily */
    int in_tx;
    int schema_version;
    char writer[24];           /* this handle's id in table_stats */
    int64_t pend_rows[T_NTABLES]; /* row deltas of the open transaction */
    int pend_touched[T_NTABLES];
    char err[512];
};

/* ---- store.c ---- */
void st_err(struct store *st, const char *fmt, ...) MF_PRINTF(2, 3);
/* Lock + driver ensure; on failure unlocks and returns the status. */
int st_enter(struct store *st);
void st_leave(struct store *st);
int st_begin(struct store *st);  /* write transaction */
/* store_sqlite_vfs.c: the name of the WAL-coalescing VFS shim (registered on the first
 * call), or NULL when it could not be registered (callers then use the default VFS). */
const char *st_sqlite_walbuf_vfs(void);
int st_commit(struct store *st); /* flushes pend_rows into table_stats first */
void st_rollback(struct store *st);
/* Format a terminal key as "RRRR-TTTT" into out[10]. */
void st_term_format(uint32_t term, char *out);
/* Parse "RRRR-TTTT"; 0 or MF_EINVAL. */
int st_term_parse(const char *s, uint32_t *term);
/* An optional filter text as bound: NULL for NULL or "" (the catalogue's "any"). */
const char *st_nz(const char *s);
void st_count(struct store *st, enum st_table t, int64_t delta);

struct sq *sq_get(struct store *st, int id); /* NULL: error set in st->err */
void sq_i64(struct sq *q, int64_t v);
void sq_f64(struct sq *q, double v);
void sq_text(struct sq *q, const char *s); /* NULL binds NULL */
void sq_blob(struct sq *q, const void *p, size_t n);
void sq_null(struct sq *q);
/* A value with a status: binds NULL unless status == STORE_V_OK. */
void sq_value(struct sq *q, double v, int status);
int sq_step(struct sq *q);
void sq_reset(struct sq *q);
int64_t sq_changes(struct sq *q);
int64_t sq_col_i64(struct sq *q, int i);
double sq_col_f64(struct sq *q, int i);
const char *sq_col_text(struct sq *q, int i);
int sq_col_null(struct sq *q, int i);
/* Run a statement that returns no rows (or ignores them): step to the end, reset.
 * *changes (may be NULL). 0 or status. */
int sq_run(struct sq *q, int64_t *changes);
/* Bulk rows: after binding one row's values, sq_row_end writes it (SQLite) or queues it
 * (PostgreSQL); sq_flush writes what is queued. Both add inserted rows to *changes. */
int sq_row_end(struct sq *q, int64_t *changes);
int sq_flush(struct sq *q, int64_t *changes);
/* Bind a terminal key as its "RRRR-TTTT" text, formatted into buf (12 bytes), which must stay
 * valid until the row is written: bound text is borrowed, not copied. */
void sq_term(struct sq *q, uint32_t term, char *buf);

/* ---- store_write.c: the row writers' one loop ----
 * A writer of a record type binds one record's values in its statement's order; t is the
 * loop's terminal-text buffer (for sq_term), valid until that row is written. */
typedef void (*st_bind_fn)(struct sq *q, const void *rec, char *t);
enum st_rows_count {
    ST_INSERT, /* the table's count grows by the rows inserted */
    ST_UPSERT, /* rows replaced as often as added: the write is noted, the count left */
};
/* Write rec[0..n) (records of `size` bytes) through catalogue statement id, one row each,
 * stopping at the first failure; bulk statements are flushed at the end. Table tab's count
 * as `count` says. Inside the caller's transaction, under st->mu. 0 or a status. */
int st_write_rows(struct store *st, int id, enum st_table tab, enum st_rows_count count,
                  const void *rec, size_t size, size_t n, st_bind_fn bind);

/* ---- store_access.c: the read accessors' one shape ----
 * enter, sq_get, bind, the first row or every row, reset, leave. bind(q, args, t) binds the
 * statement's parameters in order (NULL: it has none); t is a terminal-text buffer for
 * sq_term owned by the helper, valid until the statement is reset. Each takes st->mu. */
/* The first row's values into out: 0, or MF_ENOTFOUND when the row says nothing is known
 * (its columns are NULL). */
typedef int (*st_take_fn)(struct sq *q, void *out);
/* Statement id's first row given to take(q, out); MF_ENOTFOUND when there is none. */
int st_read_row(struct store *st, int id, st_bind_fn bind, const void *args, st_take_fn take,
                void *out);
/* Statement id's rows as a JSON array in *out (gives; NULL on failure once entered). */
int st_read_rows(struct store *st, int id, st_bind_fn bind, const void *args, json_t **out);
/* A taker of the row as a JSON object (sq_row_json): out is a json_t ** (gives). */
int st_take_json(struct sq *q, void *out);
/* A binder of one terminal key: args points to a uint32_t. */
void st_bind_term(struct sq *q, const void *args, char *t);
/* A binder of two int64 values: args points to int64_t[2] (a date and a limit, a range). */
void st_bind_i64_2(struct sq *q, const void *args, char *t);
/* A count and one page of a list, under st->mu held by the caller: qcount is bound with
 * bind(args) and gives the total, qlist with the same values and then LIMIT and OFFSET.
 * *out = {"items","total","page","page_size"} (+ "total_capped" when capped: qcount stops
 * at STORE_COUNT_CAP + 1, store_sql.c CAPPED_COUNT). */
int st_read_page(struct store *st, int qcount, int qlist, int capped, st_bind_fn bind,
                 const void *args, const struct store_page *pg, json_t **out);

/* ---- store_json.c: rows -> JSON by column-name conventions ----
^ * "at", "*_at", "ts", "last_seen": UTC s -> ISO string (0 / NULL -> null); "date": days ->
 * "YYYY-MM-DD"; "status": 0/1/2 -> "ok"/"absent"/"invalid"; "*_json": text parsed and put
 * under the name without the suffix; "raw": blob -> hex; "registered", "online",
 * "is_area_meter": booleans; otherwise by type. */
json_t *sq_row_json(struct sq *q);
/* Step q (bound) to its end and give every row as a new array in *out (gives; untouched on
 * failure); resets q. 0 or status. */
int sq_rows_json(struct sq *q, json_t **out);
/* Step q (bound) once and give its first row as an object in *out (gives); MF_ENOTFOUND when
 * there is none; resets q. */
int sq_row1_json(struct sq *q, json_t **out);

/* ---- store_schema.c ---- */
int st_migrate(struct store *st, char *errbuf, size_t errlen);

#endif
