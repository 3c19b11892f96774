/* store_master.c -- master data: transformer areas (台区), terminals, metering points.
 * CRUD and the CSV import (`meterflow import areas|terminals|meters FILE.csv`).
 *
 * CSV (docs/SCHEMA.md "CSV import"): a header row naming the columns (any order; unknown or
 * repeated names are errors; required: areas id, terminals id, meters terminal + pn), then one
 * record per line, comma-separated, fields optionally in double quotes ("" for a quote; a
 * quoted field does not span lines). Blank lines are skipped; a UTF-8 BOM is ignored. The
 * whole file is one transaction: the first bad line rolls everything back and is reported as
 * FILE:LINE: reason. Caps: a line of at most CSV_LINE_MAX bytes, CSV_ROWS_MAX rows.
 *
 * Thread: any; each public function takes st->mu. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define CSV_LINE_MAX 4096
#define CSV_COLS_MAX 16
#define CSV_ROWS_MAX 2000000
#define ID_MAX 64

/* ---- writes without the lock (shared by CRUD and import) ---- */

static int area_put(struct store *st, const struct store_area *a)
{
    /* Bound with sq_text, which does not copy (SQLITE_STATIC): t must live until sq_run
     * below, outside the block that fills it (ASan's stack-use-after-scope otherwise). */
    /* cppcheck-suppress variableScope */
    char t[12];
    struct sq *q;
    if (!a->id || !a->id[0] || strlen(a->id) > ID_MAX || a->loss_threshold < 0)
        return MF_EINVAL;
    if ((q = sq_get(st, Q_AREA_PUT)) == NULL)
        return MF_EFATAL;
    sq_text(q, a->id);
    sq_text(q, a->name ? a->name : "");
    if (a->has_supply) {
        st_term_format(a->supply_term, t);
        sq_text(q, t);
        sq_i64(q, a->supply_pn);
    } else {
        sq_null(q);
        sq_null(q);
    }
    sq_f64(q, a->loss_threshold);
    return sq_run(q, NULL);
}

static int terminal_put(struct store *st, const struct store_terminal *tm)
{
    char t[12];
    struct sq *q;
    if (tm->pw_len < 0 || tm->pw_len > 16 || (tm->login_answer != 0 && tm->login_answer != 1 &&
                                              tm->login_answer != 3))
        return MF_EINVAL;
    if ((q = sq_get(st, Q_TERM_PUT)) == NULL)
        return MF_EFATAL;
    st_term_format(tm->term, t);
    sq_text(q, t);
    sq_text(q, tm->name ? tm->name : "");
    sq_text(q, st_nz(tm->area));
    sq_text(q, st_nz(tm->vendor));
    sq_i64(q, tm->registered ? 1 : 0);
    sq_i64(q, tm->pw_len);
    sq_i64(q, tm->login_answer ? tm->login_answer : 1);
    return sq_run(q, NULL);
}

static int meter_put(struct store *st, const struct store_meter *m)
{
    char t[12];
    struct sq *q;
    if (m->pn > 2040 || (m->addr && strlen(m->addr) > 16) || m->multiplier < 0)
        return MF_EINVAL;
    if ((q = sq_get(st, Q_METER_PUT)) == NULL)
        return MF_EFATAL;
    st_term_format(m->term, t);
    sq_text(q, t);
    sq_i64(q, m->pn);
    sq_text(q, m->addr ? m->addr : "");
    sq_text(q, st_nz(m->area));
    sq_text(q, st_nz(m->customer_class));
    sq_i64(q, m->is_area_meter ? 1 : 0);
    sq_f64(q, m->multiplier > 0 ? m->multiplier : 1.0);
    return sq_run(q, NULL);
}

/* ---- CRUD ---- */

#define LOCKED(st, expr)                                                                       \
    do {                                                                                       \
        int rc_ = st_enter(st);                                                                \
        if (rc_ != 0)                                                                          \
            return rc_;                                                                        \
        rc_ = (expr);                                                                          \
        st_leave(st);                                                                          \
        return rc_;                                                                            \
    } while (0)

int store_area_put(struct store *st, const struct store_area *a)
{
    LOCKED(st, area_put(st, a));
}

int store_terminal_put(struct store *st, const struct store_terminal *t)
{
    LOCKED(st, terminal_put(st, t));
}

int store_meter_put(struct store *st, const struct store_meter *m)
{
    LOCKED(st, meter_put(st, m));
}

/* Run a delete bound with one text (and an optional pn); MF_ENOTFOUND if nothing went. */
static int del(struct store *st, int id, const char *key, int pn)
{
    int64_t n = 0;
    struct sq *q = sq_get(st, id);
    if (!q)
        return MF_EFATAL;
    sq_text(q, key);
    if (pn >= 0)
        sq_i64(q, pn);
    int rc = sq_run(q, &n);
    return rc == 0 && n == 0 ? MF_ENOTFOUND : rc;
}

int store_area_delete(struct store *st, const char *id)
{
    LOCKED(st, del(st, Q_AREA_DEL, id ? id : "", -1));
}

