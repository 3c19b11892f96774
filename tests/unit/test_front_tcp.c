/* tsan: yes */
/* test_front_tcp.c -- the front driven over real TCP on a free port, with the embedded queue
 * and a test consumer that commits only when the test says so. Every frame sent and every
 * byte expected is written by hand from the protocol text and the public vectors
 * (../shared/vectors/public-3761.json); checksums were summed by hand (section 1.2).
 *
 * Conditions are awaited with deadlines, never with fixed sleeps; the only "nothing arrives"
 * checks wait a bounded time for bytes that must not come. */
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

#include "front_rig.h"
#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/envelope.h"
#include "meterflow/front.h"
#include "meterflow/modcfg.h"
#include "meterflow/queue.h"
#include "tcp_test_util.h"

/* ---- hand-written frames ---- */
/* login-01 (0171-0822, SEQ 78 -> PSEQ 8) and the F1 answer: C=0B, A3=00 (MSA 0), AFN 00,
 * SEQ 68, p0 F1; CS = 0B+71+01+22+08+68+01 = 0x10. */
static const char *LOGIN01 = "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16";
static const char *LOGIN01_ACK = "68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 01 00 10 16";
/* heartbeat-01 (no clock, PSEQ 9): CS 0x10 + 1 */
static const char *HB01 = "68 32 00 32 00 68 C9 71 01 22 08 00 02 79 00 00 04 00 E4 16";
static const char *HB01_ACK = "68 32 00 32 00 68 0B 71 01 22 08 00 00 69 00 00 01 00 11 16";
/* logout-01 (PSEQ 1) */
static const char *LOGOUT01 = "68 32 00 32 00 68 C9 71 01 22 08 00 02 71 00 00 02 00 DA 16";
static const char *LOGOUT01_ACK = "68 32 00 32 00 68 0B 71 01 22 08 00 00 61 00 00 01 00 09 16";
/* 9612-3456: login (SEQ 71), its answer, the ERC14 report ev-erc14-01 (C4, SEQ 70, CON=1)
 * and its confirm (C=00, MSA 0, SEQ 60: 12+96+56+34+60+01 = 0x93). ev-erc24 SEQ 75 -> 0x98. */
static const char *LOGIN96 = "68 32 00 32 00 68 C9 12 96 56 34 00 02 71 00 00 01 00 6F 16";
static const char *LOGIN96_ACK = "68 32 00 32 00 68 0B 12 96 56 34 00 00 61 00 00 01 00 9F 16";
static const char *ERC14 = "68 72 00 72 00 68 C4 12 96 56 34 00 0E 70 00 00 01 00 01 00 00 01 "
                           "0E 0A 40 14 31 07 10 31 11 03 08 10 88 16";
static const char *ERC14_ACK = "68 32 00 32 00 68 00 12 96 56 34 00 00 60 00 00 01 00 93 16";

/* The i-th of several different ERC14 reports with the same PSEQ (and so the same confirm):
 * the record's first time byte (offset 24, 0x40) + i and the checksum 0x88 + i. Identical
 * copies would be one report and its retransmissions, which the front queues only once while
 * the first copy waits (front_sess.c). i < 10 keeps the byte valid BCD. */
static size_t erc14_nth(int i, uint8_t *out)
{
    size_t n = hex(ERC14, out);
    CHECK_EQ_INT(out[24], 0x40);
    CHECK_EQ_INT(out[n - 2], 0x88);
    out[24] = (uint8_t)(0x40 + i);
    out[n - 2] = (uint8_t)(0x88 + i);
    return n;
}
static const char *ERC24 = "68 82 00 82 00 68 C4 12 96 56 34 00 0E 75 00 00 01 00 6E 00 00 01 "
                           "18 0E 09 22 07 12 10 01 00 00 90 21 00 22 00 22 59 16";
static const char *ERC24_ACK = "68 32 00 32 00 68 00 12 96 56 34 00 00 65 00 00 01 00 98 16";
/* heartbeat-02 (2449-5845, 2013 clock) -> confirm-02 with MSA 0: CS 0x79 - 0x02 = 0x77.
 * Login for 2449-5845 (C9, SEQ 70): CS C9+49+24+45+58+02+70+01 = 0x246 -> 0x46. */
static const char *LOGIN24 = "68 32 00 32 00 68 C9 49 24 45 58 00 02 70 00 00 01 00 46 16";
static const char *LOGIN24_ACK = "68 32 00 32 00 68 0B 49 24 45 58 00 00 60 00 00 01 00 76 16";
static const char *HB02 = "68 4A 00 4A 00 68 C9 49 24 45 58 00 02 71 00 00 04 00 22 48 17 03 67 "
                          "19 4E 16";
static const char *HB02_ACK = "68 32 00 32 00 68 0B 49 24 45 58 00 00 61 00 00 01 00 77 16";
/* 2120-0007 answered in the F3 style: login (C9, SEQ 70, CS 0x84) -> per-item confirm of
 * 02 / p0 F1; heartbeat-03 -> exactly confirm-03. */
