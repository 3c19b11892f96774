/* front_dl.c -- the downlink thread: consumes MQ_DOWNLINK in group "front-<node_id>" (so
 * every front sees every command), validates each JSON command and routes it to the I/O
 * thread holding the terminal. Bad commands fail at once (MF_CMD_FAILED with the reason);
 * commands for terminals this front does not hold fail as MF_CMD_OFFLINE when this is the
 * only front ([front] single), and are left to the other fronts otherwise. A command past
 * its `expires_at` (set by the web from [web] cmd_expire_s) is never sent: it fails with
 * "expired ..." (a front restarted on an old downlink backlog must not trip a relay late).
 *
 * The batch is committed once every command of it was routed: a command is not "durable"
 * work of the front, and a front that restarts must not replay old commands to terminals.
 *
 * Thread: its own (started by front_start, stopped by front_stop). */
#include <stdio.h>
#include <stdlib.h>

#include "front/front_int.h"

static void dl_route(struct front *f, const struct mq_msg *m, struct mf_ratelimit *rl)
{
    struct front_cmd *cmd = NULL;
    uint64_t cmd_id;
    uint16_t a1, a2;
    char why[128];

    if (front_cmd_parse(m->val, m->val_len, &cmd, &cmd_id, &a1, &a2, why, sizeof(why)) != 0) {
        atomic_fetch_add_explicit(&f->th[0]->st.drops[FRONT_DROP_BAD_CMD], 1,
                                  memory_order_relaxed);
        if (mf_ratelimit_allow(rl, FRONT_MOD))
            mf_warn(FRONT_MOD, "downlink command %llu rejected: %s",
                    (unsigned long long)cmd_id, why);
        if (cmd_id) /* without an id nobody waits for a status */
            front_cmd_status(NULL, f, cmd_id, a1, a2, 0, MF_CMD_FAILED, 0, why);
        return;
    }
    if (front_cmd_expired(cmd)) { /* e.g. read by a front restarted after the web gave up */
        front_cmd_status(NULL, f, cmd_id, a1, a2, 0, MF_CMD_FAILED, 0,
                         "expired before it reached the terminal");
        free(cmd);
        return;
    }
    int t = front_registry_find(f, gw_terminal_key(a1, a2));
    if (t < 0) {
        if (f->o.single) {
            atomic_fetch_add_explicit(&f->th[0]->st.cmds_offline, 1, memory_order_relaxed);
            front_cmd_status(NULL, f, cmd_id, a1, a2, 0, MF_CMD_OFFLINE, 0,
                             "terminal not connected");
        }
        free(cmd);
        return;
    }
    struct front_msg *msg = mf_calloc(1, sizeof(*msg));
    msg->kind = FRONT_MSG_CMD;
    msg->term_key = gw_terminal_key(a1, a2);
    msg->cmd = cmd;
    front_thread_post(f->th[t], msg);
}

void *front_dl_main(void *arg)
{
    struct front *f = arg;
    enum mq_topic topic = MQ_DOWNLINK;
    char group[32];
    struct mf_ratelimit rl;
    int subscribed = 0;

    mf_ratelimit_init(&rl, 1.0, 10.0);
    pthread_setname_np(pthread_self(), "front-dl");
    snprintf(group, sizeof(group), "front-%d", f->o.node_id);
    while (!atomic_load(&f->dl_stop) && !mf_stop_requested) {
        struct mq_batch b;
        if (!subscribed) {
            int rc = mq_subscribe(f->q, &topic, 1, group);
            if (rc != 0) {
                if (rc != MF_ERETRY)
                    mf_error(FRONT_MOD, "downlink: subscribe failed: %s", mf_status_str(rc));
                struct timespec ts = { 0, 200 * 1000000L };
                nanosleep(&ts, NULL);
                continue;
            }
            subscribed = 1;
        }
        int rc = mq_poll(f->q, &b, 256, 100);
        if (rc != 0) {
            if (rc == MF_EFATAL)
                break;
            continue;
        }
        if (b.n == 0)
            continue;
        for (size_t i = 0; i < b.n; i++)
            dl_route(f, &b.msgs[i], &rl);
        mq_commit(f->q, &b);
    }
    if (subscribed)
        mq_unsubscribe(f->q);
    return NULL;
}
