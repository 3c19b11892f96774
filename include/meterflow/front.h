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

#endif
