/* front.h -- the terminal front-end: TCP listener, 376.1 sessions, confirm-after-durable,
 * master requests (downlink commands) routed to the connection holding the terminal.
 *
 * Lifecycle (main thread):
 *   f = front_new(cfg, q, err, len);   reads [front] and [meterflow] node_id; binds nothing
 *   front_set_registry(f, fn, opaque); optional, before front_start
 *   front_start(f, err, len);           binds the listeners, spawns the I/O threads and the
 *                                       downlink thread
 *   ...                                 front_stats_get() from any thread (for /metrics)
 *   front_stop(f);                      closes every connection (offline "shutdown"), joins
 *   mq_close(q);                        fires the callbacks of frames still in flight
 *   front_free(f);                      only after no queue callback can reach the front
 *
 * The delivery guarantee: a terminal frame with SEQ.CON=1 is confirmed (AFN=00 F1) only from
 * the mq_produce done callback with status 0. Every other outcome leaves it unconfirmed and
 * the terminal retransmits.
 *
 * Thread: front_new/start/stop/free on one (main) thread; front_stats_get and front_port
 * from any thread; the registry callback runs on an I/O thread (it may block briefly, e.g.
 * an indexed store lookup; it must be thread-safe). */
#ifndef MF_FRONT_H
#define MF_FRONT_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/common.h" /* status codes returned here */
#include "meterflow/config.h"
#include "meterflow/hist.h"
#include "meterflow/queue.h"

struct front;

/* What the caller knows about a terminal logging in. */
struct front_term_info {
    uint8_t known;        /* registered in master data */
    uint8_t confirm_f3;   /* answer its link tests with AFN=00 F3 (per-item) instead of F1 */
    uint8_t pw_len;       /* PW length of its downlink frames: 16, or 2 (dialect); 0 = default */
    int16_t last_ec1;     /* last important-event counter processed by the master, -1 unknown */
};

/* Registration hook: fill *info for terminal (a1, a2). Called once per login on the I/O
 * thread of the connection. Without a hook (or when it returns non-zero) the front uses its
 * [front] allow_file / f3_terminals / pw2_terminals settings. */
typedef int (*front_registry_fn)(void *opaque, uint16_t a1, uint16_t a2,
                                 struct front_term_info *info);

/* What a PW provider is asked for: the terminal, the AFN, and the frame as it will be sent
 * with its PW still zero. ud: borrowed for the call: the user data area (C through the last
 * AUX byte, Tp included when present; CS excluded), ud_len = L1. */
struct front_pw_req {
    uint16_t a1, a2;
    uint8_t afn;
    const uint8_t *ud;
    size_t ud_len;
};

/* PW provider for downlink frames of AFNs that carry one (gw_afn_has_pw): write pw_len bytes
 * into out (zeroed before the call); the front puts them in the frame and recomputes CS.
 * Returns 0, or a negative status: the command fails ("no PW for the terminal") and nothing
 * is sent. Default (no provider): zeros. Runs on an I/O thread. */
typedef int (*front_pw_fn)(void *opaque, const struct front_pw_req *rq, uint8_t *out,
                           size_t pw_len);

/* Drop reasons (counted in front_stats.drops[]). */
enum front_drop {
    FRONT_DROP_BEFORE_LOGIN = 0, /* data frame on a connection that has not logged in */
    FRONT_DROP_GARBAGE,          /* bytes skipped by the resynchronising scanner */
    FRONT_DROP_BAD_FRAME,        /* scanner accepted it but the header did not parse */
    FRONT_DROP_RATE,             /* over frames_per_sec for the terminal */
    FRONT_DROP_MAX_CONN,         /* connection over max_connections (closed at once) */
    FRONT_DROP_LOGIN_RATE,       /* over login_per_min for the source address */
    FRONT_DROP_DENIED,           /* unknown terminal refused (accept_unknown = false) */
    FRONT_DROP_BUFFER,           /* connection over max_buffered_bytes (closed) */
    FRONT_DROP_SLOW,             /* partial frame older than partial_timeout_ms (closed) */
    FRONT_DROP_GARBAGE_CLOSE,    /* more than max_garbage_bytes without a frame (closed) */
    FRONT_DROP_DOWNLINK,         /* frame with DIR=0 from a terminal */
    FRONT_DROP_NOT_DURABLE,      /* done callback said "not durable": no confirm */
    FRONT_DROP_PUBLISH,          /* session/status envelope the queue refused */
    FRONT_DROP_BAD_CMD,          /* downlink command that failed validation */
    FRONT_DROP_ACCEPT_ERR,       /* accept failed (EMFILE...) */
    FRONT_DROP_RETRANSMIT,       /* retransmission of a report still in the queue: the first
                                  * copy's confirm answers it (not queued twice) */
    FRONT_DROP_NREASONS
};
const char *front_drop_name(int reason); /* "before_login", ... */

struct front_stats {
    uint64_t conns_open;          /* gauge */
    uint64_t conns_accepted;
    uint64_t logins, logouts, heartbeats;
    uint64_t replaced, timeouts;
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t writes;              /* write system calls (several answers may share one) */
    uint64_t reports_produced;    /* frames handed to the queue */
    uint64_t confirms;            /* AFN=00 F1 sent for durable frames */
    uint64_t backpressure;        /* times a connection stopped reading on MF_EFULL/in-flight cap */
    uint64_t cmds_received, cmds_sent, cmds_answered, cmds_timeout, cmds_denied, cmds_offline;
    uint64_t retransmissions;
    uint64_t drops[FRONT_DROP_NREASONS];
    struct mf_hist confirm_latency_us; /* frame received -> its confirm written */
};

