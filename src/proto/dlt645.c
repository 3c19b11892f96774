/* dlt645.c -- DL/T 645-2007 / -1997 meter frames inside 376.1 AFN=10 (protocol-3761.md
 * section 11): frame codec (FE preamble, +0x33 scrambling, CS) and interpretation of the
 * common data identifiers into the gw_value model.
 *
 * Invariants: decode never reads past b[0..n); L is one byte, so the unscrambled copy fits
 * the fixed 255-byte array; values of the common DIs are checked against the data length
 * before they are read (a short answer gives "raw").
 * Thread: pure, reentrant. Callers: the 376.1 decoder's consumers (JSON printer, worker),
 * the front (building forwarded reads/controls), the simulator (meter answers). */
#include "meterflow/dlt645.h"

#include <string.h>

#include "proto/gw_int.h"

int dlt645_decode(const uint8_t *b, size_t n, struct dlt645_frame *f)
{
    size_t i = 0, l;
    const uint8_t *h;

    while (i < n && b[i] == 0xFE && i < DLT645_PREAMBLE_MAX)
        i++;
    if (n - i < 10u)
        return n == i || b[i] == 0x68 ? MF_AGAIN : MF_EINVAL;
    h = b + i;
    if (h[0] != 0x68 || h[7] != 0x68)
        return MF_EINVAL;
    l = h[9];
    if (n - i < 12u + l)
        return MF_AGAIN;
    if (h[10 + l] != gw_sum8(h, 10u + l) || h[11 + l] != 0x16)
        return MF_EINVAL;
    memcpy(f->addr, h + 1, 6);
    f->c = h[8];
    f->dir = (uint8_t)(h[8] >> 7);
    f->abnormal = (uint8_t)(h[8] >> 6 & 1u);
    f->more = (uint8_t)(h[8] >> 5 & 1u);
    f->func = (uint8_t)(h[8] & 0x1Fu);
    f->len = (uint8_t)l;
    for (size_t k = 0; k < l; k++)
        f->data[k] = (uint8_t)(h[10 + k] - 0x33u);
    f->preamble = i;
    f->frame_len = i + 12u + l;
    return 0;
}

int dlt645_encode(const uint8_t addr[6], uint8_t c, const uint8_t *data, size_t len,
                  size_t preamble, uint8_t *out, size_t cap)
{
    uint8_t *h;
    if (len > DLT645_DATA_MAX || preamble > DLT645_PREAMBLE_MAX)
        return MF_EINVAL;
    if (cap < preamble + 12u + len)
        return MF_ERANGE;
    memset(out, 0xFE, preamble);
    h = out + preamble;
    h[0] = 0x68;
    memcpy(h + 1, addr, 6);
    h[7] = 0x68;
    h[8] = c;
    h[9] = (uint8_t)len;
    for (size_t k = 0; k < len; k++)
        h[10 + k] = (uint8_t)(data[k] + 0x33u);
    h[10 + len] = gw_sum8(h, 10u + len);
    h[11 + len] = 0x16;
    return (int)(preamble + 12u + len);
}

int dlt645_addr_from_u64(uint64_t a, uint8_t addr[6])
{
    return gw_addr_encode(a, addr);
}

int dlt645_addr_to_u64(const uint8_t addr[6], uint64_t *a)
{
    return gw_addr_decode(addr, a) == GW_VS_OK ? 0 : MF_EINVAL;
}

static int is_1997(const struct dlt645_frame *f)
{
    return f->func == 0x01 || f->func == 0x04; /* 1997: read 01/81/C1, write 04/84 */
}

uint32_t dlt645_di(const struct dlt645_frame *f, int *is1997)
{
    int old = is_1997(f);
    if (is1997)
        *is1997 = old;
    if (f->abnormal)
        return 0;
    if (old)
        return f->len >= 2 ? (uint32_t)(f->data[0] | f->data[1] << 8) : 0;
    if ((f->func == DLT645_READ || f->func == DLT645_READ_MORE || f->func == DLT645_WRITE) &&
        f->len >= 4)
        return (uint32_t)f->data[0] | (uint32_t)f->data[1] << 8 | (uint32_t)f->data[2] << 16 |
               (uint32_t)f->data[3] << 24;
    return 0;
}

