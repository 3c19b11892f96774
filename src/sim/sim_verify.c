/* sim_verify.c -- `meterflow sim --verify`: every value in the ledger (what the master
 * confirmed) must be in the store exactly once with the same value. Reads the store only
 * through its documented interface (include/meterflow/store.h: the per-point JSON reads), so
 * it checks SQLite and PostgreSQL alike.
 *
 * Mapping (docs/SIMULATOR.md "Verify"):
 *   fwd_active        store_point_energy_json   item "ap_fwd", read_at = civil time -> UTC
 *   day_fwd_active    store_point_daily_json    frozen item "ap_fwd", date
 *   curve_fwd_active  store_point_curve_json    item "ap_fwd" (or "F101"), ts = civil -> UTC
 *   erc<N>            store_events_json         erc N, pn, occurred_at = civil -> UTC
 * Civil times convert with the zone given by --zone (or [meterflow] zone with -c), which
 * must be the master's.
 *
 * Invariants: the ledger is read with a line cap and every field is range-checked; a ledger
 * key seen twice with two values is reported as a ledger conflict (a simulator bug).
 * Called by: sim_cli.c. Thread: main. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/gw3761.h"
#include "meterflow/store.h"
#include "sim/sim_verify.h"

enum { IT_ENERGY = 0, IT_DAILY, IT_CURVE, IT_EVENT };

struct vrec {
    uint32_t term;
    uint16_t pn;
    uint8_t item;
    uint8_t tariff;     /* events: the ERC number */
    int64_t t;          /* UTC seconds; daily: days */
    int64_t value;      /* units of 10^-dec */
    int8_t dec;
    uint8_t found;      /* store rows matching the key (saturating) */
    uint8_t mismatch;
    double got;         /* the store's value (the last row matched) */
};

struct vset {
    struct vrec *v;
    size_t n, cap;
    uint64_t conflicts, bad_lines, unchecked;
};

static int vrec_cmp(const void *a, const void *b)
{
    const struct vrec *x = a, *y = b;
#define CMP(f)                                                                                  \
    if (x->f != y->f)                                                                            \
        return x->f < y->f ? -1 : 1;
    CMP(term) CMP(pn) CMP(item) CMP(t) CMP(tariff)
#undef CMP
    return 0;
}

static int civil_to_utc(const char *s, int64_t *out)
{
    struct sim_ymdhms t;
    if (sim_time_parse(s, SIM_TP_HM_REQ, &t) != 0)
        return MF_EINVAL;
    struct mf_civil c = { t.year, t.mon, t.day, t.hour, t.min, 0 };
    *out = mf_civil_to_utc(&c);
    return 0;
}

static int rec_from_line(const struct sim_ledger_rec *lr, struct vrec *r)
{
    uint16_t a1, a2;
    struct sim_ymdhms day;
    memset(r, 0, sizeof(*r));
    if (gw_terminal_parse(lr->terminal, &a1, &a2) != 0)
        return MF_EINVAL;
    r->term = gw_terminal_key(a1, a2);
    r->pn = (uint16_t)lr->pn;
    r->tariff = (uint8_t)lr->tariff;
    r->value = lr->value;
    r->dec = (int8_t)lr->decimals;
    if (strcmp(lr->item, "fwd_active") == 0 || strcmp(lr->item, "curve_fwd_active") == 0) {
        r->item = lr->item[0] == 'f' ? IT_ENERGY : IT_CURVE;
        return civil_to_utc(lr->time, &r->t);
    }
    if (strcmp(lr->item, "day_fwd_active") == 0) {
        r->item = IT_DAILY;
        if (sim_time_parse(lr->time, SIM_TP_DATE, &day) != 0)
            return MF_EINVAL;
        r->t = mf_date_to_days(day.year, day.mon, day.day);
        return 0;
    }
    if (strcmp(lr->item, "voltage") == 0)
        return 1; /* 0C F25 phase voltages: instantaneous, not checked by --verify */
    if (strncmp(lr->item, "erc", 3) == 0) {
        char *end;
        unsigned long erc = strtoul(lr->item + 3, &end, 10);
        if (*end || erc == 0 || erc > 255)
            return MF_EINVAL;
        r->item = IT_EVENT;
        r->tariff = (uint8_t)erc;
        return civil_to_utc(lr->time, &r->t);
    }
    return MF_EINVAL;
}

