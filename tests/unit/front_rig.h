/* front_rig.h -- the server side of the tests that drive a real front over TCP
 * (test_front_tcp.c, test_security_pw.c): a front on a free port of 127.0.0.1 with the
 * embedded queue and a test consumer of the uplink topic that commits only when the test
 * says so; envelopes awaited with deadlines; downlink commands produced as the web would.
 * Static functions (each test file includes it once); node_id 7, login rate limit off. */
#ifndef MF_TEST_FRONT_RIG_H
#define MF_TEST_FRONT_RIG_H

#include <string.h>

#include "harness.h"
#include "meterflow/config.h"
#include "meterflow/envelope.h"
#include "meterflow/front.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "tcp_test_util.h"

static const struct mf_cfg_item t_meterflow[] = {
    {"meterflow", "node_id", MF_CFG_INT, "7", 1, 65535, NULL, "node"},
    MF_CFG_END,
};
static const struct mf_cfg_item *const t_tables[] = {t_meterflow, front_cfg, queue_cfg, NULL};
static const char *const t_pass[] = {"kafka", NULL};

struct rig {
    struct mf_config *cfg;
    struct mq *q;
    struct front *f;
    struct mq_consumer *c;
    int port;
};

/* Start with the "section.key=value" settings of sets (NULL-terminated, may be NULL) and,
 * when pw is not NULL, that PW provider (set before front_start, as the app does). */
MF_UNUSED static void rig_start_pwo(struct rig *r, const char *const *sets, front_pw_fn pw,
                                     void *pw_opaque)
{
    char err[256] = "";
    memset(r, 0, sizeof(*r));
    r->cfg = mf_config_new(t_tables, t_pass);
    mf_config_set(r->cfg, "front", "port", "0", "test", err, sizeof(err));
    mf_config_set(r->cfg, "front", "listen", "127.0.0.1", "test", err, sizeof(err));
    mf_config_set(r->cfg, "front", "login_per_min", "0", "test", err, sizeof(err));
    for (size_t i = 0; sets && sets[i]; i++)
        if (mf_config_set_arg(r->cfg, sets[i], err, sizeof(err)) != 0)
            mf_test_fail(__FILE__, __LINE__, "config %s: %s", sets[i], err);
    r->q = mq_open(r->cfg, err, sizeof(err));
    CHECK(r->q != NULL);
    enum mq_topic t = MQ_UPLINK;
    r->c = mq_consumer_open(r->q, &t, 1, "test", err, sizeof(err));
    CHECK(r->c != NULL);
    r->f = front_new(r->cfg, r->q, err, sizeof(err));
    if (!r->f)
        mf_test_fail(__FILE__, __LINE__, "front_new: %s", err);
    if (pw)
        front_set_pw_provider(r->f, pw, pw_opaque);
    CHECK_EQ_INT(front_start(r->f, err, sizeof(err)), 0);
    r->port = front_port(r->f);
    CHECK(r->port > 0);
}

MF_UNUSED static void rig_start_pw(struct rig *r, const char *const *sets, front_pw_fn pw)
{
    rig_start_pwo(r, sets, pw, NULL);
}

MF_UNUSED static void rig_start(struct rig *r, const char *const *sets)
{
    rig_start_pw(r, sets, NULL);
}

MF_UNUSED static void rig_stop(struct rig *r)
{
    front_stop(r->f);
    mq_consumer_close(r->c);
    mq_close(r->q);
    front_free(r->f);
    mf_config_free(r->cfg);
}

/* Next uplink envelope of `kind` (others are committed and skipped). The batch holding it is
 * left to the caller: commit or release. 0 or -1 on timeout. */
MF_UNUSED static int next_env(struct rig *r, int kind, struct mq_batch *b, struct mf_env *e,
                              int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (now_ms() < end) {
        if (mq_consumer_poll(r->c, b, 1, 50) != 0 || b->n == 0)
            continue;
        if (mf_env_decode(b->msgs[0].val, b->msgs[0].val_len, e) == 0 && e->kind == kind)
            return 0;
        mq_commit(r->q, b);
    }
    return -1;
}

/* Next envelope of kind, committed at once; fills the session or status payload. */
MF_UNUSED static int take_env(struct rig *r, int kind, struct mf_env *e, void *payload, int ms)
{
    struct mq_batch b;
    if (next_env(r, kind, &b, e, ms) != 0)
        return -1;
    int rc = 0;
    if (kind == MF_ENV_SESSION)
        rc = mf_env_session_decode(e->payload, e->payload_len, payload);
    else if (kind == MF_ENV_CMD_STATUS)
        rc = mf_env_cmd_status_decode(e->payload, e->payload_len, payload);
    e->payload = NULL;
    mq_commit(r->q, &b);
    return rc;
}

MF_UNUSED static void rig_cmd_done(void *opaque, int status)
{
    (void)opaque;
    (void)status;
}

/* A downlink command (JSON, as the web produces it) on the downlink topic. */
MF_UNUSED static void send_cmd(struct rig *r, const char *json)
{
    CHECK_EQ_INT(
        mq_produce(r->q, MQ_DOWNLINK, "k", 1, json, strlen(json), rig_cmd_done, NULL), 0);
}

#endif
