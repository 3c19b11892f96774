/* test_proc_analytics.c -- the analytics of docs/ANALYTICS.md against values computed by
 * hand for small fixtures: consumption (rollover, gap, backwards, reset, replacement,
 * jump), the rollup (success rate, line loss high/negative/incomplete, stopped meter) and
 * the instantaneous rules (voltage, clock, offline, ERC severity). */
#include "harness.h"
#include "meterflow/proc.h"

#define D 20000 /* an arbitrary day number */
#define KWH(i, f) ((int64_t)(i) * 10000 + (f)) /* KWH(12, 3456) = 12.3456 kWh */

static struct proc_anomaly an_buf[64];

static struct proc_anoms anoms(void)
{
    struct proc_anoms a = { an_buf, 0, 64, 0 };
    return a;
}

static struct proc_ind ind(int32_t day, int64_t e4)
{
    struct proc_ind x = { 1, day, PROC_VAL_OK, e4, 0 };
    return x;
}

static struct proc_cfg cfg_default(void)
{
    struct proc_cfg c;
    proc_cfg_defaults(&c);
    return c;
}

MF_TEST(cons_simple_day)
{
    struct proc_cfg c = cfg_default();
    struct proc_ind v[] = { ind(D - 1, KWH(1000, 0)), ind(D, KWH(1012, 3456)) };
    struct proc_cons o;
    struct proc_anoms a = anoms();
    proc_consumption(&c, D, 1, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_OK);
    CHECK_EQ_INT(o.kwh_e4, 123456);
    CHECK_EQ_INT(o.span_days, 1);
    CHECK_EQ_INT(o.start_e4, KWH(1000, 0));
    CHECK_EQ_INT(o.end_e4, KWH(1012, 3456));
    CHECK_EQ_INT(o.median_e4, -1); /* no history */
    CHECK_EQ_INT(a.n, 0);
}

MF_TEST(cons_rollover_at_register_max)
{
    struct proc_cfg c = cfg_default();
    /* 999990.5000 -> 3.2500: 1000000 - 999990.5 + 3.25 = 12.75 kWh */
    struct proc_ind v[] = { ind(D - 1, KWH(999990, 5000)), ind(D, KWH(3, 2500)) };
    struct proc_cons o;
    struct proc_anoms a = anoms();
    proc_consumption(&c, D, 1, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_ROLLOVER);
    CHECK_EQ_INT(o.kwh_e4, KWH(12, 7500));
    CHECK_EQ_INT(a.n, 0);
    /* a 4-digit register (9999.9999 -> 0): 9998.0 -> 1.0 = 3 kWh */
    struct proc_ind w[] = { ind(D - 1, KWH(9998, 0)), ind(D, KWH(1, 0)) };
    proc_consumption(&c, D, 1, proc_modulus_from_digits(4), w, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_ROLLOVER);
    CHECK_EQ_INT(o.kwh_e4, KWH(3, 0));
    /* the same step on the default 6-digit register is not near the max: backwards */
    proc_consumption(&c, D, 1, 0, w, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_RESET);
}

MF_TEST(cons_gap_not_attributed)
{
    struct proc_cfg c = cfg_default();
    struct proc_ind v[] = { ind(D - 3, KWH(100, 0)), ind(D, KWH(130, 0)) };
    struct proc_cons o;
    struct proc_anoms a = anoms();
    proc_consumption(&c, D, 1, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_GAP);
    CHECK(!proc_cons_has_value(o.status));
    CHECK_EQ_INT(o.kwh_e4, KWH(30, 0));
    CHECK_EQ_INT(o.span_days, 3);
    /* outside the window (7 days) there is no previous value at all */
    struct proc_ind w[] = { ind(D - 9, KWH(100, 0)), ind(D, KWH(130, 0)) };
    proc_consumption(&c, D, 1, 0, w, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_NO_PREV);
    CHECK_EQ_INT(a.n, 0);
}

