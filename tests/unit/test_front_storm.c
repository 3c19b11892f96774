/* tsan: yes */
/* test_front_storm.c -- the front under connection churn (front_io.c paces accepts and the
 * closes of dropped peers to FRONT_CHURN_BATCH per loop iteration): hundreds of terminals
 * connect and log in at once on one I/O thread, then all drop at once, while a terminal
 * already online keeps being answered. Asserts completeness -- every login answered byte
 * for byte, every session's offline published, every connection freed (ASan) -- never
 * timing: conditions are awaited with deadlines.
 *
 * Frames: the login of terminal 4403-xxxx is built by term_login below from the link layer
 * of protocol section 1 (68 L L 68 | C A1 A2 A3 AFN SEQ DA DT | CS 16), and its answer by
 * term_login_ack from section 7 (C=0B link answer, A3=00, AFN=00, SEQ 60 | PSEQ, p0 F1) --
 * small hand-written builders, not the codec; the fixed frames are those of
 * test_front_tcp.c (login-01 and heartbeat-01, checksums summed by hand; 9612-3456's login
 * and its ERC14 report ev-erc14-01 with their answers).
 *
 * confirm_before_pending_logins: a confirm that became due while logins waited is written
 * before their answers (front_io.c io_confirms_first). It stops the I/O thread inside a
 * login (a registry hook that blocks), makes N logins readable, then makes a report durable
 * (its done() lands in the inbox after them), and reads the order in which the front's
 * session wrote its answers (the thread's send op, wrapped): an ordering, not a timing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "front/front_int.h"
#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/envelope.h"
#include "meterflow/front.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"

#define NTERM 300 /* > 4 x FRONT_CHURN_BATCH on one thread */

