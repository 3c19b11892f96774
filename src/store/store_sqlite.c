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
 * Page cache and I/O ([store] sqlite_cache_mib, sqlite_mmap_mib): the store's tables are
 * keyed by terminal, so a batch of reports from many terminals touches leaf pages all over
 * each b-tree; a cache that holds the working set and reads through mmap (no read() copy
 * per page) are what keep the worker's writes from becoming page I/O.
 *
 * Checkpoints ([store] sqlite_checkpoint, sqlite_checkpoint_pages): SQLite's automatic
 * checkpoint runs inside the committing thread -- for the worker, the single writer of the
 * embedded pipeline, that put copying WAL pages into the database file and its fdatasync on
 * the path every confirm waits for. In "background" mode a wal_hook on the handle wakes a
 * thread with its own connection that runs PASSIVE checkpoints (they never block the writer
 * or readers) once the WAL holds sqlite_checkpoint_pages pages; the thread is started on the
 * first such commit, so handles that never fill the WAL (readers, tests) never start one. If
 * the thread cannot be started, or the WAL reaches 8x the threshold (checkpoints starved),
 * the committing thread checkpoints itself, as "inline" mode always does. Durability does not
 * change: a commit is durable (per sqlite_sync) when it is in the WAL; checkpoints only move
 * committed pages into the main file.
 *
 * WAL writes ([store] sqlite_wal_coalesce, on by default): a read-write handle opens its file
 * through the "mf-walbuf" VFS shim (store_sqlite_vfs.c), which hands a transaction's WAL
 * frames to the kernel in few large writes instead of two per page, all before COMMIT
 * returns; the checkpoint thread's connection and read-only handles use the default VFS.
 *
 * Parameters: the catalogue writes $1..$n; SQLite indexes named parameters by first
 * appearance, so prepare checks that parameter i is named "$i" (a misordered statement would
 * otherwise bind values to the wrong columns).
 *
 * Thread: the handle's lock holder (SQLITE_OPEN_NOMUTEX: the store serialises); the
 * checkpoint thread touches only its own connection and struct sl_ckpt (under ck->mu). */
#include <pthread.h>
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

/* The background checkpointer of one read-write handle (see the header). */
struct sl_ckpt {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started;     /* th is running (set and read by the writer thread only) */
    int failed;      /* could not start: checkpoint inline from now on (writer thread) */
    int pending;     /* under mu: the writer asks for a checkpoint */
    int stop;        /* under mu: close asks the thread to end */
    sqlite3 *db;     /* the thread's own connection, opened by the thread's starter */
    int64_t n_bg;    /* under mu: checkpoints run by the thread */
    int64_t n_inline; /* under mu: checkpoints run by the committing thread */
};

/* st->drv: the connection and its checkpoint state. */
struct sl_conn {
    sqlite3 *db;
    char *path;          /* owned: for the checkpoint thread's connection */
    int ckpt_pages;      /* WAL size (pages) that triggers a checkpoint */
    int ckpt_bg;         /* 1: background mode */
    struct sl_ckpt ck;
};

#define CONN(st) ((struct sl_conn *)(st)->drv)
#define DB(st) (CONN(st)->db)

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

/* ---- checkpoints ---- */

