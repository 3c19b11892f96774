/* front_io.c -- the front's I/O threads on libuv: one loop per thread, each with its own
 * SO_REUSEPORT listener (the kernel spreads connections; several front processes may share
 * the port the same way), reads into one per-loop buffer, small writes with uv_try_write,
 * a sweep timer (request deadlines, backpressure retries, liveness), and an inbox fed by
 * other threads (queue done callbacks, downlink commands, replacement kicks). With Kafka
 * (front->serve_dr) the loops serve the delivery reports themselves (io_serve): a thread's
 * own completions then skip the inbox (th->local_*, no lock, no wake-up).
 *
 * Memory per idle connection: struct front_conn (uv_tcp_t + session, ~450 bytes) and no
 * buffer: reads land in th->rbuf and only a partial frame is copied into conn->in, which is
 * released again when it empties.
 *
 * Invariants:
 *  - a connection is freed only when its handle is closed AND no queue callback refers to it
 *    (conn->inflight == 0), so a late done() never touches freed memory;
 *  - a blocked connection (queue full / in-flight cap) is not reading; its unprocessed bytes
 *    wait in conn->in (at most max_buffered_bytes) and are fed again by the sweep or by the
 *    next completion.
 *
 * Thread: front_thread_init/listen/start/stop/fini on the main thread; callbacks on the
 * thread's loop; front_thread_post and the done callback from any thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "front/front_int.h"
#include "meterflow/clock.h"

#define FRONT_WQ_MAX 65536u /* bytes queued for a terminal that does not read: then close */

struct front_wreq {
    uv_write_t req;
    struct front_conn *conn;
    uint8_t data[];
};

static void io_maybe_free(struct front_conn *conn);
static void io_churn_idle(uv_idle_t *h);
static void io_admit_due(uv_timer_t *t);
static int io_admit_on(struct front_thread *th, struct front_admit *a);
static void io_confirms_first(struct front_thread *th);

/* ---- per-thread terminal hash ---- */

static size_t byterm_slot(const struct front_thread *th, uint32_t key)
{
    return (size_t)((key * 2654435761u) & (uint32_t)(th->nbuckets - 1));
}

void front_byterm_add(struct front_thread *th, struct front_conn *conn)
{
    size_t s = byterm_slot(th, gw_terminal_key(conn->a1, conn->a2));
    conn->hnext = th->byterm[s];
    th->byterm[s] = conn;
}

void front_byterm_del(struct front_thread *th, struct front_conn *conn)
{
    struct front_conn **pp = &th->byterm[byterm_slot(th, gw_terminal_key(conn->a1, conn->a2))];
    for (; *pp; pp = &(*pp)->hnext)
        if (*pp == conn) {
            *pp = conn->hnext;
            conn->hnext = NULL;
            return;
        }
}

struct front_conn *front_byterm_find(struct front_thread *th, uint32_t key)
{
    struct front_conn *c = th->byterm[byterm_slot(th, key)];
    while (c && gw_terminal_key(c->a1, c->a2) != key)
        c = c->hnext;
    return c;
}

/* ---- the ops the session uses ---- */

static void io_on_write(uv_write_t *req, int status)
{
    struct front_wreq *w = (struct front_wreq *)req;
    (void)status;
    free(w);
}

/* Write now: uv_try_write, the rest (if any) queued with a copy. */
static int io_send_now(struct front_conn *conn, const uint8_t *p, size_t n)
{
    uv_stream_t *s = (uv_stream_t *)&conn->tcp;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
    size_t done = 0;

    if (conn->closed)
        return MF_ECLOSED;
    FRONT_ADD(conn->th, bytes_out, n);
    FRONT_INC(conn->th, writes);
    if (uv_stream_get_write_queue_size(s) == 0) {
        int r = uv_try_write(s, &b, 1);
        if (r == (int)n)
            return 0;
        if (r < 0 && r != UV_EAGAIN)
            return MF_ECLOSED; /* the read side sees the error and closes */
        done = r > 0 ? (size_t)r : 0;
    }
    if (uv_stream_get_write_queue_size(s) + (n - done) > FRONT_WQ_MAX) {
        conn->th->ops->close(conn, MF_OFF_KICKED);
        return MF_ECLOSED;
    }
    struct front_wreq *w = mf_malloc(sizeof(*w) + n - done);
    w->conn = conn;
    memcpy(w->data, p + done, n - done);
    b = uv_buf_init((char *)w->data, (unsigned)(n - done));
    if (uv_write(&w->req, s, &b, 1, io_on_write) != 0) {
        free(w);
        return MF_ECLOSED;
    }
    return 0;
}

