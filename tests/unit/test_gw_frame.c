/* test_gw_frame.c -- 376.1 frame level: scanner (resync, splits, garbage, bad candidates),
 * header parser (C, A, SEQ, AUX rules), encoder, DA/DT, terminal key.
 * Expected values are written by hand from protocol-3761.md and the public vectors. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "meterflow/gw3761.h"

/* Public vectors used here (copied from ../shared/vectors/public-3761.json). */
#define V_LOGIN01 "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16"
#define V_LOGIN02 "68 3A 00 3A 00 68 E9 49 24 45 58 00 02 70 00 00 01 00 1C 04 86 16"
#define V_CONFIRM01 "68 32 00 32 00 68 0B 49 24 45 58 02 00 60 00 00 01 00 78 16"
#define V_HB02 "68 4A 00 4A 00 68 C9 49 24 45 58 00 02 71 00 00 04 00 22 48 17 03 67 19 4E 16"
#define V_F129REQ                                                                              \
    "68 4A 00 4A 00 68 4B 71 01 22 08 02 0C E2 01 01 01 10 02 39 19 16 28 00 7C 16"
#define V_CTLF49                                                                               \
    "68 8E 00 8E 00 68 4A 00 02 34 12 04 05 F1 00 00 01 06 01 00 00 00 00 00 00 00 00 00 00 "   \
    "00 00 00 00 00 00 01 07 56 23 21 05 3B 16"
#define V_FWDRSP                                                                               \
    "68 AE 00 AE 00 68 A8 00 02 34 12 04 10 E0 00 00 01 00 1F 14 00 68 61 10 01 30 12 15 68 "   \
    "91 08 33 33 34 33 AB 39 33 33 49 16 4F 00 00 06 50 23 21 05 AE 16"
/* Hand-built (section 4 caveat): AFN 05 F31 with a 2-byte PW, Tp PFC 01 12:10:30 day 12. */
#define H_F31PW2                                                                               \
    "68 6A 00 6A 00 68 4A 00 02 34 12 02 05 F1 00 00 40 03 55 30 10 12 83 15 00 00 01 55 30 "   \
    "10 12 05 B9 16"

static size_t hx(const char *hex, uint8_t *out, size_t cap)
{
    int n = mf_hex_decode(hex, out, cap);
    if (n < 0) {
        fprintf(stderr, "bad hex in test: %s\n", hex);
        abort();
    }
    return (size_t)n;
}

MF_TEST(scan_single_vector)
{
    uint8_t b[64];
    size_t n = hx(V_LOGIN01, b, sizeof b), st = 99, fl = 99, bad = 99;
    CHECK_EQ_INT(gw_frame_scan(b, n, GW_FRAME_MAX, &st, &fl, &bad), 0);
    CHECK_EQ_INT(st, 0);
    CHECK_EQ_INT(fl, 20);
    CHECK_EQ_INT(bad, 0);
}

/* Every strict prefix is incomplete and keeps its start; garbage in front is droppable. */
MF_TEST(scan_truncations)
{
    uint8_t b[64];
    size_t n = hx(V_HB02, b, sizeof b), st, fl;
    for (size_t k = 0; k < n; k++) {
        st = 77;
        CHECK_EQ_INT(gw_frame_scan(b, k, GW_FRAME_MAX, &st, &fl, NULL), MF_AGAIN);
        CHECK_EQ_INT(st, 0);
    }
    CHECK_EQ_INT(gw_frame_scan(b, n, GW_FRAME_MAX, &st, &fl, NULL), 0);
    CHECK_EQ_INT(fl, 26);
}

MF_TEST(scan_fe_preamble_and_noise)
{
    uint8_t b[64];
    size_t n, st, fl, bad;
    n = hx("FE FE FE FE 00 12 " V_LOGIN01, b, sizeof b);
    CHECK_EQ_INT(gw_frame_scan(b, n, GW_FRAME_MAX, &st, &fl, &bad), 0);
    CHECK_EQ_INT(st, 6);
    CHECK_EQ_INT(fl, 20);
    CHECK_EQ_INT(bad, 0);
    /* pure noise: everything droppable */
    n = hx("FE FE 01 02 03", b, sizeof b);
    CHECK_EQ_INT(gw_frame_scan(b, n, GW_FRAME_MAX, &st, &fl, &bad), MF_AGAIN);
    CHECK_EQ_INT(st, 5);
    /* a lone 68 at the end is kept (might begin a frame) */
    n = hx("FE 01 68", b, sizeof b);
    CHECK_EQ_INT(gw_frame_scan(b, n, GW_FRAME_MAX, &st, &fl, &bad), MF_AGAIN);
    CHECK_EQ_INT(st, 2);
}

