/* sim_answer.c -- a simulated terminal's answers to master requests: AFN 0C (F2 clock, F25,
 * F129, F33), 0D (F161 and F1 with Td_d, F101 curve with Td_c), 0E (event records from its
 * ring, Pm/Pn), 05 F31 (clock set: applied), 04 (F10 changes the meter table, other sets
 * are confirmed), 0A F10 (its meter table, sim_mtab.c),
 * 09 F1 (version), 10 F1 (transparent DL/T 645 to the simulated meter, sim_meter.c), 01.
 *
 * Invariants: every request read from the wire is bounds-checked before use (identifiers
 * are taken 4 bytes at a time with their time tags only while that many bytes remain;
 * counts are checked against the bytes present); an answer never exceeds one frame (units
 * that do not fit are left out, as a terminal with a small buffer would); a read that finds
 * nothing is denied (AFN=00 F2), a set or control that is not understood is denied.
 * Called by: sim_term.c (term_on_frame). Thread: the process's loop thread. */
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/log.h"
#include "sim/sim_int.h"
#include "sim/sim_meter.h"

static void answer_ack(struct sim_term *st, const struct gw_frame *fr, int ok)
{
    uint8_t buf[8];
    struct gw_ubuf ub;
    gw_ub_init(&ub, buf, sizeof(buf));
    if (ok)
        gw_b_confirm_all(&ub);
    else
        gw_b_deny_all(&ub);
    sim_term_answer(st, fr, GW_AFN_CONFIRM, 0, buf, ub.len);
}

/* Append one unit built by fn; if it does not fit, drop it and report 0. */
#define TRY_UNIT(ub, call)                                                                      \
    do {                                                                                        \
        size_t keep_ = (ub)->len;                                                               \
        call;                                                                                   \
        if ((ub)->err) {                                                                        \
            (ub)->len = keep_;                                                                  \
            (ub)->err = 0;                                                                      \
            full = 1;                                                                           \
        }                                                                                       \
    } while (0)

struct gw_num sim_num_sat(double v, double scale, int8_t exp, int64_t max, uint8_t status)
{
    double x = v * scale;
    int64_t m = x >= (double)max ? max : x <= -(double)max ? -max : (int64_t)x;
    return (struct gw_num){ m, exp, status };
}

void sim_f25_values(const struct sim_model *m, uint32_t term, uint16_t pn, int64_t now,
                    int64_t clk, struct gw_f25 *v)
{
    struct sim_instant in;
    memset(v, 0, sizeof(*v));
    sim_instant(m, term, pn, now, &in);
    sim_ls_to_gwtime(clk - clk % 60, &v->time);
    for (int k = 0; k < 4; k++) {
        int ok = k == 0 || k <= in.phases;
        uint8_t s = ok ? GW_VS_OK : GW_VS_ABSENT;
        v->p[k] = sim_num_sat(in.p_kw[k], 1e4, -4, SIM_A9_MAX, s);
        v->q[k] = sim_num_sat(in.q_kvar[k], 1e4, -4, SIM_A9_MAX, s);
        v->s[k] = sim_num_sat(in.s_kva[k], 1e4, -4, SIM_A9_MAX, s);
        v->pf[k] = (struct gw_num){ (int64_t)(in.pf_pct[k] * 10), -1, s }; /* <= 100 % */
        if (k < 3) {
            uint8_t s3 = k < in.phases ? GW_VS_OK : GW_VS_ABSENT;
            v->u[k] = (struct gw_num){ (int64_t)(in.u_v[k] * 10), -1, s3 }; /* ~220 V */
            v->i[k] = sim_num_sat(in.i_a[k], 1e3, -3, SIM_A25_MAX, s3);
        }
    }
    v->i[3] = (struct gw_num){ 0, -3, GW_VS_ABSENT };
}

void sim_f25_of(const struct sim_term *st, uint16_t pn, int64_t now, int64_t clk,
                struct gw_f25 *v)
{
    sim_f25_values(st->sp->model, st->idx, pn, now, clk, v);
}

