/* gw_decode_tab.c -- which layout decodes which (direction, AFN, Fn), and the decoders of
 * the small AFNs: 00 confirm/deny, 01 reset, 02 link, 04 set (F1, F10, F91 location),
 * 05 control, 09 config, 0A query, 0E requests and 10 forwarding.
 *
 * The lookup is a switch on AFN then a range test on Fn into constant descriptor arrays:
 * a handful of compares, no search, no allocation. An Fn without an entry has no known
 * layout and stops decoding of its frame (protocol-3761.md section 13.3).
 * Thread: pure, reentrant. */
#include "meterflow/gw3761_data.h"
#include "proto/gw_int.h"

/* ---- decoders ---- */

static void dec_none(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)c;
    (void)d;
}

/* AFN 00 F1/F2/F4: no data. Some terminals append bytes after the identifier; they are kept
 * as "trailing" instead of being read as a broken next identifier. */
static void dec_confirm(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    if (c->left > c->off)
        gwd_view(c, "trailing", 0, GW_VK_BYTES, c->left - c->off);
}

/* AFN 00 F3: confirmed AFN + n x (DA DT ERR) up to the end of the area. */
static void dec_confirm_items(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    gwd_int(c, "afn", 0, 1);
    c->un->list = "items";
    for (uint16_t i = 1; !c->err && c->left - c->off >= 5u && i < 2048; i++) {
        struct gw_dadt id;
        const uint8_t *b = gwd_take(c, 4);
        if (!b || gw_dadt_decode(b, &id) != 0) {
            c->err = GW_US_TRUNCATED;
            return;
        }
        gwd_intv(c, "pn", i, id.pn[0]);
        gwd_intv(c, "fn", i, id.fn[0]);
        gwd_int(c, "err", i, 1);
    }
}

/* AFN 02 F3: 2013 heartbeat carries the terminal clock (A.1), 2009 none. */
static void dec_heartbeat(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    if (c->left - c->off >= 6u)
        gwd_time(c, "clock", 0, 1);
}

static void dec_clock(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    gwd_time(c, "clock", 0, 1);
}

static void dec_port(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    gwd_int(c, "port", 0, 1);
}

/* AFN 05 F1 remote trip (downlink): D7..D4 power-limit time (half hours), D3..D0 alarm
 * delay (minutes). */
static void dec_trip(struct gwd_ctx *c, const struct gwd_fn *d)
{
    const uint8_t *b = gwd_take(c, 1);
    (void)d;
    if (!b)
        return;
    gwd_intv(c, "limit_half_h", 0, b[0] >> 4);
    gwd_intv(c, "alarm_delay_min", 0, b[0] & 15u);
}

/* AFN 04 F1 terminal uplink communication parameters (section 9.12). */
static void dec_comm(struct gwd_ctx *c, const struct gwd_fn *d)
{
    uint32_t t;
    (void)d;
    gwd_int(c, "rts_20ms", 0, 1);
    gwd_int(c, "delay_min", 0, 1);
    t = gwd_int(c, NULL, 0, 2);
    gwd_intv(c, "answer_timeout_s", 0, t & 0x0FFFu);
    gwd_intv(c, "retries", 0, t >> 12 & 3u);
    gwd_int(c, "con_flags", 0, 1);
    gwd_int(c, "heartbeat_min", 0, 1);
}

/* AFN 04 F10 (set) and 0A F10 (answer): n x 27-byte meter entries (section 9.11). */
static void dec_meters(struct gwd_ctx *c, const struct gwd_fn *d)
{
    uint32_t n = gwd_int(c, "count", 0, 2);
    (void)d;
    if (c->err)
        return;
    if (n > 2040u || (size_t)n * 27u > c->left - c->off) {
        c->err = GW_US_TRUNCATED;
        return;
    }
    c->un->list = "meters";
    for (uint16_t i = 1; i <= n && !c->err; i++) {
        const uint8_t *rp;
        gwd_int(c, "serial", i, 2);
        gwd_int(c, "pn", i, 2);
        rp = gwd_take(c, 1);
        if (!rp)
            return;
        gwd_intv(c, "baud_code", i, rp[0] >> 5);
        gwd_intv(c, "port", i, rp[0] & 31u);
        gwd_int(c, "protocol", i, 1);
        gwd_addr(c, "addr", i);
        gwd_view(c, "password", i, GW_VK_BYTES, 6);
        rp = gwd_take(c, 1);
        if (!rp)
            return;
        gwd_intv(c, "tariff_count", i, rp[0] & 0x3Fu);
        gwd_int(c, "digits", i, 1);
        gwd_addr(c, "collector_addr", i);
        gwd_int(c, "user_class", i, 1);
    }
}

