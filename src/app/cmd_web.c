/* cmd_web.c -- `meterflow web`: the HTTP API and panel as a process of its own (the
 * distributed setup; `meterflow run` embeds the same struct web). Opens the queue named by
 * [queue] for downlink commands and the store named by [store] (through web_new), serves
 * until SIGINT/SIGTERM.
 *
 * --port-file FILE writes the bound port once listening (tests start it with port 0).
 * Thread: main; the web runs its own thread pool. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/queue.h"
#include "meterflow/web.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: meterflow web [-c FILE] [--set section.key=value]... "
                 "[--port-file FILE] [--no-queue]\n"
                 "  HTTP API and panel ([web] keys below); commands go to the [queue] downlink.\n"
                 "  --no-queue   serve without a queue (POST /api/commands answers 503)\n\n");
}

static int write_port(const char *path, unsigned port)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* readers never see a half-written file */
}

int cmd_web(int argc, char **argv)
{
    char errbuf[512];
    const char *port_file = NULL;
    int next, want_help, no_queue = 0, rc = 1;
    struct mf_config *cfg = app_config_from_args(argc, argv, &next, &want_help);
    struct mq *q = NULL;
    struct web *web = NULL;

    if (!cfg)
        return 2;
    for (; next < argc; next++) {
        if (strcmp(argv[next], "--port-file") == 0 && next + 1 < argc) {
            port_file = argv[++next];
        } else if (strcmp(argv[next], "--no-queue") == 0) {
            no_queue = 1;
        } else {
            fprintf(stderr, "meterflow web: unknown argument '%s'\n", argv[next]);
            usage(stderr);
            goto out;
        }
    }
    if (want_help) {
        usage(stdout);
        mf_config_print_help(cfg, stdout);
        rc = 0;
        goto out;
    }
    if (app_config_apply_common(cfg) != 0)
        goto out;
    app_signals_install();
    if (!no_queue) {
        q = mq_open(cfg, errbuf, sizeof(errbuf));
        if (!q) {
            fprintf(stderr, "meterflow web: queue: %s\n", errbuf);
            goto out;
        }
        if (strcmp(mf_config_str(cfg, "queue", "backend"), "embedded") == 0)
            mf_warn("web", "embedded queue in a separate web process: commands reach no "
                           "front (use `meterflow run`, or [queue] backend=kafka)");
    }
    web = web_new(cfg, q, errbuf, sizeof(errbuf));
    if (!web || web_start(web, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "meterflow web: %s\n", errbuf);
        goto out;
    }
    if (port_file && write_port(port_file, web_port(web)) != 0) {
        fprintf(stderr, "meterflow web: cannot write %s\n", port_file);
        goto out;
    }
    while (!mf_stop_requested) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    mf_info("web", "stopping");
    rc = 0;
out:
    web_free(web);
    mq_close(q);
    mf_config_free(cfg);
    return rc;
}
