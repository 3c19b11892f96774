/* sim_term.c -- one simulated terminal's link: TCP connect with jittered exponential backoff
 * (optionally bound to one of many local source addresses), frame scanning, the frames it
 * initiates (login, heartbeat, logout, reports) with its own PFC/PSEQ, confirm matching,
 * retransmission of unconfirmed frames with the same PSEQ, and the ledger on confirm.
 *
 * Invariants:
 *  - at most cfg->window reports and one link frame (login/heartbeat/logout) are in flight;
 *    no two frames in flight share a PSEQ (a new frame waits rather than collide);
 *  - a report leaves the queue only when confirmed (-> ledger) or denied (-> counted); a
 *    lost connection keeps it, and it is re-sent with a fresh PFC after the next login;
 *  - a retransmission is the same bytes (same PSEQ); after cfg->retries of them the link is
 *    considered dead and closed;
 *  - the ledger gets a frame's lines exactly when its AFN=00 confirm arrives.
 * Called by: sim_proc.c (start/stop/timer), sim_proto.c (queue/answer).
 * Thread: the process's loop thread. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "sim/sim_int.h"

struct sim_wreq {
    uv_write_t req;
    size_t len;
    uint8_t data[];
};

static void term_on_timer(uv_timer_t *t);
static void term_drop(struct sim_term *st, const char *why);

int64_t sim_term_clock(const struct sim_term *st, int64_t now_ls)
{
    return now_ls + sim_clock_error(st->sp->model, st->idx, now_ls) + st->clock_offset;
}

void sim_term_init(struct sim_term *st, struct sim_proc *sp, uint32_t idx)
{
    memset(st, 0, sizeof(*st));
    st->sp = sp;
    st->idx = idx;
    st->a1 = sp->model->region;
    st->a2 = sim_term_a2(sp->model, idx);
    gw_terminal_format(st->a1, st->a2, st->id);
    mf_buf_init(&st->in, SIM_IN_MAX);
    sim_rng_seed(&st->rng, sp->model->seed, idx);
    st->pfc = (uint8_t)sim_rng_next(&st->rng);
    st->backoff_ms = sp->cfg->backoff_min_ms;
    uv_timer_init(&sp->loop, &st->timer);
    st->timer.data = st;
    st->timer_open = 1;
    st->relay_open = mf_calloc((size_t)sp->cfg->npoints + 1, 1);
}

static void out_free(struct sim_out *o)
{
    if (!o)
        return;
    free(o->units);
    free(o->raw);
    free(o->ledger);
    free(o);
}

void sim_term_fini(struct sim_term *st)
{
    struct sim_out *o = st->q_head;
    while (o) {
        struct sim_out *n = o->next;
        out_free(o);
        o = n;
    }
    st->q_head = st->q_tail = NULL;
    out_free(st->link);
    st->link = NULL;
    mf_buf_fini(&st->in);
    free(st->relay_open);
    st->relay_open = NULL;
    free(st->mtab);
    st->mtab = NULL;
}

/* ---- writing ---- */

static void term_on_write(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error / close */
    free(req);
}

static void term_write(struct sim_term *st, const uint8_t *p, size_t len)
{
    if (!st->tcp_open || st->state < ST_LOGIN || st->state == ST_DONE)
        return;
    struct sim_wreq *w = mf_malloc(sizeof(*w) + len);
    w->len = len;
    memcpy(w->data, p, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&st->tcp, &b, 1, term_on_write) != 0) {
        free(w);
        return;
    }
    st->sp->stats->bytes_out += len;
}

static int term_acd(const struct sim_term *st)
{
    return st->ec1 != st->ec1_read;
}

/* Encode an initiated frame with the next PFC (new send) into o->raw. */
static int term_encode(struct sim_term *st, struct sim_out *o)
{
    struct gw_frame_out fo;
    memset(&fo, 0, sizeof(fo));
    fo.c = gw_c_up(1, (uint8_t)term_acd(st), o->fc);
    fo.addr.a1 = st->a1;
    fo.addr.a2 = st->a2;
    fo.afn = o->afn;
    fo.seq.fir = 1;
    fo.seq.fin = 1;
    fo.seq.con = 1;
    fo.seq.pseq = o->pfc & 15u;
    fo.units = o->units;
    fo.units_len = o->units_len;
    if (term_acd(st)) {
        fo.has_ec = 1;
        fo.ec1 = st->ec1;
        fo.ec2 = st->ec2;
    }
    size_t cap = o->units_len + 64;
    free(o->raw);
    o->raw = mf_malloc(cap);
    int n = gw_frame_encode(&fo, o->raw, cap);
    if (n < 0) {
        free(o->raw);
        o->raw = NULL;
        return n;
    }
    o->raw_len = (size_t)n;
    return 0;
}

