/* test_gw_quirks.c -- hand-built frames for the field quirks of protocol-3761.md (sections
 * 5, 7, 8, 9, 13): ERC14 with Le=11, vendor ERCs skipped by Le, non-BCD event times, a
 * multi-frame event burst, confirms with trailing bytes, the 2-byte PW dialect, Tp with bad
 * BCD, EF filler, unknown Fn, truncations and caps; builder -> decoder round trips; and
 * truncated/corrupted variants of every public vector (must give a clean status). */
#include <jansson.h>

#include "gw_test_util.h"
#include "gw_vectors.h"

#define UP 1
#define DOWN 0
#define SEQ_SINGLE 0x60

MF_TEST(erc14_le11_variant)
{
    /* EC1=24 EC2=0 Pm=23 Pn=24; ERC14 Le=11: attribute 01, off 2019-07-05 08:30, on 09:12 */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE, "00 00 01 00 18 00 17 18 "
                                                       "0E 0B 01 30 08 05 07 19 12 09 05 07 19"),
                 0);
    INT_IS(tu_val(0, "ec1", 0), 24);
    INT_IS(tu_val(0, "pm", 0), 23);
    CHECK_EQ_INT(tu_dec.units[0].nev, 1);
    CHECK_EQ_INT(tu_dec.events[0].le, 11);
    CHECK_EQ_INT(tu_dec.events[0].typed, 1);
    INT_IS(tu_ev(0, "attr"), 1);
    TIME_IS(tu_ev(0, "off_time"), 2019, 7, 5, 8, 30, 0);
    TIME_IS(tu_ev(0, "on_time"), 2019, 7, 5, 9, 12, 0);
}

MF_TEST(vendor_erc_skipped_by_le)
{
    /* Pm=0 Pn=3: vendor ERC52 (Le 5, raw), ERC14 (Le 10), ERC13 (Le 8) */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE,
                                 "00 00 01 00 03 00 00 03 "
                                 "34 05 01 02 03 04 05 "
                                 "0E 0A 40 14 31 07 10 31 11 03 08 10 "
                                 "0D 08 04 03 02 01 20 05 80 10"),
                 0);
    CHECK_EQ_INT(tu_dec.nevents, 3);
    CHECK_EQ_INT(tu_dec.events[0].erc, 52);
    CHECK_EQ_INT(tu_dec.events[0].typed, 0);
    CHECK_EQ_INT(tu_dec.events[0].le, 5);
    CHECK_MEM(tu_dec.events[0].raw, "\x01\x02\x03\x04\x05", 5);
    CHECK_EQ_INT(tu_dec.events[1].erc, 14);
    TIME_IS(tu_ev(1, "off_time"), 2010, 7, 31, 14, 40, 0);
    CHECK_EQ_INT(tu_dec.events[2].erc, 13);
    TIME_IS(tu_ev(2, "time"), 2020, 1, 2, 3, 4, 0);
    INT_IS(tu_ev(2, "pn"), 5);
    INT_IS(tu_ev(2, "start"), 1);
    INT_IS(tu_ev(2, "flags"), 0x10);
    /* the unit's own values are only the header */
    CHECK_EQ_INT(tu_dec.units[0].nval, 4);
}

MF_TEST(event_garbage_times_and_other_ercs)
{
    /* ERC14 with a non-BCD off time and an absent on time; ERC41 clock setting; ERC27 */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE,
                                 "00 00 01 00 05 00 02 05 "
                                 "0E 0A FF 3A 99 99 99 EE EE EE EE EE "
                                 "29 0E 00 00 00 00 12 05 47 24 10 00 12 05 47 24 "
                                 "1B 11 00 10 05 06 24 02 80 00 00 50 01 00 00 00 40 01 00"),
                 0);
    CHECK_EQ_INT(tu_dec.nevents, 3);
    INVALID(tu_ev(0, "off_time"));
    ABSENT(tu_ev(0, "on_time"));
    CHECK_EQ_INT(tu_dec.events[1].erc, 41);
    INT_IS(tu_ev(1, "pn"), 0);
    TIME_IS(tu_ev(1, "before_time"), 2024, 7, 5, 12, 0, 0);
    TIME_IS(tu_ev(1, "after_time"), 2024, 7, 5, 12, 0, 10);
    CHECK_EQ_INT(tu_dec.events[2].erc, 27);
    INT_IS(tu_ev(2, "pn"), 2);
    INT_IS(tu_ev(2, "start"), 1);
    NUM_IS(tu_ev(2, "before_kwh"), 1500000, -4); /* 150.0000 */
    NUM_IS(tu_ev(2, "after_kwh"), 1400000, -4);
}

