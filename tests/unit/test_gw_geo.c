/* test_gw_geo.c -- A.28 geographic coordinate and AFN 04 / 0A F91 (terminal location).
 *
 * Expected bytes and values are written by hand from the two layouts (docs/PROTOCOL.md
 * section 2): the protocol text's 4 bytes [s/100 s/10 | s, min, F+tens(3 bits)|units] and
 * the 5-byte form met in a terminal implementation [.., tens|units, F+000|hundreds].
 * Degrees x 10^8 are worked out here from d + m/60 + s/3600, not taken from the decoder. */
#include <stdio.h>
#include <stdlib.h>

#include "gw_test_util.h"

#define UP 1
#define DOWN 0
#define SEQ_SINGLE 0x60

/* decode hex as A.28 of its own length; expect status and, when OK, the parts + deg x 1e8 */
static void geo_is(const char *hex, int st, unsigned deg, unsigned min, unsigned sec_x100,
                   unsigned f, long long e8, int line)
{
    uint8_t b[8];
    struct gw_geo g;
    size_t n = tu_hex(hex, b, sizeof b);
    int rc = gw_geo_decode(b, n, &g);
    if (rc != st)
        mf_test_fail(__FILE__, line, "%s: status %d, expected %d", hex, rc, st);
    else if (st == GW_VS_OK && (g.deg != deg || g.min != min || g.sec_x100 != sec_x100 ||
                                g.f != f || gw_geo_deg_e8(&g) != e8))
        mf_test_fail(__FILE__, line, "%s: %u %u %u F%u = %lld, expected %u %u %u F%u = %lld",
                     hex, g.deg, g.min, g.sec_x100, g.f, (long long)gw_geo_deg_e8(&g), deg,
                     min, sec_x100, f, e8);
    else if (st != GW_VS_OK && (g.deg || g.min || g.sec_x100 || g.f))
        mf_test_fail(__FILE__, line, "%s: not OK but parts not zeroed", hex);
}
#define GEO(h, d, m, s, f, e8) geo_is(h, GW_VS_OK, d, m, s, f, e8, __LINE__)
#define GEO_ST(h, st) geo_is(h, st, 0, 0, 0, 0, 0, __LINE__)

MF_TEST(a28_four_byte_layout)
{
    /* 16 23'29.00" E: 16 + 23/60 + 29/3600 = 16.391388888.. -> 1639138889 */
    GEO("00 29 23 16", 16, 23, 2900, 0, 1639138889LL);
    /* 39 54'26.37" S: F = D7 of the degree byte, tens 3 in D6..D4: 0x80|0x39 = B9;
     * 39 + 54/60 + 26.37/3600 = 39.907325 exactly */
    GEO("37 26 54 B9", 39, 54, 2637, 1, -3990732500LL);
    GEO("99 59 59 79", 79, 59, 5999, 0, 7999999722LL); /* the largest: 79.999997222.. */
    GEO("00 00 00 00", 0, 0, 0, 0, 0);                  /* zero is a value ... */
    GEO("00 00 00 80", 0, 0, 0, 1, 0);                  /* ... with either flag */
    GEO("01 00 00 00", 0, 0, 1, 0, 278LL);              /* 0.01" = 2.777..e-6 deg */
    GEO_ST("EE EE EE EE", GW_VS_ABSENT);
    GEO_ST("EE EE EE 00", GW_VS_INVALID); /* partly EE is not absent */
    GEO_ST("0A 00 00 00", GW_VS_INVALID); /* non-BCD hundredths */
    GEO_ST("00 00 00 7A", GW_VS_INVALID); /* non-BCD degree units */
    GEO_ST("00 60 00 10", GW_VS_INVALID); /* 60 seconds */
    GEO_ST("00 00 60 10", GW_VS_INVALID); /* 60 minutes */
    GEO_ST("FF FF FF FF", GW_VS_INVALID);
}

