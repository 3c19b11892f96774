/* gw_build.c -- builders of 376.1 data-unit areas: master requests (AFN 00/01/04/05/0A/0C/
 * 0D/0E/10) and terminal answers for the simulator (AFN 02/09/0A/0C/0D/0E/10); AFN 04/0A
 * F91 (terminal location) in either direction.
 *
 * Each builder appends one data unit (DA/DT + data) to a caller-owned gw_ubuf, so a frame
 * may carry several; the first error sticks, later calls do nothing (one check at the end
 * is enough). Layouts are those of protocol-3761.md section 9; nothing here frames, the
 * caller passes ub->p/ub->len to gw_frame_encode with its own C, SEQ, Tp and PW.
 * Thread: pure, reentrant. Callers: front (requests, confirms), sim (answers), tests. */
#include <string.h>

#include "meterflow/gw3761_data.h"
#include "proto/gw_int.h"

void gw_ub_init(struct gw_ubuf *ub, uint8_t *p, size_t cap)
{
    ub->p = p;
    ub->cap = cap;
    ub->len = 0;
    ub->err = 0;
}

/* Reserve n bytes; NULL (and the sticky error) when they do not fit. */
static uint8_t *ub_room(struct gw_ubuf *ub, size_t n)
{
    uint8_t *w;
    if (ub->err)
        return NULL;
    if (n > ub->cap - ub->len) {
        ub->err = MF_ERANGE;
        return NULL;
    }
    w = ub->p + ub->len;
    ub->len += n;
    return w;
}

static int ub_fail(struct gw_ubuf *ub, int rc)
{
    if (!ub->err)
        ub->err = rc;
    return ub->err;
}

int gw_ub_bytes(struct gw_ubuf *ub, const void *p, size_t n)
{
    uint8_t *w = ub_room(ub, n);
    if (w && n)
        memcpy(w, p, n);
    return ub->err;
}

static int ub_u8(struct gw_ubuf *ub, unsigned v)
{
    uint8_t *w = ub_room(ub, 1);
    if (w)
        w[0] = (uint8_t)v;
    return ub->err;
}

static int ub_u16(struct gw_ubuf *ub, unsigned v)
{
    uint8_t *w = ub_room(ub, 2);
    if (w) {
        w[0] = (uint8_t)(v & 0xFFu);
        w[1] = (uint8_t)(v >> 8 & 0xFFu);
    }
    return ub->err;
}

int gw_ub_dadt(struct gw_ubuf *ub, uint16_t pn, uint8_t fn)
{
    uint8_t id[4];
    if (ub->err)
        return ub->err;
    if (gw_dadt_encode(pn, fn, id) != 0)
        return ub_fail(ub, MF_EINVAL);
    return gw_ub_bytes(ub, id, 4);
}

int gw_ub_num(struct gw_ubuf *ub, unsigned fmt, int64_t m, int8_t exp)
{
    size_t n = gw_fmt_len(fmt);
    uint8_t tmp[8];
    if (ub->err)
        return ub->err;
    if (n == 0 || gw_num_encode(fmt, m, exp, tmp) != 0)
        return ub_fail(ub, MF_ERANGE);
    return gw_ub_bytes(ub, tmp, n);
}

int gw_ub_time(struct gw_ubuf *ub, unsigned fmt, const struct gw_time *t)
{
    size_t n = gw_fmt_len(fmt);
    uint8_t tmp[8];
    if (ub->err)
        return ub->err;
    if (n == 0 || gw_time_encode(fmt, t, tmp) != 0)
        return ub_fail(ub, MF_EINVAL);
    return gw_ub_bytes(ub, tmp, n);
}

int gw_ub_absent(struct gw_ubuf *ub, unsigned fmt)
{
    uint8_t *w = ub_room(ub, gw_fmt_len(fmt));
    if (w)
        gw_fmt_absent(fmt, w);
    return ub->err;
}

static int ub_gnum(struct gw_ubuf *ub, unsigned fmt, const struct gw_num *v)
{
    if (v->status != GW_VS_OK)
        return gw_ub_absent(ub, fmt);
    return gw_ub_num(ub, fmt, v->m, v->exp);
}

