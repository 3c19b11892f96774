/* sim_meter.h -- the simulated DL/T 645-2007 meters behind a simulated terminal (private to
 * src/sim): AFN=10 F1 transparent forwarding to a point's meter.
 * Thread: the process's loop thread. */
#ifndef MF_SIM_METER_H
#define MF_SIM_METER_H

#include <stdint.h>

#include "meterflow/gw3761.h"

struct sim_term;

/* Answer an AFN=10 request. */
void sim_meter_forward(struct sim_term *st, const struct gw_frame *fr);

#endif