static int pseq_busy(const struct sim_term *st, uint8_t pfc)
{
    if (st->link && st->link->in_flight && ((st->link->pfc ^ pfc) & 15u) == 0)
        return 1;
    for (const struct sim_out *o = st->q_head; o; o = o->next)
        if (o->in_flight && ((o->pfc ^ pfc) & 15u) == 0)
            return 1;
    return 0;
}

/* First transmission of o. 0, MF_AGAIN (PSEQ would collide: try later), or a codec error. */
static int term_send_new(struct sim_term *st, struct sim_out *o)
{
    if (pseq_busy(st, st->pfc))
        return MF_AGAIN;
    o->pfc = st->pfc++;
    int rc = term_encode(st, o);
    if (rc < 0)
        return rc;
    o->in_flight = 1;
    o->tries = 1;
    o->sent_us = mf_mono_us();
    st->sp->stats->frames_sent++;
    term_write(st, o->raw, o->raw_len);
    return 0;
}

/* Send queued reports while the window has room. */
static void term_pump(struct sim_term *st)
{
    if (st->state != ST_ONLINE)
        return;
    for (struct sim_out *o = st->q_head; o && st->inflight < (uint32_t)st->sp->cfg->window;
         o = o->next) {
        if (o->in_flight)
            continue;
        int rc = term_send_new(st, o);
        if (rc == MF_AGAIN)
            return;
        if (rc < 0) {
            mf_warn("sim", "%s: cannot encode a frame: %s", st->id, mf_status_str(rc));
            return;
        }
        st->inflight++;
    }
}

static void term_send_link(struct sim_term *st, int kind)
{
    uint8_t units[64];
    int n = sim_proto_link(st, kind, units, sizeof(units));
    if (n < 0)
        return;
    struct sim_out *o = mf_calloc(1, sizeof(*o));
    o->kind = (uint8_t)kind;
    o->afn = GW_AFN_LINK;
    o->fc = 9;
    o->units = mf_malloc((size_t)n);
    memcpy(o->units, units, (size_t)n);
    o->units_len = (size_t)n;
    out_free(st->link);
    st->link = o;
    /* the link frame never waits for a PSEQ: advance past any in-flight report's */
    for (int i = 0; i < 16 && pseq_busy(st, st->pfc); i++)
        st->pfc++;
    if (term_send_new(st, o) != 0)
        term_drop(st, "cannot send a link frame");
}

int sim_term_queue(struct sim_term *st, uint8_t afn, uint8_t fc, uint8_t *units,
                   size_t units_len, char *ledger, size_t ledger_len, uint32_t nlines,
                   uint32_t nevents)
{
    if (st->qlen >= SIM_QUEUE_MAX) {
        free(units);
        free(ledger);
        st->sp->stats->backlog_skips++;
        return MF_EFULL;
    }
    struct sim_out *o = mf_calloc(1, sizeof(*o));
    o->kind = OUT_REPORT;
    o->afn = afn;
    o->fc = fc;
    o->units = units;
    o->units_len = units_len;
    o->ledger = ledger;
    o->ledger_len = ledger_len;
    o->nlines = nlines;
    o->nevents = nevents;
    if (st->q_tail)
        st->q_tail->next = o;
    else
        st->q_head = o;
    st->q_tail = o;
    st->qlen++;
    st->sp->stats->unconfirmed++;
    term_pump(st);
    return 0;
}

