/* worker_int.h -- private state of the worker module (src/worker). Not for other modules.
 * Thread: see each struct. */
#ifndef MF_WORKER_INT_H
#define MF_WORKER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "meterflow/envelope.h"
#include "meterflow/log.h"

struct gw_decoded;
struct wk_recollect;
struct wk_clock;
struct mf_civil;
#include "meterflow/proc.h"
#include "meterflow/queue.h"
#include "meterflow/sec.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"

/* ---- wk_recs: records accumulated for one store batch (worker_recs.c) ----
 * Growable arrays of store records plus an arena holding every string and byte array they
 * point to, so a record stays valid until wk_recs_reset even after the queue batch it came
 * from is gone. Owned by one thread. */
struct wk_block;
struct wk_arena {
    struct wk_block *head;
    size_t bytes;
};
char *wk_arena_dup(struct wk_arena *a, const void *p, size_t n); /* NUL-terminated copy */

#define WK_VEC(T)                                                                              \
    struct {                                                                                   \
        T *v;                                                                                  \
        size_t n, cap;                                                                         \
    }

struct wk_recs {
    WK_VEC(struct store_energy) energy;
    WK_VEC(struct store_instant) instant;
    WK_VEC(struct store_frozen) frozen;
    WK_VEC(struct store_curve) curve;
    WK_VEC(struct store_event) events;
    WK_VEC(struct store_ec) ec;
    WK_VEC(struct store_clock) clocks;
    WK_VEC(struct store_version) versions;
    WK_VEC(struct store_meter_cfg) meter_cfg;
    WK_VEC(struct store_fwd645) fwd645;
    WK_VEC(struct store_frame) frames;
    WK_VEC(struct store_session) sessions;
    WK_VEC(struct store_cmd_result) cmd_results;
    WK_VEC(struct store_daily_use) daily_use;
    WK_VEC(struct store_collect) collect;
    WK_VEC(struct store_missing) missing;
    WK_VEC(struct store_line_loss) line_loss;
    WK_VEC(struct store_anomaly) anomalies;
    WK_VEC(struct store_online_sample) online;
    WK_VEC(struct store_recollect) recollect;
    size_t total;
    struct wk_arena arena;
};

void wk_recs_init(struct wk_recs *r);
void wk_recs_reset(struct wk_recs *r); /* empty, keeps the first arena block and arrays */
void wk_recs_fini(struct wk_recs *r);
/* Deep copy of one normalised record (strings and bytes into the arena). 0 or MF_EINVAL. */
int wk_recs_add(struct wk_recs *r, const struct proc_rec *rec);
/* proc_emit_fn adapter: opaque is a struct wk_recs. */
int wk_recs_emit(void *opaque, const struct proc_rec *rec);
/* Slots for analytics records (zeroed; strings set by the caller via the arena). */
struct store_daily_use *wk_recs_daily_use(struct wk_recs *r);
struct store_collect *wk_recs_collect(struct wk_recs *r);
struct store_missing *wk_recs_missing(struct wk_recs *r);
struct store_line_loss *wk_recs_line_loss(struct wk_recs *r);
struct store_anomaly *wk_recs_anomaly(struct wk_recs *r);
struct store_online_sample *wk_recs_online(struct wk_recs *r);
struct store_recollect *wk_recs_recollect(struct wk_recs *r);
/* The batch view of r (arrays borrowed from r). */
void wk_recs_batch(const struct wk_recs *r, struct store_batch *b);

/* ---- the session lane (worker_sess.c) ----
 * Session changes waiting for their own store transaction: a FIFO ring, its peer texts
 * inline. Owned by the consumer thread. */
#define WK_SESS_MAX 65536u /* two changes per connection of a front at its ~20,000 cap, x1.6 */
struct wk_sess_ent {
    struct store_session s; /* s.peer points at peer (or is NULL); s.reason at a constant */
    char peer[64];
};
struct wk_sess {
    struct wk_sess_ent *ring;      /* [cap], records [head, head + n) modulo cap */
    size_t cap, head, n;
    struct store_session *chunk;   /* [sess_batch_max]: one store batch's copy */
};