/* ---- corking: answers to one connection gathered into one write ----
 * While a callback works on one connection (its read, or the durable results of its
 * frames), th->cork names it and its answers are appended to th->cork_buf; io_uncork writes
 * them with one system call. Several confirms completing together (a multi-frame report, a
 * window of reports), or the answers to frames that arrived in one segment, then cost one
 * write instead of one each. Order is kept: while corked, every answer to that connection
 * goes through the buffer. A connection is uncorked before it closes (a deny is flushed
 * first) and never stays corked past the callback. */

static void io_uncork(struct front_thread *th)
{
    struct front_conn *conn = th->cork;
    size_t n = th->cork_len;

    th->cork = NULL;
    th->cork_len = 0;
    front_sess_lat_flush(th); /* a confirm is in the statistics before it is sent */
    if (conn != NULL && n > 0)
        io_send_now(conn, th->cork_buf, n); /* an error: the read side sees it and closes */
}

static void io_cork(struct front_thread *th, struct front_conn *conn)
{
    if (th->cork == conn)
        return;
    io_uncork(th);
    if (!conn->closed)
        th->cork = conn;
}

static int io_send(struct front_conn *conn, const uint8_t *p, size_t n)
{
    struct front_thread *th = conn->th;

    if (conn->closed)
        return MF_ECLOSED;
    if (th->cork != conn)
        return io_send_now(conn, p, n);
    if (th->cork_len + n > sizeof(th->cork_buf)) {
        io_uncork(th); /* full: write what is gathered, keep gathering after it */
        if (conn->closed)
            return MF_ECLOSED;
        th->cork = conn;
        if (n > sizeof(th->cork_buf))
            return io_send_now(conn, p, n);
    }
    memcpy(th->cork_buf + th->cork_len, p, n);
    th->cork_len += n;
    return 0;
}

/* Set while this thread runs mq_serve (io_serve): done() for one of its own frames then goes
 * to th->local_* without a lock or a wake-up. */
static _Thread_local struct front_thread *io_serving;

static void io_done(void *opaque, int status)
{
    struct front_pend *pend = opaque;
    struct front_thread *th = pend->conn->th;

    pend->status = status;
    pend->next = NULL;
    if (io_serving == th) {
        if (th->local_tail)
            th->local_tail->next = pend;
        else
            th->local_head = pend;
        th->local_tail = pend;
        return;
    }
    pthread_mutex_lock(&th->mu);
    if (th->done_tail)
        th->done_tail->next = pend;
    else
        th->done_head = pend;
    th->done_tail = pend;
    atomic_store_explicit(&th->done_pending, 1, memory_order_relaxed);
    if (th->started && !th->stopping)
        uv_async_send(&th->async);
    pthread_mutex_unlock(&th->mu);
}

void front_io_dr_wake(void *opaque)
{
    struct front *f = opaque;
    unsigned i = atomic_fetch_add_explicit(&f->dr_rr, 1, memory_order_relaxed);
    struct front_thread *th = f->th[i % (unsigned)f->nthreads];

    pthread_mutex_lock(&th->mu);
    if (th->started && !th->stopping)
        uv_async_send(&th->async); /* io_async serves */
    pthread_mutex_unlock(&th->mu);
}

static int io_produce(struct front_conn *conn, const uint8_t *key, size_t key_len,
                      const uint8_t *env, size_t len, struct front_pend *pend)
{
    /* Lazy: the consumer is woken once per loop iteration (io_wake), not per frame. */
    return mq_produce_lazy(conn->th->f->q, MQ_UPLINK, key, key_len, env, len, io_done, pend);
}

/* Runs after the iteration's I/O callbacks (check) and before the loop blocks (prepare:
 * covers frames produced by timers and the inbox), so no lazy produce waits for a poll. */
static void io_wake_check(uv_check_t *h)
{
    struct front_thread *th = h->data;
    mq_wake(th->f->q);
}

static void io_wake_prep(uv_prepare_t *h)
{
    struct front_thread *th = h->data;
    mq_wake(th->f->q);
}

static int io_publish(struct front_thread *th, const uint8_t *key, size_t key_len,
                      const uint8_t *env, size_t len)
{
    return mq_publish(th->f->q, MQ_UPLINK, key, key_len, env, len);
}

static void io_unblock_unlink(struct front_conn *conn)
{
    struct front_conn **pp = &conn->th->blocked;
    for (; *pp; pp = &(*pp)->bnext)
        if (*pp == conn) {
            *pp = conn->bnext;
            break;
        }
    conn->bnext = NULL;
    conn->blocked = 0;
}

