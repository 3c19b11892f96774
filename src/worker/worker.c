/* worker.c -- the worker's lifecycle and its consumer loop: poll the uplink, turn messages
 * into records, close the store batch by count or time, write it, and only then commit the
 * queue batches it came from.
 *
 * Invariants:
 *  - w->pend holds exactly the queue batches whose records are in w->recs; they are
 *    committed (after a successful store write) or released (fatal error, stop), never
 *    both, never neither.
 *  - While a store write says retry later, the loop does not poll: memory stays bounded by
 *    one store batch and backpressure reaches the fronts through the bounded queue.
 * Thread: worker_new/start/stop/free on the controlling thread; worker_loop on w->thr. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761_data.h"
#include "worker/worker_int.h"

#define WK_MOD "worker"

int wk_store_write_on(struct worker *w, struct store *st, const struct store_batch *b)
{
    if (w->hooks.batch_write)
        return w->hooks.batch_write(w->hooks.opaque, st, b);
    return store_batch_write(st, b);
}

int wk_store_write(struct worker *w, const struct store_batch *b)
{
    return wk_store_write_on(w, w->st, b);
}

int64_t wk_now_s(struct worker *w)
{
    if (w->hooks.now_s)
        return w->hooks.now_s(w->hooks.opaque);
    return (int64_t)(mf_now_us() / 1000000u);
}

void wk_stat_add(struct worker *w, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&w->mu);
    *field += n;
    pthread_mutex_unlock(&w->mu);
}

int wk_sleep_ms(struct worker *w, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop) && !mf_stop_requested)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&w->mu);
    return atomic_load(&w->stop) || mf_stop_requested;
}

static void pend_push(struct worker *w, const struct mq_batch *mb)
{
    if (w->npend == w->cappend) {
        w->cappend = w->cappend ? w->cappend * 2 : 16;
        w->pend = mf_realloc(w->pend, w->cappend * sizeof(*w->pend));
    }
    w->pend[w->npend++] = *mb;
}

static void pend_release(struct worker *w)
{
    wk_clock_discard(w);
    for (size_t i = 0; i < w->npend; i++)
        mq_batch_release(w->q, &w->pend[i]);
    w->npend = 0;
    wk_recs_reset(&w->recs);
}

/* Remember the days of the daily frozen values just stored, for the scheduler. */
static void mark_dirty_days(struct worker *w)
{
    int32_t last = INT32_MIN;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->recs.frozen.n; i++) {
        int32_t d = w->recs.frozen.v[i].date;
        if (w->recs.frozen.v[i].kind != STORE_FROZEN_DAILY || d == last)
            continue;
        last = d;
        size_t k = 0;
        while (k < w->ndirty && w->dirty[k] != d)
            k++;
        if (k == w->ndirty && w->ndirty < MF_ARRAY_LEN(w->dirty))
            w->dirty[w->ndirty++] = d; /* full: yesterday's rollup still runs */
    }
    pthread_mutex_unlock(&w->mu);
}

/* The store has the records: publish their JSON (kafka mode), then commit in order. */
static void pend_commit(struct worker *w)
{
    if (w->analytics)
        mark_dirty_days(w);
    if (w->publish)
        wk_publish(w, &w->recs);
    for (size_t i = 0; i < w->npend; i++) {
        int rc = mq_commit(w->q, &w->pend[i]);
        if (rc != 0) /* kafka: may be redelivered; storage is idempotent */
            mf_warn(WK_MOD, "queue commit: %s (batch may be delivered again)", mf_status_str(rc));
    }
    wk_stat_add(w, &w->stats.commits, w->npend);
    w->npend = 0;
    wk_recs_reset(&w->recs);
    wk_clock_sync_flush(w);
}

/* The store refused a record of the batch (a cap): keep what makes the batch durable --
 * the raw frames -- and drop the normalised records, rather than stop on a poison pill.
 * Returns the status of writing the frames alone (retried while the store says so). */
