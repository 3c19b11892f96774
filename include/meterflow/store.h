/* store.h -- the store: one interface, two backends (SQLite, the embedded default; PostgreSQL
 * via libpq). Readings, events, sessions, commands, analytics output, master data, users.
 *
 * Promises:
 *  - Every call returns 0, MF_ERETRY (temporary: database busy or locked, disk full, I/O error,
 *    PostgreSQL connection lost / restarting / out of resources -- keep your data and call
 *    again later; the handle stays usable, PostgreSQL reconnects on the next call) or
 *    MF_EFATAL (constraint, syntax or schema error: repeating the same call cannot succeed).
 *    Some calls also return MF_ENOTFOUND / MF_EINVAL / MF_EEXIST as documented.
 *  - store_batch_write() writes a whole batch in ONE transaction: all or nothing.
 *  - Writes are idempotent: each record has a natural key (listed per struct); writing the
 *    same record again is a no-op (readings, events) or an overwrite with the same values
 *    (upserts), so at-least-once delivery gives exactly-once storage.
 *  - Values carry a status (enum store_vstatus): an absent (0xEE) or invalid (non-BCD) value
 *    is stored as NULL with its status, never as 0.
 *  - Every value reaches the database as a bound parameter; no SQL is built from values.
 *
 * Identifiers and units (docs/SCHEMA.md has the tables):
 *  - terminal: in structs a uint32_t key a1 << 16 | a2 (gw_terminal_key() in gw3761.h); in the
 *    database, the JSON and the read-side arguments the text "RRRR-TTTT".
 *  - times: UTC seconds since the epoch (int64_t); raw frames: UTC microseconds.
 *  - dates: days since 1970-01-01 of the civil date (mf_date_to_days() in clock.h); a monthly
 *    frozen value is dated the first day of its month.
 *  - JSON output: times as ISO-8601 UTC strings "2026-11-26T02:00:00Z", dates "2026-11-26",
 *    terminals "RRRR-TTTT", value statuses "ok" / "absent" / "invalid" (value null unless ok),
 *    paginated lists {"items":[...],"total":N,"page":P,"page_size":S}.
 *
 * Ownership: pointers inside the record structs are borrowed for the duration of the call.
 * json_t results are given (the caller json_decref()s them); *out is NULL on failure.
 *
 * Thread: a handle may be used from any thread; calls on one handle are serialised by a
 * mutex inside it. For parallel readers (web) open several handles: SQLite WAL lets many
 * readers and one writer share the file; PostgreSQL gives each handle its own connection. */
#ifndef MF_STORE_H
#define MF_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "meterflow/common.h"
#include "meterflow/config.h"

struct store;

/* ======================================================================================
 * Opening
 * ====================================================================================== */

enum store_backend { STORE_SQLITE = 1, STORE_POSTGRES = 2 };

struct store_opts {
    enum store_backend backend;
    const char *sqlite_path;   /* borrowed: full path of the SQLite file (STORE_SQLITE) */
    const char *pg_conninfo;   /* borrowed: libpq connection string (STORE_POSTGRES) */
    int sqlite_sync_full;      /* 0: synchronous=NORMAL (survives a process crash; the last
                                * transactions may be lost on power loss), 1: FULL */
    int busy_timeout_ms;       /* SQLite busy_timeout; PostgreSQL lock_timeout (0 none) */
    int sqlite_cache_mib;      /* SQLite page cache per handle, MiB */
    int sqlite_mmap_mib;       /* SQLite mmap_size, MiB (0: reads through read()) */
    int sqlite_ckpt_pages;     /* WAL pages that trigger a checkpoint (wal_autocheckpoint) */
    int sqlite_ckpt_bg;        /* 1: checkpoints in a thread of the handle's own, not in the
                                * committing thread (store_sqlite.c) */
    int sqlite_wal_coalesce;   /* 1: a read-write handle writes its WAL through the
                                * "mf-walbuf" VFS shim (store_sqlite_vfs.c): a transaction's
                                * frames in few large writes, flushed before COMMIT returns */
    int frames_keep;           /* raw frames kept per terminal by store_retention_run */
    int curve_days, instant_days, frames_days; /* retention; 0 = keep forever */
    int retention_chunk;       /* rows deleted per retention transaction; 0 = 50,000 */
    int readonly;              /* 1: the handle never writes (tools such as sim --verify):
                                * no migration (the schema must be current, else open fails),
                                * SQLite opened read-only (a missing file is an error),
                                * PostgreSQL default_transaction_read_only; writes fail with
                                * MF_EFATAL */
};

/* Defaults of every option (sqlite, NORMAL, 5000 ms, the [store] table's defaults for the
 * cache, mmap and checkpoints, 200 frames, 90/30/7 days). */
void store_opts_default(struct store_opts *o);

/* Open the backend chosen by [store] (backend, sqlite_file under [meterflow] data_dir,
 * pg_conninfo, sync, busy_timeout_ms, retention keys), create or migrate the schema (each
 * numbered migration step in its own transaction, recorded in schema_version).
 * errbuf names the file / conninfo and the reason. Gives a handle, NULL on failure. */
