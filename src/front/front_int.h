/* front_int.h -- private structures of the front-end (src/front only).
 *
 * Layers, bottom up:
 *   front_sess.c   the per-connection 376.1 session: framing, login/heartbeat/logout,
 *                  reports handed to the queue, confirms after durability, answers matched
 *                  to master requests. No libuv: every side effect goes through
 *                  struct front_io_ops, so the fuzz target and unit tests drive it without
 *                  sockets.
 *   front_req.c    master requests (downlink commands): JSON parsing, PFC/PSEQ, Tp, PW,
 *                  retransmission and timeout, status envelopes.
 *   front_io.c     libuv I/O threads: SO_REUSEPORT listeners, reads into a per-loop buffer,
 *                  writes, the sweep timer, the inbox (done callbacks, commands, kicks).
 *   front.c        lifecycle, cross-thread terminal registry, login rate table, downlink
 *                  thread, stats.
 *   front_nets.c   CIDR lists of source networks ([front] login_trusted_nets).
 *   front_admit.c  admission pacing of new connections ([front] admit_per_sec).
 *
 * Thread rule: a struct front_conn and everything hanging off it belong to the I/O thread
 * that accepted it. Other threads reach it only through that thread's inbox (th->mu).
 */
#ifndef MF_FRONT_INT_H
#define MF_FRONT_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "meterflow/buf.h"
#include "meterflow/envelope.h"
#include "meterflow/front.h"
#include "meterflow/gw3761.h"
#include "meterflow/log.h"

#define FRONT_MOD "front"
#define FRONT_RBUF 65536u      /* per-loop read buffer */
#define FRONT_CORK_BYTES 4096u /* per-loop buffer of answers to one connection */
#define FRONT_CHURN_BATCH 64   /* accepts, and closes of dropped peers, per loop iteration */

/* Settings read once from [front] (front_cfg.c documents each key). */
struct front_opts {
    char listen[64];
    int port;
    int threads;
    int node_id;
    int single;
    int max_connections;
    size_t max_frame_bytes;
    size_t max_buffered_bytes;
    size_t max_garbage_bytes;
    uint64_t partial_timeout_us;
    uint64_t login_timeout_us;    /* a connection that never logs in is closed after this */
    uint64_t liveness_us;         /* misses * heartbeat period + slack */
    int max_inflight;             /* unconfirmed frames per connection */
    int frames_per_sec;           /* per terminal; 0 = unlimited */
    int login_per_min;            /* per source address; 0 = unlimited */
    int login_trusted_per_min;    /* per address inside login_trusted_nets; 0 = unlimited */
    int accept_unknown;
    int event_read;
    int event_read_max;
    int msa;
    int pw_len;
    int max_queued_cmds;
    uint64_t retry_tick_us;       /* sweep period */
    int clock_publish_delta_s;
    int completions_on_io;        /* serve the queue's delivery reports on the I/O threads */
    int admit_per_sec;            /* new connections read per second, all threads; 0 = all */
    int admit_burst;              /* admitted at once after a quiet spell, all threads */
};

enum front_state { FRONT_S_NEW = 0, FRONT_S_ONLINE = 1, FRONT_S_LOGGED_OUT = 2, FRONT_S_CLOSING = 3 };

struct front_conn;
struct front_thread;
struct front_req;

/* ---- front_nets.c ---- */
#define FRONT_NETS_MAX 1024
/* A source network: IPv4 held IPv4-mapped (::ffff:a.b.c.d, bits + 96); bits past the
 * prefix are zero. */
struct front_net {
    uint8_t addr[16];
    uint8_t bits;
};
/* Parse "net, net ..." (comma, space, tab or new line between items; an item is
 * a.b.c.d[/n] or an IPv6 address[/n]). 0 and *out (gives; NULL when *n = 0), or MF_EINVAL
 * with err naming `what` (the config key) and the bad item. */
int front_nets_parse(const char *text, struct front_net **out, size_t *n, const char *what,
                     char *err, size_t errlen);
/* 1 when peer (AF_INET stored in the same storage, or AF_INET6) is inside one of nets. */
int front_nets_match(const struct front_net *nets, size_t n, const struct sockaddr_in6 *peer);

/* ---- front_admit.c ---- */
/* Pacing of new connections: GCRA, i.e. a token bucket of `burst` tokens refilled at
 * `per_sec`, kept as one theoretical arrival time. One per I/O thread (no lock). */