/* A corrupted candidate followed by a good frame: the good one is found, the bad counted. */
static void check_bad_then_good(const char *badhex, size_t expect_start)
{
    uint8_t b[128];
    size_t n, st = 0, fl = 0, bad = 0;
    char both[512];
    snprintf(both, sizeof both, "%s %s", badhex, V_LOGIN01);
    n = hx(both, b, sizeof b);
    CHECK_EQ_INT(gw_frame_scan(b, n, GW_FRAME_MAX, &st, &fl, &bad), 0);
    CHECK_EQ_INT(st, expect_start);
    CHECK_EQ_INT(fl, 20);
    CHECK(bad >= 1);
}

MF_TEST(scan_rejects_bad_candidates)
{
    /* L copies differ */
    check_bad_then_good("68 32 00 36 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16", 20);
    /* protocol identifier 1 (L = 0x31) */
    check_bad_then_good("68 31 00 31 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16", 20);
    /* bad checksum */
    check_bad_then_good("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E1 16", 20);
    /* bad end byte */
    check_bad_then_good("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 17", 20);
    /* L1 < 12 (L1 = 11 -> L = 0x2E) */
    check_bad_then_good("68 2E 00 2E 00 68 C9 71 01 22 08 00 02 78 00 00 01 E0 16", 19);
    /* second 68 missing */
    check_bad_then_good("68 32 00 32 00 69 C9", 7);
}

MF_TEST(scan_oversize_rejected_at_once)
{
    /* L1 = 300 announced but max_frame 256: rejected from the header, no waiting. */
    uint8_t b[64];
    size_t n, st, fl, bad;
    n = hx("68 B2 04 B2 04 68 C9 71 01 22 08 00 02 78 " V_LOGIN01, b, sizeof b);
    CHECK_EQ_INT(gw_frame_scan(b, n, 256, &st, &fl, &bad), 0);
    CHECK_EQ_INT(st, 14);
    CHECK_EQ_INT(bad, 2); /* the header's 68 and the one at offset 5 */
    /* With a large max the same header is a plausible frame: wait for it. */
    CHECK_EQ_INT(gw_frame_scan(b, n, GW_FRAME_MAX, &st, &fl, &bad), MF_AGAIN);
    CHECK_EQ_INT(st, 0);
}

/* Stream of frames with garbage, fed whole and one byte at a time, must give the same
 * frames in order. */
MF_TEST(scan_stream_split_and_coalesced)
{
    static const char *const parts[] = {V_LOGIN02, "FE FE 00", V_CONFIRM01, V_HB02,
                                        "68 32 00 33 00 68", V_F129REQ, V_FWDRSP};
    static const size_t expect_len[] = {22, 20, 26, 26, 51};
    uint8_t stream[512], buf[512];
    size_t slen = 0;
    for (size_t i = 0; i < MF_ARRAY_LEN(parts); i++)
        slen += hx(parts[i], stream + slen, sizeof stream - slen);

    for (int mode = 0; mode < 2; mode++) {
        size_t have = 0, fed = 0, nfr = 0;
        while (fed < slen || have > 0) {
            size_t step = mode == 0 ? slen - fed : (fed < slen ? 1 : 0);
            size_t st, fl;
            int rc;
            memcpy(buf + have, stream + fed, step);
            have += step;
            fed += step;
            rc = gw_frame_scan(buf, have, GW_FRAME_MAX, &st, &fl, NULL);
            if (rc == 0) {
                CHECK(nfr < MF_ARRAY_LEN(expect_len));
                if (nfr < MF_ARRAY_LEN(expect_len))
                    CHECK_EQ_INT(fl, expect_len[nfr]);
                CHECK_EQ_INT(buf[st + fl - 1], 0x16);
                nfr++;
                memmove(buf, buf + st + fl, have - st - fl);
                have -= st + fl;
                continue;
            }
            CHECK_EQ_INT(rc, MF_AGAIN);
            memmove(buf, buf + st, have - st);
            have -= st;
            if (fed == slen)
                break;
        }
        CHECK_EQ_INT(nfr, 5);
    }
}

