/* front_req.c -- master requests to a terminal: downlink command JSON, per-terminal PFC and
 * PSEQ, PW and Tp, retransmission with the same PSEQ, answers matched by RSEQ (and the PFC
 * echoed in Tp), status envelopes (sent / answered / denied / timeout / offline / failed).
 *
 * Invariants:
 *  - one active request per terminal; the rest wait in conn->reqq (at most max_queued_cmds),
 *    so answers cannot be confused across requests and RSEQ chains stay unambiguous;
 *  - PFC +1 for every new request (mod 256), never on a retransmission (section 5);
 *  - a retransmission resends the stored frame byte for byte.
 *
 * Thread: front_cmd_parse on the downlink thread; everything else on the connection's I/O
 * thread. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front_int.h"
#include "meterflow/clock.h"
#include "meterflow/gw3761_data.h"

static int json_uint(json_t *root, const char *name, uint64_t def, uint64_t max, uint64_t *out,
                     char *why, size_t whylen)
{
    json_t *v = json_object_get(root, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max) {
        snprintf(why, whylen, "%s: integer 0..%llu expected", name, (unsigned long long)max);
        return MF_EINVAL;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int json_flag(json_t *root, const char *name, int *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(root, name);
    if (!v) {
        *out = 0;
        return 0;
    }
    if (!json_is_boolean(v)) {
        snprintf(why, whylen, "%s: true or false expected", name);
        return MF_EINVAL;
    }
    *out = json_is_true(v);
    return 0;
}

static const char *const cmd_keys[] = { "cmd_id", "terminal", "afn", "units_hex", "con",
                                        "timeout_ms", "retries", "tp_delay_min", "expires_at",
                                        NULL };

static int cmd_fields(json_t *root, struct front_cmd *c, uint8_t *units, char *why, size_t wl)
{
    uint64_t v;
    int con;
    const char *k;
    json_t *val;

    json_object_foreach(root, k, val) {
        int ok = 0;
        for (size_t i = 0; cmd_keys[i]; i++)
            ok |= strcmp(k, cmd_keys[i]) == 0;
        if (!ok) {
            snprintf(why, wl, "unknown field '%.40s'", k);
            return MF_EINVAL;
        }
    }
    if (json_uint(root, "afn", 256, 255, &v, why, wl) != 0)
        return MF_EINVAL;
    if (v == 256 || v == GW_AFN_CONFIRM || v == GW_AFN_LINK || v > GW_AFN_FORWARD) {
        snprintf(why, wl, "afn: a master request AFN (1, 3..16) is required");
        return MF_EINVAL;
    }
    c->afn = (uint8_t)v;
    json_t *hex = json_object_get(root, "units_hex");
    if (!json_is_string(hex)) {
        snprintf(why, wl, "units_hex: string required");
        return MF_EINVAL;
    }
    int n = mf_hex_decode(json_string_value(hex), units, GW_L1_MAX - 8 - GW_PW_LEN - GW_TP_LEN);
    if (n < 4) {
        snprintf(why, wl, "units_hex: hex bytes (DA/DT + data, at least 4) required");
        return MF_EINVAL;
    }
    c->units_len = (size_t)n;
    if (json_flag(root, "con", &con, why, wl) != 0)
        return MF_EINVAL;
    c->con = (uint8_t)con;
    if (json_uint(root, "timeout_ms", 30000, 3600000, &v, why, wl) != 0)
        return MF_EINVAL;
    c->timeout_ms = (uint32_t)(v ? v : 1);
    if (json_uint(root, "retries", 3, 3, &v, why, wl) != 0) /* section 5: at most 3 */
        return MF_EINVAL;
    c->retries = (uint8_t)v;
    if (json_uint(root, "tp_delay_min", 0, 255, &v, why, wl) != 0)
        return MF_EINVAL;
    c->tp_delay_min = (uint8_t)v;
    if (json_uint(root, "expires_at", 0, (uint64_t)1 << 40, &v, why, wl) != 0)
        return MF_EINVAL;
    c->expires_at = (int64_t)v;
    return 0;
}

