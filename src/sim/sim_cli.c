/* sim_cli.c -- `meterflow sim` command line: options (the flag names are an interface: keep
 * them), injected faults (flags or a JSON-lines file), the ground-truth file, and dispatch to
 * the run, --verify or --score.
 *
 * Invariant: every number from the command line is range-checked before use; a bad option
 * names itself and exits 2.
 * Called by: src/app/cmd_sim.c. Thread: main. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/sim.h"
#include "sim/sim_run.h"
#include "sim/sim_verify.h"

#define MAX_FAULT_SPECS 32

struct cli {
    struct sim_cfg cfg;
    const char *faults_file, *gt_file, *zone, *start, *master_dir;
    const char *fault_spec[MAX_FAULT_SPECS];
    int nfault_spec;
    int32_t fault_from, fault_to; /* days; INT32_MIN = derived from the run */
    int verify, score, help, demo_faults, dry_run;
    char demo_spec[SIM_F_NKINDS][32];
    struct sim_verify_opts vo;
};

static const char usage_text[] =
    "usage: meterflow sim [options]             simulate terminals against a master\n"
    "       meterflow sim --verify --ledger FILE (--db PATH | --pg CONNINFO | -c INI)\n"
    "       meterflow sim --score --ground-truth FILE (--db PATH | --pg CONNINFO | -c INI)\n"
    "\n"
    "connection:\n"
    "  --target HOST:PORT       master's terminal port (default 127.0.0.1:9300)\n"
    "  --source-addrs A-B       bind each connection to one of the IPv4 source addresses\n"
    "                           A..B (e.g. 127.0.0.2-127.0.0.254) to pass the port range\n"
    "  --procs K                worker processes, each holding a share of the terminals\n"
    "                           (one process may hold at most ~20,000 open files)\n"
    "  --confirm-timeout MS     wait for a confirm before retransmitting (default 10000)\n"
    "  --retries N              retransmissions with the same PSEQ, 0..3 (default 3)\n"
    "  --window N               reports in flight per terminal, 1..8 (default 4)\n"
    "  --backoff-min MS, --backoff-max MS  reconnect backoff (default 500, 30000)\n"
    "layout:\n"
    "  --terminals N            number of terminals (default 10)\n"
    "  --points M               metering points per terminal, 1..2040 (default 8)\n"
    "  --areas K                transformer areas, 1..N (default N: one per terminal)\n"
    "  --region RRRR            A1 region code, 4 digits (default 4403)\n"
    "  --first-address N        A2 of the first terminal, 1..65535 (default 1)\n"
    "time and load:\n"
    "  --duration SECONDS       run this long, then drain, log out and exit (default: until\n"
    "                           SIGINT/SIGTERM)\n"
    "  --speed X                virtual seconds per real second (1440 = a day per minute)\n"
    "  --start DATE[THH:MM]     virtual start, terminal civil time (default: now in --zone)\n"
    "  --catch-up               run at --speed until the virtual clock reaches real time,\n"
    "                           then at 1x (real time) with the same schedule (demos)\n"
    "  --zone NAME              civil zone of terminal clocks (default Asia/Shanghai)\n"
    "  --seed S                 seed of everything random (default 1)\n"
    "  --report-interval S      virtual seconds between 0C F129 reports, >= 60 (default 900)\n"
    "  --instant-interval S     virtual seconds between 0C F25 reports (voltage, current,\n"
    "                           power), 0 = none or >= 60 (default 3600)\n"
    "  --heartbeat SECONDS      real seconds between heartbeats (default 60)\n"
    "  --heartbeat-style 2013|2009  heartbeat with the terminal clock (2013) or without\n"
    "  --no-daily, --no-curves  do not report 0D F161 / F101 after midnight\n"
    "  --erc14-rate R, --erc13-rate R, --erc24-rate R  events per terminal per virtual day\n"
    "faults (ground truth for scoring the analytics):\n"
    "  --fault KIND[:COUNT]     inject COUNT faults of KIND (theft, stopped, reversed, clock,\n"
    "                           sag, flap, drop) on seeded targets; repeatable\n"
    "  --fault-from DATE, --fault-to DATE  window of --fault faults (default: the run)\n"
    "  --faults FILE            faults as JSON lines: {\"kind\",\"terminal\",\"pn\",\"area\",\n"
    "                           \"from\",\"to\"}\n"
    "  --demo-faults            a bit of every fault kind, scaled to the layout (demos)\n"
    "  --ground-truth FILE      write the faults in force (JSON lines) for --score\n"
    "  --dry-run                write --master-data / --ground-truth and exit (no connects)\n"
    "  --master-data DIR        write areas.csv, terminals.csv, meters.csv for\n"
    "                           `meterflow import` (the layout the analytics need)\n"
    "output:\n"
    "  --ledger FILE            append every value the master confirmed (docs/SIMULATOR.md)\n"
    "  --progress               live progress line on stderr\n"
    "  --report-every SECONDS   progress line period (default 1)\n"
    "  --log-level LEVEL        error, warn, info, debug (default warn)\n"
    "checks:\n"
    "  --verify                 check the ledger against the store: every confirmed value\n"
    "                           present exactly once with the same value\n"
    "  --score                  precision/recall of the store's anomalies vs the ground truth\n"
    "  --db PATH | --pg CONNINFO | -c INI   how to reach the store\n"
    "\n"
    "exit status: 0 all confirmed (or verified), 1 unconfirmed frames / missing or mismatched\n"
    "values, 2 usage or set-up error, 3 some terminal never logged in.\n";

