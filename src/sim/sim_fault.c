/* sim_fault.c -- injected faults: built from --fault KIND:COUNT flags (seeded targets) and
 * from a --faults JSON-lines file; the --ground-truth file (JSON lines) for --score; the
 * master-data CSVs (--master-data DIR) that tell the store the layout the analytics need.
 *
 * Invariants: fault targets drawn from flags are deterministic from --seed; every fault is
 * validated against the layout by sim_model_init; files are written completely or the run
 * does not start.
 * Called by: sim_cli.c. Thread: main. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/gw3761.h"
#include "sim/sim_verify.h"

#define SIM_FAULTS_MAX 100000

static void day_text(int32_t day, char *out, size_t len)
{
    int y, m, d;
    mf_days_to_date(day, &y, &m, &d);
    snprintf(out, len, "%04d-%02d-%02d", y, m, d);
}

static int text_day(const char *s, int32_t *day)
{
    struct sim_ymdhms t;
    if (sim_time_parse(s, SIM_TP_DATE, &t) != 0)
        return MF_EINVAL;
    *day = mf_date_to_days(t.year, t.mon, t.day);
    return 0;
}

void sim_area_id(uint32_t area, char *out, size_t len)
{
    snprintf(out, len, "A%05u", area + 1);
}

static int add_fault(struct sim_fault **v, size_t *n, size_t *cap, const struct sim_fault *f)
{
    if (*n >= SIM_FAULTS_MAX)
        return MF_ERANGE;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = mf_realloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = *f;
    return 0;
}

/* "kind[:count]" -> count faults on seeded targets. */
static int faults_from_spec(const struct sim_cfg *cfg, const char *spec, size_t nth,
                            int32_t from, int32_t to, struct sim_fault **v, size_t *n,
                            size_t *cap)
{
    char kind[32];
    unsigned long count = 1;
    const char *colon = strchr(spec, ':');
    size_t kl = colon ? (size_t)(colon - spec) : strlen(spec);
    if (kl >= sizeof(kind))
        return MF_EINVAL;
    memcpy(kind, spec, kl);
    kind[kl] = 0;
    int k = sim_fault_kind_parse(kind);
    if (k < 0)
        return MF_EINVAL;
    if (colon) {
        char *end;
        errno = 0;
        count = strtoul(colon + 1, &end, 10);
        if (errno || *end || count == 0 || count > 10000)
            return MF_EINVAL;
    }
    struct sim_rng r;
    sim_rng_seed(&r, cfg->seed, 0xFA0170000ull + nth);
    for (unsigned long i = 0; i < count; i++) {
        struct sim_fault f = { .kind = (uint8_t)k, .from_day = from, .to_day = to };
        if (k == SIM_F_THEFT)
            f.area = (uint32_t)(sim_rng_next(&r) % cfg->nareas);
        else
            f.term = (uint32_t)(sim_rng_next(&r) % cfg->nterm);
        if (k != SIM_F_THEFT && k != SIM_F_CLOCK && k != SIM_F_FLAP)
            f.pn = (uint16_t)(1 + sim_rng_next(&r) % cfg->npoints);
        if (add_fault(v, n, cap, &f) != 0)
            return MF_ERANGE;
    }
    return 0;
}

/* One JSON line of a --faults file. */
static int fault_from_json(const struct sim_cfg *cfg, json_t *o, struct sim_fault *f)
{
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *term = json_string_value(json_object_get(o, "terminal"));
    json_t *pn = json_object_get(o, "pn"), *area = json_object_get(o, "area");
    memset(f, 0, sizeof(*f));
    int k = kind ? sim_fault_kind_parse(kind) : -1;
    if (k < 0 || text_day(json_string_value(json_object_get(o, "from")), &f->from_day) ||
        text_day(json_string_value(json_object_get(o, "to")), &f->to_day))
        return MF_EINVAL;
    f->kind = (uint8_t)k;
    if (k == SIM_F_THEFT) {
        if (!json_is_integer(area) || json_integer_value(area) < 0)
            return MF_EINVAL;
        f->area = (uint32_t)json_integer_value(area);
        return 0;
    }
    uint16_t a1, a2;
    if (!term || gw_terminal_parse(term, &a1, &a2) != 0 || a1 != cfg->region ||
        a2 < cfg->first_addr)
        return MF_EINVAL;
    f->term = (uint32_t)(a2 - cfg->first_addr);
    if (json_is_integer(pn) && json_integer_value(pn) >= 0 && json_integer_value(pn) <= 2040)
        f->pn = (uint16_t)json_integer_value(pn);
    return 0;
}