struct front_admit {
    uint64_t tat_ns;         /* when the bucket is full again (a moment of now_ns's clock) */
    uint64_t interval_ns;    /* 1e9 / per_sec; 0 = unlimited */
    uint64_t tolerance_ns;   /* (burst - 1) * interval_ns */
};
/* per_sec 0: every take succeeds. burst < 1 counts as 1. */
void front_admit_init(struct front_admit *a, uint32_t per_sec, uint32_t burst);
/* Take one admission at now_ns (any monotonic clock, ns; never moving back): 1 and
 * *wait_ns = 0, or 0 (none left) and *wait_ns = how long until the next one. */
int front_admit_take(struct front_admit *a, uint64_t now_ns, uint64_t *wait_ns);

/* One frame handed to the queue and not yet reported back. Kept by the queue (opaque of
 * mq_produce) until done() fires; then owned by the I/O thread's inbox. */
struct front_pend {
    struct front_conn *conn;   /* kept: the connection is not freed while conn->inflight > 0 */
    struct front_pend *next;
    uint64_t rx_mono_us;
    int status;
    uint16_t a1, a2;           /* the frame's terminal (a socket may change terminal) */
    uint8_t con, rseq, msa, has_tp;
    uint8_t linked;            /* on conn->pends (a report asking for a confirm) */
    uint16_t raw_len;          /* the frame's length and fingerprint: a retransmission */
    uint32_t fp;               /*   of it is recognised while this copy is in the queue */
    struct front_pend *cprev, *cnext; /* conn->pends; I/O thread only */
    struct gw_tp tp;
};

/* Side effects of the session, implemented by front_io.c (real sockets and queue) or by a
 * test/fuzz stub. All run on the connection's thread. */
struct front_io_ops {
    /* Write n bytes (copied). 0 or negative (the connection is closing). */
    int (*send)(struct front_conn *conn, const uint8_t *p, size_t n);
    /* Hand an encoded envelope to the queue with pend as the done opaque. 0, MF_EFULL (not
     * accepted: keep the frame), other negative (not accepted, drop without confirm). */
    int (*produce)(struct front_conn *conn, const uint8_t *key, size_t key_len,
                   const uint8_t *env, size_t len, struct front_pend *pend);
    /* Fire-and-forget envelope (sessions, command status). */
    int (*publish)(struct front_thread *th, const uint8_t *key, size_t key_len,
                   const uint8_t *env, size_t len);
    /* Close the connection (after flushing queued writes); reason: enum mf_offline_reason. */
    void (*close)(struct front_conn *conn, int reason);
    /* The terminal logged in on conn: claim it in the cross-thread registry. Returns the
     * conn id of the session it replaces (0 = none) -- the caller publishes that session's
     * offline "replaced" before its own online, so the order on the topic is right. */
    uint64_t (*claim)(struct front_conn *conn);
    /* The session of conn ends: drop its registry entry if it is still conn's. */
    void (*unclaim)(struct front_conn *conn);
};

/* Per-thread counters: relaxed atomics, read by front_stats_get from any thread. */
struct front_tstats {
    _Atomic uint64_t conns_open, conns_accepted, logins, logouts, heartbeats, replaced, timeouts;
    _Atomic uint64_t frames_in, frames_out, bytes_in, bytes_out, reports_produced, confirms;
    _Atomic uint64_t writes;
    _Atomic uint64_t backpressure, cmds_received, cmds_sent, cmds_answered, cmds_timeout;
    _Atomic uint64_t cmds_denied, cmds_offline, retransmissions;
    _Atomic uint64_t drops[FRONT_DROP_NREASONS];
};
#define FRONT_INC(th, field) atomic_fetch_add_explicit(&(th)->st.field, 1, memory_order_relaxed)
#define FRONT_ADD(th, field, n)                                                                \
    atomic_fetch_add_explicit(&(th)->st.field, (n), memory_order_relaxed)
#define FRONT_DROP(th, why) FRONT_INC(th, drops[why])

/* Message to an I/O thread from another thread (downlink commands, replacement kicks). */
struct front_msg {
    struct front_msg *next;
    int kind;                  /* FRONT_MSG_* */
    uint32_t term_key;
    uint64_t conn_id;
    struct front_cmd *cmd;     /* FRONT_MSG_CMD: owned by the message */
};
enum { FRONT_MSG_CMD = 1, FRONT_MSG_KICK = 2 };