static int bad(const char *opt, const char *val, const char *why)
{
    fprintf(stderr, "meterflow sim: %s %s: %s\n", opt, val ? val : "", why);
    return MF_EINVAL;
}

static int num_u(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return bad(opt, s, "needs a number");
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        char why[96];
        snprintf(why, sizeof(why), "needs a whole number in %llu..%llu",
                 (unsigned long long)min, (unsigned long long)max);
        return bad(opt, s, why);
    }
    *out = v;
    return 0;
}

static int num_d(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    if (!s || !*s)
        return bad(opt, s, "needs a number");
    double v = strtod(s, &end);
    if (errno || *end || !(v >= min && v <= max))
        return bad(opt, s, "out of range");
    *out = v;
    return 0;
}

/* "YYYY-MM-DD[THH:MM[:SS]]" -> local seconds (strict: see sim_time_parse). */
static int parse_local(const char *s, int64_t *ls)
{
    struct sim_ymdhms t;
    if (sim_time_parse(s, SIM_TP_HM | SIM_TP_SEC, &t) != 0 || t.year < 2000 || t.year > 2099)
        return MF_EINVAL;
    *ls = (int64_t)mf_date_to_days(t.year, t.mon, t.day) * SIM_DAY_S + t.hour * 3600 +
          t.min * 60 + t.sec;
    return 0;
}

static int parse_target(struct sim_cfg *cfg, const char *s)
{
    const char *colon = strrchr(s, ':');
    /* num_u writes it on success; initialised because clang-analyzer does not follow
     * bad()'s non-zero return and reports a garbage read (a false positive) */
    uint64_t port = 0;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(cfg->host))
        return bad("--target", s, "needs HOST:PORT");
    if (num_u("--target", colon + 1, 1, 65535, &port))
        return MF_EINVAL;
    memcpy(cfg->host, s, (size_t)(colon - s));
    cfg->host[colon - s] = 0;
    if (cfg->host[0] == '[' && cfg->host[colon - s - 1] == ']') { /* [::1]:9300 */
        memmove(cfg->host, cfg->host + 1, (size_t)(colon - s));
        cfg->host[colon - s - 2] = 0;
    }
    cfg->port = (int)port;
    return 0;
}