static int ledger_load(const char *path, struct vset *vs)
{
    FILE *fp = fopen(path, "r");
    char line[512];
    if (!fp) {
        char eb[128];
        fprintf(stderr, "meterflow sim: --ledger %s: %s\n", path, mf_strerror(errno, eb, sizeof(eb)));
        return MF_ESYS;
    }
    while (fgets(line, sizeof(line), fp)) {
        struct sim_ledger_rec lr;
        struct vrec r;
        int rc = sim_ledger_parse(line, &lr);
        if (rc == 1)
            continue;
        if (rc == 0)
            rc = rec_from_line(&lr, &r);
        if (rc == 1) {
            vs->unchecked++;
            continue;
        }
        if (rc != 0) {
            vs->bad_lines++;
            continue;
        }
        if (vs->n == vs->cap) {
            vs->cap = vs->cap ? vs->cap * 2 : 4096;
            vs->v = mf_realloc(vs->v, vs->cap * sizeof(*vs->v));
        }
        vs->v[vs->n++] = r;
    }
    fclose(fp);
    if (vs->n > 1) /* an empty ledger leaves vs->v NULL: qsort must not see it */
        qsort(vs->v, vs->n, sizeof(*vs->v), vrec_cmp);
    size_t w = 0; /* the same value confirmed twice (a retransmission) counts once */
    for (size_t i = 0; i < vs->n; i++) {
        if (w && vrec_cmp(&vs->v[w - 1], &vs->v[i]) == 0) {
            /* Events are checked by presence only: two distinct ERC14 records can share
             * (terminal, pn, minute, erc) -- the ledger key -- and differ in value. */
            if (vs->v[w - 1].value != vs->v[i].value && vs->v[i].item != IT_EVENT)
                vs->conflicts++;
            continue;
        }
        vs->v[w++] = vs->v[i];
    }
    vs->n = w;
    return 0;
}

/* ---- matching store rows ---- */

/* A store row (term, pn, item, t, tariff) = val: count it against the ledger record. */
static void mark(struct vset *vs, uint32_t term, uint16_t pn, uint8_t item, int64_t t,
                 uint8_t tariff, double val)
{
    struct vrec key = { .term = term, .pn = pn, .item = item, .t = t, .tariff = tariff };
    struct vrec *r = bsearch(&key, vs->v, vs->n, sizeof(*vs->v), vrec_cmp);
    if (!r)
        return; /* a row the simulator never confirmed (another run, a master read): fine */
    if (r->found < 255)
        r->found++;
    r->got = val;
    double want = (double)r->value / pow(10.0, r->dec);
    if (item == IT_EVENT ? (int64_t)val != r->value
                         : fabs(val - want) > 0.5 * pow(10.0, -r->dec))
        r->mismatch = 1;
}

static json_t *rows_of(json_t *j, const char *key)
{
    if (json_is_array(j))
        return j;
    json_t *a = key ? json_object_get(j, key) : NULL;
    if (!a)
        a = json_object_get(j, "items");
    return json_is_array(a) ? a : NULL;
}

static int utc_of(json_t *o, const char *key, int64_t *t)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && mf_time_parse(s, t) == 0 ? 0 : MF_EINVAL;
}

static int date_of(json_t *o, const char *key, int64_t *days)
{
    const char *s = json_string_value(json_object_get(o, key));
    struct sim_ymdhms t;
    if (sim_time_parse(s, SIM_TP_DATE | SIM_TP_PREFIX, &t) != 0)
        return MF_EINVAL;
    *days = mf_date_to_days(t.year, t.mon, t.day);
    return 0;
}

static int ok_value(json_t *o, double *v)
{
    json_t *st = json_object_get(o, "status");
    json_t *val = json_object_get(o, "value");
    if ((json_is_string(st) && strcmp(json_string_value(st), "ok") != 0) ||
        !json_is_number(val))
        return 0;
    *v = json_number_value(val);
    return 1;
}

static const char *item_is(json_t *o)
{
    const char *s = json_string_value(json_object_get(o, "item"));
    return s ? s : "";
}

