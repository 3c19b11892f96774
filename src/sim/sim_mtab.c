/* sim_mtab.c -- a simulated terminal's meter table (AFN=04 F10 set, AFN=0A F10 query).
 *
 * By default entry serial k (1..M) is point k: a DL/T 645-2007 meter on the carrier port 31
 * at address sim_point_addr, 4 tariffs, the point's customer class. An AFN=04 F10 set
 * replaces entries by serial (pn 0 deletes one, as the standard says); the overrides live in
 * a per-terminal array allocated on the first set, so terminals never configured cost
 * nothing. Requests are decoded with the codec (gw_decode_units), not by hand.
 *
 * Invariants: at most 2040 overrides per terminal (serials are 1..2040); a query answer
 * holds at most what fits one frame.
 * Called by: sim_answer.c. Thread: the process's loop thread. */
#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"
#include "sim/sim_int.h"

#define MTAB_MAX 2040u
#define QUERY_MAX 256u  /* entries per answer: 256 x 27 bytes fit a frame */

static void mtab_default(const struct sim_term *st, uint16_t serial, struct gw_meter_cfg *mc)
{
    memset(mc, 0, sizeof(*mc));
    mc->serial = serial;
    mc->pn = serial;
    mc->port = 31;
    mc->protocol = 30;
    mc->addr = sim_point_addr(st->sp->model, st->idx, serial);
    mc->tariffs = SIM_TARIFFS;
    mc->digits = 0x09; /* 6 integer digits, 2 decimals */
    mc->user_class = (uint8_t)(sim_point_class(st->sp->model, st->idx, serial) << 4);
}

/* The entry for serial: 1 found (written to *mc), 0 none or deleted. */
static int mtab_get(const struct sim_term *st, uint16_t serial, struct gw_meter_cfg *mc)
{
    for (uint16_t i = 0; i < st->nmtab; i++)
        if (st->mtab[i].serial == serial) {
            *mc = st->mtab[i];
            return mc->pn != 0;
        }
    if (serial == 0 || serial > st->sp->model->npoints)
        return 0;
    mtab_default(st, serial, mc);
    return 1;
}

static int mtab_put(struct sim_term *st, const struct gw_meter_cfg *mc)
{
    for (uint16_t i = 0; i < st->nmtab; i++)
        if (st->mtab[i].serial == mc->serial) {
            st->mtab[i] = *mc;
            return 0;
        }
    if (st->nmtab >= MTAB_MAX)
        return MF_ERANGE;
    st->mtab = mf_realloc(st->mtab, ((size_t)st->nmtab + 1) * sizeof(*st->mtab));
    st->mtab[st->nmtab++] = *mc;
    return 0;
}

static int64_t vint(const struct gw_decoded *dec, const struct gw_unit *un, const char *name,
                    uint16_t i)
{
    const struct gw_value *v = gw_unit_value(dec, un, name, i);
    return v && v->status == GW_VS_OK ? v->u.i : -1;
}

/* Apply the entries of one decoded 04 F10 unit. 0, or MF_EINVAL for a bad entry. */
static int mtab_set_unit(struct sim_term *st, const struct gw_decoded *dec,
                         const struct gw_unit *un)
{
    int64_t n = vint(dec, un, "count", 0);
    if (n < 0 || n > (int64_t)MTAB_MAX)
        return MF_EINVAL;
    for (uint16_t i = 1; i <= (uint16_t)n; i++) { /* n <= MTAB_MAX (2040), checked above */
        struct gw_meter_cfg mc;
        int64_t serial = vint(dec, un, "serial", i), pn = vint(dec, un, "pn", i);
        if (serial < 1 || serial > (int64_t)MTAB_MAX || pn < 0 || pn > 2040)
            return MF_EINVAL;
        memset(&mc, 0, sizeof(mc));
        mc.serial = (uint16_t)serial;
        mc.pn = (uint16_t)pn;
        mc.baud_code = (uint8_t)vint(dec, un, "baud_code", i);
        mc.port = (uint8_t)vint(dec, un, "port", i);
        mc.protocol = (uint8_t)vint(dec, un, "protocol", i);
        mc.addr = (uint64_t)MF_MAX(vint(dec, un, "addr", i), 0);
        mc.tariffs = (uint8_t)vint(dec, un, "tariff_count", i);
        mc.digits = (uint8_t)vint(dec, un, "digits", i);
        mc.collector = (uint64_t)MF_MAX(vint(dec, un, "collector_addr", i), 0);
        mc.user_class = (uint8_t)vint(dec, un, "user_class", i);
        if (mtab_put(st, &mc) != 0)
            return MF_ERANGE;
    }
    return 0;
}

/* AFN=04: F10 changes the meter table; any other set is accepted and forgotten. */
int sim_mtab_set(struct sim_term *st, const struct gw_frame *fr)
{
    struct gw_decoded *dec = st->sp->dec;
    int rc = gw_decode_units(fr, dec);
    for (uint16_t u = 0; u < dec->nunits; u++)
        if (dec->units[u].fn == 10 && dec->units[u].status == GW_US_OK &&
            mtab_set_unit(st, dec, &dec->units[u]) != 0)
            return MF_EINVAL;
    return rc == 0 || rc == MF_EUNSUPP ? 0 : MF_EINVAL;
}

/* AFN=0A F10: the entries of the serials asked for. Writes the answer's units into ub. */
int sim_mtab_query(struct sim_term *st, const struct gw_frame *fr, struct gw_ubuf *ub)
{
    struct gw_decoded *dec = st->sp->dec;
    static const size_t cap = QUERY_MAX;
    struct gw_meter_cfg *mc = mf_calloc(cap, sizeof(*mc));
    size_t n = 0;
    if (gw_decode_units(fr, dec) != 0 || dec->nunits != 1 || dec->units[0].fn != 10) {
        free(mc);
        return MF_EINVAL;
    }
    const struct gw_unit *un = &dec->units[0];
    int64_t cnt = vint(dec, un, "count", 0);
    for (uint16_t i = 1; i <= cnt && n < cap; i++) {
        int64_t serial = vint(dec, un, "serials", i);
        if (serial > 0 && serial <= (int64_t)MTAB_MAX && mtab_get(st, (uint16_t)serial, &mc[n]))
            n++;
    }
    int rc = gw_ans_meter_cfg(ub, mc, n);
    free(mc);
    return rc;
}
