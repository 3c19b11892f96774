/* gw_format.c -- Appendix A data formats of Q/GDW 1376.1, both ways (protocol-3761.md s. 8).
 *
 * Numbers are kept exact: a mantissa and a power of ten, never a float. Each numeric format
 * is one row of a table (length, power of ten, sign bit, which bits of the top byte are a
 * digit); times are a string of field letters in wire order. Decoding keeps the three
 * outcomes apart: OK, ABSENT (every byte 0xEE) and INVALID (a nibble A..F after masking the
 * sign/G/week bits, or a time out of range) -- never a silent zero.
 *
 * The BCD lookup table maps a byte to 0..99, or 0xFF when a nibble is not a decimal digit;
 * it is what makes the hot path (F129: one time, six energies) a handful of loads.
 * Thread: pure, reentrant; callers are gw_decode.c, gw_build.c and the tests. */
#include "meterflow/gw3761_data.h"

#include <string.h>

#include "proto/gw_int.h"

#define X_ 0xFF
#define ROW(t) \
    (t) + 0, (t) + 1, (t) + 2, (t) + 3, (t) + 4, (t) + 5, (t) + 6, (t) + 7, (t) + 8, (t) + 9
#define BAD6 X_, X_, X_, X_, X_, X_
/* byte -> two BCD digits as 0..99, X_ if either nibble > 9 */
const uint8_t gw_bcd_lut[256] = {
    ROW(0),  BAD6, ROW(10), BAD6, ROW(20), BAD6, ROW(30), BAD6, ROW(40), BAD6,
    ROW(50), BAD6, ROW(60), BAD6, ROW(70), BAD6, ROW(80), BAD6, ROW(90), BAD6,
    /* 0xA0 .. 0xFF */
    BAD6, BAD6, BAD6, BAD6, BAD6, BAD6, BAD6, BAD6,
    BAD6, BAD6, BAD6, BAD6, BAD6, BAD6, BAD6, BAD6,
};

const uint8_t gw_fmt_lens[29] = {0, 6, 2, 4, 1, 2, 2, 2, 2, 3, 3, 4, 6, 4, 5,
                                    5, 4, 4, 3, 2, 3, 2, 1, 3, 2, 3, 2, 4, 4};

size_t gw_fmt_len(unsigned fmt)
{
    return fmt < 29u ? gw_fmt_lens[fmt] : 0u;
}

void gw_fmt_absent(unsigned fmt, uint8_t *out)
{
    memset(out, 0xEE, gw_fmt_len(fmt));
}

/* Numeric formats. tophi: which bits of the most significant byte's high nibble are a
 * digit (0xF0 a full digit, 0x70 a 3-bit digit under a D7 sign, 0 none). */
struct numfmt {
    uint8_t len;
    int8_t exp;
    uint8_t sign;
    uint8_t tophi;
};

static const struct numfmt numfmt[29] = {
    [2] = {2, 0, 0x10, 0x00},  [3] = {4, 0, 0x10, 0x00},  [4] = {1, 0, 0x80, 0x70},
    [5] = {2, -1, 0x80, 0x70}, [6] = {2, -2, 0x80, 0x70}, [7] = {2, -1, 0, 0xF0},
    [8] = {2, 0, 0, 0xF0},     [9] = {3, -4, 0x80, 0x70}, [10] = {3, 0, 0, 0xF0},
    [11] = {4, -2, 0, 0xF0},   [13] = {4, -4, 0, 0xF0},   [14] = {5, -4, 0, 0xF0},
    [22] = {1, -1, 0, 0xF0},   [23] = {3, -4, 0, 0xF0},   [25] = {3, -3, 0x80, 0x70},
    [26] = {2, -3, 0, 0xF0},   [27] = {4, 0, 0, 0xF0},
};

static int all_ee(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0xEE)
            return 0;
    return 1;
}