static int ub_addr(struct gw_ubuf *ub, uint64_t a)
{
    uint8_t tmp[6];
    if (ub->err)
        return ub->err;
    if (gw_addr_encode(a, tmp) != 0)
        return ub_fail(ub, MF_ERANGE);
    return gw_ub_bytes(ub, tmp, 6);
}

/* ---- AFN 00 ---- */

int gw_b_confirm_all(struct gw_ubuf *ub)
{
    return gw_ub_dadt(ub, 0, 1);
}

int gw_b_deny_all(struct gw_ubuf *ub)
{
    return gw_ub_dadt(ub, 0, 2);
}

int gw_b_confirm_items(struct gw_ubuf *ub, uint8_t afn, const struct gw_item_ack *it, size_t n)
{
    gw_ub_dadt(ub, 0, 3);
    ub_u8(ub, afn);
    for (size_t i = 0; i < n; i++) {
        gw_ub_dadt(ub, it[i].pn, it[i].fn);
        ub_u8(ub, it[i].err);
    }
    return ub->err;
}

/* ---- downlink requests ---- */

int gw_req_reset(struct gw_ubuf *ub, uint8_t fn)
{
    if (fn < 1 || fn > 4)
        return ub_fail(ub, MF_EINVAL);
    return gw_ub_dadt(ub, 0, fn);
}

int gw_req_set_f1(struct gw_ubuf *ub, const struct gw_f1_comm *c)
{
    if (c->answer_timeout_s > 4095u || c->retries > 3u)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, 0, 1);
    ub_u8(ub, c->rts_20ms);
    ub_u8(ub, c->delay_min);
    ub_u16(ub, (unsigned)c->answer_timeout_s | (unsigned)c->retries << 12);
    ub_u8(ub, c->con_flags);
    return ub_u8(ub, c->heartbeat_min);
}

static int ub_meter_entry(struct gw_ubuf *ub, const struct gw_meter_cfg *m)
{
    if (m->port > 31u || m->baud_code > 7u)
        return ub_fail(ub, MF_EINVAL);
    ub_u16(ub, m->serial);
    ub_u16(ub, m->pn);
    ub_u8(ub, (unsigned)m->baud_code << 5 | m->port);
    ub_u8(ub, m->protocol);
    ub_addr(ub, m->addr);
    gw_ub_bytes(ub, m->password, 6);
    ub_u8(ub, m->tariffs);
    ub_u8(ub, m->digits);
    ub_addr(ub, m->collector);
    return ub_u8(ub, m->user_class);
}

static int ub_meter_list(struct gw_ubuf *ub, const struct gw_meter_cfg *m, size_t n)
{
    if (n > 2040u)
        return ub_fail(ub, MF_ERANGE);
    gw_ub_dadt(ub, 0, 10);
    ub_u16(ub, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        ub_meter_entry(ub, &m[i]);
    return ub->err;
}

int gw_req_set_f10(struct gw_ubuf *ub, const struct gw_meter_cfg *m, size_t n)
{
    return ub_meter_list(ub, m, n);
}

int gw_ans_meter_cfg(struct gw_ubuf *ub, const struct gw_meter_cfg *m, size_t n)
{
    return ub_meter_list(ub, m, n);
}

int gw_req_clock(struct gw_ubuf *ub, const struct gw_time *t)
{
    gw_ub_dadt(ub, 0, 31);
    return gw_ub_time(ub, 1, t);
}

int gw_req_remote_trip(struct gw_ubuf *ub, uint16_t round, uint8_t limit_half_h,
                       uint8_t alarm_delay_min)
{
    if (round < 1 || round > 8 || limit_half_h > 15 || alarm_delay_min > 15)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, round, 1);
    return ub_u8(ub, (unsigned)limit_half_h << 4 | alarm_delay_min);
}

int gw_req_remote_close(struct gw_ubuf *ub, uint16_t round)
{
    if (round < 1 || round > 8)
        return ub_fail(ub, MF_EINVAL);
    return gw_ub_dadt(ub, round, 2);
}

int gw_req_port_pause(struct gw_ubuf *ub, uint8_t port)
{
    gw_ub_dadt(ub, 0, 49);
    return ub_u8(ub, port);
}