MF_TEST(cons_missing_absent_invalid_are_not_zero)
{
    struct proc_cfg c = cfg_default();
    struct proc_ind v[] = { ind(D - 1, KWH(100, 0)), ind(D, 0) };
    v[1].status = PROC_VAL_ABSENT;
    struct proc_cons o;
    struct proc_anoms a = anoms();
    proc_consumption(&c, D, 1, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_MISSING);
    CHECK_EQ_INT(o.end_e4, -1);
    v[1].status = PROC_VAL_INVALID;
    proc_consumption(&c, D, 1, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_MISSING);
    /* an invalid previous value is skipped: the one before it is used (gap of 2) */
    struct proc_ind w[] = { ind(D - 2, KWH(90, 0)), ind(D - 1, 0), ind(D, KWH(100, 0)) };
    w[1].status = PROC_VAL_INVALID;
    proc_consumption(&c, D, 1, 0, w, 3, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_GAP);
    CHECK_EQ_INT(o.kwh_e4, KWH(10, 0));
    CHECK_EQ_INT(a.n, 0);
}

MF_TEST(cons_backwards_reset_replaced)
{
    struct proc_cfg c = cfg_default();
    struct proc_cons o;
    struct proc_anoms a = anoms();
    struct proc_ind v[] = { ind(D - 1, KWH(500, 0)), ind(D, KWH(499, 0)) };
    proc_consumption(&c, D, 7, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_BACKWARDS);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_BACKWARDS);
    CHECK_EQ_INT(an_buf[0].point, 7);
    CHECK_EQ_INT(an_buf[0].day, D);
    CHECK_EQ_INT(an_buf[0].value, KWH(499, 0));
    CHECK_EQ_INT(an_buf[0].ref, KWH(500, 0));
    CHECK_STR(an_buf[0].detail, "indication fell from 500.0000 to 499.0000 kWh over 1 day(s)");
    /* 500 -> 2.5 (<= reset_max 10 kWh): a reset */
    v[1].kwh_e4 = KWH(2, 5000);
    proc_consumption(&c, D, 7, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_RESET);
    CHECK_EQ_INT(a.n, 2);
    CHECK_EQ_INT(an_buf[1].kind, PROC_AN_RESET);
    /* different meter address: replaced, whatever the values */
    v[0].meter_addr = 151230011061ULL;
    v[1].meter_addr = 151230011062ULL;
    v[1].kwh_e4 = KWH(600, 0);
    proc_consumption(&c, D, 7, 0, v, 2, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_REPLACED);
    CHECK_EQ_INT(a.n, 3);
    CHECK_EQ_INT(an_buf[2].kind, PROC_AN_REPLACED);
}

MF_TEST(cons_jump_against_trailing_median)
{
    struct proc_cfg c = cfg_default();
    /* advances 10, 12, 11, 9, 10 -> median 10; factor 500% -> limit 50 */
    struct proc_ind v[] = { ind(D - 6, KWH(100, 0)), ind(D - 5, KWH(110, 0)),
                            ind(D - 4, KWH(122, 0)), ind(D - 3, KWH(133, 0)),
                            ind(D - 2, KWH(142, 0)), ind(D - 1, KWH(152, 0)),
                            ind(D, KWH(202, 0)) };
    struct proc_cons o;
    struct proc_anoms a = anoms();
    proc_consumption(&c, D, 1, 0, v, 7, &o, &a);
    CHECK_EQ_INT(o.status, PROC_CONS_OK);
    CHECK_EQ_INT(o.kwh_e4, KWH(50, 0));
    CHECK_EQ_INT(o.median_e4, KWH(10, 0));
    CHECK_EQ_INT(a.n, 0); /* exactly at the limit is not a jump */
    v[6].kwh_e4 = KWH(202, 1);
    proc_consumption(&c, D, 1, 0, v, 7, &o, &a);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_JUMP);
    CHECK_EQ_INT(an_buf[0].value, KWH(50, 1));
    CHECK_EQ_INT(an_buf[0].ref, KWH(10, 0));
    CHECK_EQ_INT(an_buf[0].threshold, KWH(50, 0));
    /* even count: advances 2, 4, 6, 100 -> median (4 + 6) / 2 = 5; limit 25 */
    struct proc_ind w[] = { ind(D - 5, KWH(0, 0)), ind(D - 4, KWH(2, 0)), ind(D - 3, KWH(6, 0)),
                            ind(D - 2, KWH(12, 0)), ind(D - 1, KWH(112, 0)),
                            ind(D, KWH(140, 0)) };
    a = anoms();
    proc_consumption(&c, D, 1, 0, w, 6, &o, &a);
    CHECK_EQ_INT(o.median_e4, KWH(5, 0));
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(an_buf[0].threshold, KWH(25, 0));
    /* only two single-day advances (< jump_min_history 3): no median, no jump */
    proc_consumption(&c, D, 1, 0, w + 2, 4, &o, &a);
    CHECK_EQ_INT(o.median_e4, -1);
    CHECK_EQ_INT(a.n, 1);
}

