/* sim_meter.c -- the DL/T 645-2007 meters behind a simulated terminal: AFN=10 F1 transparent
 * forwarding. The terminal passes the 645 frame to the meter whose address it names (one
 * meter per point, address sim_point_addr) and returns the meter's answer in an AFN=10 F1
 * answer (port, length, bytes).
 *
 * The meter answers reads of DI 00010000 (forward active total), 00010100..00010400
 * (tariffs), 0001FF00 (total + tariffs), 0201xx00 voltages, 0202xx00 currents, 02030000
 * active power, 04000101 date, 04000102 time, 04000503 running status word 3 (bit 4 = relay
 * open); remote control (C=1C) trip (N1 1A) opens the relay, close (1B/1C) closes it.
 * Anything else gets an abnormal answer with error word 02 (no requested data). Frames and
 * numbers are encoded with the codec (dlt645_encode, gw_num_encode); nothing by hand.
 *
 * Invariants: the forwarded length k is checked against the bytes present before use; a
 * frame for no meter of this terminal (or a broadcast) gets k = 0 (no meter answered).
 * Called by: sim_answer.c. Thread: the process's loop thread. */
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/dlt645.h"
#include "sim/sim_int.h"
#include "sim/sim_meter.h"

/* The n bytes of a value already saturated at its format's limit; n, or 0 if it would not
 * encode (it always does). */
static size_t num_out(unsigned fmt, struct gw_num v, uint8_t *out, size_t n)
{
    return gw_num_encode(fmt, v.m, v.exp, out) == 0 ? n : 0;
}

/* Value bytes of a read of di for point pn; returns the length, 0 when the meter has no
 * such item. */
static size_t meter_read(struct sim_term *st, uint16_t pn, uint32_t di, uint8_t *out)
{
    const struct sim_model *m = st->sp->model;
    int64_t now = sim_proc_now_ls(st->sp);
    struct sim_instant in;
    struct gw_time t;

    if ((di & 0xFFFF00FFu) == 0x00010000u) { /* 0001xx00: total (xx=00), tariffs, block */
        unsigned sel = di >> 8 & 0xFF;
        int64_t ind[SIM_TARIFFS + 1];
        if (sim_indication(m, st->idx, pn, now, ind) != 0 || (sel > SIM_TARIFFS && sel != 0xFF))
            return 0;
        if (sel != 0xFF)
            return gw_num_encode(11, ind[sel] / 100, -2, out) == 0 ? 4 : 0;
        for (unsigned k = 0; k <= SIM_TARIFFS; k++)
            if (gw_num_encode(11, ind[k] / 100, -2, out + 4 * k) != 0)
                return 0;
        return 4 * (SIM_TARIFFS + 1);
    }
    sim_instant(m, st->idx, pn, now, &in);
    unsigned ph = (di >> 8 & 0xFF) - 1;
    if ((di & 0xFFFF00FFu) == 0x02010000u && ph < 3) /* voltage XXX.X = A.7 */
        return gw_num_encode(7, (int64_t)(in.u_v[ph] * 10), -1, out) == 0 ? 2 : 0;
    if ((di & 0xFFFF00FFu) == 0x02020000u && ph < 3) /* current XXX.XXX, signed = A.25 */
        return num_out(25, sim_num_sat(in.i_a[ph], 1e3, -3, SIM_A25_MAX, 0), out, 3);
    if (di == 0x02030000u) /* active power XX.XXXX, signed = A.9 */
        return num_out(9, sim_num_sat(in.p_kw[0], 1e4, -4, SIM_A9_MAX, 0), out, 3);
    sim_ls_to_gwtime(sim_term_clock(st, now), &t);
    if (di == 0x04000101u) /* YYMMDDWW (WW 0 = Sunday): 8 BCD digits = A.27 */
        return gw_num_encode(27, (int64_t)(t.year % 100) * 1000000 + t.mon * 10000 +
                                     t.day * 100 + t.wday % 7, 0, out) == 0 ? 4 : 0;
    if (di == 0x04000102u) /* hhmmss = A.10 */
        return gw_num_encode(10, (int64_t)t.hour * 10000 + t.min * 100 + t.sec, 0, out) == 0
                   ? 3 : 0;
    if (di == 0x04000503u) { /* running status word 3, binary: bit 4 relay open */
        out[0] = st->relay_open[pn] ? 0x50 : 0x00; /* bit 6: relay command state */
        out[1] = 0;
        return 2;
    }
    return 0;
}

