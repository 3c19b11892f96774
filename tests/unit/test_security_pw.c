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
#include "meterflow/sec.h"
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

static int test_pw(void *opaque, const struct front_pw_req *rq, uint8_t *out, size_t pw_len)
{
    (void)opaque;
    pw_seen.calls++;
    pw_seen.a1 = rq->a1;
    pw_seen.a2 = rq->a2;
    pw_seen.afn = rq->afn;
    pw_seen.len = pw_len;
    for (size_t i = 0; i < pw_len; i++)
        out[i] = (uint8_t)(i + 1);
    return 0;
}

static const char *const SETS[] = { "front.single=true", "front.event_read=false", NULL };

/* Log terminal 0171-0822 in and wait until the front holds its session (the login is
 * published before that: its envelope is the signal). Returns the terminal's socket. */
static int login01(struct rig *r)
{
    struct mf_env e;
    struct mf_env_session s;
    int fd = tconnect(r->port);
    tsend(fd, LOGIN01);
    EXPECT_FRAME(fd, LOGIN01_ACK);
    CHECK_EQ_INT(take_env(r, MF_ENV_SESSION, &e, &s, 5000), 0);
    return fd;
}

MF_TEST(pw_provider_fills_downlink_pw)
{
    struct rig r;
    rig_start_pw(&r, SETS, test_pw);

    int fd = login01(&r);
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


/* ---- the [security] key source (src/sec) behind the same hook ---- */

/* A key file of `text` in /tmp, mode 0600 (mkstemp's); path[] receives its name. */
static void keyfile(char *path, const char *text)
{
    int kfd = mkstemp(path);
    CHECK(kfd >= 0);
    CHECK_EQ_INT(write(kfd, text, strlen(text)), (long long)strlen(text));
    close(kfd);
}

/* sec_pw_new from [security] settings; fails the test with its message if refused. */
static struct sec_pw *pw_from(const char *mode, const char *path, const char *mac_len)
{
    static const struct mf_cfg_item *const tables[] = { sec_cfg, NULL };
    char err[512] = "";
    struct mf_config *cfg = mf_config_new(tables, NULL);
    CHECK_EQ_INT(mf_config_set(cfg, "security", "pw_mode", mode, "t", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "security", "pw_key_file", path, "t", err, sizeof(err)), 0);
    if (mac_len)
        CHECK_EQ_INT(mf_config_set(cfg, "security", "pw_mac_len", mac_len, "t", err, sizeof(err)),
                     0);
    struct sec_pw *p = sec_pw_new(cfg, err, sizeof(err));
    if (!p)
        mf_test_fail(__FILE__, __LINE__, "sec_pw_new: %s", err);
    mf_config_free(cfg);
    return p;
}

static const char *CMD49 = "{\"cmd_id\": 7, \"terminal\": \"0171-0822\", \"afn\": 5, "
                           "\"units_hex\": \"00 00 01 06 01\", \"con\": true}";

/* The provider of `mode` over a key file holding `keys`, installed on the front: AFN=05 F49
 * to terminal 0171-0822 must reach it as `expect` (written by hand). */
static void pw_on_the_wire(const char *mode, const char *keys, const char *expect)
{
    char path[] = "/tmp/mf-pw-wire-XXXXXX";
    keyfile(path, keys);
    struct sec_pw *p = pw_from(mode, path, NULL);
    struct rig r;
    rig_start_pwo(&r, SETS, sec_pw_fill, p);
    int fd = login01(&r);
    send_cmd(&r, CMD49);
    EXPECT_FRAME(fd, expect);
    close(fd);
    rig_stop(&r);
    sec_pw_free(p);
    unlink(path);
}

/* pw_mode = file: the PW on the wire is the terminal's line of the key file, as typed.
 * CS = 0x166 (header and unit, see the top) + A1+B2+...+90 (0x7F8) = 0x95E -> 5E. */
MF_TEST(pw_file_mode_puts_the_terminals_bytes_on_the_wire)
{
    pw_on_the_wire("file",
                   "# PW per terminal\n"
                   "0171-0822 A1B2C3D4E5F60718293A4B5C6D7E8F90\n"
                   "default   FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n",
                   "68 76 00 76 00 68 4A 71 01 22 08 02 05 71 00 00 01 06 01 "
                   "A1 B2 C3 D4 E5 F6 07 18 29 3A 4B 5C 6D 7E 8F 90 5E 16");
}

/* pw_mode = hmac: PW = the first 4 bytes of HMAC-SHA256(key, user data with PW zero), then 12
 * zero bytes. The expected MAC is not ours: computed when the test was written with
 *   printf '4A710122080205710000010601%032d' 0 | xxd -r -p | openssl dgst -sha256 -mac HMAC \
 *     -macopt hexkey:00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210
 *   -> f0b9f68776352307571521373d8340227a072f4d4d98f3254cd4d1a3082b9f00
 * (Python's hmac gives the same). CS = 0x166 + F0+B9+F6+87 (0x326) = 0x48C -> 8C. */
MF_TEST(pw_hmac_mode_puts_a_truncated_hmac_of_the_user_data_on_the_wire)
{
    pw_on_the_wire("hmac",
                   "0171-0822 00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210\n",
                   "68 76 00 76 00 68 4A 71 01 22 08 02 05 71 00 00 01 06 01 "
                   "F0 B9 F6 87 00 00 00 00 00 00 00 00 00 00 00 00 8C 16");
}

/* A terminal without a key and no default line: the command fails naming why, and no frame
 * reaches the terminal (zeros are never sent in its place). */
MF_TEST(pw_missing_key_fails_the_command_and_sends_nothing)
{
    char path[] = "/tmp/mf-pw-miss-XXXXXX";
    keyfile(path, "4403-0001 A1B2C3D4E5F60718293A4B5C6D7E8F90\n");
    struct sec_pw *p = pw_from("file", path, NULL);
    struct rig r;
    rig_start_pwo(&r, SETS, sec_pw_fill, p);
    int fd = login01(&r);
    send_cmd(&r, CMD49);
    struct mf_env e;
    struct mf_env_cmd_status cs;
    CHECK_EQ_INT(take_env(&r, MF_ENV_CMD_STATUS, &e, &cs, 5000), 0);
    CHECK_EQ_INT(cs.state, MF_CMD_FAILED);
    CHECK_STR(cs.detail, "no PW key for the terminal");
    uint8_t got[64];
    CHECK_EQ_INT(tread(fd, got, sizeof(got), 200), 0); /* the status came after the refusal */
    close(fd);
    rig_stop(&r);
    sec_pw_free(p);
    unlink(path);
}