/* Rollup fixture (terminal 4403-0012, pn 1..9):
 *  area 0: supply p1 1000 -> 1100 (100); customers p2 200 -> 240 (40), p3 50 -> 95 (45),
 *          p4 70 -> 70 (0, stopped). customers 85, loss 15 = 15 % > 10 %: high.
 *  area 1: supply p5 10 -> 20 (10); customer p6 0 -> 12 (12): loss -2, -20 %: negative.
 *  area 2: supply p7 0 -> 10 (10); customer p8 has no value for D: incomplete.
 *  p9: no area, value for D only (no_prev, collected).
 *  expected 9, collected 8. */
MF_TEST(rollup_success_loss_stopped)
{
    struct proc_cfg c = cfg_default();
    uint32_t t = 0x44030012u;
    struct proc_point pts[9];
    static const uint32_t area[9] = { 0, 0, 0, 0, 1, 1, 2, 2, PROC_NO_AREA };
    static const uint8_t role[9] = { 1, 0, 0, 0, 1, 0, 1, 0, 2 };
    for (int i = 0; i < 9; i++) {
        pts[i].key = proc_point_key(t, (uint16_t)(i + 1));
        pts[i].area = area[i];
        pts[i].role = role[i];
        pts[i].modulus_e4 = 0;
        pts[i].multiplier = 0;
    }
    static const int64_t vals[][2] = { { 1000, 1100 }, { 200, 240 }, { 50, 95 }, { 70, 70 },
                                       { 10, 20 },     { 0, 12 },    { 0, 10 },  { 30, -1 },
                                       { -1, 5 } };
    int64_t hist[18];
    for (int i = 0; i < 9; i++)
        for (int d = 0; d < 2; d++)
            hist[i * 2 + d] = vals[i][d] >= 0 ? KWH(vals[i][d], 0) : PROC_HIST_NONE;
    struct proc_cons cons[9];
    struct proc_area_out areas[3];
    struct proc_rollup_in in = { D, pts, 9, 3, NULL, hist, 2, NULL, 0 };
    struct proc_rollup_out out = { cons, areas, 0, 0, anoms() };
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(out.expected, 9);
    CHECK_EQ_INT(out.collected, 8);
    CHECK_EQ_INT(cons[7].status, PROC_CONS_MISSING);
    CHECK_EQ_INT(cons[8].status, PROC_CONS_NO_PREV);
    CHECK_EQ_INT(cons[2].kwh_e4, KWH(45, 0));

    CHECK_EQ_INT(areas[0].expected, 4);
    CHECK_EQ_INT(areas[0].collected, 4);
    CHECK_EQ_INT(areas[0].supply_e4, KWH(100, 0));
    CHECK_EQ_INT(areas[0].customers_e4, KWH(85, 0));
    CHECK_EQ_INT(areas[0].loss_e4, KWH(15, 0));
    CHECK_EQ_INT(areas[0].loss_ppm, 150000);
    CHECK_EQ_INT(areas[0].status, PROC_LOSS_HIGH);
    CHECK_EQ_INT(areas[0].supply_point, pts[0].key);

    CHECK_EQ_INT(areas[1].loss_e4, -KWH(2, 0));
    CHECK_EQ_INT(areas[1].loss_ppm, -200000);
    CHECK_EQ_INT(areas[1].status, PROC_LOSS_NEGATIVE);

    CHECK_EQ_INT(areas[2].status, PROC_LOSS_INCOMPLETE);
    CHECK_EQ_INT(areas[2].has_rate, 0);
    CHECK_EQ_INT(areas[2].expected, 2);
    CHECK_EQ_INT(areas[2].collected, 1);

    /* area 0 high: line_loss on its supply point p1 (loss 15 of 100 kWh, limit 10 % = 10
     * kWh, no customer missing), then the stopped p4 */
    CHECK_EQ_INT(out.anoms.n, 2);
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_LINE_LOSS);
    CHECK_EQ_INT(an_buf[0].point, pts[0].key);
    CHECK_EQ_INT(an_buf[0].severity, PROC_SEV_MAJOR);
    CHECK_EQ_INT(an_buf[0].day, D);
    CHECK_EQ_INT(an_buf[0].value, KWH(15, 0));
    CHECK_EQ_INT(an_buf[0].ref, KWH(100, 0));
    CHECK_EQ_INT(an_buf[0].threshold, KWH(10, 0));
    CHECK_EQ_INT(an_buf[0].count, 0);
    CHECK_STR(an_buf[0].detail,
              "supply 1000000, consumed 850000 (e-4 kWh): loss 150000 ppm > 100000");
    CHECK_EQ_INT(an_buf[1].kind, PROC_AN_STOPPED);
    CHECK_EQ_INT(an_buf[1].point, pts[3].key);
    CHECK_EQ_INT(an_buf[1].ref, KWH(100, 0));

    /* 15 % with the threshold raised to 15 %: not above it, ok */
    c.loss_high_pct = 15;
    out.anoms = anoms();
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(areas[0].status, PROC_LOSS_OK);
    CHECK_EQ_INT(out.anoms.n, 1); /* the stopped meter only: no line_loss at 15 % */
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_STOPPED);
    /* unsorted input is refused */
    struct proc_point sw = pts[0];
    pts[0] = pts[1];
    pts[1] = sw;
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), -4);
    pts[1] = pts[0];
    pts[0] = sw;
    pts[2].area = 3; /* out of range */
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), -4);
}

