/* gw_frame.c -- Q/GDW 1376.1 frame level: resynchronising stream scanner, header parser,
 * frame encoder, DA/DT identifiers and the canonical terminal key.
 *
 * The scanner follows the standard's receiver order (protocol-3761.md section 1.3): a
 * candidate starts at 0x68 and must show 0x68 again at offset 5, two equal L copies with
 * protocol identifier 2 and 12 <= L1 <= max; then, once L1 + 8 bytes are there, the end byte
 * 0x16 and the checksum. A failing candidate costs one byte and the scan goes on, so a
 * corrupted frame never hides the next good one for longer than its own bytes.
 *
 * Invariants: nothing here reads outside the (buf, len) it was given; every length read
 * from the wire is compared with what is left before it is used.
 * Callers: front (scan + parse per connection), sim, worker (parse), `meterflow decode`.
 * Thread: pure and reentrant. */
#include "meterflow/gw3761.h"
#include "proto/gw_int.h"

#include <string.h>

/* Header check of a candidate at b[0..6). Returns L1, or 0 if it cannot start a frame. */
static size_t hdr_l1(const uint8_t *b, size_t max_frame)
{
    uint16_t l = (uint16_t)(b[1] | b[2] << 8);
    uint16_t l2 = (uint16_t)(b[3] | b[4] << 8);
    size_t l1;

    if (b[0] != 0x68 || b[5] != 0x68 || l != l2 || (l & 3u) != 2u)
        return 0;
    l1 = (size_t)(l >> 2);
    if (l1 < 12u || l1 + 8u > max_frame)
        return 0;
    return l1;
}

uint8_t gw_sum8(const uint8_t *p, size_t n)
{
    const uint64_t m = 0x00FF00FF00FF00FFull;
    uint64_t s = 0;
    size_t i = 0;
    /* per word: add byte pairs into four 16-bit lanes (<= 510 each), then the multiply
     * adds the lanes into the top 16 bits (<= 2040): exact, no lane overflow */
    for (; i + 8u <= n; i += 8u) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w = (w & m) + (w >> 8 & m);
        s += (w * 0x0001000100010001ull) >> 48;
    }
    for (; i < n; i++)
        s += p[i];
    return (uint8_t)s;
}

int gw_frame_scan(const uint8_t *buf, size_t len, size_t max_frame, size_t *start, size_t *flen,
                  size_t *skipped_bad)
{
    size_t i = 0, bad = 0;

    if (max_frame > GW_FRAME_MAX)
        max_frame = GW_FRAME_MAX;
    for (;;) {
        const uint8_t *p = i < len ? memchr(buf + i, 0x68, len - i) : NULL;
        size_t l1;

        if (!p) {
            i = len; /* no start byte at all: everything is garbage */
            break;
        }
        i = (size_t)(p - buf);
        if (len - i < 6u)
            break; /* header incomplete */
        l1 = hdr_l1(p, max_frame);
        if (l1 == 0) {
            bad++;
            i++;
            continue;
        }
        if (len - i < l1 + 8u)
            break; /* plausible header, body incomplete: keep it */
        if (p[l1 + 7u] != 0x16 || gw_sum8(p + 6, l1) != p[l1 + 6u]) {
            bad++;
            i++;
            continue;
        }
        *start = i;
        *flen = l1 + 8u;
        if (skipped_bad)
            *skipped_bad = bad;
        return 0;
    }
    *start = i;
    *flen = 0;
    if (skipped_bad)
        *skipped_bad = bad;
    return MF_AGAIN;
}

int gw_afn_has_pw(uint8_t dir, uint8_t afn)
{
    if (dir)
        return afn == GW_AFN_AUTH;
    switch (afn) {
    case GW_AFN_RESET:
    case GW_AFN_SET:
    case GW_AFN_CONTROL:
    case GW_AFN_AUTH:
    case GW_AFN_FILE:
    case GW_AFN_FORWARD:
        return 1;
    default:
        return 0;
    }
}

/* Two BCD digits; sets *ok = 0 on a non-decimal nibble. */
static uint8_t bcd2(uint8_t b, uint8_t *ok)
{
    if ((b & 0x0Fu) > 9u || (b >> 4) > 9u)
        *ok = 0;
    return (uint8_t)((b >> 4) * 10u + (b & 0x0Fu));
}

static uint8_t to_bcd2(uint8_t v)
{
    return (uint8_t)((v / 10u % 10u) << 4 | v % 10u);
}

static void tp_decode(const uint8_t *b, struct gw_tp *tp)
{
    uint8_t ok = 1;
    tp->pfc = b[0];
    tp->sec = bcd2(b[1], &ok);
    tp->min = bcd2(b[2], &ok);
    tp->hour = bcd2(b[3], &ok);
    tp->day = bcd2(b[4], &ok);
    tp->delay_min = b[5];
    if (tp->sec > 59 || tp->min > 59 || tp->hour > 23 || tp->day < 1 || tp->day > 31)
        ok = 0;
    tp->valid = ok;
}

