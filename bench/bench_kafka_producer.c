/* bench_kafka_producer.c -- producer ceiling against a Kafka broker: raw librdkafka and
 * through mq_produce (to see the wrapper's overhead), same messages, same settings.
 *
 * Usage: bench_kafka_producer BOOTSTRAP [N [SIZE [INFLIGHT]]] [--case raw|mq|both]
 *                             [--label TEXT] [--broker-pid PID] [-X key=value]...
 *   N messages (default 100000) of SIZE bytes (default 100), keys over 1000 terminals
 *   ("RRRR-TTTT", 9 bytes, fixed sequence), acks=all, the meterflow producer defaults (linger
 *   5 ms, batch.num.messages 10000, queue.buffering.max.messages 100000, 0.9 compatibility),
 *   max.in.flight INFLIGHT (default 1, the meterflow default); -X pairs are applied last, to
 *   both cases (e.g. -X linger.ms=20). --label names the settings in the output (label=).
 *   CPU per message: this process (getrusage) and --broker-pid's (/proc), over the timed
 *   part; machine_busy_pct from /proc/stat.
 * Every message counts only when its delivery report arrives without error; a local queue
 * full (MF_EFULL / QUEUE_FULL) is retried after polling. The value bytes come from a fixed
 * seed; the checksum line sums the delivered sizes and the key hash so a broken build that
 * delivers wrong or fewer messages is seen.
 * Output: one line per case, "bench=kafka_producer case=raw|mq label= n= size= ... msgs_per_s=
 * p50_us= p99_us= (produce -> delivery report latency) cpu_self_us_per_msg=
 * cpu_broker_us_per_msg= machine_busy_pct= delivered= failed= checksum=".
 * Thread: main + the poller (raw: main polls; mq: the queue's own poller thread). */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/hist.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"

struct rec {
    uint64_t sent_us;
};

static struct mf_hist hist;           /* written on the DR thread only (raw: main) */
static atomic_ulong delivered, failed, checksum;
static pthread_mutex_t hist_lock = PTHREAD_MUTEX_INITIALIZER;

static void account(struct rec *r, int ok, size_t len)
{
    uint64_t now = mf_mono_us();
    if (ok) {
        atomic_fetch_add(&delivered, 1);
        atomic_fetch_add(&checksum, (unsigned long)len);
    } else {
        atomic_fetch_add(&failed, 1);
    }
    pthread_mutex_lock(&hist_lock);
    mf_hist_add(&hist, now - r->sent_us);
    pthread_mutex_unlock(&hist_lock);
}

static void raw_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    account(m->_private, m->err == 0, m->len);
}

static size_t msg_size;

static void mq_dr(void *opaque, int status)
{
    account(opaque, status == 0, msg_size);
}

static void make_key(size_t i, char key[10])
{
    unsigned t = (unsigned)(i * 7919u % 1000u);
    snprintf(key, 10, "%04u-%04X", 4400u + t / 100u, t);
}

#define MAX_X 32
static struct {
    const char *label;
    int broker_pid;
    size_t nx;
    char *xk[MAX_X], *xv[MAX_X];
} opt = { "meterflow", 0, 0, { 0 }, { 0 } };

struct cpu_mark {
    uint64_t self_us, broker_ticks, busy, all;
};

static uint64_t pid_ticks(int pid)
{
    char path[64], line[1024];
    unsigned long ut = 0, st = 0;
    FILE *f;
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(line, sizeof(line), f)) {
        char *close = strrchr(line, ')');
        if (!close || sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                             &ut, &st) != 2)
            ut = st = 0;
    }
    fclose(f);
    return ut + st;
}

static void cpu_mark(struct cpu_mark *m)
{
    struct rusage ru;
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    getrusage(RUSAGE_SELF, &ru);
    m->self_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                 (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    m->broker_ticks = pid_ticks(opt.broker_pid);
    m->busy = m->all = 0;
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                    &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            m->all += v[i];
        m->busy = m->all - v[3] - v[4];
    }
    if (f)
        fclose(f);
}

