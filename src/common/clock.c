/* clock.c -- clocks and civil-time conversion in the configured zone.
 *
 * The zone is installed with setenv("TZ") + tzset() once, before threads start; after that
 * localtime_r/mktime only read it. Date arithmetic (days since epoch) is zone-free, from
 * Howard Hinnant's civil-from-days algorithm.
 * Thread: any, after mf_clock_set_zone. */
#include "meterflow/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"

uint64_t mf_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t mf_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int mf_clock_set_zone(const char *zone)
{
    if (strcmp(zone, "UTC") != 0) {
        char path[256];
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
        FILE *f = fopen(path, "r");
        if (!f)
            return MF_EINVAL;
        fclose(f);
    }
    setenv("TZ", zone, 1);
    tzset();
    return 0;
}

int32_t mf_date_to_days(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void mf_days_to_date(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int yy = (int)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

int64_t mf_civil_to_utc(const struct mf_civil *c)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = c->year - 1900;
    tm.tm_mon = c->month - 1;
    tm.tm_mday = c->day;
    tm.tm_hour = c->hour;
    tm.tm_min = c->min;
    tm.tm_sec = c->sec;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

void mf_utc_to_civil(int64_t t, struct mf_civil *c)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    c->year = tm.tm_year + 1900;
    c->month = tm.tm_mon + 1;
    c->day = tm.tm_mday;
    c->hour = tm.tm_hour;
    c->min = tm.tm_min;
    c->sec = tm.tm_sec;
}

void mf_civil_format(const struct mf_civil *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d", c->year, c->month, c->day, c->hour,
             c->min, c->sec);
}

void mf_utc_format(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int mf_date_parse(const char *s, int32_t *days)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return MF_EINVAL;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return MF_EINVAL;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || y > 2099 || m < 1 || m > 12 || d < 1)
        return MF_EINVAL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return MF_EINVAL;
    *days = mf_date_to_days(y, m, d);
    return 0;
}

int mf_time_parse(const char *s, int64_t *out)
{
    struct mf_civil c = { 0 };
    int n = 0;
    size_t len = strlen(s);
    int utc = len > 0 && s[len - 1] == 'Z';

    /* Field widths (%4d, %2d) bound every number, so sscanf cannot overflow here and the
     * ranges are checked below: cert-err34-c's strtol advice does not apply. */
    if (sscanf(s, "%4d-%2d-%2d%n", &c.year, &c.month, &c.day, &n) != 3) /* NOLINT(cert-err34-c) */
        return MF_EINVAL;
    if (s[n] == 'T' || s[n] == ' ') {
        int n2 = 0;
        if (sscanf(s + n + 1, "%2d:%2d%n", &c.hour, &c.min, &n2) != 2) /* NOLINT(cert-err34-c) */
            return MF_EINVAL;
        n += 1 + n2;
        if (s[n] == ':') {
            int n3 = 0;
            if (sscanf(s + n + 1, "%2d%n", &c.sec, &n3) != 1) /* NOLINT(cert-err34-c) */
                return MF_EINVAL;
            n += 1 + n3;
        }
    }
    if (s[n] != '\0' && !(utc && s[n] == 'Z' && s[n + 1] == '\0'))
        return MF_EINVAL;
    if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 || c.min > 59 ||
        c.sec > 60 || c.hour < 0 || c.min < 0 || c.sec < 0)
        return MF_EINVAL;
    if (utc)
        *out = (int64_t)mf_date_to_days(c.year, c.month, c.day) * 86400 +
               (int64_t)c.hour * 3600 + (int64_t)c.min * 60 + c.sec;
    else
        *out = mf_civil_to_utc(&c);
    return 0;
}
