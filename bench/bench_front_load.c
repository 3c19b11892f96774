/* bench_front_load.c -- load client for the front (libuv, one thread): many terminals, each a
 * TCP connection bound to one of many 127.x.y.z source addresses before connecting (so the
 * connection count is not limited by one address's port range). Frames are built here from
 * hand-written templates (login, heartbeat, an AFN=0C p1 F129 task report with CON=1); the
 * checksum is the standard's byte sum (section 1.2). Terminal number t = term-base + i has
 * A1 = BCD(4400 + t / 60000) and A2 = t % 60000 + 1, so a million terminals stay distinct.
 *
 * Phases, one machine-readable line at the end:
 *   1. login storm: connect --conns connections (at most 1000 connecting at once), each sends
 *      a login and waits for the AFN=00 answer -> login_s, logins_per_s;
 *   2. hold --hold-s seconds with a heartbeat every --hb-s per connection, then the server's
 *      VmRSS (--server-pid) -> rss_kib;
 *   3. load: --frames frames over the first --load-conns connections, alternating heartbeat
 *      and F129 report (--reports-only 1: reports only), up to --window unanswered frames
 *      per connection (1..15: distinct PSEQs), paced at --rate frames/s (0: closed loop,
 *      i.e. the maximum; an answer refills its connection at once) -> rate, CPU of the
 *      server's "front-io" threads and of the whole server per frame (from
 *      /proc/<pid>/task/<tid>/stat), of --broker-pid (a Kafka broker) and of this client,
 *      confirm latency percentiles of the reports (send -> confirm received: includes the
 *      queue's durable hand-off) and of the heartbeats (answered at once).
 * A report is one F129 frame of --points N points (1..8, pn 1..N, one data unit each, as
 * `meterflow sim` builds them): 16 + 35 N bytes, N reports. "reports" = confirmed report
 * frames x N. --coalesce 1: the frames one read's answers (or one refill) release on a
 * connection go out in one write, as TCP coalesces back-to-back frames (default: one write
 * per frame, one frame per segment with TCP_NODELAY).
 * Every answer is checked (terminal address, C, RSEQ = a PSEQ outstanding); "bad" counts
 * mismatches and "checksum" sums (a2 * 16 + rseq) of the reports confirmed, so a fast wrong
 * build is caught.
 *
 *   bench_front_load --port P [--conns N] [--term-base T] [--src-base S] [--per-ip 1000]
 *                    [--hold-s 0] [--hb-s 60] [--frames 0] [--rate 0] [--load-conns 1000]
 *                    [--window 1] [--points 1] [--reports-only 0] [--coalesce 0]
 *                    [--server-pid PID] [--broker-pid PID]
 * Thread: one (its own loop). */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/hist.h"


struct lc {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uint32_t idx;
    uint16_t a1, a2;
    uint8_t state; /* 0 connecting, 1 login sent, 2 online, 3 dead */
    uint8_t pseq;
    uint8_t nout;      /* frames sent and not answered (<= L.window) */
    uint8_t out[16];   /* by PSEQ: 0 free, else 1 + kind (0 login, 1 heartbeat, 2 report) */
    uint8_t len;
    uint64_t last_hb_us;
    uint64_t sent_us[16]; /* by PSEQ: send time */
    uint8_t buf[64];
};

#define MAX_POINTS 8
#define REPORT_MAX (16 + 35 * MAX_POINTS)

static struct {
    uv_loop_t *loop;
    struct lc *c;
    uint32_t n, connecting, next_connect, online, dead;
    int port, per_ip, src_base, hold_s, hb_s, load_conns, window, points, reports_only,
        coalesce;
    uint32_t term_base;
    uint64_t frames, sent, answered, answered_reports, bad, checksum, expect_checksum;
    double rate, budget;
    int phase; /* 1 storm, 2 hold, 3 load, 4 wait for SIGUSR1, 5 closing, 6 reconnect */
    int reconnect, max_connecting;
    uint32_t nclosed, online_first;
    uint64_t t0, t_online, t_phase, t_signal, t_reonline;
    uint32_t rr;
    struct mf_hist hb, rep;
    int server_pid, broker_pid;
    uv_timer_t tick;
    uv_signal_t sig;
} L;

