/* gw_int.h -- private to src/proto: shared tables and the unit-decoder context of the 376.1
 * codec. Nothing outside src/proto includes this (STYLE.md: no module reads another's
 * *_int.h).
 *
 * A unit decoder reads its data through gwd_take() (which checks what is left before every
 * read and marks the unit truncated instead) and emits values with the gwd_* value helpers (which
 * stop at the caps of struct gw_decoded). Both leave c->err set and return NULL/0 once the
 * unit failed, so decoders may run straight through and let the driver look at c->err.
 * Thread: pure, reentrant. */
#ifndef MF_GW_INT_H
#define MF_GW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/gw3761_data.h"

/* byte -> two BCD digits as 0..99, or 0xFF when a nibble is not a decimal digit */
extern const uint8_t gw_bcd_lut[256];
/* data format n -> length in bytes (0 unknown); n < 29 */
extern const uint8_t gw_fmt_lens[29];

/* Byte sum mod 256 (the 376.1 and 645 checksums), 8 bytes per step. */
uint8_t gw_sum8(const uint8_t *p, size_t n);

/* Value format of a 0D curve Fn (section 9.7); 0 when fn is not a curve we know. */
unsigned gw_curve_fmt(uint8_t fn);

struct gwd_ctx {
    struct gw_decoded *dec;
    struct gw_unit *un;
    const uint8_t *p; /* unit data start */
    size_t left;      /* bytes from p to the end of the unit area */
    size_t off;       /* consumed so far */
    uint8_t err;      /* enum gw_ustatus once the unit failed */
    uint8_t dir;
};

struct gwd_fn;
typedef void (*gw_fn_decoder)(struct gwd_ctx *c, const struct gwd_fn *d);

/* One Fn layout: name, decoder and the decoder's parameters. */
struct gwd_fn {
    const char *name;
    gw_fn_decoder dec;
    uint8_t fmt;        /* value format for series decoders */
    uint8_t arg;        /* decoder-specific: tag kind, phase count ... */
    const char *vname;  /* value name(s) for series decoders */
    const char *vname2;
    uint8_t td;         /* 0D time tag: 0 none, GWD_TD_D, GWD_TD_M, GWD_TD_C */
};

enum { GWD_TD_NONE = 0, GWD_TD_D = 1, GWD_TD_M = 2, GWD_TD_C = 3 };

const uint8_t *gwd_take(struct gwd_ctx *c, size_t n);
struct gw_value *gwd_push(struct gwd_ctx *c, const char *name, uint16_t index, uint8_t kind);
void gwd_num(struct gwd_ctx *c, const char *name, uint16_t index, unsigned fmt);
void gwd_time(struct gwd_ctx *c, const char *name, uint16_t index, unsigned fmt);
/* little-endian unsigned binary of n (1..4) bytes; returns the value (0 on failure) */
uint32_t gwd_int(struct gwd_ctx *c, const char *name, uint16_t index, size_t n);
void gwd_intv(struct gwd_ctx *c, const char *name, uint16_t index, int64_t val);
void gwd_addr(struct gwd_ctx *c, const char *name, uint16_t index);
void gwd_view(struct gwd_ctx *c, const char *name, uint16_t index, uint8_t kind, size_t n);

/* Lookups of the per-AFN tables (gw_decode_tab.c). NULL when unknown. */
const struct gwd_fn *gw_fn_lookup(uint8_t dir, uint8_t afn, uint8_t fn);
const struct gwd_fn *gw_fn_lookup_0c(uint8_t dir, uint8_t fn); /* gw_decode_data.c */
const struct gwd_fn *gw_fn_lookup_0d(uint8_t dir, uint8_t fn); /* gw_decode_data.c */

/* Decoders shared between files. */
void gwd_events(struct gwd_ctx *c, const struct gwd_fn *d);

#endif
