/* sim_score.c -- `meterflow sim --score --ground-truth FILE`: how well the master's analytics
 * found the injected faults. Reads the ground truth the simulator wrote and the store's
 * anomalies and line-loss rows (through include/meterflow/store.h), and prints per fault
 * kind: truth items, items detected (recall) and anomalies that match a truth item
 * (precision).
 *
 *   fault     store evidence                               match
 *   stopped   anomaly "stopped"                            terminal, pn, date in window
 *   reversed  anomaly "backwards"                          terminal, pn, date in window(+1)
 *   clock     anomaly "clock"                              terminal, date in window(+1)
 *   sag       anomaly "voltage_low"                        terminal, pn, date in window(+1)
 *   flap      anomaly "flapping"                           terminal, date in window(+1)
 *   theft     anomaly "line_loss" (an area flagged high)   area, date in window; for
 *                                                          precision also an area with an
 *                                                          injected stopped meter (its
 *                                                          unmetered energy is line loss)
 *   drop      daily frozen value present (re-collected)    days of the window the terminal
 *                                                          reached (another point has it)
 * Precision is per anomaly: a kind's anomalies that match some truth item / all of them.
 * Anomalies of the daily-rollup kinds (stopped, backwards, line_loss) in state "resolved"
 * (withdrawn by a later run of their day's rules) are not counted in either; their number is
 * printed (resolved=N). A resolved clock, voltage_low or flapping anomaly is one whose
 * condition is over (docs/ANALYTICS.md "Anomaly life cycle"): it was found, and counts like
 * an open one (printed as over=N when there are any).
 *
 * Invariants: ground-truth lines are capped and range-checked; pagination is bounded.
 * Called by: sim_cli.c. Thread: main. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/gw3761.h"
#include "meterflow/store.h"
#include "sim/sim_verify.h"

#define TRUTH_MAX 100000
#define PAGES_MAX 1000

struct truth {
    int kind;
    char term[GW_TERMINAL_STRLEN];
    unsigned pn;
    char area[32];
    int32_t from, to;
    int hit;
};

static int text_day(const char *s, int32_t *day)
{
    return mf_date_parse(s, day); /* exactly YYYY-MM-DD, a real date */
}

static int truth_load(const char *path, struct truth **out, size_t *n)
{
    FILE *fp = fopen(path, "r");
    char line[1024];
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (!fp) {
        fprintf(stderr, "meterflow sim: --ground-truth %s: %s\n", path, strerror(errno));
        return MF_ESYS;
    }
    while (fgets(line, sizeof(line), fp) && *n < TRUTH_MAX) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        const char *term = json_string_value(json_object_get(o, "terminal"));
        const char *area = json_string_value(json_object_get(o, "area_id"));
        struct truth t = { .kind = kind ? sim_fault_kind_parse(kind) : -1 };
        json_t *pn = json_object_get(o, "pn");
        if (t.kind < 0 || !term || text_day(json_string_value(json_object_get(o, "from")), &t.from) ||
            text_day(json_string_value(json_object_get(o, "to")), &t.to)) {
            json_decref(o);
            continue;
        }
        mf_strlcpy(t.term, term, sizeof(t.term));
        mf_strlcpy(t.area, area ? area : "", sizeof(t.area));
        t.pn = json_is_integer(pn) ? (unsigned)json_integer_value(pn) : 0;
        json_decref(o);
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = mf_realloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = t;
    }
    fclose(fp);
    return 0;
}

static const char *anomaly_kind(int fault)
{
    switch (fault) {
    case SIM_F_STOPPED:
        return "stopped";
    case SIM_F_REVERSED:
        return "backwards";
    case SIM_F_CLOCK:
        return "clock";
    case SIM_F_SAG:
        return "voltage_low";
    case SIM_F_FLAP:
        return "flapping";
    case SIM_F_THEFT:
        return "line_loss";
    default:
        return NULL;
    }
}

/* Anomalies of one kind, every page. Gives a JSON array. */
static int anomalies_all(struct store *st, const char *kind, json_t **all)
{
    *all = json_array();
    for (int page = 1; page <= PAGES_MAX; page++) {
        struct store_anomaly_filter f = { .kind = kind, .pg = { page, 1000 } };
        json_t *j = NULL, *items;
        int rc = store_anomalies_json(st, &f, &j);
        if (rc != 0)
            return rc;
        items = json_object_get(j, "items");
        size_t got = json_array_size(items);
        json_array_extend(*all, items);
        json_decref(j);
        if (got < 1000)
            break;
    }
    return 0;
}

static int anomaly_matches(json_t *a, const struct truth *t)
{
    const char *term = json_string_value(json_object_get(a, "terminal"));
    json_t *pn = json_object_get(a, "pn");
    int32_t day;
    if (t->kind == SIM_F_THEFT) { /* the area's loss: the anomaly is on its supply meter */
        const char *area = json_string_value(json_object_get(a, "area"));
        return area && strcmp(area, t->area) == 0 &&
               text_day(json_string_value(json_object_get(a, "date")), &day) == 0 &&
               day >= t->from && day <= t->to;
    }
    if (!term || strcmp(term, t->term) != 0)
        return 0;
    if (t->pn && (!json_is_integer(pn) || json_integer_value(pn) != (json_int_t)t->pn))
        return 0;
    if (text_day(json_string_value(json_object_get(a, "date")), &day) != 0)
        return 1; /* no date: the terminal/point match is all we can check */
    return day >= t->from && day <= t->to + 1; /* evidence may land the day after */
}

