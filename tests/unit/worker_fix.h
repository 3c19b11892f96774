/* worker_fix.h -- the fixture of the worker tests that run in process (test_worker.c,
 * test_worker_sess.c, test_worker_rollup.c): a config of the [queue] and [worker] tables,
 * the embedded queue, a SQLite store in a fresh temporary directory, and a worker built on
 * them with optional store hooks (the tests' fault seams). The worker is not started: each
 * test starts and stops it itself. Optionally a consumer of the downlink topic, as a front
 * would read it. Static functions (each test file includes it once); Asia/Shanghai. */
#ifndef MF_TEST_WORKER_FIX_H
#define MF_TEST_WORKER_FIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"

static const struct mf_cfg_item *const wfix_tables[] = { queue_cfg, worker_cfg, NULL };
static const char *const wfix_pass[] = { "kafka", NULL };

struct fix {
    struct mf_config *cfg;
    struct mq *q;
    struct store *st;
    struct worker *w;
    struct mq_consumer *front; /* the downlink as a front reads it; NULL unless asked */
    char dir[64], path[128];
};

/* Open the fixture. tag names the temporary directory (/tmp/<tag>-XXXXXX, holding w.db);
 * sets: NULL-terminated key, value pairs of the [worker] section (may be NULL); hooks:
 * borrowed for the call, NULL for the plain store; front: also open a downlink consumer. */
MF_UNUSED static void fix_open_with(struct fix *f, const char *tag, const char *const *sets,
                                    const struct worker_hooks *hooks, int front)
{
    char err[512] = "";
    struct store_opts o;
    memset(f, 0, sizeof(*f));
    mf_clock_set_zone("Asia/Shanghai");
    snprintf(f->dir, sizeof(f->dir), "/tmp/%s-XXXXXX", tag);
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof(f->path), "%s/w.db", f->dir);
    f->cfg = mf_config_new(wfix_tables, wfix_pass);
    for (size_t i = 0; sets && sets[i] && sets[i + 1]; i += 2)
        CHECK_EQ_INT(mf_config_set(f->cfg, "worker", sets[i], sets[i + 1], "test", err,
                                   sizeof(err)), 0);
    f->q = mq_open(f->cfg, err, sizeof(err));
    CHECK(f->q != NULL);
    store_opts_default(&o);
    o.sqlite_path = f->path;
    f->st = store_open_opts(&o, err, sizeof(err));
    CHECK(f->st != NULL);
    f->w = worker_new_with(f->cfg, f->q, f->st, hooks, err, sizeof(err));
    CHECK(f->w != NULL);
    if (front) {
        enum mq_topic dl = MQ_DOWNLINK;
        f->front = mq_consumer_open(f->q, &dl, 1, "front-1", err, sizeof(err));
        CHECK(f->front != NULL);
    }
}

/* Replace the fixture's worker by one built after setting worker.<key> = value (the queue
 * and the store stay; the new worker has no hooks). */
MF_UNUSED static void fix_set(struct fix *f, const char *key, const char *value)
{
    char err[256];
    worker_free(f->w);
    mf_config_set(f->cfg, "worker", key, value, "test", err, sizeof(err));
    f->w = worker_new_with(f->cfg, f->q, f->st, NULL, err, sizeof(err));
    CHECK(f->w != NULL);
}

/* Close everything in the reverse order and remove the temporary directory. */
MF_UNUSED static void fix_close(struct fix *f)
{
    char cmd[128];
    mq_consumer_close(f->front);
    worker_free(f->w);
    mq_close(f->q);
    store_close(f->st);
    mf_config_free(f->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", f->dir);
}

#endif
