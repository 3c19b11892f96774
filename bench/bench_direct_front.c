/* bench_direct_front.c -- the "direct" pipeline of the thesis comparison (docs/PERFORMANCE.md):
 * the legacy design, in which the front-end writes each report to the database
 * synchronously before confirming it.
 *
 *   bench_direct_front [--set section.key=value]...   (e.g. --set front.port=0
 *                                                      --set meterflow.data_dir=/tmp/x)
 *
 * Built honestly from the same code as the queue pipeline: the same front (front.h), whose
 * uplink produce is replaced by mq_open_sync's synchronous call; the call decodes the
 * envelope, parses and decodes the frame (gw_frame_parse, gw_decode_units), normalises it
 * (proc_norm_units, the worker's normaliser), keeps the raw frame like the worker does, and
 * writes it all in ONE store transaction (store_batch_write) on the front's I/O thread; the
 * confirm follows only when that returned 0. Each I/O thread has its own store handle (a
 * legacy front had a connection pool); SQLite serialises the writers, as it does for the
 * legacy system's one database. Sessions are stored the same way; command answers and
 * events' anomalies are not (the benchmark load has none).
 *
 * Prints "ready port=<p>" once listening; on SIGINT/SIGTERM one line
 * "bench=direct_server frames=.. transactions=.. errors=..".
 * Thread: main; the sync function runs on the front's I/O threads (one context each). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/envelope.h"
#include "meterflow/front.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"
#include "meterflow/log.h"
#include "meterflow/modcfg.h"
#include "meterflow/proc.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"

static const struct mf_cfg_item d_meterflow[] = {
    { "meterflow", "data_dir", MF_CFG_STR, "./var", 0, 0, NULL, "data directory" },
    { "meterflow", "zone", MF_CFG_STR, "Asia/Shanghai", 0, 0, NULL, "terminal zone" },
    { "meterflow", "node_id", MF_CFG_INT, "1", 1, 65535, NULL, "node" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const d_tables[] = { d_meterflow, front_cfg, queue_cfg,
                                                      store_cfg, NULL };
static const char *const d_pass[] = { "kafka", NULL };

#define D_MAX_CTX 64
#define D_ARENA 65536

/* One I/O thread's state: its store handle and the records of the report being written. */
struct dctx {
    struct store *st;
    struct gw_decoded *dec;
    struct store_energy *energy;
    struct store_frozen *frozen;
    struct store_curve *curve;
    struct store_instant *instant;
    size_t n_energy, n_frozen, n_curve, n_instant, cap;
    char arena[D_ARENA]; /* copies of the record strings (item names) */
    size_t arena_len;
};

static const struct mf_config *g_cfg;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* guards g_ctx, counters */
static struct dctx *g_ctx[D_MAX_CTX];
static size_t g_nctx;
static unsigned long long g_frames, g_tx, g_err;
static __thread struct dctx *tl_ctx;

static struct dctx *ctx_get(void)
{
    char err[256];
    if (tl_ctx)
        return tl_ctx;
    struct dctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cap = GW_DEC_MAX_VALUES;
    c->dec = mf_malloc(sizeof(*c->dec));
    c->energy = mf_malloc(c->cap * sizeof(*c->energy));
    c->frozen = mf_malloc(c->cap * sizeof(*c->frozen));
    c->curve = mf_malloc(c->cap * sizeof(*c->curve));
    c->instant = mf_malloc(c->cap * sizeof(*c->instant));
    c->st = store_open(g_cfg, err, sizeof(err));
    if (!c->st)
        fprintf(stderr, "direct: store_open: %s\n", err);
    pthread_mutex_lock(&g_lock);
    if (g_nctx < D_MAX_CTX)
        g_ctx[g_nctx++] = c;
    pthread_mutex_unlock(&g_lock);
    return tl_ctx = c;
}

static const char *arena_dup(struct dctx *c, const char *s)
{
    size_t n = strlen(s) + 1;
    if (c->arena_len + n > sizeof(c->arena))
        return NULL;
    char *p = memcpy(c->arena + c->arena_len, s, n);
    c->arena_len += n;
    return p;
}

/* proc_emit_fn: copy the record (its strings are borrowed for the call). */
static int d_emit(void *opaque, const struct proc_rec *r)
{
    struct dctx *c = opaque;
    const char *item;
    switch (r->type) {
    case PROC_REC_ENERGY:
        if (c->n_energy >= c->cap || !(item = arena_dup(c, r->u.energy.item)))
            return MF_ERANGE;
        c->energy[c->n_energy] = r->u.energy;
        c->energy[c->n_energy++].item = item;
        return 0;
    case PROC_REC_FROZEN:
        if (c->n_frozen >= c->cap || !(item = arena_dup(c, r->u.frozen.item)))
            return MF_ERANGE;
        c->frozen[c->n_frozen] = r->u.frozen;
        c->frozen[c->n_frozen++].item = item;
        return 0;
    case PROC_REC_CURVE:
        if (c->n_curve >= c->cap || !(item = arena_dup(c, r->u.curve.item)))
            return MF_ERANGE;
        c->curve[c->n_curve] = r->u.curve;
        c->curve[c->n_curve++].item = item;
        return 0;
    case PROC_REC_INSTANT:
        if (c->n_instant >= c->cap || !(item = arena_dup(c, r->u.instant.quantity)))
            return MF_ERANGE;
        c->instant[c->n_instant] = r->u.instant;
        c->instant[c->n_instant++].quantity = item;
        return 0;
    default:
        return 0; /* events, counters, clocks...: none in the benchmark load */
    }
}

