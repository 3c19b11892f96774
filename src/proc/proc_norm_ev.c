/* proc_norm_ev.c -- normalisation of the units that are not measurements: AFN=0E events
 * (typed fields as a JSON object, raw record kept, event counters), AFN=0A F10 meter
 * configuration, AFN=09 F1 terminal version, AFN=10 F1/F9 forwarded DL/T 645 answers.
 *
 * The event-field JSON is written by hand into a fixed buffer (the proc module stays free
 * of allocation and libraries); names are the decoder's static names, text values are
 * escaped, times are UTC ISO-8601.
 * Thread: any (pure, after mf_clock_set_zone). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/dlt645.h"
#include "proc/proc_int.h"

struct jbuf {
    char *p;
    size_t len, cap;
};

static void jb_put(struct jbuf *j, const char *s, size_t n)
{
    if (j->len + n + 1 >= j->cap) {
        j->len = j->cap; /* overflow: mark full, closing brace is forced below */
        return;
    }
    memcpy(j->p + j->len, s, n);
    j->len += n;
    j->p[j->len] = 0;
}

static void jb_str(struct jbuf *j, const char *s, size_t n)
{
    jb_put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char e[8];
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            e[0] = '\\';
            e[1] = (char)ch;
            jb_put(j, e, 2);
        } else if (ch < 0x20 || ch >= 0x7F) {
            snprintf(e, sizeof(e), "\\u%04x", ch);
            jb_put(j, e, 6);
        } else {
            jb_put(j, (const char *)&ch, 1);
        }
    }
    jb_put(j, "\"", 1);
}

/* One typed value as JSON text. */
static void jb_value(struct jbuf *j, const struct gw_value *v)
{
    char b[64];
    if (v->status != GW_VS_OK) {
        jb_put(j, "null", 4);
        return;
    }
    switch (v->kind) {
    case GW_VK_NUM: {
        int dec = v->exp < 0 ? -v->exp : 0;
        double x = gw_num_to_double(v->u.i, v->exp);
        snprintf(b, sizeof(b), "%.*f", dec, x);
        jb_put(j, b, strlen(b));
        break;
    }
    case GW_VK_TIME:
        mf_utc_format(pn_civil_utc(&v->u.t), b, sizeof(b));
        jb_str(j, b, strlen(b));
        break;
    case GW_VK_ADDR:
        snprintf(b, sizeof(b), "\"%012" PRId64 "\"", v->u.i);
        jb_put(j, b, strlen(b));
        break;
    case GW_VK_TEXT:
        jb_str(j, (const char *)v->u.p, v->len);
        break;
    case GW_VK_BYTES:
    case GW_VK_DLT645: {
        jb_put(j, "\"", 1);
        for (size_t i = 0; i < v->len; i++) {
            snprintf(b, sizeof(b), "%02X", v->u.p[i]);
            jb_put(j, b, 2);
        }
        jb_put(j, "\"", 1);
        break;
    }
    default:
        snprintf(b, sizeof(b), "%" PRId64, v->u.i);
        jb_put(j, b, strlen(b));
    }
}

/* {"name": value, ...} of vals[first .. first + n); out holds cap bytes. */
static void fields_json(const struct gw_decoded *dec, uint16_t first, uint16_t n, char *out,
                        size_t cap)
{
    struct jbuf j = { out, 0, cap };
    out[0] = 0;
    jb_put(&j, "{", 1);
    for (uint16_t i = first; i < first + n; i++) {
        const struct gw_value *v = &dec->vals[i];
        if (i > first)
            jb_put(&j, ",", 1);
        jb_str(&j, v->name, strlen(v->name));
        jb_put(&j, ":", 1);
        jb_value(&j, v);
    }
    if (j.len >= cap) /* too long: an empty object rather than broken JSON */
        snprintf(out, cap, "{}");
    else
        jb_put(&j, "}", 1);
}

static const struct gw_value *ev_val(const struct gw_decoded *dec, const struct gw_event *ev,
                                     const char *name)
{
    for (uint16_t i = ev->first; i < ev->first + ev->nval; i++)
        if (strcmp(dec->vals[i].name, name) == 0)
            return &dec->vals[i];
    return NULL;
}