static void tp_encode(const struct gw_tp *tp, uint8_t *b)
{
    b[0] = tp->pfc;
    b[1] = to_bcd2(tp->sec);
    b[2] = to_bcd2(tp->min);
    b[3] = to_bcd2(tp->hour);
    b[4] = to_bcd2(tp->day);
    b[5] = tp->delay_min;
}

int gw_frame_parse(const uint8_t *raw, size_t len, size_t pw_len, struct gw_frame *fr)
{
    size_t l1, aux, off;

    if (len < GW_FRAME_MIN)
        return MF_EINVAL;
    l1 = hdr_l1(raw, GW_FRAME_MAX);
    if (l1 == 0 || l1 + 8u != len || raw[len - 1] != 0x16 || gw_sum8(raw + 6, l1) != raw[len - 2])
        return MF_EINVAL;
    fr->raw = raw;
    fr->raw_len = len;
    fr->c = raw[6];
    fr->dir = (uint8_t)(raw[6] >> 7);
    fr->prm = (uint8_t)(raw[6] >> 6 & 1u);
    fr->fcb_acd = (uint8_t)(raw[6] >> 5 & 1u);
    fr->fcv = (uint8_t)(raw[6] >> 4 & 1u);
    fr->fc = (uint8_t)(raw[6] & 15u);
    fr->addr.a1 = (uint16_t)(raw[7] | raw[8] << 8);
    fr->addr.a2 = (uint16_t)(raw[9] | raw[10] << 8);
    fr->addr.msa = (uint8_t)(raw[11] >> 1);
    fr->addr.group = (uint8_t)(raw[11] & 1u);
    fr->afn = raw[12];
    fr->seq.tpv = (uint8_t)(raw[13] >> 7);
    fr->seq.fir = (uint8_t)(raw[13] >> 6 & 1u);
    fr->seq.fin = (uint8_t)(raw[13] >> 5 & 1u);
    fr->seq.con = (uint8_t)(raw[13] >> 4 & 1u);
    fr->seq.pseq = (uint8_t)(raw[13] & 15u);

    fr->pw_len = gw_afn_has_pw(fr->dir, fr->afn) ? pw_len : 0;
    fr->has_ec = (uint8_t)(fr->dir && fr->fcb_acd);
    fr->has_tp = fr->seq.tpv;
    aux = fr->pw_len + (fr->has_ec ? GW_EC_LEN : 0u) + (fr->has_tp ? GW_TP_LEN : 0u);
    /* user data = C(1) A(5) AFN(1) SEQ(1) units AUX; at least one DA/DT must remain */
    if (pw_len > GW_L1_MAX || l1 < 8u + 4u + aux)
        return MF_EINVAL;
    fr->units = raw + 14;
    fr->units_len = l1 - 8u - aux;
    off = 14u + fr->units_len;
    fr->pw = fr->pw_len ? raw + off : NULL;
    off += fr->pw_len;
    fr->ec1 = fr->ec2 = 0;
    if (fr->has_ec) {
        fr->ec1 = raw[off];
        fr->ec2 = raw[off + 1];
        off += GW_EC_LEN;
    }
    if (fr->has_tp)
        tp_decode(raw + off, &fr->tp);
    else
        memset(&fr->tp, 0, sizeof(fr->tp));
    return 0;
}

int gw_frame_encode(const struct gw_frame_out *fo, uint8_t *out, size_t cap)
{
    size_t pw_len = fo->pw ? fo->pw_len : 0;
    size_t l1 = 8u + fo->units_len + pw_len + (fo->has_ec ? GW_EC_LEN : 0u) +
                (fo->has_tp ? GW_TP_LEN : 0u);
    struct gw_seq seq = fo->seq;
    size_t off;
    uint16_t l;

    if (fo->units_len > GW_L1_MAX || pw_len > GW_L1_MAX || l1 > GW_L1_MAX || l1 + 8u > cap)
        return MF_ERANGE;
    l = (uint16_t)(l1 << 2 | 2u);
    out[0] = 0x68;
    out[1] = out[3] = (uint8_t)(l & 0xFFu);
    out[2] = out[4] = (uint8_t)(l >> 8);
    out[5] = 0x68;
    out[6] = fo->c;
    out[7] = (uint8_t)(fo->addr.a1 & 0xFFu);
    out[8] = (uint8_t)(fo->addr.a1 >> 8);
    out[9] = (uint8_t)(fo->addr.a2 & 0xFFu);
    out[10] = (uint8_t)(fo->addr.a2 >> 8);
    out[11] = (uint8_t)((fo->addr.msa & 0x7Fu) << 1 | (fo->addr.group & 1u));
    out[12] = fo->afn;
    seq.tpv = fo->has_tp ? 1 : 0;
    out[13] = gw_seq_byte(&seq);
    off = 14;
    if (fo->units_len)
        memcpy(out + off, fo->units, fo->units_len);
    off += fo->units_len;
    if (pw_len) {
        memcpy(out + off, fo->pw, pw_len);
        off += pw_len;
    }
    if (fo->has_ec) {
        out[off++] = fo->ec1;
        out[off++] = fo->ec2;
    }
    if (fo->has_tp) {
        tp_encode(&fo->tp, out + off);
        off += GW_TP_LEN;
    }
    out[off] = gw_sum8(out + 6, l1);
    out[off + 1] = 0x16;
    return (int)(off + 2u);
}

