/* web_metrics.c -- GET /metrics (Prometheus text format 0.0.4) and GET /api/kpi/summary (the
 * dashboard's tiles in one request).
 *
 * /metrics gathers: HTTP requests, 5xx and latency quantiles per route (from the web's own
 * histograms), responses by class, logins, commands by outcome here and by state in the
 * store, queue counters (mq_stats_get, when the web has a queue), terminals registered /
 * online and row counts per table (store), and whatever the process registered with
 * web_set_stats_cb (front connections, ingest rates in `run`). The text is built in a capped
 * buffer (1 MiB).
 *
 * Ingest rate: rows across the store's tables sampled at each summary/metrics call; the rate
 * is the difference to the previous sample (at least 2 s old) per second.
 *
 * Thread: HTTP pool threads; the sample and counters are under web->stats_mu. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "web/web_int.h"

#define METRICS_MAX (1u << 20)

static void out(struct mf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct mf_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)mf_buf_append(b, line, MF_MIN((size_t)n, sizeof(line) - 1));
}

static void head(struct mf_buf *b, const char *name, const char *type, const char *help)
{
    out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Total rows across the store's tables; -1 unknown. */
static int64_t store_rows(struct store *st, json_t **metrics)
{
    json_t *m = NULL, *tables, *t;
    const char *name;
    int64_t sum = 0;

    if (store_metrics_json(st, &m) != 0)
        return -1;
    tables = json_object_get(m, "tables");
    json_object_foreach(tables, name, t)
    {
        if (strcmp(name, "users") != 0 && strcmp(name, "tokens") != 0 &&
            strcmp(name, "audit") != 0)
            sum += (int64_t)json_integer_value(json_object_get(t, "rows"));
    }
    if (metrics)
        *metrics = m;
    else
        json_decref(m);
    return sum;
}

/* Rows per second since the previous sample (>= 2 s old), -1 before there is one. */
static double ingest_rate(struct web *web, int64_t rows)
{
    uint64_t now = mf_mono_us();
    double rate;
    pthread_mutex_lock(&web->stats_mu);
    if (web->ingest_prev_us && now - web->ingest_prev_us >= 2000000u && rows >= 0) {
        web->ingest_rate = (double)(rows - web->ingest_prev_rows) * 1e6 /
                           (double)(now - web->ingest_prev_us);
        if (web->ingest_rate < 0)
            web->ingest_rate = 0;
    }
    if (rows >= 0 && (!web->ingest_prev_us || now - web->ingest_prev_us >= 2000000u)) {
        web->ingest_prev_us = now;
        web->ingest_prev_rows = rows;
    }
    rate = web->ingest_rate;
    pthread_mutex_unlock(&web->stats_mu);
    return rate;
}