static int parse_sources(struct sim_cfg *cfg, const char *s)
{
    char a[64], b[64];
    const char *dash = strchr(s, '-');
    struct in_addr ia, ib;
    if (!dash || (size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
        return bad("--source-addrs", s, "needs FIRST-LAST IPv4 addresses");
    memcpy(a, s, (size_t)(dash - s));
    a[dash - s] = 0;
    mf_strlcpy(b, dash + 1, sizeof(b));
    if (inet_pton(AF_INET, a, &ia) != 1 || inet_pton(AF_INET, b, &ib) != 1 ||
        ntohl(ib.s_addr) < ntohl(ia.s_addr))
        return bad("--source-addrs", s, "needs FIRST-LAST IPv4 addresses, FIRST <= LAST");
    cfg->src_first = ntohl(ia.s_addr);
    cfg->src_last = ntohl(ib.s_addr);
    return 0;
}

static int parse_region(struct sim_cfg *cfg, const char *s)
{
    unsigned v = 0;
    if (strlen(s) != 4)
        return bad("--region", s, "needs 4 digits");
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return bad("--region", s, "needs 4 digits");
        v = v << 4 | (unsigned)d;
    }
    cfg->region = (uint16_t)v;
    return 0;
}

static void defaults(struct cli *c)
{
    struct sim_cfg *cfg = &c->cfg;
    memset(c, 0, sizeof(*c));
    mf_strlcpy(cfg->host, "127.0.0.1", sizeof(cfg->host));
    cfg->port = 9300;
    cfg->nterm = 10;
    cfg->npoints = 8;
    cfg->region = 0x4403;
    cfg->first_addr = 1;
    cfg->procs = 1;
    cfg->speed = 1.0;
    cfg->seed = 1;
    cfg->report_interval_s = 900;
    cfg->heartbeat_s = 60;
    cfg->instant_interval_s = 3600;
    cfg->daily = 1;
    cfg->curves = 1;
    cfg->report_every_s = 1.0;
    cfg->confirm_timeout_ms = 10000;
    cfg->retries = 3;
    cfg->window = 4;
    cfg->backoff_min_ms = 500;
    cfg->backoff_max_ms = 30000;
    c->zone = "Asia/Shanghai";
    c->fault_from = c->fault_to = INT32_MIN;
}

/* Numeric options. Returns 1 when `opt` was one of them, 0 when not, < 0 on error. */
static int opt_number(struct cli *c, const char *opt, const char *v)
{
    struct sim_cfg *cfg = &c->cfg;
    uint64_t u;
    int rc;
#define U(name, lo, hi, field)                                                                  \
    if (strcmp(opt, name) == 0)                                                                  \
        return (rc = num_u(opt, v, lo, hi, &u)) ? rc : ((field) = u, 1);
    U("--terminals", 1, 1000000, cfg->nterm)
    U("--points", 1, 2040, cfg->npoints)
    U("--areas", 1, 1000000, cfg->nareas)
    U("--first-address", 1, 65535, cfg->first_addr)
    U("--procs", 1, 256, cfg->procs)
    U("--seed", 0, UINT64_MAX, cfg->seed)
    U("--report-interval", 60, 86400, cfg->report_interval_s)
    U("--heartbeat", 1, 86400, cfg->heartbeat_s)
    U("--instant-interval", 0, 86400, cfg->instant_interval_s)
    U("--confirm-timeout", 10, 600000, cfg->confirm_timeout_ms)
    U("--retries", 0, 3, cfg->retries)
    U("--window", 1, 8, cfg->window)
    U("--backoff-min", 1, 3600000, cfg->backoff_min_ms)
    U("--backoff-max", 1, 3600000, cfg->backoff_max_ms)
#undef U
#define D(name, lo, hi, field)                                                                  \
    if (strcmp(opt, name) == 0)                                                                  \
        return (rc = num_d(opt, v, lo, hi, &(field))) ? rc : 1;
    D("--duration", 0, 1e9, cfg->duration_s)
    D("--speed", 0.001, 1e6, cfg->speed)
    D("--erc14-rate", 0, 1e4, cfg->erc14_per_day)
    D("--erc13-rate", 0, 1e4, cfg->erc13_per_day)
    D("--erc24-rate", 0, 1e4, cfg->erc24_per_day)
    D("--report-every", 0.1, 3600, cfg->report_every_s)
#undef D
    return 0;
}

/* Options with a value. Returns 1 when `opt` was one of them, 0 when not, < 0 on error. */
static int opt_value(struct cli *c, const char *opt, const char *v)
{
    struct sim_cfg *cfg = &c->cfg;
    int64_t ls;
    int rc = opt_number(c, opt, v);
    if (rc != 0)
        return rc;
    if (strcmp(opt, "--target") == 0)
        return parse_target(cfg, v) ? MF_EINVAL : 1;
    if (strcmp(opt, "--source-addrs") == 0)
        return parse_sources(cfg, v) ? MF_EINVAL : 1;
    if (strcmp(opt, "--region") == 0)
        return parse_region(cfg, v) ? MF_EINVAL : 1;
    if (strcmp(opt, "--heartbeat-style") == 0) {
        if (strcmp(v, "2013") != 0 && strcmp(v, "2009") != 0)
            return bad(opt, v, "needs 2013 or 2009");
        cfg->hb_2009 = strcmp(v, "2009") == 0;
        return 1;
    }
    if (strcmp(opt, "--fault-from") == 0 || strcmp(opt, "--fault-to") == 0) {
        if (parse_local(v, &ls))
            return bad(opt, v, "needs YYYY-MM-DD");
        *(strcmp(opt, "--fault-from") == 0 ? &c->fault_from : &c->fault_to) =
            (int32_t)(ls / SIM_DAY_S);
        return 1;
    }
    if (strcmp(opt, "--fault") == 0) {
        if (c->nfault_spec >= MAX_FAULT_SPECS)
            return bad(opt, v, "too many --fault options");
        c->fault_spec[c->nfault_spec++] = v;
        return 1;
    }
#define S(name, field)                                                                          \
    if (strcmp(opt, name) == 0)                                                                  \
        return ((field) = v), 1;
    S("--ledger", cfg->ledger_path)
    S("--faults", c->faults_file)
    S("--ground-truth", c->gt_file)
    S("--zone", c->zone)
    S("--start", c->start)
    S("--master-data", c->master_dir)
    S("--db", c->vo.db_path)
    S("--pg", c->vo.pg_conninfo)
    S("-c", c->vo.config_file)
    S("--config", c->vo.config_file)
#undef S
    if (strcmp(opt, "--log-level") == 0) {
        int lvl = mf_log_level_parse(v);
        if (lvl < 0)
            return bad(opt, v, "needs error, warn, info or debug");
        mf_log_set_level(lvl);
        return 1;
    }
    return 0;
}

static int opt_flag(struct cli *c, const char *opt)
{
    struct sim_cfg *cfg = &c->cfg;
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0)
        c->help = 1;
    else if (strcmp(opt, "--progress") == 0)
        cfg->progress = 1;
    else if (strcmp(opt, "--no-daily") == 0)
        cfg->daily = 0;
    else if (strcmp(opt, "--no-curves") == 0)
        cfg->curves = 0;
    else if (strcmp(opt, "--catch-up") == 0)
        cfg->catch_up = 1;
    else if (strcmp(opt, "--dry-run") == 0)
        c->dry_run = 1;
    else if (strcmp(opt, "--demo-faults") == 0)
        c->demo_faults = 1;
    else if (strcmp(opt, "--verify") == 0)
        c->verify = 1;
    else if (strcmp(opt, "--score") == 0)
        c->score = 1;
    else
        return 0;
    return 1;
}

