/* gw_decode_data.c -- decoders of class-1 (AFN 0C) and class-2 (AFN 0D) data units: the
 * items a head-end stores (protocol-3761.md sections 9.1-9.7 and 9.13).
 *
 * Most items are a few shapes with different value formats, so they are decoded by shape:
 *   energy  [Td] time M total tariff1..M        0C F129..F144, 0D F161..F184
 *   series4 [Td] time M 4 x (total tariffs)    0C F33/F34, 0D F1/F2/F9/F10/F17/F18
 *   curve   Td_c n x value                     0D F81..F110, F145..F148
 * plus the fixed layouts F2 (clock), F25 (instantaneous) and F170 (reading status).
 * Counts read from the wire (M, n) are checked against GW_MAX_* and against the bytes left
 * before they bound a loop. Requests (downlink) carry no data (0C) or only the time tag
 * (0D); their layouts are here too so `meterflow decode` shows what a master asked.
 * Thread: pure, reentrant. */
#include "meterflow/gw3761_data.h"
#include "proto/gw_int.h"

/* Time tag of class-2 items (section 9.5). */
/* Freezing density (Appendix C) -> minutes between points; 0 for "not frozen"/reserved. */
static int gw_density_min(uint8_t m)
{
    switch (m) {
    case 1: return 15;
    case 2: return 30;
    case 3: return 60;
    case 254: return 5;
    case 255: return 1;
    default: return 0;
    }
}

static void dec_td(struct gwd_ctx *c, uint8_t td)
{
    const uint8_t *b;
    switch (td) {
    case GWD_TD_D:
        gwd_time(c, "td_d", 0, 20);
        break;
    case GWD_TD_M:
        gwd_time(c, "td_m", 0, 21);
        break;
    case GWD_TD_C:
        gwd_time(c, "td_c", 0, 15);
        b = gwd_take(c, 2);
        if (!b)
            return;
        gwd_intv(c, "density", 0, b[0]);
        gwd_intv(c, "interval_min", 0, gw_density_min(b[0]));
        gwd_intv(c, "points", 0, b[1]);
        break;
    default:
        break;
    }
}

static void dec_request(struct gwd_ctx *c, const struct gwd_fn *d)
{
    dec_td(c, d->td);
}

static void dec_clock(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    gwd_time(c, "clock", 0, 1);
}

/* M, checked so that `per` bytes x (1 + M) fit in what is left; -1 on failure. */
static int read_m(struct gwd_ctx *c, size_t per)
{
    const uint8_t *b = gwd_take(c, 1);
    if (!b)
        return -1;
    gwd_intv(c, "tariff_count", 0, b[0]);
    if (b[0] > GW_MAX_TARIFFS || (size_t)(b[0] + 1u) * per > c->left - c->off) {
        c->err = GW_US_TRUNCATED;
        return -1;
    }
    return b[0];
}

static void series(struct gwd_ctx *c, unsigned fmt, int m, const char *tot, const char *tar)
{
    gwd_num(c, tot, 0, fmt);
    for (int i = 1; i <= m; i++)
        gwd_num(c, tar, (uint16_t)i, fmt);
}

/* [Td] reading time, M, total + M tariffs in d->fmt. */
static void dec_energy(struct gwd_ctx *c, const struct gwd_fn *d)
{
    int m;
    dec_td(c, d->td);
    gwd_time(c, "reading_time", 0, 15);
    m = read_m(c, gw_fmt_len(d->fmt));
    if (m >= 0)
        series(c, d->fmt, m, d->vname, d->vname2);
}

static const char *const s4_names[2][8] = {
    {"total_kwh", "tariffs_kwh", "reactive_total_kvarh", "reactive_tariffs_kvarh",
     "q1_total_kvarh", "q1_tariffs_kvarh", "q4_total_kvarh", "q4_tariffs_kvarh"},
    {"total_kwh", "tariffs_kwh", "reactive_total_kvarh", "reactive_tariffs_kvarh",
     "q2_total_kvarh", "q2_tariffs_kvarh", "q3_total_kvarh", "q3_tariffs_kvarh"},
};

