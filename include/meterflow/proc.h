/* proc.h -- processing: the analytics of docs/ANALYTICS.md as pure functions (daily
 * consumption, collection success, transformer-area line loss, anomaly rules).
 *
 * Everything here is pure: arrays in, arrays out, no I/O, clocks, allocation of unbounded
 * size or logging. The worker reads the inputs from the store in bulk, calls these
 * functions, and writes the outputs back in one batch; the analytics never do one store
 * round-trip per point (1,000,000 points must roll up in well under a minute).
 *
 * Energy is exact fixed point: int64 ten-thousandths of a kWh ("_e4"), the resolution of
 * data format A.14 (XXXXXX.XXXX). Voltages are decivolts ("_dv", format A.7 XXX.X).
 * A measurement point is identified by its key: proc_point_key(terminal key, pn), where the
 * terminal key is gw_terminal_key(a1, a2) (a1 << 16 | a2).
 * Days are days since 1970-01-01 of the civil date (mf_date_to_days); a daily frozen value
 * for day D is the indication frozen at the end of D (00:00 of D+1, 376.1 section 9.5).
 *
 * Thread: every function is reentrant; structs belong to their caller. */
#ifndef MF_PROC_H
#define MF_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/store.h"

/* ---- keys and configuration ---- */

static inline uint64_t proc_point_key(uint32_t terminal_key, uint16_t pn)
{
    return (uint64_t)terminal_key << 16 | pn;
}
static inline uint32_t proc_point_terminal(uint64_t key)
{
    return (uint32_t)(key >> 16);
}
static inline uint16_t proc_point_pn(uint64_t key)
{
    return (uint16_t)(key & 0xFFFFu);
}

#define PROC_E4 10000LL                  /* one kWh in _e4 units */
#define PROC_DEFAULT_MODULUS_E4 (1000000LL * PROC_E4) /* 999999.9999 -> 0 */
#define PROC_WINDOW_MAX 32               /* days of history one rollup looks at */

/* Thresholds of every rule; defaults from proc_cfg_defaults(), overridden from the
 * [analytics] configuration section by the worker. */
struct proc_cfg {
    int window_days;            /* history before D read for gaps and medians, 1..31 */
    int rollover_window_pct;    /* rollover: prev >= (100-w)% of the modulus, cur <= w% */
    int64_t reset_max_e4;       /* a backward step to at most this value is a reset */
    int jump_factor_pct;        /* jump: advance > factor/100 x trailing median */
    int jump_min_history;       /* single-day advances needed before the jump rule applies */
    int64_t jump_floor_e4;      /* median used is at least this (a median of 0 is no base) */
    int64_t stopped_area_min_e4;/* stopped: the area's supply advanced at least this */
    int loss_high_pct;          /* line loss above this rate is flagged high */
    int voltage_nominal_dv;     /* 2200 = 220.0 V */
    int voltage_low_pct;        /* lower limit = nominal x (100 - low)/100 */
    int voltage_high_pct;       /* upper limit = nominal x (100 + high)/100 */
    int clock_max_offset_s;     /* terminal/meter clock deviation threshold */
    int offline_max_hours;      /* long offline threshold */
    int erc_min_severity;       /* ERC events at or above this severity become anomalies */
    int flap_min_logins;        /* flapping: at least this many logins on day D ... */
    int flap_min_offlines;      /* ... and at least this many offline changes */
    int flap_quiet_hours;       /* a flapping anomaly is resolved after this long stable */
};
void proc_cfg_defaults(struct proc_cfg *c);

/* ---- anomalies ---- */

enum proc_anomaly_kind {
    PROC_AN_BACKWARDS = 1,  /* reading went backwards (not a rollover, not a reset) */
    PROC_AN_STOPPED = 2,    /* zero advance while the area's supply meter advanced */
    PROC_AN_JUMP = 3,       /* advance > factor x trailing median */
    PROC_AN_VOLTAGE_LOW = 4,
    PROC_AN_VOLTAGE_HIGH = 5,
    PROC_AN_CLOCK = 6,      /* terminal or meter clock deviation over the threshold */
    PROC_AN_OFFLINE = 7,    /* terminal offline longer than the threshold */
    PROC_AN_EVENT = 8,      /* an ERC event at or above the configured severity */
    PROC_AN_RESET = 9,      /* register restarted near zero (meter reset) */
    PROC_AN_REPLACED = 10,  /* meter address changed between two frozen values */
    PROC_AN_LINE_LOSS = 11, /* area loss high (with the missing meters' allowance, if any) */
    PROC_AN_FLAPPING = 12,  /* terminal logged in and dropped many times in one day */
    PROC_AN_IMPERSONATION = 13, /* logins alternating between two peer addresses (sec_imp) */
};
const char *proc_anomaly_kind_str(int kind); /* "backwards", "stopped", ... */

