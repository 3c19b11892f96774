/* test_sim_model.c -- the simulator's data model and ledger: tariffs sum to the total,
 * indications are monotone, areas balance with a 2-5 % loss, faults have their effect,
 * everything is deterministic from the seed; ledger lines round-trip. */
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/sim.h"
#include "sim/sim_ledger.h"
#include "sim/sim_model.h"
#include "sim/sim_verify.h"

#define DAY0 20418 /* 2025-11-26 */

static void model(struct sim_model *m, uint64_t seed, struct sim_fault *f, size_t nf)
{
    int rc = sim_model_init(m, seed, 12, 8, 3, 0x4403, 1, DAY0, f, nf);
    CHECK_EQ_INT(rc, 0);
}

MF_TEST(sim_layout)
{
    struct sim_model m;
    uint32_t t0, t1;
    model(&m, 1, NULL, 0);
    /* 12 terminals, 3 areas: 0-3, 4-7, 8-11 */
    CHECK_EQ_INT(sim_area_of(&m, 0), 0);
    CHECK_EQ_INT(sim_area_of(&m, 3), 0);
    CHECK_EQ_INT(sim_area_of(&m, 4), 1);
    CHECK_EQ_INT(sim_area_of(&m, 11), 2);
    sim_area_terms(&m, 1, &t0, &t1);
    CHECK_EQ_INT(t0, 4);
    CHECK_EQ_INT(t1, 8);
    CHECK_EQ_INT(sim_point_class(&m, 4, 1), SIM_SUPPLY);
    CHECK(sim_point_class(&m, 5, 1) != SIM_SUPPLY);
    CHECK(sim_point_class(&m, 4, 2) != SIM_SUPPLY);
    CHECK_EQ_INT(sim_term_a2(&m, 0), 1);
    CHECK_EQ_INT(sim_term_a2(&m, 11), 12);
    sim_model_fini(&m);
    /* 7 terminals over 3 areas: 0-2, 3-4, 5-6 (t*3/7) */
    CHECK_EQ_INT(sim_model_init(&m, 1, 7, 2, 3, 0x4403, 1, DAY0, NULL, 0), 0);
    sim_area_terms(&m, 1, &t0, &t1);
    CHECK_EQ_INT(t0, 3);
    CHECK_EQ_INT(t1, 5);
    CHECK_EQ_INT(sim_area_of(&m, 2), 0);
    CHECK_EQ_INT(sim_area_of(&m, 3), 1);
    sim_model_fini(&m);
    CHECK_EQ_INT(sim_model_init(&m, 1, 2, 2, 3, 0x4403, 1, DAY0, NULL, 0), MF_EINVAL);
    sim_model_fini(&m);
    CHECK_EQ_INT(sim_term_a2(&(struct sim_model){ .first_addr = 0xFFFF }, 1), 1);
}

MF_TEST(sim_tariffs_sum_and_monotone)
{
    struct sim_model m;
    int64_t ind[5], prev[5] = { 0 };
    model(&m, 7, NULL, 0);
    for (uint32_t t = 0; t < 12; t += 5)
        for (uint16_t pn = 1; pn <= 8; pn += 3) {
            for (int64_t ls = (int64_t)DAY0 * 86400 - 86400 * 3; ls < (int64_t)(DAY0 + 4) * 86400;
                 ls += 1800) {
                CHECK_EQ_INT(sim_indication(&m, t, pn, ls, ind), 0);
                CHECK_EQ_INT(ind[0], ind[1] + ind[2] + ind[3] + ind[4]);
                if (prev[0]) {
                    for (int k = 0; k < 5; k++)
                        CHECK(ind[k] >= prev[k]);
                }
                for (int k = 0; k < 5; k++)
                    prev[k] = ind[k];
            }
            prev[0] = 0;
        }
    /* far outside the span: refused */
    CHECK_EQ_INT(sim_indication(&m, 0, 1, (int64_t)(DAY0 + 4000) * 86400, ind), MF_ERANGE);
    sim_model_fini(&m);
}

MF_TEST(sim_tou_hours)
{
    /* valley at night, sharp at 11 and 19-20, peak 8-10 */
    CHECK_EQ_INT(sim_tariff_of_hour(3), 4);
    CHECK_EQ_INT(sim_tariff_of_hour(9), 2);
    CHECK_EQ_INT(sim_tariff_of_hour(11), 1);
    CHECK_EQ_INT(sim_tariff_of_hour(14), 3);
    CHECK_EQ_INT(sim_tariff_of_hour(19), 1);
    CHECK_EQ_INT(sim_tariff_of_hour(23), 4);
}

