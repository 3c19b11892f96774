/* test_front_admit.c -- [front] admit_per_sec's admission pacing (src/front/front_admit.c),
 * driven with explicit clocks (no sleeping, no sockets). The expected counts and waits are
 * the token-bucket arithmetic done by hand in each comment: a rate of r per second is one
 * admission every 1e9 / r ns; `burst` of them may be taken at once after a quiet spell. */
#include <stdint.h>

#include "front/front_int.h"
#include "harness.h"

#define MS 1000000ull /* ns */
#define T0 (5000 * MS) /* any start: the clock need not begin at zero */

/* Admissions taken at instant now until the first refusal; that refusal's wait in *wait. */
static int take_all(struct front_admit *a, uint64_t now, uint64_t *wait)
{
    int n = 0;
    while (front_admit_take(a, now, wait))
        n++;
    return n;
}

MF_TEST(unlimited_admits_everything)
{
    struct front_admit a;
    uint64_t wait = 77;
    front_admit_init(&a, 0, 1);
    for (int i = 0; i < 100000; i++)
        CHECK_EQ_INT(front_admit_take(&a, T0, &wait), 1);
    CHECK_EQ_INT(wait, 0);
}

/* 1,000 per second, burst 10: 10 at once, then one each 1 ms; the 11th waits 1 ms. */
MF_TEST(burst_then_rate)
{
    struct front_admit a;
    uint64_t wait = 0;
    front_admit_init(&a, 1000, 10);
    CHECK_EQ_INT(take_all(&a, T0, &wait), 10);
    CHECK_EQ_INT(wait, 1 * MS);
    /* 0.5 ms later: still none, 0.5 ms left */
    CHECK_EQ_INT(front_admit_take(&a, T0 + MS / 2, &wait), 0);
    CHECK_EQ_INT(wait, MS / 2);
    /* at 1 ms exactly: one, and the next waits a full interval */
    CHECK_EQ_INT(take_all(&a, T0 + MS, &wait), 1);
    CHECK_EQ_INT(wait, 1 * MS);
    /* 20 ms later the bucket is full again, not fuller: 10, not 20 */
    CHECK_EQ_INT(take_all(&a, T0 + 21 * MS, &wait), 10);
}

/* Over a long run the rate holds whatever the polling: 200 per second, asked every 0.25 ms
 * for 10 s, admits 200 x 10 + the burst of 5 = 2,005 (the first instant takes the burst,
 * then one per 5 ms interval: 10 s / 5 ms = 2,000). */
MF_TEST(long_run_keeps_the_rate)
{
    struct front_admit a;
    uint64_t wait;
    int n = 0;
    front_admit_init(&a, 200, 5);
    for (uint64_t t = T0; t <= T0 + 10000 * MS; t += 250000)
        n += take_all(&a, t, &wait);
    CHECK_EQ_INT(n, 2005);
}

/* burst 0 counts as 1: strictly one per interval (4 per second: 250 ms apart). */
MF_TEST(burst_one_is_strict_spacing)
{
    struct front_admit a;
    uint64_t wait;
    front_admit_init(&a, 4, 0);
    CHECK_EQ_INT(take_all(&a, T0, &wait), 1);
    CHECK_EQ_INT(wait, 250 * MS);
    CHECK_EQ_INT(take_all(&a, T0 + 249 * MS, &wait), 0);
    CHECK_EQ_INT(wait, 1 * MS);
    CHECK_EQ_INT(take_all(&a, T0 + 250 * MS, &wait), 1);
}

/* A refusal takes nothing: asking a thousand times while empty does not push the next
 * admission later. */
MF_TEST(refusals_do_not_consume)
{
    struct front_admit a;
    uint64_t wait;
    front_admit_init(&a, 100, 1); /* one per 10 ms */
    CHECK_EQ_INT(take_all(&a, T0, &wait), 1);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ_INT(front_admit_take(&a, T0 + 5 * MS, &wait), 0);
    CHECK_EQ_INT(take_all(&a, T0 + 10 * MS, &wait), 1);
}

/* Over 1e9 per second the interval would round to 0 ns ("unlimited"); it is kept at 1 ns,
 * so the bucket still counts: burst 3 at one instant, then refused for 1 ns. */
MF_TEST(huge_rate_still_counts)
{
    struct front_admit a;
    uint64_t wait;
    front_admit_init(&a, 2000000000u, 3);
    CHECK_EQ_INT(take_all(&a, T0, &wait), 3);
    CHECK_EQ_INT(wait, 1);
}
