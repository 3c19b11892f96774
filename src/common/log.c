/* log.c -- leveled log lines to stderr with UTC timestamps; token-bucket rate limiter.
 * One fprintf per line (stdio locks the stream), so lines from threads do not interleave.
 * Thread: any. */
#include "meterflow/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"

int mf_log_level = MF_LOG_INFO;

void mf_log_set_level(int level)
{
    mf_log_level = level;
}

int mf_log_level_parse(const char *name)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void mf_log_write(int level, const char *module, const char *fmt, ...)
{
    static const char letters[] = "EWID";
    char msg[1024];
    char ts[40];
    va_list ap;
    uint64_t now = mf_now_us();
    time_t secs = (time_t)(now / 1000000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03uZ %c %s: %s\n", ts, (unsigned)(now / 1000 % 1000),
            letters[level & 3], module, msg);
}

void mf_ratelimit_init(struct mf_ratelimit *rl, double per_sec, double burst)
{
    rl->tokens = burst;
    rl->per_sec = per_sec;
    rl->burst = burst;
    rl->last_us = mf_mono_us();
    rl->suppressed = 0;
}

int mf_ratelimit_allow(struct mf_ratelimit *rl, const char *module)
{
    uint64_t now = mf_mono_us();
    rl->tokens += (double)(now - rl->last_us) / 1e6 * rl->per_sec;
    if (rl->tokens > rl->burst)
        rl->tokens = rl->burst;
    rl->last_us = now;
    if (rl->tokens < 1.0) {
        rl->suppressed++;
        return 0;
    }
    rl->tokens -= 1.0;
    if (rl->suppressed) {
        mf_warn(module, "%llu similar lines suppressed", (unsigned long long)rl->suppressed);
        rl->suppressed = 0;
    }
    return 1;
}