/* cfg: borrowed, kept until front_free. q: borrowed, kept until front_free (the caller
 * closes it after front_stop). Gives a front, or NULL with errbuf naming the key. */
struct front *front_new(const struct mf_config *cfg, struct mq *q, char *errbuf, size_t errlen);
/* Before front_start. opaque: kept until front_free. */
void front_set_registry(struct front *f, front_registry_fn fn, void *opaque);
void front_set_pw_provider(struct front *f, front_pw_fn fn, void *opaque);
/* Bind and start. 0, or MF_ESYS / MF_EINVAL with errbuf saying which address and why. */
int front_start(struct front *f, char *errbuf, size_t errlen);
/* The TCP port actually bound (useful with [front] port = 0 in tests). */
int front_port(const struct front *f);
/* Stop accepting, close every connection, stop the downlink thread, join. Idempotent. */
void front_stop(struct front *f);
/* Accepts NULL. Call after front_stop and after the queue can no longer call back. */
void front_free(struct front *f);
/* Snapshot of counters (sums over the I/O threads). Any thread. */
void front_stats_get(struct front *f, struct front_stats *out);

/* ======================================================================================
 * Registry cache (front_regcache.c): the registry hook's answer for every terminal held in
 * memory, so a login costs no database round trip on the I/O thread.
 *
 *   rg = front_regcache_new(&src, max_entries, reload_ms);
 *   front_regcache_start(rg, err, len);      first full load (src.load_all), then a thread
 *                                            reloading everything every reload_ms
 *   front_set_registry(f, front_regcache_lookup, rg);
 *   front_regcache_invalidate(rg, key)       after master data of one terminal changed here
 *   front_regcache_invalidate_all(rg)        after a bulk change (CSV import) here
 *   front_regcache_ec_advance(rg, key, ec1)  after the store committed a new EC1
 *   front_regcache_stop(rg); front_regcache_free(rg);
 *
 * Staleness: a change made through this process (the invalidate calls) is seen by the next
 * login; a change made elsewhere (another process, SQL by hand) within one reload_ms plus
 * the reload's own time. EC1 follows the store's rule (moves forward modulo 256 only,
 * new - old in 1..127) and is never ahead of what the store committed.
 * Thread: new/start/stop/free on one thread; everything else from any thread. */

/* One terminal as the cache keeps it. */
struct front_reg_row {
    uint32_t key;         /* gw_terminal_key(a1, a2) */
    uint8_t found;        /* a row exists in master data (else the rest is 0 / -1) */
    uint8_t registered;   /* allowed to log in */
    uint8_t confirm_f3;   /* login answer AFN=00 F3 */
    uint8_t pw_len;       /* 0 = the front's default */
    int16_t ec1;          /* last processed EC1, -1 unknown */
};
typedef int (*front_reg_emit_fn)(void *ctx, const struct front_reg_row *r);
/* Where the rows come from. load_one: 0 with *out filled (out->found = 0 when there is no
 * row), or a store status (the front then falls back to its own settings). load_all: call
 * emit for every row, stop when it returns non-zero; 0 or a store status. Called on the
 * thread of a lookup (load_one) and on the reload thread / front_regcache_start (load_all). */
struct front_reg_src {
    int (*load_one)(void *opaque, uint32_t key, struct front_reg_row *out);
    int (*load_all)(void *opaque, front_reg_emit_fn emit, void *ctx);
    void *opaque; /* kept until front_regcache_free */
};
struct front_regcache_stats {
    uint64_t hits;        /* answered from memory (negative answers included) */
    uint64_t loads;       /* answered by load_one (miss, stale entry, table not trusted) */
    uint64_t load_errors;
    uint64_t reloads, reload_errors;
    uint64_t entries;     /* gauge */
    uint64_t complete;    /* gauge: 1 when every row of master data is held */
};

struct front_regcache;
/* src copied. max_entries: cap on terminals held (rows beyond it are looked up one by one);
 * reload_ms: full reload period, 0 = only after invalidate_all. Gives a cache. */
struct front_regcache *front_regcache_new(const struct front_reg_src *src, size_t max_entries,
                                          int reload_ms);
/* The first full load, then the reload thread. 0, or a status with errbuf. */
int front_regcache_start(struct front_regcache *rg, char *errbuf, size_t errlen);
/* One full reload now (the reload thread's step; tests). 0 or the load's status. */
int front_regcache_reload(struct front_regcache *rg);
/* A front_registry_fn: opaque is the cache. */
int front_regcache_lookup(void *opaque, uint16_t a1, uint16_t a2, struct front_term_info *info);
void front_regcache_invalidate(struct front_regcache *rg, uint32_t key);
void front_regcache_invalidate_all(struct front_regcache *rg);
/* ec1 0..255 committed by the store for key (others ignored). */
void front_regcache_ec_advance(struct front_regcache *rg, uint32_t key, int ec1);
void front_regcache_stats_get(struct front_regcache *rg, struct front_regcache_stats *out);
void front_regcache_stop(struct front_regcache *rg); /* joins the reload thread; idempotent */
void front_regcache_free(struct front_regcache *rg); /* accepts NULL; stops first */

#endif