static void io_on_closed(uv_handle_t *h)
{
    struct front_conn *conn = h->data;
    conn->hclosed = 1;
    io_maybe_free(conn);
}

static void io_on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    uv_close((uv_handle_t *)req->handle, io_on_closed);
    free(req);
}

static void io_close(struct front_conn *conn, int reason)
{
    struct front_thread *th = conn->th;

    if (conn->closed)
        return;
    front_sess_end(conn, reason);
    if (th->cork == conn)
        io_uncork(th); /* answers gathered so far (e.g. a deny) go out before the close */
    conn->closed = 1;
    if (conn->blocked)
        io_unblock_unlink(conn);
    mf_buf_fini(&conn->in);
    atomic_fetch_sub(&th->f->nconns, 1);
    atomic_fetch_sub_explicit(&th->st.conns_open, 1, memory_order_relaxed);
    uv_read_stop((uv_stream_t *)&conn->tcp);
    if (uv_stream_get_write_queue_size((uv_stream_t *)&conn->tcp) > 0) {
        uv_shutdown_t *req = mf_malloc(sizeof(*req)); /* flush the answer (e.g. a deny) */
        if (uv_shutdown(req, (uv_stream_t *)&conn->tcp, io_on_shutdown) == 0)
            return;
        free(req);
    }
    uv_close((uv_handle_t *)&conn->tcp, io_on_closed);
}

static uint64_t io_claim(struct front_conn *conn);
static void io_unclaim(struct front_conn *conn);

const struct front_io_ops front_uv_ops = {
    .send = io_send,
    .produce = io_produce,
    .publish = io_publish,
    .close = io_close,
    .claim = io_claim,
    .unclaim = io_unclaim,
};

/* ---- the cross-thread registry, as the session sees it ---- */

static uint64_t io_claim(struct front_conn *conn)
{
    struct front_thread *th = conn->th;
    struct front *f = th->f;
    uint32_t key = gw_terminal_key(conn->a1, conn->a2);
    int old_thread = -1;
    uint64_t old = 0;

    front_registry_put(f, key, th->idx, conn->id, &old_thread, &old);
    if (old && old_thread == th->idx) {
        struct front_conn *o = front_byterm_find(th, key);
        if (o && o->id == old)
            io_close(o, MF_OFF_REPLACED);
    } else if (old && old_thread >= 0) {
        struct front_msg *m = mf_calloc(1, sizeof(*m));
        m->kind = FRONT_MSG_KICK;
        m->term_key = key;
        m->conn_id = old;
        front_thread_post(f->th[old_thread], m);
    }
    front_byterm_add(th, conn);
    return old;
}

static void io_unclaim(struct front_conn *conn)
{
    front_registry_del(conn->th->f, gw_terminal_key(conn->a1, conn->a2), conn->id);
    front_byterm_del(conn->th, conn);
}

/* ---- reading ---- */

static void io_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct front_conn *conn = h->data;
    size_t room = conn->th->f->o.max_buffered_bytes - conn->in.len;
    (void)suggested;
    /* One buffer per loop: libuv calls read_cb right after alloc_cb for the same handle. */
    buf->base = (char *)conn->th->rbuf;
    buf->len = MF_MIN((size_t)FRONT_RBUF, room);
}

static void io_block(struct front_conn *conn)
{
    struct front_thread *th = conn->th;
    if (conn->blocked)
        return;
    uv_read_stop((uv_stream_t *)&conn->tcp);
    conn->blocked = 1;
    conn->bnext = th->blocked;
    th->blocked = conn;
    FRONT_INC(th, backpressure);
}

static void io_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* The peer closed (or the read failed). Closing costs a session envelope and the socket's
 * teardown; when every terminal drops at once (a network or simulator outage) that is tens
 * of thousands in one poll. At most FRONT_CHURN_BATCH are closed per loop iteration; the
 * rest stop reading and wait in th->eof_* for io_churn_resume, so the sessions still
 * online are served between the batches. */
static void io_close_paced(struct front_conn *conn, int reason)
{
    struct front_thread *th = conn->th;

    /* with [front] admit_per_sec, closes are paced at that rate too (th->close_admit) */
    if (th->closes < FRONT_CHURN_BATCH && th->eof_head == NULL &&
        io_admit_on(th, &th->close_admit)) {
        th->closes++;
        io_close(conn, reason);
        return;
    }
    uv_read_stop((uv_stream_t *)&conn->tcp);
    conn->eof_pending = 1;
    conn->eof_reason = (uint8_t)reason;
    conn->enext = NULL;
    if (th->eof_tail)
        th->eof_tail->enext = conn;
    else
        th->eof_head = conn;
    th->eof_tail = conn;
    if (th->closes >= FRONT_CHURN_BATCH) /* else the admit timer is armed */
        uv_idle_start(&th->churn_idle, io_churn_idle); /* no poll may block meanwhile */
}

