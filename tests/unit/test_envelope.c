/* test_envelope.c -- the uplink envelope and its payloads. Every expected byte string below
 * is written by hand from the layout tables in include/meterflow/envelope.h, never produced
 * by the encoder under test. */
#include <string.h>

#include "harness.h"
#include "meterflow/common.h"
#include "meterflow/envelope.h"

/* A FRAME envelope: received_at_us 0x0102030405060708, conn_id 7, cmd_id 0x1234, front_id 3,
 * terminal 4403-0012 (a1 0x4403, a2 0x0012), msa 0x21, payload "\x68\x16". */
static const uint8_t frame_env[] = {
    'M', 'F', 0x01, 0x01,                           /* magic, version 1, kind FRAME */
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* received_at_us LE */
    0x07, 0, 0, 0, 0, 0, 0, 0,                      /* conn_id */
    0x34, 0x12, 0, 0, 0, 0, 0, 0,                   /* cmd_id */
    0x03, 0x00,                                     /* front_id */
    0x03, 0x44,                                     /* a1 */
    0x12, 0x00,                                     /* a2 */
    0x21, 0x00,                                     /* msa, reserved */
    0x02, 0, 0, 0,                                  /* payload length */
    0x68, 0x16,
};

MF_TEST(env_encode_matches_layout)
{
    static const uint8_t payload[] = { 0x68, 0x16 };
    struct mf_env e = { .kind = MF_ENV_FRAME, .received_at_us = 0x0102030405060708ull,
                        .conn_id = 7, .cmd_id = 0x1234, .front_id = 3, .a1 = 0x4403,
                        .a2 = 0x0012, .msa = 0x21, .payload = payload, .payload_len = 2 };
    uint8_t out[64];

    CHECK_EQ_INT(sizeof(frame_env), 42);
    CHECK_EQ_INT(mf_env_encode(&e, out, sizeof(out)), 42);
    CHECK_MEM(out, frame_env, sizeof(frame_env));
    /* exactly enough room works, one byte less does not */
    CHECK_EQ_INT(mf_env_encode(&e, out, 42), 42);
    CHECK_EQ_INT(mf_env_encode(&e, out, 41), MF_ERANGE);
}

MF_TEST(env_decode_fields)
{
    struct mf_env e;

    CHECK_EQ_INT(mf_env_decode(frame_env, sizeof(frame_env), &e), 0);
    CHECK_EQ_INT(e.kind, MF_ENV_FRAME);
    CHECK(e.received_at_us == 0x0102030405060708ull);
    CHECK_EQ_INT(e.conn_id, 7);
    CHECK_EQ_INT(e.cmd_id, 0x1234);
    CHECK_EQ_INT(e.front_id, 3);
    CHECK_EQ_INT(e.a1, 0x4403);
    CHECK_EQ_INT(e.a2, 0x0012);
    CHECK_EQ_INT(e.msa, 0x21);
    CHECK_EQ_INT(e.payload_len, 2);
    CHECK(e.payload == frame_env + 40);
}

MF_TEST(env_decode_rejects)
{
    uint8_t b[sizeof(frame_env) + 1];
    struct mf_env e;

    CHECK_EQ_INT(mf_env_decode(frame_env, 39, &e), MF_EINVAL);               /* short header */
    CHECK_EQ_INT(mf_env_decode(frame_env, sizeof(frame_env) - 1, &e), MF_EINVAL); /* truncated */
    memcpy(b, frame_env, sizeof(frame_env));
    b[sizeof(frame_env)] = 0;
    CHECK_EQ_INT(mf_env_decode(b, sizeof(b), &e), MF_EINVAL);                /* trailing byte */
    memcpy(b, frame_env, sizeof(frame_env));
    b[0] = 'X';
    CHECK_EQ_INT(mf_env_decode(b, sizeof(frame_env), &e), MF_EINVAL);        /* magic */
    memcpy(b, frame_env, sizeof(frame_env));
    b[2] = 2;
    CHECK_EQ_INT(mf_env_decode(b, sizeof(frame_env), &e), MF_EINVAL);        /* version */
    memcpy(b, frame_env, sizeof(frame_env));
    b[3] = 0;
    CHECK_EQ_INT(mf_env_decode(b, sizeof(frame_env), &e), MF_EINVAL);        /* kind 0 */
    b[3] = 4;
    CHECK_EQ_INT(mf_env_decode(b, sizeof(frame_env), &e), MF_EINVAL);        /* kind 4 */
    memcpy(b, frame_env, sizeof(frame_env));
    b[35] = 1;
    CHECK_EQ_INT(mf_env_decode(b, sizeof(frame_env), &e), MF_EINVAL);        /* reserved */
    /* a length field of 0xFFFFFFFF must not wrap into a match */
    memcpy(b, frame_env, sizeof(frame_env));
    b[36] = b[37] = b[38] = b[39] = 0xFF;
    CHECK_EQ_INT(mf_env_decode(b, sizeof(frame_env), &e), MF_EINVAL);
}