/* ---- values ---- */

struct vout {
    struct gw_value *v;
    size_t cap, n;
};

static struct gw_value *put(struct vout *o, const char *name, uint16_t idx, uint8_t kind)
{
    struct gw_value *v;
    if (o->n >= o->cap)
        return NULL;
    v = &o->v[o->n++];
    memset(v, 0, sizeof(*v));
    v->name = name;
    v->index = idx;
    v->kind = kind;
    return v;
}

/* n BCD bytes, least significant first; signed: D7 of the top byte is the sign. */
static void put_bcd(struct vout *o, const char *name, uint16_t idx, const uint8_t *p, size_t n,
                    int sgn, int exp)
{
    struct gw_value *v = put(o, name, idx, GW_VK_NUM);
    int64_t m = 0;
    if (!v)
        return;
    v->exp = (int8_t)exp;
    for (size_t i = n; i-- > 0;) {
        uint8_t byte = (uint8_t)(i == n - 1 && sgn ? p[i] & 0x7Fu : p[i]);
        uint8_t d = gw_bcd_lut[byte];
        if (d == 0xFF) {
            v->status = GW_VS_INVALID;
            return;
        }
        m = m * 100 + d;
    }
    v->u.i = sgn && (p[n - 1] & 0x80u) ? -m : m;
}

static void put_int(struct vout *o, const char *name, int64_t x)
{
    struct gw_value *v = put(o, name, 0, GW_VK_INT);
    if (v)
        v->u.i = x;
}

/* Times inside 645 data: fields in wire order, like the 376.1 formats. */
static void put_time(struct vout *o, const char *name, const uint8_t *p, unsigned fmt)
{
    struct gw_value *v = put(o, name, 0, GW_VK_TIME);
    if (!v)
        return;
    v->status = (uint8_t)gw_time_decode(fmt, p, &v->u.t);
    v->fmt = (uint8_t)fmt;
}

/* hh:mm:ss from wire ss mm hh (no 376.1 format has exactly this shape). */
static void put_hms(struct vout *o, const char *name, const uint8_t *p)
{
    struct gw_value *v = put(o, name, 0, GW_VK_TIME);
    uint8_t s = gw_bcd_lut[p[0]], m = gw_bcd_lut[p[1]], h = gw_bcd_lut[p[2]];
    if (!v)
        return;
    v->fmt = 19; /* printed as a time of day */
    if (s > 59 || m > 59 || h > 23) { /* also catches the 0xFF "not BCD" marks */
        v->status = GW_VS_INVALID;
        return;
    }
    v->u.t.hour = h;
    v->u.t.min = m;
    v->u.t.sec = s;
}

static void put_raw(struct vout *o, const uint8_t *p, size_t n)
{
    struct gw_value *v = put(o, "raw", 0, GW_VK_BYTES);
    if (v) {
        v->u.p = p;
        v->len = (uint16_t)n;
    }
}

/* Energy block: total then tariffs (4 bytes each, XXXXXX.XX). */
static void energy_block(struct vout *o, const char *tot, const char *tar, const uint8_t *p,
                         size_t n)
{
    put_bcd(o, tot, 0, p, 4, 0, -2);
    for (size_t k = 1; k < n / 4; k++)
        put_bcd(o, tar, (uint16_t)k, p + 4 * k, 4, 0, -2);
}

static const char *const e_tot[5] = {"combined_active_total_kwh", "fwd_active_total_kwh",
                                     "rev_active_total_kwh", "reactive1_total_kvarh",
                                     "reactive2_total_kvarh"};
static const char *const e_tar[5] = {"combined_active_tariffs_kwh", "fwd_active_tariffs_kwh",
                                     "rev_active_tariffs_kwh", "reactive1_tariffs_kvarh",
                                     "reactive2_tariffs_kvarh"};
