/* web_int.h -- private to src/web: the request object handlers see, the route table, the
 * pure input parsers (web_input.c, fuzzed by tests/fuzz/fuzz_web_input.c), authentication
 * helpers (web_auth.c) and the server state (web_http.c).
 *
 * A request's life: web_http.c's access handler collects headers and a capped body into a
 * struct web_req, finds the route (404/405), authenticates (web_auth.c: Bearer or cookie +
 * CSRF), checks the route's minimum role (401/403), borrows a store handle, calls the handler,
 * and sends req->json (or req->text) with the security headers.
 *
 * Thread: a struct web_req belongs to the one pool thread serving its connection. */
#ifndef MF_WEB_INT_H
#define MF_WEB_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "meterflow/buf.h"
#include "meterflow/hist.h"
#include "meterflow/web.h"

struct MHD_Connection;
struct MHD_Daemon;
struct store;

/* ---- roles ---------------------------------------------------------------------------- */

enum web_role { WEB_ROLE_NONE = 0, WEB_ROLE_VIEWER = 1, WEB_ROLE_OPERATOR = 2, WEB_ROLE_ADMIN = 3 };
const char *web_role_name(int role);  /* "viewer"...; "none" for 0 */
int web_role_parse(const char *name); /* 1..3, or -1 */

/* ---- pure input parsing (web_input.c) -------------------------------------------------- */

#define WEB_MAX_PARAMS 4
#define WEB_PARAM_MAX 64
#define WEB_TOKEN_BYTES 32
#define WEB_TOKEN_HEX (2 * WEB_TOKEN_BYTES)

/* Match a path against a pattern whose segments are literal or "{name}". Captured segments
 * (1..WEB_PARAM_MAX-1 bytes, no '/') go to params in order. 1 match, 0 no match. */
int web_path_match(const char *pattern, const char *path, char params[][WEB_PARAM_MAX],
                   size_t *nparams);

/* "RRRR-TTTT": 4 decimal digits, '-', 4 hex digits (either case); normalised upper case
 * into out (10 bytes). 0 or MF_EINVAL. */
int web_terminal_parse(const char *s, char out[10]);

/* Decimal integer in [min, max] with nothing after it. 0 or MF_EINVAL. */
int web_int_parse(const char *s, int64_t min, int64_t max, int64_t *out);

/* "YYYY-MM-DD" calendar date (checked against the month's length) -> days since 1970-01-01. */
int web_date_parse(const char *s, int32_t *days);

/* Value of cookie `name` in a Cookie header ("a=1; mf_session=abc"), copied into out
 * (NUL-terminated). 0, MF_ENOTFOUND, or MF_ERANGE if longer than outlen-1. */
int web_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/* "Bearer <token>" (case-insensitive scheme) -> token copied into out. 0, MF_ENOTFOUND,
 * MF_EINVAL, MF_ERANGE. */
int web_bearer_get(const char *header, char *out, size_t outlen);

/* A session token as sent by clients: exactly WEB_TOKEN_HEX lower-case hex digits. 1/0. */
int web_token_well_formed(const char *tok);

/* User names: 1..32 of [A-Za-z0-9._-]. 1/0. */
int web_username_ok(const char *name);

/* Parse a JSON object body (len bytes, need not be NUL-terminated). Gives the object, or
 * NULL with a short reason in err (never echoes the input). */
json_t *web_json_object_parse(const uint8_t *body, size_t len, char *err, size_t errlen);

/* Typed field getters for validated bodies. *_opt return 0 when absent (out untouched),
 * MF_EINVAL when present with the wrong type or out of range. */
int web_json_str(json_t *obj, const char *key, size_t maxlen, const char **out);
int web_json_str_opt(json_t *obj, const char *key, size_t maxlen, const char **out);
int web_json_int_opt(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out);