void sim_term_answer(struct sim_term *st, const struct gw_frame *req, uint8_t afn, uint8_t fc,
                     const uint8_t *units, size_t units_len)
{
    struct gw_frame_out fo;
    uint8_t out[GW_FRAME_MAX];
    memset(&fo, 0, sizeof(fo));
    fo.c = gw_c_up(0, (uint8_t)term_acd(st), fc);
    fo.addr.a1 = st->a1;
    fo.addr.a2 = st->a2;
    fo.addr.msa = req->addr.msa; /* answers go back to the master application that asked */
    fo.afn = afn;
    fo.seq.fir = 1;
    fo.seq.fin = 1;
    fo.seq.pseq = req->seq.pseq; /* RSEQ = PSEQ of the request */
    fo.units = units;
    fo.units_len = units_len;
    if (term_acd(st)) {
        fo.has_ec = 1;
        fo.ec1 = st->ec1;
        fo.ec2 = st->ec2;
    }
    if (req->has_tp) { /* the responder returns the Tp it was sent */
        fo.has_tp = 1;
        fo.tp = req->tp;
    }
    int n = gw_frame_encode(&fo, out, sizeof(out));
    if (n < 0) {
        mf_warn("sim", "%s: answer to AFN %02X too large", st->id, req->afn);
        return;
    }
    st->sp->stats->answers++;
    term_write(st, out, (size_t)n);
}

/* ---- confirms ---- */

static void out_unlink(struct sim_term *st, struct sim_out *o)
{
    struct sim_out **pp = &st->q_head, *prev = NULL;
    while (*pp && *pp != o) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = o->next;
    if (st->q_tail == o)
        st->q_tail = prev;
    st->qlen--;
    st->sp->stats->unconfirmed--;
    if (o->in_flight)
        st->inflight--;
}

/* 1: AFN=00 says "all confirmed" (F1, or F3 with every ERR = 0); 0: denied. */
static int confirm_positive(const struct gw_frame *fr)
{
    struct gw_dadt d;
    if (fr->units_len < 4 || gw_dadt_decode(fr->units, &d) != 0 || d.nfn < 1)
        return 0;
    if (d.fn[0] == 1)
        return 1;
    if (d.fn[0] != 3 || fr->units_len < 5)
        return 0;
    for (size_t off = 5; off + 5 <= fr->units_len; off += 5)
        if (fr->units[off + 4] != 0)
            return 0;
    return 1;
}

static void term_online(struct sim_term *st)
{
    struct sim_stats *ss = st->sp->stats;
    st->state = ST_ONLINE;
    st->ever_online = 1;
    ss->logins++;
    ss->online++;
    st->backoff_ms = st->sp->cfg->backoff_min_ms;
    uint64_t now = mf_mono_us();
    st->next_hb_us = now + (uint64_t)st->sp->cfg->heartbeat_s * 1000000u;
    int32_t day = (int32_t)(sim_proc_now_ls(st->sp) / SIM_DAY_S);
    if (sim_fault_at(st->sp->model, SIM_F_FLAP, st->idx, 0, day))
        st->flap_close_us = now + 2000000u + sim_rng_next(&st->rng) % 6000000u;
    else
        st->flap_close_us = 0;
    term_pump(st);
}

static void term_link_confirmed(struct sim_term *st, int positive)
{
    struct sim_out *o = st->link;
    st->link = NULL;
    int kind = o->kind;
    if (positive)
        mf_hist_add(&st->sp->stats->lat, mf_mono_us() - o->sent_us);
    out_free(o);
    if (kind == OUT_LOGIN) {
        if (positive)
            term_online(st);
        else
            term_drop(st, "login denied");
    } else if (kind == OUT_LOGOUT) {
        term_drop(st, NULL);
    }
}

static void term_report_confirmed(struct sim_term *st, struct sim_out *o, int positive)
{
    struct sim_stats *ss = st->sp->stats;
    out_unlink(st, o);
    if (positive) {
        mf_hist_add(&ss->lat, mf_mono_us() - o->sent_us);
        ss->frames_confirmed++;
        ss->values_confirmed += o->nlines - o->nevents;
        ss->events_confirmed += o->nevents;
        if (o->ledger_len)
            sim_ledger_append(&st->sp->ledger, o->ledger, o->ledger_len, o->nlines);
        ss->ledger_lines = st->sp->ledger.lines;
        if (o->afn == GW_AFN_CLASS3)
            st->ec1_read = st->ec1; /* the master has the records */
    } else {
        ss->denied++;
    }
    out_free(o);
    term_pump(st);
}