/* A validated downlink command. */
struct front_cmd {
    uint64_t cmd_id;
    uint16_t a1, a2;
    uint8_t afn;
    uint8_t con;
    uint8_t retries;
    uint8_t tp_delay_min;
    uint32_t timeout_ms;
    int64_t expires_at;        /* UTC seconds; 0 = never. Not sent once passed */
    size_t units_len;
    uint8_t units[];           /* units_len bytes (allocated with the command) */
};

#define FRONT_LAT_BATCH 256      /* confirm latencies per hist_mu lock */
#define FRONT_PEND_POOL 4096     /* freed pends a thread keeps (~300 KiB) */

struct front_thread {
    struct front *f;
    int idx;
    const struct front_io_ops *ops;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t async;
    uv_timer_t sweep;
    uv_prepare_t wake_prep;    /* mq_wake before the loop blocks ... */
    uv_check_t wake_check;     /* ... and after each batch of I/O callbacks */
    uv_check_t churn_check;    /* the next batch of accepts and closes, each iteration */
    uv_idle_t churn_idle;      /* active while closes wait: the poll must not block */
    int accepts, closes;       /* done in this iteration (FRONT_CHURN_BATCH each) */
    int accept_held;           /* libuv holds an announced connection: listener paused */
    struct front_admit admit;  /* [front] admit_per_sec, this thread's share */
    struct front_admit close_admit; /* the same rate for closes of dropped peers */
    uv_timer_t admit_timer;    /* armed for the next admission while connections wait */
    struct front_conn *adm_head, *adm_tail; /* accepted, not read until admitted (FIFO) */
    struct front_conn *eof_head, *eof_tail; /* peers gone, waiting for their close */
    pthread_t tid;
    int started;
    pthread_mutex_t mu;        /* guards done_*, msg_*, stopping */
    struct front_pend *done_head, *done_tail;
    /* set with mu held when done_head gets a completion, cleared when it is taken; read
     * without the lock as a hint (front_io.c io_confirms_first): a stale 0 only means the
     * confirm waits for the inbox's wake-up as before */
    atomic_int done_pending;
    /* completions of this thread's frames run by mq_serve on this thread (no lock: only
     * this thread touches them, between io_serve's mq_serve and its drain) */
    struct front_pend *local_head, *local_tail;
    struct front_msg *msg_head, *msg_tail;
    int stopping;
    struct front_conn *conns;  /* every connection of this thread (doubly linked) */
    struct front_conn **byterm;/* online sessions by terminal key */
    size_t nbuckets;
    struct front_req *reqs;    /* active master requests (doubly linked) */
    struct front_conn *blocked;/* connections waiting for the queue (backpressure) */
    uint64_t next_walk_us, walk_us;
    int joinable;
    struct front_tstats st;
    pthread_mutex_t hist_mu;
    struct mf_hist hist;
    /* Confirm latencies of the batch of results being served (front_sess_durable_at),
     * added to hist under one hist_mu by front_sess_lat_flush. Loop thread only. */
    uint32_t lat[FRONT_LAT_BATCH];
    unsigned nlat;
    /* Freed pends kept for the next frames (front_pend_new/front_pend_free): at full load
     * a frame's pend is allocated and freed on this thread. Loop thread only. */
    struct front_pend *pend_pool;
    unsigned npend_pool;
    struct mf_ratelimit rl;
    /* Answers to one connection gathered while a callback works on it (front_io.c
     * io_cork): written with one system call at io_uncork. One per thread, so an idle
     * connection still holds no buffer. */
    struct front_conn *cork;
    size_t cork_len;
    uint8_t cork_buf[FRONT_CORK_BYTES];
    uint8_t rbuf[FRONT_RBUF];
    uint8_t scratch[MF_ENV_MAX];
};

/* One TCP connection and its session: kept small (idle connections hold no buffer). */
struct front_conn {
    uv_tcp_t tcp;
    struct front_thread *th;
    struct front_conn *next, *prev;   /* th->conns */
    struct front_conn *hnext;         /* th->byterm chain */
    struct front_conn *bnext;         /* th->blocked chain (conn->blocked set) */
    struct front_conn *enext;         /* th->eof_* chain (conn->eof_pending set) */
    struct front_conn *anext;         /* th->adm_* chain (conn->adm_pending set) */
    uint64_t id;
    struct mf_buf in;                 /* partial frame / bytes held back by backpressure */
    uint64_t opened_us, last_rx_us, partial_since_us;
    uint32_t garbage;                 /* bytes skipped since the last good frame */
    uint16_t a1, a2;
    uint8_t state;                    /* enum front_state */
    uint8_t known, confirm_f3, pw_len;
    uint8_t blocked, closed, hclosed;
    uint8_t eof_pending, eof_reason;  /* a paced close waits (io_close_paced) */
    uint8_t adm_pending;              /* on th->adm_*: accepted, not read until admitted */
    uint8_t pfc;
    uint8_t ev_pending;
    int16_t last_ec1;
    uint16_t inflight;
    int32_t clock_offset_s;
    uint8_t has_clock;
    float tokens;
    uint32_t tok_ms;
    struct front_req *req;            /* active master request */
    struct front_req *reqq;           /* waiting requests (FIFO) */
    struct front_pend *pends;         /* reports of this link in the queue, not yet confirmed */
    uint8_t nqueued;
    struct sockaddr_in6 peer;         /* v4 addresses stored as AF_INET in the same storage */
};