MF_TEST(rollup_stopped_needs_supply_evidence)
{
    struct proc_cfg c = cfg_default();
    /* supply missing for D: the zero-advance customer is not called stopped */
    struct proc_point pts[2] = { { 1, 0, PROC_ROLE_SUPPLY, 0, 1 }, { 2, 0, PROC_ROLE_CUSTOMER, 0, 1 } };
    int64_t hist[4] = { KWH(5, 0), PROC_HIST_NONE, KWH(7, 0), KWH(7, 0) };
    struct proc_cons cons[2];
    struct proc_area_out areas[1];
    struct proc_rollup_in in = { D, pts, 2, 1, NULL, hist, 2, NULL, 0 };
    struct proc_rollup_out out = { cons, areas, 0, 0, anoms() };
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(out.anoms.n, 0);
    CHECK_EQ_INT(areas[0].status, PROC_LOSS_INCOMPLETE);
    CHECK_EQ_INT(out.collected, 1);
}

/* Line loss with missing customers (days D-4..D, threshold 10 % in area 0):
 *  area 0: supply p1 1000 1100 1200 1300 1400 -> 100 kWh on D.
 *    p2 0 10 20 30 40 -> 10; p5 0 10 20 30 50 -> 20: measured 30 kWh from 2 customers.
 *    p3 (x2) 0 12 24 36 missing: median of 12, 12, 12 = 12 raw, allowance 24 kWh.
 *    p4 - - - 5 missing: no median, allowance = area mean 30 / 2 = 15 kWh.
 *    allowance 39; loss 100 - 30 - 39 = 31 kWh = 310000 ppm > 100000, but p4's allowance
 *    is a guess (no history of its own): incomplete, nothing judged high, no anomaly.
 *  area 1: the same customers p7..p10, supply p6 ... 1300 1380 -> 80 kWh: loss
 *    80 - 69 = 11 kWh = 137500 ppm; incomplete.
 * Then p4 and p9 get a history 0 5 10 15 (median 5): area 0 allowance 24 + 5 = 29, loss
 *  100 - 30 - 29 = 41 kWh = 410000 ppm > 100000: high despite missing (the partial sum alone
 *  would say 70 %), anomaly line_loss on p1: value 41 kWh, ref 100, threshold 10 kWh,
 *  count 2; area 1: 80 - 59 = 21 kWh = 262500 ppm > its 137500: high despite missing. */