enum proc_severity {
    PROC_SEV_INFO = 1,
    PROC_SEV_MINOR = 2,
    PROC_SEV_MAJOR = 3,
    PROC_SEV_CRITICAL = 4,
};
const char *proc_severity_str(int sev); /* "info", "minor", "major", "critical" */

/* One anomaly with its evidence. What value/ref/threshold mean depends on the kind
 * (docs/ANALYTICS.md lists them); detail is a human sentence with the same numbers. */
struct proc_anomaly {
    uint8_t kind;       /* enum proc_anomaly_kind */
    uint8_t severity;   /* enum proc_severity */
    uint16_t code;      /* ERC number for PROC_AN_EVENT, phase 1..3 for voltage, else 0 */
    uint64_t point;     /* point key; terminal-level anomalies use pn 0 */
    int32_t day;        /* civil day the anomaly belongs to */
    int64_t at;         /* UTC seconds of the evidence (sample time), 0 for day-level rules */
    int64_t value;      /* observed value (e4 energy, dv voltage, s clock, s offline) */
    int64_t ref;        /* reference value (previous indication, median, supply advance) */
    int64_t threshold;  /* limit that was crossed, same unit as value */
    int32_t count;      /* samples that crossed it (voltage), span days (backwards), else 1 */
    char detail[112];
};

/* A bounded output list: the caller supplies v[0..cap). Anomalies past cap are counted in
 * dropped, never written. */
struct proc_anoms {
    struct proc_anomaly *v;
    size_t n, cap;
    size_t dropped;
};
/* Returns the slot to fill, or NULL (and counts a drop) when full. */
struct proc_anomaly *proc_anoms_push(struct proc_anoms *a);

/* ---- daily consumption ---- */

enum proc_val_status { PROC_VAL_OK = 0, PROC_VAL_ABSENT = 1, PROC_VAL_INVALID = 2 };

/* One daily frozen total forward active indication, as stored. */
struct proc_ind {
    uint64_t point;
    int32_t day;
    uint8_t status;        /* enum proc_val_status; only OK values are used */
    int64_t kwh_e4;
    uint64_t meter_addr;   /* meter address (A.12 as a number) when known, else 0 */
};

enum proc_cons_status {
    PROC_CONS_OK = 0,       /* I(D) - I(D-1) */
    PROC_CONS_ROLLOVER = 1, /* I(D) + modulus - I(D-1): the register passed its maximum */
    PROC_CONS_MISSING = 2,  /* no usable value for D: nothing computed, point not collected */
    PROC_CONS_NO_PREV = 3,  /* value for D but none in the window before it */
    PROC_CONS_GAP = 4,      /* previous value is k > 1 days back: advance over k days in
                             * kwh_e4, span_days = k, NOT attributed to D */
    PROC_CONS_BACKWARDS = 5,/* I(D) < I(D-1), neither rollover nor reset */
    PROC_CONS_RESET = 6,    /* I(D) < I(D-1) and I(D) <= reset_max: register restarted */
    PROC_CONS_REPLACED = 7, /* meter address differs from the previous value's */
};
const char *proc_cons_status_str(int st);

/* 1 when kwh_e4 is the consumption of day D itself. */
static inline int proc_cons_has_value(int st)
{
    return st == PROC_CONS_OK || st == PROC_CONS_ROLLOVER;
}

struct proc_cons {
    uint64_t point;
    int32_t day;
    uint8_t status;       /* enum proc_cons_status */
    int32_t span_days;    /* days between the two values used (1 normally) */
    int64_t kwh_e4;       /* consumption (OK/ROLLOVER) or advance over the gap (GAP) */
    int64_t start_e4;     /* indication used as start (-1: none) */
    int64_t end_e4;       /* indication for D (-1: none) */
    int64_t median_e4;    /* trailing median of single-day advances before D (-1: unknown) */
};