static uint8_t frame_sum(const uint8_t *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return (uint8_t)s;
}

/* Link frame (login F1 / heartbeat F3): 68 32 00 32 00 68 C9 A1 A2 00 02 SEQ 00 00 DT1 00 CS 16 */
static size_t mk_link(struct lc *c, uint8_t dt1, uint8_t *out)
{
    uint8_t f[20] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0xC9, (uint8_t)(c->a1 & 0xFF), (uint8_t)(c->a1 >> 8),
                      (uint8_t)(c->a2 & 0xFF), (uint8_t)(c->a2 >> 8), 0x00, 0x02,
                      (uint8_t)(0x70 | c->pseq), 0x00, 0x00, dt1, 0x00, 0, 0x16 };
    f[18] = frame_sum(f + 6, 12);
    memcpy(out, f, sizeof(f));
    return sizeof(f);
}

/* AFN=0C F129 task report of points 1..L.points, C=C4 (PRM1 fc4), SEQ 7x (CON=1), one data
 * unit per point: DA for pn, DT F129, reading time 2018-08-28 16:18, M=4, total 0.01 kWh,
 * tariffs EE (the data unit of vector c1-f129-rsp). L1 = 8 + 35 N (N=1: 43 -> AE 00). */
static size_t mk_report(struct lc *c, uint8_t *out)
{
    static const uint8_t unit[35] = { 0x01, 0x01, 0x01, 0x10, 0x18, 0x16, 0x28, 0x08, 0x18,
                                      0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0xEE, 0xEE, 0xEE,
                                      0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE,
                                      0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE };
    unsigned l1 = 8u + 35u * (unsigned)L.points, lf = l1 << 2 | 2u;
    uint8_t *f = out;
    f[0] = 0x68;
    f[1] = f[3] = (uint8_t)lf;
    f[2] = f[4] = (uint8_t)(lf >> 8);
    f[5] = 0x68;
    f[6] = 0xC4;
    f[7] = (uint8_t)(c->a1 & 0xFF);
    f[8] = (uint8_t)(c->a1 >> 8);
    f[9] = (uint8_t)(c->a2 & 0xFF);
    f[10] = (uint8_t)(c->a2 >> 8);
    f[11] = 0x00;
    f[12] = 0x0C;
    f[13] = (uint8_t)(0x70 | c->pseq);
    for (int pn = 1; pn <= L.points; pn++) {
        uint8_t *u = f + 14 + 35 * (pn - 1);
        memcpy(u, unit, sizeof(unit));
        u[0] = (uint8_t)(1u << (pn - 1)); /* DA1: pn 1..8 of group DA2 = 1 */
    }
    f[14 + l1 - 8] = frame_sum(f + 6, l1);
    f[15 + l1 - 8] = 0x16;
    return 16 + l1 - 8 + 8;
}