static int d_frame(struct dctx *c, const struct mf_env *e, struct store_batch *b,
                   struct store_frame *raw)
{
    struct gw_frame fr;
    struct proc_norm_ctx nc = { gw_terminal_key(e->a1, e->a2),
                                (int64_t)(e->received_at_us / 1000000u), NULL, NULL, 0 };
    memset(raw, 0, sizeof(*raw));
    raw->term = nc.term;
    raw->at_us = (int64_t)e->received_at_us;
    raw->dir = 1;
    raw->raw = e->payload;
    raw->raw_len = e->payload_len;
    b->frames = raw;
    b->n_frames = 1;
    if (gw_frame_parse(e->payload, e->payload_len, GW_PW_LEN, &fr) != 0)
        return 0; /* kept raw, like the worker */
    (void)gw_decode_units(&fr, c->dec);
    if (proc_norm_units(&nc, c->dec, d_emit, c) != 0)
        return MF_EFATAL;
    b->energy = c->energy, b->n_energy = c->n_energy;
    b->frozen = c->frozen, b->n_frozen = c->n_frozen;
    b->curve = c->curve, b->n_curve = c->n_curve;
    b->instant = c->instant, b->n_instant = c->n_instant;
    return 0;
}

/* mq_sync_fn: decode, normalise, one transaction, then the front may confirm. */
static int d_write(void *opaque, const void *key, size_t key_len, const void *val,
                   size_t val_len)
{
    struct dctx *c = ctx_get();
    struct mf_env e;
    struct store_batch b;
    struct store_frame raw;
    struct store_session ss;
    struct mf_env_session s;
    int rc = 0;
    (void)opaque, (void)key, (void)key_len;
    if (!c || !c->st || mf_env_decode(val, val_len, &e) != 0)
        return MF_EFATAL;
    memset(&b, 0, sizeof(b));
    c->n_energy = c->n_frozen = c->n_curve = c->n_instant = c->arena_len = 0;
    if (e.kind == MF_ENV_FRAME) {
        rc = d_frame(c, &e, &b, &raw);
    } else if (e.kind == MF_ENV_SESSION &&
               mf_env_session_decode(e.payload, e.payload_len, &s) == 0) {
        memset(&ss, 0, sizeof(ss));
        ss.term = gw_terminal_key(e.a1, e.a2);
        ss.online = s.state != MF_SESSION_OFFLINE;
        ss.reason = ss.online ? "online" : "offline";
        ss.at = (int64_t)(e.received_at_us / 1000000u);
        b.sessions = &ss, b.n_sessions = 1;
    } else {
        return 0;
    }
    if (rc == 0)
        rc = store_batch_write(c->st, &b);
    pthread_mutex_lock(&g_lock);
    g_frames += e.kind == MF_ENV_FRAME;
    g_tx += rc == 0;
    g_err += rc != 0;
    pthread_mutex_unlock(&g_lock);
    return rc == 0 ? 0 : MF_ERETRY;
}

static void on_sig(int sig)
{
    (void)sig;
    mf_stop_requested = 1;
}

static int setup(struct mf_config *cfg, int argc, char **argv)
{
    char err[256];
    const char *dir;
    mf_log_set_level(MF_LOG_ERROR);
    mf_config_set(cfg, "front", "login_per_min", "0", "bench", err, sizeof(err));
    mf_config_set(cfg, "front", "frames_per_sec", "0", "bench", err, sizeof(err));
    mf_config_set(cfg, "front", "single", "true", "bench", err, sizeof(err));
    for (int i = 1; i < argc; i += 2)
        if (i + 1 >= argc || strcmp(argv[i], "--set") != 0 ||
            mf_config_set_arg(cfg, argv[i + 1], err, sizeof(err))) {
            fprintf(stderr, "usage: bench_direct_front [--set section.key=value]...\n");
            return 2;
        }
    dir = mf_config_str(cfg, "meterflow", "data_dir");
    if (mf_clock_set_zone(mf_config_str(cfg, "meterflow", "zone")) != 0 ||
        (mkdir(dir, 0750) != 0 && errno != EEXIST)) {
        fprintf(stderr, "direct: bad zone or data_dir\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char err[256];
    struct mf_config *cfg = mf_config_new(d_tables, d_pass);
    int rc = setup(cfg, argc, argv);
    if (rc != 0)
        return rc;
    g_cfg = cfg;
    struct store *schema = store_open(cfg, err, sizeof(err)); /* creates/migrates once */
    if (!schema) {
        fprintf(stderr, "direct: store: %s\n", err);
        return 1;
    }
    struct mq *q = mq_open_sync(cfg, MQ_UPLINK, d_write, NULL, err, sizeof(err));
    struct front *f = q ? front_new(cfg, q, err, sizeof(err)) : NULL;
    if (!f || front_start(f, err, sizeof(err)) != 0) {
        fprintf(stderr, "direct: %s\n", err);
        return 1;
    }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    printf("ready port=%d\n", front_port(f));
    fflush(stdout);
    while (!mf_stop_requested) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    front_stop(f);
    mq_close(q);
    front_free(f);
    printf("bench=direct_server frames=%llu transactions=%llu errors=%llu\n", g_frames, g_tx,
           g_err);
    for (size_t i = 0; i < g_nctx; i++) {
        store_close(g_ctx[i]->st);
        free(g_ctx[i]->dec), free(g_ctx[i]->energy), free(g_ctx[i]->frozen);
        free(g_ctx[i]->curve), free(g_ctx[i]->instant), free(g_ctx[i]);
    }
    store_close(schema);
    mf_config_free(cfg);
    return 0;
}