MF_TEST(rollup_loss_high_despite_missing)
{
    struct proc_cfg c = cfg_default();
    struct proc_point pts[10];
    static const int64_t v[5][5] = { { 1000, 1100, 1200, 1300, 1400 }, { 0, 10, 20, 30, 40 },
                                     { 0, 12, 24, 36, -1 },           { -1, -1, -1, 5, -1 },
                                     { 0, 10, 20, 30, 50 } };
    int64_t hist[50];
    for (int i = 0; i < 10; i++) {
        pts[i] = (struct proc_point){ (uint64_t)(i + 1), (uint32_t)(i / 5),
                                      (uint8_t)(i % 5 == 0 ? PROC_ROLE_SUPPLY : PROC_ROLE_CUSTOMER),
                                      0, i % 5 == 2 ? 2u : 1u };
        for (int d = 0; d < 5; d++)
            hist[i * 5 + d] = v[i % 5][d] >= 0 ? KWH(v[i % 5][d], 0) : PROC_HIST_NONE;
    }
    hist[5 * 5 + 4] = KWH(1380, 0);
    int32_t thr[2] = { 100000, 137500 };
    struct proc_cons cons[10];
    struct proc_area_out areas[2];
    struct proc_rollup_in in = { D, pts, 10, 2, thr, hist, 5, NULL, 0 };
    struct proc_rollup_out out = { cons, areas, 0, 0, anoms() };
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(cons[2].status, PROC_CONS_MISSING);
    CHECK_EQ_INT(cons[2].median_e4, KWH(12, 0));
    CHECK_EQ_INT(cons[3].median_e4, -1);
    CHECK_EQ_INT(areas[0].customers_e4, KWH(30, 0));
    CHECK_EQ_INT(areas[0].allowance_e4, KWH(39, 0));
    CHECK_EQ_INT(areas[0].allowance_by_mean, 1);
    CHECK_EQ_INT(areas[0].loss_e4, KWH(31, 0));
    CHECK_EQ_INT(areas[0].has_rate, 0);
    CHECK_EQ_INT(areas[0].status, PROC_LOSS_INCOMPLETE);
    CHECK_EQ_INT(areas[1].supply_e4, KWH(80, 0));
    CHECK_EQ_INT(areas[1].loss_e4, KWH(11, 0));
    CHECK_EQ_INT(areas[1].has_rate, 0);
    CHECK_EQ_INT(areas[1].status, PROC_LOSS_INCOMPLETE);
    CHECK_EQ_INT(out.anoms.n, 0);

    for (int d = 0; d < 4; d++) /* p4 and p9: 0 5 10 15, missing on D */
        hist[3 * 5 + d] = hist[8 * 5 + d] = KWH(5 * d, 0);
    out.anoms = anoms();
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(cons[3].median_e4, KWH(5, 0));
    CHECK_EQ_INT(areas[0].allowance_e4, KWH(29, 0));
    CHECK_EQ_INT(areas[0].allowance_by_mean, 0);
    CHECK_EQ_INT(areas[0].loss_e4, KWH(41, 0));
    CHECK_EQ_INT(areas[0].loss_ppm, 410000);
    CHECK_EQ_INT(areas[0].has_rate, 1);
    CHECK_EQ_INT(areas[0].status, PROC_LOSS_HIGH_DESPITE_MISSING);
    CHECK_STR(proc_loss_status_str(areas[0].status), "high_despite_missing");
    CHECK_EQ_INT(areas[1].loss_e4, KWH(21, 0));
    CHECK_EQ_INT(areas[1].loss_ppm, 262500);
    CHECK_EQ_INT(areas[1].status, PROC_LOSS_HIGH_DESPITE_MISSING);
    CHECK_EQ_INT(out.anoms.n, 2);
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_LINE_LOSS);
    CHECK_STR(proc_anomaly_kind_str(an_buf[0].kind), "line_loss");
    CHECK_EQ_INT(an_buf[0].point, 1);
    CHECK_EQ_INT(an_buf[0].value, KWH(41, 0));
    CHECK_EQ_INT(an_buf[0].ref, KWH(100, 0));
    CHECK_EQ_INT(an_buf[0].threshold, KWH(10, 0));
    CHECK_EQ_INT(an_buf[0].count, 2);
    CHECK_EQ_INT(an_buf[1].point, 6);
    /* area 1's supply 68.2 kWh: loss 9.2 kWh = 134897 ppm, not above 137500: incomplete */
    hist[5 * 5 + 4] = KWH(1368, 2000);
    out.anoms = anoms();
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(areas[1].loss_ppm, 0);
    CHECK_EQ_INT(areas[1].status, PROC_LOSS_INCOMPLETE);
    CHECK_EQ_INT(out.anoms.n, 1);
}

