/* test_gw_decode.c -- every 376.1 frame of ../shared/vectors/public-3761.json decodes to
 * what its `meaning` says, asserted field by field with expectations written by hand from
 * that text; and every vector is covered (the list below is checked against the file). */
#include <jansson.h>

#include "gw_test_util.h"
#include "gw_vectors.h"
#include "meterflow/dlt645.h"

MF_TEST(vec_link_frames)
{
    CHECK_EQ_INT(tu_decode(V_LOGIN_01), 0);
    CHECK_EQ_INT(tu_fr.afn, 2);
    CHECK_EQ_INT(tu_dec.nunits, 1);
    CHECK_EQ_INT(tu_dec.units[0].pn, 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 1);
    CHECK_EQ_INT(tu_dec.units[0].nval, 0);
    CHECK_STR(tu_dec.units[0].name, "F1 login");
    CHECK_EQ_INT(tu_fr.seq.pseq, 8);

    CHECK_EQ_INT(tu_decode(V_HEARTBEAT_01), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 3);
    CHECK_EQ_INT(tu_dec.units[0].nval, 0); /* 2009 form: no clock */
    CHECK_EQ_INT(tu_decode(V_HEARTBEAT_03), 0);
    CHECK_EQ_INT(tu_dec.units[0].nval, 0);
    CHECK_EQ_INT(tu_fr.addr.a1, 0x2120);
    CHECK_EQ_INT(tu_fr.addr.a2, 0x0007);

    CHECK_EQ_INT(tu_decode(V_LOGOUT_01), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 2);
    CHECK_EQ_INT(tu_fr.seq.pseq, 1);

    CHECK_EQ_INT(tu_decode(V_LOGIN_02), 0);
    CHECK_EQ_INT(tu_fr.has_ec, 1);
    CHECK_EQ_INT(tu_fr.ec1, 28);
    CHECK_EQ_INT(tu_fr.ec2, 4);
    CHECK_EQ_INT(tu_dec.units[0].fn, 1);

    CHECK_EQ_INT(tu_decode(V_HEARTBEAT_02), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 3);
    const struct gw_value *clk = tu_val(0, "clock", 0);
    TIME_IS(clk, 2019, 7, 3, 17, 48, 22);
    CHECK(clk && clk->u.t.wday == 3);
}

MF_TEST(vec_master_confirms)
{
    CHECK_EQ_INT(tu_decode(V_CONFIRM_01), 0);
    CHECK_EQ_INT(tu_fr.dir, 0);
    CHECK_EQ_INT(tu_fr.c, 0x0B);
    CHECK_EQ_INT(tu_fr.addr.msa, 1);
    CHECK_EQ_INT(tu_dec.units[0].fn, 1);
    CHECK_EQ_INT(tu_dec.units[0].nval, 0);
    CHECK_EQ_INT(tu_decode(V_CONFIRM_02), 0);
    CHECK_EQ_INT(tu_fr.seq.pseq, 1);
    CHECK_EQ_INT(tu_dec.units[0].fn, 1);

    CHECK_EQ_INT(tu_decode(V_CONFIRM_03), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 3);
    INT_IS(tu_val(0, "afn", 0), 2);
    INT_IS(tu_val(0, "pn", 1), 0);
    INT_IS(tu_val(0, "fn", 1), 3);
    INT_IS(tu_val(0, "err", 1), 0);
    CHECK_STR(tu_dec.units[0].list, "items");
}

MF_TEST(vec_class1_requests)
{
    CHECK_EQ_INT(tu_decode(V_C1_F129_REQ_02), 0);
    CHECK_EQ_INT(tu_dec.nunits, 1);
    CHECK_EQ_INT(tu_dec.units[0].pn, 1);
    CHECK_EQ_INT(tu_dec.units[0].fn, 129);
    CHECK_EQ_INT(tu_dec.units[0].nval, 0);
    CHECK_EQ_INT(tu_decode(V_C1_F25_REQ), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 25);
    CHECK_EQ_INT(tu_fr.tp.pfc, 0x0B);
    CHECK_EQ_INT(tu_decode(V_C1_F2_REQ), 0);
    CHECK_EQ_INT(tu_dec.units[0].pn, 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 2);
    CHECK_EQ_INT(tu_fr.fc, 10);
}

