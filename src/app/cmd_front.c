/* cmd_front.c -- `meterflow front`: the terminal front-end as its own process (distributed
 * setup: Kafka queue, several fronts sharing the port with SO_REUSEPORT or behind a load
 * balancer). Config, queue, front, signals, clean stop; a one-line progress report every
 * 60 s at info level; GET /metrics on [metrics] listen:port when a port is set.
 * Thread: main (the front runs its own threads). */
#include <stdio.h>
#include <time.h>

#include "app/app.h"
#include "meterflow/common.h"
#include "meterflow/front.h"
#include "meterflow/log.h"
#include "meterflow/queue.h"
#include "meterflow/sec.h"
#include "meterflow/web.h"

static void front_usage(const struct mf_config *cfg)
{
    printf("usage: meterflow front [-c FILE] [--set section.key=value]... [--port-file FILE]\n\n"
           "Accept 376.1 terminals on [front] listen:port, publish their frames on the uplink\n"
           "topic, confirm them once the queue has them durably, and send downlink commands.\n"
           "Registered terminals: [front] allow_file (else every terminal is accepted).\n\n");
    mf_config_print_help(cfg, stdout);
}

static void front_report(struct front *f)
{
    struct front_stats st;
    front_stats_get(f, &st);
    mf_info("front",
            "conns=%llu logins=%llu frames_in=%llu confirms=%llu backpressure=%llu "
            "cmds=%llu confirm_p99_us=%llu",
            (unsigned long long)st.conns_open, (unsigned long long)st.logins,
            (unsigned long long)st.frames_in, (unsigned long long)st.confirms,
            (unsigned long long)st.backpressure, (unsigned long long)st.cmds_received,
            (unsigned long long)mf_hist_quantile(&st.confirm_latency_us, 0.99));
}

struct front_metrics_ctx {
    struct front *f;
    struct mq *q;
};

static void front_metrics(void *opaque, struct mf_buf *out)
{
    struct front_metrics_ctx *ctx = opaque;
    app_metrics_front(ctx->f, out);
    app_metrics_queue(ctx->q, out);
}

int cmd_front(int argc, char **argv)
{
    static const char *const extra[] = { "--port-file", NULL };
    char err[512];
    int next, rc;
    struct mq *q = NULL;
    struct front *f = NULL;
    struct sec_pw *pw = NULL;
    struct web_msrv *ms = NULL;
    struct front_metrics_ctx mctx;
    struct mf_config *cfg = app_cmd_config(argc, argv, front_usage, extra, &next, &rc);
    const char *port_file = NULL;

    if (!cfg)
        return rc;
    rc = 1;
    for (; next + 1 < argc; next += 2) /* app_cmd_config let only --port-file VALUE through */
        port_file = argv[next + 1];
    if (app_config_apply_common(cfg) != 0)
        goto out;
    app_signals_install();
    app_hup_install();
    q = mq_open(cfg, err, sizeof(err));
    if (!q) {
        fprintf(stderr, "meterflow front: queue: %s\n", err);
        goto out;
    }
    f = front_new(cfg, q, err, sizeof(err));
    if (f && app_pw_setup(cfg, f, &pw, "front") != 0)
        goto out;
    if (!f || front_start(f, err, sizeof(err)) != 0) {
        fprintf(stderr, "meterflow front: %s\n", err);
        goto out;
    }
    if (port_file) { /* tests start on port 0 and read the port here */
        FILE *pf = fopen(port_file, "w");
        if (!pf) {
            fprintf(stderr, "meterflow front: --port-file %s: cannot write\n", port_file);
            goto out;
        }
        fprintf(pf, "%d\n", front_port(f));
        fclose(pf);
    }
    mctx = (struct front_metrics_ctx){ f, q };
    int mfail;
    ms = web_msrv_start_cfg(cfg, "front", front_metrics, &mctx, &mfail, err, sizeof(err));
    if (mfail) {
        fprintf(stderr, "meterflow front: %s\n", err);
        goto out;
    }
    uint64_t ticks = 0;
    while (!mf_stop_requested) {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
        app_pw_poll(pw); /* SIGHUP: re-read the PW key file */
        if (++ticks % 600 == 0)
            front_report(f);
    }
    mf_info("front", "stopping");
    front_report(f);
    rc = 0;
out:
    web_msrv_stop(ms); /* before the front and queue it reads */
    front_stop(f);
    mq_close(q); /* fires the callbacks of frames still in flight (no confirm for them) */
    front_free(f);
    sec_pw_free(pw);
    mf_config_free(cfg);
    return rc;
}
