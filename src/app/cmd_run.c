/* cmd_run.c -- `meterflow run`: the whole master station in one process.
 *
 *   terminals -> front --(embedded queue)--> worker -> SQLite (or PostgreSQL)
 *                  ^                                      |
 *                  +------ downlink <---- web/API <-------+
 *
 * One queue handle is shared by every role (the embedded backend requires it); the front
 * confirms a report only when the worker's store transaction holding it has committed.
 * The front asks the store, at each login, whether the terminal is registered and how to
 * answer it (registry hook below). Shutdown order matters: stop taking frames (front), stop
 * serving (web), let the worker write and commit what it holds, then close the queue (which
 * tells the front "not durable" for anything left, so nothing unsaved is confirmed), then free.
 * Thread: main; the roles run their own threads. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "meterflow/common.h"
#include "meterflow/front.h"
#include "meterflow/gw3761.h"
#include "meterflow/log.h"
#include "meterflow/queue.h"
#include "meterflow/sec.h"
#include "meterflow/store.h"
#include "meterflow/web.h"
#include "meterflow/worker.h"

struct run_ctx {
    struct front *front;
    struct mq *q;
    struct store *reg_st;       /* store handle used only by the registry hook */
    pthread_mutex_t reg_lock;   /* the hook runs on several I/O threads */
    struct sec_pw *pw;          /* [security] PW provider, NULL for pw_mode = zero */
};

/* Front registry hook: master data decides whether a terminal is known and how to answer. */
static int run_registry(void *opaque, uint16_t a1, uint16_t a2, struct front_term_info *info)
{
    struct run_ctx *ctx = opaque;
    struct store_terminal_cfg tc;
    uint32_t term = gw_terminal_key(a1, a2);
    int ec1 = -1, ec2 = -1, rc;

    pthread_mutex_lock(&ctx->reg_lock);
    rc = store_terminal_cfg_get(ctx->reg_st, term, &tc);
    if (store_ec_get(ctx->reg_st, term, &ec1, &ec2) != 0)
        ec1 = -1;
    pthread_mutex_unlock(&ctx->reg_lock);
    memset(info, 0, sizeof(*info));
    info->last_ec1 = (int16_t)ec1;
    if (rc == MF_ENOTFOUND)
        return 0; /* unknown: known = 0, the front applies accept_unknown */
    if (rc != 0)
        return rc; /* store trouble: the front falls back to its own settings */
    info->known = tc.registered ? 1 : 0;
    info->confirm_f3 = tc.login_answer == 3;
    info->pw_len = (uint8_t)tc.pw_len;
    return 0;
}

static void run_stats(void *opaque, struct mf_buf *out)
{
    struct run_ctx *ctx = opaque;
    app_metrics_front(ctx->front, out);
    app_metrics_queue(ctx->q, out);
}

static void run_usage(const struct mf_config *cfg)
{
    printf("usage: meterflow run [-c FILE] [--set section.key=value]...\n\n"
           "Run the whole master station in one process: terminal front-end on [front] port\n"
           "(default 9300), embedded queue, worker, SQLite under [meterflow] data_dir, and the\n"
           "HTTP API and panel on [web] listen:port (default 127.0.0.1:8080).\n"
           "Create the first admin with: meterflow user add NAME --role admin\n\n");
    mf_config_print_help(cfg, stdout);
}

static int run_loop(struct run_ctx *ctx, struct worker *w)
{
    while (!mf_stop_requested) {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
        app_pw_poll(ctx->pw); /* SIGHUP: re-read the PW key file */
        if (worker_failed(w)) {
            mf_error("run", "worker stopped on a fatal error; shutting down");
            return 1;
        }
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    char err[512];
    int next, rc;
    struct run_ctx ctx;
    struct worker *w = NULL;
    struct web *web = NULL;
    struct mf_config *cfg = app_cmd_config(argc, argv, run_usage, NULL, &next, &rc);

    if (!cfg)
        return rc;
    rc = 1;
    memset(&ctx, 0, sizeof(ctx));
    pthread_mutex_init(&ctx.reg_lock, NULL);
    if (app_config_apply_common(cfg) != 0)
        goto out;
    app_signals_install();
    app_hup_install();
    if (!(ctx.q = mq_open(cfg, err, sizeof(err)))) {
        fprintf(stderr, "meterflow run: queue: %s\n", err);
        goto out;
    }
    if (!(ctx.reg_st = store_open(cfg, err, sizeof(err)))) {
        fprintf(stderr, "meterflow run: store: %s\n", err);
        goto out;
    }
    if (!(w = worker_new(cfg, ctx.q, err, sizeof(err))) || worker_start(w) != 0) {
        fprintf(stderr, "meterflow run: worker: %s\n", w ? "cannot start threads" : err);
        goto out;
    }
    if (!(ctx.front = front_new(cfg, ctx.q, err, sizeof(err)))) {
        fprintf(stderr, "meterflow run: front: %s\n", err);
        goto out;
    }
    front_set_registry(ctx.front, run_registry, &ctx);
    if (app_pw_setup(cfg, ctx.front, &ctx.pw, "run") != 0)
        goto out;
    if (front_start(ctx.front, err, sizeof(err)) != 0) {
        fprintf(stderr, "meterflow run: front: %s\n", err);
        goto out;
    }
    if (!(web = web_new(cfg, ctx.q, err, sizeof(err)))) {
        fprintf(stderr, "meterflow run: web: %s\n", err);
        goto out;
    }
    web_set_stats_cb(web, run_stats, &ctx);
    if (web_start(web, err, sizeof(err)) != 0) {
        fprintf(stderr, "meterflow run: web: %s\n", err);
        goto out;
    }
    mf_info("run", "terminals on port %d, panel on http://%s:%u/", front_port(ctx.front),
            mf_config_str(cfg, "web", "listen"), (unsigned)web_port(web));
    rc = run_loop(&ctx, w);
    mf_info("run", "stopping");
out:
    /* Order: no new frames, no new commands, flush the worker, then the queue. */
    if (ctx.front)
        front_stop(ctx.front);
    if (web)
        web_stop(web);
    if (w)
        worker_stop(w);
    if (ctx.q)
        mq_close(ctx.q);
    front_free(ctx.front);
    sec_pw_free(ctx.pw);
    web_free(web);
    worker_free(w);
    store_close(ctx.reg_st);
    mf_config_free(cfg);
    pthread_mutex_destroy(&ctx.reg_lock);
    return rc;
}
