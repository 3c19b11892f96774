/* bench_web_http.c -- HTTP latency benchmark client for the web API (bench/web-bench.sh):
 * keep-alive HTTP/1.1 GETs from T threads, each on its own connection, latency of every
 * request into a histogram (hist.h); prints one machine-readable line per case:
 *
 *   case=<name> n=<requests> errors=<non-200> p50_ms=.. p99_ms=.. max_ms=.. rps=.. bytes=<sum>
 *
 * Usage: bench_web_http HOST PORT TOKEN CASE THREADS REQUESTS URL_TEMPLATE [SEED]
 * URL_TEMPLATE may contain {T} (terminal 4403-XXXX, 1..terminals), {P} (pn 1..points) and
 * {D} (one of the MF_BENCH_CURVE_DAYS days before today, default 29): set by
 * MF_BENCH_TERMINALS / MF_BENCH_POINTS; the random choices come from a fixed seed, so a run
 * is repeatable; bytes is the result checksum (a fast wrong server answers different sizes
 * or errors). Several templates separated by spaces make a mix: each request takes one of
 * them at random (same seed), e.g. the dashboard's calls and a point page's
 * (bench/web-conc.sh). MF_BENCH_SECS caps a run's time: each client stops sending after
 * that many seconds even if its share of REQUESTS is not done (n says how many were sent).
 * Thread: main + T worker threads, each with its own socket and histogram. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/hist.h"

struct worker {
    pthread_t th;
    const char *host, *token, *tmpl;
    int port, n, terms, points, curve_days;
    uint64_t seed, bytes, errors;
    uint64_t deadline_us; /* 0: none; else stop sending at this mf_mono_us() */
    struct mf_hist h;
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Number of space-separated templates in tmpl. */
static int tmpl_count(const char *tmpl)
{
    int n = 1;
    for (const char *p = tmpl; *p; p++)
        n += *p == ' ';
    return n;
}

static void expand(struct worker *w, char *out, size_t cap)
{
    size_t o = 0;
    const char *t = w->tmpl;
    int ntmpl = tmpl_count(t);
    if (ntmpl > 1) /* a mix: skip to template k */
        for (int k = (int)(next(&w->seed) % (uint64_t)ntmpl); k > 0; k--)
            t = strchr(t, ' ') + 1;
    for (const char *p = t; *p && *p != ' ' && o + 16 < cap; p++) {
        if (p[0] == '{' && p[1] && p[2] == '}') {
            if (p[1] == 'T')
                o += (size_t)snprintf(out + o, cap - o, "4403-%04X",
                                      (unsigned)(next(&w->seed) % (uint64_t)w->terms + 1));
            else if (p[1] == 'P')
                o += (size_t)snprintf(out + o, cap - o, "%u",
                                      (unsigned)(next(&w->seed) % (uint64_t)w->points + 1));
            else if (p[1] == 'D') {
                int y, m, d;
                int32_t today = (int32_t)(mf_now_us() / 86400000000ull);
                mf_days_to_date(today - 1 - (int32_t)(next(&w->seed) % (uint64_t)w->curve_days),
                                &y, &m, &d);
                o += (size_t)snprintf(out + o, cap - o, "%04d-%02d-%02d", y, m, d);
            }
            p += 2;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Send one GET and read the whole answer (Content-Length framing). Returns the status code
 * and adds the body length to *bytes, or -1 on a socket error. */
static int get(int fd, const char *host, const char *token, const char *url, uint64_t *bytes)
{
    static __thread char buf[1 << 20];
    char req[2048];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                     url, host, token);
    if (write(fd, req, (size_t)n) != n)
        return -1;
    size_t have = 0;
    char *hdr_end = NULL;
    long clen = -1;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            if (!cl || cl > hdr_end)
                return -1;
            clen = strtol(cl + 17, NULL, 10);
        }
        if (hdr_end && (long)(have - (size_t)(hdr_end + 4 - buf)) >= clen)
            break;
        if (have >= sizeof(buf) - 1)
            return -1;
    }
    *bytes += (uint64_t)clen;
    return (int)strtol(buf + 9, NULL, 10);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    char url[1024];
    int fd = connect_to(w->host, w->port);
    for (int i = 0; i < w->n && (!w->deadline_us || mf_mono_us() < w->deadline_us); i++) {
        expand(w, url, sizeof(url));
        uint64_t t0 = mf_mono_us();
        int st = fd >= 0 ? get(fd, w->host, w->token, url, &w->bytes) : -1;
        mf_hist_add(&w->h, mf_mono_us() - t0);
        if (st != 200) {
            w->errors++;
            if (st < 0) { /* reconnect after a socket error */
                if (fd >= 0)
                    close(fd);
                fd = connect_to(w->host, w->port);
            }
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: %s HOST PORT TOKEN CASE THREADS REQUESTS URL_TEMPLATE [SEED]\n", argv[0]);
        return 2;
    }
    int nth = atoi(argv[5]) > 0 ? atoi(argv[5]) : 1, total = atoi(argv[6]);
    uint64_t seed = argc > 8 ? strtoull(argv[8], NULL, 10) : 42;
    const char *te = getenv("MF_BENCH_TERMINALS"), *pe = getenv("MF_BENCH_POINTS");
    const char *ce = getenv("MF_BENCH_CURVE_DAYS");
    int cdays = ce && atoi(ce) > 0 ? atoi(ce) : 29;
    struct worker *ws = calloc((size_t)nth, sizeof(*ws));
    struct mf_hist all;
    uint64_t bytes = 0, errors = 0, t0 = mf_mono_us();
    const char *se = getenv("MF_BENCH_SECS"); /* a time cap beside the request count */
    uint64_t deadline = se && atof(se) > 0 ? t0 + (uint64_t)(atof(se) * 1e6) : 0;

    mf_hist_reset(&all);
    for (int i = 0; i < nth; i++) {
        ws[i] = (struct worker){ .host = argv[1], .port = atoi(argv[2]), .token = argv[3],
                                 .tmpl = argv[7], .n = total / nth,
                                 .terms = te ? atoi(te) : 1, .points = pe ? atoi(pe) : 1,
                                 .curve_days = cdays, .deadline_us = deadline,
                                 .seed = seed * 7919 + (uint64_t)i + 1 };
        mf_hist_reset(&ws[i].h);
        pthread_create(&ws[i].th, NULL, run, &ws[i]);
    }
    for (int i = 0; i < nth; i++) {
        pthread_join(ws[i].th, NULL);
        mf_hist_merge(&all, &ws[i].h);
        bytes += ws[i].bytes;
        errors += ws[i].errors;
    }
    double secs = (double)(mf_mono_us() - t0) / 1e6;
    printf("case=%s n=%llu errors=%llu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f rps=%.0f bytes=%llu\n",
           argv[4], (unsigned long long)all.count, (unsigned long long)errors,
           (double)mf_hist_quantile(&all, 0.5) / 1000.0, (double)mf_hist_quantile(&all, 0.99) / 1000.0,
           (double)all.max / 1000.0, (double)all.count / secs, (unsigned long long)bytes);
    free(ws);
    return errors ? 1 : 0;
}