static const char *LOGIN21 = "68 32 00 32 00 68 C9 20 21 07 00 00 02 70 00 00 01 00 84 16";
/* ... and its plain F1 answer (SEQ 60): CS 0B+20+21+07+60+01 = 0xB4. */
static const char *LOGIN21_ACK = "68 32 00 32 00 68 0B 20 21 07 00 00 00 60 00 00 01 00 B4 16";
static const char *LOGIN21_F3 = "68 4A 00 4A 00 68 0B 20 21 07 00 00 00 60 00 00 04 00 02 00 00 "
                                "01 00 00 BA 16";
static const char *HB03 = "68 32 00 32 00 68 C9 20 21 07 00 00 02 71 00 00 04 00 88 16";
static const char *CONFIRM03 = "68 4A 00 4A 00 68 0B 20 21 07 00 00 00 61 00 00 04 00 02 00 00 "
                               "04 00 00 BE 16";
/* login-02: 2449-5845 with ACD=1, EC1=28 -> event read AFN=0E F1 Pm=12 (28 - event_read_max
 * 16) Pn=28: C=4B, A3=02 (MSA 1), SEQ 61 (PFC 1), L1=14 -> 3A 00, CS 0xEF. */
static const char *LOGIN02 = "68 3A 00 3A 00 68 E9 49 24 45 58 00 02 70 00 00 01 00 1C 04 86 16";
static const char *EVREAD = "68 3A 00 3A 00 68 4B 49 24 45 58 02 0E 61 00 00 01 00 0C 1C EF 16";
/* AFN=0C p1 F129 read of 0171-0822 with PFC 1 and PFC 2 (C=4B, MSA 1, no Tp); the answer to
 * PFC 2 is the public c1-f129-rsp (RSEQ 2, Tp PFC 02). */
static const char *REQ1 = "68 32 00 32 00 68 4B 71 01 22 08 02 0C 61 01 01 01 10 69 16";
static const char *REQ2 = "68 32 00 32 00 68 4B 71 01 22 08 02 0C 62 01 01 01 10 6A 16";
static const char *RSP2 = "68 C6 00 C6 00 68 88 71 01 22 08 02 0C A2 01 01 01 10 18 16 28 08 18 "
                          "04 00 01 00 00 00 EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
                          "EE EE EE 02 39 19 16 28 00 8C 16";
/* AFN=05 p0 F49 port 1 with con=true and PFC 3: C=4A, SEQ 73, 16 zero PW bytes, L1 = 29 ->
 * 76 00, CS 4A+71+01+22+08+02+05+73+01+06+01 = 0x368 -> 0x68; the terminal denies it
 * (AFN=00 p0 F2, C=80, MSA 1, RSEQ 3): 80+71+01+22+08+02+00+63+02 = 0x183 -> 0x83. */
static const char *REQ3 = "68 76 00 76 00 68 4A 71 01 22 08 02 05 73 00 00 01 06 01 00 00 00 00 "
                          "00 00 00 00 00 00 00 00 00 00 00 00 68 16";
static const char *DENY3 = "68 32 00 32 00 68 80 71 01 22 08 02 00 63 00 00 02 00 83 16";

/* the rig (server side) and the terminal side: front_rig.h, tcp_test_util.h */

static void expect_nothing(int fd, int ms)
{
    uint8_t b[64];
    CHECK_EQ_INT(tread(fd, b, 1, ms), 0);
}

static void expect_closed(int fd, int ms)
{
    uint8_t b[256];
    uint64_t end = now_ms() + (uint64_t)ms;
    int k;
    while ((k = tread(fd, b, sizeof(b), (int)MF_MAX(1, (int64_t)(end - now_ms())))) > 0 &&
           now_ms() < end)
        ;
    CHECK_EQ_INT(k, -1);
}

static void wait_stat(struct front *f, size_t off, uint64_t want, int ms)
{
    struct front_stats *st = malloc(sizeof(*st));
    uint64_t end = now_ms() + (uint64_t)ms;
    uint64_t v = 0;
    do {
        front_stats_get(f, st);
        memcpy(&v, (const uint8_t *)st + off, sizeof(v));
        if (v >= want)
            break;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    } while (now_ms() < end);
    free(st);
    CHECK(v >= want);
}
#define WAIT_STAT(f, field, want) wait_stat((f), offsetof(struct front_stats, field), (want), 5000)

/* ---- tests ---- */

