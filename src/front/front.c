/* front.c -- the front's lifecycle, its settings, the cross-thread terminal registry, the
 * login rate tables (per source address; trusted networks apart), the downlink thread (commands from MQ_DOWNLINK routed to the I/O thread
 * holding the terminal) and the stats snapshot.
 *
 * The registry maps a terminal key to (I/O thread, connection id) under one mutex. It is
 * touched on login, logout/close and per downlink command -- never per report -- so one lock
 * is enough (about 200 logins/s at 200k terminals reconnecting over 15 minutes).
 *
 * Thread: front_new/start/stop/free on the main thread; the registry and login table from
 * any I/O thread; the downlink thread owns its queue subscription. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "front/front_int.h"
#include "meterflow/clock.h"

static const char *const drop_names[FRONT_DROP_NREASONS] = {
    "before_login", "garbage",     "bad_frame", "rate",        "max_conn",
    "login_rate",   "denied",      "buffer",    "slow",        "garbage_close",
    "downlink",     "not_durable", "publish",   "bad_command", "accept_error",
    "retransmit",
};

const char *front_drop_name(int reason)
{
    return reason >= 0 && reason < FRONT_DROP_NREASONS ? drop_names[reason] : "unknown";
}

uint64_t front_now_mono(void)
{
    return mf_mono_us();
}

void front_opts_load(struct front_opts *o, const struct mf_config *cfg)
{
    memset(o, 0, sizeof(*o));
    mf_strlcpy(o->listen, mf_config_str(cfg, "front", "listen"), sizeof(o->listen));
    o->port = (int)mf_config_int(cfg, "front", "port");
    o->threads = (int)mf_config_int(cfg, "front", "threads");
    o->node_id = (int)mf_config_int(cfg, "meterflow", "node_id");
    o->single = mf_config_bool(cfg, "front", "single");
    o->max_connections = (int)mf_config_int(cfg, "front", "max_connections");
    o->max_frame_bytes = (size_t)mf_config_int(cfg, "front", "max_frame_bytes");
    o->max_buffered_bytes = (size_t)mf_config_int(cfg, "front", "max_buffered_bytes");
    o->max_garbage_bytes = (size_t)mf_config_int(cfg, "front", "max_garbage_bytes");
    o->partial_timeout_us = (uint64_t)mf_config_int(cfg, "front", "partial_timeout_ms") * 1000u;
    o->login_timeout_us = (uint64_t)mf_config_int(cfg, "front", "login_timeout_s") * 1000000u;
    o->liveness_us = ((uint64_t)mf_config_int(cfg, "front", "heartbeat_period_s") *
                          (uint64_t)mf_config_int(cfg, "front", "liveness_misses") +
                      (uint64_t)mf_config_int(cfg, "front", "liveness_slack_s")) *
                     1000000u;
    o->max_inflight = (int)mf_config_int(cfg, "front", "max_inflight");
    o->frames_per_sec = (int)mf_config_int(cfg, "front", "frames_per_sec");
    o->login_per_min = (int)mf_config_int(cfg, "front", "login_per_min");
    o->login_trusted_per_min = (int)mf_config_int(cfg, "front", "login_trusted_per_min");
    o->accept_unknown = mf_config_bool(cfg, "front", "accept_unknown");
    o->event_read = mf_config_bool(cfg, "front", "event_read");
    o->event_read_max = (int)mf_config_int(cfg, "front", "event_read_max");
    o->msa = (int)mf_config_int(cfg, "front", "msa");
    o->pw_len = (int)mf_config_int(cfg, "front", "pw_len");
    o->max_queued_cmds = (int)mf_config_int(cfg, "front", "max_queued_cmds");
    o->retry_tick_us = (uint64_t)mf_config_int(cfg, "front", "tick_ms") * 1000u;
    o->clock_publish_delta_s = (int)mf_config_int(cfg, "front", "clock_publish_delta_s");
    o->completions_on_io = mf_config_bool(cfg, "front", "completions_on_io");
    o->admit_per_sec = (int)mf_config_int(cfg, "front", "admit_per_sec");
    o->admit_burst = (int)mf_config_int(cfg, "front", "admit_burst");
}

/* ---- terminal lists (allow-list file, f3 / pw2 dialect lists) ---- */

static int key_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int key_in(const uint32_t *keys, size_t n, uint32_t k)
{
    return n && bsearch(&k, keys, n, sizeof(k), key_cmp) != NULL;
}

/* Parse "RRRR-TTTT" items separated by commas, spaces or new lines ('#' starts a comment
 * in files). "*" in a list gives *all = 1. */