/* [Td] time, M, active A.14 + 3 reactive A.11 series (forward: arg 0, reverse: arg 1). */
static void dec_series4(struct gwd_ctx *c, const struct gwd_fn *d)
{
    const char *const *nm = s4_names[d->arg & 1u];
    int m;
    dec_td(c, d->td);
    gwd_time(c, "reading_time", 0, 15);
    m = read_m(c, 5u + 3u * 4u);
    if (m < 0)
        return;
    series(c, 14, m, nm[0], nm[1]);
    for (size_t k = 1; k < 4; k++)
        series(c, 11, m, nm[2 * k], nm[2 * k + 1]);
}

/* 0C F25 (section 9.2), 67 bytes. */
static void dec_f25(struct gwd_ctx *c, const struct gwd_fn *d)
{
    static const char *const p[] = {"p_kw", "pa_kw", "pb_kw", "pc_kw"};
    static const char *const q[] = {"q_kvar", "qa_kvar", "qb_kvar", "qc_kvar"};
    static const char *const pf[] = {"pf_pct", "pfa_pct", "pfb_pct", "pfc_pct"};
    static const char *const u[] = {"ua_v", "ub_v", "uc_v"};
    static const char *const i[] = {"ia_a", "ib_a", "ic_a", "i0_a"};
    static const char *const s[] = {"s_kva", "sa_kva", "sb_kva", "sc_kva"};
    (void)d;
    if (c->left - c->off < 67u) {
        c->err = GW_US_TRUNCATED;
        return;
    }
    gwd_time(c, "reading_time", 0, 15);
    for (int k = 0; k < 4; k++)
        gwd_num(c, p[k], 0, 9);
    for (int k = 0; k < 4; k++)
        gwd_num(c, q[k], 0, 9);
    for (int k = 0; k < 4; k++)
        gwd_num(c, pf[k], 0, 5);
    for (int k = 0; k < 3; k++)
        gwd_num(c, u[k], 0, 7);
    for (int k = 0; k < 4; k++)
        gwd_num(c, i[k], 0, 25);
    for (int k = 0; k < 4; k++)
        gwd_num(c, s[k], 0, 9);
}

/* 0C F170 meter reading status (section 9.13), 18 bytes. */
static void dec_f170(struct gwd_ctx *c, const struct gwd_fn *d)
{
    (void)d;
    gwd_int(c, "port", 0, 1);
    gwd_int(c, "relay_level", 0, 1);
    gwd_int(c, "phase", 0, 1);
    gwd_int(c, "signal_quality", 0, 1);
    gwd_int(c, "last_ok", 0, 1);
    gwd_time(c, "last_ok_time", 0, 1);
    gwd_time(c, "last_fail_time", 0, 1);
    gwd_int(c, "fail_count", 0, 1);
}

/* One value of format fmt at b (already bounds-checked by the caller). */
static void num_at(struct gwd_ctx *c, const char *name, uint16_t idx, unsigned fmt,
                   const uint8_t *b)
{
    struct gw_value *v = gwd_push(c, name, idx, GW_VK_NUM);
    int8_t e;
    if (!v)
        return;
    v->status = (uint8_t)gw_num_decode(fmt, b, &v->u.i, &e);
    v->exp = e;
    v->fmt = (uint8_t)fmt;
}

/* Td_c + n points (F109/F110: three phase angles per point, listed per phase). */
static void dec_curve(struct gwd_ctx *c, const struct gwd_fn *d)
{
    static const char *const ang_u[] = {"ua_angle_deg", "ub_angle_deg", "uc_angle_deg"};
    static const char *const ang_i[] = {"ia_angle_deg", "ib_angle_deg", "ic_angle_deg"};
    size_t len = gw_fmt_len(d->fmt), per = d->arg ? 3u : 1u, n;
    const uint8_t *b;

    gwd_time(c, "td_c", 0, 15);
    b = gwd_take(c, 2);
    if (!b)
        return;
    n = b[1];
    gwd_intv(c, "density", 0, b[0]);
    gwd_intv(c, "interval_min", 0, gw_density_min(b[0]));
    gwd_intv(c, "points", 0, (int64_t)n);
    b = gwd_take(c, n * per * len); /* n <= 255: no overflow */
    if (!b)
        return;
    for (size_t ph = 0; ph < per; ph++) {
        const char *name = per == 1 ? d->vname : (d->arg == 2 ? ang_i : ang_u)[ph];
        for (size_t k = 0; k < n; k++)
            num_at(c, name, (uint16_t)(k + 1), d->fmt, b + (k * per + ph) * len);
    }
}