static int64_t day_total(const struct sim_model *m, uint32_t t, uint16_t pn, int32_t day,
                         int reported)
{
    int64_t h[24], s = 0;
    sim_day_hours(m, t, pn, day, reported, h);
    for (int i = 0; i < 24; i++)
        s += h[i];
    return s;
}

/* Daily consumption from two midnight indications equals the day's reported hours. */
MF_TEST(sim_daily_delta_matches_hours)
{
    struct sim_model m;
    int64_t a[5], b[5];
    model(&m, 3, NULL, 0);
    for (int32_t d = DAY0 - 2; d < DAY0 + 3; d++) {
        CHECK_EQ_INT(sim_indication(&m, 6, 4, (int64_t)d * 86400, a), 0);
        CHECK_EQ_INT(sim_indication(&m, 6, 4, (int64_t)(d + 1) * 86400, b), 0);
        CHECK_EQ_INT(b[0] - a[0], day_total(&m, 6, 4, d, 1));
    }
    sim_model_fini(&m);
}

static double area_loss(const struct sim_model *m, uint32_t area, int32_t day)
{
    uint32_t t0, t1;
    int64_t supply = 0, cust = 0;
    sim_area_terms(m, area, &t0, &t1);
    for (uint32_t t = t0; t < t1; t++)
        for (uint16_t pn = 1; pn <= m->npoints; pn++) {
            int64_t e = day_total(m, t, pn, day, 1);
            if (sim_point_class(m, t, pn) == SIM_SUPPLY)
                supply = e;
            else
                cust += e;
        }
    return (double)(supply - cust) / (double)supply;
}

MF_TEST(sim_area_balance_and_theft)
{
    struct sim_model m;
    struct sim_fault *f = mf_calloc(1, sizeof(*f));
    *f = (struct sim_fault){ .kind = SIM_F_THEFT, .area = 1, .from_day = DAY0 + 1,
                             .to_day = DAY0 + 2 };
    model(&m, 11, f, 1);
    for (uint32_t a = 0; a < 3; a++) {
        double loss = area_loss(&m, a, DAY0);
        CHECK(loss > 0.018 && loss < 0.049); /* 2..5 % of supply, give or take rounding */
    }
    double theft = area_loss(&m, 1, DAY0 + 1);
    CHECK(theft > 0.10); /* a third of the customers report 40 %: loss jumps */
    CHECK(area_loss(&m, 0, DAY0 + 1) < 0.049);
    CHECK(area_loss(&m, 1, DAY0 + 3) < 0.049); /* after the window, back to normal */
    /* the first customer of the area is always among the thieves */
    CHECK(sim_fault_at(&m, SIM_F_THEFT, 4, 2, DAY0 + 1) != NULL);
    CHECK(sim_fault_at(&m, SIM_F_THEFT, 4, 1, DAY0 + 1) == NULL); /* supply meter */
    sim_model_fini(&m);
}