struct store *store_open(const struct mf_config *cfg, char *errbuf, size_t errlen);
/* Same with explicit options (tests, benchmarks, tools). */
struct store *store_open_opts(const struct store_opts *o, char *errbuf, size_t errlen);
/* Accepts NULL. */
void store_close(struct store *st);

/* "sqlite" or "postgres". */
const char *store_backend_name(const struct store *st);
/* Schema version after migrations (the number of the last step applied). */
int store_schema_version(struct store *st);
/* Copy the message of the last failed call on this handle (empty if none). */
void store_last_error(struct store *st, char *buf, size_t len);

/* ======================================================================================
 * Records written by the worker (struct store_batch). Natural key of each in [brackets].
 * ====================================================================================== */

enum store_vstatus {
    STORE_V_OK = 0,      /* value valid */
    STORE_V_ABSENT = 1,  /* the terminal sent 0xEE: no data */
    STORE_V_INVALID = 2, /* non-BCD or otherwise undecodable */
};

/* Item / quantity short codes used by the worker (docs/SCHEMA.md lists them all). Any text of
 * at most STORE_CODE_MAX bytes is accepted; these are the conventional ones. */
#define STORE_CODE_MAX 32
#define STORE_ITEM_AP_FWD "ap_fwd" /* forward active energy, kWh */
#define STORE_ITEM_AP_REV "ap_rev" /* reverse active energy, kWh */
#define STORE_ITEM_RQ_FWD "rq1"    /* forward reactive (combined reactive 1), kvarh */
#define STORE_ITEM_RQ_REV "rq2"    /* reverse reactive (combined reactive 2), kvarh */
#define STORE_ITEM_Q1 "q1"         /* quadrant I..IV reactive, kvarh */
#define STORE_ITEM_Q2 "q2"
#define STORE_ITEM_Q3 "q3"
#define STORE_ITEM_Q4 "q4"

/* Current energy indication (0C F33/F34/F129..F136). [terminal, pn, item, read_at, tariff] */
struct store_energy {
    uint32_t term;
    uint16_t pn;
    uint8_t tariff;      /* 0 = total, 1..M */
    uint8_t status;      /* enum store_vstatus */
    const char *item;    /* "ap_fwd", ... */
    int64_t read_at;     /* meter reading time (UTC s) */
    double value;        /* ignored unless status == STORE_V_OK */
};

/* Instantaneous value (0C F25). [terminal, pn, read_at, quantity] */
struct store_instant {
    uint32_t term;
    uint16_t pn;
    uint8_t status;
    const char *quantity; /* "p","pa","pb","pc","q","qa","qb","qc","pf","pfa","pfb","pfc",
                           * "ua","ub","uc","ia","ib","ic","i0","s","sa","sb","sc" */
    int64_t read_at;
    double value;
};

enum store_frozen_kind {
    STORE_FROZEN_DAILY = 1,   /* 0D F1/F2, F161.. (日冻结) */
    STORE_FROZEN_READDAY = 2, /* 0D F9/F10 (抄表日冻结) */
    STORE_FROZEN_MONTHLY = 3, /* 0D F17/F18, F177.. (月冻结); date = first day of month */
};

/* Frozen indication (0D). [terminal, pn, kind, item, date, tariff] */
struct store_frozen {
    uint32_t term;
    uint16_t pn;
    uint8_t kind;        /* enum store_frozen_kind */
    uint8_t tariff;
    uint8_t status;
    const char *item;
    int32_t date;        /* days */
    double value;
    int64_t read_at;     /* the terminal's reading time (UTC s), 0 unknown */
};

/* Curve point (0D F81..F110, F145..F148). [terminal, pn, item, ts] */
struct store_curve {
    uint32_t term;
    uint16_t pn;
    uint8_t status;
    const char *item;    /* "F101" or a code, e.g. "ap_fwd", "p", "ua" */
    int64_t ts;
    double value;
};

/* Event record (0E). [terminal, class, erc, occurred_at, hash of raw] -- re-reading the same
 * record is a no-op. The hash (64-bit FNV-1a of raw) is computed by the store. */
struct store_event {
    uint32_t term;
    uint8_t cls;         /* 1 important, 2 normal */
    uint8_t erc;
    uint8_t severity;    /* 0 info, 1 minor, 2 major, 3 critical */
    int8_t started;      /* 1 started / occurred, 0 ended / restored, -1 not applicable */
    uint16_t pn;         /* 0 = the terminal itself */
    int64_t occurred_at; /* UTC s; 0 = unknown (JSON null) */
    int64_t received_at; /* UTC s */
    const char *fields_json; /* typed fields as a JSON object text, NULL = {} */
    const uint8_t *raw;  /* ERC + Le + content */
    size_t raw_len;      /* <= 257 */
};

/* Last processed event counters of a terminal (EC1 important, EC2 normal). Upsert of
 * [terminal]; each pointer only moves forward modulo 256 (new - old in 1..127), so a
 * redelivered older batch cannot move it back. -1 = leave unchanged. */
struct store_ec {
    uint32_t term;
    int16_t ec1;
    int16_t ec2;
    int64_t at;
};

/* Terminal clock reading (0C F2). [terminal, read_at]. Also sets terminals.clock_offset_s
 * (terminal_at - read_at) when read_at is the newest. */
