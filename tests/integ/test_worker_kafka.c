/* tsan: no (librdkafka is not instrumented) */
/* test_worker_kafka.c -- the worker on the Kafka backend against a real Apache Kafka 0.9.0.1
 * (started by tests/integ/worker_kafka.sh) and SQLite: a frame produced on uplink is stored,
 * its readings JSON appears on the readings topic (publish = auto -> on with kafka), a
 * duplicate gives one row, and a second worker in the same group continues after the
 * committed position (the first frame is not processed again).
 * Environment: MF_KAFKA_BOOTSTRAP. Without it every test fails (never skipped-as-passed). */
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/envelope.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"

static const struct mf_cfg_item *const tables[] = { queue_cfg, worker_cfg, NULL };
static const char *const pass[] = { "kafka", NULL };
#define T1 ((uint32_t)0x0171u << 16 | 0x0822u)

static const char *bootstrap(void)
{
    const char *b = getenv("MF_KAFKA_BOOTSTRAP");
    if (!b || !*b)
        mf_test_fail(__FILE__, __LINE__, "MF_KAFKA_BOOTSTRAP not set (run tests/integ/worker_kafka.sh)");
    return b ? b : "";
}

/* A 0.9 broker auto-creates a topic named in a metadata request; wait for leaders. */
static int topics_create(const char *prefix)
{
    char err[256], name[160];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap(), err, sizeof(err));
    rd_kafka_conf_set(conf, "api.version.request", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "broker.version.fallback", "0.9.0.1", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    int ok = rk != NULL;
    for (int t = 0; t < MQ_NTOPICS && ok; t++) {
        uint64_t end = mf_mono_us() + 30000000u;
        int ready = 0;
        snprintf(name, sizeof(name), "%s%s", prefix, mq_topic_name((enum mq_topic)t));
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
        while (!ready && mf_mono_us() < end) {
            const struct rd_kafka_metadata *md = NULL;
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0) {
                ready = 1;
                for (int p = 0; p < md->topics[0].partition_cnt; p++)
                    ready &= md->topics[0].partitions[p].leader >= 0;
            }
            if (md)
                rd_kafka_metadata_destroy(md);
            if (!ready)
                usleep(200 * 1000);
        }
        rd_kafka_topic_destroy(rkt);
        ok = ready;
    }
    if (rk)
        rd_kafka_destroy(rk);
    return ok;
}

static struct mf_config *kcfg(const char *prefix)
{
    char err[256];
    struct mf_config *cfg = mf_config_new(tables, pass);
    static const char *const kv[][3] = {
        { "queue", "backend", "kafka" },
        { "kafka", "auto.offset.reset", "earliest" },
        { "kafka", "session.timeout.ms", "6000" },
        { "kafka", "heartbeat.interval.ms", "500" },
        { "worker", "batch_max_ms", "5" },
        { "worker", "analytics", "false" },
    };
    for (size_t i = 0; i < MF_ARRAY_LEN(kv); i++)
        if (mf_config_set(cfg, kv[i][0], kv[i][1], kv[i][2], "test", err, sizeof(err)) != 0)
            mf_test_fail(__FILE__, __LINE__, "config: %s", err);
    mf_config_set(cfg, "queue", "topic_prefix", prefix, "test", err, sizeof(err));
    mf_config_set(cfg, "kafka", "bootstrap.servers", bootstrap(), "test", err, sizeof(err));
    return cfg;
}

static atomic_int done_calls, done_last;
static void on_done(void *opaque, int status)
{
    (void)opaque;
    atomic_store(&done_last, status);
    atomic_fetch_add(&done_calls, 1);
}

/* p1 F161 of 2026-11-<day> (BCD text "25") with total `total_hex` (A.14, 5 bytes). */
static int produce_f161(struct mq *q, const char *day, const char *total_hex)
{
    char units[160];
    uint8_t u[64], f[128], env[256];
    snprintf(units, sizeof(units), "01 01 01 14 %s 11 26 59 23 %s 11 26 00 %s", day, day,
             total_hex);
    int n = mf_hex_decode(units, u, sizeof(u));
    size_t ud = 8 + (size_t)n, k = 0;
    const uint8_t hdr[] = { 0x88, 0x71, 0x01, 0x22, 0x08, 0x02, 0x0D, 0x60 };
    f[k++] = 0x68;
    f[k++] = (uint8_t)((ud << 2 | 2) & 0xFF);
    f[k++] = (uint8_t)((ud << 2 | 2) >> 8);
    f[k++] = f[1];
    f[k++] = f[2];
    f[k++] = 0x68;
    memcpy(f + k, hdr, sizeof(hdr));
    k += sizeof(hdr);
    memcpy(f + k, u, (size_t)n);
    k += (size_t)n;
    uint8_t cs = 0;
    for (size_t i = 6; i < k; i++)
        cs = (uint8_t)(cs + f[i]);
    f[k++] = cs;
    f[k++] = 0x16;
    struct mf_env e;
    memset(&e, 0, sizeof(e));
    e.kind = MF_ENV_FRAME;
    e.received_at_us = (uint64_t)1764115200 * 1000000u;
    e.a1 = 0x0171;
    e.a2 = 0x0822;
    e.payload = f;
    e.payload_len = (uint32_t)k;
    int len = mf_env_encode(&e, env, sizeof(env));
    return mq_produce(q, MQ_UPLINK, "0171-0822", 9, env, (size_t)len, on_done, NULL);
}

