/* worker_analytics.c -- the analytics scheduler: the rollup of yesterday and of today so
 * far (with the flapping rule over each day's session log, and the anomaly life cycle of
 * worker_life.c) every analytics_interval_s, online-rate samples every online_sample_min, re-collection
 * ticks every few seconds, retention every retention_interval_min. Runs on its own thread in
 * the one worker configured with [worker] analytics = true; worker_analytics_run does one
 * rollup on demand (tests, tools).
 * Thread: the scheduler thread; worker_analytics_run from any thread (serialised by amu). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "worker/worker_int.h"

#define WK_MOD "analytics"

int32_t wk_civil_day(int64_t t)
{
    struct mf_civil c;
    mf_utc_to_civil(t, &c);
    return mf_date_to_days(c.year, c.month, c.day);
}

/* Long offline: terminals offline (and seen at least once) for more than the threshold get
 * one anomaly per civil day. Reads the offline terminals page by page. */
static int offline_rule(struct worker *w, int64_t now)
{
    struct proc_presence *p = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (int page = 1; rc == 0; page++) {
        struct store_terminal_filter tf = { 0, NULL, NULL, { page, 1000 } };
        json_t *j = NULL, *it;
        size_t i;
        rc = store_terminals_json(w->ast, &tf, &j);
        if (rc != 0)
            break;
        json_t *items = json_object_get(j, "items");
        json_array_foreach(items, i, it) {
            const char *id = json_string_value(json_object_get(it, "id"));
            const char *seen = json_string_value(json_object_get(it, "last_seen"));
            uint16_t a1, a2;
            int64_t t;
            if (!id || !seen || gw_terminal_parse(id, &a1, &a2) != 0 || mf_time_parse(seen, &t))
                continue; /* never seen: not "offline for long", just not installed */
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                p = mf_realloc(p, cap * sizeof(*p));
            }
            p[n++] = (struct proc_presence){ gw_terminal_key(a1, a2), 0, t };
        }
        size_t got = json_array_size(items);
        json_decref(j);
        if (got < 1000)
            break;
    }
    if (rc == 0 && n > 0) {
        struct proc_anomaly *av = mf_calloc(n, sizeof(*av));
        struct proc_anoms an = { av, 0, n, 0 };
        proc_offline(&w->pcfg, wk_civil_day(now), now, p, n, &an);
        struct wk_recs recs;
        wk_recs_init(&recs);
        for (size_t k = 0; k < an.n; k++)
            wk_anomaly_record(&recs, &av[k], NULL);
        if (recs.total)
            rc = wk_write_retry(w, &recs);
        wk_recs_fini(&recs);
        free(av);
    }
    free(p);
    return rc;
}

struct flap_acc {
    struct proc_sessions *v;
    size_t n, cap;
};

static int flap_cb(void *opaque, const struct store_session_count *c)
{
    struct flap_acc *a = opaque;
    if (c->logins < 1 || a->n >= 10000000u)
        return 0; /* at most one row per terminal: bounded by the terminals that exist */
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = mf_realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = (struct proc_sessions){ c->term, c->logins, c->offlines, c->first_at };
    return 0;
}

/* Flapping: terminals that logged in and dropped many times in civil day `day` (the session
 * log of that day); one anomaly per terminal and day. */
static int flap_rule(struct worker *w, int32_t day)
{
    struct flap_acc a = { NULL, 0, 0 };
    int rc = store_session_counts_iter(w->ast, wk_day_start_utc(day), wk_day_start_utc(day + 1),
                                       flap_cb, &a);
    if (rc == 0 && a.n > 0) {
        struct proc_anomaly *av = mf_calloc(a.n, sizeof(*av));
        struct proc_anoms an = { av, 0, a.n, 0 };
        proc_flapping(&w->pcfg, day, a.v, a.n, &an);
        struct wk_recs recs;
        wk_recs_init(&recs);
        for (size_t k = 0; k < an.n; k++)
            wk_anomaly_record(&recs, &av[k], NULL);
        if (recs.total)
            rc = wk_write_retry(w, &recs);
        wk_recs_fini(&recs);
        free(av);
    }
    free(a.v);
    return rc;
}

static int online_sample(struct worker *w, int64_t now)
{
    int32_t reg = 0, on = 0;
    int rc = store_online_count(w->ast, &reg, &on);
    if (rc != 0)
        return rc;
    struct wk_recs recs;
    wk_recs_init(&recs);
    struct store_online_sample *s = wk_recs_online(&recs);
    s->at = now;
    s->registered = reg;
    s->online = on;
    rc = wk_write_retry(w, &recs);
    wk_recs_fini(&recs);
    return rc;
}