/* Multipliers (CT x PT) scale energy; a per-area threshold replaces the global one.
 * supply p1 x40: 10.0 -> 12.5 = 2.5 x 40 = 100 kWh; customers p2 30 kWh, p3 62 kWh
 * (x1): loss 8 kWh = 8 % = 80000 ppm; area threshold 5 % -> high; global 10 % -> ok. */
MF_TEST(rollup_multiplier_and_area_threshold)
{
    struct proc_cfg c = cfg_default();
    struct proc_point pts[3] = { { 1, 0, PROC_ROLE_SUPPLY, 0, 40 },
                                 { 2, 0, PROC_ROLE_CUSTOMER, 0, 0 },
                                 { 3, 0, PROC_ROLE_CUSTOMER, 0, 1 } };
    int64_t hist[6] = { KWH(10, 0), KWH(12, 5000), KWH(100, 0), KWH(130, 0), KWH(0, 0),
                        KWH(62, 0) };
    int32_t thr[1] = { 50000 };
    struct proc_cons cons[3];
    struct proc_area_out areas[1];
    struct proc_rollup_in in = { D, pts, 3, 1, thr, hist, 2, NULL, 0 };
    struct proc_rollup_out out = { cons, areas, 0, 0, anoms() };
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(cons[0].kwh_e4, KWH(100, 0));
    CHECK_EQ_INT(cons[0].end_e4, KWH(12, 5000));
    CHECK_EQ_INT(areas[0].supply_e4, KWH(100, 0));
    CHECK_EQ_INT(areas[0].customers_e4, KWH(92, 0));
    CHECK_EQ_INT(areas[0].loss_ppm, 80000);
    CHECK_EQ_INT(areas[0].status, PROC_LOSS_HIGH);
    in.area_high_ppm = NULL;
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(areas[0].status, PROC_LOSS_OK);
    in.hist_days = 0;
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), -4);
}

/* Meter replacement seen in the meter table (the worker's path: proc_rollup with addrs).
 * Days D-2, D-1, D; all three points read 100, 110, 112 kWh (D alone would be 2 kWh, ok).
 *  p1: 440300001001 seen at D-10, 440300001002 seen on D: the meter at the end of D is not
 *      the one of D-1: replaced, no consumption, anomaly replaced (112 / 110).
 *  p2: one address seen at D-1 (nothing to compare): ok, 2 kWh.
 *  p3: changed on D-1 (the D-2 -> D-1 step is the replacement), same meter D-1 -> D: ok. */