static const struct mf_cfg_item t_meterflow[] = {
    { "meterflow", "node_id", MF_CFG_INT, "7", 1, 65535, NULL, "node" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const t_tables[] = { t_meterflow, front_cfg, queue_cfg, NULL };
static const char *const t_pass[] = { "kafka", NULL };

/* login-01 (0171-0822) and heartbeat-01 with their answers (test_front_tcp.c) */
static const uint8_t LOGIN01[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0xC9, 0x71, 0x01, 0x22,
                                   0x08, 0x00, 0x02, 0x78, 0x00, 0x00, 0x01, 0x00, 0xE0, 0x16 };
static const uint8_t LOGIN01_ACK[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x0B,
                                       0x71, 0x01, 0x22, 0x08, 0x00, 0x00, 0x68,
                                       0x00, 0x00, 0x01, 0x00, 0x10, 0x16 };
static const uint8_t HB01[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0xC9, 0x71, 0x01, 0x22,
                                0x08, 0x00, 0x02, 0x79, 0x00, 0x00, 0x04, 0x00, 0xE4, 0x16 };
static const uint8_t HB01_ACK[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x0B, 0x71, 0x01, 0x22,
                                    0x08, 0x00, 0x00, 0x69, 0x00, 0x00, 0x01, 0x00, 0x11, 0x16 };

/* 12 bytes of user data (C, A1 A2 A3, AFN, SEQ, DA DT): L = 12 << 2 | 2 = 0x32 (protocol
 * version 2); CS = sum of the user data mod 256. A1 4403 is BCD, low byte first (03 44). */
static void frame12(uint8_t out[20], uint8_t c, uint16_t a2, uint8_t afn, uint8_t seq)
{
    const uint8_t u[12] = { c, 0x03, 0x44, (uint8_t)(a2 & 0xFF), (uint8_t)(a2 >> 8), 0x00,
                            afn, seq, 0x00, 0x00, 0x01, 0x00 };
    unsigned cs = 0;
    out[0] = 0x68;
    out[1] = 0x32;
    out[2] = 0x00;
    out[3] = 0x32;
    out[4] = 0x00;
    out[5] = 0x68;
    for (int i = 0; i < 12; i++) {
        out[6 + i] = u[i];
        cs += u[i];
    }
    out[18] = (uint8_t)cs;
    out[19] = 0x16;
}

/* Login: C=C9 (DIR 1, PRM 1, fc 9), AFN 02, SEQ 70 (FIR FIN CON, PSEQ 0), p0 F1. */
static void term_login(uint8_t out[20], uint16_t a2)
{
    frame12(out, 0xC9, a2, 0x02, 0x70);
}

/* Its answer: C=0B (PRM 0, fc 11), AFN 00, SEQ 60 (FIR FIN, RSEQ 0), p0 F1 (confirm all). */
static void term_login_ack(uint8_t out[20], uint16_t a2)
{
    frame12(out, 0x0B, a2, 0x00, 0x60);
}

static uint64_t now_ms(void)
{
    return mf_mono_us() / 1000u;
}

static int tconnect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        mf_test_fail(__FILE__, __LINE__, "connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Read exactly n bytes within ms; bytes read (< n on timeout or EOF). */
static int tread(int fd, uint8_t *out, size_t n, int ms)
{
    size_t got = 0;
    uint64_t end = now_ms() + (uint64_t)ms;
    while (got < n && now_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)(end - now_ms())) <= 0)
            continue;
        ssize_t k = read(fd, out + got, n - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return (int)got;
}

static void exchange(int fd, const uint8_t *req, const uint8_t *want, size_t n)
{
    uint8_t got[20];
    CHECK_EQ_INT(write(fd, req, n), (long long)n);
    CHECK_EQ_INT(tread(fd, got, n, 10000), (long long)n);
    CHECK_MEM(got, want, n);
}

/* Commit every uplink envelope; count the session envelopes by state. */
static void drain(struct mq *q, struct mq_consumer *c, int *online, int *offline)
{
    struct mq_batch b;
    if (mq_consumer_poll(c, &b, 256, 20) != 0)
        return;
    for (size_t i = 0; i < b.n; i++) {
        struct mf_env e;
        struct mf_env_session s;
        if (mf_env_decode(b.msgs[i].val, b.msgs[i].val_len, &e) != 0 ||
            e.kind != MF_ENV_SESSION || mf_env_session_decode(e.payload, e.payload_len, &s) != 0)
            continue;
        *online += s.state == MF_SESSION_ONLINE;
        *offline += s.state == MF_SESSION_OFFLINE;
    }
    if (b.n)
        mq_commit(q, &b);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max > rl.rlim_cur) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

MF_TEST(storm_of_logins_then_drops_on_one_thread)
{
    static const char *const sets[] = { "front.port=0", "front.listen=127.0.0.1",
                                        "front.threads=1", "front.login_per_min=0", NULL };
    char err[256] = "";
    static int fds[NTERM];
    int online = 0, offline = 0;

    raise_nofile();
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    for (size_t i = 0; sets[i]; i++)
        CHECK_EQ_INT(mf_config_set_arg(cfg, sets[i], err, sizeof(err)), 0);
    struct mq *q = mq_open(cfg, err, sizeof(err));
    CHECK(q != NULL);
    enum mq_topic t = MQ_UPLINK;
    struct mq_consumer *c = mq_consumer_open(q, &t, 1, "test", err, sizeof(err));
    CHECK(c != NULL);
    struct front *f = front_new(cfg, q, err, sizeof(err));
    CHECK(f != NULL);
    CHECK_EQ_INT(front_start(f, err, sizeof(err)), 0);
    int port = front_port(f);

    int good = tconnect(port);
    exchange(good, LOGIN01, LOGIN01_ACK, sizeof(LOGIN01));
    /* All connect (the kernel completes them in the backlog) and log in before the front
     * accepted most of them: it takes them in batches. */
    for (int i = 0; i < NTERM; i++) {
        uint8_t lf[20];
        fds[i] = tconnect(port);
        term_login(lf, (uint16_t)(0x1000 + i));
        CHECK_EQ_INT(write(fds[i], lf, sizeof(lf)), 20);
    }
    exchange(good, HB01, HB01_ACK, sizeof(HB01)); /* the online terminal is answered */
    for (int i = 0; i < NTERM; i++) {
        uint8_t want[20], got[20];
        term_login_ack(want, (uint16_t)(0x1000 + i));
        CHECK_EQ_INT(tread(fds[i], got, sizeof(got), 10000), 20);
        CHECK_MEM(got, want, sizeof(want));
    }
    /* Every one drops at once: the front closes them in batches. */
    for (int i = 0; i < NTERM; i++)
        close(fds[i]);
    exchange(good, HB01, HB01_ACK, sizeof(HB01));
    struct front_stats *st = malloc(sizeof(*st));
    uint64_t end = now_ms() + 20000;
    do {
        drain(q, c, &online, &offline);
        front_stats_get(f, st);
    } while ((offline < NTERM || st->conns_open != 1) && now_ms() < end);
    CHECK_EQ_INT(online, NTERM + 1);
    CHECK_EQ_INT(offline, NTERM);
    CHECK_EQ_INT(st->conns_open, 1);
    CHECK_EQ_INT(st->conns_accepted, NTERM + 1);
    CHECK_EQ_INT(st->logins, NTERM + 1);
    exchange(good, HB01, HB01_ACK, sizeof(HB01));
    close(good);
    free(st);
    front_stop(f);
    mq_consumer_close(c);
    mq_close(q); /* before front_free: no queue callback may come after it */
    front_free(f);
    mf_config_free(cfg);
}

/* ---- a confirm due while logins wait ---- */

#define NWAIT 40           /* logins made readable while the I/O thread is stopped */
#define BLOCKER_A2 0x0FFF  /* 4403-0FFF: the login whose registry lookup stops the thread */

/* 9612-3456 (test_front_tcp.c): login SEQ 71 and its answer; ERC14 report (C4, CON=1, SEQ 70)
 * and its confirm (C=00, SEQ 60). */
static const uint8_t LOGIN96[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0xC9, 0x12, 0x96, 0x56,
                                   0x34, 0x00, 0x02, 0x71, 0x00, 0x00, 0x01, 0x00, 0x6F, 0x16 };
static const uint8_t LOGIN96_ACK[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x0B,
                                       0x12, 0x96, 0x56, 0x34, 0x00, 0x00, 0x61,
                                       0x00, 0x00, 0x01, 0x00, 0x9F, 0x16 };
static const uint8_t ERC14[] = { 0x68, 0x72, 0x00, 0x72, 0x00, 0x68, 0xC4, 0x12, 0x96,
                                 0x56, 0x34, 0x00, 0x0E, 0x70, 0x00, 0x00, 0x01, 0x00,
                                 0x01, 0x00, 0x00, 0x01, 0x0E, 0x0A, 0x40, 0x14, 0x31,
                                 0x07, 0x10, 0x31, 0x11, 0x03, 0x08, 0x10, 0x88, 0x16 };
static const uint8_t ERC14_ACK[] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x00, 0x12, 0x96, 0x56,
                                     0x34, 0x00, 0x00, 0x60, 0x00, 0x00, 0x01, 0x00, 0x93, 0x16 };

/* The registry hook stops the I/O thread in the blocker's login until released. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int blocked, release;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

static int gate_registry(void *opaque, uint16_t a1, uint16_t a2, struct front_term_info *ti)
{
    (void)opaque;
    (void)a1;
    memset(ti, 0, sizeof(*ti));
    ti->known = 1;
    ti->last_ec1 = -1;
    if (a2 != BLOCKER_A2)
        return 0;
    pthread_mutex_lock(&gate.mu);
    gate.blocked = 1;
    pthread_cond_broadcast(&gate.cv);
    uint64_t end = now_ms() + 20000; /* never hang the suite: the test fails instead */
    while (!gate.release && now_ms() < end) {
        pthread_mutex_unlock(&gate.mu);
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&gate.mu);
    }
    pthread_mutex_unlock(&gate.mu);
    return 0;
}