/* The four series of 0C F33 / 0D F1 from an indication: forward active (A.14) and, for the
 * reactive registers (A.11), fixed fractions of it (a plausible power factor). */
static void four_series(const int64_t ind[SIM_TARIFFS + 1], struct gw_num s[4][SIM_TARIFFS + 1])
{
    static const int pct[4] = { 100, 30, 25, 5 };
    for (int k = 0; k <= SIM_TARIFFS; k++) {
        s[0][k] = (struct gw_num){ ind[k], -4, GW_VS_OK };
        for (int j = 1; j < 4; j++)
            s[j][k] = (struct gw_num){ ind[k] / 100 * pct[j] / 100, -2, GW_VS_OK };
    }
}

static int unit_c1(struct sim_term *st, struct gw_ubuf *ub, uint16_t pn, uint8_t fn,
                   int64_t now, int64_t clk)
{
    const struct sim_model *m = st->sp->model;
    int64_t ind[SIM_TARIFFS + 1];
    struct gw_time t;
    struct gw_num e[SIM_TARIFFS + 1], s4[4][SIM_TARIFFS + 1];
    int full = 0;

    if (fn == 2 && pn == 0) {
        sim_ls_to_gwtime(clk, &t);
        TRY_UNIT(ub, gw_ans_clock(ub, &t));
        return full;
    }
    if (pn == 0 || pn > m->npoints)
        return 0;
    sim_ls_to_gwtime(clk - clk % 60, &t);
    if (fn == 25) {
        struct gw_f25 v;
        sim_f25_of(st, pn, now, clk, &v);
        TRY_UNIT(ub, gw_ans_f25(ub, pn, &v));
    } else if ((fn == 129 || fn == 33) &&
               sim_indication(m, st->idx, pn, now - now % 60, ind) == 0) {
        if (fn == 129) {
            sim_to_nums(ind, e);
            TRY_UNIT(ub, gw_ans_energy(ub, pn, 129, &t, SIM_TARIFFS, e));
        } else {
            four_series(ind, s4);
            const struct gw_num *const sp4[4] = { s4[0], s4[1], s4[2], s4[3] };
            TRY_UNIT(ub, gw_ans_f33(ub, pn, 33, &t, SIM_TARIFFS, sp4));
        }
    }
    return full;
}

/* Expand the points of an identifier (GW_PN_ALL = every point of the terminal). */
static size_t dadt_points(const struct sim_term *st, const struct gw_dadt *d, uint16_t *pns,
                          size_t cap)
{
    size_t n = 0;
    if (d->npn == 1 && d->pn[0] == GW_PN_ALL) {
        for (uint16_t pn = 1; pn <= st->sp->model->npoints && n < cap; pn++)
            pns[n++] = pn;
        return n;
    }
    for (size_t i = 0; i < d->npn && n < cap; i++)
        pns[n++] = d->pn[i];
    return n;
}

static void answer_c1(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_ubuf ub;
    struct gw_dadt d;
    uint16_t pns[2040];
    int64_t now = sim_proc_now_ls(st->sp), clk = sim_term_clock(st, now);
    int full = 0;

    gw_ub_init(&ub, st->sp->scratch, SIM_UNITS_MAX);
    for (size_t off = 0; off + 4 <= fr->units_len && !full; off += 4) {
        if (gw_dadt_decode(fr->units + off, &d) != 0)
            break;
        size_t np = dadt_points(st, &d, pns, MF_ARRAY_LEN(pns));
        for (size_t i = 0; i < np && !full; i++)
            for (size_t j = 0; j < d.nfn && !full; j++)
                full = unit_c1(st, &ub, pns[i], d.fn[j], now, clk);
    }
    if (ub.len == 0) {
        answer_ack(st, fr, 0);
        return;
    }
    sim_term_answer(st, fr, GW_AFN_CLASS1, 8, ub.p, ub.len);
}