int gw_req_port_resume(struct gw_ubuf *ub, uint8_t port)
{
    gw_ub_dadt(ub, 0, 50);
    return ub_u8(ub, port);
}

int gw_req_meter_cfg(struct gw_ubuf *ub, const uint16_t *serials, size_t n)
{
    if (n > 2040u)
        return ub_fail(ub, MF_ERANGE);
    gw_ub_dadt(ub, 0, 10);
    ub_u16(ub, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        ub_u16(ub, serials[i]);
    return ub->err;
}

int gw_req_read(struct gw_ubuf *ub, uint16_t pn, uint8_t fn)
{
    return gw_ub_dadt(ub, pn, fn);
}

int gw_req_td_d(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *day)
{
    gw_ub_dadt(ub, pn, fn);
    return gw_ub_time(ub, 20, day);
}

int gw_req_td_m(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *month)
{
    gw_ub_dadt(ub, pn, fn);
    return gw_ub_time(ub, 21, month);
}

static int ub_td_c(struct gw_ubuf *ub, const struct gw_time *start, uint8_t density,
                   uint8_t points)
{
    gw_ub_time(ub, 15, start);
    ub_u8(ub, density);
    return ub_u8(ub, points);
}

int gw_req_td_c(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *start,
                uint8_t density, uint8_t points)
{
    gw_ub_dadt(ub, pn, fn);
    return ub_td_c(ub, start, density, points);
}

int gw_req_events(struct gw_ubuf *ub, uint8_t fn, uint8_t pm, uint8_t pn_ptr)
{
    if (fn != 1 && fn != 2)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, 0, fn);
    ub_u8(ub, pm);
    return ub_u8(ub, pn_ptr);
}

int gw_req_forward(struct gw_ubuf *ub, const struct gw_fwd *f)
{
    if (f->len > 0xFFFFu)
        return ub_fail(ub, MF_ERANGE);
    gw_ub_dadt(ub, 0, 1);
    ub_u8(ub, f->port);
    ub_u8(ub, f->ctrl);
    ub_u8(ub, f->frame_timeout);
    ub_u8(ub, f->byte_timeout_10ms);
    ub_u16(ub, (unsigned)f->len);
    return gw_ub_bytes(ub, f->data, f->len);
}

int gw_req_forward_read(struct gw_ubuf *ub, const struct gw_fwd_read *f)
{
    size_t nr = (f->nrelay == 0xFF) ? 0 : f->nrelay;
    if (nr > 8)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, 0, 9);
    ub_u8(ub, f->port);
    ub_u8(ub, f->nrelay);
    for (size_t i = 0; i < nr; i++)
        ub_addr(ub, f->relay[i]);
    ub_addr(ub, f->target);
    ub_u8(ub, f->di_type);
    ub_u16(ub, f->di & 0xFFFFu);
    return ub_u16(ub, f->di >> 16);
}

/* ---- AFN 04 / 0A F91 (either direction) ---- */

static int ub_geo(struct gw_ubuf *ub, const struct gw_geo *g, size_t geo_len)
{
    uint8_t tmp[GW_GEO_LEN5];
    if (ub->err)
        return ub->err;
    if (!g) {
        memset(tmp, 0xEE, sizeof tmp);
    } else if (gw_geo_encode(g, geo_len, tmp) != 0) {
        return ub_fail(ub, MF_ERANGE);
    }
    return gw_ub_bytes(ub, tmp, geo_len);
}

int gw_b_f91(struct gw_ubuf *ub, const struct gw_geo *lon, const struct gw_geo *lat,
             size_t geo_len)
{
    if (geo_len != GW_GEO_LEN4 && geo_len != GW_GEO_LEN5)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, 0, 91);
    ub_geo(ub, lon, geo_len);
    return ub_geo(ub, lat, geo_len);
}

/* ---- uplink answers ---- */

int gw_ans_login(struct gw_ubuf *ub)
{
    return gw_ub_dadt(ub, 0, 1);
}

int gw_ans_logout(struct gw_ubuf *ub)
{
    return gw_ub_dadt(ub, 0, 2);
}