struct store_clock {
    uint32_t term;
    int64_t read_at;     /* master's clock when the answer arrived (UTC s) */
    int64_t terminal_at; /* terminal's clock converted to UTC s */
};

/* Terminal version (09 F1). Upsert of [terminal]. Strings may be NULL. */
struct store_version {
    uint32_t term;
    const char *vendor, *device, *sw_version, *sw_date, *capacity, *proto_version,
        *hw_version, *hw_date;
    int64_t read_at;
};

/* Meter configuration entry (0A F10 answers, our own 04 F10 writes). Upsert of [terminal,
 * serial]; pn == 0 deletes the entry (the standard's "delete" marker). */
struct store_meter_cfg {
    uint32_t term;
    uint16_t serial;     /* 1..2040 */
    uint16_t pn;
    uint8_t port;        /* 1..31 */
    uint8_t baud;        /* 0..7 code (1 = 600 .. 7 = 19200) */
    uint8_t protocol;    /* 0, 1 (645-1997), 2 (AC sampling), 30 (645-2007), 31 */
    uint8_t tariffs;
    uint8_t user_class;  /* major << 4 | minor */
    const char *addr;    /* meter address, 12 digits */
    const char *collector; /* collector address, 12 digits; NULL or "000000000000" = none */
    int64_t read_at;
};

/* Result of a transparent DL/T 645 read forwarded through AFN=10. [terminal, meter address,
 * di, at] */
struct store_fwd645 {
    int64_t cmd_id;      /* 0 = not tied to a command */
    uint32_t term;
    const char *addr;    /* meter address, 12 digits */
    uint32_t di;         /* data identifier, e.g. 0x00010000 */
    uint8_t status;
    double value;
    const uint8_t *raw;  /* the 645 frame, may be NULL */
    size_t raw_len;      /* <= 512 */
    int64_t at;
};

/* Raw frame kept for the panel's "recent frames". [terminal, at_us, dir] */
struct store_frame {
    uint32_t term;
    int64_t at_us;       /* received (or sent) at, UTC microseconds */
    uint8_t dir;         /* 1 up (terminal -> master), 0 down */
    const uint8_t *raw;  /* the frame's bytes (frames.raw, schema step 5), borrowed */
    size_t raw_len;      /* <= 16391 (the longest 376.1 frame); raw may be NULL when 0 */
    const char *error;   /* why the frame did not parse or decode completely, <= 256 bytes;
                          * NULL: it decoded (or was not decoded: downlink) */
};

/* Session change from the front. Appended to the session log [terminal, at, state] and, when
 * newer than the terminal's last change, sets terminals.online / last_seen / peer /
 * clock_offset_s (a terminal unknown to master data is added with registered = 0). */
struct store_session {
    uint32_t term;
    uint8_t online;       /* 1 logged in / heartbeat, 0 offline */
    uint8_t has_clock_offset;
    int32_t clock_offset_s;
    const char *reason;   /* "login", "heartbeat", "logout", "timeout", "replaced", ... */
    const char *peer;     /* "ip:port", may be NULL */
    int64_t at;
};

enum store_cmd_state {
    STORE_CMD_QUEUED = 0,
    STORE_CMD_SENT = 1,
    STORE_CMD_ANSWERED = 2,
    STORE_CMD_FAILED = 3,
    STORE_CMD_TIMEOUT = 4,
    STORE_CMD_EXPIRED = 5, /* still queued/sent when [web] cmd_expire_s ran out (front gone) */
};
/* "queued", "sent", "answered", "failed", "timeout", "expired"; NULL for an unknown value. */
const char *store_cmd_state_name(int state);
/* Inverse of store_cmd_state_name; -1 if unknown. */
int store_cmd_state_parse(const char *name);

/* Command progress / answer (worker, front). Update of commands[id]; a final state
 * (answered, failed, timeout, expired) is never replaced by an earlier one (queued, sent);
 * a final one may replace another (an answer arriving after the expiry is kept). */
struct store_cmd_result {
    int64_t id;
    uint8_t state;            /* enum store_cmd_state */
    int32_t attempts;         /* -1 = leave unchanged */
    const char *answer_json;  /* NULL = leave unchanged */
    int64_t at;
};

/* ---- analytics output (computed by the worker, stored and served here) ---- */

#define STORE_USE_ROLLOVER 1u /* meter wrapped past its maximum reading */
#define STORE_USE_RESET 2u    /* reading went backwards (meter replaced / reset) */
#define STORE_USE_MISSING 4u  /* one of the two indications missing: kwh not computed */

/* Daily consumption of a point. Upsert of [terminal, pn, date]. */
struct store_daily_use {
    uint32_t term;
    uint16_t pn;
    uint8_t status;      /* STORE_V_OK when kwh is computed */
    uint32_t flags;      /* STORE_USE_* */
    int32_t date;
    double kwh;
    int64_t computed_at;
};

/* Collection success of a day, overall (area NULL or "") or per area. Upsert of [date, area].
 * Writing the overall row of a date replaces that date's missing-point list with the
 * store_missing records of the same batch. */