static int terminal_delete(struct store *st, uint32_t term)
{
    char t[12];
    int rc = st_begin(st);
    st_term_format(term, t);
    if (rc != 0)
        return rc;
    rc = del(st, Q_TERM_DEL_METERS, t, -1);
    if (rc == 0 || rc == MF_ENOTFOUND)
        rc = del(st, Q_TERM_DEL, t, -1);
    if (rc == 0)
        return st_commit(st);
    st_rollback(st);
    return rc;
}

int store_terminal_delete(struct store *st, uint32_t term)
{
    LOCKED(st, terminal_delete(st, term));
}

int store_meter_delete(struct store *st, uint32_t term, uint16_t pn)
{
    char t[12];
    st_term_format(term, t);
    LOCKED(st, del(st, Q_METER_DEL, t, pn));
}

/* ---- CSV ---- */

int store_import_kind_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "areas") == 0)
        return STORE_IMPORT_AREAS;
    if (strcmp(name, "terminals") == 0)
        return STORE_IMPORT_TERMINALS;
    if (strcmp(name, "meters") == 0)
        return STORE_IMPORT_METERS;
    return -1;
}

/* Split one line in place into at most CSV_COLS_MAX fields. Returns the field count, or -1
 * for a malformed quote / too many fields. */
static int csv_split(char *line, char **f)
{
    int n = 0;
    char *r = line, *w;

    for (;;) {
        if (n == CSV_COLS_MAX)
            return -1;
        f[n++] = w = r;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0')
                    return -1; /* unterminated quote */
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            if (*r != ',' && *r != '\0')
                return -1;
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        if (*r == '\0') {
            *w = '\0';
            return n;
        }
        *w = '\0';
        r++; /* past ',' (w <= r, so the terminator never overwrites unread bytes) */
    }
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !s[0]) {
        *out = s[0] ? 1 : -1; /* -1: empty, the caller's default */
        return 0;
    }
    if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!s[0] || *end || errno || v != v)
        return -1;
    *out = v;
    return 0;
}

/* Column names per kind; the first `required` are mandatory. */
struct csv_kind {
    const char *const *cols;
    int required;
};
static const char *const area_cols[] = { "id", "name", "supply_terminal", "supply_pn",
                                         "loss_threshold", NULL };
static const char *const term_cols[] = { "id", "name", "area", "vendor", "registered",
                                         "pw_len", "login_answer", NULL };
static const char *const meter_cols[] = { "terminal", "pn", "addr", "area", "customer_class",
                                          "is_area_meter", "multiplier", NULL };
static const struct csv_kind csv_kinds[] = {
    [STORE_IMPORT_AREAS] = { area_cols, 1 },
    [STORE_IMPORT_TERMINALS] = { term_cols, 1 },
    [STORE_IMPORT_METERS] = { meter_cols, 2 },
};

/* v[i] = the row's value of column i of the kind ("" when absent). 0, or -1 with why set. */
static int row_area(struct store *st, char **v, const char **why)
{
    struct store_area a = { .id = v[0], .name = v[1], .loss_threshold = 0.10 };
    long pn = 0;
    if (!v[0][0])
        return *why = "id is empty", -1;
    if (v[2][0]) {
        if (st_term_parse(v[2], &a.supply_term) != 0)
            return *why = "supply_terminal is not RRRR-TTTT", -1;
        if (parse_int(v[3], 0, 2040, &pn) != 0)
            return *why = "supply_pn is not 0..2040", -1;
        a.has_supply = 1;
        a.supply_pn = (uint16_t)pn;
    }
    if (v[4][0] && (parse_double(v[4], &a.loss_threshold) != 0 || a.loss_threshold < 0))
        return *why = "loss_threshold is not a fraction >= 0", -1;
    return area_put(st, &a) == 0 ? 0 : (*why = "database refused the row", -1);
}

static int row_terminal(struct store *st, char **v, const char **why)
{
    struct store_terminal t = { .name = v[1], .area = v[2], .vendor = v[3], .registered = 1,
                                .login_answer = 1 };
    long n;
    int b;
    if (st_term_parse(v[0], &t.term) != 0)
        return *why = "id is not RRRR-TTTT", -1;
    if (parse_bool(v[4], &b) != 0)
        return *why = "registered is not 0/1", -1;
    if (b >= 0)
        t.registered = b;
    if (v[5][0]) {
        if (parse_int(v[5], 0, 16, &n) != 0)
            return *why = "pw_len is not 0..16", -1;
        t.pw_len = (int)n;
    }
    if (v[6][0]) {
        if (parse_int(v[6], 1, 3, &n) != 0 || n == 2)
            return *why = "login_answer is not 1 or 3", -1;
        t.login_answer = (int)n;
    }
    return terminal_put(st, &t) == 0 ? 0 : (*why = "database refused the row", -1);
}

