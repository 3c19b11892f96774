/* test_gw_format.c -- Appendix A data formats: decode from bytes written by hand (worked
 * decodes of protocol-3761.md section 8 and the public vectors), absent vs invalid vs zero,
 * signs and exponents, encode to the same bytes, and encode->decode round trips. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "meterflow/gw3761_data.h"

static void hx(const char *hex, uint8_t *out, size_t cap)
{
    if (mf_hex_decode(hex, out, cap) < 0) {
        fprintf(stderr, "bad hex %s\n", hex);
        abort();
    }
}

/* decode hex in format fmt, expect status/m/exp */
static void num_is(unsigned fmt, const char *hex, int st, long long m, int e, int line)
{
    uint8_t b[8];
    int64_t vm = -1;
    int8_t ve = -99;
    hx(hex, b, sizeof b);
    int rc = gw_num_decode(fmt, b, &vm, &ve);
    if (rc != st || (st == GW_VS_OK && (vm != m || ve != e)))
        mf_test_fail(__FILE__, line, "A.%u %s: st %d m %lld e %d, expected st %d m %lld e %d",
                     fmt, hex, rc, (long long)vm, ve, st, m, e);
}
#define NUM(f, h, m, e) num_is(f, h, GW_VS_OK, m, e, __LINE__)
#define NUM_ST(f, h, st) num_is(f, h, st, 0, 0, __LINE__)

MF_TEST(numbers_worked_examples)
{
    NUM(7, "27 24", 2427, -1);          /* 242.7 V */
    NUM(5, "00 10", 1000, -1);          /* 100.0 % */
    NUM(5, "99 09", 999, -1);           /* 99.9 % */
    NUM(5, "00 90", -1000, -1);         /* S=1, hundreds 1: -100.0 */
    NUM(9, "73 11 01", 11173, -4);      /* 1.1173 kW */
    NUM(9, "25 37 00", 3725, -4);       /* 0.3725 kW */
    NUM(9, "00 00 80", 0, -4);          /* -0 is 0 */
    NUM(9, "56 34 92", -123456, -4);    /* -12.3456 kW */
    NUM(25, "00 17 00", 1700, -3);      /* 1.700 A */
    NUM(25, "00 17 80", -1700, -3);
    NUM(14, "00 01 00 00 00", 100, -4); /* 0.01 kWh */
    NUM(14, "78 56 34 12 99", 9912345678LL, -4);
    NUM(2, "45 83", 345, 0);            /* G=100 -> 10^0 */
    NUM(2, "45 93", -345, 0);
    NUM(2, "12 E0", 12, -3);            /* G=111 -> 10^-3 */
    NUM(2, "99 09", 999, 4);            /* G=000 -> 10^4 */
    NUM(2, "01 21", 101, 3);            /* G=001 -> 10^3 */
    NUM(3, "78 56 34 12", -2345678, 0); /* S=1 (D4), millions 2 */
    NUM(3, "78 56 34 42", 2345678, 3);  /* G=1: thousands */
    NUM(4, "85", -5, 0);                /* S0=1 down */
    NUM(4, "35", 35, 0);
    NUM(6, "34 92", -1234, -2);         /* -12.34 */
    NUM(8, "34 12", 1234, 0);
    NUM(10, "56 34 12", 123456, 0);
    NUM(11, "78 56 34 12", 12345678, -2);
    NUM(13, "78 56 34 12", 12345678, -4);
    NUM(22, "12", 12, -1);
    NUM(23, "56 34 12", 123456, -4);
    NUM(26, "34 12", 1234, -3);
    NUM(27, "78 56 34 12", 12345678, 0);
}

MF_TEST(numbers_absent_invalid)
{
    NUM_ST(7, "EE EE", GW_VS_ABSENT);
    NUM_ST(14, "EE EE EE EE EE", GW_VS_ABSENT);
    NUM_ST(9, "EE EE EE", GW_VS_ABSENT); /* sign bit of EE never applied */
    NUM_ST(7, "EF EF", GW_VS_INVALID);   /* EF filler */
    NUM_ST(14, "00 01 00 00 EE", GW_VS_INVALID);
    NUM_ST(7, "1A 00", GW_VS_INVALID);
    NUM_ST(5, "00 0A", GW_VS_INVALID);
    NUM_ST(9, "00 00 8A", GW_VS_INVALID);
    NUM(9, "00 00 F0", -700000, -4);
    NUM(7, "00 00", 0, -1);              /* zero is zero, not absent */
    CHECK_EQ_INT(gw_num_decode(1, (const uint8_t *)"\0\0\0\0\0\0", &(int64_t){0},
                               &(int8_t){0}),
                 MF_EINVAL);
    CHECK_EQ_INT(gw_num_decode(99, (const uint8_t *)"\0\0", &(int64_t){0}, &(int8_t){0}),
                 MF_EINVAL);
}