/* A line_loss anomaly not matched by a theft: is it the loss of an injected stopped meter of
 * the same area (energy consumed and not metered), within the fault's window? */
static int loss_explained(json_t *a, const struct truth *t, size_t n)
{
    const char *area = json_string_value(json_object_get(a, "area"));
    int32_t day;
    if (!area || text_day(json_string_value(json_object_get(a, "date")), &day) != 0)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (t[k].kind == SIM_F_STOPPED && strcmp(t[k].area, area) == 0 && day >= t[k].from &&
            day <= t[k].to)
            return 1;
    return 0;
}

static void print_line(int fault, const char *kind, size_t truth, size_t hit, size_t anoms,
                       size_t good, size_t explained, size_t resolved, size_t over)
{
    printf("score: fault=%s kind=%s truth=%zu detected=%zu anomalies=%zu matching=%zu "
           "precision=%.2f recall=%.2f",
           sim_fault_kind_name(fault), kind, truth, hit, anoms, good + explained,
           anoms ? (double)(good + explained) / (double)anoms : 0.0,
           truth ? (double)hit / (double)truth : 0.0);
    if (fault == SIM_F_THEFT)
        printf(" explained_by_stopped=%zu", explained);
    if (over)
        printf(" over=%zu", over);
    printf(" resolved=%zu\n", resolved);
}

static int score_anomalies(struct store *st, struct truth *t, size_t n, int fault)
{
    const char *kind = anomaly_kind(fault);
    json_t *all, *a;
    size_t i, truth = 0, hit = 0, good = 0, explained = 0, resolved = 0, over = 0;
    /* the life-cycle kinds: resolved = the condition is over, not a withdrawn judgment */
    int life = fault == SIM_F_CLOCK || fault == SIM_F_SAG || fault == SIM_F_FLAP;
    int rc = anomalies_all(st, kind, &all);
    if (rc != 0) {
        json_decref(all);
        return rc;
    }
    json_array_foreach(all, i, a) {
        int m = 0;
        const char *state = json_string_value(json_object_get(a, "state"));
        if (state && strcmp(state, "resolved") == 0 && life) {
            over++;
        } else if (state && strcmp(state, "resolved") == 0) {
            resolved++; /* withdrawn by a later run of its day: not what the analytics hold */
            continue;
        }
        for (size_t k = 0; k < n; k++)
            if (t[k].kind == fault && anomaly_matches(a, &t[k]))
                m = t[k].hit = 1;
        good += m;
        if (!m && fault == SIM_F_THEFT)
            explained += (size_t)loss_explained(a, t, n);
    }
    for (size_t k = 0; k < n; k++)
        if (t[k].kind == fault) {
            truth++;
            hit += t[k].hit;
        }
    print_line(fault, kind, truth, hit, json_array_size(all) - resolved, good, explained,
               resolved, over);
    json_decref(all);
    return 0;
}

static int frozen_present(struct store *st, uint32_t term, unsigned pn, int32_t d)
{
    double v;
    int status;
    return store_frozen_get(st, term, (uint16_t)pn, STORE_FROZEN_DAILY, STORE_ITEM_AP_FWD, d, 0,
                            &v, &status) == 0;
}

/* Dropped daily reports: how many of those days the store has anyway (re-collection). A day
 * counts only once the terminal reached it: another point of the same terminal (pn 1, or 2
 * for a dropped pn 1) has its daily value -- the fault window may run past the simulation. */
static void score_drop(struct store *st, const struct truth *t, size_t n)
{
    size_t days = 0, reached = 0, present = 0;
    for (size_t k = 0; k < n; k++) {
        uint16_t a1, a2;
        if (t[k].kind != SIM_F_DROP || gw_terminal_parse(t[k].term, &a1, &a2) != 0)
            continue;
        uint32_t term = gw_terminal_key(a1, a2);
        for (int32_t d = t[k].from; d <= t[k].to && d - t[k].from < 3660; d++) {
            days++;
            if (!frozen_present(st, term, t[k].pn == 1 ? 2u : 1u, d))
                continue;
            reached++;
            present += (size_t)frozen_present(st, term, t[k].pn, d);
        }
    }
    printf("score: kind=drop days=%zu reached=%zu recollected=%zu rate=%.2f\n", days, reached,
           present, reached ? (double)present / (double)reached : 0.0);
}

int sim_score(const struct sim_verify_opts *o)
{
    struct truth *t;
    size_t n;
    if (!o->ground_truth) {
        fprintf(stderr, "meterflow sim: --score needs --ground-truth FILE\n");
        return 2;
    }
    if (truth_load(o->ground_truth, &t, &n) != 0)
        return 2;
    struct store *st = sim_store_open(o);
    if (!st) {
        free(t);
        return 2;
    }
    int rc = 0;
    static const int kinds[] = { SIM_F_STOPPED, SIM_F_REVERSED, SIM_F_CLOCK,
                                 SIM_F_SAG,     SIM_F_FLAP,     SIM_F_THEFT };
    for (size_t i = 0; i < MF_ARRAY_LEN(kinds) && rc == 0; i++)
        rc = score_anomalies(st, t, n, kinds[i]);
    if (rc == 0)
        score_drop(st, t, n);
    store_close(st);
    free(t);
    if (rc != 0) {
        fprintf(stderr, "meterflow sim: reading the store failed: %s\n", mf_status_str(rc));
        return 2;
    }
    return 0;
}