static int keys_parse(const char *text, uint32_t **out, size_t *n, int *all, const char *what,
                      char *err, size_t errlen)
{
    size_t cap = 0;
    const char *p = text;

    *out = NULL;
    *n = 0;
    while (*p) {
        char item[32];
        size_t len = 0;
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        while (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' &&
               *p != '#' && len < sizeof(item) - 1)
            item[len++] = *p++;
        item[len] = 0;
        if (len == 0)
            continue;
        uint16_t a1, a2;
        if (all && strcmp(item, "*") == 0) {
            *all = 1;
            continue;
        }
        if (gw_terminal_parse(item, &a1, &a2) != 0) {
            snprintf(err, errlen, "%s: '%s' is not a terminal RRRR-TTTT", what, item);
            free(*out);
            *out = NULL;
            return MF_EINVAL;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = mf_realloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = gw_terminal_key(a1, a2);
    }
    if (*n)
        qsort(*out, *n, sizeof(**out), key_cmp);
    return 0;
}

static int front_lists_load(struct front *f, char *err, size_t errlen)
{
    const char *path = mf_config_str(f->cfg, "front", "allow_file");
    int all = 0;

    if (keys_parse(mf_config_str(f->cfg, "front", "f3_terminals"), &f->f3, &f->nf3, &all,
                   "[front] f3_terminals", err, errlen) != 0)
        return MF_EINVAL;
    f->f3_all = all;
    if (keys_parse(mf_config_str(f->cfg, "front", "pw2_terminals"), &f->pw2, &f->npw2, NULL,
                   "[front] pw2_terminals", err, errlen) != 0)
        return MF_EINVAL;
    if (front_nets_parse(mf_config_str(f->cfg, "front", "login_trusted_nets"), &f->trusted,
                         &f->ntrusted, "[front] login_trusted_nets", err, errlen) != 0)
        return MF_EINVAL;
    if (path[0]) {
        char *text = NULL;
        FILE *fp = fopen(path, "rb");
        if (fp) {
            text = mf_malloc(16u << 20);
            size_t len = fread(text, 1, (16u << 20) - 1, fp);
            text[len] = 0;
            fclose(fp);
        }
        if (!text) {
            char eb[128];
            snprintf(err, errlen, "[front] allow_file: cannot read '%s': %s", path,
                     mf_strerror(errno, eb, sizeof(eb)));
            return MF_EINVAL;
        }
        int rc = keys_parse(text, &f->allow, &f->nallow, NULL, "[front] allow_file", err,
                            errlen);
        free(text);
        if (rc != 0)
            return rc;
        f->have_allow = 1;
    }
    return 0;
}

void front_term_lookup(struct front *f, uint16_t a1, uint16_t a2, struct front_term_info *ti)
{
    uint32_t k = gw_terminal_key(a1, a2);

    memset(ti, 0, sizeof(*ti));
    ti->last_ec1 = -1;
    if (f->reg_fn && f->reg_fn(f->reg_opaque, a1, a2, ti) == 0) {
        if (!ti->confirm_f3)
            ti->confirm_f3 = (uint8_t)(f->f3_all || key_in(f->f3, f->nf3, k));
        return;
    }
    memset(ti, 0, sizeof(*ti));
    ti->last_ec1 = -1;
    ti->known = (uint8_t)(!f->have_allow || key_in(f->allow, f->nallow, k));
    ti->confirm_f3 = (uint8_t)(f->f3_all || key_in(f->f3, f->nf3, k));
    ti->pw_len = key_in(f->pw2, f->npw2, k) ? 2 : 0;
}

/* ---- registry ---- */

void front_registry_put(struct front *f, uint32_t key, int thread, uint64_t conn_id,
                        int *old_thread, uint64_t *old_conn)
{
    size_t s = (key * 2654435761u) & (f->reg_nb - 1);
    struct front_regent *e;

    *old_thread = -1;
    *old_conn = 0;
    pthread_mutex_lock(&f->reg_mu);
    for (e = f->reg[s]; e && e->key != key; e = e->next)
        ;
    if (!e) {
        e = mf_calloc(1, sizeof(*e));
        e->key = key;
        e->next = f->reg[s];
        f->reg[s] = e;
    } else if (e->conn_id != conn_id) {
        *old_thread = e->thread;
        *old_conn = e->conn_id;
    }
    e->thread = thread;
    e->conn_id = conn_id;
    pthread_mutex_unlock(&f->reg_mu);
}

void front_registry_del(struct front *f, uint32_t key, uint64_t conn_id)
{
    size_t s = (key * 2654435761u) & (f->reg_nb - 1);

    pthread_mutex_lock(&f->reg_mu);
    for (struct front_regent **pp = &f->reg[s]; *pp; pp = &(*pp)->next)
        if ((*pp)->key == key) {
            if ((*pp)->conn_id == conn_id) { /* a replacing session keeps its entry */
                struct front_regent *e = *pp;
                *pp = e->next;
                free(e);
            }
            break;
        }
    pthread_mutex_unlock(&f->reg_mu);
}

int front_registry_find(struct front *f, uint32_t key)
{
    size_t s = (key * 2654435761u) & (f->reg_nb - 1);
    int t = -1;

    pthread_mutex_lock(&f->reg_mu);
    for (struct front_regent *e = f->reg[s]; e; e = e->next)
        if (e->key == key) {
            t = e->thread;
            break;
        }
    pthread_mutex_unlock(&f->reg_mu);
    return t;
}

/* Take one login from the hashed per-minute counter of address hash h in table t (nslots,
 * a power of two); 1 when under limit. Two addresses sharing a slot share a budget (that
 * errs on the strict side only under a storm). Caller holds lr_mu. */
static int lr_take(struct front_lr *t, size_t nslots, uint32_t h, uint32_t minute, int limit)
{
    size_t s = h & (nslots - 1);

    if (t[s].minute != minute || t[s].h != h) {
        if (t[s].minute != minute || t[s].n == 0) {
            t[s].minute = minute;
            t[s].n = 0;
        }
        t[s].h = h;
    }
    if (t[s].n >= (uint32_t)limit)
        return 0;
    t[s].n++;
    return 1;
}

/* Logins per source address per minute: login_per_min, or login_trusted_per_min for an
 * address inside login_trusted_nets (an APN gateway's NAT: thousands of terminals behind one
 * address log in again together after every outage); 0 = unlimited. Returns 1 allowed,
 * 0 over login_per_min, -1 over login_trusted_per_min. */
int front_login_allowed(struct front *f, const struct front_conn *conn)
{
    int trusted = f->ntrusted && front_nets_match(f->trusted, f->ntrusted, &conn->peer);
    int limit = trusted ? f->o.login_trusted_per_min : f->o.login_per_min;
    if (limit <= 0)
        return 1;
    uint32_t h = 2166136261u;
    const uint8_t *a = conn->peer.sin6_family == AF_INET
                           ? (const uint8_t *)&((const struct sockaddr_in *)&conn->peer)->sin_addr
                           : (const uint8_t *)&conn->peer.sin6_addr;
    size_t alen = conn->peer.sin6_family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < alen; i++)
        h = (h ^ a[i]) * 16777619u;
    uint32_t minute = (uint32_t)(mf_mono_us() / 60000000u);
    int ok;

    pthread_mutex_lock(&f->lr_mu);
    ok = trusted ? lr_take(f->lrt, MF_ARRAY_LEN(f->lrt), h, minute, limit)
                 : lr_take(f->lr, MF_ARRAY_LEN(f->lr), h, minute, limit);
    pthread_mutex_unlock(&f->lr_mu);
    return ok ? 1 : trusted ? -1 : 0;
}