MF_TEST(env_payload_cap)
{
    static uint8_t big[MF_ENV_MAX + 1];
    static uint8_t out[MF_ENV_MAX + 16];
    struct mf_env e = { .kind = MF_ENV_FRAME, .payload = big };
    struct mf_env d;

    CHECK_EQ_INT(MF_ENV_PAYLOAD_MAX, 16647);
    e.payload_len = MF_ENV_PAYLOAD_MAX;
    CHECK_EQ_INT(mf_env_encode(&e, out, sizeof(out)), 40 + 16647);
    CHECK_EQ_INT(mf_env_decode(out, 40 + 16647, &d), 0);
    e.payload_len = MF_ENV_PAYLOAD_MAX + 1;
    CHECK_EQ_INT(mf_env_encode(&e, out, sizeof(out)), MF_ERANGE);
    /* hand-made header claiming payload 16648 (0x4108) with that many bytes present */
    memset(out, 0, sizeof(out));
    memcpy(out, "MF\x01\x01", 4);
    out[36] = 0x08;
    out[37] = 0x41;
    CHECK_EQ_INT(mf_env_decode(out, 40 + 16648, &d), MF_EINVAL);
    e.kind = 9;
    e.payload_len = 0;
    CHECK_EQ_INT(mf_env_encode(&e, out, sizeof(out)), MF_EINVAL);
}

/* OFFLINE, reason TIMEOUT, known, clock offset -2 s, peer "1.2.3.4:5" */
static const uint8_t session_bytes[] = {
    0x02, 0x02, 0x01, 0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0x09,
    '1', '.', '2', '.', '3', '.', '4', ':', '5',
};

MF_TEST(session_encode_decode)
{
    struct mf_env_session s = { .state = MF_SESSION_OFFLINE, .reason = MF_OFF_TIMEOUT,
                                .known = 1, .clock_offset_s = -2, .has_clock = 1 };
    struct mf_env_session d;
    uint8_t out[MF_ENV_SESSION_MAX];

    memcpy(s.peer, "1.2.3.4:5", 10);
    CHECK_EQ_INT(mf_env_session_encode(&s, out, sizeof(out)), (int)sizeof(session_bytes));
    CHECK_MEM(out, session_bytes, sizeof(session_bytes));
    CHECK_EQ_INT(mf_env_session_encode(&s, out, sizeof(session_bytes) - 1), MF_ERANGE);

    CHECK_EQ_INT(mf_env_session_decode(session_bytes, sizeof(session_bytes), &d), 0);
    CHECK_EQ_INT(d.state, MF_SESSION_OFFLINE);
    CHECK_EQ_INT(d.reason, MF_OFF_TIMEOUT);
    CHECK_EQ_INT(d.known, 1);
    CHECK_EQ_INT(d.has_clock, 1);
    CHECK_EQ_INT(d.clock_offset_s, -2);
    CHECK_STR(d.peer, "1.2.3.4:5");
}

MF_TEST(session_rejects)
{
    uint8_t b[80];
    struct mf_env_session s;

    memcpy(b, session_bytes, sizeof(session_bytes));
    CHECK_EQ_INT(mf_env_session_decode(b, 8, &s), MF_EINVAL);
    CHECK_EQ_INT(mf_env_session_decode(b, sizeof(session_bytes) - 1, &s), MF_EINVAL);
    CHECK_EQ_INT(mf_env_session_decode(b, sizeof(session_bytes) + 1, &s), MF_EINVAL);
    b[0] = 0;
    CHECK_EQ_INT(mf_env_session_decode(b, sizeof(session_bytes), &s), MF_EINVAL);
    b[0] = 4;
    CHECK_EQ_INT(mf_env_session_decode(b, sizeof(session_bytes), &s), MF_EINVAL);
    memcpy(b, session_bytes, sizeof(session_bytes));
    b[1] = 7;
    CHECK_EQ_INT(mf_env_session_decode(b, sizeof(session_bytes), &s), MF_EINVAL);
    memcpy(b, session_bytes, sizeof(session_bytes));
    b[10] = 0; /* NUL inside the peer text */
    CHECK_EQ_INT(mf_env_session_decode(b, sizeof(session_bytes), &s), MF_EINVAL);
    /* peer length 64 does not fit peer[64] with its NUL, even with the bytes present */
    memset(b, 'x', sizeof(b));
    b[0] = 1;
    b[1] = 0;
    b[2] = 0;
    b[3] = 0;
    b[8] = 64;
    CHECK_EQ_INT(mf_env_session_decode(b, 9 + 64, &s), MF_EINVAL);
    b[8] = 63;
    CHECK_EQ_INT(mf_env_session_decode(b, 9 + 63, &s), 0);
    CHECK_EQ_INT(strlen(s.peer), 63);
    /* an unterminated peer array is refused by the encoder */
    memset(&s, 0, sizeof(s));
    s.state = MF_SESSION_ONLINE;
    memset(s.peer, 'a', sizeof(s.peer));
    CHECK_EQ_INT(mf_env_session_encode(&s, b, sizeof(b)), MF_EINVAL);
}