static void time_is(unsigned fmt, const char *hex, int st, int y, int mo, int d, int h, int mi,
                    int s, int wd, int line)
{
    uint8_t b[8];
    struct gw_time t;
    hx(hex, b, sizeof b);
    int rc = gw_time_decode(fmt, b, &t);
    if (rc != st || (st == GW_VS_OK && (t.year != y || t.mon != mo || t.day != d ||
                                        t.hour != h || t.min != mi || t.sec != s ||
                                        t.wday != wd)))
        mf_test_fail(__FILE__, line, "A.%u %s: st %d %04u-%02u-%02u %02u:%02u:%02u w%u", fmt,
                     hex, rc, t.year, t.mon, t.day, t.hour, t.min, t.sec, t.wday);
}
#define TIME(f, h, y, mo, d, hh, mi, s, wd)                                                    \
    time_is(f, h, GW_VS_OK, y, mo, d, hh, mi, s, wd, __LINE__)
#define TIME_ST(f, h, st) time_is(f, h, st, 0, 0, 0, 0, 0, 0, 0, __LINE__)

MF_TEST(times_worked_examples)
{
    TIME(1, "49 48 11 15 52 15", 2015, 12, 15, 11, 48, 49, 2); /* Tuesday */
    TIME(1, "22 48 17 03 67 19", 2019, 7, 3, 17, 48, 22, 3);   /* Wednesday */
    TIME(1, "55 30 10 12 83 15", 2015, 3, 12, 10, 30, 55, 4);  /* Thursday */
    TIME(15, "47 16 28 08 18", 2018, 8, 28, 16, 47, 0, 0);
    TIME(16, "07 56 23 21", 0, 0, 21, 23, 56, 7, 0);
    TIME(17, "30 12 25 12", 0, 12, 25, 12, 30, 0, 0);
    TIME(18, "30 12 25", 0, 0, 25, 12, 30, 0, 0);
    TIME(19, "30 12", 0, 0, 0, 12, 30, 0, 0);
    TIME(20, "27 08 18", 2018, 8, 27, 0, 0, 0, 0);
    TIME(21, "07 18", 2018, 7, 0, 0, 0, 0, 0);
    TIME(24, "12 25", 0, 0, 25, 12, 0, 0, 0);
    TIME(20, "29 02 24", 2024, 2, 29, 0, 0, 0, 0);              /* leap day */
}

MF_TEST(times_absent_invalid)
{
    TIME_ST(15, "EE EE EE EE EE", GW_VS_ABSENT);
    TIME_ST(1, "EE EE EE EE EE EE", GW_VS_ABSENT);
    TIME_ST(15, "60 16 28 08 18", GW_VS_INVALID); /* minute 60 */
    TIME_ST(15, "00 24 28 08 18", GW_VS_INVALID); /* hour 24 */
    TIME_ST(20, "30 02 18", GW_VS_INVALID);       /* 30 February */
    TIME_ST(20, "29 02 23", GW_VS_INVALID);       /* not a leap year */
    TIME_ST(20, "00 01 18", GW_VS_INVALID);       /* day 0 */
    TIME_ST(21, "13 18", GW_VS_INVALID);          /* month 13 */
    TIME_ST(15, "4A 16 28 08 18", GW_VS_INVALID); /* non-BCD */
    TIME_ST(15, "EE 16 28 08 18", GW_VS_INVALID); /* partly EE */
    TIME_ST(1, "00 00 00 01 F3 19", GW_VS_INVALID); /* week 7, month 13 */
    TIME_ST(1, "00 00 00 01 00 19", GW_VS_INVALID); /* month 0 */
}

static void enc_is(unsigned fmt, long long m, int e, const char *hex, int line)
{
    uint8_t exp[8], out[8];
    size_t n = gw_fmt_len(fmt);
    hx(hex, exp, sizeof exp);
    int rc = gw_num_encode(fmt, m, (int8_t)e, out);
    if (rc != 0 || memcmp(out, exp, n) != 0)
        mf_test_fail(__FILE__, line, "encode A.%u %lld e%d: rc %d", fmt, m, e, rc);
}
#define ENC(f, m, e, h) enc_is(f, m, e, h, __LINE__)

MF_TEST(numbers_encode)
{
    uint8_t out[8];
    ENC(14, 100, -4, "00 01 00 00 00");
    ENC(14, 1, -2, "00 01 00 00 00");       /* rescaled exactly */
    ENC(7, 2427, -1, "27 24");
    ENC(7, 24270, -2, "27 24");
    ENC(5, 1000, -1, "00 10");
    ENC(5, -1000, -1, "00 90");
    ENC(9, -123456, -4, "56 34 92");
    ENC(25, 1700, -3, "00 17 00");
    ENC(2, 345, 0, "45 83");
    ENC(2, 12, -3, "12 E0");
    ENC(2, -9990000, 0, "99 19");           /* -999 x 10^4 */
    ENC(3, 2345678, 3, "78 56 34 42");
    ENC(3, -2345678, 0, "78 56 34 12");
    ENC(4, -5, 0, "85");
    ENC(11, 12345678, -2, "78 56 34 12");
    ENC(22, 12, -1, "12");
    CHECK_EQ_INT(gw_num_encode(7, 24271, -2, out), MF_ERANGE); /* loses a digit */
    CHECK_EQ_INT(gw_num_encode(7, -1, 0, out), MF_ERANGE);     /* unsigned format */
    CHECK_EQ_INT(gw_num_encode(7, 10000, -1, out), MF_ERANGE); /* 1000.0 > 999.9 */
    CHECK_EQ_INT(gw_num_encode(5, 8000, -1, out), MF_ERANGE);  /* hundreds digit max 7 */
    CHECK_EQ_INT(gw_num_encode(2, 1000, 5, out), MF_ERANGE);
    CHECK_EQ_INT(gw_num_encode(14, INT64_MAX, 3, out), MF_ERANGE);
    CHECK_EQ_INT(gw_num_encode(15, 1, 0, out), MF_EINVAL);
}