/* The next closes of dropped peers: at most FRONT_CHURN_BATCH per loop iteration, and with
 * [front] admit_per_sec at that rate (the admit timer is then armed for the next). The
 * uv_idle runs only while the batch, not the rate, holds them back: a rate wait must let
 * the poll block. */
static void io_eof_drain(struct front_thread *th)
{
    while (th->eof_head && th->closes < FRONT_CHURN_BATCH) {
        struct front_conn *conn = th->eof_head;
        if (!conn->closed && !io_admit_on(th, &th->close_admit))
            break;
        th->eof_head = conn->enext;
        if (!th->eof_head)
            th->eof_tail = NULL;
        conn->enext = NULL;
        conn->eof_pending = 0;
        if (!conn->closed) {
            th->closes++;
            io_close(conn, conn->eof_reason);
        } else {
            io_maybe_free(conn); /* closed meanwhile (replaced, swept): its free waited */
        }
    }
    if (th->eof_head && th->closes >= FRONT_CHURN_BATCH)
        uv_idle_start(&th->churn_idle, io_churn_idle);
    else
        uv_idle_stop(&th->churn_idle);
}

/* Feed conn->in again; resume reading when everything complete was accepted. */
static void io_retry(struct front_conn *conn)
{
    size_t used = 0;
    int rc = front_sess_input(conn, conn->in.data, conn->in.len, &used);
    if (conn->closed)
        return;
    mf_buf_consume(&conn->in, used);
    mf_buf_shrink(&conn->in, 0);
    if (rc == MF_EFULL)
        return;
    io_unblock_unlink(conn);
    conn->partial_since_us = front_now_mono();
    uv_read_start((uv_stream_t *)&conn->tcp, io_alloc, io_read);
}

static void io_keep_rest(struct front_conn *conn, const uint8_t *p, size_t n)
{
    if (mf_buf_append(&conn->in, p, n) != 0) {
        FRONT_DROP(conn->th, FRONT_DROP_BUFFER);
        io_close(conn, MF_OFF_KICKED);
    }
}

/* Feed what a read brought (straight from the loop buffer when nothing is held back). */
static void io_read_input(struct front_conn *conn, const uint8_t *p, size_t n)
{
    size_t used = 0;
    int rc;

    if (conn->in.len == 0) { /* common case: whole frames straight from the loop buffer */
        rc = front_sess_input(conn, p, n, &used);
        if (conn->closed)
            return;
        if (used < n) {
            conn->partial_since_us = front_now_mono();
            io_keep_rest(conn, p + used, n - used);
        }
    } else {
        size_t before = conn->in.len;
        io_keep_rest(conn, p, n);
        if (conn->closed)
            return;
        rc = front_sess_input(conn, conn->in.data, conn->in.len, &used);
        if (conn->closed)
            return;
        mf_buf_consume(&conn->in, used);
        mf_buf_shrink(&conn->in, 0);
        if (used > before)
            conn->partial_since_us = front_now_mono();
    }
    if (rc == MF_EFULL && !conn->closed)
        io_block(conn);
}

static void io_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct front_conn *conn = s->data;
    struct front_thread *th = conn->th;

    io_confirms_first(th);
    if (nread == 0 || conn->closed) /* closed by a completion's side effect: nothing to do */
        return;
    if (nread < 0) {
        if (nread == UV_ENOBUFS)
            FRONT_DROP(th, FRONT_DROP_BUFFER);
        io_close_paced(conn, nread == UV_ENOBUFS ? MF_OFF_KICKED : MF_OFF_CLOSED);
        return;
    }
    FRONT_ADD(th, bytes_in, (uint64_t)nread);
    io_cork(th, conn); /* the answers to every frame of this read: one write */
    io_read_input(conn, (const uint8_t *)buf->base, (size_t)nread);
    io_uncork(th);
}

/* ---- accepting ---- */

static void io_on_reject_closed(uv_handle_t *h)
{
    free(h);
}

/* Admission control ([front] admit_per_sec, front_admit.c). A new connection is accepted
 * at once (the kernel has done its handshake and holds its login already: leaving it in the
 * listen backlog spares nothing, and past the backlog the terminals' SYN retransmissions
 * come back in waves 1, 3, 7, 15 s apart -- measured, RELIABILITY), but it is read only
 * once admitted: its login, the registry lookup, the answer, the online envelope and the
 * worker's session write then come at a bounded rate, while every session already online
 * is read and confirmed as before. 1 when a connection may start reading now; 0 when this
 * thread's share is used up -- the admit timer is then armed for the next admission. */