MF_TEST(a28_five_byte_layout)
{
    /* 116 23'29.00" E: degrees 16 then [0|1]; 116.391388888.. */
    GEO("00 29 23 16 01", 116, 23, 2900, 0, 11639138889LL);
    GEO("00 29 23 16 81", 116, 23, 2900, 1, -11639138889LL); /* West */
    GEO("37 26 54 39 00", 39, 54, 2637, 0, 3990732500LL);
    GEO("00 00 00 80 01", 180, 0, 0, 0, 18000000000LL);
    GEO("00 00 00 00 81", 100, 0, 0, 1, -10000000000LL);
    GEO_ST("01 00 00 80 01", GW_VS_INVALID); /* beyond 180 */
    GEO_ST("00 00 00 81 01", GW_VS_INVALID); /* 181 */
    GEO_ST("00 00 00 00 11", GW_VS_INVALID); /* D4 of the last byte must be 0 */
    GEO_ST("00 00 00 00 0A", GW_VS_INVALID); /* non-BCD hundreds */
    GEO_ST("EE EE EE EE EE", GW_VS_ABSENT);
    GEO_ST("EE EE EE EE 00", GW_VS_INVALID);
}

MF_TEST(a28_encode_by_hand)
{
    uint8_t out[5], exp[5];
    struct gw_geo g = {116, 23, 2900, 0};
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN5, out), 0);
    tu_hex("00 29 23 16 01", exp, sizeof exp);
    CHECK_MEM(out, exp, 5);
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN4, out), MF_ERANGE); /* 116 > 79 */
    g = (struct gw_geo){39, 54, 2637, 1};
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN4, out), 0);
    tu_hex("37 26 54 B9", exp, sizeof exp);
    CHECK_MEM(out, exp, 4);
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN5, out), 0);
    tu_hex("37 26 54 39 80", exp, sizeof exp);
    CHECK_MEM(out, exp, 5);
    g = (struct gw_geo){180, 0, 1, 0};
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN5, out), MF_ERANGE);
    g = (struct gw_geo){10, 60, 0, 0};
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN5, out), MF_ERANGE);
    g = (struct gw_geo){10, 0, 6000, 0};
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN5, out), MF_ERANGE);
    g = (struct gw_geo){10, 0, 0, 2};
    CHECK_EQ_INT(gw_geo_encode(&g, GW_GEO_LEN5, out), MF_ERANGE);
    CHECK_EQ_INT(gw_geo_encode(&g, 6, out), MF_EINVAL);
    CHECK_EQ_INT(gw_geo_decode(out, 3, &g), MF_EINVAL);
}

/* Property: every representable coordinate survives encode -> decode in both layouts. */
MF_TEST(a28_round_trip)
{
    uint64_t s = 777;
    uint8_t b[5];
    for (int i = 0; i < 20000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (s >> 60 & 1) ? GW_GEO_LEN5 : GW_GEO_LEN4;
        struct gw_geo g = {(uint16_t)((s >> 8) % (len == GW_GEO_LEN5 ? 180u : 80u)),
                           (uint8_t)((s >> 20) % 60u), (uint16_t)((s >> 30) % 6000u),
                           (uint8_t)(s >> 50 & 1)},
                      d;
        CHECK_EQ_INT(gw_geo_encode(&g, len, b), 0);
        CHECK_EQ_INT(gw_geo_decode(b, len, &d), GW_VS_OK);
        if (d.deg != g.deg || d.min != g.min || d.sec_x100 != g.sec_x100 || d.f != g.f) {
            mf_test_fail(__FILE__, __LINE__, "round trip %u %u %u %u", g.deg, g.min,
                         g.sec_x100, g.f);
            return;
        }
    }
}

