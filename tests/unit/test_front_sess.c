/* test_front_sess.c -- the session state machine without sockets or a queue (struct
 * front_io_ops stubs): multi-frame answers carry the cmd_id until FIN, a report with Tp is
 * confirmed with the same Tp, a request to a 2-byte-PW terminal with Tp, internal event
 * reads, confirms only for durable frames, and a retransmission not queued twice. Expected
 * bytes are written by hand (checksums summed by hand and re-checked with an independent
 * byte sum). */
#include <stdlib.h>
#include <string.h>

#include "front/front_int.h"
#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/modcfg.h"

static const struct mf_cfg_item t_meterflow[] = {
    { "meterflow", "node_id", MF_CFG_INT, "5", 1, 65535, NULL, "node" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const t_tables[] = { t_meterflow, front_cfg, NULL };

static const char *LOGIN01 = "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16";
static const char *LOGIN01_ACK = "68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 01 00 10 16";
static const char *LOGIN96 = "68 32 00 32 00 68 C9 12 96 56 34 00 02 71 00 00 01 00 6F 16";
/* AFN=0E p0 F1 Pm=0 Pn=2 to 0171-0822, PFC 1: C=4B, MSA 1, SEQ 61, CS 0x5B */
static const char *REQ_EV = "68 3A 00 3A 00 68 4B 71 01 22 08 02 0E 61 00 00 01 00 00 02 5B 16";
/* its answer in two frames: SEQ 41 (FIR, RSEQ 1) and 22 (FIN, RSEQ 2), one ERC14 each */
static const char *ANS1 = "68 72 00 72 00 68 88 71 01 22 08 02 0E 41 00 00 01 00 02 00 00 01 0E "
                          "0A 40 14 31 07 10 31 11 03 08 10 8A 16";
static const char *ANS2 = "68 72 00 72 00 68 88 71 01 22 08 02 0E 22 00 00 01 00 02 00 01 02 0E "
                          "0A 40 14 31 07 10 31 11 03 08 10 6D 16";
/* active ERC14 report with Tp (SEQ F0: TpV CON, PSEQ 0; Tp 00 01 02 03 04 00) and its confirm
 * echoing the Tp (C=00, MSA 0, SEQ E0, L1 18 -> 4A 00) */
static const char *REP_TP = "68 8A 00 8A 00 68 C4 12 96 56 34 00 0E F0 00 00 01 00 01 00 00 01 0E "
                            "0A 40 14 31 07 10 31 11 03 08 10 00 01 02 03 04 00 12 16";
static const char *REP_TP_ACK = "68 4A 00 4A 00 68 00 12 96 56 34 00 00 E0 00 00 01 00 00 01 02 "
                                "03 04 00 1D 16";

struct sent {
    uint8_t b[4096];
    size_t len;
    uint64_t cmd_ids[16];
    size_t nframes;
    int states[16];
    size_t nstatus;
    struct front_pend *pend[16];
    size_t npend;
};
static struct sent S;

static int st_send(struct front_conn *conn, const uint8_t *p, size_t n)
{
    (void)conn;
    if (S.len + n <= sizeof(S.b)) {
        memcpy(S.b + S.len, p, n);
        S.len += n;
    }
    return 0;
}

static int st_produce(struct front_conn *conn, const uint8_t *key, size_t key_len,
                      const uint8_t *env, size_t len, struct front_pend *pend)
{
    struct mf_env e;
    (void)conn;
    CHECK_EQ_INT(key_len, 9);
    (void)key;
    CHECK_EQ_INT(mf_env_decode(env, len, &e), 0);
    if (S.nframes < 16)
        S.cmd_ids[S.nframes++] = e.cmd_id;
    if (S.npend < 16)
        S.pend[S.npend++] = pend;
    return 0;
}

static int st_publish(struct front_thread *th, const uint8_t *key, size_t key_len,
                      const uint8_t *env, size_t len)
{
    struct mf_env e;
    struct mf_env_cmd_status cs;
    (void)th;
    (void)key;
    (void)key_len;
    CHECK_EQ_INT(mf_env_decode(env, len, &e), 0);
    if (e.kind == MF_ENV_CMD_STATUS && S.nstatus < 16 &&
        mf_env_cmd_status_decode(e.payload, e.payload_len, &cs) == 0)
        S.states[S.nstatus++] = cs.state;
    return 0;
}

static void st_close(struct front_conn *conn, int reason)
{
    if (!conn->closed) {
        front_sess_end(conn, reason);
        conn->closed = 1;
    }
}

static uint64_t st_claim(struct front_conn *conn)
{
    (void)conn;
    return 0;
}

static void st_unclaim(struct front_conn *conn)
{
    (void)conn;
}

static const struct front_io_ops st_ops = {
    .send = st_send, .produce = st_produce, .publish = st_publish,
    .close = st_close, .claim = st_claim, .unclaim = st_unclaim,
};

static struct mf_config *cfg;

static struct front *mk_front(const char *pw2)
{
    char err[256];
    cfg = mf_config_new(t_tables, NULL);
    mf_config_set(cfg, "front", "threads", "1", "t", err, sizeof(err));
    mf_config_set(cfg, "front", "login_per_min", "0", "t", err, sizeof(err));
    mf_config_set(cfg, "front", "event_read", "false", "t", err, sizeof(err));
    if (pw2)
        mf_config_set(cfg, "front", "pw2_terminals", pw2, "t", err, sizeof(err));
    struct front *f = front_new(cfg, NULL, err, sizeof(err));
    CHECK(f != NULL);
    f->th[0]->ops = &st_ops;
    memset(&S, 0, sizeof(S));
    return f;
}

static void rm_front(struct front *f)
{
    front_free(f);
    mf_config_free(cfg);
}

static struct front_conn *mk_conn(struct front *f)
{
    struct front_conn *conn = calloc(1, sizeof(*conn));
    conn->th = f->th[0];
    conn->id = 9;
    conn->last_ec1 = -1;
    conn->peer.sin6_family = AF_INET;
    mf_buf_init(&conn->in, f->o.max_buffered_bytes);
    return conn;
}

static void rm_conn(struct front_conn *conn)
{
    front_sess_end(conn, MF_OFF_CLOSED);
    for (size_t i = 0; i < S.npend; i++)
        free(S.pend[i]);
    S.npend = 0;
    mf_buf_fini(&conn->in);
    free(conn);
}

static void feed(struct front_conn *conn, const char *h)
{
    uint8_t b[512];
    size_t used = 0;
    int n = mf_hex_decode(h, b, sizeof(b));
    CHECK(n > 0);
    CHECK_EQ_INT(front_sess_input(conn, b, (size_t)n, &used), 0);
    CHECK_EQ_INT(used, n);
}

/* The bytes sent since the last call equal h. */
static void expect_sent(const char *h)
{
    uint8_t b[512];
    int n = mf_hex_decode(h, b, sizeof(b));
    CHECK_EQ_INT(S.len, n);
    if (S.len == (size_t)n)
        CHECK_MEM(S.b, b, (size_t)n);
    S.len = 0;
}

static struct front_cmd *mk_cmd(uint64_t id, uint8_t afn, const char *units, int con, int tp)
{
    struct front_cmd *c = calloc(1, sizeof(*c) + 64);
    c->cmd_id = id;
    c->afn = afn;
    c->units_len = (size_t)mf_hex_decode(units, c->units, 64);
    c->con = (uint8_t)con;
    c->tp_delay_min = (uint8_t)tp;
    c->timeout_ms = 30000;
    c->retries = 0;
    return c;
}

MF_TEST(multi_frame_answer_carries_cmd_id_until_fin)
{
    struct front *f = mk_front(NULL);
    struct front_conn *conn = mk_conn(f);
    feed(conn, LOGIN01);
    expect_sent(LOGIN01_ACK);
    front_req_submit(conn, mk_cmd(77, 0x0E, "00 00 01 00 00 02", 0, 0), 0);
    expect_sent(REQ_EV);
    CHECK_EQ_INT(S.nstatus, 1);
    CHECK_EQ_INT(S.states[0], MF_CMD_SENT);
    feed(conn, ANS1);
    CHECK_EQ_INT(S.nframes, 1);
    CHECK_EQ_INT(S.cmd_ids[0], 77);
    CHECK(conn->req != NULL); /* FIN not seen: still waiting */
    feed(conn, ANS2);
    CHECK_EQ_INT(S.nframes, 2);
    CHECK_EQ_INT(S.cmd_ids[1], 77);
    CHECK(conn->req == NULL);
    CHECK_EQ_INT(S.nstatus, 2);
    CHECK_EQ_INT(S.states[1], MF_CMD_ANSWERED);
    feed(conn, ANS2); /* a late repeat: no request any more, published without cmd_id */
    CHECK_EQ_INT(S.cmd_ids[2], 0);
    CHECK_EQ_INT(S.len, 0); /* CON=0: never confirmed */
    rm_conn(conn);
    rm_front(f);
}

MF_TEST(report_with_tp_confirmed_with_same_tp_only_when_durable)
{
    struct front *f = mk_front(NULL);
    struct front_conn *conn = mk_conn(f);
    feed(conn, LOGIN96);
    S.len = 0;
    feed(conn, REP_TP);
    CHECK_EQ_INT(S.npend, 1);
    CHECK_EQ_INT(S.len, 0); /* nothing before the done callback */
    S.pend[0]->status = MF_ERETRY;
    front_sess_durable(S.pend[0]);
    CHECK_EQ_INT(S.len, 0); /* not durable: no confirm */
    feed(conn, REP_TP);     /* the terminal retransmits: queued again (no copy is waiting) */
    CHECK_EQ_INT(S.npend, 2);
    S.pend[1]->status = 0;
    front_sess_durable(S.pend[1]);
    expect_sent(REP_TP_ACK);
    CHECK_EQ_INT(conn->inflight, 0);
    rm_conn(conn);
    rm_front(f);
}

/* REP_TP with the power-off minute 40 -> 41: same PSEQ 0 and length, other bytes (CS +1) */
static const char *REP_TP_B = "68 8A 00 8A 00 68 C4 12 96 56 34 00 0E F0 00 00 01 00 01 00 00 01 "
                              "0E 0A 41 14 31 07 10 31 11 03 08 10 00 01 02 03 04 00 13 16";

/* Finding 6 (docs/RELIABILITY.md): while the store is stuck, a terminal retransmits each
 * unconfirmed report 3 times; each copy used to be queued, so after the store came back the
 * worker stored the copies before it reached the live frames. A retransmission of a report
 * still in the queue is now answered by the first copy's confirm. */
MF_TEST(retransmission_not_queued_twice_while_first_copy_waits)
{
    struct front *f = mk_front(NULL);
    struct front_conn *conn = mk_conn(f);
    uint64_t drops0 = f->th[0]->st.drops[FRONT_DROP_RETRANSMIT];
    feed(conn, LOGIN96);
    S.len = 0;
    feed(conn, REP_TP);
    feed(conn, REP_TP); /* retransmissions: same PSEQ, same bytes */
    feed(conn, REP_TP);
    CHECK_EQ_INT(S.npend, 1);
    CHECK_EQ_INT(conn->inflight, 1);
    CHECK_EQ_INT(f->th[0]->st.drops[FRONT_DROP_RETRANSMIT] - drops0, 2);
    feed(conn, REP_TP_B); /* same PSEQ and length, other bytes: another frame, queued */
    CHECK_EQ_INT(S.npend, 2);
    CHECK_EQ_INT(S.len, 0);
    S.pend[0]->status = 0;
    front_sess_durable(S.pend[0]);
    expect_sent(REP_TP_ACK); /* one confirm for the frame and its retransmissions */
    feed(conn, REP_TP); /* the confirm was lost: the copy left the queue, so queue it again */
    CHECK_EQ_INT(S.npend, 3);
    CHECK_EQ_INT(f->th[0]->st.drops[FRONT_DROP_RETRANSMIT] - drops0, 2);
    S.pend[1]->status = MF_ERETRY;
    front_sess_durable(S.pend[1]);
    S.pend[2]->status = 0;
    front_sess_durable(S.pend[2]);
    expect_sent(REP_TP_ACK);
    CHECK_EQ_INT(conn->inflight, 0);
    CHECK(conn->pends == NULL);
    rm_conn(conn);
    rm_front(f);
}

MF_TEST(request_pw2_dialect_with_tp)
{
    struct front *f = mk_front("0171-0822");
    struct front_conn *conn = mk_conn(f);
    feed(conn, LOGIN01);
    S.len = 0;
    conn->pfc = 1; /* the next request uses PFC 2 */
    int64_t t0 = (int64_t)(mf_now_us() / 1000000u);
    front_req_submit(conn, mk_cmd(78, 0x05, "00 00 01 06 01", 1, 5), 0);
    /* C=4A, MSA 1, AFN 05, SEQ F2 (TpV FIR FIN CON, PSEQ 2), p0 F49 port 1, PW 00 00 (2 bytes),
     * Tp = PFC 02, ss mm hh DD (now, BCD), delay 05; L1 = 21 -> 56 00 */
    static const uint8_t head[] = { 0x68, 0x56, 0x00, 0x56, 0x00, 0x68, 0x4A, 0x71, 0x01,
                                    0x22, 0x08, 0x02, 0x05, 0xF2, 0x00, 0x00, 0x01, 0x06,
                                    0x01, 0x00, 0x00, 0x02 };
    CHECK_EQ_INT(S.len, 29);
    CHECK_MEM(S.b, head, sizeof(head));
    CHECK_EQ_INT(S.b[26], 0x05);
    CHECK_EQ_INT(S.b[28], 0x16);
    unsigned sum = 0;
    for (size_t i = 6; i < 27; i++)
        sum += S.b[i];
    CHECK_EQ_INT(S.b[27], sum & 0xFF);
    struct mf_civil now;
    mf_utc_to_civil(t0, &now);
    int day = (S.b[25] >> 4) * 10 + (S.b[25] & 15), hour = (S.b[24] >> 4) * 10 + (S.b[24] & 15);
    CHECK(day == now.day || hour == 0); /* midnight may roll over during the test */
    CHECK(hour == now.hour || hour == (now.hour + 1) % 24);
    rm_conn(conn);
    rm_front(f);
}

/* A late answer to a timed-out request (RSEQ 1) must not close the next one (PSEQ 2). */
MF_TEST(late_answer_does_not_match_next_request)
{
    /* terminal confirms (AFN=00 p0 F1, C=80, MSA 1) with RSEQ 1 and 2 */
    static const char *ACK1 = "68 32 00 32 00 68 80 71 01 22 08 02 00 61 00 00 01 00 80 16";
    static const char *ACK2 = "68 32 00 32 00 68 80 71 01 22 08 02 00 62 00 00 01 00 81 16";
    struct front *f = mk_front(NULL);
    struct front_conn *conn = mk_conn(f);
    feed(conn, LOGIN01);
    struct front_cmd *c1 = mk_cmd(81, 0x0C, "01 01 01 10", 0, 0);
    c1->timeout_ms = 1;
    front_req_submit(conn, c1, 0);
    front_req_tick(f->th[0], front_now_mono() + 10000); /* no answer: timeout */
    CHECK(conn->req == NULL);
    CHECK_EQ_INT(S.states[S.nstatus - 1], MF_CMD_TIMEOUT);
    front_req_submit(conn, mk_cmd(82, 0x0C, "01 01 01 10", 0, 0), 0);
    feed(conn, ACK1);
    CHECK_EQ_INT(S.cmd_ids[S.nframes - 1], 0); /* published, but not as the answer to 82 */
    CHECK(conn->req != NULL);
    feed(conn, ACK2);
    CHECK_EQ_INT(S.cmd_ids[S.nframes - 1], 82);
    CHECK(conn->req == NULL);
    CHECK_EQ_INT(S.states[S.nstatus - 1], MF_CMD_ANSWERED);
    rm_conn(conn);
    rm_front(f);
}

/* The sweep (front_io.c io_sweep) reads its clock, then retries the connections blocked by
 * backpressure, whose frames stamp last_rx_us / partial_since_us with a later clock, then
 * walks the connections with its older "now". A later stamp is an age of 0, not a huge
 * unsigned difference: before the fix every such connection was closed "no heartbeat within
 * the liveness window" (or "partial frame too old") the moment the queue let it go on
 * (seen in tests/reliability/pg_slow.sh). And a blocked connection is not closed for
 * liveness at all; the same connection unblocked and silent past the window is. */
MF_TEST(sweep_clock_older_than_the_last_read)
{
    struct front *f = mk_front(NULL);
    struct front_conn *conn = mk_conn(f);
    feed(conn, LOGIN01);
    expect_sent(LOGIN01_ACK);
    uint64_t now = front_now_mono();
    conn->last_rx_us = now + 1000; /* read by io_retry after the sweep's clock */
    front_sess_check(conn, now);
    CHECK_EQ_INT(conn->closed, 0);
    CHECK(mf_buf_append(&conn->in, (const uint8_t *)"\x68\x32", 2) == 0); /* a partial frame */
    conn->partial_since_us = now + 1000;
    front_sess_check(conn, now);
    CHECK_EQ_INT(conn->closed, 0);
    mf_buf_consume(&conn->in, 2);
    conn->last_rx_us = now; /* silent past the window, but blocked */
    uint64_t later = now + f->o.liveness_us + 1;
    conn->blocked = 1;
    front_sess_check(conn, later);
    CHECK_EQ_INT(conn->closed, 0);
    conn->blocked = 0;
    front_sess_check(conn, later); /* the control: unblocked, it is closed */
    CHECK_EQ_INT(conn->closed, 1);
    rm_conn(conn);
    rm_front(f);
}
