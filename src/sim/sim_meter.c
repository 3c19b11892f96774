/* sim_meter.c -- AFN=10 forwarding to simulated DL/T 645 meters.
 *
 * NOT DONE: the DL/T 645 codec (include/meterflow/dlt645.h) has not landed yet, and the
 * simulator must not carry a second encoder; until it lands every AFN=10 request is denied
 * (AFN=00 F2), which is what a terminal without the meter does.
 * Thread: the process's loop thread. */
#include <string.h>

#include "sim/sim_int.h"
#include "sim/sim_meter.h"

void sim_meter_forward(struct sim_term *st, const struct gw_frame *fr)
{
    uint8_t buf[8];
    struct gw_ubuf ub;
    gw_ub_init(&ub, buf, sizeof(buf));
    gw_b_deny_all(&ub);
    sim_term_answer(st, fr, GW_AFN_CONFIRM, 0, buf, ub.len);
}