MF_TEST(multi_frame_event_burst)
{
    /* first / middle / last frame of one answer: SEQ 0x40, 0x01, 0x22 */
    static const struct {
        uint8_t seq;
        const char *units;
        uint8_t erc;
    } fr[3] = {
        {0x40, "00 00 01 00 03 00 00 01 0E 0A 40 14 31 07 10 31 11 03 08 10", 14},
        {0x01, "00 00 01 00 03 00 01 02 18 0E 09 22 07 12 10 01 00 00 90 21 00 22 00 22", 24},
        {0x22, "00 00 01 00 03 00 02 03 34 02 AB CD", 52},
    };
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(tu_decode_units(UP, 0x0E, fr[i].seq, fr[i].units), 0);
        CHECK_EQ_INT(tu_fr.seq.fir, i == 0);
        CHECK_EQ_INT(tu_fr.seq.fin, i == 2);
        CHECK_EQ_INT(tu_fr.seq.pseq, i);
        CHECK_EQ_INT(tu_dec.nevents, 1);
        CHECK_EQ_INT(tu_dec.events[0].erc, fr[i].erc);
        INT_IS(tu_val(0, "pm", 0), i);
    }
}

MF_TEST(confirm_with_trailing_bytes)
{
    CHECK_EQ_INT(tu_decode_units(UP, 0x00, SEQ_SINGLE, "00 00 01 00 00 00 00"), 0);
    const struct gw_value *t = tu_val(0, "trailing", 0);
    CHECK(t && t->kind == GW_VK_BYTES && t->len == 3);
    CHECK_EQ_INT(tu_decode_units(UP, 0x00, SEQ_SINGLE, "00 00 02 00"), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 2);
    CHECK_EQ_INT(tu_dec.units[0].nval, 0);
}

MF_TEST(pw2_dialect_clock_sync)
{
    static const char *f31 = "68 6A 00 6A 00 68 4A 00 02 34 12 02 05 F1 00 00 40 03 55 30 10 "
                             "12 83 15 00 00 01 55 30 10 12 05 B9 16";
    CHECK_EQ_INT(tu_decode_pw(f31, GW_PW_LEN), 99); /* AUX would exceed the frame */
    CHECK_EQ_INT(tu_decode_pw(f31, 2), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 31);
    const struct gw_value *c = tu_val(0, "clock", 0);
    TIME_IS(c, 2015, 3, 12, 10, 30, 55);
    CHECK(c && c->u.t.wday == 4);
}

/* Set byte i of a frame and fix the checksum. */
static void patch(uint8_t *b, size_t n, size_t i, uint8_t v)
{
    unsigned s = 0;
    b[i] = v;
    for (size_t k = 6; k < n - 2; k++)
        s += b[k];
    b[n - 2] = (uint8_t)s;
}

MF_TEST(tp_variants)
{
    /* Tp with a non-BCD second: the frame still decodes, the Tp is flagged */
    uint8_t b[64];
    size_t n = tu_hex(V_C1_F129_REQ_02, b, sizeof b);
    patch(b, n, n - 7, 0x5A);
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &tu_fr), 0);
    CHECK_EQ_INT(tu_fr.tp.valid, 0);
    CHECK_EQ_INT(tu_fr.tp.pfc, 2);
    CHECK_EQ_INT(gw_decode_units(&tu_fr, &tu_dec), 0);
    /* answer carrying the request's PFC with the terminal's own clock (fwd-read-rsp) */
    CHECK_EQ_INT(tu_decode(V_FWD_READ_RSP), 0);
    CHECK_EQ_INT(tu_fr.tp.valid, 1);
    CHECK_EQ_INT(tu_fr.tp.pfc, 0);
    CHECK_EQ_INT(tu_fr.tp.hour, 23);
}