struct store_collect {
    int32_t date;
    const char *area;
    int32_t expected;
    int32_t collected;
    int64_t computed_at; /* rate = collected / expected is computed by the store */
};

/* A point with no daily frozen value for date. [date, terminal, pn] */
struct store_missing {
    int32_t date;
    uint32_t term;
    uint16_t pn;
    const char *area;
};

#define STORE_LOSS_OK 0
#define STORE_LOSS_HIGH 1       /* rate above the area's threshold */
#define STORE_LOSS_NEGATIVE 2   /* consumed > supply */
#define STORE_LOSS_INCOMPLETE 3 /* supply or some customer meters missing */
/* some customer meters missing, but the rate stays above the threshold even with their
 * usual consumption (the allowance) counted: docs/ANALYTICS.md (schema step 3) */
#define STORE_LOSS_HIGH_MISSING 4

/* Line loss of an area for a day. Upsert of [date, area].
 * Stored columns: supply_kwh (NULL unless has_supply), consumed_kwh, loss_kwh = supply -
 * consumed (NULL unless has_supply), rate (NULL unless has_rate), allowance_kwh (NULL unless
 * has_allowance), threshold (NULL unless has_threshold): set what you know. */
struct store_line_loss {
    int32_t date;
    const char *area;
    double supply_kwh, consumed_kwh; /* consumed includes allowance_kwh */
    int32_t meters_expected, meters_counted;
    uint8_t flag;        /* STORE_LOSS_* */
    int64_t computed_at;
    /* schema step 3 */
    double rate;          /* the judged rate (supply - consumed) / supply, a fraction */
    double allowance_kwh; /* estimate for the customers with no consumption (0: none) */
    double threshold;     /* the area's high-loss threshold the flag was judged by */
    uint8_t has_supply, has_rate, has_allowance, has_threshold;
};

/* Anomaly. [kind, terminal, pn, at]; an existing one is left as is (keeps the operator's
 * acknowledgement). kind: "backwards", "stopped", "jump", "voltage", "clock", "offline",
 * "event", ... */
struct store_anomaly {
    const char *kind;
    uint32_t term;
    uint16_t pn;
    const char *area;          /* may be NULL */
    int64_t at;                /* when it happened / was detected (UTC s) */
    int32_t date;              /* the day it concerns, -1 none */
    uint8_t severity;          /* 0..3 like events */
    const char *evidence_json; /* object text, NULL = {} */
};

/* Online-rate sample. [at] */
struct store_online_sample {
    int64_t at;
    int32_t registered, online;
};

/* Re-collection task for a missing daily value. Upsert of [terminal, pn, date]. */
struct store_recollect {
    uint32_t term;
    uint16_t pn;
    int32_t date;
    const char *state;   /* "pending", "sent", "done", "expired" */
    int32_t attempts;
    int64_t next_at;     /* when to try again (UTC s) */
    int64_t deadline_at;
    int64_t cmd_id;      /* last command sent for it, 0 none */
    int64_t updated_at;
};

/* One batch: arrays borrowed for the call, any of them may be empty (n == 0). Written in one
 * transaction in the order of the fields below. Caps: at most STORE_BATCH_MAX records in all
 * (MF_ERANGE beyond; nothing written). */
#define STORE_BATCH_MAX 1000000u
struct store_batch {
    const struct store_energy *energy;         size_t n_energy;
    const struct store_instant *instant;       size_t n_instant;
    const struct store_frozen *frozen;         size_t n_frozen;
    const struct store_curve *curve;           size_t n_curve;
    const struct store_event *events;          size_t n_events;
    const struct store_ec *ec;                 size_t n_ec;
    const struct store_clock *clocks;          size_t n_clocks;
    const struct store_version *versions;      size_t n_versions;
    const struct store_meter_cfg *meter_cfg;   size_t n_meter_cfg;
    const struct store_fwd645 *fwd645;         size_t n_fwd645;
    const struct store_frame *frames;          size_t n_frames;
    const struct store_session *sessions;      size_t n_sessions;
    const struct store_cmd_result *cmd_results; size_t n_cmd_results;
    const struct store_daily_use *daily_use;   size_t n_daily_use;
    const struct store_collect *collect;       size_t n_collect;
    const struct store_missing *missing;       size_t n_missing;
    const struct store_line_loss *line_loss;   size_t n_line_loss;
    const struct store_anomaly *anomalies;     size_t n_anomalies;
    const struct store_online_sample *online;  size_t n_online;
    const struct store_recollect *recollect;   size_t n_recollect;
};

/* Write the batch in one transaction. 0 / MF_ERETRY (nothing written; retry the same batch)
 * / MF_EFATAL (nothing written; a record is bad -- store_last_error says which) /
 * MF_ERANGE / MF_EINVAL (a record fails a cap, e.g. an item longer than STORE_CODE_MAX). */
int store_batch_write(struct store *st, const struct store_batch *b);

/* Retention: delete curve points, instantaneous values and raw frames older than the
 * configured days, and raw frames beyond frames_keep per terminal; expired session tokens.
 * Called periodically by the worker. Deletes in chunks (retention_chunk, 50,000 rows), one transaction each
 * (a long backlog never holds the write lock for long; the handle is held throughout, so
 * give retention its own handle if the caller's writes must not wait). *deleted (may be
 * NULL) = rows deleted, also when a later chunk fails (the earlier ones are committed). */
