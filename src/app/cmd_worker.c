/* cmd_worker.c -- `meterflow worker`: the worker as its own process (distributed setup:
 * Kafka queue, PostgreSQL or SQLite store; several workers share the uplink partitions in
 * the consumer group [worker] group; exactly one should run the analytics).
 * Config, queue, worker, signals, clean stop; a progress line every 60 s at info level;
 * GET /metrics on [metrics] listen:port when a port is set.
 * Thread: main (the worker runs its own threads). */
#include <stdio.h>
#include <time.h>

#include "app/app.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/queue.h"
#include "meterflow/web.h"
#include "meterflow/worker.h"

static void worker_usage(const struct mf_config *cfg)
{
    printf("usage: meterflow worker [-c FILE] [--set section.key=value]...\n\n"
           "Consume the uplink topic, decode and normalise the frames, store them in batches\n"
           "and only then commit the queue position; publish normalised JSON to the readings,\n"
           "events and sessions topics (kafka); run the analytics and re-collection when\n"
           "[worker] analytics = true.\n\n");
    mf_config_print_help(cfg, stdout);
}

static void worker_report(struct worker *w)
{
    struct worker_stats s;
    worker_stats_get(w, &s);
    mf_info("worker",
            "messages=%llu frames=%llu decode_errors=%llu records=%llu batches=%llu "
            "store_retries=%llu commits=%llu published=%llu analytics_runs=%llu recollect=%llu "
            "dropped_records=%llu",
            (unsigned long long)s.messages, (unsigned long long)s.frames,
            (unsigned long long)s.decode_errors, (unsigned long long)s.records,
            (unsigned long long)s.batches, (unsigned long long)s.store_retries,
            (unsigned long long)s.commits, (unsigned long long)s.published,
            (unsigned long long)s.analytics_runs, (unsigned long long)s.recollect_sent,
            (unsigned long long)s.dropped_records);
}

struct worker_metrics_ctx {
    struct worker *w;
    struct mq *q;
};

static void worker_metrics(void *opaque, struct mf_buf *out)
{
    struct worker_metrics_ctx *ctx = opaque;
    app_metrics_worker(ctx->w, out);
    app_metrics_queue(ctx->q, out);
}

int cmd_worker(int argc, char **argv)
{
    char err[512];
    int next, rc;
    struct mq *q = NULL;
    struct worker *w = NULL;
    struct web_msrv *ms = NULL;
    struct worker_metrics_ctx mctx;
    struct mf_config *cfg = app_cmd_config(argc, argv, worker_usage, NULL, &next, &rc);

    if (!cfg)
        return rc;
    rc = 1;
    if (app_config_apply_common(cfg) != 0)
        goto out;
    app_signals_install();
    q = mq_open(cfg, err, sizeof(err));
    if (!q) {
        fprintf(stderr, "meterflow worker: queue: %s\n", err);
        goto out;
    }
    w = worker_new(cfg, q, err, sizeof(err));
    if (!w || worker_start(w) != 0) {
        fprintf(stderr, "meterflow worker: %s\n", w ? "cannot start threads" : err);
        goto out;
    }
    mctx = (struct worker_metrics_ctx){ w, q };
    int mfail;
    ms = web_msrv_start_cfg(cfg, "worker", worker_metrics, &mctx, &mfail, err, sizeof(err));
    if (mfail) {
        fprintf(stderr, "meterflow worker: %s\n", err);
        worker_stop(w);
        goto out;
    }
    uint64_t ticks = 0;
    while (!mf_stop_requested && !worker_failed(w)) {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
        if (++ticks % 600 == 0)
            worker_report(w);
    }
    mf_info("worker", worker_failed(w) ? "stopping after a fatal error" : "stopping");
    web_msrv_stop(ms);
    worker_stop(w);
    worker_report(w);
    rc = worker_failed(w) ? 1 : 0;
out:
    worker_free(w);
    mq_close(q);
    mf_config_free(cfg);
    return rc;
}