static int gate_wait_blocked(int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    pthread_mutex_lock(&gate.mu);
    while (!gate.blocked && now_ms() < end) {
        pthread_mutex_unlock(&gate.mu);
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&gate.mu);
    }
    int b = gate.blocked;
    pthread_mutex_unlock(&gate.mu);
    return b;
}

/* Every answer the session writes, in order: its C byte and A2 (bytes 6 and 9-10). */
static struct {
    pthread_mutex_t mu;
    int n;
    uint8_t c[4 * NWAIT];
    uint16_t a2[4 * NWAIT];
} sent = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 }, { 0 } };

static int rec_send(struct front_conn *conn, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&sent.mu);
    if (n >= 20 && sent.n < 4 * NWAIT) {
        sent.c[sent.n] = p[6];
        sent.a2[sent.n] = (uint16_t)(p[9] | p[10] << 8);
        sent.n++;
    }
    pthread_mutex_unlock(&sent.mu);
    return front_uv_ops.send(conn, p, n);
}

static void wait_conns(struct front *f, uint64_t want)
{
    struct front_stats *st = malloc(sizeof(*st));
    uint64_t end = now_ms() + 10000;
    do
        front_stats_get(f, st);
    while (st->conns_open < want && now_ms() < end);
    CHECK_EQ_INT(st->conns_open, (long long)want);
    free(st);
}