MF_TEST(sim_faults_stopped_reversed_sag_clock)
{
    struct sim_model m;
    struct sim_fault *f = mf_calloc(4, sizeof(*f));
    f[0] = (struct sim_fault){ .kind = SIM_F_STOPPED, .term = 2, .pn = 3, .from_day = DAY0 + 1,
                               .to_day = DAY0 + 1 };
    f[1] = (struct sim_fault){ .kind = SIM_F_REVERSED, .term = 5, .pn = 2, .from_day = DAY0,
                               .to_day = DAY0 };
    f[2] = (struct sim_fault){ .kind = SIM_F_SAG, .term = 7, .pn = 4, .from_day = DAY0,
                               .to_day = DAY0 + 5 };
    f[3] = (struct sim_fault){ .kind = SIM_F_CLOCK, .term = 9, .from_day = DAY0 + 1,
                               .to_day = DAY0 + 5 };
    model(&m, 5, f, 4);
    int64_t a[5], b[5];
    CHECK_EQ_INT(day_total(&m, 2, 3, DAY0 + 1, 1), 0);
    CHECK(day_total(&m, 2, 3, DAY0 + 1, 0) > 0);
    CHECK(day_total(&m, 2, 3, DAY0 + 2, 1) > 0);
    sim_indication(&m, 5, 2, (int64_t)DAY0 * 86400 + 3600, a);
    sim_indication(&m, 5, 2, (int64_t)DAY0 * 86400 + 20 * 3600, b);
    CHECK(b[0] < a[0]); /* goes backwards */
    struct sim_instant in;
    sim_instant(&m, 7, 4, (int64_t)DAY0 * 86400 + 12 * 3600, &in);
    CHECK(in.u_v[0] < 195.0);
    sim_instant(&m, 7, 5, (int64_t)DAY0 * 86400 + 12 * 3600, &in);
    CHECK(in.u_v[0] > 213.0 && in.u_v[0] < 227.0);
    CHECK(in.i_a[0] > 0.0);
    CHECK_NEAR(in.p_kw[0], in.p_kw[1] + in.p_kw[2] + in.p_kw[3], 1e-9);
    int64_t e0 = sim_clock_error(&m, 9, (int64_t)DAY0 * 86400 + 3600);
    int64_t e1 = sim_clock_error(&m, 9, (int64_t)(DAY0 + 1) * 86400 + 3600);
    CHECK(e0 > -80 && e0 < 80);
    CHECK(e1 >= 600);
    sim_model_fini(&m);
    /* a fault outside the layout is refused */
    f = mf_calloc(1, sizeof(*f));
    *f = (struct sim_fault){ .kind = SIM_F_STOPPED, .term = 12, .pn = 1, .from_day = DAY0,
                             .to_day = DAY0 };
    CHECK_EQ_INT(sim_model_init(&m, 1, 12, 8, 3, 0x4403, 1, DAY0, f, 1), MF_EINVAL);
    sim_model_fini(&m);
}

MF_TEST(sim_deterministic_seed)
{
    struct sim_model m1, m2, m3;
    int64_t a[5], b[5], c[5];
    model(&m1, 42, NULL, 0);
    model(&m2, 42, NULL, 0);
    model(&m3, 43, NULL, 0);
    int64_t ls = (int64_t)(DAY0 + 1) * 86400 + 12345;
    sim_indication(&m1, 3, 5, ls, a);
    sim_indication(&m2, 3, 5, ls, b);
    sim_indication(&m3, 3, 5, ls, c);
    CHECK_MEM(a, b, sizeof(a));
    CHECK(a[0] != c[0]);
    struct sim_rng r1, r2;
    sim_rng_seed(&r1, 9, 1);
    sim_rng_seed(&r2, 9, 1);
    CHECK(sim_rng_next(&r1) == sim_rng_next(&r2));
    sim_model_fini(&m1);
    sim_model_fini(&m2);
    sim_model_fini(&m3);
}

MF_TEST(sim_profiles_by_class)
{
    struct sim_model m;
    int64_t h[24];
    model(&m, 1, NULL, 0);
    int seen[3] = { 0 };
    for (uint32_t t = 0; t < 12; t++)
        for (uint16_t pn = 1; pn <= 8; pn++) {
            int cls = sim_point_class(&m, t, pn);
            if (cls == SIM_SUPPLY)
                continue;
            sim_day_hours(&m, t, pn, DAY0 + 1, 0, h); /* a Thursday */
            if (cls == SIM_RESIDENTIAL)
                CHECK(h[19] > 2 * h[3]);           /* evening peak */
            if (cls == SIM_COMMERCIAL)
                CHECK(h[11] > 3 * h[2]);           /* daytime */
            if (cls == SIM_INDUSTRIAL)
                CHECK(h[3] * 10 > h[12] * 8);      /* nearly flat */
            seen[cls]++;
        }
    CHECK(seen[0] > seen[1] && seen[0] > 0);
    sim_model_fini(&m);
}

