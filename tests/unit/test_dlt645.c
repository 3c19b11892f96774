/* test_dlt645.c -- DL/T 645-2007/-1997 frames: the public vectors and frames written by
 * hand from protocol-3761.md section 11 (+0x33 per data byte, CS from the first 68). */
#include <stdio.h>
#include <stdlib.h>

#include "gw_vectors.h"
#include "harness.h"
#include "meterflow/dlt645.h"

static size_t hx(const char *hex, uint8_t *out, size_t cap)
{
    int n = mf_hex_decode(hex, out, cap);
    if (n < 0)
        abort();
    return (size_t)n;
}

static struct dlt645_frame f;
static struct gw_value v[32];
static size_t nv;

static int dec(const char *hex)
{
    static uint8_t b[300];
    size_t n = hx(hex, b, sizeof b);
    int rc = dlt645_decode(b, n, &f);
    nv = rc == 0 ? dlt645_values(&f, v, 32) : 0;
    return rc;
}

static const struct gw_value *val(const char *name, unsigned idx)
{
    for (size_t i = 0; i < nv; i++)
        if (strcmp(v[i].name, name) == 0 && v[i].index == idx)
            return &v[i];
    return NULL;
}

#define NUMV(name, idx, m, e)                                                                  \
    do {                                                                                       \
        const struct gw_value *x_ = val(name, idx);                                            \
        CHECK(x_ != NULL);                                                                     \
        if (x_) {                                                                              \
            CHECK_EQ_INT(x_->status, GW_VS_OK);                                                \
            CHECK_EQ_INT(x_->u.i, m);                                                          \
            CHECK_EQ_INT(x_->exp, e);                                                          \
        }                                                                                      \
    } while (0)
#define INTV(name, x)                                                                          \
    do {                                                                                       \
        const struct gw_value *x_ = val(name, 0);                                              \
        CHECK(x_ != NULL);                                                                     \
        if (x_)                                                                                \
            CHECK_EQ_INT(x_->u.i, x);                                                          \
    } while (0)

MF_TEST(dlt645_vectors)
{
    uint64_t a;
    int old;
    CHECK_EQ_INT(dec(V_645_READ_REQ), 0);
    CHECK_EQ_INT(f.c, 0x11);
    CHECK_EQ_INT(f.dir, 0);
    CHECK_EQ_INT(f.func, DLT645_READ);
    CHECK_EQ_INT(f.len, 4);
    CHECK_EQ_INT(dlt645_addr_to_u64(f.addr, &a), 0);
    CHECK_EQ_INT(a, 151230011061LL);
    CHECK_EQ_INT(dlt645_di(&f, &old), 0x00010000);
    CHECK_EQ_INT(old, 0);
    CHECK_EQ_INT(nv, 0);

    CHECK_EQ_INT(dec(V_645_READ_RSP), 0);
    CHECK_EQ_INT(f.c, 0x91);
    CHECK_EQ_INT(f.dir, 1);
    CHECK_EQ_INT(f.abnormal, 0);
    CHECK_EQ_INT(f.more, 0);
    CHECK_EQ_INT(f.len, 8);
    CHECK_EQ_INT(f.data[4], 0x78); /* value bytes after -0x33 */
    CHECK_EQ_INT(f.data[5], 0x06);
    CHECK_EQ_INT(nv, 1);
    NUMV("fwd_active_total_kwh", 0, 678, -2);
    CHECK_EQ_INT(f.frame_len, 20);
}

MF_TEST(dlt645_encode_matches_vector)
{
    uint8_t exp[64], out[64], addr[6], d[4];
    size_t n = hx(V_645_READ_REQ, exp, sizeof exp);
    CHECK_EQ_INT(dlt645_addr_from_u64(151230011061ULL, addr), 0);
    CHECK_EQ_INT(dlt645_read_data(0x00010000, d), 4);
    CHECK_EQ_INT(dlt645_encode(addr, 0x11, d, 4, 0, out, sizeof out), (int)n);
    CHECK_MEM(out, exp, n);
    CHECK_EQ_INT(dlt645_encode(addr, 0x11, d, 4, 0, out, n - 1), MF_ERANGE);
}

