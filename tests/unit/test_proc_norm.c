/* test_proc_norm.c -- normalisation: public vector frames and frames written by hand from
 * the protocol text go through the codec (parse + decode) into store records, asserted
 * field by field. Expected UTC times are computed here from the civil time minus 8 h
 * (Asia/Shanghai has no DST), independently of mf_civil_to_utc. */
#include <stdio.h>
#include <stdlib.h>

#include "frame_test_util.h"
#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"
#include "meterflow/proc.h"

#define MAXR 64

struct cap {
    struct proc_rec r[MAXR];
    char str[MAXR][4][160]; /* copies of the strings the records point to */
    size_t n;
};

static const char *keep(struct cap *c, int k, const char *s)
{
    if (!s)
        return NULL;
    snprintf(c->str[c->n][k], sizeof(c->str[c->n][k]), "%s", s);
    return c->str[c->n][k];
}

static int cap_emit(void *opaque, const struct proc_rec *r)
{
    struct cap *c = opaque;
    if (c->n >= MAXR)
        return -7;
    c->r[c->n] = *r;
    struct proc_rec *x = &c->r[c->n];
    switch (r->type) {
    case PROC_REC_ENERGY: x->u.energy.item = keep(c, 0, r->u.energy.item); break;
    case PROC_REC_FROZEN: x->u.frozen.item = keep(c, 0, r->u.frozen.item); break;
    case PROC_REC_CURVE: x->u.curve.item = keep(c, 0, r->u.curve.item); break;
    case PROC_REC_INSTANT: x->u.instant.quantity = keep(c, 0, r->u.instant.quantity); break;
    case PROC_REC_EVENT: x->u.event.fields_json = keep(c, 0, r->u.event.fields_json); break;
    case PROC_REC_METER_CFG:
        x->u.meter_cfg.addr = keep(c, 0, r->u.meter_cfg.addr);
        x->u.meter_cfg.collector = keep(c, 1, r->u.meter_cfg.collector);
        break;
    case PROC_REC_FWD645: x->u.fwd645.addr = keep(c, 0, r->u.fwd645.addr); break;
    default: break;
    }
    c->n++;
    return 0;
}

static struct gw_decoded dec;
static struct proc_anomaly an_v[16];

/* UTC seconds of a civil time in Asia/Shanghai (UTC+8, no DST since 1991). */
static int64_t cst(int y, int mo, int d, int h, int mi, int s)
{
    return (int64_t)mf_date_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - 8 * 3600;
}

/* Normalise one frame given as hex. */
static int run(const char *hex, int64_t received_at, struct cap *c, struct proc_anoms *an,
               size_t *skipped)
{
    static uint8_t raw[4096];
    struct gw_frame fr;
    static struct proc_cfg cfg;
    int len = mf_hex_decode(hex, raw, sizeof(raw));
    mf_clock_set_zone("Asia/Shanghai");
    proc_cfg_defaults(&cfg);
    c->n = 0;
    if (len <= 0 || gw_frame_parse(raw, (size_t)len, GW_PW_LEN, &fr) != 0)
        return -100;
    int rc = gw_decode_units(&fr, &dec);
    if (rc != 0)
        return rc;
    struct proc_norm_ctx ctx = { gw_terminal_key(fr.addr.a1, fr.addr.a2), received_at, &cfg, an,
                                 0 };
    rc = proc_norm_units(&ctx, &dec, cap_emit, c);
    if (skipped)
        *skipped = ctx.skipped;
    return rc;
}

/* Wrap a data-unit area written by hand into an uplink response frame (C=88, A=0171-0822,
 * SEQ=60): L = (user data << 2) | 2, CS = byte sum of the user data. */
static const char *frame_hex(uint8_t afn, const char *units_hex)
{
    static char out[4096];
    uint8_t f[1100];
    size_t k = tf_answer_0171(afn, units_hex, f, sizeof(f));
    mf_hex_encode(f, k, out, sizeof(out));
    return out;
}

#define TERM_0171_0822 ((uint32_t)0x0171u << 16 | 0x0822u)

