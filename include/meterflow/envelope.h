/* envelope.h -- what the front publishes on the `uplink` topic, keyed by terminal
 * ("RRRR-TTTT"), and what the worker consumes. Binary, little-endian, versioned:
 *
 *   off len  field
 *   0   2    magic "MF"
 *   2   1    version (1)
 *   3   1    kind (enum mf_env_kind)
 *   4   8    received_at_us (wall clock, UTC microseconds)
 *   12  8    conn_id (front-local connection serial)
 *   20  8    cmd_id (0 = none; the command this frame answers / this status is about)
 *   28  2    front_id ([meterflow] node_id of the front)
 *   30  2    a1     \ terminal
 *   32  2    a2     /
 *   34  1    msa
 *   35  1    reserved (0)
 *   36  4    payload length P (<= MF_ENV_PAYLOAD_MAX)
 *   40  P    payload
 *
 * Decoding is strict: the total length must be exactly 40 + P, the reserved byte 0, the kind
 * known; anything else is MF_EINVAL (a newer producer bumps the version).
 *
 * Payload by kind:
 *   MF_ENV_FRAME       the raw 376.1 frame bytes, exactly as received
 *   MF_ENV_SESSION     struct mf_env_session, encoded by mf_env_session_encode:
 *                        off len  field
 *                        0   1    state (enum mf_session_state, 1..3)
 *                        1   1    reason (enum mf_offline_reason, 0..6)
 *                        2   1    known (0|1)
 *                        3   1    has_clock (0|1)
 *                        4   4    clock_offset_s (int32, little-endian; 0 when !has_clock)
 *                        8   1    peer length L (<= 63)
 *                        9   L    peer text (no NUL)
 *                      total 9 + L bytes, exactly.
 *   MF_ENV_CMD_STATUS  struct mf_env_cmd_status, encoded by mf_env_cmd_status_encode:
 *                        off len  field
 *                        0   1    state (enum mf_cmd_state, 0..6)
 *                        1   1    attempts
 *                        2   1    detail length L (<= 127)
 *                        3   L    detail text (no NUL)
 *                      total 3 + L bytes, exactly.
 * The payload encoders return the length written or MF_ERANGE (cap too small) / MF_EINVAL
 * (state out of range, text not NUL-terminated within its array); the decoders return 0 or
 * MF_EINVAL and always leave the text NUL-terminated.
 *
 * Downlink commands (web -> front) travel as JSON on the `downlink` topic; see
 * docs/QUEUE.md ("downlink") for the schema.
 *
 * Thread: pure functions, any thread. */
#ifndef MF_ENVELOPE_H
#define MF_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define MF_ENV_HDR_LEN 40u
#define MF_ENV_PAYLOAD_MAX (16383u + 8u + 256u)
#define MF_ENV_MAX (MF_ENV_HDR_LEN + MF_ENV_PAYLOAD_MAX)
#define MF_ENV_VERSION 1u
#define MF_ENV_SESSION_MAX (9u + 63u)
#define MF_ENV_CMD_STATUS_MAX (3u + 127u)

enum mf_env_kind {
    MF_ENV_FRAME = 1,
    MF_ENV_SESSION = 2,
    MF_ENV_CMD_STATUS = 3,
};

struct mf_env {
    uint8_t kind;
    uint64_t received_at_us;
    uint64_t conn_id;
    uint64_t cmd_id;
    uint16_t front_id;
    uint16_t a1, a2;
    uint8_t msa;
    const uint8_t *payload; /* borrowed view */
    uint32_t payload_len;
};

/* Returns the encoded length, or MF_ERANGE if out is too small / payload over the cap,
 * MF_EINVAL for an unknown kind. e: borrowed; out: borrowed, cap bytes. */
int mf_env_encode(const struct mf_env *e, uint8_t *out, size_t cap);
/* 0, or MF_EINVAL (bad magic/version/kind/reserved, length mismatch, payload over the cap).
 * e->payload points into buf (borrowed from the caller's buf). */
int mf_env_decode(const uint8_t *buf, size_t len, struct mf_env *e);

enum mf_session_state { MF_SESSION_ONLINE = 1, MF_SESSION_OFFLINE = 2, MF_SESSION_CLOCK = 3 };

enum mf_offline_reason {
    MF_OFF_NONE = 0,
    MF_OFF_LOGOUT = 1,      /* AFN=02 F2 */
    MF_OFF_TIMEOUT = 2,     /* no heartbeat within the liveness window */
    MF_OFF_CLOSED = 3,      /* peer closed / connection error */
    MF_OFF_REPLACED = 4,    /* same terminal logged in on another connection */
    MF_OFF_KICKED = 5,      /* closed for a protocol or limit violation */
    MF_OFF_SHUTDOWN = 6,    /* front stopping */
};

struct mf_env_session {
    uint8_t state;           /* enum mf_session_state */
    uint8_t reason;          /* enum mf_offline_reason (offline only) */
    uint8_t known;           /* terminal is registered in master data (front's view) */
    int32_t clock_offset_s;  /* terminal clock - master clock; valid if has_clock */
    uint8_t has_clock;
    char peer[64];           /* "127.0.0.1:40000" */
};
int mf_env_session_encode(const struct mf_env_session *s, uint8_t *out, size_t cap);
int mf_env_session_decode(const uint8_t *p, size_t len, struct mf_env_session *s);

enum mf_cmd_state {
    MF_CMD_QUEUED = 0,
    MF_CMD_SENT = 1,
    MF_CMD_ANSWERED = 2,
    MF_CMD_DENIED = 3,    /* AFN=00 F2 from the terminal */
    MF_CMD_TIMEOUT = 4,   /* no answer after all retransmissions */
    MF_CMD_OFFLINE = 5,   /* terminal not connected to any front */
    MF_CMD_FAILED = 6,    /* could not be encoded / sent */
};
/* "queued", "sent", "answered", "denied", "timeout", "offline", "failed"; "unknown" for any
 * other value. Constant strings (the web API uses them verbatim). */
const char *mf_cmd_state_str(int state);

struct mf_env_cmd_status {
    uint8_t state;       /* enum mf_cmd_state */
    uint8_t attempts;    /* frames sent including retransmissions */
    char detail[128];
};
int mf_env_cmd_status_encode(const struct mf_env_cmd_status *s, uint8_t *out, size_t cap);
int mf_env_cmd_status_decode(const uint8_t *p, size_t len, struct mf_env_cmd_status *s);

#endif
