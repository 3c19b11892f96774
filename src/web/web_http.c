/* web_http.c -- the libmicrohttpd server: lifecycle, the access handler that turns a
 * connection's calls into one struct web_req, dispatch through the route table, replies with
 * the security headers.
 *
 * Request flow (libmicrohttpd calls the access handler several times per request):
 *   1st call   headers known: allocate the web_req, find the route, answer 413 at once when
 *              Content-Length passes the route's cap (the body is then never read);
 *   next calls body pieces: appended to a capped mf_buf (over the cap: discarded, 413 later);
 *   last call  upload_data_size == 0: dispatch() -> status + reply, queued with headers.
 * The web_req is freed in the request-completed callback.
 *
 * Invariants: every response, error or not, carries the security headers (add_headers);
 * every /api and /metrics answer says Cache-Control: no-store; no handler runs before
 * web_auth_check said yes for the route's min_role.
 *
 * Thread: web_new/start/stop/free on the owner's thread; the callbacks run on the pool. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/queue.h"
#include "web/web_int.h"

#define UNKNOWN_ROUTE_MAX_BODY 4096

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

/* ---- reply helpers (used by every handler) ---------------------------------------------- */

int web_reply(struct web_req *req, int status, json_t *json)
{
    json_decref(req->json);
    req->json = json;
    return status;
}

int web_error(struct web_req *req, int status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return web_reply(req, status, json_pack("{s:s, s:i}", "error", msg, "status", status));
}

int web_store_error(struct web_req *req, int rc, const char *what)
{
    switch (rc) {
    case MF_ENOTFOUND:
        return web_error(req, 404, "%s not found", what);
    case MF_EEXIST:
        return web_error(req, 409, "%s already exists", what);
    case MF_EINVAL:
    case MF_ERANGE:
        return web_error(req, 400, "invalid %s", what);
    case MF_EDENIED:
        return web_error(req, 403, "%s: not allowed", what);
    default:
        if (mf_status_is_retry(rc))
            return web_error(req, 503, "store busy, retry later");
        mf_error("web", "store failed on %s: %s", what, mf_status_str(rc));
        return web_error(req, 500, "store error");
    }
}