/* ---- the worker ---- */
struct worker {
    const struct mf_config *cfg;
    struct mq *q;
    struct store *st;     /* the consumer's handle */
    struct store *ast;    /* the analytics' handle (== st unless worker_new opened two) */
    int own_store;
    struct worker_hooks hooks;

    /* [worker] keys */
    size_t batch_max_records;
    int batch_max_ms;
    size_t poll_max;
    int retry_min_ms, retry_max_ms;
    char group[MQ_GROUP_MAX];
    int publish;
    int analytics;
    struct proc_cfg pcfg;
    int slane;               /* session changes go to the session lane (worker_sess.c) */
    size_t sess_batch_max;   /* [worker] session_batch_max */

    pthread_t thr, athr;
    int running, athr_running;
    int subscribed;       /* 0 not yet, 1 subscribed, -1 failed (under mu) */
    atomic_int stop;
    atomic_int failed;
    pthread_mutex_t mu;   /* guards stats and the stop condition */
    pthread_cond_t cv;    /* signalled by worker_stop: wakes back-off and scheduler sleeps */
    struct worker_stats stats;

    /* consumer thread only */
    struct wk_recs recs;
    struct mq_batch *pend;   /* queue batches whose records are in recs */
    size_t npend, cappend;
    uint64_t batch_started_us;
    double avg_recs;         /* running average of records per message (poll sizing) */
    struct mf_ratelimit rl_decode;
    struct sec_imp *imp;     /* impersonation detector, NULL when imp_window_s = 0 */
    int64_t imp_min_returns;
    struct mf_ratelimit rl_imp;
    struct gw_decoded *dec;  /* reused decode space (large) */
    int clock_sync;          /* [worker] clock_auto_sync */
    struct wk_clock *clk;    /* terminals to synchronise after the next commit */
    size_t pub_count, pub_failed; /* of the current wk_publish */
    struct wk_sess sess;     /* the session lane's backlog */
    char hexbuf[MF_ENV_MAX * 3 + 1]; /* a frame as hex (command answers) */

    /* civil days whose daily frozen values were stored since the scheduler last looked
     * (under mu): the scheduler rolls them up (and the day after), not only yesterday */
    int32_t dirty[64];
    size_t ndirty;

    /* analytics (analytics thread or worker_analytics_run callers; serialised by amu) */
    pthread_mutex_t amu;
    struct wk_recollect *rc; /* re-collection state */
    int64_t life_at;         /* `now` of the last anomaly life-cycle pass */
};

/* worker_msg.c: turn one queue message into records in w->recs. Never fails the loop: bad
 * input is counted and (for frames) stored raw. */
void wk_msg_process(struct worker *w, const struct mq_msg *m);
/* worker_sess.c: the session lane. push: copy one change into the ring (room is the
 * caller's promise: wk_sess_room() > 0); write: the oldest session_batch_max in one store
 * transaction (0, MF_ECLOSED stopping, or a fatal status); drain: everything left, one
 * attempt each (stopping); gauge: publish the backlog to the stats. */
size_t wk_sess_room(const struct worker *w);
void wk_sess_push(struct worker *w, const struct store_session *s);
int wk_sess_write(struct worker *w, int final);
void wk_sess_drain(struct worker *w);
void wk_sess_gauge(struct worker *w);
void wk_sess_free(struct worker *w);
/* worker_publish.c: publish the JSON of w->recs (readings, events, sessions). */
void wk_publish(struct worker *w, const struct wk_recs *r);
/* Analytics scheduler thread body (worker_analytics.c). */
void *wk_analytics_main(void *arg);
void wk_recollect_free(struct wk_recollect *rc);

/* worker_anom.c: a proc_anomaly as a store_anomaly in r (area may be NULL). */
void wk_anomaly_record(struct wk_recs *r, const struct proc_anomaly *a, const char *area);
/* The stored rollup-kind anomalies of `day` (backwards, reset, replaced, jump, stopped,
 * line_loss) against the complete set v[n] a run of that day just found: open/ack ones it
 * no longer finds become "resolved", resolved ones it finds again "open"; each change is
 * audited. Counts the changes. 0 or a store status (the rest is left to the next run). */
