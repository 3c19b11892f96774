/* test_sim_link.c -- the simulator's terminals against a hand-written confirming master:
 * N terminals log in, report, every confirmed value lands in the ledger (and nothing else),
 * unconfirmed reports are retransmitted with the same bytes (same PSEQ) when the master
 * ignores the first copy, daily frozen values and curves follow midnight, and every terminal
 * logs out at the end of --duration.
 *
 * The peer is written from the protocol text (docs/protocol-3761.md sections 1, 2, 5, 6, 8,
 * 9.4, 9.6, 9.7), not with the codec: it scans frames, checks L and CS by hand, answers
 * AFN=00 F1 with hand-built bytes, and decodes A.14/A.11/A.15/A.20 by hand to write the
 * ledger lines it expects. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "sim/sim_int.h"

#define MAXC 64
#define MAXSEEN 4096

struct seen {
    uint16_t a2;
    uint8_t len;
    uint8_t head[64];
};

struct peer {
    int lfd, port;
    volatile int stop;
    int ignore_first;           /* do not confirm the first copy of a report */
    size_t hb_units;            /* expected heartbeat data-unit length: 10 (2013), 4 (2009) */
    int confirm_at_copy;        /* >0: confirm a report only at its Nth copy (by data units) */
    uint8_t copy_body[8][512];  /* per terminal (a2 1..8): the report being held back */
    size_t copy_len[8];
    int copies[8];
    uint8_t first_pseq[8], last_pseq[8];
    int fds[MAXC];
    uint8_t in[MAXC][65536];
    size_t inlen[MAXC];
    /* results */
    int logins, logouts, heartbeats, reports, retrans_same, retrans_diff;
    struct seen seen[MAXSEEN];
    int nseen;
    char *expect;               /* expected ledger lines */
    size_t elen, ecap;
    int nexpect;
};

static unsigned bcd(uint8_t b)
{
    return (unsigned)(b >> 4) * 10u + (b & 15u);
}

/* A.14 (5 bytes, 4 decimals) or A.11 (4 bytes, 2 decimals) -> integer units. */
static long long bcd_le(const uint8_t *p, int n)
{
    long long v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v * 100 + bcd(p[i]);
    return v;
}

static void expect_line(struct peer *pr, uint16_t a2, unsigned pn, const char *item,
                        const char *time, unsigned tariff, long long v, int dec)
{
    char line[160];
    long long sc = dec == 4 ? 10000 : 100;
    int n = snprintf(line, sizeof(line), "4403-%04X %u %s %s %u %lld.%0*lld\n", a2, pn, item,
                     time, tariff, v / sc, dec, v % sc);
    if (pr->elen + (size_t)n + 1 > pr->ecap) {
        pr->ecap = pr->ecap ? pr->ecap * 2 : 65536;
        pr->expect = realloc(pr->expect, pr->ecap);
    }
    memcpy(pr->expect + pr->elen, line, (size_t)n + 1);
    pr->elen += (size_t)n;
    pr->nexpect++;
}

static unsigned da_pn(const uint8_t *da)
{
    for (int b = 0; b < 8; b++)
        if (da[0] >> b & 1)
            return (unsigned)(da[1] - 1) * 8u + (unsigned)b + 1u;
    return 0;
}