MF_TEST(session_no_clock_writes_zero_offset)
{
    struct mf_env_session s = { .state = MF_SESSION_ONLINE, .clock_offset_s = 99 };
    static const uint8_t want[] = { 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };
    uint8_t out[16];

    CHECK_EQ_INT(mf_env_session_encode(&s, out, sizeof(out)), 9);
    CHECK_MEM(out, want, sizeof(want));
}

/* TIMEOUT after 3 attempts, detail "no answer" */
static const uint8_t cmd_bytes[] = { 0x04, 0x03, 0x09, 'n', 'o', ' ', 'a', 'n', 's', 'w', 'e', 'r' };

MF_TEST(cmd_status_encode_decode)
{
    struct mf_env_cmd_status s = { .state = MF_CMD_TIMEOUT, .attempts = 3 };
    struct mf_env_cmd_status d;
    uint8_t out[MF_ENV_CMD_STATUS_MAX];
    uint8_t b[160];

    memcpy(s.detail, "no answer", 10);
    CHECK_EQ_INT(mf_env_cmd_status_encode(&s, out, sizeof(out)), (int)sizeof(cmd_bytes));
    CHECK_MEM(out, cmd_bytes, sizeof(cmd_bytes));
    CHECK_EQ_INT(mf_env_cmd_status_encode(&s, out, 11), MF_ERANGE);
    CHECK_EQ_INT(mf_env_cmd_status_decode(cmd_bytes, sizeof(cmd_bytes), &d), 0);
    CHECK_EQ_INT(d.state, MF_CMD_TIMEOUT);
    CHECK_EQ_INT(d.attempts, 3);
    CHECK_STR(d.detail, "no answer");

    CHECK_EQ_INT(mf_env_cmd_status_decode(cmd_bytes, 2, &d), MF_EINVAL);
    CHECK_EQ_INT(mf_env_cmd_status_decode(cmd_bytes, sizeof(cmd_bytes) - 1, &d), MF_EINVAL);
    memcpy(b, cmd_bytes, sizeof(cmd_bytes));
    b[0] = 7;
    CHECK_EQ_INT(mf_env_cmd_status_decode(b, sizeof(cmd_bytes), &d), MF_EINVAL);
    memset(b, 'y', sizeof(b));
    b[0] = 2;
    b[2] = 128;
    CHECK_EQ_INT(mf_env_cmd_status_decode(b, 3 + 128, &d), MF_EINVAL);
    b[2] = 127;
    CHECK_EQ_INT(mf_env_cmd_status_decode(b, 3 + 127, &d), 0);
    CHECK_EQ_INT(strlen(d.detail), 127);
    s.state = 7;
    CHECK_EQ_INT(mf_env_cmd_status_encode(&s, out, sizeof(out)), MF_EINVAL);
}

MF_TEST(cmd_state_names)
{
    CHECK_STR(mf_cmd_state_str(MF_CMD_QUEUED), "queued");
    CHECK_STR(mf_cmd_state_str(MF_CMD_SENT), "sent");
    CHECK_STR(mf_cmd_state_str(MF_CMD_ANSWERED), "answered");
    CHECK_STR(mf_cmd_state_str(MF_CMD_DENIED), "denied");
    CHECK_STR(mf_cmd_state_str(MF_CMD_TIMEOUT), "timeout");
    CHECK_STR(mf_cmd_state_str(MF_CMD_OFFLINE), "offline");
    CHECK_STR(mf_cmd_state_str(MF_CMD_FAILED), "failed");
    CHECK_STR(mf_cmd_state_str(7), "unknown");
    CHECK_STR(mf_cmd_state_str(-1), "unknown");
}
