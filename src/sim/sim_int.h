/* sim_int.h -- the simulator's engine (private to src/sim): one libuv loop per process
 * holding a share of the terminals, each terminal a state machine that connects, logs in,
 * heartbeats, reports, retransmits, answers the master and logs out.
 *
 *   sim_run.c    process orchestration: fork --procs workers, shared stats, progress line,
 *                exit status
 *   sim_proc.c   one process: loop, terminals, the virtual clock, the duration, stopping
 *   sim_term.c   one terminal: TCP (bind/connect/backoff), frame scanning, initiated frames
 *                with PFC/PSEQ, confirm matching, retransmission, the ledger on confirm
 *   sim_proto.c  what the frames say: reports, events, answers to master requests (codec
 *                builders from gw3761_data.h; nothing encoded by hand here)
 *
 * Thread: everything runs on the loop thread of its process; no locks. Stats live in a
 * MAP_SHARED page the parent reads for the progress line (racy reads of counters, for
 * display only; the final figures are read after the children exited). */
#ifndef MF_SIM_INT_H
#define MF_SIM_INT_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "meterflow/buf.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"
#include "meterflow/hist.h"
#include "sim/sim_ledger.h"
#include "sim/sim_model.h"

#define SIM_IN_MAX (GW_FRAME_MAX * 2u)  /* per-terminal input buffer cap */
#define SIM_QUEUE_MAX 64u                /* queued initiated frames per terminal */
#define SIM_EVENT_RING 32u               /* event records a terminal keeps for 0E reads */
#define SIM_UNITS_MAX (GW_L1_MAX - 64u)  /* data-unit area of one frame, AUX excluded */
#define SIM_ERC_MAX 16u                  /* content bytes of one ERC record we produce */

struct sim_cfg {
    char host[256];
    int port;
    uint32_t nterm;
    uint16_t npoints;
    uint32_t nareas;
    uint16_t region;
    uint16_t first_addr;
    double duration_s;          /* 0: until SIGINT/SIGTERM */
    const char *ledger_path;    /* borrowed; NULL: no ledger */
    uint32_t src_first, src_last; /* IPv4 source range (host order), 0 = none */
    int procs;
    double speed;               /* virtual seconds per real second */
    int catch_up;               /* --catch-up: speed until real time is reached, then 1x */
    uint32_t instant_interval_s; /* virtual seconds between 0C F25 reports (0: none) */
    uint64_t seed;
    int64_t start_ls;           /* virtual start, local seconds */
    uint32_t report_interval_s; /* virtual seconds between 0C F129 reports */
    uint32_t heartbeat_s;       /* real seconds */
    int hb_2009;
    double erc14_per_day, erc13_per_day, erc24_per_day; /* per terminal per virtual day */
    int daily, curves;          /* report 0D F161 / F101 after midnight */
    int progress;
    double report_every_s;      /* progress line period (real) */
    uint32_t confirm_timeout_ms;
    int retries;
    int window;                 /* initiated frames in flight per terminal (1..8) */
    uint32_t backoff_min_ms, backoff_max_ms;
    int max_fds;                /* per process; terminals per process are capped by it */
};

/* Counters of one process; the parent sums them. */
#define SIM_STATS_COUNTERS(X)                                                                  \
    X(online)           /* terminals logged in now */                                          \
    X(connects) X(connect_fail) X(disconnects) X(logins)                                       \
    X(frames_sent) X(frames_confirmed) X(retransmits) X(denied) X(given_up)                    \
    X(values_confirmed) X(events_confirmed)                                                    \
    X(requests) X(answers)                                                                     \
    X(unconfirmed)      /* initiated frames queued or in flight now */                         \
    X(backlog_skips)    /* reports not generated: the queue was full */                        \
    X(ledger_lines) X(bytes_in) X(bytes_out)

struct sim_stats {
#define SIM_X(n) uint64_t n;
    SIM_STATS_COUNTERS(SIM_X)
#undef SIM_X
    int64_t virtual_now;        /* local seconds */
    struct mf_hist lat;         /* confirm latency, us (from the last transmission) */
    int finished;
    int exit_code;
};

enum sim_term_state {
    ST_IDLE = 0,      /* waiting to (re)connect */
    ST_CONNECTING,
    ST_LOGIN,         /* login sent */
    ST_ONLINE,
    ST_LOGOUT,        /* logout sent, waiting for its confirm */
    ST_DONE,          /* finished; socket closed */
};

