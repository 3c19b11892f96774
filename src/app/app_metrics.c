/* app_metrics.c -- Prometheus text for the counters of the front, the worker and the queue:
 * appended to the web's /metrics by `meterflow run` (the web itself reports store and command
 * figures), and the whole page of the [metrics] endpoint of `meterflow front` / `meterflow
 * worker` (web_msrv.c) in the distributed setup.
 * Thread: called concurrently from HTTP threads; reads snapshots only. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "meterflow/buf.h"
#include "meterflow/common.h"
#include "meterflow/front.h"
#include "meterflow/queue.h"
#include "meterflow/worker.h"

static int prom(struct mf_buf *out, const char *name, const char *type, const char *help,
                const char *labels, double v)
{
    char line[512];
    int n;
    if (help)
        n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n%s%s %.17g\n", name, help,
                     name, type, name, labels ? labels : "", v);
    else
        n = snprintf(line, sizeof(line), "%s%s %.17g\n", name, labels ? labels : "", v);
    if (n < 0 || (size_t)n >= sizeof(line))
        return MF_ERANGE;
    return mf_buf_append(out, line, (size_t)n);
}

void app_metrics_front(struct front *f, struct mf_buf *out)
{
    struct front_stats s;
    char labels[96];
    front_stats_get(f, &s);
    prom(out, "meterflow_front_connections", "gauge", "open terminal connections", NULL,
         (double)s.conns_open);
    prom(out, "meterflow_front_logins_total", "counter", "terminal logins", NULL,
         (double)s.logins);
    prom(out, "meterflow_front_frames_in_total", "counter", "frames received from terminals",
         NULL, (double)s.frames_in);
    prom(out, "meterflow_front_reports_total", "counter", "frames handed to the queue", NULL,
         (double)s.reports_produced);
    prom(out, "meterflow_front_confirms_total", "counter",
         "AFN=00 confirms sent for durable frames", NULL, (double)s.confirms);
    prom(out, "meterflow_front_backpressure_total", "counter",
         "times a connection stopped reading because the queue was full", NULL,
         (double)s.backpressure);
    prom(out, "meterflow_front_commands_total", "counter", "downlink command outcomes",
         "{outcome=\"sent\"}", (double)s.cmds_sent);
    prom(out, "meterflow_front_commands_total", "counter", NULL, "{outcome=\"answered\"}",
         (double)s.cmds_answered);
    prom(out, "meterflow_front_commands_total", "counter", NULL, "{outcome=\"timeout\"}",
         (double)s.cmds_timeout);
    prom(out, "meterflow_front_commands_total", "counter", NULL, "{outcome=\"denied\"}",
         (double)s.cmds_denied);
    prom(out, "meterflow_front_commands_total", "counter", NULL, "{outcome=\"offline\"}",
         (double)s.cmds_offline);
    for (int i = 0; i < FRONT_DROP_NREASONS; i++) {
        snprintf(labels, sizeof(labels), "{reason=\"%s\"}", front_drop_name(i));
        prom(out, "meterflow_front_drops_total", "counter",
             i == 0 ? "frames/connections dropped, by reason" : NULL, labels,
             (double)s.drops[i]);
    }
    static const double qs[] = { 0.5, 0.99, 0.999 };
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        snprintf(labels, sizeof(labels), "{quantile=\"%g\"}", qs[i]);
        prom(out, "meterflow_front_confirm_latency_seconds", "summary",
             i == 0 ? "frame received -> confirm written" : NULL, labels,
             (double)mf_hist_quantile(&s.confirm_latency_us, qs[i]) / 1e6);
    }
}

void app_metrics_queue(struct mq *q, struct mf_buf *out)
{
    struct mq_stats s;
    mq_stats_get(q, &s);
    prom(out, "meterflow_queue_produced_total", "counter", "messages produced", NULL,
         (double)s.produced);
    prom(out, "meterflow_queue_delivered_total", "counter", "messages reported durable", NULL,
         (double)s.delivered);
    prom(out, "meterflow_queue_failed_total", "counter", "messages reported not durable", NULL,
         (double)s.failed);
    prom(out, "meterflow_queue_full_total", "counter", "produce calls refused: queue full",
         NULL, (double)s.full_rejections);
    prom(out, "meterflow_queue_in_flight", "gauge", "produced, not yet durable", NULL,
         (double)s.in_flight);
    prom(out, "meterflow_queue_lag_messages", "gauge", "consumer lag (-1 unknown)", NULL,
         (double)s.lag);
}

void app_metrics_worker(struct worker *w, struct mf_buf *out)
{
    struct worker_stats s;
    worker_stats_get(w, &s);
    static const struct {
        const char *name, *help;
        size_t off;
    } c[] = {
        { "meterflow_worker_messages_total", "envelopes consumed from uplink",
          offsetof(struct worker_stats, messages) },
        { "meterflow_worker_frames_total", "frames among them",
          offsetof(struct worker_stats, frames) },
        { "meterflow_worker_decode_errors_total", "frames stored raw: did not decode completely",
          offsetof(struct worker_stats, decode_errors) },
        { "meterflow_worker_bad_envelopes_total", "envelopes that did not decode (skipped)",
          offsetof(struct worker_stats, bad_envelopes) },
        { "meterflow_worker_records_total", "store records written",
          offsetof(struct worker_stats, records) },
        { "meterflow_worker_batches_total", "store batches written",
          offsetof(struct worker_stats, batches) },
        { "meterflow_worker_store_retries_total", "store batch writes that said retry later",
          offsetof(struct worker_stats, store_retries) },
        { "meterflow_worker_commits_total", "queue positions committed",
          offsetof(struct worker_stats, commits) },
        { "meterflow_worker_published_total", "JSON messages published (readings, events, ...)",
          offsetof(struct worker_stats, published) },
        { "meterflow_worker_analytics_runs_total", "analytics runs",
          offsetof(struct worker_stats, analytics_runs) },
        { "meterflow_worker_recollect_sent_total", "re-collection requests sent",
          offsetof(struct worker_stats, recollect_sent) },
        { "meterflow_worker_dropped_records_total", "records refused by a store cap",
          offsetof(struct worker_stats, dropped_records) },
        { "meterflow_worker_session_batches_total",
          "store batches of session changes written by the session lane",
          offsetof(struct worker_stats, session_batches) },
        { "meterflow_worker_impersonation_suspects_total",
          "terminals reported for logins alternating between two peer addresses "
          "(anomaly `impersonation`)",
          offsetof(struct worker_stats, imp_suspects) },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        uint64_t v;
        memcpy(&v, (const char *)&s + c[i].off, sizeof(v));
        if (prom(out, c[i].name, "counter", c[i].help, NULL, (double)v) != 0)
            return;
    }
    prom(out, "meterflow_worker_session_backlog", "gauge",
         "session changes consumed, not yet written (session lane)", NULL,
         (double)s.session_backlog);
}

void app_metrics_regcache(struct front_regcache *rg, struct mf_buf *out)
{
    struct front_regcache_stats s;
    front_regcache_stats_get(rg, &s);
    prom(out, "meterflow_registry_cache_lookups_total", "counter",
         "terminal logins answered by the registry cache", "{from=\"memory\"}",
         (double)s.hits);
    prom(out, "meterflow_registry_cache_lookups_total", "counter", NULL, "{from=\"store\"}",
         (double)s.loads);
    prom(out, "meterflow_registry_cache_lookups_total", "counter", NULL, "{from=\"error\"}",
         (double)s.load_errors);
    prom(out, "meterflow_registry_cache_reloads_total", "counter",
         "full reloads of the registry cache", "{outcome=\"ok\"}", (double)s.reloads);
    prom(out, "meterflow_registry_cache_reloads_total", "counter", NULL,
         "{outcome=\"error\"}", (double)s.reload_errors);
    prom(out, "meterflow_registry_cache_entries", "gauge", "terminals held", NULL,
         (double)s.entries);
    prom(out, "meterflow_registry_cache_complete", "gauge",
         "1: every terminal of master data is held (absent = not registered)", NULL,
         (double)s.complete);
}
