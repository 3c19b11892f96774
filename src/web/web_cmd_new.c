/* web_cmd_new.c -- POST /api/commands: an operator action becomes a stored, audited command
 * and a downlink message for the front.
 *
 * Order (each step only if the previous succeeded):
 *   1. validate the body (web_cmd_parse.c) and build the data-unit area with the codec's
 *      builders (gw3761_data.h; DL/T 645 frames for meter reads and relay control from
 *      dlt645.h, carried by AFN=10 F1);
 *   2. look the terminal up: unknown -> 404;
 *   3. store the command (state queued) and write the audit record;
 *   4. offline terminal -> the command is marked failed at once, 409 (fail fast: a command
 *      for a terminal with no connection would only time out later);
 *   5. publish the downlink JSON on MQ_DOWNLINK keyed by terminal; a full queue marks the
 *      command failed and answers 503.
 * The answer is 201 with the stored command (GET /api/commands/{id} shows its progress).
 *
 * Thread: HTTP pool threads. */
#include <stdio.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/dlt645.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"
#include "meterflow/log.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "web/web_int.h"

#define UNITS_MAX 512

static int64_t now_s(void)
{
    return (int64_t)(mf_now_us() / 1000000u);
}

static void civil_to_gw(const struct mf_civil *c, struct gw_time *t)
{
    memset(t, 0, sizeof(*t));
    t->year = (uint16_t)c->year;
    t->mon = (uint8_t)c->month;
    t->day = (uint8_t)c->day;
    t->hour = (uint8_t)c->hour;
    t->min = (uint8_t)c->min;
    t->sec = (uint8_t)c->sec;
}

/* AFN=10 F1 carrying a DL/T 645-2007 frame: 2400 bps 8E1, 60 s frame / 100 ms byte timeout,
 * no FE preamble -- the settings of a real concentrator log (vector fwd-read-req). */
static int forward_645(struct gw_ubuf *ub, const struct web_cmd_req *cr, uint8_t c,
                       const uint8_t *data, size_t len)
{
    uint8_t addr[6], frame[64];
    int n;

    if (dlt645_addr_from_u64(cr->meter, addr) != 0)
        return MF_EINVAL;
    n = dlt645_encode(addr, c, data, len, 0, frame, sizeof(frame));
    if (n < 0)
        return n;
    struct gw_fwd f = { .port = cr->port, .ctrl = 0x6B, .frame_timeout = 0xBC,
                        .byte_timeout_10ms = 10, .data = frame, .len = (size_t)n };
    return gw_req_forward(ub, &f);
}

static int relay_645(struct gw_ubuf *ub, const struct web_cmd_req *cr)
{
    static const uint8_t pw[4] = { 0x02, 0, 0, 0 }; /* level 02, password 000000 */
    uint8_t data[16];
    struct mf_civil c;
    struct gw_time until;

    mf_utc_to_civil(now_s() + 3600, &c); /* the command is valid for one hour */
    civil_to_gw(&c, &until);
    uint8_t n1 = cr->type == WEB_CMD_RELAY_TRIP ? DLT645_CTL_TRIP : DLT645_CTL_CLOSE_ALLOWED;
    size_t len = dlt645_control_data(pw, 0, n1, &until, data);
    return forward_645(ub, cr, DLT645_CONTROL, data, len);
}