MF_TEST(parse_login_with_ec)
{
    uint8_t b[64];
    struct gw_frame fr;
    size_t n = hx(V_LOGIN02, b, sizeof b);
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), 0);
    CHECK_EQ_INT(fr.c, 0xE9);
    CHECK_EQ_INT(fr.dir, 1);
    CHECK_EQ_INT(fr.prm, 1);
    CHECK_EQ_INT(fr.fcb_acd, 1);
    CHECK_EQ_INT(fr.fc, 9);
    CHECK_EQ_INT(fr.addr.a1, 0x2449);
    CHECK_EQ_INT(fr.addr.a2, 0x5845);
    CHECK_EQ_INT(fr.addr.msa, 0);
    CHECK_EQ_INT(fr.addr.group, 0);
    CHECK_EQ_INT(fr.afn, 2);
    CHECK_EQ_INT(fr.seq.tpv, 0);
    CHECK_EQ_INT(fr.seq.fir, 1);
    CHECK_EQ_INT(fr.seq.fin, 1);
    CHECK_EQ_INT(fr.seq.con, 1);
    CHECK_EQ_INT(fr.seq.pseq, 0);
    CHECK_EQ_INT(fr.has_ec, 1);
    CHECK_EQ_INT(fr.ec1, 28);
    CHECK_EQ_INT(fr.ec2, 4);
    CHECK_EQ_INT(fr.has_tp, 0);
    CHECK_EQ_INT(fr.units_len, 4);
    CHECK(fr.units == b + 14);
    CHECK(fr.pw == NULL);
}

MF_TEST(parse_master_confirm_msa1)
{
    uint8_t b[64];
    struct gw_frame fr;
    size_t n = hx(V_CONFIRM01, b, sizeof b);
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), 0);
    CHECK_EQ_INT(fr.dir, 0);
    CHECK_EQ_INT(fr.prm, 0);
    CHECK_EQ_INT(fr.fc, 11);
    CHECK_EQ_INT(fr.addr.msa, 1);
    CHECK_EQ_INT(fr.afn, 0);
    CHECK_EQ_INT(fr.seq.pseq, 0);
    CHECK_EQ_INT(fr.has_ec, 0);
}

MF_TEST(parse_request_with_tp)
{
    uint8_t b[64];
    struct gw_frame fr;
    size_t n = hx(V_F129REQ, b, sizeof b);
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), 0);
    CHECK_EQ_INT(fr.c, 0x4B);
    CHECK_EQ_INT(fr.fc, 11);
    CHECK_EQ_INT(fr.addr.a1, 0x0171);
    CHECK_EQ_INT(fr.addr.a2, 0x0822);
    CHECK_EQ_INT(fr.addr.msa, 1);
    CHECK_EQ_INT(fr.seq.tpv, 1);
    CHECK_EQ_INT(fr.seq.pseq, 2);
    CHECK_EQ_INT(fr.has_tp, 1);
    CHECK_EQ_INT(fr.tp.pfc, 2);
    CHECK_EQ_INT(fr.tp.sec, 39);
    CHECK_EQ_INT(fr.tp.min, 19);
    CHECK_EQ_INT(fr.tp.hour, 16);
    CHECK_EQ_INT(fr.tp.day, 28);
    CHECK_EQ_INT(fr.tp.delay_min, 0);
    CHECK_EQ_INT(fr.tp.valid, 1);
    CHECK_EQ_INT(fr.units_len, 4);
    CHECK_MEM(fr.units, "\x01\x01\x01\x10", 4);
}

MF_TEST(parse_pw_variants)
{
    uint8_t b[64];
    struct gw_frame fr;
    size_t n = hx(V_CTLF49, b, sizeof b);
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), 0);
    CHECK_EQ_INT(fr.afn, 5);
    CHECK_EQ_INT(fr.pw_len, 16);
    CHECK(fr.pw == b + 14 + 5);
    CHECK_EQ_INT(fr.units_len, 5);
    CHECK_EQ_INT(fr.tp.pfc, 1);
    CHECK_EQ_INT(fr.tp.hour, 23);
    CHECK_EQ_INT(fr.tp.delay_min, 5);

    /* 2-byte PW dialect: wrong with 16 (AUX larger than the unit area), right with 2 */
    n = hx(H_F31PW2, b, sizeof b);
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), MF_EINVAL);
    CHECK_EQ_INT(gw_frame_parse(b, n, 2, &fr), 0);
    CHECK_EQ_INT(fr.units_len, 10);
    CHECK_EQ_INT(fr.pw_len, 2);
    CHECK(fr.pw == b + 24);
    CHECK_EQ_INT(fr.tp.pfc, 1);
    CHECK_EQ_INT(fr.tp.sec, 55);
    CHECK_EQ_INT(fr.tp.min, 30);
    CHECK_EQ_INT(fr.tp.hour, 10);
    CHECK_EQ_INT(fr.tp.day, 12);
}