static int faults_from_file(const struct sim_cfg *cfg, const char *path, struct sim_fault **v,
                            size_t *n, size_t *cap)
{
    FILE *fp = fopen(path, "r");
    char line[1024];
    long lineno = 0;
    if (!fp) {
        char eb[128];
        fprintf(stderr, "meterflow sim: --faults %s: %s\n", path, mf_strerror(errno, eb, sizeof(eb)));
        return MF_EINVAL;
    }
    while (fgets(line, sizeof(line), fp)) {
        json_error_t je;
        struct sim_fault f;
        lineno++;
        if (line[strspn(line, " \t\r\n")] == 0 || line[0] == '#')
            continue;
        json_t *o = json_loads(line, 0, &je);
        int rc = o ? fault_from_json(cfg, o, &f) : MF_EINVAL;
        json_decref(o);
        if (rc == 0)
            rc = add_fault(v, n, cap, &f);
        if (rc != 0) {
            fprintf(stderr, "meterflow sim: %s:%ld: not a fault (needs kind, terminal or "
                            "area, pn, from, to)\n", path, lineno);
            fclose(fp);
            return MF_EINVAL;
        }
    }
    fclose(fp);
    return 0;
}

/* Does area a hold a fault other than a theft (any kind on one of its terminals)? */
static int area_has_other(const struct sim_cfg *cfg, const struct sim_fault *v, size_t n,
                          uint32_t a)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind != SIM_F_THEFT && (uint64_t)v[i].term * cfg->nareas / cfg->nterm == a)
            return 1;
    return 0;
}

/* A seeded theft goes to an area with no other fault (the next such area after its draw), so
 * that the area's line loss shows the theft alone: a dropped daily report or a stopped or
 * reversed meter in the same area would make it incomplete or change its loss. Stays where
 * it was when every area has another fault. */
static void place_thefts(const struct sim_cfg *cfg, struct sim_fault *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != SIM_F_THEFT)
            continue;
        for (uint32_t k = 0; k < cfg->nareas; k++) {
            uint32_t a = (v[i].area + k) % cfg->nareas;
            if (!area_has_other(cfg, v, n, a)) {
                v[i].area = a;
                break;
            }
        }
    }
}

int sim_faults_build(const struct sim_cfg *cfg, const char *file, const char *const *specs,
                     size_t nspecs, int32_t from, int32_t to, struct sim_fault **out,
                     size_t *nout)
{
    struct sim_fault *v = NULL;
    size_t n = 0, cap = 0;
    int32_t start_day = (int32_t)(cfg->start_ls / SIM_DAY_S);
    int32_t end_day = cfg->duration_s > 0
                          ? (int32_t)((cfg->start_ls + (int64_t)(cfg->duration_s * cfg->speed)) /
                                      SIM_DAY_S)
                          : start_day + 30;
    if (from == INT32_MIN)
        from = start_day;
    if (to == INT32_MIN)
        to = end_day;
    for (size_t i = 0; i < nspecs; i++)
        if (faults_from_spec(cfg, specs[i], i, from, to, &v, &n, &cap) != 0) {
            fprintf(stderr, "meterflow sim: --fault %s: needs KIND[:COUNT] with KIND one of "
                            "theft stopped reversed clock sag flap drop\n", specs[i]);
            free(v);
            return MF_EINVAL;
        }
    place_thefts(cfg, v, n);
    if (file && faults_from_file(cfg, file, &v, &n, &cap) != 0) {
        free(v);
        return MF_EINVAL;
    }
    *out = v;
    *nout = n;
    return 0;
}

