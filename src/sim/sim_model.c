/* sim_model.c -- the simulator's deterministic world: layout, customer classes, load
 * profiles, time-of-use tariffs, register indications, instantaneous values, clock errors.
 *
 * Invariants: every value is a pure function of (seed, terminal, pn, time); tariff
 * indications sum to the total exactly (integer units); a point without a reversed-reading
 * fault never goes backwards; a supply meter's hour = sum of its customers' true hours *
 * (1 + loss), loss 2..5 % per area.
 * Called by: the terminal engine (reports, answers), the ledger (values), the tests.
 * Thread: read-only after sim_model_init; any thread. See sim_model.h for the units. */
#include "sim/sim_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"

/* Relative weight of each hour of the day per class: residential evening peak, commercial
 * daytime, industrial nearly flat (the shapes distribution companies publish). */
static const uint8_t profile[3][24] = {
    { 3, 2, 2, 2, 2, 3, 5, 8, 6, 4, 4, 4, 5, 4, 4, 4, 5, 8, 12, 14, 13, 10, 7, 4 },
    { 2, 2, 2, 2, 2, 2, 3, 5, 9, 11, 12, 12, 11, 12, 12, 11, 10, 8, 5, 3, 3, 2, 2, 2 },
    { 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 9, 9, 9, 9 },
};

/* Tariff per hour: 1 sharp, 2 peak, 3 flat, 4 valley (a common provincial TOU schedule). */
static const uint8_t tou[24] = { 4, 4, 4, 4, 4, 4, 4, 3, 2, 2, 2, 1,
                                 3, 3, 3, 3, 3, 2, 2, 1, 1, 2, 3, 4 };

/* Hash "tags" keep the derived parameters independent of each other. */
enum { H_CLASS = 1, H_BASE, H_DAY, H_INIT, H_LOSS, H_PF, H_VOLT, H_PNOISE, H_CLOCK, H_DRIFT };

