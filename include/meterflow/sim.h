/* sim.h -- the terminal simulator `meterflow sim` (src/sim, docs/SIMULATOR.md): simulated
 * 376.1 concentrators that log in to a master, report, answer requests, log out; the ledger
 * of confirmed values and its --verify against the store; the anomaly --score.
 * Thread: main; the simulator forks its own worker processes. */
#ifndef MF_SIM_H
#define MF_SIM_H

#include "meterflow/config.h"

/* The whole subcommand: argv[0] = "sim". tables/passthrough: every module's config table
 * (borrowed; used to read the store settings of a -c INI for --verify / --score). Returns
 * the process exit status (see --help). */
int sim_main(int argc, char **argv, const struct mf_cfg_item *const *tables,
             const char *const *passthrough);

#endif
