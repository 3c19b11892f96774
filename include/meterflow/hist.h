/* hist.h -- fixed-size log-linear latency histogram (microseconds), for percentiles in
 * benchmarks, the simulator's progress line and /metrics.
 *
 * 0..2^40 us with about 1.5 % relative error; no allocation; merge by addition.
 * Thread: one writer, or external locking. */
#ifndef MF_HIST_H
#define MF_HIST_H

#include <stdint.h>

#define MF_HIST_SUB 64        /* linear sub-buckets per power of two */
#define MF_HIST_POW 41
#define MF_HIST_BUCKETS (MF_HIST_SUB * MF_HIST_POW)

struct mf_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t max;
    uint64_t b[MF_HIST_BUCKETS];
};

void mf_hist_reset(struct mf_hist *h);
void mf_hist_add(struct mf_hist *h, uint64_t v);
void mf_hist_merge(struct mf_hist *into, const struct mf_hist *from);
/* q in [0,1]; returns an upper bound of the bucket holding that quantile. 0 when empty. */
uint64_t mf_hist_quantile(const struct mf_hist *h, double q);

#endif