MF_TEST(link_exchanges_byte_for_byte)
{
    static const char *const sets[] = { "front.f3_terminals=2120-0007", NULL };
    struct rig r;
    struct mf_env e;
    struct mf_env_session s;
    rig_start(&r, sets);

    int fd = tconnect(r.port);
    tsend(fd, LOGIN01);
    EXPECT_FRAME(fd, LOGIN01_ACK);
    CHECK_EQ_INT(take_env(&r, MF_ENV_SESSION, &e, &s, 5000), 0);
    CHECK_EQ_INT(s.state, MF_SESSION_ONLINE);
    CHECK_EQ_INT(s.known, 1);
    CHECK_EQ_INT(e.a1, 0x0171);
    CHECK_EQ_INT(e.a2, 0x0822);
    CHECK_EQ_INT(e.front_id, 7);
    CHECK(strncmp(s.peer, "127.0.0.1:", 10) == 0);
    tsend(fd, HB01);
    EXPECT_FRAME(fd, HB01_ACK);
    tsend(fd, LOGOUT01);
    EXPECT_FRAME(fd, LOGOUT01_ACK);
    CHECK_EQ_INT(take_env(&r, MF_ENV_SESSION, &e, &s, 5000), 0);
    CHECK_EQ_INT(s.state, MF_SESSION_OFFLINE);
    CHECK_EQ_INT(s.reason, MF_OFF_LOGOUT);
    close(fd);

    /* 2013 heartbeat with the clock: confirm-02 style (F1) and a clock envelope. */
    fd = tconnect(r.port);
    tsend(fd, LOGIN24);
    EXPECT_FRAME(fd, LOGIN24_ACK);
    tsend(fd, HB02);
    EXPECT_FRAME(fd, HB02_ACK);
    do {
        CHECK_EQ_INT(take_env(&r, MF_ENV_SESSION, &e, &s, 5000), 0);
    } while (s.state == MF_SESSION_ONLINE);
    CHECK_EQ_INT(s.state, MF_SESSION_CLOCK);
    CHECK_EQ_INT(s.has_clock, 1);
    /* 2019-07-03 17:48:22 local: the offset is the terminal clock minus ours. */
    struct mf_civil c = { 2019, 7, 3, 17, 48, 22 };
    int64_t want = mf_civil_to_utc(&c) - (int64_t)(mf_now_us() / 1000000u);
    CHECK(s.clock_offset_s - want <= 5 && want - s.clock_offset_s <= 5);
    close(fd);

    /* F3 per-item style for a configured terminal: heartbeat-03 -> exactly confirm-03. */
    fd = tconnect(r.port);
    tsend(fd, LOGIN21);
    EXPECT_FRAME(fd, LOGIN21_F3);
    tsend(fd, HB03);
    EXPECT_FRAME(fd, CONFIRM03);
    close(fd);
    rig_stop(&r);
}

MF_TEST(confirm_only_after_commit)
{
    struct rig r;
    struct mf_env e;
    struct mq_batch b;
    rig_start(&r, NULL);

    int fd = tconnect(r.port);
    tsend(fd, ERC14); /* before the login: dropped, never confirmed */
    tsend(fd, LOGIN96);
    EXPECT_FRAME(fd, LOGIN96_ACK);
    WAIT_STAT(r.f, drops[FRONT_DROP_BEFORE_LOGIN], 1);

    tsend(fd, ERC14);
    CHECK_EQ_INT(next_env(&r, MF_ENV_FRAME, &b, &e, 5000), 0);
    uint8_t raw[128];
    size_t n = hex(ERC14, raw);
    CHECK_EQ_INT(e.payload_len, (long long)n);
    CHECK_MEM(e.payload, raw, n);
    CHECK_EQ_INT(e.a1, 0x9612);
    CHECK_EQ_INT(e.a2, 0x3456);
    CHECK_EQ_INT(e.cmd_id, 0);
    CHECK_EQ_INT(e.front_id, 7);
    expect_nothing(fd, 300); /* the consumer holds the batch: not durable, no confirm */
    CHECK_EQ_INT(mq_commit(r.q, &b), 0);
    EXPECT_FRAME(fd, ERC14_ACK);

    /* A released batch is not durable: no confirm (the terminal will retransmit). */
    tsend(fd, ERC24);
    CHECK_EQ_INT(next_env(&r, MF_ENV_FRAME, &b, &e, 5000), 0);
    mq_batch_release(r.q, &b);
    WAIT_STAT(r.f, drops[FRONT_DROP_NOT_DURABLE], 1);
    expect_nothing(fd, 200);
    /* The retransmission is confirmed once committed. */
    tsend(fd, ERC24);
    CHECK_EQ_INT(next_env(&r, MF_ENV_FRAME, &b, &e, 5000), 0);
    CHECK_EQ_INT(mq_commit(r.q, &b), 0);
    EXPECT_FRAME(fd, ERC24_ACK);

    WAIT_STAT(r.f, confirms, 2);
    struct front_stats *st = malloc(sizeof(*st));
    front_stats_get(r.f, st);
    CHECK_EQ_INT(st->confirms, 2);
    CHECK_EQ_INT(st->confirm_latency_us.count, 2);
    free(st);
    close(fd);
    rig_stop(&r);
}

