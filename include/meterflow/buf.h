/* buf.h -- growable byte buffer with a mandatory size cap (after curl's curlx_dyn).
 *
 * Invariant: len <= cap <= max. Growth past `max` fails with MF_ERANGE instead of
 * allocating, so no length from outside can drive an allocation past its cap.
 * Thread: a buffer belongs to one thread at a time. */
#ifndef MF_BUF_H
#define MF_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mf_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* Caller's storage; nothing allocated until the first append. */
void mf_buf_init(struct mf_buf *b, size_t max);
void mf_buf_fini(struct mf_buf *b);
/* Ensure room for `extra` more bytes. 0 or MF_ERANGE (would pass max). */
int mf_buf_reserve(struct mf_buf *b, size_t extra);
int mf_buf_append(struct mf_buf *b, const void *p, size_t n);
/* Drop the first n bytes (n <= len). */
void mf_buf_consume(struct mf_buf *b, size_t n);
/* Release memory when empty and larger than `keep` (idle connections stay small). */
void mf_buf_shrink(struct mf_buf *b, size_t keep);

#endif