static int io_admit(struct front_thread *th)
{
    return io_admit_on(th, &th->admit);
}

/* The same for one of the thread's buckets (th->admit, th->close_admit). */
static int io_admit_on(struct front_thread *th, struct front_admit *a)
{
    uint64_t wait_ns;

    if (front_admit_take(a, front_now_mono() * 1000u, &wait_ns))
        return 1;
    if (!uv_is_active((uv_handle_t *)&th->admit_timer))
        uv_timer_start(&th->admit_timer, io_admit_due, (wait_ns + 999999u) / 1000000u, 0);
    return 0;
}

/* timer: admissions are due: the waiting connections start reading, oldest first. Their
 * login_timeout_s counts from here (the wait is ours, not the terminal's). */
static void io_admit_due(uv_timer_t *t)
{
    struct front_thread *th = t->data;

    io_confirms_first(th);
    while (th->adm_head && io_admit(th)) {
        struct front_conn *conn = th->adm_head;
        th->adm_head = conn->anext;
        if (!th->adm_head)
            th->adm_tail = NULL;
        conn->anext = NULL;
        conn->adm_pending = 0;
        if (conn->closed) { /* swept or shut down meanwhile: its free waited for this */
            io_maybe_free(conn);
            continue;
        }
        conn->last_rx_us = front_now_mono();
        uv_read_start((uv_stream_t *)&conn->tcp, io_alloc, io_read);
    }
    io_eof_drain(th);
}

/* Take the connection libuv holds for the listener (it was announced to io_on_connection). */
static void io_accept(struct front_thread *th)
{
    struct front *f = th->f;
    uv_stream_t *server = (uv_stream_t *)&th->listener;

    th->accepts++;
    if (atomic_load(&f->nconns) >= f->o.max_connections) { /* admission before allocation */
        uv_tcp_t *t = mf_malloc(sizeof(*t));
        uv_tcp_init(&th->loop, t);
        uv_accept(server, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, io_on_reject_closed);
        FRONT_DROP(th, FRONT_DROP_MAX_CONN);
        if (mf_ratelimit_allow(&th->rl, FRONT_MOD))
            mf_warn(FRONT_MOD, "max_connections (%d) reached: connection closed",
                    f->o.max_connections);
        return;
    }
    struct front_conn *conn = mf_calloc(1, sizeof(*conn));
    conn->th = th;
    uv_tcp_init(&th->loop, &conn->tcp);
    conn->tcp.data = conn;
    if (uv_accept(server, (uv_stream_t *)&conn->tcp) != 0) {
        conn->closed = 1;
        uv_close((uv_handle_t *)&conn->tcp, io_on_reject_closed);
        return;
    }
    atomic_fetch_add(&f->nconns, 1);
    FRONT_INC(th, conns_open);
    FRONT_INC(th, conns_accepted);
    conn->id = atomic_fetch_add(&f->next_conn_id, 1);
    int plen = (int)sizeof(conn->peer);
    uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&conn->peer, &plen);
    mf_buf_init(&conn->in, f->o.max_buffered_bytes);
    conn->opened_us = conn->last_rx_us = front_now_mono();
    conn->tok_ms = (uint32_t)(conn->opened_us / 1000u);
    conn->tokens = (float)f->o.frames_per_sec * 2.0f;
    conn->last_ec1 = -1;
    conn->next = th->conns;
    if (th->conns)
        th->conns->prev = conn;
    th->conns = conn;
    uv_tcp_nodelay(&conn->tcp, 1);
    if (th->adm_head == NULL && io_admit(th)) {
        uv_read_start((uv_stream_t *)&conn->tcp, io_alloc, io_read);
        return;
    }
    conn->adm_pending = 1; /* read once admitted (io_admit_due), in accept order */
    conn->anext = NULL;
    if (th->adm_tail)
        th->adm_tail->anext = conn;
    else
        th->adm_head = conn;
    th->adm_tail = conn;
}

/* Accepting is paced: at most FRONT_CHURN_BATCH connections per loop iteration. In a
 * reconnect storm (every terminal at once after an outage) libuv would otherwise accept the
 * whole backlog in one callback and the next poll return thousands of logins, while the
 * reads and confirms of the terminals already online wait behind them. Not calling uv_accept
 * here makes libuv keep the announced fd and stop watching the listener; io_accept_resume
 * takes it after the iteration's I/O callbacks, which restarts the watcher. The kernel's
 * backlog holds the rest meanwhile (and pushes back on the clients when it is full). */
