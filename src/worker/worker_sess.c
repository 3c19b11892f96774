/* worker_sess.c -- the session lane: terminals' online/offline/clock changes written in
 * transactions of their own, so reports are never queued behind them.
 *
 * Why. When every terminal of a front reconnects at once (docs/RELIABILITY.md, the
 * 19,000-terminal storm), the front publishes two session envelopes per terminal (offline,
 * then online) on the uplink topic, keyed like the terminal's frames. Written in the report
 * batches, ~38,000 session records (a session_log row and a terminals upsert each, ~12 us)
 * made every store batch of the storm tens of milliseconds long and the worker's poll wait
 * for it, so the well-behaved terminals' reports -- whose confirm is the commit of the queue
 * batch holding them -- waited behind session writes.
 *
 * What. With the lane on, worker_msg.c hands each session record here instead of to the
 * report batch: it is copied into a bounded FIFO ring (its peer text inline, its reason a
 * constant). The consumer loop (worker.c) writes the report batch when it is due, commits
 * its queue batches at once, and between polls writes the ring's oldest records, at most
 * session_batch_max per store transaction: a report waits for at most one such chunk.
 *
 * Why committing before the session rows exist loses nothing (embedded queue only, which is
 * why worker.c turns the lane on only there): the front publishes session envelopes
 * fire-and-forget (mq_publish, no done()), and the embedded queue never delivers a message
 * again -- neither after a commit nor after a release -- so once the worker holds the record,
 * committing it or not makes no difference to whether it can be lost: a crash loses it with
 * the process either way, and a store failure that released the batch lost it before too.
 * With Kafka the committed offset is what brings a message back after a crash, so there the
 * session records stay in the report batch (the front's confirms do not wait for the worker
 * in Kafka mode anyway).
 *
 * Invariants: ring records are in the order they were consumed (one terminal's changes stay
 * in order; "last change wins" in the store is per terminal); ring.n <= WK_SESS_MAX, and the
 * loop never polls more messages than the ring has room for (each message gives at most one
 * session record); a record leaves the ring only after the store wrote it (or refused it for
 * a cap, counted as dropped).
 * Thread: the worker's consumer thread only (the stats under w->mu). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker_int.h"

#define WK_MOD "worker"

size_t wk_sess_room(const struct worker *w)
{
    return WK_SESS_MAX - w->sess.n;
}

void wk_sess_gauge(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stats.session_backlog = w->sess.n;
    pthread_mutex_unlock(&w->mu);
}

/* Double the ring (up to WK_SESS_MAX), oldest record first at index 0. */
static void sess_grow(struct wk_sess *ss)
{
    size_t cap = ss->cap ? MF_MIN(ss->cap * 2, (size_t)WK_SESS_MAX) : 1024;
    struct wk_sess_ent *r = mf_calloc(cap, sizeof(*r));
    for (size_t i = 0; i < ss->n; i++) {
        r[i] = ss->ring[(ss->head + i) % ss->cap];
        if (r[i].s.peer)
            r[i].s.peer = r[i].peer; /* the copy points at its own text */
    }
    free(ss->ring);
    ss->ring = r;
    ss->cap = cap;
    ss->head = 0;
}

void wk_sess_push(struct worker *w, const struct store_session *s)
{
    struct wk_sess *ss = &w->sess;
    assert(ss->n < WK_SESS_MAX); /* the loop polls at most wk_sess_room() messages */
    if (ss->n == ss->cap)
        sess_grow(ss);
    struct wk_sess_ent *e = &ss->ring[(ss->head + ss->n) % ss->cap];
    e->s = *s; /* reason: a constant of worker_msg.c */
    e->s.peer = NULL;
    if (s->peer) {
        mf_strlcpy(e->peer, s->peer, sizeof(e->peer));
        e->s.peer = e->peer;
    }
    ss->n++;
}

/* The oldest k records, contiguous for one store batch (pointers into the ring). */
static void sess_chunk(struct worker *w, size_t k)
{
    struct wk_sess *ss = &w->sess;
    if (!ss->chunk)
        ss->chunk = mf_calloc(w->sess_batch_max, sizeof(*ss->chunk));
    for (size_t i = 0; i < k; i++)
        ss->chunk[i] = ss->ring[(ss->head + i) % ss->cap].s;
}

static void sess_pop(struct worker *w, size_t k, int written)
{
    struct wk_sess *ss = &w->sess;
    ss->head = (ss->head + k) % ss->cap;
    ss->n -= k;
    pthread_mutex_lock(&w->mu);
    if (written) {
        w->stats.records += k;
        w->stats.session_batches++;
    } else {
        w->stats.dropped_records += k;
    }
    w->stats.session_backlog = ss->n;
    pthread_mutex_unlock(&w->mu);
}

/* Write the oldest records (at most session_batch_max) in one store transaction, retrying
 * with the loop's back-off while the store says retry later (final: once). */
int wk_sess_write(struct worker *w, int final)
{
    struct store_batch b;
    size_t k = MF_MIN(w->sess.n, w->sess_batch_max);
    int delay = w->retry_min_ms, tries = 0;
    if (k == 0)
        return 0;
    sess_chunk(w, k);
    memset(&b, 0, sizeof(b));
    b.sessions = w->sess.chunk;
    b.n_sessions = k;
    for (;;) {
        int rc = wk_store_write(w, &b);
        char why[256];
        if (rc == 0) {
            sess_pop(w, k, 1);
            return 0;
        }
        store_last_error(w->st, why, sizeof(why));
        if (rc == MF_EINVAL || rc == MF_ERANGE) { /* a cap: not a reason to stop ingestion */
            mf_error(WK_MOD, "store refused session changes (%s: %s); dropping %zu",
                     mf_status_str(rc), why, k);
            sess_pop(w, k, 0);
            return 0;
        }
        if (!mf_status_is_retry(rc)) {
            mf_error(WK_MOD, "store batch of %zu session changes failed: %s (%s); stopping", k,
                     mf_status_str(rc), why);
            return rc;
        }
        wk_stat_add(w, &w->stats.store_retries, 1);
        if (final || wk_sleep_ms(w, delay))
            return MF_ECLOSED;
        if (++tries == 5 || tries % 20 == 0)
            mf_warn(WK_MOD, "store cannot commit (%s), retry %d of %zu session changes", why,
                    tries, k);
        delay = MF_MIN(delay * 2, w->retry_max_ms);
    }
}

/* Stopping: what the ring still holds, one attempt per chunk. */
void wk_sess_drain(struct worker *w)
{
    while (w->sess.n > 0)
        if (wk_sess_write(w, 1) != 0) {
            mf_warn(WK_MOD, "stopping with %zu session changes unwritten", w->sess.n);
            break;
        }
    wk_sess_gauge(w);
}

void wk_sess_free(struct worker *w)
{
    free(w->sess.ring);
    free(w->sess.chunk);
    memset(&w->sess, 0, sizeof(w->sess));
}
