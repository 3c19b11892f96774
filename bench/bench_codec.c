/* bench_codec.c -- decode rate of the 376.1 codec on one core: gw_frame_parse +
 * gw_decode_units per frame, for login, heartbeat, F129 (4 tariffs), F25, 0D F161, a 96-point
 * F101 curve answer and a realistic mix.
 *
 * Frames are built once from a fixed seed with the codec's builders (varied values, so the
 * BCD paths see real digits), then decoded round-robin. A checksum of decoded values is
 * printed so a fast but wrong build is caught; the figure is the median of several runs.
 *
 *   make BUILD=bench benchbin && build/bench/bench/bench_codec [size_factor] [runs]
 *
 * One machine-readable line per case (ns_per_frame/frames_per_s from the thread's CPU time,
 * median of the runs; wall_ns_per_frame from the wall clock):
 *   bench=codec case=f129 frames=N runs=R ns_per_frame=X frames_per_s=Y wall_ns_per_frame=W
 *   checksum=Z
 * Thread: main thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"

#define NFRAMES 256 /* distinct frames per case, decoded round-robin */

struct fr {
    uint8_t b[1024];
    size_t n;
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* CPU time of this thread: on a machine shared with other builds the wall clock mostly
 * measures how often we were scheduled; the thread's CPU time measures the decoding. Wall
 * time is reported too. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void frame(struct fr *f, uint8_t c, uint8_t afn, uint8_t seq, const struct gw_ubuf *ub,
                  int tp)
{
    struct gw_frame_out fo;
    int n;
    memset(&fo, 0, sizeof fo);
    fo.c = c;
    fo.addr.a1 = 0x4403;
    fo.addr.a2 = (uint16_t)(1 + rnd() % 60000);
    fo.afn = afn;
    fo.seq.fir = seq >> 6 & 1;
    fo.seq.fin = seq >> 5 & 1;
    fo.seq.con = seq >> 4 & 1;
    fo.seq.pseq = seq & 15;
    fo.units = ub->p;
    fo.units_len = ub->len;
    fo.has_tp = (uint8_t)tp;
    fo.tp = (struct gw_tp){(uint8_t)rnd(), 1, 2, 3, 4, 0, 1};
    n = gw_frame_encode(&fo, f->b, sizeof f->b);
    if (n < 0 || ub->err) {
        fprintf(stderr, "bench: cannot build frame\n");
        exit(1);
    }
    f->n = (size_t)n;
}

static struct gw_time rtime(void)
{
    struct gw_time t = {(uint16_t)(2020 + rnd() % 6), (uint8_t)(1 + rnd() % 12),
                        (uint8_t)(1 + rnd() % 28), (uint8_t)(rnd() % 24), (uint8_t)(rnd() % 60),
                        0, 0};
    return t;
}

static struct gw_num renergy(void)
{
    struct gw_num v = {(int64_t)(rnd() % 10000000000ull), -4, GW_VS_OK};
    return v;
}

static struct gw_num rnum(int64_t lim, int e)
{
    struct gw_num v = {(int64_t)(rnd() % (uint64_t)lim), (int8_t)e, GW_VS_OK};
    return v;
}

/* Build NFRAMES frames of one kind into fs. */
static void build(const char *kind, struct fr *fs)
{
    uint8_t u[1024];
    struct gw_ubuf ub;
    for (int i = 0; i < NFRAMES; i++) {
        struct gw_time t = rtime(), td = t;
        struct gw_num e[5], pts[96];
        const char *k = kind;
        if (strcmp(kind, "mix") == 0) { /* 40 % F129, 25 % heartbeat, 20 % F161, 10 % F25 */
            static const char *const mix[20] = {
                "f129", "f129", "f129", "f129", "f129", "f129", "f129", "f129",
                "heartbeat", "heartbeat", "heartbeat", "heartbeat", "heartbeat",
                "f161", "f161", "f161", "f161", "f25", "f25", "f101"};
            k = mix[rnd() % 20];
        }
        gw_ub_init(&ub, u, sizeof u);
        for (int j = 0; j < 5; j++)
            e[j] = renergy();
        td.hour = td.min = 0;
        if (strcmp(k, "login") == 0) {
            gw_ans_login(&ub);
            frame(&fs[i], gw_c_up(1, 0, 9), 0x02, 0x70, &ub, 0);
        } else if (strcmp(k, "heartbeat") == 0) {
            t.wday = (uint8_t)(1 + rnd() % 7);
            gw_ans_heartbeat(&ub, &t);
            frame(&fs[i], gw_c_up(1, 0, 9), 0x02, 0x70, &ub, 0);
        } else if (strcmp(k, "f129") == 0) {
            gw_ans_energy(&ub, (uint16_t)(1 + rnd() % 64), 129, &t, 4, e);
            frame(&fs[i], gw_c_up(0, 0, 8), 0x0C, 0xE0, &ub, 1);
        } else if (strcmp(k, "f25") == 0) {
            struct gw_f25 v;
            v.time = t;
            for (int j = 0; j < 4; j++) {
                v.p[j] = rnum(100000, -4);
                v.q[j] = rnum(100000, -4);
                v.pf[j] = rnum(1000, -1);
                v.i[j] = rnum(100000, -3);
                v.s[j] = rnum(100000, -4);
            }
            for (int j = 0; j < 3; j++)
                v.u[j] = rnum(2600, -1);
            gw_ans_f25(&ub, (uint16_t)(1 + rnd() % 64), &v);
            frame(&fs[i], gw_c_up(0, 0, 8), 0x0C, 0xE0, &ub, 1);
        } else if (strcmp(k, "f161") == 0) {
            gw_ans_daily_energy(&ub, (uint16_t)(1 + rnd() % 64), 161, &td, &t, 4, e);
            frame(&fs[i], gw_c_up(0, 0, 8), 0x0D, 0xE0, &ub, 1);
        } else { /* f101 */
            for (int j = 0; j < 96; j++)
                pts[j] = (struct gw_num){(int64_t)(rnd() % 100000000), -2, GW_VS_OK};
            td.min = 15;
            gw_ans_curve(&ub, (uint16_t)(1 + rnd() % 64), 101, &td, 1, 96, pts);
            frame(&fs[i], gw_c_up(0, 0, 8), 0x0D, 0xE0, &ub, 1);
        }
    }
}

/* Decode `total` frames; returns the checksum. */
static uint64_t run(const struct fr *fs, long total, struct gw_decoded *dec)
{
    uint64_t sum = 0;
    for (long i = 0; i < total; i++) {
        const struct fr *f = &fs[i % NFRAMES];
        struct gw_frame fr;
        if (gw_frame_parse(f->b, f->n, GW_PW_LEN, &fr) != 0 || gw_decode_units(&fr, dec) != 0) {
            fprintf(stderr, "bench: decode failed\n");
            exit(1);
        }
        sum += dec->nvals;
        for (unsigned k = 0; k < dec->nvals; k++)
            sum = sum * 31 + (uint64_t)dec->vals[k].u.i;
    }
    return sum;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const char *const cases[] = {"login", "heartbeat", "f129", "f25", "f161", "f101",
                                        "mix"};
    static const long base[] = {2000000, 2000000, 2000000, 1000000, 2000000, 100000, 1000000};
    double factor = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    struct gw_decoded *dec = malloc(sizeof *dec);
    struct fr *fs = malloc(sizeof(struct fr) * NFRAMES);

    if (!dec || !fs || runs < 1 || runs > 50 || !(factor > 0))
        return 2;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long total = (long)((double)base[c] * factor);
        double t[50], w[50];
        uint64_t ck = 0;
        rng = 0x9E3779B97F4A7C15ull + c; /* fixed seed per case */
        build(cases[c], fs);
        run(fs, NFRAMES, dec); /* warm-up */
        for (int r = 0; r < runs; r++) {
            double t0 = cpu_s(), w0 = wall_s();
            uint64_t s = run(fs, total, dec);
            t[r] = cpu_s() - t0;
            w[r] = wall_s() - w0;
            if (r > 0 && s != ck) {
                fprintf(stderr, "bench: checksum differs between runs\n");
                return 1;
            }
            ck = s;
        }
        qsort(t, (size_t)runs, sizeof t[0], cmp_d);
        qsort(w, (size_t)runs, sizeof w[0], cmp_d);
        printf("bench=codec case=%s frames=%ld runs=%d ns_per_frame=%.1f frames_per_s=%.0f "
               "wall_ns_per_frame=%.1f checksum=%016llx\n",
               cases[c], total, runs, t[runs / 2] * 1e9 / (double)total,
               (double)total / t[runs / 2], w[runs / 2] * 1e9 / (double)total,
               (unsigned long long)ck);
    }
    free(dec);
    free(fs);
    return 0;
}