/* Request the command endpoint understands, validated (web_cmd.c builds it). */
enum web_cmd_type {
    WEB_CMD_READ_CURRENT,
    WEB_CMD_READ_DAILY,
    WEB_CMD_READ_CURVE,
    WEB_CMD_CLOCK_SYNC,
    WEB_CMD_READ_METER_CONFIG,
    WEB_CMD_METER_READ,
    WEB_CMD_RELAY_TRIP,
    WEB_CMD_RELAY_CLOSE,
    WEB_CMD_NTYPES
};
const char *web_cmd_type_name(int type);
int web_cmd_type_parse(const char *name); /* or -1 */

struct web_cmd_req {
    int type;
    char terminal[10];
    uint16_t pn;           /* measurement point (read_*), 1..2040; default 1 */
    uint16_t fn;           /* read_current: Fn (default 129); read_daily (161); curve (101) */
    int32_t date_days;     /* read_daily / read_curve: civil date; -1 = yesterday */
    uint8_t curve_points;  /* read_curve: n (default 96), density 15 min */
    uint64_t meter;        /* meter_read / relay_*: the 12-digit meter address as a number */
    char meter_text[13];
    uint32_t di;           /* meter_read: DL/T 645-2007 DI (default 00010000) */
    uint8_t port;          /* forwarding port (default 31) */
    uint16_t serials[16];  /* read_meter_config: serial numbers (none = 1) */
    size_t nserials;
};

/* Validate a POST /api/commands body. 0, or MF_EINVAL with a message for the client. */
int web_cmd_req_parse(json_t *body, struct web_cmd_req *out, char *err, size_t errlen);

/* ---- requests and routes ---------------------------------------------------------------- */

struct web_req {
    struct web *web;
    struct MHD_Connection *conn; /* borrowed from libmicrohttpd for the request's life */
    const struct web_route *route;
    int route_rc;       /* web_route_find's answer: 0, MF_ENOTFOUND (404), MF_EDENIED (405) */
    char allow[64];     /* methods of the path for a 405's Allow header */
    int replied;
    const char *method; /* borrowed (MHD) */
    const char *url;    /* borrowed (MHD) */
    char params[WEB_MAX_PARAMS][WEB_PARAM_MAX];
    size_t nparams;
    struct mf_buf body;
    int body_over;      /* the body passed the cap: answer 413 */
    int is_write;       /* POST/PUT/PATCH/DELETE */
    char peer[64];
    struct store *st;   /* borrowed from the pool while the handler runs */
    /* who is asking (web_auth.c) */
    int role;
    int64_t user_id;
    char user[40];
    int via_cookie;
    char csrf[WEB_TOKEN_HEX + 1];
    uint8_t token_hash[32];
    /* the answer */
    json_t *json;       /* owned */
    char *text;         /* owned, when the answer is not JSON */
    size_t text_len;
    const char *ctype;  /* static */
    int static_fd;      /* owned, -1: a panel file to send */
    int64_t static_size;
    char set_cookie[2][200];
    uint64_t started_us;
};

typedef int (*web_handler_fn)(struct web_req *req);

enum web_route_flags {
    WEB_R_STORE = 1,   /* borrows a store handle */
    WEB_R_JSON = 2,    /* body must be application/json */
    WEB_R_CSV = 4,     /* body must be text/csv */
    WEB_R_NOCSRF = 8,  /* login: no session yet */
};

struct web_route {
    const char *method;
    const char *pattern;
    int min_role;
    unsigned flags;
    size_t max_body;
    web_handler_fn fn;
    const char *name; /* for metrics */
};

/* Handlers (web_api_*.c, web_cmd*.c, web_metrics.c), listed in web_routes.c. Each returns
 * the HTTP status with req->json (or req->text) set. */