int gw_num_decode(unsigned fmt, const uint8_t *b, int64_t *m, int8_t *exp)
{
    const struct numfmt *nf;
    unsigned bad;
    int64_t v;
    uint8_t top;

    if (fmt >= 29u || numfmt[fmt].len == 0)
        return MF_EINVAL;
    nf = &numfmt[fmt];
    /* One pass over the digits: the lookup gives 0xFF for a non-BCD byte, whose bit 7 is
     * collected in `bad`; only then is the field checked for the all-0xEE "absent" mark
     * (0xEE is not BCD, so an absent field always takes that path). */
    top = b[nf->len - 1];
    {
        uint8_t d = gw_bcd_lut[top & (nf->tophi | 0x0Fu)];
        bad = d;
        v = d;
    }
    for (size_t i = nf->len - 1; i-- > 0;) {
        uint8_t d = gw_bcd_lut[b[i]];
        bad |= d;
        v = v * 100 + d;
    }
    if (bad & 0x80u) {
        *m = 0;
        *exp = 0;
        return all_ee(b, nf->len) ? GW_VS_ABSENT : GW_VS_INVALID;
    }
    *m = (top & nf->sign) ? -v : v;
    if (fmt == 2)
        *exp = (int8_t)(4 - (top >> 5)); /* G3G2G1 000 -> 10^4 .. 111 -> 10^-3 */
    else if (fmt == 3)
        *exp = (top & 0x40u) ? 3 : 0;   /* G = 1: MWh / yuan x 1000 */
    else
        *exp = nf->exp;
    return GW_VS_OK;
}

/* m * 10^from expressed at 10^to exactly; 0 or MF_ERANGE. */
static int rescale(int64_t m, int from, int to, int64_t *out)
{
    while (from > to) {
        if (m > INT64_MAX / 10 || m < INT64_MIN / 10)
            return MF_ERANGE;
        m *= 10;
        from--;
    }
    while (from < to) {
        if (m % 10 != 0)
            return MF_ERANGE;
        m /= 10;
        from++;
    }
    *out = m;
    return 0;
}

