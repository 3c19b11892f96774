/* tsan: yes */
/* test_security_pw.c -- the PW provider hook (docs/SECURITY.md check 14): a downlink frame of an
 * AFN that carries PW (here AFN=05 F49, as in test_front_tcp.c's REQ3) gets the bytes the
 * provider writes, for the right terminal and AFN, and the checksum covers them. The front
 * runs over real TCP with the embedded queue (the rig is the one of test_front_tcp.c); the
 * expected frame is written by hand:
 *   68 76 00 76 00 68 | 4A | 71 01 22 08 02 | 05 | 71 | 00 00 01 06 | 01 | PW 01..10 | CS 16
 * L = 29 bytes of user data (C, A 5, AFN, SEQ, DA/DT 4, 1 data byte, PW 16) -> (29 << 2) | 2
 * = 0x76; SEQ 71 = FIR FIN CON, PSEQ 1 (the terminal's first master request);
 * CS = 4A+71+01+22+08+02+05+71+00+00+01+06+01 = 0x166, + (1+2+...+16 = 0x88) = 0x1EE -> EE. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/envelope.h"
#include "meterflow/front.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"

static const struct mf_cfg_item t_meterflow[] = {
    { "meterflow", "node_id", MF_CFG_INT, "7", 1, 65535, NULL, "node" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const t_tables[] = { t_meterflow, front_cfg, queue_cfg, NULL };
static const char *const t_pass[] = { "kafka", NULL };

static const char *LOGIN01 = "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16";
static const char *LOGIN01_ACK = "68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 01 00 10 16";
static const char *REQ_PW = "68 76 00 76 00 68 4A 71 01 22 08 02 05 71 00 00 01 06 01 01 02 03 "
                            "04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 EE 16";

static size_t hex(const char *h, uint8_t *out)
{
    int n = mf_hex_decode(h, out, 512);
    if (n < 0)
        mf_test_fail(__FILE__, __LINE__, "bad hex in test: %s", h);
    return n < 0 ? 0 : (size_t)n;
}

/* ---- the server side ---- */

struct rig {
    struct mf_config *cfg;
    struct mq *q;
    struct front *f;
    struct mq_consumer *c;
    int port;
};

static void rig_start(struct rig *r, const char *const *sets, front_pw_fn pw)
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
    front_set_pw_provider(r->f, pw, NULL); /* before front_start */
    CHECK_EQ_INT(front_start(r->f, err, sizeof(err)), 0);
    r->port = front_port(r->f);
    CHECK(r->port > 0);
}

static void rig_stop(struct rig *r)
{
    front_stop(r->f);
    mq_consumer_close(r->c);
    mq_close(r->q);
    front_free(r->f);
    mf_config_free(r->cfg);
}
static uint64_t now_ms(void)
{
    return mf_mono_us() / 1000u;
}

static void on_cmd_done(void *opaque, int status)
{
    (void)opaque;
    (void)status;
}

static void send_cmd(struct rig *r, const char *json)
{
    CHECK_EQ_INT(mq_produce(r->q, MQ_DOWNLINK, "k", 1, json, strlen(json), on_cmd_done, NULL),
                 0);
}

/* ---- the terminal side ---- */

static int tconnect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        mf_test_fail(__FILE__, __LINE__, "connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void tsend(int fd, const char *h)
{
    uint8_t b[512];
    size_t n = hex(h, b);
    CHECK_EQ_INT(write(fd, b, n), (long long)n);
}

/* Read exactly n bytes within ms. Returns bytes read (< n on timeout/EOF), -1 EOF at once. */
static int tread(int fd, uint8_t *out, size_t n, int ms)
{
    size_t got = 0;
    uint64_t end = now_ms() + (uint64_t)ms;
    while (got < n) {
        struct pollfd p = { fd, POLLIN, 0 };
        uint64_t t = now_ms();
        if (t >= end)
            break;
        if (poll(&p, 1, (int)(end - t)) <= 0)
            continue;
        ssize_t k = read(fd, out + got, n - got);
        if (k <= 0)
            return got ? (int)got : -1;
        got += (size_t)k;
    }
    return (int)got;
}

/* Expect exactly the frame `h` next on fd. */
static void expect_frame(int fd, const char *h)
{
    uint8_t want[512], got[512];
    size_t n = hex(h, want);
    int k = tread(fd, got, n, 5000);
    CHECK_EQ_INT(k, (long long)n);
    if (k == (int)n)
        CHECK_MEM(got, want, n);
}

static struct {
    int calls;
    uint16_t a1, a2;
    uint8_t afn;
    size_t len;
} pw_seen;

static void test_pw(void *opaque, uint16_t a1, uint16_t a2, uint8_t afn, uint8_t *out,
                    size_t pw_len)
{
    (void)opaque;
    pw_seen.calls++;
    pw_seen.a1 = a1;
    pw_seen.a2 = a2;
    pw_seen.afn = afn;
    pw_seen.len = pw_len;
    for (size_t i = 0; i < pw_len; i++)
        out[i] = (uint8_t)(i + 1);
}

MF_TEST(pw_provider_fills_downlink_pw)
{
    static const char *const sets[] = { "front.single=true", "front.event_read=false", NULL };
    struct rig r;
    rig_start(&r, sets, test_pw);

    int fd = tconnect(r.port);
    tsend(fd, LOGIN01);
    expect_frame(fd, LOGIN01_ACK);
    /* the login is published before the front holds the session: wait for its envelope */
    struct mq_batch b;
    struct mf_env e;
    for (uint64_t end = now_ms() + 5000; now_ms() < end;) {
        if (mq_consumer_poll(r.c, &b, 1, 50) != 0 || b.n == 0)
            continue;
        int is_session = mf_env_decode(b.msgs[0].val, b.msgs[0].val_len, &e) == 0 &&
                         e.kind == MF_ENV_SESSION;
        mq_commit(r.q, &b);
        if (is_session)
            break;
    }
    send_cmd(&r, "{\"cmd_id\": 7, \"terminal\": \"0171-0822\", \"afn\": 5, "
                 "\"units_hex\": \"00 00 01 06 01\", \"con\": true}");
    expect_frame(fd, REQ_PW);
    CHECK_EQ_INT(pw_seen.calls, 1);
    CHECK_EQ_INT(pw_seen.afn, 5);
    CHECK_EQ_INT(pw_seen.a2, 0x0822);
    CHECK_EQ_INT(pw_seen.len, 16);
    close(fd);
    rig_stop(&r);
}