/* Expected ledger lines of the data units of an AFN 0C / 0D report (hand decoding). */
static void expect_units(struct peer *pr, uint16_t a2, uint8_t afn, const uint8_t *u, size_t n)
{
    size_t off = 0;
    char t[40];
    while (off + 4 <= n) {
        unsigned pn = da_pn(u + off), fn = (unsigned)u[off + 3] * 8u;
        for (int b = 0; b < 8; b++)
            if (u[off + 2] >> b & 1)
                fn += (unsigned)b + 1u;
        const uint8_t *d = u + off + 4;
        if (afn == 0x0C && fn == 129) { /* 9.4: A.15 time, M, (M+1) x A.14 */
            snprintf(t, sizeof(t), "20%02u-%02u-%02uT%02u:%02u", bcd(d[4]), bcd(d[3]),
                     bcd(d[2]), bcd(d[1]), bcd(d[0]));
            for (unsigned k = 0; k <= d[5]; k++)
                expect_line(pr, a2, pn, "fwd_active", t, k, bcd_le(d + 6 + 5 * k, 5), 4);
            off += 4 + 11 + 5u * d[5];
        } else if (afn == 0x0D && fn == 161) { /* 9.6: Td_d, A.15, M, (M+1) x A.14 */
            snprintf(t, sizeof(t), "20%02u-%02u-%02u", bcd(d[2]), bcd(d[1]), bcd(d[0]));
            for (unsigned k = 0; k <= d[8]; k++)
                expect_line(pr, a2, pn, "day_fwd_active", t, k, bcd_le(d + 9 + 5 * k, 5), 4);
            off += 4 + 14 + 5u * d[8];
        } else if (afn == 0x0D && fn == 101) { /* 9.7: Td_c (ts A.15, m, n), n x A.11 */
            unsigned y = 2000 + bcd(d[4]), mo = bcd(d[3]), dd = bcd(d[2]), h = bcd(d[1]);
            unsigned mi = bcd(d[0]), npts = d[6];
            CHECK_EQ_INT(d[5], 1); /* 15-minute density */
            for (unsigned k = 0; k < npts; k++) {
                unsigned tot = h * 60 + mi + 15 * k, day = dd + tot / 1440;
                /* the test's days never cross a month end */
                snprintf(t, sizeof(t), "%04u-%02u-%02uT%02u:%02u", y, mo, day,
                         tot % 1440 / 60, tot % 60);
                expect_line(pr, a2, pn, "curve_fwd_active", t, 0, bcd_le(d + 7 + 4 * k, 4), 2);
            }
            off += 4 + 7 + 4u * npts;
        } else {
            CHECK(0 && "unexpected report unit");
            return;
        }
    }
    CHECK_EQ_INT(off, n);
}

/* Hand-built AFN=00 F1 confirm (section 7): C=0B, same A1/A2, MSA 0, SEQ 6x, p0 F1. */
static void confirm(int fd, const uint8_t *fr)
{
    uint8_t c[20] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x0B, fr[7], fr[8], fr[9], fr[10],
                      0x00, 0x00, (uint8_t)(0x60 | (fr[13] & 15)), 0x00, 0x00, 0x01, 0x00 };
    unsigned cs = 0;
    for (int i = 6; i < 18; i++)
        cs += c[i];
    c[18] = (uint8_t)cs;
    c[19] = 0x16;
    CHECK_EQ_INT(write(fd, c, sizeof(c)), (long)sizeof(c));
}

/* 1 if this report was already seen once (and whether the copy was identical). */
static int seen_before(struct peer *pr, const uint8_t *fr, size_t len, int *same)
{
    uint16_t a2 = (uint16_t)(fr[9] | fr[10] << 8);
    size_t hl = len < 64 ? len : 64;
    for (int i = 0; i < pr->nseen; i++) {
        struct seen *s = &pr->seen[i];
        if (s->a2 == a2 && (s->head[13] & 15) == (fr[13] & 15) && s->len == (uint8_t)len &&
            memcmp(s->head + 14, fr + 14, hl - 14) == 0) {
            *same = memcmp(s->head, fr, hl) == 0;
            pr->seen[i] = pr->seen[--pr->nseen];
            return 1;
        }
    }
    if (pr->nseen < MAXSEEN) {
        struct seen *s = &pr->seen[pr->nseen++];
        s->a2 = a2;
        s->len = (uint8_t)len;
        memcpy(s->head, fr, hl);
    }
    return 0;
}

static void on_frame(struct peer *pr, int fd, const uint8_t *fr, size_t len)
{
    uint8_t c = fr[6], afn = fr[12], seq = fr[13];
    uint16_t a2 = (uint16_t)(fr[9] | fr[10] << 8);
    CHECK(c & 0x80);                        /* uplink */
    CHECK_EQ_INT(fr[7] | fr[8] << 8, 0x4403); /* A1 */
    if (!(seq & 0x10))
        return;                              /* no confirm asked */
    size_t aux = (c & 0x20) ? 2 : 0;         /* EC when ACD */
    const uint8_t *u = fr + 14;
    size_t ulen = len - 8 - 8 - aux;
    if (afn == 0x02) {
        unsigned fn = u[2];
        pr->logins += fn == 1;
        pr->logouts += fn == 2;
        pr->heartbeats += fn == 4;
        if (fn == 4)
            CHECK_EQ_INT(ulen, pr->hb_units); /* 2013: DA/DT + the clock (A.1); 2009: none */
        confirm(fd, fr);
        return;
    }
    int same = 0;
    if (pr->confirm_at_copy && a2 >= 1 && a2 <= 8) {
        int k = a2 - 1;
        size_t bl = len - 16 < 512 ? len - 16 : 512; /* data units, not SEQ or CS */
        if (pr->copies[k] == 0 || pr->copy_len[k] != bl || memcmp(pr->copy_body[k], fr + 14, bl)) {
            memcpy(pr->copy_body[k], fr + 14, bl); /* a new report: start counting */
            pr->copy_len[k] = bl;
            pr->copies[k] = 0;
            pr->first_pseq[k] = fr[13] & 15;
        }
        pr->last_pseq[k] = fr[13] & 15;
        if (++pr->copies[k] < pr->confirm_at_copy)
            return;                              /* held back: no confirm */
        pr->retrans_same++;
    }
    if (pr->ignore_first) {
        if (!seen_before(pr, fr, len, &same))
            return;                          /* first copy: say nothing */
        if (same)
            pr->retrans_same++;
        else
            pr->retrans_diff++;
    }
    pr->reports++;
    expect_units(pr, a2, afn, u, ulen);
    confirm(fd, fr);
}

