/* tsan: yes */
/* test_sim_answer.c -- a simulated terminal answers a master: requests are hand-built bytes
 * (docs/protocol-3761.md sections 1, 2, 3, 5, 6, 9, 10), answers are checked with the codec's
 * decoder against values written here by hand, or against what the same terminal reported
 * (a re-collected daily value must equal the reported one).
 *
 * The master is a thread with a blocking socket; the simulator runs on the test thread and is
 * stopped through mf_stop_requested when the master is done, so nothing depends on timing. */
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
#include "meterflow/gw3761_data.h"
#include "sim/sim_int.h"

struct master {
    int lfd, fd, port;
    uint8_t in[65536];
    size_t inlen;
    uint8_t pfc;
    int answers_ok;
    int64_t f161_reported;  /* total of p1's daily report for 2026-11-26 (units), -1 none */
    struct sim_ledger_rec dummy;
};

static struct gw_decoded dec; /* ~60 KB: static, reused */

/* Next complete frame (hand scan, section 1.3) into out; 0 or -1 on EOF/timeout. */
static int next_frame(struct master *m, uint8_t *out, size_t *len)
{
    for (;;) {
        size_t off = 0;
        while (off < m->inlen && m->in[off] != 0x68)
            off++;
        memmove(m->in, m->in + off, m->inlen - off);
        m->inlen -= off;
        if (m->inlen >= 6) {
            size_t total = ((size_t)(m->in[1] | m->in[2] << 8) >> 2) + 8;
            if (m->inlen >= total) {
                memcpy(out, m->in, total);
                *len = total;
                memmove(m->in, m->in + total, m->inlen - total);
                m->inlen -= total;
                return 0;
            }
        }
        struct pollfd p = { .fd = m->fd, .events = POLLIN };
        if (poll(&p, 1, 20000) <= 0)
            return -1;
        ssize_t r = read(m->fd, m->in + m->inlen, sizeof(m->in) - m->inlen);
        if (r <= 0)
            return -1;
        m->inlen += (size_t)r;
    }
}

static void send_frame(struct master *m, uint8_t c, uint8_t afn, uint8_t seq, const uint8_t *u,
                       size_t ulen, int pw, const uint8_t *tp)
{
    uint8_t f[1024];
    size_t l1 = 8 + ulen + (pw ? 16 : 0) + (tp ? 6 : 0), n = 0;
    f[n++] = 0x68;
    f[n++] = (uint8_t)(l1 << 2 | 2);
    f[n++] = (uint8_t)(l1 >> 6);
    f[n++] = f[1];
    f[n++] = f[2];
    f[n++] = 0x68;
    f[n++] = c;
    f[n++] = 0x03; /* A1 4403, low byte first */
    f[n++] = 0x44;
    f[n++] = 0x01; /* A2 0001 */
    f[n++] = 0x00;
    f[n++] = 0x02; /* A3: MSA 1 */
    f[n++] = afn;
    f[n++] = seq;
    memcpy(f + n, u, ulen);
    n += ulen;
    if (pw) {
        memset(f + n, 0, 16);
        n += 16;
    }
    if (tp) {
        memcpy(f + n, tp, 6);
        n += 6;
    }
    unsigned cs = 0;
    for (size_t i = 6; i < n; i++)
        cs += f[i];
    f[n++] = (uint8_t)cs;
    f[n++] = 0x16;
    CHECK_EQ_INT(write(m->fd, f, n), (long)n);
}

/* Confirm a terminal-initiated frame with hand-built AFN=00 F1 (section 7). */
static void confirm(struct master *m, const uint8_t *fr)
{
    static const uint8_t f1[4] = { 0x00, 0x00, 0x01, 0x00 };
    uint8_t c = 0x0B;
    send_frame(m, c, 0x00, (uint8_t)(0x60 | (fr[13] & 15)), f1, 4, 0, NULL);
}

