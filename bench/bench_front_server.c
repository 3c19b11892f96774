/* bench_front_server.c -- the front alone, for benchmarks: the front with the embedded queue
 * and a consumer thread that commits every uplink batch at once (an infinitely fast worker),
 * so the confirms measure the front + queue path only.
 *
 *   bench_front_server [--set section.key=value]...      (e.g. --set front.port=9300)
 *
 * Prints "ready port=<p> pid=<pid>" on stdout once listening, and on SIGINT/SIGTERM one line
 * of counters: "front frames_in=... confirms=... conns=... rss_kib=...". The load client
 * (bench_front_load) reads this process's /proc/<pid>/task/<tid>/stat to measure the CPU of
 * the threads named "front-io" (the I/O threads) and of the whole process.
 * Thread: main + the commit thread + the front's threads. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/front.h"
#include "meterflow/log.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"

static const struct mf_cfg_item b_meterflow[] = {
    { "meterflow", "node_id", MF_CFG_INT, "1", 1, 65535, NULL, "node" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const b_tables[] = { b_meterflow, front_cfg, queue_cfg, NULL };
static const char *const b_pass[] = { "kafka", NULL };

static volatile int commit_stop;

static void *commit_main(void *arg)
{
    struct mq *q = arg;
    enum mq_topic t = MQ_UPLINK;
    char err[128];
    struct mq_consumer *c = mq_consumer_open(q, &t, 1, "bench", err, sizeof(err));
    pthread_setname_np(pthread_self(), "bench-commit");
    while (c && !commit_stop) {
        struct mq_batch b;
        if (mq_consumer_poll(c, &b, 1024, 20) == 0 && b.n > 0)
            mq_commit(q, &b);
    }
    mq_consumer_close(c);
    return NULL;
}

static void on_sig(int s)
{
    (void)s;
    mf_stop_requested = 1;
}

static long rss_kib(void)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    char err[256];
    pthread_t ct;
    struct mf_config *cfg = mf_config_new(b_tables, b_pass);

    mf_log_set_level(MF_LOG_WARN);
    mf_config_set(cfg, "front", "login_per_min", "0", "bench", err, sizeof(err));
    mf_config_set(cfg, "front", "frames_per_sec", "0", "bench", err, sizeof(err));
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--set") != 0 || mf_config_set_arg(cfg, argv[i + 1], err, sizeof(err))) {
            fprintf(stderr, "usage: bench_front_server [--set section.key=value]... (%s)\n",
                    err);
            return 2;
        }
    struct mq *q = mq_open(cfg, err, sizeof(err));
    if (!q) {
        fprintf(stderr, "mq_open: %s\n", err);
        return 1;
    }
    pthread_create(&ct, NULL, commit_main, q);
    struct front *f = front_new(cfg, q, err, sizeof(err));
    if (!f || front_start(f, err, sizeof(err)) != 0) {
        fprintf(stderr, "front: %s\n", err);
        return 1;
    }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    printf("ready port=%d pid=%d rss_kib=%ld\n", front_port(f), (int)getpid(), rss_kib());
    fflush(stdout);
    while (!mf_stop_requested) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    struct front_stats *st = malloc(sizeof(*st));
    front_stats_get(f, st);
    printf("front frames_in=%llu frames_out=%llu writes=%llu confirms=%llu logins=%llu "
           "conns=%llu backpressure=%llu "
           "rss_kib=%ld confirm_p50_us=%llu p99_us=%llu\n",
           (unsigned long long)st->frames_in, (unsigned long long)st->frames_out,
           (unsigned long long)st->writes, (unsigned long long)st->confirms,
           (unsigned long long)st->logins, (unsigned long long)st->conns_open,
           (unsigned long long)st->backpressure, rss_kib(),
           (unsigned long long)mf_hist_quantile(&st->confirm_latency_us, 0.5),
           (unsigned long long)mf_hist_quantile(&st->confirm_latency_us, 0.99));
    free(st);
    front_stop(f);
    commit_stop = 1;
    pthread_join(ct, NULL);
    mq_close(q);
    front_free(f);
    mf_config_free(cfg);
    return 0;
}