MF_TEST(times_encode_and_addr)
{
    uint8_t out[8], exp[8];
    struct gw_time t = {2015, 12, 15, 11, 48, 49, 2};
    uint64_t a;
    CHECK_EQ_INT(gw_time_encode(1, &t, out), 0);
    hx("49 48 11 15 52 15", exp, sizeof exp);
    CHECK_MEM(out, exp, 6);
    CHECK_EQ_INT(gw_time_encode(15, &t, out), 0);
    hx("48 11 15 12 15", exp, sizeof exp);
    CHECK_MEM(out, exp, 5);
    CHECK_EQ_INT(gw_time_encode(20, &t, out), 0);
    hx("15 12 15", exp, sizeof exp);
    CHECK_MEM(out, exp, 3);
    t.hour = 24;
    CHECK_EQ_INT(gw_time_encode(15, &t, out), MF_EINVAL);
    CHECK_EQ_INT(gw_time_encode(7, &t, out), MF_EINVAL);

    hx("61 10 01 30 12 15", exp, sizeof exp);
    CHECK_EQ_INT(gw_addr_decode(exp, &a), GW_VS_OK);
    CHECK_EQ_INT(a, 151230011061LL);
    CHECK_EQ_INT(gw_addr_encode(151230011061ULL, out), 0);
    CHECK_MEM(out, exp, 6);
    CHECK_EQ_INT(gw_addr_encode(1000000000000ULL, out), MF_ERANGE);
    hx("EE EE EE EE EE EE", exp, sizeof exp);
    CHECK_EQ_INT(gw_addr_decode(exp, &a), GW_VS_ABSENT);
    hx("FF FF FF FF FF FF", exp, sizeof exp);
    CHECK_EQ_INT(gw_addr_decode(exp, &a), GW_VS_INVALID);
    gw_fmt_absent(14, out);
    hx("EE EE EE EE EE", exp, sizeof exp);
    CHECK_MEM(out, exp, 5);
    CHECK_EQ_INT(gw_fmt_len(1), 6);
    CHECK_EQ_INT(gw_fmt_len(14), 5);
    CHECK_EQ_INT(gw_fmt_len(28), 4);
    CHECK_EQ_INT(gw_fmt_len(29), 0);
    CHECK_NEAR(gw_num_to_double(100, -4), 0.01, 1e-12);
    CHECK_NEAR(gw_num_to_double(345, 3), 345000.0, 1e-9);
}

/* Property: for every numeric format, a representable value survives encode -> decode. */
MF_TEST(numbers_round_trip)
{
    static const unsigned fmts[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 22, 23, 25, 26, 27};
    static const int digits[] = {3, 7, 2, 4, 4, 4, 4, 6, 6, 8, 8, 10, 2, 6, 6, 4, 8};
    static const int sign[] = {1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    static const int8_t fexp[] = {0, 0, 0, -1, -2, -1, 0, -4, 0, -2, -4, -4, -1, -4, -3, -3, 0};
    uint64_t s = 12345;
    uint8_t b[8];
    for (size_t f = 0; f < MF_ARRAY_LEN(fmts); f++) {
        int64_t lim = 1;
        for (int d = 0; d < digits[f]; d++)
            lim *= 10;
        if (fmts[f] == 4 || fmts[f] == 5 || fmts[f] == 6 || fmts[f] == 9 || fmts[f] == 25)
            lim = lim / 10 * 8; /* top digit is 3 bits */
        for (int i = 0; i < 2000; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t m = (int64_t)((s >> 11) % (uint64_t)lim), dm;
            int8_t e = fexp[f], de;
            if (sign[f] && (s >> 7 & 1))
                m = -m;
            if (fmts[f] == 2)
                m %= 1000;
            CHECK_EQ_INT(gw_num_encode(fmts[f], m, e, b), 0);
            CHECK_EQ_INT(gw_num_decode(fmts[f], b, &dm, &de), GW_VS_OK);
            /* compare m*10^e with dm*10^de exactly */
            while (de > e) { dm *= 10; de--; }
            while (e > de) { m *= 10; e--; }
            if (dm != m)
                mf_test_fail(__FILE__, __LINE__, "A.%u round trip %lld != %lld", fmts[f],
                             (long long)dm, (long long)m);
        }
    }
}