MF_TEST(sim_ledger_roundtrip)
{
    char line[SIM_LEDGER_LINE_MAX], path[] = "/tmp/mf-sim-ledger-XXXXXX";
    char errbuf[128];
    struct sim_ledger_rec rec;
    size_t n = sim_ledger_format(line, "4403-0001", 3, "fwd_active", "2026-11-26T10:15", 0,
                                 123456789, 4);
    CHECK_STR(line, "4403-0001 3 fwd_active 2026-11-26T10:15 0 12345.6789\n");
    CHECK_EQ_INT(n, strlen(line));
    CHECK_EQ_INT(sim_ledger_parse(line, &rec), 0);
    CHECK_STR(rec.terminal, "4403-0001");
    CHECK_EQ_INT(rec.pn, 3);
    CHECK_STR(rec.item, "fwd_active");
    CHECK_EQ_INT(rec.value, 123456789);
    CHECK_EQ_INT(rec.decimals, 4);
    sim_ledger_format(line, "4403-000A", 1, "curve_fwd_active", "2026-11-26T00:15", 0, 5, 2);
    CHECK_STR(line, "4403-000A 1 curve_fwd_active 2026-11-26T00:15 0 0.05\n");
    char bad[] = "4403-0001 3 fwd_active 2026-11-26T10:15 0";
    CHECK_EQ_INT(sim_ledger_parse(bad, &rec), MF_EINVAL);
    char bad2[] = "4403-0001  3 fwd_active 2026-11-26T10:15 0 1.0";
    CHECK_EQ_INT(sim_ledger_parse(bad2, &rec), MF_EINVAL);
    char comment[] = "# meterflow-sim ledger";
    CHECK_EQ_INT(sim_ledger_parse(comment, &rec), 1);

    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct sim_ledger l;
    CHECK_EQ_INT(sim_ledger_open(&l, path, errbuf, sizeof(errbuf)), 0);
    const char *two = "a 1 x t 0 1\nb 2 y t 0 2\n";
    CHECK_EQ_INT(sim_ledger_append(&l, two, strlen(two), 2), 0);
    CHECK_EQ_INT(l.lines, 2);
    CHECK_EQ_INT(sim_ledger_close(&l), 0);
    size_t len;
    char *text = mf_test_read_file(path, &len);
    CHECK(text && strcmp(text, two) == 0);
    free(text);
    unlink(path);
}

/* Faults from flags land on seeded targets inside the layout; a JSON-lines file is read;
 * the ground truth written back names what is in force. */
MF_TEST(sim_faults_file_flags_ground_truth)
{
    char path[] = "/tmp/mf-sim-faults-XXXXXX", gt[64];
    int fd = mkstemp(path);
    const char *lines =
        "# a comment\n"
        "{\"kind\":\"stopped\",\"terminal\":\"4403-0002\",\"pn\":3,\"from\":\"2025-11-26\","
        "\"to\":\"2025-11-27\"}\n"
        "{\"kind\":\"theft\",\"area\":2,\"from\":\"2025-11-26\",\"to\":\"2025-11-26\"}\n";
    CHECK(write(fd, lines, strlen(lines)) == (ssize_t)strlen(lines));
    close(fd);
    struct sim_cfg cfg = { .nterm = 12, .npoints = 8, .nareas = 3, .region = 0x4403,
                           .first_addr = 1, .seed = 9, .speed = 1,
                           .start_ls = (int64_t)DAY0 * 86400, .duration_s = 86400 };
    const char *specs[] = { "sag:3", "clock" };
    struct sim_fault *f = NULL;
    size_t n = 0;
    CHECK_EQ_INT(sim_faults_build(&cfg, path, specs, 2, INT32_MIN, INT32_MIN, &f, &n), 0);
    CHECK_EQ_INT(n, 6);
    size_t sags = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == SIM_F_SAG) {
            sags++;
            CHECK(f[i].term < 12 && f[i].pn >= 1 && f[i].pn <= 8);
            CHECK_EQ_INT(f[i].from_day, DAY0);
            CHECK_EQ_INT(f[i].to_day, DAY0 + 1); /* the run's days */
        }
    CHECK_EQ_INT(sags, 3);
    struct sim_model m;
    CHECK_EQ_INT(sim_model_init(&m, 9, 12, 8, 3, 0x4403, 1, DAY0, f, n), 0);
    CHECK(sim_fault_at(&m, SIM_F_STOPPED, 1, 3, DAY0 + 1) != NULL); /* 4403-0002 = index 1 */
    CHECK(sim_fault_at(&m, SIM_F_STOPPED, 1, 3, DAY0 + 2) == NULL);
    CHECK(sim_fault_at(&m, SIM_F_THEFT, 8, 2, DAY0) != NULL);       /* area 2 = terminals 8-11 */
    snprintf(gt, sizeof(gt), "%s.gt", path);
    CHECK_EQ_INT(sim_ground_truth_write(&m, gt), 0);
    size_t len;
    char *text = mf_test_read_file(gt, &len);
    CHECK(text && strstr(text, "{\"kind\":\"stopped\",\"terminal\":\"4403-0002\",\"pn\":3,"
                               "\"area\":0,\"area_id\":\"A00001\",\"from\":\"2025-11-26\","
                               "\"to\":\"2025-11-27\"}"));
    CHECK(text && strstr(text, "\"kind\":\"theft\",\"terminal\":\"4403-0009\",\"pn\":0,"
                               "\"area\":2,\"area_id\":\"A00003\""));
    free(text);
    sim_model_fini(&m);
    unlink(gt);
    /* a bad line is refused with its line number */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "{\"kind\":\"nope\"}\n", 16) == 16);
    close(fd);
    CHECK_EQ_INT(sim_faults_build(&cfg, path, NULL, 0, INT32_MIN, INT32_MIN, &f, &n), MF_EINVAL);
    const char *bad[] = { "theft:x" };
    CHECK_EQ_INT(sim_faults_build(&cfg, NULL, bad, 1, INT32_MIN, INT32_MIN, &f, &n), MF_EINVAL);
    unlink(path);
}

