/* bench_delay_proxy.c -- a TCP relay that delays every byte by a fixed time in each
 * direction: the database "on another machine" of the thesis comparison's LAN variant
 * (docs/PERFORMANCE.md, "Queue vs direct"; bench/e2e/thesis.sh -R). This kernel has no
 * sch_netem and no sch_fq (so no tc delay, no BPF EDT pacing): the delay is added here.
 *
 *   bench_delay_proxy --target-port P [--target-host 127.0.0.1] [--listen-port 0]
 *                     [--delay-us D] [--control FILE]
 *
 * Listens on 127.0.0.1 (port 0: a free one), prints "ready port=<p>"; every accepted
 * connection gets its own connection to the target. What is read from one side is written
 * to the other side D microseconds after it was read (so a request/answer pair pays 2 D more:
 * RTT = 2 D), in order, per direction; an end of stream travels the same way and closes the
 * pair. On SIGINT/SIGTERM one line "bench=delay_proxy delay_us=.. conns=.. chunks_up=..
 * chunks_down=.. bytes_up=.. bytes_down=.. late_p50_us=.. late_p99_us=.. late_max_us=..
 * cpu_user_s=.. cpu_sys_s=.." (up: client -> target; late: how long after its due time a
 * chunk was written, the relay's own added delay; cpu: this process's CPU time).
 * Run-time delay (tests/reliability/pg_slow.sh: a store that goes fast -> slow -> fast): on
 * SIGHUP the relay reads a decimal delay in microseconds (0..10,000,000) from the --control
 * FILE, applies it to every chunk read from then on and prints "delay_us=<D>"; a chunk
 * never falls due before one read earlier (due = max(now + D, the last chunk's due)), so
 * the FIFO below stays sorted when the delay shrinks.
 *
 * Invariants: the delay is the same for every chunk, so chunks fall due in the order they
 * were read; one global FIFO of not-yet-due chunks (g_due) is therefore sorted by due time,
 * and the only timer is epoll_pwait2's timeout (nanoseconds) until its head. Per direction,
 * chunks are written in read order (dir FIFO); a chunk leaves g_due ("popped") before it can
 * be written. Bytes held per direction are capped (D_HOLD_CAP): past it the source is not
 * read until the backlog halves (backpressure, no unbounded buffering). The relay costs CPU
 * a kernel delay would not (a read and a write per chunk, the write paying the loopback TCP
 * path): thesis.sh prints its CPU seconds per point.
 * Thread: one (main), epoll. A benchmark tool run by our scripts on loopback. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"

#define D_MAX_PAIRS 1024
#define D_READ 65536
#define D_HOLD_CAP (8u << 20)
#define D_LATE_BUCKETS 2000 /* 10 us each: up to 20 ms */
#define D_EV_LISTEN UINT64_MAX

struct dchunk {
    struct dchunk *next;  /* next in its direction (owned by the direction's list) */
    struct dchunk *gnext; /* next in g_due (not owned) */
    int slot, d, popped, orphan;
    uint64_t due_ns;
    size_t len, off; /* len 0: end of stream */
    unsigned char data[];
};

struct ddir { /* bytes read from fd[d], written to fd[1 - d] */
    struct dchunk *head, *tail;
    size_t held;
    int reading;
};

struct dpair {
    int used, fd[2], want_out[2];
    struct ddir dir[2];
};

static struct dpair g_pair[D_MAX_PAIRS];
static struct dchunk *g_due, *g_due_tail;
static int g_ep, g_lfd;
static uint64_t g_delay_ns, g_conns, g_chunks[2], g_bytes[2];
static uint64_t g_late[D_LATE_BUCKETS + 1], g_late_max_ns;
static volatile sig_atomic_t g_stop, g_reload;
static const char *g_control; /* --control FILE, read on SIGHUP (NULL: none) */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Re-register fd side s of pair i with what it wants now (read and/or write). */
static void ep_update(int i, int s)
{
    struct dpair *p = &g_pair[i];
    struct epoll_event ev = {0};
    ev.events = (p->dir[s].reading ? EPOLLIN : 0) | (p->want_out[s] ? EPOLLOUT : 0);
    ev.data.u64 = (uint64_t)i * 2 + (uint64_t)s;
    (void)epoll_ctl(g_ep, EPOLL_CTL_MOD, p->fd[s], &ev);
}

static void pair_close(int i)
{
    struct dpair *p = &g_pair[i];
    for (int d = 0; d < 2; d++) {
        struct dchunk *c = p->dir[d].head, *n;
        for (; c; c = n) {
            n = c->next;
            if (c->popped)
                free(c);
            else
                c->orphan = 1; /* still in g_due: freed when it falls due */
        }
        close(p->fd[d]);
    }
    memset(p, 0, sizeof(*p));
}

