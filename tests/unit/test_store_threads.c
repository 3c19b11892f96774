/* tsan: yes */
/* test_store_threads.c -- the store from several threads: two writers with their own
 * handles on one SQLite file (WAL; the second waits for the first's lock via busy_timeout),
 * and readers sharing one handle (its mutex serialises them). Every batch must land exactly
 * once and every read must succeed. Runs under ASan and TSan. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/store.h"

#define T0 1795651200LL
#define BATCHES 40
#define ROWS 50

static char db_path[128];

struct writer {
    int id;
    int failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct store_opts o;
    char err[256];
    static __thread struct store_energy e[ROWS];
    store_opts_default(&o);
    o.sqlite_path = db_path;
    o.busy_timeout_ms = 10000;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    if (!st) {
        w->failures = BATCHES;
        return NULL;
    }
    for (int b = 0; b < BATCHES; b++) {
        struct store_batch batch = { 0 };
        for (int i = 0; i < ROWS; i++)
            e[i] = (struct store_energy){ 0x44030000u + (uint32_t)w->id, (uint16_t)(i + 1), 0,
                                          STORE_V_OK, "ap_fwd", T0 + b * 900, b + 0.5 * i };
        batch.energy = e;
        batch.n_energy = ROWS;
        int rc;
        /* A writer that loses the race past busy_timeout gets MF_ERETRY: retry, as the
         * worker does. */
        while ((rc = store_batch_write(st, &batch)) == MF_ERETRY)
            usleep(1000);
        if (rc != 0)
            w->failures++;
    }
    store_close(st);
    return NULL;
}

struct reader {
    struct store *st;
    int failures;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    for (int i = 0; i < 50; i++) {
        json_t *j = NULL;
        int rc = store_point_energy_json(r->st, "4403-0001", 1, T0, T0 + 86400, &j);
        if (rc != 0 && rc != MF_ERETRY)
            r->failures++;
        json_decref(j);
        struct store_terminal_filter f = { .online = -1 };
        rc = store_terminals_json(r->st, &f, &j);
        if (rc != 0 && rc != MF_ERETRY)
            r->failures++;
        json_decref(j);
    }
    return NULL;
}

MF_TEST(threads_two_writers_shared_reader)
{
    char dir[] = "/tmp/mf-store-thr-XXXXXX";
    char err[256];
    struct store_opts o;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db_path, sizeof(db_path), "%s/t.db", dir);
    store_opts_default(&o);
    o.sqlite_path = db_path;
    struct store *shared = store_open_opts(&o, err, sizeof(err));
    CHECK(shared != NULL);
    if (!shared)
        return;
    pthread_t wt[2], rt[2];
    struct writer w[2] = { { 1, 0 }, { 2, 0 } };
    struct reader r[2] = { { shared, 0 }, { shared, 0 } };
    for (int i = 0; i < 2; i++) {
        pthread_create(&wt[i], NULL, writer_main, &w[i]);
        pthread_create(&rt[i], NULL, reader_main, &r[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(wt[i], NULL);
        pthread_join(rt[i], NULL);
    }
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(w[i].failures, 0);
        CHECK_EQ_INT(r[i].failures, 0);
    }
    json_t *j = NULL;
    for (int t = 1; t <= 2; t++) {
        char term[32];
        snprintf(term, sizeof(term), "4403-%04d", t);
        CHECK_EQ_INT(store_point_energy_json(shared, term, 1, T0, T0 + 86400, &j), 0);
        CHECK_EQ_INT(json_array_size(j), BATCHES);
        json_decref(j);
    }
    CHECK_EQ_INT(store_metrics_json(shared, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(
                     json_object_get(json_object_get(j, "tables"), "energy"), "rows")),
                 2 * BATCHES * ROWS);
    json_decref(j);
    store_close(shared);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
}