static void norm_event(struct pn_ctx *n, const struct gw_event *ev, uint8_t cls)
{
    uint8_t raw[2 + 255];
    struct proc_rec r;
    const struct gw_value *v;
    int64_t at = 0;
    char js[2048];
    raw[0] = ev->erc;
    raw[1] = ev->le;
    memcpy(raw + 2, ev->raw, ev->le);
    fields_json(n->dec, ev->first, ev->typed ? ev->nval : 0, js, sizeof(js));
    if (!pn_time(ev_val(n->dec, ev, "time"), &at) && !pn_time(ev_val(n->dec, ev, "off_time"), &at))
        pn_time(ev_val(n->dec, ev, "before_time"), &at);
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_EVENT;
    r.u.event.term = n->ctx->term;
    r.u.event.cls = cls;
    r.u.event.erc = ev->erc;
    r.u.event.severity = (uint8_t)(proc_erc_severity(ev->erc) - 1);
    v = ev_val(n->dec, ev, "start");
    r.u.event.started = (int8_t)(v && v->status == GW_VS_OK ? (v->u.i != 0) : -1);
    v = ev_val(n->dec, ev, "pn");
    r.u.event.pn = (uint16_t)(v && v->status == GW_VS_OK ? v->u.i : 0);
    r.u.event.occurred_at = at;
    r.u.event.received_at = n->ctx->received_at;
    r.u.event.fields_json = js;
    r.u.event.raw = raw;
    r.u.event.raw_len = (size_t)ev->le + 2u;
    pn_emit(n, &r);
    if (n->ctx->cfg && n->ctx->anoms) {
        struct proc_event pe = { proc_point_key(n->ctx->term, r.u.event.pn), at, ev->erc,
                                 (uint8_t)(r.u.event.started < 0 ? 2 : r.u.event.started) };
        proc_events(n->ctx->cfg, pn_day(at ? at : n->ctx->received_at), &pe, 1, n->ctx->anoms);
    }
}

/* AFN 0E F1/F2: records, then the event counter up to the frame's end pointer Pn. */
static void norm_events(struct pn_ctx *n)
{
    uint8_t cls = n->un->fn == 1 ? 1 : 2;
    for (uint16_t e = n->un->first_ev; e < n->un->first_ev + n->un->nev && n->rc == 0; e++)
        norm_event(n, &n->dec->events[e], cls);
    const struct gw_value *pnp = pn_val(n, "pn", 0);
    if (!pnp || n->rc)
        return;
    struct proc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_EC;
    r.u.ec.term = n->ctx->term;
    r.u.ec.ec1 = (int16_t)(cls == 1 ? pnp->u.i : -1);
    r.u.ec.ec2 = (int16_t)(cls == 2 ? pnp->u.i : -1);
    r.u.ec.at = n->ctx->received_at;
    pn_emit(n, &r);
}

static void addr_text(const struct gw_value *v, char out[13])
{
    uint64_t a = v && v->status == GW_VS_OK && v->kind == GW_VK_ADDR ? (uint64_t)v->u.i : 0;
    for (int k = 11; k >= 0; k--, a /= 10)
        out[k] = (char)('0' + a % 10);
    out[12] = 0;
}

static int64_t ival(const struct pn_ctx *n, const char *name, uint16_t idx)
{
    const struct gw_value *v = pn_val(n, name, idx);
    return v && v->status == GW_VS_OK ? v->u.i : 0;
}

/* AFN 0A F10 answer: one meter_cfg record per entry of the "meters" list. */
static void norm_meter_cfg(struct pn_ctx *n)
{
    int64_t count = ival(n, "count", 0);
    for (uint16_t i = 1; i <= count && i <= 2040 && n->rc == 0; i++) {
        struct proc_rec r;
        char addr[13], coll[13];
        if (!pn_val(n, "serial", i))
            break;
        addr_text(pn_val(n, "addr", i), addr);
        addr_text(pn_val(n, "collector_addr", i), coll);
        memset(&r, 0, sizeof(r));
        r.type = PROC_REC_METER_CFG;
        r.u.meter_cfg = (struct store_meter_cfg){
            n->ctx->term, (uint16_t)ival(n, "serial", i), (uint16_t)ival(n, "pn", i),
            (uint8_t)ival(n, "port", i), (uint8_t)ival(n, "baud_code", i),
            (uint8_t)ival(n, "protocol", i), (uint8_t)ival(n, "tariff_count", i),
            (uint8_t)ival(n, "user_class", i), addr, coll, n->ctx->received_at
        };
        pn_emit(n, &r);
    }
}

/* A TEXT value into a NUL-terminated buffer, trailing NULs and spaces dropped. */
static const char *text(const struct pn_ctx *n, const char *name, char *out, size_t cap)
{
    const struct gw_value *v = pn_val(n, name, 0);
    size_t k = 0;
    if (!v || v->status != GW_VS_OK)
        return NULL;
    if (v->kind == GW_VK_TIME) {
        snprintf(out, cap, "%04u-%02u-%02u", v->u.t.year, v->u.t.mon, v->u.t.day);
        return out;
    }
    for (; k < v->len && k < cap - 1; k++)
        out[k] = (char)(v->u.p[k] >= 0x20 && v->u.p[k] < 0x7F ? v->u.p[k] : '?');
    while (k > 0 && (out[k - 1] == ' ' || v->u.p[k - 1] == 0))
        k--;
    out[k] = 0;
    return out;
}

static void norm_version(struct pn_ctx *n)
{
    char b[8][16];
    struct proc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_VERSION;
    r.u.version.term = n->ctx->term;
    r.u.version.vendor = text(n, "vendor", b[0], 16);
    r.u.version.device = text(n, "device", b[1], 16);
    r.u.version.sw_version = text(n, "sw_version", b[2], 16);
    r.u.version.sw_date = text(n, "sw_date", b[3], 16);
    r.u.version.capacity = text(n, "capacity", b[4], 16);
    r.u.version.proto_version = text(n, "protocol_version", b[5], 16);
    r.u.version.hw_version = text(n, "hw_version", b[6], 16);
    r.u.version.hw_date = text(n, "hw_date", b[7], 16);
    r.u.version.read_at = n->ctx->received_at;
    pn_emit(n, &r);
}