int front_cmd_expired(const struct front_cmd *cmd)
{
    return cmd->expires_at > 0 && (int64_t)(mf_now_us() / 1000000u) >= cmd->expires_at;
}

int front_cmd_parse(const uint8_t *json, size_t len, struct front_cmd **out, uint64_t *cmd_id,
                    uint16_t *a1, uint16_t *a2, char *why, size_t whylen)
{
    json_error_t jerr;
    struct front_cmd c;
    uint64_t id;
    int rc = MF_EINVAL;

    *out = NULL;
    *cmd_id = 0;
    *a1 = *a2 = 0;
    uint8_t *units = mf_malloc(GW_L1_MAX);
    json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(why, whylen, "not a JSON object: %.80s", root ? "" : jerr.text);
        goto out;
    }
    memset(&c, 0, sizeof(c));
    if (json_uint(root, "cmd_id", 0, UINT64_MAX >> 1, &id, why, whylen) != 0)
        goto out;
    if (id == 0) {
        snprintf(why, whylen, "cmd_id: positive integer required");
        goto out;
    }
    *cmd_id = c.cmd_id = id;
    json_t *t = json_object_get(root, "terminal");
    if (!json_is_string(t) || gw_terminal_parse(json_string_value(t), &c.a1, &c.a2) != 0) {
        snprintf(why, whylen, "terminal: \"RRRR-TTTT\" required");
        goto out;
    }
    *a1 = c.a1;
    *a2 = c.a2;
    if (cmd_fields(root, &c, units, why, whylen) != 0)
        goto out;
    struct front_cmd *cmd = mf_malloc(sizeof(*cmd) + c.units_len);
    *cmd = c;
    memcpy(cmd->units, units, c.units_len);
    *out = cmd;
    rc = 0;
out:
    json_decref(root);
    free(units);
    return rc;
}

void front_cmd_status(struct front_thread *th, struct front *f, uint64_t cmd_id, uint16_t a1,
                      uint16_t a2, uint64_t conn_id, int state, int attempts, const char *detail)
{
    struct mf_env_cmd_status s;
    struct mf_env e;
    uint8_t payload[MF_ENV_CMD_STATUS_MAX + 8];
    uint8_t buf[MF_ENV_HDR_LEN + MF_ENV_CMD_STATUS_MAX + 8];
    char key[GW_TERMINAL_STRLEN];

    memset(&s, 0, sizeof(s));
    s.state = (uint8_t)state;
    s.attempts = (uint8_t)MF_MIN(attempts, 255);
    mf_strlcpy(s.detail, detail ? detail : "", sizeof(s.detail));
    int plen = mf_env_cmd_status_encode(&s, payload, sizeof(payload));
    if (plen < 0)
        return;
    memset(&e, 0, sizeof(e));
    e.kind = MF_ENV_CMD_STATUS;
    e.received_at_us = mf_now_us();
    e.conn_id = conn_id;
    e.cmd_id = cmd_id;
    e.front_id = (uint16_t)f->o.node_id;
    e.a1 = a1;
    e.a2 = a2;
    e.msa = (uint8_t)f->o.msa;
    e.payload = payload;
    e.payload_len = (uint32_t)plen;
    int n = mf_env_encode(&e, buf, sizeof(buf));
    if (n < 0)
        return;
    gw_terminal_format(a1, a2, key);
    if (th) {
        if (th->ops->publish(th, (const uint8_t *)key, GW_TERMINAL_STRLEN - 1, buf, (size_t)n))
            FRONT_DROP(th, FRONT_DROP_PUBLISH);
    } else {
        mq_publish(f->q, MQ_UPLINK, key, GW_TERMINAL_STRLEN - 1, buf, (size_t)n);
    }
}

static void req_status(struct front_req *r, int state, const char *detail)
{
    struct front_conn *conn = r->conn;
    if (r->internal)
        return;
    front_cmd_status(conn->th, conn->th->f, r->cmd->cmd_id, conn->a1, conn->a2, conn->id, state,
                     r->attempts, detail);
}

static void req_free(struct front_req *r)
{
    free(r->cmd);
    free(r);
}