static void term_on_confirm(struct sim_term *st, const struct gw_frame *fr)
{
    uint8_t r = fr->seq.pseq;
    int positive = confirm_positive(fr);
    if (st->link && st->link->in_flight && (st->link->pfc & 15u) == r) {
        term_link_confirmed(st, positive);
        return;
    }
    for (struct sim_out *o = st->q_head; o; o = o->next)
        if (o->in_flight && (o->pfc & 15u) == r) {
            term_report_confirmed(st, o, positive);
            return;
        }
    /* a confirm for nothing in flight (a late duplicate): ignored, as the standard says */
}

/* ---- reading ---- */

static void term_on_frame(struct sim_term *st, const struct gw_frame *fr)
{
    if (fr->dir != 0 || fr->addr.a1 != st->a1 || fr->addr.a2 != st->a2)
        return;
    if (fr->afn == GW_AFN_CONFIRM && fr->prm == 0) {
        term_on_confirm(st, fr);
        return;
    }
    if (fr->prm == 1 && st->state == ST_ONLINE) {
        st->sp->stats->requests++;
        sim_answer_request(st, fr);
    }
}

static void term_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct sim_term *st = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)st->sp->rbuf, sizeof(st->sp->rbuf));
}

static void term_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct sim_term *st = s->data;
    size_t start, flen;
    struct gw_frame fr;

    if (nread < 0) {
        term_drop(st, nread == UV_EOF ? "closed by the master" : uv_strerror((int)nread));
        return;
    }
    st->sp->stats->bytes_in += (uint64_t)nread;
    if (mf_buf_append(&st->in, buf->base, (size_t)nread) != 0) {
        term_drop(st, "input over its cap");
        return;
    }
    /* stop at a drop: the connection is closing and what follows is not for this session */
    while (st->tcp_open && st->in.len && st->state >= ST_LOGIN && st->state != ST_DONE &&
           !uv_is_closing((uv_handle_t *)&st->tcp)) {
        int rc = gw_frame_scan(st->in.data, st->in.len, GW_FRAME_MAX, &start, &flen, NULL);
        if (rc == MF_AGAIN) {
            mf_buf_consume(&st->in, start);
            break;
        }
        if (rc < 0) {
            term_drop(st, "unscannable input");
            return;
        }
        if (gw_frame_parse(st->in.data + start, flen, GW_PW_LEN, &fr) == 0)
            term_on_frame(st, &fr);
        mf_buf_consume(&st->in, start + flen); /* fr is invalid from here on */
    }
    sim_term_schedule(st);
}

/* ---- connection lifecycle ---- */

static void term_on_closed(uv_handle_t *h)
{
    struct sim_term *st = h->data;
    st->tcp_open = 0;
    st->in.len = 0;
    mf_buf_shrink(&st->in, 0);
    if (st->state != ST_DONE)
        st->state = ST_IDLE;
    else
        st->sp->done++;
    sim_term_schedule(st);
}

/* Close the connection; keep the reports for the next login. why NULL: a normal end. */
static void term_drop(struct sim_term *st, const char *why)
{
    struct sim_stats *ss = st->sp->stats;
    if (why)
        mf_debug("sim", "%s: dropping the link: %s", st->id, why);
    if (st->state == ST_ONLINE || st->state == ST_LOGOUT)
        ss->online--;
    /* after the stop: a logout, a deliberate close or the deadline ends the terminal; a lost
     * link with reports still queued reconnects until the deadline */
    int finished = st->sp->stopping &&
                   (st->state == ST_LOGOUT || !why || st->sp->stop_deadline_us <= mf_mono_us());
    out_free(st->link);
    st->link = NULL;
    for (struct sim_out *o = st->q_head; o; o = o->next) {
        o->in_flight = 0;
        o->tries = 0;
    }
    st->inflight = 0;
    if (st->state != ST_IDLE)
        ss->disconnects++;
    /* jittered exponential backoff */
    uint32_t b = st->backoff_ms;
    uint64_t jitter = sim_rng_next(&st->rng) % (b / 2 + 1);
    st->next_connect_us = mf_mono_us() + ((uint64_t)b / 2 + jitter) * 1000u;
    st->backoff_ms = b * 2 > st->sp->cfg->backoff_max_ms ? st->sp->cfg->backoff_max_ms : b * 2;
    st->state = finished ? ST_DONE : ST_IDLE;
    if (st->tcp_open && !uv_is_closing((uv_handle_t *)&st->tcp)) {
        uv_close((uv_handle_t *)&st->tcp, term_on_closed);
    } else if (!st->tcp_open && finished) {
        st->sp->done++;
    }
}

