/* tsan: yes */
/* test_worker_e2e.c -- re-collection end to end, in one process: a fake terminal (a TCP
 * client in this test) logs in to a real front, the worker's analytics finds its point
 * missing for day D and sends AFN=0D F161 with Td_d = D through the downlink topic, the
 * front forwards it; the terminal first denies it (AFN=00 F2: D not frozen yet, what the
 * demo's simulator answers while its clock is still before the end of D), the request is
 * sent again after recollect_retry_min, the terminal answers with a hand-written frame
 * (protocol text 9.6), the answer travels front -> queue -> worker -> SQLite, and the next
 * rollup of D counts the point and closes the task at once (not at its next attempt). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame_test_util.h"
#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/front.h"
#include "meterflow/gw3761.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"
#include "meterflow/worker.h"
#include "tcp_test_util.h"

static const struct mf_cfg_item t_meterflow[] = {
    { "meterflow", "node_id", MF_CFG_INT, "1", 1, 65535, NULL, "node" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const tables[] = { t_meterflow, front_cfg, queue_cfg,
                                                    worker_cfg, NULL };
static const char *const pass[] = { "kafka", NULL };

#define T1 ((uint32_t)0x0171u << 16 | 0x0822u)
/* login-01 of 0171-0822 (public vector) */
static const char *LOGIN01 = "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16";

/* Read one whole frame (header tells the length). Returns its length or -1. */
static int read_frame(int fd, uint8_t *f, size_t cap, int ms)
{
    if (tread(fd, f, 6, ms) != 6 || f[0] != 0x68)
        return -1;
    size_t l1 = (size_t)(f[1] | f[2] << 8) >> 2;
    if (l1 + 8 > cap)
        return -1;
    if (tread(fd, f + 6, l1 + 2, ms) != (int)(l1 + 2))
        return -1;
    return (int)(l1 + 8);
}

/* Frame around a data-unit area: C=88 (response), A = 71 01 22 08 a3, AFN, SEQ; CS summed
 * (frame_test_util.h). f holds 512 bytes. */
static size_t answer_frame(uint8_t a3, uint8_t afn, uint8_t seq, const char *units, uint8_t *f)
{
    const uint8_t hdr[8] = {0x88, 0x71, 0x01, 0x22, 0x08, a3, afn, seq};
    return tf_wrap(hdr, units, f, 512);
}

static int wait_json(struct store *st, int32_t D, const char *needle)
{
    for (uint64_t end = now_ms() + 20000; now_ms() < end;) {
        json_t *j = NULL;
        struct store_page pg = { 1, 50 };
        if (store_recollect_json(st, D, &pg, &j) == 0) {
            char *t = json_dumps(j, JSON_COMPACT);
            int hit = t && strstr(t, needle);
            free(t);
            json_decref(j);
            if (hit)
                return 1;
        }
        usleep(10000);
    }
    return 0;
}

/* The newest command (the re-collection request) reaches `state`. */
static int wait_cmd_state(struct store *st, const char *state)
{
    char needle[48];
    snprintf(needle, sizeof(needle), "\"state\":\"%s\"", state);
    for (uint64_t end = now_ms() + 20000; now_ms() < end;) {
        struct store_command_filter cf = { "0171-0822", NULL, { 1, 1 } };
        json_t *j = NULL;
        if (store_commands_json(st, &cf, &j) == 0) {
            json_t *first = json_array_get(json_object_get(j, "items"), 0);
            char *t = first ? json_dumps(first, JSON_COMPACT) : NULL;
            int hit = t && strstr(t, needle);
            free(t);
            json_decref(j);
            if (hit)
                return 1;
        }
        usleep(10000);
    }
    return 0;
}

static int terminal_online(struct store *st)
{
    for (uint64_t end = now_ms() + 20000; now_ms() < end;) {
        json_t *j = NULL;
        if (store_terminal_json(st, "0171-0822", 0, &j) == 0) {
            int on = json_is_true(json_object_get(j, "online"));
            json_decref(j);
            if (on)
                return 1;
        }
        usleep(10000);
    }
    return 0;
}