/* Remember p1's reported daily total (0D F161 for 2026-11-26) -- by hand, section 9.6. */
static void note_report(struct master *m, const uint8_t *fr, size_t len)
{
    const uint8_t *u = fr + 14;
    size_t ulen = len - 16 - ((fr[6] & 0x20) ? 2 : 0);
    if (fr[12] != 0x0D || ulen < 4 || u[0] != 0x01 || u[1] != 0x01 || u[2] != 0x01 ||
        u[3] != 0x14)
        return;
    if (u[4] == 0x26 && u[5] == 0x11 && u[6] == 0x26) {
        long long v = 0;
        for (int i = 4; i >= 0; i--)
            v = v * 100 + (u[13 + i] >> 4) * 10 + (u[13 + i] & 15);
        m->f161_reported = v;
    }
}

/* Send a request; confirm whatever the terminal initiates meanwhile; return the answer. */
static int request(struct master *m, uint8_t c, uint8_t afn, const uint8_t *u, size_t ulen,
                   int pw, const uint8_t *tp, uint8_t *ans, size_t *alen)
{
    uint8_t pseq = (uint8_t)(m->pfc++ & 15);
    send_frame(m, c, afn, (uint8_t)((tp ? 0x80 : 0) | 0x60 | pseq), u, ulen, pw, tp);
    for (;;) {
        if (next_frame(m, ans, alen) != 0)
            return -1;
        if (ans[6] & 0x40) { /* PRM=1: the terminal initiated it */
            note_report(m, ans, *alen);
            if (ans[13] & 0x10)
                confirm(m, ans);
            continue;
        }
        CHECK_EQ_INT(ans[13] & 15, pseq); /* RSEQ = PSEQ (section 5) */
        CHECK_EQ_INT(ans[11], 0x02);      /* the master's MSA comes back */
        return 0;
    }
}

static int decode(const uint8_t *fr, size_t len, struct gw_frame *g)
{
    if (gw_frame_parse(fr, len, GW_PW_LEN, g) != 0)
        return -1;
    return gw_decode_units(g, &dec);
}

static const struct gw_value *val(const char *name, uint16_t index)
{
    for (uint16_t i = 0; i < dec.nvals; i++)
        if (strcmp(dec.vals[i].name, name) == 0 && dec.vals[i].index == index)
            return &dec.vals[i];
    return NULL;
}