/* Split into single bytes, then coalesced with garbage between frames. */
MF_TEST(split_coalesced_and_garbage)
{
    struct rig r;
    struct mf_env e;
    struct mq_batch b;
    uint8_t buf[512];
    rig_start(&r, NULL);

    int fd = tconnect(r.port);
    size_t n = hex(LOGIN96, buf);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT(write(fd, buf + i, 1), 1);
        struct timespec ts = { 0, 200000 };
        nanosleep(&ts, NULL);
    }
    EXPECT_FRAME(fd, LOGIN96_ACK);
    /* garbage, a frame with a bad checksum, ERC14, garbage, ERC24 in one write */
    size_t k = hex("00 11 68 22 16 FE FE", buf);
    k += hex("68 32 00 32 00 68 C9 12 96 56 34 00 02 71 00 00 01 00 70 16", buf + k);
    k += hex(ERC14, buf + k);
    k += hex("99 68", buf + k);
    k += hex(ERC24, buf + k);
    CHECK_EQ_INT(write(fd, buf, k), (long long)k);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(next_env(&r, MF_ENV_FRAME, &b, &e, 5000), 0);
        CHECK_EQ_INT(e.payload[13], i == 0 ? 0x70 : 0x75); /* SEQ: order kept */
        CHECK_EQ_INT(mq_commit(r.q, &b), 0);
        EXPECT_FRAME(fd, i == 0 ? ERC14_ACK : ERC24_ACK);
    }
    struct front_stats *st = malloc(sizeof(*st));
    front_stats_get(r.f, st);
    CHECK(st->drops[FRONT_DROP_GARBAGE] >= 7 + 20 + 2);
    free(st);
    close(fd);
    rig_stop(&r);
}

/* Frames that arrive in one segment are answered with one write (the answers gathered
 * while the read is handled), byte for byte and in order: heartbeat-01 three times in one
 * write -> three confirm-01 answers, the front's write counter up by exactly one. */
MF_TEST(answers_to_one_segment_share_one_write)
{
    struct rig r;
    uint8_t buf[128];
    rig_start(&r, NULL);

    int fd = tconnect(r.port);
    tsend(fd, LOGIN01);
    EXPECT_FRAME(fd, LOGIN01_ACK);
    struct front_stats *st = malloc(sizeof(*st));
    front_stats_get(r.f, st);
    uint64_t writes0 = st->writes, out0 = st->frames_out;
    size_t k = 0;
    for (int i = 0; i < 3; i++)
        k += hex(HB01, buf + k);
    CHECK_EQ_INT(write(fd, buf, k), (long long)k); /* one loopback segment: one read */
    for (int i = 0; i < 3; i++)
        EXPECT_FRAME(fd, HB01_ACK);
    front_stats_get(r.f, st);
    CHECK_EQ_INT(st->frames_out - out0, 3);
    CHECK_EQ_INT(st->writes - writes0, 1);
    free(st);
    close(fd);
    rig_stop(&r);
}

MF_TEST(second_login_replaces_first)
{
    static const char *const sets[] = { "front.threads=2", NULL };
    struct rig r;
    struct mf_env e;
    struct mf_env_session s;
    rig_start(&r, sets);

    int fd1 = tconnect(r.port);
    tsend(fd1, LOGIN01);
    EXPECT_FRAME(fd1, LOGIN01_ACK);
    CHECK_EQ_INT(take_env(&r, MF_ENV_SESSION, &e, &s, 5000), 0);
    uint64_t first = e.conn_id;
    int fd2 = tconnect(r.port);
    tsend(fd2, LOGIN01);
    EXPECT_FRAME(fd2, LOGIN01_ACK);
    expect_closed(fd1, 5000);
    /* offline "replaced" for the first connection comes before the second's online */
    CHECK_EQ_INT(take_env(&r, MF_ENV_SESSION, &e, &s, 5000), 0);
    CHECK_EQ_INT(s.state, MF_SESSION_OFFLINE);
    CHECK_EQ_INT(s.reason, MF_OFF_REPLACED);
    CHECK_EQ_INT(e.conn_id, first);
    CHECK_EQ_INT(take_env(&r, MF_ENV_SESSION, &e, &s, 5000), 0);
    CHECK_EQ_INT(s.state, MF_SESSION_ONLINE);
    CHECK(e.conn_id != first);
    tsend(fd2, HB01); /* the second session lives on */
    EXPECT_FRAME(fd2, HB01_ACK);
    WAIT_STAT(r.f, replaced, 1);
    close(fd1);
    close(fd2);
    rig_stop(&r);
}

MF_TEST(liveness_timeout_closes)
{
    static const char *const sets[] = { "front.heartbeat_period_s=1", "front.liveness_misses=1",
                                        "front.liveness_slack_s=0", NULL };
    struct rig r;
    struct mf_env e;
    struct mf_env_session s;
    rig_start(&r, sets);

    int fd = tconnect(r.port);
    tsend(fd, LOGIN01);
    EXPECT_FRAME(fd, LOGIN01_ACK);
    expect_closed(fd, 5000);
    do {
        CHECK_EQ_INT(take_env(&r, MF_ENV_SESSION, &e, &s, 5000), 0);
    } while (s.state == MF_SESSION_ONLINE);
    CHECK_EQ_INT(s.state, MF_SESSION_OFFLINE);
    CHECK_EQ_INT(s.reason, MF_OFF_TIMEOUT);
    WAIT_STAT(r.f, timeouts, 1);
    close(fd);
    rig_stop(&r);
}