int web_h_health(struct web_req *req);
int web_h_login(struct web_req *req);
int web_h_logout(struct web_req *req);
int web_h_me(struct web_req *req);
int web_h_users_list(struct web_req *req);
int web_h_user_create(struct web_req *req);
int web_h_user_update(struct web_req *req);
int web_h_user_delete(struct web_req *req);
int web_h_terminals(struct web_req *req);
int web_h_terminal(struct web_req *req);
int web_h_terminal_put(struct web_req *req);
int web_h_terminal_delete(struct web_req *req);
int web_h_point_energy(struct web_req *req);
int web_h_point_daily(struct web_req *req);
int web_h_point_curve(struct web_req *req);
int web_h_point_instant(struct web_req *req);
int web_h_events(struct web_req *req);
int web_h_anomalies(struct web_req *req);
int web_h_anomaly_state(struct web_req *req);
int web_h_kpi_online(struct web_req *req);
int web_h_kpi_collection(struct web_req *req);
int web_h_kpi_lineloss(struct web_req *req);
int web_h_kpi_summary(struct web_req *req);
int web_h_recollect(struct web_req *req);
int web_h_commands(struct web_req *req);
int web_h_command(struct web_req *req);
int web_h_command_create(struct web_req *req);

int web_h_areas(struct web_req *req);
int web_h_area(struct web_req *req);
int web_h_area_put(struct web_req *req);
int web_h_area_delete(struct web_req *req);
int web_h_meters(struct web_req *req);
int web_h_meter_put(struct web_req *req);
int web_h_meter_delete(struct web_req *req);
int web_h_import(struct web_req *req);
int web_h_audit(struct web_req *req);
int web_h_metrics(struct web_req *req);

extern const struct web_route web_routes[];
extern const size_t web_nroutes;

/* The body cap of a route under this web's config. */
size_t web_route_cap(const struct web *web, const struct web_route *r);

/* Find the route: *out set, 0; MF_ENOTFOUND (404) or MF_EDENIED (405: path known, method
 * not). Fills req->params. */
int web_route_find(const char *method, const char *path, struct web_req *req,
                   const struct web_route **out);