MF_TEST(recollect_through_front_and_fake_terminal)
{
    char err[512], dir[64], path[128];
    struct store_opts o;
    mf_clock_set_zone("Asia/Shanghai");
    snprintf(dir, sizeof(dir), "/tmp/mf-wke2e-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/e.db", dir);
    struct mf_config *cfg = mf_config_new(tables, pass);
    static const char *const sets[] = { "front.port=0", "front.listen=127.0.0.1",
                                        "front.login_per_min=0", "front.event_read=false",
                                        "worker.batch_max_ms=5", "worker.analytics=false",
                                        NULL };
    for (size_t i = 0; sets[i]; i++)
        CHECK_EQ_INT(mf_config_set_arg(cfg, sets[i], err, sizeof(err)), 0);
    struct mq *q = mq_open(cfg, err, sizeof(err));
    store_opts_default(&o);
    o.sqlite_path = path;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    CHECK(q && st);
    struct worker *w = worker_new_with(cfg, q, st, NULL, err, sizeof(err));
    struct front *f = front_new(cfg, q, err, sizeof(err));
    CHECK(w && f);
    CHECK_EQ_INT(worker_start(w), 0);
    CHECK_EQ_INT(front_start(f, err, sizeof(err)), 0);

    /* master data: one point, its value of D - 1 stored, D missing */
    int32_t D = mf_date_to_days(2026, 11, 25);
    struct store_terminal t = { T1, "t1", NULL, NULL, 1, 0, 1 };
    struct store_meter m = { T1, 1, "000000000001", NULL, NULL, 0, 1.0 };
    CHECK_EQ_INT(store_terminal_put(st, &t), 0);
    CHECK_EQ_INT(store_meter_put(st, &m), 0);
    struct store_frozen fz = { T1, 1, STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd", D - 1, 1200.0, 0 };
    struct store_batch b;
    memset(&b, 0, sizeof(b));
    b.frozen = &fz;
    b.n_frozen = 1;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);

    /* the terminal logs in; the worker stores its session */
    uint8_t fr[1024];
    int fd = tconnect(front_port(f));
    int n = mf_hex_decode(LOGIN01, fr, sizeof(fr));
    CHECK_EQ_INT(write(fd, fr, (size_t)n), n);
    CHECK(read_frame(fd, fr, sizeof(fr), 5000) > 0); /* the login confirm */
    if (!terminal_online(st)) {
        json_t *j = NULL;
        struct worker_stats ws;
        worker_stats_get(w, &ws);
        store_terminal_json(st, "0171-0822", 0, &j);
        char *tx = j ? json_dumps(j, JSON_COMPACT) : NULL;
        mf_test_fail(__FILE__, __LINE__, "terminal not online: %s; worker messages=%llu "
                     "records=%llu batches=%llu retries=%llu", tx ? tx : "?",
                     (unsigned long long)ws.messages, (unsigned long long)ws.records,
                     (unsigned long long)ws.batches, (unsigned long long)ws.store_retries);
        free(tx);
        json_decref(j);
    }

    int64_t now = (int64_t)(D + 1) * 86400 - 8 * 3600 + 3600;
    CHECK_EQ_INT(worker_analytics_run(w, D, now), 0);
    CHECK(wait_json(st, D, "\"state\":\"pending\""));
    CHECK_EQ_INT(worker_recollect_tick(w, now), 1);

    /* the request reaches the terminal: AFN=0D, p1 F161, Td_d 25 11 26 */
    int len = read_frame(fd, fr, sizeof(fr), 10000);
    CHECK(len > 0);
    struct gw_frame req;
    CHECK_EQ_INT(gw_frame_parse(fr, (size_t)(len > 0 ? len : 0), GW_PW_LEN, &req), 0);
    CHECK_EQ_INT(req.afn, 0x0D);
    CHECK_EQ_INT(req.dir, 0);
    static const uint8_t want[7] = { 0x01, 0x01, 0x01, 0x14, 0x25, 0x11, 0x26 };
    CHECK_EQ_INT(req.units_len, 7);
    if (req.units_len == 7)
        CHECK_MEM(req.units, want, 7);

    /* the terminal has not frozen D yet: AFN=00 F2 deny-all, same RSEQ; the command fails */
    size_t an = answer_frame(fr[11], 0x00, (uint8_t)(0x60 | req.seq.pseq), "00 00 02 00", fr);
    CHECK_EQ_INT(write(fd, fr, an), (long long)an);
    CHECK(wait_cmd_state(st, "failed"));
    CHECK_EQ_INT(worker_recollect_tick(w, now + 60), 0); /* not again before the retry */
    CHECK(wait_json(st, D, "\"state\":\"sent\""));

    /* recollect_retry_min later the same request goes out again (a new PSEQ) */
    CHECK_EQ_INT(worker_recollect_tick(w, now + 31 * 60), 1);
    len = read_frame(fd, fr, sizeof(fr), 10000);
    CHECK(len > 0);
    CHECK_EQ_INT(gw_frame_parse(fr, (size_t)(len > 0 ? len : 0), GW_PW_LEN, &req), 0);
    CHECK_EQ_INT(req.afn, 0x0D);
    CHECK_EQ_INT(req.units_len, 7);
    if (req.units_len == 7)
        CHECK_MEM(req.units, want, 7);
    CHECK(wait_json(st, D, "\"attempts\":2"));

    /* answer: p1 F161 2026-11-25, read 23:59, M=1, total 1234.5678 kWh, tariff 1 absent */
    an = answer_frame(fr[11], 0x0D, (uint8_t)(0x60 | req.seq.pseq),
                      "01 01 01 14 25 11 26 59 23 25 11 26 01 78 56 34 12 00 "
                      "EE EE EE EE EE",
                      fr);
    CHECK_EQ_INT(write(fd, fr, an), (long long)an);
    double v = 0;
    int vs = -1, got = 0;
    for (uint64_t end = now_ms() + 20000; now_ms() < end && !got; usleep(10000))
        got = store_frozen_get(st, T1, 1, STORE_FROZEN_DAILY, "ap_fwd", D, 0, &v, &vs) == 0;
    CHECK(got);
    CHECK_NEAR(v, 1234.5678, 1e-9);
    CHECK_EQ_INT(vs, STORE_V_OK);

    CHECK(wait_cmd_state(st, "answered"));
    /* the next rollup of D counts the point and closes its task there and then (before,
     * the task stayed "sent" until its next attempt, recollect_retry_min later) */
    CHECK_EQ_INT(worker_analytics_run(w, D, now + 32 * 60), 0);
    CHECK(wait_json(st, D, "\"state\":\"done\""));
    CHECK_EQ_INT(worker_recollect_tick(w, now + 62 * 60), 0); /* nothing left to ask */
    json_t *j = NULL;
    CHECK_EQ_INT(store_kpi_collect_json(st, D, D, NULL, &j), 0);
    char *txt = json_dumps(j, JSON_COMPACT);
    CHECK(txt && strstr(txt, "\"collected\":1") != NULL);
    free(txt);
    json_decref(j);

    close(fd);
    front_stop(f);
    worker_stop(w);
    mq_close(q);
    front_free(f);
    worker_free(w);
    store_close(st);
    mf_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}
