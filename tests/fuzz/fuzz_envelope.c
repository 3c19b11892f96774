/* fuzz_envelope.c -- libFuzzer target for the uplink envelope and its payloads
 * (src/queue/envelope.c). In Kafka mode anything able to write to the uplink topic reaches
 * the worker's decoder, so these are parsers of outside bytes. Properties beyond "no crash,
 * no over-read": a decoded envelope's payload lies inside the input and re-encodes to exactly
 * the input bytes; the same for a session or command-status payload (decoded from the input
 * directly and from an envelope's payload); decoded text is NUL-terminated within its array.
 * Corpus: tests/fuzz/corpus/fuzz_envelope/ (replayed as a unit test outside BUILD=fuzz). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_session(const uint8_t *p, size_t n)
{
    struct mf_env_session s;
    uint8_t out[MF_ENV_SESSION_MAX];

    if (mf_env_session_decode(p, n, &s) != 0)
        return;
    if (memchr(s.peer, '\0', sizeof(s.peer)) == NULL)
        abort();
    if (mf_env_session_encode(&s, out, sizeof(out)) != (int)n || memcmp(out, p, n) != 0) {
        /* the only allowed difference: the offset is written as 0 when has_clock is 0 */
        if (s.has_clock || n < 9 || memcmp(out + 8, p + 8, n - 8) != 0 || memcmp(out, p, 4))
            abort();
    }
}

static void check_cmd(const uint8_t *p, size_t n)
{
    struct mf_env_cmd_status s;
    uint8_t out[MF_ENV_CMD_STATUS_MAX];

    if (mf_env_cmd_status_decode(p, n, &s) != 0)
        return;
    if (memchr(s.detail, '\0', sizeof(s.detail)) == NULL)
        abort();
    if (mf_env_cmd_status_encode(&s, out, sizeof(out)) != (int)n || memcmp(out, p, n) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mf_env e;
    uint8_t *out;

    check_session(data, size);
    check_cmd(data, size);
    if (mf_env_decode(data, size, &e) != 0)
        return 0;
    if (e.payload < data || e.payload + e.payload_len != data + size ||
        size != MF_ENV_HDR_LEN + e.payload_len)
        abort();
    out = malloc(size);
    if (!out)
        return 0;
    if (mf_env_encode(&e, out, size) != (int)size || memcmp(out, data, size) != 0)
        abort();
    free(out);
    if (e.kind == MF_ENV_SESSION)
        check_session(e.payload, e.payload_len);
    if (e.kind == MF_ENV_CMD_STATUS)
        check_cmd(e.payload, e.payload_len);
    return 0;
}
