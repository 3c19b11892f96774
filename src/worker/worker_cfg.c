/* worker_cfg.c -- [worker] configuration table (owned by the worker module). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item worker_cfg[] = {
    { "worker", "batch_max_records", MF_CFG_INT, "5000", 1, 1000000, NULL,
      "store transaction closes after this many records" },
    { "worker", "batch_max_ms", MF_CFG_INT, "20", 1, 60000, NULL,
      "store transaction closes after this long" },
    MF_CFG_END,
};