int store_retention_run(struct store *st, int64_t now, int64_t *deleted);

/* ======================================================================================
 * Reads for the worker and the front (C values, not JSON)
 * ====================================================================================== */

/* What the front needs at login. 0, or MF_ENOTFOUND for a terminal not in master data. */
struct store_terminal_cfg {
    int registered;      /* 1: in master data and allowed */
    int pw_len;          /* PW length override, 0 = default (16) */
    int login_answer;    /* 1: answer login with AFN=00 F1 (default), 3: with F3 */
};
int store_terminal_cfg_get(struct store *st, uint32_t term, struct store_terminal_cfg *out);

/* Last processed EC1/EC2 (-1 if never set). 0 or MF_ENOTFOUND. */
int store_ec_get(struct store *st, uint32_t term, int *ec1, int *ec2);

/* Both of the above in one query (one round trip): what a login needs. */
struct store_terminal_login {
    uint32_t term;
    struct store_terminal_cfg cfg;
    int ec1, ec2;        /* -1 if never set */
};
/* 0 (*out filled) or MF_ENOTFOUND for a terminal not in master data, or a store status. */
int store_terminal_login_get(struct store *st, uint32_t term, struct store_terminal_login *out);
/* The same for every row of terminals, in no particular order (the front's registry cache
 * loads them all at once). fn returns 0 to go on, non-zero to stop (returned). The handle
 * is locked meanwhile: fn must not call the store with it. */
typedef int (*store_terminal_login_fn)(void *opaque, const struct store_terminal_login *t);
int store_terminal_logins_iter(struct store *st, store_terminal_login_fn fn, void *opaque);

/* A stored frozen value. 0 (value/status set), MF_ENOTFOUND. */
int store_frozen_get(struct store *st, uint32_t term, uint16_t pn, int kind, const char *item,
                     int32_t date, int tariff, double *value, int *status);

/* Registered terminals and how many of them are online now. */
int store_online_count(struct store *st, int32_t *registered, int32_t *online);

/* One metering point of master data with its daily frozen forward active total (kind daily,
 * item "ap_fwd", tariff 0) for `date` and `date - 1`: everything daily consumption,
 * collection success and line loss need, in one pass. Strings borrowed for the callback. */
struct store_point_day {
    uint32_t term;
    uint16_t pn;
    const char *area;    /* "" if none */
    const char *addr;    /* meter address, "" if none */
    int is_area_meter;   /* 1: the area's supply (total) meter */
    double multiplier;   /* CT x PT ratio, 1 if none */
    int terminal_online;
    int has_today, today_status;  /* has_*: a row exists (status says whether it is valid) */
    double today;
    int has_prev, prev_status;
    double prev;
};
/* fn returns 0 to continue, non-zero to stop (that value is returned). Points are ordered by
 * (terminal, pn). */
typedef int (*store_point_day_fn)(void *opaque, const struct store_point_day *p);
int store_points_day_iter(struct store *st, int32_t date, store_point_day_fn fn, void *opaque);

/* Meter addresses seen per point (the terminal's meter table, AFN=0A F10 answers and our own
 * 04 F10 writes, logged by the batch's meter_cfg records): for each point every address seen
 * at or after `from` and before `to`, plus the last one seen before `from` (the address in
 * force at `from`), ordered by (terminal, pn, seen_at). Daily consumption compares the
 * addresses in force at the ends of two days (the `replaced` rule). Strings borrowed. */
struct store_meter_addr {
    uint32_t term;
    uint16_t pn;
    int64_t seen_at;     /* UTC s (the meter_cfg record's read_at) */
    const char *addr;    /* 12 digits as stored */
};
typedef int (*store_meter_addr_fn)(void *opaque, const struct store_meter_addr *a);
int store_meter_addr_iter(struct store *st, int64_t from, int64_t to, store_meter_addr_fn fn,
                          void *opaque);

/* Session changes per terminal in [from, to) from the session log (the flapping rule):
 * logins (state online, reason "online") and offline changes (any reason), terminals with
 * at least one of either, ordered by terminal. */
struct store_session_count {
    uint32_t term;
    int32_t logins, offlines;
    int64_t first_at, last_at; /* of the counted changes, UTC s */
};
typedef int (*store_session_count_fn)(void *opaque, const struct store_session_count *c);
int store_session_counts_iter(struct store *st, int64_t from, int64_t to,
                              store_session_count_fn fn, void *opaque);

/* Every terminal's runtime state, ordered by id (the long-offline rule and the anomaly life
 * cycle). */
struct store_terminal_state {
    uint32_t term;
    uint8_t online;
    uint8_t has_last_seen, has_clock;
    int64_t last_seen;      /* UTC s of the last session change (login, clock, offline) */
    int32_t clock_offset_s; /* the newest terminal clock reading minus the master's time */
    int64_t clock_at;       /* master's time of that reading (UTC s) */
};
typedef int (*store_terminal_state_fn)(void *opaque, const struct store_terminal_state *t);
int store_terminal_states_iter(struct store *st, store_terminal_state_fn fn, void *opaque);

