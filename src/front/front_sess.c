/* front_sess.c -- one terminal's 376.1 session: framing with resynchronisation, link
 * management (login / heartbeat / logout), reports handed to the queue and confirmed only
 * once durable, answers routed to the master request that asked.
 *
 * Invariants:
 *  - A frame with SEQ.CON=1 other than a link test is confirmed only by front_sess_durable
 *    with status 0 (the queue's done callback). Link tests carry no data and are answered
 *    at once.
 *  - A report (PRM=1, CON=1) is in the queue at most once per link: a retransmission (same
 *    PSEQ and bytes) arriving while a copy waits in the queue is not queued again; the
 *    copy's confirm answers it. conn->pends lists the copies (linked here, unlinked by
 *    front_sess_durable).
 *  - front_sess_input has no side effect for a frame it reports as MF_EFULL: the caller keeps
 *    the bytes and feeds the same frame again later (backpressure), so matching and rate
 *    accounting are applied only after the queue accepted the frame.
 *  - No libuv here: side effects go through th->ops (front_io.c, or a test/fuzz stub).
 *
 * Thread: the connection's I/O thread only. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front_int.h"
#include "meterflow/clock.h"
#include "meterflow/gw3761_data.h"

/* DA/DT of p0 F1 / F2 / F3 (section 6): login, logout, heartbeat. */
static const uint8_t dadt_f1[4] = { 0x00, 0x00, 0x01, 0x00 };
static const uint8_t dadt_f2[4] = { 0x00, 0x00, 0x02, 0x00 };
static const uint8_t dadt_f3[4] = { 0x00, 0x00, 0x04, 0x00 };

#define C_LINK_ANSWER 0x0B /* PRM0 fc11 "link status": answers to AFN 02 (section 7) */
#define C_CONFIRM 0x00     /* PRM0 fc0 "confirm": answers to CON=1 reports */

void front_conn_peer_format(const struct front_conn *conn, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (conn->peer.sin6_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&conn->peer;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        port = ntohs(sin->sin_port);
    } else if (conn->peer.sin6_family == AF_INET6) {
        inet_ntop(AF_INET6, &conn->peer.sin6_addr, ip, sizeof(ip));
        port = ntohs(conn->peer.sin6_port);
    }
    snprintf(out, len, "%s:%d", ip, port);
}

int front_sess_answer(struct front_conn *conn, uint16_t a1, uint16_t a2, uint8_t c, uint8_t msa,
                      uint8_t rseq, const struct gw_tp *tp, int fn, uint8_t f3_afn,
                      const uint8_t *f3_dadt)
{
    uint8_t units[32];
    uint8_t out[64];
    struct gw_frame_out fo;
    struct gw_ubuf ub;
    struct gw_dadt d;

    gw_ub_init(&ub, units, sizeof(units));
    if (f3_dadt && gw_dadt_decode(f3_dadt, &d) == 0 && d.npn > 0 && d.nfn > 0) {
        /* p0 F3 per-item: the AFN confirmed + its DA/DT + ERR 0 (vector confirm-03) */
        struct gw_item_ack it = { d.pn[0], d.fn[0], 0 };
        gw_b_confirm_items(&ub, f3_afn, &it, 1);
    } else if (fn == 2) {
        gw_b_deny_all(&ub);
    } else {
        gw_b_confirm_all(&ub);
    }
    if (ub.err)
        return ub.err;
    memset(&fo, 0, sizeof(fo));
    fo.c = c;
    fo.addr.a1 = a1;
    fo.addr.a2 = a2;
    fo.addr.msa = msa;
    fo.afn = GW_AFN_CONFIRM;
    fo.seq.fir = 1;
    fo.seq.fin = 1;
    fo.seq.pseq = rseq & 15u;
    fo.units = units;
    fo.units_len = ub.len;
    if (tp) { /* echo the Tp of the frame answered (section 7 [R], 10.3) */
        fo.has_tp = 1;
        fo.tp = *tp;
    }
    int n = gw_frame_encode(&fo, out, sizeof(out));
    if (n < 0)
        return n;
    FRONT_INC(conn->th, frames_out);
    return conn->th->ops->send(conn, out, (size_t)n);
}

static void sess_key(const struct front_conn *conn, uint16_t a1, uint16_t a2, char *key)
{
    (void)conn;
    gw_terminal_format(a1, a2, key);
}