/* ---- 0C ---- */

/* ---- tables ---- */
#define KWH "total_kwh", "tariffs_kwh"
#define KVARH "total_kvarh", "tariffs_kvarh"
static const struct gwd_fn c1_energy[16] = {
    {"F129 current forward active energy indication", dec_energy, 14, 0, KWH, GWD_TD_NONE},
    {"F130 current forward reactive (combined reactive 1) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F131 current reverse active energy indication", dec_energy, 14, 0, KWH, GWD_TD_NONE},
    {"F132 current reverse reactive (combined reactive 2) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F133 current quadrant I reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F134 current quadrant II reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F135 current quadrant III reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F136 current quadrant IV reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F137 forward active energy indication (previous settlement day)", dec_energy, 14, 0, KWH, GWD_TD_NONE},
    {"F138 forward reactive (combined reactive 1) energy indication (previous settlement day)", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F139 reverse active energy indication (previous settlement day)", dec_energy, 14, 0, KWH, GWD_TD_NONE},
    {"F140 reverse reactive (combined reactive 2) energy indication (previous settlement day)", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F141 quadrant I reactive energy indication (previous settlement day)", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F142 quadrant II reactive energy indication (previous settlement day)", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F143 quadrant III reactive energy indication (previous settlement day)", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
    {"F144 quadrant IV reactive energy indication (previous settlement day)", dec_energy, 11, 0, KVARH, GWD_TD_NONE},
};
static const struct gwd_fn c2_energy[24] = {
    {"F161 daily frozen forward active energy indication", dec_energy, 14, 0, KWH, GWD_TD_D},
    {"F162 daily frozen forward reactive (combined reactive 1) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F163 daily frozen reverse active energy indication", dec_energy, 14, 0, KWH, GWD_TD_D},
    {"F164 daily frozen reverse reactive (combined reactive 2) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F165 daily frozen quadrant I reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F166 daily frozen quadrant II reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F167 daily frozen quadrant III reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F168 daily frozen quadrant IV reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F169 reading-day frozen forward active energy indication", dec_energy, 14, 0, KWH, GWD_TD_D},
    {"F170 reading-day frozen forward reactive (combined reactive 1) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F171 reading-day frozen reverse active energy indication", dec_energy, 14, 0, KWH, GWD_TD_D},
    {"F172 reading-day frozen reverse reactive (combined reactive 2) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F173 reading-day frozen quadrant I reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F174 reading-day frozen quadrant II reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F175 reading-day frozen quadrant III reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F176 reading-day frozen quadrant IV reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_D},
    {"F177 monthly frozen forward active energy indication", dec_energy, 14, 0, KWH, GWD_TD_M},
    {"F178 monthly frozen forward reactive (combined reactive 1) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_M},
    {"F179 monthly frozen reverse active energy indication", dec_energy, 14, 0, KWH, GWD_TD_M},
    {"F180 monthly frozen reverse reactive (combined reactive 2) energy indication", dec_energy, 11, 0, KVARH, GWD_TD_M},
    {"F181 monthly frozen quadrant I reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_M},
    {"F182 monthly frozen quadrant II reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_M},
    {"F183 monthly frozen quadrant III reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_M},
    {"F184 monthly frozen quadrant IV reactive energy indication", dec_energy, 11, 0, KVARH, GWD_TD_M},
};
static const struct gwd_fn c1_f2 = {"F2 terminal calendar clock", dec_clock, 0, 0, NULL, NULL, 0};
static const struct gwd_fn c1_f25 = {"F25 current power, power factor, voltage, current", dec_f25,
                                     0, 0, NULL, NULL, 0};
static const struct gwd_fn c1_f33[2] = {
    {"F33 current forward active/reactive indications (total and tariffs)", dec_series4, 0, 0,
     NULL, NULL, 0},
    {"F34 current reverse active/reactive indications (total and tariffs)", dec_series4, 0, 1,
     NULL, NULL, 0},
};
static const struct gwd_fn c1_f177 = {"F177 current combined active energy indication",
                                      dec_energy, 14, 0, KWH, 0};
static const struct gwd_fn c1_f170 = {"F170 meter reading status", dec_f170, 0, 0, NULL, NULL, 0};
static const struct gwd_fn c1_req = {"class 1 data request", dec_request, 0, 0, NULL, NULL, 0};

const struct gwd_fn *gw_fn_lookup_0c(uint8_t dir, uint8_t fn)
{
    if (!dir)
        return fn >= 1 && fn <= 248 ? &c1_req : NULL;
    if (fn >= 129 && fn <= 144)
        return &c1_energy[fn - 129];
    switch (fn) {
    case 2: return &c1_f2;
    case 25: return &c1_f25;
    case 33: return &c1_f33[0];
    case 34: return &c1_f33[1];
    case 170: return &c1_f170;
    case 177: return &c1_f177;
    default: return NULL;
    }
}

/* ---- 0D ---- */

static const struct gwd_fn c2_s4[6] = {
    {"F1 daily frozen forward active/reactive indications", dec_series4, 0, 0, NULL, NULL,
     GWD_TD_D},
    {"F2 daily frozen reverse active/reactive indications", dec_series4, 0, 1, NULL, NULL,
     GWD_TD_D},
    {"F9 reading-day frozen forward active/reactive indications", dec_series4, 0, 0, NULL, NULL,
     GWD_TD_D},
    {"F10 reading-day frozen reverse active/reactive indications", dec_series4, 0, 1, NULL,
     NULL, GWD_TD_D},
    {"F17 monthly frozen forward active/reactive indications", dec_series4, 0, 0, NULL, NULL,
     GWD_TD_M},
    {"F18 monthly frozen reverse active/reactive indications", dec_series4, 0, 1, NULL, NULL,
     GWD_TD_M},
};
static const struct gwd_fn c2_curve[30] = {
    {"F81 active power total curve", dec_curve, 9, 0, "p_kw", NULL, GWD_TD_C},
    {"F82 active power phase A curve", dec_curve, 9, 0, "pa_kw", NULL, GWD_TD_C},
    {"F83 active power phase B curve", dec_curve, 9, 0, "pb_kw", NULL, GWD_TD_C},
    {"F84 active power phase C curve", dec_curve, 9, 0, "pc_kw", NULL, GWD_TD_C},
    {"F85 reactive power total curve", dec_curve, 9, 0, "q_kvar", NULL, GWD_TD_C},
    {"F86 reactive power phase A curve", dec_curve, 9, 0, "qa_kvar", NULL, GWD_TD_C},
    {"F87 reactive power phase B curve", dec_curve, 9, 0, "qb_kvar", NULL, GWD_TD_C},
    {"F88 reactive power phase C curve", dec_curve, 9, 0, "qc_kvar", NULL, GWD_TD_C},
    {"F89 voltage phase A curve", dec_curve, 7, 0, "ua_v", NULL, GWD_TD_C},
    {"F90 voltage phase B curve", dec_curve, 7, 0, "ub_v", NULL, GWD_TD_C},
    {"F91 voltage phase C curve", dec_curve, 7, 0, "uc_v", NULL, GWD_TD_C},
    {"F92 current phase A curve", dec_curve, 25, 0, "ia_a", NULL, GWD_TD_C},
    {"F93 current phase B curve", dec_curve, 25, 0, "ib_a", NULL, GWD_TD_C},
    {"F94 current phase C curve", dec_curve, 25, 0, "ic_a", NULL, GWD_TD_C},
    {"F95 zero-sequence current curve", dec_curve, 25, 0, "i0_a", NULL, GWD_TD_C},
    {NULL, NULL, 0, 0, NULL, NULL, 0}, /* F96 not defined */
    {"F97 forward active energy curve", dec_curve, 13, 0, "energy_kwh", NULL, GWD_TD_C},
    {"F98 forward reactive energy curve", dec_curve, 13, 0, "energy_kvarh", NULL, GWD_TD_C},
    {"F99 reverse active energy curve", dec_curve, 13, 0, "energy_kwh", NULL, GWD_TD_C},
    {"F100 reverse reactive energy curve", dec_curve, 13, 0, "energy_kvarh", NULL, GWD_TD_C},
    {"F101 forward active energy indication curve", dec_curve, 11, 0, "total_kwh", NULL, GWD_TD_C},
    {"F102 forward reactive energy indication curve", dec_curve, 11, 0, "total_kvarh", NULL, GWD_TD_C},
    {"F103 reverse active energy indication curve", dec_curve, 11, 0, "total_kwh", NULL, GWD_TD_C},
    {"F104 reverse reactive energy indication curve", dec_curve, 11, 0, "total_kvarh", NULL, GWD_TD_C},
    {"F105 power factor total curve", dec_curve, 5, 0, "pf_pct", NULL, GWD_TD_C},
    {"F106 power factor phase A curve", dec_curve, 5, 0, "pfa_pct", NULL, GWD_TD_C},
    {"F107 power factor phase B curve", dec_curve, 5, 0, "pfb_pct", NULL, GWD_TD_C},
    {"F108 power factor phase C curve", dec_curve, 5, 0, "pfc_pct", NULL, GWD_TD_C},
    {"F109 voltage phase angles curve", dec_curve, 5, 1, "angles", NULL, GWD_TD_C},
    {"F110 current phase angles curve", dec_curve, 5, 2, "angles", NULL, GWD_TD_C},
};
static const struct gwd_fn c2_curve_q[4] = {
    {"F145 quadrant I reactive energy indication curve", dec_curve, 11, 0, "total_kvarh", NULL, GWD_TD_C},
    {"F146 quadrant IV reactive energy indication curve", dec_curve, 11, 0, "total_kvarh", NULL, GWD_TD_C},
    {"F147 quadrant II reactive energy indication curve", dec_curve, 11, 0, "total_kvarh", NULL, GWD_TD_C},
    {"F148 quadrant III reactive energy indication curve", dec_curve, 11, 0, "total_kvarh", NULL, GWD_TD_C},
};
static const struct gwd_fn c2_req[4] = {
    {"class 2 data request", dec_request, 0, 0, NULL, NULL, GWD_TD_NONE},
    {"class 2 data request (daily)", dec_request, 0, 0, NULL, NULL, GWD_TD_D},
    {"class 2 data request (monthly)", dec_request, 0, 0, NULL, NULL, GWD_TD_M},
    {"class 2 data request (curve)", dec_request, 0, 0, NULL, NULL, GWD_TD_C},
};

/* Time tag of a class-2 Fn (section 9.5); GWD_TD_NONE when we do not know the Fn. */
static uint8_t c2_tag(uint8_t fn)
{
    if ((fn >= 1 && fn <= 12) || (fn >= 25 && fn <= 32) || (fn >= 161 && fn <= 176) ||
        (fn >= 185 && fn <= 192))
        return GWD_TD_D;
    if ((fn >= 17 && fn <= 24) || (fn >= 33 && fn <= 39) || (fn >= 177 && fn <= 184) ||
        (fn >= 193 && fn <= 196))
        return GWD_TD_M;
    if ((fn >= 81 && fn <= 95) || (fn >= 97 && fn <= 110) || (fn >= 145 && fn <= 148))
        return GWD_TD_C;
    return GWD_TD_NONE;
}

const struct gwd_fn *gw_fn_lookup_0d(uint8_t dir, uint8_t fn)
{
    if (!dir) {
        uint8_t td = c2_tag(fn);
        return td == GWD_TD_NONE ? NULL : &c2_req[td];
    }
    if (fn >= 161 && fn <= 184)
        return &c2_energy[fn - 161];
    if (fn >= 81 && fn <= 110 && fn != 96)
        return &c2_curve[fn - 81];
    if (fn >= 145 && fn <= 148)
        return &c2_curve_q[fn - 145];
    switch (fn) {
    case 1: return &c2_s4[0];
    case 2: return &c2_s4[1];
    case 9: return &c2_s4[2];
    case 10: return &c2_s4[3];
    case 17: return &c2_s4[4];
    case 18: return &c2_s4[5];
    default: return NULL;
    }
}
