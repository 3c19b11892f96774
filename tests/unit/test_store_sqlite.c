/* tsan: yes */
/* test_store_sqlite.c -- the SQLite driver's I/O settings: [store] sqlite_cache_mib and
 * sqlite_mmap_mib reach the connection, and checkpoints run where sqlite_checkpoint says
 * (a thread of the handle's own in "background" mode, the committing thread in "inline"),
 * without losing a committed row either way. Waits are on conditions with a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