/* An active or waiting master request. */
struct front_req {
    struct front_req *next, *prev;    /* th->reqs when active; conn->reqq chain when waiting */
    struct front_conn *conn;
    struct front_cmd *cmd;            /* owned */
    uint64_t deadline_us;
    uint8_t pfc, pseq, next_rseq;
    uint8_t attempts;
    uint8_t answered_any;
    uint8_t internal;                 /* event read started by the front (cmd_id 0) */
    uint8_t ev_pn;
    size_t len;
    uint8_t frame[];                  /* the frame as sent, resent unchanged on retry */
};

struct front {
    const struct mf_config *cfg;
    struct mq *q;
    struct front_opts o;
    int nthreads;
    struct front_thread **th;
    front_registry_fn reg_fn;
    void *reg_opaque;
    front_pw_fn pw_fn;
    void *pw_opaque;
    /* allow-list and per-terminal dialect lists from config (sorted keys) */
    uint32_t *allow; size_t nallow; int have_allow;
    uint32_t *f3; size_t nf3; int f3_all;
    uint32_t *pw2; size_t npw2;
    /* cross-thread terminal registry: key -> (thread, conn id) */
    pthread_mutex_t reg_mu;
    struct front_regent **reg; size_t reg_nb;
    /* login attempts per source address per minute (hashed counters): lr for addresses
     * held to login_per_min, lrt for those inside login_trusted_nets (their own table: a
     * gateway's thousands of logins never fill the budget of an address sharing its slot) */
    pthread_mutex_t lr_mu;
    struct front_lr { uint32_t h; uint32_t minute; uint32_t n; } lr[4096], lrt[256];
    struct front_net *trusted; size_t ntrusted;
    _Atomic uint64_t next_conn_id;
    _Atomic int nconns;
    pthread_t dl_tid;
    int dl_started;
    _Atomic int dl_stop;
    int bound_port;
    int running;
    /* [front] completions_on_io and the queue took mq_serve_on: the I/O threads serve the
     * queue's delivery reports themselves (front_io.c io_serve); dr_rr picks the one woken */
    _Atomic int serve_dr;
    _Atomic unsigned dr_rr;
};

struct front_regent {
    struct front_regent *next;
    uint32_t key;
    int thread;
    uint64_t conn_id;
};

/* ---- front_sess.c ---- */
/* Feed bytes to the session. *used: bytes consumed (the rest must be kept and fed again).
 * 0: all complete frames handled; MF_EFULL: stop reading and retry later (backpressure);
 * other negative: close the connection (conn->closed set by ops->close). */
int front_sess_input(struct front_conn *conn, const uint8_t *p, size_t n, size_t *used);
/* A done callback's result arrived on the connection's thread. */
void front_sess_durable(struct front_pend *pend);
/* The same for one of a batch of results: now is the mono time (us) read once for the
 * batch; the confirm's latency waits in th->lat until front_sess_lat_flush (the caller's,
 * at the end of the batch). */
void front_sess_durable_at(struct front_pend *pend, uint64_t now);
void front_sess_lat_flush(struct front_thread *th);
/* A zeroed pend from the thread's pool (or the heap); back to the pool (or freed). Loop
 * thread; a pend from front_pend_new may also be released with free(). */
struct front_pend *front_pend_new(struct front_thread *th);
void front_pend_free(struct front_thread *th, struct front_pend *pend);
/* Periodic checks for one connection (liveness, partial age). now: mono us. */
void front_sess_check(struct front_conn *conn, uint64_t now);
/* Connection ends: publish offline (unless replaced), fail its requests. Idempotent. */
void front_sess_end(struct front_conn *conn, int reason);
/* Encode and publish a session envelope for conn. */
void front_sess_publish(struct front_conn *conn, int state, int reason, uint64_t conn_id);
/* Build and send an AFN=00 answer. fn: 1 confirm, 2 deny; f3_item: for the per-item form,
 * the confirmed frame's AFN and DA/DT (4 bytes) else NULL. */