static void late_note(uint64_t now, uint64_t due)
{
    uint64_t late = now > due ? now - due : 0;
    size_t b = (size_t)(late / 10000u);
    g_late[b < D_LATE_BUCKETS ? b : D_LATE_BUCKETS]++;
    if (late > g_late_max_ns)
        g_late_max_ns = late;
}

/* Write direction d of pair i's due chunks to the other side. 0, or -1 when the pair closed. */
static int dir_flush(int i, int d)
{
    struct dpair *p = &g_pair[i];
    struct ddir *dr = &p->dir[d];
    int out = 1 - d;
    while (dr->head && dr->head->popped) {
        struct dchunk *c = dr->head;
        if (c->len == 0) {
            pair_close(i);
            return -1;
        }
        ssize_t n = write(p->fd[out], c->data + c->off, c->len - c->off);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            pair_close(i);
            return -1;
        }
        c->off += (size_t)n;
        dr->held -= (size_t)n;
        if (c->off < c->len)
            break;
        dr->head = c->next;
        if (!dr->head)
            dr->tail = NULL;
        free(c);
    }
    int want = dr->head && dr->head->popped;
    int resume = !dr->reading && dr->held < D_HOLD_CAP / 2 && !(dr->tail && dr->tail->len == 0);
    if (want != p->want_out[out] || resume) {
        p->want_out[out] = want;
        dr->reading = dr->reading || resume;
        ep_update(i, out);
        ep_update(i, d);
    }
    return 0;
}

/* Pop every chunk whose time has come and write what can be written. */
static void due_run(void)
{
    uint64_t now = now_ns();
    while (g_due && g_due->due_ns <= now) {
        struct dchunk *c = g_due;
        g_due = c->gnext;
        if (!g_due)
            g_due_tail = NULL;
        if (c->orphan) {
            free(c);
            continue;
        }
        c->popped = 1;
        late_note(now, c->due_ns);
        (void)dir_flush(c->slot, c->d);
    }
}