/* Session envelope for conn's terminal; conn_id lets a replacing login speak for the session
 * it replaces. */
void front_sess_publish(struct front_conn *conn, int state, int reason, uint64_t conn_id)
{
    struct front_thread *th = conn->th;
    struct mf_env_session s;
    struct mf_env e;
    uint8_t payload[MF_ENV_SESSION_MAX + 16];
    char key[GW_TERMINAL_STRLEN];

    memset(&s, 0, sizeof(s));
    s.state = (uint8_t)state;
    s.reason = (uint8_t)reason;
    s.known = conn->known;
    s.has_clock = state == MF_SESSION_CLOCK ? 1 : 0;
    s.clock_offset_s = s.has_clock ? conn->clock_offset_s : 0;
    front_conn_peer_format(conn, s.peer, sizeof(s.peer));
    int plen = mf_env_session_encode(&s, payload, sizeof(payload));
    if (plen < 0)
        return;
    memset(&e, 0, sizeof(e));
    e.kind = MF_ENV_SESSION;
    e.received_at_us = mf_now_us();
    e.conn_id = conn_id;
    e.front_id = (uint16_t)th->f->o.node_id;
    e.a1 = conn->a1;
    e.a2 = conn->a2;
    e.payload = payload;
    e.payload_len = (uint32_t)plen;
    int n = mf_env_encode(&e, th->scratch, sizeof(th->scratch));
    if (n < 0)
        return;
    sess_key(conn, conn->a1, conn->a2, key);
    if (th->ops->publish(th, (const uint8_t *)key, GW_TERMINAL_STRLEN - 1, th->scratch,
                         (size_t)n) != 0)
        FRONT_DROP(th, FRONT_DROP_PUBLISH);
}

/* The session (not necessarily the connection) ends. */
static void sess_offline(struct front_conn *conn, int reason)
{
    if (conn->state != FRONT_S_ONLINE)
        return;
    conn->th->ops->unclaim(conn);
    if (reason != MF_OFF_REPLACED) /* the replacing login already published it, in order */
        front_sess_publish(conn, MF_SESSION_OFFLINE, reason, conn->id);
    conn->state = FRONT_S_LOGGED_OUT;
    front_req_drop_all(conn);
}

void front_sess_end(struct front_conn *conn, int reason)
{
    sess_offline(conn, reason);
    conn->state = FRONT_S_CLOSING;
}

static int sess_close(struct front_conn *conn, int reason, int why, const char *what)
{
    if (why >= 0)
        FRONT_DROP(conn->th, why);
    if (mf_log_level >= MF_LOG_WARN && mf_ratelimit_allow(&conn->th->rl, FRONT_MOD)) {
        char peer[64], key[GW_TERMINAL_STRLEN];
        front_conn_peer_format(conn, peer, sizeof(peer));
        gw_terminal_format(conn->a1, conn->a2, key);
        mf_warn(FRONT_MOD, "%s %s: closing: %s", conn->state == FRONT_S_ONLINE ? key : "-",
                peer, what);
    }
    conn->th->ops->close(conn, reason);
    return MF_ECLOSED;
}

/* 2013 heartbeat clock (A.1) minus our clock, in seconds. */
static int sess_clock_offset(const uint8_t *b, int32_t *off)
{
    struct gw_time t;
    struct mf_civil c;

    if (gw_time_decode(1, b, &t) != GW_VS_OK)
        return MF_EINVAL;
    c.year = t.year;
    c.month = t.mon;
    c.day = t.day;
    c.hour = t.hour;
    c.min = t.min;
    c.sec = t.sec;
    int64_t d = mf_civil_to_utc(&c) - (int64_t)(mf_now_us() / 1000000u);
    if (d > INT32_MAX || d < INT32_MIN)
        return MF_EINVAL;
    *off = (int32_t)d;
    return 0;
}

static void sess_heartbeat_clock(struct front_conn *conn, const struct gw_frame *fr)
{
    int32_t off;

    if (fr->units_len < 4 + 6 || sess_clock_offset(fr->units + 4, &off) != 0)
        return;
    int32_t delta = off - conn->clock_offset_s;
    int first = !conn->has_clock;
    conn->clock_offset_s = off;
    conn->has_clock = 1;
    if (first || delta >= conn->th->f->o.clock_publish_delta_s ||
        -delta >= conn->th->f->o.clock_publish_delta_s)
        front_sess_publish(conn, MF_SESSION_CLOCK, MF_OFF_NONE, conn->id);
}