MF_TEST(parse_uplink_ec_and_tp)
{
    uint8_t b[80];
    struct gw_frame fr;
    size_t n = hx(V_FWDRSP, b, sizeof b);
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), 0);
    CHECK_EQ_INT(fr.dir, 1);
    CHECK_EQ_INT(fr.fcb_acd, 1);
    CHECK(fr.pw == NULL); /* no PW uplink for AFN 10 */
    CHECK_EQ_INT(fr.has_ec, 1);
    CHECK_EQ_INT(fr.ec1, 0x4F);
    CHECK_EQ_INT(fr.ec2, 0);
    CHECK_EQ_INT(fr.tp.pfc, 0);
    CHECK_EQ_INT(fr.tp.sec, 6);
    CHECK_EQ_INT(fr.tp.min, 50);
    CHECK_EQ_INT(fr.units_len, 4 + 3 + 20);
}

MF_TEST(parse_rejects_damaged)
{
    uint8_t b[64];
    struct gw_frame fr;
    size_t n = hx(V_HB02, b, sizeof b);
    CHECK_EQ_INT(gw_frame_parse(b, n - 1, GW_PW_LEN, &fr), MF_EINVAL);
    CHECK_EQ_INT(gw_frame_parse(b, 19, GW_PW_LEN, &fr), MF_EINVAL);
    b[20] ^= 1; /* data byte: checksum now wrong */
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), MF_EINVAL);
    b[20] ^= 1;
    b[n - 1] = 0x17;
    CHECK_EQ_INT(gw_frame_parse(b, n, GW_PW_LEN, &fr), MF_EINVAL);
    /* every single-byte corruption and truncation of every prefix: error or ok, no crash */
    n = hx(V_FWDRSP, b, sizeof b);
    for (size_t k = 0; k <= n; k++) {
        uint8_t *c = malloc(k ? k : 1);
        memcpy(c, b, k);
        int rc = gw_frame_parse(c, k, GW_PW_LEN, &fr);
        CHECK(k == n ? rc == 0 : rc == MF_EINVAL);
        free(c);
    }
}

MF_TEST(encode_matches_vectors)
{
    uint8_t exp[64], out[64];
    size_t n;
    struct gw_frame_out fo;
    memset(&fo, 0, sizeof fo);

    /* confirm-01: master all-confirm of a login, MSA 1 */
    fo.c = gw_c_down(0, 0, 0, 11);
    fo.addr.a1 = 0x2449;
    fo.addr.a2 = 0x5845;
    fo.addr.msa = 1;
    fo.afn = 0;
    fo.seq.fir = fo.seq.fin = 1;
    fo.units = (const uint8_t *)"\x00\x00\x01\x00";
    fo.units_len = 4;
    n = hx(V_CONFIRM01, exp, sizeof exp);
    CHECK_EQ_INT(gw_frame_encode(&fo, out, sizeof out), (int)n);
    CHECK_MEM(out, exp, n);
    CHECK_EQ_INT(gw_frame_encode(&fo, out, n - 1), MF_ERANGE);

    /* c1-f129-req-02: read with Tp */
    memset(&fo, 0, sizeof fo);
    fo.c = 0x4B;
    fo.addr.a1 = 0x0171;
    fo.addr.a2 = 0x0822;
    fo.addr.msa = 1;
    fo.afn = 0x0C;
    fo.seq.fir = fo.seq.fin = 1;
    fo.seq.pseq = 2;
    fo.units = (const uint8_t *)"\x01\x01\x01\x10";
    fo.units_len = 4;
    fo.has_tp = 1;
    fo.tp.pfc = 2;
    fo.tp.sec = 39;
    fo.tp.min = 19;
    fo.tp.hour = 16;
    fo.tp.day = 28;
    n = hx(V_F129REQ, exp, sizeof exp);
    CHECK_EQ_INT(gw_frame_encode(&fo, out, sizeof out), (int)n);
    CHECK_MEM(out, exp, n);

    /* login-02: uplink with EC */
    memset(&fo, 0, sizeof fo);
    fo.c = gw_c_up(1, 1, 9);
    fo.addr.a1 = 0x2449;
    fo.addr.a2 = 0x5845;
    fo.afn = 2;
    fo.seq.fir = fo.seq.fin = fo.seq.con = 1;
    fo.units = (const uint8_t *)"\x00\x00\x01\x00";
    fo.units_len = 4;
    fo.has_ec = 1;
    fo.ec1 = 28;
    fo.ec2 = 4;
    n = hx(V_LOGIN02, exp, sizeof exp);
    CHECK_EQ_INT(gw_frame_encode(&fo, out, sizeof out), (int)n);
    CHECK_MEM(out, exp, n);
}