MF_TEST(c1_f129_vector)
{
    static struct cap c;
    const char *hex = "68 C6 00 C6 00 68 88 71 01 22 08 02 0C A2 01 01 01 10 18 16 28 08 18 04 00 "
                      "01 00 00 00 EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
                      "02 39 19 16 28 00 8C 16";
    CHECK_EQ_INT(run(hex, 1000, &c, NULL, NULL), 0);
    CHECK_EQ_INT(c.n, 5);
    const struct store_energy *e = &c.r[0].u.energy;
    CHECK_EQ_INT(c.r[0].type, PROC_REC_ENERGY);
    CHECK_EQ_INT(e->term, TERM_0171_0822);
    CHECK_EQ_INT(e->pn, 1);
    CHECK_STR(e->item, "ap_fwd");
    CHECK_EQ_INT(e->tariff, 0);
    CHECK_EQ_INT(e->status, STORE_V_OK);
    CHECK_NEAR(e->value, 0.01, 1e-9);
    CHECK_EQ_INT(e->read_at, cst(2018, 8, 28, 16, 18, 0));
    for (int t = 1; t <= 4; t++) {
        CHECK_EQ_INT(c.r[t].u.energy.tariff, t);
        CHECK_EQ_INT(c.r[t].u.energy.status, STORE_V_ABSENT);
        CHECK_STR(c.r[t].u.energy.item, "ap_fwd");
    }
}

MF_TEST(c1_f25_vector_and_voltage_rule)
{
    static struct cap c;
    struct proc_anoms an = { an_v, 0, 16, 0 };
    const char *hex =
        "68 56 01 56 01 68 88 71 01 22 08 02 0C AB 01 01 01 03 47 16 28 08 18 00 00 00 00 00 00 "
        "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE 00 10 00 10 EE EE EE EE 27 24 EE "
        "EE EE EE 00 00 00 EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE 0B 13 "
        "49 16 28 00 4A 16";
    CHECK_EQ_INT(run(hex, 1000, &c, &an, NULL), 0);
    CHECK_EQ_INT(c.n, 23);
    int64_t at = cst(2018, 8, 28, 16, 47, 0);
    /* order of the layout: p pa pb pc q qa qb qc pf pfa pfb pfc ua ub uc ia ib ic i0 s .. */
    CHECK_STR(c.r[0].u.instant.quantity, "p");
    CHECK_EQ_INT(c.r[0].u.instant.status, STORE_V_OK);
    CHECK_NEAR(c.r[0].u.instant.value, 0.0, 1e-12);
    CHECK_EQ_INT(c.r[0].u.instant.read_at, at);
    CHECK_STR(c.r[2].u.instant.quantity, "pb");
    CHECK_EQ_INT(c.r[2].u.instant.status, STORE_V_ABSENT);
    CHECK_STR(c.r[8].u.instant.quantity, "pf");
    CHECK_NEAR(c.r[8].u.instant.value, 100.0, 1e-9);
    CHECK_STR(c.r[12].u.instant.quantity, "ua");
    CHECK_NEAR(c.r[12].u.instant.value, 242.7, 1e-9);
    CHECK_STR(c.r[13].u.instant.quantity, "ub");
    CHECK_EQ_INT(c.r[13].u.instant.status, STORE_V_ABSENT);
    CHECK_STR(c.r[15].u.instant.quantity, "ia");
    CHECK_EQ_INT(c.r[15].u.instant.status, STORE_V_OK);
    CHECK_STR(c.r[18].u.instant.quantity, "i0");
    CHECK_STR(c.r[22].u.instant.quantity, "sc");
    /* 242.7 V > 235.4 V (220 V + 7 %) */
    CHECK_EQ_INT(an.n, 1);
    CHECK_EQ_INT(an_v[0].kind, PROC_AN_VOLTAGE_HIGH);
    CHECK_EQ_INT(an_v[0].value, 2427);
    CHECK_EQ_INT(an_v[0].code, 1);
    CHECK_EQ_INT(an_v[0].at, at);
    CHECK_EQ_INT(an_v[0].day, mf_date_to_days(2018, 8, 28));
}

