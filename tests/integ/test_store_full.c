/* test_store_full.c -- SQLite on a full disk: writes fail as MF_ERETRY (not fatal, not a
 * crash), the database stays intact, and once space is back the same handle writes again.
 *
 * Run by tests/integ/sqlite_full.sh, which mounts a 2 MiB tmpfs at DIR (root only):
 *     MF_FULL_DIR=DIR test_store_full
 * The test itself grows the tmpfs (mount -o remount,size=64m DIR) after the failure, so the
 * same process and handle see the space come back. Output: harness lines.
 * Thread: main. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "meterflow/store.h"

#define N 2000 /* curve rows per batch: about 60 KiB of table + index */

static struct store_curve cv[N];

static void fill(struct store_batch *b, int batch_no)
{
    memset(b, 0, sizeof(*b));
    for (int i = 0; i < N; i++)
        cv[i] = (struct store_curve){ 0x44030001u, (uint16_t)(1 + i % 64), STORE_V_OK, "p",
                                      1795651200LL + (int64_t)(batch_no * 32 + i / 64) * 900,
                                      (double)i };
    b->curve = cv;
    b->n_curve = N;
}

/* PRAGMA integrity_check through a separate connection: "ok" or the first complaint. */
static int integrity_ok(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int ok = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(s, 0);
        ok = r && !strcmp(r, "ok");
        if (!ok)
            fprintf(stderr, "integrity_check: %s\n", r ? r : "(null)");
    } else {
        fprintf(stderr, "integrity_check: %s\n", db ? sqlite3_errmsg(db) : "open failed");
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return ok;
}

static long long count_curve(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM curve", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

MF_TEST(sqlite_disk_full_is_retry_no_corruption_then_writes)
{
    char path[512], err[512], cmd[700];
    struct store_opts o;
    struct store_batch b;
    int rc = 0, written = 0;
    const char *dir = getenv("MF_FULL_DIR");
    CHECK(dir != NULL); /* a missing tmpfs is a failure, never a pass */
    if (!dir)
        return;
    snprintf(path, sizeof(path), "%s/full.db", dir);
    store_opts_default(&o);
    o.sqlite_path = path;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    CHECK(st != NULL);
    if (!st) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    /* 2 MiB at ~60 KiB a batch: full well before 200 batches. */
    for (int i = 0; i < 200; i++) {
        fill(&b, i);
        rc = store_batch_write(st, &b);
        if (rc != 0)
            break;
        written++;
    }
    store_last_error(st, err, sizeof(err));
    fprintf(stderr, "# full after %d batches: %s: %s\n", written, mf_status_str(rc), err);
    CHECK(written > 0);
    CHECK_EQ_INT(rc, MF_ERETRY);
    CHECK(strstr(err, "full") != NULL);
    CHECK(integrity_ok(path));
    /* The failed batch left nothing: exactly the committed batches are there. */
    CHECK_EQ_INT(count_curve(path), (long long)written * N);
    /* Still full: the retry is refused the same way, nothing breaks. */
    CHECK_EQ_INT(store_batch_write(st, &b), MF_ERETRY);
    CHECK(integrity_ok(path));
    /* Space comes back: the same handle writes the same batch, then more. */
    snprintf(cmd, sizeof(cmd), "mount -o remount,size=64m '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    fill(&b, written + 1);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(count_curve(path), (long long)(written + 2) * N);
    store_close(st);
    CHECK(integrity_ok(path));
}