static int sess_link_answer(struct front_conn *conn, const struct gw_frame *fr)
{
    const struct gw_tp *tp = fr->has_tp ? &fr->tp : NULL;
    if (conn->confirm_f3)
        return front_sess_answer(conn, fr->addr.a1, fr->addr.a2, C_LINK_ANSWER, 0,
                                 fr->seq.pseq, tp, 3, GW_AFN_LINK, fr->units);
    return front_sess_answer(conn, fr->addr.a1, fr->addr.a2, C_LINK_ANSWER, 0, fr->seq.pseq, tp,
                             1, 0, NULL);
}

static int sess_login(struct front_conn *conn, const struct gw_frame *fr)
{
    struct front *f = conn->th->f;
    struct front_term_info ti;

    int allowed = front_login_allowed(f, conn);
    if (allowed <= 0)
        return sess_close(conn, MF_OFF_KICKED, FRONT_DROP_LOGIN_RATE,
                          allowed == 0 ? "login rate over limit (front.login_per_min per "
                                         "source address)"
                                       : "login rate over limit (front.login_trusted_per_min "
                                         "per address of login_trusted_nets)");
    if (conn->state == FRONT_S_ONLINE && (conn->a1 != fr->addr.a1 || conn->a2 != fr->addr.a2))
        sess_offline(conn, MF_OFF_CLOSED); /* another terminal on the same socket */
    front_term_lookup(f, fr->addr.a1, fr->addr.a2, &ti);
    if (!ti.known && !f->o.accept_unknown) {
        char key[GW_TERMINAL_STRLEN], what[64];
        front_sess_answer(conn, fr->addr.a1, fr->addr.a2, C_LINK_ANSWER, 0, fr->seq.pseq,
                          fr->has_tp ? &fr->tp : NULL, 2, 0, NULL);
        gw_terminal_format(fr->addr.a1, fr->addr.a2, key); /* the log names who was denied */
        snprintf(what, sizeof(what), "unknown terminal %s denied", key);
        return sess_close(conn, MF_OFF_KICKED, FRONT_DROP_DENIED, what);
    }
    if (conn->state != FRONT_S_ONLINE) {
        conn->a1 = fr->addr.a1;
        conn->a2 = fr->addr.a2;
        conn->known = ti.known;
        conn->confirm_f3 = ti.confirm_f3;
        conn->pw_len = ti.pw_len ? ti.pw_len : (uint8_t)f->o.pw_len;
        conn->last_ec1 = ti.last_ec1;
        conn->has_clock = 0;
        conn->state = FRONT_S_ONLINE;
        uint64_t old = conn->th->ops->claim(conn);
        if (old) {
            front_sess_publish(conn, MF_SESSION_OFFLINE, MF_OFF_REPLACED, old);
            FRONT_INC(conn->th, replaced);
        }
        front_sess_publish(conn, MF_SESSION_ONLINE, MF_OFF_NONE, conn->id);
        FRONT_INC(conn->th, logins);
    }
    int rc = sess_link_answer(conn, fr);
    if (fr->has_ec && f->o.event_read)
        front_req_event_read(conn, fr->ec1);
    return rc < 0 ? rc : 0;
}

/* AFN=02 from the terminal (PRM=1): login, heartbeat, logout. */
static int sess_link(struct front_conn *conn, const struct gw_frame *fr)
{
    if (fr->units_len < 4)
        return 0;
    if (memcmp(fr->units, dadt_f1, 4) == 0)
        return sess_login(conn, fr);
    if (conn->state != FRONT_S_ONLINE || fr->addr.a1 != conn->a1 || fr->addr.a2 != conn->a2) {
        FRONT_DROP(conn->th, FRONT_DROP_BEFORE_LOGIN);
        return 0;
    }
    if (memcmp(fr->units, dadt_f3, 4) == 0) {
        FRONT_INC(conn->th, heartbeats);
        sess_heartbeat_clock(conn, fr);
        int rc = sess_link_answer(conn, fr);
        if (fr->has_ec && conn->th->f->o.event_read)
            front_req_event_read(conn, fr->ec1);
        return rc < 0 ? rc : 0;
    }
    if (memcmp(fr->units, dadt_f2, 4) == 0) {
        FRONT_INC(conn->th, logouts);
        int rc = sess_link_answer(conn, fr);
        sess_offline(conn, MF_OFF_LOGOUT); /* the terminal closes; the sweep closes if not */
        conn->last_rx_us = front_now_mono();
        return rc < 0 ? rc : 0;
    }
    FRONT_DROP(conn->th, FRONT_DROP_BAD_FRAME);
    return 0;
}

