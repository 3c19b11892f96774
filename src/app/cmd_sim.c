/* cmd_sim.c -- `meterflow sim`: the terminal simulator (src/sim, docs/SIMULATOR.md).
 * Thread: main. */
#include "app/app.h"
#include "meterflow/sim.h"

int cmd_sim(int argc, char **argv)
{
    app_signals_install();
    return sim_main(argc, argv, app_cfg_tables, app_cfg_passthrough);
}
