/* test_gw_build.c -- data-unit builders against bytes taken from the public vectors or
 * written by hand from the layouts of protocol-3761.md section 9; whole frames built from
 * them match the vectors byte for byte. */
#include <stdio.h>
#include <stdlib.h>

#include "gw_vectors.h"
#include "harness.h"
#include "meterflow/gw3761_data.h"

static size_t hx(const char *hex, uint8_t *out, size_t cap)
{
    int n = mf_hex_decode(hex, out, cap);
    if (n < 0) {
        fprintf(stderr, "bad hex %s\n", hex);
        abort();
    }
    return (size_t)n;
}

static uint8_t vbuf[1024];
static struct gw_frame vfr;

/* The data-unit area of a public vector (the frame parser is tested on its own). */
static const uint8_t *vunits(const char *hex, size_t *len)
{
    size_t n = hx(hex, vbuf, sizeof vbuf);
    if (gw_frame_parse(vbuf, n, GW_PW_LEN, &vfr) != 0) {
        fprintf(stderr, "vector does not parse\n");
        abort();
    }
    *len = vfr.units_len;
    return vfr.units;
}

static uint8_t ob[4096];
static struct gw_ubuf ub;

static void start(void)
{
    gw_ub_init(&ub, ob, sizeof ob);
}

static void same_as_vector(const char *hex, int line)
{
    size_t n;
    const uint8_t *u = vunits(hex, &n);
    if (ub.err || ub.len != n || memcmp(ub.p, u, n) != 0)
        mf_test_fail(__FILE__, line, "built %zu bytes (err %d), vector area %zu bytes differ",
                     ub.len, ub.err, n);
}
#define SAME_AS_VECTOR(h) same_as_vector(h, __LINE__)

static void same_as_hex(const char *hex, int line)
{
    uint8_t e[1024];
    size_t n = hx(hex, e, sizeof e);
    if (ub.err || ub.len != n || memcmp(ub.p, e, n) != 0) {
        char got[3 * 256];
        mf_hex_encode(ub.p, ub.len < 256 ? ub.len : 256, got, sizeof got);
        mf_test_fail(__FILE__, line, "built (err %d) %s\n  expected %s", ub.err, got, hex);
    }
}
#define SAME_AS(h) same_as_hex(h, __LINE__)

static const struct gw_num EE = {0, 0, GW_VS_ABSENT};
static struct gw_num N(int64_t m, int e)
{
    struct gw_num v = {m, (int8_t)e, GW_VS_OK};
    return v;
}

MF_TEST(build_confirms)
{
    start();
    gw_b_confirm_all(&ub);
    SAME_AS_VECTOR(V_CONFIRM_01);
    start();
    struct gw_item_ack it = {0, 3, 0};
    gw_b_confirm_items(&ub, 0x02, &it, 1);
    SAME_AS_VECTOR(V_CONFIRM_03);
    start();
    gw_b_deny_all(&ub);
    SAME_AS("00 00 02 00");
}

MF_TEST(build_requests_from_vectors)
{
    static const uint16_t serials[] = {1, 2, 3};
    struct gw_time day = {2018, 8, 27, 0, 0, 0, 0};
    uint8_t f645[64];
    size_t n645 = hx(V_645_READ_REQ, f645, sizeof f645);
    struct gw_fwd f = {31, 0x6B, 0xBC, 0x0A, f645, n645};

    start();
    gw_req_read(&ub, 1, 129);
    SAME_AS_VECTOR(V_C1_F129_REQ_02);
    start();
    gw_req_read(&ub, 1, 25);
    SAME_AS_VECTOR(V_C1_F25_REQ);
    start();
    gw_req_td_d(&ub, 1, 1, &day);
    SAME_AS_VECTOR(V_C2_F1_REQ);
    start();
    gw_req_port_pause(&ub, 1);
    SAME_AS_VECTOR(V_CTL_F49);
    start();
    gw_req_meter_cfg(&ub, serials, 3);
    SAME_AS_VECTOR(V_QRY_F10);
    start();
    gw_req_forward(&ub, &f);
    SAME_AS_VECTOR(V_FWD_READ_REQ);
}