static int parse_args(struct cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *eq = strchr(opt, '=');
        char name[64];
        const char *val = NULL;
        if (opt[0] == '-' && opt[1] == '-' && eq && (size_t)(eq - opt) < sizeof(name)) {
            memcpy(name, opt, (size_t)(eq - opt)); /* --name=value */
            name[eq - opt] = 0;
            opt = name;
            val = eq + 1;
        }
        if (!val && opt_flag(c, opt))
            continue;
        if (!val && i + 1 < argc)
            val = argv[i + 1];
        int rc = val ? opt_value(c, opt, val) : 0;
        if (rc < 0)
            return rc;
        if (rc == 0)
            return bad(argv[i], NULL, val ? "unknown option (see --help)"
                                          : "unknown option, or it needs a value (see --help)");
        if (!eq || opt != name)
            i++;
    }
    return 0;
}

static int finish_cfg(struct cli *c)
{
    struct sim_cfg *cfg = &c->cfg;
    if (mf_clock_set_zone(c->zone) != 0)
        return bad("--zone", c->zone, "unknown zone");
    if (!cfg->nareas)
        cfg->nareas = cfg->nterm;
    if (cfg->nareas > cfg->nterm)
        return bad("--areas", NULL, "cannot exceed --terminals");
    if ((uint64_t)cfg->first_addr + cfg->nterm - 1 > 65535)
        return bad("--terminals", NULL, "--first-address + N - 1 must stay within 65535");
    if (cfg->instant_interval_s && cfg->instant_interval_s < 60)
        return bad("--instant-interval", NULL, "needs 0 (none) or 60..86400");
    if (cfg->backoff_max_ms < cfg->backoff_min_ms)
        cfg->backoff_max_ms = cfg->backoff_min_ms;
    if (c->start) {
        if (parse_local(c->start, &cfg->start_ls))
            return bad("--start", c->start, "needs YYYY-MM-DD[THH:MM[:SS]]");
    } else {
        struct mf_civil cv;
        mf_utc_to_civil((int64_t)time(NULL), &cv);
        cfg->start_ls = (int64_t)mf_date_to_days(cv.year, cv.month, cv.day) * SIM_DAY_S +
                        cv.hour * 3600 + cv.min * 60 + cv.sec;
    }
    return 0;
}