/* The provider's PW into a frame encoded with a zero PW: it sees the user data as sent
 * (PW zero), its bytes replace the zeros (PW ends before CS 16, and before Tp if present),
 * and CS is summed again. 0 or the provider's failure. */
static int req_pw(struct front *f, struct front_req *r, const struct gw_frame_out *fo, size_t pl)
{
    uint8_t pw[GW_PW_LEN];
    struct front_pw_req rq = { fo->addr.a1, fo->addr.a2, fo->afn, r->frame + 6, r->len - 8 };
    size_t at = r->len - 2 - (fo->has_tp ? 6u : 0u) - pl;
    uint8_t cs = 0;

    memset(pw, 0, sizeof(pw));
    int rc = f->pw_fn(f->pw_opaque, &rq, pw, pl);
    if (rc != 0)
        return rc;
    memcpy(r->frame + at, pw, pl);
    for (size_t i = 6; i < r->len - 2; i++)
        cs = (uint8_t)(cs + r->frame[i]);
    r->frame[r->len - 2] = cs;
    return 0;
}

/* Build the request frame: C, MSA, PFC/PSEQ, PW (AFNs that carry it), optional Tp.
 * NULL with *why (a constant) when it cannot be built. */
static struct front_req *req_build(struct front_conn *conn, struct front_cmd *cmd,
                                   const char **why)
{
    struct front *f = conn->th->f;
    struct gw_frame_out fo;
    uint8_t pw[GW_PW_LEN];
    size_t pl = 0;
    size_t cap = cmd->units_len + 64;
    struct front_req *r = mf_calloc(1, sizeof(*r) + cap);

    r->conn = conn;
    r->cmd = cmd;
    r->pfc = ++conn->pfc;
    r->pseq = r->pfc & 15u;
    r->next_rseq = r->pseq;
    memset(&fo, 0, sizeof(fo));
    fo.c = gw_c_down(1, 0, 0, cmd->con ? 10 : 11); /* 0x4A / 0x4B (section 2) */
    fo.addr.a1 = conn->a1;
    fo.addr.a2 = conn->a2;
    fo.addr.msa = (uint8_t)f->o.msa;
    fo.afn = cmd->afn;
    fo.seq.fir = fo.seq.fin = 1;
    fo.seq.con = cmd->con;
    fo.seq.pseq = r->pseq;
    fo.units = cmd->units;
    fo.units_len = cmd->units_len;
    if (gw_afn_has_pw(0, cmd->afn)) {
        pl = MF_MIN((size_t)conn->pw_len, sizeof(pw));
        memset(pw, 0, sizeof(pw));
        fo.pw = pw; /* zeros now; the provider's bytes once the frame exists */
        fo.pw_len = pl;
    }
    if (cmd->tp_delay_min > 0) {
        struct mf_civil now;
        mf_utc_to_civil((int64_t)(mf_now_us() / 1000000u), &now);
        fo.has_tp = 1;
        fo.tp.pfc = r->pfc;
        fo.tp.sec = (uint8_t)now.sec;
        fo.tp.min = (uint8_t)now.min;
        fo.tp.hour = (uint8_t)now.hour;
        fo.tp.day = (uint8_t)now.day;
        fo.tp.delay_min = cmd->tp_delay_min;
        fo.tp.valid = 1;
    }
    int n = gw_frame_encode(&fo, r->frame, cap);
    if (n < 0) {
        *why = "frame does not fit";
        free(r);
        return NULL;
    }
    r->len = (size_t)n;
    if (fo.pw && f->pw_fn && req_pw(f, r, &fo, pl) != 0) {
        *why = "no PW key for the terminal";
        free(r);
        return NULL;
    }
    return r;
}

static void req_unlink_active(struct front_req *r)
{
    struct front_thread *th = r->conn->th;
    if (r->prev)
        r->prev->next = r->next;
    else
        th->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
    r->conn->req = NULL;
}