/* AFN 0A F10 request: n serial numbers. */
static void dec_meter_query(struct gwd_ctx *c, const struct gwd_fn *d)
{
    uint32_t n = gwd_int(c, "count", 0, 2);
    (void)d;
    if (c->err)
        return;
    if (n > 2040u || (size_t)n * 2u > c->left - c->off) {
        c->err = GW_US_TRUNCATED;
        return;
    }
    for (uint16_t i = 1; i <= n && !c->err; i++)
        gwd_int(c, "serials", i, 2);
}

/* ---- AFN 04 F91 (set) / 0A F91 (answer): terminal location, longitude then latitude,
 * each an A.28 coordinate (gw_geo_decode) of 4 bytes (protocol text) or 5 (a terminal
 * implementation with a hundreds-of-degrees digit; docs/PROTOCOL.md section 2). ---- */

struct geo_names {
    const char *deg, *d, *m, *s, *f, *raw;
};
static const struct geo_names geo_lon = {"longitude_deg", "longitude_d", "longitude_m",
                                         "longitude_s",   "longitude_f", "longitude_raw"};
static const struct geo_names geo_lat = {"latitude_deg", "latitude_d", "latitude_m",
                                         "latitude_s",   "latitude_f", "latitude_raw"};

/* Which layout a F91 unit uses. Nothing in the unit says it; its length does when it ends
 * the frame (8 = 2 x 4, 10 = 2 x 5). With units after it, the layout whose end is followed
 * by a defined identifier; the protocol text's 4 bytes when both or neither are. */
static size_t geo_len(const struct gwd_ctx *c)
{
    size_t left = c->left - c->off;
    struct gw_dadt id;

    if (left == 2u * GW_GEO_LEN5)
        return GW_GEO_LEN5;
    if (left < 2u * GW_GEO_LEN4 + 4u ||
        gw_dadt_decode(c->p + c->off + 2u * GW_GEO_LEN4, &id) == 0)
        return GW_GEO_LEN4;
    if (left >= 2u * GW_GEO_LEN5 + 4u &&
        gw_dadt_decode(c->p + c->off + 2u * GW_GEO_LEN5, &id) == 0)
        return GW_GEO_LEN5;
    return GW_GEO_LEN4;
}

static void geo_value(struct gwd_ctx *c, const char *name, uint8_t kind, int st, int64_t x,
                      int8_t exp)
{
    struct gw_value *v = gwd_push(c, name, 0, kind);
    if (!v)
        return;
    v->status = (uint8_t)st;
    v->u.i = st == GW_VS_OK ? x : 0;
    v->exp = exp;
    v->fmt = 28;
}

/* One coordinate: signed decimal degrees, then its parts as sent, then the raw bytes (kept
 * even when absent or invalid, to show what the terminal sent). */
static void geo_coord(struct gwd_ctx *c, const struct geo_names *nm, size_t len, int lat)
{
    const uint8_t *b = gwd_take(c, len);
    struct gw_value *v;
    struct gw_geo g;
    int st;

    if (!b)
        return;
    st = gw_geo_decode(b, len, &g);
    if (st == GW_VS_OK && lat && (g.deg > 90u || (g.deg == 90u && (g.min || g.sec_x100))))
        st = GW_VS_INVALID;
    geo_value(c, nm->deg, GW_VK_NUM, st, gw_geo_deg_e8(&g), -8);
    geo_value(c, nm->d, GW_VK_INT, st, g.deg, 0);
    geo_value(c, nm->m, GW_VK_INT, st, g.min, 0);
    geo_value(c, nm->s, GW_VK_NUM, st, g.sec_x100, -2);
    geo_value(c, nm->f, GW_VK_INT, st, g.f, 0);
    v = gwd_push(c, nm->raw, 0, GW_VK_BYTES);
    if (v) {
        v->u.p = b;
        v->len = (uint16_t)len;
    }
}

static void dec_geo(struct gwd_ctx *c, const struct gwd_fn *d)
{
    size_t len = geo_len(c);
    (void)d;
    gwd_intv(c, "coord_bytes", 0, (int64_t)len);
    geo_coord(c, &geo_lon, len, 0);
    geo_coord(c, &geo_lat, len, 1);
}