/* Token bucket per terminal: 1 when a frame may pass now. take: consume the token. */
static int sess_rate_ok(struct front_conn *conn, uint64_t now_us, int take)
{
    int fps = conn->th->f->o.frames_per_sec;
    if (fps <= 0)
        return 1;
    uint32_t now_ms = (uint32_t)(now_us / 1000u);
    float t = conn->tokens + (float)(uint32_t)(now_ms - conn->tok_ms) * (float)fps / 1000.0f;
    float burst = (float)fps * 2.0f;
    if (t > burst)
        t = burst;
    if (t < 1.0f)
        return 0;
    if (take) {
        conn->tokens = t - 1.0f;
        conn->tok_ms = now_ms;
    }
    return 1;
}

/* Fingerprint of a frame's bytes (multiply-xor over 8-byte words; not cryptographic): with
 * PSEQ and length it tells a retransmission (the same bytes) from another frame. */
static uint32_t sess_fingerprint(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ n, w;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDu;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, p + i, n - i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53u;
    return (uint32_t)(h ^ (h >> 29));
}

/* 1 when a copy of this report (same PSEQ, length and bytes) is in the queue for this link:
 * the terminal retransmitted it because the confirm has not come yet (a stuck store). The
 * first copy's confirm answers both (the terminal matches confirms by PSEQ), so queueing it
 * again would only add work ahead of the live frames once the store is back (Finding 6). */
static int sess_in_queue(const struct front_conn *conn, const struct gw_frame *fr, uint32_t fp)
{
    for (const struct front_pend *p = conn->pends; p; p = p->cnext)
        if (p->rseq == fr->seq.pseq && p->raw_len == fr->raw_len && p->fp == fp)
            return 1;
    return 0;
}

static void sess_pend_link(struct front_conn *conn, struct front_pend *pend)
{
    pend->linked = 1;
    pend->cprev = NULL;
    pend->cnext = conn->pends;
    if (conn->pends)
        conn->pends->cprev = pend;
    conn->pends = pend;
}

static void sess_pend_unlink(struct front_pend *pend)
{
    if (!pend->linked)
        return;
    if (pend->cprev)
        pend->cprev->cnext = pend->cnext;
    else
        pend->conn->pends = pend->cnext;
    if (pend->cnext)
        pend->cnext->cprev = pend->cprev;
    pend->linked = 0;
}

struct front_pend *front_pend_new(struct front_thread *th)
{
    struct front_pend *pend = th->pend_pool;

    if (pend == NULL)
        return mf_calloc(1, sizeof(*pend));
    th->pend_pool = pend->next;
    th->npend_pool--;
    memset(pend, 0, sizeof(*pend));
    return pend;
}

void front_pend_free(struct front_thread *th, struct front_pend *pend)
{
    if (th->npend_pool >= FRONT_PEND_POOL) {
        free(pend);
        return;
    }
    pend->next = th->pend_pool;
    th->pend_pool = pend;
    th->npend_pool++;
}

/* A data frame (report, answer, confirm/deny from the terminal) of an online session.
 * *real: the wall clock (us) of the bytes' arrival, read by the first frame that needs it
 * (one clock read per received segment, not per frame). */