/* ---- DA/DT ---- */

int gw_dadt_decode(const uint8_t b[4], struct gw_dadt *d)
{
    uint8_t da1 = b[0], da2 = b[1], dt1 = b[2], dt2 = b[3];

    d->npn = 0;
    d->nfn = 0;
    if (da2 == 0) {
        if (da1 == 0)
            d->pn[d->npn++] = 0;
        else if (da1 == 0xFF)
            d->pn[d->npn++] = GW_PN_ALL;
        else
            return MF_EINVAL;
    } else {
        if (da1 == 0)
            return MF_EINVAL;
        for (unsigned bits = da1; bits; bits &= bits - 1u)
            d->pn[d->npn++] = (uint16_t)((da2 - 1u) * 8u + (unsigned)__builtin_ctz(bits) + 1u);
    }
    if (dt2 > 30u || dt1 == 0)
        return MF_EINVAL;
    for (unsigned bits = dt1; bits; bits &= bits - 1u)
        d->fn[d->nfn++] = (uint8_t)(dt2 * 8u + (unsigned)__builtin_ctz(bits) + 1u);
    return 0;
}

/* DA bytes for one pn; 0 or MF_EINVAL. */
static int da_one(uint16_t pn, uint8_t *da1, uint8_t *da2)
{
    if (pn == 0) {
        *da1 = 0;
        *da2 = 0;
    } else if (pn == GW_PN_ALL) {
        *da1 = 0xFF;
        *da2 = 0;
    } else if (pn <= 2040u) {
        *da1 = (uint8_t)(1u << ((pn - 1u) % 8u));
        *da2 = (uint8_t)((pn - 1u) / 8u + 1u);
    } else {
        return MF_EINVAL;
    }
    return 0;
}

int gw_dadt_encode(uint16_t pn, uint8_t fn, uint8_t out[4])
{
    return gw_dadt_encode_set(&pn, 1, &fn, 1, out);
}

int gw_dadt_encode_set(const uint16_t *pn, size_t npn, const uint8_t *fn, size_t nfn,
                       uint8_t out[4])
{
    uint8_t da1 = 0, da2 = 0, dt1 = 0, dt2 = 0;

    if (npn == 0 || nfn == 0 || npn > 8u || nfn > 8u)
        return MF_EINVAL;
    for (size_t i = 0; i < npn; i++) {
        uint8_t a1, a2;
        if (da_one(pn[i], &a1, &a2) != 0)
            return MF_EINVAL;
        /* p0 and "all" stand alone; real points must share one group */
        if (i > 0 && (a2 != da2 || a2 == 0))
            return MF_EINVAL;
        da1 |= a1;
        da2 = a2;
    }
    for (size_t i = 0; i < nfn; i++) {
        uint8_t g;
        if (fn[i] < 1u || fn[i] > 248u)
            return MF_EINVAL;
        g = (uint8_t)((fn[i] - 1u) / 8u);
        if (i > 0 && g != dt2)
            return MF_EINVAL;
        dt1 |= (uint8_t)(1u << ((fn[i] - 1u) % 8u));
        dt2 = g;
    }
    out[0] = da1;
    out[1] = da2;
    out[2] = dt1;
    out[3] = dt2;
    return 0;
}

/* ---- terminal key ---- */

static const char hexdig[] = "0123456789ABCDEF";

void gw_terminal_format(uint16_t a1, uint16_t a2, char *out)
{
    for (int i = 0; i < 4; i++) {
        out[i] = hexdig[(unsigned)a1 >> (12 - 4 * i) & 15u];
        out[5 + i] = hexdig[(unsigned)a2 >> (12 - 4 * i) & 15u];
    }
    out[4] = '-';
    out[9] = '\0';
}

static int hex4(const char *s, uint16_t *v)
{
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return MF_EINVAL;
        x = x << 4 | d;
    }
    *v = (uint16_t)x;
    return 0;
}

int gw_terminal_parse(const char *s, uint16_t *a1, uint16_t *a2)
{
    size_t n = strnlen(s, 10);
    uint16_t r, t;

    if (n == 9 && s[4] == '-') {
        if (hex4(s, &r) != 0 || hex4(s + 5, &t) != 0)
            return MF_EINVAL;
    } else if (n == 8) {
        if (hex4(s, &r) != 0 || hex4(s + 4, &t) != 0)
            return MF_EINVAL;
    } else {
        return MF_EINVAL;
    }
    *a1 = r;
    *a2 = t;
    return 0;
}