/* Append `times` copies of piece to the NUL-terminated text in buf. */
static void rep(char *buf, size_t cap, const char *piece, int times)
{
    size_t len = strlen(buf), pl = strlen(piece);
    for (int i = 0; i < times && len + pl < cap; i++, len += pl)
        memcpy(buf + len, piece, pl + 1);
}

MF_TEST(ef_filler_is_invalid_not_absent)
{
    char hex[512] = "01 01 01 03 47 16 28 08 18";
    rep(hex, sizeof hex, " EF", 62);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE, hex), 0);
    INVALID(tu_val(0, "p_kw", 0));
    INVALID(tu_val(0, "ua_v", 0));
    INVALID(tu_val(0, "ia_a", 0));
    INVALID(tu_val(0, "sc_kva", 0));
    TIME_IS(tu_val(0, "reading_time", 0), 2018, 8, 28, 16, 47, 0);
}

MF_TEST(unknown_fn_stops_cleanly)
{
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE,
                                 "01 01 01 10 18 16 28 08 18 00 00 01 00 00 00 "
                                 "01 01 80 18 AA BB"),
                 MF_EUNSUPP);
    CHECK_EQ_INT(tu_dec.nunits, 2);
    CHECK_EQ_INT(tu_dec.units[0].status, GW_US_OK);
    INT_IS(tu_val(0, "tariff_count", 0), 0);
    NUM_IS(tu_val(0, "total_kwh", 0), 1, -2);
    CHECK_EQ_INT(tu_dec.units[1].fn, 200);
    CHECK_EQ_INT(tu_dec.units[1].status, GW_US_UNKNOWN);
    CHECK_EQ_INT(tu_dec.rest_len, 2);
    CHECK_MEM(tu_dec.rest, "\xAA\xBB", 2);
    CHECK_EQ_INT(tu_dec.status, MF_EUNSUPP);
}

MF_TEST(truncations_and_bad_counts)
{
    /* M=4 but one tariff only */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE,
                                 "01 01 01 10 18 16 28 08 18 04 00 01 00 00 00 EE EE EE EE EE"),
                 MF_EINVAL);
    CHECK_EQ_INT(tu_dec.units[0].status, GW_US_TRUNCATED);
    INT_IS(tu_val(0, "tariff_count", 0), 4);
    /* M = 200 over the cap */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE,
                                 "01 01 01 10 18 16 28 08 18 C8 00 01 00 00 00"),
                 MF_EINVAL);
    /* 10 F1 answer announcing k = 255 with 1 byte */
    CHECK_EQ_INT(tu_decode_units(UP, 0x10, SEQ_SINGLE, "00 00 01 00 1F FF 00 68"), MF_EINVAL);
    /* 0A F10 with n = 3 and one entry */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0A, SEQ_SINGLE,
                                 "00 00 02 01 03 00 01 00 01 00 C1 02 25 02 00 00 00 00 00 00 "
                                 "00 00 00 00 04 09 00 00 00 00 00 00 F5"),
                 MF_EINVAL);
    /* events: Pm=0 Pn=2 but one record; record Le past the end */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE, "00 00 01 00 01 00 00 02 34 01 00"),
                 MF_EINVAL);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE, "00 00 01 00 01 00 00 01 34 09 00"),
                 MF_EINVAL);
    /* Pm = Pn: no records */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE, "00 00 01 00 01 00 07 07"), 0);
    CHECK_EQ_INT(tu_dec.nevents, 0);
    /* an undefined identifier: the whole rest is returned */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE, "01 00 01 00 12 34"), MF_EINVAL);
    CHECK_EQ_INT(tu_dec.nunits, 0);
    CHECK_EQ_INT(tu_dec.rest_len, 6);
    /* curve with n = 96 but 2 points of data */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0D, SEQ_SINGLE,
                                 "01 01 10 0C 15 00 01 03 24 01 60 00 00 01 00 25 00 01 00"),
                 MF_EINVAL);
}