/* One 0D unit; *tag_len gets the length of its time tag (0: unknown Fn, stop). */
static int unit_c2(struct sim_term *st, struct gw_ubuf *ub, uint16_t pn, uint8_t fn,
                   const uint8_t *tag, size_t left, size_t *tag_len)
{
    const struct sim_model *m = st->sp->model;
    struct gw_time t;
    int full = 0;

    *tag_len = (fn == 101) ? 7 : (fn == 161 || fn == 1) ? 3 : 0;
    if (!*tag_len || left < *tag_len)
        return 0;
    if (pn == 0 || pn > m->npoints)
        return 0;
    if (fn == 101) {
        if (gw_time_decode(15, tag, &t) != GW_VS_OK || tag[6] == 0)
            return 0;
        TRY_UNIT(ub, sim_add_f101(st, ub, NULL, pn, sim_gwtime_to_ls(&t), tag[5], tag[6]));
        return full;
    }
    if (gw_time_decode(20, tag, &t) != GW_VS_OK)
        return 0;
    int32_t day = (int32_t)(sim_gwtime_to_ls(&t) / SIM_DAY_S);
    if (day >= (int32_t)(sim_term_clock(st, sim_proc_now_ls(st->sp)) / SIM_DAY_S))
        return 0; /* not frozen yet */
    if (fn == 161) {
        TRY_UNIT(ub, sim_add_f161(st, ub, NULL, pn, day));
    } else {
        int64_t ind[SIM_TARIFFS + 1], at = (int64_t)(day + 1) * SIM_DAY_S;
        struct gw_num s4[4][SIM_TARIFFS + 1];
        struct gw_time rt;
        if (sim_indication(m, st->idx, pn, at, ind) != 0)
            return 0;
        four_series(ind, s4);
        sim_ls_to_gwtime(at + 60, &rt);
        const struct gw_num *const sp4[4] = { s4[0], s4[1], s4[2], s4[3] };
        TRY_UNIT(ub, gw_ans_frozen4(ub, pn, 1, &t, &rt, SIM_TARIFFS, sp4));
    }
    return full;
}

static void answer_c2(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_ubuf ub;
    struct gw_dadt d;
    uint16_t pns[2040];
    size_t off = 0;
    int full = 0;

    gw_ub_init(&ub, st->sp->scratch, SIM_UNITS_MAX);
    while (off + 4 <= fr->units_len && !full) {
        if (gw_dadt_decode(fr->units + off, &d) != 0)
            break;
        off += 4;
        /* every Fn of an identifier must share the tag length; we take the first's */
        size_t np = dadt_points(st, &d, pns, MF_ARRAY_LEN(pns));
        size_t tag_len = d.nfn ? (d.fn[0] == 101 ? 7 : 3) : 0;
        if (!tag_len || off + tag_len > fr->units_len)
            break;
        for (size_t i = 0; i < np && !full; i++)
            for (size_t j = 0; j < d.nfn && !full; j++) {
                size_t tl;
                full = unit_c2(st, &ub, pns[i], d.fn[j], fr->units + off,
                               fr->units_len - off, &tl);
            }
        off += tag_len;
    }
    if (ub.len == 0) {
        answer_ack(st, fr, 0);
        return;
    }
    sim_term_answer(st, fr, GW_AFN_CLASS2, 8, ub.p, ub.len);
}

static void answer_c3(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_ubuf ub;
    struct gw_dadt d;
    if (fr->units_len < 6 || gw_dadt_decode(fr->units, &d) != 0 || d.nfn != 1 ||
        (d.fn[0] != 1 && d.fn[0] != 2)) {
        answer_ack(st, fr, 0);
        return;
    }
    uint8_t pm = fr->units[4], pn = fr->units[5];
    gw_ub_init(&ub, st->sp->scratch, SIM_UNITS_MAX);
    if (d.fn[0] == 2) { /* we keep no normal events */
        gw_ans_events_head(&ub, 2, st->ec1, st->ec2, pm, pm);
    } else {
        gw_ans_events_head(&ub, 1, st->ec1, st->ec2, pm, pn);
        for (uint8_t i = pm; i != pn; i++) {
            /* only the last SIM_EVENT_RING records are kept; older ones are gone */
            if ((uint8_t)(st->ec1 - i) == 0 || (uint8_t)(st->ec1 - i) > SIM_EVENT_RING)
                continue;
            const struct sim_event_rec *r = &st->ring[i % SIM_EVENT_RING];
            gw_ub_bytes(&ub, r->rec, r->len);
        }
        if ((uint8_t)(pn - st->ec1_read) <= (uint8_t)(st->ec1 - st->ec1_read))
            st->ec1_read = pn; /* the master has read up to pn: ACD clears when all read */
    }
    if (ub.err) {
        answer_ack(st, fr, 0);
        return;
    }
    sim_term_answer(st, fr, GW_AFN_CLASS3, 8, ub.p, ub.len);
}