/* Consumption of one point for day `day` from its indications ind[0..n), sorted by day
 * ascending (any days; only [day - window_days, day] are looked at). modulus_e4 <= 0 means
 * PROC_DEFAULT_MODULUS_E4. Fills *out; appends backwards/jump/reset/replaced anomalies. */
void proc_consumption(const struct proc_cfg *cfg, int32_t day, uint64_t point,
                      int64_t modulus_e4, const struct proc_ind *ind, size_t n,
                      struct proc_cons *out, struct proc_anoms *an);

/* The same from a dense history: hist[j] is the indication of day (day - hist_days + 1 + j),
 * or PROC_HIST_NONE when that day has no usable (OK) value; hist[hist_days - 1] is D.
 * This is the layout the rollup uses (8 bytes per point-day, no keys, no sorting). */
#define PROC_HIST_NONE (-1)
void proc_consumption_hist(const struct proc_cfg *cfg, int32_t day, uint64_t point,
                           int64_t modulus_e4, const int64_t *hist, int hist_days,
                           struct proc_cons *out, struct proc_anoms *an);
/* The same with the meter address in force at the end of each history day (addr[j] for
 * hist[j], 0 unknown; NULL: none known), so a changed address gives PROC_CONS_REPLACED. */
void proc_consumption_hist_addr(const struct proc_cfg *cfg, int32_t day, uint64_t point,
                                int64_t modulus_e4, const int64_t *hist, const uint64_t *addr,
                                int hist_days, struct proc_cons *out, struct proc_anoms *an);

/* Register modulus from a meter's integer digits (AFN 04/0A F10: 4..7 digits): 10^digits
 * kWh in e4 units. Anything else gives the default (6 digits). */
int64_t proc_modulus_from_digits(int int_digits);

/* ---- the daily rollup: consumption, success rate, line loss, stopped meters ---- */

#define PROC_NO_AREA UINT32_MAX

enum proc_role { PROC_ROLE_CUSTOMER = 0, PROC_ROLE_SUPPLY = 1, PROC_ROLE_OTHER = 2 };

/* An expected point (master data). points[] must be sorted by key, keys unique. */
struct proc_point {
    uint64_t key;
    uint32_t area;        /* index into the areas of the rollup, or PROC_NO_AREA */
    uint8_t role;         /* enum proc_role: the area's supply meter or a customer meter */
    int64_t modulus_e4;   /* <= 0: default */
    uint32_t multiplier;  /* CT x PT ratio; energy = advance x multiplier; 0 is taken as 1 */
};

enum proc_loss_status {
    PROC_LOSS_OK = 0,
    PROC_LOSS_HIGH = 1,        /* rate > loss_high_pct */
    PROC_LOSS_NEGATIVE = 2,    /* customers used more than the supply meter measured */
    PROC_LOSS_INCOMPLETE = 3,  /* a member or the supply meter has no consumption for D */
    PROC_LOSS_NO_SUPPLY = 4,   /* the area has no supply meter, or it measured 0 */
    /* customers missing, but the loss stays above the threshold even if each missing
     * customer had consumed its allowance (docs/ANALYTICS.md) */
    PROC_LOSS_HIGH_DESPITE_MISSING = 5,
};
const char *proc_loss_status_str(int st);

struct proc_area_out {
    uint32_t area;             /* index */
    uint32_t expected;         /* points of the area expected (supply + customers) */
    uint32_t collected;        /* of those, with a usable daily frozen value for D */
    uint32_t customers;        /* customer members */
    uint32_t customers_with_cons; /* customers with a consumption for D */
    uint64_t supply_point;     /* 0 if none */
    int64_t supply_e4;         /* supply energy for D, x multiplier (-1 if unknown) */
    int64_t customers_e4;      /* sum of the customers' known energy for D, x multiplier */
    /* Allowance of the customers without consumption for D: each one's trailing median
     * (x multiplier) or, unknown, the area's mean per customer with consumption. 0 when
     * none is missing, -1 when it cannot be estimated (no median, no customer measured). */
    int64_t allowance_e4;
    uint32_t allowance_by_mean;   /* missing customers whose allowance is the area mean */
    /* supply - customers (- allowance for HIGH_DESPITE_MISSING and INCOMPLETE with a known
     * supply and allowance); unset for NO_SUPPLY */
    int64_t loss_e4;
    int32_t loss_ppm;          /* loss / supply in ppm (valid if has_rate: OK, HIGH, NEGATIVE,
                                * HIGH_DESPITE_MISSING) */
    uint8_t has_rate;
    uint8_t status;            /* enum proc_loss_status */
};