/* AFN 09 F1 terminal version (section 9.14), 41 bytes. */
static void dec_version(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    gwd_view(c, "vendor", 0, GW_VK_TEXT, 4);
    gwd_view(c, "device", 0, GW_VK_TEXT, 8);
    gwd_view(c, "sw_version", 0, GW_VK_TEXT, 4);
    gwd_time(c, "sw_date", 0, 20);
    gwd_view(c, "capacity", 0, GW_VK_TEXT, 11);
    gwd_view(c, "protocol_version", 0, GW_VK_TEXT, 4);
    gwd_view(c, "hw_version", 0, GW_VK_TEXT, 4);
    gwd_time(c, "hw_date", 0, 20);
}

/* AFN 0E request: Pm Pn. */
static void dec_event_req(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    gwd_int(c, "pm", 0, 1);
    gwd_int(c, "pn", 0, 1);
}

/* AFN 10 F1 downlink: port, control word, timeouts, k, k bytes to send. */
static void dec_fwd_req(struct gwd_ctx *c, const struct gwd_fn *d)
{
    uint32_t k;
    (void)d;
    gwd_int(c, "port", 0, 1);
    gwd_int(c, "ctrl", 0, 1);
    gwd_int(c, "frame_timeout", 0, 1);
    gwd_int(c, "byte_timeout_10ms", 0, 1);
    k = gwd_int(c, "len", 0, 2);
    gwd_view(c, "frame", 0, GW_VK_DLT645, k);
}

/* AFN 10 F1 uplink answer: port, k, k bytes received from the meter (k is 2 bytes). */
static void dec_fwd_ans(struct gwd_ctx *c, const struct gwd_fn *d)
{
    uint32_t k;
    (void)d;
    gwd_int(c, "port", 0, 1);
    k = gwd_int(c, "len", 0, 2);
    gwd_view(c, "frame", 0, GW_VK_DLT645, k);
}

/* AFN 10 F9 downlink: direct meter read request. */
static void dec_fwd_read_req(struct gwd_ctx *c, const struct gwd_fn *d)
{
    uint32_t n;
    (void)d;
    gwd_int(c, "port", 0, 1);
    n = gwd_int(c, "relays", 0, 1);
    if (n == 0xFF)
        n = 0;
    if (!c->err && (size_t)n * 6u > c->left - c->off) {
        c->err = GW_US_TRUNCATED;
        return;
    }
    for (uint16_t i = 1; i <= n && !c->err; i++)
        gwd_addr(c, "relay_addr", i);
    gwd_addr(c, "target_addr", 0);
    gwd_int(c, "di_type", 0, 1);
    gwd_int(c, "di", 0, 4);
}

/* AFN 10 F9 uplink: port, target, result, k+4, DI, k data bytes. */
static void dec_fwd_read_ans(struct gwd_ctx *c, const struct gwd_fn *d)
{
    uint32_t l;
    (void)d;
    gwd_int(c, "port", 0, 1);
    gwd_addr(c, "target_addr", 0);
    gwd_int(c, "result", 0, 1);
    l = gwd_int(c, "len", 0, 1);
    if (c->err || l == 0)
        return;
    if (l < 4u) {
        c->err = GW_US_TRUNCATED;
        return;
    }
    gwd_int(c, "di", 0, 4);
    gwd_view(c, "data", 0, GW_VK_BYTES, l - 4u);
}

/* ---- tables ---- */

static const struct gwd_fn t00[4] = {
    {"F1 all confirmed", dec_confirm, 0, 0, NULL, NULL, 0},
    {"F2 all denied", dec_confirm, 0, 0, NULL, NULL, 0},
    {"F3 confirm/deny per item", dec_confirm_items, 0, 0, NULL, NULL, 0},
    {"F4 hardware security authentication error", dec_confirm, 0, 0, NULL, NULL, 0},
};
static const struct gwd_fn t01[4] = {
    {"F1 hardware initialisation", dec_none, 0, 0, NULL, NULL, 0},
    {"F2 data area initialisation", dec_none, 0, 0, NULL, NULL, 0},
    {"F3 factory reset (parameters and data)", dec_none, 0, 0, NULL, NULL, 0},
    {"F4 parameters (except communication) and data reset", dec_none, 0, 0, NULL, NULL, 0},
};
static const struct gwd_fn t02[3] = {
    {"F1 login", dec_none, 0, 0, NULL, NULL, 0},
    {"F2 logout", dec_none, 0, 0, NULL, NULL, 0},
    {"F3 heartbeat", dec_heartbeat, 0, 0, NULL, NULL, 0},
};
static const struct gwd_fn t04_f1 = {"F1 terminal uplink communication parameters", dec_comm,
                                     0, 0, NULL, NULL, 0};