MF_TEST(unknown_terminal_denied)
{
    static const char *const sets[] = { "front.accept_unknown=false", NULL };
    struct rig r;
    char path[] = "/tmp/mf-front-allow-XXXXXX";
    int afd = mkstemp(path);
    CHECK(afd >= 0);
    CHECK(write(afd, "# registered\n9612-3456\n", 23) == 23);
    close(afd);
    char set[96];
    snprintf(set, sizeof(set), "front.allow_file=%s", path);
    const char *const sets2[] = { sets[0], set, NULL };
    rig_start(&r, sets2);

    int fd = tconnect(r.port);
    tsend(fd, LOGIN01); /* 0171-0822 is not in the file: AFN=00 F2 deny, then closed */
    EXPECT_FRAME(fd, "68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 02 00 11 16");
    expect_closed(fd, 5000);
    close(fd);
    fd = tconnect(r.port);
    tsend(fd, LOGIN96);
    EXPECT_FRAME(fd, LOGIN96_ACK);
    WAIT_STAT(r.f, drops[FRONT_DROP_DENIED], 1);
    close(fd);
    unlink(path);
    rig_stop(&r);
}

/* Request -> timeout; request -> ignored -> retransmission (same bytes) -> answer; control
 * request denied; command for a terminal nobody holds; malformed command. */
MF_TEST(commands_answer_retry_timeout_deny_offline)
{
    static const char *const sets[] = { "front.single=true", "front.event_read=false", NULL };
    struct rig r;
    struct mf_env e;
    struct mf_env_cmd_status cs;
    struct mq_batch b;
    rig_start(&r, sets);

    int fd = tconnect(r.port);
    tsend(fd, LOGIN01);
    EXPECT_FRAME(fd, LOGIN01_ACK);
    WAIT_STAT(r.f, logins, 1);

    send_cmd(&r, "{\"cmd_id\": 41, \"terminal\": \"0171-0822\", \"afn\": 12, "
                 "\"units_hex\": \"01 01 01 10\", \"timeout_ms\": 200, \"retries\": 0}");
    EXPECT_FRAME(fd, REQ1);
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 41);
    CHECK_EQ_INT(cs.state, MF_CMD_SENT);
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 41);
    CHECK_EQ_INT(cs.state, MF_CMD_TIMEOUT);
    CHECK_EQ_INT(cs.attempts, 1);

    send_cmd(&r, "{\"cmd_id\": 42, \"terminal\": \"0171-0822\", \"afn\": 12, "
                 "\"units_hex\": \"01 01 01 10\", \"con\": false, \"timeout_ms\": 300, "
                 "\"retries\": 1, \"tp_delay_min\": 0}");
    EXPECT_FRAME(fd, REQ2); /* ignored by the terminal */
    EXPECT_FRAME(fd, REQ2); /* the retransmission: same PSEQ, same bytes */
    tsend(fd, RSP2);
    CHECK_EQ_INT(next_env(&r, MF_ENV_FRAME, &b, &e, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 42);
    CHECK_EQ_INT(e.msa, 1);
    uint8_t raw[256];
    size_t n = hex(RSP2, raw);
    CHECK_EQ_INT(e.payload_len, (long long)n);
    CHECK_MEM(e.payload, raw, n);
    CHECK_EQ_INT(mq_commit(r.q, &b), 0);
    do {
        CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    } while (cs.state == MF_CMD_SENT);
    CHECK_EQ_INT(e.cmd_id, 42);
    CHECK_EQ_INT(cs.state, MF_CMD_ANSWERED);
    CHECK_EQ_INT(cs.attempts, 2);
    expect_nothing(fd, 100); /* CON=0 answer: no confirm */

    send_cmd(&r, "{\"cmd_id\": 43, \"terminal\": \"0171-0822\", \"afn\": 5, "
                 "\"units_hex\": \"00 00 01 06 01\", \"con\": true}");
    EXPECT_FRAME(fd, REQ3);
    tsend(fd, DENY3);
    do {
        CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    } while (cs.state == MF_CMD_SENT);
    CHECK_EQ_INT(e.cmd_id, 43);
    CHECK_EQ_INT(cs.state, MF_CMD_DENIED);

    send_cmd(&r, "{\"cmd_id\": 44, \"terminal\": \"0171-9999\", \"afn\": 12, "
                 "\"units_hex\": \"01 01 01 10\"}");
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 44);
    CHECK_EQ_INT(cs.state, MF_CMD_OFFLINE);
    CHECK_EQ_INT(e.a2, 0x9999);

    send_cmd(&r, "{\"cmd_id\": 45, \"terminal\": \"0171-0822\", \"afn\": 2, "
                 "\"units_hex\": \"00 00 01 00\"}");
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 45);
    CHECK_EQ_INT(cs.state, MF_CMD_FAILED);
    CHECK(strstr(cs.detail, "afn") != NULL);
    send_cmd(&r, "{\"cmd_id\": 46, \"terminal\": \"0171-0822\", \"afn\": 12, "
                 "\"units_hex\": \"01 01 01 10\", \"retries\": \"3\"}");
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 46);
    CHECK_EQ_INT(cs.state, MF_CMD_FAILED);

    /* expires_at in the past (1 = 1970): never sent, failed as expired; in the future: sent */
    send_cmd(&r, "{\"cmd_id\": 47, \"terminal\": \"0171-0822\", \"afn\": 12, "
                 "\"units_hex\": \"01 01 01 10\", \"expires_at\": 1}");
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 47);
    CHECK_EQ_INT(cs.state, MF_CMD_FAILED);
    CHECK(strstr(cs.detail, "expired") != NULL);
    expect_nothing(fd, 100);
    send_cmd(&r, "{\"cmd_id\": 48, \"terminal\": \"0171-0822\", \"afn\": 12, "
                 "\"units_hex\": \"01 01 01 10\", \"timeout_ms\": 200, \"retries\": 0, "
                 "\"expires_at\": 4102444800}");
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(e.cmd_id, 48);
    CHECK_EQ_INT(cs.state, MF_CMD_SENT);
    close(fd);
    rig_stop(&r);
}