/* The first login (session online, reason "online") of `term` after `after` (UTC s): 0 with
 * *at, MF_ENOTFOUND when there is none, or a store status. */
int store_login_after(struct store *st, uint32_t term, int64_t after, int64_t *at);

/* A terminal's newest clock reading (0C F2 answer or heartbeat clock): *offset_s = its clock
 * minus the master's time, *at = the master's time of the reading. 0, MF_ENOTFOUND (no
 * such terminal or no reading), or a store status. */
int store_terminal_clock(struct store *st, uint32_t term, int32_t *offset_s, int64_t *at);

/* The ok phase voltages of (term, pn) in [from, to) (0C F25 instant ua/ub/uc, 0D F89..F91
 * curves): *n samples, *vmin / *vmax in volts (0 when n is 0). 0 or a store status. */
int store_voltage_range(struct store *st, uint32_t term, uint16_t pn, int64_t from, int64_t to,
                        int64_t *n, double *vmin, double *vmax);

/* The anomalies whose state the analytics' life cycle may change (docs/ANALYTICS.md
 * "Anomaly life cycle"): kinds offline, flapping, clock, voltage_low, voltage_high in state
 * open or ack, or resolved with at >= resolved_from; oldest first, at most `limit`. Strings
 * borrowed for the callback. */
struct store_anomaly_row {
    int64_t id;
    const char *kind;
    uint32_t term;
    uint16_t pn;
    int64_t at;
    const char *state;
    const char *evidence_json; /* may be NULL */
};
typedef int (*store_anomaly_row_fn)(void *opaque, const struct store_anomaly_row *a);
int store_anomaly_life_iter(struct store *st, int64_t resolved_from, int limit,
                            store_anomaly_row_fn fn, void *opaque);

/* Areas with their supply meter and threshold, for line loss. Strings borrowed. */
struct store_area_row {
    const char *id, *name;
    uint32_t supply_term; /* 0 with supply_pn 0 when none */
    uint16_t supply_pn;
    double loss_threshold; /* fraction, e.g. 0.08 */
};
typedef int (*store_area_fn)(void *opaque, const struct store_area_row *a);
int store_areas_iter(struct store *st, store_area_fn fn, void *opaque);

/* Re-collection tasks in state pending/sent with next_at <= now and deadline_at > now, oldest
 * first, at most `limit`. */
typedef int (*store_recollect_fn)(void *opaque, const struct store_recollect *r);
int store_recollect_due(struct store *st, int64_t now, int limit, store_recollect_fn fn,
                        void *opaque);

/* ======================================================================================
 * Master data: transformer areas (台区), terminals, metering points. CRUD + CSV import.
 * ====================================================================================== */

struct store_area {
    const char *id;      /* required, <= 64 bytes */
    const char *name;
    uint32_t supply_term; /* supply (total) meter = (terminal, pn); has_supply = 0: none */
    uint16_t supply_pn;
    int has_supply;
    double loss_threshold; /* fraction; default 0.10 */
};
struct store_terminal {
    uint32_t term;
    const char *name;
    const char *area;    /* may be NULL */
    const char *vendor;
    int registered;      /* 1 allowed to log in / counted in the online rate */
    int pw_len;          /* 0 default (16) */
    int login_answer;    /* 1 (F1, default) or 3 (F3) */
};
struct store_meter {
    uint32_t term;
    uint16_t pn;
    const char *addr;    /* meter address, up to 12 digits */
    const char *area;    /* may be NULL */
    const char *customer_class; /* "resident", "commercial", "industrial", ... may be NULL */
    int is_area_meter;
    double multiplier;   /* 0 is taken as 1 */
};
/* Upserts (create or replace by key). 0, MF_EINVAL (missing id / bad field), MF_ERETRY,
 * MF_EFATAL. Deletes: 0 or MF_ENOTFOUND. */
int store_area_put(struct store *st, const struct store_area *a);
int store_area_delete(struct store *st, const char *id);
int store_terminal_put(struct store *st, const struct store_terminal *t);
int store_terminal_delete(struct store *st, uint32_t term);
int store_meter_put(struct store *st, const struct store_meter *m);
int store_meter_delete(struct store *st, uint32_t term, uint16_t pn);

enum store_import_kind { STORE_IMPORT_AREAS = 1, STORE_IMPORT_TERMINALS, STORE_IMPORT_METERS };
/* "areas" / "terminals" / "meters" -> kind; -1 unknown. */
int store_import_kind_parse(const char *name);
/* Import a CSV file with a header row (columns in docs/SCHEMA.md; order free, unknown
 * columns are an error). All or nothing: a bad row gives MF_EINVAL with errbuf "FILE:LINE:
 * reason" and nothing is imported. *rows (may be NULL) = rows imported. */
int store_import_csv(struct store *st, int kind, const char *path, size_t *rows, char *errbuf,
                     size_t errlen);

/* ======================================================================================
 * Users, session tokens, audit log (the web)
 * ====================================================================================== */