/* The meter's answer to f into out; returns its length or a negative status. */
static int meter_answer(struct sim_term *st, uint16_t pn, const struct dlt645_frame *f,
                        uint8_t *out, size_t cap)
{
    uint8_t err = 0x02; /* "no requested data" */
    int is1997 = 0;
    if (f->func == DLT645_READ) {
        uint8_t data[64];
        uint32_t di = dlt645_di(f, &is1997);
        size_t n = dlt645_read_data(di, data);
        size_t v = is1997 ? 0 : meter_read(st, pn, di, data + n);
        if (v)
            return dlt645_encode(f->addr, 0x91, data, n + v, 0, out, cap);
    } else if (f->func == DLT645_CONTROL && f->len >= 9) {
        uint8_t n1 = f->data[8];
        if (n1 == DLT645_CTL_TRIP || n1 == DLT645_CTL_CLOSE_ALLOWED ||
            n1 == DLT645_CTL_CLOSE_DIRECT) {
            st->relay_open[pn] = n1 == DLT645_CTL_TRIP;
            return dlt645_encode(f->addr, 0x9C, NULL, 0, 0, out, cap);
        }
        if (n1 == DLT645_CTL_ALARM_ON || n1 == DLT645_CTL_ALARM_OFF ||
            n1 == DLT645_CTL_KEEP_ON || n1 == DLT645_CTL_KEEP_OFF)
            return dlt645_encode(f->addr, 0x9C, NULL, 0, 0, out, cap);
        err = 0x04; /* password / authority: what an unknown command gets */
    }
    return dlt645_encode(f->addr, (uint8_t)(0xC0 | f->func), &err, 1, 0, out, cap);
}

static void forward_answer(struct sim_term *st, const struct gw_frame *fr, uint8_t port,
                           const uint8_t *p, size_t n)
{
    struct gw_ubuf ub;
    gw_ub_init(&ub, st->sp->scratch, SIM_UNITS_MAX);
    gw_ans_forward(&ub, port, p, n);
    if (ub.err == 0)
        sim_term_answer(st, fr, GW_AFN_FORWARD, 8, ub.p, ub.len);
}

void sim_meter_forward(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_dadt d;
    struct dlt645_frame f;
    uint8_t ans[DLT645_DATA_MAX + 32], port;
    uint64_t addr;
    const uint8_t *u = fr->units;

    if (fr->units_len < 10 || gw_dadt_decode(u, &d) != 0 || d.npn != 1 || d.pn[0] != 0 ||
        d.nfn != 1 || d.fn[0] != 1) {
        uint8_t buf[8];
        struct gw_ubuf ub;
        gw_ub_init(&ub, buf, sizeof(buf));
        gw_b_deny_all(&ub); /* only F1 (transparent forwarding) is offered */
        sim_term_answer(st, fr, GW_AFN_CONFIRM, 0, buf, ub.len);
        return;
    }
    port = u[4];
    size_t k = (size_t)u[8] | (size_t)u[9] << 8;
    if (k > fr->units_len - 10 || dlt645_decode(u + 10, k, &f) != 0 || f.dir != 0 ||
        dlt645_addr_to_u64(f.addr, &addr) != 0) {
        forward_answer(st, fr, port, NULL, 0); /* nothing a meter would answer */
        return;
    }
    uint16_t pn = (uint16_t)(addr % 1000u);
    if (pn == 0 || pn > st->sp->model->npoints ||
        sim_point_addr(st->sp->model, st->idx, pn) != addr) {
        forward_answer(st, fr, port, NULL, 0); /* no such meter on this terminal */
        return;
    }
    int n = meter_answer(st, pn, &f, ans, sizeof(ans));
    forward_answer(st, fr, port, ans, n > 0 ? (size_t)n : 0);
}