/* The ERC14 report's envelope, held uncommitted (sessions before it committed). */
static int hold_report(struct mq *q, struct mq_consumer *c, struct mq_batch *b)
{
    uint64_t end = now_ms() + 10000;
    while (now_ms() < end) {
        struct mf_env e;
        if (mq_consumer_poll(c, b, 1, 50) != 0 || b->n == 0)
            continue;
        if (mf_env_decode(b->msgs[0].val, b->msgs[0].val_len, &e) == 0 && e.kind == MF_ENV_FRAME)
            return 0;
        mq_commit(q, b);
    }
    return -1;
}

MF_TEST(confirm_before_pending_logins)
{
    static const char *const sets[] = { "front.port=0", "front.listen=127.0.0.1",
                                        "front.threads=1", "front.login_per_min=0", NULL };
    static struct front_io_ops ops;
    char err[256] = "";
    int fds[NWAIT], online = 0, offline = 0;
    uint8_t got[20], want[20];
    struct mq_batch b;

    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    for (size_t i = 0; sets[i]; i++)
        CHECK_EQ_INT(mf_config_set_arg(cfg, sets[i], err, sizeof(err)), 0);
    struct mq *q = mq_open(cfg, err, sizeof(err));
    CHECK(q != NULL);
    enum mq_topic t = MQ_UPLINK;
    struct mq_consumer *c = mq_consumer_open(q, &t, 1, "test", err, sizeof(err));
    struct front *f = front_new(cfg, q, err, sizeof(err));
    CHECK(c != NULL && f != NULL);
    ops = front_uv_ops;
    ops.send = rec_send;
    f->th[0]->ops = &ops; /* before the thread starts */
    front_set_registry(f, gate_registry, NULL);
    CHECK_EQ_INT(front_start(f, err, sizeof(err)), 0);
    int port = front_port(f);

    int good = tconnect(port); /* online, its report in the queue, not yet durable */
    CHECK_EQ_INT(write(good, LOGIN96, sizeof(LOGIN96)), (long long)sizeof(LOGIN96));
    CHECK_EQ_INT(tread(good, got, 20, 10000), 20);
    CHECK_MEM(got, LOGIN96_ACK, 20);
    CHECK_EQ_INT(write(good, ERC14, sizeof(ERC14)), (long long)sizeof(ERC14));
    CHECK_EQ_INT(hold_report(q, c, &b), 0);
    for (int i = 0; i < NWAIT; i++) /* accepted, silent */
        fds[i] = tconnect(port);
    wait_conns(f, NWAIT + 1);
    int blocker = tconnect(port);
    wait_conns(f, NWAIT + 2);
    term_login(got, BLOCKER_A2);
    CHECK_EQ_INT(write(blocker, got, 20), 20);
    CHECK(gate_wait_blocked(10000)); /* the I/O thread is inside the blocker's login */
    pthread_mutex_lock(&sent.mu);
    int before = sent.n;
    pthread_mutex_unlock(&sent.mu);
    for (int i = 0; i < NWAIT; i++) { /* NWAIT logins readable ... */
        term_login(got, (uint16_t)(0x1000 + i));
        CHECK_EQ_INT(write(fds[i], got, 20), 20);
    }
    CHECK_EQ_INT(mq_commit(q, &b), 0); /* ... then the report durable: done() in the inbox */
    pthread_mutex_lock(&gate.mu);
    gate.release = 1;
    pthread_mutex_unlock(&gate.mu);

    CHECK_EQ_INT(tread(good, got, 20, 10000), 20);
    CHECK_MEM(got, ERC14_ACK, 20);
    for (int i = 0; i < NWAIT; i++) {
        term_login_ack(want, (uint16_t)(0x1000 + i));
        CHECK_EQ_INT(tread(fds[i], got, 20, 10000), 20);
        CHECK_MEM(got, want, 20);
    }
    /* The order the session wrote them: the blocker's answer (its login was under way),
     * the confirm, then the NWAIT login answers. */
    pthread_mutex_lock(&sent.mu);
    CHECK_EQ_INT(sent.n, before + 2 + NWAIT);
    CHECK_EQ_INT(sent.c[before], 0x0B);
    CHECK_EQ_INT(sent.a2[before], BLOCKER_A2);
    CHECK_EQ_INT(sent.c[before + 1], 0x00); /* the confirm of 9612-3456's report */
    CHECK_EQ_INT(sent.a2[before + 1], 0x3456);
    for (int i = before + 2; i < sent.n; i++)
        CHECK(sent.c[i] == 0x0B && sent.a2[i] >= 0x1000 && sent.a2[i] < 0x1000 + NWAIT);
    pthread_mutex_unlock(&sent.mu);

    for (int i = 0; i < NWAIT; i++)
        close(fds[i]);
    close(blocker);
    close(good);
    uint64_t end = now_ms() + 10000;
    while (offline < NWAIT + 2 && now_ms() < end)
        drain(q, c, &online, &offline);
    CHECK_EQ_INT(online, NWAIT + 1); /* 9612-3456's was committed by hold_report */
    CHECK_EQ_INT(offline, NWAIT + 2);
    front_stop(f);
    mq_consumer_close(c);
    mq_close(q);
    front_free(f);
    mf_config_free(cfg);
}