static void check_clock_and_set(struct master *m)
{
    uint8_t ans[2048];
    size_t alen;
    struct gw_frame g;
    static const uint8_t f2[4] = { 0x00, 0x00, 0x02, 0x00 };
    /* Tp: PFC 5, 10:20:30 on the 27th, 0 min delay -- must come back unchanged */
    static const uint8_t tp[6] = { 0x05, 0x30, 0x20, 0x10, 0x27, 0x00 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0C, f2, 4, 0, tp, ans, &alen), 0);
    CHECK_EQ_INT(decode(ans, alen, &g), 0);
    CHECK_EQ_INT(g.afn, 0x0C);
    CHECK(g.has_tp);
    CHECK_MEM(ans + alen - 8, tp, 6);
    const struct gw_value *v = val("clock", 0);
    CHECK(v && v->u.t.year == 2026 && v->u.t.mon == 11 && (v->u.t.day == 26 || v->u.t.day == 27));
    /* 05 F31: set the clock to 2030-01-02 03:04:05, a Wednesday (A.1: ss mm hh DD
     * [week<<5 | month] YY) + PW 16 zeros */
    static const uint8_t f31[10] = { 0x00, 0x00, 0x40, 0x03, 0x05, 0x04, 0x03, 0x02, 0x61, 0x30 };
    CHECK_EQ_INT(request(m, 0x4A, 0x05, f31, sizeof(f31), 1, NULL, ans, &alen), 0);
    CHECK_EQ_INT(ans[12], 0x00);
    CHECK_EQ_INT(ans[16], 0x01); /* DT1: F1 all confirmed */
    CHECK_EQ_INT(request(m, 0x4B, 0x0C, f2, 4, 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(decode(ans, alen, &g), 0);
    v = val("clock", 0);
    CHECK(v && v->u.t.year == 2030 && v->u.t.mon == 1 && v->u.t.day == 2 && v->u.t.hour == 3);
    m->answers_ok++;
}

static void check_daily_recollect(struct master *m)
{
    uint8_t ans[4096];
    size_t alen;
    struct gw_frame g;
    /* 0D p1 F161 Td_d 2026-11-26 (section 9.6: request = Td_d only) */
    static const uint8_t req[7] = { 0x01, 0x01, 0x01, 0x14, 0x26, 0x11, 0x26 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0D, req, sizeof(req), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(decode(ans, alen, &g), 0);
    CHECK_EQ_INT(g.afn, 0x0D);
    const struct gw_value *td = val("td_d", 0), *tot = val("total_kwh", 0);
    CHECK(td && td->u.t.year == 2026 && td->u.t.mon == 11 && td->u.t.day == 26);
    CHECK(tot && tot->kind == GW_VK_NUM);
    CHECK(m->f161_reported >= 0);
    if (tot && m->f161_reported >= 0) /* re-collected == reported, to the last digit */
        CHECK_EQ_INT(tot->exp == -4 ? tot->u.i : -1, m->f161_reported);
    /* a tariff sum check on the same answer */
    int64_t sum = 0;
    for (uint16_t k = 1; k <= 4; k++) {
        const struct gw_value *t = val("tariffs_kwh", k);
        CHECK(t != NULL);
        sum += t ? t->u.i : 0;
    }
    CHECK(tot && sum == tot->u.i);
    /* F101 curve of p2, 4 points of 60 min from 2026-11-26 01:00 (Td_c: A.15, m=3, n=4) */
    static const uint8_t curve[11] = { 0x02, 0x01, 0x10, 0x0C, 0x00, 0x01, 0x26, 0x11, 0x26,
                                       0x03, 0x04 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0D, curve, sizeof(curve), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(decode(ans, alen, &g), 0);
    CHECK_EQ_INT(dec.nunits, 1);
    CHECK_EQ_INT(dec.units[0].pn, 2);
    CHECK_EQ_INT(dec.units[0].fn, 101);
    int64_t prev = -1, pts = 0;
    for (uint16_t i = 0; i < dec.nvals; i++)
        if (strcmp(dec.vals[i].name, "total_kwh") == 0 && dec.vals[i].index > 0) {
            CHECK(dec.vals[i].u.i >= prev); /* monotone indications */
            prev = dec.vals[i].u.i;
            pts++;
        }
    CHECK_EQ_INT(pts, 4);
    m->answers_ok++;
}

static void check_misc(struct master *m)
{
    uint8_t ans[4096];
    size_t alen;
    struct gw_frame g;
    /* 0A F10 for serials 1 and 2 (section 9.11: n (2) + n x serial (2)) */
    static const uint8_t q10[10] = { 0x00, 0x00, 0x02, 0x01, 0x02, 0x00, 0x01, 0x00, 0x02, 0x00 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0A, q10, sizeof(q10), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(ans[12], 0x0A);
    CHECK_EQ_INT(ans[18] | ans[19] << 8, 2);     /* count */
    CHECK_EQ_INT(alen, 16 + 4 + 2 + 2 * 27);     /* header/CS + DA/DT + n + 2 entries */
    CHECK_EQ_INT(ans[20 + 2] | ans[20 + 3] << 8, 1); /* entry 1: pn 1 */
    CHECK_EQ_INT(ans[20 + 5], 30);                   /* DL/T 645-2007 */
    /* 04 F10: serial 2 becomes a 645-1997 meter 000000000042 on port 1 at 2400 bps (rate
     * code 3), 4 tariffs, class 1/0 -- then 0A F10 returns it */
    static const uint8_t s10[4 + 2 + 27] = {
        0x00, 0x00, 0x02, 0x01, 0x01, 0x00,
        0x02, 0x00, 0x02, 0x00, 0x61, 0x01, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x10 };
    CHECK_EQ_INT(request(m, 0x4A, 0x04, s10, sizeof(s10), 1, NULL, ans, &alen), 0);
    CHECK_EQ_INT(ans[12], 0x00);
    CHECK_EQ_INT(ans[16], 0x01); /* confirmed */
    static const uint8_t q2[8] = { 0x00, 0x00, 0x02, 0x01, 0x01, 0x00, 0x02, 0x00 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0A, q2, sizeof(q2), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(alen, 16 + 4 + 2 + 27);
    CHECK_EQ_INT(ans[24], 0x61);  /* rate/port as set */
    CHECK_EQ_INT(ans[25], 1);     /* DL/T 645-1997 */
    CHECK_EQ_INT(ans[26], 0x42);  /* address, least significant byte first */
    /* 0C p1 F129 and F25 in two identifiers */
    static const uint8_t c1[8] = { 0x01, 0x01, 0x01, 0x10, 0x01, 0x01, 0x01, 0x03 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0C, c1, sizeof(c1), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(decode(ans, alen, &g), 0);
    CHECK_EQ_INT(dec.nunits, 2);
    const struct gw_value *ua = val("ua_v", 0);
    CHECK(ua && ua->status == GW_VS_OK && ua->u.i > 2000 && ua->u.i < 2400); /* ~220 V */
    /* an AFN nobody answers (0B task data without tasks): denied, AFN=00 F2 */
    static const uint8_t t1[4] = { 0x01, 0x01, 0x01, 0x00 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0B, t1, sizeof(t1), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(ans[12], 0x00);
    CHECK_EQ_INT(ans[16], 0x02);
    /* 0C for a point the terminal does not have: denied */
    static const uint8_t p9[4] = { 0x01, 0x02, 0x01, 0x10 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0C, p9, sizeof(p9), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(ans[16], 0x02);
    /* 0E F1 events from Pm 0 to Pn 2: both ERC records the terminal raised come back */
    static const uint8_t ev[6] = { 0x00, 0x00, 0x01, 0x00, 0x00, 0x02 };
    CHECK_EQ_INT(request(m, 0x4B, 0x0E, ev, sizeof(ev), 0, NULL, ans, &alen), 0);
    CHECK_EQ_INT(decode(ans, alen, &g), 0);
    CHECK_EQ_INT(dec.nunits, 1);
    CHECK_EQ_INT(dec.units[0].nev, 2);
    m->answers_ok++;
}

/* A DL/T 645-2007 frame to meter 440300001001 (p1 of 4403-0001), built by hand from
 * section 11: 68 A0..A5 68 C L DATA+33 CS 16. */
static size_t frame645(uint8_t c, const uint8_t *data, uint8_t len, uint8_t *out)
{
    static const uint8_t addr[6] = { 0x01, 0x10, 0x00, 0x00, 0x03, 0x44 };
    size_t n = 0;
    out[n++] = 0x68;
    memcpy(out + n, addr, 6);
    n += 6;
    out[n++] = 0x68;
    out[n++] = c;
    out[n++] = len;
    for (uint8_t i = 0; i < len; i++)
        out[n++] = (uint8_t)(data[i] + 0x33);
    unsigned cs = 0;
    for (size_t i = 0; i < n; i++)
        cs += out[i];
    out[n++] = (uint8_t)cs;
    out[n++] = 0x16;
    return n;
}

/* AFN=10 F1: port 31, 2400 8E1, 60 s, 100 ms, k, the 645 frame (section 9.9); the answer's
 * 645 frame is returned unscrambled in data[] (length *dlen), its C in *c. */
static void forward(struct master *m, const uint8_t *f645, size_t k, uint8_t *c, uint8_t *data,
                    size_t *dlen)
{
    uint8_t u[64] = { 0x00, 0x00, 0x01, 0x00, 0x1F, 0x6B, 0xBC, 0x0A, (uint8_t)k, 0x00 };
    uint8_t ans[512];
    size_t alen;
    memcpy(u + 10, f645, k);
    *dlen = 0;
    CHECK_EQ_INT(request(m, 0x4B, 0x10, u, 10 + k, 1, NULL, ans, &alen), 0);
    CHECK_EQ_INT(ans[12], 0x10);
    CHECK_EQ_INT(ans[18], 0x1F);                 /* port */
    size_t kk = (size_t)(ans[19] | ans[20] << 8);
    CHECK(kk >= 12 && 21 + kk + 2 <= alen);
    if (kk < 12 || 21 + kk + 2 > alen)
        return;
    const uint8_t *a = ans + 21;
    CHECK_EQ_INT(a[0], 0x68);
    CHECK_EQ_INT(a[7], 0x68);
    *c = a[8];
    *dlen = a[9];
    for (size_t i = 0; i < *dlen; i++)
        data[i] = (uint8_t)(a[10 + i] - 0x33);
}

static void check_forward(struct master *m)
{
    uint8_t f[64], c, d[64];
    size_t n, dl;
    static const uint8_t di_energy[4] = { 0x00, 0x00, 0x01, 0x00 }; /* DI 00010000 */
    static const uint8_t di_sw3[4] = { 0x03, 0x05, 0x00, 0x04 };    /* DI 04000503 */
    /* remote control: PA 02 + password, operator, N1, N2, valid until 2030-01-01 00:00:00 */
    uint8_t trip[16] = { 0x02, 0, 0, 0, 0, 0, 0, 0, 0x1A, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x30 };

    n = frame645(0x11, di_energy, 4, f);
    forward(m, f, n, &c, d, &dl);
    CHECK_EQ_INT(c, 0x91);
    CHECK_EQ_INT(dl, 8);
    CHECK_MEM(d, di_energy, 4);
    long long kwh100 = 0; /* XXXXXX.XX BCD, least significant byte first */
    for (int i = 7; i >= 4; i--)
        kwh100 = kwh100 * 100 + (d[i] >> 4) * 10 + (d[i] & 15);
    CHECK(kwh100 > 0);
    n = frame645(0x11, di_sw3, 4, f);
    forward(m, f, n, &c, d, &dl);
    CHECK_EQ_INT(c, 0x91);
    CHECK_EQ_INT(d[4] & 0x10, 0);                /* relay closed */
    n = frame645(0x1C, trip, 16, f);
    forward(m, f, n, &c, d, &dl);
    CHECK_EQ_INT(c, 0x9C);
    n = frame645(0x11, di_sw3, 4, f);
    forward(m, f, n, &c, d, &dl);
    CHECK_EQ_INT(d[4] & 0x10, 0x10);             /* tripped: relay open */
    trip[8] = 0x1C;                              /* direct close */
    n = frame645(0x1C, trip, 16, f);
    forward(m, f, n, &c, d, &dl);
    CHECK_EQ_INT(c, 0x9C);
    n = frame645(0x11, di_sw3, 4, f);
    forward(m, f, n, &c, d, &dl);
    CHECK_EQ_INT(d[4] & 0x10, 0);
    static const uint8_t di_bad[4] = { 0x01, 0x00, 0x99, 0x09 };
    n = frame645(0x11, di_bad, 4, f);
    forward(m, f, n, &c, d, &dl);
    CHECK_EQ_INT(c, 0xD1);                       /* abnormal: no such data */
    CHECK_EQ_INT(dl, 1);
    m->answers_ok++;
}

static void *master_main(void *arg)
{
    struct master *m = arg;
    uint8_t fr[4096];
    size_t len;
    m->fd = accept(m->lfd, NULL, NULL);
    /* log in, then wait for the daily report of 2026-11-26 and two events */
    int events = 0;
    while (m->f161_reported < 0 || events < 2) {
        if (next_frame(m, fr, &len) != 0)
            break;
        note_report(m, fr, len);
        if (fr[12] == 0x0E) { /* an event report: ACD=1 and EC in the AUX (sections 2, 10.1) */
            events++;
            CHECK(fr[6] & 0x20);
            CHECK_EQ_INT(fr[len - 4], fr[18]); /* EC1 in the AUX = EC1 in the data unit */
            CHECK_EQ_INT(fr[21], fr[18]);      /* Pn = EC1: the newest record */
        }
        if (fr[13] & 0x10)
            confirm(m, fr);
    }
    check_daily_recollect(m);
    check_misc(m);
    check_forward(m);
    check_clock_and_set(m);
    mf_stop_requested = 1; /* done: the simulator drains, logs out and returns */
    while (next_frame(m, fr, &len) == 0)
        if (fr[13] & 0x10)
            confirm(m, fr);
    close(m->fd);
    return NULL;
}

MF_TEST(sim_answers_master_requests)
{
    struct master *m = calloc(1, sizeof(*m));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    struct sim_cfg cfg;
    struct sim_model model;
    struct sim_stats stats;
    pthread_t th;

    m->f161_reported = -1;
    m->lfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHECK(listen(m->lfd, 4) == 0);
    getsockname(m->lfd, (struct sockaddr *)&sa, &sl);
    memset(&cfg, 0, sizeof(cfg));
    mf_strlcpy(cfg.host, "127.0.0.1", sizeof(cfg.host));
    cfg.port = ntohs(sa.sin_port);
    cfg.nterm = 1;
    cfg.npoints = 2;
    cfg.nareas = 1;
    cfg.region = 0x4403;
    cfg.first_addr = 1;
    cfg.speed = 1200;
    cfg.seed = 3;
    cfg.start_ls = (int64_t)mf_date_to_days(2026, 11, 26) * 86400 + 23 * 3600 + 59 * 60;
    cfg.report_interval_s = 3600;
    cfg.heartbeat_s = 30;
    cfg.daily = 1;
    cfg.erc14_per_day = 2000; /* about one event per virtual 43 s */
    cfg.confirm_timeout_ms = 5000;
    cfg.retries = 3;
    cfg.window = 4;
    cfg.backoff_min_ms = 50;
    cfg.backoff_max_ms = 500;
    CHECK_EQ_INT(sim_model_init(&model, cfg.seed, 1, 2, 1, 0x4403, 1,
                                (int32_t)(cfg.start_ls / 86400), NULL, 0),
                 0);
    pthread_create(&th, NULL, master_main, m);
    memset(&stats, 0, sizeof(stats));
    int rc = sim_proc_run(&cfg, &model, &stats, 0, 1);
    pthread_join(th, NULL);
    mf_stop_requested = 0;
    sim_model_fini(&model);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(m->answers_ok, 4);
    CHECK(stats.answers >= 9);
    close(m->lfd);
    free(m);
}

/* One area of 2040 points: the supply meter (pn 1) at 19:00 draws far more than A.25's
 * 799.999 A and A.9's 79.9999 kW. Its F25 saturates at the formats' limits instead of
 * failing to encode (the answer or report was dropped before); a customer is unchanged. */
MF_TEST(sim_f25_supply_meter_saturates)
{
    struct sim_model model;
    struct sim_instant in;
    struct gw_f25 v;
    uint8_t u[512];
    struct gw_ubuf ub;
    int32_t day = mf_date_to_days(2026, 11, 26);
    int64_t now = (int64_t)day * 86400 + 19 * 3600 + 5 * 60;

    CHECK_EQ_INT(sim_model_init(&model, 3, 1, 2040, 1, 0x4403, 1, day, NULL, 0), 0);
    sim_instant(&model, 0, 1, now, &in);
    CHECK(in.i_a[0] > 800.0); /* the case this test is about */
    CHECK(in.p_kw[0] > 80.0);
    sim_f25_values(&model, 0, 1, now, now, &v);
    CHECK_EQ_INT(v.i[0].status, GW_VS_OK);
    CHECK_EQ_INT(v.i[0].m, 799999);
    CHECK_EQ_INT(v.i[0].exp, -3);
    CHECK_EQ_INT(v.p[0].m, 799999);
    CHECK_EQ_INT(v.p[0].exp, -4);
    gw_ub_init(&ub, u, sizeof(u));
    CHECK_EQ_INT(gw_ans_f25(&ub, 1, &v), 0);
    /* the A.25 bytes of ia: 99 99 79 (799.999, sign clear), after the identifier (4), the
     * time (5), P and Q (8 x 3), the power factors (4 x 2) and the voltages (3 x 2) */
    size_t ia = 4 + 5 + 8 * 3 + 4 * 2 + 3 * 2;
    CHECK(ub.len >= ia + 3 && u[ia] == 0x99 && u[ia + 1] == 0x99 && u[ia + 2] == 0x79);
    /* a customer point is far below the limits: the plain truncated values */
    sim_instant(&model, 0, 2, now, &in);
    sim_f25_values(&model, 0, 2, now, now, &v);
    CHECK(in.i_a[0] < 100.0);
    CHECK_EQ_INT(v.i[0].m, (int64_t)(in.i_a[0] * 1e3));
    CHECK_EQ_INT(v.p[0].m, (int64_t)(in.p_kw[0] * 1e4));
    CHECK(sim_num_sat(-1000.0, 1e3, -3, SIM_A25_MAX, GW_VS_OK).m == -799999);
    sim_model_fini(&model);
}