static const char *const ph_u[4] = {"u_v", "ua_v", "ub_v", "uc_v"};
static const char *const ph_i[4] = {"i_a", "ia_a", "ib_a", "ic_a"};
static const char *const ph_p[4] = {"p_kw", "pa_kw", "pb_kw", "pc_kw"};
static const char *const ph_pf[4] = {"pf_pct", "pfa_pct", "pfb_pct", "pfc_pct"};

/* Energies 0000xx00 .. 0004xx00: d2 = kind, d1 = tariff (FF = block), d0 = settlement. */
static int values_energy(struct vout *o, unsigned d2, unsigned d1, unsigned d0,
                         const uint8_t *v, size_t n)
{
    if (d1 == 0xFF && d0 == 0 && n >= 4 && n % 4 == 0) {
        energy_block(o, e_tot[d2], e_tar[d2], v, n);
        return 0;
    }
    if (n < 4)
        return -1;
    if (d1 == 0)
        put_bcd(o, e_tot[d2], 0, v, 4, 0, -2);
    else if (d1 <= 0x3F && d0 == 0)
        put_bcd(o, e_tar[d2], (uint16_t)d1, v, 4, 0, -2);
    else
        return -1;
    if (d0 != 0)
        put_int(o, "settlement", d0); /* d0 = k: k-th previous settlement day */
    return 0;
}

/* 2007 read answer value v[0..n) of DI di. 0 when interpreted, -1 when not known/short. */
static int values_2007(struct vout *o, uint32_t di, const uint8_t *v, size_t n)
{
    unsigned d3 = di >> 24, d2 = di >> 16 & 0xFFu, d1 = di >> 8 & 0xFFu, d0 = di & 0xFFu;

    if (d3 == 0 && d2 <= 4)
        return values_energy(o, d2, d1, d0, v, n);
    if (d3 == 2 && d0 == 0 && ((d1 >= 1 && d1 <= 3) || d1 == 0)) {
        if (d2 == 1 && d1 >= 1 && n >= 2)
            put_bcd(o, ph_u[d1], 0, v, 2, 0, -1);
        else if (d2 == 2 && d1 >= 1 && n >= 3)
            put_bcd(o, ph_i[d1], 0, v, 3, 1, -3);
        else if (d2 == 3 && n >= 3)
            put_bcd(o, ph_p[d1], 0, v, 3, 1, -4);
        else if (d2 == 6 && n >= 2)
            put_bcd(o, ph_pf[d1], 0, v, 2, 1, -1); /* X.XXX ratio = XXX.X % */
        else
            return -1;
        return 0;
    }
    switch (di) {
    case 0x04000101: /* YYMMDDWW, wire WW DD MM YY; WW 0 = Sunday */
        if (n < 4)
            return -1;
        put_time(o, "date", v + 1, 20);
        put_int(o, "weekday", v[0] == 0 ? 7 : v[0]);
        return 0;
    case 0x04000102: /* hhmmss, wire ss mm hh */
        if (n < 3)
            return -1;
        put_hms(o, "time", v);
        return 0;
    case 0x04000503:
        if (n < 2)
            return -1;
        put_int(o, "status_word3", v[0] | v[1] << 8);
        put_int(o, "relay_open", v[0] >> 4 & 1);
        put_int(o, "relay_cmd_open", v[0] >> 6 & 1);
        return 0;
    case 0x05060001:
        if (n < 5)
            return -1;
        put_time(o, "freeze_time", v, 15);
        return 0;
    case 0x05060101:
        if (n < 4 || n % 4 != 0)
            return -1;
        energy_block(o, e_tot[1], e_tar[1], v, n);
        return 0;
    default:
        return -1;
    }
}