static void on_write(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

/* --coalesce 1: frames sent to one connection while handling one read (or one refill) are
 * staged here and written together, as TCP would coalesce a terminal's back-to-back frames;
 * the client then costs about one write per read instead of one per frame. */
static struct {
    struct lc *c; /* staging for this connection, or NULL: write at once */
    size_t len;
    uint8_t buf[15 * REPORT_MAX];
} stage;

static void send_now(struct lc *c, const uint8_t *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
    int r = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0
                ? uv_try_write((uv_stream_t *)&c->tcp, &b, 1)
                : 0; /* behind queued bytes: queue too, or the stream would reorder */
    if (r == (int)n)
        return;
    if (r > 0) { /* partial: queue only the rest */
        p += r;
        n -= (size_t)r;
    }
    uv_write_t *w = malloc(sizeof(*w) + n); /* rare: copy and queue */
    memcpy(w + 1, p, n);
    b = uv_buf_init((char *)(w + 1), (unsigned)n);
    uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
}

static void send_bytes(struct lc *c, const uint8_t *p, size_t n)
{
    if (stage.c != c || stage.len + n > sizeof(stage.buf)) {
        send_now(c, p, n);
        return;
    }
    memcpy(stage.buf + stage.len, p, n);
    stage.len += n;
}

static void stage_begin(struct lc *c)
{
    if (L.coalesce)
        stage.c = c;
}

static void stage_flush(void)
{
    struct lc *c = stage.c;
    stage.c = NULL;
    if (c && stage.len)
        send_now(c, stage.buf, stage.len);
    stage.len = 0;
}

/* The next PSEQ not outstanding on c (the caller checked c->nout < L.window <= 15). */
static void next_pseq(struct lc *c)
{
    do
        c->pseq = (uint8_t)((c->pseq + 1) & 15);
    while (c->out[c->pseq]);
}

static void send_frame(struct lc *c, int kind)
{
    uint8_t f[REPORT_MAX];
    size_t n;
    next_pseq(c);
    n = kind == 2 ? mk_report(c, f) : mk_link(c, kind == 0 ? 0x01 : 0x04, f);
    c->out[c->pseq] = (uint8_t)(1 + kind);
    c->nout++;
    c->sent_us[c->pseq] = mf_mono_us();
    send_bytes(c, f, n);
    if (kind == 2)
        L.expect_checksum += (uint64_t)c->a2 * 16u + c->pseq;
}

static void load_fill(struct lc *c);

/* An answer: C=0B for link tests, C=00 for the report confirm; A2 and RSEQ checked. */
static void on_answer(struct lc *c, const uint8_t *f, size_t n)
{
    uint64_t now = mf_mono_us();
    uint16_t a2 = (uint16_t)(f[9] | f[10] << 8);
    uint8_t rseq = f[13] & 15u, kind = (uint8_t)(c->out[rseq] - 1);
    if (n != 20 || !c->out[rseq] || f[6] != (kind == 2 ? 0x00 : 0x0B) || a2 != c->a2) {
        L.bad++;
        return;
    }
    c->out[rseq] = 0;
    c->nout--;
    if (kind == 0) {
        c->state = 2;
        L.online++;
        return;
    }
    uint64_t lat = now - c->sent_us[rseq];
    L.answered++;
    if (kind == 2) {
        L.answered_reports++;
        mf_hist_add(&L.rep, lat);
        L.checksum += (uint64_t)a2 * 16u + rseq;
    } else {
        mf_hist_add(&L.hb, lat);
    }
    if (L.phase == 3 && L.rate <= 0)
        load_fill(c); /* closed loop: keep the window full */
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
    L.nclosed++;
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    static char rbuf[4096];
    (void)h;
    (void)sz;
    b->base = rbuf;
    b->len = sizeof(rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct lc *c = s->data;
    if (n < 0) {
        if (c->state != 3) {
            c->state = 3;
            L.dead++;
            uv_close((uv_handle_t *)s, on_closed);
        }
        return;
    }
    stage_begin(c); /* refills of this read go out in one write (--coalesce 1) */
    for (ssize_t i = 0; i < n; i++) {
        if (c->len == 0 && (uint8_t)b->base[i] != 0x68)
            continue;
        c->buf[c->len++] = (uint8_t)b->base[i];
        if (c->len >= 6) {
            size_t flen = (size_t)((c->buf[1] | c->buf[2] << 8) >> 2) + 8;
            if (flen > sizeof(c->buf)) {
                L.bad++;
                c->len = 0;
            } else if (c->len == flen) {
                on_answer(c, c->buf, flen);
                c->len = 0;
            }
        }
    }
    stage_flush();
}

static void start_connect(void);

static void on_connect(uv_connect_t *req, int status)
{
    struct lc *c = req->data;
    L.connecting--;
    if (status < 0) {
        c->state = 3;
        L.dead++;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    } else {
        c->state = 1;
        uv_tcp_nodelay(&c->tcp, 1); /* a window of small frames must not wait for Nagle */
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        send_frame(c, 0);
    }
    start_connect();
}

static void start_connect(void)
{
    while (L.connecting < (uint32_t)L.max_connecting && L.next_connect < L.n) {
        struct lc *c = &L.c[L.next_connect];
        struct sockaddr_in src, dst;
        uint32_t ipn = (uint32_t)L.src_base + L.next_connect / (uint32_t)L.per_ip;
        c->idx = L.next_connect++;
        uint32_t t = L.term_base + c->idx; /* terminal t: A1 = BCD(4400 + t / 60000) */
        uint32_t r = 4400u + t / 60000u;
        c->a1 = (uint16_t)((r / 1000u) << 12 | (r / 100u % 10u) << 8 | (r / 10u % 10u) << 4 | r % 10u);
        c->a2 = (uint16_t)(t % 60000u + 1u);
        memset(&src, 0, sizeof(src));
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7F000000u | ((ipn + 1) & 0xFFFFFFu)); /* 127.x.y.z */
        uv_ip4_addr("127.0.0.1", L.port, &dst);
        uv_tcp_init(L.loop, &c->tcp);
        c->tcp.data = c;
        c->creq.data = c;
        if (uv_tcp_bind(&c->tcp, (struct sockaddr *)&src, 0) != 0 ||
            uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&dst, on_connect) != 0) {
            c->state = 3;
            L.dead++;
            uv_close((uv_handle_t *)&c->tcp, on_closed);
            continue;
        }
        L.connecting++;
    }
}

