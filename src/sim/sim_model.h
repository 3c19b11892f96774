/* sim_model.h -- the simulator's data model (private to src/sim): a deterministic world of
 * transformer areas, terminals and metering points, whose every reading is a pure function of
 * (seed, terminal, pn, virtual time). Nothing here does I/O or keeps a clock.
 *
 * Why a pure function: a terminal must answer an AFN=0D request for any past day with exactly
 * the value it reported (or would have reported) for that day, the ledger must agree with the
 * frames, and two runs with one seed must produce the same numbers. So no reading is ever
 * stored; it is recomputed from the seed when needed.
 *
 * Units: energy in 0.0001 kWh ("units", the resolution of data format A.14), int64.
 * Time: "local seconds" -- the terminal's civil time counted as if it were UTC (days since
 * 1970-01-01 * 86400 + seconds of day). The simulator never needs the zone except to tell
 * the user what it is doing; the master converts civil time with its own zone.
 *
 * Layout: N terminals, M points each (pn 1..M), K transformer areas (1 <= K <= N). Terminal t
 * (0-based) belongs to area t*K/N, so areas are contiguous runs of terminals. The area's
 * supply meter (台区总表) is pn 1 of the area's first terminal; every other point is a
 * customer of that area. The supply meter measures the sum of its customers' *true*
 * consumption plus a technical loss of 2-5 %, hour by hour.
 *
 * Thread: a model is read-only after sim_model_init; any thread/process may call the query
 * functions concurrently. */
#ifndef MF_SIM_MODEL_H
#define MF_SIM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define SIM_UNITS_PER_KWH 10000
#define SIM_TARIFFS 4              /* 1 sharp, 2 peak, 3 flat, 4 valley */
#define SIM_DAY_S 86400
#define SIM_MAX_SPAN_DAYS 3660     /* queries further than this from the start are refused */
#define SIM_IND_MOD 10000000000LL  /* A.14 rolls over after 999999.9999 kWh */

enum sim_class { SIM_RESIDENTIAL = 0, SIM_COMMERCIAL = 1, SIM_INDUSTRIAL = 2, SIM_SUPPLY = 3 };

enum sim_fault_kind {
    SIM_F_THEFT = 0,    /* area: a third of its customers under-report (40 % of true) */
    SIM_F_STOPPED,      /* point: the register stops advancing */
    SIM_F_REVERSED,     /* point: the indication goes backwards */
    SIM_F_CLOCK,        /* terminal: its clock runs away beyond the sync threshold */
    SIM_F_SAG,          /* point: voltage about 15 % low (+ ERC24 at start) */
    SIM_F_FLAP,         /* terminal: connects and disconnects every few seconds */
    SIM_F_DROP,         /* point: no active daily report (re-collection must fetch it) */
    SIM_F_NKINDS
};

struct sim_fault {
    uint8_t kind;       /* enum sim_fault_kind */
    uint32_t term;      /* terminal index (area faults: the area's first terminal) */
    uint16_t pn;        /* 0 for terminal and area faults */
    uint32_t area;
    int32_t from_day;   /* inclusive, days since 1970-01-01 (virtual civil date) */
    int32_t to_day;     /* inclusive */
};

struct sim_model {
    uint64_t seed;
    uint32_t nterm;     /* N */
    uint16_t npoints;   /* M, 1..2040 */
    uint32_t nareas;    /* K */
    uint16_t region;    /* A1 (BCD digits as a 16-bit number, e.g. 0x4403) */
    uint16_t first_addr;/* A2 of terminal 0 */
    int32_t start_day;  /* virtual day the run starts on; indications are anchored there */
    /* faults sorted by (term, kind); term_first[t]..term_first[t+1] index them (CSR). */
    struct sim_fault *faults;  /* owned */
    size_t nfaults;
    uint32_t *term_first;      /* owned, nterm + 1 entries */
};

/* ---- deterministic randomness ---- */

/* splitmix64 finaliser of (seed, a, b, c): the one hash every derived parameter uses. */
uint64_t sim_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
/* Uniform in [0, 1) from a hash. */
double sim_unit(uint64_t h);