/* 1997 read answer (2-byte DI). */
static int values_1997(struct vout *o, uint32_t di, const uint8_t *v, size_t n)
{
    if (di == 0x9010 && n >= 4) {
        put_bcd(o, e_tot[1], 0, v, 4, 0, -2);
    } else if (di >= 0x9011 && di <= 0x901E && n >= 4) {
        put_bcd(o, e_tar[1], (uint16_t)(di - 0x9010), v, 4, 0, -2);
    } else if (di == 0x901F && n >= 4 && n % 4 == 0) {
        energy_block(o, e_tot[1], e_tar[1], v, n);
    } else if (di >= 0xB611 && di <= 0xB613 && n >= 2) {
        put_bcd(o, ph_u[di - 0xB610], 0, v, 2, 0, 0);
    } else if (di >= 0xB621 && di <= 0xB623 && n >= 2) {
        put_bcd(o, ph_i[di - 0xB620], 0, v, 2, 0, -2);
    } else if (di == 0xB630 && n >= 3) {
        put_bcd(o, ph_p[0], 0, v, 3, 0, -4);
    } else {
        return -1;
    }
    return 0;
}

static void values_control(struct vout *o, const struct dlt645_frame *f)
{
    const uint8_t *d = f->data;
    struct gw_value *v;
    const char *nm;
    if (f->len < 16) {
        put_raw(o, d, f->len);
        return;
    }
    put_int(o, "password_level", d[0]);
    put_int(o, "operator", (int64_t)((uint32_t)d[4] | (uint32_t)d[5] << 8 |
                                     (uint32_t)d[6] << 16 | (uint32_t)d[7] << 24));
    put_int(o, "command", d[8]);
    nm = dlt645_ctl_name(d[8]);
    if (nm && (v = put(o, "command_name", 0, GW_VK_TEXT)) != NULL) {
        v->u.p = (const uint8_t *)nm;
        v->len = (uint16_t)strlen(nm);
    }
    /* validity end time ss mm hh DD MM YY = A.1 without the weekday bits */
    put_time(o, "valid_until", d + 10, 1);
}

size_t dlt645_values(const struct dlt645_frame *f, struct gw_value *out, size_t cap)
{
    struct vout o = {out, cap, 0};
    int old;
    uint32_t di = dlt645_di(f, &old);
    size_t dl = old ? 2u : 4u;

    if (f->abnormal) {
        if (f->len >= 1)
            put_int(&o, "error", f->data[0]);
        return o.n;
    }
    if (f->func == DLT645_CONTROL) {
        if (!f->dir)
            values_control(&o, f);
        return o.n; /* normal answer 0x9C carries no data */
    }
    if (f->dir && di != 0 && f->len > dl) {
        int rc = old ? values_1997(&o, di, f->data + dl, f->len - dl)
                     : values_2007(&o, di, f->data + dl, f->len - dl);
        if (rc != 0)
            put_raw(&o, f->data + dl, f->len - dl);
    } else if (f->len > dl && di != 0) {
        put_raw(&o, f->data + dl, f->len - dl);
    } else if (di == 0 && f->len > 0) {
        put_raw(&o, f->data, f->len);
    }
    return o.n;
}

size_t dlt645_read_data(uint32_t di, uint8_t out[4])
{
    for (int k = 0; k < 4; k++)
        out[k] = (uint8_t)(di >> (8 * k));
    return 4;
}

size_t dlt645_control_data(const uint8_t pw[4], uint32_t operator_code, uint8_t n1,
                           const struct gw_time *valid_until, uint8_t out[16])
{
    struct gw_time t = *valid_until;
    memcpy(out, pw, 4);
    for (int k = 0; k < 4; k++)
        out[4 + k] = (uint8_t)(operator_code >> (8 * k));
    out[8] = n1;
    out[9] = 0;
    t.wday = 0;
    if (gw_time_encode(1, &t, out + 10) != 0)
        memset(out + 10, 0, 6);
    return 16;
}

const char *dlt645_ctl_name(uint8_t n1)
{
    switch (n1) {
    case DLT645_CTL_TRIP: return "trip";
    case DLT645_CTL_CLOSE_ALLOWED: return "close_allowed";
    case DLT645_CTL_CLOSE_DIRECT: return "close_direct";
    case DLT645_CTL_ALARM_ON: return "alarm_on";
    case DLT645_CTL_ALARM_OFF: return "alarm_off";
    case DLT645_CTL_KEEP_ON: return "keep_power_on";
    case DLT645_CTL_KEEP_OFF: return "keep_power_off";
    default: return NULL;
    }
}