/* ---- lifecycle ---- */

struct front *front_new(const struct mf_config *cfg, struct mq *q, char *errbuf, size_t errlen)
{
    struct front *f = mf_calloc(1, sizeof(*f));
    struct rlimit rl;

    f->cfg = cfg;
    f->q = q;
    front_opts_load(&f->o, cfg);
    if (q && strcmp(mq_backend_name(q), "embedded") == 0)
        f->o.single = 1; /* an in-process queue has exactly one front: ours */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)f->o.max_connections + 64 > rl.rlim_cur) {
        int lim = rl.rlim_cur > 128 ? (int)(rl.rlim_cur - 64) : 64;
        mf_info(FRONT_MOD, "[front] max_connections %d clamped to %d (open-file limit %llu)",
                f->o.max_connections, lim, (unsigned long long)rl.rlim_cur);
        f->o.max_connections = lim;
    }
    if (f->o.max_buffered_bytes < f->o.max_frame_bytes) {
        snprintf(errbuf, errlen, "[front] max_buffered_bytes (%zu) must hold one frame of "
                 "max_frame_bytes (%zu)", f->o.max_buffered_bytes, f->o.max_frame_bytes);
        front_free(f);
        return NULL;
    }
    if (front_lists_load(f, errbuf, errlen) != 0) {
        front_free(f);
        return NULL;
    }
    pthread_mutex_init(&f->reg_mu, NULL);
    pthread_mutex_init(&f->lr_mu, NULL);
    f->reg_nb = 4096;
    while (f->reg_nb < (size_t)f->o.max_connections && f->reg_nb < (1u << 22))
        f->reg_nb <<= 1;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    f->reg = mf_calloc(f->reg_nb, sizeof(*f->reg));
    atomic_store(&f->next_conn_id, 1);
    f->nthreads = f->o.threads;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    f->th = mf_calloc((size_t)f->nthreads, sizeof(*f->th));
    for (int i = 0; i < f->nthreads; i++) {
        f->th[i] = mf_calloc(1, sizeof(struct front_thread));
        if (front_thread_init(f->th[i], f, i, errbuf, errlen) != 0) {
            front_free(f);
            return NULL;
        }
    }
    return f;
}

