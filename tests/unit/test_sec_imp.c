/* test_sec_imp.c -- the impersonation detector (src/sec/sec_imp.c) with explicit clocks: a
 * terminal whose logins alternate between two peer addresses is reported once min_returns
 * returns fall in one window, once per window after that; a terminal that changes address
 * for good, reconnects from one address, or returns too slowly is never reported; terminals
 * are kept apart; the table's cap holds; peers are compared by address, not port. */
#include <string.h>

#include "harness.h"
#include "meterflow/common.h"
#include "meterflow/sec.h"

#define T1 0x01710822u
#define T2 0x44030001u

MF_TEST(imp_alternating_peers_reported_once_per_window)
{
    struct sec_imp *d = sec_imp_new(600, 2, 100);
    struct sec_imp_hit h;
    memset(&h, 0, sizeof(h));
    /* the duplicate-login fight: A, B, A, B ... each login replacing the other's session */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.1:4000", 1000, &h), 0); /* first seen */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.2:5000", 1010, &h), 0); /* a switch */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.1:4001", 1020, &h), 0); /* return 1 */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.2:5001", 1030, &h), 1); /* return 2: reported */
    CHECK_STR(h.cur, "10.0.0.2");
    CHECK_STR(h.prev, "10.0.0.1");
    CHECK_EQ_INT(h.returns, 2);
    CHECK_EQ_INT(h.since_s, 1000);
    /* the fight goes on: no second report within the window (no alert storm) */
    for (int i = 0; i < 50; i++)
        CHECK_EQ_INT(sec_imp_login(d, T1, i % 2 ? "10.0.0.2:1" : "10.0.0.1:1", 1040 + i, &h), 0);
    /* the last login of the loop came from .2; the window (from t=1000) and the report's
     * quiet time (600 s from t=1030) are over and it still alternates */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.2:7", 1630, &h), 0); /* same address: nothing */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.1:7", 1631, &h), 0); /* new window, return 1 */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.2:7", 1632, &h), 1); /* return 2: again */
    CHECK_EQ_INT(h.returns, 2);
    CHECK_EQ_INT(h.since_s, 1631);
    sec_imp_free(d);
}

MF_TEST(imp_legitimate_changes_are_not_reported)
{
    struct sec_imp *d = sec_imp_new(600, 2, 100);
    struct sec_imp_hit h;
    /* a modem that re-dials and gets new addresses: never back to the previous one */
    const char *walk[] = { "10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1",
                           "10.0.0.1:1", "10.0.0.5:1" };
    for (size_t i = 0; i < MF_ARRAY_LEN(walk); i++)
        CHECK_EQ_INT(sec_imp_login(d, T1, walk[i], 100 + (int64_t)i, &h), 0);
    /* the same address, any port, again and again: reconnects */
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(sec_imp_login(d, T2, "10.9.9.9:1000", 100 + i, &h), 0);
    for (int i = 0; i < 20; i++) {
        char p[32];
        snprintf(p, sizeof(p), "10.9.9.9:%d", 2000 + i);
        CHECK_EQ_INT(sec_imp_login(d, T2, p, 200 + i, &h), 0);
    }
    /* one return only (an address given back by the APN): below min_returns */
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.9.9.8:1", 300, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.9.9.9:1", 310, &h), 0);
    /* returns further apart than the window: each window sees one */
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.9.9.8:1", 1000, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.9.9.9:1", 1700, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.9.9.8:1", 2400, &h), 0);
    sec_imp_free(d);
}

MF_TEST(imp_terminals_apart_and_window_boundary)
{
    struct sec_imp *d = sec_imp_new(60, 2, 100);
    struct sec_imp_hit h;
    /* T1 and T2 use each other's addresses: neither alternates on its own */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.1:1", 0, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.0.0.2:1", 0, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.1:2", 1, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.0.0.2:2", 1, &h), 0);
    /* T1: switch at 10 opens nothing; returns at 20 and exactly 60 s after the window start */
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.2:1", 10, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.1:1", 20, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.2:1", 60, &h), 1); /* 60 - 0 <= 60: same window */
    /* T2 the same but one second late: the window restarted */
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.0.0.1:1", 10, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.0.0.2:1", 20, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "10.0.0.1:1", 61, &h), 0);
    sec_imp_free(d);
}

MF_TEST(imp_ipv6_peers_cap_and_bad_input)
{
    struct sec_imp *d = sec_imp_new(600, 1, 3);
    struct sec_imp_hit h;
    /* the front writes IPv6 peers as "addr:port" without brackets */
    CHECK_EQ_INT(sec_imp_login(d, T1, "2001:db8::7:4000", 0, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T1, "2001:db8::8:4000", 1, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T1, "[2001:db8::7]:4001", 2, &h), 1);
    CHECK_STR(h.cur, "2001:db8::7");
    CHECK_STR(h.prev, "2001:db8::8");
    /* "::1:5678" is ::1 port 5678 (not the address ::1:5678) */
    CHECK_EQ_INT(sec_imp_login(d, T2, "::1:5678", 0, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "::2:5678", 1, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, T2, "::1:9999", 2, &h), 1);
    CHECK_STR(h.cur, "::1");
    CHECK_EQ_INT(sec_imp_login(d, T1, "nonsense", 3, &h), MF_EINVAL);
    CHECK_EQ_INT(sec_imp_login(d, T1, "10.0.0.1", 3, &h), MF_EINVAL); /* no port */
    CHECK_EQ_INT(sec_imp_login(d, T1, "", 3, &h), MF_EINVAL);
    CHECK_EQ_INT(sec_imp_login(d, T1, NULL, 3, &h), MF_EINVAL);
    /* cap 3: a third terminal fits, a fourth is not watched (counted) */
    CHECK_EQ_INT(sec_imp_login(d, 3, "10.0.0.1:1", 0, &h), 0);
    CHECK_EQ_INT(sec_imp_untracked(d), 0);
    CHECK_EQ_INT(sec_imp_login(d, 4, "10.0.0.1:1", 0, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, 4, "10.0.0.2:1", 1, &h), 0);
    CHECK_EQ_INT(sec_imp_login(d, 4, "10.0.0.1:1", 2, &h), 0); /* would be a report */
    CHECK_EQ_INT(sec_imp_untracked(d), 3);
    sec_imp_free(d);
}

MF_TEST(imp_many_terminals_grow_the_table)
{
    struct sec_imp *d = sec_imp_new(600, 2, 100000);
    struct sec_imp_hit h;
    int reports = 0;
    for (uint32_t t = 0; t < 5000; t++)
        CHECK_EQ_INT(sec_imp_login(d, t * 7919u, "10.0.0.1:1", 0, &h), 0);
    /* every third one fights (A B A B) after the growth; the others only reconnect */
    for (uint32_t t = 0; t < 5000; t++) {
        const char *seq[] = { "10.0.0.2:1", "10.0.0.1:1", "10.0.0.2:1" };
        for (int i = 0; i < 3; i++)
            reports += sec_imp_login(d, t * 7919u, t % 3 ? "10.0.0.1:2" : seq[i], 10 + i, &h);
    }
    CHECK_EQ_INT(reports, 1667);
    CHECK_EQ_INT(sec_imp_untracked(d), 0);
    sec_imp_free(d);
}
