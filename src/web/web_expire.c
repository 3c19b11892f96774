/* web_expire.c -- command expiry: a command nobody finished ends "expired".
 *
 * A command is queued by the web and finished by the front that holds its terminal (sent,
 * then answered / failed / timeout, through the worker). When that front dies, or the
 * downlink message finds no front, nothing ever finishes it and it would stay "queued" for
 * ever. This thread sweeps every period_s: commands still queued or sent whose created_at is
 * older than [web] cmd_expire_s become "expired", with {"error":"expired", ...} as their
 * answer (store_commands_expire). cmd_expire_s is checked at web_new to exceed the longest
 * life of a command a live front still works on, (cmd_retries + 1) * cmd_timeout_ms, so a
 * live front's command is never expired under it; an answer that still arrives later replaces
 * "expired" (the store's final-state rule), so the record ends with what happened.
 *
 * Idempotent UPDATE: several web processes sweeping the same store do no harm.
 * Thread: its own (web_expire_start/stop from the thread owning the web); it borrows a store
 * handle from the pool for each sweep. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/store.h"
#include "web/web_int.h"

/* One sweep. 0, or the store's status (logged by the caller). */
int web_expire_sweep(struct web *web, int64_t now_s, int64_t *n)
{
    char reason[160];
    struct store *st = web_store_acquire(web);
    if (!st)
        return MF_ERETRY; /* every handle busy: the next period tries again */
    snprintf(reason, sizeof(reason),
             "{\"error\":\"expired\",\"detail\":\"not finished within cmd_expire_s = %lld s"
             " (no front holding the terminal answered)\"}",
             (long long)web->cmd_expire_s);
    int rc = store_commands_expire(st, now_s - web->cmd_expire_s, now_s, reason, n);
    web_store_release(web, st);
    return rc;
}

static void *expire_main(void *arg)
{
    struct web *web = arg;
    struct timespec dl;

    pthread_mutex_lock(&web->exp_mu);
    while (!web->exp_stop) {
        pthread_mutex_unlock(&web->exp_mu);
        int64_t n = 0;
        int rc = web_expire_sweep(web, (int64_t)(mf_now_us() / 1000000u), &n);
        if (rc != 0 && rc != MF_ERETRY)
            mf_warn("web", "command expiry sweep failed: %s", mf_status_str(rc));
        else if (n > 0)
            mf_info("web", "%lld command(s) expired (older than %lld s)", (long long)n,
                    (long long)web->cmd_expire_s);
        if (n > 0)
            __atomic_fetch_add(&web->cmd_expired, (uint64_t)n, __ATOMIC_RELAXED);
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += web->exp_period_s;
        pthread_mutex_lock(&web->exp_mu);
        while (!web->exp_stop &&
               pthread_cond_timedwait(&web->exp_cv, &web->exp_mu, &dl) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&web->exp_mu);
    return NULL;
}

int web_expire_start(struct web *web)
{
    if (web->cmd_expire_s <= 0 || web->exp_running)
        return 0;
    web->exp_stop = 0;
    if (pthread_create(&web->exp_th, NULL, expire_main, web) != 0)
        return MF_EFATAL;
    web->exp_running = 1;
    return 0;
}

void web_expire_stop(struct web *web)
{
    if (!web->exp_running)
        return;
    pthread_mutex_lock(&web->exp_mu);
    web->exp_stop = 1;
    pthread_cond_signal(&web->exp_cv);
    pthread_mutex_unlock(&web->exp_mu);
    pthread_join(web->exp_th, NULL);
    web->exp_running = 0;
}
