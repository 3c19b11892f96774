/* clock.h -- wall and monotonic clocks, civil time <-> UTC in the configured zone.
 *
 * Terminals speak local civil time without a zone; storage is UTC. The zone (default
 * Asia/Shanghai) is applied process-wide once at start-up by mf_clock_set_zone(), before
 * threads start; afterwards the conversions are thread-safe (localtime_r / timegm-based).
 * Thread: any, after mf_clock_set_zone. */
#ifndef MF_CLOCK_H
#define MF_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds since the epoch (CLOCK_REALTIME). */
uint64_t mf_now_us(void);
/* Microseconds from CLOCK_MONOTONIC, for timeouts and latencies. */
uint64_t mf_mono_us(void);

/* Set the civil zone ("Asia/Shanghai", "UTC", ...). 0 or MF_EINVAL. */
int mf_clock_set_zone(const char *zone);

/* A civil (local, zone-less) time as terminals report it. */
struct mf_civil {
    int year;   /* e.g. 2026 */
    int month;  /* 1..12 */
    int day;    /* 1..31 */
    int hour;   /* 0..23 */
    int min;    /* 0..59 */
    int sec;    /* 0..59 */
};

/* Civil time in the configured zone -> seconds since the epoch (UTC). */
int64_t mf_civil_to_utc(const struct mf_civil *c);
/* Seconds since the epoch -> civil time in the configured zone. */
void mf_utc_to_civil(int64_t t, struct mf_civil *c);
/* Days since 1970-01-01 of a civil date (zone-free arithmetic); and back. */
int32_t mf_date_to_days(int year, int month, int day);
void mf_days_to_date(int32_t days, int *year, int *month, int *day);

/* ISO-8601 formatting. "2026-11-26T10:00:00" (civil, no zone) and
 * "2026-11-26T02:00:00Z" (UTC). out must hold at least 32 bytes. */
void mf_civil_format(const struct mf_civil *c, char *out, size_t outlen);
void mf_utc_format(int64_t t, char *out, size_t outlen);
/* Parse exactly "YYYY-MM-DD" (digits only, a year 1970..2099, the day checked against its
 * month's length) -> days since 1970-01-01. 0 or MF_EINVAL (*days untouched). */
int mf_date_parse(const char *s, int32_t *days);
/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" with optional "Z" (UTC) or none (civil in the
 * configured zone) -> UTC seconds. 0 or MF_EINVAL. */
int mf_time_parse(const char *s, int64_t *out);

#endif
