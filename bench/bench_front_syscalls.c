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
 * Then the same front side on io_uring (liburing; no SQPOLL: every cycle stays in this
 * thread): a multishot recv armed once per connection with a ring of provided buffers, the
 * ring created SINGLE_ISSUER | DEFER_TASKRUN so the receives run inside our io_uring_enter
 * (not at the end of the terminal side's write), and the confirms submitted as send SQEs,
 * `batch` per io_uring_enter (1 = one enter per frame, as the front's writes; 16; N = every
 * frame of a poll in one enter, the best a loop can batch; without the argument all three):
 *   uring_recv    reaping N receive completions (one enter that runs the N receives);
 *   uring_send    submitting N sends in enters of `batch` and reaping their completions;
 *   uring_front   the two: the io_uring front side's kernel floor per frame;
 *   uring_w51     the terminal side's write on an io_uring-watched socket (the wake-up of
 *                 the ring happens there, as ep_poll_callback does for epoll);
 *   iowq          process CPU minus this thread's during the front side (io-wq workers;
 *                 should be 0: every operation completes inline).
 * Both lines also give ksoftirqd_ns: the ksoftirqd threads' run time during the front side,
 * per frame (receive work the kernel deferred out of this thread; the machine's other
 * traffic lands there too, so it is an upper bound), and round_ns: a whole round per frame,
 * both sides (terminal write + front side + terminal read), a check that no phase moved its
 * work into another.
 * Loopback segment counts are not printed; run it in `unshare -n` with `nstat` for those.
 *
 *   bench_front_syscalls [conns 1000] [rounds 200] [batch N]
 * Lines: bench=front_syscalls conns=N rounds=R null_ns=... write51_ns=... ...
 *            bench=front_uring conns=N rounds=R batch=B uring_recv_ns=... (or skipped=<why>),
 *            one per batch size
 * Thread: one. */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

#define NOINL __attribute__((noinline)) /* each phase its own frame in `perf report` */

static const uint8_t rep[51] = { 0x68, 0xAE, 0x00, 0xAE, 0x00, 0x68, 0xC4 };
static const uint8_t conf[20] = { 0x68, 0x32, 0x00, 0x32, 0x00, 0x68, 0x00 };

static uint64_t clk_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    return clk_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* ksoftirqd: loopback input that the sender's context leaves to these threads would be CPU
 * outside this process. Their run time (schedstat, ns) is read around each front side. */
static int ksirq_pid[64];
static int ksirq_n;

static void ksirq_find(void)
{
    for (int pid = 1; pid < 4096 && ksirq_n < 64; pid++) {
        char path[64], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/%d/comm", pid);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        if (fgets(comm, sizeof(comm), fp) && strncmp(comm, "ksoftirqd/", 10) == 0)
            ksirq_pid[ksirq_n++] = pid;
        fclose(fp);
    }
}

static uint64_t ksirq_ns(void)
{
    uint64_t sum = 0;
    for (int i = 0; i < ksirq_n; i++) {
        char path[64];
        unsigned long long ns = 0;
        snprintf(path, sizeof(path), "/proc/%d/schedstat", ksirq_pid[i]);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        if (fscanf(fp, "%llu", &ns) == 1)
            sum += ns;
        fclose(fp);
    }
    return sum;
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
    uint64_t u_w51, u_recv, u_send, u_iowq; /* io_uring front side */
    uint64_t ksirq, u_ksirq;                 /* ksoftirqd during the front side */
    uint64_t round, u_round;                 /* whole rounds, both sides (thread CPU) */
};

/* ---- the phases (noinline: `perf report --parent` tells them apart) ---- */

static NOINL int ph_term_write(int n, const int *cli)
{
    for (int i = 0; i < n; i++)
        if (write(cli[i], rep, sizeof(rep)) != (ssize_t)sizeof(rep))
            return -1;
    return 0;
}

/* Not timed. A confirm may still be on its way when its receive runs on another CPU (RPS,
 * see bench/front_floor.sh): then wait for it. */