/* ACD=1 in a login with EC1=28 starts an event read (AFN=0E F1, Pm=12, Pn=28). */
MF_TEST(acd_triggers_event_read)
{
    struct rig r;
    rig_start(&r, NULL);
    int fd = tconnect(r.port);
    tsend(fd, LOGIN02);
    EXPECT_FRAME(fd, LOGIN24_ACK);
    EXPECT_FRAME(fd, EVREAD);
    close(fd);
    rig_stop(&r);
}

/* ---- limits and backpressure ---- */

/* Drain uplink, committing everything, until `want` frame envelopes were seen. */
static int drain_frames(struct rig *r, int want, int ms)
{
    struct mq_batch b;
    struct mf_env e;
    int seen = 0;
    uint64_t end = now_ms() + (uint64_t)ms;
    while (seen < want && now_ms() < end) {
        if (mq_consumer_poll(r->c, &b, 16, 50) != 0 || b.n == 0)
            continue;
        for (size_t i = 0; i < b.n; i++)
            if (mf_env_decode(b.msgs[i].val, b.msgs[i].val_len, &e) == 0 &&
                e.kind == MF_ENV_FRAME)
                seen++;
        mq_commit(r->q, &b);
    }
    return seen;
}

/* Start the rig with `sets`, log terminal 96 in and send six ERC14 reports at once; returns
 * the connection once the front has stopped reading it (backpressure). */
static int login_and_block(struct rig *r, const char *const *sets)
{
    uint8_t buf[1024];
    rig_start(r, sets);
    int fd = tconnect(r->port);
    tsend(fd, LOGIN96);
    EXPECT_FRAME(fd, LOGIN96_ACK);
    size_t k = 0;
    for (int i = 0; i < 6; i++)
        k += erc14_nth(i, buf + k);
    CHECK_EQ_INT(write(fd, buf, k), (long long)k);
    WAIT_STAT(r->f, backpressure, 1); /* the connection stopped reading */
    return fd;
}

static void backpressure_case(const char *const *sets)
{
    struct rig r;
    int fd = login_and_block(&r, sets);
    CHECK_EQ_INT(drain_frames(&r, 6, 5000), 6);
    for (int i = 0; i < 6; i++) /* every frame was kept and is confirmed once durable */
        EXPECT_FRAME(fd, ERC14_ACK);
    WAIT_STAT(r.f, confirms, 6);
    close(fd);
    rig_stop(&r);
}

MF_TEST(backpressure_queue_full_keeps_frames)
{
    static const char *const sets[] = { "queue.embedded_max_msgs=3", NULL };
    backpressure_case(sets);
}

MF_TEST(backpressure_inflight_cap_keeps_frames)
{
    static const char *const sets[] = { "front.max_inflight=2", NULL };
    backpressure_case(sets);
}

/* A connection the front stopped reading (backpressure) is not closed for a missing
 * heartbeat: its heartbeats would wait unread behind its held frames. Liveness is 1 s, the
 * store (the test consumer) commits nothing for 2.5 s: the connection stays open, nothing is
 * confirmed meanwhile, and every frame is confirmed once durable. Without the !blocked in
 * front_sess_check the front closed it after ~1 s (timeouts 1, no confirm). */
