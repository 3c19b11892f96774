/* fuzz_sec_keys.c -- the PW key-file parser (src/sec/sec_keys.c) on arbitrary bytes. The first
 * byte picks the mode (even: file, odd: hmac). Properties: a refusal says why and leaves
 * nothing allocated; an accepted file's table is sorted with unique terminals and values
 * within the mode's bounds; formatting the table back to text and parsing it again gives the
 * same table (round trip). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/gw3761.h"
#include "meterflow/sec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct sec_key *e, int mode)
{
    if (e->len < 1 || e->len > SEC_KEY_MAX)
        __builtin_trap();
    if (mode == SEC_PW_FILE && e->len > 16)
        __builtin_trap();
    if (mode == SEC_PW_HMAC && e->len < 16)
        __builtin_trap();
}

static int same(const struct sec_key *a, const struct sec_key *b)
{
    return a->term == b->term && a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static size_t format_entry(char *out, const char *id, const struct sec_key *e)
{
    size_t n = (size_t)snprintf(out, 16, "%s ", id);
    for (size_t i = 0; i < e->len; i++)
        n += (size_t)snprintf(out + n, 4, "%02X", e->b[i]);
    out[n++] = '\n';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct sec_keys k, k2;
    if (size < 1)
        return 0;
    int mode = (data[0] & 1) ? SEC_PW_HMAC : SEC_PW_FILE;
    err[0] = '\0';
    if (sec_keys_parse((const char *)data + 1, size - 1, mode, "fz", &k, err, sizeof(err)) != 0) {
        if (err[0] == '\0' || k.v != NULL || k.n != 0)
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < k.n; i++) {
        check_entry(&k.v[i], mode);
        if (i && k.v[i].term <= k.v[i - 1].term)
            __builtin_trap();
    }
    if (k.has_default)
        check_entry(&k.def, mode);
    /* round trip: 9 + 1 + 64 + 1 characters per entry at most */
    char *text = malloc((k.n + 1) * 80 + 1);
    size_t n = 0;
    for (size_t i = 0; i < k.n; i++) {
        char id[GW_TERMINAL_STRLEN];
        gw_terminal_format((uint16_t)(k.v[i].term >> 16), (uint16_t)k.v[i].term, id);
        n += format_entry(text + n, id, &k.v[i]);
    }
    if (k.has_default)
        n += format_entry(text + n, "default", &k.def);
    if (sec_keys_parse(text, n, mode, "rt", &k2, err, sizeof(err)) != 0 || k2.n != k.n ||
        k2.has_default != k.has_default)
        __builtin_trap();
    for (size_t i = 0; i < k.n; i++)
        if (!same(&k.v[i], &k2.v[i]))
            __builtin_trap();
    if (k.has_default && !same(&k.def, &k2.def))
        __builtin_trap();
    free(text);
    sec_keys_fini(&k);
    sec_keys_fini(&k2);
    return 0;
}
