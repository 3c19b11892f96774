/* proc_int.h -- private to src/proc: the normaliser's per-frame context.
 * Invariant: nvolt <= PN_VOLT_MAX. Thread: one pn_ctx belongs to one proc_norm_units call. */
#ifndef MF_PROC_INT_H
#define MF_PROC_INT_H

#include <stdlib.h>

#include "meterflow/common.h"
#include "meterflow/gw3761_data.h"
#include "meterflow/proc.h"

#define PN_VOLT_MAX 1024u /* voltage samples kept per frame (3 curves x 255 points fit) */

struct pn_ctx {
    struct proc_norm_ctx *ctx;
    const struct gw_decoded *dec;
    const struct gw_unit *un;
    proc_emit_fn emit;
    void *opaque;
    int rc;
    struct proc_volt volt[PN_VOLT_MAX];
    struct proc_volt tmp[PN_VOLT_MAX];
    size_t nvolt;
};

int64_t pn_civil_utc(const struct gw_time *t);
const struct gw_value *pn_val(const struct pn_ctx *n, const char *name, uint16_t idx);
int pn_time(const struct gw_value *v, int64_t *out);
int pn_emit(struct pn_ctx *n, const struct proc_rec *r);
double pn_num(const struct gw_value *v);
int32_t pn_day(int64_t t);
/* proc_norm_ev.c: AFN 0E events, 0A F10, 09 F1, 10 F1/F9. */
void pn_norm_other(struct pn_ctx *n);

#endif