int gw_ans_heartbeat(struct gw_ubuf *ub, const struct gw_time *clock)
{
    gw_ub_dadt(ub, 0, 3);
    return clock ? gw_ub_time(ub, 1, clock) : ub->err;
}

int gw_ans_clock(struct gw_ubuf *ub, const struct gw_time *clock)
{
    gw_ub_dadt(ub, 0, 2);
    return gw_ub_time(ub, 1, clock);
}

int gw_ans_f25(struct gw_ubuf *ub, uint16_t pn, const struct gw_f25 *v)
{
    gw_ub_dadt(ub, pn, 25);
    gw_ub_time(ub, 15, &v->time);
    for (int k = 0; k < 4; k++)
        ub_gnum(ub, 9, &v->p[k]);
    for (int k = 0; k < 4; k++)
        ub_gnum(ub, 9, &v->q[k]);
    for (int k = 0; k < 4; k++)
        ub_gnum(ub, 5, &v->pf[k]);
    for (int k = 0; k < 3; k++)
        ub_gnum(ub, 7, &v->u[k]);
    for (int k = 0; k < 4; k++)
        ub_gnum(ub, 25, &v->i[k]);
    for (int k = 0; k < 4; k++)
        ub_gnum(ub, 9, &v->s[k]);
    return ub->err;
}

/* F129..F136 / F137..F144 (0C) and F161..F184 (0D) value format: A.14 for active
 * indications (F129, F131, F137, F139, F161, F163, F169, F171, F177, F179), else A.11. */
static unsigned energy_fmt(uint8_t afn, uint8_t fn)
{
    unsigned base = afn == 0x0C ? (fn >= 137 ? 137u : 129u) : (unsigned)(161 + ((fn - 161) / 8) * 8);
    unsigned k = (unsigned)fn - base;
    return (k == 0 || k == 2) ? 14u : 11u;
}

static int ub_tariff_series(struct gw_ubuf *ub, unsigned fmt, uint8_t m, const struct gw_num *e)
{
    for (unsigned k = 0; k <= m; k++)
        ub_gnum(ub, fmt, &e[k]);
    return ub->err;
}

int gw_ans_energy(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *time,
                  uint8_t m, const struct gw_num *e)
{
    if (fn < 129 || fn > 144 || m > GW_MAX_TARIFFS)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, pn, fn);
    gw_ub_time(ub, 15, time);
    ub_u8(ub, m);
    return ub_tariff_series(ub, energy_fmt(0x0C, fn), m, e);
}

static int ub_series4(struct gw_ubuf *ub, uint8_t m, const struct gw_num *const s[4])
{
    ub_tariff_series(ub, 14, m, s[0]);
    for (int k = 1; k < 4; k++)
        ub_tariff_series(ub, 11, m, s[k]);
    return ub->err;
}

int gw_ans_f33(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *time,
               uint8_t m, const struct gw_num *const s[4])
{
    if ((fn != 33 && fn != 34) || m > GW_MAX_TARIFFS)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, pn, fn);
    gw_ub_time(ub, 15, time);
    ub_u8(ub, m);
    return ub_series4(ub, m, s);
}

int gw_ans_daily_energy(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *td,
                        const struct gw_time *time, uint8_t m, const struct gw_num *e)
{
    if (fn < 161 || fn > 184 || m > GW_MAX_TARIFFS)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, pn, fn);
    gw_ub_time(ub, fn >= 177 ? 21 : 20, td);
    gw_ub_time(ub, 15, time);
    ub_u8(ub, m);
    return ub_tariff_series(ub, energy_fmt(0x0D, fn), m, e);
}

int gw_ans_frozen4(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *td,
                   const struct gw_time *time, uint8_t m, const struct gw_num *const s[4])
{
    if (!(fn == 1 || fn == 2 || fn == 9 || fn == 10 || fn == 17 || fn == 18) ||
        m > GW_MAX_TARIFFS)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, pn, fn);
    gw_ub_time(ub, fn >= 17 ? 21 : 20, td);
    gw_ub_time(ub, 15, time);
    ub_u8(ub, m);
    return ub_series4(ub, m, s);
}