static void io_on_connection(uv_stream_t *server, int status)
{
    struct front_thread *th = server->data;

    io_confirms_first(th);
    if (status < 0) { /* EMFILE: libuv accepted and closed it with its reserve fd; no spin */
        FRONT_DROP(th, FRONT_DROP_ACCEPT_ERR);
        if (mf_ratelimit_allow(&th->rl, FRONT_MOD))
            mf_warn(FRONT_MOD, "accept: %s", uv_strerror(status));
        return;
    }
    if (th->accepts >= FRONT_CHURN_BATCH) {
        th->accept_held = 1;
        return;
    }
    io_accept(th);
}

/* idle: only keeps the poll from blocking while closes wait (io_churn_resume does them). */
static void io_churn_idle(uv_idle_t *h)
{
    (void)h;
}

/* check: after each iteration's I/O callbacks, the next batch of closes and accepts. */
static void io_churn_resume(uv_check_t *h)
{
    struct front_thread *th = h->data;

    io_confirms_first(th);
    th->accepts = 0;
    th->closes = 0;
    io_eof_drain(th);
    if (th->accept_held && !uv_is_closing((uv_handle_t *)&th->listener)) {
        th->accept_held = 0;
        io_accept(th);
    }
}

static void io_maybe_free(struct front_conn *conn)
{
    struct front_thread *th = conn->th;
    if (!conn->hclosed || conn->inflight > 0 || conn->eof_pending || conn->adm_pending)
        return;
    if (th->cork == conn) /* closed connections gather nothing: only the name to drop */
        th->cork = NULL;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        th->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    free(conn);
}

/* ---- the sweep timer and the inbox ---- */

static void io_sweep(uv_timer_t *t)
{
    struct front_thread *th = t->data;
    uint64_t now = front_now_mono();

    front_req_tick(th, now);
    for (struct front_conn *c = th->blocked, *next; c; c = next) {
        next = c->bnext;
        io_retry(c);
    }
    if (now < th->next_walk_us)
        return;
    th->next_walk_us = now + th->walk_us;
    for (struct front_conn *c = th->conns; c; c = c->next)
        front_sess_check(c, now);
}

static void io_handle_msg(struct front_thread *th, struct front_msg *m)
{
    struct front_conn *conn = front_byterm_find(th, m->term_key);

    if (m->kind == FRONT_MSG_KICK) {
        if (conn && conn->id == m->conn_id && !conn->closed)
            io_close(conn, MF_OFF_REPLACED);
        return;
    }
    FRONT_INC(th, cmds_received);
    if (!conn || conn->closed || conn->state != FRONT_S_ONLINE) {
        FRONT_INC(th, cmds_offline); /* went offline between routing and now */
        front_cmd_status(th, th->f, m->cmd->cmd_id, m->cmd->a1, m->cmd->a2, 0, MF_CMD_OFFLINE,
                         0, "terminal not connected");
        free(m->cmd);
        return;
    }
    front_req_submit(conn, m->cmd, 0);
}

static void io_shutdown_thread(struct front_thread *th);

/* Confirms for a list of completed frames (durable or not), with one clock read for the
 * list and one latency-histogram lock per write (io_uncork). Loop thread. */
static void io_complete(struct front_thread *th, struct front_pend *pend)
{
    uint64_t now = pend ? front_now_mono() : 0;

    while (pend) {
        struct front_pend *next = pend->next;
        struct front_conn *conn = pend->conn;
        io_cork(th, conn); /* consecutive confirms to one terminal: one write */
        front_sess_durable_at(pend, now);
        front_pend_free(th, pend);
        if (conn->blocked && !conn->closed)
            io_retry(conn); /* a slot in the in-flight window opened */
        io_maybe_free(conn);
        pend = next;
    }
    io_uncork(th);
}

/* Confirms before storm work. The inbox's wake-up (th->async) is one descriptor among the
 * thousands a reconnect storm makes ready at once: epoll reports them in the order they
 * became ready, so a confirm whose frame turned durable after the logins arrived would be
 * written after all of them (measured: done -> confirm 10-40 ms during the 19,000-terminal
 * storm, RELIABILITY). Every read, accept and churn batch therefore first writes the
 * confirms that are due; done_pending keeps this to one relaxed load when none are. */
static void io_confirms_first(struct front_thread *th)
{
    if (!atomic_load_explicit(&th->done_pending, memory_order_relaxed))
        return;
    pthread_mutex_lock(&th->mu);
    struct front_pend *pend = th->done_head;
    th->done_head = th->done_tail = NULL;
    atomic_store_explicit(&th->done_pending, 0, memory_order_relaxed);
    pthread_mutex_unlock(&th->mu);
    io_complete(th, pend); /* callers hold no cork (io_complete would flush it first) */
}