MF_TEST(multi_point_identifier_and_caps)
{
    char hex[2048] = "";
    /* p1 and p2 F129 in one identifier: two units in pn order */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE,
                                 "03 01 01 10 18 16 28 08 18 00 00 01 00 00 00 "
                                 "18 16 28 08 18 00 00 02 00 00 00"),
                 0);
    CHECK_EQ_INT(tu_dec.nunits, 2);
    CHECK_EQ_INT(tu_dec.units[0].pn, 1);
    CHECK_EQ_INT(tu_dec.units[1].pn, 2);
    NUM_IS(tu_val(1, "total_kwh", 0), 2, -2);
    /* 130 read identifiers: the unit cap (128) stops decoding cleanly */
    rep(hex, sizeof hex, "00 00 02 00 ", 130);
    CHECK_EQ_INT(tu_decode_units(DOWN, 0x0C, SEQ_SINGLE, hex), MF_ERANGE);
    CHECK_EQ_INT(tu_dec.nunits, GW_DEC_MAX_UNITS);
    CHECK_EQ_INT(tu_dec.rest_len, 4); /* after the 129th identifier: the 130th */
}

MF_TEST(value_cap_stops_cleanly)
{
    /* 9 curves of 255 points > GW_DEC_MAX_VALUES */
    static uint8_t u[12000];
    struct gw_ubuf ub;
    struct gw_num pts[255];
    struct gw_time ts = {2024, 3, 1, 0, 0, 0, 0};
    struct gw_frame_out fo;
    int n;
    for (int k = 0; k < 255; k++)
        pts[k] = (struct gw_num){k, -2, GW_VS_OK};
    gw_ub_init(&ub, u, sizeof u);
    for (int c = 0; c < 9; c++)
        gw_ans_curve(&ub, 1, 101, &ts, 255, 255, pts);
    CHECK_EQ_INT(ub.err, 0);
    memset(&fo, 0, sizeof fo);
    fo.c = gw_c_up(0, 0, 8);
    fo.afn = 0x0D;
    fo.seq.fir = fo.seq.fin = 1;
    fo.units = u;
    fo.units_len = ub.len;
    n = gw_frame_encode(&fo, tu_buf, sizeof tu_buf);
    CHECK(n > 0);
    CHECK_EQ_INT(gw_frame_parse(tu_buf, (size_t)n, GW_PW_LEN, &tu_fr), 0);
    CHECK_EQ_INT(gw_decode_units(&tu_fr, &tu_dec), MF_ERANGE);
    CHECK_EQ_INT(tu_dec.nvals, GW_DEC_MAX_VALUES);
    CHECK_EQ_INT(tu_dec.units[tu_dec.nunits - 1].status, GW_US_CAP);
    CHECK_EQ_INT(tu_dec.units[0].status, GW_US_OK);
}

