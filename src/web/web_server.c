/* web_server.c -- the web's lifecycle (web_new/start/stop/free), its pool of store handles and
 * the gate that bounds concurrent Argon2id hashes.
 *
 * Store pool: [web] store_handles handles are opened at web_new; a request borrows one for
 * its handler and gives it back (a handle serialises its calls with its own mutex, so
 * without a pool one slow query would stall every HTTP thread). When every handle is busy a
 * request waits up to 2 s, then answers 503.
 *
 * Hash gate: crypto_pwhash with the interactive limits needs 64 MiB; at most
 * [web] hash_concurrency run at once so a login storm cannot exhaust memory.
 *
 * Thread: lifecycle on the owner's thread; acquire/release and the gate on pool threads. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/store.h"
#include "web/web_int.h"

struct web_store_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store **free_list; /* owned handles not lent */
    size_t nfree;
    struct store **all;       /* every handle, for closing */
    size_t nall;
};

static void pool_free(struct web_store_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nall; i++)
        store_close(p->all[i]);
    free(p->all);
    free(p->free_list);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

static struct web_store_pool *pool_new(const struct mf_config *cfg, size_t n, char *errbuf,
                                       size_t errlen)
{
    struct web_store_pool *p = mf_calloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* arrays of pointers: sizeof(a pointer) is meant */
    p->all = mf_calloc(n, sizeof(*p->all));             /* NOLINT(bugprone-sizeof-expression) */
    p->free_list = mf_calloc(n, sizeof(*p->free_list)); /* NOLINT(bugprone-sizeof-expression) */
    for (size_t i = 0; i < n; i++) {
        struct store *st = store_open(cfg, errbuf, errlen);
        if (!st) {
            pool_free(p);
            return NULL;
        }
        p->all[p->nall++] = st;
        p->free_list[p->nfree++] = st;
    }
    return p;
}

struct store *web_store_acquire(struct web *web)
{
    struct web_store_pool *p = web->pool;
    struct store *st = NULL;
    struct timespec dl;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 2;
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
            break;
    if (p->nfree > 0)
        st = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return st;
}