static int write_frames_only(struct worker *w)
{
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.frames = w->recs.frames.v;
    b.n_frames = w->recs.frames.n;
    int delay = w->retry_min_ms;
    for (;;) {
        int rc = wk_store_write(w, &b);
        if (rc == 0 || !mf_status_is_retry(rc) || wk_sleep_ms(w, delay))
            return rc == 0 || !mf_status_is_retry(rc) ? rc : MF_ECLOSED;
        delay = MF_MIN(delay * 2, w->retry_max_ms);
    }
}

/* Write w->recs, retrying with a bounded exponential back-off while the store says retry
 * later. final: the worker is stopping, so one attempt only. Returns 0 (written and
 * committed), MF_ECLOSED (stopping: released) or a fatal status (released). */
static int flush(struct worker *w, int final)
{
    struct store_batch b;
    int delay = w->retry_min_ms, tries = 0;
    if (w->npend == 0 && w->recs.total == 0)
        return 0;
    wk_recs_batch(&w->recs, &b);
    for (;;) {
        int rc = wk_store_write(w, &b);
        if (rc == 0) {
            pthread_mutex_lock(&w->mu);
            w->stats.records += w->recs.total;
            w->stats.batches++;
            pthread_mutex_unlock(&w->mu);
            if (tries >= 5)
                mf_info(WK_MOD, "store writable again after %d retries", tries);
            pend_commit(w);
            return 0;
        }
        if ((rc == MF_EINVAL || rc == MF_ERANGE) && !final) {
            char why[256];
            store_last_error(w->st, why, sizeof(why));
            mf_error(WK_MOD, "store refused a record (%s: %s); keeping the %zu raw frames of "
                     "the batch, dropping %zu records", mf_status_str(rc), why,
                     w->recs.frames.n, w->recs.total - w->recs.frames.n);
            rc = write_frames_only(w);
            if (rc == 0) {
                wk_stat_add(w, &w->stats.dropped_records, w->recs.total - w->recs.frames.n);
                pend_commit(w);
                return 0;
            }
        }
        if (!mf_status_is_retry(rc)) {
            char why[256];
            store_last_error(w->st, why, sizeof(why));
            mf_error(WK_MOD, "store batch of %zu records failed: %s (%s); stopping",
                     w->recs.total, mf_status_str(rc), why);
            pend_release(w);
            return rc;
        }
        wk_stat_add(w, &w->stats.store_retries, 1);
        if (final || wk_sleep_ms(w, delay)) {
            pend_release(w);
            return MF_ECLOSED;
        }
        if (++tries == 5 || tries % 20 == 0) { /* a stuck store (lock, disk full) is visible */
            char why[256];
            store_last_error(w->st, why, sizeof(why));
            mf_warn(WK_MOD, "store cannot commit (%s), retry %d of a batch of %zu records; "
                    "nothing is confirmed meanwhile", why, tries, w->recs.total);
        }
        mf_debug(WK_MOD, "store busy, retrying batch of %zu records in %d ms", w->recs.total,
                 delay);
        delay = MF_MIN(delay * 2, w->retry_max_ms);
    }
}

static int batch_due(struct worker *w)
{
    if (w->npend == 0)
        return 0;
    if (w->recs.total >= w->batch_max_records)
        return 1;
    return mf_mono_us() - w->batch_started_us >= (uint64_t)w->batch_max_ms * 1000u;
}

static int poll_timeout_ms(struct worker *w)
{
    if (w->sess.n > 0)
        return 0; /* session changes to write: look for reports, do not sleep */
    if (w->npend == 0)
        return 100;
    uint64_t due = w->batch_started_us + (uint64_t)w->batch_max_ms * 1000u, now = mf_mono_us();
    return now >= due ? 0 : (int)((due - now + 999) / 1000);
}

/* Records one message can produce at most: every value and event of a decoded frame, its
 * ingest-time anomalies, the raw frame and a command result. */
