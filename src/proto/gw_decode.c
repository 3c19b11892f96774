/* gw_decode.c -- 376.1 data-unit decoder: the driver that walks { DA DT data }* of a parsed
 * frame, the bounded read/emit helpers every Fn decoder uses, and the small decoders of
 * AFN 00, 01, 02, 04, 05, 09, 0A and 10. The big families (0C, 0D) are in gw_decode_data.c,
 * events (0E) in gw_event.c, the Fn tables in gw_decode_tab.c.
 *
 * Invariants: a decoder never reads past c->p + c->left (gwd_take checks first); every
 * count read from the wire (M, n, k, Le) is checked against what is left and against its
 * cap before it bounds a loop; the result struct is never cleared (only counters reset),
 * which keeps a ~60 KB reusable struct cheap per frame.
 * Thread: pure, reentrant. Callers: worker, `meterflow decode`, sim tests, fuzz target. */
#include <string.h>

#include "meterflow/gw3761_data.h"
#include "proto/gw_int.h"

/* ---- bounded reads and value emission ---- */

const uint8_t *gwd_take(struct gwd_ctx *c, size_t n)
{
    const uint8_t *r;
    if (c->err)
        return NULL;
    if (n > c->left - c->off) {
        c->err = GW_US_TRUNCATED;
        return NULL;
    }
    r = c->p + c->off;
    c->off += n;
    return r;
}

struct gw_value *gwd_push(struct gwd_ctx *c, const char *name, uint16_t index, uint8_t kind)
{
    struct gw_value *v;
    if (c->err)
        return NULL;
    if (c->dec->nvals >= GW_DEC_MAX_VALUES) {
        c->err = GW_US_CAP;
        return NULL;
    }
    v = &c->dec->vals[c->dec->nvals++];
    v->name = name;
    v->index = index;
    v->kind = kind;
    v->status = GW_VS_OK;
    v->fmt = 0;
    v->exp = 0;
    v->len = 0;
    return v;
}

void gwd_num(struct gwd_ctx *c, const char *name, uint16_t index, unsigned fmt)
{
    const uint8_t *b = gwd_take(c, gw_fmt_lens[fmt]);
    struct gw_value *v;
    int8_t e;
    if (!b || !(v = gwd_push(c, name, index, GW_VK_NUM)))
        return;
    v->status = (uint8_t)gw_num_decode(fmt, b, &v->u.i, &e);
    v->exp = e;
    v->fmt = (uint8_t)fmt;
}

void gwd_time(struct gwd_ctx *c, const char *name, uint16_t index, unsigned fmt)
{
    const uint8_t *b = gwd_take(c, gw_fmt_lens[fmt]);
    struct gw_value *v;
    if (!b || !(v = gwd_push(c, name, index, GW_VK_TIME)))
        return;
    v->status = (uint8_t)gw_time_decode(fmt, b, &v->u.t);
    v->fmt = (uint8_t)fmt;
}

uint32_t gwd_int(struct gwd_ctx *c, const char *name, uint16_t index, size_t n)
{
    const uint8_t *b = gwd_take(c, n);
    uint32_t x = 0;
    if (!b)
        return 0;
    for (size_t i = n; i-- > 0;)
        x = x << 8 | b[i];
    if (name)
        gwd_intv(c, name, index, x);
    return x;
}

void gwd_intv(struct gwd_ctx *c, const char *name, uint16_t index, int64_t val)
{
    struct gw_value *v = gwd_push(c, name, index, GW_VK_INT);
    if (v)
        v->u.i = val;
}

void gwd_addr(struct gwd_ctx *c, const char *name, uint16_t index)
{
    const uint8_t *b = gwd_take(c, 6);
    struct gw_value *v;
    uint64_t a;
    if (!b || !(v = gwd_push(c, name, index, GW_VK_ADDR)))
        return;
    v->status = (uint8_t)gw_addr_decode(b, &a);
    v->u.i = (int64_t)a;
    v->fmt = 12;
}

