/* tsan: yes */
/* test_store_sqlite.c -- the SQLite driver's I/O settings: [store] sqlite_cache_mib and
 * sqlite_mmap_mib reach the connection, and checkpoints run where sqlite_checkpoint says
 * (a thread of the handle's own in "background" mode, the committing thread in "inline"),
 * without losing a committed row either way. The WAL-coalescing VFS shim
 * (sqlite_wal_coalesce, store_sqlite_vfs.c): fewer write calls, every commit in the file
 * (seen by another connection, kept by a process that dies right after it) before
 * store_batch_write returns. Waits are on conditions with a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "store/store_int.h"

static char dir[64];

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static struct store *open_db_opts(const char *name, struct store_opts *o, char *path, size_t cap)
{
    char err[512];

    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/mf-stsql-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
    }
    snprintf(path, cap, "%s/%s", dir, name);
    o->sqlite_path = path;
    struct store *st = store_open_opts(o, err, sizeof(err));
    if (!st)
        fprintf(stderr, "open %s: %s\n", path, err);
    return st;
}

static struct store *open_db(const char *name, int bg, int ckpt_pages, char *path, size_t cap)
{
    struct store_opts o;
    char err[512];

    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/mf-stsql-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
    }
    snprintf(path, cap, "%s/%s", dir, name);
    store_opts_default(&o);
    o.sqlite_path = path;
    o.sqlite_cache_mib = 3;
    o.sqlite_mmap_mib = 5;
    o.sqlite_ckpt_bg = bg;
    o.sqlite_ckpt_pages = ckpt_pages;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    if (!st)
        fprintf(stderr, "open %s: %s\n", path, err);
    return st;
}

/* One integer answer of a PRAGMA on the handle's own connection. */
static int64_t pragma_i64(struct store *st, const char *sql)
{
    struct sq *q = st->ops->prepare(st, -1, sql);
    int64_t v = -1;
    if (!q)
        return -1;
    if (st->ops->step(q) == 1)
        v = st->ops->col_i64(q, 0);
    st->ops->reset(q);
    st->ops->finalize(q);
    return v;
}

/* Batch k: 400 terminals x 5 tariffs of one reading time (2,000 rows over the key space). */
static int write_batch(struct store *st, int k)
{
    static struct store_energy e[2000];
    struct store_batch b;
    size_t n = 0;

    for (uint32_t t = 0; t < 400; t++)
        for (uint8_t f = 0; f <= 4; f++)
            e[n++] = (struct store_energy){ 0x44030000u + t * 7u, 1, f, STORE_V_OK,
                                            STORE_ITEM_AP_FWD, 1700000000 + 900 * k,
                                            100.0 + t + f };
    memset(&b, 0, sizeof(b));
    b.energy = e;
    b.n_energy = n;
    return store_batch_write(st, &b);
}

/* checkpoints_background / _inline from store_metrics_json's "driver" object. */
static void ckpt_counts(struct store *st, int64_t *bg, int64_t *in)
{
    json_t *m = NULL;
    *bg = *in = -1;
    if (store_metrics_json(st, &m) != 0)
        return;
    json_t *d = json_object_get(m, "driver");
    *bg = json_integer_value(json_object_get(d, "checkpoints_background"));
    *in = json_integer_value(json_object_get(d, "checkpoints_inline"));
    json_decref(m);
}

static int64_t count_rows(const char *path)
{
    struct store_opts o;
    char err[256];
    store_opts_default(&o);
    o.sqlite_path = path;
    o.readonly = 1;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    int64_t n = -1;
    if (!st)
        return -1;
    n = pragma_i64(st, "SELECT COUNT(*) FROM energy");
    store_close(st);
    return n;
}

MF_TEST(sqlite_cache_and_mmap_reach_the_connection)
{
    char path[256];
    struct store *st = open_db("pragmas.db", 1, 1000, path, sizeof(path));
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(pragma_i64(st, "PRAGMA cache_size"), -3 * 1024);      /* KiB */
    CHECK_EQ_INT(pragma_i64(st, "PRAGMA mmap_size"), 5 * 1048576);
    CHECK_EQ_INT(pragma_i64(st, "PRAGMA synchronous"), 1);              /* NORMAL, unchanged */
    store_close(st);
}

MF_TEST(sqlite_background_checkpoint_runs_beside_the_writer)
{
    char path[256];
    struct stat sb;
    off_t size0;
    int64_t bg = 0, in = 0;
    struct store *st = open_db("bg.db", 1, 100, path, sizeof(path));
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(stat(path, &sb), 0);
    size0 = sb.st_size; /* the schema, checkpointed by the migration's inline hook or not */
    /* 100 pages of WAL is a few batches; keep writing (bounded) until the thread has run */
    for (int k = 0; k < 200 && bg <= 0; k++) {
        CHECK_EQ_INT(write_batch(st, k), 0);
        ckpt_counts(st, &bg, &in);
        if (k >= 20 && bg <= 0)
            usleep(20000); /* a loaded machine: give the thread time, the loop is bounded */
    }
    CHECK(bg > 0);
    /* the thread's checkpoints reached the main file (not only the WAL) */
    CHECK_EQ_INT(stat(path, &sb), 0);
    CHECK(sb.st_size > size0 + 10 * 4096);
    store_close(st);
    CHECK(count_rows(path) > 0);
    CHECK_EQ_INT(count_rows(path) % 2000, 0); /* whole batches only */
}

