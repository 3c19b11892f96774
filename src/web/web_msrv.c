/* web_msrv.c -- the Prometheus endpoint of processes that run no web: `meterflow front` and
 * `meterflow worker` in the distributed setup. Their counters (connections, frames,
 * confirms, backpressure, commands, consumer lag, batches, store retries, ...) live in their
 * own memory, which the web process's /metrics cannot see; each such process answers
 * GET /metrics itself, on [metrics] listen:port (loopback by default, off unless a port is
 * set: several fronts and workers share a host, so no port can be a default).
 *
 * The server is libmicrohttpd with one internal thread (a scrape every few seconds needs no
 * pool), 16 connections, a 10 s idle timeout; the body is built per request by the caller's
 * web_stats_fn into a capped buffer (256 KiB). Only GET /metrics (200) and HEAD exist;
 * every other path is 404 and every other method 405, no request body is read.
 *
 * Thread: start/stop on the owner's thread; the stats function runs on the server's thread,
 * concurrently with the process's own threads (it must read snapshots only). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/buf.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/web.h"

#define MSRV_BODY_MAX (256 * 1024)

struct web_msrv {
    struct MHD_Daemon *daemon;
    web_stats_fn fn;
    void *opaque;
    char role[16];
    uint16_t port;
    uint64_t scrapes; /* server thread only */
};

static enum MHD_Result msrv_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                 const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result msrv_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    struct web_msrv *m = cls;
    static const char plain[] = "text/plain; charset=utf-8";
    (void)version;
    (void)upload_data;

    if (!*con_cls) { /* first call: headers only; answer on the next */
        *con_cls = m;
        return MHD_YES;
    }
    if (*upload_data_size) { /* no body is wanted: drop it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return msrv_send(conn, MHD_HTTP_METHOD_NOT_ALLOWED, plain, "method not allowed\n", 19);
    if (strcmp(url, "/metrics") != 0)
        return msrv_send(conn, MHD_HTTP_NOT_FOUND, plain, "only /metrics here\n", 19);

    struct mf_buf b;
    char line[384];
    mf_buf_init(&b, MSRV_BODY_MAX);
    m->scrapes++;
    int n = snprintf(line, sizeof(line),
                     "# HELP meterflow_up the process answers\n# TYPE meterflow_up gauge\n"
                     "meterflow_up{role=\"%s\"} 1\n"
                     "# HELP meterflow_metrics_scrapes_total scrapes of this endpoint\n"
                     "# TYPE meterflow_metrics_scrapes_total counter\n"
                     "meterflow_metrics_scrapes_total %llu\n",
                     m->role, (unsigned long long)m->scrapes);
    if (n > 0 && (size_t)n < sizeof(line))
        (void)mf_buf_append(&b, line, (size_t)n);
    m->fn(m->opaque, &b); /* MF_ERANGE at the cap ends its appends: a truncated page */
    enum MHD_Result rc = msrv_send(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                   b.data ? (const char *)b.data : "", b.len);
    mf_buf_fini(&b);
    return rc;
}

struct web_msrv *web_msrv_start(const char *listen_addr, int port, const char *role,
                                web_stats_fn fn, void *opaque, char *errbuf, size_t errlen)
{
    struct sockaddr_in sin;

    if (port < 0 || port > 65535 || !fn) {
        snprintf(errbuf, errlen, "[metrics] port %d out of range", port);
        return NULL;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (!listen_addr || inet_pton(AF_INET, listen_addr, &sin.sin_addr) != 1) {
        snprintf(errbuf, errlen, "[metrics] listen: '%s' is not an IPv4 address",
                 listen_addr ? listen_addr : "");
        return NULL;
    }
    struct web_msrv *m = mf_calloc(1, sizeof(*m));
    m->fn = fn;
    m->opaque = opaque;
    mf_strlcpy(m->role, role ? role : "", sizeof(m->role));
    m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                                 msrv_access, m, MHD_OPTION_SOCK_ADDR, &sin,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                                 MHD_OPTION_END);
    if (!m->daemon) {
        snprintf(errbuf, errlen, "[metrics] cannot listen on %s:%d (address in use?)",
                 listen_addr, port);
        free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = di ? di->port : (uint16_t)port;
    mf_info("web", "%s metrics on http://%s:%u/metrics", m->role, listen_addr, (unsigned)m->port);
    return m;
}

struct web_msrv *web_msrv_start_cfg(const struct mf_config *cfg, const char *role,
                                    web_stats_fn fn, void *opaque, int *failed, char *errbuf,
                                    size_t errlen)
{
    int64_t port = mf_config_int(cfg, "metrics", "port");
    *failed = 0;
    if (port < 0)
        return NULL; /* no endpoint configured */
    struct web_msrv *m = web_msrv_start(mf_config_str(cfg, "metrics", "listen"), (int)port, role,
                                        fn, opaque, errbuf, errlen);
    *failed = m == NULL;
    return m;
}

uint16_t web_msrv_port(const struct web_msrv *m)
{
    return m ? m->port : 0;
}

void web_msrv_stop(struct web_msrv *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->daemon);
    free(m);
}
