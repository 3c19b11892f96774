/* test_store.c -- the store contract (store_contract.h) on SQLite, plus SQLite-specific
 * cases: WAL mode, MF_ERETRY when another writer holds the lock, every catalogue statement
 * prepares with its parameters in order, open from the config tables. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meterflow/modcfg.h"
#include "store/store_int.h"

static char ct_dir[64];

static void ct_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ct_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", ct_dir);
}

static void ct_location(char *loc, size_t len)
{
    static int n;
    if (!ct_dir[0]) {
        snprintf(ct_dir, sizeof(ct_dir), "/tmp/mf-store-XXXXXX");
        if (!mkdtemp(ct_dir))
            abort();
        atexit(ct_cleanup);
    }
    snprintf(loc, len, "%s/t%d.db", ct_dir, ++n);
}

static struct store *ct_open_mode(const char *loc, int readonly, int chunk)
{
    struct store_opts o;
    char err[512];
    store_opts_default(&o);
    o.sqlite_path = loc;
    o.readonly = readonly;
    o.retention_chunk = chunk;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    if (!st)
        fprintf(stderr, "open: %s\n", err);
    return st;
}

static struct store *ct_open(const char *loc)
{
    return ct_open_mode(loc, 0, 0);
}

static struct store *ct_open_ro(const char *loc)
{
    return ct_open_mode(loc, 1, 0);
}

static struct store *ct_open_chunked(const char *loc, int chunk)
{
    return ct_open_mode(loc, 0, chunk);
}

static int ct_sql(const char *loc, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(loc, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

#include "unit/store_contract.h"

MF_TEST(sqlite_wal_and_sync)
{
    char loc[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    CHECK_STR(store_backend_name(st), "sqlite");
    CHECK_EQ_INT(sqlite3_open(loc, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(s), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
    store_close(st);
}

MF_TEST(sqlite_locked_is_retry_then_ok)
{
    char loc[512];
    sqlite3 *db = NULL;
    struct store_batch b;
    struct store_opts o;
    char err[256];
    ct_location(loc, sizeof(loc));
    store_opts_default(&o);
    o.sqlite_path = loc;
    o.busy_timeout_ms = 50;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(sqlite3_open(loc, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ct_batch(&b);
    CHECK_EQ_INT(store_batch_write(st, &b), MF_ERETRY);
    CHECK_EQ_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(store_batch_write(st, &b), 0); /* same handle, same batch */
    CHECK_EQ_INT(ct_rows(st, "energy"), 1); /* one report */
    store_close(st);
}

MF_TEST(sqlite_every_statement_prepares)
{
    char loc[512];
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int id = 0; id < Q_COUNT; id++) {
        CHECK(store_sql[id].sql != NULL);
        struct sq *q = sq_get(st, id);
        if (!q)
            mf_test_fail(__FILE__, __LINE__, "statement %d: %s", id, st->err);
    }
    store_close(st);
}

MF_TEST(sqlite_open_from_config)
{
    static const struct mf_cfg_item mf[] = {
        { "meterflow", "data_dir", MF_CFG_STR, "./var", 0, 0, NULL, "dir" },
        MF_CFG_END,
    };
    const struct mf_cfg_item *const tables[] = { mf, store_cfg, NULL };
    char dir[512], err[512];
    struct mf_config *cfg = mf_config_new(tables, NULL);
    ct_location(dir, sizeof(dir));
    CHECK_EQ_INT(mkdir(dir, 0700), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "meterflow", "data_dir", dir, "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "store", "sqlite_sync", "full", "test", err, sizeof(err)),
                 0);
    struct store *st = store_open(cfg, err, sizeof(err));
    CHECK(st != NULL);
    store_close(st);
    char path[600];
    snprintf(path, sizeof(path), "%s/meterflow.db", dir);
    CHECK_EQ_INT(access(path, F_OK), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "store", "backend", "postgres", "test", err, sizeof(err)), 0);
    CHECK(store_open(cfg, err, sizeof(err)) == NULL); /* empty pg_conninfo */
    CHECK(strstr(err, "pg_conninfo") != NULL);
    mf_config_free(cfg);
}

MF_TEST(sqlite_terminal_text_forms)
{
    uint32_t k = 0;
    char t[12];
    CHECK_EQ_INT(st_term_parse("4403-0012", &k), 0);
    CHECK_EQ_INT(k, 0x44030012u);
    CHECK_EQ_INT(st_term_parse("4403abcd", &k), 0);
    st_term_format(k, t);
    CHECK_STR(t, "4403-ABCD");
    CHECK_EQ_INT(st_term_parse("4403-001", &k), MF_EINVAL);
    CHECK_EQ_INT(st_term_parse("4403-00123", &k), MF_EINVAL);
    CHECK_EQ_INT(st_term_parse("44G3-0012", &k), MF_EINVAL);
}