/* 0A F91 answer as the last unit: 10 bytes say the 5-byte layout, 8 the 4-byte one. */
MF_TEST(f91_layout_by_length)
{
    /* DA p0, DT F91 = DT1 1<<((91-1)%8) = 04, DT2 (91-1)/8 = 0B */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE,
                                 "00 00 04 0B 00 29 23 16 01 37 26 54 39 00"),
                 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 91);
    INT_IS(tu_val(0, "coord_bytes", 0), 5);
    NUM_IS(tu_val(0, "longitude_deg", 0), 11639138889LL, -8);
    INT_IS(tu_val(0, "longitude_d", 0), 116);
    INT_IS(tu_val(0, "longitude_m", 0), 23);
    NUM_IS(tu_val(0, "longitude_s", 0), 2900, -2);
    INT_IS(tu_val(0, "longitude_f", 0), 0);
    NUM_IS(tu_val(0, "latitude_deg", 0), 3990732500LL, -8);
    NUM_IS(tu_val(0, "latitude_s", 0), 2637, -2);
    const struct gw_value *raw = tu_val(0, "longitude_raw", 0);
    CHECK(raw && raw->kind == GW_VK_BYTES && raw->len == 5 && raw->u.p[4] == 0x01);

    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE, "00 00 04 0B 00 29 23 16 37 26 54 B9"),
                 0);
    INT_IS(tu_val(0, "coord_bytes", 0), 4);
    NUM_IS(tu_val(0, "longitude_deg", 0), 1639138889LL, -8);
    NUM_IS(tu_val(0, "latitude_deg", 0), -3990732500LL, -8);
    INT_IS(tu_val(0, "latitude_f", 0), 1);
}

/* Not the last unit: the layout whose end is followed by a defined identifier. */
MF_TEST(f91_followed_by_another_unit)
{
    /* 5-byte F91, then F1 (6 bytes: 01 02 1E 00 07 0F). Bytes 8..11 are "39 00 00 00": DA
     * 39 00 is undefined, so 4 bytes cannot be the layout; at 10 "00 00 01 00" is p0 F1. */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE,
                                 "00 00 04 0B 00 29 23 16 01 37 26 54 39 00 "
                                 "00 00 01 00 01 02 1E 00 07 0F"),
                 0);
    CHECK_EQ_INT(tu_dec.nunits, 2);
    INT_IS(tu_val(0, "coord_bytes", 0), 5);
    NUM_IS(tu_val(0, "latitude_deg", 0), 3990732500LL, -8);
    CHECK_EQ_INT(tu_dec.units[1].fn, 1);
    INT_IS(tu_val(1, "heartbeat_min", 0), 15);

    /* 4-byte F91, then F1 */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE,
                                 "00 00 04 0B 00 29 23 16 37 26 54 39 "
                                 "00 00 01 00 01 02 1E 00 07 0F"),
                 0);
    CHECK_EQ_INT(tu_dec.nunits, 2);
    INT_IS(tu_val(0, "coord_bytes", 0), 4);
    NUM_IS(tu_val(0, "longitude_deg", 0), 1639138889LL, -8);
    INT_IS(tu_val(1, "heartbeat_min", 0), 15);
}

MF_TEST(f91_absent_invalid_truncated)
{
    /* absent longitude (all EE), latitude 91 N: out of range for a latitude only */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE,
                                 "00 00 04 0B EE EE EE EE EE 00 00 00 91 00"),
                 0);
    ABSENT(tu_val(0, "longitude_deg", 0));
    ABSENT(tu_val(0, "longitude_d", 0));
    ABSENT(tu_val(0, "longitude_f", 0));
    INVALID(tu_val(0, "latitude_deg", 0));
    INVALID(tu_val(0, "latitude_m", 0));
    const struct gw_value *raw = tu_val(0, "latitude_raw", 0);
    CHECK(raw && raw->status == GW_VS_OK && raw->len == 5 && raw->u.p[3] == 0x91);
    /* zero is neither: 0 00'00.00" */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE, "00 00 04 0B 00 00 00 00 00 00 00 00"),
                 0);
    NUM_IS(tu_val(0, "longitude_deg", 0), 0, 0);
    NUM_IS(tu_val(0, "latitude_deg", 0), 0, 0);
    /* non-BCD seconds in the 4-byte layout */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE, "00 00 04 0B 00 2A 23 16 37 26 54 39"),
                 0);
    INVALID(tu_val(0, "longitude_deg", 0));
    NUM_IS(tu_val(0, "latitude_deg", 0), 3990732500LL, -8);
    /* 7 bytes: truncated, cleanly */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE, "00 00 04 0B 00 29 23 16 37 26 54"),
                 MF_EINVAL);
    CHECK_EQ_INT(tu_dec.units[0].status, GW_US_TRUNCATED);
}