/* Data-unit area of the command into ub; *afn set. 0 or a negative status. */
static int build_units(const struct web_cmd_req *cr, struct gw_ubuf *ub, uint8_t *afn)
{
    struct gw_time t;
    struct mf_civil c = { 0 };
    uint8_t d4[4];

    if (cr->date_days >= 0)
        mf_days_to_date(cr->date_days, &c.year, &c.month, &c.day);
    civil_to_gw(&c, &t);
    switch (cr->type) {
    case WEB_CMD_READ_CURRENT:
        *afn = GW_AFN_CLASS1;
        return gw_req_read(ub, cr->pn, (uint8_t)cr->fn);
    case WEB_CMD_READ_DAILY:
        *afn = GW_AFN_CLASS2;
        return gw_req_td_d(ub, cr->pn, (uint8_t)cr->fn, &t);
    case WEB_CMD_READ_CURVE:
        *afn = GW_AFN_CLASS2;
        t.min = 15; /* 15-minute density: the first point of the day is 00:15 */
        return gw_req_td_c(ub, cr->pn, (uint8_t)cr->fn, &t, 1, cr->curve_points);
    case WEB_CMD_CLOCK_SYNC:
        *afn = GW_AFN_CONTROL;
        mf_utc_to_civil(now_s(), &c);
        civil_to_gw(&c, &t);
        /* A.1 weekday 1..7 = Monday..Sunday; 1970-01-01 was a Thursday (4). */
        t.wday = (uint8_t)((mf_date_to_days(c.year, c.month, c.day) + 3) % 7 + 1);
        return gw_req_clock(ub, &t);
    case WEB_CMD_READ_METER_CONFIG:
        *afn = GW_AFN_QUERY;
        return gw_req_meter_cfg(ub, cr->serials, cr->nserials);
    case WEB_CMD_METER_READ:
        *afn = GW_AFN_FORWARD;
        return forward_645(ub, cr, DLT645_READ, d4, dlt645_read_data(cr->di, d4));
    case WEB_CMD_RELAY_TRIP:
    case WEB_CMD_RELAY_CLOSE:
        *afn = GW_AFN_FORWARD;
        return relay_645(ub, cr);
    default:
        return MF_EINVAL;
    }
}

/* The stored request: the validated body with defaults made explicit. */
static json_t *request_json(const struct web_cmd_req *cr, uint8_t afn, const char *units_hex)
{
    json_t *r = json_pack("{s:s, s:s, s:i, s:s}", "type", web_cmd_type_name(cr->type),
                          "terminal", cr->terminal, "afn", afn, "units_hex", units_hex);
    char date[16];
    int y, m, d;
    switch (cr->type) {
    case WEB_CMD_READ_DAILY:
    case WEB_CMD_READ_CURVE:
        mf_days_to_date(cr->date_days, &y, &m, &d);
        snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
        json_object_set_new(r, "date", json_string(date));
        MF_FALLTHROUGH;
    case WEB_CMD_READ_CURRENT:
        json_object_set_new(r, "pn", json_integer(cr->pn));
        json_object_set_new(r, "fn", json_integer(cr->fn));
        break;
    case WEB_CMD_METER_READ:
    case WEB_CMD_RELAY_TRIP:
    case WEB_CMD_RELAY_CLOSE:
        json_object_set_new(r, "meter", json_string(cr->meter_text));
        json_object_set_new(r, "port", json_integer(cr->port));
        if (cr->type == WEB_CMD_METER_READ) {
            snprintf(date, sizeof(date), "%08X", cr->di);
            json_object_set_new(r, "di", json_string(date));
        }
        break;
    default:
        break;
    }
    return r;
}

static void mark_failed(struct web_req *req, int64_t id, const char *why)
{
    char ans[160];
    snprintf(ans, sizeof(ans), "{\"error\":\"%s\"}", why); /* why: constant text, no quotes */
    struct store_cmd_result r = { .id = id, .state = STORE_CMD_FAILED, .attempts = 0,
                                  .answer_json = ans, .at = now_s() };
    int rc = store_command_update(req->st, &r);
    if (rc != 0)
        mf_error("web", "command %lld: cannot mark failed: %s", (long long)id, mf_status_str(rc));
}

/* Publish the downlink message. 0, MF_EFULL / MF_ERETRY / MF_EFATAL, MF_ECLOSED (no queue). */
static int publish(struct web_req *req, int64_t id, const struct web_cmd_req *cr, uint8_t afn,
                   const char *units_hex)
{
    if (!req->web->q)
        return MF_ECLOSED;
    int64_t timeout = req->web->cmd_timeout_ms;
    if (afn == GW_AFN_FORWARD && timeout < 60000)
        timeout = 60000; /* a meter behind a carrier link answers slowly */
    json_t *j = json_pack("{s:I, s:s, s:i, s:s, s:b, s:I, s:I, s:i}", "cmd_id", (json_int_t)id,
                          "terminal", cr->terminal, "afn", afn, "units_hex", units_hex, "con", 0,
                          "timeout_ms", (json_int_t)timeout, "retries",
                          (json_int_t)req->web->cmd_retries, "tp_delay_min",
                          cr->type == WEB_CMD_CLOCK_SYNC ? 1 : 0);
    if (req->web->cmd_expire_s > 0) /* the front never sends it after the web gave up */
        json_object_set_new(j, "expires_at", json_integer(now_s() + req->web->cmd_expire_s));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        mf_oom();
    int rc = mq_publish(req->web->q, MQ_DOWNLINK, cr->terminal, strlen(cr->terminal), text,
                        strlen(text));
    free(text);
    return rc;
}

