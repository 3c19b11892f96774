/* tsan: yes */
/* test_worker_sess.c -- the worker's session lane (src/worker/worker_sess.c) against the
 * embedded queue and SQLite: a report queued behind thousands of session changes is
 * confirmed (done(0), its rows stored) before those changes are written, and they are all
 * written afterwards with the last change of each terminal winning; with the lane off the
 * report waits for them (the old behaviour, so the first test can fail); a store that says
 * retry later loses no change; stopping writes what the lane still holds. (The store side,
 * a session's clock never replacing a newer reading: store_contract.h.) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "frame_test_util.h"
#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/envelope.h"
#include "meterflow/gw3761.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"
#include "worker_fix.h"

#define NTERM 3000                 /* terminals 4403-1000 .. 4403-1BB7, two changes each */
#define T0 ((int64_t)1764115200)  /* 2025-11-26T00:00:00Z: the first change */
#define KEY "4403-1000"            /* every message on one key: one partition, strict FIFO */

/* Store seam: count the session-only writes; the first `retries` of them say retry later. */
struct seam {
    atomic_int retries_left;
    atomic_int sess_writes;
};

static int seam_write(void *opaque, struct store *st, const struct store_batch *b)
{
    struct seam *s = opaque;
    if (b->n_sessions > 0 && b->n_frames == 0) {
        atomic_fetch_add(&s->sess_writes, 1);
        if (atomic_load(&s->retries_left) > 0) {
            atomic_fetch_sub(&s->retries_left, 1);
            return MF_ERETRY;
        }
    }
    return store_batch_write(st, b);
}

/* The fixture with the session lane on or off (lane "true"/"false"), and the seam when
 * seam is not NULL. */
static void fix_open(struct fix *f, const char *lane, struct seam *seam)
{
    const char *const sets[] = { "batch_max_ms", "5", "retry_min_ms", "5", "analytics", "false",
                                 "session_lane", lane, "session_batch_max", "64", NULL };
    struct worker_hooks h = { seam ? seam_write : NULL, NULL, seam };
    fix_open_with(f, "mf-wsess", sets, &h, 0);
}

static int count_row(void *opaque, const struct store_session_count *c)
{
    *(int64_t *)opaque += c->logins + c->offlines;
    return 0;
}

/* session_log rows of the test's time range (logins + offline changes). */
static int64_t session_rows(struct store *st)
{
    int64_t n = 0;
    if (store_session_counts_iter(st, T0, T0 + NTERM + 10, count_row, &n) != 0)
        return -1;
    return n;
}

/* The report's done(): session rows already stored at that moment, and its status. */
struct done {
    atomic_int calls;
    atomic_int status;
    atomic_llong rows_at_done;
    struct store *st;
};

static void on_done(void *opaque, int status)
{
    struct done *d = opaque;
    atomic_store(&d->rows_at_done, (long long)session_rows(d->st));
    atomic_store(&d->status, status);
    atomic_fetch_add(&d->calls, 1);
}

static int wait_int(atomic_int *v, int want)
{
    for (int i = 0; i < 3000; i++) { /* 30 s deadline */
        if (atomic_load(v) >= want)
            return 1;
        usleep(10000);
    }
    return 0;
}

static int wait_rows(struct store *st, int64_t want)
{
    for (int i = 0; i < 3000; i++) {
        if (session_rows(st) >= want)
            return 1;
        usleep(10000);
    }
    return 0;
}

/* An envelope of terminal 4403-(0x1000 + i) on the uplink under KEY: a session change
 * (publish, as the front does) or a frame (produce, with done()). */
static int put_env(struct mq *q, uint8_t kind, unsigned i, int64_t at, const uint8_t *p,
                   size_t len, struct done *d)
{
    static uint8_t env[MF_ENV_MAX];
    struct mf_env e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.received_at_us = (uint64_t)at * 1000000u;
    e.front_id = 1;
    e.a1 = 0x4403;
    e.a2 = (uint16_t)(0x1000u + i);
    e.payload = p;
    e.payload_len = (uint32_t)len;
    int n = mf_env_encode(&e, env, sizeof(env));
    if (n < 0)
        return n;
    if (d)
        return mq_produce(q, MQ_UPLINK, KEY, 9, env, (size_t)n, on_done, d);
    return mq_publish(q, MQ_UPLINK, KEY, 9, env, (size_t)n);
}

static int put_session(struct mq *q, unsigned i, int online, int64_t at)
{
    struct mf_env_session s;
    uint8_t p[128];
    memset(&s, 0, sizeof(s));
    s.state = online ? MF_SESSION_ONLINE : MF_SESSION_OFFLINE;
    s.reason = online ? 0 : MF_OFF_CLOSED;
    s.known = 1;
    snprintf(s.peer, sizeof(s.peer), "10.0.%u.%u:%u", i / 250, i % 250, 40000 + i);
    int n = mf_env_session_encode(&s, p, sizeof(p));
    return n < 0 ? n : put_env(q, MF_ENV_SESSION, i, at, p, (size_t)n, NULL);
}

/* The storm, queued before the worker starts: terminal i goes offline and comes back
 * within second T0 + i (even i; odd i: online, then offline -- it must end offline), then
 * one report (0C F2, the terminal's clock) whose done() goes to d. The worker's group is
 * created first so that nothing published is dropped (queue.h: a group outlives its
 * consumer, and the worker's subscription continues where it stood). */