#define WK_MSG_MAX_RECORDS (GW_DEC_MAX_VALUES + 2u * GW_DEC_MAX_EVENTS + 64u)

/* How many messages to take now. Hard bound: even if every message were as large as a
 * frame can decode, the store batch stays under STORE_BATCH_MAX (over it the store would
 * refuse the batch). Soft bound: with the running average of records per message, the batch
 * overshoots batch_max_records by about one message, so memory follows the setting. */
static size_t poll_size(const struct worker *w)
{
    size_t total = w->recs.total;
    size_t hard = total >= STORE_BATCH_MAX ? 0 : (STORE_BATCH_MAX - total) / WK_MSG_MAX_RECORDS;
    size_t room = total >= w->batch_max_records ? 0 : w->batch_max_records - total;
    size_t soft = room / (w->avg_recs > 1.0 ? (size_t)w->avg_recs : 1u);
    return MF_MAX(MF_MIN(MF_MIN(w->poll_max, hard), soft), 1u);
}

static void *worker_loop(void *arg)
{
    struct worker *w = arg;
    enum mq_topic t = MQ_UPLINK;
    pthread_setname_np(pthread_self(), "worker"); /* per-thread CPU figures (RELIABILITY) */
    int rc = mq_subscribe(w->q, &t, 1, w->group);
    pthread_mutex_lock(&w->mu);
    w->subscribed = rc == 0 ? 1 : -1; /* worker_start waits for this */
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (rc != 0) {
        mf_error(WK_MOD, "subscribe to uplink (group %s): %s", w->group, mf_status_str(rc));
        atomic_store(&w->failed, 1);
        return NULL;
    }
    while (!atomic_load(&w->stop) && !mf_stop_requested) {
        struct mq_batch mb;
        memset(&mb, 0, sizeof(mb));
        /* each message gives at most one session change: never more than the lane holds */
        size_t want = w->slane ? MF_MIN(poll_size(w), wk_sess_room(w)) : poll_size(w);
        rc = want ? mq_poll(w->q, &mb, want, poll_timeout_ms(w)) : 0;
        if (rc == MF_EFATAL) {
            mf_error(WK_MOD, "queue poll: fatal; stopping");
            atomic_store(&w->failed, 1);
            break;
        }
        if (rc == 0 && mb.n > 0) {
            if (w->npend == 0)
                w->batch_started_us = mf_mono_us();
            size_t before = w->recs.total, sbefore = w->sess.n;
            for (size_t i = 0; i < mb.n; i++)
                wk_msg_process(w, &mb.msgs[i]);
            /* per message of the report batch: the lane's changes are not in it */
            size_t nrep = mb.n - (w->sess.n - sbefore);
            if (nrep > 0) {
                double per = (double)(w->recs.total - before) / (double)nrep;
                w->avg_recs = w->avg_recs > 0 ? 0.8 * w->avg_recs + 0.2 * per : per;
            }
            wk_stat_add(w, &w->stats.messages, mb.n);
            pend_push(w, &mb);
            if (w->slane)
                wk_sess_gauge(w);
        } else if (rc != 0 && wk_sleep_ms(w, w->retry_min_ms)) {
            break;
        }
        if (batch_due(w)) {
            rc = flush(w, 0);
            if (rc != 0 && rc != MF_ECLOSED)
                atomic_store(&w->failed, 1);
            if (rc != 0)
                break;
        } else if (w->sess.n > 0) {
            /* between report batches: one chunk of session changes (worker_sess.c) */
            rc = wk_sess_write(w, 0);
            if (rc != 0 && rc != MF_ECLOSED)
                atomic_store(&w->failed, 1);
            if (rc != 0)
                break;
        }
    }
    if (w->npend && flush(w, 1) != 0)
        mf_warn(WK_MOD, "stopping with an unwritten batch: released, terminals will resend");
    wk_sess_drain(w);
    mq_unsubscribe(w->q);
    return NULL;
}