/* Builders -> decoder: values survive (the simulator and the worker agree). */
MF_TEST(round_trip_builders)
{
    static uint8_t u[8192];
    struct gw_ubuf ub;
    struct gw_time td = {2024, 3, 1, 0, 0, 0, 0}, rt = {2024, 3, 1, 23, 59, 0, 0};
    struct gw_num e[5], pts[96], s1[3], s2[3];
    const struct gw_num *s4[4] = {s1, s2, s2, s2};
    struct gw_time off = {2024, 2, 29, 23, 1, 0, 0};
    struct gw_num uv[3] = {{2301, -1, GW_VS_OK}, {0, 0, GW_VS_ABSENT}, {2299, -1, GW_VS_OK}};
    char hex[3 * 8192];
    int k;

    for (k = 0; k < 5; k++)
        e[k] = (struct gw_num){123456789 + k, -4, GW_VS_OK};
    for (k = 0; k < 96; k++)
        pts[k] = (struct gw_num){100000 + 25 * k, -2, GW_VS_OK};
    for (k = 0; k < 3; k++) {
        s1[k] = (struct gw_num){k * 1000, -4, GW_VS_OK};
        s2[k] = (struct gw_num){k, -2, GW_VS_OK};
    }
    gw_ub_init(&ub, u, sizeof u);
    gw_ans_daily_energy(&ub, 7, 161, &td, &rt, 4, e);
    gw_ans_curve(&ub, 7, 101, &rt, 1, 96, pts);
    gw_ans_frozen4(&ub, 7, 1, &td, &rt, 2, s4);
    CHECK_EQ_INT(ub.err, 0);
    mf_hex_encode(u, ub.len, hex, sizeof hex);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0D, SEQ_SINGLE, hex), 0);
    CHECK_EQ_INT(tu_dec.nunits, 3);
    TIME_IS(tu_val(0, "td_d", 0), 2024, 3, 1, 0, 0, 0);
    NUM_IS(tu_val(0, "total_kwh", 0), 123456789, -4);
    NUM_IS(tu_val(0, "tariffs_kwh", 4), 123456793, -4);
    INT_IS(tu_val(1, "points", 0), 96);
    INT_IS(tu_val(1, "interval_min", 0), 15);
    TIME_IS(tu_val(1, "td_c", 0), 2024, 3, 1, 23, 59, 0);
    for (k = 0; k < 96; k++)
        NUM_IS(tu_val(1, "total_kwh", (unsigned)k + 1), 100000 + 25 * k, -2);
    NUM_IS(tu_val(2, "tariffs_kwh", 2), 2000, -4);
    NUM_IS(tu_val(2, "q4_tariffs_kvarh", 2), 2, -2);

    gw_ub_init(&ub, u, sizeof u);
    gw_ans_events_head(&ub, 1, 3, 0, 1, 3);
    gw_ans_erc14(&ub, &off, NULL);
    gw_ans_erc24(&ub, &off, 12, 1, 0x41, uv);
    mf_hex_encode(u, ub.len, hex, sizeof hex);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE, hex), 0);
    CHECK_EQ_INT(tu_dec.nevents, 2);
    TIME_IS(tu_ev(0, "off_time"), 2024, 2, 29, 23, 1, 0);
    ABSENT(tu_ev(0, "on_time"));
    INT_IS(tu_ev(1, "pn"), 12);
    INT_IS(tu_ev(1, "start"), 1);
    INT_IS(tu_ev(1, "limit_flags"), 0x41);
    NUM_IS(tu_ev(1, "ua_v"), 2301, -1);
    ABSENT(tu_ev(1, "ub_v"));
}

MF_TEST(forward_read_f9_answer)
{
    CHECK_EQ_INT(tu_decode_units(UP, 0x10, SEQ_SINGLE,
                                 "00 00 01 01 02 61 10 01 30 12 15 05 08 00 00 01 00 78 06 00 00"),
                 0);
    INT_IS(tu_val(0, "port", 0), 2);
    INT_IS(tu_val(0, "target_addr", 0), 151230011061LL);
    INT_IS(tu_val(0, "result", 0), 5);
    INT_IS(tu_val(0, "di", 0), 0x00010000);
    const struct gw_value *d = tu_val(0, "data", 0);
    CHECK(d && d->len == 4);
}

/* Every truncation and every single-bit change (checksum fixed) of every 376.1 vector of
 * the public file: a clean status, never a crash (ASan/UBSan watch the reads). */
static void mutate_vector(const char *hex)
{
    uint8_t b[1024];
    size_t n = tu_hex(hex, b, sizeof b);
    for (size_t k = 0; k < n; k++) {
        uint8_t *c = malloc(k ? k : 1);
        memcpy(c, b, k);
        CHECK_EQ_INT(gw_frame_parse(c, k, GW_PW_LEN, &tu_fr), MF_EINVAL);
        free(c);
    }
    for (size_t i = 6; i + 2 < n; i++) {
        for (unsigned x = 1; x < 256; x <<= 1) {
            uint8_t *c = malloc(n);
            int rc;
            memcpy(c, b, n);
            patch(c, n, i, (uint8_t)(c[i] ^ x));
            if (gw_frame_parse(c, n, GW_PW_LEN, &tu_fr) == 0) {
                rc = gw_decode_units(&tu_fr, &tu_dec);
                CHECK(rc == 0 || rc == MF_EINVAL || rc == MF_EUNSUPP || rc == MF_ERANGE);
                CHECK(rc == 0 ? tu_dec.rest_len == 0 : tu_dec.rest != NULL);
            }
            free(c);
        }
    }
}