MF_TEST(vec_f129_answer)
{
    CHECK_EQ_INT(tu_decode(V_C1_F129_RSP), 0);
    CHECK_EQ_INT(tu_fr.seq.fir, 0); /* device quirk: FIR=0 FIN=1 on a single answer */
    CHECK_EQ_INT(tu_fr.seq.fin, 1);
    CHECK_EQ_INT(tu_fr.seq.pseq, 2);
    CHECK_EQ_INT(tu_dec.units[0].fn, 129);
    CHECK_EQ_INT(tu_dec.units[0].pn, 1);
    TIME_IS(tu_val(0, "reading_time", 0), 2018, 8, 28, 16, 18, 0);
    INT_IS(tu_val(0, "tariff_count", 0), 4);
    NUM_IS(tu_val(0, "total_kwh", 0), 1, -2); /* 0.01 kWh */
    for (unsigned i = 1; i <= 4; i++)
        ABSENT(tu_val(0, "tariffs_kwh", i));
    CHECK(tu_val(0, "tariffs_kwh", 5) == NULL);
    CHECK_EQ_INT(tu_dec.units[0].nval, 7);
    CHECK_EQ_INT(tu_fr.tp.pfc, 2);
    CHECK_EQ_INT(tu_fr.tp.sec, 39);
}

MF_TEST(vec_f25_answer)
{
    CHECK_EQ_INT(tu_decode(V_C1_F25_RSP), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 25);
    TIME_IS(tu_val(0, "reading_time", 0), 2018, 8, 28, 16, 47, 0);
    NUM_IS(tu_val(0, "p_kw", 0), 0, 0);
    NUM_IS(tu_val(0, "pa_kw", 0), 0, 0);
    ABSENT(tu_val(0, "pb_kw", 0));
    ABSENT(tu_val(0, "pc_kw", 0));
    ABSENT(tu_val(0, "q_kvar", 0));
    ABSENT(tu_val(0, "qc_kvar", 0));
    NUM_IS(tu_val(0, "pf_pct", 0), 100, 0);
    NUM_IS(tu_val(0, "pfa_pct", 0), 100, 0);
    ABSENT(tu_val(0, "pfb_pct", 0));
    NUM_IS(tu_val(0, "ua_v", 0), 2427, -1);
    ABSENT(tu_val(0, "ub_v", 0));
    ABSENT(tu_val(0, "uc_v", 0));
    NUM_IS(tu_val(0, "ia_a", 0), 0, 0);
    ABSENT(tu_val(0, "ib_a", 0));
    ABSENT(tu_val(0, "i0_a", 0));
    ABSENT(tu_val(0, "s_kva", 0));
    ABSENT(tu_val(0, "sc_kva", 0));
    CHECK_EQ_INT(tu_dec.units[0].nval, 24);
    CHECK_EQ_INT(tu_dec.units[0].data_len, 67);
}

MF_TEST(vec_clock_answer)
{
    CHECK_EQ_INT(tu_decode(V_C1_F2_RSP), 0);
    const struct gw_value *c = tu_val(0, "clock", 0);
    TIME_IS(c, 2015, 12, 15, 11, 48, 49);
    CHECK(c && c->u.t.wday == 2);
}

MF_TEST(vec_daily_frozen)
{
    CHECK_EQ_INT(tu_decode(V_C2_F1_REQ), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 1);
    TIME_IS(tu_val(0, "td_d", 0), 2018, 8, 27, 0, 0, 0);
    CHECK_EQ_INT(tu_dec.units[0].nval, 1);

    CHECK_EQ_INT(tu_decode(V_C2_F1_RSP), 0);
    CHECK_EQ_INT(tu_dec.units[0].data_len, 94);
    TIME_IS(tu_val(0, "td_d", 0), 2018, 8, 27, 0, 0, 0);
    TIME_IS(tu_val(0, "reading_time", 0), 2018, 8, 27, 23, 59, 0);
    INT_IS(tu_val(0, "tariff_count", 0), 4);
    NUM_IS(tu_val(0, "total_kwh", 0), 1, -2);
    ABSENT(tu_val(0, "tariffs_kwh", 1));
    ABSENT(tu_val(0, "tariffs_kwh", 4));
    ABSENT(tu_val(0, "reactive_total_kvarh", 0));
    ABSENT(tu_val(0, "q1_total_kvarh", 0));
    ABSENT(tu_val(0, "q4_tariffs_kvarh", 4));
    CHECK_EQ_INT(tu_dec.units[0].nval, 3 + 4 * 5);
}