enum sim_out_kind { OUT_LOGIN = 1, OUT_HEARTBEAT, OUT_LOGOUT, OUT_REPORT };

/* One initiated frame (CON=1): queued, in flight, or waiting for a reconnect. */
struct sim_out {
    struct sim_out *next;
    uint8_t kind, afn, fc;
    uint8_t in_flight, tries, pfc;
    uint64_t sent_us;           /* last transmission (mono) */
    uint8_t *units;             /* data-unit area (owned) */
    size_t units_len;
    uint8_t *raw;               /* encoded frame while in flight (owned) */
    size_t raw_len;
    char *ledger;               /* lines to append when confirmed (owned, may be NULL) */
    size_t ledger_len;
    uint32_t nlines;
    uint32_t nevents;
};

struct sim_event_rec {
    uint8_t len;                    /* ERC + Le + content */
    uint8_t rec[2 + SIM_ERC_MAX];
};

struct sim_proc;

struct sim_term {
    struct sim_proc *sp;
    uint32_t idx;
    uint16_t a1, a2;
    char id[GW_TERMINAL_STRLEN];
    int state;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    int tcp_open;               /* tcp handle initialised and not yet closed */
    int timer_open;
    struct mf_buf in;
    uint8_t pfc;                /* next PFC for initiated frames */
    struct sim_out *link;       /* login / heartbeat / logout in progress (one at a time) */
    struct sim_out *q_head, *q_tail; /* reports, oldest first */
    uint32_t qlen, inflight;
    uint32_t backoff_ms;
    uint64_t next_connect_us, next_hb_us;
    uint64_t flap_close_us;     /* flapping fault: drop the link at this time */
    int64_t next_report_ls, next_event_ls, next_instant_ls;
    int64_t last_f129_stamp;    /* last meter-reading minute reported (no duplicate keys) */
    int32_t daily_done;         /* last day whose frozen values were queued */
    int64_t clock_offset;       /* seconds added by AFN=05 F31 */
    uint8_t ec1, ec2, ec1_read; /* event counters; ec1_read: what the master has read */
    struct sim_event_rec ring[SIM_EVENT_RING];
    uint8_t *relay_open;        /* per pn (1..M) relay state of the simulated 645 meter */
    struct sim_rng rng;
    uint64_t conn_serial;
    int ever_online;
    int32_t sag_reported;       /* last day an ERC24 for a sag fault was raised */
    struct gw_meter_cfg *mtab;  /* meter-table entries set by AFN=04 F10 (owned, may be NULL) */
    uint16_t nmtab;
};

struct sim_proc {
    uv_loop_t loop;
    const struct sim_cfg *cfg;  /* borrowed, outlives the process */
    const struct sim_model *model;
    struct sim_ledger ledger;
    struct sim_stats *stats;    /* borrowed: a slot of the shared page */
    struct sim_term *terms;
    uint32_t nterms;
    uint32_t first;             /* global index of terms[0]; terms are first + i * stride */
    uint32_t stride;
    struct sockaddr_storage target;
    uint64_t start_us;          /* mono at start */
    struct sim_vclock vc;       /* virtual time as a function of mono time since start_us */
    uv_timer_t tick;
    int stopping;               /* logout phase started */
    uint64_t stop_deadline_us;
    uint32_t done;
    uint8_t scratch[SIM_UNITS_MAX]; /* data-unit area being built (one at a time) */
    struct gw_decoded *dec;     /* decoded request (owned; ~60 KB, reused) */
    uint8_t rbuf[65536];        /* shared read buffer: appended to a terminal at once */
};

/* ---- sim_proc.c ---- */
/* Run one process's share until done. Returns the process exit status. */
int sim_proc_run(const struct sim_cfg *cfg, const struct sim_model *model,
                 struct sim_stats *stats, uint32_t first, uint32_t stride);
/* Virtual local seconds now. */
int64_t sim_proc_now_ls(const struct sim_proc *sp);
/* Real mono us at which virtual time ls arrives. */
uint64_t sim_proc_ls_to_us(const struct sim_proc *sp, int64_t ls);

