/* test_queue_sync.c -- mq_open_sync, the benchmark hook of the "direct" pipeline: produce and
 * publish on the chosen topic call the function synchronously (done() fires with its status
 * before mq_produce returns; MF_EFULL is passed back without done()), every other topic is
 * queued as usual. */
#include "harness.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"

static const struct mf_cfg_item *const t_tables[] = { queue_cfg, NULL };
static const char *const t_pass[] = { "kafka", NULL };

struct calls {
    int n, ret;
    char last[32];
    size_t last_len;
};

static int sync_fn(void *opaque, const void *key, size_t key_len, const void *val,
                   size_t val_len)
{
    struct calls *c = opaque;
    c->n++;
    CHECK_EQ_INT((int)key_len, 3);
    CHECK_MEM(key, "k01", 3);
    c->last_len = val_len < sizeof(c->last) ? val_len : sizeof(c->last);
    memcpy(c->last, val, c->last_len);
    return c->ret;
}

static int done_status[4], done_n;
static void on_done(void *opaque, int status)
{
    (void)opaque;
    if (done_n < 4)
        done_status[done_n] = status;
    done_n++;
}

static struct mq *open_sync(struct calls *c)
{
    char err[256];
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    struct mq *q = mq_open_sync(cfg, MQ_UPLINK, sync_fn, c, err, sizeof(err));
    mf_config_free(cfg);
    CHECK(q != NULL);
    return q;
}

MF_TEST(sync_produce_calls_fn_then_done)
{
    struct calls c = { 0, 0, "", 0 };
    struct mq *q = open_sync(&c);
    done_n = 0;
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k01", 3, "hello", 5, on_done, NULL), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT((int)c.last_len, 5);
    CHECK_MEM(c.last, "hello", 5);
    CHECK_EQ_INT(done_n, 1); /* before mq_produce returned */
    CHECK_EQ_INT(done_status[0], 0);
    c.ret = MF_ERETRY; /* "not durable": the front must not confirm */
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k01", 3, "again", 5, on_done, NULL), 0);
    CHECK_EQ_INT(done_n, 2);
    CHECK_EQ_INT(done_status[1], MF_ERETRY);
    c.ret = MF_EFULL; /* backpressure: not accepted, no callback */
    CHECK_EQ_INT(mq_produce(q, MQ_UPLINK, "k01", 3, "full", 4, on_done, NULL), MF_EFULL);
    CHECK_EQ_INT(done_n, 2);
    c.ret = 0;
    CHECK_EQ_INT(mq_publish(q, MQ_UPLINK, "k01", 3, "pub", 3), 0);
    CHECK_EQ_INT(c.n, 4);
    CHECK_MEM(c.last, "pub", 3);
    mq_close(q);
    CHECK_EQ_INT(done_n, 2); /* nothing was pending */
}

MF_TEST(sync_other_topics_are_queued)
{
    struct calls c = { 0, 0, "", 0 };
    struct mq *q = open_sync(&c);
    enum mq_topic t = MQ_DOWNLINK;
    char err[128];
    struct mq_batch b;
    struct mq_consumer *cons = mq_consumer_open(q, &t, 1, "front-1", err, sizeof(err));
    CHECK(cons != NULL);
    done_n = 0;
    CHECK_EQ_INT(mq_produce(q, MQ_DOWNLINK, "k01", 3, "cmd", 3, on_done, NULL), 0);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(done_n, 0); /* queued: durable only once committed */
    CHECK_EQ_INT(mq_consumer_poll(cons, &b, 10, 1000), 0);
    CHECK_EQ_INT((int)b.n, 1);
    CHECK_MEM(b.msgs[0].val, "cmd", 3);
    CHECK_EQ_INT(mq_commit(q, &b), 0);
    CHECK_EQ_INT(done_n, 1);
    CHECK_EQ_INT(done_status[0], 0);
    mq_close(q);
}

MF_TEST(sync_needs_a_function)
{
    char err[256];
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    CHECK(mq_open_sync(cfg, MQ_UPLINK, NULL, NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mq_open_sync") != NULL);
    mf_config_free(cfg);
}
