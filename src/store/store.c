/* store.c -- the store handle: open/close, the per-handle lock, transactions, error text,
 * the statement helpers every other store file uses, and the /metrics row counters.
 *
 * A handle owns one driver connection and a cache of prepared statements (one per catalogue
 * id, prepared on first use). Every public call takes st->mu for its whole duration, so a
 * handle can be shared between threads; callers that want parallel reads open more handles.
 *
 * Row counters: each write adds its inserted-row count to st->pend_rows[table]; st_commit
 * turns them into upserts of table_stats(tbl, writer) inside the same transaction, so the
 * counts are exactly as durable as the rows. writer is random per handle: concurrent writers
 * (several workers on PostgreSQL) never update the same row.
 *
 * Thread: any, under st->mu (see store.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "store/store_int.h"

const char *const st_table_names[T_NTABLES] = {
    [T_ENERGY] = "energy",         [T_INSTANT] = "instant",
    [T_FROZEN] = "frozen",         [T_CURVE] = "curve",
    [T_EVENTS] = "events",         [T_CLOCK] = "clock_readings",
    [T_FWD645] = "fwd645",         [T_FRAMES] = "frames",
    [T_SESSIONS] = "session_log",  [T_COMMANDS] = "commands",
    [T_DAILY_USE] = "daily_use",   [T_COLLECT] = "collect_day",
    [T_MISSING] = "collect_missing", [T_LINE_LOSS] = "line_loss",
    [T_ANOMALIES] = "anomalies",   [T_ONLINE] = "online_samples",
    [T_RECOLLECT] = "recollect",   [T_AUDIT] = "audit",
};

void store_opts_default(struct store_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->backend = STORE_SQLITE;
    o->busy_timeout_ms = 5000;
    o->sqlite_cache_mib = 128;
    o->sqlite_mmap_mib = 1024;
    o->sqlite_ckpt_pages = 4000;
    o->sqlite_ckpt_bg = 1;
    o->sqlite_wal_coalesce = 1;
    o->frames_keep = 200;
    o->curve_days = 90;
    o->instant_days = 30;
    o->frames_days = 7;
}

void st_err(struct store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof(st->err), fmt, ap);
    va_end(ap);
}

/* Called for every record written: by hand, not snprintf (4 % of a SQLite batch). */
void st_term_format(uint32_t term, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 4; i++) {
        out[i] = hex[(term >> (28 - 4 * i)) & 0xFu];
        out[5 + i] = hex[(term >> (12 - 4 * i)) & 0xFu];
    }
    out[4] = '-';
    out[9] = '\0';
}

const char *st_nz(const char *s)
{
    return s && s[0] ? s : NULL;
}

int st_term_parse(const char *s, uint32_t *term)
{
    uint32_t v = 0;
    int n = 0;

    if (!s)
        return MF_EINVAL;
    for (const char *p = s; *p; p++) {
        int d;
        if (*p == '-' && n == 4)
            continue;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else
            return MF_EINVAL;
        if (++n > 8)
            return MF_EINVAL;
        v = v << 4 | (uint32_t)d;
    }
    if (n != 8)
        return MF_EINVAL;
    *term = v;
    return 0;
}

/* ---- open / close ---- */

static struct store *store_alloc(const struct store_opts *o)
{
    struct store *st = mf_calloc(1, sizeof(*st));
    uint64_t r = mf_now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)st;

    pthread_mutex_init(&st->mu, NULL);
    st->opts = *o;
    st->opts.sqlite_path = NULL; /* borrowed: not kept past open */
    st->opts.pg_conninfo = NULL;
    st->backend = o->backend;
    st->ops = o->backend == STORE_POSTGRES ? &store_pg_ops : &store_sqlite_ops;
    r ^= r >> 29;
    r *= 0xBF58476D1CE4E5B9ull;
    snprintf(st->writer, sizeof(st->writer), "%016llx", (unsigned long long)(r ^ (r >> 31)));
    return st;
}

struct store *store_open_opts(const struct store_opts *o, char *errbuf, size_t errlen)
{
    struct store *st;

    if (o->backend != STORE_SQLITE && o->backend != STORE_POSTGRES) {
        snprintf(errbuf, errlen, "store: unknown backend %d", (int)o->backend);
        return NULL;
    }
    st = store_alloc(o);
    if (st->ops->open(st, o, errbuf, errlen) != 0) {
        pthread_mutex_destroy(&st->mu);
        free(st);
        return NULL;
    }
    if (st_migrate(st, errbuf, errlen) != 0) {
        store_close(st);
        return NULL;
    }
    return st;
}

struct store *store_open(const struct mf_config *cfg, char *errbuf, size_t errlen)
{
    struct store_opts o;
    char path[4096];
    const char *file = mf_config_str(cfg, "store", "sqlite_file");

