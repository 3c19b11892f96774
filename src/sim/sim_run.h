/* sim_run.h -- entry points of the simulator's orchestration and checks (private to
 * src/sim; the public entry is include/meterflow/sim.h).
 * Thread: main. */
#ifndef MF_SIM_RUN_H
#define MF_SIM_RUN_H

#include "sim/sim_int.h"

/* Fork cfg->procs processes, run them to the end, print progress and the summary.
 * Returns the exit status: 0 all confirmed, 1 unconfirmed frames / ledger failure,
 * 2 set-up failure, 3 some terminal never logged in. */
int sim_run(const struct sim_cfg *cfg, const struct sim_model *model);

#endif