static int sess_data(struct front_conn *conn, const struct gw_frame *fr, uint64_t now,
                     uint64_t *real)
{
    struct front_thread *th = conn->th;
    struct mf_env e;
    char key[GW_TERMINAL_STRLEN];
    int internal = 0;
    int track = fr->prm && fr->seq.con && fr->raw_len <= UINT16_MAX;
    uint32_t fp = track ? sess_fingerprint(fr->raw, fr->raw_len) : 0;

    if (track && sess_in_queue(conn, fr, fp)) {
        FRONT_DROP(th, FRONT_DROP_RETRANSMIT); /* before the rate and in-flight checks: it
                                                * costs neither a token nor a queue slot */
        return 0;
    }
    if (!sess_rate_ok(conn, now, 0)) {
        FRONT_DROP(th, FRONT_DROP_RATE); /* not confirmed: the terminal retransmits later */
        return 0;
    }
    if (conn->inflight >= th->f->o.max_inflight)
        return MF_EFULL;
    uint64_t cmd_id = fr->prm == 0 ? front_req_match(conn, fr, &internal) : 0;
    memset(&e, 0, sizeof(e));
    e.kind = MF_ENV_FRAME;
    if (*real == 0)
        *real = mf_now_us();
    e.received_at_us = *real;
    e.conn_id = conn->id;
    e.cmd_id = cmd_id;
    e.front_id = (uint16_t)th->f->o.node_id;
    e.a1 = fr->addr.a1;
    e.a2 = fr->addr.a2;
    e.msa = fr->addr.msa;
    e.payload = fr->raw;
    e.payload_len = (uint32_t)fr->raw_len;
    int n = mf_env_encode(&e, th->scratch, sizeof(th->scratch));
    if (n < 0) {
        FRONT_DROP(th, FRONT_DROP_BAD_FRAME);
        return 0;
    }
    struct front_pend *pend = front_pend_new(th);
    pend->conn = conn;
    pend->rx_mono_us = now;
    pend->a1 = fr->addr.a1;
    pend->a2 = fr->addr.a2;
    pend->con = fr->seq.con;
    pend->rseq = fr->seq.pseq;
    pend->msa = fr->prm ? 0 : fr->addr.msa; /* section 3: 0 for terminal-initiated frames */
    pend->has_tp = fr->has_tp;
    pend->tp = fr->tp;
    sess_key(conn, fr->addr.a1, fr->addr.a2, key);
    int rc = th->ops->produce(conn, (const uint8_t *)key, GW_TERMINAL_STRLEN - 1, th->scratch,
                              (size_t)n, pend);
    if (rc != 0) {
        front_pend_free(th, pend);
        if (rc == MF_EFULL)
            return MF_EFULL;
        FRONT_DROP(th, FRONT_DROP_NOT_DURABLE);
        return 0;
    }
    conn->inflight++;
    if (track) {
        pend->raw_len = (uint16_t)fr->raw_len;
        pend->fp = fp;
        sess_pend_link(conn, pend);
    }
    FRONT_INC(th, reports_produced);
    sess_rate_ok(conn, now, 1);
    if (cmd_id || internal)
        front_req_answered(conn, fr);
    if (fr->has_ec && th->f->o.event_read)
        front_req_event_read(conn, fr->ec1);
    return 0;
}

static int sess_frame(struct front_conn *conn, const uint8_t *raw, size_t len, uint64_t now,
                      uint64_t *real)
{
    struct gw_frame fr;

    /* Uplink PW exists only for AFN 06; its length follows the terminal's dialect. */
    if (gw_frame_parse(raw, len, conn->pw_len ? conn->pw_len : GW_PW_LEN, &fr) != 0) {
        FRONT_DROP(conn->th, FRONT_DROP_BAD_FRAME);
        return 0;
    }
    if (fr.dir == 0) {
        FRONT_DROP(conn->th, FRONT_DROP_DOWNLINK);
        return 0;
    }
    if (fr.afn == GW_AFN_LINK && fr.prm == 1) {
        conn->last_rx_us = now;
        return sess_link(conn, &fr);
    }
    if (conn->state != FRONT_S_ONLINE || fr.addr.a1 != conn->a1 || fr.addr.a2 != conn->a2) {
        FRONT_DROP(conn->th, FRONT_DROP_BEFORE_LOGIN);
        return 0;
    }
    int rc = sess_data(conn, &fr, now, real);
    if (rc == 0)
        conn->last_rx_us = now;
    return rc;
}