static void read_cfg(struct worker *w, const struct mf_config *cfg)
{
    const char *pub = mf_config_str(cfg, "worker", "publish");
    const char *sev = mf_config_str(cfg, "analytics", "erc_min_severity");
    struct proc_cfg *p = &w->pcfg;

    w->batch_max_records = (size_t)mf_config_int(cfg, "worker", "batch_max_records");
    w->batch_max_ms = (int)mf_config_int(cfg, "worker", "batch_max_ms");
    w->poll_max = (size_t)MF_MIN(mf_config_int(cfg, "worker", "poll_max_msgs"), MQ_BATCH_MAX);
    w->retry_min_ms = (int)mf_config_int(cfg, "worker", "retry_min_ms");
    w->retry_max_ms = (int)MF_MAX(mf_config_int(cfg, "worker", "retry_max_ms"), w->retry_min_ms);
    mf_strlcpy(w->group, mf_config_str(cfg, "worker", "group"), sizeof(w->group));
    w->analytics = mf_config_bool(cfg, "worker", "analytics");
    w->clock_sync = mf_config_bool(cfg, "worker", "clock_auto_sync");
    if (strcmp(pub, "auto") == 0)
        w->publish = strcmp(mq_backend_name(w->q), "kafka") == 0;
    else
        w->publish = strcmp(pub, "on") == 0;
    /* the lane commits before the session rows exist: only where a commit brings nothing
     * back (the embedded queue; worker_sess.c says why), and not when sessions are
     * published as JSON after their store write */
    w->sess_batch_max = (size_t)mf_config_int(cfg, "worker", "session_batch_max");
    w->slane = mf_config_bool(cfg, "worker", "session_lane") && !w->publish &&
               strcmp(mq_backend_name(w->q), "embedded") == 0;

    proc_cfg_defaults(p);
    p->window_days = (int)mf_config_int(cfg, "analytics", "window_days");
    p->rollover_window_pct = (int)mf_config_int(cfg, "analytics", "rollover_window_pct");
    p->reset_max_e4 = mf_config_int(cfg, "analytics", "reset_max_kwh") * PROC_E4;
    p->jump_factor_pct = (int)mf_config_int(cfg, "analytics", "jump_factor_pct");
    p->jump_min_history = (int)mf_config_int(cfg, "analytics", "jump_min_history");
    p->jump_floor_e4 = mf_config_int(cfg, "analytics", "jump_floor_kwh") * PROC_E4;
    p->stopped_area_min_e4 = mf_config_int(cfg, "analytics", "stopped_area_min_kwh") * PROC_E4;
    p->loss_high_pct = (int)mf_config_int(cfg, "analytics", "loss_high_pct");
    p->voltage_nominal_dv = (int)mf_config_int(cfg, "analytics", "voltage_nominal_dv");
    p->voltage_low_pct = (int)mf_config_int(cfg, "analytics", "voltage_low_pct");
    p->voltage_high_pct = (int)mf_config_int(cfg, "analytics", "voltage_high_pct");
    p->clock_max_offset_s = (int)mf_config_int(cfg, "analytics", "clock_max_offset_s");
    p->offline_max_hours = (int)mf_config_int(cfg, "analytics", "offline_max_hours");
    p->flap_min_logins = (int)mf_config_int(cfg, "analytics", "flap_min_logins");
    p->flap_min_offlines = (int)mf_config_int(cfg, "analytics", "flap_min_offlines");
    p->flap_quiet_hours = (int)mf_config_int(cfg, "analytics", "flap_quiet_hours");
    p->erc_min_severity = strcmp(sev, "info") == 0    ? PROC_SEV_INFO
                          : strcmp(sev, "minor") == 0 ? PROC_SEV_MINOR
                          : strcmp(sev, "major") == 0 ? PROC_SEV_MAJOR
                                                      : PROC_SEV_CRITICAL;
}