void web_store_release(struct web *web, struct store *st)
{
    struct web_store_pool *p = web->pool;
    pthread_mutex_lock(&p->mu);
    p->free_list[p->nfree++] = st;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void web_hash_enter(struct web *web)
{
    pthread_mutex_lock(&web->hash_mu);
    while (web->hash_busy >= web->hash_max)
        pthread_cond_wait(&web->hash_cv, &web->hash_mu);
    web->hash_busy++;
    pthread_mutex_unlock(&web->hash_mu);
}

void web_hash_leave(struct web *web)
{
    pthread_mutex_lock(&web->hash_mu);
    web->hash_busy--;
    pthread_cond_signal(&web->hash_cv);
    pthread_mutex_unlock(&web->hash_mu);
}

/* Read a whole PEM file (small; capped at 1 MiB). Gives text or NULL. */
static char *read_pem(const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct mf_buf b;
    char chunk[4096];
    size_t n;

    if (!f) {
        char eb[128];
        snprintf(errbuf, errlen, "[web] cannot read '%s': %s", path, mf_strerror(errno, eb, sizeof(eb)));
        return NULL;
    }
    mf_buf_init(&b, 1 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (mf_buf_append(&b, chunk, n) != 0)
            break;
    fclose(f);
    if (mf_buf_append(&b, "", 1) != 0) {
        snprintf(errbuf, errlen, "[web] '%s' is over 1 MiB", path);
        mf_buf_fini(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* [web] metrics_token: 16..256 printable characters without spaces; kept as its hash only.
 * 0, or -1 with errbuf naming the key (never the value). */
static int metrics_token_init(struct web *web, const char *tok, char *errbuf, size_t errlen)
{
    size_t n = strlen(tok);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] <= ' ' || tok[i] > '~') {
            snprintf(errbuf, errlen, "[web] metrics_token: printable characters only, no spaces");
            return -1;
        }
    }
    if (n < 16 || n > 256) {
        snprintf(errbuf, errlen, "[web] metrics_token: 16..256 characters (has %zu)", n);
        return -1;
    }
    web_token_hash(tok, web->metrics_hash);
    web->metrics_auth = 1;
    return 0;
}

struct web *web_new(const struct mf_config *cfg, struct mq *q, char *errbuf, size_t errlen)
{
    struct web *web = mf_calloc(1, sizeof(*web));

    if (sodium_init() < 0) {
        snprintf(errbuf, errlen, "libsodium failed to initialise");
        free(web);
        return NULL;
    }
    web->cfg = cfg;
    web->q = q;
    pthread_mutex_init(&web->hash_mu, NULL);
    pthread_cond_init(&web->hash_cv, NULL);
    pthread_mutex_init(&web->stats_mu, NULL);
    web->hash_max = (int)mf_config_int(cfg, "web", "hash_concurrency");
    web->page_size_max = mf_config_int(cfg, "web", "page_size_max");
    web->max_body_bytes = (size_t)mf_config_int(cfg, "web", "max_body_bytes");
    web->max_import_bytes = (size_t)mf_config_int(cfg, "web", "max_import_bytes");
    web->session_ttl_s = mf_config_int(cfg, "web", "session_ttl_s");
    web->cmd_timeout_ms = mf_config_int(cfg, "web", "cmd_timeout_ms");
    web->cmd_retries = mf_config_int(cfg, "web", "cmd_retries");
    web->cmd_expire_s = mf_config_int(cfg, "web", "cmd_expire_s");
    pthread_mutex_init(&web->exp_mu, NULL);
    pthread_cond_init(&web->exp_cv, NULL);
    /* A command a live front still retries must not expire under it. */
    if (web->cmd_expire_s > 0 &&
        web->cmd_expire_s * 1000 <= (web->cmd_retries + 1) * web->cmd_timeout_ms) {
        snprintf(errbuf, errlen, "[web] cmd_expire_s = %lld must exceed (cmd_retries + 1) *"
                 " cmd_timeout_ms = %lld ms", (long long)web->cmd_expire_s,
                 (long long)(web->cmd_retries + 1) * web->cmd_timeout_ms);
        goto fail;
    }
    web->exp_period_s = (int)MF_MAX(1, MF_MIN(30, web->cmd_expire_s / 4));
    web->tls = mf_config_bool(cfg, "web", "tls");
    web->cookie_secure = web->tls;
    mf_strlcpy(web->static_dir, mf_config_str(cfg, "web", "static_dir"), sizeof(web->static_dir));
    if (metrics_token_init(web, mf_config_str(cfg, "web", "metrics_token"), errbuf, errlen) != 0)
        goto fail;
    web->rstats = mf_calloc(web_nroutes, sizeof(*web->rstats));
    int maxf = (int)mf_config_int(cfg, "web", "login_max_failures");
    int win = (int)mf_config_int(cfg, "web", "login_window_s");
    web->rl_addr = web_ratelimit_new(4096, maxf, win);
    web->rl_user = web_ratelimit_new(4096, maxf, win);
    if (web->tls) {
        web->tls_cert = read_pem(mf_config_str(cfg, "web", "tls_cert"), errbuf, errlen);
        if (!web->tls_cert)
            goto fail;
        web->tls_key = read_pem(mf_config_str(cfg, "web", "tls_key"), errbuf, errlen);
        if (!web->tls_key)
            goto fail;
    }
    /* Unknown users are checked against this hash so a miss takes as long as a hit. */
    if (web_password_hash("not a password of anyone", web->dummy_hash,
                          sizeof(web->dummy_hash)) != 0) {
        snprintf(errbuf, errlen, "password hashing unavailable (out of memory)");
        goto fail;
    }
    web->pool = pool_new(cfg, (size_t)mf_config_int(cfg, "web", "store_handles"), errbuf, errlen);
    if (!web->pool)
        goto fail;
    return web;
fail:
    web_free(web);
    return NULL;
}

int web_start(struct web *web, char *errbuf, size_t errlen)
{
    const struct mf_config *cfg = web->cfg;
    struct sockaddr_in sin;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    const char *listen_addr = mf_config_str(cfg, "web", "listen");

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)mf_config_int(cfg, "web", "port"));
    if (inet_pton(AF_INET, listen_addr, &sin.sin_addr) != 1) {
        snprintf(errbuf, errlen, "[web] listen: '%s' is not an IPv4 address", listen_addr);
        return MF_EFATAL;
    }
    if (web->tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        { web->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, web->tls_cert },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, web->tls_key },
        { MHD_OPTION_END, 0, NULL },
    };
    web->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, web_on_access, web, MHD_OPTION_EXTERNAL_LOGGER, web_on_mhd_log,
        web, MHD_OPTION_SOCK_ADDR, &sin,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)mf_config_int(cfg, "web", "threads"),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)mf_config_int(cfg, "web", "max_connections"),
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)mf_config_int(cfg, "web", "connection_timeout_s"),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        web_on_completed, web, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!web->daemon) {
        snprintf(errbuf, errlen, "[web] cannot listen on %s:%lld%s (address in use?)",
                 listen_addr, (long long)mf_config_int(cfg, "web", "port"),
                 web->tls ? " with TLS (check tls_cert/tls_key)" : "");
        return MF_EFATAL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(web->daemon, MHD_DAEMON_INFO_BIND_PORT);
    web->port = di ? di->port : ntohs(sin.sin_port);
    if (web_expire_start(web) != 0) {
        snprintf(errbuf, errlen, "[web] cannot start the command expiry thread");
        MHD_stop_daemon(web->daemon);
        web->daemon = NULL;
        return MF_EFATAL;
    }
    mf_info("web", "listening on %s://%s:%u", web->tls ? "https" : "http", listen_addr,
            (unsigned)web->port);
    return 0;
}

uint16_t web_port(const struct web *web)
{
    return web->port;
}

void web_stop(struct web *web)
{
    if (web)
        web_expire_stop(web);
    if (web && web->daemon) {
        MHD_stop_daemon(web->daemon);
        web->daemon = NULL;
    }
}

void web_free(struct web *web)
{
    if (!web)
        return;
    web_stop(web);
    pool_free(web->pool);
    web_ratelimit_free(web->rl_addr);
    web_ratelimit_free(web->rl_user);
    free(web->rstats);
    if (web->tls_key)
        sodium_memzero(web->tls_key, strlen(web->tls_key));
    free(web->tls_key);
    free(web->tls_cert);
    pthread_mutex_destroy(&web->hash_mu);
    pthread_cond_destroy(&web->hash_cv);
    pthread_mutex_destroy(&web->stats_mu);
    pthread_mutex_destroy(&web->exp_mu);
    pthread_cond_destroy(&web->exp_cv);
    free(web);
}

void web_set_master_cb(struct web *web, web_master_fn fn, void *opaque)
{
    web->master_fn = fn;
    web->master_opaque = opaque;
}

void web_set_stats_cb(struct web *web, web_stats_fn fn, void *opaque)
{
    web->stats_fn = fn;
    web->stats_opaque = opaque;
}
