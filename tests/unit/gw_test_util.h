/* gw_test_util.h -- helpers shared by the codec tests (static functions; each test file
 * includes it once): hex to bytes, decode a frame into a static gw_decoded, find values and
 * check them against expectations written by hand. */
#ifndef MF_TEST_GW_UTIL_H
#define MF_TEST_GW_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"

static uint8_t tu_buf[GW_FRAME_MAX];
static size_t tu_len;
static struct gw_frame tu_fr;
static struct gw_decoded tu_dec;

MF_UNUSED static size_t tu_hex(const char *hex, uint8_t *out, size_t cap)
{
    int n = mf_hex_decode(hex, out, cap);
    if (n < 0) {
        fprintf(stderr, "bad hex in test: %.60s\n", hex);
        abort();
    }
    return (size_t)n;
}

/* Parse + decode a hex frame; returns gw_decode_units' status, or 99 if it did not parse. */
MF_UNUSED static int tu_decode_pw(const char *hex, size_t pw_len)
{
    tu_len = tu_hex(hex, tu_buf, sizeof tu_buf);
    if (gw_frame_parse(tu_buf, tu_len, pw_len, &tu_fr) != 0)
        return 99;
    return gw_decode_units(&tu_fr, &tu_dec);
}
#define tu_decode(hex) tu_decode_pw(hex, GW_PW_LEN)

/* Wrap hand-written data-unit bytes into a frame (the frame encoder is tested against the
 * public vectors on its own) and decode it. */
MF_UNUSED static int tu_decode_units(uint8_t dir, uint8_t afn, uint8_t seq_byte,
                                     const char *units_hex)
{
    static uint8_t u[GW_FRAME_MAX];
    struct gw_frame_out fo;
    int n;
    memset(&fo, 0, sizeof fo);
    fo.c = dir ? gw_c_up(0, 0, 8) : gw_c_down(1, 0, 0, 11);
    fo.addr.a1 = 0x4403;
    fo.addr.a2 = 0x0001;
    fo.afn = afn;
    fo.seq.fir = seq_byte >> 6 & 1;
    fo.seq.fin = seq_byte >> 5 & 1;
    fo.seq.con = seq_byte >> 4 & 1;
    fo.seq.pseq = seq_byte & 15;
    fo.units_len = tu_hex(units_hex, u, sizeof u);
    fo.units = u;
    n = gw_frame_encode(&fo, tu_buf, sizeof tu_buf);
    if (n < 0 || gw_frame_parse(tu_buf, (size_t)n, GW_PW_LEN, &tu_fr) != 0)
        return 99;
    tu_len = (size_t)n;
    return gw_decode_units(&tu_fr, &tu_dec);
}

MF_UNUSED static const struct gw_value *tu_val(unsigned unit, const char *name, unsigned idx)
{
    if (unit >= tu_dec.nunits)
        return NULL;
    return gw_unit_value(&tu_dec, &tu_dec.units[unit], name, (uint16_t)idx);
}

/* Value of event e (index in tu_dec.events) by name. */
MF_UNUSED static const struct gw_value *tu_ev(unsigned e, const char *name)
{
    if (e >= tu_dec.nevents)
        return NULL;
    const struct gw_event *ev = &tu_dec.events[e];
    for (unsigned i = ev->first; i < (unsigned)ev->first + ev->nval; i++)
        if (strcmp(tu_dec.vals[i].name, name) == 0)
            return &tu_dec.vals[i];
    return NULL;
}

/* value == m * 10^e exactly (scales compared as integers) */
MF_UNUSED static void tu_num(const struct gw_value *v, long long m, int e, const char *what,
                             int line)
{
    if (!v || v->kind != GW_VK_NUM || v->status != GW_VS_OK) {
        mf_test_fail(__FILE__, line, "%s: missing, not a number or not ok", what);
        return;
    }
    long long a = v->u.i, b = m;
    int ea = v->exp, eb = e;
    while (ea > eb) { a *= 10; ea--; }
    while (eb > ea) { b *= 10; eb--; }
    if (a != b)
        mf_test_fail(__FILE__, line, "%s = %lld e%d, expected %lld e%d", what,
                     (long long)v->u.i, v->exp, m, e);
}
#define NUM_IS(v, m, e) tu_num(v, m, e, #v, __LINE__)

MF_UNUSED static void tu_int(const struct gw_value *v, long long x, const char *what, int line)
{
    if (!v || (v->kind != GW_VK_INT && v->kind != GW_VK_ADDR) || v->status != GW_VS_OK ||
        v->u.i != x)
        mf_test_fail(__FILE__, line, "%s = %lld, expected %lld", what,
                     v ? (long long)v->u.i : -999LL, x);
}
#define INT_IS(v, x) tu_int(v, x, #v, __LINE__)

MF_UNUSED static void tu_time(const struct gw_value *v, int y, int mo, int d, int h, int mi,
                              int s, const char *what, int line)
{
    if (!v || v->kind != GW_VK_TIME || v->status != GW_VS_OK || v->u.t.year != y ||
        v->u.t.mon != mo || v->u.t.day != d || v->u.t.hour != h || v->u.t.min != mi ||
        v->u.t.sec != s)
        mf_test_fail(__FILE__, line, "%s: %04d-%02d-%02d %02d:%02d:%02d st %d", what,
                     v ? v->u.t.year : 0, v ? v->u.t.mon : 0, v ? v->u.t.day : 0,
                     v ? v->u.t.hour : 0, v ? v->u.t.min : 0, v ? v->u.t.sec : 0,
                     v ? v->status : -1);
}
#define TIME_IS(v, y, mo, d, h, mi, s) tu_time(v, y, mo, d, h, mi, s, #v, __LINE__)

MF_UNUSED static void tu_st(const struct gw_value *v, int st, const char *what, int line)
{
    if (!v || v->status != st)
        mf_test_fail(__FILE__, line, "%s: status %d, expected %d", what, v ? v->status : -1,
                     st);
}
#define ABSENT(v) tu_st(v, GW_VS_ABSENT, #v, __LINE__)
#define INVALID(v) tu_st(v, GW_VS_INVALID, #v, __LINE__)

#endif