MF_TEST(rollup_replaced_from_meter_addresses)
{
    struct proc_cfg c = cfg_default();
    struct proc_point pts[3] = { { 1, PROC_NO_AREA, PROC_ROLE_OTHER, 0, 1 },
                                 { 2, PROC_NO_AREA, PROC_ROLE_OTHER, 0, 1 },
                                 { 3, PROC_NO_AREA, PROC_ROLE_OTHER, 0, 1 } };
    int64_t hist[9];
    for (int i = 0; i < 3; i++) {
        hist[i * 3 + 0] = KWH(100, 0);
        hist[i * 3 + 1] = KWH(110, 0);
        hist[i * 3 + 2] = KWH(112, 0);
    }
    struct proc_addr ad[5] = { { 1, D - 10, 440300001001ull }, { 1, D, 440300001002ull },
                               { 2, D - 1, 440300001003ull },  { 3, D - 5, 440300001004ull },
                               { 3, D - 1, 440300001005ull } };
    struct proc_cons cons[3];
    struct proc_rollup_in in = { D, pts, 3, 0, NULL, hist, 3, ad, 5 };
    struct proc_rollup_out out = { cons, NULL, 0, 0, anoms() };
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(cons[0].status, PROC_CONS_REPLACED);
    CHECK_EQ_INT(cons[1].status, PROC_CONS_OK);
    CHECK_EQ_INT(cons[1].kwh_e4, KWH(2, 0));
    CHECK_EQ_INT(cons[2].status, PROC_CONS_OK);
    CHECK_EQ_INT(cons[2].kwh_e4, KWH(2, 0));
    CHECK_EQ_INT(out.anoms.n, 1);
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_REPLACED);
    CHECK_STR(proc_anomaly_kind_str(an_buf[0].kind), "replaced");
    CHECK_EQ_INT(an_buf[0].point, 1);
    CHECK_EQ_INT(an_buf[0].value, KWH(112, 0));
    CHECK_EQ_INT(an_buf[0].ref, KWH(110, 0));
    /* without the addresses the same values are an ordinary day */
    in.addrs = NULL;
    in.naddrs = 0;
    out.anoms = anoms();
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), 0);
    CHECK_EQ_INT(cons[0].status, PROC_CONS_OK);
    CHECK_EQ_INT(out.anoms.n, 0);
    /* addresses out of order are refused */
    struct proc_addr bad[2] = { { 2, D, 1 }, { 1, D, 2 } };
    in.addrs = bad;
    in.naddrs = 2;
    CHECK_EQ_INT(proc_rollup(&c, &in, &out), -4);
}

/* Flapping (defaults 10 logins and 10 offline changes in the day). */
MF_TEST(flapping_thresholds)
{
    struct proc_cfg c = cfg_default();
    struct proc_sessions s[4] = { { 0x44030001u, 10, 10, 1000 }, { 0x44030002u, 10, 9, 1001 },
                                  { 0x44030003u, 9, 12, 1002 },  { 0x44030004u, 40, 39, 1003 } };
    struct proc_anoms a = anoms();
    proc_flapping(&c, D, s, 4, &a);
    CHECK_EQ_INT(a.n, 2);
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_FLAPPING);
    CHECK_STR(proc_anomaly_kind_str(an_buf[0].kind), "flapping");
    CHECK_EQ_INT(an_buf[0].point, proc_point_key(0x44030001u, 0));
    CHECK_EQ_INT(an_buf[0].day, D);
    CHECK_EQ_INT(an_buf[0].at, 1000);
    CHECK_EQ_INT(an_buf[0].value, 10);
    CHECK_EQ_INT(an_buf[0].ref, 10);
    CHECK_EQ_INT(an_buf[0].threshold, 10);
    CHECK_EQ_INT(an_buf[0].severity, PROC_SEV_MINOR);
    CHECK_STR(an_buf[0].detail, "10 logins and 10 offline changes in the day (limits 10 and 10)");
    CHECK_EQ_INT(an_buf[1].point, proc_point_key(0x44030004u, 0));
    CHECK_EQ_INT(an_buf[1].value, 40);
    /* thresholds from the configuration */
    c.flap_min_logins = 9;
    c.flap_min_offlines = 9;
    a = anoms();
    proc_flapping(&c, D, s, 4, &a);
    CHECK_EQ_INT(a.n, 4);
    c.flap_min_logins = 41;
    a = anoms();
    proc_flapping(&c, D, s, 4, &a);
    CHECK_EQ_INT(a.n, 0);
}

