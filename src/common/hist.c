/* hist.c -- log-linear histogram: bucket = (power of two, 64 linear sub-buckets).
 * Thread: one writer or external locking. */
#include "meterflow/hist.h"

#include <string.h>

static unsigned hist_index(uint64_t v)
{
    if (v < MF_HIST_SUB)
        return (unsigned)v;
    unsigned p = 63u - (unsigned)__builtin_clzll(v); /* v >= 64 -> p >= 6 */
    unsigned shift = p - 6u;
    unsigned sub = (unsigned)(v >> shift) - MF_HIST_SUB; /* 0..63 */
    unsigned idx = (shift + 1u) * MF_HIST_SUB + sub;
    return idx < MF_HIST_BUCKETS ? idx : MF_HIST_BUCKETS - 1;
}

static uint64_t hist_upper(unsigned idx)
{
    if (idx < MF_HIST_SUB)
        return idx;
    unsigned shift = idx / MF_HIST_SUB - 1u;
    uint64_t sub = idx % MF_HIST_SUB + MF_HIST_SUB;
    return ((sub + 1) << shift) - 1;
}

void mf_hist_reset(struct mf_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void mf_hist_add(struct mf_hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

void mf_hist_merge(struct mf_hist *into, const struct mf_hist *from)
{
    for (unsigned i = 0; i < MF_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t mf_hist_quantile(const struct mf_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < MF_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank) {
            uint64_t u = hist_upper(i);
            return u < h->max ? u : h->max;
        }
    }
    return h->max;
}