int worker_analytics_run(struct worker *w, int32_t day, int64_t now_s)
{
    pthread_mutex_lock(&w->amu);
    int rc = wk_rollup_run(w, day, now_s);
    if (rc == 0)
        rc = offline_rule(w, now_s); /* keyed per civil day of now: idempotent */
    if (rc == 0)
        rc = flap_rule(w, day); /* keyed per terminal and day: idempotent */
    if (rc == 0) { /* once per round; a failure is left to the next round */
        int lrc = wk_anomaly_life(w, now_s);
        if (lrc != 0)
            mf_warn(WK_MOD, "anomaly life cycle: %s (next round)", mf_status_str(lrc));
    }
    pthread_mutex_unlock(&w->amu);
    if (rc == 0)
        wk_stat_add(w, &w->stats.analytics_runs, 1);
    return rc;
}

struct sched {
    int64_t next_rollup, next_online, next_retention, next_recollect;
};

/* The days to roll up this round: yesterday (the day that matters), today so far (keeps
 * the panel current), the past days still within the re-collection deadline whose
 * collection is incomplete (their rollup plans their re-collection), and every day that
 * received daily frozen values since the last round together with the day after it (whose
 * consumption starts from them) -- late data and re-collected values update their days. At most WK_ROUND_DAYS, oldest first. */
#define WK_ROUND_DAYS 16

static int add_day(int32_t *v, size_t n, int32_t d)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == d)
            return (int)n;
    if (n < WK_ROUND_DAYS)
        v[n++] = d;
    return (int)n;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static size_t round_days(struct worker *w, int64_t now, int32_t *v)
{
    int32_t today = wk_civil_day(now), open_days[WK_ROUND_DAYS];
    size_t n = 0, no = wk_recollect_days(w, now, open_days, WK_ROUND_DAYS / 2);
    int32_t dirty[64];
    size_t nd;
    pthread_mutex_lock(&w->mu);
    nd = w->ndirty;
    memcpy(dirty, w->dirty, nd * sizeof(*dirty));
    w->ndirty = 0;
    pthread_mutex_unlock(&w->mu);
    n = (size_t)add_day(v, n, today - 1);
    n = (size_t)add_day(v, n, today);
    for (size_t i = 0; i < no; i++) /* incomplete days within the re-collection deadline */
        n = (size_t)add_day(v, n, open_days[i]);
    qsort(dirty, nd, sizeof(*dirty), cmp_i32);
    for (size_t i = nd; i-- > 0;) { /* newest first, so the cap drops the oldest */
        if (dirty[i] > today)
            continue; /* a terminal clock in the future: not a day yet */
        n = (size_t)add_day(v, n, dirty[i]);
        if (dirty[i] + 1 <= today)
            n = (size_t)add_day(v, n, dirty[i] + 1);
    }
    qsort(v, n, sizeof(*v), cmp_i32);
    return n;
}

static void sched_step(struct worker *w, struct sched *s, int64_t now)
{
    int64_t interval = mf_config_int(w->cfg, "worker", "analytics_interval_s");
    if (now >= s->next_rollup) {
        int32_t days[WK_ROUND_DAYS];
        size_t n = round_days(w, now, days);
        for (size_t i = 0; i < n && !atomic_load(&w->stop); i++)
            if (worker_analytics_run(w, days[i], now) != 0)
                break;
        s->next_rollup = now + interval;
    }
    if (now >= s->next_online) {
        if (online_sample(w, now) != 0)
            mf_warn(WK_MOD, "online-rate sample not stored");
        s->next_online = now + mf_config_int(w->cfg, "worker", "online_sample_min") * 60;
    }
    if (now >= s->next_recollect) {
        int n = worker_recollect_tick(w, now);
        if (n > 0)
            mf_info(WK_MOD, "%d re-collection request(s) sent", n);
        s->next_recollect = now + 5;
    }
    if (now >= s->next_retention) {
        int64_t deleted = 0;
        if (store_retention_run(w->ast, now, &deleted) == 0 && deleted > 0)
            mf_info(WK_MOD, "retention: %lld rows deleted", (long long)deleted);
        s->next_retention = now + mf_config_int(w->cfg, "worker", "retention_interval_min") * 60;
    }
}

void *wk_analytics_main(void *arg)
{
    struct worker *w = arg;
    struct sched s;
    pthread_setname_np(pthread_self(), "worker-analyt");
    memset(&s, 0, sizeof(s));
    while (!wk_sleep_ms(w, 1000)) {
        if (atomic_load(&w->failed))
            break;
        sched_step(w, &s, wk_now_s(w));
    }
    return NULL;
}