#define STORE_NAME_MAX 64
#define STORE_HASH_MAX 256
struct store_user {
    char name[STORE_NAME_MAX];
    char role[16];               /* "viewer", "operator", "admin" */
    char hash[STORE_HASH_MAX];   /* password hash text (libsodium Argon2id string) */
    int64_t created_at;
};
/* Create or replace. MF_EINVAL for an empty/too long name, unknown role or too long hash. */
int store_user_put(struct store *st, const char *name, const char *role, const char *hash,
                   int64_t now);
int store_user_get(struct store *st, const char *name, struct store_user *out); /* ENOTFOUND */
int store_user_delete(struct store *st, const char *name); /* also deletes its tokens */
int store_user_count(struct store *st, int64_t *count);
/* [{"name","role","created_at"}] -- never the hash. */
int store_users_json(struct store *st, json_t **out);

/* Session tokens: the caller passes a hash of the token (hex text, e.g. of a BLAKE2b), never
 * the token itself. */
int store_token_put(struct store *st, const char *token_hash, const char *user,
                    int64_t created_at, int64_t expires_at);
/* The token's user if it exists and expires_at > now. 0 or MF_ENOTFOUND. */
int store_token_get(struct store *st, const char *token_hash, int64_t now,
                    struct store_user *out);
int store_token_delete(struct store *st, const char *token_hash);

struct store_audit {
    int64_t at;
    const char *user;
    const char *action;  /* "login", "command.create", "area.put", ... */
    const char *target;  /* e.g. "4403-0012" or an id; may be NULL */
    const char *detail_json; /* object text or NULL */
    const char *remote;  /* client address, may be NULL */
};
int store_audit_add(struct store *st, const struct store_audit *a);

/* ======================================================================================
 * Commands (operator actions -> downlink)
 * ====================================================================================== */

struct store_command {
    uint32_t term;
    uint8_t afn;
    const char *request_json; /* the command's parameters (object text) */
    const char *created_by;
    int64_t created_at;
};
/* Insert in state "queued". *id = the new command id (> 0). */
int store_command_create(struct store *st, const struct store_command *c, int64_t *id);
/* Same rule as struct store_cmd_result, outside a batch. 0, or MF_ENOTFOUND when no such
 * command exists or the final-state rule refused the update (nothing changed). */
int store_command_update(struct store *st, const struct store_cmd_result *r);
/* Commands still queued or sent that were created before `before` (UTC s) end as "expired":
 * updated_at = now, answer_json = reason_json (borrowed) unless an answer is stored. *n (may
 * be NULL) = how many. Idempotent: several web processes may sweep at once. 0 or a status. */
int store_commands_expire(struct store *st, int64_t before, int64_t now, const char *reason_json,
                          int64_t *n);

/* ======================================================================================
 * Reads for the web API: ready JSON (given). 0, MF_ENOTFOUND (detail of an unknown object),
 * MF_EINVAL (bad terminal text), MF_ERETRY, MF_EFATAL.
 * ====================================================================================== */

/* page is 1-based (0 -> 1); page_size 1..1000 (0 -> 50).
 * The growing logs (events, anomalies, commands, audit) count at most STORE_COUNT_CAP + 1
 * matching rows, so a request's work stays bounded: their lists carry "total_capped": true
 * and "total": STORE_COUNT_CAP + 1 when more rows match. */
#define STORE_COUNT_CAP 10000
struct store_page {
    int page;
    int page_size;
};

struct store_terminal_filter {
    int online;          /* -1 any, 0 offline, 1 online */
    const char *search;  /* substring of id or name, NULL none */
    const char *area;    /* NULL any */
    struct store_page pg;
};
/* items: {"id","name","area","vendor","registered","online","last_seen","peer",
 * "clock_offset_s"} */
int store_terminals_json(struct store *st, const struct store_terminal_filter *f, json_t **out);
/* {"id",...as above..., "pw_len","login_answer","version":{...}|null,
 *  "ec1","ec2", "points":[{"pn","addr","area","customer_class","is_area_meter","multiplier"}],
 *  "meter_cfg":[{"serial","pn","port","baud","protocol","addr","tariffs","user_class"}],
 *  "frames":[{"at","dir":"up"|"down","hex","error"}] (newest first, at most frames_limit;
 *  error: why an uplink frame did not decode, else null)} */
int store_terminal_json(struct store *st, const char *terminal, int frames_limit, json_t **out);

/* Point data, oldest first. Time ranges are [from, to) in UTC s, date ranges [from, to] days.
 * energy: [{"item","tariff","read_at","value","status"}]
 * daily:  [{"date","item","tariff","value","status","read_at"}] for kind daily, plus
 *         "use":[{"date","kwh","status","flags"}] -- returned as {"frozen":[...],"use":[...]}
 * curve:  [{"ts","value","status"}] for item on the civil date (UTC range given by caller)
 * instant:[{"read_at","quantity","value","status"}] */
int store_point_energy_json(struct store *st, const char *terminal, int pn, int64_t from,
                            int64_t to, json_t **out);
int store_point_daily_json(struct store *st, const char *terminal, int pn, int32_t from_date,
                           int32_t to_date, json_t **out);
int store_point_curve_json(struct store *st, const char *terminal, int pn, const char *item,
                           int64_t from, int64_t to, json_t **out);
