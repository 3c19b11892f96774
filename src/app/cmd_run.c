/* cmd_run.c -- `meterflow run`: the whole master station in one process.
 *
 *   terminals -> front --(embedded queue)--> worker -> SQLite (or PostgreSQL)
 *                  ^                                      |
 *                  +------ downlink <---- web/API <-------+
 *
 * One queue handle is shared by every role (the embedded backend requires it); the front
 * confirms a report only when the worker's store transaction holding it has committed.
 * At each login the front asks whether the terminal is registered, how to answer it and
 * where its event reading stopped: by default the registry cache answers from memory
 * (src/front/front_regcache.c; loaded here before the front starts, told of this process's
 * master-data writes by the web and of committed event counters by the worker's store
 * write, reloaded every [front] registry_reload_ms for changes made elsewhere); with
 * registry_cache = false one store query per login answers. Shutdown order matters: stop taking frames (front), stop
 * serving (web), let the worker write and commit what it holds, then close the queue (which
 * tells the front "not durable" for anything left, so nothing unsaved is confirmed), then free.
 * Thread: main; the roles run their own threads. */
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
    struct store *reg_st;       /* store handle of the login lookups (and cache loads) */
    struct front_regcache *rg;  /* [front] registry_cache; NULL: a query per login */
    struct sec_pw *pw;          /* [security] PW provider, NULL for pw_mode = zero */
    struct worker *w;           /* for /metrics (worker_stats_get is thread-safe) */
};

static void run_reg_row(const struct store_terminal_login *tl, struct front_reg_row *r)
{
    memset(r, 0, sizeof(*r));
    r->key = tl->term;
    r->found = 1;
    r->registered = tl->cfg.registered ? 1 : 0;
    r->confirm_f3 = tl->cfg.login_answer == 3;
    r->pw_len = (uint8_t)(tl->cfg.pw_len > 0 && tl->cfg.pw_len <= 16 ? tl->cfg.pw_len : 0);
    r->ec1 = (int16_t)(tl->ec1 >= 0 && tl->ec1 <= 255 ? tl->ec1 : -1);
}

/* The cache's source: one terminal (one query, one round trip) ... */
static int run_load_one(void *opaque, uint32_t key, struct front_reg_row *out)
{
    struct run_ctx *ctx = opaque;
    struct store_terminal_login tl;
    int rc = store_terminal_login_get(ctx->reg_st, key, &tl);
    if (rc == MF_ENOTFOUND) {
        memset(out, 0, sizeof(*out));
        out->key = key;
        out->ec1 = -1;
        return 0;
    }
    if (rc != 0)
        return rc; /* store trouble: the front falls back to its own settings */
    tl.term = key;
    run_reg_row(&tl, out);
    return 0;
}

/* ... and every terminal (one query, rows streamed). */
struct run_load_all {
    front_reg_emit_fn emit;
    void *ctx;
};

static int run_login_row(void *opaque, const struct store_terminal_login *tl)
{
    const struct run_load_all *la = opaque;
    struct front_reg_row r;
    run_reg_row(tl, &r);
    return la->emit(la->ctx, &r);
}

static int run_load_all(void *opaque, front_reg_emit_fn emit, void *ectx)
{
    struct run_ctx *ctx = opaque;
    struct run_load_all la = { emit, ectx };
    return store_terminal_logins_iter(ctx->reg_st, run_login_row, &la);
}

/* Without the cache: the front's registry hook asks the store at each login. */
static int run_registry(void *opaque, uint16_t a1, uint16_t a2, struct front_term_info *info)
{
    struct front_reg_row r;
    int rc = run_load_one(opaque, gw_terminal_key(a1, a2), &r);
    if (rc != 0)
        return rc;
    memset(info, 0, sizeof(*info));
    info->known = r.found && r.registered;
    info->confirm_f3 = r.confirm_f3;
    info->pw_len = r.pw_len;
    info->last_ec1 = r.ec1;
    return 0;
}

/* The worker's store write, then the event counters it committed to the cache: the cache
 * never holds an EC1 the store has not committed (a login resumes event reading from it). */
static int run_batch_write(void *opaque, struct store *st, const struct store_batch *b)
{
    struct run_ctx *ctx = opaque;
    int rc = store_batch_write(st, b);
    if (rc == 0)
        for (size_t i = 0; i < b->n_ec; i++)
            front_regcache_ec_advance(ctx->rg, b->ec[i].term, b->ec[i].ec1);
    return rc;
}

/* The web changed terminals' master data (committed): the next login reads it again. */
static void run_master_changed(void *opaque, uint32_t term, int all)
{
    struct run_ctx *ctx = opaque;
    if (all)
        front_regcache_invalidate_all(ctx->rg);
    else
        front_regcache_invalidate(ctx->rg, term);
}

static void run_stats(void *opaque, struct mf_buf *out)
{
    struct run_ctx *ctx = opaque;
    app_metrics_front(ctx->front, out);
    app_metrics_worker(ctx->w, out);
    app_metrics_queue(ctx->q, out);
    if (ctx->rg)
        app_metrics_regcache(ctx->rg, out);
}

/* [front] registry_cache: the cache, loaded (before the front takes logins) and its reload
 * thread started, the worker's writes wrapped to tell it committed event counters. */
static int run_cache_start(struct run_ctx *ctx, const struct mf_config *cfg, struct worker *w,
                           char *err, size_t errlen)
{
    if (!mf_config_bool(cfg, "front", "registry_cache"))
        return 0;
    struct front_reg_src src = { run_load_one, run_load_all, ctx };
    ctx->rg = front_regcache_new(&src, (size_t)mf_config_int(cfg, "front", "registry_cache_max"),
                                 (int)mf_config_int(cfg, "front", "registry_reload_ms"));
    struct worker_hooks hooks = { run_batch_write, NULL, ctx };
    worker_set_hooks(w, &hooks);
    return front_regcache_start(ctx->rg, err, errlen);
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
    if (!(w = worker_new(cfg, ctx.q, err, sizeof(err)))) {
        fprintf(stderr, "meterflow run: worker: %s\n", err);
        goto out;
    }
    if (run_cache_start(&ctx, cfg, w, err, sizeof(err)) != 0) {
        fprintf(stderr, "meterflow run: %s\n", err);
        goto out;
    }
    if (worker_start(w) != 0) {
        fprintf(stderr, "meterflow run: worker: cannot start threads\n");
        goto out;
    }
    ctx.w = w;
    if (!(ctx.front = front_new(cfg, ctx.q, err, sizeof(err)))) {
        fprintf(stderr, "meterflow run: front: %s\n", err);
        goto out;
    }
    if (ctx.rg)
        front_set_registry(ctx.front, front_regcache_lookup, ctx.rg);
    else
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
    if (ctx.rg)
        web_set_master_cb(web, run_master_changed, &ctx);
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
    front_regcache_free(ctx.rg); /* after everything that calls it */
    store_close(ctx.reg_st);
    mf_config_free(cfg);
    return rc;
}