static void answer_control(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_dadt d;
    struct gw_time t;
    if (fr->units_len < 4 || gw_dadt_decode(fr->units, &d) != 0) {
        answer_ack(st, fr, 0);
        return;
    }
    if (d.nfn == 1 && d.fn[0] == 31) { /* clock set: the clock now reads t */
        if (fr->units_len < 10 || gw_time_decode(1, fr->units + 4, &t) != GW_VS_OK) {
            answer_ack(st, fr, 0);
            return;
        }
        int64_t now = sim_proc_now_ls(st->sp);
        st->clock_offset += sim_gwtime_to_ls(&t) - sim_term_clock(st, now);
        answer_ack(st, fr, 1);
        return;
    }
    /* pause/resume reading, remote trip/close of a control round: accepted */
    answer_ack(st, fr, d.nfn == 1 && (d.fn[0] == 49 || d.fn[0] == 50 || d.fn[0] == 1 ||
                                     d.fn[0] == 2));
}

static void answer_meter_cfg(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_ubuf ub;
    gw_ub_init(&ub, st->sp->scratch, SIM_UNITS_MAX);
    if (sim_mtab_query(st, fr, &ub) != 0 || ub.err) {
        answer_ack(st, fr, 0);
        return;
    }
    sim_term_answer(st, fr, GW_AFN_QUERY, 8, ub.p, ub.len);
}

static void answer_version(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_version v;
    struct gw_ubuf ub;
    memset(&v, 0, sizeof(v));
    memcpy(v.vendor, "MFSM", 4);
    memcpy(v.device, "SIM00001", 8);
    memcpy(v.sw, "0100", 4);
    v.sw_date = (struct gw_time){ .year = 2026, .mon = 11, .day = 1 };
    memcpy(v.capacity, "CONCENTRATR", 11);
    memcpy(v.proto, "12.0", 4); /* the 2013 edition */
    memcpy(v.hw, "0100", 4);
    v.hw_date = v.sw_date;
    gw_ub_init(&ub, st->sp->scratch, SIM_UNITS_MAX);
    gw_ans_version(&ub, &v);
    sim_term_answer(st, fr, GW_AFN_CONFIG, 8, ub.p, ub.len);
}

void sim_answer_request(struct sim_term *st, const struct gw_frame *fr)
{
    switch (fr->afn) {
    case GW_AFN_CLASS1:
        answer_c1(st, fr);
        break;
    case GW_AFN_CLASS2:
        answer_c2(st, fr);
        break;
    case GW_AFN_CLASS3:
        answer_c3(st, fr);
        break;
    case GW_AFN_CONTROL:
        answer_control(st, fr);
        break;
    case GW_AFN_SET:
        answer_ack(st, fr, sim_mtab_set(st, fr) == 0); /* F10 kept; other sets accepted */
        break;
    case GW_AFN_RESET:
        answer_ack(st, fr, 1);
        break;
    case GW_AFN_QUERY:
        answer_meter_cfg(st, fr);
        break;
    case GW_AFN_CONFIG:
        answer_version(st, fr);
        break;
    case GW_AFN_FORWARD:
        sim_meter_forward(st, fr);
        break;
    default:
        answer_ack(st, fr, 0);
        break;
    }
}