static void req_send(struct front_req *r)
{
    struct front_conn *conn = r->conn;
    r->attempts++;
    r->deadline_us = front_now_mono() + (uint64_t)r->cmd->timeout_ms * 1000u;
    FRONT_INC(conn->th, frames_out);
    conn->th->ops->send(conn, r->frame, r->len);
}

/* Make the next waiting command active (called when the terminal is idle). */
static void req_next(struct front_conn *conn)
{
    struct front_thread *th = conn->th;

    while (!conn->req && conn->reqq && !conn->closed && conn->state == FRONT_S_ONLINE) {
        struct front_req *w = conn->reqq;
        conn->reqq = w->next;
        conn->nqueued--;
        struct front_cmd *cmd = w->cmd;
        int internal = w->internal;
        uint8_t ev_pn = w->ev_pn;
        free(w);
        if (front_cmd_expired(cmd)) { /* it waited behind others past its expiry */
            if (!internal)
                front_cmd_status(th, th->f, cmd->cmd_id, conn->a1, conn->a2, conn->id,
                                 MF_CMD_FAILED, 0, "expired before it could be sent");
            free(cmd);
            continue;
        }
        const char *why = "";
        struct front_req *r = req_build(conn, cmd, &why);
        if (!r) {
            if (!internal)
                front_cmd_status(th, th->f, cmd->cmd_id, conn->a1, conn->a2, conn->id,
                                 MF_CMD_FAILED, 0, why);
            free(cmd);
            continue;
        }
        r->internal = (uint8_t)internal;
        r->ev_pn = ev_pn;
        r->next = th->reqs;
        if (th->reqs)
            th->reqs->prev = r;
        th->reqs = r;
        conn->req = r;
        req_send(r);
        if (!internal)
            FRONT_INC(th, cmds_sent);
        req_status(r, MF_CMD_SENT, "");
    }
}

void front_req_submit(struct front_conn *conn, struct front_cmd *cmd, int internal)
{
    struct front_thread *th = conn->th;

    if (conn->nqueued >= th->f->o.max_queued_cmds) {
        if (!internal)
            front_cmd_status(th, th->f, cmd->cmd_id, cmd->a1, cmd->a2, conn->id, MF_CMD_FAILED,
                             0, "too many commands queued for this terminal");
        free(cmd);
        return;
    }
    /* A waiting entry is a front_req without a frame; req_next builds the real one. */
    struct front_req *w = mf_calloc(1, sizeof(*w));
    w->cmd = cmd;
    w->conn = conn;
    w->internal = (uint8_t)internal;
    struct front_req **pp = &conn->reqq;
    while (*pp)
        pp = &(*pp)->next;
    *pp = w;
    conn->nqueued++;
    req_next(conn);
}

void front_req_event_read(struct front_conn *conn, uint8_t ec1)
{
    struct front *f = conn->th->f;

    if (conn->ev_pending || (conn->last_ec1 >= 0 && (uint8_t)conn->last_ec1 == ec1))
        return;
    uint8_t pm;
    if (conn->last_ec1 >= 0)
        pm = (uint8_t)conn->last_ec1;
    else /* unknown history: read at most event_read_max of the latest records */
        pm = ec1 >= f->o.event_read_max ? (uint8_t)(ec1 - f->o.event_read_max) : 0;
    if (pm == ec1)
        return;
    struct front_cmd *cmd = mf_calloc(1, sizeof(*cmd) + 16);
    struct gw_ubuf ub;
    gw_ub_init(&ub, cmd->units, 16);
    gw_req_events(&ub, 1, pm, ec1); /* p0 F1 important events, Pm Pn */
    if (ub.err) {
        free(cmd);
        return;
    }
    cmd->units_len = ub.len;
    cmd->afn = GW_AFN_CLASS3;
    cmd->a1 = conn->a1;
    cmd->a2 = conn->a2;
    cmd->timeout_ms = 30000;
    cmd->retries = 1;
    conn->ev_pending = 1;
    front_req_submit(conn, cmd, 1);
    /* the waiting entry remembers Pn so FIN can advance last_ec1 */
    if (conn->req && conn->req->internal)
        conn->req->ev_pn = ec1;
    for (struct front_req *w = conn->reqq; w; w = w->next)
        if (w->internal)
            w->ev_pn = ec1;
}