MF_TEST(backpressure_outlives_liveness)
{
    static const char *const sets[] = { "front.max_inflight=2", "front.heartbeat_period_s=1",
                                        "front.liveness_misses=1", "front.liveness_slack_s=0",
                                        NULL };
    struct rig r;
    struct front_stats st;
    int fd = login_and_block(&r, sets);
    expect_nothing(fd, 2500); /* > liveness + a sweep: neither a confirm nor a close */
    front_stats_get(r.f, &st);
    CHECK_EQ_INT(st.timeouts, 0);
    CHECK_EQ_INT(drain_frames(&r, 6, 5000), 6);
    for (int i = 0; i < 6; i++)
        EXPECT_FRAME(fd, ERC14_ACK);
    WAIT_STAT(r.f, confirms, 6);
    close(fd);
    rig_stop(&r);
}

MF_TEST(limit_max_connections)
{
    static const char *const sets[] = { "front.max_connections=2", NULL };
    struct rig r;
    rig_start(&r, sets);
    int a = tconnect(r.port), b = tconnect(r.port);
    WAIT_STAT(r.f, conns_open, 2);
    int c = tconnect(r.port);
    expect_closed(c, 5000);
    WAIT_STAT(r.f, drops[FRONT_DROP_MAX_CONN], 1);
    tsend(a, LOGIN01); /* the admitted ones still work */
    EXPECT_FRAME(a, LOGIN01_ACK);
    close(a);
    close(b);
    close(c);
    rig_stop(&r);
}

MF_TEST(limit_garbage_and_slow_partial)
{
    static const char *const sets[] = { "front.max_garbage_bytes=64",
                                        "front.partial_timeout_ms=100", NULL };
    struct rig r;
    uint8_t zeros[100];
    rig_start(&r, sets);
    int fd = tconnect(r.port);
    memset(zeros, 0x11, sizeof(zeros));
    CHECK_EQ_INT(write(fd, zeros, sizeof(zeros)), (long long)sizeof(zeros));
    expect_closed(fd, 5000);
    WAIT_STAT(r.f, drops[FRONT_DROP_GARBAGE_CLOSE], 1);
    close(fd);
    fd = tconnect(r.port);
    CHECK_EQ_INT(write(fd, "\x68\x32\x00\x32\x00\x68\xC9", 7), 7); /* and nothing more */
    expect_closed(fd, 5000);
    WAIT_STAT(r.f, drops[FRONT_DROP_SLOW], 1);
    close(fd);
    rig_stop(&r);
}

MF_TEST(limit_frames_per_sec)
{
    static const char *const sets[] = { "front.frames_per_sec=1", NULL };
    struct rig r;
    uint8_t buf[1024];
    rig_start(&r, sets);
    int fd = tconnect(r.port);
    tsend(fd, LOGIN96);
    EXPECT_FRAME(fd, LOGIN96_ACK);
    size_t k = 0;
    for (int i = 0; i < 5; i++)
        k += erc14_nth(i, buf + k);
    CHECK_EQ_INT(write(fd, buf, k), (long long)k);
    /* burst of 2 s x 1 frame/s: two pass, three are dropped unconfirmed */
    WAIT_STAT(r.f, drops[FRONT_DROP_RATE], 3);
    CHECK_EQ_INT(drain_frames(&r, 2, 5000), 2);
    EXPECT_FRAME(fd, ERC14_ACK);
    EXPECT_FRAME(fd, ERC14_ACK);
    expect_nothing(fd, 100);
    close(fd);
    rig_stop(&r);
}

MF_TEST(limit_login_rate_per_address)
{
    static const char *const sets[] = { "front.login_per_min=2", NULL };
    struct rig r;
    rig_start(&r, sets);
    int a = tconnect(r.port), b = tconnect(r.port), c = tconnect(r.port);
    tsend(a, LOGIN01);
    EXPECT_FRAME(a, LOGIN01_ACK);
    tsend(b, LOGIN96);
    EXPECT_FRAME(b, LOGIN96_ACK);
    tsend(c, LOGIN21);
    expect_closed(c, 5000);
    WAIT_STAT(r.f, drops[FRONT_DROP_LOGIN_RATE], 1);
    close(a);
    close(b);
    close(c);
    rig_stop(&r);
}

/* [front] login_trusted_nets: an APN gateway's NAT (here 127.0.0.77, and 127.0.0.64/26 with
 * its own limit) logs in more terminals per minute than login_per_min = 1, while any other
 * address (127.0.0.1) is still held to it and keeps its own budget. */