struct proc_addr {
    uint64_t point;
    int32_t day;          /* civil day the address was seen */
    uint64_t addr;        /* the meter address as a number (12 BCD digits read as decimal) */
};

struct proc_rollup_in {
    int32_t day;
    const struct proc_point *points; /* borrowed; sorted by key */
    size_t npoints;
    uint32_t nareas;
    /* Per-area high-loss threshold in ppm (1e6 = 100 %), NULL: cfg->loss_high_pct. */
    const int32_t *area_high_ppm;    /* borrowed; nareas entries */
    /* Daily frozen indications: hist[i * hist_days + j] for points[i], layout of
     * proc_consumption_hist (PROC_HIST_NONE where missing, absent or invalid). */
    const int64_t *hist;             /* borrowed; npoints * hist_days entries */
    int hist_days;                   /* 1..PROC_WINDOW_MAX */
    /* Meter addresses seen (the terminal's meter table), sorted by (point, day): from `day`
     * on, the point's meter is `addr`. May be NULL/0: the replaced rule then never fires. */
    const struct proc_addr *addrs;   /* borrowed; naddrs entries */
    size_t naddrs;
};

struct proc_rollup_out {
    /* caller's array of npoints entries, same order. kwh_e4 of OK/ROLLOVER/GAP entries is
     * multiplied by the point's multiplier; start/end stay raw indications. */
    struct proc_cons *cons;
    struct proc_area_out *areas;     /* caller's array of nareas entries */
    uint32_t expected, collected;    /* overall success: collected / expected */
    struct proc_anoms anoms;         /* caller's bounded list */
};

/* Compute everything for in->day in one pass over the points.
 * 0, or MF_EINVAL when points or addrs are not sorted, an area index is out of range or
 * hist_days is out of range. */
int proc_rollup(const struct proc_cfg *cfg, const struct proc_rollup_in *in,
                struct proc_rollup_out *out);

/* ---- instantaneous rules ---- */

/* A voltage sample (0C F25 or a 0D F89..F91 curve point). */
struct proc_volt {
    uint64_t point;
    int64_t at;          /* UTC seconds */
    uint8_t phase;       /* 1..3 = A, B, C */
    int32_t dv;          /* decivolts; only OK samples are passed in */
};
/* Samples of one day, sorted by (point, phase, at). One anomaly per (point, phase,
 * direction) with the worst value, the number of samples outside and the first time. */
void proc_voltage(const struct proc_cfg *cfg, int32_t day, const struct proc_volt *s, size_t n,
                  struct proc_anoms *an);
/* The voltage rule's limits in decivolts: a sample below *lo or above *hi is outside. */
void proc_voltage_limits(const struct proc_cfg *cfg, int32_t *lo, int32_t *hi);

/* A clock offset observation: terminal clock (pn 0) or meter clock (pn > 0) minus the
 * master's receive time. */
struct proc_clock {
    uint64_t point;
    int64_t at;
    int32_t offset_s;
};
/* One anomaly per sample with |offset| > clock_max_offset_s (the caller passes the latest
 * sample per point). Returns the number of anomalies appended. */
size_t proc_clock_check(const struct proc_cfg *cfg, int32_t day, const struct proc_clock *s,
                        size_t n, struct proc_anoms *an);

/* Terminal presence for the long-offline rule. */
struct proc_presence {
    uint32_t terminal;
    uint8_t online;
    int64_t since;        /* UTC seconds of the last state change (last seen if offline) */
};
void proc_offline(const struct proc_cfg *cfg, int32_t day, int64_t now,
                  const struct proc_presence *p, size_t n, struct proc_anoms *an);