static void report(const char *name, size_t n, size_t size, int inflight, uint64_t us,
                   const struct cpu_mark *m0)
{
    struct cpu_mark m1;
    double tick_us = 1e6 / (double)sysconf(_SC_CLK_TCK);
    cpu_mark(&m1);
    printf("bench=kafka_producer case=%s label=%s n=%zu size=%zu key=9 inflight=%d "
           "seconds=%.3f msgs_per_s=%.0f p50_us=%llu p99_us=%llu max_us=%llu "
           "cpu_self_us_per_msg=%.2f cpu_broker_us_per_msg=%.2f machine_busy_pct=%.0f "
           "delivered=%lu failed=%lu checksum=%lu\n",
           name, opt.label, n, size, inflight, (double)us / 1e6, (double)n * 1e6 / (double)us,
           (unsigned long long)mf_hist_quantile(&hist, 0.5),
           (unsigned long long)mf_hist_quantile(&hist, 0.99), (unsigned long long)hist.max,
           (double)(m1.self_us - m0->self_us) / (double)n,
           (double)(m1.broker_ticks - m0->broker_ticks) * tick_us / (double)n,
           m1.all > m0->all ? 100.0 * (double)(m1.busy - m0->busy) / (double)(m1.all - m0->all)
                            : 0.0,
           atomic_load(&delivered), atomic_load(&failed), atomic_load(&checksum));
    fflush(stdout);
}

static void reset(void)
{
    mf_hist_reset(&hist);
    atomic_store(&delivered, 0);
    atomic_store(&failed, 0);
    atomic_store(&checksum, 0);
}

static int run_raw(const char *bootstrap, size_t n, const uint8_t *val, size_t size,
                   const char *inflight, struct rec *recs)
{
    static const char *const conf_kv[][2] = {
        { "acks", "all" }, { "api.version.request", "false" },
        { "broker.version.fallback", "0.9.0.1" }, { "linger.ms", "5" },
        { "batch.num.messages", "10000" }, { "queue.buffering.max.messages", "100000" },
    };
    char err[256], key[10];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    struct cpu_mark m0;
    uint64_t t0;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "max.in.flight.requests.per.connection", inflight, err, sizeof(err));
    for (size_t i = 0; i < MF_ARRAY_LEN(conf_kv); i++)
        rd_kafka_conf_set(conf, conf_kv[i][0], conf_kv[i][1], err, sizeof(err));
    for (size_t i = 0; i < opt.nx; i++)
        if (rd_kafka_conf_set(conf, opt.xk[i], opt.xv[i], err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "raw: -X %s=%s: %s\n", opt.xk[i], opt.xv[i], err);
            rd_kafka_conf_destroy(conf);
            return 1;
        }
    rd_kafka_conf_set_dr_msg_cb(conf, raw_dr);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "raw: %s\n", err);
        return 1;
    }
    rkt = rd_kafka_topic_new(rk, "mfbench.raw", NULL);
    /* warm-up: metadata and connection, not measured */
    rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)val,
                     size, "warm", 4, &recs[0]);
    rd_kafka_flush(rk, 30000);
    reset(); /* the warm-up's report is not counted */
    cpu_mark(&m0);
    t0 = mf_mono_us();
    for (size_t i = 0; i < n; i++) {
        make_key(i, key);
        recs[i].sent_us = mf_mono_us();
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                (void *)(uintptr_t)val, size, key, 9, &recs[i]) != 0)
            rd_kafka_poll(rk, 1); /* queue full: serve reports, retry */
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    report("raw", n, size, (int)strtol(inflight, NULL, 10), mf_mono_us() - t0, &m0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return 0;
}

