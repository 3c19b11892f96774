/* fuzz_proc_norm.c -- libFuzzer target for the worker's processing of outside data: the
 * first frame the scanner finds is parsed, decoded and normalised into records (with the
 * ingest-time anomaly rules on); then the input's bytes become daily indications for the
 * consumption and rollup functions. Beyond "no crash" it checks properties:
 *   - every record has a status in {ok, absent, invalid}, an item/quantity when it needs
 *     one, a finite value when ok, raw event bytes of Le + 2 <= 257;
 *   - a consumption with a value is never negative, and the rollup's collected count never
 *     exceeds the expected count.
 * Outside BUILD=fuzz, tests/fuzz/replay_main.c replays the corpus as a test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"
#include "meterflow/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(void)
{
    abort();
}

static int check_rec(void *opaque, const struct proc_rec *r)
{
    (void)opaque;
    switch (r->type) {
    case PROC_REC_ENERGY:
        if (r->u.energy.status > 2 || !r->u.energy.item ||
            (r->u.energy.status == 0 && !isfinite(r->u.energy.value)))
            fail();
        break;
    case PROC_REC_FROZEN:
        if (r->u.frozen.status > 2 || !r->u.frozen.item || r->u.frozen.kind < 1 ||
            r->u.frozen.kind > 3 || (r->u.frozen.status == 0 && !isfinite(r->u.frozen.value)))
            fail();
        break;
    case PROC_REC_CURVE:
        if (r->u.curve.status > 2 || !r->u.curve.item)
            fail();
        break;
    case PROC_REC_INSTANT:
        if (r->u.instant.status > 2 || !r->u.instant.quantity || !r->u.instant.quantity[0])
            fail();
        break;
    case PROC_REC_EVENT:
        if (r->u.event.raw_len < 2 || r->u.event.raw_len > 257 || !r->u.event.fields_json ||
            r->u.event.fields_json[0] != '{')
            fail();
        break;
    case PROC_REC_METER_CFG:
        if (!r->u.meter_cfg.addr || strlen(r->u.meter_cfg.addr) != 12)
            fail();
        break;
    case PROC_REC_FWD645:
        if (!r->u.fwd645.addr || strlen(r->u.fwd645.addr) != 12 || r->u.fwd645.raw_len > 512)
            fail();
        break;
    default:
        break;
    }
    return 0;
}

static void fuzz_analytics(const uint8_t *data, size_t size)
{
    struct proc_cfg cfg;
    struct proc_ind ind[16];
    struct proc_anomaly av[64];
    struct proc_anoms an = { av, 0, 64, 0 };
    struct proc_cons c;
    size_t n = 0;
    proc_cfg_defaults(&cfg);
    for (size_t i = 0; i + 9 <= size && n < 16; i += 9, n++) {
        uint64_t v = 0;
        memcpy(&v, data + i, 8);
        ind[n].point = 1;
        ind[n].day = 100 + (int32_t)(data[i + 8] & 15);
        ind[n].status = (uint8_t)(data[i + 8] >> 6 == 3 ? 1 : 0);
        ind[n].kwh_e4 = (int64_t)(v >> 1);
        ind[n].meter_addr = data[i + 8] & 16 ? 1 : 0;
    }
    for (size_t i = 1; i < n; i++) /* sorted by day, as callers give them */
        for (size_t j = i; j > 0 && ind[j - 1].day > ind[j].day; j--) {
            struct proc_ind t = ind[j];
            ind[j] = ind[j - 1];
            ind[j - 1] = t;
        }
    proc_consumption(&cfg, 115, 1, size & 1 ? proc_modulus_from_digits(4) : 0, ind, n, &c, &an);
    if (proc_cons_has_value(c.status) && c.kwh_e4 < 0)
        fail();
    int64_t hist[2 * 16];
    struct proc_point pts[2] = { { 1, 0, PROC_ROLE_SUPPLY, 0, (uint32_t)size },
                                 { 2, 0, PROC_ROLE_CUSTOMER, 0, 1 } };
    for (size_t k = 0; k < 32; k++)
        hist[k] = k < n ? ind[k].kwh_e4 : PROC_HIST_NONE;
    struct proc_cons cons[2];
    struct proc_area_out area;
    struct proc_rollup_in in = { 115, pts, 2, 1, NULL, hist, 16, NULL, 0 };
    struct proc_rollup_out out = { cons, &area, 0, 0, an };
    if (proc_rollup(&cfg, &in, &out) != 0 || out.collected > out.expected)
        fail();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_decoded dec;
    static int zone;
    size_t start = 0, flen = 0;
    if (!zone)
        zone = mf_clock_set_zone("Asia/Shanghai") == 0;
    fuzz_analytics(data, size);
    if (gw_frame_scan(data, size, GW_FRAME_MAX, &start, &flen, NULL) != 0)
        return 0;
    struct gw_frame fr;
    if (gw_frame_parse(data + start, flen, GW_PW_LEN, &fr) != 0)
        return 0;
    (void)gw_decode_units(&fr, &dec);
    struct proc_cfg cfg;
    struct proc_anomaly av[512];
    struct proc_anoms an = { av, 0, 512, 0 };
    proc_cfg_defaults(&cfg);
    struct proc_norm_ctx ctx = { gw_terminal_key(fr.addr.a1, fr.addr.a2), 1764115200, &cfg, &an,
                                 0 };
    (void)proc_norm_units(&ctx, &dec, check_rec, NULL);
    return 0;
}