static void http_metrics(struct web *web, struct mf_buf *b)
{
    static const double qs[] = { 0.5, 0.9, 0.99 };
    head(b, "meterflow_http_requests_total", "counter", "HTTP requests by route");
    pthread_mutex_lock(&web->stats_mu);
    for (size_t i = 0; i < web_nroutes; i++)
        out(b, "meterflow_http_requests_total{route=\"%s\"} %llu\n", web_routes[i].name,
            (unsigned long long)web->rstats[i].count);
    head(b, "meterflow_http_request_errors_total", "counter", "HTTP 5xx answers by route");
    for (size_t i = 0; i < web_nroutes; i++)
        out(b, "meterflow_http_request_errors_total{route=\"%s\"} %llu\n", web_routes[i].name,
            (unsigned long long)web->rstats[i].errors);
    head(b, "meterflow_http_request_seconds", "summary",
         "HTTP latency by route (handler incl. store queries)");
    for (size_t i = 0; i < web_nroutes; i++) {
        if (web->rstats[i].count == 0)
            continue;
        for (size_t k = 0; k < MF_ARRAY_LEN(qs); k++)
            out(b, "meterflow_http_request_seconds{route=\"%s\",quantile=\"%g\"} %.6f\n",
                web_routes[i].name, qs[k],
                (double)mf_hist_quantile(&web->rstats[i].lat, qs[k]) / 1e6);
        out(b, "meterflow_http_request_seconds_sum{route=\"%s\"} %.6f\n", web_routes[i].name,
            (double)web->rstats[i].lat.sum / 1e6);
        out(b, "meterflow_http_request_seconds_count{route=\"%s\"} %llu\n", web_routes[i].name,
            (unsigned long long)web->rstats[i].lat.count);
    }
    head(b, "meterflow_http_responses_total", "counter", "HTTP responses by status class");
    for (int c = 1; c <= 5; c++)
        out(b, "meterflow_http_responses_total{class=\"%dxx\"} %llu\n", c,
            (unsigned long long)web->status_counts[c]);
    pthread_mutex_unlock(&web->stats_mu);
    head(b, "meterflow_logins_total", "counter", "login attempts by result");
    out(b, "meterflow_logins_total{result=\"ok\"} %llu\n", (unsigned long long)__atomic_load_n(&web->login_ok, __ATOMIC_RELAXED));
    out(b, "meterflow_logins_total{result=\"failed\"} %llu\n",
        (unsigned long long)__atomic_load_n(&web->login_failed, __ATOMIC_RELAXED));
    out(b, "meterflow_logins_total{result=\"limited\"} %llu\n",
        (unsigned long long)__atomic_load_n(&web->login_limited, __ATOMIC_RELAXED));
    head(b, "meterflow_web_commands_total", "counter", "commands submitted through the API");
    out(b, "meterflow_web_commands_total{outcome=\"queued\"} %llu\n",
        (unsigned long long)__atomic_load_n(&web->cmd_created, __ATOMIC_RELAXED));
    out(b, "meterflow_web_commands_total{outcome=\"offline\"} %llu\n",
        (unsigned long long)__atomic_load_n(&web->cmd_rejected_offline, __ATOMIC_RELAXED));
    out(b, "meterflow_web_commands_total{outcome=\"queue_full\"} %llu\n",
        (unsigned long long)__atomic_load_n(&web->cmd_queue_full, __ATOMIC_RELAXED));
    head(b, "meterflow_web_commands_expired_total", "counter",
         "commands this process's sweep ended as expired ([web] cmd_expire_s)");
    out(b, "meterflow_web_commands_expired_total %llu\n",
        (unsigned long long)__atomic_load_n(&web->cmd_expired, __ATOMIC_RELAXED));
}

static void queue_metrics(struct web *web, struct mf_buf *b)
{
    struct mq_stats s;
    if (!web->q)
        return;
    mq_stats_get(web->q, &s);
    head(b, "meterflow_queue_messages_total", "counter", "queue messages by stage");
    out(b, "meterflow_queue_messages_total{stage=\"produced\"} %llu\n",
        (unsigned long long)s.produced);
    out(b, "meterflow_queue_messages_total{stage=\"delivered\"} %llu\n",
        (unsigned long long)s.delivered);
    out(b, "meterflow_queue_messages_total{stage=\"failed\"} %llu\n", (unsigned long long)s.failed);
    out(b, "meterflow_queue_messages_total{stage=\"full_rejected\"} %llu\n",
        (unsigned long long)s.full_rejections);
    out(b, "meterflow_queue_messages_total{stage=\"consumed\"} %llu\n",
        (unsigned long long)s.consumed);
    out(b, "meterflow_queue_messages_total{stage=\"committed\"} %llu\n",
        (unsigned long long)s.committed);
    head(b, "meterflow_queue_in_flight", "gauge", "produced, not yet durable");
    out(b, "meterflow_queue_in_flight %llu\n", (unsigned long long)s.in_flight);
    head(b, "meterflow_queue_lag", "gauge", "consumer lag in messages (-1 unknown)");
    out(b, "meterflow_queue_lag %lld\n", (long long)s.lag);
}