static void term_on_connect(uv_connect_t *req, int status)
{
    struct sim_term *st = req->data;
    if (st->state != ST_CONNECTING)
        return; /* dropped while connecting; the close callback follows */
    if (status < 0) {
        st->sp->stats->connect_fail++;
        term_drop(st, uv_strerror(status));
        return;
    }
    st->state = ST_LOGIN;
    uv_read_start((uv_stream_t *)&st->tcp, term_alloc, term_on_read);
    term_send_link(st, OUT_LOGIN);
    sim_term_schedule(st);
}

static void term_connect(struct sim_term *st)
{
    struct sim_proc *sp = st->sp;
    const struct sim_cfg *cfg = sp->cfg;
    int rc;

    uv_tcp_init(&sp->loop, &st->tcp);
    st->tcp.data = st;
    st->tcp_open = 1;
    st->state = ST_CONNECTING;
    st->conn_serial++;
    sp->stats->connects++;
    if (cfg->src_first) {
        struct sockaddr_in src;
        uint32_t n = cfg->src_last - cfg->src_first + 1;
        memset(&src, 0, sizeof(src));
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(cfg->src_first + st->idx % n);
        rc = uv_tcp_bind(&st->tcp, (const struct sockaddr *)&src, 0);
        if (rc != 0) {
            sp->stats->connect_fail++;
            term_drop(st, uv_strerror(rc));
            return;
        }
    }
    uv_tcp_nodelay(&st->tcp, 1);
    st->creq.data = st;
    rc = uv_tcp_connect(&st->creq, &st->tcp, (const struct sockaddr *)&sp->target,
                        term_on_connect);
    if (rc != 0) {
        sp->stats->connect_fail++;
        term_drop(st, uv_strerror(rc));
    }
}

void sim_term_start(struct sim_term *st)
{
    struct sim_proc *sp = st->sp;
    int64_t now = sim_proc_now_ls(sp);
    int64_t clk = sim_term_clock(st, now);
    uint32_t iv = sp->cfg->report_interval_s;
    /* reports on the interval grid, each terminal a little late (spreads the load) */
    st->next_report_ls = (clk / iv + 1) * iv + (int64_t)(sim_rng_next(&st->rng) % (iv < 60 ? iv : 60));
    uint32_t ii = sp->cfg->instant_interval_s ? sp->cfg->instant_interval_s : 3600;
    st->next_instant_ls = (now / ii + 1) * ii + 30 + (int64_t)(st->idx % 60);
    st->daily_done = (int32_t)(clk / SIM_DAY_S) - 1;
    st->last_f129_stamp = 0;
    double rate = sp->cfg->erc13_per_day + sp->cfg->erc14_per_day + sp->cfg->erc24_per_day;
    st->next_event_ls = rate > 0 ? now + (int64_t)sim_rng_exp(&st->rng, SIM_DAY_S / rate) + 1
                                 : INT64_MAX;
    sim_term_schedule(st);
}

void sim_term_stop(struct sim_term *st)
{
    if (st->state == ST_DONE || st->state == ST_LOGOUT)
        return;
    if (st->state != ST_ONLINE && st->qlen == 0) {
        term_drop(st, NULL); /* not logged in and nothing to deliver: just close */
        return;
    }
    /* online: logout once the queue has drained (term_online_tick); otherwise keep trying
     * to deliver what is queued until the stop deadline */
    sim_term_schedule(st);
}

/* ---- timer ---- */

static uint64_t timeout_us(const struct sim_term *st)
{
    return (uint64_t)st->sp->cfg->confirm_timeout_ms * 1000u;
}

/* Retransmit what waited too long; 1 if the link was given up. */
static int term_retransmit(struct sim_term *st, uint64_t now)
{
    struct sim_out *all[SIM_QUEUE_MAX + 1];
    size_t n = 0;
    if (st->link && st->link->in_flight)
        all[n++] = st->link;
    for (struct sim_out *o = st->q_head; o && n < MF_ARRAY_LEN(all); o = o->next)
        if (o->in_flight)
            all[n++] = o;
    for (size_t i = 0; i < n; i++) {
        struct sim_out *o = all[i];
        if (now < o->sent_us + timeout_us(st))
            continue;
        if (o->tries > (uint8_t)st->sp->cfg->retries) {
            st->sp->stats->given_up++;
            if (o->kind == OUT_LOGOUT)
                term_drop(st, NULL);
            else
                term_drop(st, "no confirm after retransmissions");
            return 1;
        }
        o->tries++;
        o->sent_us = now;
        st->sp->stats->retransmits++;
        term_write(st, o->raw, o->raw_len); /* same bytes: same PSEQ */
    }
    return 0;
}