MF_TEST(voltage_limits_220_minus10_plus7)
{
    struct proc_cfg c = cfg_default();
    /* limits 198.0 V and 235.4 V; both inclusive */
    struct proc_volt s[] = {
        { 1, 100, 1, 2200 }, { 1, 200, 1, 1975 }, { 1, 300, 1, 1950 }, { 1, 400, 1, 2354 },
        { 1, 500, 1, 2355 }, { 1, 600, 1, 1980 }, { 1, 100, 2, 2300 },
    };
    struct proc_anoms a = anoms();
    proc_voltage(&c, D, s, 7, &a);
    CHECK_EQ_INT(a.n, 2);
    CHECK_EQ_INT(an_buf[0].kind, PROC_AN_VOLTAGE_LOW);
    CHECK_EQ_INT(an_buf[0].count, 2);
    CHECK_EQ_INT(an_buf[0].value, 1950);
    CHECK_EQ_INT(an_buf[0].threshold, 1980);
    CHECK_EQ_INT(an_buf[0].at, 200);
    CHECK_EQ_INT(an_buf[0].code, 1);
    CHECK_STR(an_buf[0].detail, "phase A: 2 sample(s) below 198.0 V, worst 195.0 V");
    CHECK_EQ_INT(an_buf[1].kind, PROC_AN_VOLTAGE_HIGH);
    CHECK_EQ_INT(an_buf[1].value, 2355);
    CHECK_EQ_INT(an_buf[1].threshold, 2354);
    CHECK_EQ_INT(an_buf[1].count, 1);
}

MF_TEST(clock_offline_events)
{
    struct proc_cfg c = cfg_default();
    struct proc_clock k[] = { { 0x10000, 1, 300 }, { 0x20000, 2, -301 }, { 0x20001, 3, 1000 } };
    struct proc_anoms a = anoms();
    CHECK_EQ_INT(proc_clock_check(&c, D, k, 3, &a), 2);
    CHECK_EQ_INT(an_buf[0].value, -301);
    CHECK_STR(an_buf[0].detail, "terminal clock behind by 301 s (limit 300 s)");
    CHECK_STR(an_buf[1].detail, "meter clock ahead by 1000 s (limit 300 s)");

    a = anoms();
    int64_t now = 1000000;
    struct proc_presence p[] = { { 1, 0, now - 86400 }, { 2, 0, now - 86401 }, { 3, 1, 0 } };
    proc_offline(&c, D, now, p, 3, &a);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(an_buf[0].point, proc_point_key(2, 0));
    CHECK_EQ_INT(an_buf[0].value, 86401);

    a = anoms();
    struct proc_event e[] = { { 5, 10, 14, 2 }, { 5, 11, 3, 1 }, { 5, 12, 37, 0 },
                              { 5, 13, 52, 1 }, { 5, 14, 37, 1 } };
    proc_events(&c, D, e, 5, &a);
    CHECK_EQ_INT(a.n, 2);
    CHECK_EQ_INT(an_buf[0].code, 14);
    CHECK_EQ_INT(an_buf[0].severity, PROC_SEV_MAJOR);
    CHECK_EQ_INT(an_buf[1].code, 37);
    CHECK_EQ_INT(an_buf[1].severity, PROC_SEV_CRITICAL);
    CHECK_STR(proc_erc_name(52), "vendor/unknown");
    CHECK_EQ_INT(proc_erc_severity(52), PROC_SEV_INFO);
}

MF_TEST(anoms_bounded)
{
    struct proc_anomaly one[1];
    struct proc_anoms a = { one, 0, 1, 0 };
    CHECK(proc_anoms_push(&a) != NULL);
    CHECK(proc_anoms_push(&a) == NULL);
    CHECK_EQ_INT(a.dropped, 1);
}
