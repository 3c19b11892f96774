/* common.c -- status strings, allocation wrappers that abort on exhaustion, hex helpers.
 * Thread: any. */
#include "meterflow/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

atomic_int mf_stop_requested;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "mf_stop_requested is stored from signal handlers");

const char *mf_status_str(int rc)
{
    switch (rc) {
    case MF_OK:
        return "ok";
    case MF_AGAIN:
        return "incomplete";
    case MF_ERETRY:
        return "retry later";
    case MF_EFATAL:
        return "fatal";
    case MF_EINVAL:
        return "invalid";
    case MF_ERANGE:
        return "over limit";
    case MF_ENOTFOUND:
        return "not found";
    case MF_EFULL:
        return "full";
    case MF_ECLOSED:
        return "closed";
    case MF_ETIMEDOUT:
        return "timed out";
    case MF_EDENIED:
        return "denied";
    case MF_EEXIST:
        return "exists";
    case MF_EOFFLINE:
        return "terminal offline";
    case MF_EUNSUPP:
        return "unsupported";
    case MF_ESYS:
        return "system error";
    default:
        return "unknown status";
    }
}

int mf_status_is_retry(int rc)
{
    return rc == MF_ERETRY || rc == MF_EFULL || rc == MF_ETIMEDOUT;
}

void mf_oom(void)
{
    static const char msg[] = "meterflow: out of memory\n";
    fwrite(msg, 1, sizeof(msg) - 1, stderr);
    abort();
}

void *mf_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        mf_oom();
    return p;
}

void *mf_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        mf_oom();
    return p;
}

void *mf_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        mf_oom();
    return q;
}

char *mf_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mf_malloc(n);
    memcpy(d, s, n);
    return d;
}

size_t mf_strlcpy(char *dst, const char *src, size_t dstlen)
{
    size_t n = strlen(src);
    if (dstlen) {
        size_t c = n < dstlen - 1 ? n : dstlen - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

const char *mf_strerror(int errnum, char *buf, size_t len)
{
    /* _GNU_SOURCE (Makefile): the GNU strerror_r, which returns the message it chose. */
    const char *s = strerror_r(errnum, buf, len);
    return s ? s : "unknown error";
}

int mf_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mf_hex_decode(const char *text, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    const char *p = text;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    for (; *p; p++) {
        if (*p == ' ' || *p == ':' || *p == '\t' || *p == '-' || *p == '\r' || *p == '\n') {
            if (hi >= 0)
                return MF_EINVAL; /* odd digit count inside a byte */
            continue;
        }
        int v = mf_hex_digit((unsigned char)*p);
        if (v < 0)
            return MF_EINVAL;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap)
                return MF_ERANGE;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0)
        return MF_EINVAL;
    return (int)n;
}

void mf_hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    if (outlen == 0)
        return;
    for (size_t i = 0; i < len && o + 3 <= outlen; i++) {
        if (i) {
            if (o + 4 > outlen)
                break;
            out[o++] = ' ';
        }
        out[o++] = digits[in[i] >> 4];
        out[o++] = digits[in[i] & 15];
    }
    out[o] = '\0';
}