int front_sess_input(struct front_conn *conn, const uint8_t *p, size_t n, size_t *used)
{
    struct front_thread *th = conn->th;
    const struct front_opts *o = &th->f->o;
    uint64_t now = front_now_mono(), real = 0;
    size_t off = 0;

    while (off < n && !conn->closed) {
        size_t start = 0, flen = 0, bad = 0;
        int rc = gw_frame_scan(p + off, n - off, o->max_frame_bytes, &start, &flen, &bad);
        if (start > 0) {
            FRONT_ADD(th, drops[FRONT_DROP_GARBAGE], start);
            conn->garbage += (uint32_t)MF_MIN(start, (size_t)UINT32_MAX - conn->garbage);
            off += start;
            if (conn->garbage > o->max_garbage_bytes) {
                *used = off;
                return sess_close(conn, MF_OFF_KICKED, FRONT_DROP_GARBAGE_CLOSE,
                                  "too many bytes without a valid frame");
            }
        }
        if (rc != 0)
            break; /* MF_AGAIN: the rest is (the start of) a frame still arriving */
        FRONT_INC(th, frames_in);
        rc = sess_frame(conn, p + off, flen, now, &real);
        if (rc == MF_EFULL) {
            atomic_fetch_sub_explicit(&th->st.frames_in, 1, memory_order_relaxed);
            *used = off; /* the frame is fed again when the queue has room */
            return MF_EFULL;
        }
        off += flen;
        conn->garbage = 0;
        if (rc < 0) {
            *used = off;
            return rc;
        }
    }
    *used = off;
    return conn->closed ? MF_ECLOSED : 0;
}

void front_sess_lat_flush(struct front_thread *th)
{
    if (th->nlat == 0)
        return;
    pthread_mutex_lock(&th->hist_mu);
    for (unsigned i = 0; i < th->nlat; i++)
        mf_hist_add(&th->hist, th->lat[i]);
    pthread_mutex_unlock(&th->hist_mu);
    th->nlat = 0;
}

void front_sess_durable(struct front_pend *pend)
{
    struct front_thread *th = pend->conn->th;

    front_sess_durable_at(pend, front_now_mono());
    front_sess_lat_flush(th);
}

void front_sess_durable_at(struct front_pend *pend, uint64_t now)
{
    struct front_conn *conn = pend->conn;
    struct front_thread *th = conn->th;

    conn->inflight--;
    sess_pend_unlink(pend);
    if (pend->status != 0) {
        FRONT_DROP(th, FRONT_DROP_NOT_DURABLE); /* no confirm: the terminal retransmits */
        return;
    }
    if (!pend->con || conn->closed)
        return;
    if (front_sess_answer(conn, pend->a1, pend->a2, C_CONFIRM, pend->msa, pend->rseq,
                          pend->has_tp ? &pend->tp : NULL, 1, 0, NULL) == 0) {
        FRONT_INC(th, confirms);
        uint64_t lat = now > pend->rx_mono_us ? now - pend->rx_mono_us : 0;
        if (th->nlat == FRONT_LAT_BATCH)
            front_sess_lat_flush(th);
        th->lat[th->nlat++] = (uint32_t)MF_MIN(lat, (uint64_t)UINT32_MAX);
    }
}

/* now - t, or 0 when t is later: the sweep reads its clock once and then retries the blocked
 * connections (io_sweep), whose frames stamp last_rx_us / partial_since_us after it. */
static uint64_t sess_age(uint64_t now, uint64_t t)
{
    return now > t ? now - t : 0;
}

void front_sess_check(struct front_conn *conn, uint64_t now)
{
    const struct front_opts *o = &conn->th->f->o;

    if (conn->closed)
        return;
    if (conn->state == FRONT_S_ONLINE) {
        /* Not while blocked: we stopped reading (backpressure), so the heartbeats the
         * terminal sent wait unread behind its held frames (a slow store, RELIABILITY). */
        if (sess_age(now, conn->last_rx_us) > o->liveness_us && !conn->blocked) {
            FRONT_INC(conn->th, timeouts);
            sess_close(conn, MF_OFF_TIMEOUT, -1, "no heartbeat within the liveness window");
            return;
        }
    } else if (sess_age(now, conn->last_rx_us) > o->login_timeout_us) {
        sess_close(conn, MF_OFF_TIMEOUT, -1, "no login");
        return;
    }
    if (conn->in.len > 0 && !conn->blocked &&
        sess_age(now, conn->partial_since_us) > o->partial_timeout_us)
        sess_close(conn, MF_OFF_KICKED, FRONT_DROP_SLOW, "partial frame too old (slow sender)");
}