MF_TEST(encode_with_pw_matches_ctl_f49)
{
    uint8_t exp[80], out[80], pw[16] = {0};
    size_t n = hx(V_CTLF49, exp, sizeof exp);
    struct gw_frame_out fo;
    memset(&fo, 0, sizeof fo);
    fo.c = 0x4A;
    fo.addr.a1 = 0x0200;
    fo.addr.a2 = 0x1234;
    fo.addr.msa = 2;
    fo.afn = 5;
    fo.seq.fir = fo.seq.fin = fo.seq.con = 1;
    fo.seq.pseq = 1;
    fo.units = (const uint8_t *)"\x00\x00\x01\x06\x01";
    fo.units_len = 5;
    fo.pw = pw;
    fo.pw_len = 16;
    fo.has_tp = 1;
    fo.tp.pfc = 1;
    fo.tp.sec = 7;
    fo.tp.min = 56;
    fo.tp.hour = 23;
    fo.tp.day = 21;
    fo.tp.delay_min = 5;
    CHECK_EQ_INT(gw_frame_encode(&fo, out, sizeof out), (int)n);
    CHECK_MEM(out, exp, n);
}

MF_TEST(afn_has_pw_table)
{
    static const uint8_t down_pw[] = {0x01, 0x04, 0x05, 0x06, 0x0F, 0x10};
    int cnt = 0;
    for (unsigned a = 0; a < 256; a++)
        cnt += gw_afn_has_pw(0, (uint8_t)a);
    CHECK_EQ_INT(cnt, 6);
    for (size_t i = 0; i < sizeof down_pw; i++)
        CHECK_EQ_INT(gw_afn_has_pw(0, down_pw[i]), 1);
    CHECK_EQ_INT(gw_afn_has_pw(1, 0x06), 1);
    CHECK_EQ_INT(gw_afn_has_pw(1, 0x10), 0);
    CHECK_EQ_INT(gw_afn_has_pw(1, 0x04), 0);
}

static void check_dadt(const char *hex, uint16_t pn, uint8_t fn)
{
    uint8_t exp[4], out[4];
    struct gw_dadt d;
    hx(hex, exp, 4);
    CHECK_EQ_INT(gw_dadt_encode(pn, fn, out), 0);
    CHECK_MEM(out, exp, 4);
    CHECK_EQ_INT(gw_dadt_decode(exp, &d), 0);
    CHECK_EQ_INT(d.npn, 1);
    CHECK_EQ_INT(d.pn[0], pn);
    CHECK_EQ_INT(d.nfn, 1);
    CHECK_EQ_INT(d.fn[0], fn);
}

MF_TEST(dadt_worked_examples)
{
    check_dadt("00 00 01 00", 0, 1);
    check_dadt("00 00 02 00", 0, 2);
    check_dadt("00 00 04 00", 0, 3);
    check_dadt("00 00 02 01", 0, 10);
    check_dadt("00 00 40 03", 0, 31);
    check_dadt("00 00 01 06", 0, 49);
    check_dadt("01 01 01 03", 1, 25);
    check_dadt("10 01 01 03", 5, 25);
    check_dadt("01 01 01 04", 1, 33);
    check_dadt("01 01 01 10", 1, 129);
    check_dadt("02 01 01 10", 2, 129);
    check_dadt("01 02 01 10", 9, 129);
    check_dadt("80 FF 01 10", 2040, 129);
    check_dadt("01 01 01 14", 1, 161);
    check_dadt("01 01 02 15", 1, 170);
    check_dadt("01 01 10 0C", 1, 101);
    check_dadt("FF 00 01 10", GW_PN_ALL, 129);
    check_dadt("01 01 80 1E", 1, 248);
}