/* Fetch one item of one point over [t0, t1] and mark what is there. */
static int fetch(struct store *st, struct vset *vs, const struct vrec *g, uint8_t item,
                 int64_t t0, int64_t t1)
{
    json_t *j = NULL, *a;
    int rc;
    uint16_t pn = g->pn;
    char term[GW_TERMINAL_STRLEN];
    gw_terminal_format((uint16_t)(g->term >> 16), (uint16_t)g->term, term);
    if (item == IT_ENERGY)
        rc = store_point_energy_json(st, term, pn, t0, t1 + 1, &j);
    else if (item == IT_DAILY)
        rc = store_point_daily_json(st, term, pn, (int32_t)t0, (int32_t)t1, &j);
    else
        rc = store_point_curve_json(st, term, pn, "ap_fwd", t0, t1 + 1, &j);
    if (rc == MF_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    a = rows_of(j, item == IT_DAILY ? "frozen" : NULL);
    if (item == IT_CURVE && (!a || json_array_size(a) == 0)) { /* the other curve naming */
        json_decref(j);
        j = NULL;
        rc = store_point_curve_json(st, term, pn, "F101", t0, t1 + 1, &j);
        if (rc != 0)
            return rc == MF_ENOTFOUND ? 0 : rc;
        a = rows_of(j, NULL);
    }
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o) {
        int64_t t;
        double v;
        json_t *tar = json_object_get(o, "tariff");
        int tariff = json_is_integer(tar) ? (int)json_integer_value(tar) : 0;
        if (!ok_value(o, &v) || tariff < 0 || tariff > 14)
            continue;
        if (item != IT_CURVE && strcmp(item_is(o), "ap_fwd") != 0)
            continue;
        if (item == IT_DAILY ? date_of(o, "date", &t) : utc_of(o, item == IT_CURVE ? "ts" : "read_at", &t))
            continue;
        mark(vs, g->term, pn, item, t, (uint8_t)tariff, v);
    }
    json_decref(j);
    return 0;
}

static int fetch_events(struct store *st, struct vset *vs, uint32_t key)
{
    char term[GW_TERMINAL_STRLEN];
    gw_terminal_format((uint16_t)(key >> 16), (uint16_t)key, term);
    for (int page = 1; page < 100000; page++) {
        struct store_event_filter f = { .terminal = term, .pg = { page, 1000 } };
        json_t *j = NULL, *a, *o;
        size_t i;
        int rc = store_events_json(st, &f, &j);
        if (rc != 0)
            return rc == MF_ENOTFOUND ? 0 : rc;
        a = rows_of(j, NULL);
        size_t got = a ? json_array_size(a) : 0;
        json_array_foreach(a, i, o) {
            int64_t t;
            json_t *erc = json_object_get(o, "erc"), *pn = json_object_get(o, "pn");
            json_t *started = json_object_get(o, "started");
            if (!json_is_integer(erc) || utc_of(o, "occurred_at", &t) != 0)
                continue;
            uint16_t p = json_is_integer(pn) ? (uint16_t)json_integer_value(pn) : 0;
            double sv = json_is_boolean(started)   ? (json_is_true(started) ? 1 : 0)
                        : json_is_integer(started) ? (double)json_integer_value(started)
                                                   : 1;
            mark(vs, key, p, IT_EVENT, t, (uint8_t)json_integer_value(erc), sv);
        }
        json_decref(j);
        if (got < 1000)
            break;
    }
    return 0;
}