/* Scan by hand (section 1.3): 68 L L 68 ... CS 16 with L = L1 << 2 | 2. */
static void drain(struct peer *pr, int i)
{
    uint8_t *b = pr->in[i];
    size_t n = pr->inlen[i], off = 0;
    while (n - off >= 6) {
        if (b[off] != 0x68) {
            off++;
            continue;
        }
        unsigned l = (unsigned)(b[off + 1] | b[off + 2] << 8);
        size_t total = (l >> 2) + 8;
        CHECK_EQ_INT(l & 3, 2);
        CHECK_EQ_INT(b[off + 3] | b[off + 4] << 8, l);
        if (n - off < total)
            break;
        unsigned cs = 0;
        for (size_t k = 6; k < total - 2; k++)
            cs += b[off + k];
        CHECK_EQ_INT(b[off + total - 2], cs & 0xFF);
        CHECK_EQ_INT(b[off + total - 1], 0x16);
        on_frame(pr, pr->fds[i], b + off, total);
        off += total;
    }
    memmove(b, b + off, n - off);
    pr->inlen[i] = n - off;
}

static void *peer_main(void *arg)
{
    struct peer *pr = arg;
    while (!pr->stop) {
        struct pollfd p[MAXC + 1];
        int np = 0;
        p[np++] = (struct pollfd){ .fd = pr->lfd, .events = POLLIN };
        for (int i = 0; i < MAXC; i++)
            p[np++] = (struct pollfd){ .fd = pr->fds[i], .events = POLLIN };
        if (poll(p, (nfds_t)np, 50) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            int fd = accept(pr->lfd, NULL, NULL);
            for (int i = 0; i < MAXC && fd >= 0; i++)
                if (pr->fds[i] < 0) {
                    pr->fds[i] = fd;
                    pr->inlen[i] = 0;
                    fd = -1;
                }
            if (fd >= 0)
                close(fd);
        }
        for (int i = 0; i < MAXC; i++) {
            if (pr->fds[i] < 0 || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(pr->fds[i], pr->in[i] + pr->inlen[i],
                             sizeof(pr->in[i]) - pr->inlen[i]);
            if (r <= 0) {
                close(pr->fds[i]);
                pr->fds[i] = -1;
                continue;
            }
            pr->inlen[i] += (size_t)r;
            drain(pr, i);
        }
    }
    for (int i = 0; i < MAXC; i++)
        if (pr->fds[i] >= 0)
            close(pr->fds[i]);
    return NULL;
}

static struct peer *peer_start(int ignore_first)
{
    struct peer *pr = calloc(1, sizeof(*pr));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    pr->ignore_first = ignore_first;
    pr->hb_units = 10;
    for (int i = 0; i < MAXC; i++)
        pr->fds[i] = -1;
    pr->lfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(pr->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0); /* port 0: a free one */
    CHECK(listen(pr->lfd, 128) == 0);
    getsockname(pr->lfd, (struct sockaddr *)&sa, &sl);
    pr->port = ntohs(sa.sin_port);
    return pr;
}

static void cfg_for(struct sim_cfg *cfg, int port, uint32_t nterm, uint16_t npoints)
{
    memset(cfg, 0, sizeof(*cfg));
    mf_strlcpy(cfg->host, "127.0.0.1", sizeof(cfg->host));
    cfg->port = port;
    cfg->nterm = nterm;
    cfg->npoints = npoints;
    cfg->nareas = nterm;
    cfg->region = 0x4403;
    cfg->first_addr = 1;
    cfg->procs = 1;
    cfg->speed = 120;
    cfg->seed = 7;
    cfg->start_ls = (int64_t)mf_date_to_days(2026, 11, 26) * 86400 + 10 * 3600;
    cfg->report_interval_s = 60;
    cfg->heartbeat_s = 1;
    cfg->duration_s = 3;
    cfg->confirm_timeout_ms = 300;
    cfg->retries = 3;
    cfg->window = 4;
    cfg->backoff_min_ms = 50;
    cfg->backoff_max_ms = 500;
}

/* Sorted lines of a text, for comparing two line sets. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t split_sorted(char *text, char ***out)
{
    size_t n = 0, cap = 1024;
    char **v = malloc(cap * sizeof(*v));
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        if (*p && *p != '#') {
            if (n == cap)
                v = realloc(v, (cap *= 2) * sizeof(*v));
            v[n++] = p;
        }
        p = nl ? nl + 1 : NULL;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    return n;
}

static void check_ledger_matches(struct peer *pr, const char *path)
{
    size_t len;
    char *text = mf_test_read_file(path, &len), **a, **b;
    CHECK(text != NULL);
    if (!text)
        return;
    size_t na = split_sorted(text, &a);
    size_t nb = split_sorted(pr->expect ? pr->expect : (char[]){ 0 }, &b);
    CHECK_EQ_INT(na, nb);
    for (size_t i = 0; i < na && i < nb; i++)
        if (strcmp(a[i], b[i]) != 0) {
            CHECK_STR(a[i], b[i]);
            break;
        }
    free(a);
    free(b);
    free(text);
}

static int run_sim(struct sim_cfg *cfg, struct sim_stats *stats, struct sim_fault *f, size_t nf)
{
    struct sim_model m;
    CHECK_EQ_INT(sim_model_init(&m, cfg->seed, cfg->nterm, cfg->npoints, cfg->nareas,
                                cfg->region, cfg->first_addr,
                                (int32_t)(cfg->start_ls / 86400), f, nf),
                 0);
    memset(stats, 0, sizeof(*stats));
    int rc = sim_proc_run(cfg, &m, stats, 0, 1);
    sim_model_fini(&m);
    return rc;
}

MF_TEST(sim_login_report_retransmit_logout)
{
    struct peer *pr = peer_start(1);
    struct sim_cfg cfg;
    struct sim_stats stats;
    pthread_t th;
    char ledger[] = "/tmp/mf-sim-link-XXXXXX";
    int fd = mkstemp(ledger);
    close(fd);
    cfg_for(&cfg, pr->port, 20, 3);
    cfg.daily = 0;
    cfg.ledger_path = ledger;
    pthread_create(&th, NULL, peer_main, pr);
    int rc = run_sim(&cfg, &stats, NULL, 0);
    pr->stop = 1;
    pthread_join(th, NULL);

    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(pr->logins, 20);
    CHECK_EQ_INT(pr->logouts, 20);
    CHECK(pr->heartbeats >= 20);
    CHECK(pr->reports >= 20);
    CHECK_EQ_INT(pr->retrans_diff, 0);           /* a retransmission is the same frame */
    CHECK_EQ_INT(pr->retrans_same, pr->reports);
    CHECK(stats.retransmits >= (uint64_t)pr->reports);
    CHECK_EQ_INT(stats.unconfirmed, 0);
    CHECK_EQ_INT(stats.frames_confirmed, pr->reports);
    CHECK_EQ_INT(stats.values_confirmed, pr->nexpect);
    CHECK_EQ_INT(pr->nexpect, pr->reports * 3 * 5); /* 3 points x (total + 4 tariffs) */
    check_ledger_matches(pr, ledger);
    free(pr->expect);
    close(pr->lfd);
    free(pr);
    unlink(ledger);
}