static const struct gwd_fn t04_f10 = {"F10 meter configuration", dec_meters, 0, 0, NULL, NULL, 0};
static const struct gwd_fn t04_f91 = {"F91 terminal location", dec_geo, 0, 0, NULL, NULL, 0};
static const struct gwd_fn t05[] = {
    {"F1 remote trip", dec_trip, 0, 0, NULL, NULL, 0},
    {"F2 allow closing", dec_none, 0, 0, NULL, NULL, 0},
    {"F31 clock synchronisation", dec_clock, 0, 0, NULL, NULL, 0},
    {"F49 pause meter reading on port", dec_port, 0, 0, NULL, NULL, 0},
    {"F50 resume meter reading on port", dec_port, 0, 0, NULL, NULL, 0},
};
static const struct gwd_fn t09_f1_up = {"F1 terminal version", dec_version, 0, 0, NULL, NULL, 0};
static const struct gwd_fn t_read = {"read request", dec_none, 0, 0, NULL, NULL, 0};
static const struct gwd_fn t0a_f10_down = {"F10 meter configuration query", dec_meter_query, 0,
                                           0, NULL, NULL, 0};
static const struct gwd_fn t0e_req[2] = {
    {"F1 important events request", dec_event_req, 0, 0, NULL, NULL, 0},
    {"F2 normal events request", dec_event_req, 0, 0, NULL, NULL, 0},
};
static const struct gwd_fn t0e_ans[2] = {
    {"F1 important events", gwd_events, 0, 0, NULL, NULL, 0},
    {"F2 normal events", gwd_events, 0, 0, NULL, NULL, 0},
};
static const struct gwd_fn t10_down[2] = {
    {"F1 transparent forwarding", dec_fwd_req, 0, 0, NULL, NULL, 0},
    {"F9 forward meter read", dec_fwd_read_req, 0, 0, NULL, NULL, 0},
};
static const struct gwd_fn t10_up[2] = {
    {"F1 transparent forwarding answer", dec_fwd_ans, 0, 0, NULL, NULL, 0},
    {"F9 forward meter read answer", dec_fwd_read_ans, 0, 0, NULL, NULL, 0},
};

static const struct gwd_fn *lookup_05(uint8_t fn)
{
    switch (fn) {
    case 1: return &t05[0];
    case 2: return &t05[1];
    case 31: return &t05[2];
    case 49: return &t05[3];
    case 50: return &t05[4];
    default: return NULL;
    }
}

const struct gwd_fn *gw_fn_lookup(uint8_t dir, uint8_t afn, uint8_t fn)
{
    switch (afn) {
    case GW_AFN_CONFIRM:
        return fn >= 1 && fn <= 4 ? &t00[fn - 1] : NULL;
    case GW_AFN_RESET:
        return !dir && fn >= 1 && fn <= 4 ? &t01[fn - 1] : NULL;
    case GW_AFN_LINK:
        return dir && fn >= 1 && fn <= 3 ? &t02[fn - 1] : NULL;
    case GW_AFN_SET:
        if (dir)
            return NULL;
        return fn == 1 ? &t04_f1 : fn == 10 ? &t04_f10 : fn == 91 ? &t04_f91 : NULL;
    case GW_AFN_CONTROL:
        return dir ? NULL : lookup_05(fn);
    case GW_AFN_CONFIG:
        if (!dir)
            return fn >= 1 ? &t_read : NULL;
        return fn == 1 ? &t09_f1_up : NULL;
    case GW_AFN_QUERY:
        if (dir)
            return fn == 1 ? &t04_f1 : fn == 10 ? &t04_f10 : fn == 91 ? &t04_f91 : NULL;
        return fn == 10 ? &t0a_f10_down : (fn >= 1 && fn <= 9) || fn == 91 ? &t_read : NULL;
    case GW_AFN_CLASS1:
        return gw_fn_lookup_0c(dir, fn);
    case GW_AFN_CLASS2:
        return gw_fn_lookup_0d(dir, fn);
    case GW_AFN_CLASS3:
        if (fn < 1 || fn > 2)
            return NULL;
        return dir ? &t0e_ans[fn - 1] : &t0e_req[fn - 1];
    case GW_AFN_FORWARD:
        if (fn != 1 && fn != 9)
            return NULL;
        return dir ? &t10_up[fn == 9] : &t10_down[fn == 9];
    default:
        return NULL;
    }
}