/* Server CPU by thread name (threads of one name summed), at the start [0] and end [1] of
 * the load phase: where the front's CPU goes (front-io, rdk:broker*, rdk:main, ...). */
#define MAX_TNAMES 16
static struct {
    char name[16];
    uint64_t ticks[2], sys[2]; /* user + system; system */
} tnames[MAX_TNAMES];
static int ntnames;

static void tname_add(const char *name, size_t len, int end, uint64_t ticks, uint64_t sys)
{
    int i;
    len = MF_MIN(len, sizeof(tnames[0].name) - 1);
    for (i = 0; i < ntnames; i++)
        if (strlen(tnames[i].name) == len && memcmp(tnames[i].name, name, len) == 0)
            break;
    if (i == ntnames) {
        if (ntnames == MAX_TNAMES)
            return;
        memcpy(tnames[i].name, name, len);
        tnames[i].name[len] = 0;
        ntnames++;
    }
    tnames[i].ticks[end] += ticks;
    tnames[i].sys[end] += sys;
}

/* CPU (clock ticks) of the server: all threads, and the "front-io" ones; by name into
 * tnames[].ticks[end]. */
static void server_cpu(uint64_t *total, uint64_t *io, int end)
{
    char path[128], line[1024];
    *total = *io = 0;
    if (L.server_pid <= 0)
        return;
    snprintf(path, sizeof(path), "/proc/%d/task", L.server_pid);
    uv_fs_t req;
    uv_dirent_t ent;
    if (uv_fs_scandir(NULL, &req, path, 0, NULL) < 0)
        return;
    while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
        snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", L.server_pid, ent.name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(line, sizeof(line), f)) {
            char *open = strchr(line, '('), *close = strrchr(line, ')');
            unsigned long ut = 0, st = 0;
            if (open && close &&
                sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                       &st) == 2) {
                *total += ut + st;
                if (strncmp(open + 1, "front-io", 8) == 0)
                    *io += ut + st;
                tname_add(open + 1, (size_t)(close - open - 1), end, ut + st, st);
            }
        }
        fclose(f);
    }
    uv_fs_req_cleanup(&req);
}

/* Busy and total jiffies of the machine (/proc/stat "cpu"). */
static void machine_cpu(uint64_t *busy, uint64_t *all)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    *busy = *all = 0;
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            *all += v[i];
        *busy = *all - v[3] - v[4]; /* idle, iowait */
    }
    fclose(f);
}

static long server_rss(void)
{
    char path[64], line[256];
    long v = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", L.server_pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* CPU (clock ticks) of a whole process (every thread), 0 when pid <= 0 or gone. */
static uint64_t proc_cpu(int pid)
{
    char path[64], line[1024];
    unsigned long ut = 0, st = 0;
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(line, sizeof(line), f)) {
        char *close = strrchr(line, ')');
        if (!close || sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                             &ut, &st) != 2)
            ut = st = 0;
    }
    fclose(f);
    return ut + st;
}

/* This process's CPU, all and system, in us. */
static uint64_t self_cpu_us(uint64_t *sys_us)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *sys_us = (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec + *sys_us;
}

