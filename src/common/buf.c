/* buf.c -- capped growable byte buffer. Invariant: len <= cap <= max.
 * Thread: owner's only. */
#include "meterflow/buf.h"

#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"

void mf_buf_init(struct mf_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void mf_buf_fini(struct mf_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int mf_buf_reserve(struct mf_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return MF_ERANGE;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap *= 2;
    if (ncap > b->max)
        ncap = b->max;
    b->data = mf_realloc(b->data, ncap);
    b->cap = ncap;
    return 0;
}

int mf_buf_append(struct mf_buf *b, const void *p, size_t n)
{
    int rc = mf_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void mf_buf_consume(struct mf_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void mf_buf_shrink(struct mf_buf *b, size_t keep)
{
    if (b->len == 0 && b->cap > keep) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}