/* Start two minutes before midnight at a day per 72 s: after midnight every terminal
 * reports 0D F161 (per point, total + tariffs) and a 96-point F101 curve for the day --
 * except the point with a "drop" fault; heartbeats in the 2009 style (no clock). */
MF_TEST(sim_daily_frozen_and_curve)
{
    struct peer *pr = peer_start(0);
    struct sim_cfg cfg;
    struct sim_stats stats;
    pthread_t th;
    char ledger[] = "/tmp/mf-sim-daily-XXXXXX";
    int fd = mkstemp(ledger);
    close(fd);
    cfg_for(&cfg, pr->port, 4, 2);
    cfg.start_ls = (int64_t)mf_date_to_days(2026, 11, 26) * 86400 + 23 * 3600 + 58 * 60;
    cfg.speed = 1200;
    cfg.report_interval_s = 3600;
    cfg.daily = 1;
    cfg.curves = 1;
    cfg.duration_s = 4.5; /* midnight after 0.1 s; the last terminal freezes by 1.6 s */
    cfg.ledger_path = ledger;
    cfg.hb_2009 = 1;
    pr->hb_units = 4;
    struct sim_fault *drop = calloc(1, sizeof(*drop));
    int32_t d26 = mf_date_to_days(2026, 11, 26);
    *drop = (struct sim_fault){ .kind = SIM_F_DROP, .term = 2, .pn = 1, .from_day = d26,
                                .to_day = d26 };
    pthread_create(&th, NULL, peer_main, pr);
    int rc = run_sim(&cfg, &stats, drop, 1);
    pr->stop = 1;
    pthread_join(th, NULL);

    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(stats.unconfirmed, 0);
    size_t len;
    char *text = mf_test_read_file(ledger, &len);
    int daily = 0, curve = 0;
    for (char *p = text; p && (p = strstr(p, " day_fwd_active 2026-11-26 ")); p++)
        daily++;
    for (char *p = text; p && (p = strstr(p, " curve_fwd_active 2026-11-2")); p++)
        curve++;
    if (getenv("MF_SIM_DEBUG"))
        fprintf(stderr, "%s", text ? text : "(none)");
    CHECK_EQ_INT(daily, (4 * 2 - 1) * 5);
    CHECK_EQ_INT(curve, (4 * 2 - 1) * 96);
    CHECK(text && !strstr(text, "4403-0003 1 day_fwd_active")); /* dropped */
    CHECK(text && strstr(text, "4403-0003 2 day_fwd_active"));
    CHECK(pr->heartbeats >= 4);
    CHECK(text && strstr(text, " curve_fwd_active 2026-11-27T00:00 0 ")); /* the 96th point */
    free(text);
    check_ledger_matches(pr, ledger);
    free(pr->expect);
    close(pr->lfd);
    free(pr);
    unlink(ledger);
}