MF_TEST(build_requests_by_hand)
{
    struct gw_time t = {2015, 3, 12, 10, 30, 55, 4};
    struct gw_time d161 = {2011, 12, 25, 0, 0, 0, 0};
    struct gw_time mon = {2018, 7, 0, 0, 0, 0, 0};
    struct gw_time ts = {2024, 3, 1, 0, 15, 0, 0};
    struct gw_f1_comm c = {1, 2, 30, 3, 0x04, 15};
    struct gw_fwd_read fr = {2, 0, {0}, 151230011061ULL, 1, 0x00010000u};

    start();
    gw_req_clock(&ub, &t);
    SAME_AS("00 00 40 03 55 30 10 12 83 15");
    start();
    gw_req_td_d(&ub, 1, 161, &d161);
    SAME_AS("01 01 01 14 25 12 11");
    start();
    gw_req_td_m(&ub, 1, 177, &mon);
    SAME_AS("01 01 01 16 07 18");
    start();
    gw_req_td_c(&ub, 1, 101, &ts, 1, 96);
    SAME_AS("01 01 10 0C 15 00 01 03 24 01 60");
    start();
    gw_req_events(&ub, 1, 23, 24);
    SAME_AS("00 00 01 00 17 18");
    start();
    gw_req_reset(&ub, 1);
    SAME_AS("00 00 01 00");
    start();
    gw_req_set_f1(&ub, &c);
    SAME_AS("00 00 01 00 01 02 1E 30 04 0F");
    start();
    gw_req_remote_trip(&ub, 1, 2, 5);
    gw_req_remote_close(&ub, 2);
    SAME_AS("01 01 01 00 25 02 01 02 00");
    start();
    gw_req_port_resume(&ub, 31);
    SAME_AS("00 00 02 06 1F");
    start();
    gw_req_forward_read(&ub, &fr);
    SAME_AS("00 00 01 01 02 00 61 10 01 30 12 15 01 00 00 01 00");
    start();
    CHECK_EQ_INT(gw_req_reset(&ub, 5), MF_EINVAL);
    CHECK_EQ_INT(gw_req_read(&ub, 1, 1), MF_EINVAL); /* sticky */
}

/* Answers a simulated terminal sends, checked against real answers. */
MF_TEST(build_answers_from_vectors)
{
    struct gw_time hb = {2019, 7, 3, 17, 48, 22, 3};
    struct gw_time clk = {2015, 12, 15, 11, 48, 49, 2};
    struct gw_time rt = {2018, 8, 28, 16, 18, 0, 0};
    struct gw_num e[5] = {N(100, -4), EE, EE, EE, EE};

    start();
    gw_ans_login(&ub);
    SAME_AS_VECTOR(V_LOGIN_01);
    start();
    gw_ans_logout(&ub);
    SAME_AS_VECTOR(V_LOGOUT_01);
    start();
    gw_ans_heartbeat(&ub, NULL);
    SAME_AS_VECTOR(V_HEARTBEAT_01);
    start();
    gw_ans_heartbeat(&ub, &hb);
    SAME_AS_VECTOR(V_HEARTBEAT_02);
    start();
    gw_ans_clock(&ub, &clk);
    SAME_AS_VECTOR(V_C1_F2_RSP);
    start();
    gw_ans_energy(&ub, 1, 129, &rt, 4, e);
    SAME_AS_VECTOR(V_C1_F129_RSP);
}

MF_TEST(build_f25_and_frozen_from_vectors)
{
    struct gw_f25 v;
    struct gw_time td = {2018, 8, 27, 0, 0, 0, 0}, rt = {2018, 8, 27, 23, 59, 0, 0};
    struct gw_num s0[5] = {N(1, -2), EE, EE, EE, EE}, sx[5] = {EE, EE, EE, EE, EE};
    const struct gw_num *s[4] = {s0, sx, sx, sx};
    int k;

    v.time = (struct gw_time){2018, 8, 28, 16, 47, 0, 0};
    for (k = 0; k < 4; k++) {
        v.p[k] = v.q[k] = v.pf[k] = v.i[k] = v.s[k] = EE;
    }
    for (k = 0; k < 3; k++)
        v.u[k] = EE;
    v.p[0] = N(0, 0);
    v.p[1] = N(0, 0);
    v.pf[0] = N(100, 0);
    v.pf[1] = N(1000, -1);
    v.u[0] = N(2427, -1);
    v.i[0] = N(0, -3);
    start();
    gw_ans_f25(&ub, 1, &v);
    SAME_AS_VECTOR(V_C1_F25_RSP);

    start();
    gw_ans_frozen4(&ub, 1, 1, &td, &rt, 4, s);
    SAME_AS_VECTOR(V_C2_F1_RSP);
}

MF_TEST(build_events_from_vectors)
{
    struct gw_time off = {2010, 7, 31, 14, 40, 0, 0}, on = {2010, 8, 3, 11, 31, 0, 0};
    struct gw_time t24 = {2010, 12, 7, 22, 9, 0, 0};
    struct gw_num u[3] = {N(2190, -1), N(220, 0), N(22000, -2)};

    start();
    gw_ans_events_head(&ub, 1, 1, 0, 0, 1);
    gw_ans_erc14(&ub, &off, &on);
    SAME_AS_VECTOR(V_EV_ERC14_01);
    start();
    gw_ans_events_head(&ub, 1, 0x6E, 0, 0, 1);
    gw_ans_erc24(&ub, &t24, 1, 0, 0, u);
    SAME_AS_VECTOR(V_EV_ERC24);

    start();
    struct gw_time t13 = {2020, 1, 2, 3, 4, 0, 0};
    gw_ans_erc13(&ub, &t13, 5, 1, 0x10);
    gw_ans_erc14(&ub, &off, NULL);
    gw_ans_erc_raw(&ub, 52, (const uint8_t *)"\x01\x02\x03", 3);
    SAME_AS("0D 08 04 03 02 01 20 05 80 10 "
            "0E 0A 40 14 31 07 10 EE EE EE EE EE "
            "34 03 01 02 03");
}