/* A terminal's session changes within civil day D (the session log). */
struct proc_sessions {
    uint32_t terminal;
    int32_t logins;       /* logins (session online) */
    int32_t offlines;     /* offline changes, any reason (logout, timeout, closed, ...) */
    int64_t first_at;     /* UTC s of the first counted change */
};
/* Flapping: logins >= flap_min_logins and offlines >= flap_min_offlines on D; one anomaly
 * per terminal (pn 0): value = logins, ref = offlines, threshold = flap_min_logins. */
void proc_flapping(const struct proc_cfg *cfg, int32_t day, const struct proc_sessions *s,
                   size_t n, struct proc_anoms *an);

/* ERC severity table (docs/ANALYTICS.md); unknown and vendor ERCs are PROC_SEV_INFO. */
int proc_erc_severity(int erc);
const char *proc_erc_name(int erc); /* "terminal power off/on", ... "vendor/unknown" */

struct proc_event {
    uint64_t point;       /* terminal key << 16 | pn from the record (0 if none) */
    int64_t at;           /* event time UTC, 0 if unknown */
    uint8_t erc;
    uint8_t started;      /* 1 started, 0 restored/ended, 2 not stated */
};
void proc_events(const struct proc_cfg *cfg, int32_t day, const struct proc_event *e, size_t n,
                 struct proc_anoms *an);

/* ---- normalisation: decoded frames -> store records (src/proc/proc_norm.c) ----
 *
 * A record as a tagged union of the store's record structs (store.h). Pointers inside are
 * borrowed for the duration of the emit callback (they point into the frame or into the
 * normaliser's stack): the receiver copies what it keeps. */
enum proc_rec_type {
    PROC_REC_ENERGY = 1,
    PROC_REC_INSTANT,
    PROC_REC_FROZEN,
    PROC_REC_CURVE,
    PROC_REC_EVENT,
    PROC_REC_EC,
    PROC_REC_CLOCK,
    PROC_REC_VERSION,
    PROC_REC_METER_CFG,
    PROC_REC_FWD645,
    PROC_REC_FRAME,
    PROC_REC_SESSION,
    PROC_REC_CMD_RESULT,
};

struct proc_rec {
    int type; /* enum proc_rec_type */
    union {
        struct store_energy energy;
        struct store_instant instant;
        struct store_frozen frozen;
        struct store_curve curve;
        struct store_event event;
        struct store_ec ec;
        struct store_clock clock;
        struct store_version version;
        struct store_meter_cfg meter_cfg;
        struct store_fwd645 fwd645;
        struct store_frame frame;
        struct store_session session;
        struct store_cmd_result cmd_result;
    } u;
};

/* Receives each record; returns 0, or a negative status that stops the normaliser. */
typedef int (*proc_emit_fn)(void *opaque, const struct proc_rec *r);

struct gw_decoded;

/* What the normaliser needs besides the decoded units. */
struct proc_norm_ctx {
    uint32_t term;              /* terminal key of the frame */
    int64_t received_at;        /* master's receive time, UTC s */
    const struct proc_cfg *cfg; /* thresholds of the ingest-time rules; NULL: no rules */
    struct proc_anoms *anoms;   /* ingest-time anomalies (voltage, clock, events); may be NULL */
    size_t skipped;             /* out: units with no record mapping (kept only raw) */
};

/* Turn every decoded unit of an uplink frame into store records (docs/QUEUE.md lists the
 * mapping): 0C F2/F25/F33/F34/F129..F136, 0D F1/F2/F9/F10/F17/F18/F161..F184 and curves
 * F81..F110/F145..F148, 0E F1/F2 events (+ event counters), 0A F10, 09 F1, 10 F1/F9.
 * Terminal civil times become UTC with the configured zone (mf_civil_to_utc). Values keep
 * their status: absent/invalid are emitted as such, never as 0. When ctx->cfg is set, the
 * voltage, clock and event rules run on the frame's samples and append to ctx->anoms.
 * Returns 0, or the first negative status of emit. */
int proc_norm_units(struct proc_norm_ctx *ctx, const struct gw_decoded *dec, proc_emit_fn emit,
                    void *opaque);


#endif