/* ---- admission control ([front] admit_per_sec) ---- */

#define NADMIT 5 /* terminals that log in while the admission budget is spent */

/* At 4 admissions per second (burst 1) on one thread, a terminal online is answered while
 * NADMIT new connections wait unread; the logins counted by time t never exceed the
 * admissions due by t (1 + elapsed / 250 ms: a bound from the test's own clock, so a slow
 * machine only loosens it -- without admission all NADMIT are counted at once and it fails);
 * every waiting login is answered, byte for byte, oldest first; when they all drop, their
 * closes are paced the same way; connections still waiting when the front stops are freed
 * (ASan). */
MF_TEST(admission_paces_new_logins)
{
    static const char *const sets[] = { "front.port=0", "front.listen=127.0.0.1",
                                        "front.threads=1", "front.login_per_min=0",
                                        "front.admit_per_sec=4", "front.admit_burst=1", NULL };
    char err[256] = "";
    int fds[NADMIT], late[2];
    uint8_t lf[20], got[20], want[20];

    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    for (size_t i = 0; sets[i]; i++)
        CHECK_EQ_INT(mf_config_set_arg(cfg, sets[i], err, sizeof(err)), 0);
    struct mq *q = mq_open(cfg, err, sizeof(err));
    CHECK(q != NULL);
    struct front *f = front_new(cfg, q, err, sizeof(err));
    CHECK(f != NULL);
    CHECK_EQ_INT(front_start(f, err, sizeof(err)), 0);
    int port = front_port(f);
    uint64_t t0 = now_ms();

    int good = tconnect(port);
    exchange(good, LOGIN01, LOGIN01_ACK, sizeof(LOGIN01)); /* the burst's one admission */
    for (int i = 0; i < NADMIT; i++) {
        fds[i] = tconnect(port);
        term_login(lf, (uint16_t)(0x2000 + i));
        CHECK_EQ_INT(write(fds[i], lf, sizeof(lf)), 20);
    }
    wait_conns(f, NADMIT + 1); /* all accepted at once ... */
    exchange(good, HB01, HB01_ACK, sizeof(HB01)); /* ... the session online is served ... */
    struct front_stats *st = malloc(sizeof(*st));
    front_stats_get(f, st);
    uint64_t elapsed = now_ms() - t0;
    CHECK(st->logins <= 1 + elapsed / 250); /* ... and the new ones wait for admission */
    for (int i = 0; i < NADMIT; i++) {
        term_login_ack(want, (uint16_t)(0x2000 + i));
        CHECK_EQ_INT(tread(fds[i], got, sizeof(got), 10000), 20);
        CHECK_MEM(got, want, sizeof(want));
    }
    front_stats_get(f, st);
    CHECK_EQ_INT(st->logins, NADMIT + 1);
    /* They drop at once: their closes (and offline envelopes) come at the same rate, from a
     * bucket of their own (full: one at once, then one per 250 ms). */
    uint64_t t1 = now_ms();
    for (int i = 0; i < NADMIT; i++)
        close(fds[i]);
    uint64_t end = now_ms() + 10000;
    do {
        front_stats_get(f, st);
        uint64_t closed = NADMIT + 1 - st->conns_open;
        CHECK(closed <= 1 + (now_ms() - t1) / 250);
    } while (st->conns_open > 1 && now_ms() < end);
    CHECK_EQ_INT(st->conns_open, 1);
    exchange(good, HB01, HB01_ACK, sizeof(HB01));
    for (int i = 0; i < 2; i++) { /* 250 ms apart: the second most likely waits at the stop */
        late[i] = tconnect(port);
        term_login(lf, (uint16_t)(0x2100 + i));
        CHECK_EQ_INT(write(late[i], lf, sizeof(lf)), 20);
    }
    wait_conns(f, 3);
    free(st);
    front_stop(f);
    close(late[0]);
    close(late[1]);
    close(good);
    mq_close(q);
    front_free(f);
    mf_config_free(cfg);
}