/* --demo-faults: about one terminal in 50 gets something, at least one of each kind. */
static int add_demo_faults(struct cli *c)
{
    uint32_t n = c->cfg.nterm / 50 + 1, areas = c->cfg.nareas ? c->cfg.nareas : c->cfg.nterm;
    for (int k = 0; k < SIM_F_NKINDS; k++) {
        uint32_t cnt = k == SIM_F_THEFT ? (areas > 4 ? areas / 4 : 1) : n;
        if (c->nfault_spec >= MAX_FAULT_SPECS)
            return bad("--demo-faults", NULL, "too many --fault options");
        snprintf(c->demo_spec[k], sizeof(c->demo_spec[k]), "%s:%u", sim_fault_kind_name(k), cnt);
        c->fault_spec[c->nfault_spec++] = c->demo_spec[k];
    }
    return 0;
}

int sim_main(int argc, char **argv, const struct mf_cfg_item *const *tables,
             const char *const *passthrough)
{
    struct cli c;
    struct sim_model model;
    struct sim_fault *faults = NULL;
    size_t nfaults = 0;
    int rc;

    defaults(&c);
    mf_log_set_level(MF_LOG_WARN);
    if (parse_args(&c, argc, argv) != 0)
        return 2;
    if (c.help) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (finish_cfg(&c) != 0)
        return 2;
    if (c.verify || c.score) {
        c.vo.ledger_path = c.cfg.ledger_path;
        c.vo.ground_truth = c.gt_file;
        c.vo.tables = tables;
        c.vo.passthrough = passthrough;
        return c.verify ? sim_verify(&c.vo) : sim_score(&c.vo);
    }
    if (c.demo_faults && add_demo_faults(&c) != 0)
        return 2;
    if (sim_faults_build(&c.cfg, c.faults_file, c.fault_spec, (size_t)c.nfault_spec,
                         c.fault_from, c.fault_to, &faults, &nfaults) != 0)
        return 2;
    int32_t start_day = (int32_t)(c.cfg.start_ls / SIM_DAY_S);
    if (sim_model_init(&model, c.cfg.seed, c.cfg.nterm, c.cfg.npoints, c.cfg.nareas,
                       c.cfg.region, c.cfg.first_addr, start_day, faults, nfaults) != 0) {
        fprintf(stderr, "meterflow sim: a fault names a terminal, point or area outside the "
                        "layout\n");
        sim_model_fini(&model);
        return 2;
    }
    if ((c.gt_file && sim_ground_truth_write(&model, c.gt_file) != 0) ||
        (c.master_dir && sim_master_data_write(&model, c.master_dir) != 0)) {
        sim_model_fini(&model);
        return 2;
    }
    rc = c.dry_run ? 0 : sim_run(&c.cfg, &model);
    sim_model_fini(&model);
    return rc;
}