/* Read- and write-type system calls of a process so far (/proc/<pid>/io syscr, syscw). */
static void proc_syscalls(const char *pid, uint64_t rw[2])
{
    char path[64], line[128];
    unsigned long long v;
    rw[0] = rw[1] = 0;
    snprintf(path, sizeof(path), "/proc/%s/io", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "syscr: %llu", &v) == 1)
            rw[0] = v;
        else if (sscanf(line, "syscw: %llu", &v) == 1)
            rw[1] = v;
    }
    if (f)
        fclose(f);
}

static uint64_t cpu0_total, cpu0_io, cpu0_broker, cpu0_self_us, cpu0_self_sys_us, mach0_busy,
    mach0_all, sc0_server[2], sc0_self[2];
static char server_pid_s[16];
static long rss_idle = -1;

static void finish(void)
{
    uint64_t t1, i1, now = mf_mono_us();
    double secs = (double)(now - L.t_phase) / 1e6;
    double tick_us = 1e6 / (double)sysconf(_SC_CLK_TCK);
    uint64_t mb, ma, self_sys, sc_server[2], sc_self[2];
    server_cpu(&t1, &i1, 1);
    machine_cpu(&mb, &ma);
    uint64_t self_us = self_cpu_us(&self_sys);
    proc_syscalls(server_pid_s, sc_server);
    proc_syscalls("self", sc_self);
    double nf = L.answered ? (double)L.answered : 1.0;
    double reports = (double)L.answered_reports * L.points;
    if (secs <= 0)
        secs = 1;
    printf("bench=front_load conns=%u online=%u dead=%u login_s=%.3f logins_per_s=%.0f "
           "rss_kib=%ld frames=%llu secs=%.3f rate=%.0f window=%d points=%d "
           "report_frames_per_s=%.0f reports_per_s=%.0f cpu_io_us_per_frame=%.2f "
           "cpu_total_us_per_frame=%.2f cpu_broker_us_per_frame=%.2f "
           "cpu_client_us_per_frame=%.2f cpu_client_sys_us_per_frame=%.2f "
           "server_reads_per_frame=%.2f server_writes_per_frame=%.2f "
           "client_reads_per_frame=%.2f client_writes_per_frame=%.2f rep_p50_us=%llu "
           "rep_p99_us=%llu rep_p999_us=%llu hb_p50_us=%llu hb_p99_us=%llu reconnect_s=%.3f "
           "reonline=%u machine_busy_pct=%.0f bad=%llu checksum=%s",
           L.n, L.online_first, L.dead, (double)(L.t_online - L.t0) / 1e6,
           L.online_first / ((double)(L.t_online - L.t0 + 1) / 1e6), rss_idle,
           (unsigned long long)L.answered, secs, (double)L.answered / secs, L.window, L.points,
           (double)L.answered_reports / secs, reports / secs,
           (double)(i1 - cpu0_io) * tick_us / nf, (double)(t1 - cpu0_total) * tick_us / nf,
           (double)(proc_cpu(L.broker_pid) - cpu0_broker) * tick_us / nf,
           (double)(self_us - cpu0_self_us) / nf, (double)(self_sys - cpu0_self_sys_us) / nf,
           (double)(sc_server[0] - sc0_server[0]) / nf, (double)(sc_server[1] - sc0_server[1]) / nf,
           (double)(sc_self[0] - sc0_self[0]) / nf, (double)(sc_self[1] - sc0_self[1]) / nf,
           (unsigned long long)mf_hist_quantile(&L.rep, 0.5),
           (unsigned long long)mf_hist_quantile(&L.rep, 0.99),
           (unsigned long long)mf_hist_quantile(&L.rep, 0.999),
           (unsigned long long)mf_hist_quantile(&L.hb, 0.5),
           (unsigned long long)mf_hist_quantile(&L.hb, 0.99),
           L.t_reonline ? (double)(L.t_reonline - L.t_signal) / 1e6 : -1.0,
           L.t_reonline ? L.online : 0,
           ma > mach0_all ? 100.0 * (double)(mb - mach0_busy) / (double)(ma - mach0_all) : 0.0,
           (unsigned long long)L.bad, L.checksum == L.expect_checksum ? "ok" : "MISMATCH");
    /* per server thread name, us per frame: name:us,name:us (spaces in names -> _) */
    for (int i = 0, first = 1; i < ntnames; i++) {
        double us = (double)(tnames[i].ticks[1] - tnames[i].ticks[0]) * tick_us / nf;
        double sys = (double)(tnames[i].sys[1] - tnames[i].sys[0]) * tick_us / nf;
        if (us < 0.005 || tnames[i].ticks[1] < tnames[i].ticks[0])
            continue;
        for (char *q = tnames[i].name; *q; q++)
            if (*q == ' ' || *q == ',' || *q == ':')
                *q = '_';
        printf("%s%s:%.2f:%.2f", first ? " cpu_threads_us_per_frame=" : ",", tnames[i].name, us,
               sys);
        first = 0;
    }
    printf("\n");
    fflush(stdout);
    uv_stop(L.loop);
}