/* AFN 04 F91 set (downlink, PW of 16 bytes follows the units) and the 0A F91 request. */
MF_TEST(f91_downlink)
{
    CHECK_EQ_INT(tu_decode_units(DOWN, 0x04, SEQ_SINGLE,
                                 "00 00 04 0B 00 29 23 16 81 37 26 54 39 00 "
                                 "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
                 0);
    CHECK(tu_fr.pw != NULL);
    INT_IS(tu_val(0, "coord_bytes", 0), 5);
    NUM_IS(tu_val(0, "longitude_deg", 0), -11639138889LL, -8);
    CHECK_EQ_INT(tu_decode_units(DOWN, 0x0A, SEQ_SINGLE, "00 00 04 0B"), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 91);
    CHECK_EQ_INT(tu_dec.units[0].nval, 0);
}

/* Builder: bytes by hand, then builder -> decoder in both layouts. */
MF_TEST(f91_build_and_round_trip)
{
    uint8_t u[64], exp[32];
    char hex[200];
    struct gw_ubuf ub;
    struct gw_geo lon = {116, 23, 2900, 0}, lat = {39, 54, 2637, 0};

    gw_ub_init(&ub, u, sizeof u);
    CHECK_EQ_INT(gw_b_f91(&ub, &lon, &lat, GW_GEO_LEN5), 0);
    size_t n = tu_hex("00 00 04 0B 00 29 23 16 01 37 26 54 39 00", exp, sizeof exp);
    CHECK_EQ_INT(ub.len, n);
    CHECK_MEM(u, exp, n);

    gw_ub_init(&ub, u, sizeof u);
    CHECK_EQ_INT(gw_b_f91(&ub, &lon, &lat, GW_GEO_LEN4), MF_ERANGE); /* 116 in 4 bytes */
    lon.deg = 16;
    gw_ub_init(&ub, u, sizeof u);
    CHECK_EQ_INT(gw_b_f91(&ub, &lon, NULL, GW_GEO_LEN4), 0);
    n = tu_hex("00 00 04 0B 00 29 23 16 EE EE EE EE", exp, sizeof exp);
    CHECK_EQ_INT(ub.len, n);
    CHECK_MEM(u, exp, n);
    mf_hex_encode(u, ub.len, hex, sizeof hex);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE, hex), 0);
    INT_IS(tu_val(0, "longitude_d", 0), 16);
    ABSENT(tu_val(0, "latitude_deg", 0));

    lon = (struct gw_geo){179, 59, 5999, 1};
    lat = (struct gw_geo){90, 0, 0, 1};
    gw_ub_init(&ub, u, sizeof u);
    CHECK_EQ_INT(gw_b_f91(&ub, &lon, &lat, GW_GEO_LEN5), 0);
    /* another unit after it (p0 F1, 6 bytes): still read as the 5-byte layout */
    gw_ub_dadt(&ub, 0, 1);
    gw_ub_bytes(&ub, "\x01\x02\x1E\x00\x07\x0F", 6);
    mf_hex_encode(u, ub.len, hex, sizeof hex);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE, hex), 0);
    INT_IS(tu_val(1, "heartbeat_min", 0), 15);
    INT_IS(tu_val(0, "coord_bytes", 0), 5);
    INT_IS(tu_val(0, "longitude_d", 0), 179);
    INT_IS(tu_val(0, "latitude_f", 0), 1);
    NUM_IS(tu_val(0, "latitude_deg", 0), -9000000000LL, -8);
    CHECK_EQ_INT(gw_b_f91(&ub, &lon, &lat, 3), MF_EINVAL);
}