static int wait_value(struct store *st, int day, double want)
{
    for (uint64_t end = mf_mono_us() + 60000000u; mf_mono_us() < end; usleep(20000)) {
        double v;
        int s;
        if (store_frozen_get(st, T1, 1, STORE_FROZEN_DAILY, "ap_fwd",
                             mf_date_to_days(2026, 11, day), 0, &v, &s) == 0 &&
            v > want - 1e-9 && v < want + 1e-9)
            return 1;
    }
    return 0;
}

MF_TEST(worker_kafka_store_publish_resume)
{
    char prefix[96], err[512], dir[64], path[128];
    snprintf(prefix, sizeof(prefix), "mfwk.%d.", (int)getpid());
    mf_clock_set_zone("Asia/Shanghai");
    CHECK(topics_create(prefix));
    snprintf(dir, sizeof(dir), "/tmp/mf-wkafka-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/k.db", dir);
    struct store_opts o;
    store_opts_default(&o);
    o.sqlite_path = path;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    struct mf_config *cfg = kcfg(prefix);
    struct mq *pq = mq_open(cfg, err, sizeof(err));   /* the front's handle */
    struct mq *wq = mq_open(cfg, err, sizeof(err));   /* the worker's */
    struct mq *dq = mq_open(cfg, err, sizeof(err));   /* a data team's consumer */
    CHECK(st && pq && wq && dq);
    struct worker *w = worker_new_with(cfg, wq, st, NULL, err, sizeof(err));
    CHECK(w != NULL);
    CHECK_EQ_INT(worker_start(w), 0);

    /* 1234.5678 kWh (78 56 34 12 00), twice: one row */
    CHECK_EQ_INT(produce_f161(pq, "25", "78 56 34 12 00"), 0);
    CHECK_EQ_INT(produce_f161(pq, "25", "78 56 34 12 00"), 0);
    CHECK(wait_value(st, 25, 1234.5678));
    for (int i = 0; i < 3000 && atomic_load(&done_calls) < 2; i++)
        usleep(10000);
    CHECK_EQ_INT(atomic_load(&done_calls), 2);
    CHECK_EQ_INT(atomic_load(&done_last), 0);
    json_t *j = NULL;
    int32_t D = mf_date_to_days(2026, 11, 25);
    CHECK_EQ_INT(store_point_daily_json(st, "0171-0822", 1, D, D, &j), 0);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "frozen")), 1);
    json_decref(j);

    /* the readings JSON, published after the store write */
    enum mq_topic rt = MQ_READINGS;
    struct mq_consumer *c = mq_consumer_open(dq, &rt, 1, "data-team", err, sizeof(err));
    CHECK(c != NULL);
    int seen = 0;
    for (uint64_t end = mf_mono_us() + 60000000u; mf_mono_us() < end && !seen;) {
        struct mq_batch mb;
        memset(&mb, 0, sizeof(mb));
        if (mq_consumer_poll(c, &mb, 10, 500) != 0 || mb.n == 0)
            continue;
        json_t *r = json_loadb((const char *)mb.msgs[0].val, mb.msgs[0].val_len, 0, NULL);
        seen = r && strcmp(json_string_value(json_object_get(r, "kind")), "frozen_daily") == 0 &&
               json_real_value(json_object_get(r, "value")) > 1234.5677 &&
               json_real_value(json_object_get(r, "value")) < 1234.5679;
        json_decref(r);
        mq_commit(dq, &mb);
    }
    CHECK(seen);
    mq_consumer_close(c);

    /* a second worker in the same group resumes after the committed position */
    worker_stop(w);
    struct worker_stats ws;
    worker_stats_get(w, &ws);
    CHECK_EQ_INT(ws.messages, 2);
    worker_free(w);
    mq_close(wq);
    wq = mq_open(cfg, err, sizeof(err));
    w = worker_new_with(cfg, wq, st, NULL, err, sizeof(err));
    CHECK_EQ_INT(worker_start(w), 0);
    CHECK_EQ_INT(produce_f161(pq, "26", "00 00 35 12 00"), 0); /* 1235.0000 on the 26th */
    CHECK(wait_value(st, 26, 1235.0));
    worker_stop(w);
    worker_stats_get(w, &ws);
    CHECK_EQ_INT(ws.messages, 1);
    worker_free(w);
    mq_close(wq);
    mq_close(dq);
    mq_close(pq);
    store_close(st);
    mf_config_free(cfg);
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    CHECK_EQ_INT(system(path), 0);
}