/* Run the queue's waiting delivery reports here (front->serve_dr), then confirm this
 * thread's frames among them; other threads' go to their inbox. Loop thread. */
static void io_serve(struct front_thread *th)
{
    struct front_pend *pend;

    io_serving = th;
    mq_serve(th->f->q);
    io_serving = NULL;
    pend = th->local_head;
    th->local_head = th->local_tail = NULL;
    io_complete(th, pend);
}

static void io_async(uv_async_t *a)
{
    struct front_thread *th = a->data;

    if (atomic_load_explicit(&th->f->serve_dr, memory_order_relaxed))
        io_serve(th);
    pthread_mutex_lock(&th->mu);
    struct front_pend *pend = th->done_head;
    struct front_msg *msg = th->msg_head;
    int stopping = th->stopping;
    th->done_head = th->done_tail = NULL;
    atomic_store_explicit(&th->done_pending, 0, memory_order_relaxed);
    th->msg_head = th->msg_tail = NULL;
    pthread_mutex_unlock(&th->mu);
    io_complete(th, pend);
    while (msg) {
        struct front_msg *next = msg->next;
        io_handle_msg(th, msg);
        free(msg);
        msg = next;
    }
    if (stopping)
        io_shutdown_thread(th);
}

int front_thread_post(struct front_thread *th, struct front_msg *m)
{
    pthread_mutex_lock(&th->mu);
    if (!th->started || th->stopping) {
        pthread_mutex_unlock(&th->mu);
        free(m->cmd);
        free(m);
        return MF_ECLOSED;
    }
    m->next = NULL;
    if (th->msg_tail)
        th->msg_tail->next = m;
    else
        th->msg_head = m;
    th->msg_tail = m;
    uv_async_send(&th->async);
    pthread_mutex_unlock(&th->mu);
    return 0;
}

static void io_shutdown_thread(struct front_thread *th)
{
    if (!uv_is_closing((uv_handle_t *)&th->listener))
        uv_close((uv_handle_t *)&th->listener, NULL);
    for (struct front_conn *c = th->conns; c; c = c->next)
        io_close(c, MF_OFF_SHUTDOWN);
    uv_timer_stop(&th->sweep);
    if (!uv_is_closing((uv_handle_t *)&th->sweep))
        uv_close((uv_handle_t *)&th->sweep, NULL);
    mq_wake(th->f->q);
    if (!uv_is_closing((uv_handle_t *)&th->wake_prep))
        uv_close((uv_handle_t *)&th->wake_prep, NULL);
    if (!uv_is_closing((uv_handle_t *)&th->wake_check))
        uv_close((uv_handle_t *)&th->wake_check, NULL);
    if (!uv_is_closing((uv_handle_t *)&th->churn_check))
        uv_close((uv_handle_t *)&th->churn_check, NULL);
    if (!uv_is_closing((uv_handle_t *)&th->churn_idle))
        uv_close((uv_handle_t *)&th->churn_idle, NULL);
    if (!uv_is_closing((uv_handle_t *)&th->admit_timer))
        uv_close((uv_handle_t *)&th->admit_timer, NULL);
    /* th->stopping is set under th->mu, so no done callback sends to a closing handle. */
    if (!uv_is_closing((uv_handle_t *)&th->async))
        uv_close((uv_handle_t *)&th->async, NULL);
}

/* ---- lifecycle ---- */