/* Steps 2-5 once the units are built. */
static int submit(struct web_req *req, const struct web_cmd_req *cr, uint8_t afn,
                  const char *units_hex)
{
    json_t *term = NULL, *reqj, *out = NULL;
    uint16_t a1, a2;
    int64_t id = 0;
    int rc;

    rc = store_terminal_json(req->st, cr->terminal, 0, &term);
    if (rc != 0)
        return web_store_error(req, rc, "terminal");
    int online = json_is_true(json_object_get(term, "online"));
    json_decref(term);
    reqj = request_json(cr, afn, units_hex);
    char *rtext = json_dumps(reqj, JSON_COMPACT);
    gw_terminal_parse(cr->terminal, &a1, &a2);
    struct store_command c = { .term = gw_terminal_key(a1, a2), .afn = afn,
                               .request_json = rtext, .created_by = req->user,
                               .created_at = now_s() };
    rc = store_command_create(req->st, &c, &id);
    free(rtext);
    if (rc != 0) {
        json_decref(reqj);
        return web_store_error(req, rc, "command");
    }
    char target[32];
    snprintf(target, sizeof(target), "%s #%lld", cr->terminal, (long long)id);
    web_audit(req, "command.create", target, json_incref(reqj));
    json_decref(reqj);
    if (!online) {
        mark_failed(req, id, "terminal offline");
        __atomic_add_fetch(&req->web->cmd_rejected_offline, 1, __ATOMIC_RELAXED);
        web_error(req, 409, "terminal %s is offline; command %lld failed", cr->terminal,
                  (long long)id);
        json_object_set_new(req->json, "id", json_integer(id));
        return 409;
    }
    rc = publish(req, id, cr, afn, units_hex);
    if (rc != 0) {
        mark_failed(req, id, rc == MF_ECLOSED ? "no queue" : "downlink queue full");
        __atomic_add_fetch(&req->web->cmd_queue_full, 1, __ATOMIC_RELAXED);
        return web_error(req, 503, "%s; command %lld failed", rc == MF_ECLOSED
                                   ? "this web process has no queue" : "downlink queue busy",
                         (long long)id);
    }
    __atomic_add_fetch(&req->web->cmd_created, 1, __ATOMIC_RELAXED);
    rc = store_command_json(req->st, id, &out);
    if (rc != 0) /* published already: answer with what we know */
        return web_reply(req, 201, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
                                             "queued"));
    return web_reply(req, 201, out);
}

int web_h_command_create(struct web_req *req)
{
    char err[160], units_hex[3 * UNITS_MAX + 1];
    uint8_t units[UNITS_MAX], afn = 0;
    struct web_cmd_req cr;
    struct gw_ubuf ub;
    int rc;

    json_t *body = web_json_object_parse(req->body.data, req->body.len, err, sizeof(err));
    if (!body)
        return web_error(req, 400, "%s", err);
    rc = web_cmd_req_parse(body, &cr, err, sizeof(err));
    json_decref(body);
    if (rc != 0)
        return web_error(req, 400, "%s", err);
    if (cr.date_days < 0)
        cr.date_days = web_today() - 1;
    gw_ub_init(&ub, units, sizeof(units));
    rc = build_units(&cr, &ub, &afn);
    if (rc != 0 || ub.err != 0 || ub.len == 0)
        return web_error(req, 400, "cannot encode this command (%s)", mf_status_str(rc));
    mf_hex_encode(units, ub.len, units_hex, sizeof(units_hex));
    return submit(req, &cr, afn, units_hex);
}