static NOINL int ph_term_drain(int n, const int *cli)
{
    uint8_t buf[4096];
    for (int i = 0; i < n; i++) {
        ssize_t r;
        while ((r = read(cli[i], buf, sizeof(buf))) < 0 && errno == EAGAIN) {
            struct pollfd pf = { .fd = cli[i], .events = POLLIN };
            if (poll(&pf, 1, 1000) <= 0)
                return -1;
        }
        if (r != (ssize_t)sizeof(conf))
            return -1;
    }
    return 0;
}

static NOINL int ph_epoll(int n, int ep, struct epoll_event *evs)
{
    int got = 0;
    while (got < n) {
        int k = epoll_wait(ep, evs, n, 1000);
        if (k <= 0)
            return -1;
        got += k;
    }
    return got;
}

static NOINL int ph_read(int n, const int *srv)
{
    uint8_t buf[4096];
    for (int i = 0; i < n; i++)
        if (read(srv[i], buf, sizeof(buf)) != (ssize_t)sizeof(rep))
            return -1;
    return 0;
}

static NOINL int ph_confirm_write(int n, const int *srv)
{
    for (int i = 0; i < n; i++)
        if (write(srv[i], conf, sizeof(conf)) != (ssize_t)sizeof(conf))
            return -1;
    return 0;
}

/* One round: a report on every connection, the front side's epoll + read + confirm, the
 * terminal side drains the confirms (not timed). */
static int round_run(int n, const int *cli, const int *srv, int ep, struct epoll_event *evs,
                     struct cost *c)
{
    uint64_t t = cpu_ns(), tr = t;
    if (ph_term_write(n, cli) != 0)
        return -1;
    c->w51 += cpu_ns() - t;
    uint64_t k0 = ksirq_ns();
    t = cpu_ns();
    int got = ph_epoll(n, ep, evs);
    if (got < 0)
        return -1;
    c->ep += cpu_ns() - t;
    c->nev += (uint64_t)got;
    t = cpu_ns();
    if (ph_read(n, srv) != 0)
        return -1;
    c->r51 += cpu_ns() - t;
    t = cpu_ns();
    if (ph_confirm_write(n, srv) != 0)
        return -1;
    c->w20 += cpu_ns() - t;
    c->ksirq += ksirq_ns() - k0;
    int rc = ph_term_drain(n, cli);
    c->round += cpu_ns() - tr;
    return rc;
}

/* ---- the io_uring front side ---- */

#define UR_NBUF 4096u /* provided receive buffers (power of two) */
#define UR_BUFSZ 128u
#define UR_BGID 1
#define UR_SEND (1ull << 32) /* user_data: connection index | UR_SEND for a send */

struct ur {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    int *ready; /* connections whose report arrived this round */
};

static int ur_arm(struct ur *u, int fd, int i)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe && (io_uring_submit(&u->ring) < 0 || !(sqe = io_uring_get_sqe(&u->ring))))
        return -1;
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = UR_BGID;
    io_uring_sqe_set_data64(sqe, (uint64_t)i);
    return 0;
}

/* 0, or -errno / -1 with *why naming what this kernel or library refused. */
static int ur_open(struct ur *u, int n, const int *srv, const char **why)
{
    struct io_uring_params p;
    struct io_uring_buf_reg reg;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = 4u * (unsigned)n + 64u;
    int rc = io_uring_queue_init_params(1024, &u->ring, &p);
    if (rc < 0) {
        *why = "io_uring_setup";
        return rc;
    }
    if (posix_memalign((void **)&u->br, 4096, UR_NBUF * sizeof(struct io_uring_buf)) != 0 ||
        !(u->bufs = malloc((size_t)UR_NBUF * UR_BUFSZ)) ||
        !(u->ready = calloc((size_t)n, sizeof(int)))) {
        *why = "malloc";
        return -1;
    }
    io_uring_buf_ring_init(u->br);
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)(uintptr_t)u->br;
    reg.ring_entries = UR_NBUF;
    reg.bgid = UR_BGID;
    if ((rc = io_uring_register_buf_ring(&u->ring, &reg, 0)) < 0) {
        *why = "register_buf_ring";
        return rc;
    }
    for (unsigned b = 0; b < UR_NBUF; b++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)b * UR_BUFSZ, UR_BUFSZ,
                              (unsigned short)b, io_uring_buf_ring_mask(UR_NBUF), (int)b);
    io_uring_buf_ring_advance(u->br, UR_NBUF);
    for (int i = 0; i < n; i++)
        if (ur_arm(u, srv[i], i) != 0) {
            *why = "arm";
            return -1;
        }
    if ((rc = io_uring_submit(&u->ring)) < 0) {
        *why = "submit";
        return rc;
    }
    return 0;
}

