/* log.h -- leveled logging with a module tag, and rate limiting for per-connection warnings.
 *
 * The macros test the level before evaluating their arguments. Lines go to stderr as
 *   2026-11-26T10:00:00.123Z W front 4403-0012 127.0.0.1:5000: message
 * One bad firmware across 100k terminals must not flood the log: per-connection warnings go
 * through struct mf_ratelimit (N lines per window, then one "suppressed K" line).
 *
 * Thread: any. The level is set once at start-up, before threads start. */
#ifndef MF_LOG_H
#define MF_LOG_H

#include <stdint.h>

#include "meterflow/common.h"

enum mf_log_level { MF_LOG_ERROR = 0, MF_LOG_WARN = 1, MF_LOG_INFO = 2, MF_LOG_DEBUG = 3 };

extern int mf_log_level;

void mf_log_set_level(int level);
/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int mf_log_level_parse(const char *name);
void mf_log_write(int level, const char *module, const char *fmt, ...) MF_PRINTF(3, 4);

#define MF_LOG(lvl, mod, ...)                                                                  \
    do {                                                                                       \
        if ((lvl) <= mf_log_level)                                                             \
            mf_log_write((lvl), (mod), __VA_ARGS__);                                           \
    } while (0)
#define mf_error(mod, ...) MF_LOG(MF_LOG_ERROR, mod, __VA_ARGS__)
#define mf_warn(mod, ...) MF_LOG(MF_LOG_WARN, mod, __VA_ARGS__)
#define mf_info(mod, ...) MF_LOG(MF_LOG_INFO, mod, __VA_ARGS__)
#define mf_debug(mod, ...) MF_LOG(MF_LOG_DEBUG, mod, __VA_ARGS__)

/* Token bucket: at most `burst` lines, refilled at `per_sec` lines per second.
 * Not thread-safe: one limiter per thread (e.g. one per front I/O thread per reason). */
struct mf_ratelimit {
    double tokens;
    double per_sec;
    double burst;
    uint64_t last_us;
    uint64_t suppressed;
};

void mf_ratelimit_init(struct mf_ratelimit *rl, double per_sec, double burst);
/* Returns 1 if a line may be written now (and writes a "suppressed N" note first if lines
 * were dropped since the last one), 0 if the line must be dropped. */
int mf_ratelimit_allow(struct mf_ratelimit *rl, const char *module);

#endif