static void term_online_tick(struct sim_term *st, uint64_t now)
{
    struct sim_proc *sp = st->sp;
    if (st->flap_close_us && now >= st->flap_close_us) {
        st->backoff_ms = sp->cfg->backoff_min_ms;
        term_drop(st, "flapping");
        return;
    }
    if (sp->stopping) {
        if (!st->link && (st->qlen == 0 || now >= sp->stop_deadline_us)) {
            st->state = ST_LOGOUT;
            term_send_link(st, OUT_LOGOUT);
        }
        return;
    }
    if (!st->link && now >= st->next_hb_us) {
        st->next_hb_us = now + (uint64_t)sp->cfg->heartbeat_s * 1000000u;
        term_send_link(st, OUT_HEARTBEAT);
        if (st->state != ST_ONLINE)
            return;
    }
    sim_proto_tick(st, sim_proc_now_ls(sp));
    term_pump(st);
}

static void term_on_timer(uv_timer_t *t)
{
    struct sim_term *st = t->data;
    uint64_t now = mf_mono_us();

    switch (st->state) {
    case ST_IDLE:
        if (st->sp->stopping && (st->qlen == 0 || now >= st->sp->stop_deadline_us)) {
            term_drop(st, NULL);
            break;
        }
        if (!st->tcp_open && now >= st->next_connect_us)
            term_connect(st);
        break;
    case ST_LOGIN:
    case ST_LOGOUT:
        if (st->sp->stopping && now >= st->sp->stop_deadline_us + timeout_us(st))
            term_drop(st, NULL);
        else
            term_retransmit(st, now);
        break;
    case ST_ONLINE:
        if (!term_retransmit(st, now))
            term_online_tick(st, now);
        break;
    default:
        break;
    }
    sim_term_schedule(st);
}

void sim_term_schedule(struct sim_term *st)
{
    struct sim_proc *sp = st->sp;
    uint64_t now = mf_mono_us(), due = UINT64_MAX;
    if (!st->timer_open)
        return;
    switch (st->state) {
    case ST_IDLE:
        if (st->tcp_open)
            due = UINT64_MAX; /* the close callback reschedules */
        else if (sp->stopping && (st->qlen == 0 || now >= sp->stop_deadline_us))
            due = now;
        else
            due = MF_MIN(st->next_connect_us, sp->stopping ? sp->stop_deadline_us : UINT64_MAX);
        break;
    case ST_ONLINE:
        if (sp->stopping) {
            due = (!st->link && st->qlen == 0) ? now : sp->stop_deadline_us;
        } else {
            due = st->next_hb_us;
            uint64_t r = sim_proc_ls_to_us(sp, sim_proto_next_ls(st));
            due = r < due ? r : due;
        }
        if (st->flap_close_us && st->flap_close_us < due)
            due = st->flap_close_us;
        /* fall through: in-flight frames have deadlines too */
        __attribute__((fallthrough));
    case ST_LOGIN:
    case ST_LOGOUT:
        if (st->link && st->link->in_flight && st->link->sent_us + timeout_us(st) < due)
            due = st->link->sent_us + timeout_us(st);
        for (struct sim_out *o = st->q_head; o; o = o->next)
            if (o->in_flight && o->sent_us + timeout_us(st) < due)
                due = o->sent_us + timeout_us(st);
        if (sp->stopping && st->state != ST_ONLINE && sp->stop_deadline_us + timeout_us(st) < due)
            due = sp->stop_deadline_us + timeout_us(st);
        break;
    default:
        uv_timer_stop(&st->timer);
        return;
    }
    if (due == UINT64_MAX) {
        uv_timer_stop(&st->timer);
        return;
    }
    uint64_t ms = due > now ? (due - now + 999) / 1000 : 0;
    uv_timer_start(&st->timer, term_on_timer, ms, 0);
}