int front_sess_answer(struct front_conn *conn, uint16_t a1, uint16_t a2, uint8_t c, uint8_t msa,
                      uint8_t rseq,
                      const struct gw_tp *tp, int fn, uint8_t f3_afn, const uint8_t *f3_dadt);
void front_conn_peer_format(const struct front_conn *conn, char *out, size_t len);
void front_term_lookup(struct front *f, uint16_t a1, uint16_t a2, struct front_term_info *ti);

/* ---- front_req.c ---- */
/* Parse and validate a JSON command. 0 and *out (gives), or MF_EINVAL with a reason in
 * why; *cmd_id / a1 / a2 are set as far as they parsed (for the failure status). */
int front_cmd_parse(const uint8_t *json, size_t len, struct front_cmd **out, uint64_t *cmd_id,
                    uint16_t *a1, uint16_t *a2, char *why, size_t whylen);
/* 1 when cmd has an expires_at and it has passed (wall clock), else 0. */
int front_cmd_expired(const struct front_cmd *cmd);
/* Publish a MF_ENV_CMD_STATUS envelope for cmd. */
void front_cmd_status(struct front_thread *th, struct front *f, uint64_t cmd_id, uint16_t a1,
                      uint16_t a2, uint64_t conn_id, int state, int attempts, const char *detail);
/* A command arrived on the thread holding conn (takes cmd). */
void front_req_submit(struct front_conn *conn, struct front_cmd *cmd, int internal);
/* Try to match an uplink answer to the active request. Returns the cmd_id (0 none) without
 * side effects; front_req_answered applies them once the frame was accepted. */
uint64_t front_req_match(struct front_conn *conn, const struct gw_frame *fr, int *is_internal);
void front_req_answered(struct front_conn *conn, const struct gw_frame *fr);
/* Deadlines of the thread's active requests. now: mono us. */
void front_req_tick(struct front_thread *th, uint64_t now);
/* Fail every request of conn (offline), free them. */
void front_req_drop_all(struct front_conn *conn);
/* Start an event read (AFN=0E F1, Pm..Pn) if none is pending. */
void front_req_event_read(struct front_conn *conn, uint8_t ec1);

/* ---- front.c (shared helpers) ---- */
uint64_t front_now_mono(void);
/* Registry: key -> (thread, conn id). put returns the previous holder (old_conn 0: none). */
void front_registry_put(struct front *f, uint32_t key, int thread, uint64_t conn_id,
                        int *old_thread, uint64_t *old_conn);
void front_registry_del(struct front *f, uint32_t key, uint64_t conn_id);
/* Thread index holding key, or -1. */
int front_registry_find(struct front *f, uint32_t key);
/* Take a login of conn's source address: 1 allowed, 0 over login_per_min, -1 over
 * login_trusted_per_min (the address is inside login_trusted_nets). Any I/O thread. */
int front_login_allowed(struct front *f, const struct front_conn *conn);
void front_opts_load(struct front_opts *o, const struct mf_config *cfg);

/* ---- front_dl.c ---- */
void *front_dl_main(void *arg);

/* ---- front_io.c ---- */
extern const struct front_io_ops front_uv_ops;
int front_thread_init(struct front_thread *th, struct front *f, int idx, char *err, size_t len);
int front_thread_listen(struct front_thread *th, char *err, size_t len);
int front_thread_start(struct front_thread *th);
void front_thread_stop(struct front_thread *th);
/* mq_serve_on's wake (f: struct front *): delivery reports wait -- wake an I/O thread (in
 * turn) to serve them. Any thread (librdkafka's); only an async send. */
void front_io_dr_wake(void *f);
void front_thread_fini(struct front_thread *th);
/* Post a message to th's inbox (any thread). Takes msg. Returns 0 or MF_ECLOSED (freed). */
int front_thread_post(struct front_thread *th, struct front_msg *msg);
/* Per-thread hash of online sessions. */
void front_byterm_add(struct front_thread *th, struct front_conn *conn);
void front_byterm_del(struct front_thread *th, struct front_conn *conn);
struct front_conn *front_byterm_find(struct front_thread *th, uint32_t key);

#endif