int front_thread_init(struct front_thread *th, struct front *f, int idx, char *err, size_t len)
{
    const struct front_opts *o = &f->o;

    th->f = f;
    th->idx = idx;
    th->ops = &front_uv_ops;
    if (uv_loop_init(&th->loop) != 0) {
        snprintf(err, len, "front: uv_loop_init failed");
        return MF_ESYS;
    }
    pthread_mutex_init(&th->mu, NULL);
    pthread_mutex_init(&th->hist_mu, NULL);
    mf_hist_reset(&th->hist);
    mf_ratelimit_init(&th->rl, 5.0, 20.0);
    th->nbuckets = 1024;
    while (th->nbuckets < (size_t)o->max_connections / (size_t)f->nthreads &&
           th->nbuckets < (1u << 20))
        th->nbuckets <<= 1;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    th->byterm = mf_calloc(th->nbuckets, sizeof(*th->byterm));
    uv_async_init(&th->loop, &th->async, io_async);
    th->async.data = th;
    uv_timer_init(&th->loop, &th->sweep);
    th->sweep.data = th;
    uv_prepare_init(&th->loop, &th->wake_prep);
    th->wake_prep.data = th;
    uv_check_init(&th->loop, &th->wake_check);
    th->wake_check.data = th;
    uv_check_init(&th->loop, &th->churn_check);
    th->churn_check.data = th;
    uv_idle_init(&th->loop, &th->churn_idle);
    th->churn_idle.data = th;
    uv_timer_init(&th->loop, &th->admit_timer);
    th->admit_timer.data = th;
    /* this thread's share of the rate and burst (SO_REUSEPORT spreads connections evenly) */
    front_admit_init(&th->admit, (uint32_t)((o->admit_per_sec + f->nthreads - 1) / f->nthreads),
                     (uint32_t)MF_MAX(1, o->admit_burst / f->nthreads));
    th->close_admit = th->admit; /* the same rate for the closes of dropped peers */
    uint64_t w = MF_MIN(MF_MIN(o->liveness_us, o->login_timeout_us), o->partial_timeout_us) / 4;
    th->walk_us = MF_MAX(MF_MIN(w, (uint64_t)1000000), o->retry_tick_us);
    return 0;
}

int front_thread_listen(struct front_thread *th, char *err, size_t len)
{
    struct front *f = th->f;
    struct sockaddr_storage ss;
    int one = 1;
    int port = f->bound_port ? f->bound_port : f->o.port;

    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(f->o.listen, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(f->o.listen, port, (struct sockaddr_in6 *)&ss) != 0) {
        snprintf(err, len, "[front] listen: '%s' is not an IP address", f->o.listen);
        return MF_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss,
             ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6))) {
        char eb[128];
        snprintf(err, len, "[front] listen %s port %d: %s", f->o.listen, port,
                 mf_strerror(errno, eb, sizeof(eb)));
        if (fd >= 0)
            close(fd);
        return MF_ESYS;
    }
    uv_tcp_init(&th->loop, &th->listener);
    th->listener.data = th;
    int rc = uv_tcp_open(&th->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&th->listener, 4096, io_on_connection);
    if (rc != 0) {
        snprintf(err, len, "[front] listen %s port %d: %s", f->o.listen, port, uv_strerror(rc));
        return MF_ESYS;
    }
    if (!f->bound_port) {
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        f->bound_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

static void *io_main(void *arg)
{
    struct front_thread *th = arg;
    uv_timer_start(&th->sweep, io_sweep, th->f->o.retry_tick_us / 1000u,
                   th->f->o.retry_tick_us / 1000u);
    uv_prepare_start(&th->wake_prep, io_wake_prep);
    uv_check_start(&th->wake_check, io_wake_check);
    uv_check_start(&th->churn_check, io_churn_resume);
    uv_run(&th->loop, UV_RUN_DEFAULT);
    return NULL;
}

int front_thread_start(struct front_thread *th)
{
    pthread_mutex_lock(&th->mu);
    th->started = 1;
    pthread_mutex_unlock(&th->mu);
    if (pthread_create(&th->tid, NULL, io_main, th) != 0) {
        th->started = 0;
        return MF_ESYS;
    }
    th->joinable = 1;
    pthread_setname_np(th->tid, "front-io"); /* benchmarks sum these threads' CPU */
    return 0;
}

void front_thread_stop(struct front_thread *th)
{
    if (!th->joinable)
        return;
    pthread_mutex_lock(&th->mu);
    th->stopping = 1;
    uv_async_send(&th->async);
    pthread_mutex_unlock(&th->mu);
    pthread_join(th->tid, NULL);
    th->joinable = 0;
}

static void io_close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* After the thread ended (or never started). Queue callbacks must be over (mq_close). */
void front_thread_fini(struct front_thread *th)
{
    if (!th->f)
        return;
    uv_walk(&th->loop, io_close_walk, NULL);
    uv_run(&th->loop, UV_RUN_DEFAULT);
    uv_loop_close(&th->loop);
    for (struct front_pend *p = th->done_head, *n; p; p = n) {
        n = p->next;
        p->conn->inflight--;
        free(p);
    }
    for (struct front_msg *m = th->msg_head, *n; m; m = n) {
        n = m->next;
        free(m->cmd);
        free(m);
    }
    for (struct front_conn *c = th->conns, *n; c; c = n) {
        n = c->next;
        mf_buf_fini(&c->in);
        free(c);
    }
    for (struct front_pend *p = th->pend_pool, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    th->pend_pool = NULL;
    th->npend_pool = 0;
    free(th->byterm);
    pthread_mutex_destroy(&th->mu);
    pthread_mutex_destroy(&th->hist_mu);
}