static void hold_heartbeats(uint64_t now)
{
    for (int k = 0; k < 500 && L.n; k++) {
        struct lc *c = &L.c[L.rr++ % L.n];
        if (c->state == 2 && c->nout == 0 &&
            now - c->last_hb_us >= (uint64_t)L.hb_s * 1000000u) {
            c->last_hb_us = now;
            send_frame(c, 1);
        }
    }
}

/* Fill c's window while frames (and, paced, the budget) remain. */
static void load_fill(struct lc *c)
{
    while (c->state == 2 && c->nout < L.window && L.sent < L.frames &&
           (L.rate <= 0 || L.budget >= 1.0)) {
        send_frame(c, L.reports_only || L.sent % 2 ? 2 : 1);
        L.sent++;
        L.budget -= 1.0;
    }
}

static void load_step(uint64_t now)
{
    uint32_t m = MF_MIN((uint32_t)L.load_conns, L.n);
    if (L.rate > 0) /* frames due by now (a late tick catches up), at most every window */
        L.budget = MF_MIN(L.rate * (double)(now - L.t_phase) / 1e6 - (double)L.sent,
                          (double)m * L.window);
    for (uint32_t k = 0; k < m && L.sent < L.frames; k++) {
        if (L.rate > 0 && L.budget < 1.0)
            break;
        stage_begin(&L.c[L.rr % m]);
        load_fill(&L.c[L.rr++ % m]);
        stage_flush();
    }
    if (L.answered >= L.frames || now - L.t_phase > 120000000u)
        finish();
}

/* SIGUSR1 (phase 4): the outage. Close every connection; on_tick reconnects them all once
 * every handle is closed. */
static void on_usr1(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    if (L.phase != 4)
        return;
    L.t_signal = mf_mono_us();
    L.phase = 5;
    for (uint32_t i = 0; i < L.n; i++)
        if (!uv_is_closing((uv_handle_t *)&L.c[i].tcp))
            uv_close((uv_handle_t *)&L.c[i].tcp, on_closed);
}

static void reconnect_step(uint64_t now)
{
    if (L.phase == 5 && L.nclosed >= L.n) { /* every handle closed: connect them all again */
        memset(L.c, 0, L.n * sizeof(*L.c));
        L.online = L.dead = L.connecting = L.next_connect = 0;
        L.phase = 6;
        start_connect();
    } else if (L.phase == 6 && (L.online + L.dead >= L.n || now - L.t_signal > 300000000u)) {
        L.t_reonline = now;
        finish();
    }
}