/* --catch-up: 14 days back at 1440x reach real time after 14*86400/1439 s, then run at 1x. */
MF_TEST(sim_vclock_catch_up)
{
    int64_t real0 = (int64_t)DAY0 * SIM_DAY_S + 10 * 3600; /* the real time at the start */
    int64_t start = real0 - 14 * SIM_DAY_S;
    struct sim_vclock vc = { start, 1440.0, 1, real0 };
    double cross = 14.0 * SIM_DAY_S / 1439.0; /* 840.58 s: start + 1440 el = real0 + el */
    CHECK(sim_vclock_cross_el(&vc) > 840.5 && sim_vclock_cross_el(&vc) < 840.6);
    /* before the crossing: accelerated */
    CHECK_EQ_INT(sim_vclock_at(&vc, 0), start);
    CHECK_EQ_INT(sim_vclock_at(&vc, 1.0), start + 1440);
    CHECK_EQ_INT(sim_vclock_at(&vc, 600.0), start + 864000);
    /* after: real time (real0 + elapsed), one second per second */
    CHECK_EQ_INT(sim_vclock_at(&vc, 900.0), real0 + 900);
    CHECK_EQ_INT(sim_vclock_at(&vc, 3600.0), real0 + 3600);
    CHECK_EQ_INT(sim_vclock_at(&vc, 3601.0) - sim_vclock_at(&vc, 3600.0), 1);
    /* monotonic on a fine grid across the crossing, and no jump: the step near the
     * crossing is at most what 1440x gives in one grid step */
    int64_t prev = sim_vclock_at(&vc, cross - 1.0);
    for (double el = cross - 1.0; el < cross + 1.0; el += 0.001) {
        int64_t v = sim_vclock_at(&vc, el);
        CHECK(v >= prev);
        CHECK(v - prev <= 2);
        prev = v;
    }
    /* the inverse: when a virtual time arrives */
    CHECK(sim_vclock_el(&vc, start + 1440) > 0.999 && sim_vclock_el(&vc, start + 1440) < 1.001);
    CHECK(sim_vclock_el(&vc, real0 + 3600) > 3599.999 && sim_vclock_el(&vc, real0 + 3600) < 3600.001);
    CHECK(sim_vclock_el(&vc, start - 100) == 0);
    /* without catch-up (or a start not in the past) the clock runs accelerated for ever */
    vc.catch_up = 0;
    CHECK_EQ_INT(sim_vclock_at(&vc, 3600.0), start + 3600 * 1440);
    CHECK(sim_vclock_cross_el(&vc) < 0);
    vc = (struct sim_vclock){ real0 + 100, 1440.0, 1, real0 };
    CHECK_EQ_INT(sim_vclock_at(&vc, 10.0), real0 + 100 + 14400);
    vc = (struct sim_vclock){ start, 1.0, 1, real0 };
    CHECK_EQ_INT(sim_vclock_at(&vc, 10.0), start + 10);
}