MF_TEST(sqlite_inline_checkpoint_mode_never_starts_the_thread)
{
    char path[256];
    int64_t bg = -1, in = -1;
    struct store *st = open_db("inline.db", 0, 100, path, sizeof(path));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int k = 0; k < 30; k++)
        CHECK_EQ_INT(write_batch(st, k), 0);
    ckpt_counts(st, &bg, &in);
    CHECK_EQ_INT(bg, 0);
    CHECK(in > 0);
    store_close(st);
    CHECK_EQ_INT(count_rows(path), 30 * 2000);
}

MF_TEST(sqlite_background_mode_keeps_every_committed_row)
{
    char path[256];
    struct store *st = open_db("rows.db", 1, 100, path, sizeof(path));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int k = 0; k < 60; k++)
        CHECK_EQ_INT(write_batch(st, k), 0);
    for (int k = 0; k < 60; k += 7) /* redelivered batches: no-ops */
        CHECK_EQ_INT(write_batch(st, k), 0);
    store_close(st); /* stops the thread while it may be mid-checkpoint */
    CHECK_EQ_INT(count_rows(path), 60 * 2000);
}

MF_TEST(sqlite_memory_database_has_no_checkpoint_thread)
{
    struct store_opts o;
    char err[256];
    int64_t bg = -1, in = -1;
    store_opts_default(&o);
    o.sqlite_path = ":memory:";
    o.sqlite_ckpt_pages = 100;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int k = 0; k < 5; k++)
        CHECK_EQ_INT(write_batch(st, k), 0);
    ckpt_counts(st, &bg, &in);
    CHECK_EQ_INT(bg, 0);
    store_close(st);
}


/* ---- the WAL-coalescing VFS shim ---- */

/* Write system calls of this process so far (/proc/self/io "syscw"), -1 if unreadable. */
static int64_t syscw(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "syscw: %lld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* Write calls made by 20 batches (2,000 rows over 400 terminals each) with or without the
 * shim; no checkpoint runs meanwhile (threshold above the WAL's size). */
static int64_t writes_for_batches(const char *name, int coalesce)
{
    char path[256];
    struct store_opts o;
    store_opts_default(&o);
    o.sqlite_ckpt_pages = 1000000;
    o.sqlite_wal_coalesce = coalesce;
    struct store *st = open_db_opts(name, &o, path, sizeof(path));
    int64_t before, after;
    if (!st)
        return -1;
    before = syscw();
    for (int k = 0; k < 20; k++)
        if (write_batch(st, k) != 0)
            before = -1;
    after = syscw();
    store_close(st);
    return before < 0 || after < 0 ? -1 : after - before;
}

MF_TEST(sqlite_wal_coalesce_makes_few_large_writes)
{
    int64_t plain = writes_for_batches("plain.db", 0);
    int64_t coalesced = writes_for_batches("coalesced.db", 1);
    CHECK(plain > 0);
    CHECK(coalesced > 0);
    /* without the shim: 2 writes per WAL frame (header, page), several frames per batch */
    CHECK(plain >= 20 * 2 * 5);
    /* with it: at least one per commit, a page in 120 KiB buffers otherwise */
    CHECK(coalesced >= 20);
    CHECK(coalesced * 4 < plain);
}

/* Another connection sees every batch as soon as store_batch_write returned: the frames are
 * in the file, not in the writer's buffer (SQLite publishes them in the WAL index). */
MF_TEST(sqlite_wal_coalesce_commit_visible_to_another_connection)
{
    char path[256];
    struct store_opts o;
    store_opts_default(&o);
    o.sqlite_ckpt_pages = 1000000; /* the rows stay in the WAL */
    struct store *st = open_db_opts("visible.db", &o, path, sizeof(path));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int k = 0; k < 10; k++) {
        CHECK_EQ_INT(write_batch(st, k), 0);
        CHECK_EQ_INT(count_rows(path), (int64_t)(k + 1) * 2000); /* values */
    }
    store_close(st);
}

/* A process that dies right after store_batch_write returned (no close, no atexit) keeps
 * every batch, the last small one included: it fits in the shim's buffer, so only the
 * flush at the commit frame puts it in the file. sync normal and full. */
static void die_after_batches(const char *path, int full)
{
    struct store_opts o;
    char err[256];
    store_opts_default(&o);
    o.sqlite_path = path;
    o.sqlite_ckpt_pages = 1000000;
    o.sqlite_sync_full = full;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    if (!st)
        _exit(2);
    for (int k = 0; k < 5; k++)
        if (write_batch(st, k) != 0)
            _exit(3);
    struct store_energy one = { 0x44039999u, 1, 0, STORE_V_OK, STORE_ITEM_AP_FWD,
                                1800000000, 1.5 };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.energy = &one;
    b.n_energy = 1;
    _exit(store_batch_write(st, &b) == 0 ? 0 : 4);
}

MF_TEST(sqlite_wal_coalesce_commit_survives_process_death)
{
    for (int full = 0; full <= 1; full++) {
        char path[256];
        struct store_opts o;
        store_opts_default(&o);
        struct store *st = open_db_opts(full ? "die-full.db" : "die.db", &o, path, sizeof(path));
        CHECK(st != NULL);
        if (!st)
            return;
        store_close(st); /* schema in place; the child writes */
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            die_after_batches(path, full);
        int status = -1;
        CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        st = open_db_opts(full ? "die-full.db" : "die.db", &o, path, sizeof(path));
        CHECK(st != NULL);
        if (!st)
            return;
        CHECK_EQ_INT(pragma_i64(st, "SELECT COUNT(*) FROM energy_report"), 5 * 400 + 1);
        CHECK_EQ_INT(pragma_i64(st, "SELECT COUNT(*) FROM energy_report"
                                    " WHERE read_at = 1800000000"), 1);
        store_close(st);
    }
}