const char *web_arg(struct web_req *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *web_header(struct web_req *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int web_arg_int(struct web_req *req, const char *name, int64_t min, int64_t max, int64_t def,
                int64_t *out)
{
    const char *s = web_arg(req, name);
    if (!s || !*s) {
        *out = def;
        return 0;
    }
    if (web_int_parse(s, min, max, out) != 0)
        return web_error(req, 400, "%s: an integer in %lld..%lld is expected", name,
                         (long long)min, (long long)max);
    return 0;
}

int web_page(struct web_req *req, int64_t *page, int64_t *page_size)
{
    int rc = web_arg_int(req, "page", 1, 1000000, 1, page);
    if (rc == 0)
        rc = web_arg_int(req, "page_size", 1, req->web->page_size_max, 50, page_size);
    return rc;
}

/* ---- replies on the wire ------------------------------------------------------------------ */

static void add_headers(struct web_req *req, struct MHD_Response *resp, int api)
{
    struct web *web = req->web;
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
    if (web->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    for (size_t i = 0; i < 2; i++)
        if (req->set_cookie[i][0])
            MHD_add_response_header(resp, "Set-Cookie", req->set_cookie[i]);
}

static enum MHD_Result queue_reply(struct web_req *req, struct MHD_Connection *conn, int status)
{
    struct MHD_Response *resp;
    const char *ctype = req->ctype ? req->ctype : "application/json";
    int api = strncmp(req->url, "/api/", 5) == 0 || strcmp(req->url, "/metrics") == 0;
    enum MHD_Result ret;

    if (req->static_fd >= 0) {
        resp = MHD_create_response_from_fd((uint64_t)req->static_size, req->static_fd);
        req->static_fd = -1; /* the response owns it now */
    } else if (req->text) {
        resp = MHD_create_response_from_buffer(req->text_len, req->text, MHD_RESPMEM_MUST_FREE);
        req->text = NULL;
    } else {
        if (!req->json)
            web_error(req, status, "%s", status >= 500 ? "internal error" : "error");
        char *body = json_dumps(req->json, JSON_COMPACT | JSON_REAL_PRECISION(12));
        if (!body)
            mf_oom();
        size_t len = strlen(body);
        body = mf_realloc(body, len + 2); /* a trailing newline is friendlier to curl users */
        body[len] = '\n';
        body[len + 1] = '\0';
        resp = MHD_create_response_from_buffer(len + 1, body, MHD_RESPMEM_MUST_FREE);
        ctype = "application/json; charset=utf-8";
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    add_headers(req, resp, api);
    if (status == 405 && req->allow[0])
        MHD_add_response_header(resp, "Allow", req->allow);
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int content_type_ok(struct web_req *req, const char *want)
{
    const char *ct = web_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

static void record(struct web_req *req, int status)
{
    struct web *web = req->web;
    uint64_t dt = mf_mono_us() - req->started_us;

    pthread_mutex_lock(&web->stats_mu);
    if (status >= 100 && status < 600)
        web->status_counts[status / 100]++;
    if (req->route) {
        struct web_route_stats *rs = &web->rstats[req->route - web_routes];
        rs->count++;
        rs->errors += status >= 500;
        mf_hist_add(&rs->lat, dt);
    }
    pthread_mutex_unlock(&web->stats_mu);
}

/* Everything between "request complete" and "reply ready": returns the HTTP status. */
static int dispatch(struct web_req *req)
{
    const char *path = req->url;
    int rc;

    if (req->route_rc == MF_ENOTFOUND) {
        if ((strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) &&
            strncmp(path, "/api/", 5) != 0 && web_static_get(req, path) == 0)
            return 200;
        return web_error(req, 404, "no such endpoint or file");
    }
    if (req->route_rc != 0)
        return web_error(req, 405, "method %s not allowed here", req->method);
    if (req->body_over)
        return web_error(req, 413, "request body over %zu bytes", req->body.max);
    if (req->is_write && req->body.len > 0) {
        if ((req->route->flags & WEB_R_JSON) && !content_type_ok(req, "application/json"))
            return web_error(req, 415, "Content-Type: application/json is expected");
        if ((req->route->flags & WEB_R_CSV) && !content_type_ok(req, "text/csv"))
            return web_error(req, 415, "Content-Type: text/csv is expected");
    }
    rc = web_auth_check(req);
    if (rc != 0)
        return rc;
    if (req->route->flags & WEB_R_STORE) {
        req->st = web_store_acquire(req->web);
        if (!req->st)
            return web_error(req, 503, "store unavailable, retry later");
    }
    rc = req->route->fn(req);
    if (req->st) {
        web_store_release(req->web, req->st);
        req->st = NULL;
    }
    return rc;
}

static void req_free(struct web_req *req)
{
    if (!req)
        return;
    mf_buf_fini(&req->body);
    json_decref(req->json);
    free(req->text);
    if (req->static_fd >= 0)
        close(req->static_fd);
    free(req);
}

static void peer_text(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    mf_strlcpy(out, "?", outlen);
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ci->client_addr;
        inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)outlen);
    } else if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 =
            (const struct sockaddr_in6 *)(const void *)ci->client_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)outlen);
    }
}

/* First call of a request: headers are known, the body is not. */
static struct web_req *req_begin(struct web *web, struct MHD_Connection *conn, const char *url,
                                 const char *method)
{
    struct web_req *req = mf_calloc(1, sizeof(*req));
    size_t max_body = UNKNOWN_ROUTE_MAX_BODY;

    req->web = web;
    req->conn = conn;
    req->url = url;
    req->method = method;
    req->static_fd = -1;
    req->started_us = mf_mono_us();
    req->is_write = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                    strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
    peer_text(conn, req->peer, sizeof(req->peer));
    req->route_rc = web_route_find(method, url, req, &req->route);
    if (req->route_rc == 0)
        max_body = web_route_cap(web, req->route);
    mf_buf_init(&req->body, max_body);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    if (cl && (web_int_parse(cl, 0, INT64_MAX, &n) != 0 || (uint64_t)n > max_body))
        req->body_over = 1;
    return req;
}

enum MHD_Result web_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct web *web = cls;
    struct web_req *req = *con_cls;
    (void)version;

    if (!req) {
        req = req_begin(web, conn, url, method);
        *con_cls = req;
        if (req->body_over) { /* answer before reading a byte of the oversized body */
            req->replied = 1;
            int status = web_error(req, 413, "request body over %zu bytes", req->body.max);
            record(req, status);
            return queue_reply(req, conn, status);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!req->body_over && mf_buf_append(&req->body, upload_data, *upload_data_size) != 0)
            req->body_over = 1; /* keep draining, answer 413 at the end */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->replied)
        return MHD_YES;
    req->replied = 1;
    int status = dispatch(req);
    record(req, status);
    return queue_reply(req, conn, status);
}

void web_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_free(*con_cls);
    *con_cls = NULL;
}

void web_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[256];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    mf_warn("web", "libmicrohttpd: %s", line);
}
