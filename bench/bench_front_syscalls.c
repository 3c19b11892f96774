/* bench_front_syscalls.c -- what the kernel charges for the system calls the front makes per
 * frame, on this machine: the floor under docs/PERFORMANCE.md's "CPU per frame".
 *
 * Over N loopback TCP connections (TCP_NODELAY, non-blocking, like the front's), one thread
 * measures its own CPU time (CLOCK_THREAD_CPUTIME_ID) per call of:
 *   null       syscall(SYS_getppid): entering and leaving the kernel;
 *   write51    a 51-byte F129 report written on the terminal side (on loopback the writer
 *              also runs the receiver's TCP input: the front's "read" work is paid here);
 *   epoll      epoll_wait returning the N ready server sockets (cost per event);
 *   read51     reading that report on the front side (one read per frame, as libuv does);
 *   write20    the 20-byte confirm written back by the front side;
 *   eventfd    write + read of an eventfd (uv_async_send and its wake-up, when not pending).
 * A woken thread's context switch is not in these (the front's queue hand-off and the
 * client's epoll wake-ups); `perf` of the front shows them separately.
 *
 *   bench_front_syscalls [conns 1000] [rounds 200]
 * One line: bench=front_syscalls conns=N rounds=R null_ns=... write51_ns=... ...
 * Thread: one. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* n connected pairs: cli[i] -> srv[i], both non-blocking with TCP_NODELAY. 0 or -1. */
static int pairs_open(int n, int *cli, int *srv)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4096) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        cli[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(cli[i], (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
            return -1;
        srv[i] = accept4(l, NULL, NULL, SOCK_NONBLOCK);
        if (cli[i] < 0 || srv[i] < 0)
            return -1;
        setsockopt(cli[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    close(l);
    return 0;
}

struct cost {
    uint64_t null, w51, ep, r51, w20, evfd;
    uint64_t nev;
};

/* One round: a report on every connection, the front side's epoll + read + confirm, the
 * terminal side drains the confirms (not timed). */
static int round_run(int n, const int *cli, const int *srv, int ep, struct epoll_event *evs,
                     struct cost *c)
{
    static const uint8_t rep[51] = { 0x68, 0xAE, 0x00, 0xAE, 0x00, 0x68, 0xC4 };
    static const uint8_t conf[20] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x00 };
    uint8_t buf[4096];
    uint64_t t;

    t = cpu_ns();
    for (int i = 0; i < n; i++)
        if (write(cli[i], rep, sizeof(rep)) != (ssize_t)sizeof(rep))
            return -1;
    c->w51 += cpu_ns() - t;
    t = cpu_ns();
    int got = 0;
    while (got < n) {
        int k = epoll_wait(ep, evs, n, 1000);
        if (k <= 0)
            return -1;
        got += k;
    }
    c->ep += cpu_ns() - t;
    c->nev += (uint64_t)got;
    t = cpu_ns();
    for (int i = 0; i < n; i++)
        if (read(srv[i], buf, sizeof(buf)) != (ssize_t)sizeof(rep))
            return -1;
    c->r51 += cpu_ns() - t;
    t = cpu_ns();
    for (int i = 0; i < n; i++)
        if (write(srv[i], conf, sizeof(conf)) != (ssize_t)sizeof(conf))
            return -1;
    c->w20 += cpu_ns() - t;
    for (int i = 0; i < n; i++)
        if (read(cli[i], buf, sizeof(buf)) != (ssize_t)sizeof(conf))
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1000;
    int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 200;
    struct cost c;
    uint64_t v = 1, t;

    if (n < 1 || n > 9000 || rounds < 1) {
        fprintf(stderr, "usage: bench_front_syscalls [conns 1..9000] [rounds]\n");
        return 2;
    }
    int *cli = calloc((size_t)n, sizeof(int)), *srv = calloc((size_t)n, sizeof(int));
    struct epoll_event *evs = calloc((size_t)n, sizeof(*evs));
    int ep = epoll_create1(0), efd = eventfd(0, EFD_NONBLOCK);
    if (!cli || !srv || !evs || ep < 0 || efd < 0 || pairs_open(n, cli, srv) != 0) {
        perror("setup");
        return 1;
    }
    for (int i = 0; i < n; i++) { /* edge-triggered like a drained level-triggered loop */
        struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.u32 = (uint32_t)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, srv[i], &e);
    }
    memset(&c, 0, sizeof(c));
    t = cpu_ns();
    for (int i = 0; i < 1000000; i++)
        syscall(SYS_getppid);
    c.null = cpu_ns() - t;
    t = cpu_ns();
    for (int i = 0; i < 1000000; i++) {
        if (write(efd, &v, sizeof(v)) != sizeof(v) || read(efd, &v, sizeof(v)) != sizeof(v))
            return 1;
        v = 1;
    }
    c.evfd = cpu_ns() - t;
    for (int r = 0; r < rounds; r++)
        if (round_run(n, cli, srv, ep, evs, &c) != 0) {
            fprintf(stderr, "round %d failed\n", r);
            return 1;
        }
    double nf = (double)n * rounds;
    printf("bench=front_syscalls conns=%d rounds=%d null_ns=%.0f write51_ns=%.0f "
           "epoll_ns_per_event=%.0f read51_ns=%.0f write20_ns=%.0f eventfd_pair_ns=%.0f "
           "front_side_ns=%.0f\n",
           n, rounds, c.null / 1e6, c.w51 / nf, c.ep / (double)c.nev, c.r51 / nf, c.w20 / nf,
           c.evfd / 1e6, (c.ep + c.r51 + c.w20) / nf);
    return 0;
}