/* A report never confirmed: sent, retransmitted 3 times with the same PSEQ, then the link is
 * dropped; after the next login the same data units go out again with a fresh PFC, and that
 * copy is confirmed -- and lands in the ledger once. */
MF_TEST(sim_unconfirmed_kept_until_relogin)
{
    struct peer *pr = peer_start(0);
    struct sim_cfg cfg;
    struct sim_stats stats;
    pthread_t th;
    char ledger[] = "/tmp/mf-sim-relogin-XXXXXX";
    int fd = mkstemp(ledger);
    close(fd);
    cfg_for(&cfg, pr->port, 2, 2);
    cfg.daily = 0;
    cfg.speed = 60;
    cfg.start_ls = (int64_t)mf_date_to_days(2026, 11, 26) * 86400 + 10 * 3600 + 59 * 60;
    cfg.report_interval_s = 3600; /* one report each, in the first two seconds */
    cfg.heartbeat_s = 30;
    cfg.duration_s = 6;
    cfg.window = 1;
    cfg.ledger_path = ledger;
    pr->confirm_at_copy = 5;      /* the first copy and its 3 retransmissions go unanswered */
    pthread_create(&th, NULL, peer_main, pr);
    int rc = run_sim(&cfg, &stats, NULL, 0);
    pr->stop = 1;
    pthread_join(th, NULL);

    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(stats.unconfirmed, 0);
    CHECK(pr->logins >= 4);                     /* each terminal logged in again */
    CHECK(stats.given_up >= 2);
    CHECK(stats.retransmits >= 6);
    CHECK_EQ_INT(pr->reports, 2);               /* one report per terminal, confirmed once */
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_INT(pr->copies[k], 5);
        CHECK(pr->first_pseq[k] != pr->last_pseq[k]); /* re-sent with a fresh PFC */
    }
    CHECK_EQ_INT(pr->nexpect, 2 * 2 * 5);
    check_ledger_matches(pr, ledger);
    free(pr->expect);
    close(pr->lfd);
    free(pr);
    unlink(ledger);
}