MF_TEST(dlt645_remote_control)
{
    static const char *trip = "FE FE FE FE 68 61 10 01 30 12 15 68 1C 10 35 33 33 33 33 33 33 "
                              "33 4D 33 33 33 33 34 34 63 43 16";
    uint8_t exp[64], out[64], d[16], addr[6];
    const uint8_t pw[4] = {0x02, 0, 0, 0};
    struct gw_time until = {2030, 1, 1, 0, 0, 0, 0};
    size_t n = hx(trip, exp, sizeof exp);
    const struct gw_value *nm;

    CHECK_EQ_INT(dec(trip), 0);
    CHECK_EQ_INT(f.preamble, 4);
    CHECK_EQ_INT(f.func, DLT645_CONTROL);
    INTV("password_level", 2);
    INTV("operator", 0);
    INTV("command", DLT645_CTL_TRIP);
    nm = val("command_name", 0);
    CHECK(nm && nm->len == 4 && memcmp(nm->u.p, "trip", 4) == 0);
    nm = val("valid_until", 0);
    CHECK(nm && nm->status == GW_VS_OK && nm->u.t.year == 2030 && nm->u.t.mon == 1 &&
          nm->u.t.day == 1);

    CHECK_EQ_INT(dlt645_control_data(pw, 0, DLT645_CTL_TRIP, &until, d), 16);
    dlt645_addr_from_u64(151230011061ULL, addr);
    CHECK_EQ_INT(dlt645_encode(addr, 0x1C, d, 16, 4, out, sizeof out), (int)n);
    CHECK_MEM(out, exp, n);

    /* normal answer 9C: no data; abnormal DC: error word */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 9C 00 35 16"), 0);
    CHECK_EQ_INT(f.dir, 1);
    CHECK_EQ_INT(f.func, DLT645_CONTROL);
    CHECK_EQ_INT(nv, 0);
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 DC 01 37 AD 16"), 0);
    CHECK_EQ_INT(f.abnormal, 1);
    INTV("error", 4);
    CHECK_STR(dlt645_ctl_name(0x1B), "close_allowed");
    CHECK(dlt645_ctl_name(0x99) == NULL);
}

MF_TEST(dlt645_common_dis)
{
    const struct gw_value *t;
    /* status word 3 = 0x0050: relay open (bit4), relay command open (bit6) */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 91 06 36 38 33 37 83 33 BE 16"), 0);
    INTV("status_word3", 0x50);
    INTV("relay_open", 1);
    INTV("relay_cmd_open", 1);
    /* 645-1997 read answer C=81, DI 9010 = 000006.78 */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 81 06 43 C3 AB 39 33 33 70 16"), 0);
    CHECK_EQ_INT(f.func, 1);
    NUMV("fwd_active_total_kwh", 0, 678, -2);
    /* phase A voltage 222.7 V */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 91 06 33 34 34 35 5A 55 AF 16"), 0);
    NUMV("ua_v", 0, 2227, -1);
    /* date 2024-07-05, weekday 3 */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 91 08 34 34 33 37 36 38 3A 57 03 16"), 0);
    t = val("date", 0);
    CHECK(t && t->status == GW_VS_OK && t->u.t.year == 2024 && t->u.t.mon == 7 &&
          t->u.t.day == 5);
    INTV("weekday", 3);
    /* time 12:34:56 */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 91 07 35 34 33 37 89 67 45 39 16"), 0);
    t = val("time", 0);
    CHECK(t && t->status == GW_VS_OK && t->u.t.hour == 12 && t->u.t.min == 34 &&
          t->u.t.sec == 56);
    /* forward active block: total 6.78, tariff 1 0.11, tariff 2 0.22 */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 91 10 33 32 34 33 AB 39 33 33 44 33 33 33 55 33 "
                     "33 33 1B 16"),
                 0);
    NUMV("fwd_active_total_kwh", 0, 678, -2);
    NUMV("fwd_active_tariffs_kwh", 1, 11, -2);
    NUMV("fwd_active_tariffs_kwh", 2, 22, -2);
    /* total active power -12.3456 kW (sign bit) */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 91 07 33 33 36 35 89 67 C5 B7 16"), 0);
    NUMV("p_kw", 0, -123456, -4);
    /* phase A current XXX.XXX: bytes 50 06 01 -> 010.650 A */
    CHECK_EQ_INT(dec("68 61 10 01 30 12 15 68 91 07 33 34 35 35 83 39 34 F2 16"), 0);
    NUMV("ia_a", 0, 10650, -3);
}

MF_TEST(dlt645_damaged)
{
    uint8_t b[64];
    size_t n = hx(V_645_READ_RSP, b, sizeof b);
    for (size_t k = 0; k < n; k++)
        CHECK_EQ_INT(dlt645_decode(b, k, &f), MF_AGAIN);
    b[n - 2] ^= 1;
    CHECK_EQ_INT(dlt645_decode(b, n, &f), MF_EINVAL);
    b[n - 2] ^= 1;
    b[n - 1] = 0x17;
    CHECK_EQ_INT(dlt645_decode(b, n, &f), MF_EINVAL);
    b[n - 1] = 0x16;
    b[7] = 0x69;
    CHECK_EQ_INT(dlt645_decode(b, n, &f), MF_EINVAL);
    CHECK_EQ_INT(dlt645_decode((const uint8_t *)"\x12\x34", 2, &f), MF_EINVAL);
}