MF_TEST(dadt_sets_and_errors)
{
    uint8_t b[4], out[4];
    struct gw_dadt d;
    uint16_t pns[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t fns[2] = {1, 3};

    hx("FF 01 01 10", b, 4);
    CHECK_EQ_INT(gw_dadt_decode(b, &d), 0);
    CHECK_EQ_INT(d.npn, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(d.pn[i], i + 1);
    CHECK_EQ_INT(gw_dadt_encode_set(pns, 8, (const uint8_t *)"\x81", 1, out), 0);
    CHECK_MEM(out, b, 4);

    hx("01 01 05 00", b, 4); /* p1 F1 + F3 */
    CHECK_EQ_INT(gw_dadt_decode(b, &d), 0);
    CHECK_EQ_INT(d.nfn, 2);
    CHECK_EQ_INT(d.fn[0], 1);
    CHECK_EQ_INT(d.fn[1], 3);
    CHECK_EQ_INT(gw_dadt_encode_set(pns, 1, fns, 2, out), 0);
    CHECK_MEM(out, b, 4);

    hx("01 00 01 00", b, 4); /* DA2 = 0 with DA1 not in {0, FF} */
    CHECK_EQ_INT(gw_dadt_decode(b, &d), MF_EINVAL);
    hx("00 01 01 00", b, 4); /* DA2 != 0 with no point bit */
    CHECK_EQ_INT(gw_dadt_decode(b, &d), MF_EINVAL);
    hx("00 00 01 1F", b, 4); /* DT2 = 31 */
    CHECK_EQ_INT(gw_dadt_decode(b, &d), MF_EINVAL);
    hx("00 00 00 00", b, 4); /* no Fn */
    CHECK_EQ_INT(gw_dadt_decode(b, &d), MF_EINVAL);

    uint16_t mixed[2] = {8, 9};
    CHECK_EQ_INT(gw_dadt_encode_set(mixed, 2, fns, 1, out), MF_EINVAL);
    uint8_t fmixed[2] = {8, 9};
    CHECK_EQ_INT(gw_dadt_encode_set(pns, 1, fmixed, 2, out), MF_EINVAL);
    CHECK_EQ_INT(gw_dadt_encode(2041, 1, out), MF_EINVAL);
    CHECK_EQ_INT(gw_dadt_encode(1, 0, out), MF_EINVAL);
    CHECK_EQ_INT(gw_dadt_encode(1, 249, out), MF_EINVAL);
}

MF_TEST(terminal_key)
{
    char s[GW_TERMINAL_STRLEN];
    uint16_t a1 = 0, a2 = 0;
    gw_terminal_format(0x2449, 0x5845, s);
    CHECK_STR(s, "2449-5845");
    gw_terminal_format(0x0171, 0x0822, s);
    CHECK_STR(s, "0171-0822");
    gw_terminal_format(0x0200, 0xABCD, s);
    CHECK_STR(s, "0200-ABCD");
    CHECK_EQ_INT(gw_terminal_parse("0200-abcd", &a1, &a2), 0);
    CHECK_EQ_INT(a1, 0x0200);
    CHECK_EQ_INT(a2, 0xABCD);
    CHECK_EQ_INT(gw_terminal_parse("96123456", &a1, &a2), 0);
    CHECK_EQ_INT(a1, 0x9612);
    CHECK_EQ_INT(a2, 0x3456);
    CHECK_EQ_INT(gw_terminal_parse("0200-12345", &a1, &a2), MF_EINVAL);
    CHECK_EQ_INT(gw_terminal_parse("0200_1234", &a1, &a2), MF_EINVAL);
    CHECK_EQ_INT(gw_terminal_parse("02G0-1234", &a1, &a2), MF_EINVAL);
    CHECK_EQ_INT(gw_terminal_parse("", &a1, &a2), MF_EINVAL);
    CHECK_EQ_INT(gw_terminal_key(0x2449, 0x5845), 0x24495845u);
}