int store_point_instant_json(struct store *st, const char *terminal, int pn, int64_t from,
                             int64_t to, json_t **out);

struct store_event_filter {
    const char *terminal; /* NULL any */
    int erc;              /* 0 any */
    int cls;              /* 0 any, 1 important, 2 normal */
    int min_severity;     /* 0 = all */
    int64_t from, to;     /* received_at range [from, to); 0 = open */
    struct store_page pg;
};
/* items (newest first): {"id","terminal","class","erc","pn","severity","started",
 * "occurred_at","received_at","fields":{...},"raw":"hex"} */
int store_events_json(struct store *st, const struct store_event_filter *f, json_t **out);

/* {"registered","online","rate","history":[{"at","registered","online","rate"}]} with
 * history samples in [from, to). */
int store_kpi_online_json(struct store *st, int64_t from, int64_t to, json_t **out);
/* Collection success for dates [from, to]; area NULL = overall:
 * [{"date","area","expected","collected","rate"}] */
int store_kpi_collect_json(struct store *st, int32_t from_date, int32_t to_date,
                           const char *area, json_t **out);
/* Collection success of every area (of master data) for one date, by area id, at most
 * `limit` (1..100000) rows, same shape as above: one range scan, whatever the area count. */
int store_kpi_collect_areas_json(struct store *st, int32_t date, int limit, json_t **out);
/* Missing points of a date (area NULL = all), paginated: items {"terminal","pn","area"}. */
int store_kpi_missing_json(struct store *st, int32_t date, const char *area,
                           const struct store_page *pg, json_t **out);
/* [{"date","area","supply_kwh","consumed_kwh","loss_kwh","rate","flag",
 *   "meters_expected","meters_counted","allowance_kwh","threshold"}] for dates [from, to],
 * area NULL = every area. */
int store_kpi_lineloss_json(struct store *st, int32_t from_date, int32_t to_date,
                            const char *area, json_t **out);
/* The `limit` (1..100000) areas of one date with the highest loss rate, highest first (ties
 * by area id), same row shape; rows whose rate is unknown (NULL) are left out. The
 * dashboard's "worst areas": at 1,000 areas the whole date is ~230 KB of JSON. */
int store_kpi_lineloss_worst_json(struct store *st, int32_t date, int limit, json_t **out);

struct store_anomaly_filter {
    const char *kind, *terminal, *area; /* NULL any */
    const char *state; /* NULL any, "open", "ack", "closed", "resolved" */
    int64_t from, to;                            /* at range; 0 open */
    struct store_page pg;
};
/* items (newest first): {"id","kind","terminal","pn","area","at","date","severity",
 * "evidence":{...},"state"} */
int store_anomalies_json(struct store *st, const struct store_anomaly_filter *f, json_t **out);
/* state "open", "ack", "closed" (the operator's), "resolved" (the analytics: a later run of
 * the day no longer finds it). 0, MF_ENOTFOUND, MF_EINVAL. */
int store_anomaly_set_state(struct store *st, int64_t id, const char *state);
/* The analytics' change: state `from` -> `to` only if the anomaly is still in `from` (an
 * operator's change since the caller read it wins). 0, MF_ENOTFOUND (no such anomaly or no
 * longer in `from`), MF_EINVAL, or a store status. */
int store_anomaly_transition(struct store *st, int64_t id, const char *from, const char *to);

struct store_command_filter {
    const char *terminal, *state; /* NULL any */
    struct store_page pg;
};
/* {"id","terminal","afn","request":{...},"state","attempts","created_by","created_at",
 *  "updated_at","answer":{...}|null}; list newest first. */
int store_command_json(struct store *st, int64_t id, json_t **out);
int store_commands_json(struct store *st, const struct store_command_filter *f, json_t **out);

/* Master data lists. areas: [{"id","name","supply_terminal","supply_pn","loss_threshold",
 * "meters"}]; meters (paginated, filter terminal/area may be NULL): items {"terminal","pn",
 * "addr","area","customer_class","is_area_meter","multiplier"}. */
int store_areas_json(struct store *st, json_t **out);
int store_area_json(struct store *st, const char *id, json_t **out);
int store_meters_json(struct store *st, const char *terminal, const char *area,
                      const struct store_page *pg, json_t **out);

struct store_audit_filter {
    const char *user, *action; /* NULL any */
    int64_t from, to;
    struct store_page pg;
};
/* items (newest first): {"id","at","user","action","target","detail":{...},"remote"} */
int store_audit_json(struct store *st, const struct store_audit_filter *f, json_t **out);

/* Re-collection tasks of a date (area ignored), paginated: items {"terminal","pn","date",
 * "state","attempts","next_at","deadline_at","cmd_id","updated_at"}. */
int store_recollect_json(struct store *st, int32_t date, const struct store_page *pg,
                         json_t **out);

/* For /metrics: {"backend","schema_version","tables":{"<table>":{"rows":N,
 * "last_write_at":"..."|null}}}. Row counts are kept by the store as it writes (inserted
 * minus deleted), so this is cheap on large tables. */
int store_metrics_json(struct store *st, json_t **out);

#endif