static int row_meter(struct store *st, char **v, const char **why)
{
    struct store_meter m = { .addr = v[2], .area = v[3], .customer_class = v[4],
                             .multiplier = 1 };
    long pn;
    int b;
    if (st_term_parse(v[0], &m.term) != 0)
        return *why = "terminal is not RRRR-TTTT", -1;
    if (parse_int(v[1], 1, 2040, &pn) != 0)
        return *why = "pn is not 1..2040", -1;
    m.pn = (uint16_t)pn;
    if (strlen(v[2]) > 16)
        return *why = "addr longer than 16", -1;
    if (parse_bool(v[5], &b) != 0)
        return *why = "is_area_meter is not 0/1", -1;
    m.is_area_meter = b > 0;
    if (v[6][0] && (parse_double(v[6], &m.multiplier) != 0 || m.multiplier <= 0))
        return *why = "multiplier is not a number > 0", -1;
    return meter_put(st, &m) == 0 ? 0 : (*why = "database refused the row", -1);
}

/* Map header fields to the kind's columns: idx[col] = field number or -1. idx has
 * CSV_COLS_MAX entries, all set (the kinds have fewer columns; see csv_rows). */
static int csv_header(const struct csv_kind *k, char **f, int nf, int *idx, const char **why)
{
    for (int c = 0; c < CSV_COLS_MAX; c++)
        idx[c] = -1;
    for (int i = 0; i < nf; i++) {
        int c = 0;
        while (k->cols[c] && strcmp(k->cols[c], f[i]) != 0)
            c++;
        if (!k->cols[c])
            return *why = "unknown column in header", -1;
        if (idx[c] >= 0)
            return *why = "column repeated in header", -1;
        idx[c] = i;
    }
    for (int c = 0; c < k->required; c++)
        if (idx[c] < 0)
            return *why = "required column missing from header", -1;
    return 0;
}

/* Read one line into buf (without the line end). 1 line, 0 end of file, -1 too long. */
static int csv_line(FILE *fp, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, fp))
        return 0;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (!feof(fp))
        return -1;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return 1;
}

/* The rows of an open file, inside the caller's transaction. */
static int csv_rows(struct store *st, int kind, FILE *fp, size_t *rows, long *lineno,
                    const char **why)
{
    static char empty[] = "";
    const struct csv_kind *k = &csv_kinds[kind];
    char line[CSV_LINE_MAX];
    char *f[CSV_COLS_MAX], *v[CSV_COLS_MAX];
    int idx[CSV_COLS_MAX];
    int have_header = 0, r;

    while ((r = csv_line(fp, line, sizeof(line))) != 0) {
        char *p = line;
        ++*lineno;
        if (r < 0)
            return *why = "line too long", MF_EINVAL;
        if (*lineno == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
            (unsigned char)p[2] == 0xBF)
            p += 3;
        if (!p[0])
            continue;
        int nf = csv_split(p, f);
        if (nf < 0)
            return *why = "malformed quoting or too many fields", MF_EINVAL;
        if (!have_header) {
            if (csv_header(k, f, nf, idx, why) != 0)
                return MF_EINVAL;
            have_header = 1;
            continue;
        }
        if (*rows >= CSV_ROWS_MAX)
            return *why = "too many rows", MF_ERANGE;
        /* Every v[c] is set, also past the kind's last column: the row_* readers index v
         * by constant column numbers the analyser cannot match to the kind's cols[]. */
        for (int c = 0; c < CSV_COLS_MAX; c++)
            v[c] = idx[c] >= 0 && idx[c] < nf ? f[idx[c]] : empty;
        int bad = kind == STORE_IMPORT_AREAS       ? row_area(st, v, why)
                  : kind == STORE_IMPORT_TERMINALS ? row_terminal(st, v, why)
                                                   : row_meter(st, v, why);
        if (bad)
            return MF_EINVAL;
        ++*rows;
    }
    if (!have_header)
        return *why = "no header row", MF_EINVAL;
    return 0;
}

int store_import_csv(struct store *st, int kind, const char *path, size_t *rows, char *errbuf,
                     size_t errlen)
{
    const char *why = "";
    size_t n = 0;
    long lineno = 0;
    FILE *fp;
    int rc;

    if (kind < STORE_IMPORT_AREAS || kind > STORE_IMPORT_METERS) {
        snprintf(errbuf, errlen, "unknown import kind %d", kind);
        return MF_EINVAL;
    }
    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        return MF_EINVAL;
    }
    if ((rc = st_enter(st)) != 0) {
        fclose(fp);
        snprintf(errbuf, errlen, "%s: store unavailable", path);
        return rc;
    }
    if ((rc = st_begin(st)) == 0) {
        rc = csv_rows(st, kind, fp, &n, &lineno, &why);
        if (rc == 0)
            rc = st_commit(st);
        else
            st_rollback(st);
    }
    if (rc != 0 && why[0])
        snprintf(errbuf, errlen, "%s:%ld: %s%s%s", path, lineno, why, st->err[0] ? ": " : "",
                 st->err);
    else if (rc != 0)
        snprintf(errbuf, errlen, "%s: %s", path, st->err);
    st_leave(st);
    fclose(fp);
    if (rc == 0 && rows)
        *rows = n;
    return rc;
}