static int run_mq(const char *bootstrap, size_t n, const uint8_t *val, size_t size,
                  const char *inflight, struct rec *recs)
{
    static const struct mf_cfg_item *const tables[] = { queue_cfg, NULL };
    static const char *const pass[] = { "kafka", NULL };
    char err[512], key[10];
    struct mf_config *cfg = mf_config_new(tables, pass);
    struct mq *q;
    uint64_t t0, end;
    struct cpu_mark m0;
    struct rec warm;

    mf_config_set(cfg, "queue", "backend", "kafka", "bench", err, sizeof(err));
    mf_config_set(cfg, "queue", "topic_prefix", "mfbench.", "bench", err, sizeof(err));
    mf_config_set(cfg, "kafka", "bootstrap.servers", bootstrap, "bench", err, sizeof(err));
    mf_config_set(cfg, "kafka", "max.in.flight.requests.per.connection", inflight, "bench", err,
                  sizeof(err));
    for (size_t i = 0; i < opt.nx; i++)
        if (mf_config_set(cfg, "kafka", opt.xk[i], opt.xv[i], "bench", err, sizeof(err)) != 0) {
            fprintf(stderr, "mq: -X %s=%s: %s\n", opt.xk[i], opt.xv[i], err);
            mf_config_free(cfg);
            return 1;
        }
    q = mq_open(cfg, err, sizeof(err));
    mf_config_free(cfg);
    if (!q) {
        fprintf(stderr, "mq: %s\n", err);
        return 1;
    }
    msg_size = size;
    reset();
    warm.sent_us = mf_mono_us();
    mq_produce(q, MQ_UPLINK, "warm", 4, val, size, mq_dr, &warm);
    for (end = mf_mono_us() + 30000000u; atomic_load(&delivered) + atomic_load(&failed) < 1 &&
                                         mf_mono_us() < end;)
        usleep(1000);
    reset();
    cpu_mark(&m0);
    t0 = mf_mono_us();
    for (size_t i = 0; i < n; i++) {
        make_key(i, key);
        recs[i].sent_us = mf_mono_us();
        while (mq_produce(q, MQ_UPLINK, key, 9, val, size, mq_dr, &recs[i]) == MF_EFULL)
            usleep(100); /* backpressure: the poller thread drains reports */
    }
    for (end = mf_mono_us() + 60000000u;
         atomic_load(&delivered) + atomic_load(&failed) < n && mf_mono_us() < end;)
        usleep(200);
    report("mq", n, size, (int)strtol(inflight, NULL, 10), mf_mono_us() - t0, &m0);
    mq_close(q);
    return 0;
}

/* Positional arguments first, then the options; 0, or 2 with a usage message. */
static int parse_args(int argc, char **argv, const char **pos, int *npos, const char **which)
{
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (*npos == 4)
                return 2;
            pos[(*npos)++] = a;
            continue;
        }
        if (i + 1 >= argc)
            return 2;
        const char *v = argv[++i];
        if (!strcmp(a, "--case")) {
            *which = v;
        } else if (!strcmp(a, "--label")) {
            opt.label = v;
        } else if (!strcmp(a, "--broker-pid")) {
            opt.broker_pid = (int)strtol(v, NULL, 10);
        } else if (!strcmp(a, "-X") && strchr(v, '=') && opt.nx < MAX_X) {
            char *kv = strdup(v), *eq = strchr(kv, '=');
            *eq = 0;
            opt.xk[opt.nx] = kv;
            opt.xv[opt.nx++] = eq + 1;
        } else {
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *pos[4] = { NULL, NULL, NULL, NULL }, *which = "both";
    int npos, rc;
    if (parse_args(argc, argv, pos, &npos, &which) != 0) {
        fprintf(stderr, "usage: %s BOOTSTRAP [N<=1e7 [SIZE<=1e5 [INFLIGHT]]] [--case raw|mq|both] "
                        "[--label TEXT] [--broker-pid PID] [-X key=value]...\n", argv[0]);
        return 2;
    }
    const char *bootstrap = npos > 0 ? pos[0] : getenv("MF_KAFKA_BOOTSTRAP");
    size_t n = npos > 1 ? strtoul(pos[1], NULL, 10) : 100000;
    size_t size = npos > 2 ? strtoul(pos[2], NULL, 10) : 100;
    const char *inflight = npos > 3 ? pos[3] : "1";
    uint8_t *val;
    struct rec *recs;
    uint32_t seed = 12345;
    int do_raw = strcmp(which, "mq") != 0, do_mq = strcmp(which, "raw") != 0;

    if (!bootstrap || n == 0 || n > 10000000 || size == 0 || size > 100000) {
        fprintf(stderr, "usage: %s BOOTSTRAP [N<=1e7 [SIZE<=1e5 [INFLIGHT]]] ...\n", argv[0]);
        return 2;
    }
    val = malloc(size);
    recs = calloc(n, sizeof(*recs));
    if (!val || !recs)
        return 1;
    for (size_t i = 0; i < size; i++) { /* fixed pseudo-random payload */
        seed = seed * 1103515245u + 12345u;
        val[i] = (uint8_t)(seed >> 16);
    }
    rc = do_raw ? run_raw(bootstrap, n, val, size, inflight, recs) : 0;
    if (rc == 0 && do_mq)
        rc = run_mq(bootstrap, n, val, size, inflight, recs);
    free(recs);
    free(val);
    return rc;
}
