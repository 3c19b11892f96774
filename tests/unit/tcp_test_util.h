/* tcp_test_util.h -- the terminal side of the tests that drive a real front over TCP
 * (test_front_tcp.c, test_security_pw.c, test_worker_e2e.c): connect to 127.0.0.1, send a
 * hand-written hex frame, read with a deadline (never a fixed sleep), expect exact bytes.
 * Static functions (each test file includes it once), like gw_test_util.h. */
#ifndef MF_TEST_TCP_UTIL_H
#define MF_TEST_TCP_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"

MF_UNUSED static uint64_t now_ms(void)
{
    return mf_mono_us() / 1000u;
}

/* Hex (spaces allowed) to bytes; out holds 512. A bad string fails the test. */
MF_UNUSED static size_t hex(const char *h, uint8_t *out)
{
    int n = mf_hex_decode(h, out, 512);
    if (n < 0)
        mf_test_fail(__FILE__, __LINE__, "bad hex in test: %s", h);
    return n < 0 ? 0 : (size_t)n;
}

/* A connected TCP socket to 127.0.0.1:port, or -1 (the test failed). */
MF_UNUSED static int tconnect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        char eb[128];
        mf_test_fail(__FILE__, __LINE__, "connect: %s", mf_strerror(errno, eb, sizeof(eb)));
        close(fd);
        return -1;
    }
    return fd;
}

/* As tconnect, from the loopback source address src (e.g. "127.0.0.77": the whole 127/8
 * is local on Linux), to tell the front's per-address limits apart. */
MF_UNUSED static int tconnect_from(int port, const char *src)
{
    struct sockaddr_in sa, me;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&me, 0, sizeof(me));
    me.sin_family = AF_INET;
    CHECK_EQ_INT(inet_pton(AF_INET, src, &me.sin_addr), 1);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        char eb[128];
        mf_test_fail(__FILE__, __LINE__, "connect from %s: %s", src,
                     mf_strerror(errno, eb, sizeof(eb)));
        close(fd);
        return -1;
    }
    return fd;
}

MF_UNUSED static void tsend(int fd, const char *h)
{
    uint8_t b[512];
    size_t n = hex(h, b);
    CHECK_EQ_INT(write(fd, b, n), (long long)n);
}

/* Read exactly n bytes within ms. Returns bytes read (< n on timeout/EOF), -1 EOF at once. */
MF_UNUSED static int tread(int fd, uint8_t *out, size_t n, int ms)
{
    size_t got = 0;
    uint64_t end = now_ms() + (uint64_t)ms;
    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t t = now_ms();
        if (t >= end)
            break;
        if (poll(&p, 1, (int)(end - t)) <= 0)
            continue;
        ssize_t k = read(fd, out + got, n - got);
        if (k <= 0)
            return got ? (int)got : -1;
        got += (size_t)k;
    }
    return (int)got;
}

/* Expect exactly the frame `h` next on fd (a macro: failures name the caller's line). */
#define EXPECT_FRAME(fd, h)                                                                    \
    do {                                                                                       \
        uint8_t want_[512], got_[512];                                                         \
        size_t n_ = hex((h), want_);                                                           \
        int k_ = tread((fd), got_, n_, 5000);                                                  \
        CHECK_EQ_INT(k_, (long long)n_);                                                       \
        if (k_ == (int)n_)                                                                     \
            CHECK_MEM(got_, want_, n_);                                                        \
    } while (0)

#endif