MF_TEST(vectors_truncated_and_corrupted)
{
    char path[512];
    json_error_t err;
    json_t *root;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/vectors/public-3761.json", mf_test_shared_dir());
    root = json_load_file(path, 0, &err);
    CHECK(root != NULL);
    if (!root)
        return;
    for (size_t i = 0; i < json_array_size(root); i++) {
        json_t *v = json_array_get(root, i);
        const char *proto = json_string_value(json_object_get(v, "protocol"));
        const char *hex = json_string_value(json_object_get(v, "hex"));
        if (proto && hex && strcmp(proto, "3761") == 0) {
            mutate_vector(hex);
            n++;
        }
    }
    CHECK(n >= 24);
    json_decref(root);
}

MF_TEST(more_layouts_by_hand)
{
    /* 0C F170 reading status: port 31, relay 0, phase 1, signal 0x35, ok 1,
     * last ok 2024-07-05 12:30:00 (A.1), last failure absent, 0 failures */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE,
                                 "01 01 02 15 1F 00 01 35 01 00 30 12 05 47 24 "
                                 "EE EE EE EE EE EE 00"),
                 0);
    INT_IS(tu_val(0, "port", 0), 31);
    INT_IS(tu_val(0, "signal_quality", 0), 0x35);
    TIME_IS(tu_val(0, "last_ok_time", 0), 2024, 7, 5, 12, 30, 0);
    ABSENT(tu_val(0, "last_fail_time", 0));
    INT_IS(tu_val(0, "fail_count", 0), 0);

    /* 0C F177 combined active indication (2013): time, M=1, total 0.01, tariff 1 0.02 */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE,
                                 "01 01 01 16 18 16 28 08 18 01 00 01 00 00 00 00 02 00 00 00"),
                 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 177);
    NUM_IS(tu_val(0, "total_kwh", 0), 1, -2);
    NUM_IS(tu_val(0, "tariffs_kwh", 1), 2, -2);

    /* ERC1 version change, ERC3 parameter change, ERC30 meter stopped */
    CHECK_EQ_INT(tu_decode_units(UP, 0x0E, SEQ_SINGLE,
                                 "00 00 01 00 05 00 00 03 "
                                 "01 0E 00 10 05 06 24 03 31 2E 30 30 31 2E 30 31 "
                                 "03 0A 00 10 05 06 24 01 00 00 02 01 "
                                 "1E 0D 00 10 05 06 24 03 00 00 00 50 01 00 0F"),
                 0);
    CHECK_EQ_INT(tu_dec.nevents, 3);
    TIME_IS(tu_ev(0, "time"), 2024, 6, 5, 10, 0, 0);
    INT_IS(tu_ev(0, "flags"), 3);
    const struct gw_value *nv = tu_ev(0, "new_version");
    CHECK(nv && nv->kind == GW_VK_TEXT && nv->len == 4 && memcmp(nv->u.p, "1.01", 4) == 0);
    INT_IS(tu_ev(1, "msa"), 1);
    const struct gw_value *items = tu_ev(1, "items");
    CHECK(items && items->len == 4);
    INT_IS(tu_ev(2, "pn"), 3);
    INT_IS(tu_ev(2, "start"), 0);
    NUM_IS(tu_ev(2, "indication_kwh"), 1500000, -4);
    INT_IS(tu_ev(2, "threshold"), 15);

    /* 0D requests with Td_m and Td_c; 0E request; 04 F1 set */
    CHECK_EQ_INT(tu_decode_units(DOWN, 0x0D, SEQ_SINGLE,
                                 "01 01 01 16 07 18 01 01 10 0C 15 00 01 03 24 01 60"),
                 0);
    TIME_IS(tu_val(0, "td_m", 0), 2018, 7, 0, 0, 0, 0);
    TIME_IS(tu_val(1, "td_c", 0), 2024, 3, 1, 0, 15, 0);
    INT_IS(tu_val(1, "density", 0), 1);
    INT_IS(tu_val(1, "points", 0), 96);
    CHECK_EQ_INT(tu_decode_units(DOWN, 0x0E, SEQ_SINGLE, "00 00 01 00 17 18"), 0);
    INT_IS(tu_val(0, "pm", 0), 23);
    INT_IS(tu_val(0, "pn", 0), 24);
}

