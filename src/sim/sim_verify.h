/* sim_verify.h -- the simulator's checks and side files (private to src/sim): --verify (the
 * ledger against the store), --score (anomalies against the ground truth), the fault list,
 * the ground-truth file and the master-data CSVs.
 * Thread: main. */
#ifndef MF_SIM_VERIFY_H
#define MF_SIM_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/config.h"
#include "sim/sim_int.h"

struct sim_verify_opts {
    const char *ledger_path;    /* borrowed */
    const char *ground_truth;   /* borrowed */
    const char *db_path;        /* --db: SQLite file */
    const char *pg_conninfo;    /* --pg */
    const char *config_file;    /* -c: the INI whose [store] / [meterflow] to reuse */
    const struct mf_cfg_item *const *tables; /* every module's config table (from app) */
    const char *const *passthrough;
};

struct sim_verify_counts {
    uint64_t confirmed, found, missing, mismatched, duplicated, conflicts, bad_lines;
    uint64_t unchecked; /* ledger lines of items --verify does not check (voltage) */
    uint64_t by_item_confirmed[4], by_item_missing[4]; /* energy, daily, curve, events */
};
/* Check without printing. 0 (counts filled), or 2 for a set-up error (printed). */
int sim_verify_count(const struct sim_verify_opts *o, struct sim_verify_counts *c);
/* Exit status: 0 every confirmed value found once with its value, 1 missing / mismatched /
 * duplicated, 2 set-up error (no store, unreadable ledger). */
int sim_verify(const struct sim_verify_opts *o);
/* Open the store the options name (read-only). Gives a handle, NULL after printing why. */
struct store;
struct store *sim_store_open(const struct sim_verify_opts *o);
/* Exit status: 0 scored (prints precision / recall per fault kind), 2 set-up error. */
int sim_score(const struct sim_verify_opts *o);

/* Faults from --fault specs (seeded targets in [from, to]; INT32_MIN = the run's days) and
 * from a JSON-lines file. Gives *out (free it, or hand it to sim_model_init). 0 or
 * MF_EINVAL after printing why. */
int sim_faults_build(const struct sim_cfg *cfg, const char *file, const char *const *specs,
                     size_t nspecs, int32_t from, int32_t to, struct sim_fault **out,
                     size_t *nout);
int sim_ground_truth_write(const struct sim_model *m, const char *path);
int sim_master_data_write(const struct sim_model *m, const char *dir);
/* Area id used in master data and the ground truth: "A00001" for area 0. */
void sim_area_id(uint32_t area, char *out, size_t len);

#endif
