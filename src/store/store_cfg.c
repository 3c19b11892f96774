/* store_cfg.c -- [store] configuration table (owned by the store module).
 * store_open() reads these keys (src/store/store.c, store_opts_from_config). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item store_cfg[] = {
    { "store", "backend", MF_CFG_ENUM, "sqlite", 0, 0, "sqlite|postgres",
      "store backend: SQLite file under data_dir, or PostgreSQL" },
    { "store", "sqlite_file", MF_CFG_STR, "meterflow.db", 0, 0, NULL,
      "SQLite file name, relative to [meterflow] data_dir" },
    { "store", "sqlite_sync", MF_CFG_ENUM, "normal", 0, 0, "normal|full",
      "SQLite synchronous mode with WAL: normal survives a process crash (the guarantee); "
      "full also survives power loss, slower" },
    { "store", "sqlite_cache_mib", MF_CFG_INT, "128", 1, 65536, NULL,
      "SQLite page cache per handle in MiB (used as filled; the worker's writes touch pages of "
      "every terminal, so it should hold the hot part of the reading tables)" },
    { "store", "sqlite_mmap_mib", MF_CFG_INT, "1024", 0, 65536, NULL,
      "SQLite mmap_size in MiB: pages read from the mapping instead of read() copies "
      "(0 = off; SQLite caps it at its compile-time limit, 2 GiB in Debian's build)" },
    { "store", "sqlite_checkpoint", MF_CFG_ENUM, "background", 0, 0, "background|inline",
      "who copies the WAL into the database file: a thread of the writing handle (passive "
      "checkpoints beside the writer) or the committing thread itself (SQLite's default)" },
    { "store", "sqlite_checkpoint_pages", MF_CFG_INT, "4000", 100, 1000000, NULL,
      "WAL size in pages (4 KiB) that triggers a checkpoint (SQLite wal_autocheckpoint); "
      "at 8x this the committing thread checkpoints itself" },
    { "store", "sqlite_wal_coalesce", MF_CFG_BOOL, "true", 0, 0, NULL,
      "the writing handle hands each transaction's WAL frames to the kernel in few large "
      "writes instead of two per page, all before the commit returns (same durability)" },
    { "store", "busy_timeout_ms", MF_CFG_INT, "5000", 0, 600000, NULL,
      "SQLite busy_timeout / PostgreSQL lock_timeout (0 = none): how long a write waits for a lock before MF_ERETRY" },
    { "store", "pg_conninfo", MF_CFG_STR, "", 0, 0, NULL,
      "libpq connection string for the postgres backend" },
    { "store", "curve_days", MF_CFG_INT, "90", 0, 36500, NULL,
      "retention of curve points in days (0 = keep forever)" },
    { "store", "instant_days", MF_CFG_INT, "30", 0, 36500, NULL,
      "retention of instantaneous values in days (0 = keep forever)" },
    { "store", "frames_days", MF_CFG_INT, "7", 0, 36500, NULL,
      "retention of raw frames in days (0 = keep forever)" },
    { "store", "frames_keep", MF_CFG_INT, "200", 1, 100000, NULL,
      "raw frames kept per terminal (the panel's recent frames)" },
    MF_CFG_END,
};
