/* worker_msg.c -- one uplink message into records: frames (raw frame kept, then parsed,
 * decoded and normalised), session changes, command status updates.
 *
 * Nothing here can fail the loop: an envelope that does not decode is counted and skipped;
 * a frame that does not parse or decode completely is kept raw (it is durable, so
 * confirming it is correct) with the reason (frames.error) and counted, with a
 * rate-limited log line.
 * Thread: the worker's consumer thread only. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/envelope.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"
#include "worker/worker_int.h"

#define WK_MOD "worker"
#define WK_ANSWER_MAX 60000u /* under the store's 64 KB JSON cap */

static int64_t env_at_s(const struct mf_env *e)
{
    return (int64_t)(e->received_at_us / 1000000u);
}

static void add_rec(struct worker *w, const struct proc_rec *r)
{
    (void)wk_recs_add(&w->recs, r); /* types are ours: cannot be unknown */
}

static void keep_raw_frame(struct worker *w, const struct mf_env *e)
{
    struct proc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_FRAME;
    r.u.frame.term = gw_terminal_key(e->a1, e->a2);
    r.u.frame.at_us = (int64_t)e->received_at_us;
    r.u.frame.dir = 1;
    r.u.frame.raw = e->payload; /* copied into the batch arena by wk_recs_add */
    r.u.frame.raw_len = e->payload_len;
    add_rec(w, &r);
}

/* Why a frame did not decode, kept with its raw frame (frames.error) for the panel. The
 * frame record was added last to w->recs.frames by keep_raw_frame (normalising adds no
 * frame records; checked by its time anyway). */
static void frame_error_set(struct worker *w, const struct mf_env *e, const char *text)
{
    if (w->recs.frames.n == 0)
        return;
    struct store_frame *x = &w->recs.frames.v[w->recs.frames.n - 1];
    if (x->at_us == (int64_t)e->received_at_us && x->dir == 1)
        x->error = wk_arena_dup(&w->recs.arena, text, strlen(text));
}

/* "AFN 0C F200 p1: no layout for this Fn; 3 bytes not decoded" from the decoder's state:
 * the first unit that did not decode, or the identifier that stopped it. */
static void decode_error_text(const struct gw_decoded *dec, int rc, char *out, size_t len)
{
    static const char *const why[] = { "decoded", "no layout for this Fn",
                                       "truncated or a count over its cap",
                                       "decoder caps reached" };
    for (uint16_t u = 0; dec && u < dec->nunits; u++) {
        const struct gw_unit *un = &dec->units[u];
        if (un->status == GW_US_OK || un->status >= MF_ARRAY_LEN(why))
            continue;
        char pn[16];
        if (un->pn == GW_PN_ALL)
            snprintf(pn, sizeof(pn), "all points");
        else
            snprintf(pn, sizeof(pn), "p%u", (unsigned)un->pn);
        snprintf(out, len, "AFN %02X F%u %s: %s; %zu bytes not decoded", (unsigned)un->afn,
                 (unsigned)un->fn, pn, why[un->status], dec->rest_len);
        return;
    }
    snprintf(out, len, "data unit identifier undefined or truncated (%s); %zu bytes not decoded",
             mf_status_str(rc), dec ? dec->rest_len : 0);
}

static void decode_error(struct worker *w, const struct mf_env *e, const char *text)
{
    char term[GW_TERMINAL_STRLEN];
    wk_stat_add(w, &w->stats.decode_errors, 1);
    frame_error_set(w, e, text);
    gw_terminal_format(e->a1, e->a2, term);
    if (mf_ratelimit_allow(&w->rl_decode, WK_MOD))
        mf_warn(WK_MOD, "%s: %s (frame kept raw)", term, text);
}