static void store_metrics(struct web_req *req, struct mf_buf *b)
{
    int32_t reg = 0, onl = 0;
    json_t *m = NULL, *t;
    const char *name;
    uint64_t t0 = mf_mono_us();

    if (store_online_count(req->st, &reg, &onl) == 0) {
        head(b, "meterflow_terminals", "gauge", "registered terminals and online ones");
        out(b, "meterflow_terminals{state=\"registered\"} %d\n", reg);
        out(b, "meterflow_terminals{state=\"online\"} %d\n", onl);
    }
    int64_t rows = store_rows(req->st, &m);
    head(b, "meterflow_store_query_seconds", "gauge", "latency of the store's metrics queries");
    out(b, "meterflow_store_query_seconds %.6f\n", (double)(mf_mono_us() - t0) / 1e6);
    if (rows >= 0) {
        head(b, "meterflow_store_rows", "gauge", "rows per table");
        /* cppcheck-suppress unknownMacro ; jansson's iteration macro (cppcheck is not given
         * the system headers) */
        json_object_foreach(json_object_get(m, "tables"), name, t)
            out(b, "meterflow_store_rows{table=\"%s\"} %lld\n", name,
                (long long)json_integer_value(json_object_get(t, "rows")));
        head(b, "meterflow_ingest_rows_per_second", "gauge", "rows written per second");
        out(b, "meterflow_ingest_rows_per_second %.3f\n", ingest_rate(req->web, rows));
    }
    json_decref(m);
    head(b, "meterflow_commands", "gauge", "stored commands by state");
    for (int s = STORE_CMD_QUEUED; s <= STORE_CMD_EXPIRED; s++) {
        struct store_command_filter f = { .state = store_cmd_state_name(s) };
        json_t *l = NULL;
        f.pg.page = 1;
        f.pg.page_size = 1;
        if (store_commands_json(req->st, &f, &l) == 0)
            out(b, "meterflow_commands{state=\"%s\"} %lld\n", f.state,
                (long long)json_integer_value(json_object_get(l, "total")));
        json_decref(l);
    }
}

/* [web] metrics_token: the Bearer credential's hash against the token's, in constant time
 * (crypto_verify_32: equal-length hashes, so the token's length does not leak either). */
static int metrics_authorised(struct web_req *req)
{
    char tok[257];
    uint8_t h[32];
    if (!req->web->metrics_auth)
        return 1;
    if (web_bearer_get(web_header(req, "Authorization"), tok, sizeof(tok)) != 0)
        return 0;
    web_token_hash(tok, h);
    sodium_memzero(tok, sizeof(tok));
    return crypto_verify_32(h, req->web->metrics_hash) == 0;
}

int web_h_metrics(struct web_req *req)
{
    struct mf_buf b;
    if (!metrics_authorised(req))
        return web_error(req, 401, "/metrics needs its bearer token ([web] metrics_token)");
    mf_buf_init(&b, METRICS_MAX);
    http_metrics(req->web, &b);
    queue_metrics(req->web, &b);
    store_metrics(req, &b);
    if (req->web->stats_fn)
        req->web->stats_fn(req->web->stats_opaque, &b);
    req->text = (char *)b.data; /* takes the buffer (malloc'd by mf_buf) */
    req->text_len = b.len;
    if (!req->text) {
        req->text = mf_strdup("");
        req->text_len = 0;
    }
    req->ctype = "text/plain; version=0.0.4; charset=utf-8";
    return 200;
}

/* Dashboard tiles: terminals, collection yesterday, open anomalies, ingest rate. */
int web_h_kpi_summary(struct web_req *req)
{
    int32_t reg = 0, onl = 0, y = web_today() - 1;
    json_t *coll = NULL, *anom = NULL, *res;
    struct store_anomaly_filter af = { .state = "open" };
    int rc;

    rc = store_online_count(req->st, &reg, &onl);
    if (rc == 0)
        rc = store_kpi_collect_json(req->st, y, y, NULL, &coll);
    af.pg.page = 1;
    af.pg.page_size = 1;
    if (rc == 0)
        rc = store_anomalies_json(req->st, &af, &anom);
    if (rc != 0) {
        json_decref(coll);
        json_decref(anom);
        return web_store_error(req, rc, "summary");
    }
    int64_t rows = store_rows(req->st, NULL);
    double rate = ingest_rate(req->web, rows);
    json_t *c0 = json_array_get(coll, 0);
    res = json_pack("{s:{s:i, s:i, s:f}, s:O?, s:I, s:{s:I, s:f}}", "terminals", "registered",
                    reg, "online", onl, "rate", reg ? (double)onl / reg : 0.0,
                    "collection_yesterday", c0, "open_anomalies",
                    (json_int_t)json_integer_value(json_object_get(anom, "total")), "ingest",
                    "rows", (json_int_t)rows, "rows_per_s", rate);
    json_decref(coll);
    json_decref(anom);
    return web_reply(req, 200, res);
}