struct worker *worker_new_with(const struct mf_config *cfg, struct mq *q, struct store *st,
                               const struct worker_hooks *hooks, char *errbuf, size_t errlen)
{
    if (!cfg || !q || !st) {
        snprintf(errbuf, errlen, "worker: config, queue and store are required");
        return NULL;
    }
    struct worker *w = mf_calloc(1, sizeof(*w));
    w->cfg = cfg;
    w->q = q;
    w->st = w->ast = st;
    if (hooks)
        w->hooks = *hooks;
    read_cfg(w, cfg);
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->amu, NULL);
    pthread_cond_init(&w->cv, NULL);
    wk_recs_init(&w->recs);
    mf_ratelimit_init(&w->rl_decode, 1.0, 10.0);
    mf_ratelimit_init(&w->rl_imp, 0.2, 5.0);
    int64_t imp_window = mf_config_int(cfg, "analytics", "imp_window_s");
    w->imp_min_returns = mf_config_int(cfg, "analytics", "imp_min_returns");
    if (imp_window > 0)
        w->imp = sec_imp_new(imp_window, (uint32_t)mf_config_int(cfg, "analytics", "imp_min_returns"),
                             (size_t)mf_config_int(cfg, "analytics", "imp_max_terminals"));
    return w;
}

struct worker *worker_new(const struct mf_config *cfg, struct mq *q, char *errbuf, size_t errlen)
{
    struct store *st = store_open(cfg, errbuf, errlen);
    if (!st)
        return NULL;
    struct worker *w = worker_new_with(cfg, q, st, NULL, errbuf, errlen);
    if (!w) {
        store_close(st);
        return NULL;
    }
    w->own_store = 1;
    if (w->analytics) {
        /* its own handle: a rollup's long reads must not hold the consumer's handle (each
         * handle serialises its calls); SQLite WAL / PostgreSQL let both run at once */
        struct store *ast = store_open(cfg, errbuf, errlen);
        if (!ast) {
            worker_free(w);
            return NULL;
        }
        w->ast = ast;
    }
    return w;
}

void worker_set_hooks(struct worker *w, const struct worker_hooks *hooks)
{
    memset(&w->hooks, 0, sizeof(w->hooks));
    if (hooks)
        w->hooks = *hooks;
}

int worker_start(struct worker *w)
{
    if (w->running)
        return 0;
    atomic_store(&w->stop, 0);
    w->subscribed = 0;
    if (pthread_create(&w->thr, NULL, worker_loop, w) != 0)
        return MF_ESYS;
    w->running = 1;
    /* Return only once the consumer exists: the embedded queue drops what is published to
     * a topic without a group (session envelopes), so the front must start after this. */
    pthread_mutex_lock(&w->mu);
    while (w->subscribed == 0)
        pthread_cond_wait(&w->cv, &w->mu);
    int sub = w->subscribed;
    pthread_mutex_unlock(&w->mu);
    if (sub < 0) {
        worker_stop(w);
        return MF_EFATAL;
    }
    if (w->analytics) {
        if (pthread_create(&w->athr, NULL, wk_analytics_main, w) != 0) {
            worker_stop(w);
            return MF_ESYS;
        }
        w->athr_running = 1;
    }
    return 0;
}

void worker_stop(struct worker *w)
{
    if (!w || !w->running)
        return;
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stop, 1);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thr, NULL);
    if (w->athr_running)
        pthread_join(w->athr, NULL);
    w->running = w->athr_running = 0;
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    worker_stop(w);
    wk_recs_fini(&w->recs);
    sec_imp_free(w->imp);
    wk_sess_free(w);
    free(w->pend);
    free(w->dec);
    free(w->clk);
    wk_recollect_free(w->rc);
    if (w->own_store) {
        if (w->ast != w->st)
            store_close(w->ast);
        store_close(w->st);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->amu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

int worker_failed(struct worker *w)
{
    return atomic_load(&w->failed);
}

void worker_stats_get(struct worker *w, struct worker_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}
