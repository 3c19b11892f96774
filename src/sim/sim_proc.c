/* sim_proc.c -- one simulator process: a libuv loop holding terminals first, first+stride,
 * ... of the layout, the accelerated virtual clock, the duration and the orderly stop
 * (drain what is queued, log out, close), and the ledger.
 *
 * Invariant: the process returns only when every terminal is ST_DONE and every handle is
 * closed; the ledger is fsynced before the status is computed.
 * Called by: sim_run.c (in a forked child, or in-process by the tests).
 * Thread: the calling thread runs the loop. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "sim/sim_int.h"

#define SIM_TICK_MS 100
#define SIM_RAMP_US 100 /* first connects spread: 10,000 terminals per second per process */

int64_t sim_proc_now_ls(const struct sim_proc *sp)
{
    return sim_vclock_at(&sp->vc, (double)(mf_mono_us() - sp->start_us) / 1e6);
}

uint64_t sim_proc_ls_to_us(const struct sim_proc *sp, int64_t ls)
{
    if (ls == INT64_MAX)
        return UINT64_MAX;
    double d = sim_vclock_el(&sp->vc, ls);
    if (d > 1e9)
        return UINT64_MAX;
    return sp->start_us + (uint64_t)(d * 1e6);
}

/* The real civil time now in the zone, local seconds (what --catch-up runs towards). */
static int64_t real_now_ls(void)
{
    struct mf_civil cv;
    mf_utc_to_civil((int64_t)time(NULL), &cv);
    return (int64_t)mf_date_to_days(cv.year, cv.month, cv.day) * SIM_DAY_S + cv.hour * 3600 +
           cv.min * 60 + cv.sec;
}

static int resolve_target(struct sim_proc *sp)
{
    struct addrinfo hints, *res = NULL;
    char port[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", sp->cfg->port);
    int rc = getaddrinfo(sp->cfg->host, port, &hints, &res);
    if (rc != 0 || !res) {
        mf_error("sim", "cannot resolve %s: %s", sp->cfg->host, gai_strerror(rc));
        return MF_EINVAL;
    }
    memcpy(&sp->target, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static void proc_begin_stop(struct sim_proc *sp)
{
    const struct sim_cfg *cfg = sp->cfg;
    sp->stopping = 1;
    /* time for every queued frame to get its retransmissions, then the logout */
    uint64_t drain = (uint64_t)cfg->confirm_timeout_ms * 1000u * (uint64_t)(cfg->retries + 1);
    sp->stop_deadline_us = mf_mono_us() + drain + 1000000u;
    for (uint32_t i = 0; i < sp->nterms; i++)
        sim_term_stop(&sp->terms[i]);
}

static void proc_on_tick(uv_timer_t *t)
{
    struct sim_proc *sp = t->data;
    uint64_t now = mf_mono_us();
    sp->stats->virtual_now = sim_proc_now_ls(sp);
    if (!sp->stopping && (mf_stop_requested || (sp->cfg->duration_s > 0 &&
                                                (double)(now - sp->start_us) / 1e6 >=
                                                    sp->cfg->duration_s)))
        proc_begin_stop(sp);
    if (sp->done >= sp->nterms) {
        uv_timer_stop(&sp->tick);
        uv_stop(&sp->loop);
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int proc_status(struct sim_proc *sp)
{
    int rc = 0;
    uint32_t never = 0;
    for (uint32_t i = 0; i < sp->nterms; i++)
        never += !sp->terms[i].ever_online;
    if (sim_ledger_close(&sp->ledger) != 0) {
        mf_error("sim", "the ledger could not be written completely");
        rc = 1;
    }
    if (sp->stats->unconfirmed) {
        mf_error("sim", "%llu frames were never confirmed",
                 (unsigned long long)sp->stats->unconfirmed);
        rc = 1;
    }
    if (never) {
        mf_error("sim", "%u terminals never logged in", never);
        rc = rc ? rc : 3;
    }
    return rc;
}

int sim_proc_run(const struct sim_cfg *cfg, const struct sim_model *model,
                 struct sim_stats *stats, uint32_t first, uint32_t stride)
{
    char errbuf[256];
    struct sim_proc *sp = mf_calloc(1, sizeof(*sp));
    int rc;

    sp->cfg = cfg;
    sp->model = model;
    sp->stats = stats;
    sp->first = first;
    sp->stride = stride ? stride : 1;
    sp->dec = mf_malloc(sizeof(*sp->dec));
    if (uv_loop_init(&sp->loop) != 0 || resolve_target(sp) != 0) {
        free(sp->dec);
        free(sp);
        return 2;
    }
    if (sim_ledger_open(&sp->ledger, cfg->ledger_path, errbuf, sizeof(errbuf)) != 0) {
        mf_error("sim", "%s", errbuf);
        uv_loop_close(&sp->loop);
        free(sp->dec);
        free(sp);
        return 2;
    }
    for (uint32_t t = first; t < cfg->nterm; t += sp->stride)
        sp->nterms++;
    sp->terms = mf_calloc(sp->nterms ? sp->nterms : 1, sizeof(struct sim_term));
    sp->start_us = mf_mono_us();
    sp->vc = (struct sim_vclock){ cfg->start_ls, cfg->speed, cfg->catch_up, real_now_ls() };
    for (uint32_t i = 0; i < sp->nterms; i++) {
        struct sim_term *st = &sp->terms[i];
        sim_term_init(st, sp, first + i * sp->stride);
        st->next_connect_us = sp->start_us + (uint64_t)i * SIM_RAMP_US;
        sim_term_start(st);
    }
    uv_timer_init(&sp->loop, &sp->tick);
    sp->tick.data = sp;
    uv_timer_start(&sp->tick, proc_on_tick, SIM_TICK_MS, SIM_TICK_MS);
    if (sp->nterms == 0)
        uv_stop(&sp->loop);
    uv_run(&sp->loop, UV_RUN_DEFAULT);

    uv_walk(&sp->loop, close_walk, NULL);
    uv_run(&sp->loop, UV_RUN_DEFAULT);
    rc = proc_status(sp);
    for (uint32_t i = 0; i < sp->nterms; i++)
        sim_term_fini(&sp->terms[i]);
    uv_loop_close(&sp->loop);
    free(sp->terms);
    free(sp->dec);
    free(sp);
    stats->exit_code = rc;
    stats->finished = 1;
    return rc;
}