    store_opts_default(&o);
    if (strcmp(mf_config_str(cfg, "store", "backend"), "postgres") == 0)
        o.backend = STORE_POSTGRES;
    if (file[0] == '/')
        mf_strlcpy(path, file, sizeof(path));
    else
        snprintf(path, sizeof(path), "%s/%s", mf_config_str(cfg, "meterflow", "data_dir"), file);
    o.sqlite_path = path;
    o.pg_conninfo = mf_config_str(cfg, "store", "pg_conninfo");
    o.sqlite_sync_full = strcmp(mf_config_str(cfg, "store", "sqlite_sync"), "full") == 0;
    o.busy_timeout_ms = (int)mf_config_int(cfg, "store", "busy_timeout_ms");
    o.sqlite_cache_mib = (int)mf_config_int(cfg, "store", "sqlite_cache_mib");
    o.sqlite_mmap_mib = (int)mf_config_int(cfg, "store", "sqlite_mmap_mib");
    o.sqlite_ckpt_pages = (int)mf_config_int(cfg, "store", "sqlite_checkpoint_pages");
    o.sqlite_ckpt_bg = strcmp(mf_config_str(cfg, "store", "sqlite_checkpoint"), "background") == 0;
    o.sqlite_wal_coalesce = mf_config_bool(cfg, "store", "sqlite_wal_coalesce");
    o.curve_days = (int)mf_config_int(cfg, "store", "curve_days");
    o.instant_days = (int)mf_config_int(cfg, "store", "instant_days");
    o.frames_days = (int)mf_config_int(cfg, "store", "frames_days");
    o.frames_keep = (int)mf_config_int(cfg, "store", "frames_keep");
    if (o.backend == STORE_POSTGRES && !o.pg_conninfo[0]) {
        snprintf(errbuf, errlen, "[store] pg_conninfo: empty, but backend = postgres");
        return NULL;
    }
    return store_open_opts(&o, errbuf, errlen);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        if (st->stmts[i])
            st->ops->finalize(st->stmts[i]);
    st->ops->close(st);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

const char *store_backend_name(const struct store *st)
{
    return st->backend == STORE_POSTGRES ? "postgres" : "sqlite";
}

int store_schema_version(struct store *st)
{
    return st->schema_version;
}

void store_last_error(struct store *st, char *buf, size_t len)
{
    pthread_mutex_lock(&st->mu);
    mf_strlcpy(buf, st->err, len);
    pthread_mutex_unlock(&st->mu);
}

/* ---- lock, transactions ---- */

int st_enter(struct store *st)
{
    int rc;
    pthread_mutex_lock(&st->mu);
    st->err[0] = '\0';
    rc = st->ops->ensure(st);
    if (rc != 0)
        pthread_mutex_unlock(&st->mu);
    return rc;
}

void st_leave(struct store *st)
{
    pthread_mutex_unlock(&st->mu);
}

int st_begin(struct store *st)
{
    if (st->ops->pipe)
        (void)st->ops->pipe(st, 1); /* nothing queued yet: cannot fail */
    int rc = st->ops->exec(st, st->backend == STORE_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN");
    if (rc == 0) {
        st->in_tx = 1;
        memset(st->pend_rows, 0, sizeof(st->pend_rows));
        memset(st->pend_touched, 0, sizeof(st->pend_touched));
    }
    return rc;
}

void st_count(struct store *st, enum st_table t, int64_t delta)
{
    st->pend_rows[t] += delta;
    st->pend_touched[t] = 1;
}

static int stats_flush(struct store *st)
{
    int64_t now = (int64_t)time(NULL), ch = 0;
    struct sq *q = NULL;
    int rc = 0;

    for (int t = 0; t < T_NTABLES && rc == 0; t++) {
        if (!st->pend_touched[t])
            continue;
        if (!q && (q = sq_get(st, Q_STATS_UPS)) == NULL)
            return MF_EFATAL;
        sq_text(q, st_table_names[t]);
        sq_text(q, st->writer);
        sq_i64(q, st->pend_rows[t]);
        if (st->pend_rows[t] >= 0)
            sq_i64(q, now);
        else
            sq_null(q); /* deletions are not writes */
        rc = sq_row_end(q, &ch);
    }
    if (q && rc == 0)
        rc = sq_flush(q, &ch);
    return rc;
}

int st_commit(struct store *st)
{
    /* Pipelined (PostgreSQL): read the queued results first (the counters need the inserted
     * counts), then queue counters + COMMIT and read them: two round trips in all. */
    int rc = st->ops->pipe ? st->ops->pipe(st, 0) : 0;

    if (rc == 0 && st->ops->pipe)
        rc = st->ops->pipe(st, 1);
    if (rc == 0)
        rc = stats_flush(st);
    if (rc == 0)
        rc = st->ops->exec(st, "COMMIT");
    if (rc == 0 && st->ops->pipe)
        rc = st->ops->pipe(st, 0);
    if (rc != 0) {
        st_rollback(st);
        return rc;
    }
    st->in_tx = 0;
    return 0;
}

void st_rollback(struct store *st)
{
    char keep[sizeof(st->err)];
    /* Keep the message of the failure that made us roll back. */
    mf_strlcpy(keep, st->err, sizeof(keep));
    if (st->ops->pipe)
        (void)st->ops->pipe(st, 0); /* read (and drop) what is still queued */
    (void)st->ops->exec(st, "ROLLBACK");
    mf_strlcpy(st->err, keep, sizeof(st->err));
    st->in_tx = 0;
}

/* ---- statements ---- */

struct sq *sq_get(struct store *st, int id)
{
    if (!st->stmts[id]) {
        const char *sql = store_sql[id].sql;
        if (st->backend == STORE_POSTGRES && store_sql[id].pg)
            sql = store_sql[id].pg;
        st->stmts[id] = st->ops->prepare(st, id, sql);
        if (!st->stmts[id])
            return NULL;
    }
    struct sq_common *c = (struct sq_common *)st->stmts[id];
    c->next = 1;
    c->failed = 0;
    return st->stmts[id];
}

static void sq_bound(struct sq *q, int rc)
{
    struct sq_common *c = (struct sq_common *)q;
    if (rc != 0 && !c->failed)
        c->failed = rc;
    c->next++;
}

void sq_i64(struct sq *q, int64_t v)
{
    struct sq_common *c = (struct sq_common *)q;
    sq_bound(q, c->st->ops->bind_i64(q, c->next, v));
}

void sq_f64(struct sq *q, double v)
{
    struct sq_common *c = (struct sq_common *)q;
    sq_bound(q, c->st->ops->bind_f64(q, c->next, v));
}

void sq_text(struct sq *q, const char *s)
{
    struct sq_common *c = (struct sq_common *)q;
    if (!s)
        sq_bound(q, c->st->ops->bind_null(q, c->next));
    else
        sq_bound(q, c->st->ops->bind_text(q, c->next, s));
}

void sq_blob(struct sq *q, const void *p, size_t n)
{
    struct sq_common *c = (struct sq_common *)q;
    if (!p)
        sq_bound(q, c->st->ops->bind_null(q, c->next));
    else
        sq_bound(q, c->st->ops->bind_blob(q, c->next, p, n));
}

void sq_null(struct sq *q)
{
    struct sq_common *c = (struct sq_common *)q;
    sq_bound(q, c->st->ops->bind_null(q, c->next));
}

void sq_value(struct sq *q, double v, int status)
{
    if (status == STORE_V_OK)
        sq_f64(q, v);
    else
        sq_null(q);
}

int sq_step(struct sq *q)
{
    struct sq_common *c = (struct sq_common *)q;
    if (c->failed)
        return c->failed;
    return c->st->ops->step(q);
}

void sq_reset(struct sq *q)
{
    struct sq_common *c = (struct sq_common *)q;
    c->st->ops->reset(q);
    c->next = 1;
    c->failed = 0;
}

int64_t sq_changes(struct sq *q)
{
    struct sq_common *c = (struct sq_common *)q;
    return c->st->ops->changes(q);
}

int sq_run(struct sq *q, int64_t *changes)
{
    int rc;
    while ((rc = sq_step(q)) == 1)
        ;
    if (rc == 0 && changes)
        *changes = sq_changes(q);
    sq_reset(q);
    return rc;
}

int64_t sq_col_i64(struct sq *q, int i)
{
    return ((struct sq_common *)q)->st->ops->col_i64(q, i);
}

double sq_col_f64(struct sq *q, int i)
{
    return ((struct sq_common *)q)->st->ops->col_f64(q, i);
}

const char *sq_col_text(struct sq *q, int i)
{
    return ((struct sq_common *)q)->st->ops->col_text(q, i);
}

int sq_col_null(struct sq *q, int i)
{
    return ((struct sq_common *)q)->st->ops->col_type(q, i) == SQ_NULL;
}

int sq_row_end(struct sq *q, int64_t *changes)
{
    struct sq_common *c = (struct sq_common *)q;
    int64_t n = 0;
    int rc;

    if (store_sql[c->id].bulk && c->st->ops->row_end) {
        if (c->failed) {
            rc = c->failed;
            sq_reset(q);
            return rc;
        }
        c->next = 1;
        return c->st->ops->row_end(q, changes);
    }
    rc = sq_run(q, &n);
    *changes += n;
    return rc;
}

int sq_flush(struct sq *q, int64_t *changes)
{
    struct sq_common *c = (struct sq_common *)q;
    if (store_sql[c->id].bulk && c->st->ops->flush)
        return c->st->ops->flush(q, changes);
    return 0;
}