MF_TEST(c1_f2_clock_offset)
{
    static struct cap c;
    struct proc_anoms an = { an_v, 0, 16, 0 };
    const char *hex = "68 4A 00 4A 00 68 88 00 00 01 00 02 0C 60 00 00 02 00 49 48 11 15 52 15 17 16";
    int64_t t = cst(2015, 12, 15, 11, 48, 49);
    CHECK_EQ_INT(run(hex, t + 400, &c, &an, NULL), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(c.r[0].type, PROC_REC_CLOCK);
    CHECK_EQ_INT(c.r[0].u.clock.term, 0x00000001u);
    CHECK_EQ_INT(c.r[0].u.clock.terminal_at, t);
    CHECK_EQ_INT(c.r[0].u.clock.read_at, t + 400);
    CHECK_EQ_INT(an.n, 1); /* 400 s behind > 300 s */
    CHECK_EQ_INT(an_v[0].kind, PROC_AN_CLOCK);
    CHECK_EQ_INT(an_v[0].value, -400);
    an.n = 0;
    CHECK_EQ_INT(run(hex, t + 300, &c, &an, NULL), 0);
    CHECK_EQ_INT(an.n, 0);
}

MF_TEST(c2_f1_daily_frozen_vector)
{
    static struct cap c;
    const char *hex = /* vector c2-f1-rsp */
        "68 C2 01 C2 01 68 88 71 01 22 08 02 0D E5 01 01 01 00 27 08 18 59 23 27 08 18 04 00 "
        "01 00 00 00 EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
        "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
        "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
        "05 05 34 16 28 00 06 16";
    CHECK_EQ_INT(run(hex, 1000, &c, NULL, NULL), 0);
    CHECK_EQ_INT(c.n, 20);
    const struct store_frozen *f = &c.r[0].u.frozen;
    CHECK_EQ_INT(c.r[0].type, PROC_REC_FROZEN);
    CHECK_EQ_INT(f->kind, STORE_FROZEN_DAILY);
    CHECK_STR(f->item, "ap_fwd");
    CHECK_EQ_INT(f->date, mf_date_to_days(2018, 8, 27));
    CHECK_EQ_INT(f->tariff, 0);
    CHECK_EQ_INT(f->status, STORE_V_OK);
    CHECK_NEAR(f->value, 0.01, 1e-9);
    CHECK_EQ_INT(f->read_at, cst(2018, 8, 27, 23, 59, 0));
    CHECK_EQ_INT(c.r[1].u.frozen.status, STORE_V_ABSENT);
    CHECK_STR(c.r[5].u.frozen.item, "rq1");
    CHECK_EQ_INT(c.r[5].u.frozen.tariff, 0);
    CHECK_EQ_INT(c.r[5].u.frozen.status, STORE_V_ABSENT);
    CHECK_STR(c.r[10].u.frozen.item, "q1");
    CHECK_STR(c.r[15].u.frozen.item, "q4");
    CHECK_EQ_INT(c.r[19].u.frozen.tariff, 4);
}

/* p1 F161 for 2026-11-25, written from section 9.6: Td_d 25 11 26, time 23:59 25-11-26,
 * M = 1, total 1234.5678 kWh (A.14 78 56 34 12 00), tariff 1 absent. */
MF_TEST(c2_f161_hand_written)
{
    static struct cap c;
    const char *units = "01 01 01 14 25 11 26 59 23 25 11 26 01 78 56 34 12 00 EE EE EE EE EE";
    CHECK_EQ_INT(run(frame_hex(0x0D, units), 1000, &c, NULL, NULL), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_INT(c.r[0].u.frozen.date, mf_date_to_days(2026, 11, 25));
    CHECK_NEAR(c.r[0].u.frozen.value, 1234.5678, 1e-9);
    CHECK_STR(c.r[0].u.frozen.item, "ap_fwd");
    CHECK_EQ_INT(c.r[0].u.frozen.read_at, cst(2026, 11, 25, 23, 59, 0));
    CHECK_EQ_INT(c.r[1].u.frozen.tariff, 1);
    CHECK_EQ_INT(c.r[1].u.frozen.status, STORE_V_ABSENT);
    /* F177 monthly (Td_m 11 26) dates the first of the month */
    const char *m = "01 01 01 16 11 26 59 23 30 11 26 00 00 00 00 01 00";
    CHECK_EQ_INT(run(frame_hex(0x0D, m), 1000, &c, NULL, NULL), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(c.r[0].u.frozen.kind, STORE_FROZEN_MONTHLY);
    CHECK_EQ_INT(c.r[0].u.frozen.date, mf_date_to_days(2026, 11, 1));
    CHECK_NEAR(c.r[0].u.frozen.value, 100.0, 1e-9);
}

/* p1 F89 voltage A curve from 2024-03-01 00:15, density 1 (15 min), 3 points:
 * 220.0 V (00 22), absent (EE EE), 236.0 V (60 23). */
MF_TEST(c2_f89_curve_points_and_voltage)
{
    static struct cap c;
    struct proc_anoms an = { an_v, 0, 16, 0 };
    const char *units = "01 01 01 0B 15 00 01 03 24 01 03 00 22 EE EE 60 23";
    CHECK_EQ_INT(run(frame_hex(0x0D, units), 1000, &c, &an, NULL), 0);
    CHECK_EQ_INT(c.n, 3);
    int64_t t0 = cst(2024, 3, 1, 0, 15, 0);
    for (int k = 0; k < 3; k++) {
        CHECK_EQ_INT(c.r[k].type, PROC_REC_CURVE);
        CHECK_STR(c.r[k].u.curve.item, "ua");
        CHECK_EQ_INT(c.r[k].u.curve.ts, t0 + k * 900);
    }
    CHECK_NEAR(c.r[0].u.curve.value, 220.0, 1e-9);
    CHECK_EQ_INT(c.r[1].u.curve.status, STORE_V_ABSENT);
    CHECK_NEAR(c.r[2].u.curve.value, 236.0, 1e-9);
    CHECK_EQ_INT(an.n, 1);
    CHECK_EQ_INT(an_v[0].kind, PROC_AN_VOLTAGE_HIGH);
    CHECK_EQ_INT(an_v[0].at, t0 + 1800);
    CHECK_EQ_INT(an_v[0].day, mf_date_to_days(2024, 3, 1));
}

MF_TEST(events_erc14_erc24_vectors)
{
    static struct cap c;
    struct proc_anoms an = { an_v, 0, 16, 0 };
    const char *e14 = "68 72 00 72 00 68 C4 12 96 56 34 00 0E 70 00 00 01 00 01 00 00 01 0E 0A 40 "
                      "14 31 07 10 31 11 03 08 10 88 16";
    CHECK_EQ_INT(run(e14, 1000, &c, &an, NULL), 0);
    CHECK_EQ_INT(c.n, 2);
    const struct store_event *ev = &c.r[0].u.event;
    CHECK_EQ_INT(c.r[0].type, PROC_REC_EVENT);
    CHECK_EQ_INT(ev->term, (uint32_t)0x9612u << 16 | 0x3456u);
    CHECK_EQ_INT(ev->cls, 1);
    CHECK_EQ_INT(ev->erc, 14);
    CHECK_EQ_INT(ev->severity, 2); /* major on the store's 0..3 scale */
    CHECK_EQ_INT(ev->started, -1);
    CHECK_EQ_INT(ev->occurred_at, cst(2010, 7, 31, 14, 40, 0));
    CHECK_EQ_INT(ev->raw_len, 12);
    CHECK_EQ_INT(c.r[1].type, PROC_REC_EC);
    CHECK_EQ_INT(c.r[1].u.ec.ec1, 1);
    CHECK_EQ_INT(c.r[1].u.ec.ec2, -1);
    CHECK_EQ_INT(an.n, 1);
    CHECK_EQ_INT(an_v[0].kind, PROC_AN_EVENT);
    CHECK_EQ_INT(an_v[0].code, 14);

    an.n = 0;
    const char *e24 = "68 82 00 82 00 68 C4 12 96 56 34 00 0E 75 00 00 01 00 6E 00 00 01 18 0E 09 "
                      "22 07 12 10 01 00 00 90 21 00 22 00 22 59 16";
    CHECK_EQ_INT(run(e24, 1000, &c, &an, NULL), 0);
    ev = &c.r[0].u.event;
    CHECK_EQ_INT(ev->erc, 24);
    CHECK_EQ_INT(ev->pn, 1);
    CHECK_EQ_INT(ev->started, 0);
    CHECK_EQ_INT(ev->occurred_at, cst(2010, 12, 7, 22, 9, 0));
    CHECK(strstr(ev->fields_json, "\"ua_v\":219.0") != NULL);
    CHECK(strstr(ev->fields_json, "\"uc_v\":220.0") != NULL);
    CHECK_EQ_INT(an.n, 0); /* restored, and minor */
}

MF_TEST(meter_cfg_vector)
{
    static struct cap c;
    const char *hex = "68 32 01 32 01 68 A8 00 02 34 12 04 0A E5 00 00 02 01 02 00 01 00 01 00 C1 "
                      "02 25 02 00 00 00 00 00 00 00 00 00 00 04 09 00 00 00 00 00 00 F5 02 00 02 "
                      "00 7F 1E 61 10 01 30 12 15 FF FF FF FF FF FF 01 09 00 00 00 00 00 00 50 4F "
                      "00 05 12 39 23 23 05 7E 16";
    CHECK_EQ_INT(run(hex, 1000, &c, NULL, NULL), 0);
    CHECK_EQ_INT(c.n, 2);
    const struct store_meter_cfg *m = &c.r[0].u.meter_cfg;
    CHECK_EQ_INT(m->serial, 1);
    CHECK_EQ_INT(m->pn, 1);
    CHECK_EQ_INT(m->port, 1);
    CHECK_EQ_INT(m->baud, 6);
    CHECK_EQ_INT(m->protocol, 2);
    CHECK_STR(m->addr, "000000000225");
    CHECK_EQ_INT(m->tariffs, 4);
    CHECK_EQ_INT(m->user_class, 0xF5);
    m = &c.r[1].u.meter_cfg;
    CHECK_EQ_INT(m->pn, 2);
    CHECK_EQ_INT(m->port, 31);
    CHECK_EQ_INT(m->baud, 3);
    CHECK_EQ_INT(m->protocol, 30);
    CHECK_STR(m->addr, "151230011061");
    CHECK_EQ_INT(m->tariffs, 1);
    CHECK_EQ_INT(m->user_class, 0x50);
}

MF_TEST(forward_645_vector)
{
    static struct cap c;
    const char *hex = "68 AE 00 AE 00 68 A8 00 02 34 12 04 10 E0 00 00 01 00 1F 14 00 68 61 10 01 "
                      "30 12 15 68 91 08 33 33 34 33 AB 39 33 33 49 16 4F 00 00 06 50 23 21 05 AE 16";
    CHECK_EQ_INT(run(hex, 1000, &c, NULL, NULL), 0);
    CHECK_EQ_INT(c.n, 1);
    const struct store_fwd645 *f = &c.r[0].u.fwd645;
    CHECK_EQ_INT(c.r[0].type, PROC_REC_FWD645);
    CHECK_STR(f->addr, "151230011061");
    CHECK_EQ_INT(f->di, 0x00010000);
    CHECK_EQ_INT(f->status, STORE_V_OK);
    CHECK_NEAR(f->value, 6.78, 1e-9);
    CHECK_EQ_INT(f->raw_len, 20);
}

/* AFN 10 F9 (direct meter read), uplink written by hand from protocol-3761.md 9.9: port 1F,
 * target 151230011061, result 5 = data, k+4 = 8, DI 00010000, data in 645 wire form (+0x33):
 * AB 39 33 33 = 00 00 06 78 -> 000006.78 kWh. A data byte whose nibble is not decimal makes
 * the value invalid; result 1 (timeout) leaves it absent. */
MF_TEST(forward_read_f9)
{
    static struct cap c;
    const struct store_fwd645 *f = &c.r[0].u.fwd645;
    CHECK_EQ_INT(run("68 76 00 76 00 68 88 00 02 34 12 04 10 60 00 00 01 01 1F 61 10 01 30 12 "
                     "15 05 08 00 00 01 00 AB 39 33 33 86 16",
                     1000, &c, NULL, NULL),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(c.r[0].type, PROC_REC_FWD645);
    CHECK_STR(f->addr, "151230011061");
    CHECK_EQ_INT(f->di, 0x00010000);
    CHECK_EQ_INT(f->status, STORE_V_OK);
    CHECK_NEAR(f->value, 6.78, 1e-9);
    CHECK_EQ_INT(f->raw_len, 4);
    CHECK_EQ_INT(f->raw[0], 0xAB);

    CHECK_EQ_INT(run("68 76 00 76 00 68 88 00 02 34 12 04 10 60 00 00 01 01 1F 61 10 01 30 12 "
                     "15 05 08 00 00 01 00 AB 39 3D 33 90 16",
                     1000, &c, NULL, NULL),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(f->status, STORE_V_INVALID);
    CHECK_NEAR(f->value, 0, 0);

    CHECK_EQ_INT(run("68 66 00 66 00 68 88 00 02 34 12 04 10 60 00 00 01 01 1F 61 10 01 30 12 "
                     "15 01 04 00 00 01 00 34 16",
                     1000, &c, NULL, NULL),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(f->status, STORE_V_ABSENT);
    CHECK_EQ_INT(f->di, 0x00010000);
    CHECK_STR(f->addr, "151230011061");
}
