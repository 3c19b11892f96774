/* envelope.c -- the binary envelope of the `uplink` topic and its two structured payloads
 * (session change, command status). The layouts are written out in envelope.h; this file is
 * their only reader and writer.
 *
 * Invariants: every read is preceded by a length check against the bytes given; every length
 * read from a buffer is checked against its cap before it bounds a copy or a loop; decoded
 * text is always NUL-terminated. Little-endian on the wire, independent of the host.
 * Who calls: the front (encode), the worker and `meterflow decode` (decode).
 * Thread: pure functions, any thread. */
#include "meterflow/envelope.h"

#include <string.h>

#include "meterflow/common.h"

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int env_kind_known(uint8_t kind)
{
    return kind == MF_ENV_FRAME || kind == MF_ENV_SESSION || kind == MF_ENV_CMD_STATUS;
}

int mf_env_encode(const struct mf_env *e, uint8_t *out, size_t cap)
{
    if (!env_kind_known(e->kind))
        return MF_EINVAL;
    if (e->payload_len > MF_ENV_PAYLOAD_MAX || cap < MF_ENV_HDR_LEN + (size_t)e->payload_len)
        return MF_ERANGE;
    if (e->payload_len > 0 && e->payload == NULL)
        return MF_EINVAL;
    out[0] = 'M';
    out[1] = 'F';
    out[2] = MF_ENV_VERSION;
    out[3] = e->kind;
    put_u64(out + 4, e->received_at_us);
    put_u64(out + 12, e->conn_id);
    put_u64(out + 20, e->cmd_id);
    put_u16(out + 28, e->front_id);
    put_u16(out + 30, e->a1);
    put_u16(out + 32, e->a2);
    out[34] = e->msa;
    out[35] = 0;
    put_u32(out + 36, e->payload_len);
    if (e->payload_len > 0)
        memcpy(out + MF_ENV_HDR_LEN, e->payload, e->payload_len);
    return (int)(MF_ENV_HDR_LEN + e->payload_len);
}

int mf_env_decode(const uint8_t *buf, size_t len, struct mf_env *e)
{
    uint32_t plen;

    memset(e, 0, sizeof(*e));
    if (len < MF_ENV_HDR_LEN)
        return MF_EINVAL;
    if (buf[0] != 'M' || buf[1] != 'F' || buf[2] != MF_ENV_VERSION || !env_kind_known(buf[3]) ||
        buf[35] != 0)
        return MF_EINVAL;
    plen = get_u32(buf + 36);
    /* The cap is checked before the length is used in any arithmetic or comparison that
     * could wrap on a 32-bit size_t. */
    if (plen > MF_ENV_PAYLOAD_MAX || len != MF_ENV_HDR_LEN + (size_t)plen)
        return MF_EINVAL;
    e->kind = buf[3];
    e->received_at_us = get_u64(buf + 4);
    e->conn_id = get_u64(buf + 12);
    e->cmd_id = get_u64(buf + 20);
    e->front_id = get_u16(buf + 28);
    e->a1 = get_u16(buf + 30);
    e->a2 = get_u16(buf + 32);
    e->msa = buf[34];
    e->payload = buf + MF_ENV_HDR_LEN;
    e->payload_len = plen;
    return 0;
}

/* Length of a NUL-terminated text held in a char array of `size`, or -1 if the array holds
 * no NUL (the struct was filled carelessly; refusing beats sending garbage). */
static int text_len(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    return nul ? (int)(nul - s) : -1;
}

/* Copy wire text of n bytes into a NUL-terminated array; embedded NULs are malformed. */
static int text_take(char *dst, const uint8_t *src, size_t n)
{
    if (memchr(src, '\0', n) != NULL)
        return MF_EINVAL;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

int mf_env_session_encode(const struct mf_env_session *s, uint8_t *out, size_t cap)
{
    int plen = text_len(s->peer, sizeof(s->peer));

    if (plen < 0 || s->state < MF_SESSION_ONLINE || s->state > MF_SESSION_CLOCK ||
        s->reason > MF_OFF_SHUTDOWN || s->known > 1 || s->has_clock > 1)
        return MF_EINVAL;
    if (cap < 9u + (size_t)plen)
        return MF_ERANGE;
    out[0] = s->state;
    out[1] = s->reason;
    out[2] = s->known;
    out[3] = s->has_clock;
    put_u32(out + 4, s->has_clock ? (uint32_t)s->clock_offset_s : 0u);
    out[8] = (uint8_t)plen;
    memcpy(out + 9, s->peer, (size_t)plen);
    return 9 + plen;
}

int mf_env_session_decode(const uint8_t *p, size_t len, struct mf_env_session *s)
{
    size_t plen;

    memset(s, 0, sizeof(*s));
    if (len < 9)
        return MF_EINVAL;
    plen = p[8];
    if (plen >= sizeof(s->peer) || len != 9 + plen)
        return MF_EINVAL;
    if (p[0] < MF_SESSION_ONLINE || p[0] > MF_SESSION_CLOCK || p[1] > MF_OFF_SHUTDOWN ||
        p[2] > 1 || p[3] > 1)
        return MF_EINVAL;
    s->state = p[0];
    s->reason = p[1];
    s->known = p[2];
    s->has_clock = p[3];
    s->clock_offset_s = (int32_t)get_u32(p + 4);
    return text_take(s->peer, p + 9, plen);
}

int mf_env_cmd_status_encode(const struct mf_env_cmd_status *s, uint8_t *out, size_t cap)
{
    int dlen = text_len(s->detail, sizeof(s->detail));

    if (dlen < 0 || s->state > MF_CMD_FAILED)
        return MF_EINVAL;
    if (cap < 3u + (size_t)dlen)
        return MF_ERANGE;
    out[0] = s->state;
    out[1] = s->attempts;
    out[2] = (uint8_t)dlen;
    memcpy(out + 3, s->detail, (size_t)dlen);
    return 3 + dlen;
}

int mf_env_cmd_status_decode(const uint8_t *p, size_t len, struct mf_env_cmd_status *s)
{
    size_t dlen;

    memset(s, 0, sizeof(*s));
    if (len < 3)
        return MF_EINVAL;
    dlen = p[2];
    if (dlen >= sizeof(s->detail) || len != 3 + dlen || p[0] > MF_CMD_FAILED)
        return MF_EINVAL;
    s->state = p[0];
    s->attempts = p[1];
    return text_take(s->detail, p + 3, dlen);
}

const char *mf_cmd_state_str(int state)
{
    static const char *const names[] = { "queued",  "sent",    "answered", "denied",
                                         "timeout", "offline", "failed" };

    if (state < 0 || (size_t)state >= MF_ARRAY_LEN(names))
        return "unknown";
    return names[state];
}