/* Reap the n receive completions (the wait runs the deferred receives); re-arm a multishot
 * recv that ended; give each buffer back. Returns how many connections are ready. */
static NOINL int ph_ur_recv(struct ur *u, int n, const int *srv)
{
    int got = 0;
    while (got < n) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        if (io_uring_submit_and_wait(&u->ring, 1) < 0)
            return -1;
        io_uring_for_each_cqe(&u->ring, head, cqe) {
            seen++;
            int i = (int)(cqe->user_data & 0xffffffffu);
            if (cqe->user_data & UR_SEND || i < 0 || i >= n)
                continue;
            if (cqe->res != (int)sizeof(rep) || !(cqe->flags & IORING_CQE_F_BUFFER))
                return -1;
            unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * UR_BUFSZ, UR_BUFSZ,
                                  (unsigned short)bid, io_uring_buf_ring_mask(UR_NBUF), 0);
            io_uring_buf_ring_advance(u->br, 1);
            if (!(cqe->flags & IORING_CQE_F_MORE) && ur_arm(u, srv[i], i) != 0)
                return -1;
            u->ready[got++] = i;
        }
        io_uring_cq_advance(&u->ring, seen);
    }
    return got;
}

/* The confirms: `batch` send SQEs per io_uring_enter, then their completions. */
static NOINL int ph_ur_send(struct ur *u, int n, const int *srv, int batch)
{
    int queued = 0, done = 0;
    for (int k = 0; k < n; k++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
        if (!sqe) { /* the SQ ring (1024) is full: submit what it holds */
            if (io_uring_submit(&u->ring) != queued || !(sqe = io_uring_get_sqe(&u->ring)))
                return -1;
            queued = 0;
        }
        io_uring_prep_send(sqe, srv[u->ready[k]], conf, sizeof(conf), MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, UR_SEND | (uint64_t)u->ready[k]);
        if (++queued == batch || k == n - 1) {
            if (io_uring_submit(&u->ring) != queued)
                return -1;
            queued = 0;
        }
    }
    while (done < n) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        if (io_uring_cq_ready(&u->ring) == 0 && io_uring_submit_and_wait(&u->ring, 1) < 0)
            return -1;
        io_uring_for_each_cqe(&u->ring, head, cqe) {
            seen++;
            if (!(cqe->user_data & UR_SEND) || cqe->res != (int)sizeof(conf))
                return -1;
            done++;
        }
        io_uring_cq_advance(&u->ring, seen);
    }
    return 0;
}

