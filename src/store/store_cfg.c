/* store_cfg.c -- [store] configuration table (owned by the store module). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item store_cfg[] = {
    { "store", "backend", MF_CFG_ENUM, "sqlite", 0, 0, "sqlite|postgres",
      "store backend: SQLite file under data_dir, or PostgreSQL" },
    { "store", "sqlite_file", MF_CFG_STR, "meterflow.db", 0, 0, NULL,
      "SQLite file name, relative to [meterflow] data_dir" },
    { "store", "pg_conninfo", MF_CFG_STR, "", 0, 0, NULL,
      "libpq connection string for the postgres backend" },
    MF_CFG_END,
};