int wk_anomaly_reconcile(struct worker *w, int32_t day, const struct proc_anomaly *v, size_t n,
                         int64_t now, size_t *resolved, size_t *reopened);
/* One state change by the analytics: store_anomaly_transition (from -> to, so an operator's
 * change since the caller read the state wins: MF_ENOTFOUND) and its audit record (user
 * "(analytics)", anomaly.resolved / anomaly.reopened, detail: kind, terminal, pn, date,
 * state_before, <time_key>: now, reason, plus the members of `extra` -- taken, may be NULL).
 * 0, MF_ENOTFOUND or a store status. */
struct wk_an_change {
    int64_t id;
    const char *kind;     /* static */
    char term[16];        /* "AAAA-BBBB" */
    int pn;
    int32_t day;          /* the anomaly's civil day */
    const char *from, *to, *reason, *time_key; /* static; time_key NULL: "checked_at" */
};
struct json_t;
int wk_anomaly_change(struct worker *w, const struct wk_an_change *c, int64_t now,
                      struct json_t *extra);
/* The life cycle of the anomalies no rollup run withdraws (worker_life.c): offline,
 * flapping, clock and voltage anomalies resolved when the condition is over, reopened when
 * it is found again (docs/ANALYTICS.md "Anomaly life cycle"). Once per `now` (the first
 * analytics run of a round). 0 or a store status (the rest is left to the next round). */
int wk_anomaly_life(struct worker *w, int64_t now);
/* UTC seconds of 00:00 of civil day `day` in the configured zone. */
int64_t wk_day_start_utc(int32_t day);

/* worker_rollup.c: the daily rollup of `day` against the store. */
int wk_rollup_run(struct worker *w, int32_t day, int64_t now);
/* worker_recollect.c: re-collection tasks for the missing points of `day` that have no task
 * yet in the store (added to recs; only for a day that is over and within the deadline),
 * and "done" for the open tasks of points this rollup counts. 0 or a store status (reading
 * the existing tasks). */
int wk_recollect_plan(struct worker *w, int32_t day, const struct proc_point *pts,
                      const struct proc_cons *cons, size_t n, int64_t now, struct wk_recs *recs);
/* Remember which terminals are online (points in key order, online[i] per point). */
void wk_recollect_online(struct worker *w, const struct proc_point *pts, const uint8_t *online,
                         size_t n);
/* Past days within the re-collection deadline with incomplete collection, newest first. */
size_t wk_recollect_days(struct worker *w, int64_t now, int32_t *v, size_t cap);
/* Td_d request units: p<pn> F<fn> + DD MM YY; 0 or MF_EINVAL. */
int wk_recollect_units(uint16_t pn, uint8_t fn, int32_t day, uint8_t out[7]);
/* Civil day (days since epoch) of UTC time t in the configured zone. */
int32_t wk_civil_day(int64_t t);
/* Write a batch, retrying while the store says retry later (until stop). */
int wk_write_retry(struct worker *w, struct wk_recs *recs);

/* worker_clock.c: note a terminal whose clock deviates; send AFN=05 F31 to the noted ones
 * once their batch is written (flush) or forget them (discard, batch released). */
void wk_clock_note(struct worker *w, uint32_t term);
void wk_clock_sync_flush(struct worker *w);
void wk_clock_discard(struct worker *w);
void wk_clock_units(const struct mf_civil *c, uint8_t out[10]);

/* Store write through the hook (tests) or store_batch_write; on w->st, or on st. */
int wk_store_write(struct worker *w, const struct store_batch *b);
int wk_store_write_on(struct worker *w, struct store *st, const struct store_batch *b);
int64_t wk_now_s(struct worker *w);
/* Sleep up to ms unless the worker is stopping; returns 1 when stopping. */
int wk_sleep_ms(struct worker *w, int ms);
void wk_stat_add(struct worker *w, uint64_t *field, uint64_t n);

#endif
