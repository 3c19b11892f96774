/* gw_event.c -- AFN 0E event area (protocol-3761.md section 9.8): EC1 EC2 Pm Pn, then
 * Y = (Pn - Pm) mod 256 records ERC(1) Le(1) content(Le).
 *
 * Records are always skipped by Le, whatever the ERC: firmware appends bytes to known
 * layouts (ERC14 with Le = 11) and vendors add their own ERCs (52...). A record is typed
 * when its ERC has a layout here and Le is at least that layout's length (a longer record
 * keeps the surplus as "extra"); otherwise it is kept raw. Typed fields go to the values
 * array with index = record number (1-based within the unit) and are referenced only from
 * their struct gw_event; the unit's own values are EC1/EC2/Pm/Pn.
 * Thread: pure, reentrant. */
#include "meterflow/gw3761_data.h"
#include "proto/gw_int.h"

/* Point + start flag word: D11..D0 pn, D15 = 1 event started, 0 restored. */
static void pnflag(struct gwd_ctx *c, uint16_t r)
{
    uint32_t w = gwd_int(c, NULL, r, 2);
    if (c->err)
        return;
    gwd_intv(c, "pn", r, w & 0x0FFFu);
    gwd_intv(c, "start", r, w >> 15 & 1u);
}

/* Typed layout of one record; returns the content length it needs, 0 when the ERC has
 * no layout here. Only called when le >= that length (see need_len). */
static size_t need_len(uint8_t erc, uint8_t le)
{
    switch (erc) {
    case 1: return 14;
    case 3: return 6;
    case 13: return 8;
    case 14: return le == 11 ? 11 : 10;
    case 24: return 14;
    case 27: return 17;
    case 30: return 13;
    case 41: return 14;
    default: return 0;
    }
}

static void erc_fields(struct gwd_ctx *c, uint8_t erc, uint8_t le, uint16_t r)
{
    switch (erc) {
    case 1: /* data init / version change */
        gwd_time(c, "time", r, 15);
        gwd_int(c, "flags", r, 1);
        gwd_view(c, "old_version", r, GW_VK_TEXT, 4);
        gwd_view(c, "new_version", r, GW_VK_TEXT, 4);
        break;
    case 3: /* parameter change: time, master address, changed DA/DT identifiers */
        gwd_time(c, "time", r, 15);
        gwd_int(c, "msa", r, 1);
        gwd_view(c, "items", r, GW_VK_BYTES, c->left - c->off);
        break;
    case 13: /* meter fault */
        gwd_time(c, "time", r, 15);
        pnflag(c, r);
        gwd_int(c, "flags", r, 1);
        break;
    case 14: /* power off / on; Le = 11 carries an attribute byte first */
        if (le == 11)
            gwd_int(c, "attr", r, 1);
        gwd_time(c, "off_time", r, 15);
        gwd_time(c, "on_time", r, 15);
        break;
    case 24: /* voltage limit */
        gwd_time(c, "time", r, 15);
        pnflag(c, r);
        gwd_int(c, "limit_flags", r, 1);
        gwd_num(c, "ua_v", r, 7);
        gwd_num(c, "ub_v", r, 7);
        gwd_num(c, "uc_v", r, 7);
        break;
    case 27: /* meter reading decreased */
        gwd_time(c, "time", r, 15);
        pnflag(c, r);
        gwd_num(c, "before_kwh", r, 14);
        gwd_num(c, "after_kwh", r, 14);
        break;
    case 30: /* meter stopped */
        gwd_time(c, "time", r, 15);
        pnflag(c, r);
        gwd_num(c, "indication_kwh", r, 14);
        gwd_int(c, "threshold", r, 1);
        break;
    case 41: /* clock setting */
        gwd_intv(c, "pn", r, gwd_int(c, NULL, r, 2) & 0x0FFFu);
        gwd_time(c, "before_time", r, 1);
        gwd_time(c, "after_time", r, 1);
        break;
    default:
        break;
    }
    if (!c->err && c->left > c->off)
        gwd_view(c, "extra", r, GW_VK_BYTES, c->left - c->off);
}

/* Decode one record's content into typed values; on a layout mismatch roll back to raw. */
static void erc_typed(struct gwd_ctx *c, struct gw_event *ev, uint16_t r)
{
    struct gwd_ctx sub = *c;
    size_t need = need_len(ev->erc, ev->le);

    ev->first = c->dec->nvals;
    ev->nval = 0;
    ev->typed = 0;
    if (need == 0 || ev->le < need)
        return;
    sub.p = ev->raw;
    sub.left = ev->le;
    sub.off = 0;
    sub.err = 0;
    erc_fields(&sub, ev->erc, ev->le, r);
    if (sub.err == GW_US_CAP) {
        c->err = GW_US_CAP;
    } else if (sub.err) {
        c->dec->nvals = ev->first; /* cannot happen with need_len right; stay raw */
        return;
    }
    ev->typed = 1;
    ev->nval = (uint16_t)(c->dec->nvals - ev->first);
}

void gwd_events(struct gwd_ctx *c, const struct gwd_fn *d)
{
    const uint8_t *h = gwd_take(c, 4);
    unsigned y;
    (void)d;
    if (!h)
        return;
    gwd_intv(c, "ec1", 0, h[0]);
    gwd_intv(c, "ec2", 0, h[1]);
    gwd_intv(c, "pm", 0, h[2]);
    gwd_intv(c, "pn", 0, h[3]);
    if (c->err)
        return;
    c->un->nval = (uint16_t)(c->dec->nvals - c->un->first);
    y = (unsigned)(h[3] - h[2]) & 0xFFu;
    for (unsigned r = 1; r <= y && !c->err; r++) {
        const uint8_t *eh = gwd_take(c, 2);
        struct gw_event *ev;
        if (!eh)
            return;
        if (c->dec->nevents >= GW_DEC_MAX_EVENTS) {
            c->err = GW_US_CAP;
            return;
        }
        ev = &c->dec->events[c->dec->nevents];
        ev->erc = eh[0];
        ev->le = eh[1];
        ev->raw = gwd_take(c, eh[1]);
        if (!ev->raw)
            return;
        c->dec->nevents++;
        c->un->nev++;
        erc_typed(c, ev, (uint16_t)r);
    }
}