MF_TEST(vec_events)
{
    CHECK_EQ_INT(tu_decode(V_EV_ERC14_01), 0);
    CHECK_EQ_INT(tu_fr.c, 0xC4);
    CHECK_EQ_INT(tu_fr.seq.con, 1);
    INT_IS(tu_val(0, "ec1", 0), 1);
    INT_IS(tu_val(0, "ec2", 0), 0);
    INT_IS(tu_val(0, "pm", 0), 0);
    INT_IS(tu_val(0, "pn", 0), 1);
    CHECK_EQ_INT(tu_dec.units[0].nev, 1);
    CHECK_EQ_INT(tu_dec.events[0].erc, 14);
    CHECK_EQ_INT(tu_dec.events[0].le, 10);
    CHECK_EQ_INT(tu_dec.events[0].typed, 1);
    TIME_IS(tu_ev(0, "off_time"), 2010, 7, 31, 14, 40, 0);
    TIME_IS(tu_ev(0, "on_time"), 2010, 8, 3, 11, 31, 0);

    CHECK_EQ_INT(tu_decode(V_EV_ERC24), 0);
    INT_IS(tu_val(0, "ec1", 0), 110);
    CHECK_EQ_INT(tu_dec.events[0].erc, 24);
    CHECK_EQ_INT(tu_dec.events[0].le, 14);
    TIME_IS(tu_ev(0, "time"), 2010, 12, 7, 22, 9, 0);
    INT_IS(tu_ev(0, "pn"), 1);
    INT_IS(tu_ev(0, "start"), 0);
    INT_IS(tu_ev(0, "limit_flags"), 0);
    NUM_IS(tu_ev(0, "ua_v"), 2190, -1);
    NUM_IS(tu_ev(0, "ub_v"), 2200, -1);
    NUM_IS(tu_ev(0, "uc_v"), 2200, -1);
}

MF_TEST(vec_control_and_query)
{
    CHECK_EQ_INT(tu_decode(V_CTL_F49), 0);
    CHECK_EQ_INT(tu_dec.units[0].fn, 49);
    INT_IS(tu_val(0, "port", 0), 1);
    CHECK_EQ_INT(tu_fr.tp.delay_min, 5);

    CHECK_EQ_INT(tu_decode(V_QRY_F10), 0);
    INT_IS(tu_val(0, "count", 0), 3);
    INT_IS(tu_val(0, "serials", 1), 1);
    INT_IS(tu_val(0, "serials", 2), 2);
    INT_IS(tu_val(0, "serials", 3), 3);

    CHECK_EQ_INT(tu_decode(V_QRY_F10_RSP), 0);
    CHECK_STR(tu_dec.units[0].list, "meters");
    INT_IS(tu_val(0, "count", 0), 2);
    INT_IS(tu_val(0, "serial", 1), 1);
    INT_IS(tu_val(0, "pn", 1), 1);
    INT_IS(tu_val(0, "baud_code", 1), 6); /* 9600 bps */
    INT_IS(tu_val(0, "port", 1), 1);
    INT_IS(tu_val(0, "protocol", 1), 2);  /* AC sampling */
    INT_IS(tu_val(0, "addr", 1), 225);
    INT_IS(tu_val(0, "tariff_count", 1), 4);
    INT_IS(tu_val(0, "user_class", 1), 0xF5);
    INT_IS(tu_val(0, "serial", 2), 2);
    INT_IS(tu_val(0, "pn", 2), 2);
    INT_IS(tu_val(0, "baud_code", 2), 3); /* 2400 bps */
    INT_IS(tu_val(0, "port", 2), 31);
    INT_IS(tu_val(0, "protocol", 2), 30); /* 645-2007 */
    INT_IS(tu_val(0, "addr", 2), 151230011061LL);
    INT_IS(tu_val(0, "tariff_count", 2), 1);
    INT_IS(tu_val(0, "user_class", 2), 0x50);
    CHECK_EQ_INT(tu_fr.ec1, 0x4F);
}