unsigned gw_curve_fmt(uint8_t fn)
{
    if (fn >= 81 && fn <= 88)
        return 9;
    if (fn >= 89 && fn <= 91)
        return 7;
    if (fn >= 92 && fn <= 95)
        return 25;
    if (fn >= 97 && fn <= 100)
        return 13;
    if ((fn >= 101 && fn <= 104) || (fn >= 145 && fn <= 148))
        return 11;
    if (fn >= 105 && fn <= 110)
        return 5;
    return 0;
}

int gw_ans_curve(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *start,
                 uint8_t density, uint8_t n, const struct gw_num *v)
{
    unsigned fmt = gw_curve_fmt(fn);
    unsigned per = (fn == 109 || fn == 110) ? 3u : 1u; /* phase angles: A, B, C per point */
    if (fmt == 0)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, pn, fn);
    ub_td_c(ub, start, density, n);
    for (unsigned k = 0; k < (unsigned)n * per; k++)
        ub_gnum(ub, fmt, &v[k]);
    return ub->err;
}

int gw_ans_events_head(struct gw_ubuf *ub, uint8_t fn, uint8_t ec1, uint8_t ec2, uint8_t pm,
                       uint8_t pn_ptr)
{
    if (fn != 1 && fn != 2)
        return ub_fail(ub, MF_EINVAL);
    gw_ub_dadt(ub, 0, fn);
    ub_u8(ub, ec1);
    ub_u8(ub, ec2);
    ub_u8(ub, pm);
    return ub_u8(ub, pn_ptr);
}

int gw_ans_erc_raw(struct gw_ubuf *ub, uint8_t erc, const uint8_t *content, uint8_t le)
{
    ub_u8(ub, erc);
    ub_u8(ub, le);
    return gw_ub_bytes(ub, content, le);
}

static int ub_pnflag(struct gw_ubuf *ub, uint16_t pn, int start)
{
    if (pn > 2048u)
        return ub_fail(ub, MF_EINVAL);
    return ub_u16(ub, (unsigned)pn | (start ? 0x8000u : 0u));
}

int gw_ans_erc13(struct gw_ubuf *ub, const struct gw_time *t, uint16_t pn, int start,
                 uint8_t flags)
{
    ub_u8(ub, 13);
    ub_u8(ub, 8);
    gw_ub_time(ub, 15, t);
    ub_pnflag(ub, pn, start);
    return ub_u8(ub, flags);
}

int gw_ans_erc14(struct gw_ubuf *ub, const struct gw_time *off, const struct gw_time *on)
{
    ub_u8(ub, 14);
    ub_u8(ub, 10);
    gw_ub_time(ub, 15, off);
    return on ? gw_ub_time(ub, 15, on) : gw_ub_absent(ub, 15);
}

int gw_ans_erc24(struct gw_ubuf *ub, const struct gw_time *t, uint16_t pn, int start,
                 uint8_t flags, const struct gw_num u[3])
{
    ub_u8(ub, 24);
    ub_u8(ub, 14);
    gw_ub_time(ub, 15, t);
    ub_pnflag(ub, pn, start);
    ub_u8(ub, flags);
    for (int k = 0; k < 3; k++)
        ub_gnum(ub, 7, &u[k]);
    return ub->err;
}

int gw_ans_version(struct gw_ubuf *ub, const struct gw_version *v)
{
    gw_ub_dadt(ub, 0, 1);
    gw_ub_bytes(ub, v->vendor, 4);
    gw_ub_bytes(ub, v->device, 8);
    gw_ub_bytes(ub, v->sw, 4);
    gw_ub_time(ub, 20, &v->sw_date);
    gw_ub_bytes(ub, v->capacity, 11);
    gw_ub_bytes(ub, v->proto, 4);
    gw_ub_bytes(ub, v->hw, 4);
    return gw_ub_time(ub, 20, &v->hw_date);
}

int gw_ans_forward(struct gw_ubuf *ub, uint8_t port, const uint8_t *data, size_t len)
{
    if (len > 0xFFFFu)
        return ub_fail(ub, MF_ERANGE);
    gw_ub_dadt(ub, 0, 1);
    ub_u8(ub, port);
    ub_u16(ub, (unsigned)len);
    return gw_ub_bytes(ub, data, len);
}
