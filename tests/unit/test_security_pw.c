/* tsan: yes */
/* test_security_pw.c -- the PW provider hook (docs/SECURITY.md check 14): a downlink frame of an
 * AFN that carries PW (here AFN=05 F49, as in test_front_tcp.c's REQ3) gets the bytes the
 * provider writes, for the right terminal and AFN, and the checksum covers them. The front
 * runs over real TCP with the embedded queue (front_rig.h, the rig of test_front_tcp.c too);
 * the expected frame is written by hand:
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

static const char *LOGIN01 = "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16";
static const char *LOGIN01_ACK = "68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 01 00 10 16";
static const char *REQ_PW = "68 76 00 76 00 68 4A 71 01 22 08 02 05 71 00 00 01 06 01 01 02 03 "
                            "04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 EE 16";

/* the rig (server side) and the terminal side: front_rig.h, tcp_test_util.h */

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
    rig_start_pw(&r, sets, test_pw);

    int fd = tconnect(r.port);
    tsend(fd, LOGIN01);
    EXPECT_FRAME(fd, LOGIN01_ACK);
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
    EXPECT_FRAME(fd, REQ_PW);
    CHECK_EQ_INT(pw_seen.calls, 1);
    CHECK_EQ_INT(pw_seen.afn, 5);
    CHECK_EQ_INT(pw_seen.a2, 0x0822);
    CHECK_EQ_INT(pw_seen.len, 16);
    close(fd);
    rig_stop(&r);
}