/* A seeded theft lands in an area with no other fault (its loss must show the theft alone). */
MF_TEST(sim_theft_area_has_no_other_fault)
{
    struct sim_cfg cfg = { .nterm = 40, .npoints = 8, .nareas = 8, .region = 0x4403,
                           .first_addr = 1, .speed = 1, .start_ls = (int64_t)DAY0 * 86400,
                           .duration_s = 86400 };
    const char *specs[] = { "stopped:2", "reversed:1", "drop:3", "sag:2", "theft:1" };
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct sim_fault *f = NULL;
        size_t n = 0;
        cfg.seed = seed;
        CHECK_EQ_INT(sim_faults_build(&cfg, NULL, specs, 5, INT32_MIN, INT32_MIN, &f, &n), 0);
        CHECK_EQ_INT(n, 9);
        int thefts = 0;
        for (size_t i = 0; i < n; i++) {
            if (f[i].kind != SIM_F_THEFT)
                continue;
            thefts++;
            CHECK(f[i].area < 8);
            for (size_t j = 0; j < n; j++) /* terminal t is in area t * 8 / 40 */
                if (f[j].kind != SIM_F_THEFT)
                    CHECK(f[j].term * 8 / 40 != f[i].area);
        }
        CHECK_EQ_INT(thefts, 1);
        free(f);
    }
}

/* Dates of the command line, ledger and faults file: strict, and real calendar dates. */
MF_TEST(sim_time_parse_strict)
{
    struct sim_ymdhms t;
    CHECK_EQ_INT(sim_time_parse("2024-02-29", SIM_TP_DATE, &t), 0);
    CHECK(t.year == 2024 && t.mon == 2 && t.day == 29 && t.hour == 0);
    CHECK_EQ_INT(sim_time_parse("2024-02-29T23:59:58", SIM_TP_HM | SIM_TP_SEC, &t), 0);
    CHECK(t.hour == 23 && t.min == 59 && t.sec == 58);
    CHECK_EQ_INT(sim_time_parse("2024-02-29T23:59", SIM_TP_HM_REQ, &t), 0);
    CHECK(t.hour == 23 && t.min == 59 && t.sec == 0);
    CHECK_EQ_INT(sim_time_parse("2024-03-01T00:00:00Z", SIM_TP_DATE | SIM_TP_PREFIX, &t), 0);
    CHECK(t.mon == 3 && t.day == 1);
    static const char *const bad_hm_sec[] = {
        "2023-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-10", "2024-01-00",
        "2024-1-05", "2024-01-5", "+024-01-05", "2024-01-05x", "2024-01-05T24:00",
        "2024-01-05T-1:00", "2024-01-05T10:60", "2024-01-05T10:00:60", "2024-01-05T1:00",
        "2024-01-05T10:00:5", "2024-01-05T10:00junk", "2024-01-05 10:00", "", "2024",
    };
    for (size_t i = 0; i < MF_ARRAY_LEN(bad_hm_sec); i++)
        if (sim_time_parse(bad_hm_sec[i], SIM_TP_HM | SIM_TP_SEC, &t) != MF_EINVAL)
            mf_test_fail(__FILE__, __LINE__, "accepted '%s'", bad_hm_sec[i]);
    CHECK_EQ_INT(sim_time_parse(NULL, SIM_TP_DATE, &t), MF_EINVAL);
    CHECK_EQ_INT(sim_time_parse("2024-01-05T10:00", SIM_TP_DATE, &t), MF_EINVAL);
    CHECK_EQ_INT(sim_time_parse("2024-01-05", SIM_TP_HM_REQ, &t), MF_EINVAL);
    CHECK_EQ_INT(sim_time_parse("2024-01-05T10:00:30", SIM_TP_HM, &t), MF_EINVAL);
}

/* `meterflow sim --start` refuses what sim_time_parse refuses (exit 2), and a --dry-run
 * with a good one succeeds without connecting. */
MF_TEST(sim_cli_start_checked)
{
    static const char *const bad[] = {"2024-02-30", "2024-01-05T-1:00", "2024-01-05junk",
                                      "1999-12-31"};
    for (size_t i = 0; i < MF_ARRAY_LEN(bad); i++) {
        char *argv[] = {"sim", "--dry-run", "--terminals", "1", "--start", (char *)bad[i]};
        CHECK_EQ_INT(sim_main((int)MF_ARRAY_LEN(argv), argv, NULL, NULL), 2);
    }
    char *argv[] = {"sim", "--dry-run", "--terminals", "1", "--start", "2024-02-29T10:30"};
    CHECK_EQ_INT(sim_main((int)MF_ARRAY_LEN(argv), argv, NULL, NULL), 0);
    char *argv2[] = {"sim", "--dry-run", "--heartbeat-style", "2010"};
    CHECK_EQ_INT(sim_main((int)MF_ARRAY_LEN(argv2), argv2, NULL, NULL), 2);
}