MF_TEST(limit_login_rate_trusted_nets)
{
    static const char *const sets[] = { "front.login_per_min=1",
                                        "front.login_trusted_nets=127.0.0.77, 127.0.0.64/26",
                                        "front.login_trusted_per_min=2", NULL };
    static const char *const open_sets[] = { "front.login_per_min=1",
                                             "front.login_trusted_nets=127.0.0.77/32", NULL };
    struct rig r;
    rig_start(&r, sets);
    int g1 = tconnect_from(r.port, "127.0.0.77"), g2 = tconnect_from(r.port, "127.0.0.77");
    tsend(g1, LOGIN01);
    EXPECT_FRAME(g1, LOGIN01_ACK);
    tsend(g2, LOGIN96);
    EXPECT_FRAME(g2, LOGIN96_ACK); /* 2 > login_per_min: trusted */
    int g3 = tconnect_from(r.port, "127.0.0.77");
    tsend(g3, LOGIN24);
    expect_closed(g3, 5000);       /* login_trusted_per_min = 2 holds */
    WAIT_STAT(r.f, drops[FRONT_DROP_LOGIN_RATE], 1);
    int a = tconnect(r.port), b = tconnect(r.port);
    tsend(a, LOGIN24);
    EXPECT_FRAME(a, LOGIN24_ACK); /* 127.0.0.1 kept its own budget of 1 */
    tsend(b, LOGIN21);
    expect_closed(b, 5000);
    WAIT_STAT(r.f, drops[FRONT_DROP_LOGIN_RATE], 2);
    close(g1); close(g2); close(g3); close(a); close(b);
    rig_stop(&r);

    rig_start(&r, open_sets); /* login_trusted_per_min = 0 (default): unlimited */
    int t[3] = { tconnect_from(r.port, "127.0.0.77"), tconnect_from(r.port, "127.0.0.77"),
                 tconnect_from(r.port, "127.0.0.77") };
    tsend(t[0], LOGIN01);
    EXPECT_FRAME(t[0], LOGIN01_ACK);
    tsend(t[1], LOGIN96);
    EXPECT_FRAME(t[1], LOGIN96_ACK);
    tsend(t[2], LOGIN24);
    EXPECT_FRAME(t[2], LOGIN24_ACK);
    int c = tconnect_from(r.port, "127.0.0.78"), d = tconnect_from(r.port, "127.0.0.78");
    tsend(c, LOGIN21); /* 127.0.0.78 is outside 127.0.0.77/32: one login a minute */
    EXPECT_FRAME(c, LOGIN21_ACK);
    tsend(d, LOGIN01);
    expect_closed(d, 5000);
    WAIT_STAT(r.f, drops[FRONT_DROP_LOGIN_RATE], 1);
    close(c); close(d);
    for (int i = 0; i < 3; i++)
        close(t[i]);
    rig_stop(&r);
}

MF_TEST(config_errors)
{
    char err[256] = "";
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    mf_config_set(cfg, "front", "max_buffered_bytes", "1000", "test", err, sizeof(err));
    struct front *f = front_new(cfg, NULL, err, sizeof(err));
    CHECK(f == NULL);
    CHECK(strstr(err, "max_buffered_bytes") != NULL);
    mf_config_set(cfg, "front", "max_buffered_bytes", "65536", "test", err, sizeof(err));
    mf_config_set(cfg, "front", "f3_terminals", "4403-00G1", "test", err, sizeof(err));
    f = front_new(cfg, NULL, err, sizeof(err));
    CHECK(f == NULL);
    CHECK(strstr(err, "f3_terminals") != NULL);
    mf_config_set(cfg, "front", "f3_terminals", "", "test", err, sizeof(err));
    CHECK_EQ_INT(mf_config_set(cfg, "front", "login_trusted_nets", "10.20.0.0/16, 10.30.0.0/33",
                               "test", err, sizeof(err)), 0);
    err[0] = 0;
    f = front_new(cfg, NULL, err, sizeof(err));
    CHECK(f == NULL); /* a bad CIDR stops start-up, naming the key and the item */
    CHECK(strstr(err, "[front] login_trusted_nets") != NULL);
    CHECK(strstr(err, "10.30.0.0/33") != NULL);
    mf_config_free(cfg);
}

/* max_frame_bytes = 36: ERC14 (36 bytes) passes, ERC24 (40 bytes) is skipped as garbage. */
MF_TEST(limit_max_frame_bytes)
{
    static const char *const sets[] = { "front.max_frame_bytes=36", NULL };
    struct rig r;
    struct mf_env e;
    struct mq_batch b;
    uint8_t buf[256];
    rig_start(&r, sets);
    int fd = tconnect(r.port);
    tsend(fd, LOGIN96);
    EXPECT_FRAME(fd, LOGIN96_ACK);
    size_t k = hex(ERC24, buf);
    k += hex(ERC14, buf + k);
    CHECK_EQ_INT(write(fd, buf, k), (long long)k);
    CHECK_EQ_INT(next_env(&r, MF_ENV_FRAME, &b, &e, 5000), 0);
    CHECK_EQ_INT(e.payload_len, 36);
    CHECK_EQ_INT(mq_commit(r.q, &b), 0);
    EXPECT_FRAME(fd, ERC14_ACK);
    expect_nothing(fd, 100);
    WAIT_STAT(r.f, drops[FRONT_DROP_GARBAGE], 40);
    close(fd);
    rig_stop(&r);
}