static void *ckpt_main(void *arg)
{
    struct sl_ckpt *ck = arg;
    int nlog = 0, nckpt = 0;
    pthread_setname_np(pthread_self(), "sqlite-ckpt");

    pthread_mutex_lock(&ck->mu);
    for (;;) {
        while (!ck->pending && !ck->stop)
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (ck->stop)
            break;
        ck->pending = 0;
        pthread_mutex_unlock(&ck->mu);
        /* PASSIVE copies what no reader still needs and returns; a second pass picks up
         * what the writer appended meanwhile, so the WAL can restart from its beginning
         * (it does once every frame is backfilled). Two passes at most: a reader holding
         * an old snapshot must not make this thread spin. */
        int done = 0;
        for (int pass = 0; pass < 2; pass++) {
            if (sqlite3_wal_checkpoint_v2(ck->db, "main", SQLITE_CHECKPOINT_PASSIVE, &nlog,
                                          &nckpt) != SQLITE_OK || nlog < 0)
                break; /* busy (another checkpointer) or not WAL: the next commit asks again */
            done = 1;
            if (nckpt >= nlog)
                break;
        }
        pthread_mutex_lock(&ck->mu);
        ck->n_bg += done;
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

/* Start the thread with its own connection (writer thread, first full WAL). 0 or -1. */
static int ckpt_start(struct sl_conn *c)
{
    struct sl_ckpt *ck = &c->ck;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

    /* A new connection learns that the file is in WAL mode on its first read; until then a
     * checkpoint on it answers "not in WAL mode" and does nothing. */
    if (sqlite3_open_v2(c->path, &ck->db, flags, NULL) != SQLITE_OK ||
        sqlite3_exec(ck->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(ck->db);
        ck->db = NULL;
        return -1;
    }
    if (pthread_create(&ck->th, NULL, ckpt_main, ck) != 0) {
        sqlite3_close(ck->db);
        ck->db = NULL;
        return -1;
    }
    ck->started = 1;
    return 0;
}

static void ckpt_stop(struct sl_conn *c)
{
    struct sl_ckpt *ck = &c->ck;
    if (ck->started) {
        pthread_mutex_lock(&ck->mu);
        ck->stop = 1;
        pthread_cond_signal(&ck->cv);
        pthread_mutex_unlock(&ck->mu);
        pthread_join(ck->th, NULL);
        ck->started = 0;
    }
    sqlite3_close(ck->db); /* before the handle's own: the last one out removes the WAL */
    ck->db = NULL;
}

/* sqlite3_wal_hook: after every commit on the handle, npages = frames in the WAL. Runs in
 * the committing thread, with the handle's lock held. */
static int sl_wal_hook(void *arg, sqlite3 *db, const char *name, int npages)
{
    struct sl_conn *c = arg;
    struct sl_ckpt *ck = &c->ck;

    if (npages < c->ckpt_pages)
        return SQLITE_OK;
    if (c->ckpt_bg && !ck->failed && !ck->started && ckpt_start(c) != 0)
        ck->failed = 1;
    if (ck->started && npages < 8 * c->ckpt_pages) {
        pthread_mutex_lock(&ck->mu);
        ck->pending = 1;
        pthread_cond_signal(&ck->cv);
        pthread_mutex_unlock(&ck->mu);
        return SQLITE_OK;
    }
    /* inline: what SQLite's own autocheckpoint does (a failure leaves the WAL to the next) */
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_lock(&ck->mu);
    ck->n_inline++;
    pthread_mutex_unlock(&ck->mu);
    return SQLITE_OK;
}

/* mf_unhex(text): the bytes of upper- or lower-case hex with optional spaces (schema step 5
 * turns the old frames.hex into frames.raw with it; SQLite 3.40 has no unhex()). Anything
 * else is an error, so a migration never stores a wrong frame. */
static void sl_unhex(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    const unsigned char *s = sqlite3_value_text(argv[0]);
    int n = sqlite3_value_bytes(argv[0]), o = 0, half = -1;
    unsigned char *out;

    (void)argc;
    if (!s) {
        sqlite3_result_null(cx);
        return;
    }
    if ((out = sqlite3_malloc(n / 2 + 1)) == NULL) {
        sqlite3_result_error_nomem(cx);
        return;
    }
    for (int i = 0; i < n; i++) {
        int c = s[i], v = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                 : -1;
        if (c == ' ' && half < 0)
            continue;
        if (v < 0) {
            sqlite3_free(out);
            sqlite3_result_error(cx, "mf_unhex: not hex", -1);
            return;
        }
        if (half < 0) {
            half = v;
        } else {
            out[o++] = (unsigned char)(half << 4 | v);
            half = -1;
        }
    }
    if (half >= 0) {
        sqlite3_free(out);
        sqlite3_result_error(cx, "mf_unhex: odd number of digits", -1);
        return;
    }
    sqlite3_result_blob(cx, out, o, sqlite3_free);
}

/* ---- open / close ---- */

static void conn_free(struct sl_conn *c)
{
    if (!c)
        return;
    ckpt_stop(c);
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->ck.cv);
    pthread_mutex_destroy(&c->ck.mu);
    free(c->path);
    free(c);
}

/* The PRAGMAs of a new connection. 0 or status (st->err says which). */
static int sl_pragmas(struct store *st, const struct store_opts *o)
{
    char sync[64], cache[64], mmap[64];
    int rc;

    snprintf(sync, sizeof(sync), "PRAGMA synchronous=%s", o->sqlite_sync_full ? "FULL" : "NORMAL");
    /* negative cache_size = KiB */
    snprintf(cache, sizeof(cache), "PRAGMA cache_size=%lld", -1024LL * o->sqlite_cache_mib);
    snprintf(mmap, sizeof(mmap), "PRAGMA mmap_size=%lld", 1048576LL * o->sqlite_mmap_mib);
    /* journal_mode=WAL answers a row; sqlite3_exec ignores it. A read-only handle finds the
     * file in WAL mode already (set by the writer that created it). */
    if ((!o->readonly && (rc = sl_exec(st, "PRAGMA journal_mode=WAL")) != 0) ||
        (rc = sl_exec(st, sync)) != 0 || (rc = sl_exec(st, "PRAGMA temp_store=MEMORY")) != 0 ||
        (rc = sl_exec(st, cache)) != 0 || (rc = sl_exec(st, mmap)) != 0)
        return rc;
    return 0;
}

static int sl_open(struct store *st, const struct store_opts *o, char *errbuf, size_t errlen)
{
    struct sl_conn *c = mf_calloc(1, sizeof(*c));
    const char *path = o->sqlite_path ? o->sqlite_path : "";
    int flags = o->readonly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
                            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc;

    pthread_mutex_init(&c->ck.mu, NULL);
    pthread_cond_init(&c->ck.cv, NULL);
    c->path = mf_strdup(path);
    c->ckpt_pages = o->sqlite_ckpt_pages > 0 ? o->sqlite_ckpt_pages : 1000;
    /* a temporary or in-memory database cannot be opened a second time by the thread */
    c->ckpt_bg = o->sqlite_ckpt_bg && path[0] && strcmp(path, ":memory:") != 0;
    rc = sqlite3_open_v2(path, &c->db, flags,
                         o->readonly || !o->sqlite_wal_coalesce ? NULL : st_sqlite_walbuf_vfs());
    if (rc != SQLITE_OK) {
        snprintf(errbuf, errlen, "sqlite: cannot open '%s': %s", path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_free(c);
        return MF_EFATAL;
    }
    st->drv = c;
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_create_function(c->db, "mf_unhex", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            sl_unhex, NULL, NULL);
    sqlite3_busy_timeout(c->db, o->busy_timeout_ms);
    if ((rc = sl_pragmas(st, o)) != 0) {
        snprintf(errbuf, errlen, "%s (file '%s')", st->err, path);
        conn_free(c);
        st->drv = NULL;
        return rc;
    }
    if (!o->readonly) /* replaces SQLite's autocheckpoint (also a wal_hook) */
        sqlite3_wal_hook(c->db, sl_wal_hook, c);
    return 0;
}

static void sl_close(struct store *st)
{
    conn_free(st->drv);
    st->drv = NULL;
}

/* Checkpoint counters for store_metrics_json (the handle's lock held). */
static json_t *sl_stats(struct store *st)
{
    struct sl_ckpt *ck = &CONN(st)->ck;
    json_t *o;

    pthread_mutex_lock(&ck->mu);
    o = json_pack("{s:s, s:I, s:I}", "checkpoint_mode", CONN(st)->ckpt_bg ? "background" : "inline",
                  "checkpoints_background", (json_int_t)ck->n_bg,
                  "checkpoints_inline", (json_int_t)ck->n_inline);
    pthread_mutex_unlock(&ck->mu);
    return o;
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
    .stats = sl_stats,
};