static void on_tick(uv_timer_t *t)
{
    uint64_t now = mf_mono_us();
    (void)t;
    if (L.phase == 1) {
        if (L.online + L.dead >= L.n || now - L.t0 > 300000000u) {
            L.t_online = now;
            L.online_first = L.online;
            L.phase = 2;
            L.t_phase = now;
            /* heartbeats spread evenly over the period, as real terminals' are */
            for (uint32_t i = 0; i < L.n; i++)
                L.c[i].last_hb_us = now - (uint64_t)L.hb_s * 1000000u * i / L.n;
            printf("online conns=%u online=%u dead=%u login_s=%.3f\n", L.n, L.online, L.dead,
                   (double)(L.t_online - L.t0) / 1e6);
            fflush(stdout);
        }
        return;
    }
    if (L.phase >= 4) {
        if (L.phase == 4)
            hold_heartbeats(now);
        reconnect_step(now);
        return;
    }
    if (L.phase == 2) {
        hold_heartbeats(now);
        if (now - L.t_phase >= (uint64_t)L.hold_s * 1000000u) {
            if (L.server_pid > 0)
                rss_idle = server_rss();
            server_cpu(&cpu0_total, &cpu0_io, 0);
            machine_cpu(&mach0_busy, &mach0_all);
            cpu0_broker = proc_cpu(L.broker_pid);
            cpu0_self_us = self_cpu_us(&cpu0_self_sys_us);
            snprintf(server_pid_s, sizeof(server_pid_s), "%d", L.server_pid);
            proc_syscalls(server_pid_s, sc0_server);
            proc_syscalls("self", sc0_self);
            L.phase = 3;
            L.t_phase = now;
            L.answered = L.answered_reports = 0;
            mf_hist_reset(&L.hb);
            mf_hist_reset(&L.rep);
            if (L.frames == 0 && L.reconnect) {
                printf("held conns=%u online=%u dead=%u\n", L.n, L.online, L.dead);
                fflush(stdout);
                L.phase = 4; /* heartbeats go on until SIGUSR1 */
            } else if (L.frames == 0) {
                finish();
            }
        }
        return;
    }
    load_step(now);
}

int main(int argc, char **argv);

int main(int argc, char **argv)
{
    L.n = 1000;
    L.per_ip = 1000;
    L.hb_s = 60;
    L.load_conns = 1000;
    L.window = 1;
    L.points = 1;
    L.max_connecting = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        long v = strtol(argv[i + 1], NULL, 0);
        if (!strcmp(k, "--port")) L.port = (int)v;
        else if (!strcmp(k, "--conns")) L.n = (uint32_t)v;
        else if (!strcmp(k, "--term-base")) L.term_base = (uint32_t)v;
        else if (!strcmp(k, "--src-base")) L.src_base = (int)v;
        else if (!strcmp(k, "--per-ip")) L.per_ip = (int)MF_MAX(v, 1);
        else if (!strcmp(k, "--hold-s")) L.hold_s = (int)v;
        else if (!strcmp(k, "--hb-s")) L.hb_s = (int)MF_MAX(v, 1);
        else if (!strcmp(k, "--frames")) L.frames = (uint64_t)v;
        else if (!strcmp(k, "--rate")) L.rate = (double)v;
        else if (!strcmp(k, "--load-conns")) L.load_conns = (int)MF_MAX(v, 1);
        else if (!strcmp(k, "--server-pid")) L.server_pid = (int)v;
        else if (!strcmp(k, "--broker-pid")) L.broker_pid = (int)v;
        else if (!strcmp(k, "--window")) L.window = (int)MF_MIN(MF_MAX(v, 1), 15);
        else if (!strcmp(k, "--points")) L.points = (int)MF_MIN(MF_MAX(v, 1), MAX_POINTS);
        else if (!strcmp(k, "--reports-only")) L.reports_only = v != 0;
        else if (!strcmp(k, "--coalesce")) L.coalesce = v != 0;
        else if (!strcmp(k, "--reconnect")) L.reconnect = v != 0;
        else if (!strcmp(k, "--max-connecting")) L.max_connecting = (int)MF_MAX(v, 1);
        else {
            fprintf(stderr, "bench_front_load: unknown option %s (see the file header)\n", k);
            return 2;
        }
    }
    if (L.port <= 0 || L.n == 0 || L.n > 65000) {
        fprintf(stderr, "bench_front_load: --port required; --conns 1..65000\n");
        return 2;
    }
    L.loop = uv_default_loop();
    L.c = calloc(L.n, sizeof(*L.c));
    mf_hist_reset(&L.hb);
    mf_hist_reset(&L.rep);
    if (L.reconnect) { /* before the first connect: the script may signal any time after */
        uv_signal_init(L.loop, &L.sig);
        uv_signal_start(&L.sig, on_usr1, SIGUSR1);
        uv_unref((uv_handle_t *)&L.sig);
    }
    L.phase = 1;
    L.t0 = mf_mono_us();
    start_connect();
    uv_timer_init(L.loop, &L.tick);
    uv_timer_start(&L.tick, on_tick, 1, 1);
    uv_run(L.loop, UV_RUN_DEFAULT);
    return L.bad || L.checksum != L.expect_checksum ? 1 : 0;
}