/* A frame answering a command: AFN=00 F2 (deny all) fails it, anything else answers it. */
static void frame_cmd_result(struct worker *w, const struct mf_env *e, const struct gw_frame *fr,
                             const char *units_json)
{
    struct proc_rec r;
    struct gw_dadt d;
    int denied = fr->afn == GW_AFN_CONFIRM && fr->units_len >= 4 &&
                 gw_dadt_decode(fr->units, &d) == 0 && d.nfn == 1 && d.fn[0] == 2;
    json_t *o = json_object();
    mf_hex_encode(e->payload, e->payload_len, w->hexbuf, sizeof(w->hexbuf));
    json_object_set_new(o, "afn", json_integer(fr->afn));
    json_object_set_new(o, "denied", json_boolean(denied));
    json_object_set_new(o, "frame", json_string(w->hexbuf));
    if (units_json) {
        json_t *u = json_loads(units_json, 0, NULL);
        if (u)
            json_object_set_new(o, "units", u);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    /* the store caps JSON texts at 64 KB: a huge answer keeps its frame, then only its AFN */
    if (text && strlen(text) > WK_ANSWER_MAX) {
        free(text);
        json_object_del(o, "units");
        text = json_dumps(o, JSON_COMPACT);
        if (text && strlen(text) > WK_ANSWER_MAX) {
            free(text);
            json_object_del(o, "frame");
            text = json_dumps(o, JSON_COMPACT);
        }
    }
    json_decref(o);
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_CMD_RESULT;
    r.u.cmd_result.id = (int64_t)e->cmd_id;
    r.u.cmd_result.state = denied ? STORE_CMD_FAILED : STORE_CMD_ANSWERED;
    r.u.cmd_result.attempts = -1;
    r.u.cmd_result.answer_json = text;
    r.u.cmd_result.at = env_at_s(e);
    add_rec(w, &r);
    free(text);
}

/* The decoded units as JSON for a command's answer: [{"pn","fn","name","values":{..}}].
 * Lists (index > 0) become arrays. Values of events are left out (events are stored). */
static char *units_json(const struct gw_decoded *dec)
{
    json_t *arr = json_array();
    for (uint16_t u = 0; u < dec->nunits; u++) {
        const struct gw_unit *un = &dec->units[u];
        json_t *vals = json_object();
        for (uint16_t i = un->first; i < un->first + un->nval; i++) {
            const struct gw_value *v = &dec->vals[i];
            json_t *x = json_null();
            if (v->status == GW_VS_OK && v->kind == GW_VK_NUM)
                x = json_real(gw_num_to_double(v->u.i, v->exp));
            else if (v->status == GW_VS_OK && (v->kind == GW_VK_INT || v->kind == GW_VK_ADDR))
                x = json_integer(v->u.i);
            else if (v->status == GW_VS_OK && v->kind == GW_VK_TIME) {
                char b[40];
                snprintf(b, sizeof(b), "%04u-%02u-%02uT%02u:%02u:%02u", v->u.t.year, v->u.t.mon,
                         v->u.t.day, v->u.t.hour, v->u.t.min, v->u.t.sec);
                x = json_string(b);
            }
            if (v->index == 0) {
                json_object_set_new(vals, v->name, x);
                continue;
            }
            json_t *list = json_object_get(vals, v->name);
            if (!json_is_array(list)) {
                list = json_array();
                json_object_set_new(vals, v->name, list);
            }
            json_array_append_new(list, x);
        }
        json_array_append_new(arr, json_pack("{s:i, s:i, s:i, s:s, s:o}", "afn", un->afn, "pn",
                                             un->pn, "fn", un->fn, "name", un->name, "values",
                                             vals));
    }
    char *text = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(arr);
    return text;
}

/* Decode and normalise; the ingest-time anomalies go into the same batch. */
static int frame_normalise(struct worker *w, const struct mf_env *e, const struct gw_frame *fr,
                           char **answer_json)
{
    struct proc_anomaly av[2 * GW_DEC_MAX_EVENTS]; /* every event + a few voltage/clock */
    struct proc_anoms an = { av, 0, MF_ARRAY_LEN(av), 0 };
    if (!w->dec)
        w->dec = mf_malloc(sizeof(*w->dec));
    int drc = gw_decode_units(fr, w->dec);
    struct proc_norm_ctx ctx = { gw_terminal_key(e->a1, e->a2), env_at_s(e), &w->pcfg, &an, 0 };
    /* what decoded before a failure is complete and is kept (gw3761_data.h) */
    (void)proc_norm_units(&ctx, w->dec, wk_recs_emit, &w->recs);
    for (size_t i = 0; i < an.n; i++) {
        wk_anomaly_record(&w->recs, &av[i], NULL);
        if (av[i].kind == PROC_AN_CLOCK && proc_point_pn(av[i].point) == 0)
            wk_clock_note(w, ctx.term);
    }
    if (answer_json)
        *answer_json = units_json(w->dec);
    return drc;
}

static void on_frame(struct worker *w, const struct mf_env *e)
{
    struct gw_frame fr;
    wk_stat_add(w, &w->stats.frames, 1);
    keep_raw_frame(w, e);
    int rc = gw_frame_parse(e->payload, e->payload_len, GW_PW_LEN, &fr);
    char why[200];
    if (rc != 0) {
        snprintf(why, sizeof(why), "frame does not parse: %s", mf_status_str(rc));
        decode_error(w, e, why);
        return;
    }
    char *answer = NULL;
    rc = frame_normalise(w, e, &fr, e->cmd_id ? &answer : NULL);
    if (rc != 0) {
        decode_error_text(w->dec, rc, why, sizeof(why));
        decode_error(w, e, why);
    }
    if (e->cmd_id)
        frame_cmd_result(w, e, &fr, answer);
    free(answer);
}

static const char *offline_reason(int reason)
{
    static const char *const names[] = { "offline", "logout", "timeout", "closed",
                                         "replaced", "kicked", "shutdown" };
    return reason >= 0 && (size_t)reason < MF_ARRAY_LEN(names) ? names[reason] : "offline";
}

/* A login: the impersonation detector (include/meterflow/sec.h) on its peer address. A
 * report becomes a terminal-level anomaly of the day (one row per terminal and day, updated
 * by later reports), a counter, and a rate-limited warning; nobody is disconnected. */
static void imp_check(struct worker *w, uint32_t term, const char *peer, int64_t at)
{
    struct sec_imp_hit h;
    struct proc_anomaly a;

    if (!w->imp || sec_imp_login(w->imp, term, peer, at, &h) != 1)
        return;
    wk_stat_add(w, &w->stats.imp_suspects, 1);
    memset(&a, 0, sizeof(a));
    a.kind = PROC_AN_IMPERSONATION;
    a.severity = PROC_SEV_MAJOR;
    a.point = proc_point_key(term, 0);
    a.day = wk_civil_day(at);
    a.at = at;
    a.value = h.returns;
    a.threshold = w->imp_min_returns;
    a.count = (int32_t)h.returns;
    /* "<this login's address> / <the one it alternates with>: N returns" (fits 112) */
    snprintf(a.detail, sizeof(a.detail), "%.44s / %.44s: %u returns", h.cur, h.prev,
             h.returns);
    wk_anomaly_record(&w->recs, &a, NULL);
    if (mf_log_level >= MF_LOG_WARN && mf_ratelimit_allow(&w->rl_imp, WK_MOD)) {
        char key[GW_TERMINAL_STRLEN];
        gw_terminal_format((uint16_t)(term >> 16), (uint16_t)term, key);
        mf_warn(WK_MOD, "%s: possible impersonation: logins alternate between peers %s in %llds",
                key, a.detail, (long long)(at - h.since_s));
    }
}

static void on_session(struct worker *w, const struct mf_env *e)
{
    struct mf_env_session s;
    struct proc_rec r;
    if (mf_env_session_decode(e->payload, e->payload_len, &s) != 0) {
        wk_stat_add(w, &w->stats.bad_envelopes, 1);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_SESSION;
    r.u.session.term = gw_terminal_key(e->a1, e->a2);
    r.u.session.online = s.state != MF_SESSION_OFFLINE;
    r.u.session.has_clock_offset = s.has_clock;
    r.u.session.clock_offset_s = s.clock_offset_s;
    r.u.session.reason = s.state == MF_SESSION_ONLINE   ? "online"
                         : s.state == MF_SESSION_CLOCK ? "clock"
                                                       : offline_reason(s.reason);
    r.u.session.peer = s.peer[0] ? s.peer : NULL;
    r.u.session.at = env_at_s(e);
    if (s.state == MF_SESSION_ONLINE && r.u.session.peer)
        imp_check(w, r.u.session.term, r.u.session.peer, r.u.session.at);
    if (w->slane)
        wk_sess_push(w, &r.u.session); /* its own transactions (worker_sess.c) */
    else
        add_rec(w, &r);
    if (s.has_clock) { /* the clock rule on a heartbeat's clock */
        struct proc_anomaly a;
        struct proc_anoms an = { &a, 0, 1, 0 };
        struct proc_clock c = { proc_point_key(r.u.session.term, 0), r.u.session.at,
                                s.clock_offset_s };
        if (proc_clock_check(&w->pcfg, wk_civil_day(r.u.session.at), &c, 1, &an) == 1) {
            wk_anomaly_record(&w->recs, &a, NULL);
            wk_clock_note(w, r.u.session.term);
        }
    }
}

static int cmd_state(int env_state)
{
    switch (env_state) {
    case MF_CMD_QUEUED: return STORE_CMD_QUEUED;
    case MF_CMD_SENT: return STORE_CMD_SENT;
    case MF_CMD_ANSWERED: return STORE_CMD_ANSWERED;
    case MF_CMD_TIMEOUT: return STORE_CMD_TIMEOUT;
    default: return STORE_CMD_FAILED; /* denied, offline, failed */
    }
}

static void on_cmd_status(struct worker *w, const struct mf_env *e)
{
    struct mf_env_cmd_status s;
    struct proc_rec r;
    char *text = NULL;
    if (mf_env_cmd_status_decode(e->payload, e->payload_len, &s) != 0 || e->cmd_id == 0) {
        wk_stat_add(w, &w->stats.bad_envelopes, 1);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_CMD_RESULT;
    r.u.cmd_result.id = (int64_t)e->cmd_id;
    r.u.cmd_result.state = (uint8_t)cmd_state(s.state);
    r.u.cmd_result.attempts = s.attempts;
    if (s.state != MF_CMD_QUEUED && s.state != MF_CMD_SENT && s.state != MF_CMD_ANSWERED) {
        json_t *o = json_pack("{s:s, s:s}", "state", mf_cmd_state_str(s.state), "detail",
                              s.detail);
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    }
    r.u.cmd_result.answer_json = text;
    r.u.cmd_result.at = env_at_s(e);
    add_rec(w, &r);
    free(text);
}

void wk_msg_process(struct worker *w, const struct mq_msg *m)
{
    struct mf_env e;
    if (mf_env_decode(m->val, m->val_len, &e) != 0) {
        wk_stat_add(w, &w->stats.bad_envelopes, 1);
        if (mf_ratelimit_allow(&w->rl_decode, WK_MOD))
            mf_warn(WK_MOD, "uplink message at offset %lld does not decode as an envelope",
                    (long long)m->offset);
        return;
    }
    switch (e.kind) {
    case MF_ENV_FRAME:
        on_frame(w, &e);
        break;
    case MF_ENV_SESSION:
        on_session(w, &e);
        break;
    case MF_ENV_CMD_STATUS:
        on_cmd_status(w, &e);
        break;
    default:
        wk_stat_add(w, &w->stats.bad_envelopes, 1);
        break;
    }
}