static int ur_round(struct ur *u, int n, const int *cli, const int *srv, int batch,
                    struct cost *c)
{
    uint64_t t = cpu_ns(), tr = t;
    if (ph_term_write(n, cli) != 0)
        return -1;
    c->u_w51 += cpu_ns() - t;
    uint64_t k0 = ksirq_ns();
    uint64_t tp = clk_ns(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t t0 = cpu_ns();
    if (ph_ur_recv(u, n, srv) != n)
        return -1;
    uint64_t t1 = cpu_ns();
    if (ph_ur_send(u, n, srv, batch) != 0)
        return -1;
    uint64_t t2 = cpu_ns();
    uint64_t pdelta = clk_ns(CLOCK_PROCESS_CPUTIME_ID) - tp;
    c->u_recv += t1 - t0;
    c->u_send += t2 - t1;
    c->u_iowq += pdelta > t2 - t0 ? pdelta - (t2 - t0) : 0;
    c->u_ksirq += ksirq_ns() - k0;
    int rc = ph_term_drain(n, cli);
    c->u_round += cpu_ns() - tr;
    return rc;
}

/* A fresh set of connections for the io_uring side (the epoll ones stay registered). */
static void uring_run(int n, int rounds, int batch)
{
    int *cli = calloc((size_t)n, sizeof(int)), *srv = calloc((size_t)n, sizeof(int));
    struct ur u;
    struct cost c;
    const char *why = "setup";

    memset(&u, 0, sizeof(u));
    memset(&c, 0, sizeof(c));
    int rc = !cli || !srv || pairs_open(n, cli, srv) != 0 ? -1 : ur_open(&u, n, srv, &why);
    if (rc != 0) {
        printf("bench=front_uring conns=%d skipped=%s:%s\n", n, why, strerror(rc < -1 ? -rc : 0));
        return;
    }
    for (int r = 0; r < rounds; r++)
        if (ur_round(&u, n, cli, srv, batch, &c) != 0) {
            printf("bench=front_uring conns=%d skipped=round_%d_failed\n", n, r);
            return;
        }
    double nf = (double)n * rounds;
    printf("bench=front_uring conns=%d rounds=%d batch=%d uring_w51_ns=%.0f uring_recv_ns=%.0f "
           "uring_send_ns=%.0f uring_front_ns=%.0f iowq_ns=%.0f ksoftirqd_ns=%.0f round_ns=%.0f\n",
           n, rounds, batch, c.u_w51 / nf, c.u_recv / nf, c.u_send / nf,
           (c.u_recv + c.u_send) / nf, c.u_iowq / nf, c.u_ksirq / nf, c.u_round / nf);
    io_uring_queue_exit(&u.ring);
    for (int i = 0; i < n; i++) {
        close(cli[i]);
        close(srv[i]);
    }
    free(u.br);
    free(u.bufs);
    free(u.ready);
    free(cli);
    free(srv);
}

static void epoll_run(int n, int rounds)
{
    int *cli = calloc((size_t)n, sizeof(int)), *srv = calloc((size_t)n, sizeof(int));
    struct epoll_event *evs = calloc((size_t)n, sizeof(*evs));
    int ep = epoll_create1(0), efd = eventfd(0, EFD_NONBLOCK);
    struct cost c;
    uint64_t v = 1, t;

    if (!cli || !srv || !evs || ep < 0 || efd < 0 || pairs_open(n, cli, srv) != 0) {
        perror("setup");
        exit(1);
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
            exit(1);
        v = 1;
    }
    c.evfd = cpu_ns() - t;
    for (int r = 0; r < rounds; r++)
        if (round_run(n, cli, srv, ep, evs, &c) != 0) {
            fprintf(stderr, "round %d failed\n", r);
            exit(1);
        }
    double nf = (double)n * rounds;
    printf("bench=front_syscalls conns=%d rounds=%d null_ns=%.0f write51_ns=%.0f "
           "epoll_ns_per_event=%.0f read51_ns=%.0f write20_ns=%.0f eventfd_pair_ns=%.0f "
           "front_side_ns=%.0f ksoftirqd_ns=%.0f round_ns=%.0f\n",
           n, rounds, c.null / 1e6, c.w51 / nf, c.ep / (double)c.nev, c.r51 / nf, c.w20 / nf,
           c.evfd / 1e6, (c.ep + c.r51 + c.w20) / nf, c.ksirq / nf, c.round / nf);
    for (int i = 0; i < n; i++) {
        close(cli[i]);
        close(srv[i]);
    }
    close(ep);
    close(efd);
    free(cli);
    free(srv);
    free(evs);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1000;
    int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 200;
    int batch = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 0;

    if (n < 1 || n > 9000 || rounds < 1 || batch < 0) {
        fprintf(stderr, "usage: bench_front_syscalls [conns 1..9000] [rounds] [batch]\n");
        return 2;
    }
    ksirq_find();
    epoll_run(n, rounds);
    fflush(stdout);
    if (batch > 0) {
        uring_run(n, rounds, batch < n ? batch : n);
    } else { /* an enter per confirm, 16 per enter (a busy loop iteration's confirms at
              * window 1), and every confirm of the round in one */
        uring_run(n, rounds, 1);
        if (n > 16)
            uring_run(n, rounds, 16);
        uring_run(n, rounds, n);
    }
    return 0;
}