/* Read what side s of pair i has into a chunk due g_delay_ns from now. */
static void side_read(int i, int s)
{
    static unsigned char buf[D_READ];
    struct dpair *p = &g_pair[i];
    struct ddir *dr = &p->dir[s];
    ssize_t n = read(p->fd[s], buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    size_t len = n > 0 ? (size_t)n : 0;
    struct dchunk *c = malloc(sizeof(*c) + len);
    if (!c) {
        pair_close(i);
        return;
    }
    memset(c, 0, sizeof(*c));
    memcpy(c->data, buf, len);
    c->slot = i, c->d = s, c->len = len, c->due_ns = now_ns() + g_delay_ns;
    if (g_due_tail && g_due_tail->due_ns > c->due_ns) /* the delay shrank: keep FIFO order */
        c->due_ns = g_due_tail->due_ns;
    if (dr->tail)
        dr->tail->next = c;
    else
        dr->head = c;
    dr->tail = c;
    if (g_due_tail)
        g_due_tail->gnext = c;
    else
        g_due = c;
    g_due_tail = c;
    dr->held += len;
    g_chunks[s]++, g_bytes[s] += len;
    if (len == 0 || dr->held >= D_HOLD_CAP) { /* end of stream, or backlog full */
        dr->reading = 0;
        ep_update(i, s);
    }
}

static int fcntl_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int target_connect(const char *host, int port)
{
    struct sockaddr_in a = {0};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) { /* blocking: loopback */
        if (fd >= 0)
            close(fd);
        return -1;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Accept one client and connect it to the target; both sides read from then on. */
static void on_accept(const char *host, int port)
{
    int one = 1, i, cfd = accept4(g_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    for (i = 0; i < D_MAX_PAIRS && g_pair[i].used; i++)
        ;
    int tfd = i < D_MAX_PAIRS ? target_connect(host, port) : -1;
    if (tfd < 0 || fcntl_nonblock(tfd) != 0) {
        close(cfd);
        if (tfd >= 0)
            close(tfd);
        return;
    }
    (void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct dpair *p = &g_pair[i];
    memset(p, 0, sizeof(*p));
    p->used = 1, p->fd[0] = cfd, p->fd[1] = tfd;
    for (int s = 0; s < 2; s++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i * 2 + (uint64_t)s};
        p->dir[s].reading = 1;
        (void)epoll_ctl(g_ep, EPOLL_CTL_ADD, p->fd[s], &ev);
    }
    g_conns++;
}

static int listen_on(int port)
{
    struct sockaddr_in a = {0};
    socklen_t al = sizeof(a);
    int one = 1;
    g_lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)setsockopt(g_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (g_lfd < 0 || bind(g_lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(g_lfd, 512) != 0 || getsockname(g_lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    return ntohs(a.sin_port);
}

/* The p-th percentile of the lateness histogram, in microseconds (bucket upper bound). */
static unsigned late_pct(double pct)
{
    uint64_t tot = 0, acc = 0;
    for (size_t b = 0; b <= D_LATE_BUCKETS; b++)
        tot += g_late[b];
    for (size_t b = 0; b <= D_LATE_BUCKETS; b++) {
        acc += g_late[b];
        if (tot && (double)acc >= pct / 100.0 * (double)tot)
            return (unsigned)((b + 1) * 10);
    }
    return 0;
}

static void report(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("bench=delay_proxy delay_us=%llu conns=%llu chunks_up=%llu chunks_down=%llu "
           "bytes_up=%llu bytes_down=%llu late_p50_us=%u late_p99_us=%u late_max_us=%llu "
           "cpu_user_s=%.2f cpu_sys_s=%.2f\n",
           (unsigned long long)(g_delay_ns / 1000u), (unsigned long long)g_conns,
           (unsigned long long)g_chunks[0], (unsigned long long)g_chunks[1],
           (unsigned long long)g_bytes[0], (unsigned long long)g_bytes[1], late_pct(50),
           late_pct(99), (unsigned long long)(g_late_max_ns / 1000u),
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    fflush(stdout);
}

static void on_sig(int sig)
{
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop = 1;
}

/* SIGHUP: the new delay from the control file (ignored when missing or out of range). */
static void delay_reload(void)
{
    char line[32] = {0}, *end = NULL;
    FILE *f = g_control ? fopen(g_control, "r") : NULL;
    g_reload = 0;
    if (!f)
        return;
    long v = fgets(line, sizeof(line), f) ? strtol(line, &end, 10) : -1;
    fclose(f);
    if (end == line || v < 0 || v > 10000000L)
        return;
    g_delay_ns = (uint64_t)v * 1000u;
    printf("delay_us=%ld\n", v);
    fflush(stdout);
}

static void loop(const char *host, int tport)
{
    struct epoll_event evs[256];
    sigset_t block, open_mask; /* signals arrive only inside epoll_pwait2: none is missed */
    sigemptyset(&block);
    sigaddset(&block, SIGHUP), sigaddset(&block, SIGINT), sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &open_mask);
    while (!g_stop) {
        if (g_reload)
            delay_reload();
        struct timespec ts = {0}, *tp = NULL; /* wait until g_due's head falls due */
        if (g_due) {
            uint64_t now = now_ns(), w = g_due->due_ns > now ? g_due->due_ns - now : 0;
            ts.tv_sec = (time_t)(w / 1000000000u), ts.tv_nsec = (long)(w % 1000000000u);
            tp = &ts;
        }
        int n = epoll_pwait2(g_ep, evs, 256, tp, &open_mask);
        for (int k = 0; k < n; k++) {
            uint64_t u = evs[k].data.u64;
            if (u == D_EV_LISTEN) {
                on_accept(host, tport);
            } else {
                int i = (int)(u / 2), s = (int)(u % 2);
                if (!g_pair[i].used)
                    continue;
                if ((evs[k].events & EPOLLOUT) && dir_flush(i, 1 - s) != 0)
                    continue;
                if ((evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && g_pair[i].used &&
                    g_pair[i].dir[s].reading)
                    side_read(i, s);
            }
        }
        due_run();
    }
}

int main(int argc, char **argv)
{
    const char *host = bench_arg_str(argc, argv, "--target-host");
    int tport = bench_arg_int(argc, argv, "--target-port", 0);
    long delay_us = bench_arg_int(argc, argv, "--delay-us", 0);
    struct sigaction sa = {0};
    g_control = bench_arg_str(argc, argv, "--control");
    if (!host)
        host = "127.0.0.1";
    if (tport <= 0 || tport > 65535 || delay_us < 0 || delay_us > 1000000) {
        fprintf(stderr, "usage: bench_delay_proxy --target-port P [--target-host H] "
                        "[--listen-port P] [--delay-us 0..1000000] [--control FILE]\n");
        return 2;
    }
    g_delay_ns = (uint64_t)delay_us * 1000u;
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake-ups at the due time, not 50 us late */
    sa.sa_handler = on_sig;                       /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int port = listen_on(bench_arg_int(argc, argv, "--listen-port", 0));
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event el = {.events = EPOLLIN, .data.u64 = D_EV_LISTEN};
    if (port < 0 || g_ep < 0 || epoll_ctl(g_ep, EPOLL_CTL_ADD, g_lfd, &el) != 0) {
        perror("delay_proxy");
        return 1;
    }
    printf("ready port=%d\n", port);
    fflush(stdout);
    loop(host, tport);
    report();
    return 0;
}