MF_TEST(round_trip_version_f33_f25)
{
    static uint8_t u[1024];
    char hex[3 * 1024];
    struct gw_ubuf ub;
    struct gw_version v = {{'A', 'B', 'C', 'D'}, {'1', '2', '3', '4', '5', '6', '7', '8'},
                           {'0', '1', '0', '0'}, {2019, 7, 3, 0, 0, 0, 0},
                           {'C', 'A', 'P', '0', '0', '0', '0', '0', '0', '0', '0'},
                           {'1', '2', '.', '0'}, {'H', 'W', '0', '1'}, {2018, 1, 2, 0, 0, 0, 0}};
    struct gw_time t = {2024, 5, 6, 7, 8, 0, 0};
    struct gw_num a[2] = {{10, -2, GW_VS_OK}, {20, -2, GW_VS_OK}};
    struct gw_num r[2] = {{30, -2, GW_VS_OK}, {0, 0, GW_VS_ABSENT}};
    const struct gw_num *s4[4] = {a, r, r, r};
    struct gw_f25 f;

    gw_ub_init(&ub, u, sizeof u);
    gw_ans_version(&ub, &v);
    mf_hex_encode(u, ub.len, hex, sizeof hex);
    CHECK_EQ_INT(tu_decode_units(UP, 0x09, SEQ_SINGLE, hex), 0);
    const struct gw_value *pv = tu_val(0, "protocol_version", 0);
    CHECK(pv && pv->len == 4 && memcmp(pv->u.p, "12.0", 4) == 0);
    TIME_IS(tu_val(0, "hw_date", 0), 2018, 1, 2, 0, 0, 0);

    gw_ub_init(&ub, u, sizeof u);
    gw_ans_f33(&ub, 3, 34, &t, 1, s4);
    mf_hex_encode(u, ub.len, hex, sizeof hex);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE, hex), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 34);
    NUM_IS(tu_val(0, "total_kwh", 0), 10, -2);
    NUM_IS(tu_val(0, "tariffs_kwh", 1), 20, -2);
    NUM_IS(tu_val(0, "reactive_total_kvarh", 0), 30, -2);
    ABSENT(tu_val(0, "q3_tariffs_kvarh", 1)); /* F34: quadrants II and III */

    memset(&f, 0, sizeof f);
    f.time = t;
    for (int k = 0; k < 4; k++) {
        f.p[k] = (struct gw_num){-12345 * (k + 1), -4, GW_VS_OK};
        f.q[k] = f.s[k] = (struct gw_num){0, 0, GW_VS_ABSENT};
        f.pf[k] = (struct gw_num){-995, -1, GW_VS_OK};
        f.i[k] = (struct gw_num){-1500, -3, GW_VS_OK};
    }
    for (int k = 0; k < 3; k++)
        f.u[k] = (struct gw_num){2200 + k, -1, GW_VS_OK};
    gw_ub_init(&ub, u, sizeof u);
    gw_ans_f25(&ub, 2, &f);
    mf_hex_encode(u, ub.len, hex, sizeof hex);
    CHECK_EQ_INT(tu_decode_units(UP, 0x0C, SEQ_SINGLE, hex), 0);
    NUM_IS(tu_val(0, "pc_kw", 0), -49380, -4);
    NUM_IS(tu_val(0, "pfb_pct", 0), -995, -1);
    NUM_IS(tu_val(0, "i0_a", 0), -1500, -3);
    NUM_IS(tu_val(0, "uc_v", 0), 2202, -1);
    ABSENT(tu_val(0, "sa_kva", 0));
}