uint64_t front_req_match(struct front_conn *conn, const struct gw_frame *fr, int *is_internal)
{
    struct front_req *r = conn->req;

    *is_internal = 0;
    if (!r || fr->addr.msa != (uint8_t)conn->th->f->o.msa)
        return 0;
    /* Single answers and the first frame carry RSEQ = PSEQ; further frames count up. A
     * repeated RSEQ (the terminal resending its answer) still belongs to the request. */
    uint8_t rs = fr->seq.pseq;
    int repeat = r->answered_any && rs == ((r->next_rseq + 15u) & 15u);
    if (rs != r->next_rseq && !repeat) /* a late answer to an earlier PSEQ is not ours */
        return 0;
    if (fr->has_tp && fr->tp.pfc != r->pfc) /* the echoed PFC must be ours (section 10.3) */
        return 0;
    *is_internal = r->internal;
    return r->internal ? 0 : r->cmd->cmd_id;
}

void front_req_answered(struct front_conn *conn, const struct gw_frame *fr)
{
    struct front_req *r = conn->req;
    if (!r)
        return;
    r->answered_any = 1;
    r->next_rseq = (uint8_t)((fr->seq.pseq + 1u) & 15u);
    int denied = fr->afn == GW_AFN_CONFIRM && fr->units_len >= 4 && fr->units[0] == 0 &&
                 fr->units[1] == 0 && fr->units[2] == 0x02 && fr->units[3] == 0;
    if (!fr->seq.fin && !denied)
        return; /* more frames of this answer follow; each carries the cmd_id */
    if (r->internal) {
        conn->last_ec1 = r->ev_pn;
        conn->ev_pending = 0;
    } else if (denied) {
        FRONT_INC(conn->th, cmds_denied);
        req_status(r, MF_CMD_DENIED, "terminal denied (AFN=00 F2)");
    } else {
        FRONT_INC(conn->th, cmds_answered);
        req_status(r, MF_CMD_ANSWERED, "");
    }
    req_unlink_active(r);
    req_free(r);
    req_next(conn);
}

void front_req_tick(struct front_thread *th, uint64_t now)
{
again:
    /* clang-analyzer-unix.Malloc reports r used after req_free below: a false positive, the
     * freed request is unlinked first and the scan restarts from th->reqs. */
    for (struct front_req *r = th->reqs; r; r = r->next) {
        if (now < r->deadline_us) /* NOLINT(clang-analyzer-unix.Malloc) */
            continue;
        struct front_conn *conn = r->conn;
        if (r->attempts <= r->cmd->retries && !r->answered_any) {
            FRONT_INC(th, retransmissions);
            req_send(r); /* same bytes, same PSEQ and PFC (section 5); deadline moves on */
            continue;
        }
        if (r->internal) {
            conn->ev_pending = 0;
        } else {
            FRONT_INC(th, cmds_timeout);
            req_status(r, MF_CMD_TIMEOUT, r->answered_any ? "answer incomplete" : "no answer");
        }
        req_unlink_active(r);
        req_free(r);
        req_next(conn);
        goto again; /* the list changed; every request left has a future deadline or is next */
    }
}

void front_req_drop_all(struct front_conn *conn)
{
    struct front_thread *th = conn->th;

    if (conn->req) {
        struct front_req *r = conn->req;
        if (!r->internal)
            FRONT_INC(th, cmds_offline);
        req_status(r, MF_CMD_OFFLINE, "connection closed before the answer");
        req_unlink_active(r);
        req_free(r);
    }
    while (conn->reqq) {
        struct front_req *w = conn->reqq;
        conn->reqq = w->next;
        if (!w->internal) {
            FRONT_INC(th, cmds_offline);
            front_cmd_status(th, th->f, w->cmd->cmd_id, conn->a1, conn->a2, conn->id,
                             MF_CMD_OFFLINE, 0, "connection closed before sending");
        }
        req_free(w);
    }
    conn->nqueued = 0;
    conn->ev_pending = 0;
}