/* Check one (terminal, pn) group g[0..n): one store read per item kind. */
static int check_group(struct store *st, struct vset *vs, const struct vrec *g, size_t n)
{
    for (unsigned item = IT_ENERGY; item <= IT_CURVE; item++) {
        int64_t t0 = INT64_MAX, t1 = INT64_MIN;
        for (size_t i = 0; i < n; i++)
            if (g[i].item == item) {
                t0 = MF_MIN(t0, g[i].t);
                t1 = MF_MAX(t1, g[i].t);
            }
        if (t0 == INT64_MAX)
            continue;
        int rc = fetch(st, vs, g, (uint8_t)item, t0, t1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct store *sim_store_open(const struct sim_verify_opts *o)
{
    char errbuf[512];
    struct store *st = NULL;
    struct store_opts so;
    store_opts_default(&so);
    so.readonly = 1;
    if (o->db_path) {
        so.backend = STORE_SQLITE;
        so.sqlite_path = o->db_path;
        st = store_open_opts(&so, errbuf, sizeof(errbuf));
    } else if (o->pg_conninfo) {
        so.backend = STORE_POSTGRES;
        so.pg_conninfo = o->pg_conninfo;
        st = store_open_opts(&so, errbuf, sizeof(errbuf));
    } else if (o->config_file && o->tables) {
        struct mf_config *cfg = mf_config_new(o->tables, o->passthrough);
        if (mf_config_load_file(cfg, o->config_file, errbuf, sizeof(errbuf)) == 0 &&
            mf_config_load_env(cfg, errbuf, sizeof(errbuf)) == 0 &&
            mf_clock_set_zone(mf_config_str(cfg, "meterflow", "zone")) == 0)
            st = store_open(cfg, errbuf, sizeof(errbuf));
        mf_config_free(cfg);
    } else {
        snprintf(errbuf, sizeof(errbuf), "say where the store is: --db PATH, --pg CONNINFO "
                                         "or -c INI");
    }
    if (!st)
        fprintf(stderr, "meterflow sim: store: %s\n", errbuf);
    return st;
}

static int verify_all(struct store *st, struct vset *vs)
{
    for (size_t i = 0; i < vs->n;) {
        size_t j = i;
        while (j < vs->n && vs->v[j].term == vs->v[i].term && vs->v[j].pn == vs->v[i].pn)
            j++;
        int rc = check_group(st, vs, &vs->v[i], j - i);
        if (rc != 0)
            return rc;
        i = j;
    }
    for (size_t i = 0; i < vs->n;) { /* events: one listing per terminal */
        size_t j = i;
        int any = 0;
        while (j < vs->n && vs->v[j].term == vs->v[i].term)
            any |= vs->v[j++].item == IT_EVENT;
        if (any) {
            int rc = fetch_events(st, vs, vs->v[i].term);
            if (rc != 0)
                return rc;
        }
        i = j;
    }
    return 0;
}

/* The first few missing / mismatched values, on stderr, to start the investigation. */
static void report_examples(const struct vset *vs)
{
    static const char *const names[4] = { "fwd_active", "day_fwd_active", "curve_fwd_active",
                                          "erc" };
    int shown = 0;
    for (size_t i = 0; i < vs->n && shown < 10; i++) {
        const struct vrec *r = &vs->v[i];
        char term[GW_TERMINAL_STRLEN];
        if (r->found && !r->mismatch)
            continue;
        gw_terminal_format((uint16_t)(r->term >> 16), (uint16_t)r->term, term);
        fprintf(stderr, "verify: %s %s p%u %s%s t=%lld tariff/erc=%u ledger=%lld e-%d store=%.6f\n",
                r->found ? "mismatched" : "missing", term, r->pn, names[r->item],
                r->item == IT_DAILY ? " (days)" : " (utc s)", (long long)r->t, r->tariff,
                (long long)r->value, r->dec, r->found ? r->got : 0.0);
        shown++;
    }
}

int sim_verify_count(const struct sim_verify_opts *o, struct sim_verify_counts *c)
{
    struct vset vs = { 0 };
    memset(c, 0, sizeof(*c));
    if (!o->ledger_path) {
        fprintf(stderr, "meterflow sim: --verify needs --ledger FILE\n");
        return 2;
    }
    if (ledger_load(o->ledger_path, &vs) != 0)
        return 2;
    struct store *st = sim_store_open(o);
    if (!st) {
        free(vs.v);
        return 2;
    }
    int rc = verify_all(st, &vs);
    store_close(st);
    if (rc != 0) {
        fprintf(stderr, "meterflow sim: reading the store failed: %s\n", mf_status_str(rc));
        free(vs.v);
        return 2;
    }
    for (size_t i = 0; i < vs.n; i++) {
        const struct vrec *r = &vs.v[i];
        c->by_item_confirmed[r->item]++;
        if (!r->found) {
            c->by_item_missing[r->item]++;
            c->missing++;
        } else {
            c->found++;
        }
        c->mismatched += r->found && r->mismatch;
        c->duplicated += r->found > 1 && r->item != IT_EVENT; /* same reason as above */
    }
    report_examples(&vs);
    c->confirmed = vs.n;
    c->conflicts = vs.conflicts;
    c->bad_lines = vs.bad_lines;
    c->unchecked = vs.unchecked;
    free(vs.v);
    return 0;
}

int sim_verify(const struct sim_verify_opts *o)
{
    static const char *const names[4] = { "fwd_active", "day_fwd_active", "curve_fwd_active",
                                          "events" };
    struct sim_verify_counts c;
    if (sim_verify_count(o, &c) != 0)
        return 2;
    printf("verify: confirmed=%llu found=%llu missing=%llu mismatched=%llu duplicated=%llu "
           "ledger_conflicts=%llu bad_lines=%llu unchecked=%llu\n",
           (unsigned long long)c.confirmed, (unsigned long long)c.found,
           (unsigned long long)c.missing, (unsigned long long)c.mismatched,
           (unsigned long long)c.duplicated, (unsigned long long)c.conflicts,
           (unsigned long long)c.bad_lines, (unsigned long long)c.unchecked);
    for (int k = 0; k < 4; k++)
        if (c.by_item_confirmed[k])
            printf("verify: %s confirmed=%llu missing=%llu\n", names[k],
                   (unsigned long long)c.by_item_confirmed[k],
                   (unsigned long long)c.by_item_missing[k]);
    return (c.missing || c.mismatched || c.duplicated || c.conflicts || c.bad_lines) ? 1 : 0;
}