void gwd_view(struct gwd_ctx *c, const char *name, uint16_t index, uint8_t kind, size_t n)
{
    const uint8_t *b;
    struct gw_value *v;
    if (n > 0xFFFFu) {
        if (!c->err)
            c->err = GW_US_TRUNCATED;
        return;
    }
    b = gwd_take(c, n);
    if (!b || !(v = gwd_push(c, name, index, kind)))
        return;
    v->u.p = b;
    v->len = (uint16_t)n;
}

/* ---- the driver ---- */

static int ustatus_rc(uint8_t st)
{
    switch (st) {
    case GW_US_OK: return 0;
    case GW_US_UNKNOWN: return MF_EUNSUPP;
    case GW_US_CAP: return MF_ERANGE;
    default: return MF_EINVAL;
    }
}

/* Decode one (pn, fn) unit at area[*pos]. Returns 0 or the driver's status; on failure
 * dec->rest is set. */
static int decode_one(struct gw_decoded *dec, const struct gw_frame *fr, uint16_t pn,
                      uint8_t fn, size_t *pos)
{
    const struct gwd_fn *d = gw_fn_lookup(fr->dir, fr->afn, fn);
    struct gwd_ctx c;
    struct gw_unit *un;

    if (dec->nunits >= GW_DEC_MAX_UNITS) {
        dec->rest = fr->units + *pos;
        dec->rest_len = fr->units_len - *pos;
        return MF_ERANGE;
    }
    un = &dec->units[dec->nunits++];
    un->pn = pn;
    un->afn = fr->afn;
    un->fn = fn;
    un->first = dec->nvals;
    un->nval = 0;
    un->first_ev = dec->nevents;
    un->nev = 0;
    un->list = NULL;
    un->data = fr->units + *pos;
    un->data_len = 0;
    c.dec = dec;
    c.un = un;
    c.p = fr->units + *pos;
    c.left = fr->units_len - *pos;
    c.off = 0;
    c.err = 0;
    c.dir = fr->dir;
    un->nval = 0xFFFF; /* "not set by the decoder" marker; fixed below */
    if (d) {
        un->name = d->name;
        d->dec(&c, d);
    } else {
        un->name = "unknown Fn";
        c.err = GW_US_UNKNOWN;
    }
    un->status = c.err;
    if (un->nval == 0xFFFF)
        un->nval = (uint16_t)(dec->nvals - un->first);
    un->data_len = (uint16_t)(c.off > 0xFFFFu ? 0xFFFFu : c.off);
    if (c.err) {
        dec->rest = c.p + c.off;
        dec->rest_len = c.left - c.off;
        return ustatus_rc(c.err);
    }
    *pos += c.off;
    return 0;
}

int gw_decode_units(const struct gw_frame *fr, struct gw_decoded *dec)
{
    size_t pos = 0;
    int rc = 0;

    dec->nunits = dec->nvals = dec->nevents = 0;
    dec->rest = NULL;
    dec->rest_len = 0;
    while (rc == 0 && pos < fr->units_len) {
        struct gw_dadt id;
        if (fr->units_len - pos < 4u || gw_dadt_decode(fr->units + pos, &id) != 0) {
            dec->rest = fr->units + pos;
            dec->rest_len = fr->units_len - pos;
            rc = MF_EINVAL;
            break;
        }
        pos += 4;
        /* units follow pn ascending, then Fn ascending (section 6) */
        for (unsigned i = 0; rc == 0 && i < id.npn; i++)
            for (unsigned j = 0; rc == 0 && j < id.nfn; j++)
                rc = decode_one(dec, fr, id.pn[i], id.fn[j], &pos);
    }
    dec->status = rc;
    return rc;
}

const struct gw_value *gw_unit_value(const struct gw_decoded *dec, const struct gw_unit *un,
                                     const char *name, uint16_t index)
{
    for (unsigned i = un->first; i < (unsigned)un->first + un->nval && i < dec->nvals; i++)
        if (dec->vals[i].index == index && strcmp(dec->vals[i].name, name) == 0)
            return &dec->vals[i];
    return NULL;
}

const char *gw_fn_name(uint8_t dir, uint8_t afn, uint8_t fn)
{
    const struct gwd_fn *d = gw_fn_lookup(dir, afn, fn);
    return d ? d->name : NULL;
}