static void queue_storm(struct fix *f, struct done *d)
{
    char err[256];
    enum mq_topic up = MQ_UPLINK;
    struct mq_consumer *c = mq_consumer_open(f->q, &up, 1, "workers", err, sizeof(err));
    CHECK(c != NULL);
    mq_consumer_close(c);
    for (unsigned i = 0; i < NTERM; i++) {
        int first = i % 2 == 0 ? 0 : 1;
        CHECK_EQ_INT(put_session(f->q, i, first, T0 + i), 0);
        CHECK_EQ_INT(put_session(f->q, i, !first, T0 + i), 0);
    }
    uint8_t fr[64];
    /* 0C F2 of 0171-0822's frame layout, the terminal being 4403-1000 (A1 03 44, A2 00 10):
     * 2026-11-25 23:59:00 (A.1: ss mm hh DD week|MM YY) */
    const uint8_t hdr[8] = { 0x88, 0x03, 0x44, 0x00, 0x10, 0x02, 0x0C, 0x60 };
    size_t n = tf_wrap(hdr, "00 00 02 00 00 59 23 25 71 26", fr, sizeof(fr));
    CHECK(n > 0);
    d->st = f->st;
    CHECK_EQ_INT(put_env(f->q, MF_ENV_FRAME, 0, T0 + NTERM, fr, n, d), 0);
}

/* Every terminal ended in the state of its last change, and nothing is left in the lane. */
static void check_final_state(struct fix *f)
{
    int wrong = 0;
    for (unsigned i = 0; i < NTERM; i++) {
        char id[GW_TERMINAL_STRLEN];
        json_t *j = NULL;
        gw_terminal_format(0x4403, (uint16_t)(0x1000u + i), id);
        if (store_terminal_json(f->st, id, 0, &j) != 0) {
            wrong++;
            continue;
        }
        int online = json_is_true(json_object_get(j, "online"));
        if (online != (i % 2 == 0))
            wrong++;
        json_decref(j);
    }
    CHECK_EQ_INT(wrong, 0);
}

MF_TEST(report_not_queued_behind_session_changes)
{
    struct fix f;
    struct done d = { 0 };
    fix_open(&f, "true", NULL);
    queue_storm(&f, &d);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK(wait_int(&d.calls, 1));
    CHECK_EQ_INT(atomic_load(&d.status), 0);
    /* the report came after all 6,000 changes on one partition, yet was confirmed while
     * most of them were still in the lane (64 per transaction between polls) */
    long long at_done = atomic_load(&d.rows_at_done);
    CHECK(at_done >= 0 && at_done < 2 * NTERM / 2);
    CHECK(wait_rows(f.st, 2 * NTERM));
    CHECK_EQ_INT(session_rows(f.st), 2 * NTERM);
    check_final_state(&f);
    struct worker_stats ws;
    for (int i = 0; i < 3000; i++) { /* the gauge follows the last chunk */
        worker_stats_get(f.w, &ws);
        if (ws.session_backlog == 0)
            break;
        usleep(10000);
    }
    CHECK_EQ_INT(ws.session_backlog, 0);
    CHECK(ws.session_batches >= 2 * NTERM / 64);
    worker_stop(f.w);
    fix_close(&f);
}

/* The old behaviour, kept by session_lane = false (and by the kafka queue): the changes
 * are in the report batches, so every change queued before the report is stored when it
 * is confirmed. */
MF_TEST(lane_off_report_waits_for_session_changes)
{
    struct fix f;
    struct done d = { 0 };
    fix_open(&f, "false", NULL);
    queue_storm(&f, &d);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK(wait_int(&d.calls, 1));
    CHECK_EQ_INT(atomic_load(&d.status), 0);
    CHECK_EQ_INT(atomic_load(&d.rows_at_done), 2 * NTERM);
    check_final_state(&f);
    struct worker_stats ws;
    worker_stats_get(f.w, &ws);
    CHECK_EQ_INT(ws.session_batches, 0);
    worker_stop(f.w);
    fix_close(&f);
}

/* Retry later on session writes: the chunk is written again, nothing lost or reordered. */
MF_TEST(lane_store_retry_loses_nothing)
{
    struct fix f;
    struct done d = { 0 };
    struct seam seam;
    atomic_init(&seam.retries_left, 7);
    atomic_init(&seam.sess_writes, 0);
    fix_open(&f, "true", &seam);
    queue_storm(&f, &d);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK(wait_int(&d.calls, 1));
    CHECK_EQ_INT(atomic_load(&d.status), 0);
    CHECK(wait_rows(f.st, 2 * NTERM));
    CHECK_EQ_INT(session_rows(f.st), 2 * NTERM);
    check_final_state(&f);
    struct worker_stats ws;
    worker_stats_get(f.w, &ws);
    CHECK(ws.store_retries >= 7);
    CHECK(atomic_load(&seam.sess_writes) >= 2 * NTERM / 64 + 7);
    worker_stop(f.w);
    fix_close(&f);
}

/* Stopping right after the report's confirm writes what the lane still holds. */
MF_TEST(lane_drained_on_stop)
{
    struct fix f;
    struct done d = { 0 };
    fix_open(&f, "true", NULL);
    queue_storm(&f, &d);
    CHECK_EQ_INT(worker_start(f.w), 0);
    CHECK(wait_int(&d.calls, 1));
    worker_stop(f.w);
    CHECK_EQ_INT(session_rows(f.st), 2 * NTERM);
    check_final_state(&f);
    fix_close(&f);
}