int sim_ground_truth_write(const struct sim_model *m, const char *path)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        char eb[128];
        fprintf(stderr, "meterflow sim: --ground-truth %s: %s\n", path, mf_strerror(errno, eb, sizeof(eb)));
        return MF_ESYS;
    }
    for (size_t i = 0; i < m->nfaults; i++) {
        const struct sim_fault *f = &m->faults[i];
        char term[GW_TERMINAL_STRLEN], from[16], to[16], area[16];
        gw_terminal_format(m->region, sim_term_a2(m, f->term), term);
        day_text(f->from_day, from, sizeof(from));
        day_text(f->to_day, to, sizeof(to));
        sim_area_id(f->area, area, sizeof(area));
        fprintf(fp,
                "{\"kind\":\"%s\",\"terminal\":\"%s\",\"pn\":%u,\"area\":%u,\"area_id\":\"%s\","
                "\"from\":\"%s\",\"to\":\"%s\"}\n",
                sim_fault_kind_name(f->kind), term, f->pn, f->area, area, from, to);
    }
    int bad_write = ferror(fp);
    if (fclose(fp) != 0 || bad_write) {
        fprintf(stderr, "meterflow sim: --ground-truth %s: write failed\n", path);
        return MF_ESYS;
    }
    return 0;
}

static FILE *open_csv(const char *dir, const char *name, const char *header)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp) {
        char eb[128];
        fprintf(stderr, "meterflow sim: --master-data %s: %s\n", path, mf_strerror(errno, eb, sizeof(eb)));
    } else {
        fprintf(fp, "%s\n", header);
    }
    return fp;
}

static int close_csv(FILE *fp)
{
    int bad_write = ferror(fp);
    return (fclose(fp) != 0 || bad_write) ? MF_ESYS : 0;
}

int sim_master_data_write(const struct sim_model *m, const char *dir)
{
    static const char *const cls[] = { "resident", "commercial", "industrial", "area" };
    FILE *fa = open_csv(dir, "areas.csv", "id,name,supply_terminal,supply_pn,loss_threshold");
    FILE *ft = open_csv(dir, "terminals.csv", "id,name,area,vendor,registered");
    FILE *fm = open_csv(dir, "meters.csv", "terminal,pn,addr,area,customer_class,is_area_meter");
    int rc = (fa && ft && fm) ? 0 : MF_ESYS;
    char term[GW_TERMINAL_STRLEN], area[16];
    for (uint32_t a = 0; rc == 0 && a < m->nareas; a++) {
        uint32_t t0, t1;
        sim_area_terms(m, a, &t0, &t1);
        sim_area_id(a, area, sizeof(area));
        gw_terminal_format(m->region, sim_term_a2(m, t0), term);
        fprintf(fa, "%s,area %u,%s,1,0.08\n", area, a + 1, term);
    }
    for (uint32_t t = 0; rc == 0 && t < m->nterm; t++) {
        sim_area_id(sim_area_of(m, t), area, sizeof(area));
        gw_terminal_format(m->region, sim_term_a2(m, t), term);
        fprintf(ft, "%s,sim %u,%s,meterflow-sim,1\n", term, t + 1, area);
        for (uint16_t pn = 1; pn <= m->npoints; pn++) {
            int c = sim_point_class(m, t, pn);
            fprintf(fm, "%s,%u,%012llu,%s,%s,%d\n", term, pn,
                    (unsigned long long)sim_point_addr(m, t, pn), area, cls[c],
                    c == SIM_SUPPLY);
        }
    }
    if (fa && close_csv(fa))
        rc = MF_ESYS;
    if (ft && close_csv(ft))
        rc = MF_ESYS;
    if (fm && close_csv(fm))
        rc = MF_ESYS;
    if (rc)
        fprintf(stderr, "meterflow sim: --master-data %s: could not write the files\n", dir);
    return rc;
}