/* ---- sim_term.c ---- */
void sim_term_init(struct sim_term *st, struct sim_proc *sp, uint32_t idx);
void sim_term_start(struct sim_term *st);
/* Begin the logout (or close if not online). */
void sim_term_stop(struct sim_term *st);
void sim_term_fini(struct sim_term *st);
/* Queue an initiated frame (takes units and ledger). Returns 0 or MF_EFULL (dropped). */
int sim_term_queue(struct sim_term *st, uint8_t afn, uint8_t fc, uint8_t *units,
                   size_t units_len, char *ledger, size_t ledger_len, uint32_t nlines,
                   uint32_t nevents);
/* Send an answer frame (PRM=0) to a master request. */
void sim_term_answer(struct sim_term *st, const struct gw_frame *req, uint8_t afn, uint8_t fc,
                     const uint8_t *units, size_t units_len);
/* Re-evaluate the terminal's timer. */
void sim_term_schedule(struct sim_term *st);
/* The terminal's clock (local seconds), given virtual now. */
int64_t sim_term_clock(const struct sim_term *st, int64_t now_ls);

/* ---- sim_proto.c ---- */
/* Data-unit areas of the link frames. Returns the length written into out (cap bytes). */
int sim_proto_link(struct sim_term *st, int kind, uint8_t *out, size_t cap);
/* Periodic work of an online terminal at virtual time now_ls: reports due, daily frozen
 * values after midnight, events. */
void sim_proto_tick(struct sim_term *st, int64_t now_ls);
/* The earliest virtual time at which sim_proto_tick has work. */
int64_t sim_proto_next_ls(const struct sim_term *st);
/* Local seconds -> struct gw_time (with weekday). */
void sim_ls_to_gwtime(int64_t ls, struct gw_time *t);
int64_t sim_gwtime_to_ls(const struct gw_time *t);
void sim_to_nums(const int64_t ind[SIM_TARIFFS + 1], struct gw_num e[SIM_TARIFFS + 1]);
/* Units for 0D F161 (day) / F101 (curve) of one point; ledger lines appended to lt when it
 * is not NULL (struct ltext is private to sim_proto.c: pass NULL from elsewhere). */
struct ltext;
void sim_add_f161(struct sim_term *st, struct gw_ubuf *ub, struct ltext *lt, uint16_t pn,
                  int32_t day);
void sim_add_f101(struct sim_term *st, struct gw_ubuf *ub, struct ltext *lt, uint16_t pn,
                  int64_t start, uint8_t density, uint8_t n);

/* ---- sim_mtab.c ---- */
/* AFN=04: apply F10 entries. 0, or MF_EINVAL (the set is denied). */
int sim_mtab_set(struct sim_term *st, const struct gw_frame *fr);
/* AFN=0A F10: append the answer's unit to ub. 0 or a negative status (deny). */
int sim_mtab_query(struct sim_term *st, const struct gw_frame *fr, struct gw_ubuf *ub);

/* ---- sim_answer.c ---- */
/* 0C F25 values of point pn at virtual time now, stamped with the terminal's clock clk (to the
 * minute); used by the answers and by the active F25 reports. */
void sim_f25_of(const struct sim_term *st, uint16_t pn, int64_t now, int64_t clk,
                struct gw_f25 *v);
/* The same from the model alone (term 0-based). Values beyond their format saturate at its
 * limit (A.9 +-79.9999 kW/kvar/kVA, A.25 +-799.999 A): a big area's supply meter draws more
 * than the standard's formats hold, and an answer must never fail to encode. */
void sim_f25_values(const struct sim_model *m, uint32_t term, uint16_t pn, int64_t now,
                    int64_t clk, struct gw_f25 *v);
/* v * scale truncated, saturated at +-max: a value of a format that holds +-max. */
struct gw_num sim_num_sat(double v, double scale, int8_t exp, int64_t max, uint8_t status);
#define SIM_A9_MAX 799999  /* A.9: +-79.9999 (x 10^-4) */
#define SIM_A25_MAX 799999 /* A.25: +-799.999 (x 10^-3) */
/* A master-initiated frame (DIR=0, PRM=1) arrived: answer it. */
void sim_answer_request(struct sim_term *st, const struct gw_frame *fr);

void sim_ls_format_min(int64_t ls, char *out, size_t outlen);  /* YYYY-MM-DDTHH:MM */
void sim_ls_format_date(int64_t ls, char *out, size_t outlen); /* YYYY-MM-DD */

#endif