/* Reply helpers: set req->json and return the status. */
int web_reply(struct web_req *req, int status, json_t *json); /* takes json */
int web_error(struct web_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map a store status to an HTTP error reply (ENOTFOUND 404, ERETRY 503, EEXIST 409, ...). */
int web_store_error(struct web_req *req, int rc, const char *what);

/* Query argument (URL-decoded by libmicrohttpd) or NULL. */
const char *web_arg(struct web_req *req, const char *name);
const char *web_header(struct web_req *req, const char *name);
/* Pagination from page/page_size (defaults 1 / 50, page_size capped by [web]). 0 or a 400
 * already set on req (return its status). */
int web_page(struct web_req *req, int64_t *page, int64_t *page_size);
/* Integer query argument with range; absent -> def. 0 or 400 set. */
int web_arg_int(struct web_req *req, const char *name, int64_t min, int64_t max, int64_t def,
                int64_t *out);

/* Argument helpers of web_api_data.c. Civil "today" in the configured zone (days) and the
 * UTC second at which a civil date starts. */
int32_t web_today(void);
int64_t web_day_start_utc(int32_t days);
int web_arg_time(struct web_req *req, const char *name, int64_t def, int64_t *out);
int web_arg_date(struct web_req *req, const char *name, int32_t def, int32_t *out);
/* Per-area collection rows of a date (web_api_master.c). Store status. */
int web_collect_by_area(struct web_req *req, int32_t date, json_t **out);

/* Audit helper: records (user, action, target, detail) through the store; failures logged. */
void web_audit(struct web_req *req, const char *action, const char *target, json_t *detail);

/* ---- authentication (web_auth.c) -------------------------------------------------------- */

struct web_ratelimit; /* login failures per key (address / user) */
struct web_ratelimit *web_ratelimit_new(size_t slots, int max_failures, int window_s);
void web_ratelimit_free(struct web_ratelimit *rl);
/* 1 if key is locked out now. */
int web_ratelimit_blocked(struct web_ratelimit *rl, const char *key, uint64_t now_us);
void web_ratelimit_fail(struct web_ratelimit *rl, const char *key, uint64_t now_us);
void web_ratelimit_clear(struct web_ratelimit *rl, const char *key);

/* Hash a password (Argon2id, interactive limits) into out (crypto_pwhash_STRBYTES). 0 or
 * MF_EFATAL (out of memory for the hash). */
int web_password_hash(const char *pw, char *out, size_t outlen);
/* 1 if pw matches the stored hash. */
int web_password_verify(const char *hash, const char *pw);
/* A new random session token (hex) and its stored hash. */
void web_token_new(char hex[WEB_TOKEN_HEX + 1], uint8_t hash[32]);
/* Hash of a client-sent token; its CSRF companion (hex). */
void web_token_hash(const char *hex, uint8_t hash[32]);
void web_token_csrf(const uint8_t hash[32], char csrf[WEB_TOKEN_HEX + 1]);

/* Identify the caller (Bearer header or session cookie), check CSRF for cookie writes, the
 * route's role. Returns 0 to go on, or an HTTP status with the error set on req. */
int web_auth_check(struct web_req *req);

/* ---- the server ------------------------------------------------------------------------- */

struct web_store_pool;

struct web_route_stats {
    uint64_t count;
    uint64_t errors;
    struct mf_hist lat;
};

struct web {
    const struct mf_config *cfg;
    struct mq *q;
    struct MHD_Daemon *daemon;
    uint16_t port;
    int tls;
    char *tls_cert, *tls_key; /* PEM text, owned */
    char static_dir[512];
    int metrics_auth;             /* [web] metrics_token set: /metrics needs it */
    uint8_t metrics_hash[32];     /* BLAKE2b-256 of the token (compared in constant time) */
    int64_t page_size_max;
    size_t max_body_bytes, max_import_bytes;
    int64_t session_ttl_s;
    int64_t cmd_timeout_ms, cmd_retries;
    int64_t cmd_expire_s;    /* 0: never; else > (retries + 1) * timeout (web_new checks) */
    int exp_period_s;        /* sweep period of web_expire.c */
    pthread_t exp_th;
    pthread_mutex_t exp_mu;  /* guards exp_stop; exp_cv wakes the sweeper to stop */
    pthread_cond_t exp_cv;
    int exp_stop, exp_running; /* exp_running: owner's thread only */
    uint64_t cmd_expired;    /* atomic: commands this process expired */
    int cookie_secure;
    struct web_store_pool *pool;
    struct web_ratelimit *rl_addr, *rl_user;
    pthread_mutex_t hash_mu; /* bounds concurrent Argon2id hashes (64 MiB each) */
    pthread_cond_t hash_cv;
    int hash_busy, hash_max;
    char dummy_hash[128];   /* verified against for unknown users (same timing) */
    web_stats_fn stats_fn;
    void *stats_opaque;
    web_master_fn master_fn; /* master data of terminals changed (may be NULL) */
    void *master_opaque;
    pthread_mutex_t stats_mu;
    struct web_route_stats *rstats; /* one per route */
    uint64_t status_counts[6];      /* 1xx..5xx by first digit */
    uint64_t cmd_created, cmd_rejected_offline, cmd_queue_full;
    uint64_t login_ok, login_failed, login_limited; /* atomics */
    uint64_t ingest_prev_us;                         /* under stats_mu */
    int64_t ingest_prev_rows;
    double ingest_rate;
};

/* Command expiry (web_expire.c): the sweeper thread, started by web_start when
 * cmd_expire_s > 0, stopped by web_stop; one sweep (any thread; tests): commands queued/sent
 * and created before now_s - cmd_expire_s become "expired"; *n how many. */
int web_expire_start(struct web *web);
void web_expire_stop(struct web *web);
int web_expire_sweep(struct web *web, int64_t now_s, int64_t *n);

/* Store pool (web_http.c): n handles opened at web_new, borrowed by one request at a time. */
struct store *web_store_acquire(struct web *web);
void web_store_release(struct web *web, struct store *st);

/* libmicrohttpd callbacks (web_http.c), installed by web_start. */
#include <microhttpd.h>
#include <stdarg.h>
enum MHD_Result web_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls);
void web_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe);
void web_on_mhd_log(void *cls, const char *fmt, va_list ap) MF_PRINTF(2, 0);

/* Static panel files (web_static.c): 0 handled (req->text etc. set), MF_ENOTFOUND. */
int web_static_get(struct web_req *req, const char *path);

/* Bounded concurrency around Argon2id. */
void web_hash_enter(struct web *web);
void web_hash_leave(struct web *web);

#endif