MF_TEST(vec_forwarding_with_645)
{
    struct dlt645_frame f;
    struct gw_value v[8];
    const struct gw_value *fr;
    int old;

    CHECK_EQ_INT(tu_decode(V_FWD_READ_REQ), 0);
    INT_IS(tu_val(0, "port", 0), 31);
    INT_IS(tu_val(0, "ctrl", 0), 0x6B);
    INT_IS(tu_val(0, "frame_timeout", 0), 0xBC);
    INT_IS(tu_val(0, "byte_timeout_10ms", 0), 0x0A);
    INT_IS(tu_val(0, "len", 0), 16);
    fr = tu_val(0, "frame", 0);
    CHECK(fr && fr->kind == GW_VK_DLT645 && fr->len == 16);
    if (fr) {
        CHECK_EQ_INT(dlt645_decode(fr->u.p, fr->len, &f), 0);
        CHECK_EQ_INT(f.c, 0x11);
        CHECK_EQ_INT(dlt645_di(&f, &old), 0x00010000);
        CHECK_EQ_INT(old, 0);
    }

    CHECK_EQ_INT(tu_decode(V_FWD_READ_RSP), 0);
    INT_IS(tu_val(0, "port", 0), 31);
    INT_IS(tu_val(0, "len", 0), 20);
    fr = tu_val(0, "frame", 0);
    CHECK(fr && fr->len == 20);
    if (fr) {
        CHECK_EQ_INT(dlt645_decode(fr->u.p, fr->len, &f), 0);
        CHECK_EQ_INT(f.c, 0x91);
        CHECK_EQ_INT(dlt645_values(&f, v, 8), 1);
        CHECK_STR(v[0].name, "fwd_active_total_kwh");
        NUM_IS(&v[0], 678, -2);
    }
    CHECK_EQ_INT(tu_fr.tp.min, 50);
    CHECK_EQ_INT(tu_fr.tp.sec, 6);
}

/* Every 376.1 vector of the file is asserted above (or here, for any added later, at least
 * parses and decodes) -- so a new vector cannot be silently skipped. */
MF_TEST(vec_all_covered)
{
    static const char *const covered[] = {
        "login-01",       "heartbeat-01",   "logout-01",  "login-02",     "confirm-01",
        "heartbeat-02",   "confirm-02",     "heartbeat-03", "confirm-03", "c1-f129-req-02",
        "c1-f129-rsp",    "c1-f25-req",     "c1-f25-rsp", "c1-f2-req",    "c1-f2-rsp",
        "c2-f1-req",      "c2-f1-rsp",      "ev-erc14-01", "ev-erc24",    "ctl-f49",
        "qry-f10",        "qry-f10-rsp",    "fwd-read-req", "fwd-read-rsp"};
    char path[512];
    json_error_t err;
    json_t *root;
    size_t i, n3761 = 0;

    snprintf(path, sizeof path, "%s/vectors/public-3761.json", mf_test_shared_dir());
    root = json_load_file(path, 0, &err);
    CHECK(root != NULL);
    if (!root)
        return;
    for (i = 0; i < json_array_size(root); i++) {
        json_t *v = json_array_get(root, i);
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *proto = json_string_value(json_object_get(v, "protocol"));
        const char *hex = json_string_value(json_object_get(v, "hex"));
        int found = 0;
        if (!id || !proto || !hex || strcmp(proto, "3761") != 0)
            continue;
        n3761++;
        for (size_t k = 0; k < MF_ARRAY_LEN(covered); k++)
            found |= strcmp(covered[k], id) == 0;
        if (!found)
            mf_test_fail(__FILE__, __LINE__, "vector %s has no field-by-field test", id);
        if (tu_decode(hex) != 0)
            mf_test_fail(__FILE__, __LINE__, "vector %s does not decode cleanly", id);
    }
    CHECK_EQ_INT(n3761, MF_ARRAY_LEN(covered));
    json_decref(root);
}