/* Write |v| as BCD into nf->len bytes (top byte digits limited by tophi), then the sign. */
static int put_digits(const struct numfmt *nf, int64_t v, uint8_t *out)
{
    int neg = v < 0;
    uint64_t a = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    if (neg && !nf->sign)
        return MF_ERANGE;
    for (size_t i = 0; i < nf->len; i++) {
        unsigned lo = (unsigned)(a % 10u), hi = (unsigned)(a / 10u % 10u);
        a /= 100u;
        if (i == nf->len - 1u) {
            if ((nf->tophi == 0 && hi != 0) || (nf->tophi == 0x70 && hi > 7u) || a != 0)
                return MF_ERANGE;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (neg && (v != 0))
        out[nf->len - 1] |= nf->sign;
    return 0;
}

int gw_num_encode(unsigned fmt, int64_t m, int8_t exp, uint8_t *out)
{
    const struct numfmt *nf;
    int64_t v;

    if (fmt >= 29u || numfmt[fmt].len == 0)
        return MF_EINVAL;
    nf = &numfmt[fmt];
    if (fmt == 2) {
        /* finest exponent that holds the value in three digits */
        for (int e = -3; e <= 4; e++) {
            if (rescale(m, exp, e, &v) == 0 && v <= 999 && v >= -999) {
                if (put_digits(nf, v, out) != 0)
                    return MF_ERANGE;
                out[1] |= (uint8_t)((4 - e) << 5);
                return 0;
            }
        }
        return MF_ERANGE;
    }
    if (fmt == 3) {
        if (rescale(m, exp, 0, &v) == 0 && put_digits(nf, v, out) == 0)
            return 0;
        if (rescale(m, exp, 3, &v) == 0 && put_digits(nf, v, out) == 0) {
            out[3] |= 0x40u;
            return 0;
        }
        return MF_ERANGE;
    }
    if (rescale(m, exp, nf->exp, &v) != 0)
        return MF_ERANGE;
    return put_digits(nf, v, out);
}

double gw_num_to_double(int64_t m, int8_t exp)
{
    double d = (double)m, p = 1.0;
    int e = exp < 0 ? -exp : exp;
    while (e-- > 0)
        p *= 10.0;
    return exp < 0 ? d / p : d * p;
}

/* ---- times ---- */

/* Field letters in wire order: s sec, m min, h hour, D day, M month, W week|month (A.1),
 * Y year. */
static const char *const timefmt[29] = {
    [1] = "smhDWY", [15] = "mhDMY", [16] = "smhD", [17] = "mhDM", [18] = "mhD",
    [19] = "mh",    [20] = "DMY",   [21] = "MY",   [24] = "hD",
};

static int days_in_month(unsigned year, unsigned mon)
{
    static const uint8_t dm[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon == 2 && year % 4u == 0 && (year % 100u != 0 || year % 400u == 0))
        return 29;
    return dm[mon];
}

/* Range checks shared by every time format; has_m/has_y say which fields the wire had. */
static int time_check(const struct gw_time *t, int has_d, int has_m, int has_y)
{
    if (t->sec > 59 || t->min > 59 || t->hour > 23 || (has_m && (t->mon < 1 || t->mon > 12)))
        return GW_VS_INVALID;
    if (has_d && (t->day < 1 ||
                  t->day > (has_m ? days_in_month(has_y ? t->year : 2000u, t->mon) : 31)))
        return GW_VS_INVALID;
    return GW_VS_OK;
}

/* A.15 (mm hh DD MM YY) and A.1 (ss mm hh DD WM YY): the formats of every reading and
 * clock, decoded without the generic field walk. */
static int time_fast(unsigned fmt, const uint8_t *b, struct gw_time *t)
{
    const uint8_t *p = fmt == 1 ? b + 1 : b;
    uint8_t s = fmt == 1 ? gw_bcd_lut[b[0]] : 0;
    uint8_t mi = gw_bcd_lut[p[0]], h = gw_bcd_lut[p[1]], d = gw_bcd_lut[p[2]];
    uint8_t mo = gw_bcd_lut[fmt == 1 ? p[3] & 0x1Fu : p[3]], y = gw_bcd_lut[p[4]];

    if ((s | mi | h | d | mo | y) & 0x80u) {
        memset(t, 0, sizeof(*t));
        return all_ee(b, gw_fmt_lens[fmt]) ? GW_VS_ABSENT : GW_VS_INVALID;
    }
    t->year = (uint16_t)(2000u + y);
    t->mon = mo;
    t->day = d;
    t->hour = h;
    t->min = mi;
    t->sec = s;
    t->wday = fmt == 1 ? (uint8_t)(p[3] >> 5) : 0;
    return time_check(t, 1, 1, 1);
}

int gw_time_decode(unsigned fmt, const uint8_t *b, struct gw_time *t)
{
    const char *f;
    size_t n;
    int has_y = 0, has_m = 0, has_d = 0;

    if (fmt == 15 || fmt == 1)
        return time_fast(fmt, b, t);
    if (fmt >= 29u || !timefmt[fmt])
        return MF_EINVAL;
    f = timefmt[fmt];
    n = gw_fmt_lens[fmt];
    memset(t, 0, sizeof(*t));
    if (all_ee(b, n))
        return GW_VS_ABSENT;
    for (size_t i = 0; i < n; i++) {
        uint8_t d = gw_bcd_lut[b[i]];
        if (d == X_)
            return GW_VS_INVALID;
        switch (f[i]) {
        case 's': t->sec = d; break;
        case 'm': t->min = d; break;
        case 'h': t->hour = d; break;
        case 'D': t->day = d; has_d = 1; break;
        case 'M': t->mon = d; has_m = 1; break;
        case 'Y': t->year = (uint16_t)(2000u + d); has_y = 1; break;
        default: break;
        }
    }
    return time_check(t, has_d, has_m, has_y);
}

static uint8_t bcd(unsigned v)
{
    return (uint8_t)((v / 10u % 10u) << 4 | v % 10u);
}

int gw_time_encode(unsigned fmt, const struct gw_time *t, uint8_t *out)
{
    const char *f;

    if (fmt >= 29u || !timefmt[fmt])
        return MF_EINVAL;
    f = timefmt[fmt];
    if (t->sec > 59 || t->min > 59 || t->hour > 23 || t->day > 31 || t->mon > 12 ||
        t->wday > 7 || t->year < 2000 || t->year > 2099)
        return MF_EINVAL;
    for (size_t i = 0; f[i]; i++) {
        switch (f[i]) {
        case 's': out[i] = bcd(t->sec); break;
        case 'm': out[i] = bcd(t->min); break;
        case 'h': out[i] = bcd(t->hour); break;
        case 'D': out[i] = bcd(t->day); break;
        case 'W': out[i] = (uint8_t)(t->wday << 5 | bcd(t->mon)); break;
        case 'M': out[i] = bcd(t->mon); break;
        case 'Y': out[i] = bcd((unsigned)(t->year - 2000u)); break;
        default: break;
        }
    }
    return 0;
}

int gw_addr_decode(const uint8_t b[6], uint64_t *addr)
{
    uint64_t v = 0;
    *addr = 0;
    if (all_ee(b, 6))
        return GW_VS_ABSENT;
    for (size_t i = 6; i-- > 0;) {
        uint8_t d = gw_bcd_lut[b[i]];
        if (d == X_)
            return GW_VS_INVALID;
        v = v * 100u + d;
    }
    *addr = v;
    return GW_VS_OK;
}

int gw_addr_encode(uint64_t addr, uint8_t out[6])
{
    if (addr > 999999999999ull)
        return MF_ERANGE;
    for (size_t i = 0; i < 6; i++) {
        out[i] = bcd((unsigned)(addr % 100u));
        addr /= 100u;
    }
    return 0;
}

/* ---- A.28 geographic coordinate ----
 *
 * Seconds (2 decimals) in two BCD bytes, least significant first, then minutes, then the
 * degrees: in the protocol text's 4-byte layout one byte [F, tens (D6..D4), units] (so
 * 0..79 degrees: longitudes of China, 73..135 E, do not fit); in the 5-byte layout of a
 * public terminal implementation two bytes [tens|units] [F, 000, hundreds]. F = 1 West /
 * South. The 3-bit degree tens and the zero bits D6..D4 of the 5-byte form are checked: a
 * set bit there is INVALID, not a digit silently dropped. */
static int geo_in_range(const struct gw_geo *g)
{
    return g->sec_x100 < 6000u && g->min < 60u &&
           (g->deg < 180u || (g->deg == 180u && g->min == 0 && g->sec_x100 == 0));
}

int gw_geo_decode(const uint8_t *b, size_t len, struct gw_geo *g)
{
    uint8_t s_lo, s_hi, mi, dlo, dhi = 0, top;

    memset(g, 0, sizeof(*g));
    if (len != GW_GEO_LEN4 && len != GW_GEO_LEN5)
        return MF_EINVAL;
    if (all_ee(b, len))
        return GW_VS_ABSENT;
    top = b[len - 1];
    s_lo = gw_bcd_lut[b[0]];
    s_hi = gw_bcd_lut[b[1]];
    mi = gw_bcd_lut[b[2]];
    if (len == GW_GEO_LEN4) {
        dlo = gw_bcd_lut[top & 0x7Fu];
    } else {
        dlo = gw_bcd_lut[b[3]];
        dhi = (top & 0x70u) ? X_ : gw_bcd_lut[top & 0x0Fu];
    }
    if ((s_lo | s_hi | mi | dlo | dhi) & 0x80u)
        return GW_VS_INVALID;
    g->sec_x100 = (uint16_t)(s_hi * 100u + s_lo);
    g->min = mi;
    g->deg = (uint16_t)(dhi * 100u + dlo);
    g->f = top >> 7;
    if (geo_in_range(g))
        return GW_VS_OK;
    memset(g, 0, sizeof(*g));
    return GW_VS_INVALID;
}

int gw_geo_encode(const struct gw_geo *g, size_t len, uint8_t *out)
{
    if (len != GW_GEO_LEN4 && len != GW_GEO_LEN5)
        return MF_EINVAL;
    if (!geo_in_range(g) || g->f > 1u)
        return MF_ERANGE;
    if (len == GW_GEO_LEN4 && g->deg > 79u)
        return MF_ERANGE;
    out[0] = bcd(g->sec_x100 % 100u);
    out[1] = bcd(g->sec_x100 / 100u);
    out[2] = bcd(g->min);
    out[3] = bcd(g->deg % 100u);
    if (len == GW_GEO_LEN5)
        out[4] = (uint8_t)(g->deg / 100u);
    out[len - 1] |= (uint8_t)(g->f << 7);
    return 0;
}

int64_t gw_geo_deg_e8(const struct gw_geo *g)
{
    /* hundredths of an arc second; 1 degree = 360000 of them, so x 10^8 / 360000 = x 2500/9,
     * rounded half away from zero (the largest value, 999 degrees, is far from overflow) */
    int64_t cs = ((int64_t)g->deg * 60 + g->min) * 6000 + g->sec_x100;
    int64_t v = (cs * 5000 + 9) / 18;
    return g->f ? -v : v;
}