/* The first numeric value the codec reads from a 645 answer (dlt645_values, the same
 * interpretation the decoder's JSON shows): STORE_V_OK and *value, or STORE_V_INVALID when
 * the answer is abnormal (error word), carries no number, or a number that is not BCD. */
static uint8_t fwd_first_num(const struct dlt645_frame *f, double *value)
{
    struct gw_value vals[16];
    size_t nv = f->abnormal ? 0 : dlt645_values(f, vals, MF_ARRAY_LEN(vals));
    for (size_t i = 0; i < nv; i++)
        if (vals[i].kind == GW_VK_NUM && vals[i].status == GW_VS_OK) {
            *value = gw_num_to_double(vals[i].u.i, vals[i].exp);
            return STORE_V_OK;
        }
    return STORE_V_INVALID;
}

/* One PROC_REC_FWD645 record; raw (may be NULL) is the value whose bytes are kept, at most
 * the store's 512. */
static void emit_fwd645(struct pn_ctx *n, const char *addr, uint32_t di, uint8_t st,
                        double value, const struct gw_value *raw)
{
    struct proc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = PROC_REC_FWD645;
    r.u.fwd645 = (struct store_fwd645){ 0, n->ctx->term, addr, di, st, value,
                                        raw ? raw->u.p : NULL, raw ? MF_MIN(raw->len, 512u) : 0,
                                        n->ctx->received_at };
    pn_emit(n, &r);
}

/* AFN 10 F1: the forwarded 645 answer, read with the codec's DL/T 645 decoder: address, DI
 * and the first numeric value it interprets (e.g. fwd_active_total_kwh). No answer (k = 0)
 * is absent; an answer without a usable number (error word, control ack) is invalid; the
 * 645 bytes are kept raw either way. */
static void norm_forward(struct pn_ctx *n)
{
    const struct gw_value *fv = pn_val(n, "frame", 0);
    static const struct gw_value none = { 0 };
    struct dlt645_frame f;
    char addr[13] = "000000000000";
    double value = 0;
    uint8_t st = STORE_V_ABSENT;
    uint32_t di = 0;
    if (fv && fv->len > 0) {
        st = STORE_V_INVALID;
        if (dlt645_decode(fv->u.p, fv->len, &f) == 0) {
            struct gw_value av = none;
            uint64_t a = 0;
            int is1997 = 0;
            av.kind = GW_VK_ADDR;
            if (dlt645_addr_to_u64(f.addr, &a) == 0) {
                av.u.i = (int64_t)a;
                addr_text(&av, addr);
            }
            di = dlt645_di(&f, &is1997);
            st = fwd_first_num(&f, &value);
        }
    }
    emit_fwd645(n, addr, di, st, value, fv);
}

/* AFN 10 F9: result 5 = data; the data bytes are taken in 645 wire form (+0x33). They are
 * read as the 2007 read answer (C = 0x91) they came from, through the same codec helper as
 * F1, so both paths give one DI the same value. Only energies (DI3 = 00) count; others stay
 * invalid with their bytes kept, as before. */
static void norm_forward_read(struct pn_ctx *n)
{
    const struct gw_value *dv = pn_val(n, "data", 0);
    char addr[13];
    double value = 0;
    uint8_t st = STORE_V_ABSENT;
    uint32_t di = (uint32_t)ival(n, "di", 0);
    addr_text(pn_val(n, "target_addr", 0), addr);
    if (ival(n, "result", 0) == 5 && dv && dv->len == 4) {
        struct dlt645_frame f;
        memset(&f, 0, sizeof(f));
        f.c = 0x80 | DLT645_READ;
        f.dir = 1;
        f.func = DLT645_READ;
        f.len = 8;
        for (int k = 0; k < 4; k++) {
            f.data[k] = (uint8_t)(di >> (8 * k));
            f.data[4 + k] = (uint8_t)(dv->u.p[k] - 0x33);
        }
        st = (di >> 24) == 0 ? fwd_first_num(&f, &value) : STORE_V_INVALID;
    }
    emit_fwd645(n, addr, di, st, value, dv);
}

void pn_norm_other(struct pn_ctx *n)
{
    uint8_t afn = n->un->afn, fn = n->un->fn;
    if (afn == GW_AFN_CLASS3 && (fn == 1 || fn == 2))
        norm_events(n);
    else if (afn == GW_AFN_QUERY && fn == 10)
        norm_meter_cfg(n);
    else if (afn == GW_AFN_CONFIG && fn == 1)
        norm_version(n);
    else if (afn == GW_AFN_FORWARD && fn == 1)
        norm_forward(n);
    else if (afn == GW_AFN_FORWARD && fn == 9)
        norm_forward_read(n);
    else if (afn != GW_AFN_CONFIRM && afn != GW_AFN_LINK)
        n->ctx->skipped++;
}