/* Sequential generator (per terminal, for event timing and jitter). */
struct sim_rng {
    uint64_t s;
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(struct sim_rng *r);
double sim_rng_unit(struct sim_rng *r);
/* Exponential variate with the given mean. */
double sim_rng_exp(struct sim_rng *r, double mean);

/* ---- layout ---- */

/* faults: takes ownership (may be NULL with nfaults 0); sorted here. 0 or MF_EINVAL when a
 * fault names a terminal, pn or area outside the layout. */
int sim_model_init(struct sim_model *m, uint64_t seed, uint32_t nterm, uint16_t npoints,
                   uint32_t nareas, uint16_t region, uint16_t first_addr, int32_t start_day,
                   struct sim_fault *faults, size_t nfaults);
void sim_model_fini(struct sim_model *m);

uint32_t sim_area_of(const struct sim_model *m, uint32_t term);
/* Terminals [*t0, *t1) of area a. */
void sim_area_terms(const struct sim_model *m, uint32_t area, uint32_t *t0, uint32_t *t1);
int sim_point_class(const struct sim_model *m, uint32_t term, uint16_t pn);
/* The tariff (1..4) in force during hour h (0..23). */
int sim_tariff_of_hour(int hour);

/* The fault of `kind` covering (term, pn, day), or NULL. Area faults (theft) match any
 * customer point of the area that the theft selects; pn 0 matches terminal faults. */
const struct sim_fault *sim_fault_at(const struct sim_model *m, int kind, uint32_t term,
                                     uint16_t pn, int32_t day);

/* ---- energy ---- */

/* Energy of day `day` split into 24 hours, in units. reported = 0: what flowed (what the
 * supply meter and physics see); reported = 1: what the point's register counted (theft,
 * stopped and reversed faults applied; reversed gives negative hours). */
void sim_day_hours(const struct sim_model *m, uint32_t term, uint16_t pn, int32_t day,
                   int reported, int64_t hour_e[24]);

/* Register indication at local second ls: ind[0] total, ind[1..4] tariffs; tariffs sum to
 * the total exactly (before rollover). 0, or MF_ERANGE when ls is more than
 * SIM_MAX_SPAN_DAYS from the start day. Values are already reduced modulo SIM_IND_MOD. */
int sim_indication(const struct sim_model *m, uint32_t term, uint16_t pn, int64_t ls,
                   int64_t ind[SIM_TARIFFS + 1]);

/* Instantaneous values at ls (for 0C F25, DL/T 645 reads and ERC24). */
struct sim_instant {
    int phases;           /* 1 single-phase (B/C absent), 3 three-phase */
    double p_kw[4];       /* total, A, B, C */
    double q_kvar[4];
    double s_kva[4];
    double pf_pct[4];
    double u_v[3];
    double i_a[3];
};
void sim_instant(const struct sim_model *m, uint32_t term, uint16_t pn, int64_t ls,
                 struct sim_instant *out);

/* ---- terminal clock ---- */

/* Natural clock error of a terminal at local second ls (seconds; small drift, bounded), plus
 * the runaway of a SIM_F_CLOCK fault. The terminal adds its own offset set by AFN=05 F31. */
int64_t sim_clock_error(const struct sim_model *m, uint32_t term, int64_t ls);

/* Terminal address of index t: A2 = first_addr + t (wraps past 0xFFFF skipping 0). */
uint16_t sim_term_a2(const struct sim_model *m, uint32_t term);

/* 12-digit DL/T 645 meter address of a point: region digits, terminal address, pn. */
uint64_t sim_point_addr(const struct sim_model *m, uint32_t term, uint16_t pn);

/* ---- the virtual clock ---- */

/* Virtual local seconds as a function of real seconds since the start. Without catch-up the
 * clock runs at `speed` for ever. With catch-up (real0_ls = the real local time at the start,
 * start_ls < real0_ls, speed > 1) it runs at `speed` until it reaches real time, then at 1x:
 * from the crossing on it equals real0_ls + el (real time). Continuous and monotonic. */
struct sim_vclock {
    int64_t start_ls;
    double speed;
    int catch_up;
    int64_t real0_ls;
};
int64_t sim_vclock_at(const struct sim_vclock *vc, double el);
/* Real seconds after the start at which virtual time ls arrives (0 if already). */
double sim_vclock_el(const struct sim_vclock *vc, int64_t ls);
/* Real seconds after the start at which the clock reaches real time (-1: never, i.e. no
 * catch-up, or the start is not in the past, or speed <= 1). */
double sim_vclock_cross_el(const struct sim_vclock *vc);

/* ---- faults ---- */

const char *sim_fault_kind_name(int kind);
int sim_fault_kind_parse(const char *name); /* -1 if unknown */

/* ---- dates on the command line, in the ledger and the faults file ---- */

/* Parse "YYYY-MM-DD", then "THH:MM" and ":SS" as `flags` allow, strictly: exact digit
 * counts (no sign, no blank), a real calendar date (leap years), hour < 24, min/sec < 60,
 * nothing after (unless SIM_TP_PREFIX: then only the date is read and the rest ignored).
 * Fields not given are 0. 0, or MF_EINVAL. */
#define SIM_TP_DATE 0u   /* the date only */
#define SIM_TP_HM 1u     /* "THH:MM" may follow */
#define SIM_TP_HM_REQ 2u /* "THH:MM" must follow */
#define SIM_TP_SEC 4u    /* ":SS" may follow HH:MM */
#define SIM_TP_PREFIX 8u /* read the date at the start of a longer string */
struct sim_ymdhms {
    int year, mon, day, hour, min, sec;
};
int sim_time_parse(const char *s, unsigned flags, struct sim_ymdhms *t);

#endif