uint64_t sim_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t z = seed ^ (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full) ^
                 (c * 0x165667B19E3779F9ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sim_unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
    r->s = sim_hash(seed, stream, 0x5eed, 0);
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sim_rng_unit(struct sim_rng *r)
{
    return sim_unit(sim_rng_next(r));
}

double sim_rng_exp(struct sim_rng *r, double mean)
{
    return -mean * log(1.0 - sim_rng_unit(r));
}

static int32_t floor_day(int64_t ls)
{
    return (int32_t)(ls >= 0 ? ls / SIM_DAY_S : -((-ls + SIM_DAY_S - 1) / SIM_DAY_S));
}

/* ---- layout ---- */

static int fault_cmp(const void *a, const void *b)
{
    const struct sim_fault *x = a, *y = b;
    if (x->term != y->term)
        return x->term < y->term ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->from_day < y->from_day ? -1 : x->from_day > y->from_day;
}

int sim_model_init(struct sim_model *m, uint64_t seed, uint32_t nterm, uint16_t npoints,
                   uint32_t nareas, uint16_t region, uint16_t first_addr, int32_t start_day,
                   struct sim_fault *faults, size_t nfaults)
{
    memset(m, 0, sizeof(*m));
    m->faults = faults;
    m->nfaults = nfaults;
    if (nterm == 0 || npoints == 0 || npoints > 2040 || nareas == 0 || nareas > nterm ||
        first_addr == 0)
        return MF_EINVAL;
    m->seed = seed;
    m->nterm = nterm;
    m->npoints = npoints;
    m->nareas = nareas;
    m->region = region;
    m->first_addr = first_addr;
    m->start_day = start_day;
    for (size_t i = 0; i < nfaults; i++) {
        struct sim_fault *f = &faults[i];
        if (f->kind >= SIM_F_NKINDS || f->from_day > f->to_day)
            return MF_EINVAL;
        if (f->kind == SIM_F_THEFT) {
            if (f->area >= nareas)
                return MF_EINVAL;
            uint32_t t1;
            sim_area_terms(m, f->area, &f->term, &t1);
            f->pn = 0;
        } else if (f->term >= nterm || f->pn > npoints) {
            return MF_EINVAL;
        } else {
            f->area = sim_area_of(m, f->term);
        }
    }
    if (nfaults)
        qsort(faults, nfaults, sizeof(*faults), fault_cmp);
    m->term_first = mf_calloc((size_t)nterm + 1, sizeof(uint32_t));
    size_t j = 0;
    for (uint32_t t = 0; t <= nterm; t++) {
        while (j < nfaults && faults[j].term < t)
            j++;
        m->term_first[t] = (uint32_t)j;
    }
    return 0;
}

void sim_model_fini(struct sim_model *m)
{
    if (!m)
        return;
    free(m->faults);
    free(m->term_first);
    m->faults = NULL;
    m->term_first = NULL;
    m->nfaults = 0;
}

uint32_t sim_area_of(const struct sim_model *m, uint32_t term)
{
    return (uint32_t)((uint64_t)term * m->nareas / m->nterm);
}

void sim_area_terms(const struct sim_model *m, uint32_t area, uint32_t *t0, uint32_t *t1)
{
    /* smallest t with t*K/N >= a is ceil(a*N/K) */
    *t0 = (uint32_t)(((uint64_t)area * m->nterm + m->nareas - 1) / m->nareas);
    *t1 = (uint32_t)(((uint64_t)(area + 1) * m->nterm + m->nareas - 1) / m->nareas);
}

static uint64_t point_id(const struct sim_model *m, uint32_t term, uint16_t pn)
{
    return (uint64_t)term * m->npoints + (uint64_t)(pn - 1);
}

int sim_point_class(const struct sim_model *m, uint32_t term, uint16_t pn)
{
    uint32_t t0, t1;
    sim_area_terms(m, sim_area_of(m, term), &t0, &t1);
    if (term == t0 && pn == 1)
        return SIM_SUPPLY;
    double u = sim_unit(sim_hash(m->seed, point_id(m, term, pn), H_CLASS, 0));
    return u < 0.7 ? SIM_RESIDENTIAL : u < 0.9 ? SIM_COMMERCIAL : SIM_INDUSTRIAL;
}

int sim_tariff_of_hour(int hour)
{
    return tou[hour % 24];
}

uint16_t sim_term_a2(const struct sim_model *m, uint32_t term)
{
    return (uint16_t)(((uint32_t)m->first_addr - 1u + term) % 65535u + 1u);
}

uint64_t sim_point_addr(const struct sim_model *m, uint32_t term, uint16_t pn)
{
    uint16_t a1 = m->region, a2 = sim_term_a2(m, term);
    uint64_t region = (uint64_t)(a1 >> 12 & 15) * 1000 + (uint64_t)(a1 >> 8 & 15) * 100 +
                      (uint64_t)(a1 >> 4 & 15) * 10 + (uint64_t)(a1 & 15);
    return region * 100000000ull + (uint64_t)(a2 % 100000u) * 1000u + pn % 1000u;
}

/* ---- faults ---- */

static const char *const fault_names[SIM_F_NKINDS] = {
    "theft", "stopped", "reversed", "clock", "sag", "flap", "drop",
};

const char *sim_fault_kind_name(int kind)
{
    return kind >= 0 && kind < SIM_F_NKINDS ? fault_names[kind] : "?";
}

int sim_fault_kind_parse(const char *name)
{
    for (int k = 0; k < SIM_F_NKINDS; k++)
        if (strcmp(name, fault_names[k]) == 0)
            return k;
    return -1;
}

/* A theft takes a third of the area's customers: those whose index in the area's point order
 * is 1 mod 3 (index 0 is the supply meter, so the first customer is always among them). */
static int theft_selects(const struct sim_model *m, uint32_t term, uint16_t pn)
{
    uint32_t t0, t1;
    sim_area_terms(m, sim_area_of(m, term), &t0, &t1);
    uint64_t idx = (uint64_t)(term - t0) * m->npoints + (uint64_t)(pn - 1);
    return idx % 3 == 1;
}

const struct sim_fault *sim_fault_at(const struct sim_model *m, int kind, uint32_t term,
                                     uint16_t pn, int32_t day)
{
    if (!m->nfaults || term >= m->nterm)
        return NULL;
    uint32_t ft = term;
    if (kind == SIM_F_THEFT) {
        uint32_t t1;
        if (sim_point_class(m, term, pn) == SIM_SUPPLY || !theft_selects(m, term, pn))
            return NULL;
        sim_area_terms(m, sim_area_of(m, term), &ft, &t1);
    }
    for (uint32_t i = m->term_first[ft]; i < m->term_first[ft + 1]; i++) {
        const struct sim_fault *f = &m->faults[i];
        if (f->kind != kind || day < f->from_day || day > f->to_day)
            continue;
        if (kind == SIM_F_THEFT || f->pn == 0 || f->pn == pn)
            return f;
    }
    return NULL;
}

/* ---- energy ---- */

static int64_t base_units(const struct sim_model *m, uint64_t pid, int cls)
{
    static const double lo[3] = { 4, 40, 300 }, span[3] = { 10, 120, 900 };
    double u = sim_unit(sim_hash(m->seed, pid, H_BASE, 0));
    return (int64_t)((lo[cls] + span[cls] * u) * SIM_UNITS_PER_KWH);
}

/* True (physical) hourly consumption of a customer point. */
static void customer_hours(const struct sim_model *m, uint32_t term, uint16_t pn, int cls,
                           int32_t day, int64_t hour_e[24])
{
    uint64_t pid = point_id(m, term, pn);
    double f = 0.85 + 0.3 * sim_unit(sim_hash(m->seed, pid, H_DAY, (uint64_t)(int64_t)day));
    int wd = (int)(((int64_t)day % 7 + 7 + 3) % 7); /* 0 = Monday; 1970-01-01 was a Thursday */
    if (wd >= 5)
        f *= cls == SIM_COMMERCIAL ? 0.5 : cls == SIM_RESIDENTIAL ? 1.15 : 0.9;
    int64_t e = (int64_t)((double)base_units(m, pid, cls) * f);
    int64_t w = 0, used = 0;
    for (int h = 0; h < 24; h++)
        w += profile[cls][h];
    for (int h = 0; h < 24; h++) {
        hour_e[h] = e * profile[cls][h] / w;
        used += hour_e[h];
    }
    hour_e[23] += e - used; /* the rounding remainder, so the hours sum to the day */
}

static void supply_hours(const struct sim_model *m, uint32_t term, int32_t day,
                         int64_t hour_e[24])
{
    uint32_t area = sim_area_of(m, term), t0, t1;
    int64_t sum[24] = { 0 }, h24[24];
    sim_area_terms(m, area, &t0, &t1);
    for (uint32_t t = t0; t < t1; t++)
        for (uint16_t pn = 1; pn <= m->npoints; pn++) {
            int cls = sim_point_class(m, t, pn);
            if (cls == SIM_SUPPLY)
                continue;
            customer_hours(m, t, pn, cls, day, h24);
            for (int h = 0; h < 24; h++)
                sum[h] += h24[h];
        }
    int64_t loss_pm = 20 + (int64_t)(sim_hash(m->seed, area, H_LOSS, 0) % 31); /* 2.0..5.0 % */
    for (int h = 0; h < 24; h++)
        hour_e[h] = sum[h] * (1000 + loss_pm) / 1000;
}

void sim_day_hours(const struct sim_model *m, uint32_t term, uint16_t pn, int32_t day,
                   int reported, int64_t hour_e[24])
{
    int cls = sim_point_class(m, term, pn);
    if (cls == SIM_SUPPLY)
        supply_hours(m, term, day, hour_e);
    else
        customer_hours(m, term, pn, cls, day, hour_e);
    if (!reported || !m->nfaults)
        return;
    if (sim_fault_at(m, SIM_F_STOPPED, term, pn, day)) {
        memset(hour_e, 0, 24 * sizeof(int64_t));
    } else if (sim_fault_at(m, SIM_F_REVERSED, term, pn, day)) {
        for (int h = 0; h < 24; h++)
            hour_e[h] = -hour_e[h];
    } else if (sim_fault_at(m, SIM_F_THEFT, term, pn, day)) {
        for (int h = 0; h < 24; h++)
            hour_e[h] = hour_e[h] * 4 / 10;
    }
}

/* Indication at the start of the start day: months to years of history, per tariff. */
static void initial_indication(const struct sim_model *m, uint32_t term, uint16_t pn,
                               int64_t ind[SIM_TARIFFS + 1])
{
    uint64_t pid = point_id(m, term, pn);
    int cls = sim_point_class(m, term, pn);
    int64_t base = cls == SIM_SUPPLY ? 200 * SIM_UNITS_PER_KWH : base_units(m, pid, cls);
    int64_t days = 60 + (int64_t)(sim_hash(m->seed, pid, H_INIT, 0) % 700);
    for (int k = 1; k <= SIM_TARIFFS; k++)
        ind[k] = base * days / 4 + (int64_t)(sim_hash(m->seed, pid, H_INIT, (uint64_t)k) % 10000);
}

static void add_day(const struct sim_model *m, uint32_t term, uint16_t pn, int32_t day,
                    int sign, int64_t ind[SIM_TARIFFS + 1])
{
    int64_t hour_e[24];
    sim_day_hours(m, term, pn, day, 1, hour_e);
    for (int h = 0; h < 24; h++)
        ind[tou[h]] += sign * hour_e[h];
}

int sim_indication(const struct sim_model *m, uint32_t term, uint16_t pn, int64_t ls,
                   int64_t ind[SIM_TARIFFS + 1])
{
    int32_t day = floor_day(ls);
    int64_t sod = ls - (int64_t)day * SIM_DAY_S, hour_e[24];

    if (day - m->start_day > SIM_MAX_SPAN_DAYS || m->start_day - day > SIM_MAX_SPAN_DAYS)
        return MF_ERANGE;
    memset(ind, 0, (SIM_TARIFFS + 1) * sizeof(int64_t));
    initial_indication(m, term, pn, ind);
    for (int32_t d = m->start_day; d < day; d++)
        add_day(m, term, pn, d, 1, ind);
    for (int32_t d = day; d < m->start_day; d++)
        add_day(m, term, pn, d, -1, ind);
    sim_day_hours(m, term, pn, day, 1, hour_e);
    int hour = (int)(sod / 3600);
    for (int h = 0; h < hour; h++)
        ind[tou[h]] += hour_e[h];
    ind[tou[hour]] += hour_e[hour] * (sod % 3600) / 3600;
    ind[0] = 0;
    for (int k = 1; k <= SIM_TARIFFS; k++) {
        ind[k] = (ind[k] % SIM_IND_MOD + SIM_IND_MOD) % SIM_IND_MOD;
        ind[0] += ind[k];
    }
    ind[0] %= SIM_IND_MOD;
    return 0;
}

/* ---- instantaneous values ---- */

void sim_instant(const struct sim_model *m, uint32_t term, uint16_t pn, int64_t ls,
                 struct sim_instant *out)
{
    uint64_t pid = point_id(m, term, pn);
    int32_t day = floor_day(ls);
    int hour = (int)((ls - (int64_t)day * SIM_DAY_S) / 3600);
    int64_t hour_e[24];
    int cls = sim_point_class(m, term, pn);

    memset(out, 0, sizeof(*out));
    sim_day_hours(m, term, pn, day, 0, hour_e);
    double noise = 0.9 + 0.2 * sim_unit(sim_hash(m->seed, pid, H_PNOISE, (uint64_t)(ls / 60)));
    double p = (double)hour_e[hour] / SIM_UNITS_PER_KWH * noise; /* kWh in an hour = mean kW */
    double pf = cls == SIM_RESIDENTIAL ? 0.95 : cls == SIM_COMMERCIAL ? 0.92 : 0.87;
    pf += 0.03 * sim_unit(sim_hash(m->seed, pid, H_PF, 0));
    double tanphi = sqrt(1.0 / (pf * pf) - 1.0);
    out->phases = cls == SIM_RESIDENTIAL ? 1 : 3;
    int sag = sim_fault_at(m, SIM_F_SAG, term, pn, day) != NULL;
    for (int ph = 0; ph < out->phases; ph++) {
        double u = 220.0 * (1.0 + 0.04 * (sim_unit(sim_hash(m->seed, pid, H_VOLT,
                                                            (uint64_t)(ls / 60) * 4 + (uint64_t)ph)) -
                                          0.5));
        if (sag)
            u *= 0.85;
        double pp = p / out->phases;
        out->u_v[ph] = u;
        out->p_kw[ph + 1] = pp;
        out->q_kvar[ph + 1] = pp * tanphi;
        out->s_kva[ph + 1] = pp / pf;
        out->pf_pct[ph + 1] = pf * 100.0;
        out->i_a[ph] = pp * 1000.0 / (u * pf);
    }
    out->p_kw[0] = p;
    out->q_kvar[0] = p * tanphi;
    out->s_kva[0] = p / pf;
    out->pf_pct[0] = pf * 100.0;
}

/* ---- the virtual clock ---- */

double sim_vclock_cross_el(const struct sim_vclock *vc)
{
    if (!vc->catch_up || vc->speed <= 1.0 || vc->real0_ls <= vc->start_ls)
        return -1.0;
    return (double)(vc->real0_ls - vc->start_ls) / (vc->speed - 1.0);
}

int64_t sim_vclock_at(const struct sim_vclock *vc, double el)
{
    double cross = sim_vclock_cross_el(vc);
    if (el < 0)
        el = 0;
    if (cross < 0 || el < cross)
        return vc->start_ls + (int64_t)floor(el * vc->speed);
    /* never below the accelerated value at the crossing: no step back from rounding */
    double at_cross = floor(cross * vc->speed);
    double real = floor((double)(vc->real0_ls - vc->start_ls) + el);
    return vc->start_ls + (int64_t)(real > at_cross ? real : at_cross);
}

double sim_vclock_el(const struct sim_vclock *vc, int64_t ls)
{
    double cross = sim_vclock_cross_el(vc);
    double d = (double)(ls - vc->start_ls);
    double el = d / vc->speed;
    if (cross >= 0 && el >= cross)
        el = d - (double)(vc->real0_ls - vc->start_ls);
    return el > 0 ? el : 0;
}

/* ---- clocks ---- */

int64_t sim_clock_error(const struct sim_model *m, uint32_t term, int64_t ls)
{
    double off0 = 20.0 * (sim_unit(sim_hash(m->seed, term, H_CLOCK, 0)) - 0.5);
    double rate = 2.0 * (sim_unit(sim_hash(m->seed, term, H_DRIFT, 0)) - 0.5); /* s per day */
    double drift = rate * (double)(ls - (int64_t)m->start_day * SIM_DAY_S) / SIM_DAY_S;
    drift = drift > 60 ? 60 : drift < -60 ? -60 : drift;
    int64_t e = (int64_t)(off0 + drift);
    int32_t day = floor_day(ls);
    const struct sim_fault *f = sim_fault_at(m, SIM_F_CLOCK, term, 0, day);
    if (f) {
        /* runs away: 10 minutes at once, then a minute per hour, up to an hour */
        int64_t since = ls - (int64_t)f->from_day * SIM_DAY_S;
        int64_t run = 600 + since / 60;
        e += run > 3600 ? 3600 : run;
    }
    return e;
}

/* Exactly n decimal digits at *p (advanced past them). */
static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return MF_EINVAL;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int month_days(int y, int m)
{
    static const uint8_t dm[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : dm[m];
}

int sim_time_parse(const char *s, unsigned flags, struct sim_ymdhms *t)
{
    const char *p = s;

    memset(t, 0, sizeof(*t));
    if (!s || take_digits(&p, 4, &t->year) || *p++ != '-' || take_digits(&p, 2, &t->mon) ||
        *p++ != '-' || take_digits(&p, 2, &t->day))
        return MF_EINVAL;
    if (t->mon < 1 || t->mon > 12 || t->day < 1 || t->day > month_days(t->year, t->mon))
        return MF_EINVAL;
    if (flags & SIM_TP_PREFIX)
        return 0;
    if (*p == 'T' && (flags & (SIM_TP_HM | SIM_TP_HM_REQ))) {
        p++;
        if (take_digits(&p, 2, &t->hour) || *p++ != ':' || take_digits(&p, 2, &t->min))
            return MF_EINVAL;
        if (*p == ':' && (flags & SIM_TP_SEC)) {
            p++;
            if (take_digits(&p, 2, &t->sec))
                return MF_EINVAL;
        }
    } else if (flags & SIM_TP_HM_REQ) {
        return MF_EINVAL;
    }
    if (*p || t->hour > 23 || t->min > 59 || t->sec > 59)
        return MF_EINVAL;
    return 0;
}