void front_set_registry(struct front *f, front_registry_fn fn, void *opaque)
{
    f->reg_fn = fn;
    f->reg_opaque = opaque;
}

void front_set_pw_provider(struct front *f, front_pw_fn fn, void *opaque)
{
    f->pw_fn = fn;
    f->pw_opaque = opaque;
}

int front_start(struct front *f, char *errbuf, size_t errlen)
{
    for (int i = 0; i < f->nthreads; i++) {
        int rc = front_thread_listen(f->th[i], errbuf, errlen);
        if (rc != 0)
            return rc;
    }
    for (int i = 0; i < f->nthreads; i++)
        if (front_thread_start(f->th[i]) != 0) {
            snprintf(errbuf, errlen, "front: cannot start I/O thread %d", i);
            front_stop(f);
            return MF_ESYS;
        }
    if (pthread_create(&f->dl_tid, NULL, front_dl_main, f) != 0) {
        snprintf(errbuf, errlen, "front: cannot start the downlink thread");
        front_stop(f);
        return MF_ESYS;
    }
    f->dl_started = 1;
    f->running = 1;
    /* Kafka: the I/O threads serve the delivery reports (the embedded queue says MF_EINVAL:
     * its completions come from the worker's commit and are handed over as before). */
    if (f->o.completions_on_io && mq_serve_on(f->q, front_io_dr_wake, f) == 0)
        f->serve_dr = 1;
    mf_info(FRONT_MOD, "listening on %s port %d with %d I/O threads (node %d)", f->o.listen,
            f->bound_port, f->nthreads, f->o.node_id);
    if (f->ntrusted)
        mf_info(FRONT_MOD, "logins per source address per minute: %d; %zu trusted network(s) "
                "(login_trusted_nets): %d (0 = unlimited)", f->o.login_per_min, f->ntrusted,
                f->o.login_trusted_per_min);
    return 0;
}

int front_port(const struct front *f)
{
    return f->bound_port;
}

void front_stop(struct front *f)
{
    if (!f)
        return;
    if (f->serve_dr) { /* back to the queue's poller before the loops stop */
        mq_serve_on(f->q, NULL, NULL);
        f->serve_dr = 0;
    }
    if (f->dl_started) { /* first: no new commands while the sessions close */
        atomic_store(&f->dl_stop, 1);
        pthread_join(f->dl_tid, NULL);
        f->dl_started = 0;
    }
    for (int i = 0; i < f->nthreads; i++)
        front_thread_stop(f->th[i]);
    f->running = 0;
}

void front_free(struct front *f)
{
    if (!f)
        return;
    front_stop(f);
    for (int i = 0; f->th && i < f->nthreads; i++) {
        if (f->th[i])
            front_thread_fini(f->th[i]);
        free(f->th[i]);
    }
    free(f->th);
    for (size_t s = 0; f->reg && s < f->reg_nb; s++)
        for (struct front_regent *e = f->reg[s], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    if (f->reg) {
        pthread_mutex_destroy(&f->reg_mu);
        pthread_mutex_destroy(&f->lr_mu);
    }
    free(f->reg);
    free(f->allow);
    free(f->f3);
    free(f->pw2);
    free(f->trusted);
    free(f);
}

void front_stats_get(struct front *f, struct front_stats *out)
{
    memset(out, 0, sizeof(*out));
    mf_hist_reset(&out->confirm_latency_us);
    for (int i = 0; i < f->nthreads; i++) {
        struct front_thread *th = f->th[i];
        struct front_tstats *s = &th->st;
#define G(x) out->x += atomic_load_explicit(&s->x, memory_order_relaxed)
        G(conns_open); G(conns_accepted); G(logins); G(logouts); G(heartbeats); G(replaced);
        G(timeouts); G(frames_in); G(frames_out); G(bytes_in); G(bytes_out); G(writes);
        G(reports_produced); G(confirms); G(backpressure); G(cmds_received); G(cmds_sent);
        G(cmds_answered); G(cmds_timeout); G(cmds_denied); G(cmds_offline);
        G(retransmissions);
#undef G
        for (int d = 0; d < FRONT_DROP_NREASONS; d++)
            out->drops[d] += atomic_load_explicit(&s->drops[d], memory_order_relaxed);
        pthread_mutex_lock(&th->hist_mu);
        mf_hist_merge(&out->confirm_latency_us, &th->hist);
        pthread_mutex_unlock(&th->hist_mu);
    }
}