MF_TEST(build_meter_cfg_and_forward_from_vectors)
{
    struct gw_meter_cfg m[2] = {
        {1, 1, 6, 1, 2, 225, {0}, 4, 0x09, 0, 0xF5},
        {2, 2, 3, 31, 30, 151230011061ULL, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 1, 0x09, 0,
         0x50},
    };
    uint8_t f645[64];
    size_t n645 = hx(V_645_READ_RSP, f645, sizeof f645);

    start();
    gw_ans_meter_cfg(&ub, m, 2);
    SAME_AS_VECTOR(V_QRY_F10_RSP);
    start();
    gw_ans_forward(&ub, 31, f645, n645);
    SAME_AS_VECTOR(V_FWD_READ_RSP);
    start();
    gw_req_set_f10(&ub, m, 1);
    SAME_AS("00 00 02 01 01 00 01 00 01 00 C1 02 25 02 00 00 00 00 00 00 00 00 00 00 04 09 "
            "00 00 00 00 00 00 F5");
}

MF_TEST(build_daily_curve_version_by_hand)
{
    struct gw_time td = {2018, 8, 27, 0, 0, 0, 0}, rt = {2018, 8, 27, 23, 59, 0, 0};
    struct gw_time ts = {2024, 3, 1, 0, 15, 0, 0};
    struct gw_num e[3] = {N(12345678, -4), N(1000, 0), EE};
    struct gw_num pts[96];
    struct gw_version v = {{'A', 'B', 'C', 'D'}, {'1', '2', '3', '4', '5', '6', '7', '8'},
                           {'0', '1', '0', '0'}, {2019, 7, 3, 0, 0, 0, 0},
                           {'C', 'A', 'P', '0', '0', '0', '0', '0', '0', '0', '0'},
                           {'1', '2', '.', '0'}, {'H', 'W', '0', '1'}, {2018, 1, 2, 0, 0, 0, 0}};

    start();
    gw_ans_daily_energy(&ub, 1, 161, &td, &rt, 2, e);
    SAME_AS("01 01 01 14 27 08 18 59 23 27 08 18 02 78 56 34 12 00 00 00 00 10 00 "
            "EE EE EE EE EE");

    for (int k = 0; k < 96; k++)
        pts[k] = N(10000 + 25 * k, -2);
    start();
    gw_ans_curve(&ub, 1, 101, &ts, 1, 96, pts);
    CHECK_EQ_INT(ub.len, 4 + 7 + 96 * 4);
    ub.len = 4 + 7 + 8; /* compare the tag and the first two points */
    SAME_AS("01 01 10 0C 15 00 01 03 24 01 60 00 00 01 00 25 00 01 00");

    start();
    gw_ans_version(&ub, &v);
    SAME_AS("00 00 01 00 41 42 43 44 31 32 33 34 35 36 37 38 30 31 30 30 03 07 19 "
            "43 41 50 30 30 30 30 30 30 30 30 31 32 2E 30 48 57 30 31 02 01 18");
}

MF_TEST(build_overflow_is_sticky)
{
    uint8_t small[6];
    struct gw_time t = {2015, 3, 12, 10, 30, 55, 4};
    gw_ub_init(&ub, small, sizeof small);
    CHECK_EQ_INT(gw_req_clock(&ub, &t), MF_ERANGE);
    CHECK_EQ_INT(gw_b_confirm_all(&ub), MF_ERANGE);
    CHECK_EQ_INT(ub.err, MF_ERANGE);
    CHECK(ub.len <= sizeof small);
}

/* A whole frame built from builders equals the vector (the simulator's path). */
MF_TEST(build_whole_frame_f129_answer)
{
    uint8_t exp[256], out[256];
    size_t n = hx(V_C1_F129_RSP, exp, sizeof exp);
    struct gw_time rt = {2018, 8, 28, 16, 18, 0, 0};
    struct gw_num e[5] = {N(1, -2), EE, EE, EE, EE};
    struct gw_frame_out fo;

    start();
    gw_ans_energy(&ub, 1, 129, &rt, 4, e);
    memset(&fo, 0, sizeof fo);
    fo.c = gw_c_up(0, 0, 8);
    fo.addr = (struct gw_addr){0x0171, 0x0822, 1, 0};
    fo.afn = 0x0C;
    fo.seq = (struct gw_seq){1, 0, 1, 0, 2};
    fo.units = ub.p;
    fo.units_len = ub.len;
    fo.has_tp = 1;
    fo.tp = (struct gw_tp){2, 39, 19, 16, 28, 0, 1};
    CHECK_EQ_INT(gw_frame_encode(&fo, out, sizeof out), (int)n);
    CHECK_MEM(out, exp, n);
}
