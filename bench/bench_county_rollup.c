/* bench_county_rollup.c -- "a county's day", last step: the daily analytics (worker_analytics_run:
 * consumption, collection success overall and per area, line loss, anomaly rules,
 * re-collection plan) of one civil day over a store filled by the simulator through the real
 * pipeline (bench/e2e/county.sh). Timed on the wall clock, one run.
 *
 *   bench_county_rollup DB_FILE YYYY-MM-DD
 *
 * Output: bench=county_rollup date=.. rollup_ms=.. rc=..
 * Thread: main only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    static const struct mf_cfg_item *const tables[] = { queue_cfg, worker_cfg, NULL };
    static const char *const pass[] = { "kafka", NULL };
    char err[256];
    int y, m, d;
    if (argc != 3 || sscanf(argv[2], "%4d-%2d-%2d", &y, &m, &d) != 3) {
        fprintf(stderr, "usage: bench_county_rollup DB_FILE YYYY-MM-DD\n");
        return 2;
    }
    if (mf_clock_set_zone("Asia/Shanghai") != 0)
        return 1;
    struct mf_config *cfg = mf_config_new(tables, pass);
    mf_config_set(cfg, "worker", "analytics", "false", "bench", err, sizeof(err));
    struct store_opts o;
    store_opts_default(&o);
    o.sqlite_path = argv[1];
    struct store *st = store_open_opts(&o, err, sizeof(err));
    struct mq *q = st ? mq_open(cfg, err, sizeof(err)) : NULL;
    struct worker *w = q ? worker_new_with(cfg, q, st, NULL, err, sizeof(err)) : NULL;
    if (!w) {
        fprintf(stderr, "bench_county_rollup: %s\n", err);
        return 1;
    }
    int32_t day = mf_date_to_days(y, m, d);
    double t0 = now_ms();
    /* as the scheduler would, one hour after the end of the day (UTC+8) */
    int rc = worker_analytics_run(w, day, (int64_t)(day + 1) * 86400 - 8 * 3600 + 3600);
    double t1 = now_ms();
    printf("bench=county_rollup date=%s rollup_ms=%.0f rc=%d\n", argv[2], t1 - t0, rc);
    worker_free(w);
    mq_close(q);
    store_close(st);
    mf_config_free(cfg);
    return rc == 0 ? 0 : 1;
}
