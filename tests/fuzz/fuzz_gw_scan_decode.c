/* fuzz_gw_scan_decode.c -- libFuzzer target for everything the codec does with outside
 * bytes: the stream scanner over the whole input, the header parser (16- and 2-byte PW), the
 * unit decoder, the DL/T 645 decoder on forwarded frames and on the raw input, and the
 * Appendix A format decoders. Beyond "no crash" it checks properties:
 *   - a frame the scanner accepts parses, and re-encoding its parsed fields gives the same
 *     bytes (when its Tp is valid BCD: an invalid Tp cannot be re-encoded);
 *   - scanning the input in two pieces (split at a point taken from the input) finds the
 *     same first frame as scanning it whole;
 *   - a number that decodes OK encodes back to the same value;
 *   - an A.28 coordinate that decodes OK encodes back to the same bytes (both layouts).
 * Outside BUILD=fuzz, tests/fuzz/replay_main.c replays the corpus as a test. */
#include <stdlib.h>
#include <string.h>

#include "meterflow/dlt645.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reencode(const struct gw_frame *fr)
{
    static uint8_t out[GW_FRAME_MAX];
    struct gw_frame_out fo;
    int n;
    if (fr->has_tp && !fr->tp.valid)
        return;
    memset(&fo, 0, sizeof fo);
    fo.c = fr->c;
    fo.addr = fr->addr;
    fo.afn = fr->afn;
    fo.seq = fr->seq;
    fo.units = fr->units;
    fo.units_len = fr->units_len;
    fo.pw = fr->pw;
    fo.pw_len = fr->pw_len;
    fo.has_ec = fr->has_ec;
    fo.ec1 = fr->ec1;
    fo.ec2 = fr->ec2;
    fo.has_tp = fr->has_tp;
    fo.tp = fr->tp;
    n = gw_frame_encode(&fo, out, sizeof out);
    if (n < 0 || (size_t)n != fr->raw_len || memcmp(out, fr->raw, fr->raw_len) != 0)
        abort();
}

static void decode_frame(const uint8_t *p, size_t n, size_t pw_len)
{
    static struct gw_decoded dec;
    struct gw_frame fr;
    if (gw_frame_parse(p, n, pw_len, &fr) != 0)
        return;
    check_reencode(&fr);
    (void)gw_decode_units(&fr, &dec);
    for (unsigned i = 0; i < dec.nvals; i++) {
        const struct gw_value *v = &dec.vals[i];
        if (v->kind == GW_VK_DLT645) {
            struct dlt645_frame f;
            struct gw_value vals[64];
            if (dlt645_decode(v->u.p, v->len, &f) == 0)
                (void)dlt645_values(&f, vals, 64);
        }
    }
}

static void formats(const uint8_t *data, size_t size)
{
    for (unsigned fmt = 1; fmt <= 28; fmt++) {
        size_t len = gw_fmt_len(fmt);
        int64_t m, m2;
        int8_t e, e2;
        uint8_t out[8];
        struct gw_time t;
        if (len == 0 || size < len)
            continue;
        if (gw_num_decode(fmt, data, &m, &e) == GW_VS_OK) {
            if (gw_num_encode(fmt, m, e, out) != 0 ||
                gw_num_decode(fmt, out, &m2, &e2) != GW_VS_OK)
                abort();
            while (e2 > e) { m2 *= 10; e2--; }
            while (e > e2) { m *= 10; e--; }
            if (m != m2)
                abort();
        }
        (void)gw_time_decode(fmt, data, &t);
    }
    /* A.28 in both layouts: every bit of an OK coordinate is meaningful (D6..D4 of the
     * 5-byte form must be 0), so it re-encodes to the very same bytes */
    for (size_t len = GW_GEO_LEN4; len <= GW_GEO_LEN5; len++) {
        struct gw_geo g;
        uint8_t out[GW_GEO_LEN5];
        if (size >= len && gw_geo_decode(data, len, &g) == GW_VS_OK &&
            (gw_geo_encode(&g, len, out) != 0 || memcmp(out, data, len) != 0))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t start, flen, bad, off = 0, split;
    struct dlt645_frame f;
    struct gw_value vals[64];

    /* whole-stream scan: every frame found is parsed and decoded */
    while (off < size && gw_frame_scan(data + off, size - off, GW_FRAME_MAX, &start, &flen,
                                       &bad) == 0) {
        decode_frame(data + off + start, flen, GW_PW_LEN);
        decode_frame(data + off + start, flen, 2);
        off += start + flen;
    }
    /* split property: the first frame is the same when the bytes arrive in two pieces */
    split = size ? data[0] % (size + 1) : 0;
    {
        size_t s1, f1, s2, f2;
        int r1 = gw_frame_scan(data, size, GW_FRAME_MAX, &s1, &f1, NULL);
        int r2 = gw_frame_scan(data, split, GW_FRAME_MAX, &s2, &f2, NULL);
        if (r2 == 0 && (r1 != 0 || s1 != s2 || f1 != f2))
            abort(); /* a prefix may not find a frame the whole input does not */
        if (r2 != 0) {
            /* keep from s2, append the rest: the same first frame as the whole input */
            int r3 = gw_frame_scan(data + s2, size - s2, GW_FRAME_MAX, &start, &flen, NULL);
            if (r3 != r1 || (r1 == 0 && (s2 + start != s1 || flen != f1)))
                abort();
        }
    }
    /* the input as one frame (no scanner) and as a DL/T 645 frame */
    decode_frame(data, size, GW_PW_LEN);
    if (dlt645_decode(data, size, &f) == 0)
        (void)dlt645_values(&f, vals, 64);
    formats(data, size);
    return 0;
}
