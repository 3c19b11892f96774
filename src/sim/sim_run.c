/* sim_run.c -- run the simulator: fork --procs worker processes (one process may hold at
 * most ~20,000 open files here), each with a share of the terminals and a slot of a shared
 * stats page; print the live progress line; collect the exit statuses; print the summary.
 *
 * Invariant: the parent never touches a socket; it only reads the shared counters (racy
 * reads, display only) until every child has exited, then reads them for the summary.
 * Called by: sim_cli.c. Thread: main. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "sim/sim_int.h"
#include "sim/sim_run.h"

/* Raise the open-file limit to the hard limit; returns the soft limit now in force. */
static long raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

static void sum_stats(const struct sim_stats *s, int n, struct sim_stats *tot)
{
    memset(tot, 0, sizeof(*tot));
    for (int i = 0; i < n; i++) {
#define SIM_X(f) tot->f += s[i].f;
        SIM_STATS_COUNTERS(SIM_X)
#undef SIM_X
        mf_hist_merge(&tot->lat, &s[i].lat);
        if (s[i].virtual_now > tot->virtual_now)
            tot->virtual_now = s[i].virtual_now;
    }
}

static void print_progress(const struct sim_cfg *cfg, const struct sim_stats *t, double el,
                           double fps, int final)
{
    char vt[32];
    sim_ls_format_min(t->virtual_now ? t->virtual_now : cfg->start_ls, vt, sizeof(vt));
    fprintf(stderr,
            "%s%6.1fs %s online %llu/%u frames/s %.0f confirm p50 %.1fms p99 %.1fms retx %llu "
            "unconfirmed %llu values %llu%s",
            isatty(2) && !final ? "\r" : "", el, vt, (unsigned long long)t->online, cfg->nterm,
            fps, (double)mf_hist_quantile(&t->lat, 0.5) / 1000.0,
            (double)mf_hist_quantile(&t->lat, 0.99) / 1000.0,
            (unsigned long long)t->retransmits, (unsigned long long)t->unconfirmed,
            (unsigned long long)t->values_confirmed, isatty(2) && !final ? "  " : "\n");
}

static void print_summary(const struct sim_cfg *cfg, const struct sim_stats *t, double el)
{
    printf("sim: terminals=%u points=%u elapsed_s=%.1f logins=%llu connect_failures=%llu "
           "disconnects=%llu frames_sent=%llu frames_confirmed=%llu retransmits=%llu "
           "denied=%llu unconfirmed=%llu values_confirmed=%llu events_confirmed=%llu "
           "requests=%llu answers=%llu backlog_skips=%llu ledger_lines=%llu "
           "confirm_p50_ms=%.2f confirm_p99_ms=%.2f frames_per_s=%.0f\n",
           cfg->nterm, (unsigned)cfg->npoints, el, (unsigned long long)t->logins,
           (unsigned long long)t->connect_fail, (unsigned long long)t->disconnects,
           (unsigned long long)t->frames_sent, (unsigned long long)t->frames_confirmed,
           (unsigned long long)t->retransmits, (unsigned long long)t->denied,
           (unsigned long long)t->unconfirmed, (unsigned long long)t->values_confirmed,
           (unsigned long long)t->events_confirmed, (unsigned long long)t->requests,
           (unsigned long long)t->answers, (unsigned long long)t->backlog_skips,
           (unsigned long long)t->ledger_lines, (double)mf_hist_quantile(&t->lat, 0.5) / 1000.0,
           (double)mf_hist_quantile(&t->lat, 0.99) / 1000.0,
           el > 0 ? (double)t->frames_confirmed / el : 0.0);
    fflush(stdout);
}

/* Wait for the children, printing progress; returns the worst exit status. */
static int supervise(const struct sim_cfg *cfg, struct sim_stats *stats, pid_t *pids, int n)
{
    uint64_t t0 = mf_mono_us(), last_us = t0, last_conf = 0;
    int alive = 0, worst = 0, forwarded = 0;
    struct sim_stats tot;
    for (int i = 0; i < n; i++)
        alive += pids[i] > 0;
    worst = alive < n ? 2 : 0; /* a fork failed */
    while (alive > 0) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        for (int i = 0; i < n; i++) {
            int status;
            if (pids[i] <= 0 || waitpid(pids[i], &status, WNOHANG) != pids[i])
                continue;
            int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
            worst = rc > worst ? rc : worst;
            pids[i] = 0;
            alive--;
        }
        if (mf_stop_requested && !forwarded) { /* SIGTERM to us only: pass it on */
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGTERM);
            forwarded = 1;
        }
        uint64_t now = mf_mono_us();
        if (cfg->progress && (double)(now - last_us) / 1e6 >= cfg->report_every_s) {
            sum_stats(stats, n, &tot);
            double fps = (double)(tot.frames_confirmed - last_conf) / ((double)(now - last_us) / 1e6);
            print_progress(cfg, &tot, (double)(now - t0) / 1e6, fps, 0);
            last_us = now;
            last_conf = tot.frames_confirmed;
        }
    }
    sum_stats(stats, n, &tot);
    double el = (double)(mf_mono_us() - t0) / 1e6;
    if (cfg->progress)
        print_progress(cfg, &tot, el, el > 0 ? (double)tot.frames_confirmed / el : 0, 1);
    print_summary(cfg, &tot, el);
    return worst;
}

int sim_run(const struct sim_cfg *cfg, const struct sim_model *model)
{
    int n = cfg->procs > 0 ? cfg->procs : 1;
    long nofile = raise_nofile();
    uint32_t per = (cfg->nterm + (uint32_t)n - 1) / (uint32_t)n;
    if ((long)per + 64 > nofile || (cfg->max_fds && per + 64 > (uint32_t)cfg->max_fds)) {
        fprintf(stderr, "meterflow sim: %u terminals per process need %u open files, the "
                        "limit is %ld: use --procs %u or more\n",
                per, per + 64, nofile, cfg->nterm / (uint32_t)(nofile - 64) + 1);
        return 2;
    }
    struct sim_stats *stats = mmap(NULL, sizeof(*stats) * (size_t)n, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (stats == MAP_FAILED) {
        char eb[128];
        fprintf(stderr, "meterflow sim: mmap: %s\n", mf_strerror(errno, eb, sizeof(eb)));
        return 2;
    }
    memset(stats, 0, sizeof(*stats) * (size_t)n);
    pid_t *pids = mf_calloc((size_t)n, sizeof(pid_t));
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(sim_proc_run(cfg, model, &stats[i], (uint32_t)i, (uint32_t)n));
        if (pids[i] < 0) {
            char eb[128];
            fprintf(stderr, "meterflow sim: fork: %s\n", mf_strerror(errno, eb, sizeof(eb)));
            mf_stop_requested = 1;
        }
    }
    int rc = supervise(cfg, stats, pids, n);
    free(pids);
    munmap(stats, sizeof(*stats) * (size_t)n);
    return rc;
}
