/* front_admit.c -- admission pacing of new connections ([front] admit_per_sec): a token
 * bucket written as GCRA (the "generic cell rate algorithm" of ATM: one theoretical arrival
 * time instead of a token count and a refill step), with the clock passed in so tests drive
 * it without sleeping.
 *
 * Why: in a reconnect storm (every terminal at once after an outage) the work for the new
 * connections -- logins, registry lookups, answers, session envelopes, the worker's session
 * writes, and the kernel's TCP work under all of them -- takes the CPU from the terminals
 * already online. A head-end admits new sessions at a bounded rate instead (front_io.c
 * io_admit: a connection is accepted at once and read only when admitted).
 *
 * Invariants: tat_ns never moves back; with interval_ns == 0 every take succeeds (no limit);
 * at most `burst` takes succeed at one instant after an idle period.
 * Thread: one struct front_admit per I/O thread, used by that thread only (no locks). */
#include "front/front_int.h"

void front_admit_init(struct front_admit *a, uint32_t per_sec, uint32_t burst)
{
    a->tat_ns = 0;
    a->interval_ns = per_sec ? 1000000000u / per_sec : 0;
    if (per_sec && a->interval_ns == 0)
        a->interval_ns = 1; /* over 1e9 per second: as good as unlimited, never zero */
    if (burst < 1)
        burst = 1;
    a->tolerance_ns = (uint64_t)(burst - 1) * a->interval_ns;
}

int front_admit_take(struct front_admit *a, uint64_t now_ns, uint64_t *wait_ns)
{
    *wait_ns = 0;
    if (a->interval_ns == 0)
        return 1;
    /* conforming when the theoretical arrival time is at most `tolerance` in the future */
    if (a->tat_ns > now_ns + a->tolerance_ns) {
        *wait_ns = a->tat_ns - a->tolerance_ns - now_ns;
        return 0;
    }
    a->tat_ns = (a->tat_ns > now_ns ? a->tat_ns : now_ns) + a->interval_ns;
    return 1;
}
