/* web.h -- the HTTP API (JSON), the panel's static files and /metrics, over libmicrohttpd.
 *
 * One struct web per process role: `meterflow web` (standalone, its own queue handle) or
 * `meterflow run` (in-process, sharing the embedded queue). The web opens its own store
 * handles with the store API ([store] section) and produces downlink commands on
 * MQ_DOWNLINK. Every route (method, path pattern, minimum role, body cap, handler) sits in one
 * table (src/web/web_routes.c) so no endpoint can skip its role check. docs/API.md documents
 * every endpoint.
 *
 * Lifecycle: web_new (config checked, store opened) -> web_start (listening, thread pool
 * running) -> web_stop (no request in flight afterwards) -> web_free.
 *
 * Thread: web_new/web_start/web_stop/web_free and web_set_stats_cb on the thread that owns
 * the web (main). Handlers run on libmicrohttpd's pool threads; the stats callback is called
 * from those threads, concurrently. */
#ifndef MF_WEB_H
#define MF_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/buf.h"
#include "meterflow/config.h"

struct web;
struct mq;

/* cfg: borrowed, kept until web_free (read-only). q: borrowed, kept until web_free; may be
 * NULL (then POST /api/commands answers 503). Gives a web, or NULL with errbuf naming the
 * key, file or store that failed. */
struct web *web_new(const struct mf_config *cfg, struct mq *q, char *errbuf, size_t errlen);

/* Bind [web] listen:port (port 0: any free port, see web_port) and start the thread pool.
 * 0, or MF_EFATAL with errbuf saying why (address in use, TLS files unreadable, ...). */
int web_start(struct web *web, char *errbuf, size_t errlen);

/* The port actually bound (after web_start), 0 before. */
uint16_t web_port(const struct web *web);

/* Stop accepting, finish requests in flight, join the threads. Idempotent. */
void web_stop(struct web *web);
void web_free(struct web *web);

/* Extra Prometheus text for /metrics (front connections, ingest rates, ...): fn appends
 * complete "# HELP/# TYPE/name value" lines to out (capped; MF_ERANGE ends the append).
 * opaque: kept until web_free. Called concurrently from HTTP threads. Set before web_start. */
typedef void (*web_stats_fn)(void *opaque, struct mf_buf *out);
void web_set_stats_cb(struct web *web, web_stats_fn fn, void *opaque);

/* Told after a master-data write of terminals committed (PUT / DELETE /api/terminals/ID:
 * term = its gw_terminal_key, all = 0; a terminals CSV import: all = 1), before the HTTP
 * answer is sent: `meterflow run` invalidates the front's registry cache with it. opaque:
 * kept until web_free. Called from HTTP threads, concurrently. Set before web_start. */
typedef void (*web_master_fn)(void *opaque, uint32_t term, int all);
void web_set_master_cb(struct web *web, web_master_fn fn, void *opaque);

/* The Prometheus endpoint of a process without the web (`meterflow front`, `meterflow
 * worker`; web_msrv.c): GET /metrics answers "meterflow_up{role=ROLE} 1", a scrape counter
 * and what fn appends (called on the server's thread, concurrently with the process's own
 * threads: read snapshots only). listen: an IPv4 address; port 0: any free one
 * (web_msrv_port). fn, opaque: kept until web_msrv_stop. Gives the server, or NULL with
 * errbuf saying why (address in use, bad address).
 * web_msrv_start_cfg takes [metrics] listen / port; port -1 (the default) means no endpoint:
 * NULL with *failed = 0. web_msrv_stop accepts NULL; no call of fn runs after it returns. */
struct web_msrv;
struct web_msrv *web_msrv_start(const char *listen_addr, int port, const char *role,
                                web_stats_fn fn, void *opaque, char *errbuf, size_t errlen);
struct web_msrv *web_msrv_start_cfg(const struct mf_config *cfg, const char *role,
                                    web_stats_fn fn, void *opaque, int *failed, char *errbuf,
                                    size_t errlen);
uint16_t web_msrv_port(const struct web_msrv *m);
void web_msrv_stop(struct web_msrv *m);

/* For `meterflow user`: check a role name ("viewer", "operator", "admin"), a user name
 * ([A-Za-z0-9._-], 1..32) and a new password (8..256 bytes); hash a password with Argon2id
 * (libsodium crypto_pwhash_str, interactive limits) into out (>= 128 bytes) for
 * store_user_put. 0, MF_EINVAL (bad input, with a reason in out), MF_EFATAL. */
int web_user_check(const char *name, const char *role, const char *password, char *why,
                   size_t whylen);
int web_user_password_hash(const char *password, char *out, size_t outlen);

#endif
